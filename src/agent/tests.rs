//! The agent's loop against a stand-in network. The prober below is a mock, on purpose: these
//! tests are about how many polls the loop runs at once and whether every task runs, which a
//! real network cannot be made to show deterministically (tests/ and scripts/bench-scale run
//! the real ICMP and SNMP adapters).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::history::testkit::{device, inventory, site};
use crate::inventory::{DeviceClass, LinkMedium, SecretRef, SnmpProfile, SnmpRef};
use crate::poll::{IcmpOutcome, SnmpCost, SnmpOutcome, SystemInfo};
use crate::store::DbUrl;

/// Counts polls in flight per probe and the most seen at once.
#[derive(Default)]
struct Counting {
    icmp_now: AtomicUsize,
    icmp_peak: AtomicUsize,
    icmp_total: AtomicUsize,
    snmp_now: AtomicUsize,
    snmp_peak: AtomicUsize,
    snmp_total: AtomicUsize,
}

/// Answers every poll after a fixed delay.
struct StandIn {
    counts: Arc<Counting>,
    icmp_takes: Duration,
    snmp_takes: Duration,
}

fn enter(now: &AtomicUsize, peak: &AtomicUsize, total: &AtomicUsize) {
    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
    peak.fetch_max(n, Ordering::SeqCst);
    total.fetch_add(1, Ordering::SeqCst);
}

impl Prober for StandIn {
    async fn icmp(&self, address: IpAddr, settings: CycleSettings) -> IcmpReport {
        let c = &self.counts;
        enter(&c.icmp_now, &c.icmp_peak, &c.icmp_total);
        tokio::time::sleep(self.icmp_takes).await;
        c.icmp_now.fetch_sub(1, Ordering::SeqCst);
        IcmpReport {
            family: if address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 },
            address,
            outcome: IcmpOutcome::Ok,
            sent: settings.count,
            received: settings.count,
            rtts: vec![Duration::from_micros(100); settings.count as usize],
            detail: None,
        }
    }

    async fn snmp(&self, target: SnmpTarget, _query: SnmpQuery) -> SnmpReport {
        let c = &self.counts;
        enter(&c.snmp_now, &c.snmp_peak, &c.snmp_total);
        tokio::time::sleep(self.snmp_takes).await;
        c.snmp_now.fetch_sub(1, Ordering::SeqCst);
        SnmpReport {
            family: if target.address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 },
            address: target.address,
            outcome: SnmpOutcome::Ok,
            detail: None,
            elapsed: self.snmp_takes,
            system: Some(SystemInfo { uptime_ticks: Some(1_000), ..SystemInfo::default() }),
            interfaces: Vec::new(),
            entity: None,
            host: None,
            cost: SnmpCost { requests: 2, retries: 1, varbinds: 7 },
            truncated: None,
        }
    }
}

/// `n` IPv4 devices with SNMPv2c over `sites` fibre sites (plus the main one).
fn network(n: u32, sites: u32) -> Inventory {
    let profile = Arc::new(SnmpProfile::V2c { community: SecretRef::Inline("lab".into()) });
    let mut all = vec![site("main", None)];
    all.extend((0..sites).map(|i| site(&format!("s{i}"), Some(LinkMedium::Fibre))));
    let devices = (0..n)
        .map(|i| {
            let mut d = device(
                &format!("d{i}"),
                &all[(i % (sites + 1)) as usize].id.clone(),
                DeviceClass::Switch,
            );
            d.ipv4 = Some(Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 64, 1)) + i));
            d.snmp = Some(SnmpRef { name: "lab".into(), profile: profile.clone() });
            d
        })
        .collect();
    inventory(all, devices)
}

async fn agent(inv: Inventory, opts: AgentOptions, prober: StandIn) -> Agent<StandIn> {
    let store = Store::open(&DbUrl::parse("sqlite::memory:").unwrap()).await.unwrap();
    Agent::new(opts, inv, prober, store, Clock::Wall).unwrap()
}

