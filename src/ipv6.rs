//! IPv6 transition coverage: how far each polled device has come, stage by stage, overall, per
//! site, per class and in the sites × classes matrix; which devices are overdue against their
//! plan; which are configured but broken on IPv6 while IPv4 works; and the threshold check
//! `vigia check ipv6` runs from cron.
//!
//! Devices in scope: those vigia polls on the as-of day (monitored, in service, at the main
//! site or a branch with a link). Stages, each from the latest fresh result ([`FRESH_WITHIN`]):
//!
//! | stage | passed when | out of |
//! |---|---|---|
//! | `configured` | the device has an IPv6 address in the inventory | every device in scope |
//! | `icmp` | configured and its latest ICMPv6 echo cycle succeeded | every device in scope |
//! | `snmp` | SNMP configured and its latest SNMP poll over IPv6 succeeded | devices in scope with SNMP configured (ICMP-only devices are not counted against IPv6) |
//! | `dual_stack` | its latest ICMP cycles over IPv4 and over IPv6 both succeeded | every device in scope |
//!
//! `broken`: configured, IPv4 answers (latest ICMPv4 succeeded), and the latest ICMPv6 failed.
//! A configured device with no fresh IPv6 result is not broken, it is unmeasured (`icmp6` null).
//! `overdue`: its `ipv6_planned` day is before the as-of day and the `icmp` stage is not passed.

use std::collections::HashMap;
use std::net::Ipv6Addr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer, ser::SerializeStruct};

use crate::history::{AsOf, FRESH_WITHIN, History, Latest};
use crate::inventory::{Device, DeviceClass, DeviceId, Family, Inventory, SiteId};
use crate::lifecycle::{SiteIndex, in_service};
use crate::poll::{PollOutcome, ProbeKind};

names! {
    /// A stage of a device's IPv6 transition.
    Stage {
        /// Has an IPv6 address.
        Configured = "configured",
        /// Answers ICMPv6.
        Icmp = "icmp",
        /// Its SNMP agent answers over IPv6.
        Snmp = "snmp",
        /// Answers ICMP over IPv4 and IPv6.
        DualStack = "dual_stack",
    }
}

/// Devices that passed a stage out of those it applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Devices the stage applies to (the denominator).
    pub eligible: usize,
    /// Devices that passed it.
    pub passed: usize,
}

impl Tally {
    /// passed / eligible, `None` when nothing is eligible.
    pub fn ratio(&self) -> Option<f64> {
        (self.eligible > 0).then(|| self.passed as f64 / self.eligible as f64)
    }
}

impl Serialize for Tally {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Tally", 3)?;
        st.serialize_field("eligible", &self.eligible)?;
        st.serialize_field("passed", &self.passed)?;
        st.serialize_field("ratio", &self.ratio())?;
        st.end()
    }
}

/// A tally per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stages {
    /// `configured`.
    pub configured: Tally,
    /// `icmp`.
    pub icmp: Tally,
    /// `snmp`.
    pub snmp: Tally,
    /// `dual_stack`.
    pub dual_stack: Tally,
}

impl Stages {
    /// The tally of `stage`.
    pub fn get(&self, stage: Stage) -> Tally {
        match stage {
            Stage::Configured => self.configured,
            Stage::Icmp => self.icmp,
            Stage::Snmp => self.snmp,
            Stage::DualStack => self.dual_stack,
        }
    }

    fn add(&mut self, d: &DeviceIpv6) {
        for stage in Stage::ALL {
            let t = match stage {
                Stage::Configured => &mut self.configured,
                Stage::Icmp => &mut self.icmp,
                Stage::Snmp => &mut self.snmp,
                Stage::DualStack => &mut self.dual_stack,
            };
            if d.eligible(*stage) {
                t.eligible += 1;
                t.passed += usize::from(d.passes(*stage));
            }
        }
    }
}

/// One device's IPv6 state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceIpv6 {
    /// Device id.
    pub device: DeviceId,
    /// Site id.
    pub site: SiteId,
    /// Class.
    pub class: DeviceClass,
    /// Its IPv6 address, if configured.
    pub address: Option<Ipv6Addr>,
    /// Whether SNMP is configured for it.
    pub snmp_configured: bool,
    /// Latest fresh ICMPv4 result (`null`: none).
    pub icmp4: Option<bool>,
    /// Latest fresh ICMPv6 result.
    pub icmp6: Option<bool>,
    /// Latest fresh SNMP-over-IPv6 result.
    pub snmp6: Option<bool>,
    /// When the latest ICMPv6 result was taken.
    pub icmp6_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub icmp6_outcome: Option<PollOutcome>,
    /// Stages passed, in stage order.
    pub stages: Vec<Stage>,
    /// When the IPv6 plan gives it an address.
    pub ipv6_planned: Option<NaiveDate>,
    /// Days past `ipv6_planned` without the `icmp` stage (only when overdue).
    pub days_overdue: Option<i64>,
    /// Configured, IPv4 answers and IPv6 does not.
    pub broken: bool,
}

