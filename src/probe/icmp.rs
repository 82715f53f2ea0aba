//! ICMP echo over IPv4 and IPv6: vigia's own small engine, one socket per family for the whole
//! process.
//!
//! - **Sockets.** A raw socket where the process may open one (root, or `CAP_NET_RAW`), else a
//!   datagram ping socket (`net.ipv4.ping_group_range`). One per family: with raw sockets every
//!   socket sees every ICMP packet of the host, so a socket per target would cost O(N²). The
//!   receive buffer is raised to 4 MiB so that a burst of thousands of replies is not dropped
//!   before it is read.
//! - **Round-trip times from the kernel.** `SO_TIMESTAMPNS` makes the kernel stamp each reply
//!   as it arrives; the send time is read on the same clock just before the `sendto` call. A
//!   burst of thousands of echoes thus measures the network, not how long vigia took to read
//!   the replies (fping does the same). Where no stamp comes, or the wall clock stepped
//!   between send and receive, the monotonic time from before the send to the read is used:
//!   longer, never shorter, than the path's.
//! - **Matching.** One receiver thread per family reads every reply queued (non-blocking
//!   `recvmsg` until none is left), matches it by (address, identifier, sequence) to the echo
//!   waiting for it and completes that echo directly. Woken by a reply, it first lets
//!   [`READ_DELAY`] pass, so that a burst is read in batches rather than with a wake-up per
//!   reply; the kernel's stamps make the delay invisible in the round trips. The socket is
//!   registered with tokio for writability only, so replies do not wake the runtime. Every echo of the process has its own
//!   (identifier, sequence) pair from a counter that starts at a random point, so two vigia
//!   processes (the agent and `vigia probe` beside it) do not take each other's replies; a
//!   datagram socket's identifier is the kernel's, so there the sequence alone tells echoes
//!   to one address apart.
//! - **Pacing.** Echoes of one cycle to one address are `spacing` apart (fping's `-p`), and
//!   every echo of the process waits for its slot of the global gap (fping's `-i`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

use super::{Family, IcmpOutcome, IcmpReport};

/// Receive buffer asked for each ICMP socket (measured: 4 MiB loses nothing in a burst of 4,000
/// replies; the default lost up to 307).
const RECV_BUFFER_BYTES: usize = 4 << 20;

/// ICMPv4 echo request and reply types.
const ICMPV4_ECHO_REQUEST: u8 = 8;
const ICMPV4_ECHO_REPLY: u8 = 0;
/// ICMPv6 echo request and reply types.
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;

/// How long the receiver lets replies gather after the first wakes it (see the module doc).
const READ_DELAY: Duration = Duration::from_micros(500);

/// How often an idle receiver looks whether its engine is gone.
const IDLE_CHECK: Duration = Duration::from_millis(100);

/// How much later than the monotonic clock a kernel stamp may put a reply before it is not
/// believed (the wall clock is slewed by NTP; a step is much larger).
const STAMP_SLACK: Duration = Duration::from_millis(1);

/// vigia itself cannot do ICMP here.
#[derive(Debug, thiserror::Error)]
pub enum IcmpError {
    /// Neither raw nor datagram ICMP sockets may be opened by this process.
    #[error(
        "cannot open an ICMP socket for {family}: {source}. vigia needs either a raw socket \
         (run as root, or grant CAP_NET_RAW: `setcap cap_net_raw+ep {exe}`) or datagram ping \
         sockets (`sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`; now it is \"{range}\")"
    )]
    Permission {
        /// The family that failed.
        family: Family,
        /// The system's error.
        source: io::Error,
        /// The running executable, for the setcap hint.
        exe: String,
        /// The current ping_group_range.
        range: String,
    },
    /// The socket could not be opened for another reason.
    #[error("cannot open an ICMP socket for {family}: {source}")]
    Socket {
        /// The family that failed.
        family: Family,
        /// The system's error.
        source: io::Error,
    },
}

/// How the echoes of one cycle are spaced and waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleSettings {
    /// Echoes per cycle.
    pub count: u32,
    /// Time between two echoes to the same address (fping's `-p`).
    pub spacing: Duration,
    /// How long to wait for each reply.
    pub timeout: Duration,
}

/// The shared ICMP sockets, one per family. Cheap to clone.
#[derive(Clone)]
pub struct Icmp {
    v4: Result<Arc<Engine>, String>,
    v6: Result<Arc<Engine>, String>,
    pacer: Arc<Pacer>,
}

/// The default time between any two echoes of the process (`vigia agent --icmp-gap`): 20,000
/// echoes a second at most, ten times what 10,000 dual-stack devices ask at the default
/// intervals (3 echoes each per 30 s: 2,000 a second), so the steady schedule never waits on
/// it, while a burst (`--once`, or the agent's start) is spread instead of sent at wire speed.
pub const DEFAULT_GAP: Duration = Duration::from_micros(50);

/// Spaces every echo of the process at least `gap` from the one before (fping's `-i`). Each
/// echo takes the next free slot; tokio's timer wakes in milliseconds, so echoes whose slots
/// fall in one millisecond leave together: the rate holds, at a millisecond's grain.
struct Pacer {
    gap: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(gap: Duration) -> Pacer {
        Pacer { gap, next: Mutex::new(None) }
    }

    /// Wait for this echo's slot.
    async fn slot(&self) {
        if self.gap.is_zero() {
            return;
        }
        let now = crate::clock::monotonic();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.gap);
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }
}

/// Counts of how replies were timed, for tests and diagnostics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Replies timed from the kernel's receive stamp.
    pub kernel: u64,
    /// Replies timed by the monotonic clock (no stamp, or the wall clock stepped).
    pub monotonic: u64,
}

