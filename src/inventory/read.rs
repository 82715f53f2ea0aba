//! Reading an inventory directory: parse every file, check everything, then build typed values.
//!
//! Problems are collected, never thrown: one pass reports every unknown field, wrong type,
//! dangling reference and out-of-order date in every file, each with its file, line, column
//! and field path.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;

use super::hints::Hints;
mod catalog;

use super::catalog::CatalogEntry;
use super::id::DeviceId;
use super::model::*;
use super::yaml::{self, Node, Value};
use crate::diag::{Diagnostic, Pos, Severity};

mod lab;
mod outages;

/// How to treat secrets that cannot be read yet (an unset environment variable, a missing file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// A warning: the inventory is checked on a machine that need not hold the secrets.
    Warn,
    /// An error: the caller is about to use them (the agent, a probe, the lab).
    Require,
}

/// The result of reading an inventory: the inventory when it is valid, and every diagnostic.
#[derive(Debug)]
pub struct Checked {
    /// The inventory, present exactly when no diagnostic is an error.
    pub inventory: Option<Inventory>,
    /// Every problem found, errors and warnings, in file and line order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// Read, check and build the inventory in `dir`.
pub fn check(dir: &Path, secrets: Secrets) -> Checked {
    let mut cx = Cx { dir: dir.to_path_buf(), files: Vec::new(), file: 0, diags: Vec::new() };
    let mut parts = Parts::default();
    let mut unreadable = false;
    for entry in yaml_files(&mut cx) {
        cx.files.push(entry.path().to_path_buf());
        cx.file = cx.files.len() - 1;
        let text = match entry {
            Entry::Hidden(_) => {
                cx.file_warning(
                    "not read: files whose name starts with '.' are skipped (hidden files, such \
                     as the ._NAME files macOS leaves beside NAME); rename it to have it read"
                        .to_owned(),
                );
                continue;
            }
            Entry::Refused(_, why) => Err((None, why)),
            Entry::File(path) => read_text(&path),
        };
        match text {
            Err((pos, why)) => {
                unreadable = true;
                match pos {
                    Some(pos) => cx.error(pos, "", why),
                    None => cx.file_error(why),
                }
            }
            Ok(text) => match yaml::parse(&text) {
                Err(e) => {
                    unreadable = true;
                    cx.error(e.pos, "", e.to_string());
                }
                Ok(docs) => {
                    for doc in &docs {
                        read_top(&mut cx, &mut parts, doc);
                    }
                }
            },
        }
    }
    // Checks across files would only echo a file that could not be read ("no main site",
    // "unknown site"), so they wait until every file parses.
    let inventory = if unreadable { None } else { build(&mut cx, parts, secrets) };
    let order: HashMap<PathBuf, usize> =
        cx.files.iter().enumerate().map(|(i, f)| (f.clone(), i)).collect();
    cx.diags.sort_by_key(|d| (order.get(&d.file).copied().unwrap_or(usize::MAX), d.pos));
    let valid = !cx.diags.iter().any(Diagnostic::is_error);
    Checked { inventory: inventory.filter(|_| valid), diagnostics: cx.diags }
}

/// The largest inventory file read (a 20,000-device inventory is about 3 MiB).
pub const MAX_FILE_BYTES: u64 = 32 << 20;

/// A directory entry named `*.yaml` or `*.yml`, and what is done with it.
enum Entry {
    /// A regular file (or a link to one): read.
    File(PathBuf),
    /// A name starting with '.': skipped, with a warning.
    Hidden(PathBuf),
    /// Something that cannot be an inventory file (a directory, a FIFO, a link that leads
    /// nowhere, a file too large): an error, never silently skipped.
    Refused(PathBuf, String),
}

impl Entry {
    fn path(&self) -> &Path {
        match self {
            Entry::File(p) | Entry::Hidden(p) | Entry::Refused(p, _) => p,
        }
    }
}

/// The directory's `*.yaml` and `*.yml` entries, in name order, each with what is done with it.
fn yaml_files(cx: &mut Cx) -> Vec<Entry> {
    let entries = match std::fs::read_dir(&cx.dir) {
        Ok(entries) => entries,
        Err(e) => {
            cx.dir_error("", format!("cannot read inventory directory: {e}"));
            return Vec::new();
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    let files: Vec<Entry> = paths.into_iter().map(classify).collect();
    if !files.iter().any(|e| matches!(e, Entry::File(_) | Entry::Refused(..))) {
        cx.dir_error("", "no .yaml or .yml files in the inventory directory".to_owned());
    }
    files
}

/// What an entry named like an inventory file is. Links are followed; nothing is opened, so a
/// FIFO cannot block the reader.
fn classify(path: PathBuf) -> Entry {
    use std::os::unix::fs::FileTypeExt;
    if path.file_name().is_some_and(|n| n.as_encoded_bytes().starts_with(b".")) {
        return Entry::Hidden(path);
    }
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) => {
            let why = match std::fs::read_link(&path) {
                Ok(target) => format!(
                    "a symbolic link to {} that leads to no file ({e}); fix or remove the link",
                    target.display()
                ),
                Err(_) => format!("cannot read: {e}"),
            };
            return Entry::Refused(path, why);
        }
    };
    let kind = meta.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else {
        Some("not a regular file")
    };
    if let Some(what) = what {
        let why = format!(
            "is {what}, named like an inventory file; inventory files must be regular files (rename or move it)"
        );
        return Entry::Refused(path, why);
    }
    if meta.len() > MAX_FILE_BYTES {
        let why = format!(
            "is {} MiB; an inventory file may have at most {} MiB (split it into several files)",
            meta.len() >> 20,
            MAX_FILE_BYTES >> 20
        );
        return Entry::Refused(path, why);
    }
    Entry::File(path)
}

/// A file's text. Not UTF-8 is refused at the first bad byte, with its line and column.
fn read_text(path: &Path) -> Result<String, (Option<Pos>, String)> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| (None, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err((None, format!("larger than {} MiB", MAX_FILE_BYTES >> 20)));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = String::from_utf8_lossy(&bytes[..at]);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let pos = Pos::new(to_u32(line), to_u32(column));
        let why = format!(
            "not UTF-8: byte 0x{:02X} at byte offset {at} is not valid UTF-8; inventory files are UTF-8 text",
            bytes[at]
        );
        (Some(pos), why)
    })
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Where something was written: a file of the inventory and a position in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    file: usize,
    pos: Pos,
}

struct Cx {
    dir: PathBuf,
    files: Vec<PathBuf>,
    file: usize,
    diags: Vec<Diagnostic>,
}

impl Cx {
    fn here(&self, pos: Pos) -> Loc {
        Loc { file: self.file, pos }
    }

    fn push(&mut self, severity: Severity, loc: Option<Loc>, path: &str, message: String) {
        let file = match loc {
            Some(l) => self.files[l.file].clone(),
            None => self.dir.clone(),
        };
        self.diags.push(Diagnostic {
            severity,
            file,
            pos: loc.map(|l| l.pos),
            path: path.to_owned(),
            message,
        });
    }

    fn error(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        let loc = self.here(pos);
        self.push(Severity::Error, Some(loc), path, message.into());
    }

    fn warn(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        let loc = self.here(pos);
        self.push(Severity::Warning, Some(loc), path, message.into());
    }

