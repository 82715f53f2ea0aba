//! The agent's state as `/api/devices` shows it: one entry per inventory device, with the last
//! ICMP and SNMP results per family.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Shared;
use crate::discovered::{DeviceIdentity, Reported};
use crate::inventory::{DeviceClass, DeviceId, Family, InventoryIndex, SiteId};
use crate::poll::{IcmpOutcome, SnmpOutcome, SystemInfo};

/// One device as `/api/devices` shows it.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    /// Device id.
    pub id: DeviceId,
    /// Site id.
    pub site: SiteId,
    /// Class.
    pub class: DeviceClass,
    /// Whether vigia polls it.
    pub polled: bool,
    /// Per family: address and the last ICMP and SNMP results.
    pub families: BTreeMap<Family, FamilyView>,
    /// sysName, sysDescr, uptime.
    pub system: Option<SystemInfo>,
    /// Agent restarts seen.
    pub restarts: u64,
    /// What the device reports of itself (vendor, model, serial, revisions, each with when it
    /// was first and last seen) beside what the inventory declares, and the verdict.
    pub identity: DeviceIdentity,
    /// Radio readings of the last poll (vendor tables; each reading a value or "unusable").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub radio: Vec<crate::poll::radio::RadioLink>,
    /// Transceiver power of the last poll (each a value or "unusable", with its margin).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub optics: Vec<crate::poll::optics::Optic>,
}

/// One family of a device in `/api/devices`.
#[derive(Debug, Serialize)]
pub struct FamilyView {
    /// The address.
    pub address: String,
    /// ICMP: reachable.
    pub icmp_up: Option<bool>,
    /// ICMP: mean RTT, seconds.
    pub rtt_s: Option<f64>,
    /// ICMP: loss ratio.
    pub loss: Option<f64>,
    /// ICMP outcome.
    pub icmp_outcome: Option<IcmpOutcome>,
    /// When ICMP last ran.
    pub icmp_at: Option<DateTime<Utc>>,
    /// SNMP outcome.
    pub snmp_outcome: Option<SnmpOutcome>,
    /// SNMP diagnostic.
    pub snmp_detail: Option<String>,
    /// When SNMP last ran.
    pub snmp_at: Option<DateTime<Utc>>,
}

/// The current state of every device, for `/api/devices`.
pub fn device_views(shared: &Shared) -> Vec<DeviceView> {
    let today = shared.clock.today();
    let index = InventoryIndex::sharded(shared.inventory.clone(), today, shared.shard);
    shared
        .inventory
        .devices
        .iter()
        .map(|d| {
            let st = shared.state.devices.get(&d.id);
            let families = d
                .families()
                .map(|f| {
                    let icmp = st.and_then(|s| s.icmp.get(&f));
                    let snmp = st.and_then(|s| s.snmp.get(&f));
                    let view = FamilyView {
                        address: d.address(f).map(|a| a.to_string()).unwrap_or_default(),
                        icmp_up: icmp.map(|i| i.report.reachable()),
                        rtt_s: icmp.and_then(|i| i.report.rtt_avg()).map(|r| r.as_secs_f64()),
                        loss: icmp.map(|i| i.report.loss_ratio()),
                        icmp_outcome: icmp.map(|i| i.report.outcome),
                        icmp_at: icmp.map(|i| i.at),
                        snmp_outcome: snmp.map(|s| s.outcome),
                        snmp_detail: snmp.and_then(|s| s.detail.clone()),
                        snmp_at: snmp.map(|s| s.at),
                    };
                    (f, view)
                })
                .collect();
            let polled = index.is_polled(&d.id);
            let reported = st.map(|s| Reported::of_runs(s.facts.values())).unwrap_or_default();
            let site_name = shared.inventory.site(&d.site).map(|s| s.name.clone());
            DeviceView {
                identity: crate::discovered::identity(
                    d,
                    site_name,
                    polled && d.snmp.is_some(),
                    reported,
                ),
                id: d.id.clone(),
                site: d.site.clone(),
                class: d.class,
                polled,
                families,
                system: st.and_then(|s| s.system.clone()),
                restarts: st.map_or(0, |s| s.restarts),
                radio: st.map(|s| s.radio.clone()).unwrap_or_default(),
                optics: st.map(|s| s.optics.clone()).unwrap_or_default(),
            }
        })
        .collect()
}
