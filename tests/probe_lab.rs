//! vigia's own probing adapters against real devices in labs: `vigia::probe::icmp::Icmp::cycle`
//! and `vigia::probe::snmp::poll` (never net-snmp's tools) against net-snmp `snmpd` agents in
//! network namespaces, over IPv4-only, IPv6-only and dual-stack devices, across LAN, fibre and
//! radio links.
//!
//! Each test builds its own small lab with a unique name in an address block of its own
//! (`AddressBlock::claim`: 198.19.K.0/24, 2001:db8:1:K::/64), so it runs beside the tests of
//! this and other binaries; dropping the `Lab` (also while a failing test unwinds) removes it,
//! and the tests that end normally check that nothing of it remains. They need root,
//! /dev/net/tun, iproute2 and snmpd (`scripts/deps test`); without them they fail, saying what is
//! missing.

// Tests read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

#[path = "support/lab.rs"]
mod lab_support;
#[allow(dead_code)] // the binary's conversion; these tests use part of it
#[path = "../src/lab_twin.rs"]
mod lab_twin;

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use lab_support::*;
use vigia::inventory::{AuthProtocol, PrivProtocol};
use vigia::poll::counters;
use vigia::poll::{IcmpOutcome, IcmpReport, SnmpOutcome, SnmpReport};
use vigia::probe::icmp::{CycleSettings, Icmp};
use vigia::probe::snmp::{AgentTracker, Credentials, SnmpTarget, poll};
use vigia::probe::{Family, RadioQuery, SnmpQuery};
use vigia_lab::block::AddressBlock;
use vigia_lab::{Lab, LabDevice, LinkModel, Refusal, V3User};

fn family_of(a: IpAddr) -> Family {
    if a.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 }
}

fn settings(count: u32, spacing_ms: u64, timeout_ms: u64) -> CycleSettings {
    CycleSettings {
        count,
        spacing: Duration::from_millis(spacing_ms),
        timeout: Duration::from_millis(timeout_ms),
    }
}

fn v2c(community: &str) -> Credentials {
    Credentials::V2c { community: community.into() }
}

fn v3(
    user: &str,
    auth: (AuthProtocol, &str),
    privacy: Option<(PrivProtocol, &str)>,
) -> Credentials {
    Credentials::V3 {
        user: user.into(),
        auth: Some((auth.0, auth.1.into())),
        privacy: privacy.map(|(p, s)| (p, s.into())),
    }
}

/// The test agents' own v3 user.
fn v3_ok() -> Credentials {
    v3(USER, (AuthProtocol::Sha256, AUTH_PASS), Some((PrivProtocol::Aes128, PRIV_PASS)))
}

/// A target with a generous timeout: a positive test must not flake on a busy machine.
fn target(address: IpAddr, credentials: Credentials) -> SnmpTarget {
    SnmpTarget {
        address,
        port: 161,
        credentials,
        timeout: Duration::from_secs(2),
        retries: 1,
        deadline: Duration::from_secs(60),
    }
}

/// A target for polls expected to fail: short waits, so a silence costs 2 × 500 ms.
fn quick(address: IpAddr, credentials: Credentials) -> SnmpTarget {
    SnmpTarget { timeout: Duration::from_millis(500), ..target(address, credentials) }
}

