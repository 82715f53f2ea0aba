//! The lab against real peers: net-snmp `snmpd` in namespaces the lab creates, probed with
//! net-snmp's `snmpget`, raw ICMP (surge-ping) and UDP sockets, over IPv4 and IPv6.
//!
//! Each test builds its own small lab with a unique name in an address block of its own
//! (`AddressBlock::claim`: 198.19.K.0/24, 2001:db8:1:K::/64), so tests of this and other
//! binaries run side by side. Every test checks that nothing of its lab remains afterwards.
//! These tests need root, /dev/net/tun, iproute2, snmpd and snmp (`scripts/deps test`); without
//! them they fail, saying what is missing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use surge_ping::{Client, Config, ICMP, PingIdentifier, PingSequence, SurgeError};
use tokio::net::UdpSocket;
use vigia::inventory::{AuthProtocol, PrivProtocol};
use vigia::lab::block::AddressBlock;
use vigia::lab::state::LabState;
use vigia::lab::{AgentConfig, Lab, LabDevice, LabError, LabSpec, LinkModel, V3User};

#[path = "support/lab.rs"]
mod lab_support;

use lab_support::{AUTH_PASS, COMMUNITY, PRIV_PASS, assert_nothing_remains, unique_name};

const SYS_NAME: &str = ".1.3.6.1.2.1.1.5.0";
const SYS_DESCR: &str = ".1.3.6.1.2.1.1.1.0";
const SYS_LOCATION: &str = ".1.3.6.1.2.1.1.6.0";
const SYS_UPTIME: &str = ".1.3.6.1.2.1.1.3.0";
const ENT_MODEL: &str = ".1.3.6.1.2.1.47.1.1.1.1.13.1";
const ENT_SERIAL: &str = ".1.3.6.1.2.1.47.1.1.1.1.11.1";

/// The shared prerequisites, and net-snmp's `snmpget`, which these tests probe with.
fn prerequisites() {
    lab_support::prerequisites();
    let ok = StdCommand::new("snmpget").arg("-V").output().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the lab tests need `snmpget` (Debian package snmp; scripts/deps test installs it)"
    );
}

/// The shared test agent, with the system group and ENTITY-MIB values these tests read back.
fn agent(id: &str) -> AgentConfig {
    AgentConfig {
        sys_location: "Mercado Grau".into(),
        sys_descr: format!("Lab Vendor X-{id} switch (vigia lab)"),
        sys_contact: "OTIC".into(),
        entity_model: Some("X-100 \"rev 2\"".into()),
        entity_serial: Some("SN-0042".into()),
        ..lab_support::agent(id)
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
    lab_support::spec(block, 2026, devices)
}

fn target(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => format!("udp:{v4}:161"),
        IpAddr::V6(v6) => format!("udp6:[{v6}]:161"),
    }
}

