//! Successive reports of one agent turned into restart detection and interface totals that
//! never go backwards, with `counters::restarted` and `counters::Monotonic`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub use crate::poll::InterfaceTotals;
use crate::poll::counters::restarted;
use crate::poll::{InterfaceCounters, SnmpReport};

/// Per-device, per-family state: feed it every report of that agent, in order.
#[derive(Debug, Clone, Default)]
pub struct AgentTracker {
    last_uptime: Option<(DateTime<Utc>, u32)>,
    interfaces: BTreeMap<u32, InterfaceCounters>,
}

/// What one report told about the agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// The agent restarted since the previous report that had a sysUpTime.
    pub restarted: bool,
    /// Totals of each interface of the report, in its order; empty when it had none.
    pub interfaces: Vec<InterfaceTotals>,
}

impl AgentTracker {
    /// Take the report of a poll started at `at`. Reports that are not `ok` change nothing.
    /// An interface whose counters switched between 64 and 32 bits starts a new count of them
    /// (the readings are of different counters); interfaces missing from a report that has
    /// interfaces are forgotten.
    pub fn observe(&mut self, at: DateTime<Utc>, report: &SnmpReport) -> Observation {
        if !report.ok() {
            return Observation::default();
        }
        let mut agent_restarted = false;
        if let Some(ticks) = report.system.as_ref().and_then(|s| s.uptime_ticks) {
            if let Some((then, previous)) = self.last_uptime {
                let elapsed = (at - then).to_std().unwrap_or_default();
                agent_restarted = restarted(previous, ticks, elapsed);
            }
            self.last_uptime = Some((at, ticks));
        }
        if !report.interfaces.is_empty() {
            self.interfaces.retain(|i, _| report.interfaces.iter().any(|r| r.index == *i));
        }
        let interfaces = report
            .interfaces
            .iter()
            .map(|i| {
                let counters = self.interfaces.entry(i.index).or_default();
                counters.update(i, agent_restarted);
                counters.totals_of(i)
            })
            .collect();
        Observation { restarted: agent_restarted, interfaces }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::inventory::Family;
    use crate::poll::{Interface, SnmpOutcome, SystemInfo};

    fn report(uptime: u32, octets: &[(u32, u64, u8)]) -> SnmpReport {
        SnmpReport {
            family: Family::Ipv4,
            address: "198.18.0.1".parse().unwrap(),
            outcome: SnmpOutcome::Ok,
            detail: None,
            elapsed: Duration::from_millis(3),
            system: Some(SystemInfo { uptime_ticks: Some(uptime), ..SystemInfo::default() }),
            interfaces: octets
                .iter()
                .map(|&(index, n, bits)| Interface {
                    index,
                    name: format!("if{index}"),
                    in_octets: Some(n),
                    out_octets: Some(n),
                    counter_bits: bits,
                    in_errors: Some(1),
                    ..Interface::default()
                })
                .collect(),
            entity: None,
            host: None,
            radio: Vec::new(),
            optics: Vec::new(),
            cost: Default::default(),
            truncated: None,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_restart_between_polls_is_seen_and_totals_keep_growing() {
        let mut t = AgentTracker::default();
        let first = t.observe(at(0), &report(100_000, &[(1, 1_000, 64)]));
        assert!(!first.restarted);
        assert_eq!(first.interfaces[0].in_octets, Some(1_000));
        let second = t.observe(at(60), &report(106_000, &[(1, 1_500, 64)]));
        assert!(!second.restarted);
        assert_eq!(second.interfaces[0].in_octets, Some(1_500));
        // Restarted: uptime back to 20 s, counters from zero.
        let third = t.observe(at(120), &report(2_000, &[(1, 200, 64)]));
        assert!(third.restarted);
        assert_eq!(third.interfaces[0].in_octets, Some(1_700));
        assert_eq!(third.interfaces[0].in_errors, Some(2), "errors count the restart's 1 too");
    }

    #[test]
    fn failed_polls_change_nothing_and_a_counter_width_switch_restarts_the_count() {
        let mut t = AgentTracker::default();
        t.observe(at(0), &report(100_000, &[(1, 5_000, 64)]));
        let mut failed = report(0, &[]);
        failed.outcome = SnmpOutcome::Timeout;
        failed.system = None;
        assert_eq!(t.observe(at(30), &failed), Observation::default());
        let o = t.observe(at(60), &report(106_000, &[(1, 40, 32)]));
        assert!(!o.restarted);
        assert_eq!(o.interfaces[0].in_octets, Some(5_040));
    }

    #[test]
    fn vanished_interfaces_are_forgotten() {
        let mut t = AgentTracker::default();
        t.observe(at(0), &report(100_000, &[(1, 10, 64), (2, 10, 64)]));
        t.observe(at(60), &report(106_000, &[(1, 20, 64)]));
        // ifIndex 2 comes back as a new interface: its count starts from its reading.
        let o = t.observe(at(120), &report(112_000, &[(1, 30, 64), (2, 7, 64)]));
        assert_eq!(o.interfaces[1].in_octets, Some(7));
    }
}