impl Icmp {
    /// Open one socket per family (raw where allowed, datagram ping sockets otherwise), each
    /// with its receiver task: call it inside a tokio runtime. Fails when neither family can
    /// be opened, saying what to grant; a family the kernel lacks is reported per cycle
    /// instead.
    pub fn open() -> Result<Icmp, IcmpError> {
        let v4 = Engine::open(Family::Ipv4);
        let v6 = Engine::open(Family::Ipv6);
        match (v4, v6) {
            (Err(e), Err(_)) => Err(e),
            (v4, v6) => Ok(Icmp {
                v4: v4.map_err(|e| e.to_string()),
                v6: v6.map_err(|e| e.to_string()),
                pacer: Arc::new(Pacer::new(DEFAULT_GAP)),
            }),
        }
    }

    /// No sockets: every cycle is a send error saying ICMP is off (`vigia agent --no-icmp`,
    /// where the agent asks for no cycle at all).
    pub fn off() -> Icmp {
        let off = Err("ICMP is off in this run (--no-icmp)".to_owned());
        Icmp { v4: off.clone(), v6: off, pacer: Arc::new(Pacer::new(Duration::ZERO)) }
    }

    /// The same sockets, with `gap` at least between any two echoes sent through them.
    pub fn with_gap(self, gap: Duration) -> Icmp {
        Icmp { pacer: Arc::new(Pacer::new(gap)), ..self }
    }

    /// How the replies so far were timed, both families together.
    pub fn timing(&self) -> Timing {
        let mut t = Timing::default();
        for engine in [&self.v4, &self.v6].into_iter().flatten() {
            t.kernel += engine.shared.kernel_stamps.load(Ordering::Relaxed);
            t.monotonic += engine.shared.monotonic_stamps.load(Ordering::Relaxed);
        }
        t
    }

    /// One cycle to `address`: `count` echoes, at least `spacing` apart and each in its slot
    /// of the global gap, each waited for `timeout` from its send.
    pub async fn cycle(&self, address: IpAddr, settings: CycleSettings) -> IcmpReport {
        let family = if address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 };
        let mut report = IcmpReport {
            family,
            address,
            outcome: IcmpOutcome::Timeout,
            sent: 0,
            received: 0,
            rtts: Vec::new(),
            detail: None,
        };
        let engine = match (family, &self.v4, &self.v6) {
            (Family::Ipv4, Ok(e), _) | (Family::Ipv6, _, Ok(e)) => e,
            (Family::Ipv4, Err(e), _) | (Family::Ipv6, _, Err(e)) => {
                report.outcome = IcmpOutcome::SendError;
                report.detail = Some(e.clone());
                return report;
            }
        };
        // Sends one after the other, each at least `spacing` after the one before (a slot of
        // the gap may push one later, never the next one closer); waits side by side.
        let mut waits = Vec::with_capacity(settings.count as usize);
        let mut send_error = None;
        let mut last: Option<Instant> = None;
        for _ in 0..settings.count {
            if let Some(last) = last {
                tokio::time::sleep_until(last + settings.spacing).await;
            }
            self.pacer.slot().await;
            match engine.send(address).await {
                Ok(echo) => {
                    last = Some(echo.sent_at);
                    waits.push(echo.wait(settings.timeout));
                }
                Err(e) => {
                    send_error = Some(e.to_string());
                    break;
                }
            }
        }
        report.sent = u32::try_from(waits.len()).unwrap_or(u32::MAX);
        let replies = futures_util::future::join_all(waits).await;
        conclude(&mut report, replies, send_error, settings.timeout);
        report
    }

    /// Many cycles at once (`vigia agent --once`): each target's report, the same as
    /// [`Icmp::cycle`] would give, goes to `out` with the target's index as soon as its cycle
    /// is over (its last reply in, or its last echo's timeout past). Instead of a task, timers
    /// and a channel per echo, each family's echoes go out from one task in the order they
    /// fall due (every echo of a target `spacing` after its previous one, each in its slot of
    /// the global gap), replies are written straight into one table, and the two families'
    /// tasks send side by side. Needs a tokio runtime.
    pub async fn cycles(
        &self,
        targets: Vec<(IpAddr, CycleSettings)>,
        out: mpsc::UnboundedSender<(usize, IcmpReport)>,
    ) {
        let mut runs = Vec::new();
        for family in [Family::Ipv4, Family::Ipv6] {
            let (index, mine): (Vec<usize>, Vec<(IpAddr, CycleSettings)>) = targets
                .iter()
                .enumerate()
                .filter(|(_, (a, _))| a.is_ipv4() == (family == Family::Ipv4))
                .map(|(i, t)| (i, *t))
                .unzip();
            if mine.is_empty() {
                continue;
            }
            let engine = match family {
                Family::Ipv4 => &self.v4,
                Family::Ipv6 => &self.v6,
            };
            match engine {
                Ok(engine) => {
                    let (engine, pacer, out) = (engine.clone(), self.pacer.clone(), out.clone());
                    runs.push(tokio::spawn(async move {
                        let emit = |i: usize, report| {
                            let _ = out.send((index[i], report));
                        };
                        engine.batch(&pacer, &mine, emit).await;
                    }));
                }
                Err(e) => {
                    for (i, (address, _)) in index.into_iter().zip(mine) {
                        let report = IcmpReport {
                            family,
                            address,
                            outcome: IcmpOutcome::SendError,
                            sent: 0,
                            received: 0,
                            rtts: Vec::new(),
                            detail: Some(e.clone()),
                        };
                        let _ = out.send((i, report));
                    }
                }
            }
        }
        for run in runs {
            if let Err(e) = run.await {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
}

/// Fill in a cycle's outcome from the replies to its echoes, in the order they were sent
/// (`None`: none within the timeout), and the send error that cut it short, if any.
fn conclude(
    report: &mut IcmpReport,
    replies: impl IntoIterator<Item = Option<Reply>>,
    send_error: Option<String>,
    timeout: Duration,
) {
    let mut unreachable = None;
    for reply in replies {
        match reply {
            Some(Reply::Echo(rtt)) => {
                report.received += 1;
                report.rtts.push(rtt);
            }
            Some(Reply::Error(what)) => unreachable = Some(what),
            None => {}
        }
    }
    (report.outcome, report.detail) = if report.received > 0 {
        (IcmpOutcome::Ok, None)
    } else if let Some(what) = unreachable {
        (IcmpOutcome::Unreachable, Some(what))
    } else if let Some(e) = send_error {
        (IcmpOutcome::SendError, Some(e))
    } else {
        let detail =
            format!("no reply to {} echo(es) within {} ms each", report.sent, timeout.as_millis());
        (IcmpOutcome::Timeout, Some(detail))
    };
}

/// 16 bytes of payload: a reply must carry them back, so another program's echo that happens
/// to share an identifier and sequence is not taken for ours.
const PAYLOAD: [u8; 16] = *b"vigia-icmp-probe";

/// What came back for one echo.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    /// An echo reply, after this round trip.
    Echo(Duration),
    /// An ICMP error quoting the echo (destination unreachable, time exceeded...), said in
    /// words.
    Error(String),
}

/// Which echo a packet answers: the address it was sent to, its identifier (0 on a datagram
/// socket, where the kernel owns it) and its sequence.
type Key = (IpAddr, u16, u16);

/// Where the reply to an echo goes.
enum Deliver {
    /// To the one cycle waiting for it.
    One(oneshot::Sender<Reply>),
    /// Into its slot of a batch's table ([`Icmp::cycles`]).
    Batch(Arc<Table>, usize),
}

/// The replies of a batch of cycles ([`Icmp::cycles`]).
struct Table {
    inner: Mutex<TableInner>,
    /// Echoes sent and not answered yet.
    waiting: AtomicUsize,
    /// Told when a target's cycle is complete or `waiting` reaches zero.
    answered: Notify,
}

struct TableInner {
    /// One slot per echo (`per` slots per target), with how long after its send the reply
    /// came (to hold it to its timeout as a single cycle's wait does).
    replies: Vec<Option<(Reply, Duration)>>,
    /// Slots per target.
    per: usize,
    /// Echoes each target's cycle sends, and how many of its were answered so far.
    expected: Vec<u32>,
    answers: Vec<u32>,
    /// Targets every echo of which was answered, not reported yet.
    complete: Vec<usize>,
}

impl TableInner {
    /// Put a reply in its slot; a target whose every echo is answered is complete (true).
    fn put(&mut self, slot: usize, reply: Reply, after: Duration) -> bool {
        let Some(place) = self.replies.get_mut(slot) else { return false };
        *place = Some((reply, after));
        let target = slot / self.per;
        self.answers[target] += 1;
        if self.answers[target] == self.expected[target] {
            self.complete.push(target);
            return true;
        }
        false
    }
}

/// An echo waiting for its reply.
struct Waiter {
    reply: Deliver,
    /// The wall clock just before the send, against the kernel's receive stamp.
    sent_wall: Duration,
    /// The monotonic clock just before the send, for the fallback and the timeout.
    sent_at: Instant,
}

/// Raw or datagram socket: they differ in what a read returns and who owns the identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Raw,
    Datagram,
}