#[tokio::test]
async fn once_runs_every_task_within_each_probes_own_bound() {
    let counts = Arc::new(Counting::default());
    let prober = StandIn {
        counts: counts.clone(),
        icmp_takes: Duration::from_millis(40),
        snmp_takes: Duration::from_millis(5),
    };
    let mut opts = AgentOptions::new(PathBuf::from("test"));
    opts.listen = None;
    opts.max_in_flight = 3;
    opts.max_icmp_in_flight = 64;
    let (report, shared) = agent(network(600, 30), opts, prober).await.run_once().await.unwrap();

    // Every task ran once and was stored.
    assert_eq!(counts.icmp_total.load(Ordering::SeqCst), 600);
    assert_eq!(counts.snmp_total.load(Ordering::SeqCst), 600);
    assert_eq!(report.polls, 1200);
    let shared = shared.read().unwrap();
    assert!(
        shared.state.devices.values().all(|d| d.up(Family::Ipv4, ProbeKind::Icmp) == Some(true))
    );
    // Neither bound was passed, and ICMP was not held to the SNMP bound (the two used to share
    // one): a slow SNMP side cannot starve ICMP.
    let (icmp_peak, snmp_peak) =
        (counts.icmp_peak.load(Ordering::SeqCst), counts.snmp_peak.load(Ordering::SeqCst));
    assert!(snmp_peak <= 3, "SNMP ran {snmp_peak} at once with a bound of 3");
    assert!(icmp_peak <= 64, "ICMP ran {icmp_peak} at once with a bound of 64");
    assert!(icmp_peak > 3, "ICMP never ran more than SNMP's bound at once ({icmp_peak})");
    // What the polls cost, summed for the self-metrics.
    let echoes = 600 * u64::from(shared.inventory.poll.icmp_count);
    let icmp = IcmpTotals { cycles: 600, echoes_sent: echoes, replies: echoes };
    assert_eq!(shared.polls.icmp(Family::Ipv4), icmp);
    let snmp = shared.polls.snmp(Family::Ipv4);
    assert_eq!((snmp.polls, snmp.requests, snmp.retries, snmp.varbinds), (600, 1200, 600, 4200));
    assert!((snmp.seconds - 600.0 * 0.005).abs() < 1e-9, "{snmp:?}");
    assert_eq!(shared.polls.icmp(Family::Ipv6), IcmpTotals::default());
}

#[tokio::test]
async fn the_loop_keeps_every_device_on_its_interval_while_snmp_is_saturated() {
    let counts = Arc::new(Counting::default());
    // SNMP polls take a whole interval and two may run at once: SNMP is always saturated.
    let prober = StandIn {
        counts: counts.clone(),
        icmp_takes: Duration::from_millis(200),
        snmp_takes: Duration::from_secs(1),
    };
    let mut inv = network(300, 20);
    inv.poll.icmp_interval = Duration::from_secs(1);
    inv.poll.snmp_interval = Duration::from_secs(1);
    let mut opts = AgentOptions::new(PathBuf::from("test"));
    opts.listen = None;
    opts.max_in_flight = 2;
    opts.max_icmp_in_flight = 300;
    let agent = agent(inv, opts, prober).await;
    let shared = agent.shared();
    let (control, rx) = mpsc::channel(1);
    let run = tokio::spawn(agent.run(rx));
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    control.send(Control::Shutdown).await.unwrap();
    run.await.unwrap().unwrap();
    // Each device's first cycle falls in its first second, then one a second: 3 or 4 each in
    // 3.5 s, 900 to 1,200 in all. Bounded together with SNMP's two permits, ICMP would have
    // managed 2 / 0.2 s = 10 a second, 35 in all. Half the expected count leaves room for a
    // loaded machine and still tells the two apart.
    let icmp = counts.icmp_total.load(Ordering::SeqCst);
    assert!((600..=1_200).contains(&icmp), "{icmp} ICMP cycles in 3.5 s for 300 devices");
    assert!(counts.snmp_peak.load(Ordering::SeqCst) <= 2);
    // vigia_poll_duration_seconds: the slowest ICMP cycle of a pass, from due to done, is about
    // one cycle (200 ms), well within the 1 s interval. (With the bound shared, it was seconds.)
    let durations = shared.read().unwrap().poll_duration.clone();
    let icmp = durations.get(&ProbeKind::Icmp).copied();
    assert!(icmp.is_some_and(|s| s < 0.8), "ICMP poll duration {icmp:?} s, cycles 0.2 s every 1 s");
}

