//! One UDP socket per address family for the SNMPv2c requests of many polls, instead of a new
//! socket (and snmp2's 2 x 64 KiB of buffers) for every poll.
//!
//! A task reads each socket and hands every datagram to the request it answers: the source
//! address and port must be the agent's, and the request id one that request is waiting for.
//! What it does with the rest:
//! - a reply from an address no request of this pool is waiting on (another source, a port
//!   that is not the agent's): dropped, so the request times out as on a connected socket;
//! - a reply from the agent with the id of an earlier attempt of the same request (a late
//!   reply after a timeout): dropped, the retry waits on;
//! - a reply from the agent with any other id: handed to the requests waiting on that agent,
//!   which count it as a reply to another request (`RequestIdMismatch`), as snmp2 does;
//! - an ICMP error (IP_RECVERR / IPV6_RECVERR, read from the socket's error queue, which names
//!   the destination that failed): handed to the requests waiting on that destination, which
//!   diagnose it on a connected socket of their own (see `Client::diagnose_icmp`).
//!
//! SNMPv3 stays on snmp2's sessions, one per poll: its messages are built and checked by
//! snmp2's session state (engine boots and time, keys), which this module does not hold.

use std::collections::HashMap;
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Receive buffer of the sockets: a burst of replies from hundreds of polls at once.
const SOCKET_BUFFER: usize = 4 << 20;
/// The largest datagram read (a UDP payload cannot be longer).
const DATAGRAM: usize = 65_536;
/// Deliveries queued for one request before more are dropped (only a misbehaving agent sends
/// several replies to one request).
const QUEUE: usize = 4;

/// What the reader hands to a waiting request.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// A datagram from the agent: the reply to the request, or (id not the request's, or not
    /// decodable) something the request must judge.
    Datagram(Vec<u8>),
    /// An ICMP error came back for a datagram sent to the agent.
    Icmp,
}

/// A request waiting on the agent at `addr`.
struct Waiter {
    /// Its own key, to remove it.
    key: u64,
    /// The id it waits for.
    id: i32,
    /// The id of its first attempt: ids from there up to `id` are its earlier attempts.
    first: i32,
    tx: mpsc::Sender<Delivery>,
}

type Waiting = Arc<Mutex<HashMap<(IpAddr, u16), Vec<Waiter>>>>;

/// One family's socket, its reader and its waiting requests.
struct FamilySocket {
    socket: Arc<UdpSocket>,
    waiting: Waiting,
    next_key: Mutex<u64>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for FamilySocket {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The shared sockets of a pool of polls: cheap to clone, opened on first use, closed (their
/// reader stopped) when the last clone is dropped. Needs a tokio runtime with I/O.
#[derive(Clone, Default)]
pub struct SnmpSockets {
    inner: Arc<Families>,
}

#[derive(Default)]
struct Families {
    v4: tokio::sync::OnceCell<FamilySocket>,
    v6: tokio::sync::OnceCell<FamilySocket>,
}

impl std::fmt::Debug for SnmpSockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnmpSockets")
            .field("v4", &self.inner.v4.initialized())
            .field("v6", &self.inner.v6.initialized())
            .finish()
    }
}

impl SnmpSockets {
    /// A pool with no socket open yet.
    pub fn new() -> SnmpSockets {
        SnmpSockets::default()
    }

    /// Whether this call opened the family's socket (the first request over it).
    async fn family(&self, addr: SocketAddr) -> io::Result<(&FamilySocket, bool)> {
        let cell = if addr.is_ipv4() { &self.inner.v4 } else { &self.inner.v6 };
        let mut opened = false;
        let family = cell
            .get_or_try_init(|| async {
                opened = true;
                open(addr.is_ipv4())
            })
            .await?;
        Ok((family, opened))
    }

