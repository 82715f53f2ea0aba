//! AE.7.03 and AE.7.04 pinned with hand-computed cases.

use std::collections::BTreeMap;

use super::*;
use crate::history::testkit::*;
use crate::inventory::DeviceClass::{Server, Switch};
use crate::inventory::LinkMedium::{Fibre, Radio};
use crate::inventory::{Indicator, Project};

/// No link (spelt apart so it does not shadow `None`).
const OFF: LinkMedium = LinkMedium::None;

fn project(id: &str, indicator: IndicatorId, status: ProjectStatus, on: Option<&str>) -> Project {
    Project {
        id: id.into(),
        indicator,
        name: format!("Proyecto {id}"),
        year: 2026,
        budget_pen: None,
        priority: None,
        status,
        implemented_on: on.map(day),
    }
}

fn indicator(id: IndicatorId, targets: &[(i32, f64)]) -> Indicator {
    Indicator {
        id,
        name: format!("Indicador {id}"),
        targets: targets.iter().copied().collect::<BTreeMap<_, _>>(),
        objective: Some("OEI.07".into()),
        action: None,
        formula: None,
        source: None,
        responsible: None,
        target_note: None,
    }
}

/// Sites: main, up (radio -> fibre in 2026), down (fibre -> radio in 2026), prev (radio -> fibre
/// in 2025), off (none all along). Devices: a polled switch renewed in 2026, a polled server,
/// an unmonitored server renewed in 2026, a switch retired in 2025.
fn inv() -> Inventory {
    let mut renewed = device("sw-new", "up", Switch);
    renewed.lifecycle.renewed = Some(day("2026-03-01"));
    renewed.lifecycle.replaces = Some("sw-old".into());
    let mut old = device("sw-old", "up", Switch);
    old.lifecycle.retired = Some(day("2025-12-31"));
    let mut unmonitored = device("srv-spare", "main", Server);
    unmonitored.monitor = false;
    unmonitored.lifecycle.renewed = Some(day("2026-11-30"));
    let mut inv = inventory(
        vec![
            site("main", None),
            site("up", Some(Fibre)),
            site("down", Some(Radio)),
            site("prev", Some(Fibre)),
            site("off", Some(OFF)),
        ],
        vec![renewed, old, device("srv-01", "main", Server), unmonitored],
    );
    inv.projects = vec![
        project("dec31", IndicatorId::Ae703, ProjectStatus::Implemented, Some("2026-12-31")),
        project("jan1", IndicatorId::Ae703, ProjectStatus::Implemented, Some("2027-01-01")),
        project("planned", IndicatorId::Ae703, ProjectStatus::Planned, None),
        project("ipv6", IndicatorId::Ae704, ProjectStatus::InProgress, None),
    ];
    inv.indicators = vec![
        indicator(IndicatorId::Ae703, &[(2026, 6.0)]),
        indicator(IndicatorId::Ae704, &[(2026, 1.0)]),
    ];
    inv
}

fn history() -> History {
    History {
        snapshots: vec![
            snapshot(
                "2025-06-01T10:00:00Z",
                &[
                    ("main", None),
                    ("up", Some(Radio)),
                    ("down", Some(Fibre)),
                    ("prev", Some(Radio)),
                    ("off", Some(OFF)),
                ],
            ),
            snapshot(
                "2025-09-01T10:00:00Z",
                &[
                    ("main", None),
                    ("up", Some(Radio)),
                    ("down", Some(Fibre)),
                    ("prev", Some(Fibre)),
                    ("off", Some(OFF)),
                ],
            ),
            snapshot(
                "2026-06-15T10:00:00Z",
                &[
                    ("main", None),
                    ("up", Some(Fibre)),
                    ("down", Some(Radio)),
                    ("prev", Some(Fibre)),
                    ("off", Some(OFF)),
                ],
            ),
        ],
        ..History::default()
    }
}

fn ids(upgrades: &[SiteUpgrade]) -> Vec<&str> {
    upgrades.iter().map(|u| u.site.as_str()).collect()
}

#[test]
fn an_upgrade_mid_year_counts_a_downgrade_and_last_years_upgrade_do_not() {
    let r = compute(&inv(), &history(), 2026, day("2026-12-31")).unwrap();
    let c = &r.ae703.components;
    assert_eq!(ids(&c.sites_improved), ["up"]);
    assert_eq!((c.sites_improved[0].from, c.sites_improved[0].to), (Radio, Fibre));
    assert_eq!(c.baseline.kind, BaselineKind::BeforePeriod);
    assert_eq!(c.baseline.start, Some(at("2025-09-01T10:00:00Z")));
    assert_eq!(c.baseline.end, Some(at("2026-06-15T10:00:00Z")));
}

