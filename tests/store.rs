//! The history store: one suite, run against both backends (SQLite in a temporary file, and a
//! real PostgreSQL: see `support/postgres.rs`), plus the `--db` URL errors.

// Tests read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

mod support;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::json;
use vigia::inventory::Family;
use vigia::poll::{Counter, Fact, Interface, PollOutcome, ProbeKind, SystemInfo};
use vigia::store::*;

/// Runs each listed test function against SQLite and against PostgreSQL.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().expect("temporary directory");
                    let url = format!("sqlite://{}", dir.path().join("vigia.db").display());
                    super::$name(&url).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = crate::support::postgres::database()
                        .await
                        .unwrap_or_else(|e| panic!("PostgreSQL for the store tests: {e}"));
                    super::$name(&db.url).await;
                }
            )*
        }
    };
}

both_backends!(
    migrations_apply_on_a_new_database_and_again_on_reopen,
    polls_round_trip_with_optional_fields_none_and_some,
    interfaces_round_trip_with_optional_fields_none_and_some,
    events_round_trip_and_are_read_by_half_open_range,
    latest_polls_are_the_latest_per_device_family_and_probe_across_agents,
    inventory_snapshots_are_deduplicated_by_digest,
    rollup_is_idempotent,
    rollup_from_two_agents_at_once_counts_each_poll_once,
    availability_is_the_same_from_raw_rows_from_rollups_and_after_pruning,
    a_partial_day_counts_only_the_raw_rows_that_still_exist,
    prune_removes_only_raw_rows_of_days_before_the_cut_off,
    rollup_of_a_pruned_day_keeps_its_figures,
    text_is_cleaned_the_same_way_by_both_backends,
    times_keep_microseconds,
    a_batch_with_an_unstorable_row_stores_nothing,
    a_database_without_a_counter_column_gets_it_at_open,
    events_are_filtered_by_site_device_kind_and_time_and_paginated_newest_first,
    a_poll_series_has_every_poll_of_a_short_window_and_buckets_of_a_long_one,
    device_facts_keep_each_run_and_its_latest_sighting_across_agents,
    availability_asked_again_as_rows_arrive_matches_a_fresh_reading,
);

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).expect("valid day")
}

fn t(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).single().expect("valid time")
}

fn midnight(d: u32) -> DateTime<Utc> {
    t(d, 0, 0)
}

async fn open(url: &str) -> Store {
    Store::connect(url).await.unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

/// An ICMP cycle of 3 echoes: `received` replies, each `rtt_ms` (a success when any came back).
fn icmp(
    at: DateTime<Utc>,
    agent: &str,
    device: &str,
    site: &str,
    family: Family,
    received: u32,
    rtt_ms: u32,
) -> PollRecord {
    let ok = received > 0;
    let rtt = ok.then(|| f64::from(rtt_ms) / 1000.0);
    PollRecord {
        at,
        agent: agent.into(),
        device: device.into(),
        site: site.into(),
        family,
        probe: ProbeKind::Icmp,
        outcome: if ok { PollOutcome::Ok } else { PollOutcome::Timeout },
        success: ok,
        sent: Some(3),
        received: Some(received),
        rtt_min_s: rtt,
        rtt_avg_s: rtt,
        rtt_max_s: rtt,
        jitter_s: ok.then_some(0.0),
        duration_s: 2.5,
        system: SystemInfo::default(),
    }
}

/// An SNMP poll with every system value.
fn snmp(at: DateTime<Utc>, agent: &str, device: &str, site: &str, family: Family) -> PollRecord {
    PollRecord {
        at,
        agent: agent.into(),
        device: device.into(),
        site: site.into(),
        family,
        probe: ProbeKind::Snmp,
        outcome: PollOutcome::Ok,
        success: true,
        sent: None,
        received: None,
        rtt_min_s: None,
        rtt_avg_s: None,
        rtt_max_s: None,
        jitter_s: None,
        duration_s: 0.012345,
        system: SystemInfo {
            descr: Some(
                "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE".into(),
            ),
            object_id: Some("1.3.6.1.4.1.9.1.1208".into()),
            name: Some(format!("{device}.tacna.example")),
            location: Some("Sala de servidores, piso 2".into()),
            contact: Some("infraestructura@tacna.example".into()),
            uptime_ticks: Some(u32::MAX),
        },
    }
}

/// An SNMP poll with no optional value at all (a timeout).
fn snmp_timeout(at: DateTime<Utc>, agent: &str, device: &str, site: &str) -> PollRecord {
    PollRecord {
        outcome: PollOutcome::Timeout,
        success: false,
        duration_s: 1.0,
        system: SystemInfo::default(),
        ..snmp(at, agent, device, site, Family::Ipv6)
    }
}

fn interface(at: DateTime<Utc>, device: &str, if_index: u32, full: bool) -> InterfaceRecord {
    let some = |v: u64| full.then_some(v);
    let mut interface = Interface {
        index: if_index,
        name: format!("GigabitEthernet0/{if_index}"),
        alias: full.then(|| "enlace fibra a sede Alto de la Alianza".into()),
        if_type: full.then_some(6),
        speed_mbps: some(1000),
        oper_up: full.then_some(true),
        admin_up: full.then_some(false),
        counter_bits: if full { 64 } else { 32 },
        ..Interface::default()
    };
    // Every declared counter, with values at the edges of the signed 64-bit column: a counter
    // added to `poll::Counter` is stored and read back here with no change to this test.
    let values = [u64::MAX, 1 << 63, 0, 7, u64::from(u32::MAX) + 1, 3];
    for (c, v) in Counter::ALL.into_iter().zip(values.into_iter().cycle()) {
        *interface.counter_mut(c) = some(v);
    }
    InterfaceRecord { at, agent: "agent-a".into(), device: device.into(), interface }
}

fn event(at: DateTime<Utc>, kind: EventKind, full: bool) -> EventRecord {
    EventRecord {
        at,
        agent: "agent-a".into(),
        kind,
        device: full.then(|| "sw-core".into()),
        site: full.then(|| "sede-central".into()),
        family: full.then_some(Family::Ipv6),
        probe: full.then_some(ProbeKind::Icmp),
        detail: format!("{kind} detail"),
        cause: full.then_some(vigia::outage::Cause::Dependency),
        maintenance: if full { vec!["obra".into(), "firmware".into()] } else { Vec::new() },
    }
}

fn snapshot(at: DateTime<Utc>, agent: &str, digest: &str) -> InventorySnapshotText {
    InventorySnapshotText {
        at,
        agent: agent.into(),
        digest: digest.into(),
        content: json!({"sites": [{"id": "sede-central", "link": null}], "devices": [], "digest": digest})
            .to_string(),
    }
}

/// What the store gives back for a snapshot it stored: its text parsed.
fn stored(snap: &InventorySnapshotText) -> InventorySnapshot {
    InventorySnapshot {
        at: snap.at,
        agent: snap.agent.clone(),
        digest: snap.digest.clone(),
        content: serde_json::from_str(&snap.content).unwrap(),
    }
}

/// Opens the database behind `url` with sqlx directly, to look at what the store cannot show.
async fn applied_migrations(url: &str) -> i64 {
    use sqlx::Connection;
    let sql = "SELECT count(*) FROM _sqlx_migrations WHERE success";
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("migrations table")
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("migrations table")
    }
}

