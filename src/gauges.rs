//! The values the exporter publishes from the core's results, as plain rows: the exporter only
//! turns each row into a series (names fixed below) and removes the series of rows that vanish.
//!
//! | metric | labels | from |
//! |---|---|---|
//! | `vigia_device_acquired_timestamp_seconds` | device, site, class | [`device_dates`] (known dates only) |
//! | `vigia_device_end_of_support_timestamp_seconds` | device, site, class | [`device_dates`] (known dates only) |
//! | `vigia_device_renewal_candidate` | device, site, class, reason | [`renewal_candidates`] (value 1; no series when not a candidate) |
//! | `vigia_ipv6_coverage_ratio` | stage | [`ipv6_coverage_ratio`] (no series when nothing is eligible) |
//! | `vigia_ipv6_devices` | stage, site, class | [`ipv6_devices`] (also the denominators, stages `monitored` and `snmp_configured`) |
//! | `vigia_sites` | link | [`sites`] (main, fibre, radio, none; zeros included) |
//! | `vigia_indicator_value`, `vigia_indicator_target` | indicator, year | [`indicators`] (no target series without a target) |

use chrono::NaiveDate;

use crate::history::date_timestamp;
use crate::indicators::Indicators;
use crate::inventory::{DeviceClass, IndicatorId, Inventory};
use crate::ipv6::{Coverage, Stage};
use crate::lifecycle::{Reason, Renewal, in_service};
use crate::links::MediumCounts;

/// Name of the acquisition-date gauge.
pub const DEVICE_ACQUIRED: &str = "vigia_device_acquired_timestamp_seconds";
/// Name of the end-of-support gauge.
pub const DEVICE_END_OF_SUPPORT: &str = "vigia_device_end_of_support_timestamp_seconds";
/// Name of the renewal-candidate gauge.
pub const DEVICE_RENEWAL_CANDIDATE: &str = "vigia_device_renewal_candidate";
/// Name of the IPv6 coverage gauge.
pub const IPV6_COVERAGE_RATIO: &str = "vigia_ipv6_coverage_ratio";
/// Name of the IPv6 device-count gauge.
pub const IPV6_DEVICES: &str = "vigia_ipv6_devices";
/// Name of the sites-per-medium gauge.
pub const SITES: &str = "vigia_sites";
/// Name of the indicator-value gauge.
pub const INDICATOR_VALUE: &str = "vigia_indicator_value";
/// Name of the indicator-target gauge.
pub const INDICATOR_TARGET: &str = "vigia_indicator_target";

/// `stage` label of `vigia_ipv6_devices` counting every device in scope (the denominator of
/// `configured`, `icmp` and `dual_stack`).
pub const STAGE_MONITORED: &str = "monitored";
/// `stage` label counting devices in scope with SNMP configured (the denominator of `snmp`).
pub const STAGE_SNMP_CONFIGURED: &str = "snmp_configured";

/// A device's life-cycle dates as Unix seconds (midnight UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDates {
    /// Device id.
    pub device: String,
    /// Site id.
    pub site: String,
    /// Class.
    pub class: DeviceClass,
    /// `acquired`, when known.
    pub acquired_seconds: Option<i64>,
    /// `end_of_support`, when known.
    pub end_of_support_seconds: Option<i64>,
}

/// Dates of the devices in service on `day`.
pub fn device_dates(inv: &Inventory, day: NaiveDate) -> Vec<DeviceDates> {
    inv.devices
        .iter()
        .filter(|d| in_service(d, day))
        .map(|d| DeviceDates {
            device: d.id.clone(),
            site: d.site.clone(),
            class: d.class,
            acquired_seconds: d.lifecycle.acquired.map(date_timestamp),
            end_of_support_seconds: d.lifecycle.end_of_support.map(date_timestamp),
        })
        .collect()
}

/// One `vigia_device_renewal_candidate` series (value 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateSeries {
    /// Device id.
    pub device: String,
    /// Site id.
    pub site: String,
    /// Class.
    pub class: DeviceClass,
    /// Reason.
    pub reason: Reason,
}

/// One series per (candidate, reason).
pub fn renewal_candidates(renewal: &Renewal) -> Vec<CandidateSeries> {
    renewal
        .candidates
        .iter()
        .flat_map(|c| {
            c.findings.iter().map(|f| CandidateSeries {
                device: c.facts.device.clone(),
                site: c.facts.site.clone(),
                class: c.facts.class,
                reason: f.reason,
            })
        })
        .collect()
}

