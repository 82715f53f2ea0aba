//! Helpers for the tests that bring labs up: this crate's (lab/tests/lab.rs) and the monitor's
//! (tests/support/lab.rs includes this file): unique lab names, agent configurations, specs,
//! and the check that nothing a lab recorded remains after it is gone.

#![allow(dead_code)] // each test binary uses its own subset

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use vigia_lab::block::AddressBlock;
use vigia_lab::state::LabState;
use vigia_lab::{AgentConfig, AuthProtocol, LabDevice, LabSpec, LinkModel, PrivProtocol, V3User};

/// The v2c community every test agent answers.
pub const COMMUNITY: &str = "lab-community-7";
/// The v3 user every test agent has (SHA-256 / AES-128).
pub const USER: &str = "vigia";
/// Its authentication password.
pub const AUTH_PASS: &str = "lab-auth-pass";
/// Its privacy password.
pub const PRIV_PASS: &str = "lab-priv-pass";

/// The readiness request of the tests' specs: an RFC 3414 engine-discovery request (msgID 1),
/// byte for byte the one the monitor's SNMP probe builds (`vigia::probe::snmp::
/// discovery_request(1)`; tests/lab_cli.rs checks that they stay the same).
pub const READINESS_REQUEST: &[u8] = include_bytes!("../resources/snmp-discovery-request.ber");

/// Fail (never skip) when the machine cannot run a lab.
pub fn lab_prerequisites() {
    if let Err(e) = vigia_lab::check_prerequisites() {
        panic!("these tests cannot run: {e} (scripts/deps test installs the packages)");
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A lab name unique to this process and call: `PREFIX` + pid + a counter.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// An agent answering [`COMMUNITY`] and the v3 user [`USER`] (SHA-256 / AES-128).
pub fn agent(id: &str) -> AgentConfig {
    AgentConfig {
        communities: vec![COMMUNITY.into()],
        users: vec![V3User {
            name: USER.into(),
            auth: Some((AuthProtocol::Sha256, AUTH_PASS.into())),
            privacy: Some((PrivProtocol::Aes128, PRIV_PASS.into())),
        }],
        sys_name: id.into(),
        sys_location: format!("Sitio de {id}"),
        sys_descr: format!("Lab switch {id} (vigia lab)"),
        sys_contact: "OTIC (vigia lab)".into(),
        sys_object_id: None,
        served: Default::default(),
    }
}

/// A present device with [`agent`].
pub fn device(
    id: &str,
    ipv4: Option<std::net::Ipv4Addr>,
    ipv6: Option<std::net::Ipv6Addr>,
    link: LinkModel,
) -> LabDevice {
    LabDevice { id: id.into(), ipv4, ipv6, link: Some(link), present: true, agent: Some(agent(id)) }
}

/// A spec in `block`, with a unique name.
pub fn spec(block: &AddressBlock, seed: u64, devices: Vec<LabDevice>) -> LabSpec {
    LabSpec {
        name: unique_name("p"),
        host_v4: block.host_v4(),
        host_v6: block.host_v6(),
        seed,
        devices,
        readiness_request: READINESS_REQUEST.to_vec(),
        served_program: None,
    }
}

/// The addresses of a device of the spec, IPv4 first.
pub fn addresses(d: &LabDevice) -> Vec<IpAddr> {
    d.ipv4.map(IpAddr::V4).into_iter().chain(d.ipv6.map(IpAddr::V6)).collect()
}

/// `ip ARGS`, its standard output.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| panic!("ip: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Assert that nothing a lab recorded remains: namespaces, links, routes, host addresses,
/// agent processes, its directory.
pub fn assert_nothing_remains(state: &LabState) {
    let netns = ip(&["netns", "list"]);
    let links = ip(&["-o", "link", "show"]);
    let routes = ip(&["-4", "route", "show", "table", "all"])
        + &ip(&["-6", "route", "show", "table", "all"]);
    let addrs = ip(&["-o", "addr", "show"]);
    for ns in &state.namespaces {
        assert!(
            !netns.lines().any(|l| l.split_whitespace().next() == Some(ns)),
            "namespace {ns} remains"
        );
    }
    for link in &state.links {
        assert!(!links.contains(&format!(" {link}:")), "link {link} remains");
    }
    for r in &state.routes {
        assert!(
            !routes.lines().any(|l| l.split_whitespace().any(|w| w == r.prefix)),
            "route {} {} remains:\n{routes}",
            r.kind,
            r.prefix
        );
    }
    for d in &state.devices {
        for a in
            d.ipv4.map(|a| format!("{a}/32")).into_iter().chain(d.ipv6.map(|a| format!("{a}/128")))
        {
            let bare = a.split('/').next().unwrap().to_owned();
            assert!(
                !routes.lines().any(|l| l.split_whitespace().any(|w| w == a || w == bare)),
                "a route to {a} remains:\n{routes}"
            );
        }
        if let Some(p) = d.agent {
            assert!(
                vigia_lab::state::wait_gone(p, Duration::from_secs(5)),
                "snmpd {} of {} remains",
                p.pid,
                d.id
            );
        }
    }
    assert!(!addrs.contains(&format!(" {}/32", state.host_v4)), "{} remains", state.host_v4);
    assert!(!addrs.contains(&format!(" {}/128", state.host_v6)), "{} remains", state.host_v6);
    assert!(!vigia_lab::run_dir(&state.name).exists(), "the lab's directory remains");
    assert!(!Path::new(&vigia_lab::state::state_path(&state.name)).exists());
}