/// A reload that fails for any reason keeps the inventory in force: here an alias bomb (which
/// used to take gigabytes and kill the agent) and a secret pasted into `community_env` (which
/// used to be echoed in the log and the 422 body). The text returned is that 422 body.
#[tokio::test]
async fn a_reload_refused_keeps_the_old_inventory_and_never_echoes_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let good = "sites:\n  - { id: main, name: M, role: main }\ndevices:\n  - { id: sw-a, site: main, class: switch, ipv4: 198.18.0.1, snmp: false }\n";
    std::fs::write(dir.path().join("a.yaml"), good).unwrap();
    let (inv, _) = inventory::load(dir.path(), Secrets::Require).unwrap();
    let prober = StandIn {
        counts: Arc::new(Counting::default()),
        icmp_takes: Duration::ZERO,
        snmp_takes: Duration::ZERO,
    };
    let mut opts = AgentOptions::new(dir.path().to_path_buf());
    opts.listen = None;
    let mut agent = agent(inv, opts, prober).await;

    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
    for (prev, name) in "abcdefghi".chars().zip("bcdefghij".chars()) {
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    std::fs::write(dir.path().join("b.yaml"), &bomb).unwrap();
    let body = agent.reload().await.unwrap_err();
    assert!(body.contains("b.yaml:6:14: error: YAML aliases expand to more than 16 MiB"), "{body}");

    let secret = "Tacna#2026!pub";
    let pasted =
        format!("snmp_profiles:\n  v2: {{ version: \"2c\", community_env: \"{secret}\" }}\n");
    std::fs::write(dir.path().join("b.yaml"), pasted).unwrap();
    let body = agent.reload().await.unwrap_err();
    assert!(body.contains("community_env: not a valid environment variable name"), "{body}");
    assert!(!body.contains(secret), "{body}");

    let shared = agent.shared();
    let shared = shared.read().unwrap();
    assert!(shared.reload.failed);
    assert_eq!(shared.inventory.devices.len(), 1);
    assert_eq!(shared.inventory.devices[0].id.as_str(), "sw-a");
}

/// Nothing answers: every ICMP cycle and SNMP poll times out.
struct Silent;

impl Prober for Silent {
    async fn icmp(&self, address: IpAddr, settings: CycleSettings) -> IcmpReport {
        IcmpReport {
            family: if address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 },
            address,
            outcome: IcmpOutcome::Timeout,
            sent: settings.count,
            received: 0,
            rtts: Vec::new(),
            detail: Some("no reply".into()),
        }
    }

    async fn snmp(&self, target: SnmpTarget, _query: SnmpQuery) -> SnmpReport {
        SnmpReport {
            family: if target.address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 },
            address: target.address,
            outcome: SnmpOutcome::Timeout,
            detail: Some("no answer".into()),
            elapsed: Duration::from_millis(1),
            system: None,
            interfaces: Vec::new(),
            entity: None,
            host: None,
            cost: SnmpCost::default(),
            truncated: None,
        }
    }
}

