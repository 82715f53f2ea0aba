//! Every renewal rule pinned with hand-computed cases.

use super::*;
use crate::history::EventKind;
use crate::history::testkit::*;
use crate::inventory::DeviceClass::{Router, Server, Switch};

fn sites() -> Vec<crate::inventory::Site> {
    vec![
        site("main", None),
        site("fib", Some(LinkMedium::Fibre)),
        site("rad", Some(LinkMedium::Radio)),
        site("off", Some(LinkMedium::None)),
    ]
}

fn run(devices: Vec<Device>, history: &History, as_of: &str) -> Renewal {
    analyse(&inventory(sites(), devices), history, AsOf::end_of_day(day(as_of)))
}

fn acquired(mut d: Device, on: &str) -> Device {
    d.lifecycle.acquired = Some(day(on));
    d.lifecycle.end_of_sale = Some(day("2099-01-01"));
    d.lifecycle.end_of_support = Some(day("2099-01-01"));
    d
}

fn reasons(r: &Renewal, id: &str) -> Vec<Reason> {
    r.candidates
        .iter()
        .find(|c| c.facts.device == id)
        .map(|c| c.findings.iter().map(|f| f.reason).collect())
        .unwrap_or_default()
}

#[test]
fn a_device_exactly_at_the_age_limit_is_not_too_old_and_a_day_later_it_is() {
    // Switch limit 7 years; acquired 2019-03-15, seventh anniversary 2026-03-15.
    let d = acquired(device("sw", "main", Switch), "2019-03-15");
    let at_limit = run(vec![d.clone()], &History::default(), "2026-03-15");
    assert!(at_limit.candidates.is_empty(), "exactly 7 years old is not older than 7");

    let day_after = run(vec![d], &History::default(), "2026-03-16");
    let c = &day_after.candidates[0];
    assert_eq!(reasons(&day_after, "sw"), vec![Reason::TooOld]);
    assert_eq!(
        c.findings[0].evidence,
        Evidence::TooOld {
            acquired: day("2019-03-15"),
            age_years: 7,
            max_age_years: 7,
            limit_reached_on: day("2026-03-15"),
            years_over: 0,
        }
    );
    assert_eq!((c.score, c.priority), (30, Priority::Medium));
    // 7 × 365 + 2 leap days (2020, 2024) + 1.
    assert_eq!(c.facts.age_days, Some(2558));
}

#[test]
fn a_leap_day_purchase_reaches_its_limit_on_28_february() {
    assert_eq!(anniversary(day("2020-02-29"), 5), day("2025-02-28"));
    assert_eq!(full_years(day("2020-02-29"), day("2025-02-27")), 4);
    assert_eq!(full_years(day("2020-02-29"), day("2025-02-28")), 5);
    assert!(!too_old(day("2020-02-29"), 5, day("2025-02-28")));
    assert!(too_old(day("2020-02-29"), 5, day("2025-03-01")));
}

#[test]
fn years_past_the_limit_add_points_up_to_four() {
    // Server limit 5; acquired 2015-01-10: on 2026-06-01 it is 11, 6 full years over, capped at 4.
    let r = run(
        vec![acquired(device("srv", "main", Server), "2015-01-10")],
        &History::default(),
        "2026-06-01",
    );
    let c = &r.candidates[0];
    assert_eq!(c.score, POINTS_TOO_OLD + 4 * POINTS_PER_YEAR_OVER);
    assert_eq!(c.priority, Priority::Medium);
    match &c.findings[0].evidence {
        Evidence::TooOld { age_years, years_over, .. } => {
            assert_eq!((*age_years, *years_over), (11, 6))
        }
        other => panic!("unexpected evidence {other:?}"),
    }
}

#[test]
fn support_ending_today_counts_as_ended() {
    let mut d = acquired(device("rt", "main", Router), "2024-01-01");
    d.lifecycle.end_of_support = Some(day("2026-05-20"));
    let r = run(vec![d], &History::default(), "2026-05-20");
    let c = &r.candidates[0];
    assert_eq!(
        c.findings[0].evidence,
        Evidence::SupportEnded { end_of_support: day("2026-05-20"), days_since: 0 }
    );
    assert_eq!((c.score, c.priority), (40, Priority::High));
    assert_eq!(c.facts.days_to_end_of_support, Some(0));
}

