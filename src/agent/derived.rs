//! The plan's numbers as metrics and reports: fetch what the history store knows for an
//! as-of moment, and turn the core's results (life cycle, IPv6 coverage, link media,
//! indicators) into the metric families the exporter publishes.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};

use crate::exporter::ExtraFamily;
use crate::gauges;
use crate::history::{AsOf, FRESH_WITHIN, History};
use crate::inventory::{Family, Inventory};
use crate::probe::ProbeKind;
use crate::store::{EventKind, PollRecord, Store, StoreError};

/// Fetch the history the reports need as of `as_of`; inventory snapshots up to `snapshots_until`
/// (the end of the year an indicator report is about, or `as_of`).
pub async fn fetch_history(
    store: &Store,
    inv: &Inventory,
    as_of: AsOf,
    snapshots_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<History, StoreError> {
    let reliability = as_of.reliability_window();
    let link = as_of.link_window();
    let availability_90d = store.availability(reliability.from, reliability.to).await?;
    let events = store.events(reliability.from, reliability.to).await?;
    let (restarts_90d, isolations_90d): (Vec<_>, Vec<_>) = events
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::AgentRestart | EventKind::SiteIsolated))
        .partition(|e| e.kind == EventKind::AgentRestart);
    let latest = latest_before(store, inv, as_of.instant, now).await?;
    let snapshots = store.inventory_history(snapshots_until).await?;
    let link_health = store.availability(link.from, link.to).await?;
    Ok(History { availability_90d, restarts_90d, isolations_90d, latest, snapshots, link_health })
}

/// The latest poll per (device, family, probe) before `instant`. For a recent instant the
/// store's latest rows are it; for a past one, each device's polls in the hour before it.
async fn latest_before(
    store: &Store,
    inv: &Inventory,
    instant: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<PollRecord>, StoreError> {
    if instant >= now - TimeDelta::minutes(1) {
        let mut rows = store.latest_polls().await?;
        rows.retain(|r| r.at < instant);
        return Ok(rows);
    }
    let mut latest: HashMap<(String, Family, ProbeKind), PollRecord> = HashMap::new();
    for d in &inv.devices {
        for row in store.polls(&d.id, instant - FRESH_WITHIN, instant).await? {
            let key = (row.device.clone(), row.family, row.probe);
            if latest.get(&key).is_none_or(|old| old.at < row.at) {
                latest.insert(key, row);
            }
        }
    }
    Ok(latest.into_values().collect())
}

/// The end of `year` (next 1 January, midnight UTC).
pub fn end_of_year(year: i32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(year + 1, 1, 1)
        .unwrap_or(NaiveDate::MAX)
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

/// Every metric family computed from the inventory and the history as of `as_of`.
pub fn families(inv: &Inventory, history: &History, as_of: AsOf) -> Vec<ExtraFamily> {
    let mut out = Vec::new();
    let dates = gauges::device_dates(inv, as_of.date);
    let dl = |d: &gauges::DeviceDates| {
        vec![("device", d.device.clone()), ("site", d.site.clone()), ("class", d.class.to_string())]
    };
    out.push(ExtraFamily {
        name: gauges::DEVICE_ACQUIRED,
        help: "When the device was acquired (inventory lifecycle.acquired), where known.",
        samples: dates.iter().filter_map(|d| Some((dl(d), d.acquired_seconds? as f64))).collect(),
    });
    out.push(ExtraFamily {
        name: gauges::DEVICE_END_OF_SUPPORT,
        help: "When the vendor's support ends (inventory lifecycle.end_of_support), where known.",
        samples: dates
            .iter()
            .filter_map(|d| Some((dl(d), d.end_of_support_seconds? as f64)))
            .collect(),
    });
    let renewal = crate::lifecycle::analyse(inv, history, as_of);
    out.push(ExtraFamily {
        name: gauges::DEVICE_RENEWAL_CANDIDATE,
        help: "1 for each reason a device is a renewal candidate (support_ended, support_ending, too_old, unreliable, ipv6_overdue).",
        samples: gauges::renewal_candidates(&renewal)
            .into_iter()
            .map(|c| {
                let labels = vec![
                    ("device", c.device),
                    ("site", c.site),
                    ("class", c.class.to_string()),
                    ("reason", c.reason.as_str().to_owned()),
                ];
                (labels, 1.0)
            })
            .collect(),
    });
    let coverage = crate::ipv6::coverage(inv, history, as_of);
    out.push(ExtraFamily {
        name: gauges::IPV6_COVERAGE_RATIO,
        help: "Share of monitored devices at each IPv6 transition stage (configured, icmp, snmp, dual_stack).",
        samples: gauges::ipv6_coverage_ratio(&coverage)
            .into_iter()
            .map(|(stage, r)| (vec![("stage", stage.as_str().to_owned())], r))
            .collect(),
    });
    out.push(ExtraFamily {
        name: gauges::IPV6_DEVICES,
        help: "Devices per IPv6 stage, site and class; stages monitored and snmp_configured are the denominators.",
        samples: gauges::ipv6_devices(&coverage)
            .into_iter()
            .map(|s| {
                let labels = vec![
                    ("stage", s.stage.to_owned()),
                    ("site", s.site),
                    ("class", s.class.to_string()),
                ];
                (labels, s.value as f64)
            })
            .collect(),
    });
    out.push(ExtraFamily {
        name: gauges::SITES,
        help: "Sites per link medium (main, fibre, radio, none) as the inventory counts them.",
        samples: gauges::sites(inv)
            .into_iter()
            .map(|(link, n)| (vec![("link", link.to_owned())], n as f64))
            .collect(),
    });
    let year = as_of.date.year();
    let mut values = Vec::new();
    let mut targets = Vec::new();
    match crate::indicators::compute(inv, history, year, as_of.date) {
        Ok(result) => {
            for s in gauges::indicators(&result) {
                let labels = vec![
                    ("indicator", s.indicator.as_str().to_owned()),
                    ("year", s.year.to_string()),
                ];
                if let Some(t) = s.target {
                    targets.push((labels.clone(), t));
                }
                values.push((labels, s.value));
            }
        }
        Err(e) => tracing::warn!(error = %e, year, "indicators could not be computed"),
    }
    out.push(ExtraFamily {
        name: gauges::INDICATOR_VALUE,
        help: "Indicator value for the year so far (AE.7.03 projects implemented, AE.7.04 devices renewed).",
        samples: values,
    });
    out.push(ExtraFamily {
        name: gauges::INDICATOR_TARGET,
        help: "Indicator target for the year, as the inventory records it.",
        samples: targets,
    });
    out
}