/// Runs one statement on the database behind `url`, past the store.
async fn execute(url: &str, sql: &'static str) {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query(sql).execute(&mut c).await.expect(sql);
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query(sql).execute(&mut c).await.expect(sql);
    }
}

fn migration_files(backend: &str) -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    std::fs::read_dir(dir).expect("migrations dir").filter(|e| e.is_ok()).count() as i64
}

async fn migrations_apply_on_a_new_database_and_again_on_reopen(url: &str) {
    let store = open(url).await;
    let backend = store.backend().as_str();
    assert_eq!(applied_migrations(url).await, migration_files(backend));
    let row = icmp(t(2, 10, 0), "agent-a", "sw-core", "sede-central", Family::Ipv4, 3, 2);
    store.insert_polls(std::slice::from_ref(&row)).await.unwrap();
    store.close().await;

    // Reopening applies nothing new and keeps the data.
    let store = open(url).await;
    assert_eq!(applied_migrations(url).await, migration_files(backend));
    assert_eq!(store.polls("sw-core", midnight(2), midnight(3)).await.unwrap(), vec![row]);
    // A third connection while the second is open is fine too (another agent starting).
    let other = open(url).await;
    assert_eq!(other.latest_polls().await.unwrap().len(), 1);
}

async fn polls_round_trip_with_optional_fields_none_and_some(url: &str) {
    let store = open(url).await;
    let rows = vec![
        snmp(t(2, 10, 0), "agent-a", "sw-core", "sede-central", Family::Ipv4),
        snmp_timeout(t(2, 10, 1), "agent-a", "sw-core", "sede-central"),
        icmp(t(2, 10, 2), "agent-a", "sw-core", "sede-central", Family::Ipv6, 2, 17),
        icmp(t(2, 10, 3), "agent-a", "sw-core", "sede-central", Family::Ipv4, 0, 0),
        icmp(t(2, 10, 4), "agent-a", "sw-edge", "sede-norte", Family::Ipv4, 3, 1),
    ];
    // Every optional field None and Some, an RTT with microseconds.
    let mut precise = icmp(t(2, 10, 5), "agent-b", "sw-core", "sede-central", Family::Ipv4, 3, 1);
    precise.rtt_min_s = Some(0.000_123);
    precise.rtt_avg_s = Some(0.001_234);
    precise.rtt_max_s = Some(0.012_345);
    precise.jitter_s = Some(0.000_001);
    precise.sent = Some(u32::try_from(i32::MAX).unwrap());
    // And one with every optional field Some (no probe fills all of them; the store must not
    // care).
    let mut every = snmp(t(2, 10, 6), "agent-b", "sw-core", "sede-central", Family::Ipv6);
    every.sent = Some(4);
    every.received = Some(1);
    every.rtt_min_s = Some(0.5);
    every.rtt_avg_s = Some(0.75);
    every.rtt_max_s = Some(1.0);
    every.jitter_s = Some(0.25);
    every.system.uptime_ticks = Some(0);
    let mut all = rows.clone();
    all.push(precise);
    all.push(every);
    // Stored in two batches, out of order.
    store.insert_polls(&all[3..]).await.unwrap();
    store.insert_polls(&all[..3]).await.unwrap();

    let read = store.polls("sw-core", midnight(2), midnight(3)).await.unwrap();
    let want: Vec<PollRecord> = all.iter().filter(|r| r.device == "sw-core").cloned().collect();
    assert_eq!(read, want);
    // Half-open: `from` included, `to` excluded.
    let read = store.polls("sw-core", t(2, 10, 1), t(2, 10, 3)).await.unwrap();
    assert_eq!(read, vec![all[1].clone(), all[2].clone()]);
    assert_eq!(
        store.polls("sw-edge", midnight(2), midnight(3)).await.unwrap(),
        vec![all[4].clone()]
    );
    assert!(store.polls("no-such-device", midnight(1), midnight(9)).await.unwrap().is_empty());
    assert!(store.polls("sw-core", midnight(3), midnight(4)).await.unwrap().is_empty());

    // A new connection (empty name cache) reads the same.
    let fresh = open(url).await;
    let read = fresh.polls("sw-core", midnight(2), midnight(3)).await.unwrap();
    assert_eq!(read, want);
}

