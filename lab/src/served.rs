//! Objects a lab agent serves beyond net-snmp's own MIBs, with values a test can change while
//! the agent runs: ENTITY-MIB rows, a vendor's radio table, transceiver sensors.
//!
//! net-snmp's `snmpd` implements no ENTITY-MIB and no vendor MIB. A device's [`ServedTable`]
//! names the subtrees it adds (each one becomes a `pass_persist` line of its snmpd.conf) and
//! the objects in them: an OID and a typed value each. The table lives in a file of the
//! device's lab directory ([`TABLE_FILE`]), written atomically (a new file renamed over the
//! old one), so whoever rewrites it (the lab's [`crate::Lab::serve`], or anything else with
//! root) never shows a half-written table. snmpd hands every GET and GETNEXT in a subtree to
//! the program [`pass_persist`] runs, a mode of the lab's holder binary
//! (`vigia-lab-holder --pass-persist FILE SUBTREE`), which looks at the file before each
//! request and reads it again when it changed: a new value is served from the next request.
//!
//! Counters may advance by themselves: a `counter32` or `counter64` with `per_second` is worth
//! `value + per_second × seconds since the table was written` (32-bit ones wrap), so a test
//! that wants traffic or errors at a known rate writes the table once.
//!
//! Limits, from net-snmp's `pass_persist` reader (one line of at most 4 KiB per field):
//! octet strings of at most [`MAX_OCTETS`] bytes, served hex-encoded so any byte (control
//! characters, invalid UTF-8) goes through unchanged.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::{BufRead, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The file, in a device's lab directory, that holds its served table.
pub const TABLE_FILE: &str = "served.json";

/// The longest octet string served, in bytes (net-snmp reads a `pass_persist` answer line into
/// a 4 KiB buffer; hex takes three characters a byte).
pub const MAX_OCTETS: usize = 1024;

/// The most objects one table may hold.
pub const MAX_OBJECTS: usize = 100_000;

/// Subtrees net-snmp answers itself (a `pass_persist` there would be shadowed or would break
/// the agent), refused as served subtrees.
const RESERVED: [&[u32]; 4] = [
    &[1, 3, 6, 1, 2, 1, 1],  // system
    &[1, 3, 6, 1, 2, 1, 2],  // interfaces
    &[1, 3, 6, 1, 2, 1, 25], // host resources
    &[1, 3, 6, 1, 6, 3],     // SNMP engine, USM, VACM
];

/// An OBJECT IDENTIFIER; ordered as SNMP orders them (arc by arc). Written as dotted text with
/// a leading dot, as net-snmp prints numeric OIDs.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(Vec<u32>);

impl Oid {
    /// Parse `.1.3.6.1` or `1.3.6.1`.
    pub fn parse(text: &str) -> Result<Oid, String> {
        let body = text.trim().strip_prefix('.').unwrap_or(text.trim());
        let arcs: Result<Vec<u32>, _> = body.split('.').map(str::parse::<u32>).collect();
        match arcs {
            Ok(a) if a.len() >= 2 && a.len() <= 128 => Ok(Oid(a)),
            _ => Err(format!(
                "{text:?} is not an OID: 2 to 128 numbers (0 to 4294967295) separated by dots"
            )),
        }
    }

    /// An OID from its arcs.
    pub fn new(arcs: &[u32]) -> Oid {
        Oid(arcs.to_vec())
    }

    /// Its arcs.
    pub fn arcs(&self) -> &[u32] {
        &self.0
    }

    /// This OID with `more` arcs after it.
    pub fn child(&self, more: &[u32]) -> Oid {
        Oid(self.0.iter().chain(more).copied().collect())
    }

