//! Life cycle and inventory: the inventory's devices and sites, whether each site answers, and
//! the devices' dates and renewal reasons.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;

use super::encode::Encoder;
use super::{Column, Group, Kind, Metric};
use crate::agent::{Plan, Shared};
use crate::history::date_timestamp;
use crate::inventory::{InventoryIndex, Lifecycle, Site};
use crate::lifecycle::in_service;
use crate::links::MediumCounts;
use crate::state;

/// `vigia_device_info`.
pub const DEVICE_INFO: Metric = Metric {
    name: "vigia_device_info",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "class", "vendor", "model"],
    help: "Inventory facts about a device (value 1).",
    doc_unit: "1",
    doc: "one series per device of the inventory",
};

/// `vigia_device_reported_info`.
pub const DEVICE_REPORTED_INFO: Metric = Metric {
    name: "vigia_device_reported_info",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "vendor", "model", "serial", "software", "verdict"],
    help: "What a device reports about itself over SNMP (value 1), and how it compares with the inventory (verdict: match, mismatch, declared_only, discovered_only).",
    doc_unit: "1",
    doc: "one series per device that reported its vendor, model or serial (current values; a change replaces the series); `verdict` compares them with the inventory (`mismatch`: en discrepancia)",
};

/// `vigia_site_info`.
pub const SITE_INFO: Metric = Metric {
    name: "vigia_site_info",
    kind: Kind::Gauge,
    unit: None,
    labels: &["site", "name", "link"],
    help: "Inventory facts about a site (value 1).",
    doc_unit: "1",
    doc: "one series per site of the inventory",
};

/// `vigia_site_up`.
pub const SITE_UP: Metric = Metric {
    name: "vigia_site_up",
    kind: Kind::Gauge,
    unit: None,
    labels: &["site", "link"],
    help: "1 if an uplink device of the site answers ICMP on some family.",
    doc_unit: "0/1",
    doc: "1 if at least one uplink device of the site answers ICMP over any family. Only for the main site and the sites with a link (fibre, radio)",
};

/// `vigia_sites`.
pub const SITES: Metric = Metric {
    name: "vigia_sites",
    kind: Kind::Gauge,
    unit: None,
    labels: &["link"],
    help: "Sites per link medium (main, fibre, radio, none) as the inventory counts them.",
    doc_unit: "sites",
    doc: "number of sites per link medium",
};

/// `vigia_device_acquired_timestamp_seconds`.
pub const DEVICE_ACQUIRED: Metric = Metric {
    name: "vigia_device_acquired_timestamp_seconds",
    kind: Kind::Gauge,
    unit: Some("seconds"),
    labels: &["device", "site", "class"],
    help: "When the device was acquired (inventory lifecycle.acquired), where known.",
    doc_unit: "Unix seconds",
    doc: "acquisition date; absent where the inventory does not know it",
};

/// `vigia_device_end_of_support_timestamp_seconds`.
pub const DEVICE_END_OF_SUPPORT: Metric = Metric {
    name: "vigia_device_end_of_support_timestamp_seconds",
    kind: Kind::Gauge,
    unit: Some("seconds"),
    labels: &["device", "site", "class"],
    help: "When the vendor's support ends (inventory lifecycle.end_of_support), where known.",
    doc_unit: "Unix seconds",
    doc: "vendor end-of-support date; absent where unknown",
};

/// `vigia_device_renewal_candidate`.
pub const DEVICE_RENEWAL_CANDIDATE: Metric = Metric {
    name: "vigia_device_renewal_candidate",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "class", "reason"],
    help: "1 for each reason a device is a renewal candidate (support_ended, support_ending, too_old, unreliable, ipv6_overdue).",
    doc_unit: "1",
    doc: "one series for each reason that makes the device a renewal candidate",
};

/// This group.
pub const GROUP: Group = Group {
    title: "life cycle and inventory",
    metrics: &[
        &DEVICE_INFO,
        &DEVICE_REPORTED_INFO,
        &SITE_INFO,
        &SITE_UP,
        &SITES,
        &DEVICE_ACQUIRED,
        &DEVICE_END_OF_SUPPORT,
        &DEVICE_RENEWAL_CANDIDATE,
    ],
};

/// What this group read.
pub(super) struct Reading<'a> {
    index: &'a InventoryIndex,
    /// ENTITY-MIB's model of the devices whose inventory entry has none, by device id.
    models: HashMap<&'a str, String>,
    /// What each device of this shard reported of itself, compared with the inventory.
    reported: Vec<crate::discovered::DeviceIdentity>,
    /// Each site of this agent's shard whose reachability is known.
    site_up: Vec<(&'a Site, bool)>,
    /// The renewal analysis, once the agent computed one.
    plan: Option<Arc<Plan>>,
}