#[tokio::test]
async fn a_restarted_agent_does_not_record_again_a_device_that_never_came_back() {
    // Issue 16: each restart recorded device_down (and site_isolated) again for a device that
    // had stayed down. Two runs over one SQLite file, nothing answering either time.
    let dir = tempfile::tempdir().unwrap();
    let url = DbUrl::parse(&format!("sqlite://{}", dir.path().join("vigia.db").display())).unwrap();
    let inv = network(3, 1);
    let mut down_events = Vec::new();
    for _run in 0..2 {
        let store = Store::open(&url).await.unwrap();
        let mut opts = AgentOptions::new(PathBuf::from("test"));
        opts.listen = None;
        let agent = Agent::new(opts, inv.clone(), Silent, store, Clock::Wall).unwrap();
        let history = agent.store();
        agent.run_once().await.unwrap();
        let from = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let events = history.events(from, Clock::Wall.now() + chrono::TimeDelta::days(1));
        let down: Vec<EventKind> = events
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .filter(|k| matches!(k, EventKind::DeviceDown | EventKind::SiteIsolated))
            .collect();
        down_events.push(down.len());
        history.close().await;
    }
    // 3 devices x (ICMP + SNMP) down and both sites isolated, once: the second run adds
    // nothing (before the fix it recorded all 8 again).
    assert_eq!(down_events, [8, 8]);
}

/// One device's SNMP agent answers as slowly as a poll's deadline allows (the hostile agents of
/// tests/snmp.rs end there: an endless walk, replies just inside the timeout); the others
/// answer at once. Counts SNMP polls per address.
struct OneStuck {
    stuck: IpAddr,
    polls: Arc<std::sync::Mutex<HashMap<IpAddr, u32>>>,
}

impl Prober for OneStuck {
    async fn icmp(&self, address: IpAddr, settings: CycleSettings) -> IcmpReport {
        IcmpReport {
            family: Family::Ipv4,
            address,
            outcome: IcmpOutcome::Ok,
            sent: settings.count,
            received: settings.count,
            rtts: vec![Duration::from_micros(100); settings.count as usize],
            detail: None,
        }
    }

    async fn snmp(&self, target: SnmpTarget, _query: SnmpQuery) -> SnmpReport {
        *self.polls.lock().unwrap().entry(target.address).or_default() += 1;
        let stuck = target.address == self.stuck;
        if stuck {
            tokio::time::sleep(target.deadline).await;
        }
        SnmpReport {
            family: Family::Ipv4,
            address: target.address,
            outcome: SnmpOutcome::Ok,
            detail: None,
            elapsed: if stuck { target.deadline } else { Duration::from_millis(1) },
            system: Some(SystemInfo { uptime_ticks: Some(1_000), ..SystemInfo::default() }),
            interfaces: Vec::new(),
            entity: None,
            host: None,
            cost: SnmpCost { requests: 2, retries: 0, varbinds: 7 },
            truncated: stuck.then_some(crate::poll::Truncation::Deadline),
        }
    }
}

/// Beside a device whose every SNMP poll runs to its deadline, the healthy devices keep their
/// interval, and the slow one is polled again each interval too: its cost is bounded by the
/// deadline and by one of the `--max-in-flight` permits (issue 16).
#[tokio::test]
async fn a_device_stuck_at_its_deadline_does_not_delay_the_others() {
    let inv = {
        let mut inv = network(40, 4);
        inv.poll.icmp_interval = Duration::from_secs(1);
        inv.poll.snmp_interval = Duration::from_secs(1);
        inv
    };
    let stuck = IpAddr::V4(inv.devices[0].ipv4.unwrap());
    let polls = Arc::new(std::sync::Mutex::new(HashMap::new()));
    let prober = OneStuck { stuck, polls: polls.clone() };
    let mut opts = AgentOptions::new(PathBuf::from("test"));
    opts.listen = None;
    opts.max_in_flight = 4;
    let store = Store::open(&DbUrl::parse("sqlite::memory:").unwrap()).await.unwrap();
    let agent = Agent::new(opts, inv, prober, store, Clock::Wall).unwrap();
    let shared = agent.shared();
    let (control, rx) = mpsc::channel(1);
    let run = tokio::spawn(agent.run(rx));
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    control.send(Control::Shutdown).await.unwrap();
    run.await.unwrap().unwrap();
    // 4.5 s at one poll a second: 4 or 5 each; at least 3 leaves room for a loaded machine.
    let polls = polls.lock().unwrap();
    assert_eq!(polls.len(), 40, "every device polled");
    for (address, n) in polls.iter() {
        assert!(*n >= 3, "{address}: {n} SNMP polls in 4.5 s at one a second");
    }
    // The slow device's polls are recorded as cut at the deadline, and only its.
    let deadline = crate::poll::Truncation::ALL
        .iter()
        .position(|t| *t == crate::poll::Truncation::Deadline)
        .unwrap();
    let cut = shared.read().unwrap().polls.snmp(Family::Ipv4).truncated[deadline];
    assert!(cut >= 3 && cut <= u64::from(polls[&stuck]), "{cut} polls cut at the deadline");
}