    fn error_at(&mut self, loc: Loc, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, Some(loc), path, message.into());
    }

    fn warn_at(&mut self, loc: Loc, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, Some(loc), path, message.into());
    }

    fn dir_error(&mut self, path: &str, message: String) {
        self.push(Severity::Error, None, path, message);
    }

    /// An error about the current file as a whole (no position in it).
    fn file_error(&mut self, message: String) {
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            file: self.files[self.file].clone(),
            pos: None,
            path: String::new(),
            message,
        });
    }

    /// A warning about the current file as a whole.
    fn file_warning(&mut self, message: String) {
        self.diags.push(Diagnostic {
            severity: Severity::Warning,
            file: self.files[self.file].clone(),
            pos: None,
            path: String::new(),
            message,
        });
    }

    fn show(&self, loc: Loc) -> String {
        format!("{}:{}:{}", self.files[loc.file].display(), loc.pos.line, loc.pos.column)
    }

    // --- scalar readers: each reports its own problem and returns None on failure ---

    fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } => Some(text.clone()),
            Value::Null => None,
            _ => {
                self.error(node.pos, path, format!("expected text, found {}", node.kind()));
                None
            }
        }
    }

    fn id(&mut self, node: &Node, path: &str) -> Option<String> {
        let text = self.text(node, path)?;
        if !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            Some(text)
        } else {
            self.error(
                node.pos,
                path,
                format!("invalid id {text:?}; allowed: lowercase letters a-z, digits and '-'"),
            );
            None
        }
    }

    fn name<T: Copy>(
        &mut self,
        node: &Node,
        path: &str,
        parse: fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Option<T> {
        let text = self.text(node, path)?;
        let found = parse(&text);
        if found.is_none() {
            self.error(node.pos, path, format!("unknown value {text:?}; allowed: {allowed}"));
        }
        found
    }

    fn uint(&mut self, node: &Node, path: &str, max: u64) -> Option<u64> {
        match &node.value {
            Value::Scalar { text, quoted: false } => match text.parse::<u64>() {
                Ok(n) if n <= max => Some(n),
                Ok(n) => {
                    self.error(node.pos, path, format!("{n} is too large; at most {max}"));
                    None
                }
                Err(_) => {
                    self.error(node.pos, path, format!("expected a whole number, found {text:?}"));
                    None
                }
            },
            Value::Scalar { text, quoted: true } => {
                self.error(
                    node.pos,
                    path,
                    format!(
                        "expected a whole number, found the quoted text {text:?}; remove the quotes"
                    ),
                );
                None
            }
            Value::Null => None,
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!("expected a whole number, found {}", node.kind()),
                );
                None
            }
        }
    }

    fn number(&mut self, node: &Node, path: &str) -> Option<f64> {
        match &node.value {
            Value::Scalar { text, quoted: false } => {
                match text.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0) {
                    Some(f) => Some(f),
                    None => {
                        self.error(
                            node.pos,
                            path,
                            format!("expected a number of at least 0, found {text:?}"),
                        );
                        None
                    }
                }
            }
            Value::Null => None,
            _ => {
                let found = match &node.value {
                    Value::Scalar { text, .. } => format!("the quoted text {text:?}"),
                    _ => node.kind().to_owned(),
                };
                self.error(node.pos, path, format!("expected a number, found {found}"));
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Scalar { text, quoted: false }
                if matches!(text.as_str(), "true" | "True" | "TRUE") =>
            {
                Some(true)
            }
            Value::Scalar { text, quoted: false }
                if matches!(text.as_str(), "false" | "False" | "FALSE") =>
            {
                Some(false)
            }
            Value::Null => None,
            _ => {
                let found = match &node.value {
                    Value::Scalar { text, .. } => format!("{text:?}"),
                    _ => node.kind().to_owned(),
                };
                self.error(node.pos, path, format!("expected true or false, found {found}"));
                None
            }
        }
    }

    fn date(&mut self, node: &Node, path: &str) -> Option<NaiveDate> {
        let text = self.text(node, path)?;
        let valid = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
        match NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok().filter(|_| valid) {
            Some(d) => Some(d),
            None => {
                self.error(
                    node.pos,
                    path,
                    format!("invalid date {text:?}; expected a calendar date YYYY-MM-DD"),
                );
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, path: &str) -> Option<Duration> {
        let text = self.text(node, path)?;
        match parse_duration(&text) {
            Some(d) => Some(d),
            None => {
                self.error(
                    node.pos,
                    path,
                    format!("invalid duration {text:?}; expected a number and a unit (ms, s, m, h), e.g. 30s or 1m30s"),
                );
                None
            }
        }
    }

    /// An `icmp_spacing`: a duration from [`MIN_ICMP_SPACING`] to [`MAX_ICMP_SPACING`].
    fn icmp_spacing(&mut self, node: &Node, path: &str) -> Option<Duration> {
        let d = self.duration(node, path)?;
        if (MIN_ICMP_SPACING..=MAX_ICMP_SPACING).contains(&d) {
            return Some(d);
        }
        let what = if d < MIN_ICMP_SPACING { "too short" } else { "too long" };
        self.error(
            node.pos,
            path,
            format!(
                "{} is {what}; allowed: at least {}, at most {}",
                duration_text::format(d),
                duration_text::format(MIN_ICMP_SPACING),
                duration_text::format(MAX_ICMP_SPACING)
            ),
        );
        None
    }

    fn address(&mut self, node: &Node, path: &str, family: Family) -> Option<IpAddr> {
        let text = self.text(node, path)?;
        let addr = match text.parse::<IpAddr>() {
            Ok(a) => a,
            Err(_) => {
                self.error(
                    node.pos,
                    path,
                    format!("invalid {} address {text:?}", family_name(family)),
                );
                return None;
            }
        };
        let found = if addr.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 };
        if found != family {
            self.error(
                node.pos,
                path,
                format!(
                    "{text} is an {} address; this field takes an {} address (use {})",
                    family_name(found),
                    family_name(family),
                    found
                ),
            );
            return None;
        }
        if let Some(why) = unpollable(addr) {
            self.error(node.pos, path, format!("{text} {why}"));
            return None;
        }
        Some(addr)
    }

    fn secret_ref(&mut self, node: &Node, path: &str, kind: SecretKind) -> Option<SecretRef> {
        let text = self.text(node, path)?;
        match kind {
            SecretKind::Inline => Some(SecretRef::Inline(text)),
            SecretKind::Env => {
                let valid = !text.is_empty()
                    && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && !text.as_bytes()[0].is_ascii_digit();
                if valid {
                    Some(SecretRef::Env(text))
                } else {
                    // Not echoed: a value that is no variable name may be the secret itself,
                    // pasted into the wrong field.
                    self.error(
                        node.pos,
                        path,
                        format!(
                            "not a valid environment variable name ({} characters, not shown: it \
                             may be a secret pasted here); give the name of the variable that \
                             holds the secret: letters, digits and '_', not starting with a digit",
                            text.chars().count()
                        ),
                    );
                    None
                }
            }
            SecretKind::File => {
                let p = PathBuf::from(&text);
                let base =
                    self.files[self.file].parent().map(Path::to_path_buf).unwrap_or_default();
                Some(SecretRef::File(if p.is_absolute() { p } else { base.join(p) }))
            }
        }
    }
}

/// Why vigia cannot poll a device at `addr`, if it cannot: not one host, this machine itself,
/// an address that needs an interface named with it, or an IPv4 address written as IPv6.
fn unpollable(addr: IpAddr) -> Option<String> {
    let not_a_host = match addr {
        IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast(),
    };
    if not_a_host {
        return Some("is not a unicast host address".into());
    }
    if addr.is_loopback() {
        return Some(
            "is a loopback address: it is this machine, not a device on the network; use the \
             device's management address"
                .into(),
        );
    }
    match addr {
        IpAddr::V4(a) if a.is_link_local() => Some(
            "is a link-local address (169.254.0.0/16): not routed, so not pollable from the \
             monitor; use the device's management address"
                .into(),
        ),
        IpAddr::V6(a) if a.is_unicast_link_local() => Some(
            "is a link-local address (fe80::/10), which needs an interface (scope id) vigia \
             cannot be given; use a global or ULA address"
                .into(),
        ),
        IpAddr::V6(a) => a.to_ipv4_mapped().map(|v4| {
            format!(
                "is an IPv4-mapped IPv6 address: it is the IPv4 address {v4}; write {v4} in ipv4"
            )
        }),
        IpAddr::V4(_) => None,
    }
}

#[derive(Clone, Copy)]
enum SecretKind {
    Inline,
    Env,
    File,
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

/// Parse `30s`, `500ms`, `2m`, `1h`, `1m30s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
    }
    Some(total)
}

/// The entries of a mapping, looked up by name; whatever is never looked up is an unknown field.
struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
    asked: Vec<&'static str>,
    /// Set when the mapping's keys are data (profile names, years), not field names.
    open: bool,
    path: String,
    pos: Pos,
}

