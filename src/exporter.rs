//! The Prometheus exporter: every metric is rendered at scrape time from the current inventory
//! and state, so a device or site that leaves the inventory disappears at the next scrape, and
//! 10,000 devices cost no per-series bookkeeping between scrapes.
//!
//! Prometheus gets OpenMetrics (it asks for it); anything else (curl, `promtool check metrics`)
//! gets the classic 0.0.4 text format, whose counters carry `_total` in their TYPE line.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::inventory::{Family, Inventory, InventoryIndex, Shard};
use crate::probe::{Counter, ProbeKind};
use crate::state::{self, NetworkState};

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

/// A metric family computed elsewhere (life cycle, IPv6 coverage, indicators), kept ready for
/// the next scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraFamily {
    /// Full metric name, e.g. `vigia_ipv6_coverage_ratio`.
    pub name: &'static str,
    /// HELP text.
    pub help: &'static str,
    /// Samples: labels and value.
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// What the exporter reads at scrape time; the agent writes it.
#[derive(Debug)]
pub struct Shared {
    /// The inventory in force.
    pub inventory: Arc<Inventory>,
    /// What is known about the network.
    pub state: NetworkState,
    /// Duration of the last full cycle per probe, seconds.
    pub poll_duration: BTreeMap<ProbeKind, f64>,
    /// Inventory reloads.
    pub reload: ReloadStatus,
    /// Families computed from the inventory and the history.
    pub extra: Vec<ExtraFamily>,
    /// The part of the sites this agent polls and exports ([`Shard::ALL`] unless sharded).
    pub shard: Shard,
}

impl Shared {
    /// A state for `inventory`, nothing measured yet.
    pub fn new(inventory: Arc<Inventory>) -> Shared {
        Shared {
            inventory,
            state: NetworkState::new(),
            poll_duration: BTreeMap::new(),
            reload: ReloadStatus::default(),
            extra: Vec::new(),
            shard: Shard::ALL,
        }
    }
}

/// The shared state behind a lock, as the agent and the HTTP handlers hold it.
pub type SharedState = Arc<RwLock<Shared>>;

/// The collector registered with prometheus-client.
#[derive(Debug, Clone)]
struct VigiaCollector(SharedState);

/// A label value: borrowed from the inventory, which outlives the scrape without the state's
/// lock, or read from the state under the lock into one shared allocation for every series that
/// carries it (an interface's name labels 8 series). At 10,000 devices of 24 ports a scrape has
/// 1.8 million series: a `String` per label value was most of its time and memory.
#[derive(Debug, Clone)]
enum Lv<'a> {
    Borrowed(&'a str),
    Shared(Arc<str>),
}

impl EncodeLabelValue for Lv<'_> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        encoder.write_str(match self {
            Lv::Borrowed(s) => s,
            Lv::Shared(s) => s,
        })
    }
}

impl<'a> From<&'a str> for Lv<'a> {
    fn from(s: &'a str) -> Lv<'a> {
        Lv::Borrowed(s)
    }
}

/// A value read from the state (it must outlive the lock).
fn owned<'a>(s: &str) -> Lv<'a> {
    Lv::Shared(Arc::from(s))
}

type Labels<'a> = Vec<(&'static str, Lv<'a>)>;

