//! SNMPv3 user-based security around snmp2: engine discovery on a socket of our own, localized
//! keys cached per engine, and telling an unknown user from a wrong password.
//!
//! Why not snmp2's `init()`: it derives both keys from the passwords again on every session
//! (RFC 3414 password-to-key hashes 1 MiB per key, milliseconds of CPU), and it keeps what it
//! learnt inside the session, where a new session cannot reuse it. Here discovery runs once per
//! poll (so a poll always starts with the agent's current engine boots and time, however long
//! the device was idle), keys are derived once per engine and password, and every session of
//! the poll is built from that state with the engine time advanced by the local clock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use snmp2::v3::{self, Auth, Cipher, KeyExtension, Security};
use snmp2::{MessageType, Pdu};
use tokio::time::Instant;

use super::value::{ObjectId, oid_to_vec};
use crate::inventory::{AuthProtocol, PrivProtocol};

/// The engine state an agent told us in its discovery report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Engine {
    /// snmpEngineID.
    pub id: Vec<u8>,
    /// snmpEngineBoots.
    pub boots: i64,
    /// snmpEngineTime when the report was received.
    pub time: i64,
    /// When the report was received.
    pub learnt: Instant,
}

impl Engine {
    /// The agent's engine time now, by our clock. snmp2 keeps sending the time it last heard,
    /// which an agent rejects once it is more than 150 s old.
    pub(crate) fn time_now(&self, now: Instant) -> i64 {
        let elapsed =
            i64::try_from(now.saturating_duration_since(self.learnt).as_secs()).unwrap_or(0);
        self.time.saturating_add(elapsed)
    }
}

/// usmStatsUnknownUserNames.0: the report an agent sends for a user it does not have.
pub(crate) const USM_STATS_UNKNOWN_USER_NAMES: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0];

/// Largest message we accept (the UDP maximum, as snmp2 announces).
const MAX_SIZE: i64 = 65_507;

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn int(n: i64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    // Minimal two's complement: drop leading bytes that only repeat the sign.
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(0x02, &bytes[start..])
}

fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// An SNMPv2c request (`tag` 0xa0 GET, 0xa5 GETBULK) for `oids`, each with a NULL value.
pub(crate) fn v2c_message(
    community: &[u8],
    tag: u8,
    id: i32,
    non_repeaters: u32,
    max_repetitions: u32,
    oids: &[snmp2::Oid<'_>],
) -> Vec<u8> {
    let varbinds: Vec<Vec<u8>> =
        oids.iter().map(|o| seq(&[tlv(0x06, o.as_bytes()), vec![0x05, 0x00]])).collect();
    let pdu = tlv(
        tag,
        &[int(id.into()), int(non_repeaters.into()), int(max_repetitions.into()), seq(&varbinds)]
            .concat(),
    );
    seq(&[int(1), octets(community), pdu])
}

/// A reportable noAuthNoPriv GET with no varbinds. With no engine and an empty user it is the
/// RFC 3414 section 4 discovery probe; with the engine and a user name, the agent's answer says
/// whether it knows the user (snmp2 can only say "authentication failed").
pub(crate) fn probe_message(msg_id: i32, engine: Option<&Engine>, user: &[u8]) -> Vec<u8> {
    let (id, boots, time) = match engine {
        Some(e) => (e.id.as_slice(), e.boots, e.time_now(crate::clock::monotonic())),
        None => (&[][..], 0, 0),
    };
    let usm = seq(&[octets(id), int(boots), int(time), octets(user), octets(&[]), octets(&[])]);
    let header = seq(&[int(msg_id.into()), int(MAX_SIZE), octets(&[0x04]), int(3)]);
    let get = tlv(0xa0, &[int(msg_id.into()), int(0), int(0), seq(&[])].concat());
    let scoped = seq(&[octets(id), octets(&[]), get]);
    seq(&[int(3), header, octets(&usm), scoped])
}

/// What the agent answered to [`probe_message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProbeReply {
    /// A discovery report: the agent's engine.
    Engine { id: Vec<u8>, boots: i64, time: i64 },
    /// A report naming this counter.
    Report(ObjectId),
    /// A response: the agent accepted the message (the user exists at noAuthNoPriv).
    Response,
}

