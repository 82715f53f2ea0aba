//! `vigia report availability` over a real SQLite store holding one local day of polls with
//! outages of known length, a maintenance window and a device polled half the day: every figure
//! is computed by hand below and compared with what the binary prints (JSON, Markdown, CSV,
//! XLSX, both languages). `vigia events` reads the same store's events, filtered.

use std::io::Cursor;
use std::process::Command;

use calamine::{DataType, Reader, Xlsx};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::Value;
use vigia::history::{EventKind, EventRecord, PollRecord};
use vigia::inventory::Family;
use vigia::outage::Cause;
use vigia::poll::{PollOutcome, ProbeKind, SystemInfo};
use vigia::store::Store;

/// The inventory: the main site decided by its router, a fibre branch (switch and access point)
/// and a radio branch, a camera in the data centre, one minute per ICMP cycle, Lima time, and
/// planned work at the radio branch from 20:00 to 22:00.
const INVENTORY: &str = r#"
defaults:
  time_zone: America/Lima
  poll: { icmp_interval: 60s, snmp_interval: 5m, timeout: 2s }
sites:
  - { id: main, name: Sede Principal, role: main }
  - { id: grau, name: Mercado Grau, role: branch, link: fibre }
  - { id: teatro, name: Teatro Municipal, role: branch, link: radio }
devices:
  - { id: rt-core, site: main, class: router, ipv4: 198.18.0.1, snmp: false, uplink: true }
  - { id: cam-main, site: main, class: other, ipv4: 198.18.0.2, snmp: false }
  - { id: sw-grau, site: grau, class: switch, ipv4: 198.18.1.1, snmp: false, uplink: true }
  - { id: ap-grau, site: grau, class: access_point, ipv4: 198.18.1.2, snmp: false }
  - { id: sw-teatro, site: teatro, class: switch, ipv4: 198.18.2.1, snmp: false, uplink: true }
maintenance:
  - { id: obra-teatro, scope: { site: teatro }, start: 2026-11-10 20:00, end: 2026-11-10 22:00, reason: Cambio de antena }
"#;

/// Local midnight of 2026-11-10 in Lima (UTC-5).
fn midnight() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 10, 5, 0, 0).unwrap()
}

/// The poll of minute `m` of the day (10 s into the cycle).
fn poll(device: &str, site: &str, m: i64, ok: bool) -> PollRecord {
    PollRecord {
        at: midnight() + TimeDelta::seconds(m * 60 + 10),
        agent: "a".into(),
        device: device.into(),
        site: site.into(),
        family: Family::Ipv4,
        probe: ProbeKind::Icmp,
        outcome: if ok { PollOutcome::Ok } else { PollOutcome::Timeout },
        success: ok,
        sent: Some(3),
        received: Some(if ok { 3 } else { 0 }),
        rtt_min_s: None,
        rtt_avg_s: None,
        rtt_max_s: None,
        jitter_s: None,
        duration_s: 0.5,
        system: SystemInfo::default(),
    }
}

/// Minutes of the day: 10:00-10:30 the fibre branch's link is cut (its two devices), 14:00-14:05
/// the main router is down (everything behind it too), 20:00-21:00 the radio branch is down
/// inside its maintenance; the camera is polled from 12:00 only.
fn history() -> Vec<PollRecord> {
    let grau_cut = 600..630;
    let core_down = 840..845;
    let teatro_work = 1200..1260;
    let mut rows = Vec::new();
    for m in 0..1440 {
        let core = !core_down.contains(&m);
        rows.push(poll("rt-core", "main", m, core));
        if m >= 720 {
            rows.push(poll("cam-main", "main", m, core));
        }
        let grau = core && !grau_cut.contains(&m);
        rows.push(poll("sw-grau", "grau", m, grau));
        rows.push(poll("ap-grau", "grau", m, grau));
        rows.push(poll("sw-teatro", "teatro", m, core && !teatro_work.contains(&m)));
    }
    rows
}

struct Fixture {
    _tmp: tempfile::TempDir,
    inv: String,
    db: String,
}

