//! IPv6 stages, tallies and the threshold check, pinned by hand.

use super::*;
use crate::history::testkit::*;
use crate::inventory::DeviceClass::{Server, Switch};
use crate::inventory::{Device, LinkMedium};

/// main: s1 (dual stack, SNMP), s2 (IPv4 only); fib: sw-a (configured, broken, SNMP),
/// sw-b (IPv6 only); rad: sw-c (configured, only a stale result); off: sw-off (not polled);
/// gone: retired.
fn scenario() -> (Inventory, History) {
    let planned = |mut d: Device| {
        d.ipv6_planned = Some(day("2026-01-01"));
        d
    };
    let mut sw_b = with_v6(device("sw-b", "fib", Switch), 3);
    sw_b.ipv4 = None;
    let mut gone = with_v6(device("gone", "main", Server), 9);
    gone.lifecycle.retired = Some(day("2026-02-01"));
    let devices = vec![
        planned(with_snmp(with_v6(device("s1", "main", Server), 1))),
        planned(device("s2", "main", Server)),
        planned(with_snmp(with_v6(device("sw-a", "fib", Switch), 2))),
        planned(sw_b),
        planned(with_v6(device("sw-c", "rad", Switch), 4)),
        planned(with_v6(device("sw-off", "off", Switch), 5)),
        gone,
    ];
    let inv = inventory(
        vec![
            site("main", None),
            site("fib", Some(LinkMedium::Fibre)),
            site("rad", Some(LinkMedium::Radio)),
            site("off", Some(LinkMedium::None)),
        ],
        devices,
    );
    let t = "2026-06-01T23:55:00Z";
    let (v4, v6, icmp, snmp) = (Family::Ipv4, Family::Ipv6, ProbeKind::Icmp, ProbeKind::Snmp);
    let history = History {
        latest: vec![
            poll("s1", v4, icmp, t, true),
            poll("s1", v6, icmp, t, true),
            poll("s1", v6, snmp, t, true),
            poll("s2", v4, icmp, t, true),
            poll("sw-a", v4, icmp, t, true),
            poll("sw-a", v6, icmp, t, false),
            poll("sw-a", v6, snmp, t, false),
            poll("sw-b", v6, icmp, t, true),
            // Two hours before the instant: stale, counts as no result.
            poll("sw-c", v6, icmp, "2026-06-01T22:00:00Z", true),
            poll("gone", v6, icmp, t, true),
        ],
        ..History::default()
    };
    (inv, history)
}

fn cov() -> (Inventory, Coverage) {
    let (inv, h) = scenario();
    let c = coverage(&inv, &h, AsOf::end_of_day(day("2026-06-01")));
    (inv, c)
}

fn tally(eligible: usize, passed: usize) -> Tally {
    Tally { eligible, passed }
}

#[test]
fn stages_are_counted_over_their_own_denominators() {
    let (_, c) = cov();
    let ids: Vec<&str> = c.devices.iter().map(|d| d.device.as_str()).collect();
    assert_eq!(ids, ["s1", "s2", "sw-a", "sw-b", "sw-c"], "off-site and retired devices are out");
    assert_eq!(
        c.stages,
        Stages {
            configured: tally(5, 4),
            icmp: tally(5, 2),
            snmp: tally(2, 1), // only s1 and sw-a have SNMP configured
            dual_stack: tally(5, 1),
        }
    );
    assert_eq!(c.stages.icmp.ratio(), Some(0.4));
}

#[test]
fn configured_but_broken_is_the_device_whose_ipv4_answers_and_ipv6_does_not() {
    let (_, c) = cov();
    let broken: Vec<&str> = c.broken().map(|d| d.device.as_str()).collect();
    assert_eq!(broken, ["sw-a"]);
    let sw_c = c.devices.iter().find(|d| d.device == "sw-c").unwrap();
    assert_eq!((sw_c.icmp6, sw_c.broken), (None, false), "stale is unmeasured, not broken");
    assert_eq!(sw_c.stages, vec![Stage::Configured]);
    let sw_a = c.devices.iter().find(|d| d.device == "sw-a").unwrap();
    assert_eq!(sw_a.icmp6_outcome, Some(PollOutcome::Timeout));
}

