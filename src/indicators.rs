//! The strategic indicators AE.7.03 and AE.7.04 (PEI 2025-2030, OEI.07), each with the ficha
//! the plan lays out and, beside every figure, the ids it counted.
//!
//! The period of year `Y` as of day `D` runs from 1 January of `Y` to the earlier of
//! 31 December and `D`, both included; a period that ends before 31 December is partial.
//!
//! - AE.7.03 value: the AE.7.03 projects with status `implemented` and `implemented_on` in the
//!   period (a project done on 31 December counts for that year, one done on 1 January for the
//!   next). Against the year's target.
//! - AE.7.03 ficha formula: improved components / evaluated components × 100, where
//!   - the devices evaluated are those vigia polls and that are in service at the end of the
//!     period; a device is improved when its `lifecycle.renewed` falls in the period;
//!   - the site links evaluated are every branch site of the inventory (an unlinked site's
//!     missing link is a component too: connecting it improves it); a site is improved when its
//!     medium was upgraded in the period, by the order none < radio < fibre: the medium in the
//!     last inventory snapshot of the period is better than in the baseline snapshot. The
//!     baseline is the last snapshot before the period; when the history has none, the first
//!     snapshot inside the period (what vigia first saw; an upgrade before it cannot be proven
//!     and does not count); with no snapshot at all, no upgrade counts. A site absent from the
//!     baseline (added during the period) is not an upgrade. Net change is compared, so a
//!     downgrade, or an upgrade undone, does not count.
//! - AE.7.04 value: every device of the inventory whose `lifecycle.renewed` falls in the period.
//!   A replacement the devices' serials show in the period (`crate::discovered::replacements`)
//!   is listed apart, "por confirmar", until the inventory records it (the device renewed in
//!   the period, or a device renewed in the period that `replaces` it): the indicator's source
//!   is the procurement office's register, so detection proposes and never counts.
//!
//! Progress is value / target × 100; with no target for the year (or a target of 0) there is
//! no progress figure, never a division by zero or an invented target.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::history::{AsOf, History};
use crate::inventory::snapshot::Snapshot;
use crate::inventory::{
    Device, DeviceClass, DeviceId, IndicatorId, Inventory, LinkMedium, ProjectId, ProjectStatus,
    SiteId, SiteRole,
};
use crate::lifecycle::{SiteIndex, in_service};

/// The months a yearly indicator covers, up to the as-of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// The year.
    pub year: i32,
    /// 1 January.
    pub from: NaiveDate,
    /// 31 December, or the as-of day when earlier.
    pub to: NaiveDate,
    /// Whether the whole year is covered.
    pub complete: bool,
}

impl Period {
    /// The period of `year` as of `as_of`.
    pub fn of(year: i32, as_of: NaiveDate) -> Result<Period, IndicatorError> {
        let bad = || IndicatorError::Year { year };
        let from = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(bad)?;
        let dec31 = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(bad)?;
        if as_of < from {
            return Err(IndicatorError::NotStarted { year, as_of });
        }
        let to = as_of.min(dec31);
        Ok(Period { year, from, to, complete: to == dec31 })
    }

    /// Whether `day` falls in the period.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    fn start_instant(&self) -> DateTime<Utc> {
        self.from.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    fn end_instant(&self) -> DateTime<Utc> {
        self.to
            .checked_add_days(Days::new(1))
            .unwrap_or(self.to)
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    }
}

/// The indicators cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndicatorError {
    /// The year is out of the calendar's range.
    #[error("year {year} is out of range")]
    Year {
        /// What was asked.
        year: i32,
    },
    /// The as-of day is before the year begins.
    #[error("year {year} has not begun as of {as_of}")]
    NotStarted {
        /// The year.
        year: i32,
        /// The as-of day.
        as_of: NaiveDate,
    },
    /// A stored inventory snapshot cannot be read.
    #[error("inventory snapshot taken at {at} by agent {agent} cannot be read: {reason}")]
    Snapshot {
        /// When it was taken.
        at: DateTime<Utc>,
        /// By which agent.
        agent: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A project of an indicator, and whether it counted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectRow {
    /// Project id.
    pub id: ProjectId,
    /// Name.
    pub name: String,
    /// Planned year.
    pub year: i32,
    /// Status.
    pub status: ProjectStatus,
    /// When it was implemented.
    pub implemented_on: Option<NaiveDate>,
    /// Budget in soles.
    pub budget_pen: Option<f64>,
    /// The plan's priority.
    pub priority: Option<u32>,
    /// Whether it counts for the period.
    pub counted: bool,
}

/// A device renewed in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenewedDevice {
    /// Device id.
    pub device: DeviceId,
    /// Site id.
    pub site: SiteId,
    /// Class.
    pub class: DeviceClass,
    /// When it entered service as a renewal.
    pub renewed: NaiveDate,
    /// The device it replaced.
    pub replaces: Option<DeviceId>,
}