/// `snmpget` one OID; Ok(value text) or Err(what snmpget said).
async fn snmpget(security: &[&str], address: IpAddr, oid: &str) -> Result<String, String> {
    let out = tokio::process::Command::new("snmpget")
        .env("MIBS", "")
        .args(["-M", "/dev/null", "-On", "-Ov", "-t", "1", "-r", "2"])
        .args(security)
        .arg(target(address))
        .arg(oid)
        .output()
        .await
        .expect("snmpget runs");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() && !stdout.is_empty() {
        Ok(stdout)
    } else {
        Err(format!("{} {}", stdout, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn v2c() -> Vec<&'static str> {
    vec!["-v2c", "-c", COMMUNITY]
}

fn v3() -> Vec<&'static str> {
    vec![
        "-v3", "-l", "authPriv", "-u", "vigia", "-a", "SHA-256", "-A", AUTH_PASS, "-x", "AES",
        "-X", PRIV_PASS,
    ]
}

fn uptime_ticks(text: &str) -> u64 {
    // "Timeticks: (1234) 0:00:12.34"
    text.split(['(', ')'])
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not timeticks: {text}"))
}

#[derive(Debug, Default)]
struct Pings {
    sent: u32,
    replies: Vec<Duration>,
    unreachable: u32,
    errors: u32,
}

impl Pings {
    fn lost(&self) -> u32 {
        self.sent - self.replies.len() as u32 - self.unreachable
    }
    fn sorted(&self) -> Vec<Duration> {
        let mut v = self.replies.clone();
        v.sort();
        v
    }
    fn median(&self) -> Duration {
        self.sorted()[self.replies.len() / 2]
    }
    fn mean(&self) -> Duration {
        self.replies.iter().sum::<Duration>() / self.replies.len() as u32
    }
}

static IDENT: AtomicU32 = AtomicU32::new(1);

/// `count` echoes to `address`, one every `every`, each waiting up to `wait` for its reply.
async fn ping(address: IpAddr, count: u32, every: Duration, wait: Duration) -> Pings {
    let config = match address {
        IpAddr::V4(_) => Config::default(),
        IpAddr::V6(_) => Config::builder().kind(ICMP::V6).build(),
    };
    let client = Client::new(&config).expect("raw ICMP socket (root)");
    let ident = PingIdentifier(
        ((std::process::id() as u16)
            ^ (IDENT.fetch_add(1, Ordering::Relaxed) as u16).wrapping_mul(97))
            | 1,
    );
    let mut tasks = Vec::new();
    let start = tokio::time::Instant::now();
    for seq in 0..count {
        tokio::time::sleep_until(start + every * seq).await;
        let mut pinger = client.pinger(address, ident).await;
        pinger.timeout(wait);
        // Time the whole exchange from before the send: surge-ping starts its clock after
        // send_to returns, which on a busy machine can read a round trip shorter than the
        // link's delay. Measured this way a late wake-up can only lengthen it.
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let result = pinger.ping(PingSequence(seq as u16), &[0u8; 56]).await;
            result.map(|(packet, _)| (packet, sent.elapsed()))
        }));
    }
    let mut out = Pings { sent: count, ..Pings::default() };
    for t in tasks {
        match t.await.expect("ping task") {
            Ok((packet, rtt)) => {
                let echo_reply = match &packet {
                    surge_ping::IcmpPacket::V4(p) => p.get_icmp_type().0 == 0,
                    surge_ping::IcmpPacket::V6(p) => p.get_icmpv6_type().0 == 129,
                };
                if echo_reply { out.replies.push(rtt) } else { out.unreachable += 1 }
            }
            Err(SurgeError::Timeout { .. }) => {}
            Err(_) => out.errors += 1,
        }
    }
    out
}

/// Send one SNMP-sized datagram on a connected socket and say what came back.
#[derive(Debug, PartialEq)]
enum Udp {
    Answer,
    Refused,
    Timeout,
    SendFailed(std::io::ErrorKind),
}

async fn udp_probe(source: IpAddr, address: IpAddr, wait: Duration) -> Udp {
    let socket = UdpSocket::bind(SocketAddr::new(source, 0)).await.expect("bind");
    if let Err(e) = socket.connect(SocketAddr::new(address, 161)).await {
        return Udp::SendFailed(e.kind());
    }
    if let Err(e) = socket.send(b"\x30\x00").await {
        return Udp::SendFailed(e.kind());
    }
    let mut buf = [0u8; 1500];
    match tokio::time::timeout(wait, socket.recv(&mut buf)).await {
        Ok(Ok(_)) => Udp::Answer,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Udp::Refused,
        Ok(Err(e)) => Udp::SendFailed(e.kind()),
        Err(_) => Udp::Timeout,
    }
}

