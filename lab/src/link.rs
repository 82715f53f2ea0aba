//! The lab's link emulator: what a fibre or radio link does to each packet crossing it.
//!
//! This kernel has no `netem`, so the lab shapes links itself: every packet between the host
//! and a device's namespace crosses a pair of TUN devices, and a lab task holds it for the
//! medium's delay (plus jitter) or drops it. The decision is a pure core ([`Direction`]): given
//! a packet's arrival time and a seeded RNG, drop it or name its delivery time, keeping FIFO
//! order so jitter never reorders packets. The shell ([`spawn_link`]) only moves packets
//! between two file descriptors and waits on a `timerfd`, whose microsecond precision the
//! sub-millisecond fibre delay needs (tokio's timer wheel rounds every sleep up to a whole
//! millisecond).

use std::io;
use std::ops::Add;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What a link does to the packets crossing it, in each direction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinkModel {
    /// One-way delay.
    pub delay: Duration,
    /// Each packet's delay is drawn uniformly in `delay ± jitter` (never below zero).
    pub jitter: Duration,
    /// Share of packets lost, per direction (0.0 to 1.0).
    pub loss: f64,
}

impl LinkModel {
    /// The main site's LAN: nothing added.
    pub const LAN: LinkModel =
        LinkModel { delay: Duration::ZERO, jitter: Duration::ZERO, loss: 0.0 };
    /// A fibre link: about 1 ms round trip, tiny jitter, no loss.
    pub const FIBRE: LinkModel = LinkModel {
        delay: Duration::from_micros(500),
        jitter: Duration::from_micros(50),
        loss: 0.0,
    };
    /// A radio link: 15 ms each way ± 5 ms, 0.5 % loss each way (about 1 % round trip).
    pub const RADIO: LinkModel = LinkModel {
        delay: Duration::from_millis(15),
        jitter: Duration::from_millis(5),
        loss: 0.005,
    };

    /// The medium this model is the lab's model of (`lan`, `fibre`, `radio`), or `custom`.
    pub fn label(&self) -> &'static str {
        if *self == LinkModel::LAN {
            "lan"
        } else if *self == LinkModel::FIBRE {
            "fibre"
        } else if *self == LinkModel::RADIO {
            "radio"
        } else {
            "custom"
        }
    }

    /// A one-line description: `delay 15ms ±5ms, loss 0.5% each way`.
    pub fn describe(&self) -> String {
        format!(
            "delay {:?} ±{:?}, loss {}% each way",
            self.delay,
            self.jitter,
            (self.loss * 1000.0).round() / 10.0
        )
    }

    /// True when the model is usable: loss in [0, 1].
    pub fn is_valid(&self) -> bool {
        (0.0..=1.0).contains(&self.loss)
    }
}

/// What happens to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<T> {
    /// Hand it over at this time.
    Deliver(T),
    /// Lost on the way (the medium's loss).
    Lost,
    /// The link is cut: everything is dropped.
    Cut,
}

/// One direction of a link: the pure decision core, generic over the time type so tests can
/// drive it with plain durations.
#[derive(Debug)]
pub struct Direction<T> {
    model: LinkModel,
    rng: StdRng,
    last: Option<T>,
}

impl<T> Direction<T>
where
    T: Copy + Ord + Add<Duration, Output = T>,
{
    /// A direction of a link with this model; the same seed gives the same decisions for the
    /// same packets.
    pub fn new(model: LinkModel, seed: u64) -> Self {
        Direction { model, rng: StdRng::seed_from_u64(seed), last: None }
    }

    /// Decide the fate of a packet arriving at `arrival` (arrivals must not go backwards).
    /// Every packet crossing a live link draws the same two numbers (loss, then jitter), so a
    /// lab's loss pattern depends only on its seed and its packet sequence.
    pub fn decide(&mut self, arrival: T, cut: bool) -> Verdict<T> {
        if cut {
            return Verdict::Cut;
        }
        let lost = self.rng.random::<f64>() < self.model.loss;
        let delay = self.draw_delay();
        if lost {
            return Verdict::Lost;
        }
        let mut at = arrival + delay;
        // FIFO: a packet never overtakes the one before it, whatever their jitter.
        if let Some(last) = self.last
            && at < last
        {
            at = last;
        }
        self.last = Some(at);
        Verdict::Deliver(at)
    }

    fn draw_delay(&mut self) -> Duration {
        let delay = self.model.delay.as_nanos() as i128;
        let jitter = self.model.jitter.as_nanos() as i128;
        let offset = if jitter == 0 { 0 } else { self.rng.random_range(-jitter..=jitter) };
        Duration::from_nanos((delay + offset).max(0) as u64)
    }
}

