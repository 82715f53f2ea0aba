//! ICMP echo over IPv4 and IPv6 (surge-ping), one shared socket per family for the whole
//! process.
//!
//! A client per target does not scale: with raw sockets every socket sees every ICMP packet, so
//! N clients cost O(N²). One client per family is shared by every cycle; replies are matched by
//! (address, identifier, sequence). The receive buffer is raised so that a burst of thousands of
//! replies is not dropped by the kernel before the receiving task reads it.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use surge_ping::{Client, Config, ICMP, IcmpPacket, PingIdentifier, PingSequence, SurgeError};

use super::{Family, IcmpOutcome, IcmpReport};

/// Receive buffer asked for each ICMP socket (measured: 4 MiB loses nothing in a burst of 4,000
/// replies; the default lost up to 307).
const RECV_BUFFER_BYTES: usize = 4 << 20;

/// ICMPv4 echo reply type.
const ICMPV4_ECHO_REPLY: u8 = 0;
/// ICMPv6 echo reply type.
const ICMPV6_ECHO_REPLY: u8 = 129;

/// vigia itself cannot do ICMP here.
#[derive(Debug, thiserror::Error)]
pub enum IcmpError {
    /// Neither raw nor datagram ICMP sockets may be opened by this process.
    #[error(
        "cannot open an ICMP socket for {family}: {source}. vigia needs either a raw socket \
         (run as root, or grant CAP_NET_RAW: `setcap cap_net_raw+ep {exe}`) or datagram ping \
         sockets (`sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`; now it is \"{range}\")"
    )]
    Permission {
        /// The family that failed.
        family: Family,
        /// The system's error.
        source: io::Error,
        /// The running executable, for the setcap hint.
        exe: String,
        /// The current ping_group_range.
        range: String,
    },
    /// The socket could not be opened for another reason.
    #[error("cannot open an ICMP socket for {family}: {source}")]
    Socket {
        /// The family that failed.
        family: Family,
        /// The system's error.
        source: io::Error,
    },
}

/// How the echoes of one cycle are spaced and waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleSettings {
    /// Echoes per cycle.
    pub count: u32,
    /// Time between two echoes to the same address (fping's `-p`).
    pub spacing: Duration,
    /// How long to wait for each reply.
    pub timeout: Duration,
}

/// The shared ICMP sockets, one per family. Cheap to clone.
#[derive(Clone)]
pub struct Icmp {
    v4: Result<Client, String>,
    v6: Result<Client, String>,
    pacer: Arc<Pacer>,
}

/// The default time between any two echoes of the process (`vigia agent --icmp-gap`): 20,000
/// echoes a second at most, ten times what 10,000 dual-stack devices ask at the default
/// intervals (3 echoes each per 30 s: 2,000 a second), so the steady schedule never waits on
/// it, while a burst (`--once`, or the agent's start) is spread instead of sent at wire speed.
pub const DEFAULT_GAP: Duration = Duration::from_micros(50);

/// Spaces every echo of the process at least `gap` from the one before (fping's `-i`). Each
/// echo takes the next free slot; tokio's timer wakes in milliseconds, so echoes whose slots
/// fall in one millisecond leave together: the rate holds, at a millisecond's grain.
struct Pacer {
    gap: Duration,
    next: Mutex<Option<tokio::time::Instant>>,
}

impl Pacer {
    fn new(gap: Duration) -> Pacer {
        Pacer { gap, next: Mutex::new(None) }
    }

    /// Wait for this echo's slot.
    async fn slot(&self) {
        if self.gap.is_zero() {
            return;
        }
        let now = crate::clock::monotonic();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.gap);
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }
}

/// The identifier of the next cycle. Raw ICMP sockets see every process's replies and surge-ping
/// matches them by (address, identifier, sequence) alone, so two vigia processes probing the
/// same device (the agent, and `vigia probe` run beside it) must not walk the same identifiers
/// in step, as they would both starting at 1: each would take the other's replies for its own.
/// Each process starts at a random point instead.
static NEXT_IDENT: LazyLock<AtomicU16> = LazyLock::new(|| AtomicU16::new(rand::random()));

impl Icmp {
    /// Open one socket per family (datagram ping sockets where allowed, raw otherwise). Fails
    /// when neither family can be opened, saying what to grant; a family the kernel lacks is
    /// reported per cycle instead.
    pub fn open() -> Result<Icmp, IcmpError> {
        let v4 = open_client(Family::Ipv4);
        let v6 = open_client(Family::Ipv6);
        match (v4, v6) {
            (Err(e), Err(_)) => Err(e),
            (v4, v6) => Ok(Icmp {
                v4: v4.map_err(|e| e.to_string()),
                v6: v6.map_err(|e| e.to_string()),
                pacer: Arc::new(Pacer::new(DEFAULT_GAP)),
            }),
        }
    }