/// A site whose link medium was upgraded in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteUpgrade {
    /// Site id.
    pub site: SiteId,
    /// Name.
    pub name: String,
    /// Medium in the baseline snapshot.
    pub from: LinkMedium,
    /// Medium in the last snapshot of the period.
    pub to: LinkMedium,
}

names! {
    /// Which snapshot the site media of the period start from.
    BaselineKind {
        /// The last snapshot before the period.
        BeforePeriod = "before_period",
        /// No snapshot before the period: the first one inside it.
        FirstInPeriod = "first_in_period",
        /// No snapshot up to the end of the period: no upgrade can be proven.
        None = "none",
    }
}

/// The snapshots the site upgrades were read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    /// Which baseline was used.
    pub kind: BaselineKind,
    /// When the baseline snapshot was taken.
    pub start: Option<DateTime<Utc>>,
    /// When the last snapshot of the period was taken.
    pub end: Option<DateTime<Utc>>,
}

/// The AE.7.03 ficha formula's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Components {
    /// Devices evaluated (polled and in service at the end of the period).
    pub devices_evaluated: Vec<DeviceId>,
    /// Site links evaluated (every branch site).
    pub sites_evaluated: Vec<SiteId>,
    /// Evaluated devices renewed in the period.
    pub devices_improved: Vec<RenewedDevice>,
    /// Branch sites whose medium was upgraded in the period.
    pub sites_improved: Vec<SiteUpgrade>,
    /// How the upgrades were read.
    pub baseline: Baseline,
    /// devices + sites evaluated.
    pub evaluated: usize,
    /// devices + sites improved.
    pub improved: usize,
    /// improved / evaluated × 100 (`null` with nothing evaluated).
    pub percent: Option<f64>,
}

/// One indicator's ficha, as the plan lays it out, with what it counted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ficha {
    /// AE.7.03 or AE.7.04.
    pub indicator: IndicatorId,
    /// The indicator's name, if the inventory defines the indicator.
    pub name: Option<String>,
    /// Strategic objective.
    pub objective: Option<String>,
    /// Strategic action.
    pub action: Option<String>,
    /// Formula as the plan states it.
    pub formula: Option<String>,
    /// Source of the data.
    pub source: Option<String>,
    /// Who answers for it.
    pub responsible: Option<String>,
    /// The period.
    pub period: Period,
    /// The year's target, if recorded.
    pub target: Option<f64>,
    /// How the plan states the target.
    pub target_note: Option<String>,
    /// The value (projects implemented for AE.7.03, devices renewed for AE.7.04).
    pub value: u64,
    /// value / target × 100, when there is a non-zero target.
    pub progress_percent: Option<f64>,
    /// The ids the value counted.
    pub counted: Vec<String>,
}

/// AE.7.03: infrastructure projects implemented, and the ficha formula.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ae703 {
    /// The ficha.
    pub ficha: Ficha,
    /// Every AE.7.03 project, counted or not.
    pub projects: Vec<ProjectRow>,
    /// The formula's terms.
    pub components: Components,
}

/// AE.7.04: devices renewed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ae704 {
    /// The ficha.
    pub ficha: Ficha,
    /// The devices renewed in the period.
    pub renewed: Vec<RenewedDevice>,
    /// The AE.7.04 projects (context: the plan states its target as one project).
    pub projects: Vec<ProjectRow>,
    /// Replacements detected in the period that the inventory does not record yet: listed,
    /// never counted.
    pub detected: Vec<crate::discovered::Replacement>,
}

/// Both indicators for a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicators {
    /// The period.
    pub period: Period,
    /// AE.7.03.
    pub ae703: Ae703,
    /// AE.7.04.
    pub ae704: Ae704,
}

/// Medium order for upgrades: none < radio < fibre.
pub fn medium_rank(m: LinkMedium) -> u8 {
    match m {
        LinkMedium::None => 0,
        LinkMedium::Radio => 1,
        LinkMedium::Fibre => 2,
    }
}