#[test]
fn overdue_devices_are_those_past_their_plan_without_icmpv6() {
    let (_, c) = cov();
    let overdue: Vec<(&str, i64)> =
        c.overdue().map(|d| (d.device.as_str(), d.days_overdue.unwrap())).collect();
    // 2026-01-01 to 2026-06-01: 151 days.
    assert_eq!(overdue, [("s2", 151), ("sw-a", 151), ("sw-c", 151)]);
}

#[test]
fn per_site_per_class_and_matrix_tallies() {
    let (_, c) = cov();
    let site = |id: &str| c.sites.iter().find(|s| s.site == id).unwrap().stages;
    assert_eq!(
        site("main"),
        Stages {
            configured: tally(2, 1),
            icmp: tally(2, 1),
            snmp: tally(1, 1),
            dual_stack: tally(2, 1)
        }
    );
    assert_eq!(
        site("fib"),
        Stages {
            configured: tally(2, 2),
            icmp: tally(2, 1),
            snmp: tally(1, 0),
            dual_stack: tally(2, 0)
        }
    );
    assert_eq!(site("rad").snmp, tally(0, 0));
    assert_eq!(site("rad").snmp.ratio(), None);
    assert!(c.sites.iter().all(|s| s.site != "off"));
    let classes: Vec<(DeviceClass, Tally)> =
        c.classes.iter().map(|k| (k.class, k.stages.icmp)).collect();
    assert_eq!(classes, [(Switch, tally(3, 1)), (Server, tally(2, 1))]);
    let cells: Vec<(&str, DeviceClass)> =
        c.matrix.iter().map(|m| (m.site.as_str(), m.class)).collect();
    assert_eq!(cells, [("main", Server), ("fib", Switch), ("rad", Switch)]);
}

#[test]
fn threshold_passes_at_exactly_the_minimum_and_fails_just_above() {
    let (inv, c) = cov();
    let t = |min: f64| Threshold { stage: Stage::Icmp, min_percent: min, site: None, class: None };
    let at = check(&inv, &c, &t(40.0)).unwrap();
    assert_eq!((at.eligible, at.passed, at.pass), (5, 2, true));
    assert!(!check(&inv, &c, &t(40.1)).unwrap().pass);
    assert!(check(&inv, &c, &t(0.0)).unwrap().pass);
}

#[test]
fn threshold_filters_and_empty_denominators() {
    let (inv, c) = cov();
    let fib_snmp =
        Threshold { stage: Stage::Snmp, min_percent: 0.0, site: Some("fib".into()), class: None };
    let r = check(&inv, &c, &fib_snmp).unwrap();
    assert_eq!((r.eligible, r.passed, r.pass), (1, 0, true));
    let rad_snmp = Threshold { site: Some("rad".into()), ..fib_snmp.clone() };
    let r = check(&inv, &c, &rad_snmp).unwrap();
    assert_eq!((r.eligible, r.ratio, r.pass), (0, None, false), "nothing to measure never passes");
    let servers =
        Threshold { stage: Stage::DualStack, min_percent: 50.0, site: None, class: Some(Server) };
    assert!(check(&inv, &c, &servers).unwrap().pass);
}

#[test]
fn bad_thresholds_are_refused() {
    let (inv, c) = cov();
    let base = Threshold { stage: Stage::Icmp, min_percent: 50.0, site: None, class: None };
    let with = |f: &dyn Fn(&mut Threshold)| {
        let mut t = base.clone();
        f(&mut t);
        check(&inv, &c, &t).unwrap_err()
    };
    assert_eq!(with(&|t| t.min_percent = 101.0), ThresholdError::InvalidMinimum { value: 101.0 });
    assert!(matches!(with(&|t| t.min_percent = f64::NAN), ThresholdError::InvalidMinimum { .. }));
    assert_eq!(
        with(&|t| t.site = Some("nowhere".into())),
        ThresholdError::UnknownSite { site: "nowhere".into() }
    );
    assert_eq!(
        with(&|t| t.site = Some("off".into())),
        ThresholdError::SiteNotPolled { site: "off".into() }
    );
}
