//! `vigia agent` against a lab: real snmpd agents in namespaces this test creates, the agent as
//! a separate process serving /metrics, SIGHUP and `POST /-/reload`, SIGTERM at the end.
//!
//! Proves: a device taken down is `vigia_device_up 0` within two intervals and an event is
//! stored; brought back, an up event; a reload that removes a device removes its series; an
//! invalid reload keeps the old inventory and says so; `promtool check metrics` finds nothing
//! to say; what a device reports of itself (sysObjectID, ENTITY-MIB model and serial, served
//! by the lab's snmpd) reaches /api/devices, and swapping its serial and model while the agent
//! runs gives exactly one stored `equipo_reemplazado` event and a device "en discrepancia";
//! SIGTERM exits 0 with every row the agent reported stored.
//!
//! Needs root, /dev/net/tun, iproute2, snmpd and promtool (`scripts/deps test`); without them it
//! fails saying what is missing.

// Tests read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]
// Test harness, not the monitor: kill(2) on its own agent child, and setting the environment
// (unsafe since Rust 2024) before any thread reads it.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[allow(dead_code)] // the binary's conversion; these tests use part of it
#[path = "../src/lab_twin.rs"]
mod lab_twin;

use chrono::{TimeDelta, Utc};
use vigia::history::EventKind;
use vigia::inventory::Secrets;
use vigia::store::Store;
use vigia_lab::Lab;
use vigia_lab::block::AddressBlock;

const VIGIA: &str = env!("CARGO_BIN_EXE_vigia");
const ICMP_INTERVAL: Duration = Duration::from_secs(2);
/// The inventory's `snmp_interval` below.
const SNMP_INTERVAL: Duration = Duration::from_secs(4);

fn inventory(block: &AddressBlock, with_extra: bool) -> String {
    let extra = if with_extra {
        format!("  - {{ id: sw-extra, site: grau, class: switch, ipv4: {} }}\n", block.v4(13))
    } else {
        String::new()
    };
    format!(
        r#"sites:
  - {{ id: main, name: Sede Principal, role: main }}
  - {{ id: grau, name: Mercado Grau, role: branch, link: fibre }}
  - {{ id: teatro, name: Teatro Municipal, role: branch, link: radio }}
snmp_profiles:
  v2c: {{ version: "2c", community_env: VIGIA_TEST_COMMUNITY }}
  v3:
    version: "3"
    user: vigia
    auth_protocol: sha256
    auth_password_env: VIGIA_TEST_AUTH
    priv_protocol: aes128
    priv_password_env: VIGIA_TEST_PRIV
defaults:
  snmp: v2c
  poll: {{ icmp_interval: 2s, snmp_interval: 4s, timeout: 1s, retries: 0, icmp_count: 2 }}
devices:
  - {{ id: srv-a, site: main, class: server, ipv4: {}, ipv6: "{}" }}
  - {{ id: sw-grau, site: grau, class: switch, ipv4: {}, ipv6: "{}", uplink: true, snmp: v3,
      vendor: Cisco, model: WS-C2960X-24PS-L, serial: FOC0000A001 }}
  - {{ id: sw-teatro, site: teatro, class: switch, ipv4: {}, uplink: true }}
{extra}"#,
        block.v4(10),
        block.v6(10),
        block.v4(11),
        block.v6(11),
        block.v4(12),
    )
}

const SECRETS: [(&str, &str); 3] = [
    ("VIGIA_TEST_COMMUNITY", "agent-lab-community"),
    ("VIGIA_TEST_AUTH", "agent-lab-auth-pass"),
    ("VIGIA_TEST_PRIV", "agent-lab-priv-pass"),
];

impl AgentProcess {
    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid fits");
        // SAFETY: kill(2) on the pid of our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signal the agent");
    }
}

