//! What the history store knows, already fetched for the period a report covers, as plain data.
//!
//! The pure core (life cycle, IPv6 coverage, links, indicators) reads a [`History`] and an
//! explicit [`AsOf`]; it never opens a database nor reads the clock, so every figure can be
//! computed again, identically, from the same inventory, history and date.
//!
//! The core filters what it is given by time (events outside the window, polls after the
//! as-of instant, snapshots after the period are ignored), so a caller that fetches a little
//! too much still gets the right figures.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::inventory::Family;
use crate::poll::ProbeKind;

mod records;
pub use records::*;

/// Days of history behind the life-cycle "unreliable" rule (availability and restarts).
pub const RELIABILITY_DAYS: u32 = 90;

/// Days of history behind the link-health figures of the links report.
pub const LINK_HEALTH_DAYS: u32 = 30;

/// A latest poll older than this, before the as-of instant, counts as no result: a stopped
/// agent must not keep a device "answering" on stale data.
pub const FRESH_WITHIN: TimeDelta = TimeDelta::hours(1);

/// The moment a report describes: the day its dates are compared with, and the instant its
/// history ends at (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AsOf {
    /// The day inventory dates (support, age, plans) are compared with.
    pub date: NaiveDate,
    /// History up to this instant, exclusive.
    pub instant: DateTime<Utc>,
}

impl AsOf {
    /// "As of a day": dates are compared with `date` and the history runs to the end of that
    /// UTC day (the next midnight, exclusive). A report for a past day is reproducible.
    pub fn end_of_day(date: NaiveDate) -> AsOf {
        let next = date.checked_add_days(Days::new(1)).unwrap_or(date);
        AsOf { date, instant: next.and_time(chrono::NaiveTime::MIN).and_utc() }
    }

    /// "As of now": today's UTC date and the history up to `instant` (what a cron check uses).
    pub fn at(instant: DateTime<Utc>) -> AsOf {
        AsOf { date: instant.date_naive(), instant }
    }

    /// "As of a day", seen from `now`: a day that is over is [`AsOf::end_of_day`]; today (or a
    /// later day) stops at `now`, so the latest results are the fresh ones and no future instant
    /// is asked for. What `--as-of DAY` should map to.
    pub fn day_or_now(date: NaiveDate, now: DateTime<Utc>) -> AsOf {
        let whole = AsOf::end_of_day(date);
        if whole.instant <= now { whole } else { AsOf { date, instant: now } }
    }

    /// The moment a report describes when asked for `day`, or for now when no day is given.
    pub fn asked(day: Option<NaiveDate>, now: DateTime<Utc>) -> AsOf {
        match day {
            Some(d) => AsOf::day_or_now(d, now),
            None => AsOf::at(now),
        }
    }

    /// The `days` of history that end at the as-of instant.
    pub fn window(&self, days: u32) -> Window {
        Window { from: self.instant - TimeDelta::days(i64::from(days)), to: self.instant }
    }

    /// The window of the "unreliable" rule ([`RELIABILITY_DAYS`]).
    pub fn reliability_window(&self) -> Window {
        self.window(RELIABILITY_DAYS)
    }

    /// The window of the link-health figures ([`LINK_HEALTH_DAYS`]).
    pub fn link_window(&self) -> Window {
        self.window(LINK_HEALTH_DAYS)
    }
}

/// A half-open period of time, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// First instant inside.
    pub from: DateTime<Utc>,
    /// First instant after.
    pub to: DateTime<Utc>,
}

impl Window {
    /// Whether `at` lies inside.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }
}

/// What the store knows, fetched for the as-of instant of a report (see each field for the
/// query the integrator runs). Empty vectors mean "no history": every figure that needs one
/// says so rather than guessing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Availability per (device, family, probe) over [`AsOf::reliability_window`]. Several rows
    /// for the same key (one per agent) are summed.
    #[serde(default)]
    pub availability_90d: Vec<Availability>,
    /// `EventKind::AgentRestart` events inside [`AsOf::reliability_window`].
    #[serde(default)]
    pub restarts_90d: Vec<EventRecord>,
    /// `EventKind::SiteIsolated` events inside [`AsOf::reliability_window`]: a restart next to
    /// one is explained (a power or link cut at the site), not the device's fault.
    #[serde(default)]
    pub isolations_90d: Vec<EventRecord>,
    /// The latest poll per (device, family, probe) before the as-of instant.
    #[serde(default)]
    pub latest: Vec<PollRecord>,
    /// Inventory snapshots up to the end of the year of interest (all of them is fine).
    #[serde(default)]
    pub snapshots: Vec<InventorySnapshot>,
    /// Availability per (device, family, probe) over [`AsOf::link_window`].
    #[serde(default)]
    pub link_health: Vec<Availability>,
    /// Every run of every fact devices reported of themselves (model, serial, ...); the core
    /// ignores runs that started after the as-of instant.
    #[serde(default)]
    pub facts: Vec<FactRecord>,
    /// The use of each contracted link over the as-of day and month, folded from its
    /// interface's readings (only the links report fetches it; empty elsewhere).
    #[serde(default)]
    pub link_use: Vec<crate::link_use::LinkUseRecord>,
}

/// The latest fresh result per (device, family, probe), looked up in O(1).
#[derive(Debug)]
pub struct Latest<'a> {
    by_key: HashMap<(&'a str, Family, ProbeKind), &'a PollRecord>,
}

