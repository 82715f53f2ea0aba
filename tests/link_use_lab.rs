//! Use of the contracted bandwidth, proved against a lab (issue 15): a branch switch's snmpd
//! serves, through the lab's `pass_persist` holder, the 64-bit octet counters of one interface
//! that advance at a set rate (9 Mbit/s towards the site, 2 Mbit/s from it, on a 10 Mbit/s
//! contract). `vigia agent` polls it; the exported use and the links report's figures are
//! compared with the rate the lab was set to.
//!
//! Tolerances, reasoned rather than tuned:
//! - A rate is the octets between two readings over the time between the two polls' *starts*;
//!   the counters are read a little after each start (the system group first, then the walk).
//!   The error is the difference of those two read delays over the interval: with the 10 s
//!   SNMP interval below and read delays well under 0.5 s even on a loaded two-core machine, the
//!   exported ratio is within 5 % of the set one. The lab's counters advance by
//!   `floor(rate × elapsed)`: at most one octet off, nothing at these rates.
//! - The report's figures average many intervals (a slot's use is its bits over its covered
//!   seconds), so the same bound holds a fortiori. Every interval runs at 90 % ± 5 % of the
//!   contract down and 20 % up: all the measured time is above 80 % down, none up.
//!
//! Needs root, /dev/net/tun, iproute2 and snmpd (`scripts/deps test`).

// Tests read the clock for deadlines (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]
// Setting the environment (unsafe since Rust 2024) before any thread reads it.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[allow(dead_code)] // the binary's conversion; this test uses part of it
#[path = "../src/lab_twin.rs"]
mod lab_twin;

use chrono::Utc;
use vigia::inventory::Secrets;
use vigia_lab::Lab;
use vigia_lab::block::AddressBlock;
use vigia_lab::served::{Oid, ServedTable, Value};

const VIGIA: &str = env!("CARGO_BIN_EXE_vigia");

/// The served interface: an ifIndex net-snmp's own table does not have.
const IF_INDEX: u32 = 1000;
/// ifHCInOctets and ifHCOutOctets (IF-MIB ifXTable columns 6 and 10).
const HC_IN: [u32; 11] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6];
const HC_OUT: [u32; 11] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10];
/// 9 Mbit/s towards the site, 2 Mbit/s from it, in octets per second.
const DOWN_OCTETS_PER_S: f64 = 9e6 / 8.0;
const UP_OCTETS_PER_S: f64 = 2e6 / 8.0;
/// The contract: 10 Mbit/s each way.
const CONTRACT_MBPS: f64 = 10.0;
const DOWN_SET: f64 = 9.0 / CONTRACT_MBPS;
const UP_SET: f64 = 2.0 / CONTRACT_MBPS;
/// Relative tolerance (see the module docs).
const TOLERANCE: f64 = 0.05;

fn inventory(block: &AddressBlock) -> String {
    format!(
        r#"sites:
  - {{ id: main, name: Sede Principal, role: main }}
  - {{ id: grau, name: Mercado Grau, role: branch, link: fibre }}
snmp_profiles:
  v2c: {{ version: "2c", community_env: VIGIA_TEST_COMMUNITY }}
defaults:
  snmp: v2c
  poll: {{ icmp_interval: 5s, snmp_interval: 10s, timeout: 2s, retries: 0, icmp_count: 1 }}
devices:
  - {{ id: sw-grau, site: grau, class: switch, ipv4: {}, uplink: true }}
contracts:
  - {{ site: grau, mbps: 10, interface: {{ device: sw-grau, index: {IF_INDEX} }} }}
link_pools:
  - {{ id: central, name: Internet central, mbps: 80, sites: [grau] }}
"#,
        block.v4(11),
    )
}

const COMMUNITY: (&str, &str) = ("VIGIA_TEST_COMMUNITY", "link-use-lab-community");

#[path = "support/agent.rs"]
mod agent;
use agent::{AgentProcess, samples};