    /// Whether `self` lies in the subtree rooted at `root` (or is `root`).
    pub fn within(&self, root: &Oid) -> bool {
        self.0.starts_with(&root.0)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.0 {
            write!(f, ".{a}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl Serialize for Oid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Oid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Oid, D::Error> {
        let text = String::deserialize(d)?;
        Oid::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A typed value, as SNMP carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Value {
    /// INTEGER / Integer32.
    Integer {
        /// The value.
        value: i32,
    },
    /// Gauge32 / Unsigned32.
    Gauge32 {
        /// The value.
        value: u32,
    },
    /// Counter32; with `per_second`, it advances by itself from the time the table was written
    /// and wraps at 2^32.
    Counter32 {
        /// The value when the table was written.
        value: u32,
        /// How much it grows each second (0: it stays).
        #[serde(default)]
        per_second: f64,
    },
    /// Counter64; with `per_second`, it advances by itself from the time the table was written.
    Counter64 {
        /// The value when the table was written.
        value: u64,
        /// How much it grows each second (0: it stays).
        #[serde(default)]
        per_second: f64,
    },
    /// TimeTicks (hundredths of a second).
    TimeTicks {
        /// The value.
        value: u32,
    },
    /// IpAddress.
    IpAddress {
        /// The value.
        value: Ipv4Addr,
    },
    /// OBJECT IDENTIFIER.
    ObjectId {
        /// The value.
        value: Oid,
    },
    /// OCTET STRING holding text.
    String {
        /// The value.
        value: String,
    },
    /// OCTET STRING of any bytes (control characters, invalid UTF-8), as hex in the file.
    Octets {
        /// The bytes as hex digits (spaces allowed between bytes).
        hex: String,
    },
}

impl Value {
    /// A text value.
    pub fn text(s: impl Into<String>) -> Value {
        Value::String { value: s.into() }
    }

    /// Any bytes.
    pub fn bytes(b: &[u8]) -> Value {
        Value::Octets { hex: b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ") }
    }

    /// An INTEGER.
    pub fn int(v: i32) -> Value {
        Value::Integer { value: v }
    }

    /// The bytes of an octet string value.
    fn octets(&self) -> Option<Result<Vec<u8>, String>> {
        match self {
            Value::String { value } => Some(Ok(value.as_bytes().to_vec())),
            Value::Octets { hex } => Some(parse_hex(hex)),
            _ => None,
        }
    }

    /// What is wrong with this value, if anything.
    fn check(&self) -> Result<(), String> {
        match self {
            Value::Counter32 { per_second, .. } | Value::Counter64 { per_second, .. }
                if !per_second.is_finite() || *per_second < 0.0 =>
            {
                Err(format!("per_second {per_second} must be a finite number of at least 0"))
            }
            _ => match self.octets() {
                Some(Err(e)) => Err(e),
                Some(Ok(b)) if b.len() > MAX_OCTETS => Err(format!(
                    "an octet string of {} bytes; at most {MAX_OCTETS} can be served",
                    b.len()
                )),
                _ => Ok(()),
            },
        }
    }

    /// The `pass_persist` answer lines (type, value) for this value, `elapsed` after the table
    /// was written.
    fn pass_lines(&self, elapsed: Duration) -> String {
        let grown = |per_second: f64| (per_second * elapsed.as_secs_f64()).floor();
        match self {
            Value::Integer { value } => format!("integer\n{value}"),
            Value::Gauge32 { value } => format!("gauge\n{value}"),
            Value::Counter32 { value, per_second } => {
                let add = grown(*per_second).min(u64::MAX as f64) as u64;
                let v = (u64::from(*value).wrapping_add(add)) % (1u64 << 32);
                format!("counter\n{v}")
            }
            Value::Counter64 { value, per_second } => {
                let add = grown(*per_second).min(u64::MAX as f64) as u64;
                format!("counter64\n{}", value.wrapping_add(add))
            }
            Value::TimeTicks { value } => format!("timeticks\n{value}"),
            Value::IpAddress { value } => format!("ipaddress\n{value}"),
            Value::ObjectId { value } => format!("objectid\n{value}"),
            Value::String { .. } | Value::Octets { .. } => {
                // Hex, always: net-snmp's "string" cannot carry a line break, and the bytes of
                // an odd device must reach the client unchanged.
                let bytes = self.octets().and_then(Result::ok).unwrap_or_default();
                let mut line = String::from("octet\n");
                for (i, b) in bytes.iter().enumerate() {
                    if i > 0 {
                        line.push(' ');
                    }
                    let _ = write!(line, "{b:02x}");
                }
                line
            }
        }
    }
}

fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("octets {hex:?}: expected pairs of hex digits"));
    }
    Ok((0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("checked hex"))
        .collect())
}

/// One served object, as the table file lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    oid: Oid,
    #[serde(flatten)]
    value: Value,
}

/// The objects one agent serves, and the subtrees they are served in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServedTable {
    /// Subtrees handed to the table: each becomes a `pass_persist` registration, fixed for the
    /// agent's life. A GETNEXT inside one never leaves it.
    pub subtrees: Vec<Oid>,
    /// The objects, in OID order.
    pub objects: BTreeMap<Oid, Value>,
}

