//! What vigia currently knows about every device and site, and the events its changes make.
//!
//! Pure: the agent feeds probe reports in with the time they were taken; out come events
//! (device down/up per family and probe, site isolated/restored, an SNMP agent restart) and a
//! state the exporter and `/api/devices` read. No clock, no sockets.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::history::{EventKind, EventRecord};
use crate::inventory::{Device, DeviceId, Family, Inventory, InventoryIndex, LinkMedium, SiteId};
use crate::poll::counters;
use crate::poll::{
    Counter, EntityInfo, HostResources, IcmpReport, Interface, InterfaceCounters, ProbeKind,
    SnmpReport, SystemInfo,
};

/// The last ICMP cycle over one family.
#[derive(Debug, Clone, Serialize)]
pub struct IcmpSeen {
    /// When it started.
    pub at: DateTime<Utc>,
    /// What it found.
    pub report: IcmpReport,
}

/// The last SNMP poll over one family.
#[derive(Debug, Clone, Serialize)]
pub struct SnmpSeen {
    /// When it started.
    pub at: DateTime<Utc>,
    /// Outcome and diagnostic (system values are kept in [`DeviceState::system`]).
    pub outcome: crate::poll::SnmpOutcome,
    /// Human diagnostic for failures.
    pub detail: Option<String>,
    /// How long the poll took, seconds.
    pub elapsed_s: f64,
}

/// One interface as last read, with counters that never go backwards.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InterfaceState {
    /// The row as the last poll read it (counters raw, as the device keeps them).
    pub interface: Interface,
    /// Totals of its counters since vigia first read them: wraps and restarts accounted for.
    #[serde(skip)]
    pub counters: InterfaceCounters,
}

impl InterfaceState {
    /// The never-decreasing total of `c`; `None` while the device never gave it.
    pub fn total(&self, c: Counter) -> Option<u64> {
        self.counters.total(c)
    }
}

/// Everything known about one device.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceState {
    /// Last ICMP cycle per family.
    pub icmp: BTreeMap<Family, IcmpSeen>,
    /// Last SNMP poll per family.
    pub snmp: BTreeMap<Family, SnmpSeen>,
    /// The system group as last read.
    pub system: Option<SystemInfo>,
    /// When the system group was last read (for restart detection).
    #[serde(skip)]
    pub system_at: Option<DateTime<Utc>>,
    /// Restarts of the SNMP agent seen since vigia started.
    pub restarts: u64,
    /// Interfaces by ifIndex.
    pub interfaces: BTreeMap<u32, InterfaceState>,
    /// ENTITY-MIB facts.
    pub entity: Option<EntityInfo>,
    /// HOST-RESOURCES figures.
    pub host: Option<HostResources>,
}

impl DeviceState {
    /// Whether the last poll of `probe` over `family` succeeded (`None`: never polled).
    pub fn up(&self, family: Family, probe: ProbeKind) -> Option<bool> {
        match probe {
            ProbeKind::Icmp => self.icmp.get(&family).map(|s| s.report.reachable()),
            ProbeKind::Snmp => {
                self.snmp.get(&family).map(|s| s.outcome == crate::poll::SnmpOutcome::Ok)
            }
        }
    }

    /// Take in the interfaces of a poll (those missing from it are forgotten); `restarted`: the
    /// agent restarted since the previous poll.
    fn update_interfaces(&mut self, interfaces: Vec<Interface>, restarted: bool) {
        let mut seen = BTreeMap::new();
        for i in interfaces {
            let mut s = self.interfaces.remove(&i.index).unwrap_or_default();
            s.counters.update(&i, restarted);
            s.interface = i;
            seen.insert(s.interface.index, s);
        }
        self.interfaces = seen;
    }

    /// Answers ICMP on some of `families` (`None`: none answers and some was not polled yet).
    pub fn icmp_reachable(&self, mut families: impl Iterator<Item = Family>) -> Option<bool> {
        if self.icmp.values().any(|s| s.report.reachable()) {
            Some(true)
        } else if families.all(|f| self.icmp.contains_key(&f)) {
            Some(false)
        } else {
            None
        }
    }
}