fn src_for(lab: &Lab, a: IpAddr) -> IpAddr {
    if a.is_ipv4() { IpAddr::V4(lab.host_v4()) } else { IpAddr::V6(lab.host_v6()) }
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
                snmpget(&v2c(), a, ENT_MODEL).await.unwrap(),
                "STRING: \"X-100 \\\"rev 2\\\"\""
            );
            assert_eq!(snmpget(&v2c(), a, ENT_SERIAL).await.unwrap(), "STRING: \"SN-0042\"");
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

    // vigia's own client (snmp2) speaks to the same agent; AES-192/256 after a short digest
    // need the Blumenthal key extension, which is what net-snmp's AES-192/AES-256 are.
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
        !vigia::lab::sys::ProcId::of(first_pid)
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
        let route = lab_support::ip(&[family, "route", "show", "exact", &prefix]);
        assert!(route.starts_with("unreachable") && route.lines().count() == 1, "{a}: {route}");
    }
    let route = lab_support::ip(&["route", "get", &block.v4(80).to_string()]);
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
    assert!(!vigia::lab::run_dir(&other_name).exists(), "the failed lab left its directory");
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
    // `vigia lab down` leaves a lab held by another process (this test) alone.
    let down = vigia().args(["lab", "down", "--name", first.name()]).output().unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("not by a `vigia lab serve` holder"));
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

// --- the command line -------------------------------------------------------------------

fn vigia() -> StdCommand {
    StdCommand::new(env!("CARGO_BIN_EXE_vigia"))
}

/// Takes down a lab brought up through the command line when the test fails before taking it
/// down itself, so that a failure leaves nothing behind either.
struct DownIfPanicking<'a>(&'a str);

impl Drop for DownIfPanicking<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = vigia().args(["lab", "down", "--name", self.0]).output();
        }
    }
}

/// A small inventory in a temporary directory: a main-site server and a radio-site switch,
/// SNMPv3 with passwords in files.
fn write_inventory(dir: &Path, v4_main: Ipv4Addr, v4_radio: Ipv4Addr, v6_radio: Ipv6Addr) {
    std::fs::write(dir.join("auth.secret"), format!("{AUTH_PASS}\n")).unwrap();
    std::fs::write(dir.join("priv.secret"), format!("{PRIV_PASS}\n")).unwrap();
    std::fs::write(
        dir.join("inventory.yaml"),
        format!(
            r#"sites:
  - {{ id: main, name: Sede principal, role: main }}
  - {{ id: far, name: Teatro Municipal, role: branch, link: radio }}
  - {{ id: gap, name: Camal Municipal, role: branch, link: none }}
snmp_profiles:
  v3:
    version: "3"
    user: vigia
    auth_protocol: sha256
    auth_password_file: auth.secret
    priv_protocol: aes128
    priv_password_file: priv.secret
defaults:
  snmp: v3
devices:
  - {{ id: srv-01, site: main, class: server, vendor: Dell, model: R740, serial: ABC123, ipv4: {v4_main} }}
  - {{ id: sw-teatro, site: far, class: switch, ipv4: {v4_radio}, ipv6: "{v6_radio}" }}
  - {{ id: sw-camal, site: gap, class: switch, ipv4: 198.19.254.77 }}
"#
        ),
    )
    .unwrap();
}