#[test]
fn support_warning_window_is_inclusive_of_its_last_day() {
    let dev = |id: &str, eos: &str| {
        let mut d = acquired(device(id, "main", Router), "2024-01-01");
        d.lifecycle.end_of_support = Some(day(eos));
        d
    };
    // As of 2026-01-01 with 365 warning days: 2026-01-02 (1 day) and 2027-01-01 (365 days) warn,
    // 2027-01-02 (366 days) does not.
    let r = run(
        vec![dev("one", "2026-01-02"), dev("last", "2027-01-01"), dev("beyond", "2027-01-02")],
        &History::default(),
        "2026-01-01",
    );
    assert_eq!(reasons(&r, "one"), vec![Reason::SupportEnding]);
    assert_eq!(reasons(&r, "last"), vec![Reason::SupportEnding]);
    assert_eq!(reasons(&r, "beyond"), Vec::<Reason>::new());
    let last = r.candidates.iter().find(|c| c.facts.device == "last").unwrap();
    assert_eq!(
        last.findings[0].evidence,
        Evidence::SupportEnding {
            end_of_support: day("2027-01-01"),
            days_left: 365,
            warning_days: 365
        }
    );
    assert_eq!(last.priority, Priority::Medium);
}

#[test]
fn two_full_years_without_support_add_twenty_points() {
    let mut d = acquired(device("rt", "main", Router), "2020-01-01");
    d.lifecycle.end_of_support = Some(day("2024-01-01"));
    // 2026-01-01 is 731 days later: two full 365-day years.
    let r = run(vec![d], &History::default(), "2026-01-01");
    assert_eq!(r.candidates[0].score, 60);
}

#[test]
fn unknown_dates_are_listed_apart_and_never_scored_as_new() {
    let unknown = device("blank", "main", Switch);
    let mut ended = device("ended", "main", Switch);
    ended.lifecycle.end_of_support = Some(day("2025-01-01"));
    let r = run(vec![unknown, ended], &History::default(), "2026-01-01");

    assert_eq!(r.evaluated, 2);
    // The blank device is no candidate (nothing proves a reason) and is listed as missing.
    assert_eq!(reasons(&r, "blank"), Vec::<Reason>::new());
    let blank = r.missing_data.iter().find(|m| m.facts.device == "blank").unwrap();
    assert_eq!(
        blank.facts.missing,
        vec![DateField::Acquired, DateField::EndOfSale, DateField::EndOfSupport]
    );
    assert!(!blank.candidate);
    assert_eq!(blank.facts.age_years, None);

    // Support ended is proven without a purchase date: a candidate, and still listed missing.
    assert_eq!(reasons(&r, "ended"), vec![Reason::SupportEnded]);
    let ended = r.missing_data.iter().find(|m| m.facts.device == "ended").unwrap();
    assert_eq!(ended.facts.missing, vec![DateField::Acquired, DateField::EndOfSale]);
    assert!(ended.candidate);
}

#[test]
fn availability_under_99_percent_is_unreliable_and_99_is_not() {
    let history = History {
        availability_90d: vec![
            availability("a989", Family::Ipv4, 1000, 989),
            availability("a990", Family::Ipv4, 1000, 990),
            // Too few polls to judge: one lost poll would already be over 1 %.
            availability("few", Family::Ipv4, 99, 0),
        ],
        ..History::default()
    };
    let devs = ["a989", "a990", "few"].map(|id| acquired(device(id, "fib", Switch), "2025-01-01"));
    let r = run(devs.to_vec(), &history, "2026-01-01");
    assert_eq!(reasons(&r, "a989"), vec![Reason::Unreliable]);
    assert_eq!(reasons(&r, "a990"), Vec::<Reason>::new());
    assert_eq!(reasons(&r, "few"), Vec::<Reason>::new());
    let c = &r.candidates[0];
    assert_eq!(
        c.findings[0].evidence,
        Evidence::Unreliable {
            availability: Some(AvailabilityEvidence {
                family: Family::Ipv4,
                polls: 1000,
                successes: 989,
                ratio: 0.989,
            }),
            restarts: None,
        }
    );
    assert_eq!((c.score, c.priority), (30, Priority::Medium));
}