/// The table as written to its file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    /// When it was written (Unix milliseconds): counters with a rate count from here.
    written_unix_ms: u64,
    subtrees: Vec<Oid>,
    objects: Vec<Entry>,
}

impl Serialize for ServedTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let objects: Vec<Entry> = self
            .objects
            .iter()
            .map(|(oid, value)| Entry { oid: oid.clone(), value: value.clone() })
            .collect();
        let mut st = s.serialize_struct("ServedTable", 2)?;
        st.serialize_field("subtrees", &self.subtrees)?;
        st.serialize_field("objects", &objects)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for ServedTable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ServedTable, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Plain {
            #[serde(default)]
            subtrees: Vec<Oid>,
            #[serde(default)]
            objects: Vec<Entry>,
        }
        let p = Plain::deserialize(d)?;
        Ok(ServedTable {
            subtrees: p.subtrees,
            objects: p.objects.into_iter().map(|e| (e.oid, e.value)).collect(),
        })
    }
}

/// ENTITY-MIB's entPhysicalTable entry (`.1.3.6.1.2.1.47.1.1.1.1`).
pub const ENT_PHYSICAL_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1];
/// ENTITY-MIB's subtree.
pub const ENTITY_MIB: &[u32] = &[1, 3, 6, 1, 2, 1, 47];

/// One physical entity, as the lab serves it in entPhysicalTable. Empty texts are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhysicalEntity {
    /// entPhysicalDescr.
    pub descr: String,
    /// entPhysicalClass (3: chassis, 9: module, 10: port ...).
    pub class: i32,
    /// entPhysicalContainedIn (0: nothing contains it).
    pub contained_in: i32,
    /// entPhysicalName.
    pub name: String,
    /// entPhysicalHardwareRev.
    pub hardware_rev: String,
    /// entPhysicalFirmwareRev.
    pub firmware_rev: String,
    /// entPhysicalSoftwareRev.
    pub software_rev: String,
    /// entPhysicalSerialNum.
    pub serial: String,
    /// entPhysicalMfgName.
    pub mfg_name: String,
    /// entPhysicalModelName.
    pub model: String,
}

/// entPhysicalClass chassis(3).
pub const CLASS_CHASSIS: i32 = 3;

impl ServedTable {
    /// A table serving ENTITY-MIB with `entities` (entPhysicalIndex 1, 2, ...).
    pub fn entity(entities: &[PhysicalEntity]) -> ServedTable {
        let mut t = ServedTable { subtrees: vec![Oid::new(ENTITY_MIB)], ..ServedTable::default() };
        for (i, e) in entities.iter().enumerate() {
            t.set_entity(u32::try_from(i + 1).unwrap_or(u32::MAX), e);
        }
        t
    }

    /// Set (or replace) the entPhysicalTable row `index` from `e`.
    pub fn set_entity(&mut self, index: u32, e: &PhysicalEntity) {
        let entry = Oid::new(ENT_PHYSICAL_ENTRY);
        for column in 2..=13 {
            self.objects.remove(&entry.child(&[column, index]));
        }
        let mut put = |column: u32, value: Value| {
            self.objects.insert(entry.child(&[column, index]), value);
        };
        let texts = [
            (2, &e.descr),
            (7, &e.name),
            (8, &e.hardware_rev),
            (9, &e.firmware_rev),
            (10, &e.software_rev),
            (11, &e.serial),
            (12, &e.mfg_name),
            (13, &e.model),
        ];
        put(4, Value::int(e.contained_in));
        put(5, Value::int(e.class));
        for (column, text) in texts {
            if !text.is_empty() {
                put(column, Value::text(text.as_str()));
            }
        }
    }

    /// Whether the table serves nothing.
    pub fn is_empty(&self) -> bool {
        self.subtrees.is_empty() && self.objects.is_empty()
    }

