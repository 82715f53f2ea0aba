//! Availability over a period (a month or a range): per site, device and address family, with
//! totals per link medium, the outages with their cause, and the maintenance left out. Pure: it
//! reads the inventory and the raw ICMP polls the store returned, never the clock nor a database.
//!
//! The rules (docs/reports.md):
//! - The period is cut into poll cycles of the inventory's ICMP interval, from its start. A
//!   cycle holds a device's answer when any ICMP poll of the device started inside it: up when
//!   one of its families answered, down when none did.
//! - Each cycle with polls is classified by [`crate::outage::classify`] (device, its site's
//!   link, a dependency), and the maintenance windows in force at the cycle's start are applied
//!   with [`crate::outage::covered`]: a covered cycle counts neither as up nor as down.
//! - A figure is up cycles / counted cycles. It is given only when the counted cycles reach
//!   [`MIN_POLL_SHARE`] of the expected ones (the cycles of the period not covered by
//!   maintenance); below that it is "datos insuficientes", with the counts still shown.
//! - A site is up in a cycle when it is not isolated (some deciding device answers); its
//!   cycles are those in which any deciding device was polled.
//! - An outage is a run of down cycles; it starts at the first down cycle and ends at the start
//!   of the next cycle with an answer (or the period's end, still open). Its cause is the cause
//!   of its first cycle. An outage every cycle of which is covered by maintenance is listed as
//!   excluded.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::history::PollRecord;
use crate::inventory::{Family, Inventory, InventoryIndex, LinkMedium};
use crate::outage::{Cause, Reach};
use crate::poll::ProbeKind;

/// Below this share of the expected polls a figure is "datos insuficientes".
pub const MIN_POLL_SHARE: f64 = 0.9;

/// The period a report covers, `[from, to)`, and the time zone its local times are read in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// How the period was asked for (`2026-11`, or `2026-11-01..2026-11-15`).
    pub label: String,
    /// First instant inside.
    pub from: DateTime<Utc>,
    /// First instant after.
    pub to: DateTime<Utc>,
    /// The inventory's time zone.
    #[serde(serialize_with = "tz_name")]
    pub time_zone: Tz,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// Cycle counts behind one figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Cycles the period holds, less those maintenance covers.
    pub expected: u64,
    /// Cycles with a poll, outside maintenance.
    pub polled: u64,
    /// Of those, cycles with an answer.
    pub up: u64,
    /// Cycles with a poll that maintenance covered (left out).
    pub maintenance: u64,
}

impl Counts {
    /// up / polled, or `None` when the polls fall short of [`MIN_POLL_SHARE`] of the expected.
    pub fn availability(&self) -> Option<f64> {
        let enough = self.polled > 0 && self.polled as f64 >= MIN_POLL_SHARE * self.expected as f64;
        enough.then(|| self.up as f64 / self.polled as f64)
    }

    fn add(&mut self, o: &Counts) {
        self.expected += o.expected;
        self.polled += o.polled;
        self.up += o.up;
        self.maintenance += o.maintenance;
    }
}

/// One figure with its counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// The counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// `up / polled`, absent when the data is insufficient.
    pub availability: Option<f64>,
}

impl From<Counts> for Figure {
    fn from(counts: Counts) -> Figure {
        Figure { availability: counts.availability(), counts }
    }
}

/// A site's figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteFigure {
    /// Site id.
    pub site: String,
    /// Its name.
    pub name: String,
    /// Its link medium (`None` for the main site).
    pub medium: Option<LinkMedium>,
    /// The figure.
    #[serde(flatten)]
    pub figure: Figure,
}

/// A device's figure, over any family and per family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceFigure {
    /// Device id.
    pub device: String,
    /// Its site.
    pub site: String,
    /// Answering on any family.
    #[serde(flatten)]
    pub figure: Figure,
    /// Per family (ICMP polls of that family, the same maintenance left out).
    pub families: BTreeMap<Family, Figure>,
}