/// Read the agent's answer to [`probe_message`].
pub(crate) fn parse_probe_reply(
    bytes: &[u8],
    engine: Option<&Engine>,
) -> Result<ProbeReply, snmp2::Error> {
    let mut sec = Security::new(b"", b"").with_auth(Auth::NoAuthNoPriv);
    if let Some(e) = engine {
        sec = sec
            .with_engine_id(&e.id)?
            .with_engine_boots_and_time(e.boots, e.time_now(crate::clock::monotonic()));
    }
    let reply = match Pdu::from_bytes_with_security(bytes, Some(&mut sec)) {
        // snmp2 learnt the engine from an unauthenticated report: discovery done.
        Err(snmp2::Error::AuthUpdated) => None,
        Err(e) => return Err(e),
        Ok(pdu) => Some(match pdu.message_type {
            MessageType::Report => {
                let first = pdu.varbinds.clone().next().and_then(|(o, _)| oid_to_vec(&o));
                ProbeReply::Report(first.unwrap_or_default())
            }
            MessageType::Response => ProbeReply::Response,
            _ => return Err(snmp2::Error::AsnWrongType),
        }),
    };
    match reply {
        Some(r) => Ok(r),
        None if sec.engine_id().is_empty() => {
            Err(snmp2::Error::AuthFailure(v3::AuthErrorKind::NotAuthenticated))
        }
        None => Ok(ProbeReply::Engine {
            id: sec.engine_id().to_vec(),
            boots: sec.engine_boots(),
            time: sec.engine_time(),
        }),
    }
}

/// snmp2's name for an authentication protocol.
pub(crate) fn auth_protocol(p: AuthProtocol) -> v3::AuthProtocol {
    match p {
        AuthProtocol::Md5 => v3::AuthProtocol::Md5,
        AuthProtocol::Sha1 => v3::AuthProtocol::Sha1,
        AuthProtocol::Sha224 => v3::AuthProtocol::Sha224,
        AuthProtocol::Sha256 => v3::AuthProtocol::Sha256,
        AuthProtocol::Sha384 => v3::AuthProtocol::Sha384,
        AuthProtocol::Sha512 => v3::AuthProtocol::Sha512,
    }
}

/// snmp2's name for a privacy protocol.
pub(crate) fn cipher(p: PrivProtocol) -> Cipher {
    match p {
        PrivProtocol::Des => Cipher::Des,
        PrivProtocol::Aes128 => Cipher::Aes128,
        PrivProtocol::Aes192 => Cipher::Aes192,
        PrivProtocol::Aes256 => Cipher::Aes256,
    }
}

/// Whether this pair needs the privacy key stretched (AES-192/256 after a short hash), where
/// Blumenthal (net-snmp's AES-192/AES-256) and Reeder (Cisco's, net-snmp's AES-256-C) differ.
pub(crate) fn needs_key_extension(auth: AuthProtocol, privacy: PrivProtocol) -> bool {
    cipher(privacy).priv_key_needs_extension(&auth_protocol(auth))
}

/// USM credentials, borrowed from the target.
#[derive(Clone, Copy)]
pub(crate) struct User<'a> {
    pub name: &'a str,
    pub auth: Option<(AuthProtocol, &'a str)>,
    pub privacy: Option<(PrivProtocol, &'a str)>,
}

impl User<'_> {
    /// Whether a privacy key extension method matters for this user.
    pub(crate) fn needs_key_extension(&self) -> bool {
        match (self.auth, self.privacy) {
            (Some((a, _)), Some((p, _))) => needs_key_extension(a, p),
            _ => false,
        }
    }

    fn template(&self, extension: KeyExtension) -> Security {
        let Some((auth, auth_pw)) = self.auth else {
            return Security::new(self.name.as_bytes(), b"").with_auth(Auth::NoAuthNoPriv);
        };
        let level = match self.privacy {
            None => Auth::AuthNoPriv,
            Some((p, pw)) => {
                Auth::AuthPriv { cipher: cipher(p), privacy_password: pw.as_bytes().to_vec() }
            }
        };
        Security::new(self.name.as_bytes(), auth_pw.as_bytes())
            .with_auth(level)
            .with_auth_protocol(auth_protocol(auth))
            .with_key_extension_method(extension)
    }

    /// Identifies this user's keys on one engine; passwords enter only through a hash.
    fn cache_key(&self, engine_id: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [
            engine_id,
            self.name.as_bytes(),
            self.auth.map(|a| a.0.as_str()).unwrap_or("").as_bytes(),
            self.auth.map(|a| a.1).unwrap_or("").as_bytes(),
            self.privacy.map(|p| p.0.as_str()).unwrap_or("").as_bytes(),
            self.privacy.map(|p| p.1).unwrap_or("").as_bytes(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }
}

/// Entries kept before the cache starts again from empty: far more than one agent's devices
/// (two families share one engine's entry), small in memory (a few hundred bytes each).
const KEY_CACHE_LIMIT: usize = 50_000;

/// Localized keys per (engine, user, passwords, key extension method), and the method that
/// last worked per (engine, user, passwords). Holds secrets, like the credentials it is built
/// from; never printed.
#[derive(Default)]
struct KeyCache {
    keys: HashMap<([u8; 32], bool), Security>,
    worked: HashMap<[u8; 32], KeyExtension>,
}

fn key_cache() -> std::sync::MutexGuard<'static, KeyCache> {
    static CACHE: OnceLock<Mutex<KeyCache>> = OnceLock::new();
    CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner())
}