    /// No sockets: every cycle is a send error saying ICMP is off (`vigia agent --no-icmp`,
    /// where the agent asks for no cycle at all).
    pub fn off() -> Icmp {
        let off = Err("ICMP is off in this run (--no-icmp)".to_owned());
        Icmp { v4: off.clone(), v6: off, pacer: Arc::new(Pacer::new(Duration::ZERO)) }
    }

    /// The same sockets, with `gap` at least between any two echoes sent through them.
    pub fn with_gap(self, gap: Duration) -> Icmp {
        Icmp { pacer: Arc::new(Pacer::new(gap)), ..self }
    }

    /// One cycle to `address`: `count` echoes, `pace` apart, each waited for `timeout`.
    pub async fn cycle(&self, address: IpAddr, settings: CycleSettings) -> IcmpReport {
        let family = if address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 };
        let mut report = IcmpReport {
            family,
            address,
            outcome: IcmpOutcome::Timeout,
            sent: 0,
            received: 0,
            rtts: Vec::new(),
            detail: None,
        };
        let client = match (family, &self.v4, &self.v6) {
            (Family::Ipv4, Ok(c), _) | (Family::Ipv6, _, Ok(c)) => c,
            (Family::Ipv4, Err(e), _) | (Family::Ipv6, _, Err(e)) => {
                report.outcome = IcmpOutcome::SendError;
                report.detail = Some(e.clone());
                return report;
            }
        };
        let ident = PingIdentifier(NEXT_IDENT.fetch_add(1, Ordering::Relaxed));
        let pacer = &self.pacer;
        let echoes = (0..settings.count).map(|i| async move {
            tokio::time::sleep(settings.spacing * i).await;
            pacer.slot().await;
            let mut pinger = client.pinger(address, ident).await;
            pinger.timeout(settings.timeout);
            let seq = PingSequence(u16::try_from(i).unwrap_or(u16::MAX));
            timed_from_before_send(pinger.ping(seq, &PAYLOAD)).await
        });
        let mut unreachable = None;
        let mut send_error = None;
        for result in join_all(echoes).await {
            match result {
                Ok((packet, rtt)) => {
                    report.sent += 1;
                    match echo_reply(&packet) {
                        Ok(()) => {
                            report.received += 1;
                            report.rtts.push(rtt);
                        }
                        Err(what) => unreachable = Some(what),
                    }
                }
                Err(SurgeError::Timeout { .. }) => report.sent += 1,
                Err(SurgeError::IOError(e)) => send_error = Some(e.to_string()),
                Err(e) => send_error = Some(e.to_string()),
            }
        }
        (report.outcome, report.detail) = if report.received > 0 {
            (IcmpOutcome::Ok, None)
        } else if let Some(what) = unreachable {
            (IcmpOutcome::Unreachable, Some(what))
        } else if let Some(e) = send_error {
            (IcmpOutcome::SendError, Some(e))
        } else {
            let detail = format!(
                "no reply to {} echo(es) within {} ms each",
                report.sent,
                settings.timeout.as_millis()
            );
            (IcmpOutcome::Timeout, Some(detail))
        };
        report
    }
}

/// Await one echo, its round-trip time counted from before it was sent.
///
/// surge-ping starts an echo's clock only once `send_to` has returned, so a thread taken off
/// the CPU right after the send (a busy machine; the send itself wakes whoever reads the link)
/// reads a round trip shorter than the path's: 0.48 ms was measured on a lab fibre link that
/// cannot answer in under 0.9 ms. The echo is registered and sent during the future's first
/// poll, so that poll's duration is added: the clock then starts before the send, as ping's
/// and fping's do, and an RTT can only read long by the microseconds of the poll, never short.
async fn timed_from_before_send<T, E, F>(echo: F) -> Result<(T, Duration), E>
where
    F: Future<Output = Result<(T, Duration), E>>,
{
    let mut echo = std::pin::pin!(echo);
    let mut sending: Option<Duration> = None;
    std::future::poll_fn(|cx| {
        let started = crate::clock::monotonic();
        let poll = echo.as_mut().poll(cx);
        let sending = *sending.get_or_insert_with(|| started.elapsed());
        poll.map(|result| result.map(|(packet, rtt)| (packet, rtt + sending)))
    })
    .await
}