async fn interfaces_round_trip_with_optional_fields_none_and_some(url: &str) {
    let store = open(url).await;
    let rows = vec![
        interface(t(2, 10, 0), "sw-core", 1, true),
        interface(t(2, 10, 0), "sw-core", 2, false),
        interface(t(2, 10, 1), "sw-core", u32::try_from(i32::MAX).unwrap(), true),
        interface(t(2, 10, 1), "sw-edge", 1, true),
    ];
    store.insert_interfaces(&rows).await.unwrap();
    let read = store.interfaces("sw-core", midnight(2), midnight(3)).await.unwrap();
    assert_eq!(read, rows[..3].to_vec());
    assert_eq!(
        store.interfaces("sw-core", t(2, 10, 1), midnight(3)).await.unwrap(),
        vec![rows[2].clone()]
    );
    assert!(store.interfaces("nothing", midnight(1), midnight(9)).await.unwrap().is_empty());
    let fresh = open(url).await;
    assert_eq!(
        fresh.interfaces("sw-edge", midnight(2), midnight(3)).await.unwrap(),
        vec![rows[3].clone()]
    );
}

async fn events_round_trip_and_are_read_by_half_open_range(url: &str) {
    let store = open(url).await;
    let rows: Vec<EventRecord> = EventKind::ALL
        .iter()
        .enumerate()
        .map(|(i, kind)| event(t(2, 8 + i as u32, 0), *kind, i % 2 == 0))
        .collect();
    store.insert_events(&rows).await.unwrap();
    // Two events at the same instant come back in the order stored.
    let same = [
        event(t(3, 0, 0), EventKind::DeviceDown, true),
        event(t(3, 0, 0), EventKind::DeviceUp, false),
    ];
    store.insert_events(&same).await.unwrap();

    assert_eq!(store.events(midnight(2), midnight(3)).await.unwrap(), rows);
    assert_eq!(store.events(t(2, 9, 0), t(2, 11, 0)).await.unwrap(), rows[1..3].to_vec());
    assert_eq!(store.events(midnight(3), midnight(4)).await.unwrap(), same.to_vec());
    assert!(store.events(midnight(4), midnight(5)).await.unwrap().is_empty());
}

async fn latest_polls_are_the_latest_per_device_family_and_probe_across_agents(url: &str) {
    let a = open(url).await;
    let b = open(url).await;
    let a1 = icmp(t(2, 10, 0), "agent-a", "sw-core", "sede-central", Family::Ipv4, 3, 1);
    let a3 = icmp(t(2, 10, 3), "agent-a", "sw-core", "sede-central", Family::Ipv4, 0, 0);
    let b2 = icmp(t(2, 10, 2), "agent-b", "sw-core", "sede-central", Family::Ipv4, 3, 4);
    let b_v6 = icmp(t(2, 10, 1), "agent-b", "sw-core", "sede-central", Family::Ipv6, 3, 4);
    let a_snmp_old = snmp(t(2, 9, 0), "agent-a", "sw-core", "sede-central", Family::Ipv4);
    let b_snmp = snmp(t(2, 11, 0), "agent-b", "sw-core", "sede-central", Family::Ipv4);
    let edge = snmp_timeout(t(2, 8, 0), "agent-b", "sw-edge", "sede-norte");

    // One batch holding two rows of one key, then an older row from another agent afterwards.
    a.insert_polls(&[a1.clone(), a3.clone(), a_snmp_old.clone()]).await.unwrap();
    b.insert_polls(&[b2.clone(), b_v6.clone(), b_snmp.clone(), edge.clone()]).await.unwrap();

    // Sorted by device, family (IPv4 first), probe (ICMP first).
    let want = vec![a3, b_snmp, b_v6, edge];
    assert_eq!(a.latest_polls().await.unwrap(), want);
    assert_eq!(b.latest_polls().await.unwrap(), want);
    // Pruning every raw row keeps the latest polls.
    a.prune(midnight(9)).await.unwrap();
    assert!(a.polls("sw-core", midnight(1), midnight(9)).await.unwrap().is_empty());
    assert_eq!(a.latest_polls().await.unwrap(), want);
}

async fn inventory_snapshots_are_deduplicated_by_digest(url: &str) {
    let store = open(url).await;
    let x1 = snapshot(t(2, 8, 0), "agent-a", "aaaa");
    let x2 = snapshot(t(2, 9, 0), "agent-b", "aaaa");
    let y = snapshot(t(2, 10, 0), "agent-a", "bbbb");
    let x3 = snapshot(t(2, 11, 0), "agent-a", "aaaa");
    assert!(store.record_inventory(&x1).await.unwrap(), "the first snapshot is stored");
    assert!(
        !store.record_inventory(&x2).await.unwrap(),
        "the same digest again (another agent) is not"
    );
    assert!(store.record_inventory(&y).await.unwrap(), "a new digest is stored");
    assert!(
        store.record_inventory(&x3).await.unwrap(),
        "a digest that is not the latest is stored"
    );
    assert!(!store.record_inventory(&x3).await.unwrap());

    assert_eq!(
        store.inventory_history(t(2, 11, 0)).await.unwrap(),
        vec![stored(&x1), stored(&y), stored(&x3)]
    );
    assert_eq!(store.inventory_history(t(2, 10, 59)).await.unwrap(), vec![stored(&x1), stored(&y)]);
    assert!(store.inventory_history(t(2, 7, 0)).await.unwrap().is_empty());
}

/// Day 2: `sw-core` over IPv4, 10 ICMP polls every two hours, the fifth lost entirely, the eighth
/// with 2 replies of 3; RTT 10 ms, the last 19 ms. By hand: 10 polls, 9 successes (0.9),
/// 30 echoes sent, 26 received, mean RTT (8 x 10 + 19) / 9 = 11 ms. Plus 4 SNMP polls, 3 ok.
fn day_two() -> Vec<PollRecord> {
    let mut rows: Vec<PollRecord> = (0..10)
        .map(|k| {
            let received = match k {
                4 => 0,
                7 => 2,
                _ => 3,
            };
            let rtt = if k == 9 { 19 } else { 10 };
            icmp(t(2, 2 * k, 0), "agent-a", "sw-core", "sede-central", Family::Ipv4, received, rtt)
        })
        .collect();
    for k in 0..4 {
        let at = t(2, 6 * k, 30);
        rows.push(if k == 1 {
            snmp_timeout(at, "agent-a", "sw-core", "sede-central")
        } else {
            snmp(at, "agent-a", "sw-core", "sede-central", Family::Ipv6)
        });
    }
    rows
}

