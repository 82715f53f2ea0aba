//! How records become rows and back, the same for both backends: interned strings, family and
//! probe codes, microseconds, bit-exact u64 counters.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};

use super::StoreError;
use super::columns::stored_row;
use crate::history::{EventKind, EventRecord, FactRecord, InterfaceRecord, PollRecord};
use crate::inventory::Family;
use crate::outage::Cause;
use crate::poll::{Counter, Fact, Interface, PollOutcome, ProbeKind, SystemInfo};

/// Longest repeated string stored (device, site, SNMP system values, interface names), in bytes;
/// longer ones are cut at a character boundary. PostgreSQL's unique index on them refuses
/// entries much longer than this, and no SNMP DisplayString is longer than 255 characters.
pub const MAX_TEXT_BYTES: usize = 2048;

/// Id of an interned string.
pub(crate) type Id = i32;

/// `text` as stored: NUL replaced by U+FFFD, at most `max` bytes.
pub(crate) fn clean(text: &str, max: usize) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    if out.contains('\0') {
        out = Cow::Owned(out.replace('\0', "\u{FFFD}"));
    }
    if out.len() > max {
        let mut cut = max;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out = Cow::Owned(out[..cut].to_owned());
    }
    out
}

/// A repeated string as interned.
pub(crate) fn clean_name(text: &str) -> Cow<'_, str> {
    clean(text, MAX_TEXT_BYTES)
}

/// Free text (event details, snapshot JSON): NUL replaced, never cut.
pub(crate) fn clean_text(text: &str) -> Cow<'_, str> {
    clean(text, usize::MAX)
}

/// Microseconds since the Unix epoch (sub-microsecond digits are dropped).
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The time `us` microseconds after the Unix epoch.
pub(crate) fn from_micros(
    table: &'static str,
    column: &'static str,
    us: i64,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt {
        table,
        column,
        value: us.to_string(),
    })
}

/// `t` truncated to the microsecond, as both backends keep it.
pub(crate) fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Midnight UTC starting `day`.
pub(crate) fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// The family's code in the database.
pub(crate) fn family_code(f: Family) -> i16 {
    match f {
        Family::Ipv4 => 4,
        Family::Ipv6 => 6,
    }
}

/// The family a code stands for.
pub(crate) fn family_of(table: &'static str, code: i64) -> Result<Family, StoreError> {
    match code {
        4 => Ok(Family::Ipv4),
        6 => Ok(Family::Ipv6),
        _ => Err(StoreError::Corrupt { table, column: "family", value: code.to_string() }),
    }
}

/// The probe's code in the database.
pub(crate) fn probe_code(p: ProbeKind) -> i16 {
    match p {
        ProbeKind::Icmp => 1,
        ProbeKind::Snmp => 2,
    }
}

/// The probe a code stands for.
pub(crate) fn probe_of(table: &'static str, code: i64) -> Result<ProbeKind, StoreError> {
    match code {
        1 => Ok(ProbeKind::Icmp),
        2 => Ok(ProbeKind::Snmp),
        _ => Err(StoreError::Corrupt { table, column: "probe", value: code.to_string() }),
    }
}

/// Seconds as whole microseconds (rounded), fit for an `integer` column.
pub(crate) fn secs_to_us(field: &'static str, secs: f64) -> Result<i32, StoreError> {
    let us = (secs * 1e6).round();
    if !us.is_finite() || us < 0.0 || us > f64::from(i32::MAX) {
        return Err(StoreError::Unstorable {
            field,
            value: secs.to_string(),
            why: "a time in seconds must be finite, not negative and under 2147 s",
        });
    }
    Ok(us as i32)
}

/// [`secs_to_us`] for an optional value.
pub(crate) fn opt_secs_to_us(
    field: &'static str,
    secs: Option<f64>,
) -> Result<Option<i32>, StoreError> {
    secs.map(|s| secs_to_us(field, s)).transpose()
}

/// Whole microseconds as seconds.
pub(crate) fn us_to_secs(us: i64) -> f64 {
    us as f64 / 1e6
}

