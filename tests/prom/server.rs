//! A real Prometheus (Debian's `/usr/bin/prometheus`) for tests: started on a free loopback
//! port with a generated configuration that scrapes the given targets as `job="vigia"` and
//! loads vigia's alert rules; asked through its HTTP API; stopped by its pid when dropped,
//! its temporary directory removed.
//!
//! ```ignore
//! let prom = Prometheus::start(&["http://127.0.0.1:9464/metrics"]).await?;
//! prom.wait_for_scrapes(3, Duration::from_secs(60)).await?;
//! let exprs = exprs::all_exprs(&Substitutions::default())?;
//! let eval = prom.evaluate(exprs.iter().filter(|e| e.is_dashboard())).await;
//! assert!(eval.no_data.is_empty() && eval.failed.is_empty(), "{}", eval.report());
//! let alerts = prom.alerts().await?;
//! ```

// Test harness, not the monitor: it signals its own Prometheus child with kill(2).
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::Value;

use super::exprs::{self, Expr};

/// Where Debian installs Prometheus.
pub const PROMETHEUS: &str = "/usr/bin/prometheus";

/// The scrape job name the rules expect.
pub const JOB: &str = "vigia";

/// Why Prometheus could not be started or asked.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    /// The binary is not installed.
    #[error("{path} not found: install Debian's prometheus package (run `scripts/deps test`)")]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A target is neither on loopback nor, when allowed, in a lab range: tests may only send
    /// packets to loopback or to addresses of namespaces they created.
    #[error(
        "target {url:?} is not an http URL on loopback (or, when allowed, in 198.18.0.0/15 or 2001:db8::/32)"
    )]
    NotLoopback {
        /// The target.
        url: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The process could not be started.
    #[error("cannot start {path}: {source}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Prometheus exited before it was ready.
    #[error("prometheus exited before it was ready ({status}); its log:\n{log}")]
    Exited {
        /// The exit status.
        status: String,
        /// Its log.
        log: String,
    },
    /// An HTTP request failed.
    #[error("GET {url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The API refused a query.
    #[error("{expr:?}: {error_type}: {error}")]
    Api {
        /// The expression.
        expr: String,
        /// Prometheus's error type (`bad_data`, `execution`, ...).
        error_type: String,
        /// Prometheus's message.
        error: String,
    },
    /// The API answered something unexpected.
    #[error("unexpected answer from {url}: {detail}")]
    BadAnswer {
        /// The URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// A wait ran out of time.
    #[error("timed out after {waited:?} waiting for {what}; prometheus log:\n{log}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
        /// Prometheus's log at that moment.
        log: String,
    },
}

/// One sample of an instant query's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its labels (with `__name__` where Prometheus kept it).
    pub labels: BTreeMap<String, String>,
    /// Its value (the last one, for a range vector).
    pub value: f64,
}

/// One active alert (pending or firing).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `alertname`.
    pub name: String,
    /// `pending` or `firing`.
    pub state: String,
    /// All labels, `alertname` included.
    pub labels: BTreeMap<String, String>,
    /// The rendered annotations.
    pub annotations: BTreeMap<String, String>,
}

/// What [`Prometheus::evaluate`] found.
#[derive(Debug, Default)]
pub struct Evaluation<'a> {
    /// How many expressions were asked.
    pub asked: usize,
    /// Expressions that returned no data.
    pub no_data: Vec<&'a Expr>,
    /// Expressions Prometheus refused, with its error.
    pub failed: Vec<(&'a Expr, String)>,
}

impl Evaluation<'_> {
    /// True when every expression returned data.
    pub fn all_have_data(&self) -> bool {
        self.no_data.is_empty() && self.failed.is_empty()
    }

    /// A readable list of what failed and what returned nothing.
    pub fn report(&self) -> String {
        let mut out = format!(
            "{} expressions asked: {} refused, {} without data\n",
            self.asked,
            self.failed.len(),
            self.no_data.len()
        );
        for (e, why) in &self.failed {
            out.push_str(&format!("REFUSED  {}: {}\n    {}\n", e.origin, why, e.promql));
        }
        for e in &self.no_data {
            out.push_str(&format!("NO DATA  {}\n    {}\n", e.origin, e.promql));
        }
        out
    }
}