/// What the receiver task and the senders share.
struct Shared {
    family: Family,
    kind: Kind,
    socket: AsyncFd<Socket>,
    pending: Mutex<HashMap<Key, Waiter>>,
    /// The next (identifier << 16 | sequence).
    next: AtomicU32,
    kernel_stamps: AtomicU64,
    monotonic_stamps: AtomicU64,
}

/// One family's socket and its receiver thread (stopped when the last `Icmp` clone goes).
struct Engine {
    shared: Arc<Shared>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// An echo sent, waiting for its reply.
struct Sent {
    shared: Arc<Shared>,
    key: Key,
    sent_at: Instant,
    reply: oneshot::Receiver<Reply>,
}

impl Sent {
    /// The reply, or `None` when none came within `timeout` of the send.
    async fn wait(self, timeout: Duration) -> Option<Reply> {
        let Sent { shared, key, sent_at, reply } = self;
        let got = tokio::time::timeout_at(sent_at + timeout, reply).await;
        match got {
            Ok(Ok(Reply::Echo(rtt))) if rtt > timeout => None,
            Ok(Ok(reply)) => Some(reply),
            _ => {
                shared.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                None
            }
        }
    }
}

impl Engine {
    fn open(family: Family) -> Result<Arc<Engine>, IcmpError> {
        let (domain, protocol) = match family {
            Family::Ipv4 => (Domain::IPV4, Protocol::ICMPV4),
            Family::Ipv6 => (Domain::IPV6, Protocol::ICMPV6),
        };
        let (kind, socket) = match Socket::new(domain, Type::RAW, Some(protocol)) {
            Ok(s) => (Kind::Raw, s),
            Err(raw) if raw.kind() == io::ErrorKind::PermissionDenied => {
                match Socket::new(domain, Type::DGRAM, Some(protocol)) {
                    Ok(s) => (Kind::Datagram, s),
                    Err(source) => return Err(permission(family, source)),
                }
            }
            Err(source) => return Err(IcmpError::Socket { family, source }),
        };
        let fail = |source| IcmpError::Socket { family, source };
        socket.set_nonblocking(true).map_err(fail)?;
        let fd = socket.as_raw_fd();
        crate::sys::set_socket_option(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)
            .map_err(fail)?;
        raise_receive_buffer(fd);
        let shared = Arc::new(Shared {
            family,
            kind,
            socket: crate::sys::async_socket(socket).map_err(fail)?,
            pending: Mutex::new(HashMap::new()),
            next: AtomicU32::new(rand::random()),
            kernel_stamps: AtomicU64::new(0),
            monotonic_stamps: AtomicU64::new(0),
        });
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (for_thread, stopped) = (shared.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("icmp-{family}"))
            .spawn(move || receive(&for_thread, &stopped))
            .map_err(fail)?;
        Ok(Arc::new(Engine { shared, stop }))
    }