/// A `u32` in an `integer` column (the fields that use it never reach 2^31 in practice).
pub(crate) fn u32_to_i32(field: &'static str, v: u32) -> Result<i32, StoreError> {
    i32::try_from(v).map_err(|_| StoreError::Unstorable {
        field,
        value: v.to_string(),
        why: "larger than 2^31 - 1",
    })
}

/// [`u32_to_i32`] for an optional value.
pub(crate) fn opt_u32_to_i32(
    field: &'static str,
    v: Option<u32>,
) -> Result<Option<i32>, StoreError> {
    v.map(|v| u32_to_i32(field, v)).transpose()
}

/// An `integer` column back to `u32`.
pub(crate) fn i64_to_u32(
    table: &'static str,
    column: &'static str,
    v: i64,
) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt { table, column, value: v.to_string() })
}

/// A `u64` kept bit for bit in a signed 64-bit column.
pub(crate) fn u64_bits(v: u64) -> i64 {
    v as i64
}

/// A signed 64-bit column back to the `u64` it holds bit for bit.
pub(crate) fn bits_u64(v: i64) -> u64 {
    v as u64
}

/// A count from the database (never negative).
pub(crate) fn count(table: &'static str, column: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt { table, column, value: v.to_string() })
}

/// The string cache: ids never change once given, so it is valid for the store's life, across
/// agents. Bounded: it is emptied when it grows past [`Interner::MAX`] entries.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    maps: Mutex<Maps>,
}

#[derive(Debug, Default)]
struct Maps {
    ids: HashMap<Arc<str>, Id>,
    values: HashMap<Id, Arc<str>>,
}

/// Ids of the strings of one batch.
pub(crate) type Ids = HashMap<String, Id>;

/// Strings of one batch of rows read.
pub(crate) type Names = HashMap<Id, Arc<str>>;

impl Interner {
    /// Entries kept at most (a few tens of MB).
    pub(crate) const MAX: usize = 1_000_000;

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Splits `values` (already cleaned) into those cached, with their ids, and those not.
    pub(crate) fn split<'a>(
        &self,
        values: impl IntoIterator<Item = &'a str>,
    ) -> (Ids, Vec<String>) {
        let maps = self.lock();
        let mut known = Ids::new();
        let mut missing = HashSet::new();
        for v in values {
            if known.contains_key(v) {
                continue;
            }
            match maps.ids.get(v) {
                Some(id) => {
                    known.insert(v.to_owned(), *id);
                }
                None => {
                    missing.insert(v);
                }
            }
        }
        let mut missing: Vec<String> = missing.into_iter().map(str::to_owned).collect();
        // A stable order keeps concurrent inserts from several agents from deadlocking.
        missing.sort_unstable();
        (known, missing)
    }

    /// Splits ids into those cached, with their strings, and those not.
    pub(crate) fn split_ids(&self, ids: impl IntoIterator<Item = Id>) -> (Names, Vec<Id>) {
        let maps = self.lock();
        let mut known = Names::new();
        let mut missing = HashSet::new();
        for id in ids {
            if known.contains_key(&id) {
                continue;
            }
            match maps.values.get(&id) {
                Some(v) => {
                    known.insert(id, v.clone());
                }
                None => {
                    missing.insert(id);
                }
            }
        }
        (known, missing.into_iter().collect())
    }

    /// Remembers pairs read from or written to the database.
    pub(crate) fn learn<'a>(&self, pairs: impl IntoIterator<Item = (Id, &'a str)>) {
        let mut maps = self.lock();
        for (id, value) in pairs {
            if maps.ids.len() >= Self::MAX {
                maps.ids.clear();
                maps.values.clear();
            }
            let value: Arc<str> = Arc::from(value);
            maps.ids.insert(value.clone(), id);
            maps.values.insert(id, value);
        }
    }

    /// The cached id of a string, if any.
    pub(crate) fn cached_id(&self, value: &str) -> Option<Id> {
        self.lock().ids.get(value).copied()
    }
}

/// The id of `value` in a batch's ids. Every string of a batch is interned before its rows are
/// encoded, so a miss is a bug of this module.
fn id(ids: &Ids, value: &str) -> Id {
    *ids.get(&*clean_name(value)).expect("every string of a batch is interned before encoding")
}

fn opt_id(ids: &Ids, value: Option<&str>) -> Option<Id> {
    value.map(|v| id(ids, v))
}