#[test]
fn the_cli_brings_a_lab_up_reports_it_and_takes_it_down() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_inventory(dir.path(), block.v4(110), block.v4(111), block.v6(0x111));
    let name = unique_name("t");
    let _down = DownIfPanicking(&name);
    let started = Instant::now();
    let out = vigia()
        .args(["lab", "up", "--inventory"])
        .arg(dir.path())
        .args([
            "--name",
            &name,
            "--host-v4",
            &block.host_v4().to_string(),
            "--host-v6",
            &block.host_v6().to_string(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "up: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("vigia lab up took {:?}:\n{stdout}", started.elapsed());
    assert!(stdout.contains("2 devices (1 lan, 1 radio)"), "{stdout}");
    assert!(!stdout.contains(AUTH_PASS) && !stdout.contains(PRIV_PASS), "a secret was printed");
    let state = LabState::load(&name).unwrap();
    assert!(
        state.owner.is_alive() && state.owner_is_holder(),
        "the holder runs: {:?}",
        state.owner.cmdline()
    );
    assert_ne!(state.owner.pid, std::process::id());
    // sw-camal's site has no link: it is not polled, so the lab has nothing of it.
    assert!(state.devices.iter().all(|d| d.id != "sw-camal"));

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let p =
            ping(IpAddr::V4(block.v4(111)), 20, Duration::from_millis(10), Duration::from_secs(1))
                .await;
        assert!(
            p.replies.len() >= 17 && p.sorted()[0] >= Duration::from_millis(20),
            "radio: {p:?}"
        );
        assert_eq!(
            snmpget(&v3(), IpAddr::V4(block.v4(110)), SYS_DESCR).await,
            Ok("STRING: \"Dell R740 server (vigia lab)\"".into())
        );
        assert_eq!(
            snmpget(&v3(), IpAddr::V4(block.v4(110)), SYS_LOCATION).await,
            Ok("STRING: \"Sede principal\"".into())
        );
        assert_eq!(
            snmpget(&v3(), IpAddr::V4(block.v4(110)), ENT_SERIAL).await,
            Ok("STRING: \"ABC123\"".into())
        );
        assert_eq!(
            snmpget(&v3(), IpAddr::V6(block.v6(0x111)), SYS_NAME).await,
            Ok("STRING: \"sw-teatro\"".into())
        );
    });

    let status = vigia().args(["lab", "status", "--name", &name]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "status: {text}");
    assert!(
        text.contains("sw-teatro") && text.contains("radio") && text.contains("alive"),
        "{text}"
    );

    // Another up under the same name is refused; the lab stays.
    let again = vigia()
        .args(["lab", "up", "--inventory"])
        .arg(dir.path())
        .args(["--name", &name])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(state.owner.is_alive());

    let down = vigia().args(["lab", "down", "--name", &name]).output().unwrap();
    assert!(down.status.success(), "down: {}", String::from_utf8_lossy(&down.stderr));
    assert!(!state.owner.is_alive(), "the holder is gone");
    let latest = state; // pids recorded at up; the holder kept them
    assert_nothing_remains(&latest);
    assert!(!vigia::lab::state::holder_log(&name).exists());
    let gone = vigia().args(["lab", "status", "--name", &name]).output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
}

#[test]
fn the_cli_refuses_addresses_outside_the_lab_with_exit_64_and_builds_nothing() {
    prerequisites();
    let dir = tempfile::tempdir().unwrap();
    // 198.51.100.7 (TEST-NET-2) is outside the lab ranges: the lab refuses it before making
    // anything, so no packet is ever sent to it.
    write_inventory(
        dir.path(),
        Ipv4Addr::new(198, 51, 100, 7),
        Ipv4Addr::new(198, 19, 254, 1),
        "2001:db8:1:fe::1".parse().unwrap(),
    );
    let name = unique_name("t");
    let _down = DownIfPanicking(&name);
    let out = vigia()
        .args(["lab", "up", "--inventory"])
        .arg(dir.path())
        .args(["--name", &name])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("device srv-01: address 198.51.100.7 is outside the lab ranges"),
        "{stderr}"
    );
    assert!(!vigia::lab::run_dir(&name).exists());
    assert!(!vigia::lab::state::holder_log(&name).exists());
}

