//! `vigia agent`: poll every monitored device for as long as it runs, keep history, export
//! what it knows.
//!
//! The loop is a small state machine around [`Scheduler`]: it asks what is due at `now`, hands
//! each due task to a [`Prober`] within a concurrency bound, applies the results to the
//! [`NetworkState`] (events), batches rows to a writer task, and answers reloads and signals.

pub mod derived;
pub mod fds;
pub mod probe_cmd;
mod prober;
mod shared;
mod summary;
pub mod view;
mod writer;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

pub use derived::Plan;
pub use prober::{NetProber, Prober};
pub use shared::{
    IcmpTotals, PollTotals, ReloadRequest, ReloadStatus, Shared, SharedState, SnmpTotals,
    read_shared,
};
pub use summary::render_summary;
pub use writer::StoreHealth;

/// The agent's clock (its home is `crate::clock`).
pub use crate::clock::Clock;

use crate::diag::Diagnostic;
use crate::history::{
    EventKind, EventRecord, FactRecord, InterfaceRecord, InventorySnapshotText, PollRecord,
};
use crate::inventory::snapshot::Snapshot;
use crate::inventory::{
    self, Device, DeviceId, Family, Inventory, InventoryIndex, PollSettings, Secrets, Shard,
};
use crate::poll::{IcmpReport, PollOutcome, ProbeKind, SnmpReport, SystemInfo};
use crate::probe::SnmpQuery;
use crate::probe::icmp::CycleSettings;
use crate::probe::snmp::{Credentials, SnmpTarget};
use crate::schedule::{Pass, Scheduler, TaskKey};
use crate::store::{Store, StoreError};

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Inventory directory.
    pub inventory: PathBuf,
    /// Which agent this is (rows carry it; several agents may share PostgreSQL).
    pub agent_id: String,
    /// Where `/metrics` listens; `None` serves nothing (`--once`).
    pub listen: Option<SocketAddr>,
    /// Raw rows older than this many days are pruned (roll-ups are kept).
    pub raw_retention_days: u32,
    /// SNMP polls in flight at most (each holds one UDP socket per family while it runs).
    pub max_in_flight: usize,
    /// ICMP tasks (one device, every family) in flight at most. They hold no socket of their
    /// own (one shared socket per family), only timers and waiters, about 3 KiB each: the
    /// bound is on memory. The rate of echoes is the engine's global gap's to bound.
    pub max_icmp_in_flight: usize,
    /// Time between two echoes of one ICMP cycle to the same address, for every device
    /// (`--icmp-spacing`); `None`: each device's own, else the inventory's default.
    pub icmp_spacing: Option<Duration>,
    /// Whether this run sends ICMP at all (`--no-icmp`: SNMP only).
    pub icmp: bool,
    /// How long in-flight polls may finish after a shutdown request.
    pub grace: Duration,
    /// How often the plan's numbers (life cycle, IPv6, indicators) are recomputed for the
    /// exporter from the history.
    pub derive_every: Duration,
    /// How often buffered rows are handed to the store.
    pub flush_every: Duration,
    /// How often finished days are rolled up and raw rows past retention pruned.
    pub maintenance_every: Duration,
    /// The part of the sites this agent polls (several agents splitting one network).
    pub shard: Shard,
    /// Rows kept in memory at most while the history store refuses writes; past it the
    /// oldest are dropped (and counted).
    pub buffer_rows: usize,
}

impl AgentOptions {
    /// Defaults for an inventory directory.
    pub fn new(inventory: PathBuf) -> AgentOptions {
        AgentOptions {
            inventory,
            agent_id: default_agent_id(),
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            raw_retention_days: 35,
            max_in_flight: 256,
            max_icmp_in_flight: 4096,
            icmp_spacing: None,
            icmp: true,
            grace: Duration::from_secs(10),
            derive_every: Duration::from_secs(60),
            flush_every: Duration::from_secs(2),
            maintenance_every: Duration::from_secs(3600),
            shard: Shard::ALL,
            buffer_rows: DEFAULT_BUFFER_ROWS,
        }
    }
}

/// Rows kept in memory at most while the store refuses writes: at 10,000 devices about ten
/// minutes of polls (a few hundred bytes each, some 150 MiB at most); for Tacna, days.
pub const DEFAULT_BUFFER_ROWS: usize = 500_000;

/// The host name, the default agent id.
pub fn default_agent_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "vigia".into())
}

