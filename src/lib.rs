//! vigia: a network and infrastructure inventory monitor.
//!
//! The pure core (inventory, scheduling decisions, life cycle, indicators) knows nothing of
//! sockets, databases or HTTP; the adapters (ICMP, SNMP, store, exporter, reports) depend on it,
//! and the binary composes them.

#[macro_use]
mod names;

pub mod agent;
pub mod diag;
pub mod exit;
pub mod exporter;
pub mod gauges;
pub mod history;
pub mod indicators;
pub mod inventory;
pub mod ipv6;
pub mod lifecycle;
pub mod links;
pub mod probe;
pub mod report;
pub mod schedule;
pub mod state;
pub mod store;
pub mod sys;