/// The key extension method to try first for this user on this engine: the one that worked
/// last, else Blumenthal (what net-snmp's AES-192/AES-256 use; Cisco's are Reeder).
pub(crate) fn preferred_extension(user: &User<'_>, engine_id: &[u8]) -> KeyExtension {
    key_cache().worked.get(&user.cache_key(engine_id)).copied().unwrap_or(KeyExtension::Blumenthal)
}

/// Remember that `method` worked for this user on this engine.
pub(crate) fn extension_worked(user: &User<'_>, engine_id: &[u8], method: KeyExtension) {
    let mut cache = key_cache();
    if cache.worked.len() >= KEY_CACHE_LIMIT {
        cache.worked.clear();
    }
    cache.worked.insert(user.cache_key(engine_id), method);
}

/// The user's security state for this engine with localized keys, derived (off the async
/// threads) only when the cache does not hold them already.
pub(crate) async fn localized(
    user: &User<'_>,
    engine: &Engine,
    extension: KeyExtension,
) -> Result<Security, snmp2::Error> {
    let template = user.template(extension);
    if user.auth.is_none() {
        return template.with_engine_id(&engine.id);
    }
    // KeyExtension is not Hash: key on "is Reeder".
    let key = (user.cache_key(&engine.id), extension == KeyExtension::Reeder);
    if let Some(sec) = key_cache().keys.get(&key) {
        return Ok(sec.clone());
    }
    let id = engine.id.clone();
    let sec = tokio::task::spawn_blocking(move || template.with_engine_id(&id))
        .await
        .map_err(|e| snmp2::Error::Crypto(format!("key derivation task failed: {e}")))??;
    let mut cache = key_cache();
    if cache.keys.len() >= KEY_CACHE_LIMIT {
        cache.keys.clear();
    }
    cache.keys.insert(key, sec.clone());
    Ok(sec)
}

/// Wait for one datagram on a connected socket.
pub(crate) async fn exchange(
    socket: &tokio::net::UdpSocket,
    message: &[u8],
    timeout: Duration,
    buf: &mut [u8],
) -> Option<std::io::Result<usize>> {
    let io = async {
        socket.send(message).await?;
        socket.recv(buf).await
    };
    tokio::time::timeout(timeout, io).await.ok()
}

/// A UDP socket of the target's family, connected to it (so ICMP errors come back as errors),
/// that also reports the ICMP errors Linux calls soft.
///
/// Without `IP_RECVERR` a connected UDP socket sees only "hard" ICMP errors (port unreachable,
/// prohibited); "host unreachable" and "no route" from a router on the way are dropped, and the
/// poll waits out every timeout and blames the agent or its credentials. Measured in the lab: a
/// router answering "host unreachable" made a v3 poll say "no SNMP agent answered engine
/// discovery" after 1 s; with this option it says what the router said, at once.
pub(crate) async fn connected_socket(addr: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = tokio::net::UdpSocket::bind(local).await?;
    report_soft_errors(&socket, addr.is_ipv4());
    socket.connect(addr).await?;
    Ok(socket)
}