/// How to start Prometheus.
#[derive(Debug, Clone)]
pub struct PrometheusConfig {
    /// Targets as URLs (`http://127.0.0.1:9464/metrics`): loopback, or lab addresses when
    /// `allow_lab_addresses` is set.
    pub targets: Vec<String>,
    /// Also accept targets in the lab ranges (198.18.0.0/15, 2001:db8::/32): for an agent
    /// listening inside a network namespace the test created, routed from the host.
    pub allow_lab_addresses: bool,
    /// Scrape and rule-evaluation interval.
    pub interval: Duration,
    /// Rule files to load.
    pub rule_files: Vec<PathBuf>,
    /// How long to wait for Prometheus to be ready.
    pub ready_timeout: Duration,
    /// Alertmanagers to send alerts to (`127.0.0.1:PORT`, loopback only).
    pub alertmanagers: Vec<String>,
    /// Labels added to every series and alert (`global.external_labels`).
    pub external_labels: Vec<(String, String)>,
}

impl PrometheusConfig {
    /// Scrape `targets` every second and load vigia's rules (`deploy/prometheus/rules`).
    pub fn new(targets: &[&str]) -> Result<Self, PromError> {
        let rule_files = exprs::rule_files().map_err(|e| PromError::Io {
            path: exprs::repo_root().join("deploy/prometheus/rules"),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(PrometheusConfig {
            targets: targets.iter().map(|t| t.to_string()).collect(),
            allow_lab_addresses: false,
            interval: Duration::from_secs(1),
            rule_files,
            ready_timeout: Duration::from_secs(60),
            alertmanagers: Vec::new(),
            external_labels: Vec::new(),
        })
    }
}

/// A running Prometheus, stopped (SIGTERM, then SIGKILL) and cleaned up when dropped.
pub struct Prometheus {
    child: Child,
    base: String,
    client: reqwest::Client,
    targets: usize,
    log: PathBuf,
    // Declared last: removed after the process is gone.
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Start Prometheus scraping `targets` (loopback URLs) every second, with vigia's rules.
    pub async fn start(targets: &[&str]) -> Result<Self, PromError> {
        Self::start_with(PrometheusConfig::new(targets)?).await
    }

    /// Start Prometheus as `config` says.
    pub async fn start_with(config: PrometheusConfig) -> Result<Self, PromError> {
        if !Path::new(PROMETHEUS).is_file() {
            return Err(PromError::Missing { path: PROMETHEUS.into() });
        }
        // A free port is found by binding and releasing it; another process may take it in
        // between, so a start that fails on the address is retried with a new port.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::try_start(&config).await {
                Err(PromError::Exited { log, .. })
                    if attempt < 3 && log.contains("address already in use") => {}
                other => return other,
            }
        }
    }

