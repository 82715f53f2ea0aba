//! SNMP: the device's agent (uptime, restarts) and its interfaces (IF-MIB).

use std::collections::HashMap;

use super::encode::Encoder;
use super::{Group, Kind, Metric};
use crate::inventory::{Device, DeviceId, Family, InventoryIndex};
use crate::poll::{Counter, Truncation};
use crate::state::{DeviceState, InterfaceState};

/// `vigia_snmp_uptime_seconds`.
pub const SNMP_UPTIME: Metric = Metric {
    name: "vigia_snmp_uptime_seconds",
    kind: Kind::Gauge,
    unit: Some("seconds"),
    labels: &["device", "site"],
    help: "sysUpTime of the device's SNMP agent.",
    doc_unit: "seconds",
    doc: "the SNMP agent's `sysUpTime`",
};

/// `vigia_snmp_agent_restarts_total`.
pub const SNMP_AGENT_RESTARTS: Metric = Metric {
    name: "vigia_snmp_agent_restarts_total",
    kind: Kind::Counter,
    unit: None,
    labels: &["device", "site"],
    help: "Restarts of the device's SNMP agent detected through sysUpTime since vigia started.",
    doc_unit: "restarts",
    doc: "agent restarts detected because `sysUpTime` went back",
};

/// `vigia_snmp_poll_truncated`.
pub const SNMP_POLL_TRUNCATED: Metric = Metric {
    name: "vigia_snmp_poll_truncated",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "family", "bound"],
    help: "1 while the device's last SNMP poll over the family was cut short by the bound named; absent otherwise.",
    doc_unit: "1",
    doc: "present, at 1, only while the device's last SNMP poll over that family was cut short by a bound on what one device may cost (`bound` as in `vigia_snmp_polls_truncated_total`): what was read until then is kept, the poll's detail says more",
};

/// Labels of every interface metric.
const INTERFACE: &[&str] = &["device", "site", "interface"];

/// `vigia_interface_up`.
pub const INTERFACE_UP: Metric = Metric {
    name: "vigia_interface_up",
    kind: Kind::Gauge,
    unit: None,
    labels: INTERFACE,
    help: "1 if ifOperStatus is up.",
    doc_unit: "0/1",
    doc: "1 if `ifOperStatus` is up",
};

/// `vigia_interface_receive_bytes_total`.
pub const INTERFACE_RECEIVE_BYTES: Metric = Metric {
    name: "vigia_interface_receive_bytes_total",
    kind: Kind::Counter,
    unit: Some("bytes"),
    labels: INTERFACE,
    help: "Octets received (wraps and agent restarts accounted for).",
    doc_unit: "bytes",
    doc: "octets received (`ifHCInOctets`); never decreases: wraps and agent restarts are absorbed",
};

/// `vigia_interface_transmit_bytes_total`.
pub const INTERFACE_TRANSMIT_BYTES: Metric = Metric {
    name: "vigia_interface_transmit_bytes_total",
    kind: Kind::Counter,
    unit: Some("bytes"),
    labels: INTERFACE,
    help: "Octets sent (wraps and agent restarts accounted for).",
    doc_unit: "bytes",
    doc: "octets sent (`ifHCOutOctets`), as above",
};

/// `vigia_interface_receive_errors_total`.
pub const INTERFACE_RECEIVE_ERRORS: Metric = Metric {
    name: "vigia_interface_receive_errors_total",
    kind: Kind::Counter,
    unit: None,
    labels: INTERFACE,
    help: "Inbound packets with errors (ifInErrors).",
    doc_unit: "packets",
    doc: "`ifInErrors`",
};

/// `vigia_interface_transmit_errors_total`.
pub const INTERFACE_TRANSMIT_ERRORS: Metric = Metric {
    name: "vigia_interface_transmit_errors_total",
    kind: Kind::Counter,
    unit: None,
    labels: INTERFACE,
    help: "Outbound packets with errors (ifOutErrors).",
    doc_unit: "packets",
    doc: "`ifOutErrors`",
};

/// `vigia_interface_receive_discards_total`.
pub const INTERFACE_RECEIVE_DISCARDS: Metric = Metric {
    name: "vigia_interface_receive_discards_total",
    kind: Kind::Counter,
    unit: None,
    labels: INTERFACE,
    help: "Inbound packets discarded (ifInDiscards).",
    doc_unit: "packets",
    doc: "`ifInDiscards`",
};

/// `vigia_interface_transmit_discards_total`.
pub const INTERFACE_TRANSMIT_DISCARDS: Metric = Metric {
    name: "vigia_interface_transmit_discards_total",
    kind: Kind::Counter,
    unit: None,
    labels: INTERFACE,
    help: "Outbound packets discarded (ifOutDiscards).",
    doc_unit: "packets",
    doc: "`ifOutDiscards`",
};

/// `vigia_interface_speed_bytes_per_second`.
pub const INTERFACE_SPEED: Metric = Metric {
    name: "vigia_interface_speed_bytes_per_second",
    kind: Kind::Gauge,
    unit: Some("bytes_per_second"),
    labels: INTERFACE,
    help: "Interface speed (ifHighSpeed), in bytes per second.",
    doc_unit: "bytes/s",
    doc: "`ifHighSpeed` × 10^6 / 8 (Prometheus base unit: bytes)",
};

