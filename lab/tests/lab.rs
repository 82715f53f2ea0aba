//! The lab against real peers: net-snmp `snmpd` in namespaces the lab creates, probed with
//! net-snmp's `snmpget`, raw ICMP (surge-ping) and UDP sockets, over IPv4 and IPv6.
//!
//! Each test builds its own small lab with a unique name in an address block of its own
//! (`AddressBlock::claim`: 198.19.K.0/24, 2001:db8:1:K::/64), so tests of this and other
//! binaries run side by side. Every test checks that nothing of its lab remains afterwards.
//! These tests need root, /dev/net/tun, iproute2, snmpd and snmp (`scripts/deps test`); without
//! them they fail, saying what is missing. The lab as `vigia lab up` drives it (the holder
//! process, an inventory's twin) is tested by the monitor's tests/lab_cli.rs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use vigia_lab::block::AddressBlock;
use vigia_lab::{
    AgentConfig, AuthProtocol, Lab, LabDevice, LabError, LabSpec, LinkModel, PrivProtocol, V3User,
};

#[path = "support/peers.rs"]
mod peers;
mod support;

use peers::*;
use support::{AUTH_PASS, PRIV_PASS, assert_nothing_remains};

/// The lab, raw ICMP sockets (root) and net-snmp's `snmpget`, which these tests probe with.
fn prerequisites() {
    support::lab_prerequisites();
    // The ICMP client registers with a tokio runtime: the caller's, or one made for the check.
    let open = || surge_ping::Client::new(&surge_ping::Config::default()).map(drop);
    let icmp = match tokio::runtime::Handle::try_current() {
        Ok(_) => open(),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async { open() }),
    };
    if let Err(e) = icmp {
        panic!("these tests need raw ICMP sockets (root): {e}");
    }
    snmpget_prerequisite();
}

/// The shared test agent, with the system group values these tests read back.
fn agent(id: &str) -> AgentConfig {
    AgentConfig {
        sys_location: "Mercado Grau".into(),
        sys_descr: format!("Lab Vendor X-{id} switch (vigia lab)"),
        sys_contact: "OTIC".into(),
        sys_object_id: Some(".1.3.6.1.4.1.12356.101.1.5004".into()),
        ..support::agent(id)
    }
}

fn device(
    id: &str,
    ipv4: Option<Ipv4Addr>,
    ipv6: Option<Ipv6Addr>,
    link: Option<LinkModel>,
) -> LabDevice {
    LabDevice { id: id.into(), ipv4, ipv6, link, present: true, agent: Some(agent(id)) }
}

