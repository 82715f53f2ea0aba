//! Reachability: whether each probe answers over each family, and ICMP's round trip.

use std::collections::HashMap;

use super::encode::Encoder;
use super::{Column, Group, Kind, Metric};
use crate::inventory::{Device, DeviceId, Family, InventoryIndex};
use crate::poll::ProbeKind;
use crate::state::DeviceState;

/// `vigia_device_up`.
pub const DEVICE_UP: Metric = Metric {
    name: "vigia_device_up",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "class", "family", "probe"],
    help: "1 if the last poll of the probe over the family succeeded, else 0.",
    doc_unit: "0/1",
    doc: "1 if the last poll of that probe over that family succeeded, else 0. Absent where the device has no address of that family, or no SNMP",
};

/// `vigia_icmp_rtt_seconds`.
pub const ICMP_RTT: Metric = Metric {
    name: "vigia_icmp_rtt_seconds",
    kind: Kind::Gauge,
    unit: Some("seconds"),
    labels: &["device", "site", "family"],
    help: "Mean round-trip time of the last ICMP cycle.",
    doc_unit: "seconds",
    doc: "mean round-trip time of the last ICMP cycle",
};

/// `vigia_icmp_jitter_seconds`.
pub const ICMP_JITTER: Metric = Metric {
    name: "vigia_icmp_jitter_seconds",
    kind: Kind::Gauge,
    unit: Some("seconds"),
    labels: &["device", "site", "family"],
    help: "Mean absolute difference of successive RTTs in the last ICMP cycle.",
    doc_unit: "seconds",
    doc: "jitter (mean difference between consecutive RTTs) of the last cycle",
};

/// `vigia_icmp_loss_ratio`.
pub const ICMP_LOSS: Metric = Metric {
    name: "vigia_icmp_loss_ratio",
    kind: Kind::Gauge,
    unit: Some("ratio"),
    labels: &["device", "site", "family"],
    help: "Lost / sent echoes in the last ICMP cycle.",
    doc_unit: "ratio 0-1",
    doc: "echoes lost / echoes sent in the last cycle",
};

/// This group.
pub const GROUP: Group =
    Group { title: "reachability", metrics: &[&DEVICE_UP, &ICMP_RTT, &ICMP_JITTER, &ICMP_LOSS] };

/// One polled device over one of its families.
pub(super) struct Row<'a> {
    device: &'a Device,
    family: Family,
    icmp_up: Option<bool>,
    /// `None` too for a device without SNMP.
    snmp_up: Option<bool>,
    /// ICMP figures of the last cycle, if one ran: RTT, jitter, loss.
    icmp: Option<(Option<f64>, Option<f64>, f64)>,
}

/// What this group read.
pub(super) struct Reading<'a> {
    rows: Vec<Row<'a>>,
}

pub(super) fn read<'a>(
    index: &'a InventoryIndex,
    devices: &HashMap<DeviceId, DeviceState>,
) -> Reading<'a> {
    let mut rows = Vec::new();
    for device in index.polled() {
        let Some(st) = devices.get(&device.id) else { continue };
        for family in device.families() {
            let snmp_up = device.snmp.as_ref().and_then(|_| st.up(family, ProbeKind::Snmp));
            let icmp = st.icmp.get(&family).map(|seen| {
                let r = &seen.report;
                let secs = |d: std::time::Duration| d.as_secs_f64();
                (r.rtt_avg().map(secs), r.jitter().map(secs), r.loss_ratio())
            });
            let icmp_up = st.up(family, ProbeKind::Icmp);
            rows.push(Row { device, family, icmp_up, snmp_up, icmp });
        }
    }
    Reading { rows }
}

pub(super) fn write(out: &mut Encoder, r: &Reading) {
    let mut up = out.family(&DEVICE_UP);
    for row in &r.rows {
        let d = row.device;
        for (probe, value) in [(ProbeKind::Icmp, row.icmp_up), (ProbeKind::Snmp, row.snmp_up)] {
            if let Some(ok) = value {
                let labels: [&str; 5] =
                    [&d.id, &d.site, d.class.as_str(), row.family.as_str(), probe.as_str()];
                up.sample(&labels, f64::from(u8::from(ok)));
            }
        }
    }
    let figures: [Column<Row, Option<f64>>; 3] = [
        (&ICMP_RTT, |row| row.icmp?.0),
        (&ICMP_JITTER, |row| row.icmp?.1),
        (&ICMP_LOSS, |row| Some(row.icmp?.2)),
    ];
    for (metric, figure) in figures {
        let mut family = out.family(metric);
        for row in &r.rows {
            if let Some(v) = figure(row) {
                family.sample(&[&row.device.id, &row.device.site, row.family.as_str()], v);
            }
        }
    }
}