/// Records the spacing every ICMP cycle was asked for.
struct Spacings {
    seen: Arc<std::sync::Mutex<Vec<(IpAddr, Duration)>>>,
    inner: StandIn,
}

impl Prober for Spacings {
    async fn icmp(&self, address: IpAddr, settings: CycleSettings) -> IcmpReport {
        self.seen.lock().unwrap().push((address, settings.spacing));
        self.inner.icmp(address, settings).await
    }

    async fn snmp(&self, target: SnmpTarget, query: SnmpQuery) -> SnmpReport {
        self.inner.snmp(target, query).await
    }
}

/// `icmp: false` keeps a device's echoes off and `--no-icmp` every device's, SNMP still
/// polled; a device's own spacing beats the default, and `--icmp-spacing` beats both.
#[tokio::test]
async fn icmp_is_off_per_device_and_per_run_and_the_spacing_comes_from_the_nearest_setting() {
    let run = |icmp_on: bool, spacing: Option<Duration>| async move {
        let mut inv = network(4, 1);
        inv.poll.icmp_spacing = Duration::from_millis(300);
        inv.devices[1].icmp = false;
        inv.devices[2].icmp_spacing = Some(Duration::from_millis(40));
        let counts = Arc::new(Counting::default());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let inner = StandIn {
            counts: counts.clone(),
            icmp_takes: Duration::from_millis(1),
            snmp_takes: Duration::from_millis(1),
        };
        let mut opts = AgentOptions::new(PathBuf::from("test"));
        opts.listen = None;
        opts.icmp = icmp_on;
        opts.icmp_spacing = spacing;
        let store = Store::open(&DbUrl::parse("sqlite::memory:").unwrap()).await.unwrap();
        let prober = Spacings { seen: seen.clone(), inner };
        let agent = Agent::new(opts, inv.clone(), prober, store, Clock::Wall).unwrap();
        agent.run_once().await.unwrap();
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        let by_device: Vec<(String, Duration)> = seen
            .iter()
            .map(|(a, s)| {
                let d = inv.devices.iter().find(|d| d.address(Family::Ipv4) == Some(*a)).unwrap();
                (d.id.to_string(), *s)
            })
            .collect();
        (by_device, counts.snmp_total.load(Ordering::SeqCst))
    };
    let ms = Duration::from_millis;
    let (cycles, snmp) = run(true, None).await;
    assert_eq!(
        cycles,
        [("d0".into(), ms(300)), ("d2".into(), ms(40)), ("d3".into(), ms(300))],
        "d1 has icmp: false"
    );
    assert_eq!(snmp, 4);
    let (cycles, _) = run(true, Some(ms(100))).await;
    assert_eq!(cycles, [("d0".into(), ms(100)), ("d2".into(), ms(100)), ("d3".into(), ms(100))]);
    let (cycles, snmp) = run(false, None).await;
    assert!(cycles.is_empty(), "--no-icmp sent echoes: {cycles:?}");
    assert_eq!(snmp, 4, "SNMP is still polled without ICMP");
}