/// Samples of one family.
enum Samples<'a> {
    Gauge(Vec<(Labels<'a>, f64)>),
    Counter(Vec<(Labels<'a>, u64)>),
}

/// One metric family, read and not yet written.
struct Pending<'a> {
    name: &'static str,
    help: &'static str,
    unit: Option<Unit>,
    samples: Samples<'a>,
}

/// Metric families read from the state, written once the state's lock is released.
#[derive(Default)]
struct Families<'a>(Vec<Pending<'a>>);

impl<'a> Families<'a> {
    /// A gauge family.
    fn gauge(
        &mut self,
        name: &'static str,
        help: &'static str,
        unit: Option<&Unit>,
        samples: impl IntoIterator<Item = (Labels<'a>, f64)>,
    ) {
        let samples = Samples::Gauge(samples.into_iter().collect());
        self.0.push(Pending { name, help, unit: unit.cloned(), samples });
    }

    /// A counter family (`name` without `_total`).
    fn counter(
        &mut self,
        name: &'static str,
        help: &'static str,
        unit: Option<&Unit>,
        samples: impl IntoIterator<Item = (Labels<'a>, u64)>,
    ) {
        let samples = Samples::Counter(samples.into_iter().collect());
        self.0.push(Pending { name, help, unit: unit.cloned(), samples });
    }

    fn encode(self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in self.0 {
            match f.samples {
                Samples::Gauge(samples) => {
                    let mut metric =
                        enc.encode_descriptor(f.name, f.help, f.unit.as_ref(), MetricType::Gauge)?;
                    for (labels, value) in samples {
                        ConstGauge::new(value).encode(metric.encode_family(&labels)?)?;
                    }
                }
                Samples::Counter(samples) => {
                    let mut metric = enc.encode_descriptor(
                        f.name,
                        f.help,
                        f.unit.as_ref(),
                        MetricType::Counter,
                    )?;
                    for (labels, value) in samples {
                        ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn ratio() -> Unit {
    Unit::Other("ratio".into())
}

impl Collector for VigiaCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // Read the state under its lock; format the text (most of a scrape's time at 10,000
        // devices) after releasing it, so that the agent applying results is not held up.
        let shared = self.0.read().unwrap_or_else(|p| p.into_inner());
        // O(devices + sites) once per scrape; every site question below is then O(its size).
        let index = InventoryIndex::sharded(
            shared.inventory.clone(),
            Utc::now().date_naive(),
            shared.shard,
        );
        let families = collect(&shared, &index);
        drop(shared);
        families.encode(&mut enc)
    }
}

/// Every metric family, read from the state; labels borrow from `index`'s inventory.
fn collect<'a>(shared: &Shared, index: &'a InventoryIndex) -> Families<'a> {
    let mut fams = Families::default();
    {
        let inv: &'a Inventory = index.inventory();
        let today = index.day();
        let polled: Vec<&'a crate::inventory::Device> = index.polled().collect();
        let devices = &shared.state.devices;
        let dl = |d: &'a crate::inventory::Device| -> Labels<'a> {
            vec![("device", d.id.as_str().into()), ("site", d.site.as_str().into())]
        };

        // Reachability per device, family and probe.
        let mut up = Vec::new();
        let mut rtt = Vec::new();
        let mut jitter = Vec::new();
        let mut loss = Vec::new();
        for d in &polled {
            let Some(st) = devices.get(&d.id) else { continue };
            for family in d.families() {
                let mut probes = vec![ProbeKind::Icmp];
                if d.snmp.is_some() {
                    probes.push(ProbeKind::Snmp);
                }
                for probe in probes {
                    if let Some(ok) = st.up(family, probe) {
                        let mut l = dl(d);
                        l.push(("class", d.class.as_str().into()));
                        l.push(("family", family.as_str().into()));
                        l.push(("probe", probe.as_str().into()));
                        up.push((l, f64::from(u8::from(ok))));
                    }
                }
                if let Some(seen) = st.icmp.get(&family) {
                    let mut l = dl(d);
                    l.push(("family", family.as_str().into()));
                    if let Some(v) = seen.report.rtt_avg() {
                        rtt.push((l.clone(), v.as_secs_f64()));
                    }
                    if let Some(v) = seen.report.jitter() {
                        jitter.push((l.clone(), v.as_secs_f64()));
                    }
                    loss.push((l, seen.report.loss_ratio()));
                }
            }
        }
        fams.gauge(
            "vigia_device_up",
            "1 if the last poll of the probe over the family succeeded, else 0.",
            None,
            up,
        );
        fams.gauge(
            "vigia_icmp_rtt",
            "Mean round-trip time of the last ICMP cycle.",
            Some(&Unit::Seconds),
            rtt,
        );
        fams.gauge(
            "vigia_icmp_jitter",
            "Mean absolute difference of successive RTTs in the last ICMP cycle.",
            Some(&Unit::Seconds),
            jitter,
        );
        fams.gauge(
            "vigia_icmp_loss",
            "Lost / sent echoes in the last ICMP cycle.",
            Some(&ratio()),
            loss,
        );

        // SNMP system and interfaces.
        let mut uptime = Vec::new();
        let mut restarts = Vec::new();
        let mut if_up = Vec::new();
        let mut if_speed = Vec::new();
        let mut rx = Vec::new();
        let mut tx = Vec::new();
        let mut rx_err = Vec::new();
        let mut tx_err = Vec::new();
        let mut rx_disc = Vec::new();
        let mut tx_disc = Vec::new();
        let mut cpu = Vec::new();
        let mut mem_used = Vec::new();
        let mut mem_size = Vec::new();
        let mut disk_used = Vec::new();
        let mut disk_size = Vec::new();
        for d in polled.iter().filter(|d| d.snmp.is_some()) {
            let Some(st) = devices.get(&d.id) else { continue };
            if let Some(u) = st.system.as_ref().and_then(|s| s.uptime()) {
                uptime.push((dl(d), u.as_secs_f64()));
            }
            if st.system.is_some() {
                restarts.push((dl(d), st.restarts));
            }
            for (l, i) in interface_labels(d, st) {
                if let Some(up) = i.interface.oper_up {
                    if_up.push((l.clone(), f64::from(u8::from(up))));
                }
                if let Some(s) = i.interface.speed_mbps {
                    if_speed.push((l.clone(), s as f64 * 1e6 / 8.0));
                }
                if let Some(total) = i.total(Counter::InOctets) {
                    rx.push((l.clone(), total));
                    tx.push((l.clone(), i.total(Counter::OutOctets).unwrap_or(0)));
                }
                let total = |c| i.total(c).unwrap_or(0);
                rx_err.push((l.clone(), total(Counter::InErrors)));
                tx_err.push((l.clone(), total(Counter::OutErrors)));
                rx_disc.push((l.clone(), total(Counter::InDiscards)));
                tx_disc.push((l, total(Counter::OutDiscards)));
            }
            if let Some(h) = &st.host {
                if let Some(c) = h.cpu_load_percent {
                    cpu.push((dl(d), c / 100.0));
                }
                if let (Some(used), Some(size)) = (h.memory_used_bytes, h.memory_total_bytes) {
                    mem_used.push((dl(d), used as f64));
                    mem_size.push((dl(d), size as f64));
                }
                for disk in &h.disks {
                    let mut l = dl(d);
                    l.push(("disk", owned(&disk.descr)));
                    disk_used.push((l.clone(), disk.used_bytes as f64));
                    disk_size.push((l, disk.size_bytes as f64));
                }
            }
        }
        fams.gauge(
            "vigia_snmp_uptime",
            "sysUpTime of the device's SNMP agent.",
            Some(&Unit::Seconds),
            uptime,
        );
        fams.counter(
            "vigia_snmp_agent_restarts",
            "Restarts of the device's SNMP agent detected through sysUpTime since vigia started.",
            None,
            restarts,
        );
        fams.gauge("vigia_interface_up", "1 if ifOperStatus is up.", None, if_up);
        fams.gauge(
            "vigia_interface_speed",
            "Interface speed (ifHighSpeed), in bytes per second.",
            Some(&Unit::Other("bytes_per_second".into())),
            if_speed,
        );
        fams.counter(
            "vigia_interface_receive",
            "Octets received (wraps and agent restarts accounted for).",
            Some(&Unit::Bytes),
            rx,
        );
        fams.counter(
            "vigia_interface_transmit",
            "Octets sent (wraps and agent restarts accounted for).",
            Some(&Unit::Bytes),
            tx,
        );
        fams.counter(
            "vigia_interface_receive_errors",
            "Inbound packets with errors (ifInErrors).",
            None,
            rx_err,
        );
        fams.counter(
            "vigia_interface_transmit_errors",
            "Outbound packets with errors (ifOutErrors).",
            None,
            tx_err,
        );
        fams.counter(
            "vigia_interface_receive_discards",
            "Inbound packets discarded (ifInDiscards).",
            None,
            rx_disc,
        );
        fams.counter(
            "vigia_interface_transmit_discards",
            "Outbound packets discarded (ifOutDiscards).",
            None,
            tx_disc,
        );
        fams.gauge(
            "vigia_server_cpu_load",
            "Mean processor load (hrProcessorLoad / 100).",
            Some(&ratio()),
            cpu,
        );
        fams.gauge(
            "vigia_server_memory_used",
            "RAM in use (hrStorageRam).",
            Some(&Unit::Bytes),
            mem_used,
        );
        fams.gauge(
            "vigia_server_memory_size",
            "RAM size (hrStorageRam).",
            Some(&Unit::Bytes),
            mem_size,
        );
        fams.gauge(
            "vigia_server_disk_used",
            "Fixed disk space in use (hrStorageFixedDisk).",
            Some(&Unit::Bytes),
            disk_used,
        );
        fams.gauge(
            "vigia_server_disk_size",
            "Fixed disk size (hrStorageFixedDisk).",
            Some(&Unit::Bytes),
            disk_size,
        );

        // Inventory facts.
        // A sharded agent speaks for its own sites only: agents sharing a network never
        // export the same series twice.
        let info = inv.devices.iter().filter(|d| d.is_active(today) && index.owns_site(&d.site));
        let info = info.map(|d| {
            let entity = devices.get(&d.id).and_then(|s| s.entity.as_ref());
            let model = match (d.model.as_deref(), entity.and_then(|e| e.model.as_deref())) {
                (Some(m), _) => Lv::Borrowed(m),
                (None, Some(m)) => owned(m),
                (None, None) => Lv::Borrowed(""),
            };
            let mut l = dl(d);
            l.push(("class", d.class.as_str().into()));
            l.push(("vendor", d.vendor.as_deref().unwrap_or_default().into()));
            l.push(("model", model));
            (l, 1.0)
        });
        fams.gauge("vigia_device_info", "Inventory facts about a device (value 1).", None, info);
        let sites = inv.sites.iter().filter(|s| index.owns_site(&s.id)).map(|s| {
            (
                vec![
                    ("site", s.id.as_str().into()),
                    ("name", s.name.as_str().into()),
                    ("link", s.link_label().into()),
                ],
                1.0,
            )
        });
        fams.gauge("vigia_site_info", "Inventory facts about a site (value 1).", None, sites);
        let site_up = inv.sites.iter().filter(|s| index.owns_site(&s.id)).filter_map(|s| {
            let up = state::site_reachable(index, devices, &s.id)?;
            Some((
                vec![("site", s.id.as_str().into()), ("link", s.link_label().into())],
                f64::from(u8::from(up)),
            ))
        });
        fams.gauge(
            "vigia_site_up",
            "1 if an uplink device of the site answers ICMP on some family.",
            None,
            site_up,
        );
        let durations =
            shared.poll_duration.iter().map(|(p, s)| (vec![("probe", p.as_str().into())], *s));
        fams.gauge(
            "vigia_poll_duration",
            "Duration of the last full polling cycle of the probe.",
            Some(&Unit::Seconds),
            durations,
        );

        // Reloads.
        let reload = &shared.reload;
        fams.gauge(
            "vigia_inventory_reload_failed",
            "1 if the last inventory reload was refused (the agent runs on the previous inventory).",
            None,
            [(Vec::new(), f64::from(u8::from(reload.failed)))],
        );
        let stamps = [("success", reload.last_success), ("failure", reload.last_failure)]
            .into_iter()
            .filter_map(|(r, t)| Some((vec![("result", Lv::Borrowed(r))], t?.timestamp() as f64)));
        fams.gauge(
            "vigia_inventory_last_reload_timestamp",
            "When the inventory was last loaded (success) or a reload refused (failure).",
            Some(&Unit::Seconds),
            stamps,
        );

        for family in &shared.extra {
            let samples = family.samples.iter().map(|(labels, value)| {
                (labels.iter().map(|(k, v)| (*k, owned(v))).collect(), *value)
            });
            fams.gauge(family.name, family.help, None, samples);
        }
    }
    fams
}

/// Interface label sets, disambiguating interfaces that share a name.
fn interface_labels<'a, 's>(
    d: &'a crate::inventory::Device,
    st: &'s state::DeviceState,
) -> Vec<(Labels<'a>, &'s state::InterfaceState)> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for i in st.interfaces.values() {
        *count.entry(i.interface.name.as_str()).or_default() += 1;
    }
    st.interfaces
        .iter()
        .map(|(index, i)| {
            let name = &i.interface.name;
            let name = if name.is_empty() || count[name.as_str()] > 1 {
                Lv::Shared(Arc::from(format!("{name}#{index}")))
            } else {
                owned(name)
            };
            let labels = vec![
                ("device", d.id.as_str().into()),
                ("site", d.site.as_str().into()),
                ("interface", name),
            ];
            (labels, i)
        })
        .collect()
}

/// Renders the metrics.
#[derive(Debug)]
pub struct Exporter {
    registry: Registry,
}

impl Exporter {
    /// An exporter over `shared`.
    pub fn new(shared: SharedState) -> Exporter {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(VigiaCollector(shared)));
        Exporter { registry }
    }

    /// OpenMetrics text.
    pub fn openmetrics(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }

    /// The classic Prometheus text format (0.0.4), converted line by line as it is encoded
    /// (never both texts whole in memory). The text grows as the families read from the state
    /// are written and freed: reserving the last scrape's size up front would hold both at once.
    pub fn classic(&self) -> String {
        let mut out = Classic::with_capacity(0);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out.finish()
    }
}

/// Turn OpenMetrics text into the classic 0.0.4 format: counters' HELP and TYPE lines name the
/// `_total` series, `# UNIT` and `# EOF` lines go, and `_created` samples are dropped.
pub fn openmetrics_to_classic(text: &str) -> String {
    let mut out = Classic::with_capacity(text.len());
    std::fmt::Write::write_str(&mut out, text).expect("writing to a String cannot fail");
    out.finish()
}

/// OpenMetrics in, classic text out, a line at a time. A family's HELP line comes before its
/// TYPE line, so it is held until the TYPE says whether it names a counter.
struct Classic {
    out: String,
    line: String,
    help: Option<String>,
    counters: Vec<String>,
}

impl Classic {
    fn with_capacity(bytes: usize) -> Classic {
        Classic {
            out: String::with_capacity(bytes),
            line: String::new(),
            help: None,
            counters: Vec::new(),
        }
    }

    fn finish(mut self) -> String {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line);
        }
        self.flush_help();
        self.out
    }

    fn flush_help(&mut self) {
        if let Some(help) = self.help.take() {
            self.out.push_str(&help);
            self.out.push('\n');
        }
    }

    fn take_line(&mut self, line: &str) {
        if !line.starts_with('#') {
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let name = &line[..name_end];
            if let Some(base) = name.strip_suffix("_created")
                && self.counters.iter().any(|c| c == base)
            {
                return;
            }
            self.flush_help();
            self.out.push_str(line);
            self.out.push('\n');
            return;
        }
        if line.starts_with("# UNIT ") || line == "# EOF" {
            return;
        }
        if line.starts_with("# HELP ") {
            self.flush_help();
            self.help = Some(line.to_owned());
            return;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            self.counters.push(name.to_owned());
            if let Some(help) = self.help.take() {
                match help["# HELP ".len()..].split_once(' ') {
                    Some((n, tail)) if n == name => {
                        self.out.push_str(&format!("# HELP {name}_total {tail}\n"));
                    }
                    _ => {
                        self.out.push_str(&help);
                        self.out.push('\n');
                    }
                }
            }
            self.out.push_str(&format!("# TYPE {name}_total counter\n"));
            return;
        }
        self.flush_help();
        self.out.push_str(line);
        self.out.push('\n');
    }
}

impl std::fmt::Write for Classic {
    fn write_str(&mut self, mut s: &str) -> std::fmt::Result {
        while let Some(end) = s.find('\n') {
            if self.line.is_empty() {
                self.take_line(&s[..end]);
            } else {
                self.line.push_str(&s[..end]);
                let line = std::mem::take(&mut self.line);
                self.take_line(&line);
                self.line = line;
                self.line.clear();
            }
            s = &s[end + 1..];
        }
        self.line.push_str(s);
        Ok(())
    }
}

/// A request to reload the inventory, answered with the result.
#[derive(Debug)]
pub struct ReloadRequest {
    /// Where the answer goes: Ok, or every diagnostic of the refused inventory.
    pub reply: oneshot::Sender<Result<String, String>>,
}

#[derive(Clone)]
struct AppState {
    shared: SharedState,
    exporter: Arc<Exporter>,
    reload: mpsc::Sender<ReloadRequest>,
}

/// The HTTP routes: `/metrics`, `/healthz`, `/api/devices`, `POST /-/reload`.
pub fn router(shared: SharedState, reload: mpsc::Sender<ReloadRequest>) -> Router {
    let exporter = Arc::new(Exporter::new(shared.clone()));
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/devices", get(api_devices))
        .route("/-/reload", post(reload_handler))
        .with_state(AppState { shared, exporter, reload })
}

async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let exporter = app.exporter.clone();
    let (body, content_type) = tokio::task::spawn_blocking(move || {
        if wants_openmetrics {
            (exporter.openmetrics(), "application/openmetrics-text; version=1.0.0; charset=utf-8")
        } else {
            (exporter.classic(), "text/plain; version=0.0.4; charset=utf-8")
        }
    })
    .await
    .expect("rendering metrics does not panic");
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn reload_handler(State(app): State<AppState>) -> Response {
    let (reply, answer) = oneshot::channel();
    if app.reload.send(ReloadRequest { reply }).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the agent is shutting down\n").into_response();
    }
    match answer.await {
        Ok(Ok(summary)) => (StatusCode::OK, summary).into_response(),
        Ok(Err(diagnostics)) => (StatusCode::UNPROCESSABLE_ENTITY, diagnostics).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the agent is shutting down\n").into_response(),
    }
}