/// Day 3: 4 good ICMP polls from 06:00 on, from site `sede-nueva` (the device moved).
fn day_three() -> Vec<PollRecord> {
    (0..4)
        .map(|k| icmp(t(3, 6 + 4 * k, 0), "agent-a", "sw-core", "sede-nueva", Family::Ipv4, 3, 5))
        .collect()
}

fn find(rows: &[Availability], family: Family, probe: ProbeKind) -> &Availability {
    rows.iter()
        .find(|a| a.device == "sw-core" && a.family == family && a.probe == probe)
        .unwrap_or_else(|| panic!("no sw-core {family} {probe} in {rows:#?}"))
}

fn assert_close(got: Option<f64>, want: f64) {
    let got = got.expect("a value");
    assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
}

async fn rollup_is_idempotent(url: &str) {
    let store = open(url).await;
    store.insert_polls(&day_two()).await.unwrap();
    store.insert_polls(&day_three()).await.unwrap();
    assert!(store.rolled_days(day(1), day(9)).await.unwrap().is_empty());

    assert_eq!(store.rollup(day(2)).await.unwrap(), 2, "ICMP over IPv4 and SNMP over IPv6");
    let first = store.daily(day(2), day(3)).await.unwrap();
    assert_eq!(store.rollup(day(2)).await.unwrap(), 2);
    assert_eq!(store.daily(day(2), day(3)).await.unwrap(), first);
    assert_eq!(store.rolled_days(day(1), day(9)).await.unwrap(), vec![day(2)]);

    assert_eq!(first.len(), 2);
    let ping = &first[0].figures;
    assert_eq!((first[0].day, ping.probe, ping.family), (day(2), ProbeKind::Icmp, Family::Ipv4));
    assert_eq!((ping.polls, ping.successes, ping.sent, ping.received), (10, 9, 30, 26));
    assert_eq!(ping.rtt_count, 9);
    assert_close(ping.rtt_mean_s(), 0.011);
    assert_eq!(ping.site, "sede-central");
    let snmp = &first[1].figures;
    assert_eq!(
        (snmp.probe, snmp.family, snmp.polls, snmp.successes),
        (ProbeKind::Snmp, Family::Ipv6, 4, 3)
    );
    assert_eq!((snmp.sent, snmp.received, snmp.rtt_count), (0, 0, 0));

    // A day with no polls rolls up to nothing, and is marked.
    assert_eq!(store.rollup(day(5)).await.unwrap(), 0);
    assert_eq!(store.rolled_days(day(1), day(9)).await.unwrap(), vec![day(2), day(5)]);
    // Late rows re-counted by a new roll-up, not added twice.
    store
        .insert_polls(&[icmp(
            t(2, 23, 0),
            "agent-b",
            "sw-core",
            "sede-central",
            Family::Ipv4,
            3,
            10,
        )])
        .await
        .unwrap();
    assert_eq!(store.rollup(day(2)).await.unwrap(), 2);
    let again = store.daily(day(2), day(3)).await.unwrap();
    assert_eq!((again[0].figures.polls, again[0].figures.successes), (11, 10));
}

async fn rollup_from_two_agents_at_once_counts_each_poll_once(url: &str) {
    let a = open(url).await;
    let b = open(url).await;
    let (mine, theirs): (Vec<_>, Vec<_>) = day_two().into_iter().partition(|r| r.at < t(2, 12, 0));
    let theirs: Vec<PollRecord> =
        theirs.into_iter().map(|r| PollRecord { agent: "agent-b".into(), ..r }).collect();
    a.insert_polls(&mine).await.unwrap();
    b.insert_polls(&theirs).await.unwrap();

    for _ in 0..3 {
        let (ra, rb) = tokio::join!(a.rollup(day(2)), b.rollup(day(2)));
        assert_eq!((ra.unwrap(), rb.unwrap()), (2, 2));
    }
    let rows = a.daily(day(2), day(3)).await.unwrap();
    assert_eq!(rows, b.daily(day(2), day(3)).await.unwrap());
    let icmp = &rows[0].figures;
    assert_eq!((icmp.polls, icmp.successes, icmp.sent, icmp.received), (10, 9, 30, 26));
}

async fn availability_is_the_same_from_raw_rows_from_rollups_and_after_pruning(url: &str) {
    let store = open(url).await;
    store.insert_polls(&day_two()).await.unwrap();
    store.insert_polls(&day_three()).await.unwrap();

    // Day 2 alone, from raw rows: the hand-computed figures.
    let raw_day = store.availability(midnight(2), midnight(3)).await.unwrap();
    let icmp = find(&raw_day, Family::Ipv4, ProbeKind::Icmp);
    assert_eq!(
        (icmp.polls, icmp.successes, icmp.sent, icmp.received, icmp.rtt_count),
        (10, 9, 30, 26, 9)
    );
    assert_close(icmp.ratio(), 0.9);
    assert_close(icmp.loss_ratio(), 4.0 / 30.0);
    assert_close(icmp.rtt_mean_s(), 0.011);
    assert_eq!(icmp.site, "sede-central");
    let snmp = find(&raw_day, Family::Ipv6, ProbeKind::Snmp);
    assert_eq!((snmp.polls, snmp.successes), (4, 3));
    assert_close(snmp.ratio(), 0.75);
    assert_eq!(snmp.rtt_mean_s(), None);
    assert_eq!(raw_day.len(), 2);

    // Days 2 and 3: 14 ICMP polls, 13 ok; the site is the latest seen (day 3).
    let raw_two_days = store.availability(midnight(2), midnight(4)).await.unwrap();
    let icmp = find(&raw_two_days, Family::Ipv4, ProbeKind::Icmp);
    assert_eq!((icmp.polls, icmp.successes, icmp.sent, icmp.received), (14, 13, 42, 38));
    assert_eq!(icmp.site, "sede-nueva");
    assert_close(icmp.rtt_mean_s(), (99.0 + 20.0) / 13.0 / 1000.0);

    // From the roll-up of day 2: the very same numbers.
    store.rollup(day(2)).await.unwrap();
    assert_eq!(store.availability(midnight(2), midnight(3)).await.unwrap(), raw_day);
    assert_eq!(store.availability(midnight(2), midnight(4)).await.unwrap(), raw_two_days);

    // After pruning day 2's raw rows: still the same.
    assert!(store.prune(midnight(3)).await.unwrap() > 0);
    assert!(store.polls("sw-core", midnight(2), midnight(3)).await.unwrap().is_empty());
    assert_eq!(store.polls("sw-core", midnight(3), midnight(4)).await.unwrap(), day_three());
    assert_eq!(store.availability(midnight(2), midnight(3)).await.unwrap(), raw_day);
    assert_eq!(store.availability(midnight(2), midnight(4)).await.unwrap(), raw_two_days);
    // And from another connection.
    let other = open(url).await;
    assert_eq!(other.availability(midnight(2), midnight(4)).await.unwrap(), raw_two_days);
}

