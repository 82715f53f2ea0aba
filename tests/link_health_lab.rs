//! Link health against a lab (issue 15): real snmpd agents in namespaces this test creates
//! serve a radio vendor's tables through `pass_persist`, with values the test changes while
//! `vigia agent` runs; the test reads /metrics and /api/devices and compares them with what the
//! lab was set to.
//!
//! Proves: a Ubiquiti airMAX radio recorded as a *switch* is read from its sysObjectID alone
//! (signal, noise, SNR, CCQ, rates, the remote station's MAC); a MikroTik station of class radio
//! from its registration table; a signal that degrades below the inventory's threshold crosses
//! it in the exported figures the alert rule compares (vigia_radio_signal_dbm against
//! vigia_policy_radio_min_signal_dbm); a reading of the wrong SNMP type and an impossible one
//! (signal above 0 dBm) are exported as unusable, never as numbers; the remote station's name
//! is cleaned of control characters; a Cisco switch's transceiver power (ENTITY-SENSOR-MIB, in
//! dBm and in watts) with its low-alarm threshold (CISCO-ENTITY-SENSOR-MIB) gives the margin
//! the optics rule compares with the policy's 3 dB, and that margin follows the fading light;
//! a sensor reporting +25 dBm is unusable; on an agent without any of these tables each walk
//! costs one request and reads nothing of the MIBs after it.
//!
//! Needs root, /dev/net/tun, iproute2 and snmpd (`scripts/deps test`); without them it fails
//! saying what is missing.

// Tests read the clock for deadlines (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]
// Setting the environment (unsafe since Rust 2024) before any thread reads it.
#![allow(unsafe_code)]

use std::process::{Command, Stdio};
use std::time::Duration;

#[allow(dead_code)] // the binary's conversion; these tests use part of it
#[path = "../src/lab_twin.rs"]
mod lab_twin;

use chrono::Utc;
use vigia::inventory::Secrets;
use vigia_lab::Lab;
use vigia_lab::block::AddressBlock;

#[allow(dead_code)] // shared with tests/e2e_prometheus.rs; this test uses part of it
#[path = "e2e/link_tables.rs"]
mod link_tables;
use link_tables::{airmax, rtab, transceivers};

const VIGIA: &str = env!("CARGO_BIN_EXE_vigia");

fn inventory(block: &AddressBlock) -> String {
    format!(
        r#"sites:
  - {{ id: main, name: Sede Principal, role: main }}
  - {{ id: teatro, name: Teatro Municipal, role: branch, link: radio }}
snmp_profiles:
  v2c: {{ version: "2c", community_env: VIGIA_RADIO_COMMUNITY }}
defaults:
  snmp: v2c
  poll: {{ icmp_interval: 2s, snmp_interval: 3s, timeout: 1s, retries: 0, icmp_count: 1 }}
policy:
  radio: {{ min_signal_dbm: -72, min_snr_db: 18 }}
devices:
  - {{ id: radio-teatro, site: teatro, class: switch, vendor: Ubiquiti, ipv4: {} }}
  - {{ id: radio-main, site: main, class: radio, vendor: MikroTik, ipv4: {} }}
  - {{ id: sw-main, site: main, class: switch, vendor: Cisco, ipv4: {} }}
"#,
        block.v4(10),
        block.v4(11),
        block.v4(12),
    )
}

