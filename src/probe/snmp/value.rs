//! Values copied out of a response PDU: snmp2's values borrow the session's receive buffer,
//! which the next request overwrites.

use std::fmt::Write as _;

use snmp2::{Oid, Value};

/// An OBJECT IDENTIFIER as its sub-identifiers.
pub(crate) type ObjectId = Vec<u32>;

/// One value, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    /// INTEGER (Integer32, enumerations).
    Int(i64),
    /// OCTET STRING.
    Bytes(Vec<u8>),
    /// OBJECT IDENTIFIER.
    Oid(ObjectId),
    /// Counter32.
    Counter32(u32),
    /// Gauge32 / Unsigned32.
    Gauge32(u32),
    /// TimeTicks.
    Ticks(u32),
    /// Counter64.
    Counter64(u64),
    /// Anything else a GET can return (IpAddress, Opaque, NULL ...), not used by vigia.
    Other,
    /// The agent does not implement the object.
    NoSuchObject,
    /// The object exists but not this instance.
    NoSuchInstance,
    /// A walk ran past the last object of the agent's view.
    EndOfMibView,
}

impl Val {
    /// Copy a borrowed value.
    pub(crate) fn from_snmp(v: &Value<'_>) -> Val {
        match v {
            Value::Integer(n) => Val::Int(*n),
            Value::OctetString(b) => Val::Bytes(b.to_vec()),
            Value::ObjectIdentifier(o) => {
                oid_to_vec(o).filter(|o| o.len() <= MAX_OID_LEN).map(Val::Oid).unwrap_or(Val::Other)
            }
            Value::Counter32(n) => Val::Counter32(*n),
            Value::Unsigned32(n) => Val::Gauge32(*n),
            Value::Timeticks(n) => Val::Ticks(*n),
            Value::Counter64(n) => Val::Counter64(*n),
            Value::NoSuchObject => Val::NoSuchObject,
            Value::NoSuchInstance => Val::NoSuchInstance,
            Value::EndOfMibView => Val::EndOfMibView,
            _ => Val::Other,
        }
    }

    /// True for noSuchObject, noSuchInstance and endOfMibView: "no value here".
    pub(crate) fn is_exception(&self) -> bool {
        matches!(self, Val::NoSuchObject | Val::NoSuchInstance | Val::EndOfMibView)
    }

    /// A non-negative number.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Val::Int(n) => u64::try_from(*n).ok(),
            Val::Counter32(n) | Val::Gauge32(n) | Val::Ticks(n) => Some(u64::from(*n)),
            Val::Counter64(n) => Some(*n),
            _ => None,
        }
    }

    /// An INTEGER (enumerations, Integer32).
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Val::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// An OCTET STRING that holds some text, made safe and bounded as every device string is
    /// ([`crate::poll::text::device_text`]); `None` when empty.
    pub(crate) fn as_nonempty_text(&self) -> Option<String> {
        self.as_device_text()
    }

    /// An OCTET STRING a device says about itself (sysDescr, a serial), made safe and bounded
    /// ([`crate::poll::text::device_text`]); `None` when empty.
    pub(crate) fn as_device_text(&self) -> Option<String> {
        match self {
            Val::Bytes(b) => crate::poll::text::device_text(b),
            _ => None,
        }
    }
}

/// The most sub-identifiers an SNMP OID has (RFC 2578, section 3.5).
pub(crate) const MAX_OID_LEN: usize = 128;

/// Sub-identifiers of a decoded OID; `None` when one does not fit 32 bits (not SNMP).
pub(crate) fn oid_to_vec(o: &Oid<'_>) -> Option<ObjectId> {
    o.iter()?.map(|a| u32::try_from(a).ok()).collect()
}

/// An OID to send. Every OID vigia sends starts with 1.3, which asn1-rs accepts.
pub(crate) fn to_oid(ids: &[u32]) -> Option<Oid<'static>> {
    let wide: Vec<u64> = ids.iter().map(|&i| u64::from(i)).collect();
    Oid::from(&wide).ok()
}

/// Dotted text, as snmpwalk -On prints without the leading dot.
pub(crate) fn dotted(ids: &[u32]) -> String {
    let mut s = String::with_capacity(ids.len() * 3);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        let _ = write!(s, "{id}");
    }
    s
}

