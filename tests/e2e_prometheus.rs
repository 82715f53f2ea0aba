//! End to end with a real Prometheus: the agent binary polls a lab, Debian's Prometheus scrapes
//! it with vigia's alert rules loaded, and then
//!
//! - the agent's `/metrics` keeps the metric contract and exports every metric of it;
//! - every expression of every dashboard panel and variable returns data through Prometheus's
//!   HTTP API (an expression that cannot return data on this lab is a broken panel), every rule
//!   expression is accepted and every series a rule reads exists;
//! - a few figures read back through PromQL are the ones the lab was built to show;
//! - taking lab devices down fires their alerts: the only uplink of a site (`VigiaSedeAislada`)
//!   and a device of a site that stays up (`VigiaEquipoSinRespuesta`), each after its rule's
//!   `for: 5m`; the alerts that need longer (`VigiaIPv6CaidoConIPv4` 10m,
//!   `VigiaSnmpSinRespuesta` 15m, `VigiaSoporteTerminaPronto` 1h) are seen pending.
//!
//! The rules are not shortened for the test: it waits for them, bounded, so it takes about
//! five and a half minutes (five of them the `for:` of the two alerts). Everything else is
//! quick: the agent polls every 2 s (ICMP) and 5 s (SNMP) and recomputes its derived metrics
//! every 2 s (`--derive-every`), Prometheus scrapes and evaluates every second.
//!
//! Needs root, the lab's tools and `/usr/bin/prometheus` (`scripts/deps test` installs them);
//! without them it fails saying what is missing.

// Tests read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

mod e2e;
mod prom;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use vigia::inventory;
use vigia_lab::block::AddressBlock;
use vigia_lab::{Lab, LabDevice, LabSpec, LinkModel};

use e2e::{
    AgentProcess, assert_every_address_in_lab, days_before, free_port, load, new_year,
    settled_today, write, write_secret, years_before,
};
use prom::contract::Contract;
use prom::exprs::{self, Expr, Substitutions};
use prom::server::{Alert, Prometheus, PrometheusConfig};

const AUTH: &str = "e2e-prom-auth-pass";
const PRIV: &str = "e2e-prom-priv-pass";
const COMMUNITY: &str = "e2e-prom-community";

/// The rules' `for:` of the two alerts the test waits to see firing.
const FOR: Duration = Duration::from_secs(5 * 60);