/// The interned string of an id read back.
fn lookup<'n>(
    names: &'n Names,
    table: &'static str,
    column: &'static str,
    id: Id,
) -> Result<&'n Arc<str>, StoreError> {
    names.get(&id).ok_or_else(|| StoreError::Corrupt {
        table,
        column,
        value: format!("string id {id} (not in `strings`)"),
    })
}

/// The string of an id read back.
pub(crate) fn name(
    names: &Names,
    table: &'static str,
    column: &'static str,
    id: Id,
) -> Result<String, StoreError> {
    lookup(names, table, column, id).map(|v| v.to_string())
}

/// A device or site id read back, sharing the interned string.
pub(crate) fn ident<T: From<Arc<str>>>(
    names: &Names,
    table: &'static str,
    column: &'static str,
    id: Id,
) -> Result<T, StoreError> {
    lookup(names, table, column, id).map(|v| T::from(v.clone()))
}

fn opt_name(
    names: &Names,
    table: &'static str,
    column: &'static str,
    id: Option<Id>,
) -> Result<Option<String>, StoreError> {
    id.map(|id| name(names, table, column, id)).transpose()
}

/// A poll's outcome read back.
fn outcome(names: &Names, table: &'static str, id: Id) -> Result<PollOutcome, StoreError> {
    let text = lookup(names, table, "outcome", id)?;
    PollOutcome::parse(text).ok_or_else(|| StoreError::Corrupt {
        table,
        column: "outcome",
        value: text.to_string(),
    })
}

/// The strings of poll records that are interned.
pub(crate) fn poll_strings(rows: &[PollRecord]) -> impl Iterator<Item = &str> {
    rows.iter().flat_map(|r| {
        [
            Some(r.agent.as_str()),
            Some(r.device.as_str()),
            Some(r.site.as_str()),
            Some(r.outcome.as_str()),
        ]
        .into_iter()
        .chain([
            r.system.descr.as_deref(),
            r.system.object_id.as_deref(),
            r.system.name.as_deref(),
            r.system.location.as_deref(),
            r.system.contact.as_deref(),
        ])
        .flatten()
    })
}

/// The strings of interface records that are interned.
pub(crate) fn interface_strings(rows: &[InterfaceRecord]) -> impl Iterator<Item = &str> {
    rows.iter().flat_map(|r| {
        [
            Some(r.agent.as_str()),
            Some(r.device.as_str()),
            Some(r.interface.name.as_str()),
            r.interface.alias.as_deref(),
        ]
        .into_iter()
        .flatten()
    })
}

stored_row! {
    /// A poll as stored (`polls` and `latest_polls` columns).
    pub(crate) struct PollRow in "polls", "reading polls" {
        agent: Id = "int4",
        device: Id = "int4",
        site: Id = "int4",
        family: i16 = "int2",
        probe: i16 = "int2",
        outcome: Id = "int4",
        success: bool = "bool",
        sent: Option<i32> = "int4",
        received: Option<i32> = "int4",
        rtt_min_us: Option<i32> = "int4",
        rtt_avg_us: Option<i32> = "int4",
        rtt_max_us: Option<i32> = "int4",
        jitter_us: Option<i32> = "int4",
        duration_us: i32 = "int4",
        sys_descr: Option<Id> = "int4",
        sys_object_id: Option<Id> = "int4",
        sys_name: Option<Id> = "int4",
        sys_location: Option<Id> = "int4",
        sys_contact: Option<Id> = "int4",
        sys_uptime_ticks: Option<i64> = "int8",
    }
}

/// The key of `latest_polls`.
pub(crate) const LATEST_KEY: [&str; 3] = ["device", "family", "probe"];

