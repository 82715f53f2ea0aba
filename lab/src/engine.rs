//! The lab's engine: one thread of its own, with its own single-threaded runtime, that builds
//! the lab, holds the TUN descriptors and link tasks, starts and stops the agents, and tears
//! everything down. Owning a thread makes teardown synchronous for `Drop` (join the thread),
//! keeps packet timing independent of the caller's busy runtime, and ties the agents' lives
//! to it (they get SIGKILL from the kernel if this thread dies without stopping them).

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command as TokioCommand};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::link::{LinkStats, spawn_link};
use super::state::{self, AddressRecord, DeviceState, GUARD_METRIC, LabState, RouteRecord};
use super::sys::{self, ProcId};
use super::{
    Command, DeviceInfo, LabError, LabSpec, LinkModel, RUN_ROOT, find_program, run_dir, served,
    snmpd,
};

/// What `Lab::up` gets back once the lab answers.
pub(super) struct Ready {
    pub host_v4: std::net::Ipv4Addr,
    pub host_v6: std::net::Ipv6Addr,
    pub devices: Vec<DeviceInfo>,
    pub cuts: BTreeMap<String, Arc<AtomicBool>>,
    pub stats: BTreeMap<String, Arc<LinkStats>>,
    pub state: Arc<Mutex<LabState>>,
}

/// The engine thread's body.
pub(super) fn run(
    spec: LabSpec,
    mut rx: mpsc::UnboundedReceiver<Command>,
    ready: oneshot::Sender<Result<Ready, LabError>>,
) {
    // The links' timing is this thread's wake-up latency: on a machine busy compiling, a
    // normal-priority thread wakes milliseconds late. A higher priority (root only; best
    // effort) keeps a fibre link near its 1 ms without ever starving anything: the thread
    // mostly sleeps.
    // SAFETY: setpriority on this thread's own id.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, -10) };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(LabError::io("starting the lab runtime", e)));
            return;
        }
    };
    rt.block_on(async move {
        let mut engine = Engine::new(&spec);
        match engine.build(&spec).await {
            Ok(r) => {
                if ready.send(Ok(r)).is_err() {
                    // Nobody waits for this lab any more (`up` was cancelled): remove it.
                    let _ = engine.teardown().await;
                    return;
                }
            }
            Err(e) => {
                if let Err(cleanup) = engine.teardown().await {
                    tracing::error!(lab = %spec.name, error = %cleanup, "cleaning up a failed lab");
                }
                let _ = ready.send(Err(e));
                return;
            }
        }
        while let Some(cmd) = rx.recv().await {
            match cmd {
                Command::StopAgent(id, reply) => {
                    let _ = reply.send(engine.stop_agent(&id).await);
                }
                Command::StartAgent(id, reply) => {
                    let _ = reply.send(engine.start_agent(&id).await);
                }
                Command::Down(reply) => {
                    let _ = reply.send(engine.teardown().await);
                    return;
                }
            }
        }
        // The Lab was dropped.
        if let Err(e) = engine.teardown().await {
            tracing::error!(lab = %spec.name, error = %e, "lab teardown on drop left something behind");
        }
    });
}

/// One device as the engine sees it.
struct Dev {
    id: String,
    ns: Option<String>,
    host_link: Option<String>,
    device_link: Option<String>,
    addresses: Vec<IpAddr>,
    link: Option<LinkModel>,
    present: bool,
    has_agent: bool,
    dir: PathBuf,
}

struct Engine {
    name: String,
    dir: PathBuf,
    made_dir: bool,
    state: Arc<Mutex<LabState>>,
    devices: Vec<Dev>,
    host_v4: std::net::Ipv4Addr,
    host_v6: std::net::Ipv6Addr,
    readiness_request: Vec<u8>,
    anchor: Option<OwnedFd>,
    host_fds: BTreeMap<String, OwnedFd>,
    pending_fds: BTreeMap<String, (OwnedFd, OwnedFd)>,
    tasks: Vec<JoinHandle<()>>,
    children: BTreeMap<String, Child>,
    link_handles: Option<Handles>,
    deferred_saves: bool,
    torn_down: bool,
}