#[path = "support/agent.rs"]
mod agent;
use agent::{AgentProcess, samples, wait_metrics};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn get(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/deps test installs it)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_polls_a_lab_and_reports_downs_reloads_and_stops_cleanly() {
    vigia_lab::check_prerequisites().unwrap_or_else(|e| panic!("needs the lab: {e}"));
    let block = AddressBlock::claim().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv_dir = dir.path().join("inventory");
    std::fs::create_dir(&inv_dir).unwrap();
    let inv_file = inv_dir.join("inventory.yaml");
    std::fs::write(&inv_file, inventory(&block, true)).unwrap();
    for (k, v) in SECRETS {
        // SAFETY: set before any thread of this test reads the environment for these names.
        unsafe { std::env::set_var(k, v) };
    }
    let (inv, _) = vigia::inventory::load(&inv_dir, Secrets::Require).unwrap();
    let name = format!("ag{}", std::process::id());
    let mut spec = lab_twin::spec_from_inventory(&inv, &name, Utc::now().date_naive()).unwrap();
    spec.host_v4 = block.host_v4();
    spec.host_v6 = block.host_v6();
    let lab = Lab::up(spec).await.unwrap();
    let state = lab.state();

    let db = dir.path().join("history.db");
    let port = free_port();
    let log = dir.path().join("agent.log");
    let mut cmd = Command::new(VIGIA);
    cmd.args(["agent", "--inventory"])
        .arg(&inv_dir)
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--agent-id", "lab-test"])
        .arg("--reload-token-file")
        .arg(token_file(dir.path()))
        .env("VIGIA_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in SECRETS {
        cmd.env(k, v);
    }
    let started = Utc::now() - TimeDelta::seconds(1);
    let mut agent = AgentProcess { child: cmd.spawn().unwrap(), port };
    let client = reqwest::Client::new();
    let up = |device: &'static str, family: &'static str| {
        move |t: &str| {
            samples(
                t,
                "vigia_device_up",
                &[("device", device), ("family", family), ("probe", "icmp")],
            ) == [1.0]
        }
    };

    // Everything answers, over both families where the device has them, and SNMP too.
    wait_metrics(&client, &agent, Duration::from_secs(30), "every device up", |t| {
        up("srv-a", "ipv4")(t)
            && up("srv-a", "ipv6")(t)
            && up("sw-grau", "ipv4")(t)
            && up("sw-grau", "ipv6")(t)
            && up("sw-teatro", "ipv4")(t)
            && samples(t, "vigia_device_up", &[("device", "sw-grau"), ("probe", "snmp")])
                == [1.0, 1.0]
            && samples(t, "vigia_site_up", &[("site", "grau")]) == [1.0]
    })
    .await;

    // The exposition: promtool finds nothing to say; Prometheus gets OpenMetrics.
    let text = get(&client, &agent.url("/metrics")).await;
    promtool_check(&text);
    // The agent counts its own work, per family: polls, the echoes sent and answered, the SNMP
    // requests sent and the varbinds they brought back (one system group alone is six).
    let total = |name: &str, labels: &[(&str, &str)]| samples(&text, name, labels).iter().sum();
    for family in ["ipv4", "ipv6"] {
        let f = [("family", family)];
        let snmp_polls: f64 = total("vigia_polls_total", &[("probe", "snmp"), f[0]]);
        let (sent, replies): (f64, f64) =
            (total("vigia_icmp_echoes_sent_total", &f), total("vigia_icmp_echo_replies_total", &f));
        assert!(snmp_polls >= 1.0 && replies >= 1.0 && replies <= sent, "{family}:\n{text}");
        assert!(total("vigia_snmp_requests_sent_total", &f) >= snmp_polls, "{family}:\n{text}");
        assert!(total("vigia_snmp_varbinds_returned_total", &f) >= 6.0, "{family}:\n{text}");
        assert!(total("vigia_snmp_poll_seconds_total", &f) > 0.0, "{family}:\n{text}");
    }
    let om = client
        .get(agent.url("/metrics"))
        .header("Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(
        om.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text")
    );
    assert!(om.text().await.unwrap().ends_with("# EOF\n"));
    assert_eq!(get(&client, &agent.url("/healthz")).await, "ok\n");
    let devices: serde_json::Value =
        serde_json::from_str(&get(&client, &agent.url("/api/devices")).await).unwrap();
    assert_eq!(devices.as_array().unwrap().len(), 4, "{devices}");

    // What sw-grau says about itself (the lab serves its inventory entry's ENTITY chassis row
    // and Cisco's sysObjectID) agrees with the inventory.
    let grau = wait_identity(&client, &agent, "FOC0000A001").await;
    assert_eq!(grau["verdict"], "match", "{grau}");
    assert_eq!(grau["reported"]["vendor"]["value"], "Cisco", "{grau}");
    assert_eq!(grau["reported"]["model"]["value"], "WS-C2960X-24PS-L", "{grau}");
    // The equipment is swapped while the agent runs: another serial and model.
    let mut swapped = inv.device("sw-grau").unwrap().clone();
    swapped.serial = Some("FOC0000B002".into());
    swapped.model = Some("WS-C2960X-48TS-L".into());
    lab.serve("sw-grau", &lab_twin::identity(&swapped).1).await.unwrap();
    let grau = wait_identity(&client, &agent, "FOC0000B002").await;
    assert_eq!(grau["verdict"], "mismatch", "the inventory still declares the old one: {grau}");
    assert_eq!(grau["reported"]["model"]["value"], "WS-C2960X-48TS-L", "{grau}");

    // Down within two intervals, with the site isolated (sw-grau is its uplink).
    lab.cut("sw-grau").await.unwrap();
    let bound = ICMP_INTERVAL * 2 + Duration::from_secs(2);
    let (_, took) = wait_metrics(&client, &agent, bound, "sw-grau down", |t| {
        samples(
            t,
            "vigia_device_up",
            &[("device", "sw-grau"), ("family", "ipv4"), ("probe", "icmp")],
        ) == [0.0]
            && samples(t, "vigia_site_up", &[("site", "grau")]) == [0.0]
    })
    .await;
    eprintln!("sw-grau seen down {took:?} after the cut");
    lab.restore("sw-grau").await.unwrap();
    // Backoff after a few failures stretches the interval up to four times. Every probe over
    // every family must be back before the events are counted below (each down has its up):
    // under load SNMP, on its longer interval, comes back after ICMP.
    let bound = ICMP_INTERVAL.max(SNMP_INTERVAL) * 4 + Duration::from_secs(4);
    wait_metrics(&client, &agent, bound, "sw-grau up", |t| {
        let ups = samples(t, "vigia_device_up", &[("device", "sw-grau")]);
        ups.len() >= 2
            && ups.iter().all(|v| *v == 1.0)
            && samples(t, "vigia_site_up", &[("site", "grau")]) == [1.0]
    })
    .await;

    // A reload that removes a device removes its series at the next scrape.
    assert!(get(&client, &agent.url("/metrics")).await.contains("device=\"sw-extra\""));
    std::fs::write(&inv_file, inventory(&block, false)).unwrap();
    // Reload over HTTP needs the token, and is refused from another origin (a web page's
    // cross-site POST): nothing is reloaded.
    let r = client.post(agent.url("/-/reload")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client.post(agent.url("/-/reload")).bearer_auth("wrong-token-of-some-length").send();
    assert_eq!(r.await.unwrap().status(), 401);
    let cross = client
        .post(agent.url("/-/reload"))
        .bearer_auth(RELOAD_TOKEN)
        .header("Origin", "http://attacker.example")
        .header("Content-Type", "text/plain")
        .send();
    assert_eq!(cross.await.unwrap().status(), 403);
    assert!(get(&client, &agent.url("/metrics")).await.contains("device=\"sw-extra\""));
    let r = client.post(agent.url("/-/reload")).bearer_auth(RELOAD_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // One a second at most.
    let again = client.post(agent.url("/-/reload")).bearer_auth(RELOAD_TOKEN).send();
    assert_eq!(again.await.unwrap().status(), 429);
    tokio::time::sleep(vigia::http::RELOAD_EVERY).await;
    let text = get(&client, &agent.url("/metrics")).await;
    assert!(!text.contains("device=\"sw-extra\""), "{text}");
    assert_eq!(samples(&text, "vigia_inventory_reload_failed", &[]), [0.0]);

    // An invalid reload keeps the old inventory, says where and what, and shows in the metrics.
    std::fs::write(&inv_file, inventory(&block, false) + "hosts: []\n").unwrap();
    let r = client.post(agent.url("/-/reload")).bearer_auth(RELOAD_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("inventory.yaml:") && body.contains("unknown field \"hosts\""), "{body}");
    let text = get(&client, &agent.url("/metrics")).await;
    assert_eq!(samples(&text, "vigia_inventory_reload_failed", &[]), [1.0]);
    assert!(up("sw-grau", "ipv4")(&text), "still polling on the old inventory:\n{text}");

    // SIGHUP reloads too: the fixed file clears the failure.
    std::fs::write(&inv_file, inventory(&block, false)).unwrap();
    agent.signal(libc::SIGHUP);
    wait_metrics(&client, &agent, Duration::from_secs(10), "reload by SIGHUP", |t| {
        samples(t, "vigia_inventory_reload_failed", &[]) == [0.0]
    })
    .await;

    // SIGTERM: exit 0, and every row the agent reported is in the store.
    agent.signal(libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = agent.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the agent did not stop within 20 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut logged = String::new();
    std::fs::File::open(&log).unwrap().read_to_string(&mut logged).unwrap();
    assert!(status.success(), "exit {status:?}:\n{logged}");
    let flushed = logged.lines().find(|l| l.contains("history flushed")).expect(&logged);
    let field = |name: &str| -> usize {
        let rest = flushed.split(&format!("{name}=")).nth(1).expect(flushed);
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    let (polls, events) = (field("polls"), field("events"));

    let store = Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let ended = Utc::now() + TimeDelta::seconds(1);
    let mut stored = 0;
    for d in ["srv-a", "sw-grau", "sw-teatro", "sw-extra"] {
        stored += store.polls(d, started, ended).await.unwrap().len();
    }
    assert_eq!(stored, polls, "polls reported by the agent vs stored");
    let stored_events = store.events(started, ended).await.unwrap();
    assert_eq!(stored_events.len(), events, "{stored_events:#?}");
    let mut kinds: HashMap<(EventKind, Option<String>), usize> = HashMap::new();
    for e in &stored_events {
        *kinds
            .entry((e.kind, e.device.as_deref().or(e.site.as_deref()).map(str::to_owned)))
            .or_default() += 1;
    }
    let count =
        |k: EventKind, who: &str| kinds.get(&(k, Some(who.to_owned()))).copied().unwrap_or(0);
    // Down and up, ICMP over both families at least.
    assert!(count(EventKind::DeviceDown, "sw-grau") >= 2, "{kinds:?}");
    assert_eq!(
        count(EventKind::DeviceDown, "sw-grau"),
        count(EventKind::DeviceUp, "sw-grau"),
        "{kinds:?}"
    );
    assert_eq!(
        (count(EventKind::SiteIsolated, "grau"), count(EventKind::SiteRestored, "grau")),
        (1, 1)
    );
    let global = |k: EventKind| stored_events.iter().filter(|e| e.kind == k).count();
    // Start, the reload that removed sw-extra (the SIGHUP reload restored the same content).
    assert_eq!(global(EventKind::InventoryChanged), 2, "{stored_events:#?}");
    assert_eq!(global(EventKind::InventoryReloadFailed), 1);
    // One replacement, however many polls and families saw the new serial.
    let replaced: Vec<_> =
        stored_events.iter().filter(|e| e.kind == EventKind::DeviceReplaced).collect();
    assert_eq!(replaced.len(), 1, "{replaced:#?}");
    assert_eq!(replaced[0].device.as_deref(), Some("sw-grau"));
    assert_eq!(
        replaced[0].detail,
        "serial \"FOC0000A001\" (model \"WS-C2960X-24PS-L\") is now serial \"FOC0000B002\" \
         (model \"WS-C2960X-48TS-L\"): the equipment was replaced"
    );
    assert_eq!(global(EventKind::ModelChanged), 0, "the model changed with the serial");
    // The history keeps both serials' runs, and the inventory report reads them back.
    let facts = store.facts().await.unwrap();
    let serials: Vec<&str> = facts
        .iter()
        .filter(|f| f.device == "sw-grau" && f.fact == vigia::poll::Fact::Serial)
        .map(|f| f.value.as_str())
        .collect();
    assert_eq!(serials, ["FOC0000A001", "FOC0000B002"]);
    let history = vigia::history::History { facts, ..Default::default() };
    let as_of = vigia::history::AsOf::at(ended);
    let (now_inv, _) = vigia::inventory::load(&inv_dir, Secrets::Require).unwrap();
    let check = vigia::discovered::analyse(&now_inv, &history, as_of);
    assert_eq!(check.replacements.len(), 1);
    let verdict = |id: &str| check.devices.iter().find(|d| d.device == id).unwrap().verdict;
    assert_eq!(verdict("sw-grau"), vigia::discovered::Verdict::Mismatch);
    // sw-teatro is polled over v2c and declares nothing; the lab serves it no ENTITY row and
    // net-snmp's own sysObjectID names software, not a maker: no data either side.
    assert_eq!(verdict("sw-teatro"), vigia::discovered::Verdict::NoData);
    // The same through the command line: `vigia report inventory` on the agent's store, in
    // JSON, and the Spanish Markdown's verdict and replacement.
    let report = |format: &str| {
        let out = Command::new(VIGIA)
            .args(["report", "inventory", "--format", format, "--inventory"])
            .arg(&inv_dir)
            .arg("--db")
            .arg(format!("sqlite://{}", db.display()))
            .envs(SECRETS)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&report("json")).unwrap();
    assert_eq!(json["schema"], "vigia.inventory/1");
    let grau = json["devices"].as_array().unwrap().iter().find(|d| d["device"] == "sw-grau");
    assert_eq!(grau.unwrap()["verdict"], "mismatch", "{json}");
    assert_eq!(json["replacements"][0]["new_serial"], "FOC0000B002", "{json}");
    let md = report("md");
    assert!(md.contains("| discrepancia |") && md.contains("| FOC0000A001 |"), "{md}");

    lab.down().await.unwrap();
    assert_nothing_of(&state);
    drop(block);
    let _ = Path::new(&db);
}

/// sw-grau's `identity` in /api/devices once it reports `serial` (within a bound).
async fn wait_identity(
    client: &reqwest::Client,
    agent: &AgentProcess,
    serial: &str,
) -> serde_json::Value {
    let deadline = Instant::now() + SNMP_INTERVAL * 4 + Duration::from_secs(10);
    loop {
        let devices: serde_json::Value =
            serde_json::from_str(&get(client, &agent.url("/api/devices")).await).unwrap();
        let grau = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == "sw-grau")
            .expect("sw-grau listed")["identity"]
            .clone();
        if grau["reported"]["serial"]["value"] == serial {
            return grau;
        }
        assert!(Instant::now() < deadline, "sw-grau never reported serial {serial}: {grau}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// None of the lab's namespaces remain.
fn assert_nothing_of(state: &vigia_lab::state::LabState) {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    for ns in &state.namespaces {
        assert!(
            !list.lines().any(|l| l.split_whitespace().next() == Some(ns)),
            "namespace {ns} remains"
        );
    }
}

/// The agent's reload token (a test value).
const RELOAD_TOKEN: &str = "agent-lab-reload-token";

/// A reload token file, mode 600, in `dir`.
fn token_file(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("reload-token");
    std::fs::write(&path, format!("{RELOAD_TOKEN}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}
