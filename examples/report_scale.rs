//! How long the reports take for 10,000 devices at 1,000 sites with a full history.
//!
//! `cargo run --example report_scale [--release]`: builds the inventory and history in memory
//! (no network, no database), computes and renders each report once and prints the time of
//! each step. A measurement, not a test: it asserts nothing about speed.

// Benchmarks read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, TimeDelta};
use vigia::history::{AsOf, History};
use vigia::history::{Availability, EventKind, EventRecord, PollRecord};
use vigia::inventory::{
    Device, DeviceClass, Family, Inventory, Lifecycle, LinkMedium, Policy, PollSettings, SecretRef,
    Site, SiteRole, SnmpProfile, SnmpRef,
};
use vigia::poll::{PollOutcome, ProbeKind, SystemInfo};
use vigia::report::{self, IndicatorsFormat, Ipv6Format, Lang, LinksFormat, RenewalFormat};

const SITES: usize = 1_000;
const DEVICES: usize = 10_000;

fn main() {
    let as_of = AsOf::end_of_day(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap());
    let t = Instant::now();
    let (inv, history) = build(as_of);
    println!(
        "built {} sites, {} devices, {} latest polls, {} availability rows: {:?}",
        inv.sites.len(),
        inv.devices.len(),
        history.latest.len(),
        history.availability_90d.len(),
        t.elapsed()
    );

    let step = |name: &str, f: &dyn Fn() -> usize| {
        let t = Instant::now();
        let n = f();
        println!("{name:<28} {:>10.1} ms  ({n} bytes or items)", t.elapsed().as_secs_f64() * 1e3);
    };
    step("lifecycle::analyse", &|| {
        vigia::lifecycle::analyse(&inv, &history, as_of).candidates.len()
    });
    step("ipv6::coverage", &|| vigia::ipv6::coverage(&inv, &history, as_of).devices.len());
    step("links::links", &|| vigia::links::links(&inv, &history, as_of).sites.len());
    step("indicators::compute", &|| {
        vigia::indicators::compute(&inv, &history, 2026, as_of.date)
            .unwrap()
            .ae703
            .components
            .evaluated
    });
    for format in RenewalFormat::ALL {
        step(&format!("report renewal {format}"), &|| {
            report::renewal(&inv, &history, as_of, Lang::Es, *format).unwrap().len()
        });
    }
    for format in Ipv6Format::ALL {
        step(&format!("report ipv6 {format}"), &|| {
            report::ipv6(&inv, &history, as_of, Lang::Es, *format).unwrap().len()
        });
    }
    for format in LinksFormat::ALL {
        step(&format!("report links {format}"), &|| {
            report::links(&inv, &history, as_of, Lang::Es, *format).unwrap().len()
        });
    }
    for format in IndicatorsFormat::ALL {
        step(&format!("report indicators {format}"), &|| {
            report::indicators(&inv, &history, 2026, as_of.date, Lang::Es, *format).unwrap().len()
        });
    }
}

fn build(as_of: AsOf) -> (Inventory, History) {
    let media = [LinkMedium::Fibre, LinkMedium::Radio, LinkMedium::None];
    let mut sites = vec![Site {
        id: "main".into(),
        name: "Sede principal".into(),
        role: SiteRole::Main,
        link: None,
        link_mbps: None,
        provider: None,
        planned_link: None,
        planned_date: None,
        via: None,
        core: Vec::new(),
    }];
    for i in 1..SITES {
        sites.push(Site {
            id: format!("site-{i}").into(),
            name: format!("Sede {i}"),
            role: SiteRole::Branch,
            link: Some(media[i % 3]),
            link_mbps: None,
            provider: None,
            planned_link: None,
            planned_date: None,
            via: None,
            core: Vec::new(),
        });
    }
    let profile = Arc::new(SnmpProfile::V2c { community: SecretRef::Env("UNUSED".into()) });
    let classes =
        [DeviceClass::Switch, DeviceClass::Server, DeviceClass::Router, DeviceClass::Radio];
    let day0 = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
    let devices: Vec<Device> = (0..DEVICES)
        .map(|i| {
            let n = u32::try_from(i).unwrap();
            Device {
                id: format!("dev-{i}").into(),
                site: sites[i % SITES].id.clone(),
                class: classes[i % classes.len()],
                vendor: None,
                model: None,
                serial: None,
                ipv4: Some(Ipv4Addr::from(0xC612_0000 + n)),
                ipv6: (i % 2 == 0).then(|| Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(n))),
                uplink: i < SITES,
                snmp: Some(SnmpRef { name: "p".into(), profile: profile.clone() }),
                monitor: true,
                ipv6_planned: NaiveDate::from_ymd_opt(2026, 3, 31),
                lifecycle: Lifecycle {
                    acquired: (i % 5 != 0).then(|| day0 + TimeDelta::days((i % 3000) as i64)),
                    end_of_support: (i % 7 != 0)
                        .then(|| day0 + TimeDelta::days(2000 + (i % 3000) as i64)),
                    renewed: (i % 97 == 0).then(|| NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()),
                    ..Lifecycle::default()
                },
                depends_on: Vec::new(),
                icmp: true,
                icmp_spacing: None,
            }
        })
        .collect();
    let inv = Inventory {
        dir: PathBuf::from("scale"),
        sites,
        devices,
        snmp_profiles: BTreeMap::new(),
        poll: PollSettings::default(),
        policy: Policy::default(),
        projects: Vec::new(),
        indicators: Vec::new(),
        declared: Vec::new(),
        lab: Default::default(),
        catalog: Default::default(),
        time_zone: vigia::inventory::maintenance::DEFAULT_TIME_ZONE,
        maintenance: Vec::new(),
    };
    let at = as_of.instant - TimeDelta::minutes(5);
    let mut history = History::default();
    for (i, d) in inv.devices.iter().enumerate() {
        for family in d.families() {
            for probe in ProbeKind::ALL {
                history.latest.push(PollRecord {
                    at,
                    agent: "a".into(),
                    device: d.id.clone(),
                    site: d.site.clone(),
                    family,
                    probe: *probe,
                    outcome: PollOutcome::Ok,
                    success: i % 11 != 0,
                    sent: None,
                    received: None,
                    rtt_min_s: None,
                    rtt_avg_s: None,
                    rtt_max_s: None,
                    jitter_s: None,
                    duration_s: 0.01,
                    system: SystemInfo::default(),
                });
            }
            let row = Availability {
                device: d.id.clone(),
                site: d.site.clone(),
                family,
                probe: ProbeKind::Icmp,
                polls: 259_200,
                successes: 259_200 - (i as u64 % 5_000),
                sent: 777_600,
                received: 777_000,
                rtt_sum_s: 500.0,
                rtt_count: 259_000,
            };
            history.availability_90d.push(row.clone());
            history.link_health.push(row);
        }
        if i % 13 == 0 {
            for k in 0..4 {
                history.restarts_90d.push(EventRecord {
                    at: as_of.instant - TimeDelta::days(10 * k + 1),
                    agent: "a".into(),
                    kind: EventKind::AgentRestart,
                    device: Some(d.id.clone()),
                    site: Some(d.site.clone()),
                    family: Some(Family::Ipv4),
                    probe: Some(ProbeKind::Snmp),
                    detail: String::new(),
                    cause: None,
                    maintenance: Vec::new(),
                });
            }
        }
    }
    (inv, history)
}
