//! What vigia currently knows about every device and site, and the events its changes make.
//!
//! Pure: the agent feeds probe reports in with the time they were taken; out come events
//! (device down/up per family and probe, site isolated/restored, an SNMP agent restart) and a
//! state the exporter and `/api/devices` read. No clock, no sockets.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::history::{EventKind, EventRecord, FactRecord, PollRecord};
use crate::inventory::{Device, DeviceId, Family, Inventory, InventoryIndex, LinkMedium, SiteId};
use crate::poll::counters;
use crate::poll::{
    Counter, EntityInfo, Fact, HostResources, IcmpReport, Interface, InterfaceCounters, ProbeKind,
    SnmpReport, SystemInfo,
};
use crate::vec_map::VecMap;

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
    /// The bound on what one device may cost that cut the poll short, if one did.
    pub truncated: Option<crate::poll::Truncation>,
}

/// One interface as last read, with counters that never go backwards.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InterfaceState {
    /// The row as the last poll read it (counters raw, as the device keeps them).
    pub interface: Interface,
    /// Totals of its counters since vigia first read them: wraps and restarts accounted for.
    #[serde(skip)]
    pub counters: InterfaceCounters,
    /// The last reading of its octet counters (for the rate of the next one).
    #[serde(skip)]
    pub octets: Option<crate::link_use::OctetSample>,
    /// The rates between the last two readings, where they measured something (issue 15).
    #[serde(skip)]
    pub rates: Option<crate::link_use::Rates>,
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
    pub icmp: VecMap<Family, IcmpSeen>,
    /// Last SNMP poll per family.
    pub snmp: VecMap<Family, SnmpSeen>,
    /// The system group as last read.
    pub system: Option<SystemInfo>,
    /// When the system group was last read (for restart detection).
    #[serde(skip)]
    pub system_at: Option<DateTime<Utc>>,
    /// Restarts of the SNMP agent seen since vigia started.
    pub restarts: u64,
    /// Interfaces by ifIndex.
    pub interfaces: VecMap<u32, InterfaceState>,
    /// ENTITY-MIB facts.
    pub entity: Option<EntityInfo>,
    /// HOST-RESOURCES figures.
    pub host: Option<HostResources>,
    /// Radio readings of the last poll that read the tables (`poll/radio.rs`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub radio: Vec<crate::poll::radio::RadioLink>,
    /// Transceiver power of the last poll that read the tables (`poll/optics.rs`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub optics: Vec<crate::poll::optics::Optic>,
    /// What the device says about itself: each fact's current run (value, first and last
    /// seen), carried over agent restarts from the history ([`NetworkState::seed_facts`]).
    pub facts: VecMap<Fact, FactRecord>,
}

impl DeviceState {
    /// The current value of `fact`, if the device ever reported one.
    pub fn fact(&self, fact: Fact) -> Option<&str> {
        self.facts.get(&fact).map(|r| r.value.as_str())
    }

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
    fn update_interfaces(
        &mut self,
        interfaces: Vec<Interface>,
        restarted: bool,
        at: DateTime<Utc>,
    ) {
        let mut last = std::mem::take(&mut self.interfaces);
        let mut seen = Vec::with_capacity(interfaces.len());
        for i in interfaces {
            let mut s = last.get_mut(&i.index).map(std::mem::take).unwrap_or_default();
            s.counters.update(&i, restarted);
            let sample = crate::link_use::OctetSample {
                at,
                in_octets: i.in_octets,
                out_octets: i.out_octets,
                counter_bits: i.counter_bits,
                speed_mbps: i.speed_mbps,
            };
            // A reading no later than the last (the same poll over the other family) measures
            // no interval: the last rates stand.
            if s.octets.is_none_or(|prev| sample.at > prev.at) {
                s.rates = s
                    .octets
                    .and_then(|prev| crate::link_use::Rates::between(&prev, &sample, restarted));
                s.octets = Some(sample);
            }
            s.interface = i;
            seen.push((s.interface.index, s));
        }
        self.interfaces = seen.into_iter().collect();
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
    /// What the history said each (device, family, probe) was before this agent's first poll
    /// of it (see [`NetworkState::seed`]); used once, by that first poll.
    prior: HashMap<(DeviceId, Family, ProbeKind), bool>,
    /// The same for sites.
    prior_sites: HashMap<SiteId, bool>,
}

impl NetworkState {
    /// An empty state.
    pub fn new() -> NetworkState {
        NetworkState::default()
    }

