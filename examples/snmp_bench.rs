//! Benchmark of the SNMP adapter against one net-snmp snmpd of its own on loopback: polls/s and
//! mean latency, sequential and concurrent, for v2c and v3 and each kind of poll; the GETBULK
//! size; what a poll holds (sockets, memory) and costs the agent and vigia (CPU, packets).
//! Columns: polls/s and mean latency with `--concurrency` polls in flight; mean latency one
//! poll at a time; requests per poll (the agent's snmpInPkts); most file descriptors open;
//! CPU per poll of snmpd, of this process one poll at a time, and with the polls in flight.
//!
//! Bounded: at most `--polls` polls per scenario (100,000 at most) and `--seconds` per scenario.
//!
//! ```sh
//! cargo run --release --example snmp_bench -- --polls 4000 --concurrency 64
//! scripts/snmp-bench            # the same inside a private namespace with 48 extra interfaces
//! ```

// Benchmarks read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

#[path = "../tests/support/snmpd.rs"]
mod snmpd;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use vigia::inventory::{AuthProtocol, PrivProtocol};
use vigia::poll::SnmpOutcome;
use vigia::probe::snmp::{
    Credentials, PollOptions, SnmpSockets, SnmpTarget, poll_shared, poll_with,
};
use vigia::probe::{RadioQuery, SnmpQuery};

struct Args {
    polls: usize,
    concurrency: usize,
    seconds: u64,
}

fn args() -> Args {
    let mut a = Args { polls: 2000, concurrency: 64, seconds: 20 };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<usize>().ok());
        match (pair[0].as_str(), value) {
            ("--polls", Some(v)) => a.polls = v.clamp(10, 100_000),
            ("--concurrency", Some(v)) => a.concurrency = v.clamp(1, 2048),
            ("--seconds", Some(v)) => a.seconds = (v as u64).clamp(1, 600),
            _ => {
                eprintln!("usage: snmp_bench [--polls N] [--concurrency C] [--seconds S]");
                std::process::exit(64);
            }
        }
    }
    a
}

const SYSTEM: SnmpQuery = SnmpQuery::SYSTEM;
const IFMIB: SnmpQuery = SnmpQuery {
    system: true,
    interfaces: true,
    entity: false,
    host_resources: false,
    radio: RadioQuery::No,
    optics: false,
};
const FULL: SnmpQuery = SnmpQuery {
    system: true,
    interfaces: true,
    entity: true,
    host_resources: true,
    radio: RadioQuery::No,
    optics: false,
};

fn target(addr: SocketAddr, credentials: Credentials) -> SnmpTarget {
    SnmpTarget {
        address: addr.ip(),
        port: addr.port(),
        credentials,
        timeout: Duration::from_secs(2),
        retries: 1,
        deadline: Duration::from_secs(60),
    }
}

/// CPU seconds a process has used (user + system), from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// snmpInPkts of the agent, read with a bare snmp2 GET (it counts our requests).
async fn agent_in_packets(agent: SocketAddr) -> u64 {
    let oid = snmp2::Oid::from(&[1, 3, 6, 1, 2, 1, 11, 1, 0]).unwrap();
    let mut s = snmp2::AsyncSession::new_v2c(agent, b"public", 1).await.unwrap();
    let pdu = tokio::time::timeout(Duration::from_secs(2), s.get(&oid)).await.unwrap().unwrap();
    match pdu.varbinds.clone().next() {
        Some((_, snmp2::Value::Counter32(n))) => u64::from(n),
        other => panic!("snmpInPkts: {other:?}"),
    }
}