    /// What is wrong with the table, if anything (every object inside a subtree, subtrees
    /// apart from each other and from what net-snmp answers itself, values servable).
    pub fn check(&self) -> Result<(), String> {
        if self.objects.len() > MAX_OBJECTS {
            return Err(format!("{} objects; at most {MAX_OBJECTS}", self.objects.len()));
        }
        for (i, s) in self.subtrees.iter().enumerate() {
            if s.arcs().len() < 4 || s.arcs()[..4] != [1, 3, 6, 1] {
                return Err(format!("subtree {s} is not under .1.3.6.1"));
            }
            for r in RESERVED {
                let r = Oid::new(r);
                if s.within(&r) || r.within(s) {
                    return Err(format!("subtree {s} overlaps {r}, which net-snmp answers itself"));
                }
            }
            for other in &self.subtrees[i + 1..] {
                if s.within(other) || other.within(s) {
                    return Err(format!("subtrees {s} and {other} overlap"));
                }
            }
        }
        for (oid, value) in &self.objects {
            if !self.subtrees.iter().any(|s| oid.within(s) && oid != s) {
                return Err(format!("object {oid} is in none of the subtrees"));
            }
            value.check().map_err(|e| format!("object {oid}: {e}"))?;
        }
        Ok(())
    }

    /// The object at `oid` exactly, inside `subtree`.
    pub fn get(&self, subtree: &Oid, oid: &Oid) -> Option<(&Oid, &Value)> {
        self.objects.get_key_value(oid).filter(|(o, _)| o.within(subtree))
    }

    /// The first object after `oid` (strictly) inside `subtree`, in SNMP order.
    pub fn next(&self, subtree: &Oid, oid: &Oid) -> Option<(&Oid, &Value)> {
        use std::ops::Bound;
        let start = if oid < subtree { Bound::Included(subtree) } else { Bound::Excluded(oid) };
        self.objects.range((start, Bound::Unbounded)).next().filter(|(o, _)| o.within(subtree))
    }