    /// Send one echo to `address` now (waiting only if the socket's send buffer is full).
    async fn send(&self, address: IpAddr) -> io::Result<Sent> {
        let (tx, rx) = oneshot::channel();
        let (key, sent_at) = self.send_to(address, Deliver::One(tx)).await?;
        Ok(Sent { shared: self.shared.clone(), key, sent_at, reply: rx })
    }

    /// Send one echo to `address` now, its reply to go to `deliver`; its key and the
    /// monotonic time just before the send.
    async fn send_to(&self, address: IpAddr, deliver: Deliver) -> io::Result<(Key, Instant)> {
        let shared = &self.shared;
        let to = SockAddr::from(SocketAddr::new(address, 0));
        let mut tx = Some(deliver);
        loop {
            let mut guard = shared.socket.writable().await?;
            // A fresh (identifier, sequence) no echo in flight to this address holds.
            let (key, sent_at) = {
                let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
                let key = loop {
                    let n = shared.next.fetch_add(1, Ordering::Relaxed);
                    let ident = if shared.kind == Kind::Raw { (n >> 16) as u16 } else { 0 };
                    let key = (address, ident, n as u16);
                    if !pending.contains_key(&key) {
                        break key;
                    }
                };
                // The clocks are read last before the send: a round trip can only read long
                // by the map insert and the system call's entry, never short.
                let sent_wall = crate::sys::wall_clock();
                let sent_at = crate::clock::monotonic();
                let reply = tx.take().expect("a sender per attempt");
                pending.insert(key, Waiter { reply, sent_wall, sent_at });
                (key, sent_at)
            };
            let packet = echo_request(shared.family, key.1, key.2);
            match guard.try_io(|s| s.get_ref().send_to(&packet, &to)) {
                Ok(Ok(_)) => return Ok((key, sent_at)),
                Ok(Err(e)) => {
                    shared.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                    return Err(e);
                }
                Err(_would_block) => {
                    // Take the waiter back for the next attempt.
                    let waiter =
                        shared.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                    tx = waiter.map(|w| w.reply);
                    if tx.is_none() {
                        return Err(io::Error::other("echo waiter lost while the socket was full"));
                    }
                }
            }
        }
    }
}

impl Engine {
    /// The cycles of [`Icmp::cycles`] over this family: each target's report to `emit` with
    /// its index in `targets`, as soon as its cycle is over.
    async fn batch(
        &self,
        pacer: &Pacer,
        targets: &[(IpAddr, CycleSettings)],
        mut emit: impl FnMut(usize, IcmpReport),
    ) {
        let per = targets.iter().map(|(_, s)| s.count as usize).max().unwrap_or(0).max(1);
        let slots = targets.len() * per;
        let table = Arc::new(Table {
            inner: Mutex::new(TableInner {
                replies: std::iter::repeat_with(|| None).take(slots).collect(),
                per,
                expected: targets.iter().map(|(_, s)| s.count).collect(),
                answers: vec![0; targets.len()],
                complete: Vec::new(),
            }),
            waiting: AtomicUsize::new(0),
            answered: Notify::new(),
        });
        let mut state = BatchState {
            family: self.shared.family,
            targets,
            per,
            count: vec![0; targets.len()],
            send_error: vec![None; targets.len()],
            reported: vec![false; targets.len()],
        };
        // What was sent: each echo's key (the unanswered are forgotten at the end, even if
        // this future is dropped) and send time.
        let mut sent = Forget { shared: &self.shared, keys: vec![None; slots] };
        let mut sent_at: Vec<Option<Instant>> = vec![None; slots];
        // Echoes in the order they fall due: a target's first now, each next `spacing` after
        // the one before (a slot of the gap may push one later, never the next one closer).
        let start = crate::clock::monotonic();
        let mut due: BinaryHeap<Reverse<(Instant, usize)>> = targets
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| s.count > 0)
            .map(|(i, _)| Reverse((start, i)))
            .collect();
        let mut sends = 0usize;
        while let Some(Reverse((at, i))) = due.pop() {
            if at > crate::clock::monotonic() {
                state.report_complete(&table, &mut emit);
                tokio::time::sleep_until(at).await;
            }
            pacer.slot().await;
            let (address, settings) = targets[i];
            let slot = i * per + state.count[i] as usize;
            table.waiting.fetch_add(1, Ordering::AcqRel);
            match self.send_to(address, Deliver::Batch(table.clone(), slot)).await {
                Ok((key, at)) => {
                    sent.keys[slot] = Some(key);
                    sent_at[slot] = Some(at);
                    state.count[i] += 1;
                    if state.count[i] < settings.count {
                        due.push(Reverse((at + settings.spacing, i)));
                    }
                }
                Err(e) => {
                    table.waiting.fetch_sub(1, Ordering::AcqRel);
                    state.send_error[i] = Some(e.to_string());
                }
            }
            sends += 1;
            if sends.is_multiple_of(REPORT_EVERY) {
                state.report_complete(&table, &mut emit);
            }
        }
        // Wait for the last reply, or the last echo's timeout, reporting cycles as they end:
        // woken by each completed cycle (a burst of them is one wake-up), not by a clock.
        let deadline = sent_at
            .iter()
            .enumerate()
            .filter_map(|(slot, at)| Some(*at.as_ref()? + targets[slot / per].1.timeout))
            .max();
        if let Some(deadline) = deadline {
            loop {
                state.report_complete(&table, &mut emit);
                if table.waiting.load(Ordering::Acquire) == 0 {
                    break;
                }
                let woken = tokio::time::timeout_at(deadline, table.answered.notified()).await;
                if woken.is_err() {
                    break;
                }
            }
        }
        drop(sent);
        state.report_complete(&table, &mut emit);
        // The rest: cycles with an echo unanswered, or cut short by a send error.
        let mut inner = table.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut rest = Vec::new();
        for i in 0..targets.len() {
            if !state.reported[i] {
                rest.push((i, state.report(i, &mut inner.replies)));
            }
        }
        drop(inner);
        for (i, report) in rest {
            emit(i, report);
        }
    }
}