impl<'n> Fields<'n> {
    fn of(cx: &mut Cx, node: &'n Node, path: &str) -> Option<Fields<'n>> {
        let Value::Map(map) = &node.value else {
            if node.value != Value::Null {
                cx.error(node.pos, path, format!("expected a mapping, found {}", node.kind()));
            }
            return None;
        };
        let mut entries: Vec<(&'n str, &'n Node, &'n Node)> = Vec::new();
        for (k, v) in map {
            let Some(key) = k.scalar() else {
                cx.error(k.pos, path, format!("expected a field name, found {}", k.kind()));
                continue;
            };
            if let Some((_, first, _)) = entries.iter().find(|(name, _, _)| *name == key) {
                let first = first.pos;
                cx.error(
                    k.pos,
                    &join(path, key),
                    format!(
                        "field {key:?} given twice (first at line {}, column {})",
                        first.line, first.column
                    ),
                );
                continue;
            }
            entries.push((key, k, v));
        }
        Some(Fields {
            entries,
            asked: Vec::new(),
            open: false,
            path: path.to_owned(),
            pos: node.pos,
        })
    }

    /// The value of field `name`, if present and not null.
    fn get(&mut self, name: &'static str) -> Option<&'n Node> {
        self.asked.push(name);
        self.entries
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, _, v)| *v)
            .filter(|v| v.value != Value::Null)
    }

    /// The value of a required field, reporting it missing at the mapping.
    fn need(&mut self, cx: &mut Cx, name: &'static str, what: &str) -> Option<&'n Node> {
        let found = self.get(name);
        if found.is_none() {
            cx.error(self.pos, &self.path, format!("missing field {name:?} ({what})"));
        }
        found
    }

    /// The path of field `name`.
    fn at(&self, name: &str) -> String {
        join(&self.path, name)
    }

    /// Every entry, for mappings whose keys are data; none of them is then unknown.
    fn all(&mut self) -> Vec<(&'n str, &'n Node, &'n Node)> {
        self.open = true;
        self.entries.clone()
    }

    /// Report every field that was never asked for.
    fn finish(&self, cx: &mut Cx) {
        if self.open {
            return;
        }
        for (key, k, _) in &self.entries {
            if !self.asked.contains(key) {
                let hint = Hints::new(&self.asked).suggest(key);
                cx.error(
                    k.pos,
                    &self.path,
                    format!("unknown field {key:?}{hint}; allowed: {}", self.asked.join(", ")),
                );
            }
        }
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") }
}

fn items<'n>(cx: &mut Cx, node: &'n Node, path: &str) -> &'n [Node] {
    match &node.value {
        Value::Seq(items) => items,
        Value::Null => &[],
        _ => {
            cx.error(node.pos, path, format!("expected a list, found {}", node.kind()));
            &[]
        }
    }
}

/// A value read from one place, with where it was written and its path label.
#[derive(Debug)]
struct Item<T> {
    value: T,
    loc: Loc,
    label: String,
    /// Where individual fields were written, for checks across items.
    at: HashMap<&'static str, Loc>,
}

impl<T> Item<T> {
    fn field(&self, name: &str) -> Loc {
        self.at.get(name).copied().unwrap_or(self.loc)
    }

