//! Store benchmark: how many poll rows a second each backend takes, and how many bytes a row
//! costs on disk, under the load of a large deployment.
//!
//! The load is what 10,000 devices x 2 families x (ICMP every 30 s + SNMP every 60 s) produce:
//! about 1,000 rows per simulated second, stored one simulated second per batch (one
//! transaction), as the agent does. Simulated time runs as fast as the store takes it. Bounded:
//! it stops at `--max-rows` or after `--seconds` of wall time, whichever comes first.
//!
//! ```sh
//! cargo run --release --example store_bench                          # SQLite in a temp dir
//! eval "$(VIGIA_PG_DURABLE=1 scripts/postgres-test start)"
//! cargo run --release --example store_bench -- --db "$VIGIA_TEST_POSTGRES_URL"
//! scripts/postgres-test stop
//! ```
//! The PostgreSQL database must be empty (the bench refuses one holding polls).

// Benchmarks read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Days, TimeZone, Utc};
use clap::Parser;
use rand::{Rng, SeedableRng};
use sqlx::Connection;
use vigia::history::{InterfaceRecord, PollRecord};
use vigia::inventory::{DeviceId, Family, SiteId};
use vigia::poll::{Counter, Interface, PollOutcome, ProbeKind, SystemInfo};
use vigia::store::{Backend, Store};

/// Store benchmark (bounded in rows and time).
#[derive(Debug, Parser)]
struct Args {
    /// Database URL; default: a new SQLite file in a temporary directory.
    #[arg(long)]
    db: Option<String>,
    /// Devices polled (each over IPv4 and IPv6).
    #[arg(long, default_value_t = 10_000)]
    devices: u32,
    /// Stop after this many poll rows.
    #[arg(long, default_value_t = 1_000_000)]
    max_rows: u64,
    /// Stop after this many seconds of wall time spent inserting polls (at most 600).
    #[arg(long, default_value_t = 120)]
    seconds: u64,
    /// Interface samples to store afterwards, in batches of 1,000 (0: skip).
    #[arg(long, default_value_t = 200_000)]
    interface_rows: u64,
}