/// Echoes sent between two looks for finished cycles while a batch sends.
const REPORT_EVERY: usize = 256;

/// What a batch knows of its targets' cycles.
struct BatchState<'a> {
    family: Family,
    targets: &'a [(IpAddr, CycleSettings)],
    per: usize,
    /// Echoes sent to each target.
    count: Vec<u32>,
    /// The send error that cut a target's cycle short.
    send_error: Vec<Option<String>>,
    reported: Vec<bool>,
}

impl BatchState<'_> {
    /// Report every target whose echoes were all answered.
    fn report_complete(&mut self, table: &Table, emit: &mut impl FnMut(usize, IcmpReport)) {
        let mut inner = table.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.complete.is_empty() {
            return;
        }
        let complete = std::mem::take(&mut inner.complete);
        let reports: Vec<(usize, IcmpReport)> =
            complete.into_iter().map(|i| (i, self.report(i, &mut inner.replies))).collect();
        drop(inner);
        for (i, report) in reports {
            emit(i, report);
        }
    }

    /// Target `i`'s report from the replies in its slots (taken out).
    fn report(&mut self, i: usize, replies: &mut [Option<(Reply, Duration)>]) -> IcmpReport {
        self.reported[i] = true;
        let (address, settings) = self.targets[i];
        let mut report = IcmpReport {
            family: self.family,
            address,
            outcome: IcmpOutcome::Timeout,
            sent: self.count[i],
            received: 0,
            rtts: Vec::new(),
            detail: None,
        };
        // As a single cycle's wait: a reply counts if it came within the timeout of its
        // echo's send, and an echo reply's round trip is within it too.
        let timeout = settings.timeout;
        let got = (0..self.count[i] as usize).map(|k| match replies[i * self.per + k].take() {
            Some((Reply::Echo(rtt), _)) if rtt > timeout => None,
            Some((reply, after)) if after <= timeout => Some(reply),
            _ => None,
        });
        conclude(&mut report, got, self.send_error[i].take(), timeout);
        report
    }
}

/// The keys of a batch's echoes: those still waiting for a reply when it ends (or is dropped)
/// leave the engine's waiting list.
struct Forget<'a> {
    shared: &'a Shared,
    keys: Vec<Option<Key>>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let mut pending = self.shared.pending.lock().unwrap_or_else(|p| p.into_inner());
        for key in self.keys.iter().flatten() {
            pending.remove(key);
        }
    }
}

/// The receiver of one family, on its own thread: wait for a reply, let a burst gather, read
/// every packet queued and complete the echo each answers; until the engine is dropped.
fn receive(shared: &Shared, stop: &std::sync::atomic::AtomicBool) {
    let fd = shared.socket.get_ref().as_raw_fd();
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        match crate::sys::wait_readable(fd, IDLE_CHECK) {
            Ok(true) => std::thread::sleep(READ_DELAY),
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(family = %shared.family, error = %e, "ICMP receiver stopped");
                return;
            }
        }
        loop {
            match crate::sys::recv_timestamped(fd, &mut buf) {
                Ok(d) => deliver(shared, &buf[..d.len], d),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        tracing::debug!(family = %shared.family, error = %e, "ICMP receive failed");
                    }
                    break;
                }
            }
        }
    }
}

/// Match one packet to its echo and complete it.
fn deliver(shared: &Shared, packet: &[u8], d: crate::sys::Datagram) {
    let Some((key, reply)) = classify(shared.family, shared.kind, packet, d.from) else { return };
    let waiter = shared.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
    let Some(waiter) = waiter else { return };
    let elapsed = waiter.sent_at.elapsed();
    let reply = match reply {
        Parsed::Echo => {
            let stamped = d
                .received_at
                .and_then(|at| at.checked_sub(waiter.sent_wall))
                .filter(|rtt| *rtt <= elapsed + STAMP_SLACK);
            let counter =
                if stamped.is_some() { &shared.kernel_stamps } else { &shared.monotonic_stamps };
            counter.fetch_add(1, Ordering::Relaxed);
            Reply::Echo(stamped.unwrap_or(elapsed))
        }
        Parsed::Error(what) => Reply::Error(what),
    };
    match waiter.reply {
        Deliver::One(tx) => {
            let _ = tx.send(reply);
        }
        Deliver::Batch(table, slot) => {
            let complete =
                table.inner.lock().unwrap_or_else(|p| p.into_inner()).put(slot, reply, elapsed);
            if table.waiting.fetch_sub(1, Ordering::AcqRel) == 1 || complete {
                table.answered.notify_one();
            }
        }
    }
}

/// What a packet says about an echo of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parsed {
    /// It is the echo's reply.
    Echo,
    /// It is an ICMP error quoting the echo, in words.
    Error(String),
}