    /// Register a request to `addr` waiting for `id` (its first attempt had `first`), send
    /// `message`, and return what to wait on. `Ok(.., true)` when the family's socket was
    /// opened for it.
    pub(crate) async fn send(
        &self,
        addr: SocketAddr,
        id: i32,
        first: i32,
        message: &[u8],
    ) -> io::Result<(Pending, bool)> {
        let (family, opened) = self.family(addr).await?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let key = {
            let mut next = family.next_key.lock().unwrap_or_else(|e| e.into_inner());
            *next += 1;
            *next
        };
        let peer = (addr.ip(), addr.port());
        family
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(peer)
            .or_default()
            .push(Waiter { key, id, first, tx });
        let pending = Pending { waiting: family.waiting.clone(), peer, key, rx };
        family.socket.send_to(message, addr).await?;
        Ok((pending, opened))
    }
}

/// A request in flight: what the reader hands it. Dropping it stops the deliveries.
pub(crate) struct Pending {
    waiting: Waiting,
    peer: (IpAddr, u16),
    key: u64,
    rx: mpsc::Receiver<Delivery>,
}

impl Pending {
    /// The next delivery (never `None` while the reader runs).
    pub(crate) async fn next(&mut self) -> Option<Delivery> {
        self.rx.recv().await
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = waiting.get_mut(&self.peer) {
            list.retain(|w| w.key != self.key);
            if list.is_empty() {
                waiting.remove(&self.peer);
            }
        }
    }
}

/// Open one family's socket (bound to the wildcard, any port) and start its reader.
fn open(v4: bool) -> io::Result<FamilySocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if v4 { Domain::IPV4 } else { Domain::IPV6 };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if !v4 {
        socket.set_only_v6(true)?;
    }
    // Best effort: a smaller buffer only loses replies in the largest bursts (retried).
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let (level, option) = if v4 {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    } else {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    };
    crate::sys::set_socket_option(socket.as_raw_fd(), level, option, 1)?;
    let any: SocketAddr =
        if v4 { (Ipv4Addr::UNSPECIFIED, 0).into() } else { (Ipv6Addr::UNSPECIFIED, 0).into() };
    socket.bind(&any.into())?;
    socket.set_nonblocking(true)?;
    let socket = Arc::new(UdpSocket::from_std(socket.into())?);
    let waiting: Waiting = Arc::default();
    let reader = tokio::spawn(read(socket.clone(), waiting.clone()));
    Ok(FamilySocket { socket, waiting, next_key: Mutex::new(0), reader })
}

/// The reader: every datagram and every queued ICMP error to the requests it concerns.
async fn read(socket: Arc<UdpSocket>, waiting: Waiting) {
    let mut buf = vec![0u8; DATAGRAM];
    loop {
        let ready = match socket.ready(Interest::READABLE | Interest::ERROR).await {
            Ok(ready) => ready,
            Err(e) => {
                tracing::warn!(error = %e, "snmp socket reader stopped");
                return;
            }
        };
        if ready.is_error() {
            let _ = socket.try_io(Interest::ERROR, || drain_errors(&socket, &waiting));
        }
        if ready.is_readable() {
            loop {
                match socket.try_recv_from(&mut buf) {
                    Ok((n, from)) => dispatch(&waiting, from, &buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // The pending error of an ICMP message (IP_RECVERR): the error queue says
                    // which destination it was.
                    Err(_) => {
                        let _ = socket.try_io(Interest::ERROR, || drain_errors(&socket, &waiting));
                    }
                }
            }
        }
    }
}

/// Read the socket's error queue to the end; each entry names the destination of the datagram
/// an ICMP error came back for. Ends with `WouldBlock` (so tokio clears the readiness).
fn drain_errors(socket: &UdpSocket, waiting: &Waiting) -> io::Result<()> {
    let sock = socket2::SockRef::from(socket);
    let mut buf = [MaybeUninit::<u8>::uninit(); 512];
    loop {
        match sock.recv_from_with_flags(&mut buf, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) {
            Ok((_, addr)) => {
                let Some(addr) = addr.as_socket() else { continue };
                let list = waiting.lock().unwrap_or_else(|e| e.into_inner());
                for w in list.get(&(addr.ip(), addr.port())).into_iter().flatten() {
                    let _ = w.tx.try_send(Delivery::Icmp);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Nothing else is expected; stop draining until the next readiness.
            Err(_) => return Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// Hand one datagram from `from` to the request it answers.
fn dispatch(waiting: &Waiting, from: SocketAddr, datagram: &[u8]) {
    let from = (from.ip(), from.port());
    // Decoded before the lock: every request of every poll waits on it.
    let id = snmp2::Pdu::from_bytes(datagram).ok().map(|p| p.req_id);
    let list = waiting.lock().unwrap_or_else(|e| e.into_inner());
    let Some(list) = list.get(&from) else { return };
    if let Some(id) = id {
        if let Some(w) = list.iter().find(|w| w.id == id) {
            let _ = w.tx.try_send(Delivery::Datagram(datagram.to_vec()));
            return;
        }
        // A late reply to an earlier attempt of a request still waiting: not an answer.
        if list.iter().any(|w| earlier(w.first, w.id, id)) {
            return;
        }
    }
    for w in list {
        let _ = w.tx.try_send(Delivery::Datagram(datagram.to_vec()));
    }
}

/// Whether `id` is one of the ids from `first` up to (not including) `current`, counted with
/// wrap-around as the client counts them.
fn earlier(first: i32, current: i32, id: i32) -> bool {
    let span = current.wrapping_sub(first) as u32;
    let offset = id.wrapping_sub(first) as u32;
    offset < span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_attempts_are_counted_with_wrap_around() {
        assert!(earlier(10, 12, 10));
        assert!(earlier(10, 12, 11));
        assert!(!earlier(10, 12, 12));
        assert!(!earlier(10, 12, 9));
        assert!(!earlier(10, 10, 10));
        assert!(earlier(i32::MAX, i32::MIN.wrapping_add(1), i32::MAX));
        assert!(earlier(i32::MAX, i32::MIN.wrapping_add(1), i32::MIN));
        assert!(!earlier(i32::MAX, i32::MIN.wrapping_add(1), 0));
    }
}