    fn path(&self, field: &str) -> String {
        join(&self.label, field)
    }
}

#[derive(Debug)]
enum SnmpChoice {
    Default,
    Off,
    Named(String),
    Inline(SnmpProfile),
}

#[derive(Debug)]
struct DeviceDraft {
    device: Device,
    snmp: SnmpChoice,
    /// `depends_on` as written (`None`: the defaults apply).
    depends_on: Option<Vec<(String, Loc)>>,
}

#[derive(Default)]
struct Parts {
    sites: Vec<Item<Site>>,
    devices: Vec<Item<DeviceDraft>>,
    profiles: Vec<Item<(String, SnmpProfile)>>,
    default_snmp: Option<Item<SnmpChoice>>,
    defaults_at: Option<Loc>,
    poll: Option<PollSettings>,
    policy_at: Option<Loc>,
    policy: Option<Policy>,
    projects: Vec<Item<Project>>,
    indicators: Vec<Item<Indicator>>,
    declared: Vec<Declared>,
    catalog: Vec<Item<CatalogEntry>>,
    /// Every secret reference, with where it was written, to check it can be read.
    secrets: Vec<(Loc, String, SecretRef)>,
    /// The lab-only section.
    lab: lab::LabDraft,
    /// `defaults.time_zone`.
    time_zone: Option<chrono_tz::Tz>,
    /// Maintenance windows, every file's.
    windows: Vec<Item<outages::WindowDraft>>,
}

fn read_top(cx: &mut Cx, parts: &mut Parts, doc: &Node) {
    let Some(mut top) = Fields::of(cx, doc, "") else {
        return;
    };
    if let Some(node) = top.get("sites") {
        for (i, n) in items(cx, node, "sites").iter().enumerate() {
            if let Some(site) = read_site(cx, n, i) {
                parts.sites.push(site);
            }
        }
    }
    if let Some(node) = top.get("snmp_profiles")
        && let Some(mut f) = Fields::of(cx, node, "snmp_profiles")
    {
        for (name, k, v) in f.all() {
            let path = format!("snmp_profiles.{name}");
            if cx.id(k, &path).is_none() {
                continue;
            }
            if let Some(profile) = read_profile(cx, parts, v, &path) {
                parts.profiles.push(Item {
                    value: (name.to_owned(), profile),
                    loc: cx.here(k.pos),
                    label: path,
                    at: HashMap::new(),
                });
            }
        }
    }
    if let Some(node) = top.get("defaults") {
        read_defaults(cx, parts, node);
    }
    if let Some(node) = top.get("devices") {
        for (i, n) in items(cx, node, "devices").iter().enumerate() {
            if let Some(device) = read_device(cx, parts, n, i) {
                parts.devices.push(device);
            }
        }
    }
    if let Some(node) = top.get("policy") {
        if let Some(first) = parts.policy_at {
            let first = cx.show(first);
            cx.error(node.pos, "policy", format!("policy is defined twice (first at {first})"));
        } else {
            parts.policy_at = Some(cx.here(node.pos));
            parts.policy = read_policy(cx, node);
        }
    }
    if let Some(node) = top.get("projects") {
        for (i, n) in items(cx, node, "projects").iter().enumerate() {
            if let Some(p) = read_project(cx, n, i) {
                parts.projects.push(p);
            }
        }
    }
    if let Some(node) = top.get("indicators") {
        for (i, n) in items(cx, node, "indicators").iter().enumerate() {
            if let Some(ind) = read_indicator(cx, n, i) {
                parts.indicators.push(ind);
            }
        }
    }
    if let Some(node) = top.get("lab") {
        lab::read(cx, &mut parts.lab, node);
    }
    if let Some(node) = top.get("declared") {
        for (i, n) in items(cx, node, "declared").iter().enumerate() {
            if let Some(d) = read_declared(cx, n, i) {
                parts.declared.push(d);
            }
        }
    }
    if let Some(node) = top.get("catalog") {
        catalog::read(cx, &mut parts.catalog, node);
    }
    if let Some(node) = top.get("maintenance") {
        let first = parts.windows.len();
        for (i, n) in items(cx, node, "maintenance").iter().enumerate() {
            if let Some(w) = outages::read_window(cx, n, first + i) {
                parts.windows.push(w);
            }
        }
    }
    top.finish(cx);
}

/// The label of list item `i`: `devices[3] (sw-grau)`, or `devices[3]` when it has no id.
/// With `slug`, the id is also checked against `[a-z0-9-]+` and returned when valid.
fn label(cx: &mut Cx, list: &str, i: usize, node: &Node, slug: bool) -> (String, Option<String>) {
    let base = format!("{list}[{i}]");
    let id_node = match &node.value {
        Value::Map(m) => m.iter().find(|(k, _)| k.scalar() == Some("id")).map(|(_, v)| v),
        _ => None,
    };
    let Some(id_node) = id_node else {
        return (base, None);
    };
    let label = match id_node.scalar() {
        Some(text) => format!("{base} ({text})"),
        None => base,
    };
    let id = if slug { cx.id(id_node, &format!("{label}.id")) } else { None };
    (label, id)
}

fn read_site(cx: &mut Cx, node: &Node, i: usize) -> Option<Item<Site>> {
    let (label, id) = label(cx, "sites", i, node, true);
    let mut f = Fields::of(cx, node, &label)?;
    let mut at = HashMap::new();
    let id_node = f.need(cx, "id", "[a-z0-9-]+, unique");
    if let Some(n) = id_node {
        at.insert("id", cx.here(n.pos));
    }
    let name = f.need(cx, "name", "the site's name").and_then(|n| cx.text(n, &f.at("name")));
    let role_node = f.need(cx, "role", "main or branch");
    let role =
        role_node.and_then(|n| cx.name(n, &f.at("role"), SiteRole::parse, &SiteRole::allowed()));
    if let Some(n) = role_node {
        at.insert("role", cx.here(n.pos));
    }
    let link_node = f.get("link");
    let link = link_node
        .and_then(|n| cx.name(n, &f.at("link"), LinkMedium::parse, &LinkMedium::allowed()));
    let link_mbps = f.get("link_mbps").and_then(|n| cx.uint(n, &f.at("link_mbps"), 1_000_000));
    let provider = f.get("provider").and_then(|n| cx.text(n, &f.at("provider")));
    let planned_link_node = f.get("planned_link");
    let planned_link = planned_link_node
        .and_then(|n| cx.name(n, &f.at("planned_link"), LinkMedium::parse, &LinkMedium::allowed()));
    let planned_date_node = f.get("planned_date");
    let planned_date = planned_date_node.and_then(|n| cx.date(n, &f.at("planned_date")));
    let via = f.get("via").and_then(|n| {
        at.insert("via", cx.here(n.pos));
        cx.id(n, &f.at("via"))
    });
    let core = f.get("core").and_then(|n| {
        at.insert("core", cx.here(n.pos));
        outages::id_list(cx, n, &f.at("core"))
    });
    match (role, link_node) {
        (Some(SiteRole::Main), Some(n)) => cx.error(
            n.pos,
            &f.at("link"),
            "the main site holds the data centre and has no link to itself; omit link",
        ),
        (Some(SiteRole::Branch), None) => cx.error(
            f.pos,
            &label,
            format!(
                "missing field \"link\" (how the site reaches the main site: {})",
                LinkMedium::allowed()
            ),
        ),
        _ => {}
    }
    if let (Some(n), None) = (planned_date_node, planned_link_node) {
        cx.error(
            n.pos,
            &f.at("planned_date"),
            "planned_date needs planned_link (the medium planned for that date)",
        );
    }
    if planned_link == Some(LinkMedium::None) {
        let pos = planned_link_node.map_or(f.pos, |n| n.pos);
        cx.error(
            pos,
            &f.at("planned_link"),
            "a plan does not plan for no link; allowed: fibre, radio",
        );
    }
    f.finish(cx);
    let site = Site {
        id: id?.into(),
        name: name?,
        role: role?,
        link: if role == Some(SiteRole::Main) { None } else { Some(link?) },
        link_mbps: link_mbps.map(|n| n as u32),
        provider,
        planned_link: planned_link.filter(|l| *l != LinkMedium::None),
        planned_date,
        via: via.map(Into::into),
        core: core.unwrap_or_default().into_iter().map(|(id, _)| id.into()).collect(),
    };
    Some(Item { value: site, loc: cx.here(node.pos), label, at })
}

fn read_profile(cx: &mut Cx, parts: &mut Parts, node: &Node, path: &str) -> Option<SnmpProfile> {
    let mut f = Fields::of(cx, node, path)?;
    let version = f
        .need(cx, "version", "\"2c\" or \"3\"")
        .and_then(|n| cx.name(n, &f.at("version"), SnmpVersion::parse, "\"2c\", \"3\""));
    // Every field is looked up so that those of the other version are not "unknown".
    let community = secret_field(cx, parts, &mut f, "community");
    let user = f.get("user");
    let auth_node = f.get("auth_protocol");
    let auth_protocol = auth_node.and_then(|n| {
        cx.name(n, &f.at("auth_protocol"), AuthProtocol::parse, &AuthProtocol::allowed())
    });
    let auth_password = secret_field(cx, parts, &mut f, "auth_password");
    let priv_node = f.get("priv_protocol");
    let priv_protocol = priv_node.and_then(|n| {
        cx.name(n, &f.at("priv_protocol"), PrivProtocol::parse, &PrivProtocol::allowed())
    });
    let priv_password = secret_field(cx, parts, &mut f, "priv_password");
    f.finish(cx);
    let read = ProfileFields {
        community,
        user,
        auth: (auth_node, auth_protocol, auth_password),
        privacy: (priv_node, priv_protocol, priv_password),
    };
    match version? {
        SnmpVersion::V2c => v2c_profile(cx, &f, path, read),
        SnmpVersion::V3 => v3_profile(cx, &f, path, read),
    }
}

/// A profile's fields as read, before its version says which belong: each of auth and
/// privacy is (its protocol's node, the protocol, the password).
struct ProfileFields<'n> {
    community: SecretField,
    user: Option<&'n Node>,
    auth: (Option<&'n Node>, Option<AuthProtocol>, SecretField),
    privacy: (Option<&'n Node>, Option<PrivProtocol>, SecretField),
}

fn v2c_profile(cx: &mut Cx, f: &Fields, path: &str, read: ProfileFields) -> Option<SnmpProfile> {
    for (name, present) in [
        ("user", read.user.is_some()),
        ("auth_protocol", read.auth.0.is_some()),
        ("auth_password", read.auth.2.is_given()),
        ("priv_protocol", read.privacy.0.is_some()),
        ("priv_password", read.privacy.2.is_given()),
    ] {
        if present {
            cx.error(
                f.pos,
                &f.at(name),
                format!("{name} is an SNMPv3 setting; this profile is version \"2c\""),
            );
        }
    }
    match read.community {
        SecretField::Given(s) => Some(SnmpProfile::V2c { community: s }),
        SecretField::Absent => {
            cx.error(
                f.pos,
                path,
                "a v2c profile needs one of community_env, community_file or community",
            );
            None
        }
        SecretField::Invalid => None,
    }
}

fn v3_profile(cx: &mut Cx, f: &Fields, path: &str, read: ProfileFields) -> Option<SnmpProfile> {
    if read.community.is_given() {
        cx.error(
            f.pos,
            &f.at("community"),
            "community is an SNMPv2c setting; this profile is version \"3\"",
        );
    }
    let user = match read.user {
        Some(n) => cx.text(n, &f.at("user"))?,
        None => {
            cx.error(f.pos, path, "missing field \"user\" (the SNMPv3 user name)");
            return None;
        }
    };
    let auth = v3_part(
        cx,
        f,
        path,
        read.auth,
        V3Part {
            protocol: "auth_protocol",
            needs_password: "auth_protocol needs a password: one of auth_password_env, auth_password_file or auth_password",
            password_alone: "an authentication password without auth_protocol",
            allowed: AuthProtocol::allowed(),
        },
    )?;
    if let (Some(n), None) = (read.privacy.0, &auth) {
        cx.error(
            n.pos,
            &f.at("priv_protocol"),
            "privacy needs authentication in SNMPv3 (authPriv); set auth_protocol and its password",
        );
        return None;
    }
    let privacy = v3_part(
        cx,
        f,
        path,
        read.privacy,
        V3Part {
            protocol: "priv_protocol",
            needs_password: "priv_protocol needs a password: one of priv_password_env, priv_password_file or priv_password",
            password_alone: "a privacy password without priv_protocol",
            allowed: PrivProtocol::allowed(),
        },
    )?;
    Some(SnmpProfile::V3 { user, auth, privacy })
}

/// What tells SNMPv3 authentication and privacy apart in their checks.
struct V3Part {
    /// The protocol's field.
    protocol: &'static str,
    /// A protocol without a password.
    needs_password: &'static str,
    /// A password without a protocol.
    password_alone: &'static str,
    /// The protocols allowed.
    allowed: String,
}

/// SNMPv3 authentication or privacy: `Some(None)` for none, `None` when refused.
#[allow(clippy::option_option)]
fn v3_part<P>(
    cx: &mut Cx,
    f: &Fields,
    path: &str,
    (node, protocol, password): (Option<&Node>, Option<P>, SecretField),
    part: V3Part,
) -> Option<Option<(P, SecretRef)>> {
    match (node, password) {
        (Some(_), SecretField::Given(s)) => Some(Some((protocol?, s))),
        (Some(n), SecretField::Absent) => {
            cx.error(n.pos, &f.at(part.protocol), part.needs_password);
            None
        }
        (None, SecretField::Given(_)) => {
            cx.error(f.pos, path, format!("{}; allowed: {}", part.password_alone, part.allowed));
            None
        }
        (_, SecretField::Invalid) => None,
        (None, SecretField::Absent) => Some(None),
    }
}

enum SecretField {
    Absent,
    Invalid,
    Given(SecretRef),
}

impl SecretField {
    fn is_given(&self) -> bool {
        matches!(self, SecretField::Given(_))
    }
}

/// Read a secret given as `NAME_env`, `NAME_file` (or both: the variable when set, else the
/// file) or `NAME` (inline, with a warning).
fn secret_field(cx: &mut Cx, parts: &mut Parts, f: &mut Fields, base: &'static str) -> SecretField {
    let (env, file, inline): (&'static str, &'static str, &'static str) = match base {
        "community" => ("community_env", "community_file", "community"),
        "auth_password" => ("auth_password_env", "auth_password_file", "auth_password"),
        _ => ("priv_password_env", "priv_password_file", "priv_password"),
    };
    let given: Vec<(&'static str, &Node, SecretKind)> =
        [(env, SecretKind::Env), (file, SecretKind::File), (inline, SecretKind::Inline)]
            .into_iter()
            .filter_map(|(name, kind)| f.get(name).map(|n| (name, n, kind)))
            .collect();
    match given.as_slice() {
        [] => SecretField::Absent,
        [(env_name, env_node, SecretKind::Env), (file_name, file_node, SecretKind::File)] => {
            env_or_file(cx, parts, f, (env_name, env_node), (file_name, file_node))
        }
        [(name, node, kind)] => {
            let path = f.at(name);
            let Some(secret) = cx.secret_ref(node, &path, *kind) else {
                return SecretField::Invalid;
            };
            if let SecretRef::Inline(value) = &secret {
                cx.warn(
                    node.pos,
                    &path,
                    format!("secret written inline; prefer {env} or {file} so it stays out of version control"),
                );
                if base != "community" && value.chars().count() < 8 {
                    cx.error(
                        node.pos,
                        &path,
                        "SNMPv3 passwords must have at least 8 characters (RFC 3414)",
                    );
                    return SecretField::Invalid;
                }
            }
            parts.secrets.push((cx.here(node.pos), path, secret.clone()));
            SecretField::Given(secret)
        }
        [(first, ..), (second, node, _), ..] => {
            cx.error(
                node.pos,
                &f.at(second),
                format!("{second} and {first} both given; give only one"),
            );
            SecretField::Invalid
        }
    }
}

/// A secret named both ways: the environment variable when it is set, else the file. Its
/// readability is checked at the file's field.
fn env_or_file(
    cx: &mut Cx,
    parts: &mut Parts,
    f: &Fields,
    (env, env_node): (&str, &Node),
    (file, file_node): (&str, &Node),
) -> SecretField {
    let var = cx.secret_ref(env_node, &f.at(env), SecretKind::Env);
    let path = f.at(file);
    match (var, cx.secret_ref(file_node, &path, SecretKind::File)) {
        (Some(SecretRef::Env(var)), Some(SecretRef::File(p))) => {
            let secret = SecretRef::EnvOrFile(var, p);
            parts.secrets.push((cx.here(file_node.pos), path, secret.clone()));
            SecretField::Given(secret)
        }
        _ => SecretField::Invalid,
    }
}

fn read_defaults(cx: &mut Cx, parts: &mut Parts, node: &Node) {
    if let Some(first) = parts.defaults_at {
        let first = cx.show(first);
        cx.error(node.pos, "defaults", format!("defaults is defined twice (first at {first})"));
        return;
    }
    parts.defaults_at = Some(cx.here(node.pos));
    let Some(mut f) = Fields::of(cx, node, "defaults") else {
        return;
    };
    if let Some(n) = f.get("snmp") {
        let choice = match &n.value {
            Value::Scalar { text, quoted: false } if text == "false" => Some(SnmpChoice::Off),
            Value::Scalar { .. } => cx.id(n, "defaults.snmp").map(SnmpChoice::Named),
            _ => {
                cx.error(
                    n.pos,
                    "defaults.snmp",
                    format!("expected a profile name or false, found {}", n.kind()),
                );
                None
            }
        };
        if let Some(choice) = choice {
            parts.default_snmp = Some(Item {
                value: choice,
                loc: cx.here(n.pos),
                label: "defaults".into(),
                at: HashMap::new(),
            });
        }
    }
    if let Some(n) = f.get("poll") {
        parts.poll = read_poll(cx, n);
    }
    if let Some(n) = f.get("time_zone") {
        parts.time_zone = outages::time_zone(cx, n, "defaults.time_zone");
    }
    f.finish(cx);
}

fn read_poll(cx: &mut Cx, node: &Node) -> Option<PollSettings> {
    let path = "defaults.poll";
    let mut f = Fields::of(cx, node, path)?;
    let d = PollSettings::default();
    let read = |cx: &mut Cx, f: &mut Fields, name: &'static str| {
        f.get(name).map(|n| (n.pos, cx.duration(n, &f.at(name))))
    };
    let icmp_interval = read(cx, &mut f, "icmp_interval");
    let snmp_interval = read(cx, &mut f, "snmp_interval");
    let timeout = read(cx, &mut f, "timeout");
    let retries = f.get("retries").map(|n| cx.uint(n, &f.at("retries"), 10));
    let icmp_count = f.get("icmp_count").map(|n| (n.pos, cx.uint(n, &f.at("icmp_count"), 100)));
    let icmp_spacing = f.get("icmp_spacing").map(|n| cx.icmp_spacing(n, &f.at("icmp_spacing")));
    f.finish(cx);
    let mut ok = true;
    let mut take =
        |v: Option<(Pos, Option<Duration>)>, default: Duration, name: &str, cx: &mut Cx| match v {
            None => default,
            Some((_, None)) => {
                ok = false;
                default
            }
            Some((pos, Some(d))) if d.is_zero() => {
                cx.error(pos, &join(path, name), "must be longer than 0s");
                ok = false;
                default
            }
            Some((pos, Some(d))) if d > longest(name) => {
                cx.error(
                    pos,
                    &join(path, name),
                    format!(
                        "{} is too long; allowed: more than 0s, at most {}",
                        duration_text::format(d),
                        duration_text::format(longest(name))
                    ),
                );
                ok = false;
                default
            }
            Some((_, Some(d))) => d,
        };
    let settings = PollSettings {
        icmp_interval: take(icmp_interval, d.icmp_interval, "icmp_interval", cx),
        snmp_interval: take(snmp_interval, d.snmp_interval, "snmp_interval", cx),
        timeout: take(timeout, d.timeout, "timeout", cx),
        retries: match retries {
            None => d.retries,
            Some(None) => {
                ok = false;
                d.retries
            }
            Some(Some(n)) => n as u32,
        },
        icmp_count: match icmp_count {
            None => d.icmp_count,
            Some((_, None)) => {
                ok = false;
                d.icmp_count
            }
            Some((pos, Some(0))) => {
                cx.error(pos, &join(path, "icmp_count"), "must be at least 1");
                ok = false;
                d.icmp_count
            }
            Some((_, Some(n))) => n as u32,
        },
        icmp_spacing: match icmp_spacing {
            None => d.icmp_spacing,
            Some(None) => {
                ok = false;
                d.icmp_spacing
            }
            Some(Some(s)) => s,
        },
    };
    let timeout_pos = timeout.map_or(f.pos, |(p, _)| p);
    for (name, interval) in
        [("icmp_interval", settings.icmp_interval), ("snmp_interval", settings.snmp_interval)]
    {
        if settings.timeout >= interval {
            cx.error(
                timeout_pos,
                &join(path, "timeout"),
                format!(
                    "timeout {} must be shorter than {name} {}",
                    duration_text::format(settings.timeout),
                    duration_text::format(interval)
                ),
            );
            ok = false;
        }
    }
    ok.then_some(settings)
}

/// The longest value `defaults.poll.<name>` may have: a poll interval of more than a day
/// watches nothing, and a wait of more than a minute for one reply is a typo.
fn longest(name: &str) -> Duration {
    match name {
        "timeout" => MAX_TIMEOUT,
        _ => MAX_INTERVAL,
    }
}

/// The longest poll interval.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The longest timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

fn read_device(cx: &mut Cx, parts: &mut Parts, node: &Node, i: usize) -> Option<Item<DeviceDraft>> {
    let (label, id) = label(cx, "devices", i, node, true);
    let mut f = Fields::of(cx, node, &label)?;
    let mut at = HashMap::new();
    let mut mark = |cx: &Cx, name: &'static str, n: Option<&Node>| {
        if let Some(n) = n {
            at.insert(name, cx.here(n.pos));
        }
    };
    let id_node = f.need(cx, "id", "[a-z0-9-]+, unique");
    mark(cx, "id", id_node);
    let site_node = f.need(cx, "site", "the id of the site it stands in");
    mark(cx, "site", site_node);
    let site = site_node.and_then(|n| cx.id(n, &f.at("site")));
    let class = f
        .need(cx, "class", "what kind of equipment")
        .and_then(|n| cx.name(n, &f.at("class"), DeviceClass::parse, &DeviceClass::allowed()));
    let vendor = f.get("vendor").and_then(|n| cx.text(n, &f.at("vendor")));
    let model = f.get("model").and_then(|n| cx.text(n, &f.at("model")));
    let serial = f.get("serial").and_then(|n| cx.text(n, &f.at("serial")));
    let ipv4_node = f.get("ipv4");
    mark(cx, "ipv4", ipv4_node);
    let ipv4 = ipv4_node.map(|n| cx.address(n, &f.at("ipv4"), Family::Ipv4));
    let ipv6_node = f.get("ipv6");
    mark(cx, "ipv6", ipv6_node);
    let ipv6 = ipv6_node.map(|n| cx.address(n, &f.at("ipv6"), Family::Ipv6));
    let uplink = f.get("uplink").and_then(|n| cx.boolean(n, &f.at("uplink")));
    let snmp_node = f.get("snmp");
    mark(cx, "snmp", snmp_node);
    let snmp = match snmp_node {
        None => Some(SnmpChoice::Default),
        Some(n) => read_snmp_choice(cx, parts, n, &f.at("snmp")),
    };
    let monitor = f.get("monitor").and_then(|n| cx.boolean(n, &f.at("monitor")));
    let ipv6_planned = f.get("ipv6_planned").and_then(|n| cx.date(n, &f.at("ipv6_planned")));
    let lifecycle = match f.get("lifecycle") {
        Some(n) => read_lifecycle(cx, n, &f.at("lifecycle"), &mut at)?,
        None => Lifecycle::default(),
    };
    let depends_node = f.get("depends_on");
    if let Some(n) = depends_node {
        at.insert("depends_on", cx.here(n.pos));
    }
    let depends_on = depends_node.map(|n| outages::id_list(cx, n, &f.at("depends_on")));
    let icmp = f.get("icmp").and_then(|n| cx.boolean(n, &f.at("icmp")));
    // A device's own poll settings: only the echo spacing today.
    let mut spacing_ok = true;
    let icmp_spacing = f.get("poll").and_then(|n| {
        let path = f.at("poll");
        let mut p = Fields::of(cx, n, &path)?;
        let spacing = p.get("icmp_spacing").map(|n| cx.icmp_spacing(n, &p.at("icmp_spacing")));
        p.finish(cx);
        spacing_ok = !matches!(spacing, Some(None));
        spacing.flatten()
    });
    f.finish(cx);

    let monitor = monitor.unwrap_or(true);
    if monitor && ipv4_node.is_none() && ipv6_node.is_none() {
        cx.error(f.pos, &label, "a monitored device needs ipv4 or ipv6 (or monitor: false)");
    }
    if let (Some(id), Some(replaces)) = (&id, &lifecycle.replaces)
        && replaces == id
    {
        cx.error(f.pos, &format!("{label}.lifecycle.replaces"), "a device cannot replace itself");
    }
    let device = Device {
        id: id?.into(),
        site: site?.into(),
        class: class?,
        vendor,
        model,
        serial,
        ipv4: match ipv4 {
            None => None,
            Some(a) => Some(match a? {
                IpAddr::V4(a) => a,
                IpAddr::V6(_) => return None,
            }),
        },
        ipv6: match ipv6 {
            None => None,
            Some(a) => Some(match a? {
                IpAddr::V6(a) => a,
                IpAddr::V4(_) => return None,
            }),
        },
        uplink: uplink.unwrap_or(false),
        snmp: None,
        monitor,
        ipv6_planned,
        lifecycle,
        depends_on: Vec::new(),
        icmp: icmp.unwrap_or(true),
        icmp_spacing,
    };
    if !spacing_ok {
        return None;
    }
    // A list that could not be read is reported already; no default replaces it.
    let depends_on = depends_on.map(Option::unwrap_or_default);
    let draft = DeviceDraft { device, snmp: snmp?, depends_on };
    Some(Item { value: draft, loc: cx.here(node.pos), label, at })
}

/// A device's `snmp`: a profile's name, an inline profile, or `false`.
fn read_snmp_choice(cx: &mut Cx, parts: &mut Parts, n: &Node, path: &str) -> Option<SnmpChoice> {
    match &n.value {
        Value::Scalar { text, quoted: false } if text == "false" => Some(SnmpChoice::Off),
        Value::Scalar { text, quoted: false } if text == "true" => {
            cx.error(
                n.pos,
                path,
                "expected a profile name, an inline profile or false, found true",
            );
            None
        }
        Value::Scalar { .. } => cx.id(n, path).map(SnmpChoice::Named),
        Value::Map(_) => read_profile(cx, parts, n, path).map(SnmpChoice::Inline),
        _ => {
            cx.error(
                n.pos,
                path,
                format!("expected a profile name, an inline profile or false, found {}", n.kind()),
            );
            None
        }
    }
}

fn read_lifecycle(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    at: &mut HashMap<&'static str, Loc>,
) -> Option<Lifecycle> {
    let mut f = Fields::of(cx, node, path)?;
    let mut ok = true;
    let mut date = |cx: &mut Cx, f: &mut Fields, name: &'static str| -> Option<(NaiveDate, Pos)> {
        let n = f.get(name)?;
        at.insert(name, cx.here(n.pos));
        let d = cx.date(n, &f.at(name));
        ok &= d.is_some();
        d.map(|d| (d, n.pos))
    };
    let acquired = date(cx, &mut f, "acquired");
    let end_of_sale = date(cx, &mut f, "end_of_sale");
    let end_of_support = date(cx, &mut f, "end_of_support");
    let renewed = date(cx, &mut f, "renewed");
    let retired = date(cx, &mut f, "retired");
    let replaces_node = f.get("replaces");
    let replaces = replaces_node.and_then(|n| {
        at.insert("replaces", cx.here(n.pos));
        let r = cx.id(n, &f.at("replaces"));
        ok &= r.is_some();
        r
    });
    f.finish(cx);
    let mut order = |later: Option<(NaiveDate, Pos)>,
                     lname: &str,
                     earlier: Option<(NaiveDate, Pos)>,
                     ename: &str,
                     severity: Severity| {
        if let (Some((l, pos)), Some((e, _))) = (later, earlier)
            && l < e
        {
            let msg = format!("{lname} {l} is before {ename} {e}");
            match severity {
                Severity::Error => {
                    cx.error(pos, &f.at(lname), msg);
                    ok = false;
                }
                Severity::Warning => cx.warn(
                    pos,
                    &f.at(lname),
                    format!("{msg}; vendors usually stop selling before they stop supporting"),
                ),
            }
        }
    };
    order(end_of_support, "end_of_support", acquired, "acquired", Severity::Error);
    order(renewed, "renewed", acquired, "acquired", Severity::Error);
    order(retired, "retired", acquired, "acquired", Severity::Error);
    order(retired, "retired", renewed, "renewed", Severity::Error);
    order(end_of_support, "end_of_support", end_of_sale, "end_of_sale", Severity::Warning);
    ok.then(|| Lifecycle {
        acquired: acquired.map(|d| d.0),
        end_of_sale: end_of_sale.map(|d| d.0),
        end_of_support: end_of_support.map(|d| d.0),
        renewed: renewed.map(|d| d.0),
        replaces: replaces.map(DeviceId::from),
        retired: retired.map(|d| d.0),
    })
}