async fn a_partial_day_counts_only_the_raw_rows_that_still_exist(url: &str) {
    let store = open(url).await;
    store.insert_polls(&day_two()).await.unwrap();
    store.insert_polls(&day_three()).await.unwrap();
    store.rollup(day(2)).await.unwrap();

    // [day 2 12:00, day 3 12:00): day 2's ICMP polls at 12..18 h (4, 1 with 2 replies, 1 with
    // 19 ms) and day 3's at 06:00 and 10:00.
    let before = store.availability(t(2, 12, 0), t(3, 12, 0)).await.unwrap();
    let icmp = find(&before, Family::Ipv4, ProbeKind::Icmp);
    assert_eq!((icmp.polls, icmp.successes, icmp.sent, icmp.received), (6, 6, 18, 17));

    // Once day 2's raw rows are gone, its afternoon counts nothing (its roll-up covers the whole
    // day and cannot be split): only day 3's morning is left, as documented.
    store.prune(midnight(3)).await.unwrap();
    assert_eq!(store.raw_pruned_before().await.unwrap(), Some(day(3)));
    let after = store.availability(t(2, 12, 0), t(3, 12, 0)).await.unwrap();
    let icmp = find(&after, Family::Ipv4, ProbeKind::Icmp);
    assert_eq!((icmp.polls, icmp.successes, icmp.sent, icmp.received), (2, 2, 6, 6));
    assert_eq!(after.len(), 1, "day 2's SNMP polls were all in the pruned part: {after:#?}");
}

async fn prune_removes_only_raw_rows_of_days_before_the_cut_off(url: &str) {
    let store = open(url).await;
    let polls: Vec<PollRecord> = [t(1, 23, 59), t(2, 0, 0), t(2, 12, 0), t(3, 1, 0)]
        .into_iter()
        .map(|at| icmp(at, "agent-a", "sw-core", "sede-central", Family::Ipv4, 3, 1))
        .collect();
    let interfaces: Vec<InterfaceRecord> = [t(1, 12, 0), t(2, 12, 0)]
        .into_iter()
        .map(|at| interface(at, "sw-core", 1, true))
        .collect();
    let events = [event(t(1, 1, 0), EventKind::DeviceDown, true)];
    let snap = snapshot(t(1, 1, 0), "agent-a", "aaaa");
    store.insert_polls(&polls).await.unwrap();
    store.insert_interfaces(&interfaces).await.unwrap();
    store.insert_events(&events).await.unwrap();
    store.record_inventory(&snap).await.unwrap();
    assert_eq!(store.raw_pruned_before().await.unwrap(), None);

    // Cut at midnight starting day 2: day 1's poll and interface sample go, nothing else.
    assert_eq!(store.prune(midnight(2)).await.unwrap(), 2);
    assert_eq!(store.raw_pruned_before().await.unwrap(), Some(day(2)));
    assert_eq!(
        store.polls("sw-core", midnight(1), midnight(9)).await.unwrap(),
        polls[1..].to_vec()
    );
    assert_eq!(
        store.interfaces("sw-core", midnight(1), midnight(9)).await.unwrap(),
        interfaces[1..].to_vec()
    );
    // Day 1 was rolled up before its raw rows went, so its figures remain.
    assert_eq!(store.rolled_days(day(1), day(9)).await.unwrap(), vec![day(1)]);
    let day_one = store.availability(midnight(1), midnight(2)).await.unwrap();
    assert_eq!(day_one.len(), 1);
    assert_eq!(day_one[0].polls, 1);
    // Events, snapshots and latest polls are never pruned.
    assert_eq!(store.events(midnight(1), midnight(9)).await.unwrap(), events.to_vec());
    assert_eq!(store.inventory_history(midnight(9)).await.unwrap(), vec![stored(&snap)]);

    // A cut-off inside day 3 prunes whole days only: day 2 goes (it ends before the cut-off);
    // day 3's 01:00 poll stays although it is older than the cut-off.
    assert_eq!(store.prune(t(3, 6, 0)).await.unwrap(), 3);
    assert_eq!(store.raw_pruned_before().await.unwrap(), Some(day(3)));
    assert_eq!(
        store.polls("sw-core", midnight(1), midnight(9)).await.unwrap(),
        polls[3..].to_vec()
    );
    assert!(store.interfaces("sw-core", midnight(1), midnight(9)).await.unwrap().is_empty());
    assert_eq!(store.rolled_days(day(1), day(9)).await.unwrap(), vec![day(1), day(2)]);

    // An older cut-off than before deletes nothing and leaves the horizon where it was.
    assert_eq!(store.prune(midnight(2)).await.unwrap(), 0);
    assert_eq!(store.raw_pruned_before().await.unwrap(), Some(day(3)));
    assert_eq!(store.latest_polls().await.unwrap(), vec![polls[3].clone()]);
    assert_eq!(store.events(midnight(1), midnight(9)).await.unwrap(), events.to_vec());
    assert_eq!(store.inventory_history(midnight(9)).await.unwrap(), vec![stored(&snap)]);
}

