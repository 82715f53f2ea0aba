//! `vigia agent` as a child process of a lab test: killed by its pid if the test fails before it
//! stops, and its /metrics read until they say what the test waits for. Shared by
//! tests/agent_lab.rs, tests/link_health_lab.rs and tests/link_use_lab.rs (`#[path]` includes).

#![allow(dead_code)]

use std::process::Child;
use std::time::{Duration, Instant};

/// The agent process and the port its HTTP listener took.
pub struct AgentProcess {
    pub child: Child,
    pub port: u16,
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl AgentProcess {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// Sample values of `metric` whose labels include every `(name, value)` of `labels`.
pub fn samples(text: &str, metric: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")))
        .filter(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

/// Scrape /metrics until `pred` holds, at most `within`: the text that satisfied it and how
/// long it took. Connection refused while the agent starts counts as "not yet".
pub async fn wait_metrics(
    client: &reqwest::Client,
    agent: &AgentProcess,
    within: Duration,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> (String, Duration) {
    let start = Instant::now();
    loop {
        let text = match client.get(agent.url("/metrics")).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => format!("(not answering: {e})"),
        };
        if pred(&text) {
            return (text, start.elapsed());
        }
        assert!(start.elapsed() < within, "waited {within:?} for {what}; last /metrics:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