#[test]
fn availability_is_judged_on_the_best_family() {
    let d = with_v6(acquired(device("dual", "fib", Switch), "2025-01-01"), 1);
    let low = with_v6(acquired(device("low", "fib", Switch), "2025-01-01"), 2);
    let history = History {
        availability_90d: vec![
            availability("dual", Family::Ipv4, 1000, 995),
            availability("dual", Family::Ipv6, 1000, 500),
            // Both families under 99 %: the evidence is the better one, IPv6 here.
            availability("low", Family::Ipv4, 1000, 900),
            availability("low", Family::Ipv6, 1000, 985),
        ],
        ..History::default()
    };
    let r = run(vec![d, low], &history, "2026-01-01");
    assert_eq!(reasons(&r, "dual"), Vec::<Reason>::new());
    assert_eq!(reasons(&r, "low"), vec![Reason::Unreliable]);
    assert_eq!(
        r.candidates[0].findings[0].evidence,
        Evidence::Unreliable {
            availability: Some(AvailabilityEvidence {
                family: Family::Ipv6,
                polls: 1000,
                successes: 985,
                ratio: 0.985,
            }),
            restarts: None,
        }
    );
}

#[test]
fn three_unexplained_restarts_are_repeated_and_explained_ones_do_not_count() {
    let devs = ["flaky", "two", "sibling", "isolated", "other"].map(|id| {
        acquired(device(id, if id == "isolated" { "rad" } else { "fib" }, Switch), "2025-01-01")
    });
    let restart =
        |d: &str, site: &str, when: &str| event(EventKind::AgentRestart, Some(d), site, when);
    let history = History {
        restarts_90d: vec![
            restart("flaky", "fib", "2026-05-01T03:00:00Z"),
            restart("flaky", "fib", "2026-05-10T03:00:00Z"),
            restart("flaky", "fib", "2026-05-20T03:00:00Z"),
            // Outside the 90 days before 2026-06-01 (the window starts 2026-03-03): ignored.
            restart("two", "fib", "2026-03-01T03:00:00Z"),
            restart("two", "fib", "2026-04-01T03:00:00Z"),
            restart("two", "fib", "2026-04-02T03:00:00Z"),
            // Three restarts, one of them 10 minutes from another device's at the same site.
            restart("sibling", "fib", "2026-04-10T08:00:00Z"),
            restart("sibling", "fib", "2026-04-11T08:00:00Z"),
            restart("sibling", "fib", "2026-04-12T08:00:00Z"),
            restart("other", "fib", "2026-04-12T08:10:00Z"),
            // Three restarts, one 15 minutes after the site was isolated.
            restart("isolated", "rad", "2026-04-20T08:00:00Z"),
            restart("isolated", "rad", "2026-04-21T08:00:00Z"),
            restart("isolated", "rad", "2026-04-22T08:15:00Z"),
        ],
        isolations_90d: vec![event(EventKind::SiteIsolated, None, "rad", "2026-04-22T08:00:00Z")],
        ..History::default()
    };
    let r = run(devs.to_vec(), &history, "2026-05-31");
    assert_eq!(reasons(&r, "flaky"), vec![Reason::Unreliable]);
    assert_eq!(reasons(&r, "two"), Vec::<Reason>::new());
    assert_eq!(reasons(&r, "sibling"), Vec::<Reason>::new());
    assert_eq!(reasons(&r, "isolated"), Vec::<Reason>::new());
    assert_eq!(reasons(&r, "other"), Vec::<Reason>::new());
    match &r.candidates[0].findings[0].evidence {
        Evidence::Unreliable { availability: None, restarts: Some(rs) } => {
            assert_eq!(rs.unexplained.len(), 3);
            assert_eq!(rs.explained, 0);
        }
        other => panic!("unexpected evidence {other:?}"),
    }
}