pub(super) fn read<'a>(index: &'a InventoryIndex, shared: &Shared) -> Reading<'a> {
    let inv: &'a _ = &**index.inventory();
    let devices = &shared.state.devices;
    let models = inv
        .devices
        .iter()
        .filter(|d| d.model.is_none() && d.is_active(index.day()) && index.owns_site(&d.site))
        .filter_map(|d| {
            let model = devices.get(&d.id)?.entity.as_ref()?.model.clone()?;
            Some((d.id.as_str(), model))
        })
        .collect();
    let reported = inv
        .devices
        .iter()
        .filter(|d| d.is_active(index.day()) && index.owns_site(&d.site))
        .filter_map(|d| {
            let facts = &devices.get(&d.id)?.facts;
            let r = crate::discovered::Reported::of_runs(facts.values());
            let known = r.vendor.is_some() || r.model.is_some() || r.serial.is_some();
            known.then(|| {
                let snmp = d.snmp.is_some() && index.is_polled(&d.id);
                crate::discovered::identity(d, None, snmp, r)
            })
        })
        .collect();
    let site_up = inv
        .sites
        .iter()
        .filter(|s| index.owns_site(&s.id))
        .filter_map(|s| Some((s, state::site_reachable(index, devices, &s.id)?)))
        .collect();
    Reading { index, models, reported, site_up, plan: shared.plan.clone() }
}

pub(super) fn write(out: &mut Encoder, r: &Reading) {
    write_inventory(out, r);
    write_dates(out, r);
}

/// Devices and sites as the inventory has them. A sharded agent speaks for its own sites only:
/// agents sharing a network never export the same series twice.
fn write_inventory(out: &mut Encoder, r: &Reading) {
    let (index, inv) = (r.index, &**r.index.inventory());
    let mut family = out.family(&DEVICE_INFO);
    for d in inv.devices.iter().filter(|d| d.is_active(index.day()) && index.owns_site(&d.site)) {
        let model = d.model.as_deref().or_else(|| r.models.get(d.id.as_str()).map(String::as_str));
        let vendor = d.vendor.as_deref().unwrap_or_default();
        family.sample(&[&d.id, &d.site, d.class.as_str(), vendor, model.unwrap_or_default()], 1.0);
    }
    let mut family = out.family(&DEVICE_REPORTED_INFO);
    for id in &r.reported {
        let value = |s: &Option<crate::discovered::Seen>| {
            s.as_ref().map_or(String::new(), |s| s.value.clone())
        };
        let rep = &id.reported;
        let software = value(&rep.software_rev);
        let labels = [value(&rep.vendor), value(&rep.model), value(&rep.serial)];
        family.sample(
            &[
                &id.device,
                &id.site,
                &labels[0],
                &labels[1],
                &labels[2],
                &software,
                id.verdict.as_str(),
            ],
            1.0,
        );
    }
    let mut family = out.family(&SITE_INFO);
    for s in inv.sites.iter().filter(|s| index.owns_site(&s.id)) {
        family.sample(&[&s.id, &s.name, s.link_label()], 1.0);
    }
    let mut family = out.family(&SITE_UP);
    for (s, up) in &r.site_up {
        family.sample(&[&s.id, s.link_label()], f64::from(u8::from(*up)));
    }
    let c = MediumCounts::of(inv);
    let mut family = out.family(&SITES);
    for (link, n) in [("main", c.main), ("fibre", c.fibre), ("radio", c.radio), ("none", c.none)] {
        family.sample(&[link], n as f64);
    }
}

/// The dates of the devices in service (known dates only), and each renewal reason.
fn write_dates(out: &mut Encoder, r: &Reading) {
    let (day, inv) = (r.index.day(), &**r.index.inventory());
    let in_service: Vec<_> = inv.devices.iter().filter(|d| in_service(d, day)).collect();
    let dates: [Column<Lifecycle, Option<NaiveDate>>; 2] =
        [(&DEVICE_ACQUIRED, |lc| lc.acquired), (&DEVICE_END_OF_SUPPORT, |lc| lc.end_of_support)];
    for (metric, date) in dates {
        let mut family = out.family(metric);
        for d in &in_service {
            if let Some(date) = date(&d.lifecycle) {
                family.sample(&[&d.id, &d.site, d.class.as_str()], date_timestamp(date) as f64);
            }
        }
    }
    let mut family = out.family(&DEVICE_RENEWAL_CANDIDATE);
    let candidates = r.plan.as_ref().map(|p| p.renewal.candidates.as_slice()).unwrap_or_default();
    for c in candidates {
        let f = &c.facts;
        for finding in &c.findings {
            family.sample(&[&f.device, &f.site, f.class.as_str(), finding.reason.as_str()], 1.0);
        }
    }
}