/// Everything known about the network.
#[derive(Debug, Default)]
pub struct NetworkState {
    /// Per device id.
    pub devices: HashMap<DeviceId, DeviceState>,
    /// Per site id: whether one of its uplink devices answers ICMP (absent: not known yet).
    pub sites: HashMap<SiteId, bool>,
}

impl NetworkState {
    /// An empty state.
    pub fn new() -> NetworkState {
        NetworkState::default()
    }

    /// Forget devices and sites that left the inventory.
    pub fn retain(&mut self, inv: &Inventory) {
        self.devices.retain(|id, _| inv.device(id).is_some());
        self.sites.retain(|id, _| inv.site(id).is_some());
    }

    /// Take in one ICMP cycle; returns the events it causes. `index` is the inventory in force
    /// on the day of the cycle (it says which devices decide whether the site answers).
    pub fn apply_icmp(
        &mut self,
        index: &InventoryIndex,
        device: &Device,
        report: IcmpReport,
        at: DateTime<Utc>,
        agent: &str,
    ) -> Vec<EventRecord> {
        let family = report.family;
        let state = self.devices.entry(device.id.clone()).or_default();
        let was = state.up(family, ProbeKind::Icmp);
        let detail = report.detail.clone();
        state.icmp.insert(family, IcmpSeen { at, report });
        let now = state.up(family, ProbeKind::Icmp);
        let mut events = Vec::new();
        if let Some(event) =
            transition(device, family, ProbeKind::Icmp, was, now, at, agent, detail)
        {
            events.push(event);
        }
        events.extend(self.update_site(index, &device.site, at, agent));
        events
    }

    /// Take in one SNMP poll; returns the events it causes (up/down, agent restart).
    pub fn apply_snmp(
        &mut self,
        device: &Device,
        report: SnmpReport,
        at: DateTime<Utc>,
        agent: &str,
    ) -> Vec<EventRecord> {
        let family = report.family;
        let state = self.devices.entry(device.id.clone()).or_default();
        let was = state.up(family, ProbeKind::Snmp);
        state.snmp.insert(
            family,
            SnmpSeen {
                at,
                outcome: report.outcome,
                detail: report.detail.clone(),
                elapsed_s: report.elapsed.as_secs_f64(),
            },
        );
        let mut events = Vec::new();
        let now = state.up(family, ProbeKind::Snmp);
        if let Some(e) =
            transition(device, family, ProbeKind::Snmp, was, now, at, agent, report.detail.clone())
        {
            events.push(e);
        }

        let mut restarted = false;
        if let Some(system) =
            report.system.filter(|_| report.outcome.eq(&crate::poll::SnmpOutcome::Ok))
        {
            if let (Some(prev), Some(prev_at), Some(ticks)) = (
                state.system.as_ref().and_then(|s| s.uptime_ticks),
                state.system_at,
                system.uptime_ticks,
            ) {
                // A dual-stack device answers over both families in one cycle: compare only
                // readings taken apart in time, so the second family does not look like a restart.
                let elapsed = (at - prev_at).to_std().unwrap_or_default();
                if at > prev_at && counters::restarted(prev, ticks, elapsed) {
                    restarted = true;
                    state.restarts += 1;
                    events.push(EventRecord {
                        at,
                        agent: agent.to_owned(),
                        kind: EventKind::AgentRestart,
                        device: Some(device.id.clone()),
                        site: Some(device.site.clone()),
                        family: Some(family),
                        probe: Some(ProbeKind::Snmp),
                        detail: format!(
                            "sysUpTime went from {} to {} in {} s",
                            ticks_text(prev),
                            ticks_text(ticks),
                            elapsed.as_secs()
                        ),
                        cause: None,
                        maintenance: Vec::new(),
                    });
                }
            }
            if state.system_at.is_none_or(|t| at >= t) {
                state.system = Some(system);
                state.system_at = Some(at);
            }
        }
        if !report.interfaces.is_empty() {
            state.update_interfaces(report.interfaces, restarted);
        }
        if report.entity.is_some() {
            state.entity = report.entity;
        }
        if report.host.is_some() {
            state.host = report.host;
        }
        events
    }