    /// Take in what the history last saw (the latest poll per device, family and probe), so
    /// that an agent restart does not record again a `device_down` or `site_isolated` the
    /// history already has: the first poll after the restart is compared with it. It changes
    /// nothing that is exported; that waits for this agent's own polls.
    pub fn seed(&mut self, index: &InventoryIndex, latest: &[PollRecord]) {
        let mut icmp_up: HashMap<&DeviceId, bool> = HashMap::new();
        for row in latest {
            self.prior.insert((row.device.clone(), row.family, row.probe), row.success);
            if row.probe == ProbeKind::Icmp {
                *icmp_up.entry(&row.device).or_default() |= row.success;
            }
        }
        // A site answered if one of its deciding devices did; it did not if none of them did
        // and all were seen. Otherwise it is not known, as for a fresh agent.
        for site in &index.inventory().sites {
            let mut seen = Vec::new();
            for d in index.site_deciders(&site.id) {
                seen.push(icmp_up.get(&d.id).copied());
            }
            let was = if seen.contains(&Some(true)) {
                Some(true)
            } else if !seen.is_empty() && seen.iter().all(Option::is_some) {
                Some(false)
            } else {
                None
            };
            if let Some(was) = was {
                self.prior_sites.insert(site.id.clone(), was);
            }
        }
    }