async fn rollup_of_a_pruned_day_keeps_its_figures(url: &str) {
    let store = open(url).await;
    store.insert_polls(&day_two()).await.unwrap();
    store.prune(midnight(3)).await.unwrap();
    let kept = store.daily(day(2), day(3)).await.unwrap();
    assert_eq!(kept.len(), 2);
    // Rolling the day up again (any agent, any time) cannot replace it with what is left: nothing.
    assert_eq!(store.rollup(day(2)).await.unwrap(), 2);
    assert_eq!(store.daily(day(2), day(3)).await.unwrap(), kept);
    // A day before the horizon that never had polls stays empty.
    assert_eq!(store.rollup(day(1)).await.unwrap(), 0);
    assert!(store.daily(day(1), day(2)).await.unwrap().is_empty());
}

async fn text_is_cleaned_the_same_way_by_both_backends(url: &str) {
    let store = open(url).await;
    let mut row = snmp(t(2, 10, 0), "agent-a", "sw-core", "sede-central", Family::Ipv4);
    row.system.descr = Some("ProCurve\0J9019B".into());
    row.system.location = Some("ñ".repeat(MAX_TEXT_BYTES)); // twice the limit in bytes
    store.insert_polls(std::slice::from_ref(&row)).await.unwrap();
    let read = store.polls("sw-core", midnight(2), midnight(3)).await.unwrap();
    assert_eq!(read[0].system.descr.as_deref(), Some("ProCurve\u{FFFD}J9019B"));
    assert_eq!(read[0].system.location, Some("ñ".repeat(MAX_TEXT_BYTES / 2)));

    let mut e = event(t(2, 10, 0), EventKind::AgentRestart, true);
    e.detail = "sysUpTime went back\0".into();
    store.insert_events(std::slice::from_ref(&e)).await.unwrap();
    let read = store.events(midnight(2), midnight(3)).await.unwrap();
    assert_eq!(read[0].detail, "sysUpTime went back\u{FFFD}");
}

async fn times_keep_microseconds(url: &str) {
    let store = open(url).await;
    let at = t(2, 10, 0) + chrono::Duration::nanoseconds(123_456_789);
    let row = icmp(at, "agent-a", "sw-core", "sede-central", Family::Ipv4, 3, 1);
    store.insert_polls(std::slice::from_ref(&row)).await.unwrap();
    let read = store.polls("sw-core", midnight(2), midnight(3)).await.unwrap();
    assert_eq!(read[0].at, t(2, 10, 0) + chrono::Duration::microseconds(123_456));
    store.insert_events(&[event(at, EventKind::DeviceUp, false)]).await.unwrap();
    assert_eq!(store.events(midnight(2), midnight(3)).await.unwrap()[0].at, read[0].at);
}

async fn a_batch_with_an_unstorable_row_stores_nothing(url: &str) {
    let store = open(url).await;
    let good = icmp(t(2, 10, 0), "agent-a", "sw-core", "sede-central", Family::Ipv4, 3, 1);
    let mut bad = good.clone();
    bad.at = t(2, 10, 1);
    bad.rtt_avg_s = Some(-0.5);
    let err = store.insert_polls(&[good, bad]).await.unwrap_err();
    assert!(matches!(err, StoreError::Unstorable { field: "rtt_avg_s", .. }), "{err}");
    assert!(err.to_string().contains("rtt_avg_s = -0.5"), "{err}");
    assert!(store.polls("sw-core", midnight(1), midnight(9)).await.unwrap().is_empty());
    assert!(store.latest_polls().await.unwrap().is_empty());

    let mut bad_if = interface(t(2, 10, 0), "sw-core", 1, true);
    bad_if.interface.counter_bits = 16;
    let err = store.insert_interfaces(&[bad_if]).await.unwrap_err();
    assert!(err.to_string().contains("counter_bits = 16"), "{err}");
}

async fn a_database_without_a_counter_column_gets_it_at_open(url: &str) {
    let store = open(url).await;
    let old = interface(t(2, 10, 0), "sw-core", 1, true);
    store.insert_interfaces(std::slice::from_ref(&old)).await.unwrap();
    store.close().await;
    // As a database written before `out_discards` was declared would be.
    execute(url, "ALTER TABLE interfaces DROP COLUMN out_discards").await;

    // Opening adds the column back: the older row reads as "not read", new rows keep it.
    let store = open(url).await;
    let new = interface(t(2, 10, 1), "sw-core", 1, true);
    store.insert_interfaces(std::slice::from_ref(&new)).await.unwrap();
    let mut was = old.clone();
    was.interface.out_discards = None;
    assert_eq!(
        store.interfaces("sw-core", midnight(2), midnight(3)).await.unwrap(),
        vec![was, new]
    );
    // Another agent opening the same database finds nothing to add.
    let other = open(url).await;
    assert_eq!(other.interfaces("sw-core", t(2, 10, 1), midnight(3)).await.unwrap().len(), 1);
}

// --- The `--db` URL: errors that say what is wrong, without the password. ---