    async fn try_start(config: &PrometheusConfig) -> Result<Self, PromError> {
        let dir = tempfile::Builder::new()
            .prefix("vigia-prometheus-")
            .tempdir()
            .map_err(|source| PromError::Io { path: std::env::temp_dir(), source })?;
        let port =
            free_port().map_err(|source| PromError::Io { path: "127.0.0.1:0".into(), source })?;
        let config_path = dir.path().join("prometheus.yml");
        let text = config_yaml(config)?;
        std::fs::write(&config_path, text)
            .map_err(|source| PromError::Io { path: config_path.clone(), source })?;
        let log = dir.path().join("prometheus.log");
        let log_file = std::fs::File::create(&log)
            .map_err(|source| PromError::Io { path: log.clone(), source })?;
        let log_err =
            log_file.try_clone().map_err(|source| PromError::Io { path: log.clone(), source })?;
        // No proxy: an http_proxy in the environment must not capture loopback requests.
        // Built before the spawn, so nothing can fail between the spawn and the guard.
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| PromError::Http { url: "(client)".into(), source })?;
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=1d")
            .arg("--log.level=info")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|source| PromError::Spawn { path: PROMETHEUS.into(), source })?;
        let mut prom = Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client,
            targets: config.targets.len(),
            log,
            dir,
        };
        prom.wait_ready(config.ready_timeout).await?;
        Ok(prom)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), PromError> {
        let start = Instant::now();
        let url = format!("{}/-/ready", self.base);
        loop {
            if let Ok(resp) = self.client.get(&url).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            if let Some(status) = self.exit_status() {
                return Err(PromError::Exited { status, log: self.log() });
            }
            if start.elapsed() > timeout {
                return Err(self.timeout("/-/ready", start));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn exit_status(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    fn timeout(&self, what: &str, start: Instant) -> PromError {
        PromError::Timeout { what: what.into(), waited: start.elapsed(), log: self.log() }
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The temporary directory (configuration, data, log); removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Prometheus's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(log unreadable: {e})"))
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, PromError> {
        let url = format!("{}{path}", self.base);
        let http = |source| PromError::Http { url: url.clone(), source };
        let resp = self.client.get(&url).query(query).send().await.map_err(http)?;
        let body: Value = resp.json().await.map_err(http)?;
        match body.get("status").and_then(Value::as_str) {
            Some("success") => Ok(body.get("data").cloned().unwrap_or(Value::Null)),
            Some("error") => Err(PromError::Api {
                expr: query
                    .iter()
                    .find(|(k, _)| *k == "query")
                    .map(|(_, v)| *v)
                    .unwrap_or("")
                    .into(),
                error_type: body.get("errorType").and_then(Value::as_str).unwrap_or("").into(),
                error: body.get("error").and_then(Value::as_str).unwrap_or("").into(),
            }),
            _ => Err(PromError::BadAnswer { url, detail: body.to_string() }),
        }
    }

    /// Evaluate `expr` now (`/api/v1/query`).
    pub async fn query(&self, expr: &str) -> Result<Vec<Sample>, PromError> {
        let data = self.get("/api/v1/query", &[("query", expr)]).await?;
        let bad = |detail: String| PromError::BadAnswer {
            url: format!("{}/api/v1/query", self.base),
            detail,
        };
        let kind = data.get("resultType").and_then(Value::as_str).unwrap_or_default();
        let result = data.get("result").cloned().unwrap_or(Value::Null);
        let number = |v: &Value| -> Option<f64> {
            v.get(1).and_then(Value::as_str).and_then(|s| match s {
                "NaN" => Some(f64::NAN),
                "+Inf" => Some(f64::INFINITY),
                "-Inf" => Some(f64::NEG_INFINITY),
                s => s.parse().ok(),
            })
        };
        let labels = |item: &Value| -> BTreeMap<String, String> {
            item.get("metric")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default()
        };
        match kind {
            "vector" => result
                .as_array()
                .ok_or_else(|| bad(result.to_string()))?
                .iter()
                .map(|item| {
                    let value =
                        item.get("value").and_then(number).ok_or_else(|| bad(item.to_string()))?;
                    Ok(Sample { labels: labels(item), value })
                })
                .collect(),
            "matrix" => result
                .as_array()
                .ok_or_else(|| bad(result.to_string()))?
                .iter()
                .map(|item| {
                    let last = item.get("values").and_then(Value::as_array).and_then(|v| v.last());
                    let value = last.and_then(number).ok_or_else(|| bad(item.to_string()))?;
                    Ok(Sample { labels: labels(item), value })
                })
                .collect(),
            "scalar" => {
                let value = number(&result).ok_or_else(|| bad(result.to_string()))?;
                Ok(vec![Sample { labels: BTreeMap::new(), value }])
            }
            other => Err(bad(format!("result type {other:?}"))),
        }
    }

    /// Wait until `expr` returns at least one sample; return them.
    pub async fn wait_for(&self, expr: &str, timeout: Duration) -> Result<Vec<Sample>, PromError> {
        let start = Instant::now();
        loop {
            let samples = self.query(expr).await?;
            if !samples.is_empty() {
                return Ok(samples);
            }
            if start.elapsed() > timeout {
                return Err(self.timeout(&format!("data from {expr}"), start));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Wait until every target has been scraped successfully at least `scrapes` times, so
    /// that `rate()` over a short window has data.
    pub async fn wait_for_scrapes(&self, scrapes: u32, timeout: Duration) -> Result<(), PromError> {
        let start = Instant::now();
        let expr = format!("sum_over_time(up{{job=\"{JOB}\"}}[10m])");
        loop {
            let samples = self.query(&expr).await?;
            if samples.len() == self.targets
                && samples.iter().all(|s| s.value >= f64::from(scrapes))
            {
                return Ok(());
            }
            if start.elapsed() > timeout {
                let seen: Vec<String> = samples
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {}",
                            s.labels.get("instance").cloned().unwrap_or_default(),
                            s.value
                        )
                    })
                    .collect();
                return Err(self.timeout(
                    &format!(
                        "{scrapes} successful scrapes of {} target(s) (have: {seen:?})",
                        self.targets
                    ),
                    start,
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Evaluate every expression now; report which returned no data and which were refused.
    pub async fn evaluate<'a>(&self, exprs: impl IntoIterator<Item = &'a Expr>) -> Evaluation<'a> {
        let mut eval = Evaluation::default();
        for e in exprs {
            eval.asked += 1;
            match self.query(&e.promql).await {
                Ok(samples) if samples.is_empty() => eval.no_data.push(e),
                Ok(_) => {}
                Err(err) => eval.failed.push((e, err.to_string())),
            }
        }
        eval
    }

    /// The active alerts (pending and firing), by name then labels.
    pub async fn alerts(&self) -> Result<Vec<Alert>, PromError> {
        let data = self.get("/api/v1/alerts", &[]).await?;
        let map = |v: Option<&Value>| -> BTreeMap<String, String> {
            v.and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut out: Vec<Alert> = data
            .get("alerts")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|a| {
                        let labels = map(a.get("labels"));
                        Alert {
                            name: labels.get("alertname").cloned().unwrap_or_default(),
                            state: a
                                .get("state")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .into(),
                            annotations: map(a.get("annotations")),
                            labels,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        Ok(out)
    }

    /// The names of the rules Prometheus loaded (`/api/v1/rules`).
    pub async fn rules(&self) -> Result<Vec<String>, PromError> {
        let data = self.get("/api/v1/rules", &[]).await?;
        let mut names = Vec::new();
        for group in data.get("groups").and_then(Value::as_array).into_iter().flatten() {
            for rule in group.get("rules").and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = rule.get("name").and_then(Value::as_str) {
                    names.push(name.to_string());
                }
            }
        }
        Ok(names)
    }

    /// Stop Prometheus now and remove its directory (what dropping it does).
    pub fn stop(self) {
        drop(self);
    }

    fn shutdown(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet (try_wait
        // above returned None), so the pid cannot have been reused.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// True for the lab ranges: 198.18.0.0/15 and 2001:db8::/32.
fn in_lab_range(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => a.octets()[0] == 198 && (a.octets()[1] & 0xfe) == 18,
        std::net::IpAddr::V6(a) => a.segments()[0] == 0x2001 && a.segments()[1] == 0x0db8,
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The Prometheus configuration `config` gives, as YAML (JSON strings are YAML scalars);
/// refuses targets outside loopback (and, when allowed, the lab ranges).
pub fn config_yaml(config: &PrometheusConfig) -> Result<String, PromError> {
    let q = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let secs = config.interval.as_secs().max(1);
    let mut y = format!(
        "global:\n  scrape_interval: {secs}s\n  scrape_timeout: {secs}s\n  evaluation_interval: {secs}s\n"
    );
    if !config.external_labels.is_empty() {
        y.push_str("  external_labels:\n");
        for (k, v) in &config.external_labels {
            y.push_str(&format!("    {k}: {}\n", q(v)));
        }
    }
    if !config.alertmanagers.is_empty() {
        y.push_str("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets:\n");
        for am in &config.alertmanagers {
            let loopback = am.rsplit_once(':').is_some_and(|(h, _)| {
                h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
            });
            if !loopback {
                return Err(PromError::NotLoopback { url: am.clone() });
            }
            y.push_str(&format!("            - {}\n", q(am)));
        }
    }
    y.push_str("rule_files:\n");
    for f in &config.rule_files {
        y.push_str(&format!("  - {}\n", q(&f.display().to_string())));
    }
    if config.rule_files.is_empty() {
        y.push_str("  []\n");
    }
    y.push_str(&format!("scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n"));
    for target in &config.targets {
        let url = Url::parse(target).map_err(|_| PromError::NotLoopback { url: target.clone() })?;
        let host = url.host_str().unwrap_or_default().to_string();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let allowed = bare == "localhost"
            || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| {
                ip.is_loopback() || (config.allow_lab_addresses && in_lab_range(ip))
            });
        if url.scheme() != "http" || !allowed {
            return Err(PromError::NotLoopback { url: target.clone() });
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let path = match url.query() {
            Some(_) => {
                return Err(PromError::NotLoopback { url: format!("{target} (no query strings)") });
            }
            None => url.path().to_string(),
        };
        y.push_str(&format!(
            "      - targets: [{}]\n        labels: {{__metrics_path__: {}}}\n",
            q(&format!("{host}:{port}")),
            q(&path)
        ));
    }
    Ok(y)
}
