//! Outages and maintenance: why each silent device and isolated site is down (its cause and
//! the root of its outage, `outage::classify`), and which maintenance windows are in force and
//! what they cover, so that alert rules fire on the root of an outage only and never inside
//! planned work.

use super::encode::Encoder;
use super::{Group, Kind, Metric};
use crate::agent::Shared;
use crate::inventory::{InventoryIndex, MaintenanceWindow};
use crate::outage::{self, Covered, Down, Outages};

/// `vigia_device_outage`.
pub const DEVICE_OUTAGE: Metric = Metric {
    name: "vigia_device_outage",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "class", "cause", "root_site", "root_device"],
    help: "1 while the device answers ICMP on none of its families; cause: device, link or dependency; root: where the outage starts.",
    doc_unit: "1",
    doc: "one series per device that answers ICMP on no family: `cause` is `device` (down itself), `link` (behind its site's link, or that link's uplink device) or `dependency` (every device it depends on is down); `root_site`/`root_device` name where the outage starts (`root_device` empty when it is a site's link). Absent while it answers",
};

/// `vigia_site_outage`.
pub const SITE_OUTAGE: Metric = Metric {
    name: "vigia_site_outage",
    kind: Kind::Gauge,
    unit: None,
    labels: &["site", "link", "cause", "root_site", "root_device"],
    help: "1 while no uplink device of the site answers ICMP; cause: link (its own) or dependency (what its link lands on).",
    doc_unit: "1",
    doc: "one series per isolated site: `cause` is `link` (its own link or uplink devices) or `dependency` (what its link lands on is down; `root_site`/`root_device` say what)",
};

/// `vigia_maintenance_active`.
pub const MAINTENANCE_ACTIVE: Metric = Metric {
    name: "vigia_maintenance_active",
    kind: Kind::Gauge,
    unit: None,
    labels: &["window", "scope", "target"],
    help: "1 while the inventory's maintenance window is in force, else 0.",
    doc_unit: "0/1",
    doc: "one series per maintenance window of the inventory: 1 while in force; `scope` is `all`, `site` or `device`, `target` its site or device (empty for `all`)",
};

/// `vigia_device_maintenance`.
pub const DEVICE_MAINTENANCE: Metric = Metric {
    name: "vigia_device_maintenance",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "window"],
    help: "1 for each maintenance window in force that covers the device (itself, its site, everything, or the root of its outage).",
    doc_unit: "1",
    doc: "one series per device and window in force that covers it: the window's scope, or the root of the device's outage (work on a firewall covers what is cut off behind it)",
};

/// `vigia_site_maintenance`.
pub const SITE_MAINTENANCE: Metric = Metric {
    name: "vigia_site_maintenance",
    kind: Kind::Gauge,
    unit: None,
    labels: &["site", "window"],
    help: "1 for each maintenance window in force that covers the site (it, everything, all its uplink devices, or the root of its outage).",
    doc_unit: "1",
    doc: "one series per site and window in force that covers it",
};

/// This group.
pub const GROUP: Group = Group {
    title: "outages and maintenance",
    metrics: &[
        &DEVICE_OUTAGE,
        &SITE_OUTAGE,
        &MAINTENANCE_ACTIVE,
        &DEVICE_MAINTENANCE,
        &SITE_MAINTENANCE,
    ],
};

/// What this group read.
pub(super) struct Reading<'a> {
    index: &'a InventoryIndex,
    outages: Outages,
    /// Every window of the inventory, and whether it is in force.
    windows: Vec<(&'a MaintenanceWindow, bool)>,
    covered: Covered,
}

pub(super) fn read<'a>(index: &'a InventoryIndex, shared: &Shared) -> Reading<'a> {
    let outages = outage::classify(index, |d| shared.reach(d));
    let now = shared.clock.now();
    let inv: &'a _ = &**index.inventory();
    let windows: Vec<(&MaintenanceWindow, bool)> =
        inv.maintenance.iter().map(|w| (w, w.active_at(now))).collect();
    let active: Vec<&MaintenanceWindow> =
        windows.iter().filter(|(_, on)| *on).map(|(w, _)| *w).collect();
    let covered = outage::covered(index, &active, &outages);
    Reading { index, outages, windows, covered }
}

pub(super) fn write(out: &mut Encoder, r: &Reading) {
    let (index, inv) = (r.index, &**r.index.inventory());
    let root =
        |d: &Down| (d.root.site.to_string(), d.root.device.as_deref().unwrap_or("").to_owned());
    let mut family = out.family(&DEVICE_OUTAGE);
    for d in index.polled() {
        if let Some(down) = r.outages.devices.get(&d.id) {
            let (rs, rd) = root(down);
            family.sample(&[&d.id, &d.site, d.class.as_str(), down.cause.as_str(), &rs, &rd], 1.0);
        }
    }
    let mut family = out.family(&SITE_OUTAGE);
    for s in inv.sites.iter().filter(|s| index.owns_site(&s.id)) {
        if let Some(down) = r.outages.sites.get(&s.id) {
            let (rs, rd) = root(down);
            family.sample(&[&s.id, s.link_label(), down.cause.as_str(), &rs, &rd], 1.0);
        }
    }
    let mut family = out.family(&MAINTENANCE_ACTIVE);
    for (w, on) in &r.windows {
        family.sample(&[&w.id, w.scope.kind(), w.scope.target()], f64::from(u8::from(*on)));
    }
    let mut family = out.family(&DEVICE_MAINTENANCE);
    for d in index.polled() {
        for w in r.covered.device(&d.id) {
            family.sample(&[&d.id, &d.site, w], 1.0);
        }
    }
    let mut family = out.family(&SITE_MAINTENANCE);
    for s in inv.sites.iter().filter(|s| index.owns_site(&s.id)) {
        for w in r.covered.site(&s.id) {
            family.sample(&[&s.id, w], 1.0);
        }
    }
}