/// One device as `/api/devices` shows it.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    /// Device id.
    pub id: String,
    /// Site id.
    pub site: String,
    /// Class.
    pub class: String,
    /// Whether vigia polls it.
    pub polled: bool,
    /// Per family: address and the last ICMP and SNMP results.
    pub families: BTreeMap<Family, FamilyView>,
    /// sysName, sysDescr, uptime.
    pub system: Option<crate::probe::SystemInfo>,
    /// Agent restarts seen.
    pub restarts: u64,
}

/// One family of a device in `/api/devices`.
#[derive(Debug, Serialize)]
pub struct FamilyView {
    /// The address.
    pub address: String,
    /// ICMP: reachable.
    pub icmp_up: Option<bool>,
    /// ICMP: mean RTT, seconds.
    pub rtt_s: Option<f64>,
    /// ICMP: loss ratio.
    pub loss: Option<f64>,
    /// ICMP outcome.
    pub icmp_outcome: Option<String>,
    /// When ICMP last ran.
    pub icmp_at: Option<DateTime<Utc>>,
    /// SNMP outcome.
    pub snmp_outcome: Option<String>,
    /// SNMP diagnostic.
    pub snmp_detail: Option<String>,
    /// When SNMP last ran.
    pub snmp_at: Option<DateTime<Utc>>,
}