    /// Whether the (device, family, probe) was up: its last poll, or what the history said
    /// before the first one.
    fn was_up(&mut self, device: &DeviceId, family: Family, probe: ProbeKind) -> Option<bool> {
        let seen = self.devices.get(device).and_then(|d| d.up(family, probe));
        if seen.is_some() || self.prior.is_empty() {
            return seen;
        }
        self.prior.remove(&(device.clone(), family, probe))
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
        let was = self.was_up(&device.id, family, ProbeKind::Icmp);
        let state = self.devices.entry(device.id.clone()).or_default();
        let detail = report.detail.clone();
        state.icmp.insert(family, IcmpSeen { at, report });
        let now = state.up(family, ProbeKind::Icmp);
        let mut events = Vec::new();
        if let Some(event) =
            transition(device, family, ProbeKind::Icmp, was, now, at, agent, detail)
        {
            events.push(event);
        }
        events.extend(self.update_site(index, device, at, agent));
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
        let was = self.was_up(&device.id, family, ProbeKind::Snmp);
        let state = self.devices.entry(device.id.clone()).or_default();
        state.snmp.insert(
            family,
            SnmpSeen {
                at,
                outcome: report.outcome,
                detail: report.detail.clone(),
                elapsed_s: report.elapsed.as_secs_f64(),
                truncated: report.truncated,
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
        // The poll that read the tables (the other family reads only the system group): a
        // station that left the registration table leaves the state with it.
        let read_tables = report.outcome == crate::poll::SnmpOutcome::Ok
            && (!report.radio.is_empty()
                || !report.optics.is_empty()
                || !report.interfaces.is_empty());
        if !report.interfaces.is_empty() {
            state.update_interfaces(report.interfaces, restarted, at);
        }
        if report.entity.is_some() {
            state.entity = report.entity;
        }
        if report.host.is_some() {
            state.host = report.host;
        }
        if read_tables {
            state.radio = report.radio;
            state.optics = report.optics;
        }
        events
    }

    /// Take in what an SNMP poll says the device is (call it before [`Self::apply_snmp`], with
    /// the same report): each fact's run goes on or a new one starts. Returns the events (a
    /// changed serial is `equipo_reemplazado`, a changed model with the same serial
    /// `modelo_cambiado`) and the runs to store.
    pub fn apply_facts(
        &mut self,
        device: &Device,
        report: &SnmpReport,
        at: DateTime<Utc>,
        agent: &str,
    ) -> (Vec<EventRecord>, Vec<FactRecord>) {
        let observed = report.facts();
        if observed.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let state = self.devices.entry(device.id.clone()).or_default();
        let current = |s: &DeviceState, f: Fact| s.fact(f).map(str::to_owned);
        let (old_serial, old_model) = (current(state, Fact::Serial), current(state, Fact::Model));
        let mut runs = Vec::new();
        for (fact, value) in observed {
            let run = match state.facts.get_mut(&fact) {
                Some(run) if run.value == value => {
                    if at > run.last_at {
                        run.last_at = at;
                        run.agent = agent.to_owned();
                        run.family = report.family;
                    }
                    run.clone()
                }
                // A late report older than what is known says nothing new.
                Some(run) if at < run.last_at => continue,
                _ => {
                    let run = FactRecord {
                        device: device.id.clone(),
                        fact,
                        value,
                        first_at: at,
                        first_agent: agent.to_owned(),
                        last_at: at,
                        agent: agent.to_owned(),
                        family: report.family,
                    };
                    state.facts.insert(fact, run.clone());
                    run
                }
            };
            runs.push(run);
        }
        let (new_serial, new_model) = (current(state, Fact::Serial), current(state, Fact::Model));
        let show =
            |v: &Option<String>| v.as_deref().map_or("unknown".to_owned(), |v| format!("\"{v}\""));
        let event = |kind, detail| EventRecord {
            at,
            agent: agent.to_owned(),
            kind,
            device: Some(device.id.clone()),
            site: Some(device.site.clone()),
            family: Some(report.family),
            probe: Some(ProbeKind::Snmp),
            detail,
            cause: None,
            maintenance: Vec::new(),
        };
        let mut events = Vec::new();
        if old_serial.is_some() && new_serial.is_some() && old_serial != new_serial {
            events.push(event(
                EventKind::DeviceReplaced,
                format!(
                    "serial {} (model {}) is now serial {} (model {}): the equipment was replaced",
                    show(&old_serial),
                    show(&old_model),
                    show(&new_serial),
                    show(&new_model)
                ),
            ));
        } else if old_model.is_some() && new_model.is_some() && old_model != new_model {
            events.push(event(
                EventKind::ModelChanged,
                format!(
                    "model {} is now {} (serial {})",
                    show(&old_model),
                    show(&new_model),
                    show(&new_serial)
                ),
            ));
        }
        (events, runs)
    }

    /// Take in the facts the history holds (at start), keeping each device's latest run per
    /// fact, so a device replaced while vigia was stopped is still seen as replaced.
    pub fn seed_facts(&mut self, runs: impl IntoIterator<Item = FactRecord>) {
        for run in runs {
            let state = self.devices.entry(run.device.clone()).or_default();
            match state.facts.get(&run.fact) {
                Some(known) if known.last_at >= run.last_at => {}
                _ => {
                    state.facts.insert(run.fact, run);
                }
            }
        }
    }

    fn update_site(
        &mut self,
        index: &InventoryIndex,
        device: &Device,
        at: DateTime<Utc>,
        agent: &str,
    ) -> Option<EventRecord> {
        let site_id = &device.site;
        let site = index.site(site_id)?;
        if site.link == Some(LinkMedium::None) {
            return None;
        }
        // The device just polled decides for its site and answers: the site answers, without
        // looking at the others (`site_reachable` is O(the site's deciders) while some of them
        // are not known yet: O(N²) over the first pass of a large site).
        let answers = index.decides(device)
            && self.devices.get(&device.id).and_then(|s| s.icmp_reachable(device.families()))
                == Some(true);
        let now = if answers { true } else { site_reachable(index, &self.devices, site_id)? };
        let was = self.sites.insert(site_id.clone(), now);
        let was = was.or_else(|| self.prior_sites.remove(site_id));
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
            radio: Vec::new(),
            optics: Vec::new(),
            cost: Default::default(),
            truncated: None,
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

    #[test]
    fn rates_come_from_the_last_two_readings_and_a_restart_measures_nothing() {
        let inv = inventory();
        let dev = inv.device("sw-grau").unwrap().clone();
        let mut s = NetworkState::new();
        s.apply_snmp(&dev, snmp(100_000, 5_000), t(0), "a");
        assert_eq!(s.devices["sw-grau"].interfaces[&1].rates, None, "one reading: no rate");
        // 6,000 octets in 60 s: 800 bit/s each way.
        s.apply_snmp(&dev, snmp(106_000, 11_000), t(60), "a");
        let rates = s.devices["sw-grau"].interfaces[&1].rates.unwrap();
        assert_eq!((rates.seconds, rates.down_bps, rates.up_bps), (60.0, Some(800.0), Some(800.0)));
        // The same poll over the other family, at the same instant: the rate stands.
        s.apply_snmp(&dev, snmp(106_000, 11_000), t(60), "a");
        assert_eq!(s.devices["sw-grau"].interfaces[&1].rates, Some(rates));
        // The agent restarted: the interval measures nothing.
        s.apply_snmp(&dev, snmp(500, 20_000), t(120), "a");
        let rates = s.devices["sw-grau"].interfaces[&1].rates.unwrap();
        assert_eq!((rates.down_bps, rates.up_bps), (None, None));
    }

    #[test]
    fn a_restart_does_not_record_again_what_the_history_has() {
        use EventKind::{DeviceDown, DeviceUp, SiteIsolated, SiteRestored};
        use Family::{Ipv4, Ipv6};
        let inv = inventory();
        let idx = index(&inv);
        let dev = inv.device("sw-grau").unwrap().clone();
        let row = |family, probe, ok| {
            crate::history::testkit::poll("sw-grau", family, probe, "2026-01-01T00:00:00Z", ok)
        };
        let kinds = |ev: Vec<EventRecord>| ev.iter().map(|e| e.kind).collect::<Vec<_>>();

        // Down over both families before the restart (sw-grau is grau's only uplink, so grau
        // was isolated): the first polls after it, still down, record nothing again.
        let mut s = NetworkState::new();
        let latest = [
            row(Ipv4, ProbeKind::Icmp, false),
            row(Ipv6, ProbeKind::Icmp, false),
            row(Ipv4, ProbeKind::Snmp, false),
        ];
        s.seed(&idx, &latest);
        assert!(s.devices.is_empty() && s.sites.is_empty(), "nothing exported from the history");
        assert!(s.apply_icmp(&idx, &dev, icmp(false, Ipv4), t(0), "a").is_empty());
        assert!(s.apply_icmp(&idx, &dev, icmp(false, Ipv6), t(0), "a").is_empty());
        let mut failed = snmp(1, 1);
        failed.outcome = SnmpOutcome::Timeout;
        assert!(s.apply_snmp(&dev, failed, t(0), "a").is_empty());
        // Back: up and restored, as for an agent that had seen it down itself.
        let ev = s.apply_icmp(&idx, &dev, icmp(true, Ipv4), t(60), "a");
        assert_eq!(kinds(ev), [DeviceUp, SiteRestored]);

        // Up before the restart, down after it: a change, recorded.
        let mut s = NetworkState::new();
        s.seed(&idx, &[row(Ipv4, ProbeKind::Icmp, true), row(Ipv6, ProbeKind::Icmp, true)]);
        let ev = s.apply_icmp(&idx, &dev, icmp(false, Ipv4), t(0), "a");
        assert_eq!(kinds(ev), [DeviceDown]);
        let ev = s.apply_icmp(&idx, &dev, icmp(false, Ipv6), t(0), "a");
        assert_eq!(kinds(ev), [DeviceDown, SiteIsolated]);
    }

    fn identity(serial: &str, model: &str, family: Family) -> SnmpReport {
        SnmpReport {
            family,
            system: Some(SystemInfo {
                descr: Some("FortiGate".into()),
                object_id: Some("1.3.6.1.4.1.12356.101.1".into()),
                ..SystemInfo::default()
            }),
            entity: (family == Family::Ipv4).then(|| EntityInfo {
                index: Some(1),
                model: Some(model.into()),
                serial: Some(serial.into()),
                ..EntityInfo::default()
            }),
            interfaces: vec![],
            ..snmp(100, 0)
        }
    }

    #[test]
    fn a_changed_serial_is_one_replacement_and_a_changed_model_alone_is_a_model_change() {
        let inv = inventory();
        let dev = inv.device("sw-grau").unwrap().clone();
        let mut s = NetworkState::new();
        let (ev, runs) = s.apply_facts(&dev, &identity("SN-1", "FG-500E", Family::Ipv4), t(0), "a");
        assert!(ev.is_empty(), "the first sighting is no change");
        assert_eq!(runs.len(), 4, "descr, object id, model, serial");
        // The IPv6 poll of the same cycle reports only the system group: no change.
        let (ev, _) = s.apply_facts(&dev, &identity("", "", Family::Ipv6), t(0), "a");
        assert!(ev.is_empty());
        let (ev, runs) =
            s.apply_facts(&dev, &identity("SN-1", "FG-500E", Family::Ipv4), t(60), "a");
        assert!(ev.is_empty());
        let serial = runs.iter().find(|r| r.fact == Fact::Serial).unwrap();
        assert_eq!((serial.first_at, serial.last_at), (t(0), t(60)), "the run goes on");
        // Swapped: one event, with both serials and models.
        let (ev, runs) =
            s.apply_facts(&dev, &identity("SN-2", "FG-600E", Family::Ipv4), t(120), "a");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::DeviceReplaced);
        assert_eq!(
            ev[0].detail,
            "serial \"SN-1\" (model \"FG-500E\") is now serial \"SN-2\" (model \"FG-600E\"): \
             the equipment was replaced"
        );
        let serial = runs.iter().find(|r| r.fact == Fact::Serial).unwrap();
        assert_eq!((serial.value.as_str(), serial.first_at), ("SN-2", t(120)), "a new run");
        assert!(
            s.apply_facts(&dev, &identity("SN-2", "FG-600E", Family::Ipv4), t(180), "a")
                .0
                .is_empty()
        );
        // Same serial, other model (a relabelled chassis, a firmware that renames it).
        let (ev, _) = s.apply_facts(&dev, &identity("SN-2", "FG-601E", Family::Ipv4), t(240), "a");
        assert_eq!(ev.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::ModelChanged]);
        // A failed poll says nothing about identity.
        let mut failed = identity("SN-3", "X", Family::Ipv4);
        failed.outcome = SnmpOutcome::Timeout;
        assert_eq!(s.apply_facts(&dev, &failed, t(300), "a"), (vec![], vec![]));
    }

    #[test]
    fn facts_seeded_from_the_history_make_a_replacement_seen_across_restarts() {
        let inv = inventory();
        let dev = inv.device("sw-grau").unwrap().clone();
        let mut first = NetworkState::new();
        let (_, runs) = first.apply_facts(&dev, &identity("SN-1", "M", Family::Ipv4), t(0), "a");
        let mut older = runs.clone();
        for r in &mut older {
            r.first_at = t(-600);
            r.last_at = t(-500);
            r.value = format!("{}-old", r.value);
        }
        // A new agent, seeded with both runs: the latest wins.
        let mut again = NetworkState::new();
        again.seed_facts(older.into_iter().chain(runs));
        assert_eq!(again.devices["sw-grau"].fact(Fact::Serial), Some("SN-1"));
        let (ev, _) = again.apply_facts(&dev, &identity("SN-9", "M", Family::Ipv4), t(60), "b");
        assert_eq!(ev.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::DeviceReplaced]);
    }
}
