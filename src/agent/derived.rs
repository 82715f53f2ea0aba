//! The plan's numbers for metrics and reports: fetch what the history store knows for an as-of
//! moment, and compute the core's results (life cycle, IPv6 coverage, indicators) from it.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, TimeDelta, Utc};

use crate::history::{AsOf, FRESH_WITHIN, History};
use crate::history::{EventKind, PollRecord};
use crate::indicators::Indicators;
use crate::inventory::{DeviceId, Family, Inventory};
use crate::ipv6::Coverage;
use crate::lifecycle::Renewal;
use crate::poll::ProbeKind;
use crate::store::{Store, StoreError};

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
    let facts = store.facts().await?;
    Ok(History {
        availability_90d,
        restarts_90d,
        isolations_90d,
        latest,
        snapshots,
        link_health,
        facts,
        // Folded per link from a month of interface readings: only the links report asks
        // (`Store::link_use`).
        link_use: Vec::new(),
    })
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
    let mut latest: HashMap<(DeviceId, Family, ProbeKind), PollRecord> = HashMap::new();
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

/// The plan's figures as of a moment: what the metrics publish of the life cycle, the IPv6
/// transition and the indicators. The agent recomputes them from the history every
/// `derive_every`, off its polling loop.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Renewal candidates and their reasons.
    pub renewal: Renewal,
    /// IPv6 coverage per stage, site and class.
    pub coverage: Coverage,
    /// Both indicators for the as-of year; `None` when they could not be computed (logged).
    pub indicators: Option<Indicators>,
}

impl Plan {
    /// The figures of `inv` and `history` as of `as_of`.
    pub fn compute(inv: &Inventory, history: &History, as_of: AsOf) -> Plan {
        let year = as_of.date.year();
        let indicators = crate::indicators::compute(inv, history, year, as_of.date)
            .inspect_err(|e| tracing::warn!(error = %e, year, "indicators could not be computed"))
            .ok();
        Plan {
            renewal: crate::lifecycle::analyse(inv, history, as_of),
            coverage: crate::ipv6::coverage(inv, history, as_of),
            indicators,
        }
    }
}
