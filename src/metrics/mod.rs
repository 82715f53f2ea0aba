//! Every metric vigia exports, declared once, and the text `/metrics` serves.
//!
//! Each group of metrics is one file: its declarations (the exported name as a string you can
//! grep from a dashboard query, its type, unit, labels and help), what a scrape reads from the
//! agent's shared state for it, and one function that writes its families.
//!
//! | file | metrics |
//! |---|---|
//! | `reachability.rs` | `vigia_device_up`, ICMP round trip, jitter and loss |
//! | `snmp.rs` | the SNMP agent's uptime and restarts, interfaces |
//! | `servers.rs` | HOST-RESOURCES-MIB: processor, memory, disks |
//! | `link_health.rs` | radio signal, noise, SNR, CCQ, rates (vendor tables); transceiver power and margin; the link thresholds |
//! | `lifecycle.rs` | inventory facts (devices, sites, site reachability) and life-cycle dates |
//! | `link_use.rs` | use of each link's contracted bandwidth, the contract itself |
//! | `outages.rs` | why silent devices and isolated sites are down, maintenance windows in force |
//! | `plan.rs` | IPv6 transition and the PEI indicators |
//! | `poller.rs` | the agent itself: poll cycles, reloads, what its polls cost |
//!
//! Every metric is rendered at scrape time from the inventory and the state, so a device or
//! site that leaves the inventory disappears at the next scrape, and 10,000 devices cost no
//! per-series bookkeeping between scrapes. A scrape reads the state under its lock into plain
//! values and formats the text after releasing it (formatting is most of a scrape's time), so
//! the agent applying poll results is not held up.
//!
//! `docs/metrics.md`'s table and the `metric` lines of `tests/resources/metrics/contract.txt` are
//! generated from these declarations ([`contract_lines`], [`docs_table`]); `tests/metrics.rs`
//! keeps them in step.

mod docs;
mod encode;
mod lifecycle;
mod link_health;
pub mod link_use;
pub mod outages;
mod plan;
mod poller;
mod reachability;
mod servers;
mod snmp;

use std::sync::atomic::{AtomicUsize, Ordering};

pub use docs::{contract_lines, docs_table};
pub use encode::Format;
pub use plan::{STAGE_MONITORED, STAGE_SNMP_CONFIGURED};

use crate::agent::{Shared, SharedState, read_shared};
use crate::inventory::InventoryIndex;
use encode::Encoder;

/// A metric's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A value that only goes up; its name ends in `_total`.
    Counter,
}

impl Kind {
    /// `gauge` or `counter`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// One exported metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The name dashboards and rules query (counters end in `_total`).
    pub name: &'static str,
    /// Gauge or counter.
    pub kind: Kind,
    /// The OpenMetrics unit, which the name carries as its suffix (before `_total`).
    pub unit: Option<&'static str>,
    /// Label names, in the order samples carry them (Prometheus adds `job` and `instance`).
    pub labels: &'static [&'static str],
    /// The HELP text.
    pub help: &'static str,
    /// docs/metrics.md: the unit as a reader says it (`0/1`, `Unix seconds`, `packets`).
    pub doc_unit: &'static str,
    /// docs/metrics.md: what the metric means.
    pub doc: &'static str,
}

impl Metric {
    /// The OpenMetrics family name: a counter's name without `_total`.
    pub fn family_name(&self) -> &'static str {
        match self.kind {
            Kind::Counter => self.name.strip_suffix("_total").unwrap_or(self.name),
            Kind::Gauge => self.name,
        }
    }
}

/// A metric and how to take its value from one row of what a group read (for groups that
/// write several metrics from the same rows).
type Column<R, V> = (&'static Metric, fn(&R) -> V);

/// The metrics of one group, in the order `/metrics` lists them.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// A heading for the contract and the docs.
    pub title: &'static str,
    /// Its metrics.
    pub metrics: &'static [&'static Metric],
}

/// Every group, in the order `/metrics` lists them.
pub const GROUPS: [Group; 9] = [
    reachability::GROUP,
    snmp::GROUP,
    servers::GROUP,
    link_health::GROUP,
    lifecycle::GROUP,
    outages::GROUP,
    link_use::GROUP,
    plan::GROUP,
    poller::GROUP,
];

/// Every metric, in the order `/metrics` lists them.
pub fn all() -> impl Iterator<Item = &'static Metric> {
    GROUPS.iter().flat_map(|g| g.metrics.iter().copied())
}

/// The length of the last text rendered. The next one is about as long: reserving that (and a
/// little more) up front spares the reallocations that double the buffer, each of which holds
/// the old and the new buffer at once (at 2 million series, 195 MiB of text peaked at 389 MiB).
static LAST_LENGTH: AtomicUsize = AtomicUsize::new(0);

/// The text `/metrics` serves, from the agent's shared state.
pub fn render(shared: &SharedState, format: Format) -> String {
    let guard = read_shared(shared);
    // O(devices + sites) once per scrape; every site question is then O(its size).
    let today = guard.clock.today();
    let index = InventoryIndex::sharded(guard.inventory.clone(), today, guard.shard);
    let scrape = Scrape::read(&guard, &index);
    drop(guard);
    let expected = LAST_LENGTH.load(Ordering::Relaxed);
    let mut out = Encoder::with_capacity(format, expected + expected / 16);
    scrape.write(&mut out);
    let text = out.finish();
    LAST_LENGTH.store(text.len(), Ordering::Relaxed);
    text
}

/// What one scrape read from the shared state, under its lock: values copied out of the state,
/// labels borrowed from the inventory (which outlives the lock).
struct Scrape<'a> {
    reachability: reachability::Reading<'a>,
    snmp: snmp::Reading<'a>,
    servers: servers::Reading<'a>,
    link_health: link_health::Reading<'a>,
    lifecycle: lifecycle::Reading<'a>,
    outages: outages::Reading<'a>,
    link_use: link_use::Reading<'a>,
    plan: plan::Reading,
    poller: poller::Reading,
}

impl<'a> Scrape<'a> {
    fn read(shared: &Shared, index: &'a InventoryIndex) -> Scrape<'a> {
        let devices = &shared.state.devices;
        Scrape {
            reachability: reachability::read(index, devices),
            snmp: snmp::read(index, devices),
            servers: servers::read(index, devices),
            link_health: link_health::read(index, devices),
            lifecycle: lifecycle::read(index, shared),
            outages: outages::read(index, shared),
            link_use: link_use::read(index, devices, shared.clock.now()),
            plan: plan::read(shared),
            poller: poller::read(shared),
        }
    }

    fn write(&self, out: &mut Encoder) {
        reachability::write(out, &self.reachability);
        snmp::write(out, &self.snmp);
        servers::write(out, &self.servers);
        link_health::write(out, &self.link_health);
        lifecycle::write(out, &self.lifecycle);
        outages::write(out, &self.outages);
        link_use::write(out, &self.link_use);
        plan::write(out, &self.plan);
        poller::write(out, &self.poller);
    }
}

#[cfg(test)]
mod tests;