#[test]
fn without_a_snapshot_before_the_year_the_first_one_in_it_is_the_baseline() {
    // 2025: no snapshot before it; the 1 June snapshot is the baseline, prev's upgrade on
    // 1 September counts.
    let r = compute(&inv(), &history(), 2025, day("2025-12-31")).unwrap();
    let c = &r.ae703.components;
    assert_eq!(c.baseline.kind, BaselineKind::FirstInPeriod);
    assert_eq!(ids(&c.sites_improved), ["prev"]);

    // Only one snapshot in the year: nothing can be proven upgraded.
    let mut h = history();
    h.snapshots.truncate(1);
    let r = compute(&inv(), &h, 2025, day("2025-12-31")).unwrap();
    assert!(r.ae703.components.sites_improved.is_empty());

    let r = compute(&inv(), &History::default(), 2026, day("2026-12-31")).unwrap();
    assert_eq!(r.ae703.components.baseline.kind, BaselineKind::None);
    assert!(r.ae703.components.sites_improved.is_empty());
}

#[test]
fn a_snapshot_after_the_as_of_day_is_not_read() {
    // As of 2026-06-14 the 15 June upgrade has not happened yet.
    let r = compute(&inv(), &history(), 2026, day("2026-06-14")).unwrap();
    assert!(r.ae703.components.sites_improved.is_empty());
    assert!(!r.period.complete);
}

#[test]
fn a_project_implemented_on_31_december_counts_for_that_year_and_1_january_for_the_next() {
    let y2026 = compute(&inv(), &History::default(), 2026, day("2026-12-31")).unwrap();
    assert_eq!(y2026.ae703.ficha.counted, ["dec31"]);
    assert_eq!(y2026.ae703.ficha.value, 1);
    assert_eq!(y2026.ae703.ficha.target, Some(6.0));
    let p = y2026.ae703.ficha.progress_percent.unwrap();
    assert!((p - 100.0 / 6.0).abs() < 1e-9);

    let y2027 = compute(&inv(), &History::default(), 2027, day("2027-12-31")).unwrap();
    assert_eq!(y2027.ae703.ficha.counted, ["jan1"]);
}

#[test]
fn an_indicator_with_no_target_for_the_year_says_so() {
    let r = compute(&inv(), &History::default(), 2027, day("2027-12-31")).unwrap();
    assert_eq!(r.ae703.ficha.target, None);
    assert_eq!(r.ae703.ficha.progress_percent, None);
    assert_eq!(r.ae704.ficha.target, None);
    let mut zero = inv();
    zero.indicators = vec![indicator(IndicatorId::Ae704, &[(2026, 0.0)])];
    let r = compute(&zero, &History::default(), 2026, day("2026-12-31")).unwrap();
    assert_eq!((r.ae704.ficha.target, r.ae704.ficha.progress_percent), (Some(0.0), None));
    assert_eq!(r.ae703.ficha.name, None, "AE.7.03 not defined in this inventory");
}

#[test]
fn renewed_devices_count_for_ae704_and_polled_ones_for_the_ae703_formula() {
    let r = compute(&inv(), &history(), 2026, day("2026-12-31")).unwrap();
    assert_eq!(r.ae704.ficha.counted, ["sw-new", "srv-spare"]);
    assert_eq!(r.ae704.ficha.value, 2);
    assert_eq!(r.ae704.ficha.progress_percent, Some(200.0));
    assert_eq!(r.ae704.renewed[0].replaces.as_deref(), Some("sw-old"));
    assert_eq!(r.ae704.projects[0].id, "ipv6");

    let c = &r.ae703.components;
    // Devices: sw-new and srv-01 (sw-old retired, srv-spare unmonitored); sites: 4 branches.
    assert_eq!(c.devices_evaluated, ["sw-new", "srv-01"]);
    assert_eq!(c.sites_evaluated, ["up", "down", "prev", "off"]);
    assert_eq!(
        c.devices_improved.iter().map(|d| d.device.as_str()).collect::<Vec<_>>(),
        ["sw-new"]
    );
    // 1 device + 1 site improved of 2 + 4 evaluated.
    assert_eq!((c.improved, c.evaluated), (2, 6));
    assert!((c.percent.unwrap() - 200.0 / 6.0).abs() < 1e-9);

    // Renewed in 2026-11-30, but as of 2026-06-30 that is still to come.
    let mid = compute(&inv(), &history(), 2026, day("2026-06-30")).unwrap();
    assert_eq!(mid.ae704.ficha.counted, ["sw-new"]);
}

