//! Probing a lab from outside, as a peer would: net-snmp's `snmpget`, raw ICMP echoes
//! (surge-ping) and UDP datagrams, over IPv4 and IPv6. Shared by lab/tests/lab.rs and the
//! monitor's tests/lab_cli.rs (which includes this file).

#![allow(dead_code)] // each test binary uses its own subset

use std::net::{IpAddr, SocketAddr};
use std::process::Command as StdCommand;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use surge_ping::{Client, Config, ICMP, PingIdentifier, PingSequence, SurgeError};
use tokio::net::UdpSocket;
use vigia_lab::Lab;

use super::support::{AUTH_PASS, COMMUNITY, PRIV_PASS};

/// sysName.0.
pub const SYS_NAME: &str = ".1.3.6.1.2.1.1.5.0";
/// sysDescr.0.
pub const SYS_DESCR: &str = ".1.3.6.1.2.1.1.1.0";
/// sysLocation.0.
pub const SYS_LOCATION: &str = ".1.3.6.1.2.1.1.6.0";
/// sysUpTime.0.
pub const SYS_UPTIME: &str = ".1.3.6.1.2.1.1.3.0";
/// sysObjectID.0.
pub const SYS_OBJECT_ID: &str = ".1.3.6.1.2.1.1.2.0";

/// net-snmp's `snmpget`, which these tests probe with.
pub fn snmpget_prerequisite() {
    let ok = StdCommand::new("snmpget").arg("-V").output().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the lab tests need `snmpget` (Debian package snmp; scripts/deps test installs it)"
    );
}

fn target(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => format!("udp:{v4}:161"),
        IpAddr::V6(v6) => format!("udp6:[{v6}]:161"),
    }
}

/// `snmpget` one OID; Ok(value text) or Err(what snmpget said).
pub async fn snmpget(security: &[&str], address: IpAddr, oid: &str) -> Result<String, String> {
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

/// `snmpget` arguments for the test agents' v2c community.
pub fn v2c() -> Vec<&'static str> {
    vec!["-v2c", "-c", COMMUNITY]
}

/// `snmpget` arguments for the test agents' v3 user (authPriv, SHA-256 / AES-128).
pub fn v3() -> Vec<&'static str> {
    vec![
        "-v3", "-l", "authPriv", "-u", "vigia", "-a", "SHA-256", "-A", AUTH_PASS, "-x", "AES",
        "-X", PRIV_PASS,
    ]
}

/// The ticks of a `Timeticks: (N) ...` value.
pub fn uptime_ticks(text: &str) -> u64 {
    // "Timeticks: (1234) 0:00:12.34"
    text.split(['(', ')'])
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not timeticks: {text}"))
}

/// What a run of [`ping`] got back.
#[derive(Debug, Default)]
pub struct Pings {
    /// Echo requests sent.
    pub sent: u32,
    /// Round trips of the echo replies.
    pub replies: Vec<Duration>,
    /// Answers that were not echo replies (ICMP errors).
    pub unreachable: u32,
    /// Send or receive failures.
    pub errors: u32,
}

impl Pings {
    /// Echoes that got no answer at all.
    pub fn lost(&self) -> u32 {
        self.sent - self.replies.len() as u32 - self.unreachable
    }
    /// The round trips, shortest first.
    pub fn sorted(&self) -> Vec<Duration> {
        let mut v = self.replies.clone();
        v.sort();
        v
    }
    /// The median round trip.
    pub fn median(&self) -> Duration {
        self.sorted()[self.replies.len() / 2]
    }
    /// The mean round trip.
    pub fn mean(&self) -> Duration {
        self.replies.iter().sum::<Duration>() / self.replies.len() as u32
    }
}

static IDENT: AtomicU32 = AtomicU32::new(1);

/// `count` echoes to `address`, one every `every`, each waiting up to `wait` for its reply.
pub async fn ping(address: IpAddr, count: u32, every: Duration, wait: Duration) -> Pings {
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

/// What came back to one datagram ([`udp_probe`]).
#[derive(Debug, PartialEq)]
pub enum Udp {
    /// An answer.
    Answer,
    /// Port unreachable.
    Refused,
    /// Nothing within the wait.
    Timeout,
    /// The datagram could not leave (no route, unreachable at once).
    SendFailed(std::io::ErrorKind),
}

/// Send one SNMP-sized datagram on a connected socket and say what came back.
pub async fn udp_probe(source: IpAddr, address: IpAddr, wait: Duration) -> Udp {
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

/// The lab's host-side source address of `a`'s family.
pub fn src_for(lab: &Lab, a: IpAddr) -> IpAddr {
    if a.is_ipv4() { IpAddr::V4(lab.host_v4()) } else { IpAddr::V6(lab.host_v6()) }
}