fn spec(block: &AddressBlock, devices: Vec<LabDevice>) -> LabSpec {
    support::spec(block, 2026, devices)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_only_ipv6_only_and_dual_stack_devices_answer_ping_and_snmp() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let lab = Lab::up(spec(
        &block,
        vec![
            device("sw-v4", Some(block.v4(10)), None, Some(LinkModel::LAN)),
            device("sw-v6", None, Some(block.v6(0x10)), Some(LinkModel::LAN)),
            device("sw-dual", Some(block.v4(11)), Some(block.v6(0x11)), Some(LinkModel::FIBRE)),
        ],
    ))
    .await
    .unwrap();
    let state = lab.state();
    for (id, addresses) in [
        ("sw-v4", vec![IpAddr::V4(block.v4(10))]),
        ("sw-v6", vec![IpAddr::V6(block.v6(0x10))]),
        ("sw-dual", vec![IpAddr::V4(block.v4(11)), IpAddr::V6(block.v6(0x11))]),
    ] {
        for a in addresses {
            let p = ping(a, 3, Duration::from_millis(20), Duration::from_secs(2)).await;
            assert_eq!(p.replies.len(), 3, "{id} {a}: {p:?}");
            for security in [v2c(), v3()] {
                let name = snmpget(&security, a, SYS_NAME).await;
                assert_eq!(name, Ok(format!("STRING: \"{id}\"")), "{id} {a} {}", security[0]);
            }
            let descr = snmpget(&v3(), a, SYS_DESCR).await.unwrap();
            assert_eq!(descr, format!("STRING: \"Lab Vendor X-{id} switch (vigia lab)\""));
            assert_eq!(snmpget(&v3(), a, SYS_LOCATION).await.unwrap(), "STRING: \"Mercado Grau\"");
            assert_eq!(
                snmpget(&v2c(), a, SYS_OBJECT_ID).await.unwrap(),
                "OID: .1.3.6.1.4.1.12356.101.1.5004"
            );
            // Credentials are the device's own: wrong ones get nothing.
            let wrong =
                snmpget(&["-v2c", "-c", "not-the-community", "-t", "0.5", "-r", "0"], a, SYS_NAME)
                    .await;
            assert!(wrong.as_ref().is_err_and(|e| e.contains("Timeout")), "{id} {a}: {wrong:?}");
            let wrong = snmpget(
                &[
                    "-v3",
                    "-l",
                    "authPriv",
                    "-u",
                    "vigia",
                    "-a",
                    "SHA-256",
                    "-A",
                    "wrong-password",
                    "-x",
                    "AES",
                    "-X",
                    PRIV_PASS,
                    "-t",
                    "0.5",
                    "-r",
                    "0",
                ],
                a,
                SYS_NAME,
            )
            .await;
            assert!(wrong.is_err(), "{id} {a}: a wrong v3 password was accepted");
        }
    }
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_v3_auth_and_privacy_protocol_answers() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let mut users = vec![V3User { name: "noauth".into(), auth: None, privacy: None }];
    for a in AuthProtocol::ALL {
        users.push(V3User {
            name: format!("u-{a}"),
            auth: Some((*a, AUTH_PASS.into())),
            privacy: None,
        });
        for p in PrivProtocol::ALL {
            users.push(V3User {
                name: format!("u-{a}-{p}"),
                auth: Some((*a, AUTH_PASS.into())),
                privacy: Some((*p, PRIV_PASS.into())),
            });
        }
    }
    let mut d = device("srv-v3", Some(block.v4(20)), Some(block.v6(0x20)), Some(LinkModel::LAN));
    d.agent.as_mut().unwrap().users = users.clone();
    let lab = Lab::up(spec(&block, vec![d])).await.unwrap();
    let state = lab.state();
    let address = IpAddr::V6(block.v6(0x20));
    let tokens = |a: AuthProtocol| {
        ["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"]
            [AuthProtocol::ALL.iter().position(|x| *x == a).unwrap()]
    };
    let ptokens = |p: PrivProtocol| {
        ["DES", "AES", "AES-192", "AES-256"]
            [PrivProtocol::ALL.iter().position(|x| *x == p).unwrap()]
    };
    let mut failures = Vec::new();
    for u in &users {
        let mut args = vec!["-v3".to_owned(), "-u".into(), u.name.clone()];
        match (&u.auth, &u.privacy) {
            (None, _) => args.extend(["-l".into(), "noAuthNoPriv".into()]),
            (Some((a, pass)), None) => args.extend([
                "-l".into(),
                "authNoPriv".into(),
                "-a".into(),
                tokens(*a).into(),
                "-A".into(),
                pass.clone(),
            ]),
            (Some((a, pass)), Some((p, ppass))) => args.extend([
                "-l".into(),
                "authPriv".into(),
                "-a".into(),
                tokens(*a).into(),
                "-A".into(),
                pass.clone(),
                "-x".into(),
                ptokens(*p).into(),
                "-X".into(),
                ppass.clone(),
            ]),
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match snmpget(&args, address, SYS_NAME).await {
            Ok(v) if v == "STRING: \"srv-v3\"" => {}
            other => failures.push(format!("{}: {other:?}", u.name)),
        }
    }
    assert!(failures.is_empty(), "users that did not answer: {failures:#?}");

    // The monitor's SNMP client library (snmp2) speaks to the same agent; AES-192/256 after a
    // short digest need the Blumenthal key extension, which is what net-snmp's AES-192/AES-256
    // are.
    use snmp2::v3::{Auth, AuthProtocol as A, Cipher, KeyExtension, Security};
    let sys_name = snmp2::Oid::from(&[1, 3, 6, 1, 2, 1, 1, 5, 0]).unwrap();
    for (user, auth, cipher) in [
        ("u-sha1-aes256", A::Sha1, Cipher::Aes256),
        ("u-md5-aes192", A::Md5, Cipher::Aes192),
        ("u-sha224-aes256", A::Sha224, Cipher::Aes256),
        ("u-sha512-aes256", A::Sha512, Cipher::Aes256),
        ("u-sha256-des", A::Sha256, Cipher::Des),
    ] {
        let security = Security::new(user.as_bytes(), AUTH_PASS.as_bytes())
            .with_auth_protocol(auth)
            .with_auth(Auth::AuthPriv { cipher, privacy_password: PRIV_PASS.as_bytes().to_vec() })
            .with_key_extension_method(KeyExtension::Blumenthal);
        let mut session =
            snmp2::AsyncSession::new_v3(SocketAddr::new(address, 161), 1, security).await.unwrap();
        tokio::time::timeout(Duration::from_secs(3), session.init())
            .await
            .expect("init in time")
            .unwrap_or_else(|e| panic!("{user}: init: {e:?}"));
        let pdu = tokio::time::timeout(Duration::from_secs(3), session.get(&sys_name))
            .await
            .expect("get in time")
            .unwrap_or_else(|e| panic!("{user}: get: {e:?}"));
        let value = pdu.varbinds.map(|(_, v)| format!("{v:?}")).next().unwrap();
        assert!(
            value.contains("115, 114, 118, 45, 118, 51") || value.contains("srv-v3"),
            "{user}: {value}"
        );
    }
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_radio_link_has_radio_delay_and_loss() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let lab = Lab::up(spec(
        &block,
        vec![device("sw-radio", Some(block.v4(30)), Some(block.v6(0x30)), Some(LinkModel::RADIO))],
    ))
    .await
    .unwrap();
    let state = lab.state();
    // 1,500 echoes 8 ms apart (12 s), each given 1 s: about 15 lost (0.5 % each way).
    let p = ping(IpAddr::V4(block.v4(30)), 1500, Duration::from_millis(8), Duration::from_secs(1))
        .await;
    let (down, up) = lab.link_counts("sw-radio").unwrap();
    let loss = f64::from(p.lost()) / f64::from(p.sent);
    eprintln!(
        "radio: {} sent, {} replies, loss {:.2} %, rtt min {:?} median {:?} mean {:?} max {:?}; link lost {} down, {} up",
        p.sent,
        p.replies.len(),
        loss * 100.0,
        p.sorted()[0],
        p.median(),
        p.mean(),
        p.sorted().last().unwrap(),
        down.lost,
        up.lost
    );
    assert_eq!(p.unreachable + p.errors, 0, "{p:?}");
    // Each way is 10-20 ms: no echo can come back in under 20 ms.
    assert!(p.sorted()[0] >= Duration::from_millis(20), "min {:?}", p.sorted()[0]);
    assert!(
        p.mean() >= Duration::from_millis(27) && p.mean() <= Duration::from_millis(40),
        "mean {:?}",
        p.mean()
    );
    assert!((0.002..=0.03).contains(&loss), "loss {:.3}", loss);
    assert!(down.lost > 0 && up.lost > 0, "loss in both directions: {down:?} {up:?}");
    // IPv6 crosses the same link.
    let p6 =
        ping(IpAddr::V6(block.v6(0x30)), 100, Duration::from_millis(8), Duration::from_secs(1))
            .await;
    assert!(p6.replies.len() >= 90 && p6.sorted()[0] >= Duration::from_millis(20), "{p6:?}");
    assert_eq!(
        snmpget(&v3(), IpAddr::V6(block.v6(0x30)), SYS_NAME).await,
        Ok("STRING: \"sw-radio\"".into())
    );
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fibre_link_takes_about_a_millisecond_and_the_lan_less() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let lab = Lab::up(spec(
        &block,
        vec![
            device("sw-fibre", Some(block.v4(40)), None, Some(LinkModel::FIBRE)),
            device("sw-lan", Some(block.v4(41)), None, Some(LinkModel::LAN)),
        ],
    ))
    .await
    .unwrap();
    let state = lab.state();
    let fibre =
        ping(IpAddr::V4(block.v4(40)), 300, Duration::from_millis(5), Duration::from_secs(1)).await;
    let lan =
        ping(IpAddr::V4(block.v4(41)), 300, Duration::from_millis(5), Duration::from_secs(1)).await;
    eprintln!(
        "fibre: min {:?} median {:?} mean {:?}; lan: min {:?} median {:?} mean {:?}",
        fibre.sorted()[0],
        fibre.median(),
        fibre.mean(),
        lan.sorted()[0],
        lan.median(),
        lan.mean()
    );
    assert_eq!(fibre.replies.len(), 300, "fibre loses nothing");
    assert_eq!(lan.replies.len(), 300, "the LAN loses nothing");
    // Each way 0.45-0.55 ms: never under 0.9 ms.
    assert!(fibre.sorted()[0] >= Duration::from_micros(900), "fibre min {:?}", fibre.sorted()[0]);
    assert!(fibre.median() <= Duration::from_millis(3), "fibre median {:?}", fibre.median());
    assert!(lan.median() < fibre.median(), "lan {:?} vs fibre {:?}", lan.median(), fibre.median());
    assert!(lan.median() < Duration::from_millis(1), "lan median {:?}", lan.median());
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_with_no_host_times_out_and_a_device_without_agent_refuses_snmp() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let mut absent =
        device("sw-absent", Some(block.v4(50)), Some(block.v6(0x50)), Some(LinkModel::FIBRE));
    absent.present = false;
    absent.agent = None;
    let mut silent =
        device("srv-no-snmp", Some(block.v4(51)), Some(block.v6(0x51)), Some(LinkModel::LAN));
    silent.agent = None;
    let lab = Lab::up(spec(&block, vec![absent, silent])).await.unwrap();
    let state = lab.state();
    for a in [IpAddr::V4(block.v4(50)), IpAddr::V6(block.v6(0x50))] {
        let p = ping(a, 5, Duration::from_millis(10), Duration::from_millis(500)).await;
        assert_eq!(
            (p.replies.len(), p.unreachable, p.errors),
            (0, 0, 0),
            "{a}: no reply and no error, a silence: {p:?}"
        );
        assert_eq!(
            udp_probe(src_for(&lab, a), a, Duration::from_millis(500)).await,
            Udp::Timeout,
            "{a}"
        );
        let s = snmpget(&v2c(), a, SYS_NAME).await;
        assert!(s.as_ref().is_err_and(|e| e.contains("Timeout")), "{a}: {s:?}");
    }
    for a in [IpAddr::V4(block.v4(51)), IpAddr::V6(block.v6(0x51))] {
        let p = ping(a, 3, Duration::from_millis(10), Duration::from_secs(1)).await;
        assert_eq!(p.replies.len(), 3, "{a}: the host is there: {p:?}");
        // Port unreachable every time, not only for the first few (ICMP rate limit off).
        for i in 0..50 {
            assert_eq!(
                udp_probe(src_for(&lab, a), a, Duration::from_secs(1)).await,
                Udp::Refused,
                "{a} probe {i}"
            );
        }
    }
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_link_drops_everything_until_restored() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let lab = Lab::up(spec(
        &block,
        vec![device("sw-cut", Some(block.v4(60)), Some(block.v6(0x60)), Some(LinkModel::FIBRE))],
    ))
    .await
    .unwrap();
    let state = lab.state();
    let (v4, v6) = (IpAddr::V4(block.v4(60)), IpAddr::V6(block.v6(0x60)));
    assert_eq!(
        ping(v4, 3, Duration::from_millis(10), Duration::from_secs(1)).await.replies.len(),
        3
    );
    lab.cut("sw-cut").await.unwrap();
    for a in [v4, v6] {
        let p = ping(a, 5, Duration::from_millis(10), Duration::from_millis(500)).await;
        assert_eq!((p.replies.len(), p.unreachable), (0, 0), "{a} while cut: {p:?}");
        assert!(snmpget(&v3(), a, SYS_NAME).await.is_err(), "{a}: SNMP crossed a cut link");
    }
    lab.restore("sw-cut").await.unwrap();
    for a in [v4, v6] {
        assert_eq!(
            ping(a, 3, Duration::from_millis(10), Duration::from_secs(1)).await.replies.len(),
            3,
            "{a} restored"
        );
        assert_eq!(snmpget(&v3(), a, SYS_NAME).await, Ok("STRING: \"sw-cut\"".into()));
    }
    assert!(matches!(lab.cut("nope").await, Err(LabError::UnknownDevice { .. })));
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_an_agent_starts_sys_uptime_again() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let lab = Lab::up(spec(
        &block,
        vec![device("rt-1", Some(block.v4(70)), Some(block.v6(0x70)), Some(LinkModel::LAN))],
    ))
    .await
    .unwrap();
    let v4 = IpAddr::V4(block.v4(70));
    let first_pid = lab.agent_pid("rt-1").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = uptime_ticks(&snmpget(&v2c(), v4, SYS_UPTIME).await.unwrap());
    assert!(before >= 150, "uptime {before} ticks after 1.5 s");
    lab.restart_agent("rt-1").await.unwrap();
    let after = uptime_ticks(&snmpget(&v2c(), v4, SYS_UPTIME).await.unwrap());
    assert!(after < before, "uptime {after} after a restart, {before} before");
    assert_ne!(lab.agent_pid("rt-1"), Some(first_pid));
    // Stopped: the host answers but SNMP is refused; started: it answers again.
    lab.stop_agent("rt-1").await.unwrap();
    assert_eq!(udp_probe(src_for(&lab, v4), v4, Duration::from_secs(1)).await, Udp::Refused);
    assert!(
        !vigia_lab::sys::ProcId::of(first_pid)
            .is_some_and(|p| p.cmdline().is_some_and(|c| c[0].contains("snmpd")))
    );
    lab.start_agent("rt-1").await.unwrap();
    assert_eq!(
        snmpget(&v3(), IpAddr::V6(block.v6(0x70)), SYS_NAME).await,
        Ok("STRING: \"rt-1\"".into())
    );
    let state = lab.state();
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_with_no_link_gets_no_route_and_nothing_leaks() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let linked =
        device("sw-linked", Some(block.v4(80)), Some(block.v6(0x80)), Some(LinkModel::RADIO));
    let unlinked = LabDevice {
        link: None,
        agent: None,
        ..device("sw-unlinked", Some(block.v4(81)), Some(block.v6(0x81)), None)
    };
    let lab = Lab::up(spec(&block, vec![linked, unlinked])).await.unwrap();
    let state = lab.state();
    assert_eq!(lab.device("sw-unlinked").unwrap().namespace, None);
    // The kernel refuses at once: the guard route is unreachable, never the default route.
    for a in [IpAddr::V4(block.v4(81)), IpAddr::V6(block.v6(0x81))] {
        let r = udp_probe(src_for(&lab, a), a, Duration::from_millis(300)).await;
        assert!(matches!(r, Udp::SendFailed(_)), "{a}: {r:?}");
        let prefix = if a.is_ipv4() { format!("{a}/32") } else { format!("{a}/128") };
        let family = if a.is_ipv4() { "-4" } else { "-6" };
        let route = support::ip(&[family, "route", "show", "exact", &prefix]);
        assert!(route.starts_with("unreachable") && route.lines().count() == 1, "{a}: {route}");
    }
    let route = support::ip(&["route", "get", &block.v4(80).to_string()]);
    assert!(
        route.contains(&format!(
            "dev {}",
            lab.device("sw-linked").unwrap().host_link.as_ref().unwrap()
        )),
        "{route}"
    );
    lab.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_lab_on_the_same_addresses_fails_and_undoes_nothing_of_the_first() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let first = Lab::up(spec(
        &block,
        vec![device("sw-a", Some(block.v4(90)), Some(block.v6(0x90)), Some(LinkModel::LAN))],
    ))
    .await
    .unwrap();
    let mut other =
        spec(&block, vec![device("sw-b", Some(block.v4(90)), None, Some(LinkModel::LAN))]);
    other.host_v4 = block.v4(253);
    other.host_v6 = block.v6(0xfd);
    let other_name = other.name.clone();
    let err = Lab::up(other).await.unwrap_err();
    assert!(
        matches!(err, LabError::Clash { ref what } if what.contains(&block.v4(90).to_string())),
        "{err}"
    );
    assert!(!vigia_lab::run_dir(&other_name).exists(), "the failed lab left its directory");
    // The first lab is whole.
    assert_eq!(
        snmpget(&v2c(), IpAddr::V4(block.v4(90)), SYS_NAME).await,
        Ok("STRING: \"sw-a\"".into())
    );
    let same_name = LabSpec {
        name: first.name().to_owned(),
        ..spec(&block, vec![device("sw-c", Some(block.v4(91)), None, Some(LinkModel::LAN))])
    };
    assert!(matches!(Lab::up(same_name).await, Err(LabError::Exists { .. })));
    assert_eq!(
        snmpget(&v2c(), IpAddr::V6(block.v6(0x90)), SYS_NAME).await,
        Ok("STRING: \"sw-a\"".into())
    );
    // Stopping a held lab (`vigia lab down`) leaves a lab held by another process (this
    // test) alone.
    let err = vigia_lab::holder::stop(first.name()).unwrap_err();
    assert!(
        matches!(err, LabError::ForeignHolder { pid, .. } if pid == std::process::id()),
        "{err}"
    );
    assert!(err.to_string().contains("not by a vigia-lab-holder"), "{err}");
    assert_eq!(
        snmpget(&v2c(), IpAddr::V4(block.v4(90)), SYS_NAME).await,
        Ok("STRING: \"sw-a\"".into())
    );
    let state = first.state();
    first.down().await.unwrap();
    assert_nothing_remains(&state);
}

#[test]
fn a_test_that_panics_mid_way_leaves_nothing_behind() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let spec = spec(
        &block,
        vec![device(
            "sw-panic",
            Some(block.v4(100)),
            Some(block.v6(0x100)),
            Some(LinkModel::RADIO),
        )],
    );
    let recorded = std::sync::Arc::new(std::sync::Mutex::new(None));
    let keep = recorded.clone();
    let outcome = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let lab = Lab::up(spec).await.unwrap();
            *keep.lock().unwrap() = Some(lab.state());
            assert!(lab.agent_pid("sw-panic").is_some());
            panic!("a test failing with its lab up");
        })
    })
    .join();
    assert!(outcome.is_err(), "the inner test was meant to panic");
    let state = recorded.lock().unwrap().clone().expect("the lab came up before the panic");
    assert!(!state.namespaces.is_empty() && !state.links.is_empty());
    assert_nothing_remains(&state);
}