/// The current state of every device, for `/api/devices`.
pub fn device_views(shared: &Shared) -> Vec<DeviceView> {
    let today = Utc::now().date_naive();
    let index = InventoryIndex::sharded(shared.inventory.clone(), today, shared.shard);
    shared
        .inventory
        .devices
        .iter()
        .map(|d| {
            let st = shared.state.devices.get(&d.id);
            let families = d
                .families()
                .map(|f| {
                    let icmp = st.and_then(|s| s.icmp.get(&f));
                    let snmp = st.and_then(|s| s.snmp.get(&f));
                    let view = FamilyView {
                        address: d.address(f).map(|a| a.to_string()).unwrap_or_default(),
                        icmp_up: icmp.map(|i| i.report.reachable()),
                        rtt_s: icmp.and_then(|i| i.report.rtt_avg()).map(|r| r.as_secs_f64()),
                        loss: icmp.map(|i| i.report.loss_ratio()),
                        icmp_outcome: icmp.map(|i| i.report.outcome.to_string()),
                        icmp_at: icmp.map(|i| i.at),
                        snmp_outcome: snmp.map(|s| s.outcome.to_string()),
                        snmp_detail: snmp.and_then(|s| s.detail.clone()),
                        snmp_at: snmp.map(|s| s.at),
                    };
                    (f, view)
                })
                .collect();
            DeviceView {
                id: d.id.clone(),
                site: d.site.clone(),
                class: d.class.to_string(),
                polled: index.is_polled(&d.id),
                families,
                system: st.and_then(|s| s.system.clone()),
                restarts: st.map_or(0, |s| s.restarts),
            }
        })
        .collect()
}

