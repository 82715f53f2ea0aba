//! Use of the contracted bandwidth (issue 15): rates drawn from two readings of an interface's
//! octet counters, and a period's figures folded from a stream of readings: the 95th
//! percentile of the use and the time spent above [`HIGH_USE`] of the contract.
//!
//! - A rate is measured between two consecutive readings of the same interface: the octets the
//!   counter advanced (a 32-bit wrap counted, see [`crate::poll::counters::step`]) over the time
//!   between them. An interval across an agent restart or a counter reset, across a change
//!   between 64- and 32-bit counters, or longer than [`MAX_GAP`] measures nothing: a rate
//!   averaged over an hour's gap would hide the peaks the figures are about.
//! - The 95th percentile is taken, as carriers bill it, over [`SLOT`]-long slots aligned to
//!   UTC: each slot's use is the bits its measured intervals carried over the seconds they
//!   covered (an interval that spans two slots is shared between them in proportion to time),
//!   divided by the contract. The slots' uses are sorted and the value at rank ⌈0.95·n⌉
//!   (1-based) is the percentile: the top 5 % of the slots are discarded.
//! - Time above 80 %: the length of the measured intervals whose rate exceeds 80 % of the
//!   contract.
//!
//! The fold takes readings one at a time and keeps per slot two numbers: a month is at most
//! 31 × 288 slots per direction, whatever the poll interval; the raw readings are never held.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::history::{AsOf, Window};
use crate::inventory::contract::{
    Bandwidth, ContractSource, Direction, LinkKind, MeasuredAt, Port,
};
use crate::inventory::{Inventory, SiteId};
use crate::poll::counters::{Step, step};

/// The share of the contract above which a link counts as highly used (and the alert fires
/// after 15 minutes).
pub const HIGH_USE: f64 = 0.8;

/// Two readings further apart than this give no rate.
pub const MAX_GAP: TimeDelta = TimeDelta::minutes(15);

/// The length of the slots the 95th percentile is taken over.
pub const SLOT: TimeDelta = TimeDelta::minutes(5);

/// One reading of an interface's octet counters, raw as the device keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OctetSample {
    /// When it was read.
    pub at: DateTime<Utc>,
    /// ifHCInOctets (or ifInOctets).
    pub in_octets: Option<u64>,
    /// ifHCOutOctets (or ifOutOctets).
    pub out_octets: Option<u64>,
    /// 64 or 32: which objects were read.
    pub counter_bits: u8,
    /// ifHighSpeed, Mbit/s, where known (a rate above it is no rate: a restart read as a wrap).
    pub speed_mbps: Option<u64>,
}

impl OctetSample {
    fn octets(&self, direction: Direction) -> Option<u64> {
        match direction {
            Direction::Down => self.in_octets,
            Direction::Up => self.out_octets,
        }
    }
}

/// The rates between two readings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    /// Seconds between the readings.
    pub seconds: f64,
    /// Towards the site (in), bit/s; `None` where the counter gave no rate.
    pub down_bps: Option<f64>,
    /// From the site (out), bit/s.
    pub up_bps: Option<f64>,
}

impl Rates {
    /// The rate in one direction.
    pub fn bps(&self, direction: Direction) -> Option<f64> {
        match direction {
            Direction::Down => self.down_bps,
            Direction::Up => self.up_bps,
        }
    }