fn read_policy(cx: &mut Cx, node: &Node) -> Option<Policy> {
    let mut f = Fields::of(cx, node, "policy")?;
    let mut policy = Policy::default();
    let mut ok = true;
    if let Some(n) = f.get("renewal")
        && let Some(mut r) = Fields::of(cx, n, "policy.renewal")
    {
        if let Some(n) = r.get("max_age_years")
            && let Some(mut ages) = Fields::of(cx, n, "policy.renewal.max_age_years")
        {
            for class in DeviceClass::ALL {
                if let Some(v) = ages.get(class.as_str()) {
                    match cx.uint(v, &ages.at(class.as_str()), 100) {
                        Some(years) => {
                            policy.max_age_years.insert(*class, years as u32);
                        }
                        None => ok = false,
                    }
                }
            }
            if let Some(v) = ages.get("default") {
                match cx.uint(v, &ages.at("default"), 100) {
                    Some(years) => policy.default_max_age_years = years as u32,
                    None => ok = false,
                }
            }
            ages.finish(cx);
        }
        if let Some(n) = r.get("support_warning_days") {
            match cx.uint(n, &r.at("support_warning_days"), 3650) {
                Some(d) => policy.support_warning_days = d as u32,
                None => ok = false,
            }
        }
        r.finish(cx);
    }
    f.finish(cx);
    ok.then_some(policy)
}