/// The lab network: a main site with a firewall, a server, switches (one with broken IPv6, one
/// whose SNMP agent is gone), a fibre site and a radio site, and a site with no link.
fn inventory(block: &AddressBlock, today: NaiveDate) -> String {
    let (v4, v6) = (|h| block.v4(h), |h| block.v6(h));
    let d = |n: i64| days_before(today, n);
    let y = |n: u32| years_before(today, n);
    let year = today.year();
    let jan1 = new_year(today);
    let fine =
        format!("{{ acquired: {}, end_of_sale: {}, end_of_support: {} }}", y(1), d(-700), d(-1500));
    format!(
        r#"sites:
  - {{ id: sede-central, name: Sede Central, role: main }}
  - {{ id: mercado-fibra, name: Mercado Fibra, role: branch, link: fibre, provider: Optical Network }}
  - {{ id: teatro-radio, name: Teatro Radio, role: branch, link: radio }}
  - {{ id: camal, name: Camal, role: branch, link: none, planned_link: fibre }}

snmp_profiles:
  v3: {{ version: "3", user: vigia, auth_protocol: sha256, auth_password_file: secrets/auth, priv_protocol: aes128, priv_password_file: secrets/priv }}
  v2: {{ version: "2c", community_file: secrets/community }}

defaults:
  snmp: v3
  poll: {{ icmp_interval: 2s, snmp_interval: 5s, timeout: 1s, retries: 1, icmp_count: 3 }}

devices:
  - {{ id: fw-core, site: sede-central, class: firewall, vendor: Fortinet, model: FortiGate 500E, ipv4: {fw4}, ipv6: {fw6}, lifecycle: {{ acquired: {y7}, end_of_sale: {d300}, end_of_support: {dm60} }} }}
  - {{ id: srv-app, site: sede-central, class: server, ipv4: {srv4}, ipv6: {srv6}, lifecycle: {{ acquired: {y2}, end_of_sale: {d100}, end_of_support: {d5} }} }}
  - {{ id: sw-core, site: sede-central, class: switch, uplink: true, snmp: v2, ipv4: {core4}, ipv6: {core6}, lifecycle: {fine} }}
  - {{ id: sw-v6broken, site: sede-central, class: switch, ipv4: {brk4}, ipv6: {brk6}, lifecycle: {fine} }}
  - {{ id: sw-mute, site: sede-central, class: switch, ipv4: {mute4}, lifecycle: {fine} }}
  - {{ id: sw-v6late, site: sede-central, class: switch, ipv4: {late4}, ipv6_planned: {d30} }}
  - {{ id: sw-renewed, site: sede-central, class: switch, ipv4: {ren4}, ipv6: {ren6}, lifecycle: {{ acquired: {jan1}, renewed: {jan1}, end_of_sale: {dm1000}, end_of_support: {dm2000} }} }}
  - {{ id: sw-fibra, site: mercado-fibra, class: switch, uplink: true, snmp: v2, ipv4: {fib4}, ipv6: {fib6}, lifecycle: {fine} }}
  - {{ id: sw-radio, site: teatro-radio, class: switch, uplink: true, ipv4: {rad4}, ipv6: {rad6}, lifecycle: {fine} }}
  - {{ id: ap-radio, site: teatro-radio, class: access_point, snmp: false, ipv4: {ap4} }}
  - {{ id: sw-camal, site: camal, class: switch, ipv4: {cam4} }}

projects:
  - {{ id: fibra-fase-1, indicator: AE.7.03, name: Fibra fase 1, year: {year}, status: implemented, implemented_on: {jan1} }}
  - {{ id: ipv6, indicator: AE.7.04, name: IPv6, year: {year}, status: in_progress }}

indicators:
  - {{ id: AE.7.03, name: Proyectos de infraestructura digital implementados, targets: {{ {year}: 6 }} }}
  - {{ id: AE.7.04, name: Equipos informáticos renovados, targets: {{ {year}: 1 }} }}

# Contracted bandwidth (issue 15): mercado-fibra's link measured on sw-fibra's loopback (its
# counters are real, net-snmp's ifHC* of the lab namespace; the rate is whatever crosses it), and
# a pool whose interface is not declared: every contract metric exists, and the panel of links
# that cannot be measured has a row.
contracts:
  - {{ site: mercado-fibra, mbps: 60, interface: {{ device: sw-fibra, name: lo }} }}
link_pools:
  - {{ id: internet-central, name: Internet central, mbps: 80, sites: [teatro-radio] }}

# In force during the whole test (yesterday to tomorrow, local), over nothing the test alerts on:
# the maintenance metrics exist, as every contract metric must.
maintenance:
  - {{ id: firmware-renovado, scope: {{ device: sw-renewed }}, start: {d1} 00:00, end: {dm1} 23:00, reason: Firmware }}
  - {{ id: obra-camal, scope: {{ site: camal }}, start: {d1} 00:00, end: {dm1} 23:00, reason: Obra }}
"#,
        d1 = d(1),
        dm1 = d(-1),
        fw4 = v4(1),
        fw6 = v6(1),
        srv4 = v4(2),
        srv6 = v6(2),
        core4 = v4(3),
        core6 = v6(3),
        brk4 = v4(4),
        brk6 = v6(4),
        mute4 = v4(5),
        late4 = v4(6),
        ren4 = v4(7),
        ren6 = v6(7),
        fib4 = v4(20),
        fib6 = v6(0x20),
        rad4 = v4(30),
        rad6 = v6(0x30),
        ap4 = v4(31),
        cam4 = v4(50),
        y2 = y(2),
        y7 = y(7),
        d5 = d(5),
        d30 = d(30),
        d100 = d(100),
        d300 = d(300),
        dm60 = d(-60),
        dm1000 = d(-1000),
        dm2000 = d(-2000),
    )
}