#[path = "support/agent.rs"]
mod agent;
use agent::{AgentProcess, samples, wait_metrics};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn radio_and_optics_readings_follow_the_lab_and_unusable_ones_are_never_numbers() {
    vigia_lab::check_prerequisites().unwrap_or_else(|e| panic!("needs the lab: {e}"));
    let block = AddressBlock::claim().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv_dir = dir.path().join("inventory");
    std::fs::create_dir(&inv_dir).unwrap();
    std::fs::write(inv_dir.join("inventory.yaml"), inventory(&block)).unwrap();
    let secret = ("VIGIA_RADIO_COMMUNITY", "radio-lab-community");
    // SAFETY: set before any thread of this test reads the environment for this name.
    unsafe { std::env::set_var(secret.0, secret.1) };
    let (inv, _) = vigia::inventory::load(&inv_dir, Secrets::Require).unwrap();
    assert_eq!(inv.policy.links.radio_min_signal_dbm, -72.0);
    let name = format!("rl{}", std::process::id());
    let mut spec = lab_twin::spec_from_inventory(&inv, &name, Utc::now().date_naive()).unwrap();
    spec.host_v4 = block.host_v4();
    spec.host_v6 = block.host_v6();
    for d in &mut spec.devices {
        let agent = d.agent.as_mut().expect("both devices have SNMP");
        // The vendor's enterprise number (from the inventory's vendor) is all vigia goes by.
        match d.id.as_str() {
            "radio-teatro" => {
                assert_eq!(agent.sys_object_id.as_deref(), Some(".1.3.6.1.4.1.41112"));
                agent.served = airmax(-62);
            }
            "radio-main" => {
                assert_eq!(agent.sys_object_id.as_deref(), Some(".1.3.6.1.4.1.14988"));
                agent.served = rtab(-66);
            }
            "sw-main" => {
                assert_eq!(agent.sys_object_id.as_deref(), Some(".1.3.6.1.4.1.9"));
                agent.served = transceivers(-82);
            }
            other => panic!("unexpected lab device {other}"),
        }
    }
    let lab = Lab::up(spec).await.unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new(VIGIA);
    cmd.args(["agent", "--inventory"])
        .arg(&inv_dir)
        .arg("--db")
        .arg(format!("sqlite://{}", dir.path().join("history.db").display()))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--agent-id", "radio-lab"])
        .env(secret.0, secret.1)
        .env("VIGIA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("agent.log")).unwrap());
    let agent = AgentProcess { child: cmd.spawn().unwrap(), port };
    let client = reqwest::Client::new();
    let within = Duration::from_secs(40);
    let teatro = [("device", "radio-teatro"), ("table", "ubnt_airmax"), ("station", "1")];
    let station = "76.94.12.1.2.3.7";
    let main = [("device", "radio-main"), ("table", "mikrotik_rtab"), ("station", station)];

    // The airMAX radio, recorded as a switch, is read from its vendor's table.
    let (text, _) = wait_metrics(&client, &agent, within, "both radios read", |t| {
        samples(t, "vigia_radio_signal_dbm", &teatro) == [-62.0]
            && samples(t, "vigia_radio_signal_dbm", &main) == [-66.0]
    })
    .await;
    assert_eq!(samples(&text, "vigia_radio_noise_dbm", &teatro), [-95.0]);
    assert_eq!(samples(&text, "vigia_radio_snr_db", &teatro), [33.0], "-62 - -95");
    assert_eq!(samples(&text, "vigia_radio_ccq_ratio", &teatro), [0.9]);
    // 130,000 kbit/s = 16,250,000 bytes/s.
    assert_eq!(samples(&text, "vigia_radio_tx_rate_bytes_per_second", &teatro), [16_250_000.0]);
    assert_eq!(samples(&text, "vigia_radio_rx_rate_bytes_per_second", &teatro), [14_625_000.0]);
    let remote = [teatro[0], ("remote", "24:a4:3c:0a:0b:0c")];
    assert_eq!(samples(&text, "vigia_radio_remote_info", &remote), [1.0], "{text}");
    assert_eq!(samples(&text, "vigia_policy_radio_min_signal_dbm", &[]), [-72.0]);
    assert_eq!(samples(&text, "vigia_policy_radio_min_snr_db", &[]), [18.0]);
    // The MikroTik station: its own SNR, the TX rate it sent as Gauge32; the RX rate came as
    // a string: unusable, and no number for it.
    assert_eq!(samples(&text, "vigia_radio_snr_db", &main), [25.0]);
    assert_eq!(samples(&text, "vigia_radio_tx_rate_bytes_per_second", &main), [6_750_000.0]);
    assert!(samples(&text, "vigia_radio_rx_rate_bytes_per_second", &main).is_empty(), "{text}");
    let unusable = |t: &str, reading: &str| {
        samples(t, "vigia_radio_unusable_readings", &[main[0], main[2], ("reading", reading)])
    };
    assert_eq!(unusable(&text, "rx_rate_bps"), [1.0], "{text}");
    assert!(unusable(&text, "signal_dbm").is_empty());
    let name = [main[0], ("remote", "Torre\u{FFFD}[2J norte")];
    assert_eq!(samples(&text, "vigia_radio_remote_info", &name), [1.0], "{text}");

    // The airMAX signal fades below the inventory's -72 dBm while the agent runs; the MikroTik
    // reports +12 dBm, which no receiver can: unusable, its last number gone.
    lab.serve("radio-teatro", &airmax(-79)).await.unwrap();
    lab.serve("radio-main", &rtab(12)).await.unwrap();
    let (text, _) =
        wait_metrics(&client, &agent, within, "the fade and the impossible signal", |t| {
            samples(t, "vigia_radio_signal_dbm", &teatro) == [-79.0]
                && unusable(t, "signal_dbm") == [1.0]
        })
        .await;
    let threshold = samples(&text, "vigia_policy_radio_min_signal_dbm", &[])[0];
    assert!(samples(&text, "vigia_radio_signal_dbm", &teatro)[0] < threshold, "the rule's input");
    assert_eq!(samples(&text, "vigia_radio_snr_db", &teatro), [16.0], "below min_snr_db 18");
    assert!(samples(&text, "vigia_radio_signal_dbm", &main).is_empty(), "{text}");

    // The switch's transceivers: -8.2 dBm received, 5.7 dB above the critical low alarm.
    let rx = [("device", "sw-main"), ("sensor", "Te1/1/1 Receive Power Sensor")];
    let (text, _) = wait_metrics(&client, &agent, within, "the transceivers", |t| {
        samples(t, "vigia_optics_rx_power_dbm", &rx) == [-8.2]
    })
    .await;
    assert_eq!(samples(&text, "vigia_optics_rx_low_alarm_dbm", &rx), [-13.9], "{text}");
    assert_eq!(samples(&text, "vigia_optics_rx_margin_db", &rx), [5.7]);
    let tx = [("device", "sw-main"), ("sensor", "Te1/1/1 Transmit Power Sensor")];
    assert_eq!(samples(&text, "vigia_optics_tx_power_dbm", &tx), [-2.9999], "501.2 uW");
    let bad = [("device", "sw-main"), ("sensor", "Te1/1/2 Receive Power Sensor")];
    assert!(samples(&text, "vigia_optics_rx_power_dbm", &bad).is_empty(), "+25 dBm: {text}");
    assert_eq!(samples(&text, "vigia_optics_unusable_readings", &bad), [1.0]);
    assert!(!text.contains("Temperature Sensor"), "a temperature is not optical power");
    assert_eq!(samples(&text, "vigia_policy_optics_min_margin_db", &[]), [3.0], "the default");
    // Neither radio is a switch of Cisco's, nor has optics: nothing of theirs is exported.
    assert!(samples(&text, "vigia_optics_rx_power_dbm", &[teatro[0]]).is_empty());
    // The light fades to -11.2 dBm: 2.7 dB above the alarm, under the policy's 3 dB.
    lab.serve("sw-main", &transceivers(-112)).await.unwrap();
    let (text, _) = wait_metrics(&client, &agent, within, "the faded transceiver", |t| {
        samples(t, "vigia_optics_rx_power_dbm", &rx) == [-11.2]
    })
    .await;
    let margin = samples(&text, "vigia_optics_rx_margin_db", &rx);
    assert_eq!(margin, [2.7]);
    assert!(margin[0] < samples(&text, "vigia_policy_optics_min_margin_db", &[])[0]);

    // /api/devices shows the same readings, the unusable one as such.
    let url = format!("http://127.0.0.1:{port}/api/devices");
    let devices: serde_json::Value =
        serde_json::from_str(&client.get(&url).send().await.unwrap().text().await.unwrap())
            .unwrap();
    let radio = |id: &str| {
        devices.as_array().unwrap().iter().find(|d| d["id"] == id).unwrap()["radio"][0].clone()
    };
    let reading = |link: &serde_json::Value, r: &str| {
        link["readings"].as_array().unwrap().iter().find(|x| x[0] == r).map(|x| x[1].clone())
    };
    let t = radio("radio-teatro");
    assert_eq!(t["remote"], "24:a4:3c:0a:0b:0c", "{t}");
    assert_eq!(reading(&t, "signal_dbm"), Some(serde_json::json!({ "value": -79.0 })), "{t}");
    let m = radio("radio-main");
    assert_eq!(reading(&m, "signal_dbm"), Some(serde_json::json!("unusable")), "{m}");
    assert_eq!(reading(&m, "rx_rate_bps"), Some(serde_json::json!("unusable")), "{m}");
    let sw = devices.as_array().unwrap().iter().find(|d| d["id"] == "sw-main").unwrap();
    let optics = sw["optics"].as_array().unwrap();
    assert_eq!(optics.len(), 3, "{sw}");
    assert_eq!(optics[0]["power"], serde_json::json!({ "value": -11.2 }), "{sw}");
    assert_eq!(optics[0]["low_alarm_dbm"], -13.9, "{sw}");
    assert_eq!(optics[2]["power"], "unusable", "{sw}");
    drop(agent);
    drop(lab);
    drop(block);
}

#[path = "support/snmpd.rs"]
mod snmpd;

/// On an agent with none of the link health tables (net-snmp's own), asking for every radio
/// table and for optics costs one request each: every walk ends at the first object past its
/// table and nothing is read from the MIBs that follow.
#[tokio::test]
async fn an_agent_without_the_tables_costs_one_request_per_table_and_reports_nothing() {
    use vigia::probe::snmp::{Credentials, SnmpTarget, poll};
    use vigia::probe::{RadioQuery, SnmpQuery};
    let agent = snmpd::Snmpd::start("rocommunity public 127.0.0.1\n");
    let target = SnmpTarget {
        address: agent.v4().ip(),
        port: agent.v4().port(),
        credentials: Credentials::V2c { community: "public".into() },
        timeout: Duration::from_secs(2),
        retries: 1,
        deadline: Duration::from_secs(60),
    };
    let q = |radio, optics| SnmpQuery {
        system: true,
        interfaces: false,
        entity: false,
        host_resources: false,
        radio,
        optics,
    };
    let base = poll(&target, q(RadioQuery::No, false)).await;
    let r = poll(&target, q(RadioQuery::All, true)).await;
    assert!(r.ok() && base.ok(), "{r:#?}");
    assert!(r.radio.is_empty() && r.optics.is_empty(), "{r:#?}");
    assert_eq!(r.detail, None, "{r:#?}");
    // The three radio tables and the optics probe: one request each beyond the system GET.
    let tables = vigia::poll::radio::TABLES.len() as u32;
    assert_eq!(
        r.cost.requests - r.cost.retries,
        base.cost.requests - base.cost.retries + tables + 1
    );
    // net-snmp's sysObjectID (8072) names no radio vendor: ByVendor walks nothing.
    let r = poll(&target, q(RadioQuery::ByVendor, false)).await;
    assert_eq!(r.cost.requests - r.cost.retries, base.cost.requests - base.cost.retries);
}