fn read_project(cx: &mut Cx, node: &Node, i: usize) -> Option<Item<Project>> {
    let (label, id) = label(cx, "projects", i, node, true);
    let mut f = Fields::of(cx, node, &label)?;
    let mut at = HashMap::new();
    if let Some(n) = f.need(cx, "id", "[a-z0-9-]+, unique") {
        at.insert("id", cx.here(n.pos));
    }
    let indicator = f
        .need(cx, "indicator", "AE.7.03 or AE.7.04")
        .and_then(|n| cx.name(n, &f.at("indicator"), IndicatorId::parse, &IndicatorId::allowed()));
    let name = f.need(cx, "name", "the project's name").and_then(|n| cx.text(n, &f.at("name")));
    let year = f
        .need(cx, "year", "the year it is planned for")
        .and_then(|n| cx.uint(n, &f.at("year"), 9999));
    let budget_pen = f.get("budget_pen").and_then(|n| cx.number(n, &f.at("budget_pen")));
    let priority = f.get("priority").and_then(|n| cx.uint(n, &f.at("priority"), 9));
    let status_node = f.need(cx, "status", "planned, in_progress, implemented or cancelled");
    let status = status_node
        .and_then(|n| cx.name(n, &f.at("status"), ProjectStatus::parse, &ProjectStatus::allowed()));
    let implemented_node = f.get("implemented_on");
    let implemented_on = implemented_node.and_then(|n| cx.date(n, &f.at("implemented_on")));
    f.finish(cx);
    match (status, implemented_node) {
        (Some(ProjectStatus::Implemented), None) => cx.error(
            status_node.map_or(f.pos, |n| n.pos),
            &f.at("implemented_on"),
            "status implemented needs implemented_on (the date it was implemented)",
        ),
        (Some(s), Some(n)) if s != ProjectStatus::Implemented => cx.warn(
            n.pos,
            &f.at("implemented_on"),
            format!(
                "implemented_on is set but status is {s}; it counts only when status is implemented"
            ),
        ),
        _ => {}
    }
    if status == Some(ProjectStatus::Implemented) && implemented_on.is_none() {
        return None;
    }
    let project = Project {
        id: id?.into(),
        indicator: indicator?,
        name: name?,
        year: year? as i32,
        budget_pen,
        priority: priority.map(|p| p as u32),
        status: status?,
        implemented_on,
    };
    Some(Item { value: project, loc: cx.here(node.pos), label, at })
}