    /// The rates between `prev` and `cur`; `None` when the interval measures nothing (out of
    /// order, longer than [`MAX_GAP`], or across a switch between 64- and 32-bit counters).
    /// `restarted`: the agent restarted in between, so no counter gives a rate.
    pub fn between(prev: &OctetSample, cur: &OctetSample, restarted: bool) -> Option<Rates> {
        let span = cur.at - prev.at;
        if span <= TimeDelta::zero() || span > MAX_GAP || prev.counter_bits != cur.counter_bits {
            return None;
        }
        let seconds = span.as_seconds_f64();
        // A rate faster than the port can carry is a counter that went back (an unnoticed
        // restart of a 32-bit counter reads as a wrap), not traffic. 1 % over the nominal speed
        // is allowed for the two clocks' disagreement about the interval.
        let ceiling = cur.speed_mbps.filter(|s| *s > 0).map(|s| s as f64 * 1e6 * 1.01);
        let rate = |d: Direction| {
            let (Some(a), Some(b)) = (prev.octets(d), cur.octets(d)) else { return None };
            let bps = match step(Some(a), b, cur.counter_bits, restarted) {
                Step::Advanced(n) | Step::Wrapped(n) => n as f64 * 8.0 / seconds,
                Step::First | Step::Reset(_) => return None,
            };
            ceiling.is_none_or(|c| bps <= c).then_some(bps)
        };
        Some(Rates { seconds, down_bps: rate(Direction::Down), up_bps: rate(Direction::Up) })
    }
}

/// The 95th percentile of `values` as carriers take it: sorted ascending, the value at rank
/// ⌈0.95·n⌉ (1-based). `None` for no values. Reorders `values`.
pub fn p95(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    // ⌈0.95·n⌉ in integers: (95n + 99) / 100.
    let rank = (95 * values.len()).div_ceil(100);
    Some(values[rank.max(1) - 1])
}

/// One direction's figures over a period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UseFigures {
    /// The 95th percentile of the slots' use, as a share of the contract.
    pub p95: Option<f64>,
    /// The slots that had a measured interval in them.
    pub slots: usize,
    /// Seconds covered by measured intervals.
    pub measured_s: f64,
    /// Seconds of measured intervals above [`HIGH_USE`] of the contract.
    pub above_s: f64,
}

/// One slot: bits carried and seconds covered by measured intervals.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    bits: f64,
    seconds: f64,
}

/// Folds the readings of one interface over a period into both directions' figures.
#[derive(Debug)]
pub struct UseFold {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    contract: Bandwidth,
    prev: Option<OctetSample>,
    slots: [Vec<Slot>; 2],
    measured_s: [f64; 2],
    above_s: [f64; 2],
}

fn dir_index(d: Direction) -> usize {
    match d {
        Direction::Down => 0,
        Direction::Up => 1,
    }
}

impl UseFold {
    /// A fold over `[from, to)` against `contract`. `from` should be aligned to [`SLOT`] (a
    /// UTC day or month start is).
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>, contract: Bandwidth) -> UseFold {
        let n = usize::try_from(
            ((to - from).num_seconds().max(0) as u64).div_ceil(SLOT.num_seconds() as u64),
        )
        .unwrap_or(0);
        UseFold {
            from,
            to,
            contract,
            prev: None,
            slots: [vec![Slot::default(); n], vec![Slot::default(); n]],
            measured_s: [0.0; 2],
            above_s: [0.0; 2],
        }
    }

    /// Feed the next reading (in time order; one out of order is skipped). `restarted`: the
    /// agent restarted since the previous reading.
    pub fn push(&mut self, cur: OctetSample, restarted: bool) {
        if let Some(prev) = self.prev {
            if cur.at <= prev.at {
                return;
            }
            if let Some(r) = Rates::between(&prev, &cur, restarted) {
                self.add(prev.at, cur.at, &r);
            }
        }
        self.prev = Some(cur);
    }

    /// Spread one measured interval over the slots it covers (clipped to the period).
    fn add(&mut self, a: DateTime<Utc>, b: DateTime<Utc>, r: &Rates) {
        let (a, b) = (a.max(self.from), b.min(self.to));
        if b <= a {
            return;
        }
        for d in Direction::ALL {
            let Some(bps) = r.bps(*d) else { continue };
            let i = dir_index(*d);
            let seconds = (b - a).as_seconds_f64();
            self.measured_s[i] += seconds;
            if bps > HIGH_USE * self.contract.bits_per_second(*d) {
                self.above_s[i] += seconds;
            }
            let mut t = a;
            while t < b {
                let k = ((t - self.from).num_seconds() / SLOT.num_seconds()) as usize;
                let slot_end = self.from + SLOT * (k as i32 + 1);
                let end = slot_end.min(b);
                let s = (end - t).as_seconds_f64();
                if let Some(slot) = self.slots[i].get_mut(k) {
                    slot.bits += bps * s;
                    slot.seconds += s;
                }
                t = end;
            }
        }
    }

    /// The figures of one direction.
    pub fn figures(&self, d: Direction) -> UseFigures {
        let i = dir_index(d);
        let contract = self.contract.bits_per_second(d);
        let mut uses: Vec<f64> = self.slots[i]
            .iter()
            .filter(|s| s.seconds > 0.0)
            .map(|s| s.bits / s.seconds / contract)
            .collect();
        UseFigures {
            slots: uses.len(),
            p95: p95(&mut uses),
            measured_s: self.measured_s[i],
            above_s: self.above_s[i],
        }
    }
}