/// A UDP relay in front of the agent that records the sizes of the agent's answers, to see how
/// big the GETBULK responses get.
struct SizeRelay {
    addr: SocketAddr,
    largest: Arc<AtomicUsize>,
    bytes: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl SizeRelay {
    async fn start(agent: SocketAddr) -> SizeRelay {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = front.local_addr().unwrap();
        let largest = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let (l, b) = (largest.clone(), bytes.clone());
        let task = tokio::spawn(async move {
            let mut backs: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
            let mut buf = vec![0u8; 65_535];
            loop {
                let Ok((n, client)) = front.recv_from(&mut buf).await else { return };
                let back = match backs.get(&client) {
                    Some(s) => s.clone(),
                    None => {
                        let s = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
                        s.connect(agent).await.unwrap();
                        let (s2, front2, l, b) = (s.clone(), front.clone(), l.clone(), b.clone());
                        tokio::spawn(async move {
                            let mut buf = vec![0u8; 65_535];
                            while let Ok(n) = s2.recv(&mut buf).await {
                                l.fetch_max(n, Ordering::Relaxed);
                                b.fetch_add(n as u64, Ordering::Relaxed);
                                let _ = front2.send_to(&buf[..n], client).await;
                            }
                        });
                        backs.insert(client, s.clone());
                        s
                    }
                };
                let _ = back.send(&buf[..n]).await;
            }
        });
        SizeRelay { addr, largest, bytes, task }
    }
}

struct Run {
    polls: usize,
    failed: usize,
    wall: Duration,
    latency_sum: Duration,
    max_fds: usize,
}

/// `n` polls with at most `concurrency` in flight, stopping early after `limit`.
async fn run(
    t: &SnmpTarget,
    q: SnmpQuery,
    options: PollOptions,
    n: usize,
    concurrency: usize,
    limit: Duration,
) -> Run {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(concurrency));
    // As the agent polls: every SNMPv2c poll through one socket per family. VIGIA_SNMP_SOCKETS=
    // per-poll measures a socket per poll instead (what vigia did before issue 14).
    let per_poll = std::env::var("VIGIA_SNMP_SOCKETS").is_ok_and(|v| v == "per-poll");
    let pool = SnmpSockets::new();
    let mut set = JoinSet::new();
    let fds = Arc::new(AtomicUsize::new(0));
    let sampling = {
        let fds = fds.clone();
        tokio::spawn(async move {
            loop {
                fds.fetch_max(open_fds(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let mut launched = 0;
    while launched < n && started.elapsed() < limit {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let t = t.clone();
        let pool = pool.clone();
        set.spawn(async move {
            let r = if per_poll {
                poll_with(&t, q, &options).await
            } else {
                poll_shared(&t, q, &options, &pool).await
            };
            drop(permit);
            r
        });
        launched += 1;
    }
    let mut out =
        Run { polls: 0, failed: 0, wall: Duration::ZERO, latency_sum: Duration::ZERO, max_fds: 0 };
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        out.polls += 1;
        out.latency_sum += r.elapsed;
        if r.outcome != SnmpOutcome::Ok {
            out.failed += 1;
            if out.failed == 1 {
                eprintln!("first failure: {} {:?}", r.outcome, r.detail);
            }
        }
    }
    out.wall = started.elapsed();
    sampling.abort();
    out.max_fds = fds.load(Ordering::Relaxed);
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let a = args();
    let limit = Duration::from_secs(a.seconds);
    let agent = snmpd::Snmpd::start(
        "rocommunity public 127.0.0.1\nrocommunity6 public ::1\n\
         createUser bench SHA-256 \"bench-auth-pass\" AES \"bench-priv-pass\"\nrouser bench priv\n",
    );
    let v2 = Credentials::V2c { community: "public".into() };
    let v3 = Credentials::V3 {
        user: "bench".into(),
        auth: Some((AuthProtocol::Sha256, "bench-auth-pass".into())),
        privacy: Some((PrivProtocol::Aes128, "bench-priv-pass".into())),
    };
    let defaults = PollOptions::default();

    let first = poll_with(&target(agent.v4(), v2.clone()), IFMIB, &defaults).await;
    println!(
        "snmpd pid {} on port {}; {} interfaces; default bulk_varbinds {}",
        agent.pid,
        agent.port(),
        first.interfaces.len(),
        defaults.bulk_varbinds
    );

    // The first v3 poll of an engine derives the keys (2 x 1 MiB of hashing); later ones reuse
    // them. Measured before anything else warms the cache.
    let cold = poll_with(&target(agent.v4(), v3.clone()), SYSTEM, &defaults).await;
    let warm = poll_with(&target(agent.v4(), v3.clone()), SYSTEM, &defaults).await;
    println!(
        "v3 SHA-256/AES-128 system poll: first (key derivation) {:.2} ms, next {:.2} ms",
        ms(cold.elapsed),
        ms(warm.elapsed)
    );

    println!("\nbaseline open fds: {}; sockets per poll in flight: at most 1", open_fds());
    println!(
        "{:<24} {:>6} {:>4} {:>8} {:>8} {:>7} {:>9} {:>7} {:>8} {:>8} {:>8}",
        "scenario",
        "polls",
        "fail",
        "polls/s",
        "mean ms",
        "seq ms",
        "pkts/poll",
        "max fds",
        "agent us",
        "seq us",
        "conc us"
    );
    let scenarios = [
        ("v2c system ipv4", agent.v4(), &v2, SYSTEM),
        ("v2c system ipv6", agent.v6(), &v2, SYSTEM),
        ("v2c if-mib ipv4", agent.v4(), &v2, IFMIB),
        ("v2c full ipv4", agent.v4(), &v2, FULL),
        ("v3 authPriv system ipv4", agent.v4(), &v3, SYSTEM),
        ("v3 authPriv if-mib ipv4", agent.v4(), &v3, IFMIB),
        ("v3 authPriv full ipv6", agent.v6(), &v3, FULL),
    ];
    for (name, addr, creds, q) in scenarios {
        let t = target(addr, creds.clone());
        let own_before = cpu_seconds(std::process::id());
        let sequential = run(&t, q, defaults, (a.polls / 10).max(10), 1, limit).await;
        let own_sequential = cpu_seconds(std::process::id()) - own_before;
        let packets_before = agent_in_packets(agent.v4()).await;
        let cpu_before = cpu_seconds(agent.pid);
        let own_before = cpu_seconds(std::process::id());
        let concurrent = run(&t, q, defaults, a.polls, a.concurrency, limit).await;
        let own = cpu_seconds(std::process::id()) - own_before;
        let cpu = cpu_seconds(agent.pid) - cpu_before;
        // The GET that reads snmpInPkts counts itself once.
        let packets = agent_in_packets(agent.v4()).await - packets_before - 1;
        println!(
            "{:<24} {:>6} {:>4} {:>8.0} {:>8.2} {:>7.2} {:>9.1} {:>7} {:>8.0} {:>8.0} {:>8.0}",
            name,
            concurrent.polls,
            concurrent.failed + sequential.failed,
            concurrent.polls as f64 / concurrent.wall.as_secs_f64(),
            ms(concurrent.latency_sum) / concurrent.polls as f64,
            ms(sequential.latency_sum) / sequential.polls as f64,
            packets as f64 / concurrent.polls as f64,
            concurrent.max_fds,
            cpu * 1e6 / concurrent.polls as f64,
            own_sequential * 1e6 / sequential.polls as f64,
            own * 1e6 / concurrent.polls as f64,
        );
    }
    println!("peak RSS of this process so far: {} KiB", peak_rss_kib());

    // GETBULK size: varbinds per request against round trips and response size.
    let relay = SizeRelay::start(agent.v4()).await;
    println!(
        "\nIF-MIB v2c poll by bulk_varbinds (sequential, through a relay that measures answers)"
    );
    println!(
        "{:>13} {:>9} {:>10} {:>14} {:>13}",
        "bulk_varbinds", "mean ms", "pkts/poll", "largest bytes", "bytes/poll"
    );
    for bulk in [8, 16, 32, 48, 64, 128, 256, 512] {
        let options = PollOptions { bulk_varbinds: bulk, ..defaults };
        let t = target(relay.addr, v2.clone());
        relay.largest.store(0, Ordering::Relaxed);
        relay.bytes.store(0, Ordering::Relaxed);
        let packets_before = agent_in_packets(agent.v4()).await;
        let n = (a.polls / 20).max(10);
        let r = run(&t, IFMIB, options, n, 1, limit).await;
        let packets = agent_in_packets(agent.v4()).await - packets_before - 1;
        println!(
            "{:>13} {:>9.2} {:>10.1} {:>14} {:>13.0}",
            bulk,
            ms(r.latency_sum) / r.polls as f64,
            packets as f64 / r.polls as f64,
            relay.largest.load(Ordering::Relaxed),
            relay.bytes.load(Ordering::Relaxed) as f64 / r.polls as f64,
        );
    }
    relay.task.abort();
}