/// This group.
pub const GROUP: Group = Group {
    title: "SNMP: system and interfaces",
    metrics: &[
        &SNMP_UPTIME,
        &SNMP_AGENT_RESTARTS,
        &SNMP_POLL_TRUNCATED,
        &INTERFACE_UP,
        &INTERFACE_RECEIVE_BYTES,
        &INTERFACE_TRANSMIT_BYTES,
        &INTERFACE_RECEIVE_ERRORS,
        &INTERFACE_TRANSMIT_ERRORS,
        &INTERFACE_RECEIVE_DISCARDS,
        &INTERFACE_TRANSMIT_DISCARDS,
        &INTERFACE_SPEED,
    ],
};

/// A device's SNMP agent, once its system group was read.
struct Agent<'a> {
    device: &'a Device,
    uptime: Option<f64>,
    restarts: u64,
}

/// A device's last poll over a family, cut short by a bound.
struct Truncated<'a> {
    device: &'a Device,
    family: Family,
    bound: Truncation,
}

/// One interface as last read.
struct Port<'a> {
    device: &'a Device,
    /// The `interface` label: ifName, or `ifName#ifIndex` where the name is empty or shared.
    name: Box<str>,
    up: Option<bool>,
    speed_bytes: Option<f64>,
    /// Each declared counter's never-decreasing total, in [`Counter::ALL`] order.
    totals: [Option<u64>; Counter::COUNT],
}

/// What this group read.
pub(super) struct Reading<'a> {
    agents: Vec<Agent<'a>>,
    truncated: Vec<Truncated<'a>>,
    ports: Vec<Port<'a>>,
}

pub(super) fn read<'a>(
    index: &'a InventoryIndex,
    devices: &HashMap<DeviceId, DeviceState>,
) -> Reading<'a> {
    let mut r = Reading { agents: Vec::new(), truncated: Vec::new(), ports: Vec::new() };
    for device in index.polled().filter(|d| d.snmp.is_some()) {
        let Some(st) = devices.get(&device.id) else { continue };
        if let Some(system) = &st.system {
            let uptime = system.uptime().map(|u| u.as_secs_f64());
            r.agents.push(Agent { device, uptime, restarts: st.restarts });
        }
        for (family, seen) in &st.snmp {
            if let Some(bound) = seen.truncated {
                r.truncated.push(Truncated { device, family: *family, bound });
            }
        }
        let mut names: Vec<&str> =
            st.interfaces.values().map(|i| i.interface.name.as_str()).collect();
        names.sort_unstable();
        let shared = |name: &str| {
            let first = names.partition_point(|n| *n < name);
            names.get(first + 1) == Some(&name)
        };
        for (if_index, i) in &st.interfaces {
            let if_name = i.interface.name.as_str();
            let name = if if_name.is_empty() || shared(if_name) {
                format!("{if_name}#{if_index}").into()
            } else {
                if_name.into()
            };
            r.ports.push(port(device, name, i));
        }
    }
    r
}

fn port<'a>(device: &'a Device, name: Box<str>, i: &InterfaceState) -> Port<'a> {
    Port {
        device,
        name,
        up: i.interface.oper_up,
        speed_bytes: i.interface.speed_mbps.map(|s| s as f64 * 1e6 / 8.0),
        totals: Counter::ALL.map(|c| i.total(c)),
    }
}

/// The metric that exports an interface counter, and whether a device that never gave the
/// counter still gets a series at 0 (errors and discards, as always exported). The match is
/// exhaustive: a counter declared in `poll::interface` without a metric does not compile.
fn counter_metric(c: Counter) -> (&'static Metric, bool) {
    match c {
        Counter::InOctets => (&INTERFACE_RECEIVE_BYTES, false),
        Counter::OutOctets => (&INTERFACE_TRANSMIT_BYTES, false),
        Counter::InErrors => (&INTERFACE_RECEIVE_ERRORS, true),
        Counter::OutErrors => (&INTERFACE_TRANSMIT_ERRORS, true),
        Counter::InDiscards => (&INTERFACE_RECEIVE_DISCARDS, true),
        Counter::OutDiscards => (&INTERFACE_TRANSMIT_DISCARDS, true),
    }
}

pub(super) fn write(out: &mut Encoder, r: &Reading) {
    let mut family = out.family(&SNMP_UPTIME);
    for a in &r.agents {
        if let Some(uptime) = a.uptime {
            family.sample(&[&a.device.id, &a.device.site], uptime);
        }
    }
    let mut family = out.family(&SNMP_AGENT_RESTARTS);
    for a in &r.agents {
        family.sample(&[&a.device.id, &a.device.site], a.restarts);
    }
    let mut family = out.family(&SNMP_POLL_TRUNCATED);
    for t in &r.truncated {
        family.sample(&[&t.device.id, &t.device.site, t.family.as_str(), t.bound.as_str()], 1.0);
    }
    let mut family = out.family(&INTERFACE_UP);
    for p in &r.ports {
        if let Some(up) = p.up {
            family.sample(&[&p.device.id, &p.device.site, &p.name], f64::from(u8::from(up)));
        }
    }
    for (n, c) in Counter::ALL.into_iter().enumerate() {
        let (metric, zero_when_absent) = counter_metric(c);
        let mut family = out.family(metric);
        for p in &r.ports {
            let total = if zero_when_absent { Some(p.totals[n].unwrap_or(0)) } else { p.totals[n] };
            if let Some(v) = total {
                family.sample(&[&p.device.id, &p.device.site, &p.name], v);
            }
        }
    }
    let mut family = out.family(&INTERFACE_SPEED);
    for p in &r.ports {
        if let Some(speed) = p.speed_bytes {
            family.sample(&[&p.device.id, &p.device.site, &p.name], speed);
        }
    }
}
