//! vigia: a network and infrastructure inventory monitor.
//!
//! The pure core (inventory, scheduling decisions, life cycle, indicators) knows nothing of
//! sockets, databases or HTTP; the adapters (ICMP, SNMP, store, metrics, HTTP, reports) depend
//! on it, and the binary composes them.

#[macro_use]
mod names;

pub mod agent;
pub mod console;
pub mod diag;
pub mod exit;
pub mod history;
pub mod http;
pub mod indicators;
pub mod inventory;
pub mod ipv6;
pub mod lifecycle;
pub mod links;
pub mod metrics;
pub mod probe;
pub mod report;
pub mod schedule;
pub mod state;
pub mod store;
pub mod sys;