#[test]
fn ipv6_overdue_only_after_the_planned_day_and_without_working_ipv6() {
    let planned = |d: Device| {
        let mut d = acquired(d, "2025-01-01");
        d.ipv6_planned = Some(day("2026-12-31"));
        d
    };
    let none = planned(device("none", "fib", Switch));
    let works = planned(with_v6(device("works", "fib", Switch), 1));
    let broken = planned(with_v6(device("broken", "fib", Switch), 2));
    let mut unpolled = planned(with_v6(device("unpolled", "fib", Switch), 3));
    unpolled.monitor = false;
    let mut unpolled_none = planned(device("unpolled-none", "fib", Switch));
    unpolled_none.monitor = false;
    let devs = vec![none, works, broken, unpolled, unpolled_none];
    let history = History {
        latest: vec![
            poll("works", Family::Ipv6, ProbeKind::Icmp, "2027-01-01T23:50:00Z", true),
            poll("broken", Family::Ipv6, ProbeKind::Icmp, "2027-01-01T23:50:00Z", false),
        ],
        ..History::default()
    };
    // On the planned day itself nothing is overdue.
    assert!(run(devs.clone(), &history, "2026-12-31").candidates.is_empty());

    let r = run(devs, &history, "2027-01-01");
    assert_eq!(reasons(&r, "none"), vec![Reason::Ipv6Overdue]);
    assert_eq!(reasons(&r, "works"), Vec::<Reason>::new());
    assert_eq!(reasons(&r, "broken"), vec![Reason::Ipv6Overdue]);
    assert_eq!(reasons(&r, "unpolled"), Vec::<Reason>::new(), "cannot be judged");
    assert_eq!(reasons(&r, "unpolled-none"), vec![Reason::Ipv6Overdue]);
    let broken = r.candidates.iter().find(|c| c.facts.device == "broken").unwrap();
    assert_eq!((broken.score, broken.priority), (15, Priority::Low));
    match &broken.findings[0].evidence {
        Evidence::Ipv6Overdue { days_overdue, configured, latest_icmp, .. } => {
            assert_eq!((*days_overdue, *configured), (1, true));
            assert_eq!(latest_icmp.as_ref().map(|l| l.outcome.as_str()), Some("timeout"));
        }
        other => panic!("unexpected evidence {other:?}"),
    }
}

#[test]
fn candidates_are_ordered_by_score_then_support_date_then_id() {
    let mut worst = acquired(device("worst", "main", Server), "2015-01-01");
    worst.lifecycle.end_of_support = Some(day("2024-01-01"));
    let mut b = acquired(device("b", "main", Router), "2024-01-01");
    b.lifecycle.end_of_support = Some(day("2026-03-01"));
    let mut a = acquired(device("a", "main", Router), "2024-01-01");
    a.lifecycle.end_of_support = Some(day("2026-03-01"));
    let mut early = acquired(device("early", "main", Router), "2024-01-01");
    early.lifecycle.end_of_support = Some(day("2026-02-01"));
    let r = run(vec![b, a, early, worst], &History::default(), "2026-01-01");
    let order: Vec<&str> = r.candidates.iter().map(|c| c.facts.device.as_str()).collect();
    assert_eq!(order, ["worst", "early", "a", "b"]);
    // worst: support ended 731 days ago (40 + 2×10) and 11 years old, 6 over (30 + 4×5).
    assert_eq!(r.candidates[0].score, 110);
    assert_eq!(r.candidates[0].priority, Priority::High);
}

#[test]
fn retired_and_future_devices_are_not_evaluated() {
    let mut retired = acquired(device("retired", "main", Switch), "2000-01-01");
    retired.lifecycle.retired = Some(day("2026-01-01"));
    let future = acquired(device("future", "main", Switch), "2026-02-01");
    let mut renewed_later = acquired(device("later", "main", Switch), "2025-01-01");
    renewed_later.lifecycle.renewed = Some(day("2026-03-01"));
    let r = run(vec![retired, future, renewed_later], &History::default(), "2026-01-01");
    assert_eq!(r.evaluated, 0);
    assert!(r.candidates.is_empty() && r.missing_data.is_empty());
}

#[test]
fn priorities_follow_the_documented_thresholds() {
    assert_eq!(priority(15, false), Priority::Low);
    assert_eq!(priority(24, false), Priority::Low);
    assert_eq!(priority(25, false), Priority::Medium);
    assert_eq!(priority(59, false), Priority::Medium);
    assert_eq!(priority(60, false), Priority::High);
    assert_eq!(priority(40, true), Priority::High);
}

fn catalog_entry(vendor: &str, model: &str, eos: &str) -> crate::inventory::catalog::CatalogEntry {
    crate::inventory::catalog::CatalogEntry {
        vendor: vendor.into(),
        model: model.into(),
        end_of_sale: Some(day("2021-08-01")),
        end_of_support: Some(day(eos)),
        end_of_security_updates: None,
        source: "Vendor notice EOL-1".into(),
        at: "catalog.yaml:3".into(),
    }
}