fn read_indicator(cx: &mut Cx, node: &Node, i: usize) -> Option<Item<Indicator>> {
    let (label, _) = label(cx, "indicators", i, node, false);
    let mut f = Fields::of(cx, node, &label)?;
    let mut at = HashMap::new();
    let id_node = f.need(cx, "id", "AE.7.03 or AE.7.04");
    if let Some(n) = id_node {
        at.insert("id", cx.here(n.pos));
    }
    let id =
        id_node.and_then(|n| cx.name(n, &f.at("id"), IndicatorId::parse, &IndicatorId::allowed()));
    let name = f.need(cx, "name", "the indicator's name").and_then(|n| cx.text(n, &f.at("name")));
    let mut targets = BTreeMap::new();
    if let Some(n) = f.get("targets")
        && let Some(mut t) = Fields::of(cx, n, &f.at("targets"))
    {
        for (year, k, v) in t.all() {
            let path = t.at(year);
            match year.parse::<i32>().ok().filter(|y| (1900..=9999).contains(y) && year.len() == 4)
            {
                Some(y) => {
                    if let Some(value) = cx.number(v, &path) {
                        targets.insert(y, value);
                    }
                }
                None => cx.error(
                    k.pos,
                    &path,
                    format!("expected a year (YYYY) as the key, found {year:?}"),
                ),
            }
        }
        t.finish(cx);
    }
    let mut text =
        |cx: &mut Cx, name: &'static str| f.get(name).and_then(|n| cx.text(n, &f.at(name)));
    let objective = text(cx, "objective");
    let action = text(cx, "action");
    let formula = text(cx, "formula");
    let source = text(cx, "source");
    let responsible = text(cx, "responsible");
    let target_note = text(cx, "target_note");
    f.finish(cx);
    let indicator = Indicator {
        id: id?,
        name: name?,
        targets,
        objective,
        action,
        formula,
        source,
        responsible,
        target_note,
    };
    Some(Item { value: indicator, loc: cx.here(node.pos), label, at })
}

fn read_declared(cx: &mut Cx, node: &Node, i: usize) -> Option<Declared> {
    let label = format!("declared[{i}]");
    let mut f = Fields::of(cx, node, &label)?;
    let source = f
        .need(cx, "source", "the document, section or table")
        .and_then(|n| cx.text(n, &f.at("source")));
    let mut sites = BTreeMap::new();
    let mut sites_total = None;
    if let Some(n) = f.get("sites")
        && let Some(mut s) = Fields::of(cx, n, &f.at("sites"))
    {
        for medium in LinkMedium::ALL {
            if let Some(v) = s.get(medium.as_str())
                && let Some(count) = cx.uint(v, &s.at(medium.as_str()), 1_000_000)
            {
                sites.insert(*medium, count as u32);
            }
        }
        sites_total =
            s.get("total").and_then(|v| cx.uint(v, &s.at("total"), 1_000_000)).map(|n| n as u32);
        s.finish(cx);
    }
    let mut devices = BTreeMap::new();
    if let Some(n) = f.get("devices")
        && let Some(mut d) = Fields::of(cx, n, &f.at("devices"))
    {
        for class in DeviceClass::ALL {
            if let Some(v) = d.get(class.as_str())
                && let Some(count) = cx.uint(v, &d.at(class.as_str()), 1_000_000)
            {
                devices.insert(*class, count as u32);
            }
        }
        d.finish(cx);
    }
    f.finish(cx);
    Some(Declared { source: source?, sites, sites_total, devices })
}

/// Checks across items and files, then the typed inventory.
fn build(cx: &mut Cx, parts: Parts, secrets: Secrets) -> Option<Inventory> {
    unique_ids(cx, &parts);
    one_main_site(cx, &parts.sites);
    let profiles: BTreeMap<String, Arc<SnmpProfile>> =
        parts.profiles.iter().map(|p| (p.value.0.clone(), Arc::new(p.value.1.clone()))).collect();
    let default_snmp = default_snmp(cx, parts.default_snmp.as_ref(), &profiles);
    let devices = place_devices(cx, &parts, &profiles, default_snmp.as_ref());
    uplink_warnings(cx, &parts.sites, &devices);
    unreadable_secrets(cx, &parts.secrets, secrets);

    let mut devices = devices;
    let mut sites: Vec<Site> = parts.sites.iter().map(|s| s.value.clone()).collect();
    outages::dependencies(cx, &parts, &mut sites, &mut devices);
    let time_zone = parts.time_zone.unwrap_or(super::maintenance::DEFAULT_TIME_ZONE);
    let maintenance = outages::windows(cx, &parts.windows, time_zone, &parts.sites, &devices);
    let lab = lab::build(cx, parts.lab, &parts.sites, &devices);
    let catalog = catalog::build(cx, parts.catalog);
    sites.sort_by_key(|s| s.role != SiteRole::Main);
    Some(Inventory {
        dir: cx.dir.clone(),
        sites,
        devices,
        snmp_profiles: profiles,
        poll: parts.poll.unwrap_or_default(),
        policy: parts.policy.unwrap_or_default(),
        projects: parts.projects.into_iter().map(|p| p.value).collect(),
        indicators: parts.indicators.into_iter().map(|i| i.value).collect(),
        declared: parts.declared,
        lab,
        catalog,
        time_zone,
        maintenance,
    })
}

/// Ids unique across files, and each SNMP profile defined once.
fn unique_ids(cx: &mut Cx, parts: &Parts) {
    unique(cx, &parts.sites, "site", |s| s.id.to_string());
    unique(cx, &parts.devices, "device", |d| d.device.id.to_string());
    unique(cx, &parts.projects, "project", |p| p.id.to_string());
    unique(cx, &parts.indicators, "indicator", |i| i.id.as_str().to_owned());
    let mut profile_seen: HashMap<&str, Loc> = HashMap::new();
    for p in &parts.profiles {
        if let Some(first) = profile_seen.get(p.value.0.as_str()) {
            let first = cx.show(*first);
            cx.error_at(
                p.loc,
                &p.label,
                format!("SNMP profile {:?} is defined twice (first at {first})", p.value.0),
            );
        } else {
            profile_seen.insert(&p.value.0, p.loc);
        }
    }
}