impl PollRow {
    /// Encodes a record; every string must be in `ids`.
    pub(crate) fn encode(r: &PollRecord, ids: &Ids) -> Result<PollRow, StoreError> {
        Ok(PollRow {
            at: truncate_micros(r.at),
            agent: id(ids, &r.agent),
            device: id(ids, &r.device),
            site: id(ids, &r.site),
            family: family_code(r.family),
            probe: probe_code(r.probe),
            outcome: id(ids, r.outcome.as_str()),
            success: r.success,
            sent: opt_u32_to_i32("sent", r.sent)?,
            received: opt_u32_to_i32("received", r.received)?,
            rtt_min_us: opt_secs_to_us("rtt_min_s", r.rtt_min_s)?,
            rtt_avg_us: opt_secs_to_us("rtt_avg_s", r.rtt_avg_s)?,
            rtt_max_us: opt_secs_to_us("rtt_max_s", r.rtt_max_s)?,
            jitter_us: opt_secs_to_us("jitter_s", r.jitter_s)?,
            duration_us: secs_to_us("duration_s", r.duration_s)?,
            sys_descr: opt_id(ids, r.system.descr.as_deref()),
            sys_object_id: opt_id(ids, r.system.object_id.as_deref()),
            sys_name: opt_id(ids, r.system.name.as_deref()),
            sys_location: opt_id(ids, r.system.location.as_deref()),
            sys_contact: opt_id(ids, r.system.contact.as_deref()),
            sys_uptime_ticks: r.system.uptime_ticks.map(i64::from),
        })
    }

    /// The string ids this row refers to.
    pub(crate) fn ids(&self) -> impl Iterator<Item = Id> + use<> {
        [Some(self.agent), Some(self.device), Some(self.site), Some(self.outcome)]
            .into_iter()
            .chain([
                self.sys_descr,
                self.sys_object_id,
                self.sys_name,
                self.sys_location,
                self.sys_contact,
            ])
            .flatten()
    }

    /// Decodes a row; every id must be in `names`.
    pub(crate) fn decode(self, names: &Names) -> Result<PollRecord, StoreError> {
        const T: &str = "polls";
        Ok(PollRecord {
            at: self.at,
            agent: name(names, T, "agent", self.agent)?,
            device: ident(names, T, "device", self.device)?,
            site: ident(names, T, "site", self.site)?,
            family: family_of(T, self.family.into())?,
            probe: probe_of(T, self.probe.into())?,
            outcome: outcome(names, T, self.outcome)?,
            success: self.success,
            sent: self.sent.map(|v| i64_to_u32(T, "sent", v.into())).transpose()?,
            received: self.received.map(|v| i64_to_u32(T, "received", v.into())).transpose()?,
            rtt_min_s: self.rtt_min_us.map(|v| us_to_secs(v.into())),
            rtt_avg_s: self.rtt_avg_us.map(|v| us_to_secs(v.into())),
            rtt_max_s: self.rtt_max_us.map(|v| us_to_secs(v.into())),
            jitter_s: self.jitter_us.map(|v| us_to_secs(v.into())),
            duration_s: us_to_secs(self.duration_us.into()),
            system: SystemInfo {
                descr: opt_name(names, T, "sys_descr", self.sys_descr)?,
                object_id: opt_name(names, T, "sys_object_id", self.sys_object_id)?,
                name: opt_name(names, T, "sys_name", self.sys_name)?,
                location: opt_name(names, T, "sys_location", self.sys_location)?,
                contact: opt_name(names, T, "sys_contact", self.sys_contact)?,
                uptime_ticks: self
                    .sys_uptime_ticks
                    .map(|v| i64_to_u32(T, "sys_uptime_ticks", v))
                    .transpose()?,
            },
        })
    }
}

/// The latest row per (device, family, probe) of a batch, for `latest_polls` (an upsert may not
/// touch the same key twice in one statement).
pub(crate) fn latest_per_key(rows: &[PollRow]) -> Vec<&PollRow> {
    let mut latest: HashMap<(Id, i16, i16), &PollRow> = HashMap::new();
    for r in rows {
        latest
            .entry((r.device, r.family, r.probe))
            .and_modify(|cur| {
                if r.at > cur.at {
                    *cur = r;
                }
            })
            .or_insert(r);
    }
    let mut out: Vec<&PollRow> = latest.into_values().collect();
    out.sort_by_key(|r| (r.device, r.family, r.probe));
    out
}

