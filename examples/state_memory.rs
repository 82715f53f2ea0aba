//! Bytes the agent holds per device: the inventory, its index and the network state after every
//! device has been polled once over ICMP and SNMP (two interfaces each, like the devices of
//! scripts/bench-scale), counted by a global allocator that tracks live heap bytes.
//!
//! Then it renders `/metrics` from that state a few times and prints the time, the bytes
//! allocated at the peak of a render, and how long a writer (the agent applying a poll result)
//! had to wait for the state's lock meanwhile.
//!
//! `cargo run --release --example state_memory [-- --devices N --interfaces K]`. A measurement:
//! it asserts nothing. docs/scaling.md quotes it.

// Benchmarks read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]
// A measurement, not the monitor: a counting global allocator is `unsafe` by definition.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::{Arc as StdArc, RwLock};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use vigia::agent::{Clock, Shared};
use vigia::inventory::{
    Device, DeviceClass, Inventory, InventoryIndex, Lifecycle, LinkMedium, Policy, PollSettings,
    SecretRef, Site, SiteRole, SnmpProfile, SnmpRef,
};
use vigia::metrics::{self, Format};
use vigia::poll::{
    Counter, IcmpOutcome, IcmpReport, Interface, SnmpOutcome, SnmpReport, SystemInfo,
};
use vigia::state::NetworkState;

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now =
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's layout is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as `GlobalAlloc::realloc` requires, passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn arg(name: &str, default: usize) -> usize {
    let argv: Vec<String> = std::env::args().collect();
    argv.iter()
        .position(|a| a == name)
        .and_then(|i| argv.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let devices = arg("--devices", 10_000).clamp(1, 100_000);
    let interfaces = arg("--interfaces", 2).clamp(0, 512) as u32;
    let sites = (devices / 5).max(2);

    let before = live();
    let inv = Arc::new(inventory(devices, sites));
    let inventory_bytes = live() - before;

    let before = live();
    let today = Utc::now().date_naive();
    let index = InventoryIndex::new(inv.clone(), today);
    let index_bytes = live() - before;

    let before = live();
    let mut state = NetworkState::new();
    let at = Utc::now();
    let mut events = 0;
    for d in inv.devices.iter() {
        for family in d.families().collect::<Vec<_>>() {
            let address = d.address(family).expect("a family it has");
            let icmp = IcmpReport {
                family,
                address,
                outcome: IcmpOutcome::Ok,
                sent: 3,
                received: 3,
                rtts: vec![Duration::from_micros(80); 3],
                detail: None,
            };
            events += state.apply_icmp(&index, d, icmp, at, "bench").len();
            let snmp = SnmpReport {
                family,
                address,
                outcome: SnmpOutcome::Ok,
                detail: None,
                elapsed: Duration::from_millis(3),
                system: Some(SystemInfo {
                    descr: Some(
                        "Linux vigia-bench 6.1.0-27-amd64 #1 SMP PREEMPT_DYNAMIC x86_64".into(),
                    ),
                    object_id: Some("1.3.6.1.4.1.8072.3.2.10".into()),
                    uptime_ticks: Some(123_456),
                    name: Some(d.id.to_string()),
                    location: Some(format!("Sede {}", d.site)),
                    contact: Some("OTIC <otic@example.org>".into()),
                }),
                interfaces: (1..=interfaces)
                    .map(|i| {
                        let mut it = Interface {
                            index: i,
                            name: format!("GigabitEthernet0/{i}"),
                            alias: Some(format!("enlace {i}")),
                            if_type: Some(6),
                            speed_mbps: Some(1000),
                            oper_up: Some(true),
                            admin_up: Some(true),
                            counter_bits: 64,
                            ..Interface::default()
                        };
                        // Every counter read, as on a real switch.
                        for c in Counter::ALL {
                            *it.counter_mut(c) = Some(0);
                        }
                        it.in_octets = Some(1_000_000);
                        it.out_octets = Some(2_000_000);
                        it
                    })
                    .collect(),
                entity: None,
                host: None,
                cost: Default::default(),
                truncated: None,
            };
            events += state.apply_snmp(d, snmp, at - TimeDelta::seconds(1), "bench").len();
        }
    }
    let state_bytes = live() - before;
    let per = |b: isize| b as f64 / devices as f64;
    println!("{devices} devices at {sites} sites, {interfaces} interfaces each, {events} events");
    println!(
        "inventory          {:>8.1} MiB  {:>7.0} bytes/device",
        mib(inventory_bytes),
        per(inventory_bytes)
    );
    println!(
        "inventory index    {:>8.1} MiB  {:>7.0} bytes/device",
        mib(index_bytes),
        per(index_bytes)
    );
    println!(
        "network state      {:>8.1} MiB  {:>7.0} bytes/device",
        mib(state_bytes),
        per(state_bytes)
    );
    drop(index);

    let mut shared = Shared::new(inv.clone(), Clock::Wall);
    shared.state = state;
    let shared = StdArc::new(RwLock::new(shared));
    for _ in 0..3 {
        let base = live();
        PEAK.store(base, Ordering::Relaxed);
        let writer = Writer::start(shared.clone());
        let t = Instant::now();
        let text = metrics::render(&shared, Format::Classic);
        let took = t.elapsed();
        let waited = writer.stop();
        let series = text.lines().filter(|l| !l.starts_with('#')).count();
        println!(
            "render /metrics    {:>8.1} MiB  {series} series in {:.2} s; {:.0} MiB allocated at the peak; a writer waited {:.0} ms at most",
            mib(text.len() as isize),
            took.as_secs_f64(),
            mib(PEAK.load(Ordering::Relaxed) - base),
            waited.as_secs_f64() * 1e3
        );
    }
}