#[test]
fn periods_and_bad_input() {
    assert_eq!(
        Period::of(2026, day("2025-12-31")),
        Err(IndicatorError::NotStarted { year: 2026, as_of: day("2025-12-31") })
    );
    let p = Period::of(2026, day("2030-01-01")).unwrap();
    assert_eq!((p.from, p.to, p.complete), (day("2026-01-01"), day("2026-12-31"), true));
    let mut h = history();
    h.snapshots[0].content = serde_json::json!({ "sites": "not a list" });
    let err = compute(&inv(), &h, 2026, day("2026-12-31")).unwrap_err();
    assert!(matches!(err, IndicatorError::Snapshot { ref agent, .. } if agent == "test"), "{err}");
}

#[test]
fn the_year_asked_defaults_to_this_one_counted_up_to_today() {
    let now = at("2026-06-30T10:00:00Z");
    let a = Asked::new(None, None, now);
    assert_eq!((a.year, a.day), (2026, day("2026-06-30")));
    // Today is not over: the history stops at now, and so do the snapshots.
    assert_eq!(a.as_of.instant, now);
    assert_eq!(a.snapshots_until, now);
}

#[test]
fn a_past_year_is_counted_to_its_last_day_and_its_snapshots_to_its_end() {
    let now = at("2026-06-30T10:00:00Z");
    let a = Asked::new(Some(2025), None, now);
    assert_eq!((a.year, a.day), (2025, day("2025-12-31")));
    assert_eq!(a.as_of, AsOf::end_of_day(day("2025-12-31")));
    assert_eq!(a.snapshots_until, at("2026-01-01T00:00:00Z"));
    // A day asked inside the year stops there.
    let b = Asked::new(Some(2025), Some(day("2025-03-31")), now);
    assert_eq!(b.day, day("2025-03-31"));
    assert_eq!(b.snapshots_until, at("2025-04-01T00:00:00Z"));
}

fn serial_run(device: &str, serial: &str, first: &str, last: &str) -> crate::history::FactRecord {
    crate::history::FactRecord {
        device: device.into(),
        fact: crate::poll::Fact::Serial,
        value: serial.into(),
        first_at: at(first),
        first_agent: "a".into(),
        last_at: at(last),
        agent: "a".into(),
        family: crate::inventory::Family::Ipv4,
    }
}

#[test]
fn a_detected_replacement_is_listed_to_confirm_and_never_counted() {
    // srv-01's serial changed on 2026-04-02 (not recorded: listed); sw-new's on 2026-03-01,
    // the day the inventory records it renewed (recorded: not listed); sw-old's on
    // 2026-02-01 while sw-new, renewed in the year, replaces it (recorded); srv-spare's in
    // 2025 (another year) and on 2026-12-01 (after the as-of day: not seen yet).
    let mut h = history();
    h.facts = vec![
        serial_run("srv-01", "A", "2025-10-01T00:00:00Z", "2026-04-01T23:00:00Z"),
        serial_run("srv-01", "B", "2026-04-02T09:00:00Z", "2026-06-30T00:00:00Z"),
        serial_run("sw-new", "N1", "2025-10-01T00:00:00Z", "2026-02-28T23:00:00Z"),
        serial_run("sw-new", "N2", "2026-03-01T09:00:00Z", "2026-06-30T00:00:00Z"),
        serial_run("sw-old", "O1", "2025-10-01T00:00:00Z", "2026-01-31T23:00:00Z"),
        serial_run("sw-old", "O2", "2026-02-01T09:00:00Z", "2026-02-02T00:00:00Z"),
        serial_run("srv-spare", "S1", "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z"),
        serial_run("srv-spare", "S2", "2025-03-02T00:00:00Z", "2026-11-30T00:00:00Z"),
        serial_run("srv-spare", "S3", "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"),
    ];
    let r = compute(&inv(), &h, 2026, day("2026-06-30")).unwrap();
    let listed: Vec<(&str, &str, &str)> = r
        .ae704
        .detected
        .iter()
        .map(|d| (d.device.as_str(), d.old_serial.as_str(), d.new_serial.as_str()))
        .collect();
    assert_eq!(listed, [("srv-01", "A", "B")]);
    // The value is what the inventory records (sw-new renewed on 2026-03-01), nothing more.
    assert_eq!(r.ae704.ficha.value, 1);
    assert_eq!(r.ae704.renewed.len(), 1);
}
