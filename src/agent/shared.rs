//! What the agent shares with whoever reads it while it runs (`/metrics`, `/api/devices`, the
//! `--once` summary): the inventory in force, the network state, the plan's figures, and the
//! agent's own counts, behind one lock the agent writes and readers hold only while reading.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::Clock;
use super::derived::Plan;
use crate::inventory::{Family, Inventory, Shard};
use crate::poll::{IcmpReport, ProbeKind, SnmpReport, Truncation};
use crate::state::NetworkState;

/// What a reload attempt ended in.
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    /// The last attempt was refused.
    pub failed: bool,
    /// When the inventory was last loaded successfully.
    pub last_success: Option<DateTime<Utc>>,
    /// When a reload was last refused.
    pub last_failure: Option<DateTime<Utc>>,
}

/// A request to reload the inventory (`POST /-/reload`), answered with the result.
#[derive(Debug)]
pub struct ReloadRequest {
    /// Where the answer goes: Ok, or every diagnostic of the refused inventory.
    pub reply: oneshot::Sender<Result<String, String>>,
}

/// ICMP cycles over one family since the agent started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IcmpTotals {
    /// Cycles finished.
    pub cycles: u64,
    /// Echo requests sent.
    pub echoes_sent: u64,
    /// Echo replies received.
    pub replies: u64,
}

/// SNMP polls over one family since the agent started.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SnmpTotals {
    /// Polls finished.
    pub polls: u64,
    /// Requests sent, retries included.
    pub requests: u64,
    /// Requests sent again.
    pub retries: u64,
    /// Variable bindings returned.
    pub varbinds: u64,
    /// Wall time of the polls, summed.
    pub seconds: f64,
    /// Polls cut short, per bound, in [`Truncation::ALL`] order.
    pub truncated: [u64; Truncation::ALL.len()],
}

/// What the agent's polls cost since it started, per family: its self-metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollTotals {
    icmp: BTreeMap<Family, IcmpTotals>,
    snmp: BTreeMap<Family, SnmpTotals>,
}

impl PollTotals {
    /// Count one ICMP cycle.
    pub fn add_icmp(&mut self, r: &IcmpReport) {
        let t = self.icmp.entry(r.family).or_default();
        t.cycles += 1;
        t.echoes_sent += u64::from(r.sent);
        t.replies += u64::from(r.received);
    }

    /// Count one SNMP poll.
    pub fn add_snmp(&mut self, r: &SnmpReport) {
        let t = self.snmp.entry(r.family).or_default();
        t.polls += 1;
        t.requests += u64::from(r.cost.requests);
        t.retries += u64::from(r.cost.retries);
        t.varbinds += u64::from(r.cost.varbinds);
        t.seconds += r.elapsed.as_secs_f64();
        if let Some(why) = r.truncated
            && let Some(n) = Truncation::ALL.iter().position(|t| *t == why)
        {
            t.truncated[n] += 1;
        }
    }

    /// The ICMP totals of `family` (zeros before its first cycle).
    pub fn icmp(&self, family: Family) -> IcmpTotals {
        self.icmp.get(&family).copied().unwrap_or_default()
    }

    /// The SNMP totals of `family` (zeros before its first poll).
    pub fn snmp(&self, family: Family) -> SnmpTotals {
        self.snmp.get(&family).copied().unwrap_or_default()
    }
}

/// What the agent shares; it alone writes it.
#[derive(Debug)]
pub struct Shared {
    /// The inventory in force.
    pub inventory: Arc<Inventory>,
    /// What is known about the network.
    pub state: NetworkState,
    /// The agent's clock: readers take "now" and "today" from it too.
    pub clock: Clock,
    /// Duration of the last full cycle per probe, seconds.
    pub poll_duration: BTreeMap<ProbeKind, f64>,
    /// What the polls cost so far.
    pub polls: PollTotals,
    /// Inventory reloads.
    pub reload: ReloadStatus,
    /// The plan's figures computed from the inventory and the history, once computed.
    pub plan: Option<Arc<Plan>>,
    /// The part of the sites this agent polls and exports ([`Shard::ALL`] unless sharded).
    pub shard: Shard,
    /// How the history writes stand.
    pub store: super::StoreHealth,
}

impl Shared {
    /// A state for `inventory`, nothing measured yet.
    pub fn new(inventory: Arc<Inventory>, clock: Clock) -> Shared {
        Shared {
            inventory,
            state: NetworkState::new(),
            clock,
            poll_duration: BTreeMap::new(),
            polls: PollTotals::default(),
            reload: ReloadStatus::default(),
            plan: None,
            shard: Shard::ALL,
            store: super::StoreHealth::default(),
        }
    }
}

impl Shared {
    /// What is known of `device`'s ICMP answer now: up on some family, down on all of them,
    /// or not known yet.
    pub fn reach(&self, device: &crate::inventory::Device) -> crate::outage::Reach {
        use crate::outage::Reach;
        match self.state.devices.get(&device.id).and_then(|s| s.icmp_reachable(device.families())) {
            Some(true) => Reach::Up,
            Some(false) => Reach::Down,
            None => Reach::Unknown,
        }
    }

    /// Give device and site events their cause (when what they concern is down) and the
    /// maintenance windows in force over it at `at`.
    pub fn annotate(
        &self,
        index: &crate::inventory::InventoryIndex,
        events: &mut [crate::history::EventRecord],
        at: DateTime<Utc>,
    ) {
        use crate::outage;
        if events.is_empty() {
            return;
        }
        let outages = outage::classify(index, |d| self.reach(d));
        let active = outage::active_at(&index.inventory().maintenance, at);
        let covered = outage::covered(index, &active, &outages);
        for e in events {
            match (&e.device, &e.site) {
                (Some(d), _) => {
                    e.cause = outages.devices.get(d).map(|x| x.cause);
                    e.maintenance = covered.device(d).to_vec();
                }
                (None, Some(s)) => {
                    e.cause = outages.sites.get(s).map(|x| x.cause);
                    e.maintenance = covered.site(s).to_vec();
                }
                (None, None) => {}
            }
        }
    }
}

/// The shared state behind its lock, as the agent and the HTTP handlers hold it.
pub type SharedState = Arc<RwLock<Shared>>;

/// Read the shared state (a writer that panicked left nothing half-done worth refusing).
pub fn read_shared(shared: &SharedState) -> RwLockReadGuard<'_, Shared> {
    shared.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}
