use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::*;
use crate::agent::{Clock, Plan};
use crate::history::testkit::{at, day, device, inventory, site, with_snmp, with_v6};
use crate::history::{AsOf, History};
use crate::inventory::DeviceClass::{Server, Switch};
use crate::inventory::{Family, Inventory, LinkMedium, Shard};
use crate::poll::{
    HostResources, IcmpOutcome, IcmpReport, Interface, SnmpCost, SnmpOutcome, SnmpReport, Storage,
    SystemInfo, Truncation,
};

fn shared(shared: Shared) -> SharedState {
    Arc::new(RwLock::new(shared))
}

fn icmp(family: Family, rtts_ms: &[u64], sent: u32) -> IcmpReport {
    IcmpReport {
        family,
        address: if family == Family::Ipv4 {
            "198.18.0.1".parse().unwrap()
        } else {
            "2001:db8::1".parse().unwrap()
        },
        outcome: if rtts_ms.is_empty() { IcmpOutcome::Timeout } else { IcmpOutcome::Ok },
        sent,
        received: rtts_ms.len() as u32,
        rtts: rtts_ms.iter().map(|m| Duration::from_millis(*m)).collect(),
        detail: None,
    }
}

fn interface(index: u32, name: &str, octets: u64) -> Interface {
    Interface {
        index,
        name: name.into(),
        oper_up: Some(index != 2),
        speed_mbps: Some(1000),
        in_octets: Some(octets),
        out_octets: Some(octets * 2),
        counter_bits: 64,
        in_errors: Some(3),
        ..Interface::default()
    }
}

fn snmp(interfaces: Vec<Interface>, host: Option<HostResources>) -> SnmpReport {
    SnmpReport {
        family: Family::Ipv4,
        address: "198.18.0.1".parse().unwrap(),
        outcome: SnmpOutcome::Ok,
        detail: None,
        elapsed: Duration::from_millis(250),
        system: Some(SystemInfo { uptime_ticks: Some(12_345), ..SystemInfo::default() }),
        interfaces,
        entity: None,
        host,
        radio: Vec::new(),
        optics: Vec::new(),
        cost: SnmpCost { requests: 4, retries: 1, varbinds: 30 },
        truncated: None,
    }
}

/// A switch over both families with SNMP, a server, a device without SNMP; polled once.
fn polled() -> Shared {
    let mut sw = with_v6(with_snmp(device("sw-a", "f", Switch)), 1);
    sw.uplink = true;
    sw.lifecycle.acquired = Some(day("2020-01-01"));
    let inv = Arc::new(inventory(
        vec![site("main", None), site("f", Some(LinkMedium::Fibre))],
        vec![sw, with_snmp(device("srv-b", "main", Server)), device("c", "main", Switch)],
    ));
    let mut s = Shared::new(inv.clone(), Clock::Wall);
    let index = InventoryIndex::new(inv.clone(), s.clock.today());
    let now = at("2026-01-01T00:00:00Z");
    let reports = [
        ("sw-a", icmp(Family::Ipv4, &[10, 14], 3)),
        ("sw-a", icmp(Family::Ipv6, &[], 3)),
        ("c", icmp(Family::Ipv4, &[1], 1)),
    ];
    for (id, r) in reports {
        s.polls.add_icmp(&r);
        s.state.apply_icmp(&index, inv.device(id).unwrap(), r, now, "t");
    }
    let ports = vec![
        interface(1, "eth0", 100),
        interface(2, "eth0", 200),
        interface(3, "", 300),
        interface(4, "uplink \"norte\"", 400),
    ];
    let disk = Storage { descr: "C:\\".into(), size_bytes: 100, used_bytes: 40 };
    let host = HostResources {
        cpu_load_percent: Some(50.0),
        memory_total_bytes: Some(8),
        memory_used_bytes: Some(2),
        disks: vec![disk],
    };
    for (id, r) in [("sw-a", snmp(ports, None)), ("srv-b", snmp(Vec::new(), Some(host)))] {
        s.polls.add_snmp(&r);
        s.state.apply_snmp(inv.device(id).unwrap(), r, now, "t");
    }
    s
}