/// Which echo `packet` answers and how, or `None` for anything else (other programs' traffic,
/// echo requests, garbled bytes). A raw IPv4 socket hands over the IP header too; ICMPv6 and
/// datagram sockets the ICMP message alone, its sender in `from`.
fn classify(
    family: Family,
    kind: Kind,
    packet: &[u8],
    from: Option<IpAddr>,
) -> Option<(Key, Parsed)> {
    let (icmp, source) = match (family, kind) {
        (Family::Ipv4, Kind::Raw) => {
            let header = usize::from(*packet.first()? & 0x0f) * 4;
            if packet[0] >> 4 != 4 || header < 20 || packet.len() < header {
                return None;
            }
            let src: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
            (&packet[header..], IpAddr::from(src))
        }
        _ => (packet, from?),
    };
    let (kind_type, code) = (*icmp.first()?, *icmp.get(1)?);
    let (reply, request, errors): (u8, u8, &[u8]) = match family {
        Family::Ipv4 => (ICMPV4_ECHO_REPLY, ICMPV4_ECHO_REQUEST, &[3, 11, 12]),
        Family::Ipv6 => (ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, &[1, 2, 3, 4]),
    };
    let ident_of = |ident: u16| if kind == Kind::Raw { ident } else { 0 };
    if kind_type == reply {
        let ident = u16::from_be_bytes(icmp.get(4..6)?.try_into().ok()?);
        let seq = u16::from_be_bytes(icmp.get(6..8)?.try_into().ok()?);
        if icmp.get(8..8 + PAYLOAD.len())? != PAYLOAD {
            return None;
        }
        return Some(((source, ident_of(ident), seq), Parsed::Echo));
    }
    if !errors.contains(&kind_type) {
        return None;
    }
    // The error quotes the IP header of our echo and at least 8 bytes of its ICMP header.
    let quoted = icmp.get(8..)?;
    let (dst, inner): (IpAddr, &[u8]) = match family {
        Family::Ipv4 => {
            let header = usize::from(*quoted.first()? & 0x0f) * 4;
            if quoted[0] >> 4 != 4 || header < 20 || *quoted.get(9)? != 1 {
                return None;
            }
            let dst: [u8; 4] = quoted.get(16..20)?.try_into().ok()?;
            (IpAddr::from(dst), quoted.get(header..)?)
        }
        Family::Ipv6 => {
            if quoted.first()? >> 4 != 6 || *quoted.get(6)? != 58 {
                return None;
            }
            let dst: [u8; 16] = quoted.get(24..40)?.try_into().ok()?;
            (IpAddr::from(dst), quoted.get(40..)?)
        }
    };
    if *inner.first()? != request {
        return None;
    }
    let ident = u16::from_be_bytes(inner.get(4..6)?.try_into().ok()?);
    let seq = u16::from_be_bytes(inner.get(6..8)?.try_into().ok()?);
    let proto = if family == Family::Ipv4 { "ICMP" } else { "ICMPv6" };
    let what =
        format!("{proto} type {kind_type} code {code} from {source} instead of an echo reply");
    Some(((dst, ident_of(ident), seq), Parsed::Error(what)))
}

/// An echo request: type, code, checksum, identifier, sequence, payload. The ICMPv4 checksum
/// is ours to write on a raw socket; the kernel writes ICMPv6's (and a ping socket's).
fn echo_request(family: Family, ident: u16, seq: u16) -> [u8; 8 + PAYLOAD.len()] {
    let mut p = [0u8; 8 + PAYLOAD.len()];
    p[0] = match family {
        Family::Ipv4 => ICMPV4_ECHO_REQUEST,
        Family::Ipv6 => ICMPV6_ECHO_REQUEST,
    };
    p[4..6].copy_from_slice(&ident.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..].copy_from_slice(&PAYLOAD);
    if family == Family::Ipv4 {
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// The Internet checksum (RFC 1071).
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn permission(family: Family, source: io::Error) -> IcmpError {
    if source.kind() == io::ErrorKind::PermissionDenied {
        IcmpError::Permission {
            family,
            source,
            exe: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "vigia".into()),
            range: std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|_| "unknown".into()),
        }
    } else {
        IcmpError::Socket { family, source }
    }
}