/// Packet counts of one direction of a link, for status and tests.
#[derive(Debug, Default)]
pub struct DirectionStats {
    /// Packets handed over.
    pub delivered: AtomicU64,
    /// Packets lost to the medium's loss.
    pub lost: AtomicU64,
    /// Packets dropped because the link was cut.
    pub cut: AtomicU64,
    /// Packets dropped because the link's queue was full.
    pub overflow: AtomicU64,
}

/// Both directions' counts.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// From the host towards the device.
    pub down: DirectionStats,
    /// From the device towards the host.
    pub up: DirectionStats,
}

/// A plain copy of one direction's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Packets handed over.
    pub delivered: u64,
    /// Lost to the medium.
    pub lost: u64,
    /// Dropped while cut.
    pub cut: u64,
    /// Dropped on a full queue.
    pub overflow: u64,
}

impl DirectionStats {
    /// The counts now.
    pub fn counts(&self) -> Counts {
        Counts {
            delivered: self.delivered.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
            cut: self.cut.load(Ordering::Relaxed),
            overflow: self.overflow.load(Ordering::Relaxed),
        }
    }
}

/// Packets a direction holds at most (a link's buffer); beyond it, packets are tail-dropped.
const QUEUE: usize = 4096;
/// Larger than any packet a TUN device with the default MTU can hand over.
const MAX_PACKET: usize = 65_536;

/// Start forwarding packets between `host` (the host-side TUN) and `device` (the
/// namespace-side TUN) through `model`, on the current tokio runtime. Returns the tasks; the
/// descriptors close when they end (abort them, then await them, to remove the TUN devices).
pub fn spawn_link(
    host: OwnedFd,
    device: OwnedFd,
    model: LinkModel,
    seed: u64,
    cut: Arc<AtomicBool>,
    stats: Arc<LinkStats>,
) -> io::Result<Vec<JoinHandle<()>>> {
    set_nonblocking(&host)?;
    set_nonblocking(&device)?;
    let host = Arc::new(register(host)?);
    let device = Arc::new(register(device)?);
    // Distinct, fixed streams per direction, both derived from the link's seed.
    let down_seed = seed ^ 0x9e37_79b9_7f4a_7c15;
    let up_seed = seed.rotate_left(17) ^ 0xc2b2_ae3d_27d4_eb4f;
    let mut tasks = Vec::with_capacity(4);
    for (from, to, seed, which) in
        [(host.clone(), device.clone(), down_seed, Which::Down), (device, host, up_seed, Which::Up)]
    {
        let (tx, rx) = mpsc::channel(QUEUE);
        let timer = PreciseTimer::new()?;
        tasks.push(tokio::spawn(read_side(
            from,
            tx,
            model,
            seed,
            cut.clone(),
            stats.clone(),
            which,
        )));
        tasks.push(tokio::spawn(write_side(to, rx, timer, stats.clone(), which)));
    }
    Ok(tasks)
}

#[derive(Clone, Copy)]
enum Which {
    Down,
    Up,
}

fn side(stats: &LinkStats, which: Which) -> &DirectionStats {
    match which {
        Which::Down => &stats.down,
        Which::Up => &stats.up,
    }
}