/// One period's figures of a link, both directions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodUse {
    /// The period, `[from, to)`.
    pub window: Window,
    /// Towards the site.
    pub down: UseFigures,
    /// From the site.
    pub up: UseFigures,
}

impl PeriodUse {
    /// The figures of one direction.
    pub fn of(&self, d: Direction) -> &UseFigures {
        match d {
            Direction::Down => &self.down,
            Direction::Up => &self.up,
        }
    }
}

/// What the history says of one contracted link's use, folded from its interface's readings
/// by the store adapter (`Store::link_use`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkUseRecord {
    /// Site or pool.
    pub kind: LinkKind,
    /// The site's or pool's id.
    pub id: String,
    /// The as-of day so far.
    pub day: PeriodUse,
    /// The as-of day's calendar month so far.
    pub month: PeriodUse,
}

/// The periods a links report folds: the as-of UTC day and its calendar month, each up to the
/// as-of instant.
pub fn periods(as_of: AsOf) -> (Window, Window) {
    let start = |d: NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
    let day = Window { from: start(as_of.date), to: as_of.instant };
    let first = as_of.date.with_day(1).unwrap_or(as_of.date);
    (day, Window { from: start(first), to: as_of.instant })
}

names! {
    /// Whether a contracted link's use could be measured.
    UseStatus {
        /// From its interface's readings.
        Measured = "measured",
        /// The inventory does not say which interface carries it.
        NotDeclared = "not_declared",
        /// Declared, but the history has no two readings of it in the period.
        NoData = "no_data",
    }
}

/// A contracted link and its use, as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractUse {
    /// Site or pool.
    pub kind: LinkKind,
    /// The site's or pool's id.
    pub id: String,
    /// The site's or pool's name.
    pub name: String,
    /// A pool's member sites; a site's link: the site itself.
    pub sites: Vec<SiteId>,
    /// A site's link: the pool the site also shares, if any.
    pub pool: Option<String>,
    /// What is contracted.
    pub bandwidth: Bandwidth,
    /// Where the figure was written.
    pub source: Option<ContractSource>,
    /// The measured interface.
    pub measured_at: Option<MeasuredAt>,
    /// Whether it could be measured.
    pub status: UseStatus,
    /// The as-of day's figures.
    pub day: Option<PeriodUse>,
    /// The month's figures.
    pub month: Option<PeriodUse>,
}