/// Each linked device's cut switch and packet counts.
type Handles = (BTreeMap<String, Arc<AtomicBool>>, BTreeMap<String, Arc<LinkStats>>);

fn tun_error(name: &str, e: std::io::Error) -> LabError {
    if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EEXIST) | Some(libc::EINVAL)) {
        LabError::Clash { what: format!("interface {name}") }
    } else {
        LabError::io(format!("creating TUN device {name}"), e)
    }
}

/// The name of the namespace side of every link, inside its own namespace.
pub(super) const DEVICE_LINK: &str = "eth0";

/// The 5-character tag of a lab's interface names, from its name.
fn tag_of(name: &str) -> String {
    let seed = super::seed_of(name);
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = seed;
    (0..5)
        .map(|_| {
            let c = alphabet[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
}

/// The namespace of device `id` in lab `lab`.
pub(super) fn namespace_name(lab: &str, id: &str) -> String {
    format!("vigia-{lab}-{id}")
}

pub(super) fn with_prefix(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => format!("{v4}/32"),
        IpAddr::V6(v6) => format!("{v6}/128"),
    }
}

/// What a batch line makes, to record once it ran.
enum Made {
    Nothing,
    Namespace(String),
    Route(RouteRecord),
    Address(AddressRecord),
}

/// Run `ip [-n NS] -batch -` over `lines`; returns how many lines ran before a failure.
pub(super) async fn ip_batch(
    netns: Option<&str>,
    lines: &[String],
) -> (usize, Result<(), LabError>) {
    if lines.is_empty() {
        return (0, Ok(()));
    }
    let mut cmd = TokioCommand::new(find_program("ip").unwrap_or_else(|| "ip".into()));
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    cmd.args(["-batch", "-"]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (0, Err(LabError::io("running ip", e))),
    };
    let mut input = lines.join("\n");
    input.push('\n');
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes()).await;
    }
    let out = match child.wait_with_output().await {
        Ok(o) => o,
        Err(e) => return (0, Err(LabError::io("running ip", e))),
    };
    if out.status.success() {
        return (lines.len(), Ok(()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    // iproute2 stops at the first failure and says "Command failed -:LINE".
    let failed = stderr
        .rsplit("Command failed -:")
        .next()
        .and_then(|n| n.trim().parse::<usize>().ok())
        .filter(|n| *n >= 1 && *n <= lines.len());
    let ran = failed.map_or(0, |n| n - 1);
    if let Some(n) = failed
        && stderr.contains("File exists")
        && let Some(prefix) = lines[n - 1]
            .strip_prefix("route add ")
            .and_then(|rest| rest.split_whitespace().find(|w| w.contains('/')))
    {
        let what = format!("a route to {prefix}");
        return (n - 1, Err(LabError::Clash { what }));
    }
    let args = match (netns, failed) {
        (Some(ns), Some(n)) => format!("-n {ns} {}", lines[n - 1]),
        (None, Some(n)) => lines[n - 1].clone(),
        (_, None) => "-batch".into(),
    };
    (ran, Err(LabError::Ip { args, status: out.status.to_string(), stderr }))
}

impl Engine {
    fn new(spec: &LabSpec) -> Engine {
        let tag = tag_of(&spec.name);
        let dir = run_dir(&spec.name);
        let devices: Vec<Dev> = spec
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let linked = d.link.is_some();
                Dev {
                    id: d.id.clone(),
                    ns: linked.then(|| namespace_name(&spec.name, &d.id)),
                    host_link: linked.then(|| format!("vg{tag}h{i}")),
                    device_link: linked.then(|| DEVICE_LINK.to_owned()),
                    addresses: d
                        .ipv4
                        .map(IpAddr::V4)
                        .into_iter()
                        .chain(d.ipv6.map(IpAddr::V6))
                        .collect(),
                    link: d.link,
                    present: d.present,
                    has_agent: d.agent.is_some(),
                    dir: device_dir(&spec.name, &d.id),
                }
            })
            .collect();
        let owner = ProcId::current();
        let state = LabState {
            version: state::VERSION,
            name: spec.name.clone(),
            tag: tag.clone(),
            owner,
            owner_cmdline: owner.cmdline().unwrap_or_default(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            host_v4: spec.host_v4,
            host_v6: spec.host_v6,
            links: vec![],
            namespaces: vec![],
            routes: vec![],
            addresses: vec![],
            devices: devices
                .iter()
                .map(|d| DeviceState {
                    id: d.id.clone(),
                    namespace: d.ns.clone(),
                    host_link: d.host_link.clone(),
                    device_link: d.device_link.clone(),
                    ipv4: d.addresses.iter().find_map(|a| match a {
                        IpAddr::V4(v4) => Some(*v4),
                        IpAddr::V6(_) => None,
                    }),
                    ipv6: d.addresses.iter().find_map(|a| match a {
                        IpAddr::V6(v6) => Some(*v6),
                        IpAddr::V4(_) => None,
                    }),
                    medium: d.link.map_or("none", |l| l.label()).to_owned(),
                    link: d.link,
                    present: d.present,
                    has_agent: d.has_agent,
                    agent: None,
                })
                .collect(),
        };
        Engine {
            name: spec.name.clone(),
            dir,
            made_dir: false,
            state: Arc::new(Mutex::new(state)),
            devices,
            host_v4: spec.host_v4,
            host_v6: spec.host_v6,
            readiness_request: spec.readiness_request.clone(),
            anchor: None,
            host_fds: BTreeMap::new(),
            pending_fds: BTreeMap::new(),
            tasks: vec![],
            children: BTreeMap::new(),
            link_handles: None,
            deferred_saves: false,
            torn_down: false,
        }
    }

    fn anchor_name(&self) -> String {
        format!("vg{}a", self.state.lock().expect("state").tag)
    }

    fn record(&self, f: impl FnOnce(&mut LabState)) -> Result<(), LabError> {
        let mut s = self.state.lock().expect("state");
        f(&mut s);
        if self.made_dir && !self.deferred_saves { s.save() } else { Ok(()) }
    }

    async fn build(&mut self, spec: &LabSpec) -> Result<Ready, LabError> {
        let started = Instant::now();
        let phase = |what: &str| tracing::debug!(lab = %spec.name, elapsed_ms = started.elapsed().as_millis() as u64, "{what}");
        self.make_dir()?;
        self.record(|_| {})?;
        self.check_clashes()?;
        self.make_host_tuns()?;
        self.host_batch_namespaces().await?;
        phase("namespaces made");
        self.make_device_tuns()?;
        phase("TUN devices made");
        self.host_batch_links().await?;
        phase("host links, addresses and routes made");
        self.namespace_batches().await?;
        phase("namespaces configured");
        self.start_links(spec.seed)?;
        let (cuts, stats) = self.link_handles.take().unwrap_or_default();
        for d in &spec.devices {
            if let Some(agent) = &d.agent {
                let dev = self.dev(&d.id)?;
                let table = dev.dir.join(served::TABLE_FILE);
                let program = spec.served_program.as_deref().filter(|_| !agent.served.is_empty());
                let config = snmpd::render_config(
                    &spec.name,
                    &d.id,
                    agent,
                    program.map(|p| (p, table.as_path())),
                );
                write_agent_files(&dev.dir, &config)?;
                if !agent.served.is_empty() {
                    agent
                        .served
                        .write_atomically(&table)
                        .map_err(|e| LabError::io(format!("writing {}", table.display()), e))?;
                }
            }
        }
        let ids: Vec<String> = self
            .devices
            .iter()
            .filter(|d| d.has_agent && d.ns.is_some())
            .map(|d| d.id.clone())
            .collect();
        // One state write for all agents (each write costs a few ms on a busy machine; the
        // agents die with this thread anyway should it fail in between).
        self.deferred_saves = true;
        let spawned = ids.iter().try_for_each(|id| self.spawn_agent(id));
        self.deferred_saves = false;
        self.record(|_| {})?;
        spawned?;
        phase("agents started");
        self.wait_answers(&ids).await?;
        tracing::info!(lab = %self.name, devices = self.devices.len(), agents = ids.len(), elapsed_ms = started.elapsed().as_millis() as u64, "lab up");
        Ok(Ready {
            host_v4: self.host_v4,
            host_v6: self.host_v6,
            devices: self
                .devices
                .iter()
                .map(|d| DeviceInfo {
                    id: d.id.clone(),
                    namespace: d.ns.clone(),
                    host_link: d.host_link.clone(),
                    device_link: d.device_link.clone(),
                    ipv4: d
                        .addresses
                        .iter()
                        .find_map(|a| if let IpAddr::V4(v) = a { Some(*v) } else { None }),
                    ipv6: d
                        .addresses
                        .iter()
                        .find_map(|a| if let IpAddr::V6(v) = a { Some(*v) } else { None }),
                    link: d.link,
                    present: d.present,
                    has_agent: d.has_agent,
                })
                .collect(),
            cuts,
            stats,
            state: self.state.clone(),
        })
    }

    fn dev(&self, id: &str) -> Result<&Dev, LabError> {
        self.devices.iter().find(|d| d.id == id).ok_or_else(|| LabError::UnknownDevice {
            lab: self.name.clone(),
            device: id.to_owned(),
        })
    }

    fn make_dir(&mut self) -> Result<(), LabError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(RUN_ROOT)
            .map_err(|e| LabError::io(format!("creating {RUN_ROOT}"), e))?;
        match fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(LabError::Exists { name: self.name.clone(), dir: self.dir.clone() });
            }
            Err(e) => return Err(LabError::io(format!("creating {}", self.dir.display()), e)),
        }
        self.made_dir = true;
        // The directory holds snmpd configurations with secrets: root only.
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| LabError::io(format!("securing {}", self.dir.display()), e))
    }

    fn check_clashes(&self) -> Result<(), LabError> {
        for d in &self.devices {
            if let Some(ns) = &d.ns
                && sys::netns_exists(ns)
            {
                return Err(LabError::Clash { what: format!("network namespace {ns}") });
            }
        }
        Ok(())
    }

    /// The host-side TUN devices (and the anchor holding the host addresses), in the host.
    /// Recorded once all exist: they cannot outlive this process anyway.
    fn make_host_tuns(&mut self) -> Result<(), LabError> {
        let anchor = self.anchor_name();
        let mut made = Vec::new();
        let result = (|| {
            self.anchor = Some(sys::create_tun(&anchor).map_err(|e| tun_error(&anchor, e))?);
            made.push(anchor.clone());
            for d in &self.devices {
                if let Some(host) = &d.host_link {
                    let fd = sys::create_tun(host).map_err(|e| tun_error(host, e))?;
                    made.push(host.clone());
                    self.host_fds.insert(d.id.clone(), fd);
                }
            }
            Ok(())
        })();
        self.record(|s| s.links.extend(made))?;
        result
    }

    /// The namespace side of each link, created inside its namespace (no move between
    /// namespaces, which costs the kernel an RCU grace period per device).
    fn make_device_tuns(&mut self) -> Result<(), LabError> {
        let wanted: Vec<(String, String, String)> = self
            .devices
            .iter()
            .filter_map(|d| Some((d.id.clone(), d.ns.clone()?, d.device_link.clone()?)))
            .collect();
        let jobs: Vec<(String, String)> =
            wanted.iter().map(|(_, ns, name)| (ns.clone(), name.clone())).collect();
        let fds = sys::create_tuns_in_namespaces(&jobs)
            .map_err(|(ns, e)| LabError::io(format!("creating the TUN device in {ns}"), e))?;
        for ((id, _, _), fd) in wanted.into_iter().zip(fds) {
            let host = self.host_fds.remove(&id).expect("host side made first");
            self.pending_fds.insert(id, (host, fd));
        }
        Ok(())
    }

    async fn run_recorded(
        &self,
        netns: Option<&str>,
        lines: Vec<(String, Made)>,
    ) -> Result<(), LabError> {
        let text: Vec<String> = lines.iter().map(|(l, _)| l.clone()).collect();
        let (ran, result) = ip_batch(netns, &text).await;
        self.record(|s| {
            for (_, made) in lines.into_iter().take(ran) {
                match made {
                    Made::Nothing => {}
                    Made::Namespace(n) => s.namespaces.push(n),
                    Made::Route(r) => s.routes.push(r),
                    Made::Address(a) => s.addresses.push(a),
                }
            }
        })?;
        result
    }

    async fn host_batch_namespaces(&self) -> Result<(), LabError> {
        let lines = self
            .devices
            .iter()
            .filter_map(|d| d.ns.clone())
            .map(|ns| (format!("netns add {ns}"), Made::Namespace(ns)))
            .collect();
        self.run_recorded(None, lines).await
    }

    async fn host_batch_links(&self) -> Result<(), LabError> {
        let anchor = self.anchor_name();
        let mut lines: Vec<(String, Made)> = vec![
            (format!("link set dev {anchor} addrgenmode none"), Made::Nothing),
            (format!("link set dev {anchor} up"), Made::Nothing),
        ];
        let v4 = format!("{}/32", self.host_v4);
        let v6 = format!("{}/128", self.host_v6);
        lines.push((
            format!("addr add {v4} dev {anchor}"),
            Made::Address(AddressRecord { address: v4, dev: anchor.clone() }),
        ));
        lines.push((
            format!("addr add {v6} dev {anchor} nodad"),
            Made::Address(AddressRecord { address: v6, dev: anchor.clone() }),
        ));
        for d in &self.devices {
            if let Some(host) = &d.host_link {
                lines.push((format!("link set dev {host} addrgenmode none"), Made::Nothing));
                lines.push((format!("link set dev {host} up"), Made::Nothing));
                for a in &d.addresses {
                    let src = match a {
                        IpAddr::V4(_) => self.host_v4.to_string(),
                        IpAddr::V6(_) => self.host_v6.to_string(),
                    };
                    let prefix = with_prefix(*a);
                    lines.push((
                        format!("route add {prefix} dev {host} src {src}"),
                        Made::Route(RouteRecord {
                            prefix,
                            kind: "dev".into(),
                            dev: Some(host.clone()),
                            metric: None,
                        }),
                    ));
                }
            }
            // Every device address, linked or not, gets a guard: if the lab's route is not
            // there, the kernel answers "unreachable" instead of using the default route.
            for a in &d.addresses {
                let prefix = with_prefix(*a);
                lines.push((
                    format!("route add unreachable {prefix} metric {GUARD_METRIC}"),
                    Made::Route(RouteRecord {
                        prefix,
                        kind: "unreachable".into(),
                        dev: None,
                        metric: Some(GUARD_METRIC),
                    }),
                ));
            }
        }
        self.run_recorded(None, lines).await
    }

    async fn namespace_batches(&self) -> Result<(), LabError> {
        let jobs: Vec<(String, Vec<String>)> = self
            .devices
            .iter()
            .filter_map(|d| {
                let ns = d.ns.clone()?;
                let device = d.device_link.clone()?;
                // No link-local address: nothing but probes and their answers crosses the
                // link (no router solicitations or MLD reports to skew its counts).
                let mut lines = vec![
                    "link set dev lo up".to_owned(),
                    format!("link set dev {device} addrgenmode none"),
                    format!("link set dev {device} up"),
                ];
                for a in &d.addresses {
                    let prefix = with_prefix(*a);
                    if d.present {
                        let nodad = if a.is_ipv6() { " nodad" } else { "" };
                        lines.push(format!("addr add {prefix} dev {device}{nodad}"));
                    } else {
                        // Routed here, but no host has it: drop silently, as a LAN with no
                        // such host does (no ICMP error that would tell the prober).
                        lines.push(format!("route add blackhole {prefix}"));
                    }
                    let default = if a.is_ipv6() { "::/0" } else { "0.0.0.0/0" };
                    lines.push(format!("route add {default} dev {device}"));
                }
                Some((ns, lines))
            })
            .collect();
        let results: Vec<Result<(), LabError>> = futures_util::stream::iter(jobs)
            .map(|(ns, lines)| async move {
                ip_batch(Some(&ns), &lines).await.1?;
                // ICMP errors (port unreachable) must not be rate-limited: a lab answers
                // bursts of probes. icmp_msgs_per_sec is per namespace on recent kernels.
                let ns2 = ns.clone();
                tokio::task::spawn_blocking(move || {
                    sys::set_netns_sysctls(
                        &ns2,
                        &[
                            ("net.ipv4.icmp_ratelimit", "0"),
                            ("net.ipv6.icmp.ratelimit", "0"),
                            ("net.ipv4.icmp_msgs_per_sec", "1000000"),
                            ("net.ipv4.icmp_msgs_burst", "1000000"),
                        ],
                    )
                })
                .await
                .map_err(|e| LabError::io(format!("sysctls of {ns}"), std::io::Error::other(e)))?
                .map_err(|e| LabError::io(format!("sysctls of {ns}"), e))
            })
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect()
    }

    fn start_links(&mut self, seed: u64) -> Result<(), LabError> {
        let mut cuts = BTreeMap::new();
        let mut stats = BTreeMap::new();
        for d in &self.devices {
            let (Some(model), Some((host, device))) = (d.link, self.pending_fds.remove(&d.id))
            else {
                continue;
            };
            let cut = Arc::new(AtomicBool::new(false));
            let st = Arc::new(LinkStats::default());
            let link_seed = seed ^ super::seed_of(&d.id);
            let tasks = spawn_link(host, device, model, link_seed, cut.clone(), st.clone())
                .map_err(|e| LabError::io(format!("starting the link of {}", d.id), e))?;
            self.tasks.extend(tasks);
            cuts.insert(d.id.clone(), cut);
            stats.insert(d.id.clone(), st);
        }
        self.link_handles = Some((cuts, stats));
        Ok(())
    }

    fn spawn_agent(&mut self, id: &str) -> Result<(), LabError> {
        let dev = self.dev(id)?;
        let ns = dev.ns.clone().ok_or_else(|| LabError::NoLink { device: id.to_owned() })?;
        let child = snmpd::spawn(&ns, &dev.dir, &dev.addresses)?;
        let pid = child.id().unwrap_or(0);
        let proc_id = ProcId::of(pid);
        self.children.insert(id.to_owned(), child);
        self.record(|s| {
            if let Some(d) = s.devices.iter_mut().find(|d| d.id == id) {
                d.agent = proc_id;
            }
        })
    }

    /// Wait until every agent answers the spec's readiness request (an SNMP engine-discovery
    /// request) through its link, from the lab's host address: the whole path (routes, link,
    /// namespace, snmpd) works.
    async fn wait_answers(&mut self, ids: &[String]) -> Result<(), LabError> {
        const LIMIT: Duration = Duration::from_secs(30);
        let probes: Vec<(String, Vec<IpAddr>, Duration, PathBuf)> = ids
            .iter()
            .filter_map(|id| {
                let d = self.dev(id).ok()?;
                let model = d.link?;
                let wait = (model.delay + model.jitter) * 2 + Duration::from_millis(250);
                Some((id.clone(), d.addresses.clone(), wait, d.dir.join("snmpd.log")))
            })
            .collect();
        let (host_v4, host_v6) = (self.host_v4, self.host_v6);
        let started = Instant::now();
        let mut pending: Vec<(String, IpAddr, Duration, PathBuf)> = probes
            .into_iter()
            .flat_map(|(id, addrs, wait, log)| {
                addrs.into_iter().map(move |a| (id.clone(), a, wait, log.clone()))
            })
            .collect();
        let request = self.readiness_request.as_slice();
        while !pending.is_empty() {
            for (id, _, _, log) in &pending {
                if let Some(child) = self.children.get_mut(id)
                    && let Ok(Some(status)) = child.try_wait()
                {
                    return Err(LabError::Agent {
                        device: id.clone(),
                        problem: format!("exited during start-up ({status})"),
                        log: log.clone(),
                    });
                }
            }
            if started.elapsed() > LIMIT {
                let (id, a, _, log) = &pending[0];
                return Err(LabError::Agent {
                    device: id.clone(),
                    problem: format!("did not answer on {a} within {LIMIT:?}"),
                    log: log.clone(),
                });
            }
            let answered: Vec<bool> =
                futures_util::future::join_all(pending.iter().map(|(_, a, wait, _)| {
                    let src = if a.is_ipv4() { IpAddr::V4(host_v4) } else { IpAddr::V6(host_v6) };
                    snmpd::answers(src, *a, *wait, request)
                }))
                .await;
            let mut i = 0;
            pending.retain(|_| {
                let keep = !answered[i];
                i += 1;
                keep
            });
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    async fn stop_child(&mut self, id: &str) {
        let Some(mut child) = self.children.remove(id) else { return };
        if let Some(pid) = child.id() {
            // SAFETY: signalling our own child, which we have not reaped yet.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        }
        if tokio::time::timeout(Duration::from_secs(3), child.wait()).await.is_err() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    async fn stop_agent(&mut self, id: &str) -> Result<(), LabError> {
        let dev = self.dev(id)?;
        if !dev.has_agent {
            return Err(LabError::NoAgent { device: id.to_owned() });
        }
        self.stop_child(id).await;
        self.record(|s| {
            if let Some(d) = s.devices.iter_mut().find(|d| d.id == id) {
                d.agent = None;
            }
        })
    }

    async fn start_agent(&mut self, id: &str) -> Result<(), LabError> {
        let dev = self.dev(id)?;
        if !dev.has_agent {
            return Err(LabError::NoAgent { device: id.to_owned() });
        }
        if dev.ns.is_none() {
            return Err(LabError::NoLink { device: id.to_owned() });
        }
        if self.children.contains_key(id) {
            return Ok(());
        }
        let log = dev.dir.join("snmpd.log");
        let sockets = dev.addresses.len();
        self.spawn_agent(id)?;
        // Wait until it listens on every address (seen from its own namespace, so this
        // works on a cut link too).
        let started = Instant::now();
        loop {
            let child = self.children.get_mut(id).expect("just spawned");
            if let Ok(Some(status)) = child.try_wait() {
                self.children.remove(id);
                return Err(LabError::Agent {
                    device: id.to_owned(),
                    problem: format!("exited during start-up ({status})"),
                    log,
                });
            }
            let pid = child.id().unwrap_or(0);
            if count_bound(pid) >= sockets {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err(LabError::Agent {
                    device: id.to_owned(),
                    problem: "did not listen within 20s".into(),
                    log,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Remove everything, in the order that leaves nothing dangling: agents, then link tasks
    /// (closing the TUN descriptors removes the devices and the routes through them), then
    /// namespaces and guard routes, then the directory.
    async fn teardown(&mut self) -> Result<(), LabError> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        let started = Instant::now();
        let phase = |what: &str| tracing::debug!(lab = %self.name, elapsed_ms = started.elapsed().as_millis() as u64, "teardown: {what}");
        let ids: Vec<String> = self.children.keys().cloned().collect();
        futures_util::future::join_all(ids.iter().map(|id| {
            let child = self.children.remove(id);
            async move {
                let Some(mut child) = child else { return };
                if let Some(pid) = child.id() {
                    // SAFETY: signalling our own unreaped child.
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
                }
                if tokio::time::timeout(Duration::from_secs(3), child.wait()).await.is_err() {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                }
            }
        }))
        .await;
        phase("agents stopped");
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.pending_fds.clear();
        self.host_fds.clear();
        self.anchor = None;
        let snapshot = self.state.lock().expect("state").clone();
        // The links were ours (we held them); if one lingers, delete it by name.
        let deadline = Instant::now() + Duration::from_secs(2);
        while snapshot.links.iter().any(|l| sys::link_exists(l)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut lines: Vec<String> = snapshot
            .links
            .iter()
            .filter(|l| sys::link_exists(l))
            .map(|l| format!("link del dev {l}"))
            .collect();
        lines.extend(
            snapshot
                .namespaces
                .iter()
                .filter(|n| sys::netns_exists(n))
                .map(|n| format!("netns del {n}")),
        );
        lines.extend(snapshot.routes.iter().filter(|r| r.kind == "unreachable").map(|r| {
            format!(
                "route del unreachable {} metric {}",
                r.prefix,
                r.metric.unwrap_or(GUARD_METRIC)
            )
        }));
        phase("links closed");
        if !lines.is_empty() {
            force_batch(&lines).await;
        }
        phase("namespaces and guard routes deleted");
        let mut check = snapshot.clone();
        check.owner = ProcId { pid: 0, start_time: 0 }; // ourselves: still alive, not a leftover
        check.devices.iter_mut().for_each(|d| d.agent = None);
        let left = check.remaining();
        if !left.is_empty() {
            return Err(LabError::Leftovers { name: self.name.clone(), left });
        }
        if self.made_dir {
            fs::remove_dir_all(&self.dir)
                .map_err(|e| LabError::io(format!("removing {}", self.dir.display()), e))?;
        }
        Ok(())
    }
}

/// `ip -force -batch -`: every line is tried, failures (already gone) ignored.
async fn force_batch(lines: &[String]) {
    let mut cmd = TokioCommand::new(find_program("ip").unwrap_or_else(|| "ip".into()));
    cmd.args(["-force", "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Ok(mut child) = cmd.spawn() {
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all((lines.join("\n") + "\n").as_bytes()).await;
        }
        let _ = child.wait().await;
    }
}

/// UDP sockets bound to port 161 in the namespace of process `pid`.
fn count_bound(pid: u32) -> usize {
    ["udp", "udp6"]
        .iter()
        .map(|t| {
            fs::read_to_string(format!("/proc/{pid}/net/{t}"))
                .map(|text| {
                    text.lines()
                        .skip(1)
                        .filter(|l| {
                            l.split_whitespace().nth(1).is_some_and(|a| a.ends_with(":00A1"))
                        })
                        .count()
                })
                .unwrap_or(0)
        })
        .sum()
}

/// A device's directory in lab `lab`: its snmpd.conf, log, persistent state and served table.
pub(super) fn device_dir(lab: &str, device: &str) -> PathBuf {
    run_dir(lab).join("devices").join(device)
}

/// Write a device's snmpd.conf (mode 0600: it holds secrets) and its persistent directory.
fn write_agent_files(dir: &std::path::Path, config: &str) -> Result<(), LabError> {
    use std::io::Write;
    let err = |what: &str, e| LabError::io(format!("{what} {}", dir.display()), e);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir.join("persist"))
        .map_err(|e| err("creating", e))?;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dir.join("snmpd.conf"))
        .map_err(|e| err("writing snmpd.conf in", e))?;
    f.write_all(config.as_bytes()).map_err(|e| err("writing snmpd.conf in", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_fit_the_kernel_limit_for_big_labs() {
        let tag = tag_of("a-very-long-lab-name-for-testing-things");
        assert_eq!(tag.len(), 5);
        for name in [format!("vg{tag}a"), format!("vg{tag}h99999"), DEVICE_LINK.to_owned()] {
            assert!(name.len() <= sys::IFNAME_MAX, "{name}");
        }
        assert_ne!(tag_of("tacna"), tag_of("tacnb"));
        assert_eq!(tag_of("tacna"), tag_of("tacna"));
    }
}