/// The lab of the inventory, with sw-v6broken's IPv6 address routed to no host, sw-mute's SNMP
/// agent gone, and sw-camal (no link, never polled) routed to "unreachable".
fn lab_spec(inv: &inventory::Inventory, block: &AddressBlock, today: NaiveDate) -> LabSpec {
    let name = format!("e2ep-{}", std::process::id());
    let mut spec = e2e::lab_twin::spec_from_inventory(inv, &name, today).expect("the lab spec");
    spec.host_v4 = block.host_v4();
    spec.host_v6 = block.host_v6();
    spec.seed = 2026;
    let broken = spec.devices.iter_mut().find(|d| d.id == "sw-v6broken").expect("sw-v6broken");
    let v6 = broken.ipv6.take().expect("sw-v6broken has IPv6");
    spec.devices.push(LabDevice {
        id: "sw-v6broken-v6".into(),
        ipv4: None,
        ipv6: Some(v6),
        link: Some(LinkModel::LAN),
        present: false,
        agent: None,
    });
    spec.devices.iter_mut().find(|d| d.id == "sw-mute").expect("sw-mute").agent = None;
    // Link health (issue 15): sw-radio's agent says it is a Ubiquiti radio and serves airMAX
    // and airFiber rows (the airFiber's +5 dBm of received signal is impossible: unusable);
    // sw-core's says it is a Cisco switch with transceivers (one reading +25 dBm: unusable).
    use e2e::link_tables::{airfiber, airmax, both, transceivers};
    let radio = spec.devices.iter_mut().find(|d| d.id == "sw-radio").expect("sw-radio");
    let agent = radio.agent.as_mut().expect("sw-radio has SNMP");
    agent.sys_object_id = Some(".1.3.6.1.4.1.41112".into());
    agent.served = both(airmax(-62), airfiber(5));
    let core = spec.devices.iter_mut().find(|d| d.id == "sw-core").expect("sw-core");
    let agent = core.agent.as_mut().expect("sw-core has SNMP");
    agent.sys_object_id = Some(".1.3.6.1.4.1.9".into());
    agent.served = transceivers(-82);
    let camal = inv.device("sw-camal").expect("sw-camal");
    spec.devices.push(LabDevice {
        id: "sw-camal".into(),
        ipv4: camal.ipv4,
        ipv6: None,
        link: None,
        present: true,
        agent: None,
    });
    assert_every_address_in_lab(inv, &spec);
    spec
}

/// The value of a one-sample PromQL expression.
async fn value(prom: &Prometheus, expr: &str) -> f64 {
    let samples = prom.query(expr).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(samples.len(), 1, "{expr}: {samples:?}");
    samples[0].value
}