fn sample<'t>(text: &'t str, series: &str) -> Option<&'t str> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
}

/// The families of a text, from its TYPE lines.
fn families(text: &str) -> Vec<&str> {
    text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()).collect()
}

#[test]
fn every_declaration_is_a_well_formed_prometheus_metric_and_declared_once() {
    let valid = |s: &str| {
        s.chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_lowercase() || (i > 0 && c.is_ascii_digit()))
    };
    let mut names = BTreeSet::new();
    for m in all() {
        assert!(names.insert(m.name), "{} declared twice", m.name);
        assert!(m.name.starts_with("vigia_") && valid(m.name), "{}", m.name);
        assert_eq!(m.kind == Kind::Counter, m.name.ends_with("_total"), "{}", m.name);
        if let Some(unit) = m.unit {
            assert!(m.family_name().ends_with(&format!("_{unit}")), "{}: unit {unit}", m.name);
        }
        assert!(m.labels.iter().all(|l| valid(l)), "{}: {:?}", m.name, m.labels);
        assert_eq!(m.labels.iter().collect::<BTreeSet<_>>().len(), m.labels.len(), "{}", m.name);
        assert!(!m.help.is_empty() && !m.doc.is_empty() && !m.doc.contains('|'), "{}", m.name);
    }
}

#[test]
fn a_scrape_writes_exactly_the_declared_families_in_order_in_both_formats() {
    let state = shared(polled());
    let om = render(&state, Format::OpenMetrics);
    let classic = render(&state, Format::Classic);
    let om_names: Vec<&str> = all().map(Metric::family_name).collect();
    let classic_names: Vec<&str> = all().map(|m| m.name).collect();
    assert_eq!(families(&om), om_names);
    assert_eq!(families(&classic), classic_names);
    assert!(om.ends_with("# EOF\n") && !classic.contains("# EOF"));
    // The samples are the same lines in both.
    let samples =
        |t: &str| t.lines().filter(|l| !l.starts_with('#')).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(samples(&om), samples(&classic));
}