#[test]
fn support_dates_come_from_the_device_else_the_catalogue_else_nowhere() {
    // Three Cisco switches of the catalogued family, as of 2026-06-01: one with its own end
    // of support (2030-01-01, wins over the catalogue's), one without (the catalogue's
    // 2026-04-30: support ended 32 days before), one of another model (no dates at all); and a
    // fourth, undeclared, whose model only the device reports.
    let mut own = device("sw-own", "main", Switch);
    let mut cat = device("sw-cat", "main", Switch);
    let mut other = device("sw-other", "main", Switch);
    for d in [&mut own, &mut cat, &mut other] {
        d.vendor = Some("Cisco".into());
        d.model = Some("WS-C2960X-24PS-L".into());
        d.lifecycle.acquired = Some(day("2024-01-01"));
    }
    other.model = Some("C9200-24P".into());
    own.lifecycle.end_of_support = Some(day("2030-01-01"));
    let found = with_snmp(device("sw-found", "main", Switch));
    let mut inv = inventory(sites(), vec![own, cat, other, found]);
    inv.catalog.entries.push(catalog_entry("Cisco Systems", "WS-C2960X-*", "2026-04-30"));
    let history = History {
        facts: vec![
            crate::history::FactRecord {
                device: "sw-found".into(),
                fact: crate::poll::Fact::Model,
                value: "WS-C2960X-48TS-L".into(),
                first_at: at("2026-05-01T10:00:00Z"),
                first_agent: "a".into(),
                last_at: at("2026-05-31T10:00:00Z"),
                agent: "a".into(),
                family: Family::Ipv4,
            },
            crate::history::FactRecord {
                device: "sw-found".into(),
                fact: crate::poll::Fact::SysObjectId,
                value: "1.3.6.1.4.1.9.1.1208".into(),
                first_at: at("2026-05-01T10:00:00Z"),
                first_agent: "a".into(),
                last_at: at("2026-05-31T10:00:00Z"),
                agent: "a".into(),
                family: Family::Ipv4,
            },
        ],
        ..History::default()
    };
    let r = analyse(&inv, &history, AsOf::end_of_day(day("2026-06-01")));
    let facts = |id: &str| {
        r.candidates
            .iter()
            .map(|c| &c.facts)
            .chain(r.missing_data.iter().map(|m| &m.facts))
            .find(|f| f.device == id)
            .unwrap_or_else(|| panic!("{id} listed"))
            .clone()
    };
    assert!(reasons(&r, "sw-own").is_empty(), "its own 2030 date wins");
    assert!(
        r.missing_data.iter().all(|m| m.facts.device != "sw-own"),
        "its end of sale from the catalogue, the rest its own: nothing missing"
    );

    assert_eq!(reasons(&r, "sw-cat"), [Reason::SupportEnded]);
    let cat = facts("sw-cat");
    assert_eq!(cat.end_of_support, Some(day("2026-04-30")));
    assert_eq!(cat.days_to_end_of_support, Some(-32));
    assert!(cat.missing.is_empty(), "dates from the catalogue are not missing");
    let c = cat.catalog.unwrap();
    assert_eq!((c.at.as_str(), c.source.as_str()), ("catalog.yaml:3", "Vendor notice EOL-1"));
    assert_eq!(c.dates, [DateField::EndOfSale, DateField::EndOfSupport]);
    assert!(!c.by_discovered);

    assert!(reasons(&r, "sw-other").is_empty());
    let other = facts("sw-other");
    assert_eq!((other.end_of_support, other.catalog), (None, None));
    assert_eq!(other.missing, [DateField::EndOfSale, DateField::EndOfSupport]);

    // Found by what the device reports, and said so; the discovered values stand apart.
    assert_eq!(reasons(&r, "sw-found"), [Reason::SupportEnded]);
    let found = facts("sw-found");
    assert_eq!((found.vendor, found.model), (None, None), "nothing declared is invented");
    assert_eq!(found.discovered.model.as_deref(), Some("WS-C2960X-48TS-L"));
    assert_eq!(found.discovered.vendor.as_deref(), Some("Cisco"));
    assert!(found.catalog.unwrap().by_discovered);
}