#[tokio::test]
async fn an_unknown_scheme_is_a_clear_error() {
    for url in ["mysql://root:hunter2@db.example/vigia", "vigia.db", ""] {
        let err = Store::connect(url).await.unwrap_err();
        assert!(matches!(err, StoreError::UnknownScheme { .. }), "{url}: {err:?}");
        let text = err.to_string();
        assert!(text.contains("unknown scheme"), "{text}");
        assert!(text.contains("sqlite://vigia.db") && text.contains("postgres://"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}

#[tokio::test]
async fn an_unreachable_postgres_server_is_a_clear_error() {
    // Port 1 on loopback: nothing listens, the kernel refuses at once.
    let err = Store::connect("postgres://vigia:hunter2@127.0.0.1:1/vigia").await.unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("cannot open the database postgres://vigia:***@127.0.0.1:1/vigia: "),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(!text.contains("hunter2") && !format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test]
async fn an_sqlite_file_that_cannot_be_created_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/no-such-dir/vigia.db", dir.path().display());
    let err = Store::connect(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with(&format!("cannot open the database {url}: ")), "{text}");
    assert!(text.contains("unable to open database file"), "{text}");
}

#[tokio::test]
async fn sqlite_creates_the_file_in_wal_mode() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url).await.unwrap();
    assert!(path.exists());
    assert_eq!(store.backend(), Backend::Sqlite);
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut c).await.unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_relative_sqlite_path_is_relative_to_the_working_directory() {
    // A directory under the working directory (never changed here: it is the process's),
    // removed at the end; the URL names it relatively.
    let dir = tempfile::Builder::new().prefix(".vigia-store-test-").tempdir_in(".").unwrap();
    let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
    let store = Store::connect(&format!("sqlite://{name}/vigia.db")).await.unwrap();
    assert!(std::path::Path::new(&name).join("vigia.db").exists());
    store.close().await;
}

#[tokio::test]
async fn sqlite_in_memory_works_for_one_process() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let rows = day_two();
    store.insert_polls(&rows).await.unwrap();
    assert_eq!(store.rollup(day(2)).await.unwrap(), 2);
    let icmp: Vec<PollRecord> = rows.into_iter().filter(|r| r.probe == ProbeKind::Icmp).collect();
    let read = store.polls("sw-core", midnight(2), midnight(3)).await.unwrap();
    assert_eq!(read.into_iter().filter(|r| r.probe == ProbeKind::Icmp).collect::<Vec<_>>(), icmp);
    // Two memory stores are two databases.
    let other = Store::connect("sqlite::memory:").await.unwrap();
    assert!(other.latest_polls().await.unwrap().is_empty());
}

#[test]
fn test_database_urls_replace_only_the_database() {
    use support::postgres::with_database;
    let cases = [
        (
            "postgres://postgres@localhost/postgres?host=/tmp/x/sock",
            "postgres://postgres@localhost/t1?host=/tmp/x/sock",
        ),
        ("postgres://u:p@h:5432/db", "postgres://u:p@h:5432/t1"),
        ("postgres://u@h", "postgres://u@h/t1"),
    ];
    for (url, want) in cases {
        assert_eq!(with_database(url, "t1"), want);
    }
}

async fn events_are_filtered_by_site_device_kind_and_time_and_paginated_newest_first(url: &str) {
    let store = open(url).await;
    let mut events = Vec::new();
    for i in 0..10u32 {
        let mut e = event(
            t(2, 10, i),
            if i % 2 == 0 { EventKind::DeviceDown } else { EventKind::DeviceUp },
            true,
        );
        if i >= 6 {
            e.site = Some("otra-sede".into());
            e.device = Some("sw-otro".into());
        }
        e.detail = format!("e{i}");
        events.push(e);
    }
    events.push(event(t(3, 0, 0), EventKind::InventoryChanged, false));
    store.insert_events(&events).await.unwrap();
    let all =
        EventFilter { from: midnight(1), to: midnight(4), site: None, device: None, kind: None };
    let page = store.events_page(&all, 0, 4).await.unwrap();
    assert_eq!(page.total, 11);
    let details: Vec<&str> = page.events.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details, ["inventory_changed detail", "e9", "e8", "e7"], "newest first");
    let page3 = store.events_page(&all, 8, 4).await.unwrap();
    let details: Vec<&str> = page3.events.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details, ["e2", "e1", "e0"], "the last page");
    let site = EventFilter { site: Some("sede-central".into()), ..all.clone() };
    assert_eq!(store.events_page(&site, 0, 50).await.unwrap().total, 6);
    let device = EventFilter {
        device: Some("sw-otro".into()),
        kind: Some(EventKind::DeviceUp),
        ..all.clone()
    };
    let p = store.events_page(&device, 0, 50).await.unwrap();
    let details: Vec<&str> = p.events.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!((p.total, details), (2, vec!["e9", "e7"]));
    let range = EventFilter { from: t(2, 10, 3), to: t(2, 10, 5), ..all.clone() };
    let p = store.events_page(&range, 0, 50).await.unwrap();
    let details: Vec<&str> = p.events.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details, ["e4", "e3"], "half-open range");
    let none = EventFilter { site: Some("nowhere".into()), ..all };
    assert_eq!(
        store.events_page(&none, 0, 50).await.unwrap(),
        EventPage { events: vec![], total: 0 }
    );
}

async fn a_poll_series_has_every_poll_of_a_short_window_and_buckets_of_a_long_one(url: &str) {
    let store = open(url).await;
    let mut rows = Vec::new();
    // One ICMP cycle a minute for 2 hours over IPv4 (every 10th lost, one echo of three lost
    // in every 5th); IPv6 and SNMP rows around them must not count.
    for i in 0..120u32 {
        let at = t(5, 8, 0) + chrono::TimeDelta::minutes(i64::from(i));
        let received = if i % 10 == 9 {
            0
        } else if i % 5 == 0 {
            2
        } else {
            3
        };
        rows.push(icmp(
            at,
            "agent-a",
            "sw-core",
            "sede-central",
            Family::Ipv4,
            received,
            10 + i % 3,
        ));
        rows.push(icmp(at, "agent-a", "sw-core", "sede-central", Family::Ipv6, 3, 50));
        rows.push(snmp(at, "agent-a", "sw-core", "sede-central", Family::Ipv4));
    }
    store.insert_polls(&rows).await.unwrap();
    let window = (t(5, 8, 0), t(5, 10, 0));
    let raw =
        store.poll_series("sw-core", Family::Ipv4, ProbeKind::Icmp, window, 500).await.unwrap();
    assert_eq!((raw.stored, raw.bucket, raw.points.len()), (120, None, 120));
    assert_eq!(raw.totals(), (120, 108));
    assert_eq!(raw.points[0].at, t(5, 8, 0));
    assert_eq!((raw.points[0].sent, raw.points[0].received), (3, 2));
    assert_close(raw.points[1].rtt_avg_s, 0.011);
    assert_eq!(raw.points[9].rtt_avg_s, None, "a lost cycle has no RTT");
    // 120 polls into at most 12 points: ten-minute buckets.
    let b = store.poll_series("sw-core", Family::Ipv4, ProbeKind::Icmp, window, 12).await.unwrap();
    assert_eq!(b.stored, 120);
    assert_eq!(b.bucket, Some(std::time::Duration::from_secs(600)));
    assert_eq!(b.points.len(), 12);
    assert_eq!(b.totals(), (120, 108), "downsampling keeps every poll's count");
    let first = &b.points[0];
    assert_eq!(
        (first.at, first.polls, first.successes, first.sent, first.received),
        (t(5, 8, 0), 10, 9, 30, 25)
    );
    // Mean of the nine answered cycles' RTTs: 10, 11, 12, 10, 11, 12, 10, 11, 12 ms.
    assert_close(first.rtt_avg_s, 0.011);
    assert_eq!(b.availability(), Some(0.9));
    // An unknown device, an empty window.
    let none = store.poll_series("nope", Family::Ipv4, ProbeKind::Icmp, window, 12).await.unwrap();
    assert_eq!((none.stored, none.points.len()), (0, 0));
    let empty = store
        .poll_series("sw-core", Family::Ipv4, ProbeKind::Icmp, (t(6, 0, 0), t(7, 0, 0)), 12)
        .await
        .unwrap();
    assert_eq!((empty.stored, empty.points.len()), (0, 0));
}