/// One outage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outage {
    /// The site, for a site outage; the device's site for a device outage.
    pub site: String,
    /// The device, for a device outage.
    pub device: Option<String>,
    /// First down cycle's start.
    pub start: DateTime<Utc>,
    /// Start of the next cycle with an answer, or the period's end.
    pub end: DateTime<Utc>,
    /// Whether it was still going at the period's end.
    pub open: bool,
    /// Why (of its first cycle).
    pub cause: Cause,
    /// Where it started: a site, or `site/device`.
    pub root: String,
    /// Down cycles.
    pub cycles: u64,
    /// The maintenance windows that covered it (all its cycles covered: excluded).
    pub maintenance: Vec<String>,
    /// Every cycle covered by maintenance: not counted.
    pub excluded: bool,
}

impl Outage {
    /// How long.
    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }
}

/// A maintenance window's occurrence inside the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaintenanceSpan {
    /// Window id.
    pub window: String,
    /// `device`, `site` or `all`.
    pub scope: &'static str,
    /// What it covers (empty for `all`).
    pub target: String,
    /// Why.
    pub reason: String,
    /// Start, clipped to the period.
    pub start: DateTime<Utc>,
    /// End, clipped to the period.
    pub end: DateTime<Utc>,
}

/// The report's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The period.
    pub period: Period,
    /// The cycle length, seconds.
    pub cycle_s: i64,
    /// Cycles the period holds.
    pub cycles: u64,
    /// The share of expected polls below which a figure is not given.
    pub min_poll_share: f64,
    /// Polled sites, inventory order.
    pub sites: Vec<SiteFigure>,
    /// Branch sites summed per link medium.
    pub media: BTreeMap<LinkMedium, Figure>,
    /// Polled devices, inventory order.
    pub devices: Vec<DeviceFigure>,
    /// Devices summed per family.
    pub families: BTreeMap<Family, Figure>,
    /// Site outages then device outages, each by start.
    pub outages: Vec<Outage>,
    /// Maintenance in force inside the period.
    pub maintenance: Vec<MaintenanceSpan>,
}

/// A polled device in one cycle: whether it answered, overall and per family (polled,
/// answered).
#[derive(Default, Clone, Copy)]
struct Seen {
    up: bool,
    fam: [(bool, bool); 2],
}

fn fam_index(f: Family) -> usize {
    match f {
        Family::Ipv4 => 0,
        Family::Ipv6 => 1,
    }
}

/// A run of down cycles being tracked.
struct Run {
    first: u64,
    last: u64,
    cause: Cause,
    root: String,
    covered_all: bool,
    windows: Vec<String>,
}

/// Cycle `c` of an outage of `id` (a device or a site): a new run, or the open one carried on,
/// with the maintenance windows covering that cycle.
fn extend_run(
    runs: &mut HashMap<String, Run>,
    id: String,
    c: u64,
    down: &crate::outage::Down,
    windows: &[String],
) {
    let run = runs.entry(id).or_insert_with(|| Run {
        first: c,
        last: c,
        cause: down.cause,
        root: match &down.root.device {
            Some(d) => format!("{}/{}", down.root.site, d),
            None => down.root.site.to_string(),
        },
        covered_all: true,
        windows: Vec::new(),
    });
    run.last = c;
    run.covered_all &= !windows.is_empty();
    for w in windows {
        if !run.windows.contains(w) {
            run.windows.push(w.clone());
        }
    }
}

/// What each device answered in each cycle of a period, a byte per device and cycle (bits:
/// IPv4 polled, IPv4 answered, IPv6 polled, IPv6 answered): a month of raw polls folded as they
/// are read, device by device, so the report never holds the polls themselves.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    cycle_s: i64,
    cycles: u64,
    devices: HashMap<String, Vec<u8>>,
}