fn fixture() -> Fixture {
    let tmp = tempfile::Builder::new().prefix("vigia-availability-").tempdir().unwrap();
    let inv = tmp.path().join("inventory");
    std::fs::create_dir(&inv).unwrap();
    std::fs::write(inv.join("inventory.yaml"), INVENTORY).unwrap();
    let db = format!("sqlite://{}", tmp.path().join("vigia.db").display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::connect(&db).await.unwrap();
        store.insert_polls(&history()).await.unwrap();
        store.close().await;
    });
    Fixture { inv: inv.display().to_string(), db, _tmp: tmp }
}

fn report(f: &Fixture, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["report", "availability", "--inventory", &f.inv, "--db", &f.db];
    args.extend(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_vigia")).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "vigia {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

const DAY: [&str; 4] = ["--from", "2026-11-10", "--to", "2026-11-10"];

fn figure(v: &Value) -> (u64, u64, u64, u64, Option<f64>) {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    (n("expected"), n("polled"), n("up"), n("maintenance"), v["availability"].as_f64())
}

fn find<'a>(list: &'a Value, key: &str, id: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|x| x[key] == id).unwrap_or_else(|| panic!("{id}"))
}

#[test]
fn a_day_with_known_outages_equals_the_hand_computation() {
    let f = fixture();
    let v: Value =
        serde_json::from_slice(&report(&f, &[&DAY[..], &["--format", "json"]].concat())).unwrap();
    assert_eq!(v["schema"], "vigia.availability/1");
    assert_eq!(v["period"]["from"], "2026-11-10T05:00:00Z");
    assert_eq!(v["period"]["to"], "2026-11-11T05:00:00Z");
    assert_eq!(v["period"]["time_zone"], "America/Lima");
    assert_eq!(v["cycle_s"], 60);
    assert_eq!(v["cycles"], 1440);

    // main: decided by rt-core, down 5 minutes.
    assert_eq!(
        figure(find(&v["sites"], "site", "main")),
        (1440, 1440, 1435, 0, Some(1435.0 / 1440.0))
    );
    // grau: its link 30 minutes, the core 5.
    let grau = (1440, 1440, 1405, 0, Some(1405.0 / 1440.0));
    assert_eq!(figure(find(&v["sites"], "site", "grau")), grau);
    // teatro: 120 cycles of maintenance left out of both sides; the core's 5 minutes count.
    let teatro = (1320, 1320, 1315, 120, Some(1315.0 / 1320.0));
    assert_eq!(figure(find(&v["sites"], "site", "teatro")), teatro);
    // Media: one site each.
    assert_eq!(figure(&v["media"]["fibre"]), grau);
    assert_eq!(figure(&v["media"]["radio"]), teatro);

    // The camera was polled 720 of 1440 cycles: below 90 %, no figure, counts still there.
    assert_eq!(figure(find(&v["devices"], "device", "cam-main")), (1440, 720, 715, 0, None));
    let ap = find(&v["devices"], "device", "ap-grau");
    assert_eq!(figure(ap), grau);
    assert_eq!(figure(&ap["families"]["ipv4"]), grau);
    // IPv4 total: 1435 + 715 + 1405 + 1405 + 1315 answered of 1440 + 720 + 1440 + 1440 + 1320.
    // 6360 polled of 7080 expected is under 90 %: the total is not given either.
    assert_eq!(figure(&v["families"]["ipv4"]), (7080, 6360, 6275, 120, None));

    // Outages: sites first, by start; the cause of each.
    let outages: Vec<(String, String, String, String, String, bool)> = v["outages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["site"].as_str().unwrap().to_owned(),
                o["device"].as_str().unwrap_or("").to_owned(),
                o["start"].as_str().unwrap().to_owned(),
                o["end"].as_str().unwrap().to_owned(),
                o["cause"].as_str().unwrap().to_owned(),
                o["excluded"].as_bool().unwrap(),
            )
        })
        .collect();
    let o = |site: &str, dev: &str, s: &str, e: &str, cause: &str, excluded: bool| {
        (site.into(), dev.into(), s.into(), e.into(), cause.into(), excluded)
    };
    let want = vec![
        o("grau", "", "2026-11-10T15:00:00Z", "2026-11-10T15:30:00Z", "link", false),
        o("grau", "", "2026-11-10T19:00:00Z", "2026-11-10T19:05:00Z", "dependency", false),
        o("main", "", "2026-11-10T19:00:00Z", "2026-11-10T19:05:00Z", "link", false),
        o("teatro", "", "2026-11-10T19:00:00Z", "2026-11-10T19:05:00Z", "dependency", false),
        o("teatro", "", "2026-11-11T01:00:00Z", "2026-11-11T02:00:00Z", "link", true),
        o("grau", "ap-grau", "2026-11-10T15:00:00Z", "2026-11-10T15:30:00Z", "link", false),
        o("grau", "sw-grau", "2026-11-10T15:00:00Z", "2026-11-10T15:30:00Z", "link", false),
        o("grau", "ap-grau", "2026-11-10T19:00:00Z", "2026-11-10T19:05:00Z", "dependency", false),
        o("grau", "sw-grau", "2026-11-10T19:00:00Z", "2026-11-10T19:05:00Z", "dependency", false),
        o("main", "cam-main", "2026-11-10T19:00:00Z", "2026-11-10T19:05:00Z", "link", false),
        o("main", "rt-core", "2026-11-10T19:00:00Z", "2026-11-10T19:05:00Z", "link", false),
        o(
            "teatro",
            "sw-teatro",
            "2026-11-10T19:00:00Z",
            "2026-11-10T19:05:00Z",
            "dependency",
            false,
        ),
        o("teatro", "sw-teatro", "2026-11-11T01:00:00Z", "2026-11-11T02:00:00Z", "link", true),
    ];
    assert_eq!(outages, want);
    assert_eq!(v["maintenance"][0]["window"], "obra-teatro");
    assert_eq!(v["maintenance"][0]["start"], "2026-11-11T01:00:00Z");
    assert_eq!(v["maintenance"][0]["end"], "2026-11-11T03:00:00Z");
}