stored_row! {
    /// An interface sample as stored: one column per declared counter (`poll::Counter`).
    pub(crate) struct InterfaceRow in "interfaces", "reading interfaces" {
        agent: Id = "int4",
        device: Id = "int4",
        if_index: i32 = "int4",
        name: Id = "int4",
        alias: Option<Id> = "int4",
        if_type: Option<i32> = "int4",
        speed_mbps: Option<i64> = "int8",
        oper_up: Option<bool> = "bool",
        admin_up: Option<bool> = "bool",
        counter_bits: i16 = "int2",
        [counters: Option<i64> = "int8"; Counter::COUNT] named Counter::ALL.map(Counter::name),
    }
}

impl InterfaceRow {
    /// Encodes a record; every string must be in `ids`.
    pub(crate) fn encode(r: &InterfaceRecord, ids: &Ids) -> Result<InterfaceRow, StoreError> {
        let i = &r.interface;
        if i.counter_bits != 32 && i.counter_bits != 64 {
            return Err(StoreError::Unstorable {
                field: "counter_bits",
                value: i.counter_bits.to_string(),
                why: "must be 32 or 64",
            });
        }
        Ok(InterfaceRow {
            at: truncate_micros(r.at),
            agent: id(ids, &r.agent),
            device: id(ids, &r.device),
            if_index: u32_to_i32("if_index", i.index)?,
            name: id(ids, &i.name),
            alias: opt_id(ids, i.alias.as_deref()),
            if_type: opt_u32_to_i32("if_type", i.if_type)?,
            speed_mbps: i.speed_mbps.map(u64_bits),
            oper_up: i.oper_up,
            admin_up: i.admin_up,
            counter_bits: i16::from(i.counter_bits),
            counters: Counter::ALL.map(|c| i.counter(c).map(u64_bits)),
        })
    }

    /// The string ids this row refers to.
    pub(crate) fn ids(&self) -> impl Iterator<Item = Id> + use<> {
        [Some(self.agent), Some(self.device), Some(self.name), self.alias].into_iter().flatten()
    }

    /// Decodes a row; every id must be in `names`.
    pub(crate) fn decode(self, names: &Names) -> Result<InterfaceRecord, StoreError> {
        const T: &str = "interfaces";
        let mut interface = Interface {
            index: i64_to_u32(T, "if_index", self.if_index.into())?,
            name: name(names, T, "name", self.name)?,
            alias: opt_name(names, T, "alias", self.alias)?,
            if_type: self.if_type.map(|v| i64_to_u32(T, "if_type", v.into())).transpose()?,
            speed_mbps: self.speed_mbps.map(bits_u64),
            oper_up: self.oper_up,
            admin_up: self.admin_up,
            counter_bits: u8::try_from(self.counter_bits).map_err(|_| StoreError::Corrupt {
                table: T,
                column: "counter_bits",
                value: self.counter_bits.to_string(),
            })?,
            ..Interface::default()
        };
        for (c, v) in Counter::ALL.into_iter().zip(self.counters) {
            *interface.counter_mut(c) = v.map(bits_u64);
        }
        Ok(InterfaceRecord {
            at: self.at,
            agent: name(names, T, "agent", self.agent)?,
            device: ident(names, T, "device", self.device)?,
            interface,
        })
    }
}

/// The counter columns of `interfaces` missing from `have` (the columns a database has), in
/// declaration order.
pub(crate) fn missing_counter_columns(have: &[String]) -> Vec<&'static str> {
    Counter::ALL.map(Counter::name).into_iter().filter(|c| !have.iter().any(|h| h == c)).collect()
}

/// The latest polls in their documented order: device, family, probe.
pub(crate) fn sort_latest(polls: &mut [PollRecord]) {
    polls.sort_by(|a, b| (&a.device, a.family, a.probe).cmp(&(&b.device, b.family, b.probe)));
}

/// A snapshot's JSON read back.
pub(crate) fn snapshot_content(text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table: "inventory_snapshots",
        column: "content",
        value: format!("not JSON ({e})"),
    })
}

stored_row! {
    /// An event as stored: plain text columns.
    pub(crate) struct EventRow in "events", "reading events" {
        agent: String = "text",
        kind: String = "text",
        device: Option<String> = "text",
        site: Option<String> = "text",
        family: Option<String> = "text",
        probe: Option<String> = "text",
        detail: String = "text",
        cause: Option<String> = "text",
        maintenance: Option<String> = "text",
    }
}

