//! The SNMP adapter against real net-snmp agents on loopback, over IPv4 and IPv6, v2c and v3.
//! Each test starts its own snmpd (tests/support/snmpd.rs) on a free port and kills it after.

// Tests read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/snmpd.rs"]
mod snmpd;

use std::net::SocketAddr;
use std::time::Duration;

use hostile::{Behaviour, Hostile};
use snmpd::Snmpd;
use vigia::inventory::{AuthProtocol, PrivProtocol};
use vigia::poll::{SnmpCost, SnmpOutcome, SnmpReport, Truncation};
use vigia::probe::snmp::{
    Credentials, PollOptions, SnmpSockets, SnmpTarget, poll, poll_shared, poll_with,
};
use vigia::probe::{RadioQuery, SnmpQuery};

const NAME: &str = "sw-test-01";
const LOCATION: &str = "Tacna, sala de servidores";
const CONTACT: &str = "infraestructura@example.org";
const DESCR: &str = "vigia test agent (net-snmp)";

fn system_config() -> String {
    format!("sysName {NAME}\nsysLocation {LOCATION}\nsysContact {CONTACT}\nsysDescr {DESCR}\n")
}

fn v2c(community: &str) -> Credentials {
    Credentials::V2c { community: community.into() }
}

fn v3(
    user: &str,
    auth: Option<(AuthProtocol, &str)>,
    privacy: Option<(PrivProtocol, &str)>,
) -> Credentials {
    Credentials::V3 {
        user: user.into(),
        auth: auth.map(|(p, s)| (p, s.into())),
        privacy: privacy.map(|(p, s)| (p, s.into())),
    }
}

fn target(addr: SocketAddr, credentials: Credentials) -> SnmpTarget {
    // Generous: the machine is shared, and a positive test must not flake on a slow reply.
    SnmpTarget {
        address: addr.ip(),
        port: addr.port(),
        credentials,
        timeout: Duration::from_secs(2),
        retries: 1,
        deadline: Duration::from_secs(60),
    }
}

fn quick(addr: SocketAddr, credentials: Credentials) -> SnmpTarget {
    SnmpTarget { timeout: Duration::from_millis(300), ..target(addr, credentials) }
}

fn assert_system(r: &SnmpReport) {
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
    let s = r.system.as_ref().expect("system group");
    assert_eq!(s.name.as_deref(), Some(NAME));
    assert_eq!(s.location.as_deref(), Some(LOCATION));
    assert_eq!(s.contact.as_deref(), Some(CONTACT));
    assert_eq!(s.descr.as_deref(), Some(DESCR));
    // net-snmp's own enterprise OID for Linux agents.
    assert!(s.object_id.as_deref().unwrap_or("").starts_with("1.3.6.1.4.1.8072."), "{s:?}");
    assert!(s.uptime_ticks.is_some());
}

#[tokio::test]
async fn v2c_reads_the_configured_system_group_over_ipv4_and_ipv6() {
    let agent = Snmpd::start(&format!(
        "rocommunity public 127.0.0.1\nrocommunity6 public ::1\n{}",
        system_config()
    ));
    for addr in [agent.v4(), agent.v6()] {
        let r = poll(&target(addr, v2c("public")), SnmpQuery::SYSTEM).await;
        assert_system(&r);
        assert_eq!(r.address, addr.ip());
        assert_eq!(r.family.as_str(), if addr.is_ipv4() { "ipv4" } else { "ipv6" });
        assert_eq!(r.detail, None);
        // One GET of the six system objects, answered at once.
        assert_eq!(r.cost, SnmpCost { requests: 1, retries: 0, varbinds: 6 });
    }
}