impl DeviceIpv6 {
    /// Whether `stage` applies to the device (counts in its denominator).
    pub fn eligible(&self, stage: Stage) -> bool {
        stage != Stage::Snmp || self.snmp_configured
    }

    /// Whether the device passed `stage`.
    pub fn passes(&self, stage: Stage) -> bool {
        self.stages.contains(&stage)
    }

    /// Whether it is overdue against its plan.
    pub fn overdue(&self) -> bool {
        self.days_overdue.is_some()
    }
}

/// Coverage of one site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteCoverage {
    /// Site id.
    pub site: SiteId,
    /// Site name.
    pub name: String,
    /// `main`, `fibre` or `radio`.
    pub link: &'static str,
    /// Tallies.
    pub stages: Stages,
}

/// Coverage of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassCoverage {
    /// Class.
    pub class: DeviceClass,
    /// Tallies.
    pub stages: Stages,
}

/// One cell of the sites × classes matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// Site id.
    pub site: SiteId,
    /// Class.
    pub class: DeviceClass,
    /// Tallies.
    pub stages: Stages,
}

/// IPv6 coverage as of an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// The day and instant described.
    pub as_of: AsOf,
    /// Results older than this (before the instant) count as none.
    pub fresh_within_seconds: i64,
    /// Overall tallies.
    pub stages: Stages,
    /// Per site with devices in scope, in inventory order.
    pub sites: Vec<SiteCoverage>,
    /// Per class with devices in scope, in class order.
    pub classes: Vec<ClassCoverage>,
    /// Per (site, class) with devices, sites in inventory order then class order.
    pub matrix: Vec<Cell>,
    /// Every device in scope, in inventory order.
    pub devices: Vec<DeviceIpv6>,
}

impl Coverage {
    /// Devices overdue against `ipv6_planned`.
    pub fn overdue(&self) -> impl Iterator<Item = &DeviceIpv6> {
        self.devices.iter().filter(|d| d.overdue())
    }

    /// Devices configured but broken on IPv6 while IPv4 works.
    pub fn broken(&self) -> impl Iterator<Item = &DeviceIpv6> {
        self.devices.iter().filter(|d| d.broken)
    }
}

/// Compute the coverage of the devices polled as of `as_of`.
pub fn coverage(inv: &Inventory, history: &History, as_of: AsOf) -> Coverage {
    let latest = Latest::new(&history.latest, as_of, FRESH_WITHIN);
    let index = SiteIndex::new(inv);
    let devices: Vec<DeviceIpv6> = inv
        .devices
        .iter()
        .filter(|d| index.polled(d) && in_service(d, as_of.date))
        .map(|d| device_ipv6(d, &latest, as_of))
        .collect();
    let mut stages = Stages::default();
    devices.iter().for_each(|d| stages.add(d));
    let (sites, matrix) = by_site(inv, &devices);
    let classes = DeviceClass::ALL
        .iter()
        .filter_map(|class| {
            let mut st = Stages::default();
            let mut any = false;
            for d in devices.iter().filter(|d| d.class == *class) {
                st.add(d);
                any = true;
            }
            any.then_some(ClassCoverage { class: *class, stages: st })
        })
        .collect();
    Coverage {
        as_of,
        fresh_within_seconds: FRESH_WITHIN.num_seconds(),
        stages,
        sites,
        classes,
        matrix,
        devices,
    }
}

/// One device's IPv6 stages from its latest fresh results.
fn device_ipv6(d: &Device, latest: &Latest, as_of: AsOf) -> DeviceIpv6 {
    let configured = d.ipv6.is_some();
    let icmp4 = d.ipv4.and_then(|_| latest.success(&d.id, Family::Ipv4, ProbeKind::Icmp));
    let v6 = configured.then(|| latest.get(&d.id, Family::Ipv6, ProbeKind::Icmp)).flatten();
    let icmp6 = v6.map(|r| r.success);
    let snmp_configured = d.snmp.is_some();
    let snmp6 = (configured && snmp_configured)
        .then(|| latest.success(&d.id, Family::Ipv6, ProbeKind::Snmp))
        .flatten();
    let mut stages = Vec::new();
    if configured {
        stages.push(Stage::Configured);
    }
    if icmp6 == Some(true) {
        stages.push(Stage::Icmp);
    }
    if snmp6 == Some(true) {
        stages.push(Stage::Snmp);
    }
    if icmp4 == Some(true) && icmp6 == Some(true) {
        stages.push(Stage::DualStack);
    }
    let days_overdue = d
        .ipv6_planned
        .filter(|p| *p < as_of.date && icmp6 != Some(true))
        .map(|p| (as_of.date - p).num_days());
    DeviceIpv6 {
        device: d.id.clone(),
        site: d.site.clone(),
        class: d.class,
        address: d.ipv6,
        snmp_configured,
        icmp4,
        icmp6,
        snmp6,
        icmp6_at: v6.map(|r| r.at),
        icmp6_outcome: v6.map(|r| r.outcome),
        stages,
        ipv6_planned: d.ipv6_planned,
        days_overdue,
        broken: configured && icmp4 == Some(true) && icmp6 == Some(false),
    }
}

