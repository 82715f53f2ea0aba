//! vigia: a network and infrastructure inventory monitor.
//!
//! The pure core (inventory, scheduling decisions, state, life cycle, IPv6, links, indicators,
//! the history and the plain data of polls) knows nothing of sockets, databases, HTTP or the
//! clock; the adapters (ICMP and SNMP probes, store, metrics, HTTP, reports, the agent) depend
//! on it, and the binary composes them. `clock` is the one place that reads the time.
//! `docs/architecture.md` maps it all; `tests/boundaries.rs` holds the direction.

#[macro_use]
mod names;

pub mod agent;
pub mod availability;
pub mod clock;
pub mod console;
pub mod diag;
pub mod discovered;
pub mod exit;
pub mod history;
pub mod http;
pub mod indicators;
pub mod inventory;
pub mod ipv6;
pub mod lifecycle;
pub mod link_use;
pub mod links;
pub mod logging;
pub mod metrics;
pub mod outage;
pub mod poll;
pub mod probe;
pub mod report;
pub mod schedule;
pub mod state;
pub mod store;
pub mod sys;
pub mod vec_map;
pub mod web_config;