/// 16 bytes of payload, enough for RTT-independent matching by identifier and sequence.
const PAYLOAD: [u8; 16] = *b"vigia-icmp-probe";

/// `Ok` for an echo reply; otherwise what the packet says (a destination unreachable is a
/// failure, never a success: raw sockets hand it back as if it were a reply).
fn echo_reply(packet: &IcmpPacket) -> Result<(), String> {
    match packet {
        IcmpPacket::V4(p) if p.get_icmp_type().0 == ICMPV4_ECHO_REPLY => Ok(()),
        IcmpPacket::V6(p) if p.get_icmpv6_type().0 == ICMPV6_ECHO_REPLY => Ok(()),
        IcmpPacket::V4(p) => Err(format!(
            "ICMP type {} code {} from {} instead of an echo reply",
            p.get_icmp_type().0,
            p.get_icmp_code().0,
            p.get_source()
        )),
        IcmpPacket::V6(p) => Err(format!(
            "ICMPv6 type {} code {} from {} instead of an echo reply",
            p.get_icmpv6_type().0,
            p.get_icmpv6_code().0,
            p.get_source()
        )),
    }
}

fn open_client(family: Family) -> Result<Client, IcmpError> {
    let kind = match family {
        Family::Ipv4 => ICMP::V4,
        Family::Ipv6 => ICMP::V6,
    };
    let config = Config::builder().kind(kind).build();
    let client = Client::new(&config).map_err(|source| {
        if source.kind() == io::ErrorKind::PermissionDenied {
            IcmpError::Permission {
                family,
                source,
                exe: std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "vigia".into()),
                range: std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
                    .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                    .unwrap_or_else(|_| "unknown".into()),
            }
        } else {
            IcmpError::Socket { family, source }
        }
    })?;
    raise_receive_buffer(&client);
    Ok(client)
}