/// Exactly one main site.
fn one_main_site(cx: &mut Cx, sites: &[Item<Site>]) {
    let mains: Vec<&Item<Site>> = sites.iter().filter(|s| s.value.role == SiteRole::Main).collect();
    match mains.as_slice() {
        [] if !sites.is_empty() => cx.dir_error("sites", "no site has role main; exactly one main site (the one with the data centre) is required".into()),
        [] => cx.dir_error("sites", "no sites; exactly one main site is required".into()),
        [_] => {}
        [first, rest @ ..] => {
            let first_at = cx.show(first.loc);
            for s in rest {
                cx.error_at(
                    s.field("role"),
                    &s.path("role"),
                    format!(
                        "a second main site; exactly one is allowed (site {:?} is main at {first_at})",
                        first.value.id
                    ),
                );
            }
        }
    }
}

/// The names of the defined profiles, for messages.
fn known_profiles(profiles: &BTreeMap<String, Arc<SnmpProfile>>) -> String {
    profiles.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// `defaults.snmp`, when it names a profile that exists.
fn default_snmp(
    cx: &mut Cx,
    choice: Option<&Item<SnmpChoice>>,
    profiles: &BTreeMap<String, Arc<SnmpProfile>>,
) -> Option<SnmpRef> {
    let Some(Item { value: SnmpChoice::Named(name), loc, .. }) = choice else { return None };
    match profiles.get(name) {
        Some(p) => Some(SnmpRef { name: name.clone(), profile: p.clone() }),
        None => {
            cx.error_at(
                *loc,
                "defaults.snmp",
                format!(
                    "unknown SNMP profile {name:?}; defined: {}",
                    or_none(&known_profiles(profiles))
                ),
            );
            None
        }
    }
}

/// Devices: their site, SNMP profile, addresses (unique) and the device they replace.
fn place_devices(
    cx: &mut Cx,
    parts: &Parts,
    profiles: &BTreeMap<String, Arc<SnmpProfile>>,
    default_snmp: Option<&SnmpRef>,
) -> Vec<Device> {
    let sites: HashMap<&str, &Item<Site>> =
        parts.sites.iter().map(|s| (s.value.id.as_str(), s)).collect();
    let site_ids: Vec<&str> = parts.sites.iter().map(|s| s.value.id.as_str()).collect();
    let site_hints = Hints::new(&site_ids);
    let device_ids: Vec<&str> = parts.devices.iter().map(|d| d.value.device.id.as_str()).collect();
    let mut addresses: HashMap<IpAddr, (&str, Loc)> = HashMap::new();
    let mut devices = Vec::new();
    for item in &parts.devices {
        let draft = &item.value;
        let mut device = draft.device.clone();
        match sites.get(device.site.as_str()) {
            None => {
                let hint = site_hints.suggest(&device.site);
                cx.error_at(
                    item.field("site"),
                    &item.path("site"),
                    format!("unknown site {:?}{hint}", device.site),
                );
            }
            Some(site) if site.value.link == Some(LinkMedium::None) && device.monitor => cx
                .warn_at(
                    item.field("site"),
                    &item.path("site"),
                    format!(
                        "site {} has no link (link: none): the device is kept but never polled",
                        site.value.id
                    ),
                ),
            Some(_) => {}
        }
        device.snmp = device_snmp(cx, item, profiles, default_snmp);
        unique_addresses(cx, item, &device, &mut addresses);
        if let Some(replaces) = &device.lifecycle.replaces
            && !device_ids.contains(&replaces.as_str())
        {
            cx.warn_at(
                item.field("replaces"),
                &item.path("lifecycle.replaces"),
                format!("replaces {replaces:?}, which is not in the inventory; keep the old device with lifecycle.retired for history"),
            );
        }
        devices.push(device);
    }
    devices
}

/// The device's SNMP settings: the default, none, inline, or a profile that exists.
fn device_snmp(
    cx: &mut Cx,
    item: &Item<DeviceDraft>,
    profiles: &BTreeMap<String, Arc<SnmpProfile>>,
    default_snmp: Option<&SnmpRef>,
) -> Option<SnmpRef> {
    match &item.value.snmp {
        SnmpChoice::Default => default_snmp.cloned(),
        SnmpChoice::Off => None,
        SnmpChoice::Inline(p) => {
            Some(SnmpRef { name: "inline".into(), profile: Arc::new(p.clone()) })
        }
        SnmpChoice::Named(name) => match profiles.get(name) {
            Some(p) => Some(SnmpRef { name: name.clone(), profile: p.clone() }),
            None => {
                let defined = known_profiles(profiles);
                cx.error_at(
                    item.field("snmp"),
                    &item.path("snmp"),
                    format!("unknown SNMP profile {name:?}; defined: {}", or_none(&defined)),
                );
                None
            }
        },
    }
}

/// No two devices share an address.
fn unique_addresses<'a>(
    cx: &mut Cx,
    item: &'a Item<DeviceDraft>,
    device: &Device,
    addresses: &mut HashMap<IpAddr, (&'a str, Loc)>,
) {
    for (field, addr) in
        [("ipv4", device.ipv4.map(IpAddr::V4)), ("ipv6", device.ipv6.map(IpAddr::V6))]
    {
        // `::ffff:a.b.c.d` is `a.b.c.d` (refused in ipv6 already; canonical all the same).
        let Some(addr) = addr.map(|a| a.to_canonical()) else { continue };
        let loc = item.field(field);
        if let Some((other, other_loc)) = addresses.get(&addr) {
            let other_at = cx.show(*other_loc);
            cx.error_at(
                loc,
                &item.path(field),
                format!("address {addr} is also used by device {other} ({other_at})"),
            );
        } else {
            addresses.insert(addr, (&item.value.device.id, loc));
        }
    }
}

/// Sites with several monitored devices and no uplink: reachability falls back to any device.
fn uplink_warnings(cx: &mut Cx, sites: &[Item<Site>], devices: &[Device]) {
    // (monitored devices, of which uplinks) per site: one pass, not one per site.
    let mut count: HashMap<&str, (usize, usize)> = HashMap::new();
    for d in devices.iter().filter(|d| d.monitor) {
        let c = count.entry(d.site.as_str()).or_default();
        c.0 += 1;
        c.1 += usize::from(d.uplink);
    }
    for site in sites {
        let (members, uplinks) = count.get(site.value.id.as_str()).copied().unwrap_or_default();
        if site.value.link.is_some_and(|l| l != LinkMedium::None) && members > 1 && uplinks == 0 {
            cx.warn_at(
                site.loc,
                &site.label,
                "several devices and none marked uplink: true; the site counts as up when any of them answers",
            );
        }
    }
}

/// Secrets that cannot be read yet: warnings, or errors when they are required.
fn unreadable_secrets(cx: &mut Cx, refs: &[(Loc, String, SecretRef)], secrets: Secrets) {
    for (loc, path, secret) in refs {
        if let Err(e) = secret.resolve() {
            match secrets {
                Secrets::Warn => cx.warn_at(
                    *loc,
                    path,
                    format!("{e}; the agent will refuse to start without it"),
                ),
                Secrets::Require => cx.error_at(*loc, path, e.to_string()),
            }
        }
    }
}

fn or_none(list: &str) -> &str {
    if list.is_empty() { "none" } else { list }
}

fn unique<T>(cx: &mut Cx, items: &[Item<T>], what: &str, id: impl Fn(&T) -> String) {
    let mut seen: HashMap<String, Loc> = HashMap::new();
    for item in items {
        let key = id(&item.value);
        let loc = item.field("id");
        if let Some(first) = seen.get(&key) {
            let first = cx.show(*first);
            cx.error_at(
                loc,
                &item.path("id"),
                format!("duplicate {what} id {key:?} (first defined at {first})"),
            );
        } else {
            seen.insert(key, loc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        let cases = [
            ("30s", Some(Duration::from_secs(30))),
            ("500ms", Some(Duration::from_millis(500))),
            ("2m", Some(Duration::from_secs(120))),
            ("1h", Some(Duration::from_secs(3600))),
            ("1m30s", Some(Duration::from_secs(90))),
            ("30", None),
            ("s", None),
            ("3d", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), want, "{text}");
        }
    }
}
