//! A misbehaving SNMPv2c agent on 127.0.0.1, written for the tests.
//!
//! This is a purpose-built stand-in, not a mock of convenience: net-snmp's `snmpd` cannot be made
//! to stuff GETBULK replies with more varbinds than asked, to answer every request just inside
//! the client's timeout, to answer with another request's id, or to send a varbind with a false
//! length, and issue 16 needs vigia tried against exactly those. Everything a well-behaved agent
//! does here follows RFC 3416 (GET, GETBULK with non-repeaters 0); each knob of [`Behaviour`]
//! breaks one rule. It serves the system group and an ifTable/ifXTable of `rows` rows whose
//! cells are all INTEGER 1 (or an OCTET STRING of `value_bytes` bytes).

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the agent misbehaves. `Behaviour::default()` is an honest agent with a 3-row table.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// sysDescr's bytes.
    pub descr: Vec<u8>,
    /// Rows of the interface table.
    pub rows: u32,
    /// GETBULK answers carry this many times the repetitions asked (1: honest).
    pub stuff: u32,
    /// Every answer waits this long.
    pub delay: Duration,
    /// Added to the request id of every answer (0: honest).
    pub request_id_offset: i32,
    /// A GET answer's second varbind claims a longer value than it holds.
    pub false_length: bool,
    /// Table cells are OCTET STRINGs of this many bytes (0: INTEGER 1).
    pub value_bytes: usize,
    /// Garble one reply in five (a byte replaced, a bit flipped, or cut short) from this seed:
    /// the same seed, the same garbage.
    pub garble: Option<u64>,
    /// GETBULK answers go back to the table's first row after the second.
    pub backwards: bool,
    /// GETBULK answers name each cell with an OID of this many sub-identifiers (0: the
    /// cell's own).
    pub oid_len: usize,
    /// Answers leave from another socket (another source port).
    pub other_source: bool,
    /// Answers are Report PDUs (an SNMPv3 thing) instead of Responses.
    pub report_pdu: bool,
    /// GET answers carry every varbind twice.
    pub stuff_get: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            descr: b"hostile test agent".to_vec(),
            rows: 3,
            stuff: 1,
            delay: Duration::ZERO,
            request_id_offset: 0,
            false_length: false,
            value_bytes: 0,
            garble: None,
            backwards: false,
            oid_len: 0,
            other_source: false,
            report_pdu: false,
            stuff_get: false,
        }
    }
}

/// The running agent; stopped and joined when dropped.
pub struct Hostile {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU32>,
    thread: Option<JoinHandle<()>>,
}

/// The community it answers.
pub const COMMUNITY: &[u8] = b"public";

/// The largest reply it sends, as a real agent bounds its replies by its buffer (RFC 3416:
/// a GETBULK answer may end early to fit).
const MAX_REPLY: usize = 60_000;

impl Hostile {
    /// Start it on a free port of 127.0.0.1.
    pub fn start(behaviour: Behaviour) -> Hostile {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU32::new(0));
        let (s, r) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || serve(&socket, &behaviour, &s, &r));
        Hostile { addr, stop, requests, thread: Some(thread) }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received so far.
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(socket: &UdpSocket, b: &Behaviour, stop: &AtomicBool, requests: &AtomicU32) {
    let mut buf = vec![0u8; 65_536];
    let mut random = b.garble.map(|seed| seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let other = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
        requests.fetch_add(1, Ordering::SeqCst);
        let Some(mut reply) = answer(&buf[..n], b) else { continue };
        if let Some(state) = &mut random {
            garble(&mut reply, state);
        }
        if !b.delay.is_zero() {
            std::thread::sleep(b.delay);
        }
        let _ = if b.other_source { &other } else { socket }.send_to(&reply, from);
    }
}

/// xorshift64: enough randomness to garble replies, the same for the same seed.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One reply in five: one or two changes, each a byte replaced, a bit flipped, or the reply
/// cut short.
fn garble(reply: &mut Vec<u8>, state: &mut u64) {
    if !next_random(state).is_multiple_of(5) {
        return;
    }
    for _ in 0..=next_random(state) % 2 {
        if reply.is_empty() {
            return;
        }
        let at = (next_random(state) % reply.len() as u64) as usize;
        match next_random(state) % 3 {
            0 => reply[at] = next_random(state) as u8,
            1 => reply[at] ^= 1 << (next_random(state) % 8),
            _ => reply.truncate(at),
        }
    }
}

const SYSTEM: &[u32] = &[1, 3, 6, 1, 2, 1, 1];
/// ifTable's and ifXTable's entries; every column of each is served.
const TABLES: [(&[u32], u32); 2] =
    [(&[1, 3, 6, 1, 2, 1, 2, 2, 1], 22), (&[1, 3, 6, 1, 2, 1, 31, 1, 1, 1], 19)];