fn run(
    fact: Fact,
    value: &str,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    agent: &str,
) -> FactRecord {
    FactRecord {
        device: "fw-core".into(),
        fact,
        value: value.into(),
        first_at: first,
        first_agent: "agent-a".into(),
        last_at: last,
        agent: agent.into(),
        family: Family::Ipv4,
    }
}

async fn device_facts_keep_each_run_and_its_latest_sighting_across_agents(url: &str) {
    let store = open(url).await;
    let old = run(Fact::Serial, "FG5H0E0001", t(1, 8, 0), t(1, 9, 0), "agent-a");
    // The same run seen again, and by both families in one batch (the later sighting wins).
    let seen = run(Fact::Serial, "FG5H0E0001", t(1, 8, 0), t(1, 10, 0), "agent-a");
    let seen_v6 = FactRecord {
        family: Family::Ipv6,
        ..run(Fact::Serial, "FG5H0E0001", t(1, 8, 0), t(1, 9, 30), "agent-a")
    };
    store.insert_facts(std::slice::from_ref(&old)).await.unwrap();
    store.insert_facts(&[seen.clone(), seen_v6]).await.unwrap();
    // An older sighting from another agent, stored late, does not move the run back.
    store
        .insert_facts(&[run(Fact::Serial, "FG5H0E0001", t(1, 8, 0), t(1, 9, 45), "agent-b")])
        .await
        .unwrap();
    // The serial changed: a new run; the model's run goes on. A hostile value is kept safe.
    let new = run(Fact::Serial, "FG5H0E0002", t(2, 8, 0), t(2, 8, 0), "agent-b");
    let model = run(Fact::Model, "FortiGate-500E \u{FFFD}", t(1, 8, 0), t(2, 8, 0), "agent-b");
    store.insert_facts(&[new.clone(), model.clone()]).await.unwrap();
    let all = store.facts().await.unwrap();
    assert_eq!(all, vec![model, seen, new], "by device, fact name, first sighting");
    // Reopening (another agent starting) reads the same history.
    store.close().await;
    assert_eq!(open(url).await.facts().await.unwrap().len(), 3);
}

/// The agent asks for the same windows every minute while polls arrive; the store keeps the
/// sums of the settled raw rows between calls (`plan::RawCache`). Every answer must equal a
/// reading by a store that kept nothing; a row written later than the settling time counts
/// once the kept sums are read again (within the hour).
async fn availability_asked_again_as_rows_arrive_matches_a_fresh_reading(url: &str) {
    let store = open(url).await;
    // Two devices, polled every 5 minutes over day 2; one in four cycles of `b` unanswered.
    fn now_of(step: i64) -> DateTime<Utc> {
        midnight(2) + chrono::TimeDelta::minutes(5 * step)
    }
    let poll = |step: i64, device: &str| {
        let received = if device == "b" && step % 4 == 0 { 0 } else { 3 };
        icmp(now_of(step), "agente-1", device, "sede-central", Family::Ipv4, received, 2)
    };
    for step in 0..(24 * 12) {
        // Rows arrive a minute after their poll, as the writer stores them.
        store.insert_polls(&[poll(step, "a"), poll(step, "b")]).await.unwrap();
        if step % 7 != 0 {
            continue;
        }
        let to = now_of(step) + chrono::TimeDelta::minutes(1);
        let asked = store.availability(midnight(1), to).await.unwrap();
        let fresh = open(url).await.availability(midnight(1), to).await.unwrap();
        assert_eq!(asked, fresh, "asked at {to}");
        let b = find_device(&asked, "b");
        assert_eq!(b.polls, step as u64 + 1, "asked at {to}");
    }

    // A row far older than the settling time, written after the sums were kept: not counted
    // at once, counted when they are read again.
    let to = now_of(24 * 12);
    let before = store.availability(midnight(1), to).await.unwrap();
    let late = icmp(t(2, 3, 2), "agente-2", "a", "sede-central", Family::Ipv4, 3, 2);
    store.insert_polls(&[late]).await.unwrap();
    let right_after = store.availability(midnight(1), to).await.unwrap();
    assert_eq!(right_after, before, "the late row waits for the next full reading");
    let later = to + chrono::TimeDelta::minutes(61);
    let asked = store.availability(midnight(1), later).await.unwrap();
    assert_eq!(asked, open(url).await.availability(midnight(1), later).await.unwrap());
    assert_eq!(find_device(&asked, "a").polls, 24 * 12 + 1);
}

fn find_device<'a>(rows: &'a [Availability], device: &str) -> &'a Availability {
    rows.iter().find(|r| r.device == device).unwrap_or_else(|| panic!("no row for {device}"))
}
