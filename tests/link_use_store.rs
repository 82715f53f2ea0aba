//! The links report's use of the contract, folded by the store from stored interface samples
//! (`Store::link_use`), against figures computed by hand: the day's and the month's 95th
//! percentile and time above 80 %, a counter reset that measures nothing, a second port of the
//! same device kept apart, a pool measured by ifIndex, and a contract with no interface.

use chrono::{DateTime, TimeDelta, Utc};
use vigia::history::AsOf;
use vigia::inventory::Secrets;
use vigia::link_use::{LinkUseRecord, PeriodUse};
use vigia::poll::Interface;
use vigia::store::{InterfaceRecord, Store};

const INVENTORY: &str = r#"sites:
  - { id: main, name: Sede Principal, role: main }
  - { id: grau, name: Mercado Grau, role: branch, link: fibre }
  - { id: teatro, name: Teatro, role: branch, link: radio, link_mbps: 5 }
snmp_profiles:
  v2c: { version: "2c", community: public }
defaults:
  snmp: v2c
devices:
  - { id: sw-grau, site: grau, class: switch, ipv4: 198.18.1.10 }
contracts:
  - { site: grau, mbps: 10, interface: { device: sw-grau, name: Gi0/1 } }
link_pools:
  - { id: central, name: Central, mbps: 80, interface: { device: sw-grau, index: 2 }, sites: [grau, teatro] }
"#;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn row(at: DateTime<Utc>, index: u32, down: u64, up: u64) -> InterfaceRecord {
    InterfaceRecord {
        at,
        agent: "a".into(),
        device: "sw-grau".into(),
        interface: Interface {
            index,
            name: format!("Gi0/{index}"),
            speed_mbps: Some(1000),
            counter_bits: 64,
            in_octets: Some(down),
            out_octets: Some(up),
            ..Interface::default()
        },
    }
}

/// Octets in a minute at `mbps`.
fn per_minute(mbps: f64) -> u64 {
    (mbps * 1e6 / 8.0 * 60.0) as u64
}

#[tokio::test]
async fn a_month_of_samples_folds_into_hand_computed_figures() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yaml"), INVENTORY).unwrap();
    let (inv, _) = vigia::inventory::load(dir.path(), Secrets::Warn).unwrap();
    let store = Store::connect("sqlite::memory:").await.unwrap();

    let mut rows = Vec::new();
    // 3 June, 10:00-11:00: Gi0/1 at 4 Mbit/s down (40 % of 10).
    let (mut down, mut up) = (1u64 << 40, 0u64);
    for m in 0..=60 {
        rows.push(row(at("2026-06-03T10:00:00Z") + TimeDelta::minutes(m), 1, down, up));
        down += per_minute(4.0);
        up += per_minute(1.0);
    }
    // 10 June, 00:00-02:00: 5 Mbit/s (50 %) the first hour, 9 Mbit/s (90 %) the second; 1 Mbit/s
    // up. At 00:30 the counters are cleared (a 64-bit counter going back): that minute measures
    // nothing. Gi0/2, the pool's port, carries 100 Mbit/s down all along (125 % of 80).
    let (mut down, mut up, mut pool) = (0u64, 0u64, 0u64);
    for m in 0..=120 {
        let t = at("2026-06-10T00:00:00Z") + TimeDelta::minutes(m);
        if m == 30 {
            (down, up) = (1_000, 1_000);
        }
        rows.push(row(t, 1, down, up));
        rows.push(row(t, 2, pool, 0));
        down += per_minute(if m < 60 { 5.0 } else { 9.0 });
        up += per_minute(1.0);
        pool += per_minute(100.0);
    }
    store.insert_interfaces(&rows).await.unwrap();

    let as_of = AsOf::end_of_day("2026-06-10".parse().unwrap());
    let uses: Vec<LinkUseRecord> = store.link_use(&inv, as_of).await.unwrap();
    // teatro's link_mbps is a contract with no interface: nothing to fold.
    assert_eq!(uses.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["grau", "central"]);
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
    let grau = &uses[0];
    let check = |p: &PeriodUse, slots: usize, p95_down: f64, measured: f64| {
        assert_eq!(p.down.slots, slots, "{p:?}");
        assert!(close(p.down.p95, p95_down), "{p:?}");
        assert_eq!(p.down.measured_s, measured, "{p:?}");
        assert_eq!(p.down.above_s, 3_600.0, "the second hour of 10 June: {p:?}");
        assert!(close(p.up.p95, 0.1), "{p:?}");
        assert_eq!(p.up.above_s, 0.0);
    };
    // The day: 24 slots, 12 at 50 % and 12 at 90 %: rank ⌈0.95 × 24⌉ = 23 is 90 %. 119 of the
    // 120 minutes measured (the reset's is not).
    check(&grau.day, 24, 0.9, 119.0 * 60.0);
    assert_eq!(grau.day.window.from, at("2026-06-10T00:00:00Z"));
    // The month so far: 12 more slots at 40 % (3 June); rank ⌈0.95 × 36⌉ = 35 is still 90 %.
    check(&grau.month, 36, 0.9, 179.0 * 60.0);
    assert_eq!(grau.month.window.from, at("2026-06-01T00:00:00Z"));
    // The pool, by ifIndex 2: 125 % of its contract all along, all of it above 80 %.
    let central = &uses[1];
    assert!(close(central.day.down.p95, 1.25), "{central:?}");
    assert_eq!(central.day.down.above_s, central.day.down.measured_s);
    assert_eq!(central.day.down.measured_s, 7_200.0);

    // A reading where two interfaces carry the measured name is left out: which one it was
    // cannot be told. 11 June 00:00-00:10 at 9 Mbit/s, with a second "Gi0/1" at 00:05.
    let mut rows = Vec::new();
    let mut down = 0u64;
    for m in 0..=10 {
        let t = at("2026-06-11T00:00:00Z") + TimeDelta::minutes(m);
        rows.push(row(t, 1, down, 0));
        if m == 5 {
            let mut twin = row(t, 7, 0, 0);
            twin.interface.name = "Gi0/1".into();
            rows.push(twin);
        }
        down += per_minute(9.0);
    }
    store.insert_interfaces(&rows).await.unwrap();
    let uses = store.link_use(&inv, AsOf::end_of_day("2026-06-11".parse().unwrap())).await.unwrap();
    // Without the 00:05 reading, 00:04-00:06 is one interval of two minutes: the ten minutes
    // are still covered, at 9 Mbit/s (with it, a counter read as 0 would have measured less).
    assert_eq!(uses[0].day.down.measured_s, 600.0);
    assert!(close(uses[0].day.down.p95, 0.9), "{:?}", uses[0].day);
}