impl Answers {
    /// Empty, for `period` at the inventory's ICMP interval.
    pub fn new(inv: &Inventory, period: &Period) -> Answers {
        let cycle_s = inv.poll.icmp_interval.as_secs().max(1) as i64;
        let span = (period.to - period.from).num_seconds().max(0);
        Answers {
            from: period.from,
            to: period.to,
            cycle_s,
            cycles: ((span + cycle_s - 1) / cycle_s) as u64,
            devices: HashMap::new(),
        }
    }

    /// Fold `polls` in (any order; SNMP polls and polls outside the period are ignored).
    pub fn add(&mut self, polls: &[PollRecord]) {
        for p in polls {
            if p.probe != ProbeKind::Icmp || p.at < self.from || p.at >= self.to {
                continue;
            }
            let c = ((p.at - self.from).num_seconds() / self.cycle_s) as usize;
            let bits = self
                .devices
                .entry(p.device.to_string())
                .or_insert_with(|| vec![0; self.cycles as usize]);
            let shift = 2 * fam_index(p.family);
            bits[c] |= (1 | (u8::from(p.success) << 1)) << shift;
        }
    }

    /// What `device` answered in cycle `c`, if it was polled.
    fn seen(&self, device: &str, c: u64) -> Option<Seen> {
        let b = *self.devices.get(device)?.get(c as usize)?;
        (b != 0).then_some(Seen {
            up: b & 0b1010 != 0,
            fam: [(b & 1 != 0, b & 2 != 0), (b & 4 != 0, b & 8 != 0)],
        })
    }
}