const ICMP_INTERVAL_S: u32 = 30;
const SNMP_INTERVAL_S: u32 = 60;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let wall_limit = Duration::from_secs(args.seconds.min(600));
    let tmp = tempfile::tempdir()?;
    let url = match &args.db {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", tmp.path().join("bench.db").display()),
    };
    let store = Store::connect(&url).await?;
    let start_at = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).single().expect("valid");
    if !store.latest_polls().await?.is_empty() {
        bail!("the database already holds polls: give the bench an empty one");
    }
    println!(
        "backend {}, {} devices x 2 families, ICMP every {ICMP_INTERVAL_S} s, SNMP every \
         {SNMP_INTERVAL_S} s: {:.0} rows per simulated second",
        store.backend().as_str(),
        args.devices,
        2.0 * f64::from(args.devices) * (1.0 / 30.0 + 1.0 / 60.0)
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut rows_done = 0u64;
    let mut batches = 0u64;
    let mut insert_time = Duration::ZERO;
    let mut worst = Duration::ZERO;
    let mut second = 0u32;
    while rows_done < args.max_rows && insert_time < wall_limit {
        let at = start_at + chrono::Duration::seconds(i64::from(second));
        let batch = due(&mut rng, args.devices, second, at);
        second += 1;
        if batch.is_empty() {
            continue;
        }
        let t0 = Instant::now();
        store.insert_polls(&batch).await?;
        let took = t0.elapsed();
        insert_time += took;
        worst = worst.max(took);
        rows_done += batch.len() as u64;
        batches += 1;
    }
    let rate = rows_done as f64 / insert_time.as_secs_f64();
    println!(
        "polls: {rows_done} rows in {batches} batches ({second} simulated s) in {:.1} s: \
         {rate:.0} rows/s ({:.1}x the 1,000 rows/s target); mean batch {:.1} ms, worst {:.1} ms",
        insert_time.as_secs_f64(),
        rate / 1000.0,
        insert_time.as_secs_f64() * 1000.0 / batches as f64,
        worst.as_secs_f64() * 1000.0
    );

    let mut interface_rows = 0u64;
    if args.interface_rows > 0 {
        let mut done = 0u64;
        let t0 = Instant::now();
        while done < args.interface_rows && t0.elapsed() < wall_limit {
            let at = start_at + chrono::Duration::seconds((done / 1000) as i64);
            let batch: Vec<InterfaceRecord> =
                (0..1000).map(|i| interface(&mut rng, at, done + i, args.devices)).collect();
            store.insert_interfaces(&batch).await?;
            done += 1000;
        }
        interface_rows = done;
        let secs = t0.elapsed().as_secs_f64();
        println!("interfaces: {done} rows in {secs:.1} s: {:.0} rows/s", done as f64 / secs);
    }

    let end_at = start_at + chrono::Duration::seconds(i64::from(second));
    let t0 = Instant::now();
    let avail = store.availability(start_at, end_at).await?;
    println!(
        "availability over the raw rows: {} keys in {:.2} s",
        avail.len(),
        t0.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    let n = store.rollup(start_at.date_naive()).await?;
    println!(
        "rollup of the day: {n} rows from {rows_done} polls in {:.2} s ({:.0} polls/s)",
        t0.elapsed().as_secs_f64(),
        rows_done as f64 / t0.elapsed().as_secs_f64()
    );

    size_report(&store, &url, rows_done, interface_rows).await?;

    let t0 = Instant::now();
    let deleted = store
        .prune(
            end_at
                .date_naive()
                .checked_add_days(Days::new(1))
                .map_or(end_at, |d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
        )
        .await?;
    println!(
        "prune: {deleted} raw rows in {:.2} s ({:.0} rows/s)",
        t0.elapsed().as_secs_f64(),
        deleted as f64 / t0.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(())
}

/// The polls due in simulated second `second`: each (device, family) has its own phase.
fn due(rng: &mut impl Rng, devices: u32, second: u32, at: DateTime<Utc>) -> Vec<PollRecord> {
    let mut out = Vec::new();
    for d in 0..devices {
        for (fi, family) in [Family::Ipv4, Family::Ipv6].into_iter().enumerate() {
            let phase = d.wrapping_mul(7919).wrapping_add(fi as u32 * 13);
            if (second + phase).is_multiple_of(ICMP_INTERVAL_S) {
                out.push(icmp(rng, at, d, family));
            }
            if (second + phase).is_multiple_of(SNMP_INTERVAL_S) {
                out.push(snmp(rng, at, d, family));
            }
        }
    }
    out
}

fn device(d: u32) -> DeviceId {
    format!("sw-{:05}", d).into()
}

fn site(d: u32) -> SiteId {
    format!("sede-{:03}", d / 40).into()
}

fn icmp(rng: &mut impl Rng, at: DateTime<Utc>, d: u32, family: Family) -> PollRecord {
    let received = if rng.random_bool(0.02) { 0 } else { 3 };
    let ok = received > 0;
    let rtt = rng.random_range(0.000_5..0.020);
    PollRecord {
        at,
        agent: "agent-bench".into(),
        device: device(d),
        site: site(d),
        family,
        probe: ProbeKind::Icmp,
        outcome: if ok { PollOutcome::Ok } else { PollOutcome::Timeout },
        success: ok,
        sent: Some(3),
        received: Some(received),
        rtt_min_s: ok.then_some(rtt * 0.8),
        rtt_avg_s: ok.then_some(rtt),
        rtt_max_s: ok.then_some(rtt * 1.3),
        jitter_s: ok.then_some(rtt * 0.1),
        duration_s: if ok { 2.0 + rtt } else { 3.0 },
        system: SystemInfo::default(),
    }
}

fn snmp(rng: &mut impl Rng, at: DateTime<Utc>, d: u32, family: Family) -> PollRecord {
    let ok = !rng.random_bool(0.02);
    let model = d % 5;
    PollRecord {
        at,
        agent: "agent-bench".into(),
        device: device(d),
        site: site(d),
        family,
        probe: ProbeKind::Snmp,
        outcome: if ok { PollOutcome::Ok } else { PollOutcome::Timeout },
        success: ok,
        sent: None,
        received: None,
        rtt_min_s: None,
        rtt_avg_s: None,
        rtt_max_s: None,
        jitter_s: None,
        duration_s: rng.random_range(0.002..0.050),
        system: SystemInfo {
            descr: ok.then(|| {
                format!("Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.{model}(2)SE11, RELEASE SOFTWARE (fc3)")
            }),
            object_id: ok.then(|| format!("1.3.6.1.4.1.9.1.{}", 1200 + model)),
            name: ok.then(|| format!("{}.tacna.example", device(d))),
            location: ok.then(|| format!("{}, gabinete principal", site(d))),
            contact: ok.then(|| "infraestructura@tacna.example".into()),
            uptime_ticks: ok.then(|| rng.random_range(0..u32::MAX)),
        },
    }
}

fn interface(rng: &mut impl Rng, at: DateTime<Utc>, n: u64, devices: u32) -> InterfaceRecord {
    let d = (n / 24) as u32 % devices.max(1);
    let i = (n % 24) as u32 + 1;
    let mut interface = Interface {
        index: i,
        name: format!("GigabitEthernet0/{i}"),
        alias: (i == 1).then(|| "enlace troncal".into()),
        if_type: Some(6),
        speed_mbps: Some(1000),
        oper_up: Some(true),
        admin_up: Some(true),
        counter_bits: 64,
        ..Interface::default()
    };
    // Every counter read, as on a real switch; octets and discards vary.
    for c in Counter::ALL {
        *interface.counter_mut(c) = Some(0);
    }
    interface.in_octets = Some(rng.random());
    interface.out_octets = Some(rng.random());
    interface.in_discards = Some(rng.random_range(0..100));
    InterfaceRecord { at, agent: "agent-bench".into(), device: device(d), interface }
}

/// Bytes on disk per poll row.
async fn size_report(
    store: &Store,
    url: &str,
    rows: u64,
    interface_rows: u64,
) -> anyhow::Result<()> {
    match store.backend() {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut c).await?;
            let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&mut c).await?;
            // Per table and index, when SQLite was built with the dbstat table.
            let per_object: Result<Vec<(String, i64)>, _> = sqlx::query_as(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC",
            )
            .fetch_all(&mut c)
            .await;
            let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
            let file = std::fs::metadata(path).with_context(|| format!("size of {path}"))?.len();
            println!(
                "size: {file} bytes in the file (page size {page_size}): {:.1} bytes per poll row \
                 (interface rows included)",
                file as f64 / rows as f64
            );
            match per_object {
                Ok(objects) => {
                    for (name, bytes) in objects.iter().take(8) {
                        println!("  {name}: {bytes} bytes");
                    }
                    let table = |t: &str| -> i64 {
                        objects
                            .iter()
                            .filter(|(n, _)| n == t || n.starts_with(&format!("{t}_")))
                            .map(|(_, b)| b)
                            .sum()
                    };
                    println!(
                        "  polls with its indexes: {:.1} bytes per row",
                        table("polls") as f64 / rows as f64
                    );
                    if interface_rows > 0 {
                        println!(
                            "  interfaces with its indexes: {:.1} bytes per row",
                            table("interfaces") as f64 / interface_rows as f64
                        );
                    }
                }
                Err(_) => println!("  (no dbstat table in this SQLite build: file size only)"),
            }
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await?;
            sqlx::query("VACUUM ANALYZE polls").execute(&mut c).await?;
            let (heap, indexes, total): (i64, i64, i64) = sqlx::query_as(
                "SELECT pg_relation_size('polls'), pg_indexes_size('polls'), \
                 pg_total_relation_size('polls')",
            )
            .fetch_one(&mut c)
            .await?;
            let per = |b: i64| b as f64 / rows as f64;
            println!(
                "size of polls: heap {heap} bytes ({:.1}/row), indexes {indexes} bytes \
                 ({:.1}/row), total {total} bytes: {:.1} bytes per poll row",
                per(heap),
                per(indexes),
                per(total)
            );
            if interface_rows > 0 {
                sqlx::query("VACUUM ANALYZE interfaces").execute(&mut c).await?;
                let total: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('interfaces')")
                    .fetch_one(&mut c)
                    .await?;
                println!(
                    "size of interfaces with its indexes: {:.1} bytes per row",
                    total as f64 / interface_rows as f64
                );
            }
            let objects: Vec<(String, i64)> = sqlx::query_as(
                "SELECT c.relname::text, pg_relation_size(c.oid) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') \
                 ORDER BY 2 DESC LIMIT 8",
            )
            .fetch_all(&mut c)
            .await?;
            for (name, bytes) in objects {
                println!("  {name}: {bytes} bytes");
            }
        }
    }
    Ok(())
}