/// Takes the write lock again and again, as the agent does to apply each poll result, and
/// keeps the longest it had to wait: how long a render held the lock.
struct Writer {
    stop: StdArc<AtomicBool>,
    thread: std::thread::JoinHandle<Duration>,
}

impl Writer {
    fn start<T: Send + Sync + 'static>(lock: StdArc<RwLock<T>>) -> Writer {
        let stop = StdArc::new(AtomicBool::new(false));
        let done = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut longest = Duration::ZERO;
            while !done.load(Ordering::Relaxed) {
                let t = Instant::now();
                drop(lock.write().unwrap_or_else(|p| p.into_inner()));
                longest = longest.max(t.elapsed());
                std::thread::sleep(Duration::from_micros(200));
            }
            longest
        });
        Writer { stop, thread }
    }

    fn stop(self) -> Duration {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the writer does not panic")
    }
}

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn inventory(devices: usize, sites: usize) -> Inventory {
    let site = |i: usize| Site {
        id: format!("s{i:04}").into(),
        name: format!("Sede {i}"),
        role: if i == 0 { SiteRole::Main } else { SiteRole::Branch },
        link: (i > 0).then_some(if i.is_multiple_of(5) {
            LinkMedium::Radio
        } else {
            LinkMedium::Fibre
        }),
        link_mbps: None,
        provider: None,
        planned_link: None,
        planned_date: None,
        via: None,
        core: Vec::new(),
    };
    let profile = Arc::new(SnmpProfile::V2c { community: SecretRef::Env("UNUSED".into()) });
    let device = |i: usize| Device {
        id: format!("d{i:05}").into(),
        site: format!("s{:04}", i % sites).into(),
        class: DeviceClass::Switch,
        vendor: None,
        model: None,
        serial: None,
        ipv4: Some(Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 64, 1)) + i as u32)),
        ipv6: (i % 5 < 2).then(|| Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0, i as u16 + 1)),
        uplink: i < sites,
        snmp: Some(SnmpRef { name: "bench".into(), profile: profile.clone() }),
        monitor: true,
        ipv6_planned: None,
        lifecycle: Lifecycle::default(),
        depends_on: Vec::new(),
        icmp: true,
        icmp_spacing: None,
    };
    Inventory {
        dir: PathBuf::from("bench"),
        sites: (0..sites).map(site).collect(),
        devices: (0..devices).map(device).collect(),
        snmp_profiles: Default::default(),
        poll: PollSettings::default(),
        policy: Policy::default(),
        projects: Vec::new(),
        indicators: Vec::new(),
        declared: Vec::new(),
        lab: Default::default(),
        catalog: Default::default(),
        time_zone: vigia::inventory::maintenance::DEFAULT_TIME_ZONE,
        maintenance: Vec::new(),
    }
}