impl EventRow {
    /// Encodes an event (text cleaned).
    pub(crate) fn encode(e: &EventRecord) -> EventRow {
        let text = |t: &str| clean_text(t).into_owned();
        EventRow {
            at: truncate_micros(e.at),
            agent: text(&e.agent),
            kind: e.kind.as_str().to_owned(),
            device: e.device.as_deref().map(text),
            site: e.site.as_deref().map(text),
            family: e.family.map(|f| f.as_str().to_owned()),
            probe: e.probe.map(|p| p.as_str().to_owned()),
            detail: text(&e.detail),
            cause: e.cause.map(|c| c.as_str().to_owned()),
            // Window ids are `[a-z0-9-]+`: a comma cannot be part of one.
            maintenance: (!e.maintenance.is_empty()).then(|| text(&e.maintenance.join(","))),
        }
    }

    /// Decodes a row.
    pub(crate) fn decode(self) -> Result<EventRecord, StoreError> {
        const T: &str = "events";
        let corrupt =
            |column, value: &str| StoreError::Corrupt { table: T, column, value: value.to_owned() };
        Ok(EventRecord {
            at: self.at,
            agent: self.agent,
            kind: EventKind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            device: self.device.map(Into::into),
            site: self.site.map(Into::into),
            family: self
                .family
                .as_deref()
                .map(|f| Family::parse(f).ok_or_else(|| corrupt("family", f)))
                .transpose()?,
            probe: self
                .probe
                .as_deref()
                .map(|p| ProbeKind::parse(p).ok_or_else(|| corrupt("probe", p)))
                .transpose()?,
            detail: self.detail,
            cause: self
                .cause
                .as_deref()
                .map(|c| Cause::parse(c).ok_or_else(|| corrupt("cause", c)))
                .transpose()?,
            maintenance: self
                .maintenance
                .map(|m| m.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    }
}

/// A time stored as `at` is: SQLite INTEGER microseconds since the Unix epoch, PostgreSQL
/// `timestamptz`. For the second time column of a row (`device_facts.last_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(pub DateTime<Utc>);

impl sqlx::Type<sqlx::Sqlite> for Stamp {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <i64 as sqlx::Type<sqlx::Sqlite>>::type_info()
    }

    fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Sqlite>>::compatible(ty)
    }
}

impl sqlx::Encode<'_, sqlx::Sqlite> for Stamp {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::sqlite::SqliteArgumentsBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <i64 as sqlx::Encode<sqlx::Sqlite>>::encode_by_ref(&micros(self.0), buf)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Sqlite> for Stamp {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let us = <i64 as sqlx::Decode<sqlx::Sqlite>>::decode(value)?;
        DateTime::from_timestamp_micros(us)
            .map(Stamp)
            .ok_or_else(|| format!("{us} microseconds is not a time vigia can read").into())
    }
}