/// The agent's own failures (devices failing are data, never these).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The inventory is invalid.
    #[error(transparent)]
    Inventory(#[from] inventory::Invalid),
    /// The history store failed.
    #[error("history store: {0}")]
    Store(#[from] StoreError),
    /// The HTTP listener could not be opened.
    #[error("{0}")]
    Listen(std::io::Error),
    /// A signal handler could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// What makes the agent stop or reload.
#[derive(Debug)]
pub enum Control {
    /// Reload the inventory and answer (from SIGHUP or `POST /-/reload`).
    Reload(Option<oneshot::Sender<Result<String, String>>>),
    /// Finish in-flight polls within the grace period, flush, stop.
    Shutdown,
}

/// A finished task.
struct Done {
    key: TaskKey,
    started: DateTime<Utc>,
    result: Polled,
}

enum Polled {
    Icmp(Vec<IcmpReport>),
    Snmp(Vec<SnmpReport>),
}

/// How many polls of each probe may run at once. Separate bounds, because an ICMP cycle and
/// an SNMP poll cost different things: a cycle spends about a second waiting on paced echoes
/// and holds no socket, an SNMP poll holds a UDP socket. One shared bound let 10,000 devices'
/// ICMP cycles (a second each, every 30 s: 333 in flight on average) take every permit and
/// fall behind their interval.
struct Permits {
    icmp: Arc<Semaphore>,
    snmp: Arc<Semaphore>,
}

impl Permits {
    fn new(opts: &AgentOptions) -> Permits {
        Permits {
            icmp: Arc::new(Semaphore::new(opts.max_icmp_in_flight.max(1))),
            snmp: Arc::new(Semaphore::new(opts.max_in_flight.max(1))),
        }
    }

    fn of(&self, probe: ProbeKind) -> &Arc<Semaphore> {
        match probe {
            ProbeKind::Icmp => &self.icmp,
            ProbeKind::Snmp => &self.snmp,
        }
    }

    /// Polls still waiting for a permit never start.
    fn close(&self) {
        self.icmp.close();
        self.snmp.close();
    }
}

/// Tasks that are due but wait for a permit of their probe. They are spawned only once they
/// have one: a spawned poll is a future of several KiB, and `--once` (or a pause) hands out
/// every task at once; 23,000 futures parked on a semaphore were about 130 MiB.
#[derive(Default)]
struct Waiting {
    icmp: VecDeque<TaskKey>,
    snmp: VecDeque<TaskKey>,
}

impl Waiting {
    fn push(&mut self, key: TaskKey) {
        match key.probe {
            ProbeKind::Icmp => self.icmp.push_back(key),
            ProbeKind::Snmp => self.snmp.push_back(key),
        }
    }

    fn is_empty(&self) -> bool {
        self.icmp.is_empty() && self.snmp.is_empty()
    }

    /// The next task of `probe` that `permits` has room for, with its permit.
    fn next(
        &mut self,
        probe: ProbeKind,
        permits: &Permits,
    ) -> Option<(TaskKey, OwnedSemaphorePermit)> {
        let queue = match probe {
            ProbeKind::Icmp => &mut self.icmp,
            ProbeKind::Snmp => &mut self.snmp,
        };
        queue.front()?;
        let permit = permits.of(probe).clone().try_acquire_owned().ok()?;
        Some((queue.pop_front()?, permit))
    }
}

/// Rows on their way to the store.
#[derive(Default)]
struct Batch {
    polls: Vec<PollRecord>,
    interfaces: Vec<InterfaceRecord>,
    events: Vec<EventRecord>,
    facts: Vec<FactRecord>,
}

impl Batch {
    fn len(&self) -> usize {
        self.polls.len() + self.interfaces.len() + self.events.len() + self.facts.len()
    }
}

/// The shortest time between two takes of due tasks. Each task falls due at its own offset
/// within its interval: at 10,000 devices one every 2 ms, and a take per due task was a wake-up
/// and a launch each. Gathered, a take launches one ICMP batch of the ~16 devices' cycles due
/// in 50 ms, each at most 50 ms late (its cadence is kept: the next run is due one interval
/// after this one's due time, not its start).
const GATHER: Duration = Duration::from_millis(50);

/// What one run of the agent did, for `--once` and the logs.
#[derive(Debug, Default, Clone)]
pub struct RunReport {
    /// Poll rows stored.
    pub polls: usize,
    /// Events stored.
    pub events: usize,
}

/// The agent: everything the loop owns.
pub struct Agent<P: Prober> {
    opts: AgentOptions,
    prober: Arc<P>,
    store: Arc<Store>,
    shared: SharedState,
    clock: Clock,
    scheduler: Scheduler,
    /// The inventory in force (the same as `shared`'s) with its lookups, for today.
    index: Arc<InventoryIndex>,
    credentials: HashMap<DeviceId, Arc<Credentials>>,
    batch: Batch,
    passes: HashMap<ProbeKind, Pass>,
    report: RunReport,
}

impl<P: Prober> Agent<P> {
    /// An agent over a loaded inventory. Secrets must resolve (the inventory was loaded with
    /// [`Secrets::Require`]).
    pub fn new(
        opts: AgentOptions,
        inventory: Inventory,
        prober: P,
        store: Store,
        clock: Clock,
    ) -> Result<Agent<P>, AgentError> {
        let credentials = resolve_credentials(&inventory)?;
        let inventory = Arc::new(inventory);
        let index = Arc::new(InventoryIndex::sharded(inventory.clone(), clock.today(), opts.shard));
        let mut shared = Shared::new(inventory, clock);
        shared.shard = opts.shard;
        let shared = Arc::new(RwLock::new(shared));
        shared.write().unwrap_or_else(|p| p.into_inner()).reload.last_success = Some(clock.now());
        Ok(Agent {
            opts,
            prober: Arc::new(prober),
            store: Arc::new(store),
            shared,
            clock,
            scheduler: Scheduler::new(),
            index,
            credentials,
            batch: Batch::default(),
            passes: HashMap::new(),
            report: RunReport::default(),
        })
    }

    /// The state `/metrics`, `/api/devices` and the summary read.
    pub fn shared(&self) -> SharedState {
        self.shared.clone()
    }

    /// The history store the agent writes (the console reads it).
    pub fn store(&self) -> Arc<Store> {
        self.store.clone()
    }

    fn inventory(&self) -> Arc<Inventory> {
        self.index.inventory().clone()
    }

    /// The tasks the inventory asks for, with their intervals.
    fn wanted(&self) -> Vec<(TaskKey, Duration)> {
        let inv = self.index.inventory();
        let mut tasks = Vec::new();
        for d in self.index.polled() {
            if d.families().next().is_none() {
                continue;
            }
            if self.opts.icmp && d.icmp {
                tasks.push((TaskKey::new(d.id.clone(), ProbeKind::Icmp), inv.poll.icmp_interval));
            }
            if d.snmp.is_some() {
                tasks.push((TaskKey::new(d.id.clone(), ProbeKind::Snmp), inv.poll.snmp_interval));
            }
        }
        tasks
    }

    /// On a new (UTC) day, index the inventory again: retirement dates may have taken devices
    /// out of polling. Cheap to call often: it compares two dates.
    fn roll_day(&mut self) {
        let day = self.clock.today();
        if day != self.index.day() {
            self.index = Arc::new(InventoryIndex::sharded(self.inventory(), day, self.opts.shard));
            let wanted = self.wanted();
            self.scheduler.sync(&wanted, self.clock.instant().into_std());
        }
    }

    /// Start from what the history last saw of each device, so that a restart does not record
    /// again a `device_down` the history has (issue 16). A store that cannot say is no reason
    /// not to poll: the agent starts as a fresh one would, and says so.
    async fn seed_from_history(&mut self) {
        match self.store.latest_polls().await {
            Ok(latest) => {
                let mut shared = self.shared.write().unwrap_or_else(|p| p.into_inner());
                shared.state.seed(&self.index, &latest);
            }
            Err(e) => warn!(
                error = %e,
                "cannot read the latest polls: devices already down may be recorded down again"
            ),
        }
    }

    /// Take in what the history knows devices said about themselves, so that a device whose
    /// serial changed while the agent was stopped is still seen as replaced.
    async fn seed_facts(&mut self) -> Result<(), AgentError> {
        let runs = self.store.facts().await?;
        let mut shared = self.shared.write().unwrap_or_else(|p| p.into_inner());
        let inv = shared.inventory.clone();
        shared.state.seed_facts(runs.into_iter().filter(|r| inv.device(&r.device).is_some()));
        Ok(())
    }

    /// Store the inventory snapshot, as of `at`, if it changed; an event says so.
    async fn record_inventory(
        &mut self,
        detail: String,
        at: DateTime<Utc>,
    ) -> Result<(), AgentError> {
        let inv = self.inventory();
        let (content, digest) = Snapshot::of(&inv).to_text_and_digest();
        let snapshot = InventorySnapshotText {
            at,
            agent: self.opts.agent_id.clone(),
            digest: digest.clone(),
            content,
        };
        if self.store.record_inventory(&snapshot).await? {
            self.batch.events.push(EventRecord {
                at,
                agent: self.opts.agent_id.clone(),
                kind: EventKind::InventoryChanged,
                device: None,
                site: None,
                family: None,
                probe: None,
                detail: format!("{detail} (digest {})", &digest[..12]),
                cause: None,
                maintenance: Vec::new(),
            });
        }
        Ok(())
    }

    /// Spawn every waiting task its probe has a permit for: the ICMP ones as one batch (one
    /// sender per family for all their echoes, instead of a task with its timers per device),
    /// each SNMP one as its own task.
    fn launch(
        &mut self,
        waiting: &mut Waiting,
        tasks: &mut JoinSet<()>,
        permits: &Permits,
        done: &mpsc::Sender<Done>,
    ) {
        let mut icmp = Vec::new();
        while let Some((key, permit)) = waiting.next(ProbeKind::Icmp, permits) {
            icmp.push((key, Some(permit)));
        }
        if let Some(keys) = self.polled(icmp) {
            let (prober, done, clock) = (self.prober.clone(), done.clone(), self.clock);
            let (index, spacing) = (self.index.clone(), self.opts.icmp_spacing);
            tasks.spawn(async move {
                icmp_batch(&*prober, &index, spacing, clock, keys, &done).await;
            });
        }
        while let Some((key, permit)) = waiting.next(ProbeKind::Snmp, permits) {
            self.spawn_snmp(key, permit, tasks, done);
        }
    }

    /// Whether the task of `key` starts: its device is still in the inventory (else the task is
    /// finished here). A new pass of its probe begins if the last one is complete.
    fn begin(&mut self, key: &TaskKey) -> bool {
        if self.index.device(&key.device).is_none() {
            self.scheduler.finish(key, self.clock.instant().into_std(), true);
            return false;
        }
        if self.passes.get(&key.probe).is_none_or(Pass::is_complete) {
            self.passes.insert(key.probe, Pass::new(self.scheduler_keys(key.probe)));
        }
        true
    }

    /// The tasks of `due` that [`Agent::begin`]; `None` when none does.
    fn polled<T>(&mut self, due: Vec<(TaskKey, T)>) -> Option<Vec<(TaskKey, T)>> {
        let polled: Vec<_> = due.into_iter().filter(|(key, _)| self.begin(key)).collect();
        (!polled.is_empty()).then_some(polled)
    }

    /// Start one SNMP task: poll the device over every family it has, holding `permit` until
    /// the result is ready.
    fn spawn_snmp(
        &mut self,
        key: TaskKey,
        permit: OwnedSemaphorePermit,
        tasks: &mut JoinSet<()>,
        done: &mpsc::Sender<Done>,
    ) {
        if !self.begin(&key) {
            return;
        }
        let device = self.index.device(&key.device).cloned().expect("begun: in the inventory");
        let (prober, done, clock) = (self.prober.clone(), done.clone(), self.clock);
        let poll = self.inventory().poll;
        let creds = self.credentials.get(&device.id).cloned();
        tasks.spawn(async move {
            let started = clock.now();
            // Boxed: an SNMP poll's future is several KiB; the task need not carry it inline.
            let result = Polled::Snmp(Box::pin(snmp_all(&*prober, &device, creds, poll)).await);
            // Free the permit before the result is handed over, so that whoever receives it
            // finds the permit free and can launch the next waiting task.
            drop(permit);
            let _ = done.send(Done { key, started, result }).await;
        });
    }

    /// `--once`: the ICMP tasks in batches of at most `--max-icmp-in-flight` devices, one
    /// after the other.
    fn spawn_icmp_batches(
        &mut self,
        keys: Vec<TaskKey>,
        tasks: &mut JoinSet<()>,
        done: &mpsc::Sender<Done>,
    ) {
        let keys = keys.into_iter().map(|k| (k, None)).collect();
        let Some(mut polled) = self.polled(keys) else { return };
        let (prober, done, clock) = (self.prober.clone(), done.clone(), self.clock);
        let (index, spacing) = (self.index.clone(), self.opts.icmp_spacing);
        let per_batch = self.opts.max_icmp_in_flight.max(1);
        tasks.spawn(async move {
            while !polled.is_empty() {
                let rest = polled.split_off(per_batch.min(polled.len()));
                let batch = std::mem::replace(&mut polled, rest);
                if !icmp_batch(&*prober, &index, spacing, clock, batch, &done).await {
                    return;
                }
            }
        });
    }

    fn scheduler_keys(&self, probe: ProbeKind) -> Vec<DeviceId> {
        self.wanted().into_iter().filter(|(k, _)| k.probe == probe).map(|(k, _)| k.device).collect()
    }

    /// Apply a finished task: state, events, rows, schedule.
    fn apply(&mut self, done: Done) {
        let Done { key, started, result } = done;
        self.roll_day();
        let index = self.index.clone();
        let agent = self.opts.agent_id.clone();
        let mut success = false;
        if let Some(device) = index.device(&key.device) {
            let mut shared = self.shared.write().unwrap_or_else(|p| p.into_inner());
            match result {
                Polled::Icmp(reports) => {
                    for r in reports {
                        success |= r.reachable();
                        shared.polls.add_icmp(&r);
                        self.batch.polls.push(icmp_row(&agent, device, started, &r));
                        let mut events =
                            shared.state.apply_icmp(&index, device, r, started, &agent);
                        shared.annotate(&index, &mut events, started);
                        self.batch.events.extend(events);
                    }
                }
                Polled::Snmp(reports) => {
                    for r in reports {
                        success |= r.ok();
                        shared.polls.add_snmp(&r);
                        self.batch.polls.push(snmp_row(&agent, device, started, &r));
                        self.batch.interfaces.extend(r.interfaces.iter().map(|i| {
                            InterfaceRecord {
                                at: started,
                                agent: agent.clone(),
                                device: device.id.clone(),
                                interface: i.clone(),
                            }
                        }));
                        let (events, facts) = shared.state.apply_facts(device, &r, started, &agent);
                        self.batch.events.extend(events);
                        self.batch.facts.extend(facts);
                        let mut events = shared.state.apply_snmp(device, r, started, &agent);
                        shared.annotate(&index, &mut events, started);
                        self.batch.events.extend(events);
                    }
                }
            }
        }
        let now = self.clock.instant().into_std();
        let took = self
            .scheduler
            .due(&key)
            .map_or(Duration::ZERO, |due| now.saturating_duration_since(due));
        self.scheduler.finish(&key, now, success);
        if let Some(slowest) =
            self.passes.get_mut(&key.probe).and_then(|p| p.finished(&key.device, took))
        {
            self.shared
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .poll_duration
                .insert(key.probe, slowest.as_secs_f64());
        }
    }

    /// Reload the inventory from disk: on success swap it in; otherwise keep the old one, log
    /// every diagnostic and say so in the metrics and the history.
    /// Read the inventory and apply it, here and now (the tests' reload; the loop reads it on a
    /// blocking thread first).
    #[cfg(test)]
    async fn reload(&mut self) -> Result<String, String> {
        let loaded = load_checked(&self.opts.inventory);
        self.apply_reload(loaded).await
    }

    /// Apply an inventory loaded off the polling loop (or refuse it), and say what changed.
    async fn apply_reload(&mut self, loaded: Loaded) -> Result<String, String> {
        let at = self.clock.now();
        match loaded {
            Err(diagnostics) => {
                let text: String = diagnostics.iter().map(|d| format!("{d}\n")).collect();
                for d in &diagnostics {
                    error!(diagnostic = %d, "inventory reload refused");
                }
                warn!("inventory reload refused; still running on the previous inventory");
                {
                    let mut shared = self.shared.write().unwrap_or_else(|p| p.into_inner());
                    shared.reload.failed = true;
                    shared.reload.last_failure = Some(at);
                }
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                self.batch.events.push(EventRecord {
                    at,
                    agent: self.opts.agent_id.clone(),
                    kind: EventKind::InventoryReloadFailed,
                    device: None,
                    site: None,
                    family: None,
                    probe: None,
                    detail: format!("{errors} error(s); still running on the previous inventory"),
                    cause: None,
                    maintenance: Vec::new(),
                });
                Err(text)
            }
            Ok((inv, warnings, creds)) => {
                for w in &warnings {
                    warn!(diagnostic = %w, "inventory warning");
                }
                let old = self.inventory();
                let summary = change_summary(&old, &inv);
                let inv = Arc::new(inv);
                self.index = Arc::new(InventoryIndex::sharded(
                    inv.clone(),
                    self.clock.today(),
                    self.opts.shard,
                ));
                {
                    let mut shared = self.shared.write().unwrap_or_else(|p| p.into_inner());
                    shared.state.retain(&inv);
                    shared.inventory = inv;
                    shared.reload.failed = false;
                    shared.reload.last_success = Some(at);
                }
                self.credentials = creds;
                let wanted = self.wanted();
                self.scheduler.sync(&wanted, self.clock.instant().into_std());
                self.passes.clear();
                if let Err(e) =
                    self.record_inventory(format!("reload: {summary}"), self.clock.now()).await
                {
                    error!(error = %e, "could not store the inventory snapshot");
                }
                info!(%summary, "inventory reloaded");
                Ok(format!("reloaded: {summary}\n"))
            }
        }
    }

    /// Poll everything once, store it, and return what was stored.
    pub async fn run_once(mut self) -> Result<(RunReport, SharedState), AgentError> {
        let start = self.clock.now();
        let (done_tx, mut done_rx) = mpsc::channel(1024);
        let permits = Permits::new(&self.opts);
        let mut tasks = JoinSet::new();
        let wanted = self.wanted();
        self.scheduler.sync(&wanted, self.clock.instant().into_std());
        // Everything is due now: take every task regardless of its spread offset. ICMP and
        // SNMP run side by side: a round trip is the kernel's receive stamp less the send time
        // read just before the send (src/probe/icmp.rs), so the CPU that SNMPv3 key derivation
        // takes can delay an echo but not lengthen its round trip (docs/agent.md).
        let far = self.clock.instant().into_std() + Duration::from_secs(365 * 86400);
        let mut waiting = Waiting::default();
        let mut icmp = Vec::new();
        for key in self.scheduler.take_due(far) {
            match key.probe {
                ProbeKind::Icmp => icmp.push(key),
                ProbeKind::Snmp => waiting.push(key),
            }
        }
        // The polls start first: the inventory snapshot and the seeding from the history (tens
        // of milliseconds at thousands of devices) run while they are on the wire. Results
        // wait in the channel until the state is seeded; the snapshot keeps the time taken
        // before any poll started.
        self.spawn_icmp_batches(icmp, &mut tasks, &done_tx);
        self.launch(&mut waiting, &mut tasks, &permits, &done_tx);
        // Room for every polled device's state at once: grown one doubling at a time, the
        // old and new tables of a doubling at 8,192 devices held 14 MB together.
        let polled = self.index.polled().len();
        self.shared.write().unwrap_or_else(|p| p.into_inner()).state.devices.reserve(polled);
        self.record_inventory("agent start (--once)".into(), start).await?;
        self.seed_from_history().await;
        self.seed_facts().await?;
        // Each result frees a permit: launch the next waiting task as it comes in.
        while !tasks.is_empty() {
            tokio::select! {
                Some(done) = done_rx.recv() => {
                    self.apply(done);
                    self.launch(&mut waiting, &mut tasks, &permits, &done_tx);
                }
                Some(_) = tasks.join_next() => {
                    self.launch(&mut waiting, &mut tasks, &permits, &done_tx);
                }
            }
            // Store as it goes, as the loop does: 10,000 switches of 24 ports are 240,000
            // interface rows, about 100 MiB if held until the end.
            if self.batch.len() >= 5_000 {
                self.store_batch().await?;
            }
        }
        while let Ok(done) = done_rx.try_recv() {
            self.apply(done);
        }
        drop(done_tx);
        while let Some(done) = done_rx.recv().await {
            self.apply(done);
        }
        self.store_batch().await?;
        maintain(&self.store, self.clock, self.opts.raw_retention_days).await;
        Ok((self.report.clone(), self.shared.clone()))
    }

    /// Store the rows gathered so far, now (`--once`; the loop hands them to its writer task).
    async fn store_batch(&mut self) -> Result<(), AgentError> {
        let batch = std::mem::take(&mut self.batch);
        self.report.polls += batch.polls.len();
        self.report.events += batch.events.len();
        let mut batch = batch;
        writer::write_batch(&self.store, &mut batch).await?;
        Ok(())
    }

    /// Run until `control` says shut down (or closes). Returns what was stored.
    pub async fn run(
        mut self,
        mut control: mpsc::Receiver<Control>,
    ) -> Result<RunReport, AgentError> {
        self.record_inventory("agent start".into(), self.clock.now()).await?;
        self.seed_from_history().await;
        self.seed_facts().await?;
        let (done_tx, mut done_rx) = mpsc::channel::<Done>(4096);
        let (write_tx, write_rx) = mpsc::channel::<Batch>(64);
        // Reloads are read and checked on a blocking thread; the loop only applies the result.
        let (loaded_tx, mut loaded_rx) = mpsc::channel::<Loaded>(1);
        let mut reloads = Reloads::default();
        let background = self.spawn_background(write_rx);
        let permits = Permits::new(&self.opts);
        let mut waiting = Waiting::default();
        let mut tasks = JoinSet::new();
        let wanted = self.wanted();
        self.scheduler.sync(&wanted, self.clock.instant().into_std());
        info!(tasks = self.scheduler.len(), shard = %self.opts.shard, "agent polling");

        let mut flush = tokio::time::interval(self.opts.flush_every);
        let far = Duration::from_secs(3600);
        // When due tasks were last taken: the next take waits at least `GATHER` after it.
        let mut taken: Option<Instant> = None;
        loop {
            let next = self.scheduler.next_due().map(Instant::from_std);
            let next = next.map(|due| taken.map_or(due, |t| due.max(t + GATHER)));
            let sleep_until = next.unwrap_or_else(|| self.clock.instant() + far);
            tokio::select! {
                biased;
                msg = control.recv() => match msg {
                    Some(Control::Reload(reply)) => {
                        if reloads.loading {
                            reloads.next.push(reply);
                        } else {
                            reloads.current.push(reply);
                            reloads.start(self.opts.inventory.clone(), loaded_tx.clone());
                        }
                    }
                    Some(Control::Shutdown) | None => {
                        info!(in_flight = tasks.len(), grace_s = self.opts.grace.as_secs(), "shutting down");
                        break;
                    }
                },
                Some(loaded) = loaded_rx.recv() => {
                    let result = self.apply_reload(loaded).await;
                    for reply in reloads.current.drain(..).flatten() {
                        let _ = reply.send(result.clone());
                    }
                    reloads.loading = false;
                    if !reloads.next.is_empty() {
                        reloads.current = std::mem::take(&mut reloads.next);
                        reloads.start(self.opts.inventory.clone(), loaded_tx.clone());
                    }
                }
                Some(done) = done_rx.recv() => {
                    self.apply(done);
                    // Whatever else finished meanwhile is applied in the same wake-up, and the
                    // finished tasks reaped, before one launch: at 10,000 devices a wake-up per
                    // result (and another per task's end) was most of the agent's CPU.
                    for _ in 0..1024 {
                        let Ok(done) = done_rx.try_recv() else { break };
                        self.apply(done);
                    }
                    while tasks.try_join_next().is_some() {}
                    self.launch(&mut waiting, &mut tasks, &permits, &done_tx);
                }
                _ = tokio::time::sleep_until(sleep_until) => {
                    let now = self.clock.instant();
                    taken = Some(now);
                    for key in self.scheduler.take_due(now.into_std()) {
                        waiting.push(key);
                    }
                    self.launch(&mut waiting, &mut tasks, &permits, &done_tx);
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {
                    self.launch(&mut waiting, &mut tasks, &permits, &done_tx);
                }
                _ = flush.tick() => {
                    self.send_batch(&write_tx).await;
                }
            }
            if self.batch.len() >= 5_000 {
                self.send_batch(&write_tx).await;
            }
        }

        // Polls still waiting for a permit never start.
        if !waiting.is_empty() {
            debug!(waiting = waiting.icmp.len() + waiting.snmp.len(), "polls not started");
        }
        permits.close();
        drop(done_tx);
        self.drain(&mut tasks, &mut done_rx).await;
        self.send_batch(&write_tx).await;
        drop(write_tx);
        background.stop().await?;
        info!(
            polls = self.report.polls,
            events = self.report.events,
            "agent stopped; history flushed"
        );
        Ok(self.report)
    }

    /// The store writer, the maintenance and the plan's figures, off the polling loop.
    fn spawn_background(&self, write_rx: mpsc::Receiver<Batch>) -> Background {
        Background {
            writer: tokio::spawn(writer::writer_task(
                self.store.clone(),
                write_rx,
                self.shared.clone(),
                self.clock,
                self.opts.buffer_rows,
            )),
            maintainer: tokio::spawn(maintenance_task(
                self.store.clone(),
                self.clock,
                self.opts.raw_retention_days,
                self.opts.maintenance_every,
            )),
            deriver: tokio::spawn(derive_task(
                self.store.clone(),
                self.shared.clone(),
                self.clock,
                self.opts.derive_every,
            )),
        }
    }

    /// Polls in flight may finish within the grace period; then the rest are cancelled.
    async fn drain(&mut self, tasks: &mut JoinSet<()>, done_rx: &mut mpsc::Receiver<Done>) {
        let deadline = self.clock.instant() + self.opts.grace;
        loop {
            tokio::select! {
                Some(done) = done_rx.recv() => self.apply(done),
                joined = tasks.join_next() => if joined.is_none() { break },
                _ = tokio::time::sleep_until(deadline) => {
                    warn!(cancelled = tasks.len(), "grace period over; cancelling the polls still in flight");
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
            }
        }
        while let Ok(done) = done_rx.try_recv() {
            self.apply(done);
        }
    }

    async fn send_batch(&mut self, tx: &mpsc::Sender<Batch>) {
        if self.batch.len() == 0 {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        self.report.polls += batch.polls.len();
        self.report.events += batch.events.len();
        if tx.send(batch).await.is_err() {
            error!("the store writer is gone; rows were not stored");
        }
    }
}

/// The tasks that run beside the polling loop.
struct Background {
    writer: tokio::task::JoinHandle<Result<(), StoreError>>,
    maintainer: tokio::task::JoinHandle<()>,
    deriver: tokio::task::JoinHandle<()>,
}

impl Background {
    /// Stop the periodic tasks and wait for the writer to store what it was handed.
    async fn stop(self) -> Result<(), AgentError> {
        self.deriver.abort();
        self.maintainer.abort();
        match self.writer.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => error!(error = %e, "the store writer panicked"),
        }
        Ok(())
    }
}

/// Roll up the last finished days and prune raw rows past retention, every `every`, off the
/// polling loop (a roll-up of a busy day takes seconds at 10,000 devices).
async fn maintenance_task(store: Arc<Store>, clock: Clock, retention_days: u32, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        maintain(&store, clock, retention_days).await;
    }
}

/// Roll up the last finished days (idempotent) and prune raw rows past retention.
async fn maintain(store: &Store, clock: Clock, retention_days: u32) {
    let today = clock.today();
    let retention = i64::from(retention_days);
    for back in (1..=retention.min(3)).rev() {
        let day = today - chrono::Duration::days(back);
        if let Err(e) = store.rollup(day).await {
            error!(%day, error = %e, "daily roll-up failed");
        }
    }
    let cutoff = (today - chrono::Duration::days(retention))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    match store.prune(cutoff).await {
        Ok(n) if n > 0 => info!(rows = n, before = %cutoff, "pruned raw history"),
        Ok(_) => {}
        Err(e) => error!(error = %e, "pruning raw history failed"),
    }
}

/// Recompute the plan's figures every `every`, off the polling loop.
async fn derive_task(store: Arc<Store>, shared: SharedState, clock: Clock, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let inv = shared.read().unwrap_or_else(|p| p.into_inner()).inventory.clone();
        let now = clock.now();
        let as_of = crate::history::AsOf::at(now);
        match derived::fetch_history(&store, &inv, as_of, now, now).await {
            Ok(history) => {
                let plan = Arc::new(Plan::compute(&inv, &history, as_of));
                shared.write().unwrap_or_else(|p| p.into_inner()).plan = Some(plan);
            }
            Err(e) => warn!(error = %e, "could not read the history for the plan's figures"),
        }
        // The history and the working sets of the figures are gone: tens of MB at 10,000
        // devices, freed but resident until handed back.
        crate::sys::release_free_memory();
    }
}

/// Resolve every device's SNMP credentials once (secrets are read at start and reload).
fn resolve_credentials(inv: &Inventory) -> Result<HashMap<DeviceId, Arc<Credentials>>, AgentError> {
    let mut out = HashMap::new();
    let mut problems = Vec::new();
    for d in &inv.devices {
        let Some(snmp) = &d.snmp else { continue };
        match Credentials::from_profile(&snmp.profile) {
            Ok(c) => {
                out.insert(d.id.clone(), Arc::new(c));
            }
            Err(e) => problems.push(Diagnostic {
                severity: crate::diag::Severity::Error,
                file: inv.dir.clone(),
                pos: None,
                path: format!("devices ({}).snmp ({})", d.id, snmp.name),
                message: e.to_string(),
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(AgentError::Inventory(inventory::Invalid {
            dir: inv.dir.clone(),
            diagnostics: problems,
        }))
    }
}

/// One ICMP batch: every family's cycle of each device of `keys` through one
/// [`Prober::icmp_many`]; a device's result is handed over once all its cycles are over, its
/// permit (if it holds one) freed just before. False when the loop takes no more results.
async fn icmp_batch<P: Prober>(
    prober: &P,
    index: &InventoryIndex,
    spacing: Option<Duration>,
    clock: Clock,
    keys: Vec<(TaskKey, Option<OwnedSemaphorePermit>)>,
    done: &mpsc::Sender<Done>,
) -> bool {
    let poll = index.inventory().poll;
    let started = clock.now();
    let mut targets = Vec::new();
    let mut owner = Vec::new();
    // Device n's cycles are `targets[first[n]..]`, one per family, in order.
    let mut first = Vec::with_capacity(keys.len());
    for (n, (key, _)) in keys.iter().enumerate() {
        first.push(targets.len());
        let Some(device) = index.device(&key.device) else { continue };
        let settings = CycleSettings {
            count: poll.icmp_count,
            spacing: spacing.unwrap_or_else(|| device.icmp_spacing(&poll)),
            timeout: poll.timeout,
        };
        for address in device.families().filter_map(|f| device.address(f)) {
            targets.push((address, settings));
            owner.push(n);
        }
    }
    let mut left: Vec<usize> = (0..keys.len())
        .map(|n| first.get(n + 1).copied().unwrap_or(targets.len()) - first[n])
        .collect();
    let mut reports: Vec<Vec<Option<IcmpReport>>> = left.iter().map(|n| vec![None; *n]).collect();
    let mut keys: Vec<Option<(TaskKey, Option<OwnedSemaphorePermit>)>> =
        keys.into_iter().map(Some).collect();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cycles = prober.icmp_many(targets, tx);
    let hand_over = async {
        let mut hand = async |n: usize, result: Vec<IcmpReport>| {
            let Some((key, permit)) = keys[n].take() else { return true };
            drop(permit);
            done.send(Done { key, started, result: Polled::Icmp(result) }).await.is_ok()
        };
        // A device without an address to ping has nothing to wait for.
        for n in (0..left.len()).filter(|n| left[*n] == 0) {
            if !hand(n, Vec::new()).await {
                return false;
            }
        }
        while let Some((i, report)) = rx.recv().await {
            let n = owner[i];
            reports[n][i - first[n]] = Some(report);
            left[n] -= 1;
            if left[n] == 0 {
                let result = std::mem::take(&mut reports[n]).into_iter().flatten().collect();
                if !hand(n, result).await {
                    return false;
                }
            }
        }
        true
    };
    let ((), going) = tokio::join!(cycles, hand_over);
    going
}

/// Poll ICMP over every family of the device, concurrently.
async fn icmp_all<P: Prober>(
    prober: &P,
    device: &Device,
    settings: CycleSettings,
) -> Vec<IcmpReport> {
    let cycles =
        device.families().filter_map(|f| device.address(f)).map(|a| prober.icmp(a, settings));
    futures_util::future::join_all(cycles).await
}

/// Poll SNMP over every family: the system group over each (so "SNMP works over IPv6" is a
/// measured fact), the tables over one: IPv4 where the device has it, else IPv6; if that
/// family fails and the other answers, the tables are read over the other. Each poll ends by
/// its deadline, the SNMP interval: a device's task takes two intervals at most.
async fn snmp_all<P: Prober>(
    prober: &P,
    device: &Device,
    credentials: Option<Arc<Credentials>>,
    poll: PollSettings,
) -> Vec<SnmpReport> {
    let Some(credentials) = credentials else { return Vec::new() };
    let full = SnmpQuery {
        system: true,
        interfaces: true,
        entity: true,
        host_resources: device.class == crate::inventory::DeviceClass::Server,
        radio: crate::probe::RadioQuery::for_class(device.class),
        optics: crate::probe::optics_for_class(device.class),
    };
    let target = |address: IpAddr| SnmpTarget {
        address,
        port: 161,
        credentials: (*credentials).clone(),
        timeout: poll.timeout,
        retries: poll.retries,
        deadline: poll.snmp_interval,
    };
    let families: Vec<Family> = device.families().collect();
    let Some(primary) = families.first().and_then(|f| device.address(*f)) else {
        return Vec::new();
    };
    let secondary = families.get(1).and_then(|f| device.address(*f));
    let (first, second) = match secondary {
        Some(addr) => {
            let (a, b) = tokio::join!(
                prober.snmp(target(primary), full),
                prober.snmp(target(addr), SnmpQuery::SYSTEM)
            );
            (a, Some(b))
        }
        None => (prober.snmp(target(primary), full).await, None),
    };
    let mut out = vec![first];
    if let Some(mut second) = second {
        if !out[0].ok() && second.ok() {
            // The tables could not be read over the primary family: read them over this one.
            second = prober.snmp(target(second.address), full).await;
        }
        out.push(second);
    }
    out
}

fn secs(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

/// A poll row with what every probe records; the probe's own figures empty.
#[allow(clippy::too_many_arguments)]
fn poll_row(
    agent: &str,
    d: &Device,
    at: DateTime<Utc>,
    family: Family,
    probe: ProbeKind,
    outcome: PollOutcome,
    success: bool,
    duration_s: f64,
) -> PollRecord {
    PollRecord {
        at,
        agent: agent.to_owned(),
        device: d.id.clone(),
        site: d.site.clone(),
        family,
        probe,
        outcome,
        success,
        sent: None,
        received: None,
        rtt_min_s: None,
        rtt_avg_s: None,
        rtt_max_s: None,
        jitter_s: None,
        duration_s,
        system: SystemInfo::default(),
    }
}

fn icmp_row(agent: &str, d: &Device, at: DateTime<Utc>, r: &IcmpReport) -> PollRecord {
    let duration_s = r.rtts.iter().max().map_or(0.0, |d| d.as_secs_f64());
    let outcome = r.outcome.into();
    PollRecord {
        sent: Some(r.sent),
        received: Some(r.received),
        rtt_min_s: secs(r.rtt_min()),
        rtt_avg_s: secs(r.rtt_avg()),
        rtt_max_s: secs(r.rtt_max()),
        jitter_s: secs(r.jitter()),
        ..poll_row(agent, d, at, r.family, ProbeKind::Icmp, outcome, r.reachable(), duration_s)
    }
}

fn snmp_row(agent: &str, d: &Device, at: DateTime<Utc>, r: &SnmpReport) -> PollRecord {
    let duration_s = r.elapsed.as_secs_f64();
    let outcome = r.outcome.into();
    PollRecord {
        system: r.system.clone().unwrap_or_default(),
        ..poll_row(agent, d, at, r.family, ProbeKind::Snmp, outcome, r.ok(), duration_s)
    }
}

/// "+2 devices, -1 device, 3 sites changed medium" between two inventories.
fn change_summary(old: &Inventory, new: &Inventory) -> String {
    let old_ids: HashSet<&str> = old.devices.iter().map(|d| d.id.as_str()).collect();
    let new_ids: HashSet<&str> = new.devices.iter().map(|d| d.id.as_str()).collect();
    let added = new_ids.difference(&old_ids).count();
    let removed = old_ids.difference(&new_ids).count();
    let media =
        new.sites.iter().filter(|s| old.site(&s.id).is_some_and(|o| o.link != s.link)).count();
    format!(
        "{added} device(s) added, {removed} removed, {media} site(s) changed medium; {} devices",
        new.devices.len()
    )
}

/// An inventory read and checked, with its warnings and every device's credentials; or
/// every diagnostic of a refused one.
type Loaded =
    Result<(Inventory, Vec<Diagnostic>, HashMap<DeviceId, Arc<Credentials>>), Vec<Diagnostic>>;

/// Read and check the inventory for a reload: blocking (files, YAML, secrets), so it runs on a
/// blocking thread, never on the polling loop.
fn load_checked(dir: &std::path::Path) -> Loaded {
    inventory::load(dir, Secrets::Require).map_err(|invalid| invalid.diagnostics).and_then(
        |(inv, warnings)| match resolve_credentials(&inv) {
            Ok(creds) => Ok((inv, warnings, creds)),
            Err(AgentError::Inventory(invalid)) => Err(invalid.diagnostics),
            Err(e) => Err(vec![Diagnostic {
                severity: crate::diag::Severity::Error,
                file: dir.to_path_buf(),
                pos: None,
                path: String::new(),
                message: e.to_string(),
            }]),
        },
    )
}

/// Reloads asked for and not answered yet: the ones the load in flight will answer, and the
/// ones that came after it started (the files may have changed since), which get a load of
/// their own.
#[derive(Default)]
struct Reloads {
    loading: bool,
    current: Vec<Option<oneshot::Sender<Result<String, String>>>>,
    next: Vec<Option<oneshot::Sender<Result<String, String>>>>,
}

impl Reloads {
    /// Start a load on a blocking thread; its result comes back on `tx`.
    fn start(&mut self, dir: PathBuf, tx: mpsc::Sender<Loaded>) {
        self.loading = true;
        tokio::spawn(async move {
            let loaded = tokio::task::spawn_blocking(move || load_checked(&dir)).await;
            let loaded = loaded.unwrap_or_else(|e| {
                Err(vec![Diagnostic {
                    severity: crate::diag::Severity::Error,
                    file: PathBuf::new(),
                    pos: None,
                    path: String::new(),
                    message: format!("loading the inventory failed: {e}"),
                }])
            });
            let _ = tx.send(loaded).await;
        });
    }
}

/// Forward reload requests from HTTP into the control channel.
pub async fn forward_reloads(
    mut rx: mpsc::Receiver<ReloadRequest>,
    control: mpsc::Sender<Control>,
) {
    while let Some(req) = rx.recv().await {
        if control.send(Control::Reload(Some(req.reply))).await.is_err() {
            break;
        }
    }
}

/// SIGTERM/SIGINT become [`Control::Shutdown`], SIGHUP a reload.
pub fn watch_signals(control: mpsc::Sender<Control>) -> Result<(), AgentError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(AgentError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(AgentError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(AgentError::Signals)?;
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                _ = term.recv() => Control::Shutdown,
                _ = int.recv() => Control::Shutdown,
                _ = hup.recv() => Control::Reload(None),
            };
            let stop = matches!(msg, Control::Shutdown);
            if control.send(msg).await.is_err() || stop {
                break;
            }
        }
    });
    Ok(())
}

/// Poll every polled device once now (ICMP over each family, the SNMP system group over each
/// family) and return the rows, for `vigia check ipv6 --probe`.
pub async fn poll_now<P: Prober>(
    prober: Arc<P>,
    inv: &Inventory,
    credentials: &HashMap<DeviceId, Arc<Credentials>>,
    clock: Clock,
    max_in_flight: usize,
) -> Vec<PollRecord> {
    let permits = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let mut tasks = JoinSet::new();
    let day = clock.today();
    for device in inv.polled_devices(day).cloned() {
        let prober = prober.clone();
        let permits = permits.clone();
        let creds = credentials.get(&device.id).cloned();
        let poll = inv.poll;
        tasks.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else { return Vec::new() };
            let at = clock.now();
            let settings = CycleSettings {
                count: poll.icmp_count,
                spacing: device.icmp_spacing(&poll),
                timeout: poll.timeout,
            };
            let mut rows: Vec<PollRecord> = if device.icmp {
                icmp_all(&*prober, &device, settings)
                    .await
                    .iter()
                    .map(|r| icmp_row("probe", &device, at, r))
                    .collect()
            } else {
                Vec::new()
            };
            if let Some(creds) = creds {
                for family in device.families().collect::<Vec<_>>() {
                    let Some(address) = device.address(family) else { continue };
                    let target = SnmpTarget {
                        address,
                        port: 161,
                        credentials: (*creds).clone(),
                        timeout: poll.timeout,
                        retries: poll.retries,
                        deadline: poll.snmp_interval,
                    };
                    let r = prober.snmp(target, SnmpQuery::SYSTEM).await;
                    rows.push(snmp_row("probe", &device, at, &r));
                }
            }
            rows
        });
    }
    let mut out = Vec::new();
    while let Some(rows) = tasks.join_next().await {
        out.extend(rows.unwrap_or_default());
    }
    out
}

/// Every device's SNMP credentials, for commands that poll outside the agent.
pub fn credentials(inv: &Inventory) -> Result<HashMap<DeviceId, Arc<Credentials>>, AgentError> {
    resolve_credentials(inv)
}

#[cfg(test)]
mod tests;