/// A v3 user of the test agent: vigia's protocol names and net-snmp's spelling of them.
struct V3User {
    name: &'static str,
    auth: Option<(AuthProtocol, &'static str)>,
    privacy: Option<(PrivProtocol, &'static str)>,
}

const fn user(
    name: &'static str,
    auth: Option<(AuthProtocol, &'static str)>,
    privacy: Option<(PrivProtocol, &'static str)>,
) -> V3User {
    V3User { name, auth, privacy }
}

/// Every security level and the protocol pairs net-snmp 5.9.3 offers.
const V3_USERS: &[V3User] = &[
    user("noauth", None, None),
    user("md5-none", Some((AuthProtocol::Md5, "MD5")), None),
    user("sha1-none", Some((AuthProtocol::Sha1, "SHA")), None),
    user("md5-des", Some((AuthProtocol::Md5, "MD5")), Some((PrivProtocol::Des, "DES"))),
    user("sha1-aes128", Some((AuthProtocol::Sha1, "SHA")), Some((PrivProtocol::Aes128, "AES"))),
    user(
        "sha224-aes192",
        Some((AuthProtocol::Sha224, "SHA-224")),
        Some((PrivProtocol::Aes192, "AES-192")),
    ),
    user(
        "sha256-aes128",
        Some((AuthProtocol::Sha256, "SHA-256")),
        Some((PrivProtocol::Aes128, "AES")),
    ),
    user(
        "sha384-aes256",
        Some((AuthProtocol::Sha384, "SHA-384")),
        Some((PrivProtocol::Aes256, "AES-256")),
    ),
    user(
        "sha512-aes256",
        Some((AuthProtocol::Sha512, "SHA-512")),
        Some((PrivProtocol::Aes256, "AES-256")),
    ),
    // Short hashes with long AES keys need the key stretched (net-snmp: Blumenthal).
    user("sha1-aes256", Some((AuthProtocol::Sha1, "SHA")), Some((PrivProtocol::Aes256, "AES-256"))),
    user("md5-aes192", Some((AuthProtocol::Md5, "MD5")), Some((PrivProtocol::Aes192, "AES-192"))),
];

fn auth_password(user: &str) -> String {
    format!("{user}-auth-pass")
}

fn priv_password(user: &str) -> String {
    format!("{user}-priv-pass")
}

fn v3_config() -> String {
    let mut c = system_config();
    for u in V3_USERS {
        let name = u.name;
        let level = match (u.auth, u.privacy) {
            (None, _) => {
                c.push_str(&format!("createUser {name}\n"));
                "noauth"
            }
            (Some((_, auth)), None) => {
                c.push_str(&format!("createUser {name} {auth} \"{}\"\n", auth_password(name)));
                "auth"
            }
            (Some((_, auth)), Some((_, privacy))) => {
                c.push_str(&format!(
                    "createUser {name} {auth} \"{}\" {privacy} \"{}\"\n",
                    auth_password(name),
                    priv_password(name)
                ));
                "priv"
            }
        };
        c.push_str(&format!("rouser {name} {level}\n"));
    }
    c
}

fn v3_creds(name: &str) -> Credentials {
    let u = V3_USERS.iter().find(|u| u.name == name).unwrap();
    let ap = auth_password(name);
    let pp = priv_password(name);
    v3(name, u.auth.map(|a| (a.0, ap.as_str())), u.privacy.map(|p| (p.0, pp.as_str())))
}

#[tokio::test]
async fn v3_every_level_and_protocol_pair_over_both_families() {
    let agent = Snmpd::start(&v3_config());
    for u in V3_USERS {
        for addr in [agent.v4(), agent.v6()] {
            let r = poll(&target(addr, v3_creds(u.name)), SnmpQuery::SYSTEM).await;
            assert_eq!(r.outcome, SnmpOutcome::Ok, "user {} at {addr}: {r:#?}", u.name);
            assert_system(&r);
        }
    }
}

#[tokio::test]
async fn a_wrong_community_times_out_and_says_it_may_be_the_community() {
    let agent = Snmpd::start(&format!(
        "rocommunity public 127.0.0.1\nrocommunity6 public ::1\n{}",
        system_config()
    ));
    for addr in [agent.v4(), agent.v6()] {
        let r = poll(&quick(addr, v2c("not-the-community")), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::Timeout, "{r:#?}");
        let detail = r.detail.unwrap();
        assert!(detail.contains("wrong community looks exactly like this"), "{detail}");
        assert!(detail.contains("2 attempt(s)"), "{detail}");
        assert!(!detail.contains("not-the-community"), "a secret in the detail: {detail}");
        assert_eq!(r.system, None);
        // The GET and its one retry, each dropped.
        assert_eq!(r.cost, SnmpCost { requests: 2, retries: 1, varbinds: 0 });
    }
}

#[tokio::test]
async fn wrong_v3_passwords_and_unknown_users_are_auth_failures_told_apart() {
    let agent = Snmpd::start(&v3_config());
    for addr in [agent.v4(), agent.v6()] {
        let wrong_auth = v3(
            "sha256-aes128",
            Some((AuthProtocol::Sha256, "not-the-password")),
            Some((PrivProtocol::Aes128, &priv_password("sha256-aes128"))),
        );
        let r = poll(&quick(addr, wrong_auth), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::AuthFailed, "{r:#?}");
        let detail = r.detail.unwrap();
        assert!(detail.contains("knows SNMPv3 user \"sha256-aes128\""), "{detail}");
        assert!(!detail.contains("not-the-password") && !detail.contains("priv-pass"), "{detail}");

        let unknown = v3("nobody", Some((AuthProtocol::Sha1, "whatever-pass")), None);
        let r = poll(&quick(addr, unknown), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::AuthFailed, "{r:#?}");
        assert!(r.detail.as_deref().unwrap().contains("no SNMPv3 user \"nobody\""), "{r:#?}");

        // noAuthNoPriv: the refusal is a Report PDU instead of a Response.
        let r = poll(&quick(addr, v3("nobody", None, None)), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::AuthFailed, "{r:#?}");
        assert!(r.detail.as_deref().unwrap().contains("no SNMPv3 user \"nobody\""), "{r:#?}");

        // The wrong protocol is a wrong digest too.
        let wrong_protocol =
            v3("sha1-none", Some((AuthProtocol::Md5, &auth_password("sha1-none"))), None);
        let r = poll(&quick(addr, wrong_protocol), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::AuthFailed, "{r:#?}");
    }
}

#[tokio::test]
async fn a_wrong_privacy_password_is_a_silent_drop_and_says_so() {
    let agent = Snmpd::start(&v3_config());
    let user = "sha256-aes128";
    let creds = v3(
        user,
        Some((AuthProtocol::Sha256, &auth_password(user))),
        Some((PrivProtocol::Aes128, "not-the-priv-pass")),
    );
    let r = poll(&quick(agent.v4(), creds), SnmpQuery::SYSTEM).await;
    assert_eq!(r.outcome, SnmpOutcome::Timeout, "{r:#?}");
    let detail = r.detail.unwrap();
    assert!(detail.contains("answered SNMPv3 engine discovery"), "{detail}");
    assert!(detail.contains("wrong privacy password"), "{detail}");
}

#[tokio::test]
async fn a_security_level_below_the_users_is_denied() {
    let agent = Snmpd::start(&v3_config());
    let user = "sha256-aes128";
    let r = poll(
        &quick(agent.v4(), v3(user, Some((AuthProtocol::Sha256, &auth_password(user))), None)),
        SnmpQuery::SYSTEM,
    )
    .await;
    assert_eq!(r.outcome, SnmpOutcome::AuthFailed, "{r:#?}");
    assert!(r.detail.as_deref().unwrap().contains("authorizationError"), "{r:#?}");
}

#[tokio::test]
async fn cisco_style_aes256_keys_are_found_by_trying_the_other_extension() {
    // net-snmp's AES-256-C is the Reeder key extension Cisco uses; vigia tries Blumenthal
    // first and switches when the agent drops the request it cannot decrypt.
    let agent = Snmpd::start(&format!(
        "{}createUser reeder SHA \"reeder-auth-pass\" AES-256-C \"reeder-priv-pass\"\nrouser reeder priv\n",
        system_config()
    ));
    let creds = v3(
        "reeder",
        Some((AuthProtocol::Sha1, "reeder-auth-pass")),
        Some((PrivProtocol::Aes256, "reeder-priv-pass")),
    );
    for _ in 0..2 {
        let r = poll(&target(agent.v4(), creds.clone()), SnmpQuery::SYSTEM).await;
        assert_system(&r);
    }
}

#[tokio::test]
async fn a_port_without_an_agent_is_refused() {
    let port = snmpd::free_port();
    // The agent's shared sockets are not connected: the ICMP error comes through the socket's
    // error queue, which names the destination. Twice over one pool: the error is not stuck.
    let pool = SnmpSockets::new();
    for ip in ["127.0.0.1", "::1", "127.0.0.1", "::1"] {
        let addr = SocketAddr::new(ip.parse().unwrap(), port);
        for creds in [v2c("public"), v3("u", Some((AuthProtocol::Sha1, "password1")), None)] {
            let r =
                poll_shared(&quick(addr, creds), SnmpQuery::SYSTEM, &PollOptions::default(), &pool)
                    .await;
            assert_eq!(r.outcome, SnmpOutcome::Refused, "{r:#?}");
            assert!(r.detail.as_deref().unwrap().contains(&format!("UDP port {port}")), "{r:#?}");
        }
    }
}

#[tokio::test]
async fn an_agent_whose_view_hides_the_system_group_is_no_such_object() {
    let agent = Snmpd::start(
        "view nosystem included .1.3.6.1.2.1.2\n\
         rocommunity hidden 127.0.0.1 -V nosystem\n\
         rocommunity6 hidden ::1 -V nosystem\n",
    );
    for addr in [agent.v4(), agent.v6()] {
        let r = poll(&target(addr, v2c("hidden")), SnmpQuery::SYSTEM).await;
        assert_eq!(r.outcome, SnmpOutcome::NoSuchObject, "{r:#?}");
        assert!(r.detail.as_deref().unwrap().contains("no system group"), "{r:#?}");
    }
}

const FULL: SnmpQuery = SnmpQuery {
    system: true,
    interfaces: true,
    entity: true,
    host_resources: true,
    radio: RadioQuery::No,
    optics: false,
};
const INTERFACES: SnmpQuery = SnmpQuery {
    system: true,
    interfaces: true,
    entity: false,
    host_resources: false,
    radio: RadioQuery::No,
    optics: false,
};

fn assert_sane_interfaces(r: &SnmpReport, bits: u8) {
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
    let lo =
        r.interfaces.iter().find(|i| i.name == "lo").unwrap_or_else(|| panic!("no lo in {r:#?}"));
    // softwareLoopback(24), up and up.
    assert_eq!(lo.if_type, Some(24));
    assert_eq!((lo.oper_up, lo.admin_up), (Some(true), Some(true)));
    assert_eq!(lo.counter_bits, bits, "{lo:?}");
    // This very poll crossed lo: its counters cannot be zero.
    assert!(lo.in_octets.unwrap() > 0 && lo.out_octets.unwrap() > 0, "{lo:?}");
    assert!(lo.in_errors.is_some() && lo.out_discards.is_some(), "{lo:?}");
    let mut indices: Vec<u32> = r.interfaces.iter().map(|i| i.index).collect();
    indices.dedup();
    assert_eq!(indices.len(), r.interfaces.len(), "one row per ifIndex");
    for i in &r.interfaces {
        assert!(!i.name.is_empty() && i.index > 0, "{i:?}");
    }
}

#[tokio::test]
async fn interfaces_are_walked_over_v2c_and_v3_on_both_families() {
    let agent = Snmpd::start(&format!(
        "rocommunity public 127.0.0.1\nrocommunity6 public ::1\n{}",
        v3_config()
    ));
    for addr in [agent.v4(), agent.v6()] {
        for creds in [v2c("public"), v3_creds("sha512-aes256"), v3_creds("noauth")] {
            let v3 = matches!(creds, Credentials::V3 { .. });
            let r = poll(&target(addr, creds), INTERFACES).await;
            assert_sane_interfaces(&r, 64);
            assert_eq!(r.detail, None);
            // The system GET, the walk's GETBULKs (and for v3 engine discovery), no retry; at
            // least the six system objects and every interface's columns came back.
            assert_eq!(r.cost.retries, 0, "{:?}", r.cost);
            assert!(r.cost.requests >= 2 + u32::from(v3), "{:?}", r.cost);
            let rows = u32::try_from(r.interfaces.len()).unwrap();
            assert!(r.cost.varbinds >= 6 + 2 * rows, "{:?}", r.cost);
        }
    }
}

#[tokio::test]
async fn octet_counters_fall_back_to_32_bits_where_the_64_bit_columns_are_missing() {
    let agent = Snmpd::start(
        "view no64 included .1\n\
         view no64 excluded .1.3.6.1.2.1.31.1.1.1.6\n\
         view no64 excluded .1.3.6.1.2.1.31.1.1.1.10\n\
         rocommunity no64 127.0.0.1 -V no64\n\
         rocommunity public 127.0.0.1\n",
    );
    let r = poll(&target(agent.v4(), v2c("no64")), INTERFACES).await;
    assert_sane_interfaces(&r, 32);
    // Everything else is still read from ifXTable.
    assert!(r.interfaces.iter().any(|i| i.speed_mbps.is_some()), "{r:#?}");
    let full = poll(&target(agent.v4(), v2c("public")), INTERFACES).await;
    assert_sane_interfaces(&full, 64);
    assert_eq!(r.interfaces.len(), full.interfaces.len());
}

#[tokio::test]
async fn entity_mib_model_serial_and_software_come_from_the_first_entity_with_a_model() {
    let agent = Snmpd::start(
        "rocommunity public 127.0.0.1\n\
         override .1.3.6.1.2.1.47.1.1.1.1.13.1 octet_str \"\"\n\
         override .1.3.6.1.2.1.47.1.1.1.1.13.2 octet_str \"WS-C2960X-24TS-L\"\n\
         override .1.3.6.1.2.1.47.1.1.1.1.11.1 octet_str \"NOT-THIS-ONE\"\n\
         override .1.3.6.1.2.1.47.1.1.1.1.11.2 octet_str \"FOC1234X0AB\"\n\
         override .1.3.6.1.2.1.47.1.1.1.1.10.2 octet_str \"15.2(7)E3\"\n\
         override .1.3.6.1.2.1.47.1.1.1.1.13.3 octet_str \"C2960X-STACK\"\n",
    );
    let q = SnmpQuery {
        system: true,
        interfaces: false,
        entity: true,
        host_resources: false,
        radio: RadioQuery::No,
        optics: false,
    };
    let r = poll(&target(agent.v4(), v2c("public")), q).await;
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
    let e = r.entity.expect("entity");
    assert_eq!(e.model.as_deref(), Some("WS-C2960X-24TS-L"));
    assert_eq!(e.serial.as_deref(), Some("FOC1234X0AB"));
    assert_eq!(e.software_rev.as_deref(), Some("15.2(7)E3"));
}

#[tokio::test]
async fn missing_optional_tables_leave_the_outcome_ok() {
    // net-snmp has no ENTITY-MIB of its own; a view without IF-MIB and HOST-RESOURCES.
    let agent =
        Snmpd::start("view sys included .1.3.6.1.2.1.1\nrocommunity public 127.0.0.1 -V sys\n");
    let r = poll(&target(agent.v4(), v2c("public")), FULL).await;
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
    assert!(r.system.is_some());
    assert!(r.interfaces.is_empty() && r.entity.is_none() && r.host.is_none(), "{r:#?}");
    let detail = r.detail.unwrap();
    assert!(detail.contains("no IF-MIB") && detail.contains("no HOST-RESOURCES"), "{detail}");
}

#[tokio::test]
async fn host_resources_from_snmpd_own_host() {
    let agent = Snmpd::start("rocommunity public 127.0.0.1\nrocommunity6 public ::1\n");
    let q = SnmpQuery {
        system: true,
        interfaces: false,
        entity: false,
        host_resources: true,
        radio: RadioQuery::No,
        optics: false,
    };
    let r = poll(&target(agent.v6(), v2c("public")), q).await;
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
    let h = r.host.expect("host resources");
    let ram = h.memory_total_bytes.expect("hrStorageRam");
    // This machine's RAM as the kernel counts it, against what snmpd reports.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ram, kib * 1024, "hrStorageRam size x units");
    assert!(h.memory_used_bytes.unwrap() > 0 && h.memory_used_bytes.unwrap() <= ram);
    let root =
        h.disks.iter().find(|d| d.descr == "/").unwrap_or_else(|| panic!("no / in {:?}", h.disks));
    assert!(root.size_bytes > 0 && root.used_bytes <= root.size_bytes, "{root:?}");
    // net-snmp reports hrProcessorLoad only once it has a minute of CPU history.
    let deadline = std::time::Instant::now() + Duration::from_secs(100);
    let load = loop {
        let r = poll(&target(agent.v4(), v2c("public")), q).await;
        if let Some(load) = r.host.and_then(|h| h.cpu_load_percent) {
            break load;
        }
        assert!(std::time::Instant::now() < deadline, "no hrProcessorLoad after 100 s");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert!((0.0..=100.0).contains(&load), "{load}");
}

#[tokio::test]
async fn an_agent_restart_is_seen_through_sys_uptime_and_v3_polls_survive_it() {
    use chrono::Utc;
    use vigia::probe::snmp::AgentTracker;

    let mut agent = Snmpd::start(&format!("rocommunity public 127.0.0.1\n{}", v3_config()));
    let creds = [v2c("public"), v3_creds("sha256-aes128")];
    let mut trackers = [AgentTracker::default(), AgentTracker::default()];
    // A restart shows as sysUpTime going back: let the first agent's uptime grow past what a
    // fresh agent will have when polled again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut lo_before = [0, 0];
    for round in 0..2 {
        for (i, c) in creds.iter().enumerate() {
            let r = poll(&target(agent.v4(), c.clone()), INTERFACES).await;
            assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
            let seen = trackers[i].observe(Utc::now(), &r);
            assert!(!seen.restarted, "round {round}: no restart yet: {r:#?}");
            lo_before[i] =
                seen.interfaces.iter().find(|t| t.index == 1).unwrap().in_octets.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    agent.restart();
    for (i, c) in creds.iter().enumerate() {
        // v3: the agent's engine boots went up; each poll discovers the engine afresh.
        let r = poll(&target(agent.v4(), c.clone()), INTERFACES).await;
        assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
        let seen = trackers[i].observe(Utc::now(), &r);
        assert!(seen.restarted, "{r:#?}");
        let lo_after = seen.interfaces.iter().find(|t| t.index == 1).unwrap().in_octets.unwrap();
        assert!(lo_after >= lo_before[i], "totals never go back: {lo_before:?} -> {lo_after}");
        // And no restart when polled again without one.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = poll(&target(agent.v4(), c.clone()), SnmpQuery::SYSTEM).await;
        assert!(!trackers[i].observe(Utc::now(), &r).restarted);
    }
}

#[tokio::test]
async fn a_timed_out_request_does_not_poison_the_next_one() {
    let agent = Snmpd::start(&format!(
        "rocommunity public 127.0.0.1\nrocommunity6 public ::1\n{}",
        v3_config()
    ));

    // The trap is real here: on one snmp2 session, after a request times out and the agent
    // answers late, the next request reads that late answer and fails.
    {
        let oid = snmp2::Oid::from(&[1, 3, 6, 1, 2, 1, 1, 5, 0]).unwrap();
        let mut s = snmp2::AsyncSession::new_v2c(agent.v4(), b"public", 1).await.unwrap();
        agent.pause();
        assert!(tokio::time::timeout(Duration::from_millis(300), s.get(&oid)).await.is_err());
        agent.resume();
        let next = tokio::time::timeout(Duration::from_secs(5), s.get(&oid)).await.unwrap();
        assert!(matches!(next, Err(snmp2::Error::RequestIdMismatch)), "{next:?}");
    }

    // One pool for every poll, as in the agent: the late replies land on the socket the
    // retries and the next poll use.
    let pool = SnmpSockets::new();
    let o = PollOptions::default();
    for addr in [agent.v4(), agent.v6()] {
        for creds in [v2c("public"), v3_creds("sha1-aes128")] {
            let t = SnmpTarget {
                timeout: Duration::from_millis(400),
                retries: 3,
                ..target(addr, creds)
            };
            // The agent freezes; the first attempt times out, the agent wakes and answers
            // both the stale request and the retry.
            agent.pause();
            let wake = async {
                tokio::time::sleep(Duration::from_millis(700)).await;
                agent.resume();
            };
            let (r, ()) = tokio::join!(poll_shared(&t, INTERFACES, &o, &pool), wake);
            assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
            assert!(r.elapsed >= Duration::from_millis(400), "no request timed out: {r:#?}");
            assert_sane_interfaces(&r, 64);
            // The next poll, at once, is not one reply behind either.
            let r = poll_shared(&t, INTERFACES, &o, &pool).await;
            assert_sane_interfaces(&r, 64);
        }
    }
}

// Misbehaving agents (tests/support/hostile.rs): what net-snmp cannot be made to do. Each
// poll runs under a generous outer timeout so that a regression fails instead of hanging.

async fn against(agent: &Hostile, t: &SnmpTarget, query: SnmpQuery) -> SnmpReport {
    tokio::time::timeout(Duration::from_secs(120), poll(t, query))
        .await
        .unwrap_or_else(|_| panic!("the poll of {} did not end", agent.addr()))
}

#[tokio::test]
async fn an_agent_stuffing_its_getbulk_replies_is_cut_to_what_was_asked_and_says_so() {
    // 5 times the repetitions asked, over a table of 5,000 interfaces: the agent of issue 16
    // made 89,881 interfaces of one poll this way.
    let agent = Hostile::start(Behaviour { rows: 5_000, stuff: 5, ..Behaviour::default() });
    let r = against(&agent, &target(agent.addr(), v2c("public")), INTERFACES).await;
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
    assert_eq!(r.truncated, Some(Truncation::Varbinds), "{:?}", r.detail);
    let detail = r.detail.as_deref().unwrap_or("");
    assert!(detail.contains("more varbinds than asked"), "{detail}");
    assert!(!r.interfaces.is_empty());
    assert!(r.interfaces.len() <= PollOptions::default().max_rows, "{}", r.interfaces.len());
    assert!(r.cost.requests <= PollOptions::default().max_walk_requests + 1, "{:?}", r.cost);
    // The excess is not even decoded: one varbind past what was asked, per reply.
    let most = PollOptions::default().bulk_varbinds + 1;
    assert!(r.cost.varbinds <= r.cost.requests * most, "{:?}", r.cost);
}

#[tokio::test]
async fn an_agent_answering_just_inside_the_timeout_is_stopped_at_the_polls_deadline() {
    // Every answer 100 ms late against a 1 s timeout, an endless table: without a deadline for
    // the whole poll, 500 GETBULKs (about 13 minutes at the defaults in issue 16).
    let agent = Hostile::start(Behaviour {
        rows: u32::MAX,
        delay: Duration::from_millis(100),
        ..Behaviour::default()
    });
    let t = SnmpTarget {
        timeout: Duration::from_secs(1),
        deadline: Duration::from_millis(1_500),
        ..target(agent.addr(), v2c("public"))
    };
    let r = against(&agent, &t, INTERFACES).await;
    assert_eq!(r.outcome, SnmpOutcome::Ok, "the system group was read: {r:#?}");
    assert_eq!(r.truncated, Some(Truncation::Deadline), "{:?}", r.detail);
    let detail = r.detail.as_deref().unwrap_or("");
    assert!(detail.contains("deadline"), "{detail}");
    // What was read by the deadline is kept.
    assert!(!r.interfaces.is_empty(), "{r:#?}");
    // A request takes at least the agent's 100 ms: 1.5 s hold 15 at most, the one cut at the
    // deadline included.
    assert!(agent.requests() <= 16, "{} requests", agent.requests());
}

#[tokio::test]
async fn huge_values_end_the_walk_at_the_polls_byte_budget() {
    // Every cell a 20,000-byte string: about 3 per reply, 8 MiB after some 140 replies.
    let agent =
        Hostile::start(Behaviour { rows: 10_000, value_bytes: 20_000, ..Behaviour::default() });
    let r = against(&agent, &target(agent.addr(), v2c("public")), INTERFACES).await;
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
    assert_eq!(r.truncated, Some(Truncation::Bytes), "{:?}", r.detail);
    assert!(r.cost.requests < PollOptions::default().max_walk_requests, "{:?}", r.cost);
    // The strings kept are cut for display too (replies this large hold the first columns
    // only, ifName and ifDescr).
    assert!(!r.interfaces.is_empty());
    for i in &r.interfaces {
        assert_eq!(
            i.name.chars().count(),
            vigia::poll::text::MAX_DEVICE_TEXT_CHARS + 1,
            "{:.40}",
            i.name
        );
    }
}

#[tokio::test]
async fn a_smaller_row_limit_is_kept_and_recorded() {
    let agent = Hostile::start(Behaviour { rows: 300, ..Behaviour::default() });
    let options = PollOptions { max_rows: 50, ..PollOptions::default() };
    let t = target(agent.addr(), v2c("public"));
    let r = poll_with(&t, INTERFACES, &options).await;
    assert_eq!(r.truncated, Some(Truncation::Rows), "{:?}", r.detail);
    assert_eq!(r.interfaces.len(), 50);
    // An agent with fewer rows than the limit is read whole and not marked.
    let agent = Hostile::start(Behaviour { rows: 50, ..Behaviour::default() });
    let r = poll_with(&target(agent.addr(), v2c("public")), INTERFACES, &options).await;
    assert_eq!((r.truncated, r.interfaces.len(), r.detail), (None, 50, None));
}

#[tokio::test]
async fn replies_to_another_request_are_a_decode_error_that_says_so_not_a_timeout() {
    let agent = Hostile::start(Behaviour { request_id_offset: 1, ..Behaviour::default() });
    let r = against(&agent, &quick(agent.addr(), v2c("public")), SnmpQuery::SYSTEM).await;
    assert_eq!(r.outcome, SnmpOutcome::DecodeError, "{r:#?}");
    let detail = r.detail.as_deref().unwrap_or("");
    assert!(detail.contains("request-id mismatch"), "{detail}");
    assert!(!detail.contains("timeout") && !detail.contains("no answer"), "{detail}");
}

#[tokio::test]
async fn a_varbind_with_a_false_length_is_a_decode_error_not_no_such_object() {
    let agent = Hostile::start(Behaviour { false_length: true, ..Behaviour::default() });
    let r = against(&agent, &quick(agent.addr(), v2c("public")), SnmpQuery::SYSTEM).await;
    assert_eq!(r.outcome, SnmpOutcome::DecodeError, "{r:#?}");
    let detail = r.detail.as_deref().unwrap_or("");
    assert!(detail.contains("1 varbind(s) decoded where 6 were asked"), "{detail}");
}

#[tokio::test]
async fn a_sysdescr_with_terminal_escapes_and_60_kb_is_cleaned_and_cut() {
    let mut descr = b"Router\x1b]0;owned\x07\x1b[2J\r\nIOS \xe2\x80\xae".to_vec();
    descr.extend([b'A'; 59_000]);
    let agent = Hostile::start(Behaviour { descr, ..Behaviour::default() });
    let r = against(&agent, &target(agent.addr(), v2c("public")), SnmpQuery::SYSTEM).await;
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{:?}", r.detail);
    let descr = r.system.and_then(|s| s.descr).expect("sysDescr");
    assert!(
        descr.starts_with("Router\u{fffd}]0;owned\u{fffd}\u{fffd}[2J IOS \u{fffd}AAA"),
        "{descr:.80}"
    );
    assert!(!descr.chars().any(|c| c.is_control()), "{descr:.80}");
    assert_eq!(descr.chars().count(), vigia::poll::text::MAX_DEVICE_TEXT_CHARS + 1);
    assert!(descr.ends_with('…'));
}

#[tokio::test]
async fn garbled_replies_end_every_poll_with_an_outcome() {
    // One reply in five garbled (bytes replaced, bits flipped, cut short), 40 seeds
    // (VIGIA_FUZZ_CASES in scripts/fuzz): decoding must neither panic nor hang, and whatever it
    // keeps stays within the bounds.
    let cases = std::env::var("VIGIA_FUZZ_CASES").ok().and_then(|v| v.parse().ok());
    for seed in 0..cases.unwrap_or(40u64) {
        let agent =
            Hostile::start(Behaviour { rows: 20, garble: Some(seed), ..Behaviour::default() });
        let t = SnmpTarget {
            timeout: Duration::from_millis(200),
            deadline: Duration::from_secs(1),
            ..target(agent.addr(), v2c("public"))
        };
        let r = against(&agent, &t, INTERFACES).await;
        if r.outcome != SnmpOutcome::Ok {
            assert!(r.detail.is_some(), "seed {seed}: {r:#?}");
        }
        // A flipped index can add a row to one column: the poll's bound, not the table's.
        assert!(r.interfaces.len() <= PollOptions::default().max_rows, "seed {seed}: {r:#?}");
        let texts = r.system.iter().flat_map(|s| [&s.descr, &s.name, &s.location, &s.contact]);
        for text in texts.flatten() {
            assert!(!text.chars().any(char::is_control), "seed {seed}: {text:?}");
        }
    }
}

#[tokio::test]
async fn each_misbehaviour_ends_the_poll_with_its_outcome_and_says_why() {
    // (behaviour, query, outcome, a phrase of the detail, rows kept)
    let table = || Behaviour { rows: 30, ..Behaviour::default() };
    let cases: Vec<(&str, Behaviour, SnmpQuery, SnmpOutcome, &str)> = vec![
        (
            "a walk that goes back to the first row",
            Behaviour { backwards: true, ..table() },
            INTERFACES,
            SnmpOutcome::Ok,
            "out of order",
        ),
        (
            "cells named by 200-sub-identifier OIDs",
            Behaviour { oid_len: 200, ..table() },
            INTERFACES,
            SnmpOutcome::Ok,
            "more than 128 sub-identifiers",
        ),
        (
            "answers 400 ms late against a 300 ms timeout",
            Behaviour { delay: Duration::from_millis(400), ..table() },
            SnmpQuery::SYSTEM,
            SnmpOutcome::Timeout,
            "no answer",
        ),
        (
            "answers from another source port",
            Behaviour { other_source: true, ..table() },
            SnmpQuery::SYSTEM,
            SnmpOutcome::Timeout,
            "no answer",
        ),
        (
            "a GET answered with each varbind twice",
            Behaviour { stuff_get: true, ..table() },
            SnmpQuery::SYSTEM,
            SnmpOutcome::DecodeError,
            "more varbinds than that",
        ),
        (
            "a Report PDU to a v2c request",
            Behaviour { report_pdu: true, ..table() },
            SnmpQuery::SYSTEM,
            SnmpOutcome::DecodeError,
            "cannot decode",
        ),
    ];
    // One pool for every case, as in the agent: what one agent did stays with its polls.
    let pool = SnmpSockets::new();
    let o = PollOptions::default();
    for (what, behaviour, query, outcome, phrase) in cases {
        let agent = Hostile::start(behaviour);
        let t = quick(agent.addr(), v2c("public"));
        let polled = poll_shared(&t, query, &o, &pool);
        let r = tokio::time::timeout(Duration::from_secs(120), polled).await.expect(what);
        assert_eq!(r.outcome, outcome, "{what}: {r:#?}");
        let detail = r.detail.as_deref().unwrap_or("");
        assert!(detail.contains(phrase), "{what}: {detail}");
        assert!(r.interfaces.len() <= 30, "{what}: {}", r.interfaces.len());
    }
}

#[tokio::test]
async fn concurrent_polls_of_one_agent_through_one_pool_each_get_their_own_replies() {
    // 48 polls at once of the same agent (same address and port) over each family, through
    // one socket per family: every reply goes to the request whose id it carries. Beside them,
    // an agent answering with the wrong id and one answering from another port, through the
    // same pool: their replies reach neither the healthy polls nor their own.
    let agent = Snmpd::start(&format!(
        "rocommunity public 127.0.0.1\nrocommunity6 public ::1\n{}",
        system_config()
    ));
    let wrong_id = Hostile::start(Behaviour { request_id_offset: 1, ..Behaviour::default() });
    let other_port = Hostile::start(Behaviour { other_source: true, ..Behaviour::default() });
    let pool = SnmpSockets::new();
    let o = PollOptions::default();
    let targets: Vec<SnmpTarget> = (0..48)
        .flat_map(|_| [agent.v4(), agent.v6()])
        .map(|a| SnmpTarget { retries: 3, ..target(a, v2c("public")) })
        .collect();
    let odd = [quick(wrong_id.addr(), v2c("public")), quick(other_port.addr(), v2c("public"))];
    let healthy = futures_util::future::join_all(
        targets.iter().map(|t| poll_shared(t, INTERFACES, &o, &pool)),
    );
    let hostile = futures_util::future::join_all(
        odd.iter().map(|t| poll_shared(t, SnmpQuery::SYSTEM, &o, &pool)),
    );
    let (reports, odd) =
        tokio::time::timeout(Duration::from_secs(120), async { tokio::join!(healthy, hostile) })
            .await
            .expect("the polls end");
    for r in &reports {
        assert_system(r);
        assert_sane_interfaces(r, 64);
    }
    assert_eq!(odd[0].outcome, SnmpOutcome::DecodeError, "{:#?}", odd[0]);
    assert!(
        odd[0].detail.as_deref().unwrap_or("").contains("request-id mismatch"),
        "{:#?}",
        odd[0]
    );
    assert_eq!(odd[1].outcome, SnmpOutcome::Timeout, "{:#?}", odd[1]);
}

#[tokio::test]
async fn a_100000_row_table_is_read_to_the_request_bound() {
    let agent = Hostile::start(Behaviour { rows: 100_000, ..Behaviour::default() });
    let r = against(&agent, &target(agent.addr(), v2c("public")), INTERFACES).await;
    assert_eq!(r.outcome, SnmpOutcome::Ok, "{r:#?}");
    assert_eq!(r.truncated, Some(Truncation::Requests), "{:?}", r.detail);
    // 500 GETBULKs of 3 rows of the 16 columns.
    assert_eq!(r.interfaces.len(), 1_500);
    assert_eq!(agent.requests(), 501, "the system GET and 500 GETBULKs");
}
