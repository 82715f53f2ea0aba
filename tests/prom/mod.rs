//! Test support for vigia's Prometheus and Grafana pieces, shared by `tests/dashboards.rs`
//! and the end-to-end test (`mod prom;` from a file under `tests/`):
//!
//! - [`contract`]: the metric contract (`tests/resources/metrics/contract.txt`), and a check
//!   of a `/metrics` text against it;
//! - [`promql`]: a small PromQL lexer (metric names, label matchers, grouping labels);
//! - [`exprs`]: every expression of every dashboard panel, variable and rule, with Grafana's
//!   template variables substituted;
//! - [`server`]: a real Prometheus on a free loopback port that scrapes given targets with
//!   vigia's rules loaded, evaluates expressions and reads alerts, stopped by its pid on drop.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

pub mod contract;
pub mod exprs;
pub mod promql;
pub mod server;