/// The coverage of each site with devices, and of each (site, class) cell, in inventory order.
fn by_site(inv: &Inventory, devices: &[DeviceIpv6]) -> (Vec<SiteCoverage>, Vec<Cell>) {
    let mut sites = Vec::new();
    let mut matrix = Vec::new();
    let mut by_site: HashMap<&str, Vec<&DeviceIpv6>> = HashMap::new();
    for d in devices {
        by_site.entry(d.site.as_str()).or_default().push(d);
    }
    for site in &inv.sites {
        let Some(here) = by_site.get(site.id.as_str()) else {
            continue;
        };
        let mut st = Stages::default();
        here.iter().for_each(|d| st.add(d));
        sites.push(SiteCoverage {
            site: site.id.clone(),
            name: site.name.clone(),
            link: site.link_label(),
            stages: st,
        });
        for class in DeviceClass::ALL {
            let mut cell = Stages::default();
            let mut any = false;
            for d in here.iter().filter(|d| d.class == *class) {
                cell.add(d);
                any = true;
            }
            if any {
                matrix.push(Cell { site: site.id.clone(), class: *class, stages: cell });
            }
        }
    }
    (sites, matrix)
}

/// A minimum coverage to check, optionally on one site or class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// The stage measured.
    pub stage: Stage,
    /// Minimum passed / eligible, in percent (0-100).
    pub min_percent: f64,
    /// Only this site's devices.
    pub site: Option<SiteId>,
    /// Only this class's devices.
    pub class: Option<DeviceClass>,
}

/// The outcome of a threshold check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    /// What was checked.
    #[serde(flatten)]
    pub threshold: Threshold,
    /// Devices the stage applies to, after the filters.
    pub eligible: usize,
    /// Devices that passed it.
    pub passed: usize,
    /// passed / eligible (`null` when nothing is eligible).
    pub ratio: Option<f64>,
    /// Whether the minimum is met. Nothing eligible never passes: no evidence, no pass.
    pub pass: bool,
}

/// A threshold that cannot be checked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    /// The minimum is not a percentage.
    #[error("minimum coverage {value} is not a percentage between 0 and 100")]
    InvalidMinimum {
        /// What was given.
        value: f64,
    },
    /// No such site in the inventory.
    #[error("site {site} is not in the inventory")]
    UnknownSite {
        /// What was given.
        site: SiteId,
    },
    /// The site has no link: its devices are never polled.
    #[error("site {site} has no link (link: none): its devices are not polled")]
    SiteNotPolled {
        /// What was given.
        site: SiteId,
    },
}

/// Check `threshold` against `coverage`.
pub fn check(
    inv: &Inventory,
    coverage: &Coverage,
    threshold: &Threshold,
) -> Result<CheckOutcome, ThresholdError> {
    let min = threshold.min_percent;
    if !(0.0..=100.0).contains(&min) {
        return Err(ThresholdError::InvalidMinimum { value: min });
    }
    if let Some(id) = &threshold.site {
        let site = inv.site(id).ok_or_else(|| ThresholdError::UnknownSite { site: id.clone() })?;
        if site.link == Some(crate::inventory::LinkMedium::None) {
            return Err(ThresholdError::SiteNotPolled { site: id.clone() });
        }
    }
    let mut tally = Tally::default();
    for d in coverage.devices.iter().filter(|d| {
        threshold.site.as_ref().is_none_or(|s| *s == d.site)
            && threshold.class.is_none_or(|c| c == d.class)
            && d.eligible(threshold.stage)
    }) {
        tally.eligible += 1;
        tally.passed += usize::from(d.passes(threshold.stage));
    }
    let pass = tally.eligible > 0 && tally.passed as f64 * 100.0 >= min * tally.eligible as f64;
    Ok(CheckOutcome {
        threshold: threshold.clone(),
        eligible: tally.eligible,
        passed: tally.passed,
        ratio: tally.ratio(),
        pass,
    })
}

#[cfg(test)]
mod tests;