/// Every contracted link of `inv`, branch sites in inventory order then pools, with its use
/// from `records`.
pub fn contract_uses(inv: &Inventory, records: &[LinkUseRecord]) -> Vec<ContractUse> {
    let find = |kind: LinkKind, id: &str| records.iter().find(|r| r.kind == kind && r.id == id);
    let status = |m: Option<&MeasuredAt>, r: Option<&LinkUseRecord>| match (m, r) {
        (None, _) => UseStatus::NotDeclared,
        (Some(_), Some(r)) if r.month.down.slots + r.month.up.slots > 0 => UseStatus::Measured,
        (Some(_), _) => UseStatus::NoData,
    };
    let mut out = Vec::new();
    for site in &inv.sites {
        let Some(c) = inv.contracts.sites.get(&site.id) else { continue };
        let r = find(LinkKind::Site, site.id.as_str());
        out.push(ContractUse {
            kind: LinkKind::Site,
            id: site.id.to_string(),
            name: site.name.clone(),
            sites: vec![site.id.clone()],
            pool: inv.contracts.pool_of(&site.id).map(|p| p.id.clone()),
            bandwidth: c.bandwidth.clone(),
            source: Some(c.source),
            measured_at: c.measured_at.clone(),
            status: status(c.measured_at.as_ref(), r),
            day: r.map(|r| r.day.clone()),
            month: r.map(|r| r.month.clone()),
        });
    }
    for p in &inv.contracts.pools {
        let r = find(LinkKind::Pool, &p.id);
        out.push(ContractUse {
            kind: LinkKind::Pool,
            id: p.id.clone(),
            name: p.name.clone(),
            sites: p.sites.clone(),
            pool: None,
            bandwidth: p.bandwidth.clone(),
            source: None,
            measured_at: p.measured_at.clone(),
            status: status(p.measured_at.as_ref(), r),
            day: r.map(|r| r.day.clone()),
            month: r.map(|r| r.month.clone()),
        });
    }
    out
}