fn within(got: f64, set: f64) -> bool {
    (got - set).abs() <= TOLERANCE * set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_counters_at_a_set_rate_give_that_use_in_metrics_and_report() {
    vigia_lab::check_prerequisites().unwrap_or_else(|e| panic!("needs the lab: {e}"));
    let block = AddressBlock::claim().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv_dir = dir.path().join("inventory");
    std::fs::create_dir(&inv_dir).unwrap();
    std::fs::write(inv_dir.join("inventory.yaml"), inventory(&block)).unwrap();
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var(COMMUNITY.0, COMMUNITY.1) };
    let (inv, _) = vigia::inventory::load(&inv_dir, Secrets::Require).unwrap();
    let name = format!("lu{}", std::process::id());
    let mut spec = lab_twin::spec_from_inventory(&inv, &name, Utc::now().date_naive()).unwrap();
    spec.host_v4 = block.host_v4();
    spec.host_v6 = block.host_v6();
    // sw-grau's agent serves ifHCInOctets/ifHCOutOctets of one interface, advancing at the set
    // rates from above 2^32 (a 64-bit counter for real).
    let table = ServedTable {
        subtrees: vec![Oid::new(&HC_IN), Oid::new(&HC_OUT)],
        objects: BTreeMap::from([
            (
                Oid::new(&HC_IN).child(&[IF_INDEX]),
                Value::Counter64 { value: 5_000_000_000_000, per_second: DOWN_OCTETS_PER_S },
            ),
            (
                Oid::new(&HC_OUT).child(&[IF_INDEX]),
                Value::Counter64 { value: 7_000_000_000, per_second: UP_OCTETS_PER_S },
            ),
        ]),
    };
    let grau = spec.devices.iter_mut().find(|d| d.id == "sw-grau").unwrap();
    grau.agent.as_mut().expect("sw-grau has an SNMP agent").served = table;
    let lab = Lab::up(spec).await.unwrap();

    let db = dir.path().join("history.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.path().join("agent.log");
    let mut cmd = Command::new(VIGIA);
    cmd.args(["agent", "--inventory"])
        .arg(&inv_dir)
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--agent-id", "link-use-test"])
        .env("VIGIA_LOG", "info")
        .env(COMMUNITY.0, COMMUNITY.1)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut agent = AgentProcess { child: cmd.spawn().unwrap(), port };
    let client = reqwest::Client::new();

    // The use is exported once two readings are in (two SNMP intervals; allow more for a
    // loaded machine). The first interval starts at the agent's first poll (sessions opened,
    // neighbours resolved): wait one interval more, so the one compared is a steady one.
    let metrics = || async {
        match client.get(format!("http://127.0.0.1:{}/metrics", agent.port)).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    };
    let start = Instant::now();
    loop {
        let text = metrics().await;
        let has = |d| {
            samples(&text, "vigia_link_use_ratio", &[("site", "grau"), ("direction", d)]).len() == 1
        };
        if has("down") && has("up") {
            break;
        }
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no use exported; /metrics:\n{text}\nlog:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    let text = metrics().await;
    let one = |metric: &str, labels: &[(&str, &str)]| {
        let v = samples(&text, metric, labels);
        assert_eq!(v.len(), 1, "{metric} {labels:?}:\n{text}");
        v[0]
    };
    let down = one("vigia_link_use_ratio", &[("site", "grau"), ("direction", "down")]);
    let up = one("vigia_link_use_ratio", &[("site", "grau"), ("direction", "up")]);
    eprintln!("exported use: down {down} (set {DOWN_SET}), up {up} (set {UP_SET})");
    assert!(within(down, DOWN_SET), "down use {down}, set {DOWN_SET}");
    assert!(within(up, UP_SET), "up use {up}, set {UP_SET}");
    let traffic =
        one("vigia_link_traffic_bytes_per_second", &[("site", "grau"), ("direction", "down")]);
    assert!(within(traffic, DOWN_OCTETS_PER_S), "down traffic {traffic} B/s");
    assert_eq!(
        one("vigia_link_contract_bytes_per_second", &[("site", "grau"), ("direction", "up")]),
        CONTRACT_MBPS * 1e6 / 8.0
    );
    assert_eq!(one("vigia_link_interface_declared", &[("site", "grau")]), 1.0);
    // The pool's interface is not declared: its contract is there, its use is not.
    assert_eq!(one("vigia_link_interface_declared", &[("pool", "central")]), 0.0);
    assert!(samples(&text, "vigia_link_use_ratio", &[("pool", "central")]).is_empty(), "{text}");

    // A few more readings for the report, then stop the agent: SIGTERM stores every row.
    tokio::time::sleep(Duration::from_secs(25)).await;
    let pid = libc::pid_t::try_from(agent.child.id()).unwrap();
    // SAFETY: kill(2) on the pid of our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = agent.child.wait().unwrap();
    assert!(status.success(), "agent exit {status}: {}", std::fs::read_to_string(&log).unwrap());
    drop(lab);

    let out = Command::new(VIGIA)
        .args(["report", "links", "--format", "json", "--inventory"])
        .arg(&inv_dir)
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let contracts = report["contracts"].as_array().unwrap();
    let grau = contracts.iter().find(|c| c["id"] == "grau").unwrap();
    assert_eq!(grau["status"], "measured", "{grau}");
    for period in ["day", "month"] {
        let p = &grau[period];
        let (d, u) = (&p["down"], &p["up"]);
        let p95 = |f: &serde_json::Value| f["p95"].as_f64().unwrap();
        assert!(within(p95(d), DOWN_SET), "{period} down p95 {}: {grau}", p95(d));
        assert!(within(p95(u), UP_SET), "{period} up p95 {}: {grau}", p95(u));
        // The agent ran about 40 s at 10 s: three or more intervals measured.
        let measured = d["measured_s"].as_f64().unwrap();
        eprintln!("report {period}: down p95 {} up p95 {} measured {measured} s", p95(d), p95(u));
        assert!(measured >= 20.0, "{period}: {measured} s measured: {grau}");
        assert_eq!(d["above_s"].as_f64(), Some(measured), "all of it above 80 % down: {grau}");
        assert_eq!(u["above_s"].as_f64(), Some(0.0), "none of it up: {grau}");
    }
    let pool = contracts.iter().find(|c| c["id"] == "central").unwrap();
    assert_eq!(pool["status"], "not_declared", "{pool}");

    // The Markdown report says so in Spanish.
    let out = Command::new(VIGIA)
        .args(["report", "links", "--inventory"])
        .arg(&inv_dir)
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("no se puede medir: interfaz no declarada"), "{md}");
    assert!(
        md.contains(
            "| grau | Mercado Grau | Sede | grau | 10 | 10 | sw-grau ifIndex 1000 | medido |"
        ),
        "{md}"
    );
}