async fn read_side(
    from: Arc<AsyncFd<OwnedFd>>,
    tx: mpsc::Sender<(Instant, Vec<u8>)>,
    model: LinkModel,
    seed: u64,
    cut: Arc<AtomicBool>,
    stats: Arc<LinkStats>,
    which: Which,
) {
    let mut core = Direction::new(model, seed);
    let mut buf = vec![0u8; MAX_PACKET];
    loop {
        let Ok(mut guard) = from.readable().await else { return };
        let read = guard.try_io(|fd| {
            // SAFETY: reading into a buffer we own, of the length we pass.
            let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
        });
        let n = match read {
            Err(_would_block) => continue,
            Ok(Ok(0)) => return,
            Ok(Ok(n)) => n,
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The device went away (deleted, or the lab is stopping).
            Ok(Err(_)) => return,
        };
        let stats = side(&stats, which);
        match core.decide(Instant::now(), cut.load(Ordering::Relaxed)) {
            Verdict::Deliver(at) => {
                if tx.try_send((at, buf[..n].to_vec())).is_err() {
                    stats.overflow.fetch_add(1, Ordering::Relaxed);
                }
            }
            Verdict::Lost => {
                stats.lost.fetch_add(1, Ordering::Relaxed);
            }
            Verdict::Cut => {
                stats.cut.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn write_side(
    to: Arc<AsyncFd<OwnedFd>>,
    mut rx: mpsc::Receiver<(Instant, Vec<u8>)>,
    mut timer: PreciseTimer,
    stats: Arc<LinkStats>,
    which: Which,
) {
    while let Some((at, packet)) = rx.recv().await {
        if timer.sleep_until(at).await.is_err() {
            return;
        }
        // SAFETY: writing a buffer we own, of its length. A TUN write never blocks; a full
        // peer (only in tests, over a socket pair) drops the packet as a full link would.
        let n =
            unsafe { libc::write(to.get_ref().as_raw_fd(), packet.as_ptr().cast(), packet.len()) };
        if n >= 0 {
            side(&stats, which).delivered.fetch_add(1, Ordering::Relaxed);
        } else {
            let e = io::Error::last_os_error();
            if !matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) {
                side(&stats, which).overflow.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Watch a descriptor for reading on the current runtime.
fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the AsyncFd owns the OwnedFd, so the descriptor stays open and the same for
    // the AsyncFd's whole life.
    Ok(unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?)
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A `timerfd` on the monotonic clock (the clock `Instant` reads), awaited through tokio:
/// microsecond wake-ups where tokio's own timer has millisecond ones.
struct PreciseTimer {
    fd: AsyncFd<OwnedFd>,
}

impl PreciseTimer {
    fn new() -> io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: timerfd_create returns a new descriptor or -1.
        let raw = unsafe {
            libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(PreciseTimer { fd: register(fd)? })
    }

    async fn sleep_until(&mut self, at: Instant) -> io::Result<()> {
        loop {
            let now = Instant::now();
            if at <= now {
                return Ok(());
            }
            let left = at - now;
            let spec = libc::itimerspec {
                it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
                it_value: libc::timespec {
                    // `left` is not zero, so the timer is armed (a zero expiry would disarm it).
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_nsec: left.subsec_nanos() as libc::c_long,
                },
            };
            // SAFETY: arming our own timer with a valid, non-zero relative expiry.
            if unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) }
                < 0
            {
                return Err(io::Error::last_os_error());
            }
            let mut guard = self.fd.readable().await?;
            let _ = guard.try_io(|fd| {
                let mut expirations = 0u64;
                // SAFETY: reading the 8-byte expiration count into a u64 we own.
                let n = unsafe { libc::read(fd.as_raw_fd(), (&raw mut expirations).cast(), 8) };
                if n < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Arrivals as offsets from an epoch, `gap` apart.
    fn run(
        model: LinkModel,
        seed: u64,
        n: usize,
        gap: Duration,
    ) -> Vec<(Duration, Verdict<Duration>)> {
        let mut d = Direction::new(model, seed);
        (0..n)
            .map(|i| {
                let t = gap * i as u32;
                (t, d.decide(t, false))
            })
            .collect()
    }

    #[test]
    fn lan_delivers_at_arrival() {
        for (t, v) in run(LinkModel::LAN, 1, 1000, Duration::from_micros(10)) {
            assert_eq!(v, Verdict::Deliver(t));
        }
    }

    #[test]
    fn deliveries_stay_within_the_jitter_bounds_and_never_reorder() {
        // Property over many seeds, models and packet spacings (down to back-to-back).
        let models = [
            LinkModel::FIBRE,
            LinkModel::RADIO,
            LinkModel { delay: ms(3), jitter: ms(3), loss: 0.1 },
            LinkModel { delay: ms(1), jitter: ms(5), loss: 0.0 }, // jitter larger than delay
        ];
        for seed in 0..40u64 {
            for model in models {
                for gap in [Duration::ZERO, Duration::from_micros(100), ms(1), ms(7)] {
                    let mut last = Duration::ZERO;
                    for (t, v) in run(model, seed, 500, gap) {
                        if let Verdict::Deliver(at) = v {
                            let earliest = t + model.delay.saturating_sub(model.jitter);
                            assert!(at >= earliest, "{model:?} seed {seed}: {at:?} < {earliest:?}");
                            let latest = (t + model.delay + model.jitter).max(last);
                            assert!(at <= latest, "{model:?} seed {seed}: {at:?} > {latest:?}");
                            assert!(at >= last, "{model:?} seed {seed}: reordered");
                            last = at;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn widely_spaced_packets_see_the_whole_jitter_range_around_the_delay() {
        let model = LinkModel::RADIO;
        let delays: Vec<Duration> = run(model, 7, 20_000, ms(100))
            .into_iter()
            .filter_map(|(t, v)| match v {
                Verdict::Deliver(at) => Some(at - t),
                _ => None,
            })
            .collect();
        let min = *delays.iter().min().unwrap();
        let max = *delays.iter().max().unwrap();
        let mean = delays.iter().sum::<Duration>() / delays.len() as u32;
        assert!(min < ms(10) + Duration::from_micros(100), "min {min:?}");
        assert!(max > ms(20) - Duration::from_micros(100), "max {max:?}");
        assert!(
            mean > ms(14) + Duration::from_micros(800)
                && mean < ms(15) + Duration::from_micros(200),
            "mean {mean:?}"
        );
    }

    #[test]
    fn loss_fraction_matches_the_model_over_many_packets() {
        for (loss, n) in [(0.005, 200_000usize), (0.01, 100_000), (0.2, 50_000), (0.0, 10_000)] {
            let model = LinkModel { delay: ms(1), jitter: Duration::ZERO, loss };
            for seed in [1u64, 2, 3] {
                let lost =
                    run(model, seed, n, ms(1)).iter().filter(|(_, v)| *v == Verdict::Lost).count();
                let expected = loss * n as f64;
                let sigma = (n as f64 * loss * (1.0 - loss)).sqrt();
                assert!(
                    (lost as f64 - expected).abs() <= 5.0 * sigma,
                    "loss {loss} seed {seed}: {lost} lost of {n}, expected {expected:.0} ± {:.0}",
                    5.0 * sigma
                );
            }
        }
    }

    #[test]
    fn everything_is_lost_at_loss_one() {
        let model = LinkModel { delay: ms(1), jitter: Duration::ZERO, loss: 1.0 };
        assert!(run(model, 9, 1000, ms(1)).iter().all(|(_, v)| *v == Verdict::Lost));
    }

    #[test]
    fn same_seed_same_fate_other_seed_other_fate() {
        let a = run(LinkModel::RADIO, 42, 5000, ms(8));
        let b = run(LinkModel::RADIO, 42, 5000, ms(8));
        let c = run(LinkModel::RADIO, 43, 5000, ms(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_cut_link_drops_everything_and_a_restored_one_delivers_again() {
        let mut d = Direction::new(LinkModel::FIBRE, 5);
        for i in 0..100u32 {
            assert_eq!(d.decide(ms(u64::from(i)), true), Verdict::Cut);
        }
        assert!(matches!(d.decide(ms(200), false), Verdict::Deliver(_)));
    }

    #[test]
    fn models_are_labelled_by_medium() {
        assert_eq!(LinkModel::LAN.label(), "lan");
        assert_eq!(LinkModel::FIBRE.label(), "fibre");
        assert_eq!(LinkModel::RADIO.label(), "radio");
        assert_eq!(LinkModel { delay: ms(2), ..LinkModel::LAN }.label(), "custom");
        // Round trip loss of the radio model is about 1 %.
        let rt = 1.0 - (1.0 - LinkModel::RADIO.loss).powi(2);
        assert!((rt - 0.01).abs() < 0.001);
    }

    // The shell, over datagram socket pairs standing in for the two TUN devices: order kept,
    // nothing delivered before its delay, cut honoured. Real time, lower bounds only.
    fn socket_pair() -> (OwnedFd, OwnedFd) {
        use std::os::fd::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: socketpair fills two new descriptors.
        let r = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        assert_eq!(r, 0, "socketpair: {}", io::Error::last_os_error());
        // SAFETY: both are fresh descriptors.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    fn send(fd: &OwnedFd, data: &[u8]) {
        // SAFETY: writing our buffer.
        let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
        assert_eq!(n as usize, data.len());
    }

    async fn recv(fd: &AsyncFd<OwnedFd>) -> Vec<u8> {
        let mut buf = [0u8; 2048];
        loop {
            let mut guard = fd.readable().await.unwrap();
            if let Ok(r) = guard.try_io(|fd| {
                // SAFETY: reading into our buffer, at most its length.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
            }) {
                return buf[..r.unwrap()].to_vec();
            }
        }
    }

    struct Rig {
        host_peer: OwnedFd,
        device_peer: AsyncFd<OwnedFd>,
        cut: Arc<AtomicBool>,
        stats: Arc<LinkStats>,
        tasks: Vec<JoinHandle<()>>,
    }

    fn rig(model: LinkModel) -> Rig {
        let (host, host_peer) = socket_pair();
        let (device, device_peer) = socket_pair();
        set_nonblocking(&device_peer).unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(LinkStats::default());
        let tasks = spawn_link(host, device, model, 11, cut.clone(), stats.clone()).unwrap();
        Rig { host_peer, device_peer: register(device_peer).unwrap(), cut, stats, tasks }
    }

    #[tokio::test]
    async fn the_shell_keeps_order_and_holds_each_packet_for_its_delay() {
        let model = LinkModel { delay: ms(20), jitter: ms(10), loss: 0.0 };
        let rig = rig(model);
        let start = Instant::now();
        for i in 0..50u8 {
            send(&rig.host_peer, &[i; 64]);
        }
        for i in 0..50u8 {
            let p =
                tokio::time::timeout(Duration::from_secs(5), recv(&rig.device_peer)).await.unwrap();
            assert_eq!(p, vec![i; 64], "packet {i} out of order");
            assert!(start.elapsed() >= ms(10), "delivered before the shortest delay");
        }
        assert_eq!(rig.stats.down.counts().delivered, 50);
        for t in rig.tasks {
            t.abort();
        }
    }

    #[tokio::test]
    async fn the_shell_drops_everything_while_cut() {
        let rig = rig(LinkModel::LAN);
        rig.cut.store(true, Ordering::Relaxed);
        for i in 0..20u8 {
            send(&rig.host_peer, &[i; 8]);
        }
        let got = tokio::time::timeout(ms(200), recv(&rig.device_peer)).await;
        assert!(got.is_err(), "a packet crossed a cut link");
        assert_eq!(rig.stats.down.counts().cut, 20);
        rig.cut.store(false, Ordering::Relaxed);
        send(&rig.host_peer, b"after");
        let p = tokio::time::timeout(Duration::from_secs(5), recv(&rig.device_peer)).await.unwrap();
        assert_eq!(p, b"after");
        for t in rig.tasks {
            t.abort();
        }
    }
}