fn find<'a>(alerts: &'a [Alert], name: &str, label: &str, value: &str) -> Option<&'a Alert> {
    alerts.iter().find(|a| a.name == name && a.labels.get(label).map(String::as_str) == Some(value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_alerts_work_on_a_real_prometheus_scraping_the_agent() {
    e2e::lab_prerequisites();
    assert!(
        Path::new(prom::server::PROMETHEUS).is_file(),
        "{} not found: install Debian's prometheus package (scripts/deps test)",
        prom::server::PROMETHEUS
    );
    let started = Instant::now();
    let at = || format!("{:.1?}", started.elapsed());
    let today = settled_today().await;
    let block = AddressBlock::claim().expect("a lab address block");
    let tmp = tempfile::Builder::new().prefix("vigia-e2e-prom-").tempdir().unwrap();
    let inv_dir = tmp.path().join("inventory");
    write(&inv_dir, "inventory.yaml", &inventory(&block, today));
    write_secret(&inv_dir.join("secrets/auth"), AUTH);
    write_secret(&inv_dir.join("secrets/priv"), PRIV);
    write_secret(&inv_dir.join("secrets/community"), COMMUNITY);
    let lab = Lab::up(lab_spec(&load(&inv_dir), &block, today)).await.expect("the lab comes up");
    eprintln!("[{}] lab up", at());

    let db = format!("sqlite://{}", tmp.path().join("vigia.db").display());
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = AgentProcess::start(
        &[
            "agent",
            "--inventory",
            inv_dir.to_str().unwrap(),
            "--db",
            &db,
            "--listen",
            &listen,
            "--derive-every",
            "2s",
        ],
        &[],
        &tmp.path().join("agent.log"),
    );
    let metrics_url = format!("http://{listen}/metrics");
    let http =
        reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        agent.assert_running();
        if http
            .get(format!("http://{listen}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not serve /healthz within 30 s:\n{}",
            agent.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut config = PrometheusConfig::new(&[&metrics_url]).expect("the rule files");
    config.interval = Duration::from_secs(1);
    let prom = Prometheus::start_with(config).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("[{}] agent and prometheus up", at());

    // Data: scrapes, a full SNMP pass (poll duration), the derived families, two samples of
    // the interface counters for rate().
    prom.wait_for_scrapes(3, Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));
    for expr in [
        r#"vigia_poll_duration_seconds{probe="snmp"}"#,
        r#"vigia_poll_duration_seconds{probe="icmp"}"#,
        "vigia_ipv6_coverage_ratio",
        "vigia_device_renewal_candidate",
        "vigia_indicator_value",
        "vigia_server_disk_size_bytes",
        "rate(vigia_interface_receive_bytes_total[1m])",
        r#"vigia_device_up{device="sw-v6broken", family="ipv6", probe="icmp"} == 0"#,
        r#"vigia_device_up{device="sw-mute", probe="snmp"} == 0"#,
    ] {
        prom.wait_for(expr, Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("{e}\nagent log:\n{}", agent.log()));
    }
    eprintln!("[{}] data in prometheus", at());

    // Nothing is down yet: no device or site alert.
    let alerts = prom.alerts().await.unwrap();
    for name in [
        "VigiaSedeAislada",
        "VigiaEquipoSinRespuesta",
        "VigiaAgenteNoResponde",
        "VigiaInventarioRechazado",
    ] {
        assert!(
            alerts.iter().all(|a| a.name != name),
            "{name} before anything was cut: {alerts:#?}"
        );
    }

    // Radio (15 ± 5 ms each way) is slower than fibre (0.5 ms each way), in every family.
    let rtt = |device: &str| {
        format!(r#"avg_over_time(vigia_icmp_rtt_seconds{{device="{device}"}}[10m])"#)
    };
    for family in ["ipv4", "ipv6"] {
        let of = |samples: Vec<prom::server::Sample>| {
            samples.into_iter().find(|s| s.labels["family"] == family).map(|s| s.value)
        };
        let radio = of(prom.query(&rtt("sw-radio")).await.unwrap()).expect("radio RTT");
        let fibre = of(prom.query(&rtt("sw-fibra")).await.unwrap()).expect("fibre RTT");
        assert!((0.015..0.1).contains(&radio), "radio {family} RTT {radio}");
        assert!(fibre < radio - 0.01, "fibre {family} RTT {fibre} vs radio {radio}");
    }

    // Take down the only uplink of mercado-fibra (the site is isolated) and a device of
    // teatro-radio, whose uplink still answers (the device alone is down).
    lab.cut("sw-fibra").await.unwrap();
    lab.cut("ap-radio").await.unwrap();
    let cut = Instant::now();
    eprintln!("[{}] sw-fibra and ap-radio cut", at());

    // Alerts that need longer than the test waits are pending (their conditions hold since
    // the first polls), with the right labels.
    let pending = [
        ("VigiaIPv6CaidoConIPv4", "device", "sw-v6broken"),
        ("VigiaSnmpSinRespuesta", "device", "sw-mute"),
        ("VigiaSoporteTerminaPronto", "device", "fw-core"),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alerts = prom.alerts().await.unwrap();
        let seen = pending.iter().all(|(name, label, value)| {
            find(&alerts, name, label, value).is_some_and(|a| a.state == "pending")
        });
        assert!(
            find(&alerts, "VigiaIPv6CaidoConIPv4", "device", "sw-core").is_none(),
            "{alerts:#?}"
        );
        if seen {
            break;
        }
        assert!(Instant::now() < deadline, "not pending: {pending:?}\n{alerts:#?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The cut devices' alerts fire once their `for: 5m` has run.
    let limit = FOR + Duration::from_secs(90);
    let (site_alert, device_alert) = loop {
        agent.assert_running();
        let alerts = prom.alerts().await.unwrap();
        let site = find(&alerts, "VigiaSedeAislada", "site", "mercado-fibra")
            .filter(|a| a.state == "firing")
            .cloned();
        let device = find(&alerts, "VigiaEquipoSinRespuesta", "device", "ap-radio")
            .filter(|a| a.state == "firing")
            .cloned();
        // The isolated site's device is not alerted on its own, and no other site is isolated.
        assert!(
            find(&alerts, "VigiaEquipoSinRespuesta", "device", "sw-fibra").is_none(),
            "{alerts:#?}"
        );
        assert!(find(&alerts, "VigiaSedeAislada", "site", "teatro-radio").is_none(), "{alerts:#?}");
        if let (Some(s), Some(d)) = (&site, &device) {
            break (s.clone(), d.clone());
        }
        assert!(
            cut.elapsed() < limit,
            "not firing {limit:?} after the cut (rules' for: {FOR:?}): {alerts:#?}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    eprintln!("[{}] both alerts firing {:.1?} after the cut", at(), cut.elapsed());
    assert!(cut.elapsed() >= FOR, "an alert fired before its for: had run");
    assert_eq!(site_alert.labels.get("link").map(String::as_str), Some("fibre"));
    assert_eq!(site_alert.labels.get("severity").map(String::as_str), Some("critical"));
    assert_eq!(
        site_alert.annotations.get("summary").map(String::as_str),
        Some("Sede mercado-fibra aislada (enlace fibre)")
    );
    assert_eq!(device_alert.labels.get("family").map(String::as_str), Some("ipv4"));
    assert_eq!(device_alert.labels.get("site").map(String::as_str), Some("teatro-radio"));
    assert_eq!(
        device_alert.annotations.get("summary").map(String::as_str),
        Some("ap-radio no responde por ipv4")
    );

    // net-snmp reports hrProcessorLoad only once it has a minute of CPU samples: the server's
    // CPU series exists from then on (long since, by now; bounded all the same).
    prom.wait_for("vigia_server_cpu_load_ratio", Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}\nagent log:\n{}", agent.log()));

    // The agent's own /metrics keeps the contract and holds every metric of it.
    let text = http.get(&metrics_url).send().await.unwrap().text().await.unwrap();
    let contract = Contract::load().expect("the metric contract");
    let report = contract.check_exposition(&text);
    assert!(
        report.problems.is_empty(),
        "/metrics departs from the contract:\n{}",
        report.problems.join("\n")
    );
    // vigia_snmp_poll_truncated exists only while a device's poll was cut short by a bound
    // (docs/reliability.md); the lab's agents are well-behaved, and tests/metrics.rs and
    // tests/snmp.rs cover it.
    let only_when_cut = "vigia_snmp_poll_truncated";
    let missing: Vec<&String> = contract
        .metrics
        .keys()
        .filter(|m| !report.seen.contains(*m) && m.as_str() != only_when_cut)
        .collect();
    assert!(missing.is_empty(), "the lab agent does not export {missing:?}:\n{text}");

    // Every expression of every dashboard and rule, on the agent's series (with two devices
    // down: the panels must hold then too).
    let all = exprs::all_exprs(&Substitutions::default()).expect("the dashboards and rules");
    let (dashboard, rules): (Vec<Expr>, Vec<Expr>) = all.into_iter().partition(Expr::is_dashboard);
    let eval = prom.evaluate(&dashboard).await;
    assert!(eval.all_have_data(), "dashboards on the lab agent:\n{}", eval.report());
    let eval = prom.evaluate(&rules).await;
    assert!(eval.failed.is_empty(), "{}", eval.report());
    let selectors = exprs::selector_exprs(&rules).unwrap();
    let eval = prom.evaluate(&selectors).await;
    // Series that exist only while something is cut off behind another device or site: this
    // lab's cuts make none (each cut device is a root of its own). Their rules are unit-tested
    // by promtool (deploy/prometheus/tests/dependencias-y-mantenimiento.yml) and delivered
    // end to end in tests/e2e_alertmanager.rs. Every other series a rule reads must exist.
    const ONLY_BEHIND_A_ROOT: &[&str] =
        &[r#"vigia_site_outage{cause="dependency"}"#, r#"vigia_device_outage{cause="dependency"}"#];
    let missing: Vec<&&Expr> =
        eval.no_data.iter().filter(|e| !ONLY_BEHIND_A_ROOT.contains(&e.promql.as_str())).collect();
    assert!(
        eval.failed.is_empty() && missing.is_empty(),
        "series the rules read:\n{}",
        eval.report()
    );
    for site in ["sede-central", "mercado-fibra", "teatro-radio"] {
        let pinned = exprs::dashboard_exprs(&Substitutions::default().set("site", site)).unwrap();
        let eval = prom.evaluate(&pinned).await;
        assert!(eval.failed.is_empty(), "site {site}: {}", eval.report());
    }
    eprintln!(
        "[{}] {} dashboard, {} rule and {} selector expressions evaluated",
        at(),
        dashboard.len(),
        rules.len(),
        selectors.len()
    );

    // The figures the lab was built to show, read back through Prometheus: 11 devices, 10
    // polled (not sw-camal), 7 of them with IPv6 (fw-core, srv-app, sw-core, sw-v6broken,
    // sw-renewed, sw-fibra, sw-radio).
    assert_eq!(value(&prom, "count(vigia_device_info)").await, 11.0);
    assert_eq!(value(&prom, r#"vigia_sites{link="none"}"#).await, 1.0);
    let ratio = |stage: &str| format!(r#"vigia_ipv6_coverage_ratio{{stage="{stage}"}}"#);
    assert_eq!(value(&prom, &ratio("configured")).await, 7.0 / 10.0);
    let reasons: BTreeSet<(String, String)> = prom
        .query("vigia_device_renewal_candidate")
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.labels["device"].clone(), s.labels["reason"].clone()))
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("fw-core", "support_ending"),
        ("fw-core", "too_old"),
        ("srv-app", "support_ended"),
        ("sw-v6late", "ipv6_overdue"),
    ]
    .iter()
    .map(|(d, r)| (d.to_string(), r.to_string()))
    .collect();
    assert_eq!(reasons, want);
    let year = today.year();
    assert_eq!(
        value(&prom, &format!(r#"vigia_indicator_value{{indicator="AE.7.03", year="{year}"}}"#))
            .await,
        1.0
    );
    assert_eq!(
        value(&prom, &format!(r#"vigia_indicator_target{{indicator="AE.7.03", year="{year}"}}"#))
            .await,
        6.0
    );
    assert_eq!(
        value(&prom, &format!(r#"vigia_indicator_value{{indicator="AE.7.04", year="{year}"}}"#))
            .await,
        1.0
    );
    let disks = prom.query("vigia_server_disk_size_bytes").await.unwrap();
    assert!(disks.iter().all(|s| s.labels["device"] == "srv-app" && s.value > 0.0), "{disks:?}");
    drop(prom);
    assert_eq!(agent.stop(Duration::from_secs(20)), 0, "{}", agent.log());
    lab.down().await.expect("the lab comes down whole");
    eprintln!("[{}] prometheus end to end done", at());
}