#[test]
fn the_tacna_inventory_makes_a_lab_spec_of_its_polled_devices() {
    let dir = tempfile::tempdir().unwrap();
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("inventory/tacna");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // Passwords from files instead of the environment (tests must not set variables).
        let text = text
            .replace("auth_password_env: VIGIA_SNMP_AUTH", "auth_password_file: auth.secret")
            .replace("priv_password_env: VIGIA_SNMP_PRIV", "priv_password_file: priv.secret");
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    std::fs::write(dir.path().join("auth.secret"), "tacna-auth-1\n").unwrap();
    std::fs::write(dir.path().join("priv.secret"), "tacna-priv-1\n").unwrap();
    let (inv, _) = vigia::inventory::load(dir.path(), vigia::inventory::Secrets::Require).unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let spec = vigia::lab::spec_from_inventory(&inv, "tacna", day).unwrap();
    assert_eq!(spec.devices.len(), 45);
    let count = |m: LinkModel| spec.devices.iter().filter(|d| d.link == Some(m)).count();
    assert_eq!(
        (count(LinkModel::LAN), count(LinkModel::FIBRE), count(LinkModel::RADIO)),
        (25, 17, 3)
    );
    let grau = spec.devices.iter().find(|d| d.id == "sw-mercado-grau").unwrap();
    assert_eq!(grau.ipv4, Some(Ipv4Addr::new(198, 18, 10, 10)));
    assert_eq!(grau.link, Some(LinkModel::FIBRE));
    let agent = grau.agent.as_ref().unwrap();
    assert_eq!(agent.sys_location, "Mercado Grau");
    assert_eq!(
        agent.users,
        vec![V3User {
            name: "vigia".into(),
            auth: Some((AuthProtocol::Sha256, "tacna-auth-1".into())),
            privacy: Some((PrivProtocol::Aes128, "tacna-priv-1".into())),
        }]
    );
    let fw =
        spec.devices.iter().find(|d| d.id == "fw-fortigate-500e").unwrap().agent.as_ref().unwrap();
    assert_eq!(fw.sys_descr, "Fortinet FortiGate 500E firewall (vigia lab)");
    assert_eq!(fw.entity_model.as_deref(), Some("FortiGate 500E"));
    let teatro = spec.devices.iter().find(|d| d.id == "sw-teatro-municipal").unwrap();
    assert_eq!(teatro.link, Some(LinkModel::RADIO));

    // A secret that cannot be read fails clearly, naming the file, never a value.
    std::fs::remove_file(dir.path().join("priv.secret")).unwrap();
    let (inv, _) = vigia::inventory::load(dir.path(), vigia::inventory::Secrets::Warn).unwrap();
    let err = vigia::lab::spec_from_inventory(&inv, "tacna", day).unwrap_err();
    assert!(
        matches!(err, LabError::Secret { .. }) && err.to_string().contains("priv.secret"),
        "{err}"
    );
    assert!(!err.to_string().contains("tacna-auth-1"));
}

#[test]
fn after_a_killed_holder_nothing_leaks_and_down_removes_the_rest() {
    prerequisites();
    let block = AddressBlock::claim().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_inventory(dir.path(), block.v4(120), block.v4(121), block.v6(0x121));
    let name = unique_name("t");
    let _down = DownIfPanicking(&name);
    let out = vigia()
        .args(["lab", "up", "--inventory"])
        .arg(dir.path())
        .args([
            "--name",
            &name,
            "--host-v4",
            &block.host_v4().to_string(),
            "--host-v6",
            &block.host_v6().to_string(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "up: {}", String::from_utf8_lossy(&out.stderr));
    let state = LabState::load(&name).unwrap();
    assert!(state.owner.signal(libc::SIGKILL));
    assert!(vigia::lab::state::wait_gone(state.owner, Duration::from_secs(10)));
    // Its agents die with it (parent-death signal), its TUN devices with its descriptors.
    for d in &state.devices {
        let agent = d.agent.expect("an agent was recorded");
        assert!(
            vigia::lab::state::wait_gone(agent, Duration::from_secs(10)),
            "snmpd of {} outlived its holder",
            d.id
        );
    }
    // The kernel unregisters a TUN device once its last descriptor is closed, but not
    // necessarily before the holder's pid is gone (under load it lagged): allow it 10 s.
    for link in &state.links {
        let start = Instant::now();
        while vigia::lab::sys::link_exists(link) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!vigia::lab::sys::link_exists(link), "link {link} outlived its holder");
    }
    // What remains (namespaces, guard routes) keeps every probe on this machine.
    assert!(state.namespaces.iter().all(|ns| vigia::lab::sys::netns_exists(ns)));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        for a in [IpAddr::V4(block.v4(120)), IpAddr::V4(block.v4(121)), IpAddr::V6(block.v6(0x121))]
        {
            let src = if a.is_ipv4() {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            };
            let r = udp_probe(src, a, Duration::from_millis(300)).await;
            assert!(
                matches!(r, Udp::SendFailed(_)),
                "{a}: {r:?} (must be refused locally, never routed out)"
            );
        }
    });
    let status = vigia().args(["lab", "status", "--name", &name]).output().unwrap();
    assert_eq!(status.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&status.stdout).contains("DEAD"));
    let down = vigia().args(["lab", "down", "--name", &name]).output().unwrap();
    assert!(down.status.success(), "down: {}", String::from_utf8_lossy(&down.stderr));
    assert_nothing_remains(&state);
}