/// Turn on `IP_RECVERR` / `IPV6_RECVERR`. Best effort: without it only the diagnosis of an
/// unreachable agent is poorer.
fn report_soft_errors(socket: &tokio::net::UdpSocket, ipv4: bool) {
    use std::os::fd::AsRawFd;
    let (level, option) = if ipv4 {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    } else {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    };
    if let Err(e) = crate::sys::set_socket_option(socket.as_raw_fd(), level, option, 1) {
        tracing::debug!(error = %e, "cannot set IP_RECVERR");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snmp2::AsnReader;

    #[test]
    fn integers_are_minimal_twos_complement() {
        assert_eq!(int(0), [2, 1, 0]);
        assert_eq!(int(127), [2, 1, 0x7f]);
        assert_eq!(int(128), [2, 2, 0, 0x80]);
        assert_eq!(int(65_507), [2, 3, 0, 0xff, 0xe3]);
        assert_eq!(int(-1), [2, 1, 0xff]);
        assert_eq!(int(-129), [2, 2, 0xff, 0x7f]);
        assert_eq!(int(i64::from(i32::MAX)), [2, 4, 0x7f, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn long_lengths_use_the_long_form() {
        let t = tlv(0x04, &[0u8; 300]);
        assert_eq!(&t[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(t.len(), 304);
    }

    #[test]
    fn the_discovery_probe_is_rfc_3414_shaped() {
        let m = probe_message(0x1234_5678, None, b"");
        let mut outer = AsnReader::from_bytes(&m);
        let mut msg = AsnReader::from_bytes(outer.read_raw(0x30).unwrap());
        assert_eq!(msg.read_asn_integer().unwrap(), 3, "msgVersion");
        let mut header = AsnReader::from_bytes(msg.read_raw(0x30).unwrap());
        assert_eq!(header.read_asn_integer().unwrap(), 0x1234_5678, "msgID");
        assert_eq!(header.read_asn_integer().unwrap(), MAX_SIZE);
        assert_eq!(header.read_asn_octetstring().unwrap(), [0x04], "reportable, noAuthNoPriv");
        assert_eq!(header.read_asn_integer().unwrap(), 3, "USM");
        let usm_bytes = msg.read_asn_octetstring().unwrap();
        let mut usm =
            AsnReader::from_bytes(AsnReader::from_bytes(usm_bytes).read_raw(0x30).unwrap());
        assert_eq!(usm.read_asn_octetstring().unwrap(), b"", "no engine id");
        assert_eq!(usm.read_asn_integer().unwrap(), 0);
        assert_eq!(usm.read_asn_integer().unwrap(), 0);
        assert_eq!(usm.read_asn_octetstring().unwrap(), b"", "no user");
        let mut scoped = AsnReader::from_bytes(msg.read_raw(0x30).unwrap());
        assert_eq!(scoped.read_asn_octetstring().unwrap(), b"");
        assert_eq!(scoped.read_asn_octetstring().unwrap(), b"");
        let mut get = AsnReader::from_bytes(scoped.read_raw(0xa0).unwrap());
        assert_eq!(get.read_asn_integer().unwrap(), 0x1234_5678, "request-id");
        assert_eq!(get.read_asn_integer().unwrap(), 0);
        assert_eq!(get.read_asn_integer().unwrap(), 0);
        assert_eq!(get.read_raw(0x30).unwrap(), b"", "no varbinds");
    }

    #[test]
    fn engine_time_advances_with_the_local_clock() {
        let learnt = crate::clock::monotonic();
        let e = Engine { id: vec![0x80, 0, 0x1f, 0x88], boots: 3, time: 1_000, learnt };
        assert_eq!(e.time_now(learnt), 1_000);
        assert_eq!(e.time_now(learnt + Duration::from_secs(151)), 1_151);
    }

    #[test]
    fn cache_keys_differ_by_engine_and_password() {
        let u = User { name: "u", auth: Some((AuthProtocol::Sha1, "password1")), privacy: None };
        let other_pw = User { auth: Some((AuthProtocol::Sha1, "password2")), ..u };
        assert_ne!(u.cache_key(b"e1"), u.cache_key(b"e2"));
        assert_ne!(u.cache_key(b"e1"), other_pw.cache_key(b"e1"));
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        let a = User { name: "ab", auth: Some((AuthProtocol::Sha1, "c")), privacy: None };
        let b = User { name: "a", auth: Some((AuthProtocol::Sha1, "bc")), privacy: None };
        assert_ne!(a.cache_key(b""), b.cache_key(b""));
    }

    #[test]
    fn key_extension_matters_only_for_short_hashes_with_long_aes_keys() {
        assert!(needs_key_extension(AuthProtocol::Sha1, PrivProtocol::Aes256));
        assert!(needs_key_extension(AuthProtocol::Md5, PrivProtocol::Aes192));
        assert!(needs_key_extension(AuthProtocol::Sha224, PrivProtocol::Aes256));
        assert!(!needs_key_extension(AuthProtocol::Sha256, PrivProtocol::Aes256));
        assert!(!needs_key_extension(AuthProtocol::Sha1, PrivProtocol::Aes128));
    }
}