/// The end of `year` (next 1 January, midnight UTC).
pub fn end_of_year(year: i32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(year + 1, 1, 1)
        .unwrap_or(NaiveDate::MAX)
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

/// What an indicators report counts when asked for a year and a day, either left out: the
/// year is this year by default, and the day the end of the year, or today while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    /// The year.
    pub year: i32,
    /// The day it counts up to.
    pub day: NaiveDate,
    /// The history's as-of moment for that day ([`AsOf::day_or_now`]).
    pub as_of: AsOf,
    /// Inventory snapshots are read up to here: the end of the year, or the as-of instant when
    /// sooner.
    pub snapshots_until: DateTime<Utc>,
}

impl Asked {
    /// The year and day asked, defaults filled in, seen from `now`.
    pub fn new(year: Option<i32>, day: Option<NaiveDate>, now: DateTime<Utc>) -> Asked {
        let today = now.date_naive();
        let year = year.unwrap_or(today.year());
        let end = end_of_year(year);
        let last_day = end.date_naive().pred_opt().unwrap_or(today);
        let day = day.unwrap_or(last_day.min(today));
        let as_of = AsOf::day_or_now(day, now);
        Asked { year, day, as_of, snapshots_until: end.min(as_of.instant) }
    }
}

/// Compute both indicators for `year` as of `as_of`.
pub fn compute(
    inv: &Inventory,
    history: &History,
    year: i32,
    as_of: NaiveDate,
) -> Result<Indicators, IndicatorError> {
    let period = Period::of(year, as_of)?;
    let projects = |id: IndicatorId| project_rows(inv, &period, id);
    let renewed = |pick: &dyn Fn(&Device) -> bool| renewed_devices(inv, &period, pick);

    // AE.7.03.
    let p703 = projects(IndicatorId::Ae703);
    let implemented: Vec<String> =
        p703.iter().filter(|p| p.counted).map(|p| p.id.to_string()).collect();
    let index = SiteIndex::new(inv);
    let evaluated_device = |d: &Device| index.polled(d) && in_service(d, period.to);
    let devices_evaluated: Vec<DeviceId> =
        inv.devices.iter().filter(|d| evaluated_device(d)).map(|d| d.id.clone()).collect();
    let sites_evaluated: Vec<SiteId> =
        inv.sites.iter().filter(|s| s.role == SiteRole::Branch).map(|s| s.id.clone()).collect();
    let devices_improved = renewed(&evaluated_device);
    let (sites_improved, baseline) = site_upgrades(inv, history, &period)?;
    let evaluated = devices_evaluated.len() + sites_evaluated.len();
    let improved = devices_improved.len() + sites_improved.len();
    let components = Components {
        devices_evaluated,
        sites_evaluated,
        devices_improved,
        sites_improved,
        baseline,
        evaluated,
        improved,
        percent: (evaluated > 0).then(|| improved as f64 * 100.0 / evaluated as f64),
    };
    let ae703 = Ae703 {
        ficha: ficha(inv, IndicatorId::Ae703, period, implemented),
        projects: p703,
        components,
    };

    // AE.7.04.
    let renewed_all = renewed(&|_| true);
    let ae704 = Ae704 {
        ficha: ficha(
            inv,
            IndicatorId::Ae704,
            period,
            renewed_all.iter().map(|r| r.device.to_string()).collect(),
        ),
        renewed: renewed_all,
        projects: projects(IndicatorId::Ae704),
        detected: detected_replacements(inv, history, &period),
    };
    Ok(Indicators { period, ae703, ae704 })
}

/// The projects of indicator `id`, each saying whether it counts in `period`.
fn project_rows(inv: &Inventory, period: &Period, id: IndicatorId) -> Vec<ProjectRow> {
    inv.projects
        .iter()
        .filter(|p| p.indicator == id)
        .map(|p| ProjectRow {
            id: p.id.clone(),
            name: p.name.clone(),
            year: p.year,
            status: p.status,
            implemented_on: p.implemented_on,
            budget_pen: p.budget_pen,
            priority: p.priority,
            counted: p.status == ProjectStatus::Implemented
                && p.implemented_on.is_some_and(|d| period.contains(d)),
        })
        .collect()
}