fn answer(request: &[u8], b: &Behaviour) -> Option<Vec<u8>> {
    let pdu = snmp2::Pdu::from_bytes(request).ok()?;
    if pdu.community != COMMUNITY {
        return None;
    }
    let oids: Vec<Vec<u32>> = pdu
        .varbinds
        .map(|(name, _)| name.iter().map(|i| i.map(|a| a as u32).collect()).unwrap_or_default())
        .collect();
    let req_id = pdu.req_id.wrapping_add(b.request_id_offset);
    let mut varbinds = Vec::new();
    match pdu.message_type {
        snmp2::MessageType::GetRequest => {
            for (n, oid) in oids.iter().enumerate() {
                let value = get(oid, b).unwrap_or_else(|| tlv(0x80, &[]));
                let value = if b.false_length && n == 1 {
                    // An OCTET STRING that says 200 bytes and holds 3.
                    vec![0x04, 200, b'a', b'b', b'c']
                } else {
                    value
                };
                varbinds.push(varbind(oid, &value));
            }
            if b.stuff_get {
                let once = varbinds.clone();
                varbinds.extend(once);
            }
        }
        snmp2::MessageType::GetBulkRequest => {
            let reps = pdu.error_index.saturating_mul(b.stuff);
            let mut cursors = oids;
            let mut size = 0;
            'reps: for _ in 0..reps {
                for c in &mut cursors {
                    let vb = match next(c, b) {
                        Some((mut oid, value)) => {
                            if b.backwards && oid.last().is_some_and(|row| *row > 2) {
                                *oid.last_mut().unwrap() = 1;
                            }
                            *c = oid;
                            if b.oid_len > 0 {
                                let mut long = c.clone();
                                long.resize(b.oid_len, 7);
                                varbind(&long, &value)
                            } else {
                                varbind(c, &value)
                            }
                        }
                        None => varbind(c, &tlv(0x82, &[])),
                    };
                    size += vb.len();
                    if size > MAX_REPLY {
                        break 'reps;
                    }
                    varbinds.push(vb);
                }
            }
        }
        _ => return None,
    }
    let tag = if b.report_pdu { 0xa8 } else { 0xa2 };
    Some(response(tag, req_id, &varbinds.concat()))
}

/// The value of a scalar of the system group.
fn get(oid: &[u32], b: &Behaviour) -> Option<Vec<u8>> {
    let (scalar, rest) = oid.strip_prefix(SYSTEM)?.split_first()?;
    if rest != [0] {
        return None;
    }
    Some(match scalar {
        1 => tlv(0x04, &b.descr),
        2 => tlv(0x06, &oid_body(&[1, 3, 6, 1, 4, 1, 8072, 3, 2, 10])),
        3 => tlv(0x43, &[0x01, 0x00]),
        4 => tlv(0x04, b"noc@example.org"),
        5 => tlv(0x04, b"sw-hostile"),
        6 => tlv(0x04, b"Tacna"),
        _ => return None,
    })
}

/// The table cell after `oid`, in lexicographic order; `None` past the tables (endOfMibView).
fn next(oid: &[u32], b: &Behaviour) -> Option<(Vec<u32>, Vec<u8>)> {
    let cell =
        if b.value_bytes > 0 { tlv(0x04, &vec![b'x'; b.value_bytes]) } else { tlv(0x02, &[1]) };
    for (entry, columns) in TABLES {
        for column in 1..=columns {
            let mut prefix = entry.to_vec();
            prefix.push(column);
            let row = if oid < prefix.as_slice() {
                1
            } else if let Some(rest) = oid.strip_prefix(prefix.as_slice()) {
                rest.first().map_or(1, |i| i.saturating_add(1))
            } else {
                continue;
            };
            if row == 0 || row > b.rows {
                continue;
            }
            prefix.push(row);
            return Some((prefix, cell));
        }
    }
    None
}

fn response(tag: u8, req_id: i32, varbinds: &[u8]) -> Vec<u8> {
    let pdu = [int(i64::from(req_id)), int(0), int(0), tlv(0x30, varbinds)].concat();
    tlv(0x30, &[int(1), tlv(0x04, COMMUNITY), tlv(tag, &pdu)].concat())
}

fn varbind(oid: &[u32], value: &[u8]) -> Vec<u8> {
    tlv(0x30, &[tlv(0x06, &oid_body(oid)), value.to_vec()].concat())
}

fn int(n: i64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let mut skip = 0;
    while skip < 7
        && ((bytes[skip] == 0 && bytes[skip + 1] & 0x80 == 0)
            || (bytes[skip] == 0xff && bytes[skip + 1] & 0x80 != 0))
    {
        skip += 1;
    }
    tlv(0x02, &bytes[skip..])
}

fn oid_body(ids: &[u32]) -> Vec<u8> {
    let mut out = vec![(ids[0] * 40 + ids[1]) as u8];
    for &id in &ids[2..] {
        let mut chunk = vec![(id & 0x7f) as u8];
        let mut rest = id >> 7;
        while rest > 0 {
            chunk.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        chunk.reverse();
        out.extend(chunk);
    }
    out
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let len = (n as u32).to_be_bytes();
        let skip = len.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend(&len[skip..]);
    }
    out.extend(content);
    out
}