    fn update_site(
        &mut self,
        index: &InventoryIndex,
        site_id: &SiteId,
        at: DateTime<Utc>,
        agent: &str,
    ) -> Option<EventRecord> {
        let site = index.site(site_id)?;
        if site.link == Some(LinkMedium::None) {
            return None;
        }
        let now = site_reachable(index, &self.devices, site_id)?;
        let was = self.sites.insert(site_id.clone(), now);
        let kind = match (was, now) {
            (Some(true) | None, false) => EventKind::SiteIsolated,
            (Some(false), true) => EventKind::SiteRestored,
            _ => return None,
        };
        Some(EventRecord {
            at,
            agent: agent.to_owned(),
            kind,
            device: None,
            site: Some(site_id.clone()),
            family: None,
            probe: None,
            detail: match kind {
                EventKind::SiteIsolated => "no uplink device answers ICMP on any family".into(),
                _ => "an uplink device answers ICMP again".into(),
            },
            cause: None,
            maintenance: Vec::new(),
        })
    }
}

/// Whether a site answers: one of its uplink devices (all its polled devices when none is
/// marked uplink) answers ICMP on some family. `None` while that cannot be told yet: no answer
/// so far and some of those devices not polled yet. O(the site's deciding devices): the index
/// knows them (see [`InventoryIndex::site_deciders`]).
pub fn site_reachable(
    index: &InventoryIndex,
    devices: &HashMap<DeviceId, DeviceState>,
    site: &str,
) -> Option<bool> {
    let mut any = false;
    let mut unknown = false;
    for d in index.site_deciders(site) {
        any = true;
        match devices.get(&d.id).and_then(|s| s.icmp_reachable(d.families())) {
            Some(true) => return Some(true),
            Some(false) => {}
            None => unknown = true,
        }
    }
    (any && !unknown).then_some(false)
}

#[allow(clippy::too_many_arguments)]
fn transition(
    device: &Device,
    family: Family,
    probe: ProbeKind,
    was: Option<bool>,
    now: Option<bool>,
    at: DateTime<Utc>,
    agent: &str,
    detail: Option<String>,
) -> Option<EventRecord> {
    // The first poll of a device that is down is an event (the history must show it was down
    // from the start); the first poll of a device that is up is not.
    let kind = match (was, now) {
        (Some(true) | None, Some(false)) => EventKind::DeviceDown,
        (Some(false), Some(true)) => EventKind::DeviceUp,
        _ => return None,
    };
    Some(EventRecord {
        at,
        agent: agent.to_owned(),
        kind,
        device: Some(device.id.clone()),
        site: Some(device.site.clone()),
        family: Some(family),
        probe: Some(probe),
        detail: detail.unwrap_or_else(|| format!("{probe} over {family} answers again")),
        cause: None,
        maintenance: Vec::new(),
    })
}