/// Compute the report from the answers folded in `answers` (made for the same period).
pub fn compute(inv: &Arc<Inventory>, answers: &Answers, period: Period) -> Report {
    let cycle = answers.cycle_s;
    let cycles = answers.cycles;
    let last_day = (period.to - TimeDelta::seconds(1)).date_naive();
    let index = InventoryIndex::new(inv.clone(), last_day);
    let at = |c: u64| period.from + TimeDelta::seconds(c as i64 * cycle);
    // Cycles in which anything was polled.
    let mut any = vec![false; cycles as usize];
    for bits in answers.devices.values() {
        for (a, b) in any.iter_mut().zip(bits) {
            *a |= *b != 0;
        }
    }

    // Maintenance occurrences, and the cycles each window covers in time (for "expected").
    let mut maintenance = Vec::new();
    for w in &inv.maintenance {
        for (s, e) in w.occurrences(period.from, period.to) {
            maintenance.push(MaintenanceSpan {
                window: w.id.clone(),
                scope: w.scope.kind(),
                target: w.scope.target().to_owned(),
                reason: w.reason.clone(),
                start: s.max(period.from),
                end: e.min(period.to),
            });
        }
    }
    maintenance.sort_by(|a, b| (a.start, &a.window).cmp(&(b.start, &b.window)));
    // Cycles during which any window is in force: only these need the coverage worked out.
    let active_in = |c: u64| crate::outage::active_at(&inv.maintenance, at(c));

    let polled: Vec<_> = index.polled().collect();
    let mut dev_counts: HashMap<&str, (Counts, [Counts; 2])> = HashMap::new();
    let mut site_counts: HashMap<&str, Counts> = HashMap::new();
    let mut site_runs: HashMap<String, Run> = HashMap::new();
    let mut dev_runs: HashMap<String, Run> = HashMap::new();
    let mut outages = Vec::new();
    let mut close = |run: Run, site: String, device: Option<String>, end_cycle: u64, open: bool| {
        outages.push(Outage {
            site,
            device,
            start: at(run.first),
            end: at(end_cycle).min(period.to),
            open,
            cause: run.cause,
            root: run.root,
            cycles: run.last - run.first + 1,
            maintenance: run.windows,
            excluded: run.covered_all,
        });
    };
    for c in 0..cycles {
        let active = active_in(c);
        // Without a poll nothing is known this cycle; runs stay open across it.
        if !any[c as usize] && active.is_empty() {
            continue;
        }
        let cyc: HashMap<&str, Seen> = answers
            .devices
            .keys()
            .filter_map(|d| answers.seen(d, c).map(|s| (d.as_str(), s)))
            .collect();
        let reach = |d: &crate::inventory::Device| match cyc.get(d.id.as_str()) {
            Some(s) if s.up => Reach::Up,
            Some(_) => Reach::Down,
            None => Reach::Unknown,
        };
        let outages_now = crate::outage::classify(&index, reach);
        let covered = crate::outage::covered(&index, &active, &outages_now);
        for d in &polled {
            let (all, fams) = dev_counts.entry(d.id.as_str()).or_default();
            let in_maint = !covered.device(&d.id).is_empty();
            let s = cyc.get(d.id.as_str());
            if in_maint {
                if s.is_some() {
                    all.maintenance += 1;
                    for f in d.families() {
                        if s.is_some_and(|s| s.fam[fam_index(f)].0) {
                            fams[fam_index(f)].maintenance += 1;
                        }
                    }
                }
            } else if let Some(s) = s {
                all.polled += 1;
                all.up += u64::from(s.up);
                for (i, (p, u)) in s.fam.iter().enumerate() {
                    if *p {
                        fams[i].polled += 1;
                        fams[i].up += u64::from(*u);
                    }
                }
            }
            let id = d.id.to_string();
            match outages_now.devices.get(&d.id) {
                Some(down) => extend_run(&mut dev_runs, id, c, down, covered.device(&d.id)),
                None if s.is_some_and(|s| s.up) => {
                    if let Some(run) = dev_runs.remove(&id) {
                        close(run, d.site.to_string(), Some(id), c, false);
                    }
                }
                None => {}
            }
        }
        for site in &inv.sites {
            let mut deciders = index.site_deciders(&site.id).peekable();
            if deciders.peek().is_none() {
                continue;
            }
            let any_polled = index.site_deciders(&site.id).any(|d| cyc.contains_key(d.id.as_str()));
            let counts = site_counts.entry(site.id.as_str()).or_default();
            let windows = covered.site(&site.id).to_vec();
            let down = outages_now.sites.get(&site.id);
            if any_polled {
                if windows.is_empty() {
                    counts.polled += 1;
                    counts.up += u64::from(down.is_none());
                } else {
                    counts.maintenance += 1;
                }
            }
            let id = site.id.to_string();
            match down {
                Some(down) => extend_run(&mut site_runs, id, c, down, &windows),
                None if any_polled => {
                    if let Some(run) = site_runs.remove(&id) {
                        close(run, id.clone(), None, c, false);
                    }
                }
                None => {}
            }
        }
    }
    let mut open_sites: Vec<_> = site_runs.into_iter().collect();
    open_sites.sort_by(|a, b| a.0.cmp(&b.0));
    for (site, run) in open_sites {
        close(run, site, None, cycles, true);
    }
    let mut open_devs: Vec<_> = dev_runs.into_iter().collect();
    open_devs.sort_by(|a, b| a.0.cmp(&b.0));
    for (dev, run) in open_devs {
        let site = inv.device(&dev).map(|d| d.site.to_string()).unwrap_or_default();
        close(run, site, Some(dev), cycles, true);
    }
    outages.sort_by(|a, b| {
        (a.device.is_some(), a.start, &a.site, &a.device).cmp(&(
            b.device.is_some(),
            b.start,
            &b.site,
            &b.device,
        ))
    });

    // Expected cycles: the period's, less the cycles maintenance covers in time. A cycle is
    // covered when a window over the device (or its site, or all) is in force at its start.
    let in_force: Vec<Vec<bool>> =
        inv.maintenance.iter().map(|w| (0..cycles).map(|c| w.active_at(at(c))).collect()).collect();
    let maint_cycles = |covers: &dyn Fn(&crate::inventory::MaintenanceWindow) -> bool| -> u64 {
        let mine: Vec<&Vec<bool>> = inv
            .maintenance
            .iter()
            .zip(&in_force)
            .filter(|(w, _)| covers(w))
            .map(|(_, v)| v)
            .collect();
        if mine.is_empty() {
            return 0;
        }
        (0..cycles as usize).filter(|c| mine.iter().any(|v| v[*c])).count() as u64
    };
    let mut devices = Vec::new();
    let mut families: BTreeMap<Family, Figure> = BTreeMap::new();
    let mut fam_totals: BTreeMap<Family, Counts> = BTreeMap::new();
    for d in &polled {
        let (mut all, fams) = dev_counts.get(d.id.as_str()).copied().unwrap_or_default();
        let expected = cycles - maint_cycles(&|w| w.scope.covers_device(d));
        all.expected = expected;
        let mut per = BTreeMap::new();
        for f in d.families() {
            let mut k = fams[fam_index(f)];
            k.expected = expected;
            fam_totals.entry(f).or_default().add(&k);
            per.insert(f, Figure::from(k));
        }
        devices.push(DeviceFigure {
            device: d.id.to_string(),
            site: d.site.to_string(),
            figure: all.into(),
            families: per,
        });
    }
    for (f, k) in fam_totals {
        families.insert(f, k.into());
    }
    let mut sites = Vec::new();
    let mut media_totals: BTreeMap<LinkMedium, Counts> = BTreeMap::new();
    for s in &inv.sites {
        let Some(mut k) = site_counts.get(s.id.as_str()).copied() else {
            if index.site_deciders(&s.id).next().is_none() {
                continue;
            }
            let k = Counts { expected: cycles, ..Counts::default() };
            sites.push(SiteFigure {
                site: s.id.to_string(),
                name: s.name.clone(),
                medium: s.link,
                figure: k.into(),
            });
            continue;
        };
        let deciders: Vec<_> = index.site_deciders(&s.id).collect();
        k.expected = cycles
            - maint_cycles(&|w| {
                w.scope.covers_site(&s.id) || deciders.iter().all(|d| w.scope.covers_device(d))
            });
        if let Some(m) = s.link.filter(|m| *m != LinkMedium::None) {
            media_totals.entry(m).or_default().add(&k);
        }
        sites.push(SiteFigure {
            site: s.id.to_string(),
            name: s.name.clone(),
            medium: s.link,
            figure: k.into(),
        });
    }
    let media = media_totals.into_iter().map(|(m, k)| (m, k.into())).collect();
    Report {
        period,
        cycle_s: cycle,
        cycles,
        min_poll_share: MIN_POLL_SHARE,
        sites,
        media,
        devices,
        families,
        outages,
        maintenance,
    }
}

