//! Servers: HOST-RESOURCES-MIB's processor load, memory and fixed disks.

use std::collections::HashMap;

use super::encode::Encoder;
use super::{Group, Kind, Metric};
use crate::inventory::{Device, DeviceId, InventoryIndex};
use crate::poll::HostResources;
use crate::state::DeviceState;

/// `vigia_server_cpu_load_ratio`.
pub const SERVER_CPU_LOAD: Metric = Metric {
    name: "vigia_server_cpu_load_ratio",
    kind: Kind::Gauge,
    unit: Some("ratio"),
    labels: &["device", "site"],
    help: "Mean processor load (hrProcessorLoad / 100).",
    doc_unit: "ratio 0-1",
    doc: "mean `hrProcessorLoad` of all processors / 100",
};

/// `vigia_server_memory_used_bytes`.
pub const SERVER_MEMORY_USED: Metric = Metric {
    name: "vigia_server_memory_used_bytes",
    kind: Kind::Gauge,
    unit: Some("bytes"),
    labels: &["device", "site"],
    help: "RAM in use (hrStorageRam).",
    doc_unit: "bytes",
    doc: "RAM in use",
};

/// `vigia_server_memory_size_bytes`.
pub const SERVER_MEMORY_SIZE: Metric = Metric {
    name: "vigia_server_memory_size_bytes",
    kind: Kind::Gauge,
    unit: Some("bytes"),
    labels: &["device", "site"],
    help: "RAM size (hrStorageRam).",
    doc_unit: "bytes",
    doc: "RAM installed",
};

/// `vigia_server_disk_used_bytes`.
pub const SERVER_DISK_USED: Metric = Metric {
    name: "vigia_server_disk_used_bytes",
    kind: Kind::Gauge,
    unit: Some("bytes"),
    labels: &["device", "site", "disk"],
    help: "Fixed disk space in use (hrStorageFixedDisk).",
    doc_unit: "bytes",
    doc: "space used on a fixed disk",
};

/// `vigia_server_disk_size_bytes`.
pub const SERVER_DISK_SIZE: Metric = Metric {
    name: "vigia_server_disk_size_bytes",
    kind: Kind::Gauge,
    unit: Some("bytes"),
    labels: &["device", "site", "disk"],
    help: "Fixed disk size (hrStorageFixedDisk).",
    doc_unit: "bytes",
    doc: "size of a fixed disk",
};

/// This group.
pub const GROUP: Group = Group {
    title: "servers (HOST-RESOURCES-MIB)",
    metrics: &[
        &SERVER_CPU_LOAD,
        &SERVER_MEMORY_USED,
        &SERVER_MEMORY_SIZE,
        &SERVER_DISK_USED,
        &SERVER_DISK_SIZE,
    ],
};

/// What this group read: the figures of each polled device that has them (servers are few).
pub(super) struct Reading<'a> {
    hosts: Vec<(&'a Device, HostResources)>,
}

pub(super) fn read<'a>(
    index: &'a InventoryIndex,
    devices: &HashMap<DeviceId, DeviceState>,
) -> Reading<'a> {
    let hosts = index
        .polled()
        .filter(|d| d.snmp.is_some())
        .filter_map(|d| Some((d, devices.get(&d.id)?.host.clone()?)))
        .collect();
    Reading { hosts }
}

pub(super) fn write(out: &mut Encoder, r: &Reading) {
    let mut family = out.family(&SERVER_CPU_LOAD);
    for (d, h) in &r.hosts {
        if let Some(load) = h.cpu_load_percent {
            family.sample(&[&d.id, &d.site], load / 100.0);
        }
    }
    // Memory only where both figures are known.
    let memory = |h: &HostResources| Some((h.memory_used_bytes?, h.memory_total_bytes?));
    let mut family = out.family(&SERVER_MEMORY_USED);
    for (d, h) in &r.hosts {
        if let Some((used, _)) = memory(h) {
            family.sample(&[&d.id, &d.site], used as f64);
        }
    }
    let mut family = out.family(&SERVER_MEMORY_SIZE);
    for (d, h) in &r.hosts {
        if let Some((_, size)) = memory(h) {
            family.sample(&[&d.id, &d.site], size as f64);
        }
    }
    let mut family = out.family(&SERVER_DISK_USED);
    for (d, h) in &r.hosts {
        for disk in &h.disks {
            family.sample(&[&d.id, &d.site, &disk.descr], disk.used_bytes as f64);
        }
    }
    let mut family = out.family(&SERVER_DISK_SIZE);
    for (d, h) in &r.hosts {
        for disk in &h.disks {
            family.sample(&[&d.id, &d.site, &disk.descr], disk.size_bytes as f64);
        }
    }
}