fn ticks_text(ticks: u32) -> String {
    let secs = u64::from(ticks) / 100;
    format!("{}d{:02}h{:02}m{:02}s", secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::inventory::{Secrets, load};
    use crate::poll::{IcmpOutcome, SnmpOutcome};

    fn inventory() -> Inventory {
        load(Path::new("tests/resources/inventories/good/full"), Secrets::Warn).unwrap().0
    }

    fn index(inv: &Inventory) -> InventoryIndex {
        InventoryIndex::new(std::sync::Arc::new(inv.clone()), t(0).date_naive())
    }

    fn icmp(ok: bool, family: Family) -> IcmpReport {
        IcmpReport {
            family,
            address: if family == Family::Ipv4 {
                "198.18.1.10".parse().unwrap()
            } else {
                "2001:db8:1::10".parse().unwrap()
            },
            outcome: if ok { IcmpOutcome::Ok } else { IcmpOutcome::Timeout },
            sent: 3,
            received: if ok { 3 } else { 0 },
            rtts: if ok { vec![Duration::from_millis(30); 3] } else { vec![] },
            detail: (!ok).then(|| "no reply".to_owned()),
        }
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn down_then_up_per_family_and_site_isolation() {
        let inv = inventory();
        let idx = index(&inv);
        let dev = inv.device("sw-grau").unwrap().clone();
        let new = inv.device("sw-grau-new").unwrap().clone();
        let mut s = NetworkState::new();
        // First polls, both up: no device event; the site (only sw-grau is uplink) is up.
        assert!(s.apply_icmp(&idx, &dev, icmp(true, Family::Ipv4), t(0), "a").is_empty());
        assert!(s.apply_icmp(&idx, &dev, icmp(true, Family::Ipv6), t(0), "a").is_empty());
        assert_eq!(s.sites.get("grau"), Some(&true));
        // IPv6 fails: one device event, the site stays up (IPv4 still answers).
        let ev = s.apply_icmp(&idx, &dev, icmp(false, Family::Ipv6), t(30), "a");
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].kind, ev[0].family), (EventKind::DeviceDown, Some(Family::Ipv6)));
        // IPv4 fails too: device down and site isolated (sw-grau-new is not an uplink).
        assert!(s.apply_icmp(&idx, &new, icmp(true, Family::Ipv6), t(31), "a").is_empty());
        let ev = s.apply_icmp(&idx, &dev, icmp(false, Family::Ipv4), t(60), "a");
        let kinds: Vec<EventKind> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::DeviceDown, EventKind::SiteIsolated]);
        // Still down: nothing new.
        assert!(s.apply_icmp(&idx, &dev, icmp(false, Family::Ipv4), t(90), "a").is_empty());
        // Back: up and restored.
        let ev = s.apply_icmp(&idx, &dev, icmp(true, Family::Ipv4), t(120), "a");
        let kinds: Vec<EventKind> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::DeviceUp, EventKind::SiteRestored]);
    }

    #[test]
    fn a_device_down_from_the_start_is_an_event() {
        let inv = inventory();
        let idx = index(&inv);
        let dev = inv.device("sw-grau").unwrap().clone();
        let mut s = NetworkState::new();
        let ev = s.apply_icmp(&idx, &dev, icmp(false, Family::Ipv4), t(0), "a");
        let kinds: Vec<EventKind> = ev.iter().map(|e| e.kind).collect();
        // The site cannot be told yet: sw-grau has IPv6 too, not polled so far.
        assert_eq!(kinds, [EventKind::DeviceDown]);
        let ev = s.apply_icmp(&idx, &dev, icmp(false, Family::Ipv6), t(1), "a");
        let kinds: Vec<EventKind> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::DeviceDown, EventKind::SiteIsolated]);
    }

    fn snmp(ticks: u32, in_octets: u64) -> SnmpReport {
        SnmpReport {
            family: Family::Ipv4,
            address: "198.18.1.10".parse().unwrap(),
            outcome: SnmpOutcome::Ok,
            detail: None,
            elapsed: Duration::from_millis(5),
            system: Some(SystemInfo { uptime_ticks: Some(ticks), ..SystemInfo::default() }),
            interfaces: vec![Interface {
                index: 1,
                name: "lo".into(),
                in_octets: Some(in_octets),
                out_octets: Some(in_octets),
                counter_bits: 64,
                ..Interface::default()
            }],
            entity: None,
            host: None,
            cost: Default::default(),
        }
    }

    #[test]
    fn an_agent_restart_is_an_event_and_counters_do_not_go_back() {
        let inv = inventory();
        let dev = inv.device("sw-grau").unwrap().clone();
        let mut s = NetworkState::new();
        assert!(s.apply_snmp(&dev, snmp(100_000, 5_000), t(0), "a").is_empty());
        assert!(s.apply_snmp(&dev, snmp(106_000, 9_000), t(60), "a").is_empty());
        let ev = s.apply_snmp(&dev, snmp(500, 200), t(120), "a");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::AgentRestart);
        let st = &s.devices["sw-grau"];
        assert_eq!(st.restarts, 1);
        // 5000, +4000, reset counts 200.
        assert_eq!(st.interfaces[&1].total(Counter::InOctets), Some(9_200));
        assert_eq!(st.interfaces[&1].interface.in_octets, Some(200), "the raw reading is kept");
    }
}