impl Period {
    /// A calendar month in `tz` (`year`, `month` 1-12), ended at `now` while it runs.
    pub fn month(tz: Tz, year: i32, month: u32, now: DateTime<Utc>) -> Result<Period, String> {
        let first = chrono::NaiveDate::from_ymd_opt(year, month, 1)
            .ok_or_else(|| format!("--month: no month {year:04}-{month:02}"))?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| format!("--month: {year:04}-{month:02} is out of range"))?;
        Period::local(tz, format!("{year:04}-{month:02}"), first, next, now)
    }

    /// The local days `from` to `to`, both included, in `tz`, ended at `now` while it runs.
    pub fn days(
        tz: Tz,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Period, String> {
        if to < from {
            return Err(format!("--to {to} is before --from {from}"));
        }
        let next = to.succ_opt().ok_or_else(|| format!("--to {to} is out of range"))?;
        Period::local(tz, format!("{from} – {to}"), from, next, now)
    }

    fn local(
        tz: Tz,
        label: String,
        first: chrono::NaiveDate,
        next: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Period, String> {
        let midnight = |d: chrono::NaiveDate| {
            crate::inventory::maintenance::local_instant(tz, d.and_time(chrono::NaiveTime::MIN))
        };
        let from = midnight(first);
        if from >= now {
            return Err(format!("the period {label} has not started yet"));
        }
        Ok(Period { label, from, to: midnight(next).min(now), time_zone: tz })
    }
}