#[test]
fn markdown_csv_and_workbook_say_the_same_in_spanish_and_english() {
    let f = fixture();
    let md = String::from_utf8(report(&f, &DAY)).unwrap();
    for want in [
        "# Disponibilidad de la red: 2026-11-10 – 2026-11-10",
        "2026-11-10 00:00 – 2026-11-11 00:00 (America/Lima)",
        "| Mercado Grau |",
        "datos insuficientes",
        "| grau |  | 2026-11-10 10:00 | 2026-11-10 10:30 | 00:30:00 | el enlace de la sede | grau | 30 |",
        "| obra-teatro | sede teatro | Cambio de antena | 2026-11-10 20:00 | 2026-11-10 22:00 | 02:00:00 |",
        "## Mantenimiento excluido (1)",
    ] {
        assert!(md.contains(want), "missing {want:?} in:\n{md}");
    }
    let en = String::from_utf8(report(&f, &[&DAY[..], &["--lang", "en"]].concat())).unwrap();
    assert!(en.contains("# Network availability:") && en.contains("insufficient data"), "{en}");
    assert!(en.contains("the site's link"), "{en}");

    let csv = String::from_utf8(report(&f, &[&DAY[..], &["--format", "csv"]].concat())).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(lines[0].starts_with("Tipo,Id,Sede,Disponibilidad,Ciclos contados,"), "{}", lines[0]);
    assert!(
        lines.iter().any(|l| l.starts_with("sede,grau,grau,") && l.ends_with(",1440,1405,1440,0")),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("equipo,cam-main,main,datos insuficientes,720,715,1440,0")),
        "{csv}"
    );

    let bytes = report(&f, &[&DAY[..], &["--format", "xlsx"]].concat());
    let mut wb = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(
        wb.sheet_names(),
        ["Sedes", "Medios", "Familias", "Equipos", "Caídas", "Mantenimiento"].map(String::from)
    );
    let sites = wb.worksheet_range("Sedes").unwrap();
    let grau = sites.rows().find(|r| r[0] == "grau").unwrap();
    let ratio = grau[3].as_f64().unwrap();
    assert!((ratio - 1405.0 / 1440.0).abs() < 1e-12, "{ratio}");
    assert_eq!(wb.worksheet_range("Caídas").unwrap().height(), 1 + 13);
}