/// Overall coverage per stage; stages with nothing eligible are left out (no NaN).
pub fn ipv6_coverage_ratio(coverage: &Coverage) -> Vec<(Stage, f64)> {
    Stage::ALL.iter().filter_map(|s| coverage.stages.get(*s).ratio().map(|r| (*s, r))).collect()
}

/// One `vigia_ipv6_devices` series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6DevicesSeries {
    /// A [`Stage`] spelling, [`STAGE_MONITORED`] or [`STAGE_SNMP_CONFIGURED`].
    pub stage: &'static str,
    /// Site id.
    pub site: String,
    /// Class.
    pub class: DeviceClass,
    /// Devices.
    pub value: u64,
}

/// Per (site, class) with devices in scope: the two denominators, then each stage's passes.
pub fn ipv6_devices(coverage: &Coverage) -> Vec<Ipv6DevicesSeries> {
    let mut out = Vec::new();
    for cell in &coverage.matrix {
        let mut push = |stage: &'static str, value: usize| {
            out.push(Ipv6DevicesSeries {
                stage,
                site: cell.site.clone(),
                class: cell.class,
                value: value as u64,
            })
        };
        push(STAGE_MONITORED, cell.stages.configured.eligible);
        push(STAGE_SNMP_CONFIGURED, cell.stages.snmp.eligible);
        for stage in Stage::ALL {
            push(stage.as_str(), cell.stages.get(*stage).passed);
        }
    }
    out
}

/// Sites per `link` label: main, fibre, radio, none (always all four).
pub fn sites(inv: &Inventory) -> [(&'static str, u64); 4] {
    let c = MediumCounts::of(inv);
    [
        ("main", c.main as u64),
        ("fibre", c.fibre as u64),
        ("radio", c.radio as u64),
        ("none", c.none as u64),
    ]
}

/// One indicator's value and target for a year.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorSeries {
    /// The indicator.
    pub indicator: IndicatorId,
    /// The year.
    pub year: i32,
    /// Its value (projects implemented, devices renewed).
    pub value: f64,
    /// Its target, when recorded.
    pub target: Option<f64>,
}

/// Both indicators' values and targets.
pub fn indicators(result: &Indicators) -> Vec<IndicatorSeries> {
    [&result.ae703.ficha, &result.ae704.ficha]
        .into_iter()
        .map(|f| IndicatorSeries {
            indicator: f.indicator,
            year: f.period.year,
            value: f.value as f64,
            target: f.target,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testkit::*;
    use crate::history::{AsOf, History};
    use crate::inventory::DeviceClass::Switch;
    use crate::inventory::LinkMedium;

    #[test]
    fn dates_become_midnight_utc_seconds_and_unknown_dates_no_series() {
        let mut d = device("sw", "main", Switch);
        d.lifecycle.acquired = Some(day("2020-01-01"));
        let inv = inventory(vec![site("main", None)], vec![d]);
        let rows = device_dates(&inv, day("2026-01-01"));
        assert_eq!(rows[0].acquired_seconds, Some(1_577_836_800));
        assert_eq!(rows[0].end_of_support_seconds, None);
    }

    #[test]
    fn ipv6_series_carry_their_denominators() {
        let inv = inventory(
            vec![site("main", None), site("f", Some(LinkMedium::Fibre))],
            vec![with_v6(device("a", "f", Switch), 1), with_snmp(device("b", "f", Switch))],
        );
        let c =
            crate::ipv6::coverage(&inv, &History::default(), AsOf::end_of_day(day("2026-01-01")));
        let rows: Vec<(&str, u64)> = ipv6_devices(&c).iter().map(|r| (r.stage, r.value)).collect();
        assert_eq!(
            rows,
            [
                ("monitored", 2),
                ("snmp_configured", 1),
                ("configured", 1),
                ("icmp", 0),
                ("snmp", 0),
                ("dual_stack", 0)
            ]
        );
        assert_eq!(
            ipv6_coverage_ratio(&c),
            [
                (Stage::Configured, 0.5),
                (Stage::Icmp, 0.0),
                (Stage::Snmp, 0.0),
                (Stage::DualStack, 0.0)
            ]
        );
        assert_eq!(sites(&inv), [("main", 1), ("fibre", 1), ("radio", 0), ("none", 0)]);
    }
}