fn assert_system(r: &SnmpReport, id: &str, address: IpAddr) {
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{id} at {address}: {r:#?}");
    assert_eq!((r.address, r.family), (address, family_of(address)));
    let s = r.system.as_ref().expect("the system group");
    assert_eq!(s.name.as_deref(), Some(id), "{address}");
    assert_eq!(s.location, Some(format!("Sitio de {id}")));
    assert_eq!(s.descr, Some(format!("Lab switch {id} (vigia lab)")));
    assert!(s.uptime_ticks.is_some() && s.object_id.is_some(), "{s:?}");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(r: &IcmpReport) -> Duration {
    let mut v = r.rtts.clone();
    v.sort();
    v[v.len() / 2]
}

fn figures(what: &str, r: &IcmpReport) -> String {
    format!(
        "{what} {}: {} sent, {} replies, loss {:.2} %, rtt min {:.2} median {:.2} mean {:.2} \
         max {:.2} ms, jitter {:.2} ms",
        r.address,
        r.sent,
        r.received,
        r.loss_ratio() * 100.0,
        ms(r.rtt_min().unwrap_or_default()),
        ms(median(r)),
        ms(r.rtt_avg().unwrap_or_default()),
        ms(r.rtt_max().unwrap_or_default()),
        ms(r.jitter().unwrap_or_default()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn icmp_and_snmp_answer_on_ipv4_only_ipv6_only_and_dual_stack_devices() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let devices = vec![
        device("sw-v4", Some(block.v4(10)), None, LinkModel::FIBRE),
        device("sw-v6", None, Some(block.v6(0x10)), LinkModel::FIBRE),
        device("sw-dual", Some(block.v4(11)), Some(block.v6(0x11)), LinkModel::FIBRE),
    ];
    let lab = Lab::up(spec(&block, 1, devices.clone())).await.unwrap();
    let state = lab.state();
    let icmp = Icmp::open().unwrap();
    let mut measured = Vec::new();
    for d in &devices {
        for a in addresses(d) {
            let r = icmp.cycle(a, settings(3, 20, 2000)).await;
            assert_eq!(r.outcome, IcmpOutcome::Ok, "{} {a}: {r:?}", d.id);
            assert_eq!((r.sent, r.received, r.rtts.len()), (3, 3, 3), "{} {a}", d.id);
            assert_eq!((r.address, r.family), (a, family_of(a)));
            assert!(r.reachable() && r.detail.is_none(), "{r:?}");
            // Fibre: 0.45-0.55 ms each way, so no round trip under 0.9 ms.
            assert!(r.rtt_min().unwrap() >= Duration::from_micros(900), "{r:?}");
            for credentials in [v2c(COMMUNITY), v3_ok()] {
                let level = credentials.level();
                let r = poll(&target(a, credentials), SnmpQuery::SYSTEM).await;
                assert_system(&r, &d.id, a);
                assert_eq!(r.detail, None, "{level}");
                measured.push(format!("{} {a} {level}: {:?}", d.id, r.elapsed));
            }
        }
    }
    // The dual-stack device answers SNMP over IPv6 itself, not only over IPv4: the IPv6 poll
    // went to its IPv6 address and came back from it with the device's own identity.
    let v6 = IpAddr::V6(block.v6(0x11));
    let r = poll(&target(v6, v3_ok()), SnmpQuery::SYSTEM).await;
    assert_system(&r, "sw-dual", v6);
    assert_eq!(r.family, Family::Ipv6);
    eprintln!("SNMP system polls over fibre:\n  {}", measured.join("\n  "));
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_required_v3_protocol_pair_answers_over_a_fibre_link_on_both_families() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let pairs: &[(&str, AuthProtocol, Option<PrivProtocol>)] = &[
        ("md5-des", AuthProtocol::Md5, Some(PrivProtocol::Des)),
        ("sha1-aes128", AuthProtocol::Sha1, Some(PrivProtocol::Aes128)),
        ("sha256-aes128", AuthProtocol::Sha256, Some(PrivProtocol::Aes128)),
        ("sha512-aes256", AuthProtocol::Sha512, Some(PrivProtocol::Aes256)),
        // Beyond the required four: the other digests, and the short digests whose AES-192/256
        // keys need stretching (net-snmp's Blumenthal extension).
        ("sha224-aes192", AuthProtocol::Sha224, Some(PrivProtocol::Aes192)),
        ("sha384-aes256", AuthProtocol::Sha384, Some(PrivProtocol::Aes256)),
        ("sha1-aes256", AuthProtocol::Sha1, Some(PrivProtocol::Aes256)),
        ("md5-aes192", AuthProtocol::Md5, Some(PrivProtocol::Aes192)),
        ("sha1-none", AuthProtocol::Sha1, None),
    ];
    let auth_pass = |user: &str| format!("{user}-auth-pass");
    let priv_pass = |user: &str| format!("{user}-priv-pass");
    let mut d = device("sw-v3", Some(block.v4(20)), Some(block.v6(0x20)), LinkModel::FIBRE);
    d.agent.as_mut().unwrap().users = pairs
        .iter()
        .map(|(user, auth, privacy)| V3User {
            name: (*user).into(),
            auth: Some((lab_twin::auth_protocol(*auth), auth_pass(user))),
            privacy: privacy.map(|p| (lab_twin::priv_protocol(p), priv_pass(user))),
        })
        .collect();
    let lab = Lab::up(spec(&block, 2, vec![d.clone()])).await.unwrap();
    let state = lab.state();
    let mut failures = Vec::new();
    for (user, auth, privacy) in pairs {
        let (ap, pp) = (auth_pass(user), priv_pass(user));
        for a in addresses(&d) {
            let credentials = v3(user, (*auth, &ap), privacy.map(|p| (p, pp.as_str())));
            let r = poll(&target(a, credentials), SnmpQuery::SYSTEM).await;
            if r.outcome != SnmpOutcome::Ok
                || r.system.as_ref().and_then(|s| s.name.as_deref()) != Some("sw-v3")
            {
                failures.push(format!("{user} at {a}: {} {:?}", r.outcome, r.detail));
            }
        }
    }
    assert!(failures.is_empty(), "pairs that did not answer: {failures:#?}");
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_outcomes_with_their_diagnosis_on_both_families() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let d = device("sw-cred", Some(block.v4(30)), Some(block.v6(0x30)), LinkModel::FIBRE);
    let lab = Lab::up(spec(&block, 3, vec![d.clone()])).await.unwrap();
    let state = lab.state();
    let secrets = ["not-the-community", "wrong-auth-pass", "wrong-priv-pass", AUTH_PASS, PRIV_PASS];
    let no_secret = |r: &SnmpReport| {
        let text = format!("{r:?}");
        for s in secrets {
            assert!(!text.contains(s), "a secret in the report: {text}");
        }
    };
    for a in addresses(&d) {
        // v2c: an agent never answers a wrong community, so it is a timeout that says so.
        let r = poll(&quick(a, v2c("not-the-community")), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::Timeout, "{a}: {r:#?}");
        let detail = r.detail.clone().unwrap();
        assert!(detail.contains("wrong community looks exactly like this"), "{detail}");
        assert!(detail.contains("2 attempt(s)") && r.system.is_none(), "{detail}");
        no_secret(&r);

        // A wrong authentication password: refused, and the agent knows the user.
        let wrong_auth = v3(
            USER,
            (AuthProtocol::Sha256, "wrong-auth-pass"),
            Some((PrivProtocol::Aes128, PRIV_PASS)),
        );
        let r = poll(&quick(a, wrong_auth), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::AuthFailed, "{a}: {r:#?}");
        let detail = r.detail.clone().unwrap();
        assert!(
            detail.contains("knows SNMPv3 user \"vigia\" but refused its credentials at authPriv"),
            "{detail}"
        );
        no_secret(&r);

        // A wrong privacy password: net-snmp cannot decrypt the request and drops it; the
        // diagnosis says so, and that the agent answered discovery.
        let wrong_priv = v3(
            USER,
            (AuthProtocol::Sha256, AUTH_PASS),
            Some((PrivProtocol::Aes128, "wrong-priv-pass")),
        );
        let r = poll(&quick(a, wrong_priv), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::Timeout, "{a}: {r:#?}");
        let detail = r.detail.clone().unwrap();
        assert!(detail.contains("though the agent answered SNMPv3 engine discovery"), "{detail}");
        assert!(
            detail.contains("a wrong privacy password or protocol looks exactly like this"),
            "{detail}"
        );
        no_secret(&r);

        // A user the agent does not have.
        let unknown = v3(
            "intruder",
            (AuthProtocol::Sha256, AUTH_PASS),
            Some((PrivProtocol::Aes128, PRIV_PASS)),
        );
        let r = poll(&quick(a, unknown), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::AuthFailed, "{a}: {r:#?}");
        let detail = r.detail.clone().unwrap();
        assert!(detail.contains("the agent has no SNMPv3 user \"intruder\""), "{detail}");
        no_secret(&r);

        // The right credentials still work: the failures above were the credentials'.
        assert_system(&poll(&target(a, v3_ok()), SnmpQuery::SYSTEM).await, "sw-cred", a);
    }
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_agent_is_refused_and_an_address_with_no_host_times_out() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let silent = LabDevice {
        agent: None,
        ..device("srv-no-snmp", Some(block.v4(40)), Some(block.v6(0x40)), LinkModel::LAN)
    };
    let absent = LabDevice {
        agent: None,
        present: false,
        ..device("sw-absent", Some(block.v4(41)), Some(block.v6(0x41)), LinkModel::FIBRE)
    };
    let lab = Lab::up(spec(&block, 4, vec![silent.clone(), absent.clone()])).await.unwrap();
    let state = lab.state();
    let icmp = Icmp::open().unwrap();
    for a in addresses(&silent) {
        let r = icmp.cycle(a, settings(3, 20, 2000)).await;
        assert_eq!((r.outcome, r.received), (IcmpOutcome::Ok, 3), "{a}: the host is there: {r:?}");
        for credentials in [v2c(COMMUNITY), v3_ok()] {
            let r = poll(&quick(a, credentials), SnmpQuery::SYSTEM).await;
            assert_eq!(r.outcome, SnmpOutcome::Refused, "{a}: {r:#?}");
            let detail = r.detail.unwrap();
            assert!(
                detail.contains("ICMP port unreachable: no SNMP agent listens on UDP port 161")
                    && !detail.contains("most likely"),
                "{detail}"
            );
            // Refused at once, not after waiting for a timeout.
            assert!(r.elapsed < Duration::from_millis(500), "{a}: {:?}", r.elapsed);
        }
    }
    for a in addresses(&absent) {
        let r = icmp.cycle(a, settings(3, 20, 500)).await;
        assert_eq!(r.outcome, IcmpOutcome::Timeout, "{a}: {r:?}");
        assert_eq!((r.sent, r.received), (3, 0));
        assert!(r.rtts.is_empty() && !r.reachable() && r.loss_ratio() == 1.0);
        assert_eq!(r.detail.as_deref(), Some("no reply to 3 echo(es) within 500 ms each"));
        let r = poll(&quick(a, v2c(COMMUNITY)), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::Timeout, "{a}: {r:#?}");
        assert!(r.detail.unwrap().contains("wrong community looks exactly like this"));
        let r = poll(&quick(a, v3_ok()), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::Timeout, "{a}: {r:#?}");
        let detail = r.detail.unwrap();
        assert!(
            detail.contains("no SNMP agent answered engine discovery, which needs no credentials"),
            "{detail}"
        );
    }
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_unreachable_is_a_failure_never_a_success() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    // Site routers, each answering "destination unreachable" from its own address for one
    // more address routed to it (Lab::route_unreachable). The kernel lets a namespace send a
    // source only about 5 IPv4 errors at once, then one a second: the echoes and the SNMP
    // polls go through routers of their own.
    let router = |id: &str, n: u8| LabDevice {
        agent: None,
        ..device(id, Some(block.v4(n)), Some(block.v6(u16::from(n))), LinkModel::FIBRE)
    };
    let routers =
        vec![router("rt-a", 50), router("rt-b", 51), router("rt-c", 52), router("rt-d", 53)];
    let lab = Lab::up(spec(&block, 5, routers)).await.unwrap();
    // (echoes via, SNMP via, refusal, address for echoes, for SNMP, ICMP and ICMPv6 type/code)
    let cases = [
        (
            "rt-a",
            "rt-c",
            Refusal::Unreachable,
            60u8,
            62u8,
            "ICMP type 3 code 1",
            "ICMPv6 type 1 code 0",
        ),
        (
            "rt-b",
            "rt-d",
            Refusal::Prohibited,
            61u8,
            63u8,
            "ICMP type 3 code 13",
            "ICMPv6 type 1 code 1",
        ),
    ];
    for (icmp_via, snmp_via, refusal, n, m, _, _) in cases {
        for (via, k) in [(icmp_via, n), (snmp_via, m)] {
            lab.route_unreachable(via, IpAddr::V4(block.v4(k)), refusal).await.unwrap();
            lab.route_unreachable(via, IpAddr::V6(block.v6(u16::from(k))), refusal).await.unwrap();
        }
    }
    // An address the lab already uses, an unknown router, an address outside the lab: refused.
    for (via, a) in [
        ("rt-a", IpAddr::V4(block.v4(51))),
        ("nope", IpAddr::V4(block.v4(70))),
        ("rt-a", "198.51.100.1".parse().unwrap()),
    ] {
        assert!(lab.route_unreachable(via, a, Refusal::Unreachable).await.is_err(), "{via} {a}");
    }
    let state = lab.state();
    let icmp = Icmp::open().unwrap();
    for (icmp_via, _, refusal, n, m, v4_what, v6_what) in cases {
        let router = lab.device(icmp_via).unwrap().clone();
        for (a, what, from) in [
            (IpAddr::V4(block.v4(n)), v4_what, IpAddr::V4(router.ipv4.unwrap())),
            (IpAddr::V6(block.v6(u16::from(n))), v6_what, IpAddr::V6(router.ipv6.unwrap())),
        ] {
            let r = icmp.cycle(a, settings(3, 100, 1000)).await;
            // Answers came back, and none of them counts as a reply.
            assert_eq!(r.outcome, IcmpOutcome::Unreachable, "{a}: {r:?}");
            assert_eq!((r.sent, r.received), (3, 0), "{a}: {r:?}");
            assert!(r.rtts.is_empty() && !r.reachable() && r.loss_ratio() == 1.0, "{r:?}");
            let detail = r.detail.clone().unwrap();
            assert_eq!(detail, format!("{what} from {from} instead of an echo reply"), "{a}");
        }
        // The router itself answers: the same namespace, the same link.
        for a in [IpAddr::V4(router.ipv4.unwrap()), IpAddr::V6(router.ipv6.unwrap())] {
            assert_eq!(icmp.cycle(a, settings(2, 20, 1000)).await.outcome, IcmpOutcome::Ok);
        }
        // SNMP to such an address is a timeout (the report has no unreachable outcome) whose
        // detail says what came back. "Prohibited" is a hard error every connected socket
        // sees; "host unreachable" a soft one, which only sockets asking for it (IP_RECVERR)
        // see: both of vigia's own sockets do (the shared v2c socket per family and the v3
        // discovery socket), so both name it at once instead of waiting out their attempts.
        for a in [IpAddr::V4(block.v4(m)), IpAddr::V6(block.v6(u16::from(m)))] {
            let r = poll(&quick(a, v2c(COMMUNITY)), SnmpQuery::SYSTEM).await;
            assert_eq!(r.outcome, SnmpOutcome::Timeout, "{a}: {r:#?}");
            let detail = r.detail.unwrap();
            // IPv4 gives "prohibited" the errno of "host unreachable"; IPv6 its own.
            let hard = if a.is_ipv4() {
                "ICMP says the agent cannot be reached"
            } else {
                "administratively prohibited"
            };
            let expected = match refusal {
                Refusal::Prohibited => hard,
                Refusal::Unreachable => "ICMP says the agent cannot be reached",
            };
            assert!(detail.contains(expected), "{a}: {detail}");
            let r = poll(&quick(a, v3_ok()), SnmpQuery::SYSTEM).await;
            assert_eq!(r.outcome, SnmpOutcome::Timeout, "{a}: {r:#?}");
            let detail = r.detail.unwrap();
            let expected = match refusal {
                Refusal::Prohibited => hard,
                Refusal::Unreachable => "ICMP says the agent cannot be reached",
            };
            assert!(detail.contains(expected), "{a}: {detail}");
            assert!(r.elapsed < Duration::from_millis(400), "answered at once: {:?}", r.elapsed);
        }
    }
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

/// Radio against fibre, as vigia's ICMP adapter measures them. The devices have no agent, so
/// nothing but these echoes crosses their links: with a fixed seed the link drops the same
/// packets every run, and the loss figures are reproducible to the echo (checked by building
/// the lab twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_radio_link_measured_by_vigias_icmp_adapter_against_a_fibre_link() {
    prerequisites();
    const SEED: u64 = 2026;
    const ECHOES: u32 = 1000;
    let block = AddressBlock::claim().unwrap();
    let radio = LabDevice {
        agent: None,
        ..device("sw-radio", Some(block.v4(80)), Some(block.v6(0x80)), LinkModel::RADIO)
    };
    let fibre = LabDevice {
        agent: None,
        ..device("sw-fibre", Some(block.v4(81)), Some(block.v6(0x81)), LinkModel::FIBRE)
    };
    let icmp = Icmp::open().unwrap();
    let mut runs = Vec::new();
    for run in 0..2 {
        let lab = Lab::up(spec(&block, SEED, vec![radio.clone(), fibre.clone()])).await.unwrap();
        let state = lab.state();
        let r4 = IpAddr::V4(block.v4(80));
        // 1,000 echoes 8 ms apart (8 s), each given 1 s: about 10 lost (0.5 % each way).
        let before = lab.link_counts("sw-radio").unwrap();
        let radio4 = icmp.cycle(r4, settings(ECHOES, 8, 1000)).await;
        let after = lab.link_counts("sw-radio").unwrap();
        let lost_down = after.0.lost - before.0.lost;
        let lost_up = after.1.lost - before.1.lost;
        let radio6 = icmp.cycle(IpAddr::V6(block.v6(0x80)), settings(200, 8, 1000)).await;
        let fibre4 = icmp.cycle(IpAddr::V4(block.v4(81)), settings(300, 5, 1000)).await;
        let fibre6 = icmp.cycle(IpAddr::V6(block.v6(0x81)), settings(100, 5, 1000)).await;
        eprintln!(
            "run {run} (seed {SEED}):\n  {}\n  link lost {lost_down} echoes down, {lost_up} replies up\n  {}\n  {}\n  {}",
            figures("radio", &radio4),
            figures("radio", &radio6),
            figures("fibre", &fibre4),
            figures("fibre", &fibre6)
        );
        for r in [&radio4, &radio6, &fibre4, &fibre6] {
            assert_eq!(r.outcome, IcmpOutcome::Ok, "{r:?}");
        }
        assert_eq!(radio4.sent, ECHOES);
        // Every loss vigia counted is one the link made, and the other way round: no reply
        // was missed by the adapter, none counted twice.
        assert_eq!(
            u64::from(radio4.sent - radio4.received),
            lost_down + lost_up,
            "{}",
            figures("radio", &radio4)
        );
        assert!(lost_down > 0 && lost_up > 0, "loss in both directions: {lost_down} {lost_up}");
        let loss = radio4.loss_ratio();
        assert!((0.002..=0.03).contains(&loss), "radio loss {:.2} %", loss * 100.0);
        // Each way is 10-20 ms: no echo comes back in under 20 ms, and the adapter's clock
        // starts before the send, so it never reads under the link's delay.
        for r in [&radio4, &radio6] {
            assert!(r.rtt_min().unwrap() >= Duration::from_millis(20), "{}", figures("radio", r));
            let mean = r.rtt_avg().unwrap();
            assert!(
                (Duration::from_millis(27)..=Duration::from_millis(40)).contains(&mean),
                "{}",
                figures("radio", r)
            );
            assert!(r.jitter().unwrap() >= Duration::from_millis(2), "{}", figures("radio", r));
        }
        for r in [&fibre4, &fibre6] {
            assert_eq!(r.received, r.sent, "fibre loses nothing: {}", figures("fibre", r));
            assert!(r.rtt_min().unwrap() >= Duration::from_micros(900), "{}", figures("fibre", r));
            assert!(median(r) <= Duration::from_millis(3), "{}", figures("fibre", r));
        }
        let gap = radio4.rtt_avg().unwrap() - fibre4.rtt_avg().unwrap();
        assert!(gap >= Duration::from_millis(20), "radio - fibre = {gap:?}");
        runs.push((radio4.received, lost_down, lost_up, radio6.received));
        lab.down().await.unwrap();
        assert_nothing_remains(&state);
    }
    assert_eq!(runs[0], runs[1], "the same seed, the same packets: the same losses");
}

/// One v3 system poll per family, fed to that family's tracker: (when, sysUpTime, restarted).
async fn poll_all(
    id: &str,
    trackers: &mut [(IpAddr, AgentTracker)],
) -> Vec<(chrono::DateTime<Utc>, u32, bool)> {
    let mut out = Vec::new();
    for (a, tracker) in trackers.iter_mut() {
        let at = Utc::now();
        let r = poll(&target(*a, v3_ok()), SnmpQuery::SYSTEM).await;
        assert_system(&r, id, *a);
        let ticks = r.system.as_ref().unwrap().uptime_ticks.unwrap();
        out.push((at, ticks, tracker.observe(at, &r).restarted));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_restart_is_seen_through_sys_uptime_on_both_families() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let d = device("rt-1", Some(block.v4(90)), Some(block.v6(0x90)), LinkModel::LAN);
    let lab = Lab::up(spec(&block, 6, vec![d.clone()])).await.unwrap();
    let state = lab.state();
    let mut trackers: Vec<(IpAddr, AgentTracker)> =
        addresses(&d).into_iter().map(|a| (a, AgentTracker::default())).collect();
    let mut readings = Vec::new();
    readings.push(poll_all("rt-1", &mut trackers).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    readings.push(poll_all("rt-1", &mut trackers).await);
    lab.restart_agent("rt-1").await.unwrap();
    readings.push(poll_all("rt-1", &mut trackers).await);
    eprintln!("(at, sysUpTime, restarted) per family and poll: {readings:?}");
    for family in 0..2 {
        let [first, second, third] =
            [readings[0][family], readings[1][family], readings[2][family]];
        assert!(!first.2 && !second.2, "no restart while it runs: {readings:?}");
        assert!(second.1 > first.1 + 100, "sysUpTime advanced with the clock: {readings:?}");
        assert!(third.2, "the tracker saw the restart: {readings:?}");
        assert!(third.1 < second.1, "sysUpTime started again: {readings:?}");
        let elapsed = (third.0 - second.0).to_std().unwrap();
        assert!(counters::restarted(second.1, third.1, elapsed));
        assert!(!counters::restarted(first.1, second.1, (second.0 - first.0).to_std().unwrap()));
    }
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interface_counters_move_between_two_polls_when_traffic_flows() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let d = device("sw-if", Some(block.v4(100)), Some(block.v6(0x100)), LinkModel::FIBRE);
    let lab = Lab::up(spec(&block, 7, vec![d.clone()])).await.unwrap();
    let state = lab.state();
    let query = SnmpQuery { interfaces: true, ..SnmpQuery::SYSTEM };
    let v4 = IpAddr::V4(block.v4(100));
    let eth0 = |r: &SnmpReport| {
        assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
        let names: Vec<&str> = r.interfaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lo", "eth0"], "the namespace has lo and its end of the link");
        r.interfaces.iter().find(|i| i.name == "eth0").unwrap().clone()
    };
    let mut tracker = AgentTracker::default();
    let first_at = Utc::now();
    let first = poll(&target(v4, v2c(COMMUNITY)), query).await;
    let before = eth0(&first);
    tracker.observe(first_at, &first);
    assert_eq!(
        (before.oper_up, before.admin_up, before.counter_bits),
        (Some(true), Some(true), 64)
    );
    // The same table over IPv6.
    let over_v6 = poll(&target(IpAddr::V6(block.v6(0x100)), v3_ok()), query).await;
    assert_eq!(eth0(&over_v6).index, before.index);

    // 200 echoes each way over both families: 100 × 44 bytes (IPv4) + 100 × 64 (IPv6) in
    // each direction of eth0, besides the SNMP traffic itself.
    let icmp = Icmp::open().unwrap();
    for a in addresses(&d) {
        let r = icmp.cycle(a, settings(100, 2, 1000)).await;
        assert_eq!(r.received, 100, "{r:?}");
    }
    const ECHO_BYTES: u64 = 100 * 44 + 100 * 64;
    // net-snmp caches the interface table for a few seconds: poll until the counters show
    // the traffic, for 15 s at most.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let (after, report, at) = loop {
        let at = Utc::now();
        let r = poll(&target(v4, v2c(COMMUNITY)), query).await;
        let now = eth0(&r);
        if now.in_octets.unwrap() >= before.in_octets.unwrap() + ECHO_BYTES
            && now.out_octets.unwrap() >= before.out_octets.unwrap() + ECHO_BYTES
        {
            break (now, r, at);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "eth0 counters did not move by {ECHO_BYTES} bytes in 15 s: {before:?} -> {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!(
        "eth0: in {} -> {} octets, out {} -> {}",
        before.in_octets.unwrap(),
        after.in_octets.unwrap(),
        before.out_octets.unwrap(),
        after.out_octets.unwrap()
    );
    let seen = tracker.observe(at, &report);
    assert!(!seen.restarted);
    let totals = seen.interfaces.iter().find(|t| t.index == after.index).unwrap();
    assert_eq!(totals.in_octets, after.in_octets, "the first reading starts the total");
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_device_strings_are_read_safe_and_bounded() {
    // A real snmpd serving, through the lab's pass_persist table, a chassis whose serial holds a
    // terminal escape, a NUL, invalid UTF-8, a bidirectional override and 300 more bytes, and
    // whose model is 440 bytes of text with line breaks (kept under one Ethernet frame: the
    // 64 KiB case is the unit tests' of poll::text, which a UDP answer cannot carry).
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let mut d = device("sw-x", Some(block.v4(92)), None, LinkModel::LAN);
    let chassis = vigia_lab::PhysicalEntity {
        descr: "chassis".into(),
        class: vigia_lab::served::CLASS_CHASSIS,
        name: "chassis".into(),
        serial: "placeholder".into(),
        mfg_name: "Cisco".into(),
        model: "WS-C2960X\r\n".repeat(40),
        ..vigia_lab::PhysicalEntity::default()
    };
    let mut table = vigia_lab::ServedTable::entity(&[chassis]);
    let mut serial = b"SN\x1b[31m\x00\xff\xfe".to_vec();
    serial.extend("\u{202E}".as_bytes());
    serial.extend([b'9'; 300]);
    let serial_oid = vigia_lab::Oid::parse(".1.3.6.1.2.1.47.1.1.1.1.11.1").unwrap();
    table.objects.insert(serial_oid, vigia_lab::Value::bytes(&serial));
    d.agent.as_mut().unwrap().served = table;
    let mut spec = spec(&block, 8, vec![d]);
    spec.served_program = lab_twin::served_program();
    let lab = Lab::up(spec).await.unwrap();
    let state = lab.state();
    let query = SnmpQuery {
        system: true,
        interfaces: false,
        entity: true,
        host_resources: false,
        radio: RadioQuery::No,
        optics: false,
    };
    let r = poll(&target(IpAddr::V4(block.v4(92)), v3_ok()), query).await;
    lab.down().await.unwrap();
    assert_nothing_remains(&state);

    assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
    let e = r.entity.as_ref().expect("the chassis was read");
    let serial = e.serial.as_deref().unwrap();
    // Escape, NUL and override replaced, invalid bytes replaced, never dropped; cut at 255
    // characters and marked.
    assert!(serial.starts_with("SN\u{FFFD}[31m\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}999"), "{serial:?}");
    assert_eq!(serial.chars().count(), vigia::poll::text::MAX_DEVICE_TEXT_CHARS + 1);
    assert!(serial.ends_with(vigia::poll::text::CUT_MARK));
    let model = e.model.as_deref().unwrap();
    assert!(model.starts_with("WS-C2960X WS-C2960X "), "line breaks are one space: {model:?}");
    assert_eq!(model.chars().count(), vigia::poll::text::MAX_DEVICE_TEXT_CHARS + 1);
    for text in [serial, model] {
        assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
    }
    // What the state keeps, and the history stores, is the same safe text.
    let facts = r.facts();
    assert!(facts.iter().any(|(f, v)| *f == vigia::poll::Fact::Serial && v == serial), "{facts:?}");
}