impl<'a> Latest<'a> {
    /// Index `records`: for each key, the newest poll strictly before `as_of.instant` and no
    /// older than `fresh_within` before it.
    pub fn new(records: &'a [PollRecord], as_of: AsOf, fresh_within: TimeDelta) -> Latest<'a> {
        let oldest = as_of.instant - fresh_within;
        let mut by_key: HashMap<(&str, Family, ProbeKind), &PollRecord> = HashMap::new();
        for r in records.iter().filter(|r| r.at < as_of.instant && r.at >= oldest) {
            let slot = by_key.entry((r.device.as_str(), r.family, r.probe)).or_insert(r);
            if r.at > slot.at {
                *slot = r;
            }
        }
        Latest { by_key }
    }

    /// The latest fresh poll of `device` over `family` with `probe`.
    pub fn get(&self, device: &str, family: Family, probe: ProbeKind) -> Option<&'a PollRecord> {
        self.by_key.get(&(device, family, probe)).copied()
    }

    /// Whether that poll succeeded; `None` without a fresh result.
    pub fn success(&self, device: &str, family: Family, probe: ProbeKind) -> Option<bool> {
        self.get(device, family, probe).map(|r| r.success)
    }
}

/// Availability rows summed per (device, family, probe).
#[derive(Debug, Default)]
pub struct AvailabilityIndex<'a> {
    by_key: HashMap<(&'a str, Family, ProbeKind), Availability>,
}

impl<'a> AvailabilityIndex<'a> {
    /// Sum `rows` per key (several agents may report the same device).
    pub fn new(rows: &'a [Availability]) -> AvailabilityIndex<'a> {
        let mut by_key: HashMap<(&str, Family, ProbeKind), Availability> = HashMap::new();
        for r in rows {
            match by_key.get_mut(&(r.device.as_str(), r.family, r.probe)) {
                Some(sum) => {
                    sum.polls += r.polls;
                    sum.successes += r.successes;
                    sum.sent += r.sent;
                    sum.received += r.received;
                    sum.rtt_sum_s += r.rtt_sum_s;
                    sum.rtt_count += r.rtt_count;
                }
                None => {
                    by_key.insert((r.device.as_str(), r.family, r.probe), r.clone());
                }
            }
        }
        AvailabilityIndex { by_key }
    }

    /// The summed row of `device` over `family` with `probe`.
    pub fn get<'s>(
        &'s self,
        device: &'s str,
        family: Family,
        probe: ProbeKind,
    ) -> Option<&'s Availability> {
        self.by_key.get(&(device, family, probe))
    }
}

/// Midnight UTC of `date` as Unix seconds (how dates become `_timestamp_seconds` gauges).
pub fn date_timestamp(date: NaiveDate) -> i64 {
    date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::{PollOutcome, SystemInfo};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn poll(device: &str, at: &str, success: bool) -> PollRecord {
        PollRecord {
            at: at.parse().unwrap(),
            agent: "a".into(),
            device: device.into(),
            site: "s".into(),
            family: Family::Ipv6,
            probe: ProbeKind::Icmp,
            outcome: if success { PollOutcome::Ok } else { PollOutcome::Timeout },
            success,
            sent: Some(3),
            received: Some(if success { 3 } else { 0 }),
            rtt_min_s: None,
            rtt_avg_s: None,
            rtt_max_s: None,
            jitter_s: None,
            duration_s: 0.1,
            system: SystemInfo::default(),
        }
    }

    #[test]
    fn end_of_day_covers_the_whole_day() {
        let a = AsOf::end_of_day(day("2026-12-31"));
        assert_eq!(a.instant.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        let w = a.reliability_window();
        // 90 whole days ending with Dec 31: Oct 3 .. Dec 31.
        assert_eq!(w.from.to_rfc3339(), "2026-10-03T00:00:00+00:00");
        assert!(w.contains("2026-12-31T23:59:59Z".parse().unwrap()));
        assert!(!w.contains("2027-01-01T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn a_day_not_yet_over_stops_at_now() {
        let now: DateTime<Utc> = "2026-06-30T10:00:00Z".parse().unwrap();
        assert_eq!(AsOf::day_or_now(day("2026-06-29"), now), AsOf::end_of_day(day("2026-06-29")));
        assert_eq!(
            AsOf::day_or_now(day("2026-06-30"), now),
            AsOf { date: day("2026-06-30"), instant: now }
        );
    }

    #[test]
    fn latest_takes_the_newest_fresh_poll_before_the_instant() {
        let as_of = AsOf::at("2026-06-01T12:00:00Z".parse().unwrap());
        let rows = vec![
            poll("d", "2026-06-01T11:30:00Z", false),
            poll("d", "2026-06-01T11:59:00Z", true),
            poll("d", "2026-06-01T12:00:00Z", false), // at the instant: after it, ignored
            poll("stale", "2026-06-01T10:59:59Z", true), // older than an hour
        ];
        let latest = Latest::new(&rows, as_of, FRESH_WITHIN);
        assert_eq!(latest.success("d", Family::Ipv6, ProbeKind::Icmp), Some(true));
        assert_eq!(latest.success("stale", Family::Ipv6, ProbeKind::Icmp), None);
        assert_eq!(latest.success("d", Family::Ipv4, ProbeKind::Icmp), None);
    }

    #[test]
    fn availability_rows_of_several_agents_are_summed() {
        let row = |polls, successes| Availability {
            device: "d".into(),
            site: "s".into(),
            family: Family::Ipv4,
            probe: ProbeKind::Icmp,
            polls,
            successes,
            sent: polls * 3,
            received: successes * 3,
            rtt_sum_s: 0.01 * successes as f64,
            rtt_count: successes,
        };
        let rows = [row(10, 9), row(30, 30)];
        let idx = AvailabilityIndex::new(&rows);
        let sum = idx.get("d", Family::Ipv4, ProbeKind::Icmp).unwrap();
        assert_eq!((sum.polls, sum.successes, sum.sent, sum.rtt_count), (40, 39, 120, 39));
    }
}

#[cfg(test)]
pub(crate) mod testkit;