    /// Write the table to `path` atomically (a temporary file beside it, renamed over it).
    pub fn write_atomically(&self, path: &Path) -> std::io::Result<()> {
        let file = TableFile {
            written_unix_ms: unix_ms(SystemTime::now()),
            subtrees: self.subtrees.clone(),
            objects: self
                .objects
                .iter()
                .map(|(oid, value)| Entry { oid: oid.clone(), value: value.clone() })
                .collect(),
        };
        let text = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
        let tmp = temp_beside(path);
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// The table in `path` and when it was written.
    pub fn read(path: &Path) -> Result<(ServedTable, SystemTime), String> {
        let text =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file: TableFile = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not a served table: {e}", path.display()))?;
        let table = ServedTable {
            subtrees: file.subtrees,
            objects: file.objects.into_iter().map(|e| (e.oid, e.value)).collect(),
        };
        Ok((table, UNIX_EPOCH + Duration::from_millis(file.written_unix_ms)))
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A temporary name beside `path`, unique to this process and call.
fn temp_beside(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    path.with_file_name(name)
}

/// The table file as last read: reread when its identity (inode, size, change time) moves.
struct Cached {
    path: PathBuf,
    stamp: Option<(u64, u64, i64, i64)>,
    table: ServedTable,
    written: SystemTime,
}

impl Cached {
    fn refresh(&mut self) {
        use std::os::unix::fs::MetadataExt;
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.ino(), m.size(), m.ctime(), m.ctime_nsec()));
        if stamp == self.stamp && stamp.is_some() {
            return;
        }
        self.stamp = stamp;
        match ServedTable::read(&self.path) {
            Ok((table, written)) => {
                self.table = table;
                self.written = written;
            }
            Err(e) => {
                // Serve nothing rather than stale values; say why on standard error.
                eprintln!("{e}");
                self.table = ServedTable::default();
            }
        }
    }
}

/// Answer net-snmp's `pass_persist` protocol for `subtree` from the table in `file`: `PING`
/// gets `PONG`; `get` and `getnext` (each followed by an OID line) get the OID, type and value
/// lines, or `NONE`; `set` (followed by two lines) gets `not-writable`. Returns at the end of
/// `input` (snmpd stopped). The file is looked at before every request.
pub fn pass_persist(
    file: &Path,
    subtree: &Oid,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<()> {
    let mut cached = Cached {
        path: file.to_path_buf(),
        stamp: None,
        table: ServedTable::default(),
        written: SystemTime::now(),
    };
    let mut lines = input.lines();
    while let Some(line) = lines.next() {
        let line = line?;
        let answer = match line.trim() {
            "PING" => "PONG".to_owned(),
            cmd @ ("get" | "getnext") => {
                let Some(oid) = lines.next().transpose()? else { break };
                cached.refresh();
                let elapsed = SystemTime::now().duration_since(cached.written).unwrap_or_default();
                let found = Oid::parse(&oid).ok().and_then(|oid| {
                    if cmd == "get" {
                        cached.table.get(subtree, &oid)
                    } else {
                        cached.table.next(subtree, &oid)
                    }
                });
                match found {
                    Some((oid, value)) => format!("{oid}\n{}", value.pass_lines(elapsed)),
                    None => "NONE".to_owned(),
                }
            }
            "set" => {
                let _ = lines.next().transpose()?;
                let _ = lines.next().transpose()?;
                "not-writable".to_owned()
            }
            "" => continue,
            _ => "NONE".to_owned(),
        };
        output.write_all(answer.as_bytes())?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
    Ok(())
}

/// The `pass_persist` program's arguments for one subtree of a device's table.
pub fn pass_persist_args(file: &Path, subtree: &Oid) -> Vec<String> {
    vec!["--pass-persist".into(), file.display().to_string(), subtree.to_string()]
}

/// The `pass_persist` mode of the holder binary, given the arguments after `--pass-persist`:
/// `FILE SUBTREE`. Serves standard input and output until snmpd closes them.
pub fn pass_persist_main(args: &[String]) -> Result<(), String> {
    let [file, subtree] = args else {
        return Err(format!("--pass-persist takes FILE SUBTREE, got {args:?}"));
    };
    let subtree = Oid::parse(subtree)?;
    // SAFETY: prctl(PR_SET_PDEATHSIG) on this process only: if snmpd dies without closing our
    // pipes, this process is told to go too.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) };
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    pass_persist(Path::new(file), &subtree, stdin, stdout).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        Oid::parse(s).unwrap()
    }

    fn table() -> ServedTable {
        ServedTable::entity(&[
            PhysicalEntity {
                descr: "Lab chassis".into(),
                class: CLASS_CHASSIS,
                serial: "SN-1".into(),
                model: "X-100".into(),
                ..PhysicalEntity::default()
            },
            PhysicalEntity { class: 10, name: "port 1".into(), ..PhysicalEntity::default() },
        ])
    }

    #[test]
    fn oids_order_arc_by_arc_and_round_trip() {
        assert!(oid(".1.3.6.1.2.1.47.1.1.1.1.2.10") > oid(".1.3.6.1.2.1.47.1.1.1.1.2.9"));
        assert!(oid("1.3.6.1.2.1.47.1") < oid("1.3.6.1.2.1.47.1.0"));
        assert_eq!(oid("1.3.6.1").to_string(), ".1.3.6.1");
        for bad in ["", "1", "1.x.3", "1..2", "1.3.99999999999"] {
            assert!(Oid::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn get_and_getnext_follow_snmp_order_and_stay_in_their_subtree() {
        let t = table();
        let sub = oid(".1.3.6.1.2.1.47");
        let model1 = oid(".1.3.6.1.2.1.47.1.1.1.1.13.1");
        assert_eq!(t.get(&sub, &model1).map(|(_, v)| v), Some(&Value::text("X-100")));
        assert_eq!(t.get(&sub, &oid(".1.3.6.1.2.1.47.1.1.1.1.13.2")), None);
        // Before the subtree: its first object (descr of entity 1).
        let first = t.next(&sub, &oid(".1.3.6.1.2.1.46.9")).unwrap().0.clone();
        assert_eq!(first, oid(".1.3.6.1.2.1.47.1.1.1.1.2.1"));
        // Walking visits every object once, in order, and ends at the subtree's end.
        let mut at = sub.clone();
        let mut seen = Vec::new();
        while let Some((o, _)) = t.next(&sub, &at) {
            seen.push(o.clone());
            at = o.clone();
        }
        let all: Vec<Oid> = t.objects.keys().cloned().collect();
        assert_eq!(seen, all);
        assert!(t.next(&oid(".1.3.6.1.4.1.41112"), &oid(".1.3.6.1")).is_none());
    }

    #[test]
    fn bad_tables_are_refused_with_a_reason() {
        let mut t = table();
        t.objects.insert(oid(".1.3.6.1.4.1.9.1"), Value::int(1));
        assert!(t.check().unwrap_err().contains("none of the subtrees"));
        let mut t = table();
        t.subtrees.push(oid(".1.3.6.1.2.1.47.1"));
        assert!(t.check().unwrap_err().contains("overlap"));
        let t = ServedTable { subtrees: vec![oid(".1.3.6.1.2.1.1")], ..ServedTable::default() };
        assert!(t.check().unwrap_err().contains("net-snmp answers itself"));
        let mut t = table();
        t.objects.insert(oid(".1.3.6.1.2.1.47.1.1.1.1.2.5"), Value::bytes(&[0; 2000]));
        assert!(t.check().unwrap_err().contains("at most 1024"));
        let mut t = table();
        t.objects.insert(oid(".1.3.6.1.2.1.47.1.1.1.1.2.5"), Value::Octets { hex: "f".into() });
        assert!(t.check().is_err());
        assert!(table().check().is_ok());
    }

    #[test]
    fn values_become_pass_persist_lines() {
        let z = Duration::ZERO;
        assert_eq!(Value::int(-3).pass_lines(z), "integer\n-3");
        assert_eq!(Value::text("a\nb").pass_lines(z), "octet\n61 0a 62");
        assert_eq!(Value::bytes(&[0xff, 0x00]).pass_lines(z), "octet\nff 00");
        assert_eq!(Value::text("").pass_lines(z), "octet\n");
        let c = Value::Counter32 { value: u32::MAX - 1, per_second: 2.0 };
        assert_eq!(c.pass_lines(Duration::from_millis(1500)), "counter\n1", "wraps at 2^32");
        let c = Value::Counter64 { value: 10, per_second: 1000.0 };
        assert_eq!(c.pass_lines(Duration::from_secs(3)), "counter64\n3010");
        let o = Value::ObjectId { value: oid("1.3.6.1.4.1.9") };
        assert_eq!(o.pass_lines(z), "objectid\n.1.3.6.1.4.1.9");
    }

    #[test]
    fn the_protocol_reads_the_file_again_when_it_changes() {
        let dir = std::env::temp_dir().join(format!("vigia-served-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(TABLE_FILE);
        let sub = oid(".1.3.6.1.2.1.47");
        let mut t = table();
        t.write_atomically(&path).unwrap();
        let ask = |input: &str| {
            let mut out = Vec::new();
            pass_persist(&path, &sub, input.as_bytes(), &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let model = ".1.3.6.1.2.1.47.1.1.1.1.13.1";
        assert_eq!(
            ask(&format!("PING\nget\n{model}\nset\n{model}\nstring x\n")),
            format!("PONG\n{model}\noctet\n58 2d 31 30 30\nnot-writable\n")
        );
        assert_eq!(ask("getnext\n.1.3.6.1.2.1.47.1.1.1.1.13.1\n"), "NONE\n");
        assert_eq!(ask("get\n.1.3.6.1.2.1.48.1\n"), "NONE\n", "outside the subtree");
        // Swap the model: a running server sees it at its next request.
        let input = format!("get\n{model}\n");
        let (reader, mut writer) = std::io::pipe().unwrap();
        let (answers, out) = std::io::pipe().unwrap();
        let server_path = path.clone();
        let server = std::thread::spawn(move || {
            pass_persist(&server_path, &sub, std::io::BufReader::new(reader), out).unwrap();
        });
        let mut answers = std::io::BufReader::new(answers).lines();
        let mut answer = || (0..3).map(|_| answers.next().unwrap().unwrap()).collect::<Vec<_>>();
        writer.write_all(input.as_bytes()).unwrap();
        assert_eq!(answer(), [model, "octet", "58 2d 31 30 30"]);
        t.set_entity(1, &PhysicalEntity { model: "Y".into(), ..PhysicalEntity::default() });
        t.write_atomically(&path).unwrap();
        writer.write_all(input.as_bytes()).unwrap();
        assert_eq!(answer(), [model, "octet", "59"]);
        drop(writer);
        server.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_table_survives_its_file() {
        let dir = std::env::temp_dir().join(format!("vigia-served-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(TABLE_FILE);
        let mut t = table();
        t.objects.insert(oid(".1.3.6.1.2.1.47.1.1.1.1.2.9"), Value::bytes(b"\x01\xff"));
        t.write_atomically(&path).unwrap();
        let (back, _) = ServedTable::read(&path).unwrap();
        assert_eq!(back, t);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