/// Ask for a large receive buffer; as root, beyond net.core.rmem_max. Best effort: a smaller
/// buffer only means bursts should be smaller.
fn raise_receive_buffer(client: &Client) {
    let fd = client.get_socket().get_native_sock();
    let size = i32::try_from(RECV_BUFFER_BYTES).unwrap_or(i32::MAX);
    for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        if crate::sys::set_socket_option(fd, libc::SOL_SOCKET, option, size).is_ok() {
            return;
        }
    }
    tracing::debug!("could not raise the ICMP receive buffer; large bursts may lose replies");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[tokio::test]
    async fn time_taken_by_the_send_counts_in_the_round_trip() {
        // An echo whose first poll (where it is sent) is held up 20 ms, as a thread taken off
        // the CPU right after the send is, and whose own clock then reads 1 ms.
        let mut polls = 0;
        let echo = std::future::poll_fn(move |cx| {
            polls += 1;
            if polls == 1 {
                std::thread::sleep(Duration::from_millis(20));
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(Ok::<_, ()>(((), Duration::from_millis(1))))
            }
        });
        let ((), rtt) = timed_from_before_send(echo).await.unwrap();
        assert!(rtt >= Duration::from_millis(21), "{rtt:?}");
        // Failures pass through untouched.
        let failed = timed_from_before_send(async { Err::<((), Duration), _>("timeout") }).await;
        assert_eq!(failed, Err("timeout"));
    }

    /// Loopback answers ICMP over both families on any Linux host; this needs root (or ping
    /// sockets) like the agent does.
    #[tokio::test]
    async fn loopback_answers_over_both_families() {
        let icmp = Icmp::open().expect("ICMP sockets (run the tests as root)");
        let settings = CycleSettings {
            count: 3,
            spacing: Duration::from_millis(10),
            timeout: Duration::from_secs(1),
        };
        for addr in ["127.0.0.1", "::1"] {
            let report = icmp.cycle(addr.parse().unwrap(), settings).await;
            assert_eq!(report.outcome, IcmpOutcome::Ok, "{addr}: {report:?}");
            assert_eq!((report.sent, report.received), (3, 3), "{addr}");
            assert_eq!(report.rtts.len(), 3);
        }
    }

    /// A packet as a raw socket hands it back: IPv4 with its header, ICMPv6 without.
    fn v4_packet(icmp: &[u8]) -> Vec<u8> {
        let len = u16::try_from(20 + icmp.len()).unwrap().to_be_bytes();
        let mut p = vec![0x45, 0, len[0], len[1], 0, 0, 0, 0, 64, 1, 0, 0];
        p.extend([198, 18, 0, 10, 198, 19, 255, 254]);
        p.extend(icmp);
        p
    }

    fn echo(kind: u8, id: u16, seq: u16) -> Vec<u8> {
        let mut p = vec![kind, 0, 0, 0];
        p.extend(id.to_be_bytes());
        p.extend(seq.to_be_bytes());
        p.extend(PAYLOAD);
        p
    }

    /// What a raw socket may hand back, valid or garbled, is classified without a panic, and
    /// only an echo reply ever counts as one: seeded mutations of echo replies and of
    /// destination-unreachable errors quoting our request, over both families (issue 16).
    /// `VIGIA_FUZZ_CASES` (scripts/fuzz) runs more.
    #[test]
    fn garbled_icmp_packets_are_classified_and_only_echo_replies_count() {
        use rand::{Rng, SeedableRng};
        use surge_ping::{Icmpv4Packet, Icmpv6Packet};
        let cases: u64 =
            std::env::var("VIGIA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4_000);
        let (src4, dst4) = (Ipv4Addr::new(198, 18, 0, 10), Ipv4Addr::new(198, 19, 255, 254));
        let dst6: Ipv6Addr = "2001:db8:ffff::fe".parse().unwrap();
        let mut unreachable4 = vec![3, 1, 0, 0, 0, 0, 0, 0];
        unreachable4.extend(&v4_packet(&echo(8, 7, 1))[..28]);
        let mut unreachable6 = vec![1, 3, 0, 0, 0, 0, 0, 0, 0x60, 0, 0, 0, 0, 16, 58, 64];
        unreachable6.extend(dst6.octets());
        unreachable6.extend("2001:db8:0:1::10".parse::<Ipv6Addr>().unwrap().octets());
        unreachable6.extend(&echo(128, 7, 1)[..8]);
        let v4 = |b: &[u8]| Icmpv4Packet::decode(b, socket2::Type::RAW, src4, dst4).ok();
        let v6 = |b: &[u8]| Icmpv6Packet::decode(b, dst6).ok();
        let class4 = |b: &[u8]| v4(b).map(|p| echo_reply(&IcmpPacket::V4(p)));
        let class6 = |b: &[u8]| v6(b).map(|p| echo_reply(&IcmpPacket::V6(p)));

        // As sent: a reply is a reply, an unreachable is a failure that says what it is.
        assert_eq!(class4(&v4_packet(&echo(0, 7, 1))), Some(Ok(())));
        let e = class4(&v4_packet(&unreachable4)).unwrap().unwrap_err();
        assert!(e.contains("ICMP type 3 code 1 from 198.18.0.10"), "{e}");
        assert_eq!(class6(&echo(129, 7, 1)), Some(Ok(())));
        let e = class6(&unreachable6).unwrap().unwrap_err();
        assert!(e.contains("ICMPv6 type 1 code 3"), "{e}");

        let seeds4 = [v4_packet(&echo(0, 7, 1)), v4_packet(&unreachable4)];
        let seeds6 = [echo(129, 7, 1), unreachable6];
        let mut replies = 0;
        for case in 0..cases {
            let mut rng = rand::rngs::StdRng::seed_from_u64(case);
            let v6_case = case % 2 == 1;
            let seeds = if v6_case { &seeds6 } else { &seeds4 };
            let mut b = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(1..6) {
                match rng.random_range(0..4) {
                    0 if !b.is_empty() => {
                        let i = rng.random_range(0..b.len());
                        b[i] = rng.random();
                    }
                    1 => b.truncate(rng.random_range(0..=b.len())),
                    2 => b.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>())),
                    _ if !b.is_empty() => {
                        let i = rng.random_range(0..b.len());
                        b[i] ^= 1 << rng.random_range(0..8);
                    }
                    _ => {}
                }
            }
            // Whatever the bytes, classifying them must not panic. The kernel hands a raw IPv4
            // socket only packets with a valid header (version 4, at least 20 bytes): only for
            // those is the ICMP type where the header length says.
            let (class, kind, deliverable) = if v6_case {
                (class6(&b), b.first().copied(), true)
            } else {
                let header = usize::from(b.first().map_or(0, |v| v & 0x0f)) * 4;
                let valid = b.len() >= 20 && b[0] >> 4 == 4 && header >= 20;
                (class4(&b), b.get(header).copied(), valid)
            };
            if deliverable && let Some(Ok(())) = class {
                replies += 1;
                let want = if v6_case { ICMPV6_ECHO_REPLY } else { ICMPV4_ECHO_REPLY };
                assert_eq!(kind, Some(want), "case {case}: counted as a reply: {b:?}");
            }
        }
        assert!(replies > 0, "the mutations never left a reply whole");
    }
}