async fn api_devices(State(app): State<AppState>) -> Response {
    let views = {
        let shared = app.shared.read().unwrap_or_else(|p| p.into_inner());
        device_views(&shared)
    };
    axum::Json(views).into_response()
}

/// Bind the HTTP listener; a clear error when the address is taken.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

/// A short text of the metric names exported, for docs and tests.
pub fn metric_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testkit::{device, inventory, site};
    use crate::inventory::DeviceClass::Switch;
    use crate::inventory::LinkMedium;

    fn series_of<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
        text.lines().filter(|l| l.starts_with(&format!("{name}{{"))).collect()
    }

    /// The whole-text conversion the streaming one replaced, kept as its reference.
    fn reference_classic(text: &str) -> String {
        let mut counters: Vec<&str> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ")
                && let Some(name) = rest.strip_suffix(" counter")
            {
                counters.push(name);
            }
        }
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            if line.starts_with("# UNIT ") || line == "# EOF" {
                continue;
            }
            let rewritten = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
                let rest = line.strip_prefix(prefix)?;
                let (name, tail) = rest.split_once(' ')?;
                counters.contains(&name).then(|| format!("{prefix}{name}_total {tail}"))
            });
            match rewritten {
                Some(l) => out.push_str(&l),
                None => {
                    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
                    let name = &line[..name_end];
                    if name.strip_suffix("_created").is_some_and(|base| counters.contains(&base)) {
                        continue;
                    }
                    out.push_str(line);
                }
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn classic_text_converted_as_it_streams_equals_the_whole_text_conversion() {
        let text = "# HELP vigia_a A gauge.\n# TYPE vigia_a gauge\n# UNIT vigia_a seconds\n\
                    vigia_a{device=\"d\"} 1.5\n# HELP vigia_b Octets.\n# TYPE vigia_b counter\n\
                    # UNIT vigia_b bytes\nvigia_b_total{device=\"d\"} 7\nvigia_b_created 1.0\n\
                    # HELP vigia_c Restarts.\n# TYPE vigia_c counter\nvigia_c_total 0\n\
                    # TYPE vigia_d gauge\nvigia_d 2\n# EOF\n";
        let expected = reference_classic(text);
        assert_eq!(openmetrics_to_classic(text), expected);
        assert!(expected.contains("# HELP vigia_b_total Octets.\n# TYPE vigia_b_total counter\n"));
        assert!(
            !expected.contains("_created")
                && !expected.contains("# UNIT")
                && !expected.contains("# EOF")
        );
        // Fed in every split of the text, as the encoder writes it in pieces.
        for cut in 0..text.len() {
            let mut c = Classic::with_capacity(0);
            std::fmt::Write::write_str(&mut c, &text[..cut]).unwrap();
            std::fmt::Write::write_str(&mut c, &text[cut..]).unwrap();
            assert_eq!(c.finish(), expected, "split at {cut}");
        }
    }

    #[test]
    fn the_exporter_streams_the_same_classic_text_as_it_converts_whole() {
        let inv = Arc::new(inventory(
            vec![site("main", None), site("f", Some(LinkMedium::Fibre))],
            vec![device("a", "f", Switch), device("b", "main", Switch)],
        ));
        let exporter = Exporter::new(Arc::new(RwLock::new(Shared::new(inv))));
        assert_eq!(exporter.classic(), reference_classic(&exporter.openmetrics()));
    }

    #[test]
    fn sharded_agents_export_disjoint_series_that_add_up_to_the_whole() {
        let sites: Vec<_> = std::iter::once(site("main", None))
            .chain((0..40).map(|i| site(&format!("s{i}"), Some(LinkMedium::Fibre))))
            .collect();
        let devices: Vec<_> =
            (0..120).map(|i| device(&format!("d{i}"), &sites[i % 41].id, Switch)).collect();
        let inv = Arc::new(inventory(sites, devices));
        let render = |shard: Shard| {
            let mut shared = Shared::new(inv.clone());
            shared.shard = shard;
            Exporter::new(Arc::new(RwLock::new(shared))).classic()
        };
        let whole = render(Shard::ALL);
        for name in ["vigia_device_info", "vigia_site_info"] {
            let mut parts: Vec<&str> = Vec::new();
            let texts: Vec<String> = (1..=3).map(|n| render(Shard::new(n, 3).unwrap())).collect();
            for text in &texts {
                let mine = series_of(text, name);
                assert!(!mine.is_empty(), "{name}: a shard of 41 sites exports nothing");
                parts.extend(mine);
            }
            let mut all = series_of(&whole, name);
            assert_eq!(all.len(), if name == "vigia_site_info" { 41 } else { 120 });
            parts.sort_unstable();
            all.sort_unstable();
            assert_eq!(parts, all, "{name}: the shards' series are the whole's, each once");
        }
    }
}
