//! The metric declarations (`src/metrics/`) against what repeats them for readers and tests, and
//! a rendered `/metrics` against the contract and `promtool`:
//!
//! - the `metric` lines of `tests/resources/metrics/contract.txt` and the metrics table of
//!   `docs/metrics.md` are generated from the declarations; this test regenerates them and fails
//!   when a file differs. With `VIGIA_BLESS=1` it rewrites them instead, to be read and
//!   committed by a person;
//! - an agent's state over the small report scenario (every device polled once, the plan's
//!   figures computed) renders a text that keeps the contract, holds every metric of it, and
//!   that `promtool check metrics` finds nothing to say about.

// Tests read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

mod prom;

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use prom::contract::Contract;
use vigia::agent::{Clock, Plan, Shared};
use vigia::history::{AsOf, History};
use vigia::inventory::{
    self, DeviceClass, Family, Inventory, InventoryIndex, MaintenanceScope, MaintenanceTime,
    MaintenanceWindow, Secrets,
};
use vigia::metrics::{self, Format};
use vigia::poll::optics::{Direction, Optic};
use vigia::poll::radio::{Level, RadioLink, RadioReading, RadioTableId};
use vigia::poll::{
    HostResources, IcmpOutcome, IcmpReport, Interface, ProbeKind, SnmpCost, SnmpOutcome,
    SnmpReport, Storage, SystemInfo, Truncation,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// `text` with what lies between the line holding `begin` and the line holding `end` replaced
/// by `body`; an error when either marker is missing.
fn splice(text: &str, begin: &str, end: &str, body: &str) -> Result<String, String> {
    let start = text.find(begin).ok_or(format!("no line with {begin:?}"))?;
    let start = start + text[start..].find('\n').ok_or("nothing after the begin marker")? + 1;
    let stop = start + text[start..].find(end).ok_or(format!("no line with {end:?}"))?;
    let stop = text[..stop].rfind('\n').map_or(stop, |n| n + 1);
    Ok(format!("{}{body}{}", &text[..start], &text[stop..]))
}

#[test]
fn the_contract_and_the_docs_table_are_generated_from_the_declarations() {
    let bless = std::env::var_os("VIGIA_BLESS").is_some();
    let files = [
        (
            "tests/resources/metrics/contract.txt",
            "# BEGIN metrics generated",
            "# END metrics generated",
            metrics::contract_lines(),
        ),
        (
            "docs/metrics.md",
            "<!-- BEGIN metrics generated",
            "<!-- END metrics generated",
            metrics::docs_table(),
        ),
    ];
    let mut stale = Vec::new();
    for (file, begin, end, body) in files {
        let path = root().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let want = splice(&text, begin, end, &body).unwrap_or_else(|e| panic!("{file}: {e}"));
        if want == text {
            continue;
        }
        if bless {
            std::fs::write(&path, want).unwrap();
        } else {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from the declarations in src/metrics/; run \
         `VIGIA_BLESS=1 cargo test --test metrics` and read the diff"
    );
}

#[test]
fn the_splice_keeps_both_markers_and_refuses_a_missing_one() {
    let text = "a\n# BEGIN x\nold\n# END x\nb\n";
    assert_eq!(
        splice(text, "# BEGIN x", "# END x", "new\n").unwrap(),
        "a\n# BEGIN x\nnew\n# END x\nb\n"
    );
    assert!(splice(text, "# BEGIN y", "# END x", "").is_err());
    assert!(splice(text, "# BEGIN x", "# END y", "").is_err());
}

fn load_small() -> (Inventory, History) {
    let dir = root().join("tests/resources/reports/small");
    let inv = match inventory::load(&dir.join("inventory"), Secrets::Warn) {
        Ok((inv, _warnings)) => inv,
        Err(e) => panic!("{e}: {:#?}", e.diagnostics),
    };
    let text = std::fs::read_to_string(dir.join("history.json")).unwrap();
    (inv, serde_json::from_str(&text).expect("history.json reads"))
}

fn family(address: IpAddr) -> Family {
    if address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 }
}

fn icmp(address: IpAddr, ok: bool) -> IcmpReport {
    IcmpReport {
        family: family(address),
        address,
        outcome: if ok { IcmpOutcome::Ok } else { IcmpOutcome::Timeout },
        sent: 3,
        received: if ok { 3 } else { 0 },
        rtts: if ok { vec![Duration::from_micros(400); 3] } else { Vec::new() },
        detail: None,
    }
}

fn snmp(address: IpAddr, server: bool) -> SnmpReport {
    let port = |index: u32, name: &str| Interface {
        index,
        name: name.into(),
        oper_up: Some(true),
        speed_mbps: Some(1000),
        in_octets: Some(u64::from(index) * 1000),
        out_octets: Some(500),
        counter_bits: 64,
        in_errors: Some(0),
        out_errors: Some(0),
        in_discards: Some(0),
        out_discards: Some(0),
        ..Interface::default()
    };
    let host = server.then(|| HostResources {
        cpu_load_percent: Some(12.5),
        memory_total_bytes: Some(8 << 30),
        memory_used_bytes: Some(3 << 30),
        disks: vec![Storage { descr: "C:\\ \"system\"".into(), size_bytes: 100, used_bytes: 40 }],
    });
    SnmpReport {
        family: family(address),
        address,
        outcome: SnmpOutcome::Ok,
        detail: None,
        elapsed: Duration::from_millis(40),
        system: Some(SystemInfo { uptime_ticks: Some(360_000), ..SystemInfo::default() }),
        interfaces: vec![port(1, "GigabitEthernet0/1"), port(2, "uplink \"norte\"\n")],
        entity: None,
        host,
        radio: Vec::new(),
        optics: Vec::new(),
        cost: SnmpCost { requests: 3, retries: 1, varbinds: 40 },
        truncated: None,
    }
}

/// A radio's rows: an airMAX interface with every reading, an airFiber link with capacities, a
/// MikroTik station whose signal was impossible (unusable, not a number).
fn radio_rows() -> Vec<RadioLink> {
    let row = |table, station: &str, remote: Option<&str>, readings: Vec<(RadioReading, Level)>| {
        RadioLink { table, station: station.into(), remote: remote.map(Into::into), readings }
    };
    vec![
        row(
            RadioTableId::UbntAirMax,
            "1",
            Some("24:a4:3c:01:02:ff"),
            vec![
                (RadioReading::SignalDbm, Level::Value(-64.0)),
                (RadioReading::NoiseDbm, Level::Value(-95.0)),
                (RadioReading::SnrDb, Level::Value(31.0)),
                (RadioReading::CcqPercent, Level::Value(92.0)),
                (RadioReading::TxRateBps, Level::Value(130e6)),
                (RadioReading::RxRateBps, Level::Value(117e6)),
            ],
        ),
        row(
            RadioTableId::UbntAirFiber,
            "1",
            None,
            vec![
                (RadioReading::TxCapacityBps, Level::Value(650e6)),
                (RadioReading::RxCapacityBps, Level::Value(700e6)),
            ],
        ),
        row(
            RadioTableId::MikrotikRtab,
            "76.94.12.1.2.3.7",
            Some("Torre \"Alto\""),
            vec![(RadioReading::SignalDbm, Level::Unusable)],
        ),
    ]
}

/// A switch's transceiver: receive power above its low alarm, transmit power, and a sensor
/// whose reading was unusable.
fn optics_rows() -> Vec<Optic> {
    let optic = |index, sensor: &str, direction, power, low_alarm_dbm| Optic {
        index,
        sensor: sensor.into(),
        direction,
        power,
        low_alarm_dbm,
    };
    vec![
        optic(
            1001,
            "Te1/1/1 Receive Power Sensor",
            Direction::Rx,
            Level::Value(-11.2),
            Some(-13.9),
        ),
        optic(1002, "Te1/1/1 Transmit Power Sensor", Direction::Tx, Level::Value(-2.5), None),
        optic(1003, "Te1/1/2 Receive Power Sensor", Direction::Rx, Level::Unusable, Some(-13.9)),
    ]
}

/// The small scenario's agent after one poll of everything (sw-norte's IPv6 does not answer,
/// nothing of teatro answers: its radio link is down, inside a maintenance window declared for
/// the test), with the plan's figures as of the scenario's day (its indicators have 2026
/// targets).
fn small_agent() -> Shared {
    let (mut inv, history) = load_small();
    let now = Utc::now();
    let local = |t: chrono::DateTime<Utc>| t.with_timezone(&inv.time_zone).naive_local();
    inv.maintenance.push(MaintenanceWindow {
        id: "obra-teatro".into(),
        scope: MaintenanceScope::Site("teatro".into()),
        time: MaintenanceTime::Once {
            start: local(now - chrono::TimeDelta::hours(1)),
            end: local(now + chrono::TimeDelta::hours(1)),
        },
        time_zone: inv.time_zone,
        reason: "prueba".into(),
    });
    let inv = Arc::new(inv);
    let mut shared = Shared::new(inv.clone(), Clock::Wall);
    let index = InventoryIndex::new(inv.clone(), now.date_naive());
    for d in index.polled() {
        for family in d.families() {
            let address = d.address(family).unwrap();
            let r = icmp(address, !(d.id == "sw-norte" && address.is_ipv6()) && d.site != "teatro");
            shared.polls.add_icmp(&r);
            shared.state.apply_icmp(&index, d, r, now, "test");
            if d.snmp.is_some() {
                let mut r = snmp(address, d.class == DeviceClass::Server);
                // One device whose walk met a bound on what one device may cost.
                if d.class == DeviceClass::Server && address.is_ipv4() {
                    r.truncated = Some(Truncation::Rows);
                }
                if d.id == "fw-central" {
                    // What it reports of itself: its declared model, another serial.
                    r.entity = Some(vigia::poll::EntityInfo {
                        index: Some(1),
                        model: Some("FortiGate-500E".into()),
                        serial: Some("FG5H0E0000000099".into()),
                        ..Default::default()
                    });
                }
                if d.id == "sw-norte" && address.is_ipv4() {
                    // A reading a minute earlier, so the link it carries has a rate.
                    let mut earlier = snmp(address, false);
                    for i in &mut earlier.interfaces {
                        i.in_octets = Some(0);
                        i.out_octets = Some(0);
                    }
                    let before = now - chrono::TimeDelta::minutes(1);
                    if let Some(s) = &mut earlier.system {
                        s.uptime_ticks = Some(360_000 - 6_000);
                    }
                    shared.state.apply_snmp(d, earlier, before, "test");
                }
                if d.id == "radio-teatro" || (d.id == "sw-norte" && address.is_ipv4()) {
                    r.radio = radio_rows();
                }
                if d.id == "sw-central" {
                    r.optics = optics_rows();
                }
                let (events, _) = shared.state.apply_facts(d, &r, now, "test");
                assert!(events.is_empty(), "a first sighting is no change");
                shared.polls.add_snmp(&r);
                shared.state.apply_snmp(d, r, now, "test");
            }
        }
    }
    shared.poll_duration.insert(ProbeKind::Icmp, 1.2);
    shared.poll_duration.insert(ProbeKind::Snmp, 0.04);
    shared.reload.last_success = Some(now);
    let as_of = AsOf::end_of_day("2026-06-30".parse().unwrap());
    shared.plan = Some(Arc::new(Plan::compute(&inv, &history, as_of)));
    shared
}

fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/deps test installs it)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {said}\n{text}"
    );
}

#[test]
fn a_polled_agent_renders_every_contract_metric_in_both_formats_and_promtool_agrees() {
    let shared = Arc::new(RwLock::new(small_agent()));
    let contract = Contract::load().expect("the metric contract");
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = metrics::render(&shared, format);
        let report = contract.check_exposition(&text);
        assert!(report.problems.is_empty(), "{format:?}:\n{}", report.problems.join("\n"));
        let missing: Vec<&String> =
            contract.metrics.keys().filter(|m| !report.seen.contains(*m)).collect();
        assert!(missing.is_empty(), "{format:?} lacks {missing:?}:\n{text}");
        if format == Format::Classic {
            promtool_check(&text);
        }
    }
}