/// Replacements whose new serial was first seen in `period` and that the inventory does not
/// record as a renewal in it.
fn detected_replacements(
    inv: &Inventory,
    history: &History,
    period: &Period,
) -> Vec<crate::discovered::Replacement> {
    let before =
        period.to.succ_opt().unwrap_or(period.to).and_time(chrono::NaiveTime::MIN).and_utc();
    let renewed_in = |d: &Device| d.lifecycle.renewed.is_some_and(|r| period.contains(r));
    let recorded = |id: &DeviceId| {
        inv.devices
            .iter()
            .any(|d| renewed_in(d) && (d.id == *id || d.lifecycle.replaces.as_ref() == Some(id)))
    };
    crate::discovered::replacements(inv, &history.facts, before)
        .into_iter()
        .filter(|r| period.contains(r.at.date_naive()) && !recorded(&r.device))
        .collect()
}

/// The devices `pick` takes that were renewed in `period`.
fn renewed_devices(
    inv: &Inventory,
    period: &Period,
    pick: &dyn Fn(&Device) -> bool,
) -> Vec<RenewedDevice> {
    inv.devices
        .iter()
        .filter(|d| pick(d))
        .filter_map(|d| {
            let on = d.lifecycle.renewed.filter(|r| period.contains(*r))?;
            Some(RenewedDevice {
                device: d.id.clone(),
                site: d.site.clone(),
                class: d.class,
                renewed: on,
                replaces: d.lifecycle.replaces.clone(),
            })
        })
        .collect()
}

fn ficha(inv: &Inventory, id: IndicatorId, period: Period, counted: Vec<String>) -> Ficha {
    let def = inv.indicator(id);
    let target = def.and_then(|i| i.targets.get(&period.year).copied());
    let value = counted.len() as u64;
    Ficha {
        indicator: id,
        name: def.map(|i| i.name.clone()),
        objective: def.and_then(|i| i.objective.clone()),
        action: def.and_then(|i| i.action.clone()),
        formula: def.and_then(|i| i.formula.clone()),
        source: def.and_then(|i| i.source.clone()),
        responsible: def.and_then(|i| i.responsible.clone()),
        period,
        target,
        target_note: def.and_then(|i| i.target_note.clone()),
        value,
        progress_percent: target.filter(|t| *t > 0.0).map(|t| value as f64 * 100.0 / t),
        counted,
    }
}

/// Branch sites whose medium is better at the end of the period than in the baseline snapshot.
fn site_upgrades(
    inv: &Inventory,
    history: &History,
    period: &Period,
) -> Result<(Vec<SiteUpgrade>, Baseline), IndicatorError> {
    let (start, end) = (period.start_instant(), period.end_instant());
    let mut snaps = Vec::new();
    for s in history.snapshots.iter().filter(|s| s.at < end) {
        // Read from the stored value in place: a clone of it was the size of the inventory.
        let parsed = Snapshot::deserialize(&s.content).map_err(|e| IndicatorError::Snapshot {
            at: s.at,
            agent: s.agent.clone(),
            reason: e.to_string(),
        })?;
        snaps.push((s.at, parsed));
    }
    snaps.sort_by_key(|(at, _)| *at);
    let before = snaps.iter().rev().find(|(at, _)| *at < start);
    let (kind, base) = match before {
        Some(b) => (BaselineKind::BeforePeriod, Some(b)),
        None => match snaps.iter().find(|(at, _)| *at >= start) {
            Some(first) => (BaselineKind::FirstInPeriod, Some(first)),
            None => (BaselineKind::None, None),
        },
    };
    let last = snaps.last();
    let baseline = Baseline { kind, start: base.map(|b| b.0), end: last.map(|l| l.0) };
    let (Some((_, base)), Some((_, last))) = (base, last) else {
        return Ok((Vec::new(), baseline));
    };
    let medium = |snap: &Snapshot, id: &str| {
        snap.sites
            .iter()
            .find(|s| s.id == id && s.role == SiteRole::Branch)
            .map(|s| s.link.unwrap_or(LinkMedium::None))
    };
    let upgrades = inv
        .sites
        .iter()
        .filter(|s| s.role == SiteRole::Branch)
        .filter_map(|s| {
            let from = medium(base, &s.id)?;
            let to = medium(last, &s.id)?;
            (medium_rank(to) > medium_rank(from)).then(|| SiteUpgrade {
                site: s.id.clone(),
                name: s.name.clone(),
                from,
                to,
            })
        })
        .collect();
    Ok((upgrades, baseline))
}

/// The year of a day (for callers that pick "this year").
pub fn year_of(day: NaiveDate) -> i32 {
    day.year()
}

#[cfg(test)]
mod tests;