/// One varbind, owned.
pub(crate) type Varbind = (ObjectId, Val);

/// A response PDU, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// error-status (0 is noError).
    pub error_status: u32,
    /// error-index (1-based, 0 when none).
    pub error_index: u32,
    /// The varbinds, in order.
    pub varbinds: Vec<Varbind>,
    /// Why the varbinds end before the agent's list did: a name that is not an SNMP OID.
    pub cut: Option<&'static str>,
}

impl Response {
    /// Copy a response out of the session's buffer, `most` varbinds at most (the rest is not
    /// decoded). A varbind whose name is not a valid SNMP OID ends the list: nothing after it
    /// can be trusted to line up with the request.
    pub(crate) fn from_pdu(pdu: snmp2::Pdu<'_>, most: usize) -> Response {
        let mut varbinds = Vec::new();
        let mut cut = None;
        for (name, value) in pdu.varbinds.take(most) {
            match oid_to_vec(&name) {
                None => {
                    cut = Some("a varbind name with a sub-identifier above 2^32 - 1");
                    break;
                }
                Some(name) if name.len() > MAX_OID_LEN => {
                    cut = Some("a varbind name of more than 128 sub-identifiers (RFC 2578)");
                    break;
                }
                Some(name) => varbinds.push((name, Val::from_snmp(&value))),
            }
        }
        Response { error_status: pdu.error_status, error_index: pdu.error_index, varbinds, cut }
    }
}

/// The error-status names of RFC 3416, for diagnostics.
pub(crate) fn error_status_name(status: u32) -> &'static str {
    match status {
        0 => "noError",
        1 => "tooBig",
        2 => "noSuchName",
        3 => "badValue",
        4 => "readOnly",
        5 => "genErr",
        6 => "noAccess",
        16 => "authorizationError",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip_and_print() {
        let ids = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 4_000_000_000];
        let oid = to_oid(&ids).unwrap();
        assert_eq!(oid_to_vec(&oid).unwrap(), ids);
        assert_eq!(dotted(&ids), "1.3.6.1.2.1.31.1.1.1.6.4000000000");
    }

    #[test]
    fn text_is_trimmed_and_numbers_are_non_negative() {
        assert_eq!(Val::Bytes(b"eth0\0\0 ".to_vec()).as_nonempty_text().unwrap(), "eth0");
        assert_eq!(Val::Bytes(b"  ".to_vec()).as_nonempty_text(), None);
        assert_eq!(Val::Int(-1).as_u64(), None);
        assert_eq!(Val::Counter64(u64::MAX).as_u64(), Some(u64::MAX));
        assert!(Val::EndOfMibView.is_exception() && !Val::Other.is_exception());
    }

    #[test]
    fn device_strings_lose_control_characters_and_are_cut() {
        let text = |b: &[u8]| Val::Bytes(b.to_vec()).as_nonempty_text().unwrap();
        let cases: &[(&[u8], &str)] = &[
            (b"Cisco IOS\r\nVersion 15.2\t(4)", "Cisco IOS Version 15.2 (4)"),
            // A terminal escape (clear screen) and a bell.
            (b"ok\x1b[2J\x07", "ok\u{fffd}[2J\u{fffd}"),
            // C1 controls and DEL.
            ("a\u{85}b\u{9b}c\x7f".as_bytes(), "a\u{fffd}b\u{fffd}c\u{fffd}"),
            // A right-to-left override that would show "gpj.exe" as "exe.jpg".
            ("x\u{202e}gpj.exe".as_bytes(), "x\u{fffd}gpj.exe"),
            (b"bad \xff utf-8", "bad \u{fffd} utf-8"),
            ("año ñandú".as_bytes(), "año ñandú"),
        ];
        for (bytes, want) in cases {
            assert_eq!(text(bytes), *want, "{bytes:?}");
        }
        let huge = text(&[b'a'; 60_000]);
        let max = crate::poll::text::MAX_DEVICE_TEXT_CHARS;
        assert_eq!(huge.chars().count(), max + 1);
        assert!(huge.ends_with("a…"));
        assert_eq!(text(&vec![b'a'; max]).chars().count(), max);
    }
}