/// Whether an interface row is the one `port` names (by ifIndex, or by ifName).
pub fn port_matches(port: &Port, index: u32, name: &str) -> bool {
    match port {
        Port::Index(i) => *i == index,
        Port::Name(n) => n == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn sample(t: &str, down: u64, up: u64) -> OctetSample {
        OctetSample {
            at: at(t),
            in_octets: Some(down),
            out_octets: Some(up),
            counter_bits: 64,
            speed_mbps: Some(1000),
        }
    }

    const TEN: Bandwidth = Bandwidth { down_mbps: 10, up_mbps: 10 };

    #[test]
    fn p95_discards_the_top_five_percent() {
        // 1..=20: rank ⌈19⌉ = 19 → 19.
        let mut v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(p95(&mut v), Some(19.0));
        // 288 slots of a day, 0..287: rank ⌈273.6⌉ = 274 → value 273.
        let mut v: Vec<f64> = (0..288).map(f64::from).collect();
        assert_eq!(p95(&mut v), Some(273.0));
        // One value is its own percentile; none has none.
        assert_eq!(p95(&mut [0.4]), Some(0.4));
        assert_eq!(p95(&mut []), None);
        // 100 values: rank 95 exactly.
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p95(&mut v), Some(95.0));
    }

    #[test]
    fn rates_count_wraps_and_refuse_resets_gaps_and_width_changes() {
        // 60 s, 75,000,000 octets down = 10 Mbit/s; 7,500,000 up = 1 Mbit/s.
        let a = sample("2026-06-01T00:00:00Z", 1_000, 2_000);
        let b = sample("2026-06-01T00:01:00Z", 75_001_000, 7_502_000);
        let r = Rates::between(&a, &b, false).unwrap();
        assert_eq!((r.seconds, r.down_bps, r.up_bps), (60.0, Some(1e7), Some(1e6)));
        // A 32-bit wrap: 2^32 - 1000 → 74,999,000 is 75,000,000 octets.
        let mut a32 = a;
        a32.counter_bits = 32;
        a32.in_octets = Some((1 << 32) - 1_000);
        let mut b32 = b;
        b32.counter_bits = 32;
        b32.in_octets = Some(74_999_000);
        assert_eq!(Rates::between(&a32, &b32, false).unwrap().down_bps, Some(1e7));
        // A 64-bit counter going back is a reset: no rate that direction.
        let back = sample("2026-06-01T00:01:00Z", 10, 7_502_000);
        let r = Rates::between(&a, &back, false).unwrap();
        assert_eq!((r.down_bps, r.up_bps), (None, Some(1e6)));
        // After a restart nothing gives a rate, even going up.
        let r = Rates::between(&a, &b, true).unwrap();
        assert_eq!((r.down_bps, r.up_bps), (None, None));
        // 64 → 32 bits, a gap over 15 minutes, out of order: no interval at all.
        assert_eq!(Rates::between(&a, &b32, false), None);
        assert_eq!(Rates::between(&a, &sample("2026-06-01T00:15:01Z", 1, 1), false), None);
        assert_eq!(Rates::between(&b, &a, false), None);
        // Faster than the 1 Gbit/s port: a counter that went back, not traffic.
        let too_fast = sample("2026-06-01T00:01:00Z", 7_600_001_000, 7_502_000);
        assert_eq!(Rates::between(&a, &too_fast, false).unwrap().down_bps, None);
    }

    /// A day at 60 s readings: 10 Mbit/s down (100 % of 10) for the first two hours, 2 Mbit/s
    /// (20 %) after; up 1 Mbit/s (10 %) all day. Computed by hand: 24 of 288 slots at 100 %,
    /// so the 274th smallest is 1.0 (264 slots at 20 % are ranks 1-264); 7,200 s above 80 %.
    #[test]
    fn a_day_folds_into_its_p95_and_time_above() {
        let from = at("2026-06-01T00:00:00Z");
        let mut f = UseFold::new(from, from + TimeDelta::days(1), TEN);
        let (mut down, mut up) = (0u64, 0u64);
        for minute in 0..=1440 {
            let t = from + TimeDelta::minutes(minute);
            f.push(
                OctetSample {
                    at: t,
                    in_octets: Some(down),
                    out_octets: Some(up),
                    counter_bits: 64,
                    speed_mbps: None,
                },
                false,
            );
            down += if minute < 120 { 75_000_000 } else { 15_000_000 };
            up += 7_500_000;
        }
        let d = f.figures(Direction::Down);
        assert_eq!(d.slots, 288);
        assert!((d.p95.unwrap() - 1.0).abs() < 1e-12, "{d:?}");
        assert_eq!((d.measured_s, d.above_s), (86_400.0, 7_200.0));
        let u = f.figures(Direction::Up);
        assert!((u.p95.unwrap() - 0.1).abs() < 1e-12, "{u:?}");
        assert_eq!(u.above_s, 0.0);
        // With 12 slots at 100 % instead of 24, rank 274 falls among the 20 % slots.
        let mut f = UseFold::new(from, from + TimeDelta::days(1), TEN);
        let mut down = 0u64;
        for minute in 0..=1440 {
            let t = from + TimeDelta::minutes(minute);
            f.push(
                OctetSample {
                    at: t,
                    in_octets: Some(down),
                    out_octets: None,
                    counter_bits: 64,
                    speed_mbps: None,
                },
                false,
            );
            down += if minute < 60 { 75_000_000 } else { 15_000_000 };
        }
        let d = f.figures(Direction::Down);
        assert!((d.p95.unwrap() - 0.2).abs() < 1e-12, "{d:?}");
        assert_eq!(d.above_s, 3_600.0);
        assert_eq!(f.figures(Direction::Up).slots, 0, "no up counter, no figure");
    }

    #[test]
    fn an_interval_across_a_slot_boundary_is_shared_by_time() {
        // 00:04:00 → 00:06:00 at 10 Mbit/s: one minute in each of the first two slots, each
        // slot's use the rate of what covered it.
        let from = at("2026-06-01T00:00:00Z");
        let mut f = UseFold::new(from, from + TimeDelta::hours(1), TEN);
        f.push(sample("2026-06-01T00:04:00Z", 0, 0), false);
        f.push(sample("2026-06-01T00:06:00Z", 150_000_000, 0), false);
        let d = f.figures(Direction::Down);
        assert_eq!((d.slots, d.p95, d.measured_s, d.above_s), (2, Some(1.0), 120.0, 120.0));
        // A reading before the period starts: only the part inside counts.
        let mut f = UseFold::new(from, from + TimeDelta::hours(1), TEN);
        f.push(sample("2026-05-31T23:59:00Z", 0, 0), false);
        f.push(sample("2026-06-01T00:01:00Z", 150_000_000, 0), false);
        assert_eq!(f.figures(Direction::Down).measured_s, 60.0);
    }
}