#[test]
fn a_period_is_checked() {
    let f = fixture();
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(["report", "availability", "--inventory", &f.inv, "--db", &f.db])
        .args(["--from", "2026-11-10", "--to", "2026-11-09"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--to 2026-11-09 is before --from 2026-11-10"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(["report", "availability", "--inventory", &f.inv, "--db", &f.db])
        .args(["--month", "2026-13"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a month YYYY-MM"));
}

fn event(m: i64, kind: EventKind, site: &str, device: Option<&str>) -> EventRecord {
    EventRecord {
        at: midnight() + TimeDelta::seconds(m * 60 + 10),
        agent: "a".into(),
        kind,
        device: device.map(Into::into),
        site: Some(site.into()),
        family: None,
        probe: device.map(|_| ProbeKind::Icmp),
        detail: String::new(),
        cause: Some(if site == "grau" { Cause::Link } else { Cause::Dependency }),
        maintenance: if site == "teatro" { vec!["obra-teatro".into()] } else { Vec::new() },
    }
}

fn events(f: &Fixture, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["events", "--inventory", &f.inv, "--db", &f.db];
    args.extend(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_vigia")).args(&args).output().unwrap();
    assert!(out.status.success(), "vigia {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn events_are_filtered_by_time_site_device_and_kind() {
    let f = fixture();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::connect(&f.db).await.unwrap();
        store
            .insert_events(&[
                event(600, EventKind::SiteIsolated, "grau", None),
                event(600, EventKind::DeviceDown, "grau", Some("sw-grau")),
                event(630, EventKind::SiteRestored, "grau", None),
                event(1200, EventKind::SiteIsolated, "teatro", None),
                // The next local day: outside a one-day range.
                event(1440 + 5, EventKind::SiteIsolated, "grau", None),
            ])
            .await
            .unwrap();
        store.close().await;
    });
    let json = |extra: &[&str]| -> Value {
        serde_json::from_slice(&events(&f, &[&DAY[..], extra, &["--format", "json"]].concat()))
            .unwrap()
    };
    let kinds = |v: &Value| -> Vec<String> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = json(&[]);
    assert_eq!(all["schema"], "vigia.events/1");
    assert_eq!(all["total"], 4);
    // Newest first.
    assert_eq!(kinds(&all), ["site_isolated", "site_restored", "device_down", "site_isolated"]);
    assert_eq!(all["events"][0]["maintenance"][0], "obra-teatro");
    let grau = json(&["--site", "grau"]);
    assert_eq!(kinds(&grau), ["site_restored", "device_down", "site_isolated"]);
    assert_eq!(grau["events"][2]["cause"], "link");
    assert_eq!(kinds(&json(&["--device", "sw-grau"])), ["device_down"]);
    assert_eq!(kinds(&json(&["--kind", "site_isolated", "--site", "grau"])), ["site_isolated"]);
    let limited = json(&["--limit", "1"]);
    assert_eq!((limited["total"].as_u64(), kinds(&limited).len()), (Some(4), 1));

    let table = String::from_utf8(events(&f, &[&DAY[..], &["--site", "teatro"]].concat())).unwrap();
    assert!(table.contains("1 en total, 1 mostrados"), "{table}");
    assert!(table.contains("2026-11-10 20:00:10") && table.contains("obra-teatro"), "{table}");
    assert!(table.contains("dependency"), "{table}");

    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(["events", "--inventory", &f.inv, "--db", &f.db, "--site", "graw"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--site \"graw\": no such site"));
}