/// Ask for a large receive buffer; as root, beyond net.core.rmem_max. Best effort: a smaller
/// buffer only means bursts should be smaller.
fn raise_receive_buffer(fd: std::os::fd::RawFd) {
    let size = i32::try_from(RECV_BUFFER_BYTES).unwrap_or(i32::MAX);
    for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        if crate::sys::set_socket_option(fd, libc::SOL_SOCKET, option, size).is_ok() {
            return;
        }
    }
    tracing::debug!("could not raise the ICMP receive buffer; large bursts may lose replies");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Loopback answers ICMP over both families on any Linux host; this needs root (or ping
    /// sockets) like the agent does. Every reply is timed by the kernel's receive stamp, and
    /// a round trip is never longer than the whole cycle that measured it.
    #[tokio::test]
    async fn loopback_answers_over_both_families_timed_by_the_kernel() {
        let icmp =
            Icmp::open().expect("ICMP sockets (run the tests as root)").with_gap(Duration::ZERO);
        let settings = CycleSettings {
            count: 3,
            spacing: Duration::from_millis(10),
            timeout: Duration::from_secs(1),
        };
        for addr in ["127.0.0.1", "::1"] {
            let started = crate::clock::monotonic();
            let report = icmp.cycle(addr.parse().unwrap(), settings).await;
            let cycle = started.elapsed();
            assert_eq!(report.outcome, IcmpOutcome::Ok, "{addr}: {report:?}");
            assert_eq!((report.sent, report.received), (3, 3), "{addr}");
            assert_eq!(report.rtts.len(), 3);
            assert!(report.rtts.iter().all(|r| *r <= cycle), "{addr}: {report:?} in {cycle:?}");
        }
        assert_eq!(icmp.timing(), Timing { kernel: 6, monotonic: 0 });
    }

    /// Many cycles at once through one socket per family, with the global gap on: every
    /// echo finds its own reply (no two in flight share a key), none is lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hundreds_of_concurrent_cycles_each_get_their_own_replies() {
        let icmp = Icmp::open().expect("ICMP sockets").with_gap(Duration::from_micros(20));
        let settings = CycleSettings {
            count: 2,
            spacing: Duration::from_millis(10),
            timeout: Duration::from_secs(2),
        };
        let cycles = (0..400u32).map(|i| {
            let icmp = icmp.clone();
            let addr: IpAddr = if i % 2 == 0 {
                Ipv4Addr::new(127, 0, 0, 1 + (i % 200) as u8).into()
            } else {
                Ipv6Addr::LOCALHOST.into()
            };
            tokio::spawn(async move { icmp.cycle(addr, settings).await })
        });
        for r in futures_util::future::join_all(cycles).await {
            let r = r.unwrap();
            assert_eq!((r.outcome, r.sent, r.received), (IcmpOutcome::Ok, 2, 2), "{r:?}");
        }
        assert_eq!(icmp.timing().kernel + icmp.timing().monotonic, 800);
    }

    /// A batch of cycles (`--once`) over both families gives each target its own report, the
    /// same as a cycle's, under the target's index, and leaves no echo waiting behind it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_of_cycles_reports_every_target_under_its_index() {
        let icmp = Icmp::open().expect("ICMP sockets").with_gap(Duration::ZERO);
        let settings = |ms| CycleSettings {
            count: 3,
            spacing: Duration::from_millis(ms),
            timeout: Duration::from_secs(2),
        };
        // Loopback answers for all of 127.0.0.0/8; two spacings, and a target with no echo.
        let mut targets: Vec<(IpAddr, CycleSettings)> = (0..300u32)
            .map(|i| {
                let a: IpAddr = if i % 3 == 0 {
                    Ipv6Addr::LOCALHOST.into()
                } else {
                    Ipv4Addr::new(127, 0, (i / 200) as u8, 1 + (i % 200) as u8).into()
                };
                (a, settings(if i % 2 == 0 { 5 } else { 20 }))
            })
            .collect();
        targets.push((Ipv4Addr::LOCALHOST.into(), CycleSettings { count: 0, ..settings(5) }));
        let (tx, mut rx) = mpsc::unbounded_channel();
        icmp.cycles(targets.clone(), tx).await;
        let mut got: Vec<Option<IcmpReport>> = vec![None; targets.len()];
        while let Some((i, report)) = rx.recv().await {
            assert!(got[i].is_none(), "target {i} reported twice");
            got[i] = Some(report);
        }
        for (i, (report, (address, s))) in got.into_iter().zip(&targets).enumerate() {
            let r = report.unwrap_or_else(|| panic!("target {i} never reported"));
            assert_eq!(r.address, *address, "target {i}");
            assert_eq!(r.family == Family::Ipv4, address.is_ipv4(), "target {i}");
            if s.count == 0 {
                let detail = "no reply to 0 echo(es) within 2000 ms each";
                assert_eq!(
                    (r.outcome, r.sent, r.detail.as_deref()),
                    (IcmpOutcome::Timeout, 0, Some(detail))
                );
                continue;
            }
            assert_eq!(
                (r.outcome, r.sent, r.received, r.rtts.len()),
                (IcmpOutcome::Ok, 3, 3, 3),
                "{r:?}"
            );
            assert!(r.rtts.iter().all(|rtt| *rtt < s.timeout), "{r:?}");
        }
        assert_eq!(icmp.timing().kernel + icmp.timing().monotonic, 900);
        for engine in [&icmp.v4, &icmp.v6].into_iter().flatten() {
            assert!(engine.shared.pending.lock().unwrap().is_empty(), "echoes left waiting");
        }
    }

    /// The echo request is well formed: an ICMPv4 checksum that verifies, identifier,
    /// sequence and payload where a reply will carry them back.
    #[test]
    fn an_echo_request_carries_its_key_and_a_valid_checksum() {
        let p = echo_request(Family::Ipv4, 0x1234, 0xabcd);
        assert_eq!(p[0], ICMPV4_ECHO_REQUEST);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        assert_eq!(&p[4..8], &[0x12, 0x34, 0xab, 0xcd]);
        assert_eq!(&p[8..], &PAYLOAD);
        let p6 = echo_request(Family::Ipv6, 7, 9);
        assert_eq!(
            (p6[0], &p6[2..4]),
            (ICMPV6_ECHO_REQUEST, &[0u8, 0][..]),
            "the kernel sums ICMPv6"
        );
    }

    /// A packet as a raw socket hands it back: IPv4 with its header, ICMPv6 without.
    fn v4_packet(icmp: &[u8]) -> Vec<u8> {
        let len = u16::try_from(20 + icmp.len()).unwrap().to_be_bytes();
        let mut p = vec![0x45, 0, len[0], len[1], 0, 0, 0, 0, 64, 1, 0, 0];
        p.extend([198, 18, 0, 10, 198, 19, 255, 254]);
        p.extend(icmp);
        p
    }

    fn echo(kind: u8, id: u16, seq: u16) -> Vec<u8> {
        let mut p = vec![kind, 0, 0, 0];
        p.extend(id.to_be_bytes());
        p.extend(seq.to_be_bytes());
        p.extend(PAYLOAD);
        p
    }

    /// Replies and errors are matched to the echo they answer: a reply by its sender, an
    /// error by the destination it quotes; a datagram socket's identifier is the kernel's.
    #[test]
    fn replies_and_errors_are_matched_to_the_echo_they_answer() {
        let target4: IpAddr = "198.18.0.10".parse().unwrap();
        let got = classify(Family::Ipv4, Kind::Raw, &v4_packet(&echo(0, 7, 1)), None);
        assert_eq!(got, Some(((target4, 7, 1), Parsed::Echo)));
        // A datagram socket gives the ICMP message alone; the identifier is not ours.
        let got = classify(Family::Ipv4, Kind::Datagram, &echo(0, 999, 1), Some(target4));
        assert_eq!(got, Some(((target4, 0, 1), Parsed::Echo)));
        // An echo request (ours, seen on loopback) and someone else's payload are not replies.
        assert_eq!(classify(Family::Ipv4, Kind::Raw, &v4_packet(&echo(8, 7, 1)), None), None);
        let mut foreign = echo(0, 7, 1);
        foreign[10] ^= 1;
        assert_eq!(classify(Family::Ipv4, Kind::Raw, &v4_packet(&foreign), None), None);
        // An unreachable from a router quoting our echo to 198.19.255.254.
        let mut quoted = v4_packet(&echo(8, 7, 1));
        quoted[12..20].copy_from_slice(&[198, 18, 0, 1, 198, 19, 255, 254]);
        let mut unreachable = vec![3, 1, 0, 0, 0, 0, 0, 0];
        unreachable.extend(&quoted[..28]);
        let got = classify(Family::Ipv4, Kind::Raw, &v4_packet(&unreachable), None).unwrap();
        assert_eq!(got.0, ("198.19.255.254".parse().unwrap(), 7, 1));
        assert_eq!(
            got.1,
            Parsed::Error("ICMP type 3 code 1 from 198.18.0.10 instead of an echo reply".into())
        );
        let dst6: Ipv6Addr = "2001:db8:ffff::fe".parse().unwrap();
        let router6: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let mut time_exceeded = vec![3, 0, 0, 0, 0, 0, 0, 0, 0x60, 0, 0, 0, 0, 24, 58, 64];
        time_exceeded.extend("2001:db8::10".parse::<Ipv6Addr>().unwrap().octets());
        time_exceeded.extend(dst6.octets());
        time_exceeded.extend(&echo(128, 7, 2)[..8]);
        let got = classify(Family::Ipv6, Kind::Raw, &time_exceeded, Some(router6)).unwrap();
        assert_eq!(got.0, (IpAddr::V6(dst6), 7, 2));
        assert_eq!(
            got.1,
            Parsed::Error(
                "ICMPv6 type 3 code 0 from 2001:db8:0:1::1 instead of an echo reply".into()
            )
        );
    }

    /// What a raw socket may hand back, valid or garbled, is classified without a panic, and
    /// only an echo reply ever counts as one: seeded mutations of echo replies and of
    /// destination-unreachable errors quoting our request, over both families (issue 16).
    /// `VIGIA_FUZZ_CASES` (scripts/fuzz) runs more.
    #[test]
    fn garbled_icmp_packets_are_classified_and_only_echo_replies_count() {
        use rand::{Rng, SeedableRng};
        let cases: u64 =
            std::env::var("VIGIA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4_000);
        let dst6: Ipv6Addr = "2001:db8:ffff::fe".parse().unwrap();
        let from6: IpAddr = "2001:db8:0:1::10".parse().unwrap();
        let mut unreachable4 = vec![3, 1, 0, 0, 0, 0, 0, 0];
        unreachable4.extend(&v4_packet(&echo(8, 7, 1))[..28]);
        let mut unreachable6 = vec![1, 3, 0, 0, 0, 0, 0, 0, 0x60, 0, 0, 0, 0, 16, 58, 64];
        unreachable6.extend(dst6.octets());
        unreachable6.extend("2001:db8:0:1::10".parse::<Ipv6Addr>().unwrap().octets());
        unreachable6.extend(&echo(128, 7, 1)[..8]);
        let class4 = |b: &[u8]| classify(Family::Ipv4, Kind::Raw, b, None).map(|(_, p)| p);
        let class6 = |b: &[u8]| classify(Family::Ipv6, Kind::Raw, b, Some(from6)).map(|(_, p)| p);

        // As sent: a reply is a reply, an unreachable is a failure that says what it is.
        assert_eq!(class4(&v4_packet(&echo(0, 7, 1))), Some(Parsed::Echo));
        let Some(Parsed::Error(e)) = class4(&v4_packet(&unreachable4)) else { panic!() };
        assert!(e.contains("ICMP type 3 code 1 from 198.18.0.10"), "{e}");
        assert_eq!(class6(&echo(129, 7, 1)), Some(Parsed::Echo));
        let Some(Parsed::Error(e)) = class6(&unreachable6) else { panic!() };
        assert!(e.contains("ICMPv6 type 1 code 3"), "{e}");

        let seeds4 = [v4_packet(&echo(0, 7, 1)), v4_packet(&unreachable4)];
        let seeds6 = [echo(129, 7, 1), unreachable6];
        let mut replies = 0;
        for case in 0..cases {
            let mut rng = rand::rngs::StdRng::seed_from_u64(case);
            let v6_case = case % 2 == 1;
            let seeds = if v6_case { &seeds6 } else { &seeds4 };
            let mut b = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(1..6) {
                match rng.random_range(0..4) {
                    0 if !b.is_empty() => {
                        let i = rng.random_range(0..b.len());
                        b[i] = rng.random();
                    }
                    1 => b.truncate(rng.random_range(0..=b.len())),
                    2 => b.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>())),
                    _ if !b.is_empty() => {
                        let i = rng.random_range(0..b.len());
                        b[i] ^= 1 << rng.random_range(0..8);
                    }
                    _ => {}
                }
            }
            // Whatever the bytes, classifying them must not panic; whatever counts as a reply
            // has the echo reply type where its header says.
            let (class, kind) = if v6_case {
                (class6(&b), b.first().copied())
            } else {
                let header = usize::from(b.first().map_or(0, |v| v & 0x0f)) * 4;
                (class4(&b), b.get(header).copied())
            };
            if let Some(Parsed::Echo) = class {
                replies += 1;
                let want = if v6_case { ICMPV6_ECHO_REPLY } else { ICMPV4_ECHO_REPLY };
                assert_eq!(kind, Some(want), "case {case}: counted as a reply: {b:?}");
            }
        }
        assert!(replies > 0, "the mutations never left a reply whole");
    }
}