#[test]
fn reachability_and_snmp_series_carry_the_state() {
    let text = render(&shared(polled()), Format::Classic);
    let v = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
    let up = r#"vigia_device_up{device="sw-a",site="f",class="switch",family="#;
    assert_eq!(v(&format!(r#"{up}"ipv4",probe="icmp"}}"#)), "1.0");
    assert_eq!(v(&format!(r#"{up}"ipv6",probe="icmp"}}"#)), "0.0");
    assert_eq!(v(&format!(r#"{up}"ipv4",probe="snmp"}}"#)), "1.0");
    assert!(sample(&text, &format!(r#"{up}"ipv6",probe="snmp"}}"#)).is_none(), "never polled");
    assert!(!text.contains(r#"device="c",site="main",class="switch",family="ipv4",probe="snmp""#));
    assert_eq!(v(r#"vigia_icmp_rtt_seconds{device="sw-a",site="f",family="ipv4"}"#), "0.012");
    assert_eq!(v(r#"vigia_icmp_jitter_seconds{device="sw-a",site="f",family="ipv4"}"#), "0.004");
    let loss: f64 =
        v(r#"vigia_icmp_loss_ratio{device="sw-a",site="f",family="ipv4"}"#).parse().unwrap();
    assert!((loss - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(v(r#"vigia_icmp_loss_ratio{device="sw-a",site="f",family="ipv6"}"#), "1.0");
    assert_eq!(v(r#"vigia_snmp_uptime_seconds{device="sw-a",site="f"}"#), "123.45");
    assert_eq!(v(r#"vigia_snmp_agent_restarts_total{device="sw-a",site="f"}"#), "0");
    // Interfaces that share a name, or have none, are told apart by ifIndex; names are escaped.
    let port = |name: &str| format!(r#"{{device="sw-a",site="f",interface="{name}"}}"#);
    assert_eq!(v(&format!("vigia_interface_receive_bytes_total{}", port("eth0#1"))), "100");
    assert_eq!(v(&format!("vigia_interface_transmit_bytes_total{}", port("eth0#2"))), "400");
    assert_eq!(v(&format!("vigia_interface_up{}", port("eth0#2"))), "0.0");
    assert_eq!(v(&format!("vigia_interface_receive_errors_total{}", port("#3"))), "3");
    assert_eq!(v(&format!("vigia_interface_transmit_errors_total{}", port("#3"))), "0");
    assert_eq!(
        v(&format!("vigia_interface_speed_bytes_per_second{}", port(r#"uplink \"norte\""#))),
        "125000000.0"
    );
    // Servers.
    assert_eq!(v(r#"vigia_server_cpu_load_ratio{device="srv-b",site="main"}"#), "0.5");
    assert_eq!(v(r#"vigia_server_memory_size_bytes{device="srv-b",site="main"}"#), "8.0");
    assert_eq!(
        v(r#"vigia_server_disk_used_bytes{device="srv-b",site="main",disk="C:\\"}"#),
        "40.0"
    );
}

#[test]
fn the_agents_own_counts_are_totals_per_probe_and_family_zeros_included() {
    let text = render(&shared(polled()), Format::Classic);
    let v = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
    assert_eq!(v(r#"vigia_polls_total{probe="icmp",family="ipv4"}"#), "2");
    assert_eq!(v(r#"vigia_polls_total{probe="icmp",family="ipv6"}"#), "1");
    assert_eq!(v(r#"vigia_polls_total{probe="snmp",family="ipv4"}"#), "2");
    assert_eq!(v(r#"vigia_polls_total{probe="snmp",family="ipv6"}"#), "0");
    assert_eq!(v(r#"vigia_icmp_echoes_sent_total{family="ipv4"}"#), "4");
    assert_eq!(v(r#"vigia_icmp_echo_replies_total{family="ipv4"}"#), "3");
    assert_eq!(v(r#"vigia_icmp_echoes_sent_total{family="ipv6"}"#), "3");
    assert_eq!(v(r#"vigia_icmp_echo_replies_total{family="ipv6"}"#), "0");
    assert_eq!(v(r#"vigia_snmp_requests_sent_total{family="ipv4"}"#), "8");
    assert_eq!(v(r#"vigia_snmp_requests_retried_total{family="ipv4"}"#), "2");
    assert_eq!(v(r#"vigia_snmp_varbinds_returned_total{family="ipv4"}"#), "60");
    assert_eq!(v(r#"vigia_snmp_poll_seconds_total{family="ipv4"}"#), "0.5");
    assert_eq!(v(r#"vigia_snmp_requests_sent_total{family="ipv6"}"#), "0");
    assert_eq!(v("vigia_inventory_reload_failed"), "0.0");
}

#[test]
fn a_poll_cut_short_by_a_bound_is_counted_and_named_while_it_lasts() {
    let mut s = polled();
    let sw = s.inventory.device("sw-a").unwrap().clone();
    let gauge = r#"vigia_snmp_poll_truncated{device="sw-a",site="f",family="ipv4",bound="rows"}"#;
    let counter = |bound: &str| {
        format!(r#"vigia_snmp_polls_truncated_total{{family="ipv4",bound="{bound}"}}"#)
    };
    let text = render(&shared(polled()), Format::Classic);
    assert_eq!(sample(&text, &counter("rows")), Some("0"));
    assert!(!text.contains("vigia_snmp_poll_truncated{"), "{text}");

    let now = at("2026-01-01T00:01:00Z");
    let mut cut = snmp(vec![interface(1, "eth0", 100)], None);
    cut.truncated = Some(Truncation::Rows);
    s.polls.add_snmp(&cut);
    s.state.apply_snmp(&sw, cut, now, "t");
    let state = shared(s);
    let text = render(&state, Format::Classic);
    assert_eq!(sample(&text, gauge), Some("1.0"), "{text}");
    assert_eq!(sample(&text, &counter("rows")), Some("1"));
    assert_eq!(sample(&text, &counter("deadline")), Some("0"));

    // The next poll reads everything: the device is no longer named, the count stays.
    let whole = snmp(vec![interface(1, "eth0", 200)], None);
    let mut guard = state.write().unwrap();
    guard.polls.add_snmp(&whole);
    guard.state.apply_snmp(&sw, whole, now + chrono::TimeDelta::seconds(60), "t");
    drop(guard);
    let text = render(&state, Format::Classic);
    assert!(!text.contains("vigia_snmp_poll_truncated{"), "{text}");
    assert_eq!(sample(&text, &counter("rows")), Some("1"));
}

#[test]
fn the_plans_figures_appear_once_computed_and_dates_are_midnight_utc() {
    let mut s = polled();
    let state = shared(Shared::new(s.inventory.clone(), Clock::Wall));
    let before = render(&state, Format::Classic);
    assert!(!before.contains("vigia_ipv6_devices{"), "nothing before the first computation");
    let as_of = AsOf::end_of_day(day("2026-01-01"));
    s.plan = Some(Arc::new(Plan::compute(&s.inventory, &History::default(), as_of)));
    let text = render(&shared(s), Format::Classic);
    let v = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
    let acquired =
        r#"vigia_device_acquired_timestamp_seconds{device="sw-a",site="f",class="switch"}"#;
    assert_eq!(v(acquired), "1577836800.0");
    assert!(!text.contains("vigia_device_end_of_support_timestamp_seconds{"), "unknown dates");
    // Per (site, class): the two denominators, then each stage's passes.
    let rows: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.strip_prefix(r#"vigia_ipv6_devices{stage=""#))
        .filter_map(|l| l.split_once(r#"",site="f",class="switch"} "#))
        .collect();
    assert_eq!(
        rows,
        [
            ("monitored", "1.0"),
            ("snmp_configured", "1.0"),
            ("configured", "1.0"),
            ("icmp", "0.0"),
            ("snmp", "0.0"),
            ("dual_stack", "0.0")
        ]
    );
    assert_eq!(
        v(r#"vigia_ipv6_coverage_ratio{stage="configured"}"#).parse::<f64>().unwrap(),
        1.0 / 3.0
    );
    for (link, n) in [("main", "1.0"), ("fibre", "1.0"), ("radio", "0.0"), ("none", "0.0")] {
        assert_eq!(v(&format!(r#"vigia_sites{{link="{link}"}}"#)), n);
    }
    assert_eq!(v(r#"vigia_indicator_value{indicator="AE.7.03",year="2026"}"#), "0.0");
}

fn series_of<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
    text.lines().filter(|l| l.starts_with(&format!("{name}{{"))).collect()
}

#[test]
fn sharded_agents_export_disjoint_series_that_add_up_to_the_whole() {
    let sites: Vec<_> = std::iter::once(site("main", None))
        .chain((0..40).map(|i| site(&format!("s{i}"), Some(LinkMedium::Fibre))))
        .collect();
    let devices: Vec<_> =
        (0..120).map(|i| device(&format!("d{i}"), &sites[i % 41].id, Switch)).collect();
    let inv: Arc<Inventory> = Arc::new(inventory(sites, devices));
    let render_shard = |shard: Shard| {
        let mut s = Shared::new(inv.clone(), Clock::Wall);
        s.shard = shard;
        render(&shared(s), Format::Classic)
    };
    let whole = render_shard(Shard::ALL);
    for name in ["vigia_device_info", "vigia_site_info"] {
        let mut parts: Vec<&str> = Vec::new();
        let texts: Vec<String> = (1..=3).map(|n| render_shard(Shard::new(n, 3).unwrap())).collect();
        for text in &texts {
            let mine = series_of(text, name);
            assert!(!mine.is_empty(), "{name}: a shard of 41 sites exports nothing");
            parts.extend(mine);
        }
        let mut all = series_of(&whole, name);
        assert_eq!(all.len(), if name == "vigia_site_info" { 41 } else { 120 });
        parts.sort_unstable();
        all.sort_unstable();
        assert_eq!(parts, all, "{name}: the shards' series are the whole's, each once");
    }
}