impl sqlx::Type<sqlx::Postgres> for Stamp {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <DateTime<Utc> as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl sqlx::postgres::PgHasArrayType for Stamp {
    fn array_type_info() -> sqlx::postgres::PgTypeInfo {
        <DateTime<Utc> as sqlx::postgres::PgHasArrayType>::array_type_info()
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for Stamp {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <DateTime<Utc> as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Stamp {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        <DateTime<Utc> as sqlx::Decode<sqlx::Postgres>>::decode(value).map(Stamp)
    }
}

stored_row! {
    /// A run of a device fact as stored (`device_facts`): `at` is its first poll.
    pub(crate) struct FactRow in "device_facts", "reading device facts" {
        device: String = "text",
        fact: String = "text",
        value: String = "text",
        first_agent: String = "text",
        last_at: Stamp = "timestamptz",
        agent: String = "text",
        family: String = "text",
    }
}

/// The key of `device_facts`.
pub(crate) const FACT_KEY: [&str; 3] = ["device", "fact", "at"];

impl FactRow {
    /// Encodes a run (text cleaned and bounded like every repeated string).
    pub(crate) fn encode(r: &FactRecord) -> FactRow {
        FactRow {
            at: truncate_micros(r.first_at),
            device: clean_name(&r.device).into_owned(),
            fact: r.fact.as_str().to_owned(),
            value: clean_name(&r.value).into_owned(),
            first_agent: clean_name(&r.first_agent).into_owned(),
            last_at: Stamp(truncate_micros(r.last_at)),
            agent: clean_name(&r.agent).into_owned(),
            family: r.family.as_str().to_owned(),
        }
    }

    /// Decodes a row.
    pub(crate) fn decode(self) -> Result<FactRecord, StoreError> {
        const T: &str = "device_facts";
        let corrupt =
            |column, value: &str| StoreError::Corrupt { table: T, column, value: value.to_owned() };
        Ok(FactRecord {
            device: self.device.into(),
            fact: Fact::parse(&self.fact).ok_or_else(|| corrupt("fact", &self.fact))?,
            value: self.value,
            first_at: self.at,
            first_agent: self.first_agent,
            last_at: self.last_at.0,
            agent: self.agent,
            family: Family::parse(&self.family).ok_or_else(|| corrupt("family", &self.family))?,
        })
    }
}

/// One row per key of a batch of runs, the latest-seen (an upsert may not touch the same key
/// twice in one statement; both families of a dual-stack device report the same run).
pub(crate) fn latest_fact_per_key(rows: &[FactRow]) -> Vec<&FactRow> {
    let mut latest: HashMap<(&str, &str, DateTime<Utc>), &FactRow> = HashMap::new();
    for r in rows {
        latest
            .entry((r.device.as_str(), r.fact.as_str(), r.at))
            .and_modify(|cur| {
                if r.last_at > cur.last_at {
                    *cur = r;
                }
            })
            .or_insert(r);
    }
    let mut out: Vec<&FactRow> = latest.into_values().collect();
    out.sort_by(|a, b| (&a.device, &a.fact, a.at).cmp(&(&b.device, &b.fact, b.at)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_replaces_nul_and_cuts_at_a_character_boundary() {
        assert_eq!(clean("plain", 10), "plain");
        assert!(matches!(clean("plain", 10), Cow::Borrowed(_)));
        assert_eq!(clean("a\0b", 10), "a\u{FFFD}b");
        // "ñ" is two bytes: a cut inside it moves back to before it.
        assert_eq!(clean("añb", 2), "a");
        assert_eq!(clean("añb", 3), "añ");
    }

    #[test]
    fn seconds_round_to_microseconds_and_refuse_nonsense() {
        assert_eq!(secs_to_us("x", 0.0123).unwrap(), 12_300);
        assert_eq!(us_to_secs(12_300), 0.0123);
        assert_eq!(secs_to_us("x", 0.000_000_4).unwrap(), 0);
        assert_eq!(secs_to_us("x", 0.000_000_6).unwrap(), 1);
        for bad in [f64::NAN, f64::INFINITY, -0.001, 3000.0] {
            let err = secs_to_us("rtt_avg_s", bad).unwrap_err().to_string();
            assert!(err.contains("rtt_avg_s"), "{err}");
        }
    }

    #[test]
    fn u64_counters_survive_the_signed_column_bit_for_bit() {
        for v in [0, 1, u64::from(u32::MAX), 1 << 63, u64::MAX] {
            assert_eq!(bits_u64(u64_bits(v)), v);
        }
    }

    #[test]
    fn codes_round_trip() {
        for f in Family::ALL {
            assert_eq!(family_of("t", family_code(*f).into()).unwrap(), *f);
        }
        for p in ProbeKind::ALL {
            assert_eq!(probe_of("t", probe_code(*p).into()).unwrap(), *p);
        }
        assert!(family_of("t", 5).is_err());
        assert!(probe_of("t", 0).is_err());
    }

    #[test]
    fn the_interner_splits_known_from_missing_and_stays_bounded() {
        let i = Interner::default();
        i.learn([(1, "a"), (2, "b")]);
        let (known, missing) = i.split(["a", "c", "a", "d", "c"]);
        assert_eq!(known, Ids::from([("a".to_owned(), 1)]));
        assert_eq!(missing, vec!["c".to_owned(), "d".to_owned()]);
        let (names, missing) = i.split_ids([2, 3, 2]);
        assert_eq!(names.get(&2).map(|s| &**s), Some("b"));
        assert_eq!(missing, vec![3]);
        assert_eq!(i.cached_id("b"), Some(2));
    }
}
