//! One poll's conversation with an agent: sessions opened and dropped as snmp2 requires, every
//! request under its own timeout, retries on fresh sessions, SNMPv3 engine state kept fresh.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use snmp2::AsyncSession;
use snmp2::v3::{AuthErrorKind, KeyExtension};

use super::credentials::{Credentials, SnmpTarget};
use super::shared::{Delivery, SnmpSockets};
use super::usm::{self, Engine, ProbeReply, User};
use super::value::{ObjectId, Response, to_oid};
use crate::probe::SnmpCost;
use tokio::time::Instant;

/// Why a request, or the poll, could not get an answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// No reply within the timeout, on every attempt.
    #[error("no answer within {timeout:?} ({attempts} attempt(s)){}", discovery_note(*.discovered))]
    Timeout {
        /// Attempts made.
        attempts: u32,
        /// The timeout of each.
        timeout: Duration,
        /// The agent answered SNMPv3 engine discovery in this poll: it is there, and silence
        /// means it dropped the request (net-snmp does so with a wrong privacy password).
        discovered: bool,
    },
    /// ICMP port unreachable: nothing listens on the port.
    #[error("ICMP port unreachable: no SNMP agent listens on UDP port {port}{}", refused_note(*.confirmed))]
    Refused {
        /// The port.
        port: u16,
        /// Whether a second probe saw ECONNREFUSED itself.
        confirmed: bool,
    },
    /// ICMP host or network unreachable, or no route to send.
    #[error("{0}")]
    Unreachable(String),
    /// The SNMPv3 credentials were refused.
    #[error("{0}")]
    AuthFailed(String),
    /// The answer could not be decoded or was not an answer to the request.
    #[error("{0}")]
    Decode(String),
    /// Every attempt was answered with a reply to another request (request-id mismatch): the
    /// agent answers, but not this request.
    #[error(
        "the agent answered {mismatched} of {attempts} attempt(s) with a reply to another request \
         (request-id mismatch){}",
        if *.mismatched < *.attempts { ", and did not answer the others in time" } else { "" }
    )]
    WrongRequestId {
        /// Attempts made.
        attempts: u32,
        /// Of those, answered with a reply to another request.
        mismatched: u32,
    },
    /// The poll reached its deadline before this request was answered.
    #[error("no answer before the poll's deadline, {} s after it started", .0.as_secs_f64())]
    Deadline(Duration),
    /// vigia could not open a socket (a local problem, not the device's).
    #[error("cannot open a UDP socket: {0}")]
    Local(io::Error),
}

fn discovery_note(discovered: bool) -> &'static str {
    if discovered {
        " to the request, though the agent answered SNMPv3 engine discovery"
    } else {
        ""
    }
}

fn refused_note(confirmed: bool) -> &'static str {
    if confirmed {
        ""
    } else {
        " (most likely: an ICMP error came back and a second probe got no answer)"
    }
}

/// What to do after a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Drop the session and send again on a new one.
    Resend,
    /// Send again on the same session: snmp2 learnt new engine boots/time from the reply.
    Repeat,
    /// Rediscover the SNMPv3 engine, then send again on a new session.
    Rediscover,
    /// Try the other AES key extension method (Blumenthal / Reeder), then send again.
    OtherKeyExtension,
    /// Stop: the request failed for good.
    GiveUp(Stop),
}

/// How a request failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Out of attempts.
    Timeout,
    /// An ICMP error came back (snmp2 hides which).
    Icmp,
    /// The request could not be sent.
    Send,
    /// Authentication.
    Auth,
    /// Decoding.
    Decode,
    /// Replies to other requests only.
    Mismatch,
}

/// The retry policy of one request, free of I/O: what each failure leads to.
///
/// - A timeout, or a reply to an older request (snmp2's `RequestIdMismatch`), leaves the
///   session one reply behind for ever: resend on a new session, `retries` times at most.
/// - SNMPv3 time-window trouble (the agent's engine time or boots moved on: a long idle, an
///   agent restart) is cured by rediscovering the engine, once per request.
/// - `AuthUpdated` means snmp2 already took new boots/time from the reply: repeat on the same
///   session (the reply was consumed, nothing is left queued), twice at most.
/// - A pair that needs AES key extension, not yet proven in this poll, tries the other method
///   (Blumenthal / Reeder) once after an authentication failure or a first timeout: an agent
///   that cannot decrypt a request drops it silently, as net-snmp does.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    retries: u32,
    v3: bool,
    extension_unproven: bool,
    timeouts: u32,
    mismatches: u32,
    repeats: u32,
    rediscovered: bool,
    other_extension_tried: bool,
}

impl Policy {
    /// A fresh policy for one request. `extension_unproven`: the user's pair needs AES key
    /// extension and no request of this poll has succeeded with the method in use.
    pub(crate) fn new(retries: u32, v3: bool, extension_unproven: bool) -> Policy {
        Policy {
            retries,
            v3,
            extension_unproven,
            timeouts: 0,
            mismatches: 0,
            repeats: 0,
            rediscovered: false,
            other_extension_tried: false,
        }
    }

    /// Attempts that timed out (or got a reply to another request) so far.
    pub(crate) fn timeouts(&self) -> u32 {
        self.timeouts
    }

    /// Attempts answered with a reply to another request so far.
    pub(crate) fn mismatches(&self) -> u32 {
        self.mismatches
    }

    /// After a timeout.
    pub(crate) fn on_timeout(&mut self) -> Next {
        self.timeouts += 1;
        if self.extension_unproven && !self.other_extension_tried {
            self.other_extension_tried = true;
            return Next::OtherKeyExtension;
        }
        if self.timeouts > self.retries {
            Next::GiveUp(self.out_of_attempts())
        } else {
            Next::Resend
        }
    }

    /// After snmp2 returned an error.
    pub(crate) fn on_error(&mut self, e: &snmp2::Error) -> Next {
        use snmp2::Error as E;
        match e {
            // A session is dropped after every timeout, so a reply to another request on a
            // fresh one is the agent's doing, not a late reply: said as such when it decides.
            E::RequestIdMismatch => {
                self.timeouts += 1;
                self.mismatches += 1;
                if self.timeouts > self.retries {
                    Next::GiveUp(Stop::Mismatch)
                } else {
                    Next::Resend
                }
            }
            E::Receive => Next::GiveUp(Stop::Icmp),
            E::Send => Next::GiveUp(Stop::Send),
            E::AuthUpdated if self.repeats < 2 => {
                self.repeats += 1;
                Next::Repeat
            }
            E::AuthUpdated => self.resync(),
            E::AuthFailure(
                AuthErrorKind::EngineTimeMismatch
                | AuthErrorKind::EngineBootsMismatch
                | AuthErrorKind::EngineBootsNotProvided
                | AuthErrorKind::EngineIdMismatch
                | AuthErrorKind::ReplyNotEncrypted,
            ) => self.resync(),
            E::AuthFailure(_) => self.auth(),
            // A v3 agent answers a request it refuses with a Report PDU, which snmp2 rejects as
            // the wrong type (noAuthNoPriv unknown user, unsupported security level); a reply
            // for another user fails the "community" check.
            E::AsnWrongType | E::CommunityMismatch if self.v3 => self.auth(),
            _ => Next::GiveUp(Stop::Decode),
        }
    }

    /// How a request that timed out for good ended: silence, or replies to other requests.
    pub(crate) fn out_of_attempts(&self) -> Stop {
        if self.mismatches > 0 { Stop::Mismatch } else { Stop::Timeout }
    }

    fn resync(&mut self) -> Next {
        if self.rediscovered {
            Next::GiveUp(Stop::Auth)
        } else {
            self.rediscovered = true;
            Next::Rediscover
        }
    }

    fn auth(&mut self) -> Next {
        if self.extension_unproven && !self.other_extension_tried {
            self.other_extension_tried = true;
            Next::OtherKeyExtension
        } else {
            Next::GiveUp(Stop::Auth)
        }
    }
}

/// A request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op<'a> {
    /// GET of these OIDs.
    Get(&'a [ObjectId]),
    /// GETBULK, non-repeaters 0, with this max-repetitions.
    Bulk(&'a [ObjectId], u32),
}

/// Receive buffer for discovery and diagnosis answers (reports of a few hundred bytes; a
/// longer datagram is cut and fails to decode, which is what it should do here).
const PROBE_BUFFER: usize = 4096;

struct V3State<'a> {
    user: User<'a>,
    engine: Option<Engine>,
    extension: Option<KeyExtension>,
    /// The agent answered discovery in this poll.
    discovered: bool,
    /// A request succeeded with the key extension method in use.
    proven: bool,
}

/// The conversation of one poll with one agent.
pub(crate) struct Client<'a> {
    target: &'a SnmpTarget,
    addr: SocketAddr,
    /// The sockets SNMPv2c requests go through (v3 opens snmp2 sessions of its own).
    pool: &'a SnmpSockets,
    /// The request id of the poll's first SNMPv2c request, and of its next: a reply with an id
    /// in between is a late reply to an earlier attempt.
    first_id: i32,
    next_id: i32,
    v3: Option<V3State<'a>>,
    session: Option<AsyncSession>,
    /// When the poll must end: no wait goes past it.
    deadline: Instant,
    /// What it cost so far: requests, retries, varbinds.
    pub cost: SnmpCost,
    /// Sessions (sockets) opened so far.
    pub sockets: u32,
}

impl<'a> Client<'a> {
    /// A client for `target`; nothing is sent yet.
    pub(crate) fn new(target: &'a SnmpTarget, pool: &'a SnmpSockets) -> Client<'a> {
        let v3 = match &target.credentials {
            Credentials::V2c { .. } => None,
            Credentials::V3 { user, auth, privacy } => Some(V3State {
                user: User {
                    name: user,
                    auth: auth.as_ref().map(|(p, s)| (*p, s.as_str())),
                    privacy: privacy.as_ref().map(|(p, s)| (*p, s.as_str())),
                },
                engine: None,
                extension: None,
                discovered: false,
                proven: false,
            }),
        };
        let addr = target.socket_addr();
        let deadline = crate::clock::monotonic() + target.deadline;
        let first_id = rand::random::<i32>() & i32::MAX;
        Client {
            target,
            addr,
            pool,
            first_id,
            next_id: first_id,
            v3,
            session: None,
            deadline,
            cost: SnmpCost::default(),
            sockets: 0,
        }
    }

    /// When the poll must end.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How long one attempt may wait: the timeout, or what is left before the deadline.
    /// `Err` once the deadline has passed.
    fn wait(&self) -> Result<Duration, Failure> {
        let left = self.deadline.saturating_duration_since(crate::clock::monotonic());
        if left.is_zero() {
            Err(Failure::Deadline(self.target.deadline))
        } else {
            Ok(self.target.timeout.min(left))
        }
    }

    /// Send one request and wait for its answer, retrying as [`Policy`] says.
    pub(crate) async fn request(&mut self, op: Op<'_>) -> Result<Response, Failure> {
        if let Credentials::V2c { community } = &self.target.credentials {
            return self.request_v2c(op, community.as_bytes()).await;
        }
        let ids = match op {
            Op::Get(ids) | Op::Bulk(ids, _) => ids,
        };
        let oids = ids
            .iter()
            .map(|o| to_oid(o).ok_or_else(|| Failure::Decode(format!("cannot encode OID {o:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&snmp2::Oid<'_>> = oids.iter().collect();
        let unproven = self.v3.as_ref().is_some_and(|v| v.user.needs_key_extension() && !v.proven);
        let mut policy = Policy::new(self.target.retries, self.v3.is_some(), unproven);
        let mut attempts = 0;
        loop {
            if self.session.is_none() {
                // A discovery that got no answer used this request's attempts already.
                self.open().await?;
            }
            let wait = self.wait()?;
            let session = self.session.as_mut().expect("opened above");
            self.cost.requests += 1;
            if attempts > 0 {
                self.cost.retries += 1;
            }
            attempts += 1;
            // Decoding stops one varbind past what was asked: an agent that stuffs its replies
            // costs no more than one that answers in full (the walk sees the extra one).
            let most = match op {
                Op::Get(ids) => ids.len(),
                Op::Bulk(ids, reps) => {
                    ids.len().saturating_mul(usize::try_from(reps).unwrap_or(usize::MAX))
                }
            };
            let sent = async {
                let pdu = match op {
                    Op::Get(_) => session.get_many(&refs).await?,
                    Op::Bulk(_, reps) => session.getbulk(&refs, 0, reps).await?,
                };
                Ok::<_, snmp2::Error>(Response::from_pdu(pdu, most.saturating_add(1)))
            };
            let result = tokio::time::timeout(wait, sent).await;
            let next = match result {
                Ok(Ok(response)) => {
                    self.proven();
                    let varbinds = u32::try_from(response.varbinds.len()).unwrap_or(u32::MAX);
                    self.cost.varbinds = self.cost.varbinds.saturating_add(varbinds);
                    return whole(op, response);
                }
                Err(_) if wait < self.target.timeout => {
                    self.session = None;
                    return Err(Failure::Deadline(self.target.deadline));
                }
                Err(_) => policy.on_timeout(),
                Ok(Err(e)) => {
                    let next = policy.on_error(&e);
                    if let Next::GiveUp(stop) = next {
                        self.session = None;
                        return Err(self.explain(stop, &e, &policy).await);
                    }
                    next
                }
            };
            match next {
                Next::Resend => self.session = None,
                Next::Repeat => {}
                Next::Rediscover => {
                    self.session = None;
                    if let Some(v3) = self.v3.as_mut() {
                        v3.engine = None;
                    }
                }
                Next::OtherKeyExtension => {
                    self.session = None;
                    // The session that failed was opened with a method: switch to the other.
                    if let Some(v3) = self.v3.as_mut() {
                        v3.extension = v3.extension.map(|m| m.other());
                    }
                }
                Next::GiveUp(_) => {
                    self.session = None;
                    return Err(match policy.out_of_attempts() {
                        Stop::Mismatch => Failure::WrongRequestId {
                            attempts: policy.timeouts(),
                            mismatched: policy.mismatches(),
                        },
                        _ => self.timed_out(policy.timeouts()),
                    });
                }
            }
        }
    }

    /// [`request`](Self::request) in SNMPv2c, through the shared socket of the family.
    async fn request_v2c(&mut self, op: Op<'_>, community: &[u8]) -> Result<Response, Failure> {
        let ids = match op {
            Op::Get(ids) | Op::Bulk(ids, _) => ids,
        };
        let oids = ids
            .iter()
            .map(|o| to_oid(o).ok_or_else(|| Failure::Decode(format!("cannot encode OID {o:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let (tag, non_repeaters, reps) = match op {
            Op::Get(_) => (0xa0, 0, 0),
            Op::Bulk(_, reps) => (0xa5, 0, reps),
        };
        // Decoding stops one varbind past what was asked (see `request`).
        let most = match op {
            Op::Get(ids) => ids.len(),
            Op::Bulk(ids, reps) => {
                ids.len().saturating_mul(usize::try_from(reps).unwrap_or(usize::MAX))
            }
        };
        let mut policy = Policy::new(self.target.retries, false, false);
        let mut attempts = 0;
        loop {
            let wait = self.wait()?;
            self.cost.requests += 1;
            if attempts > 0 {
                self.cost.retries += 1;
            }
            attempts += 1;
            let id = self.next_id;
            self.next_id = id.wrapping_add(1) & i32::MAX;
            let message = usm::v2c_message(community, tag, id, non_repeaters, reps, &oids);
            let (mut pending, opened) = self
                .pool
                .send(self.addr, id, self.first_id, &message)
                .await
                .map_err(|e| open_failure(e, self.addr))?;
            if opened {
                self.sockets += 1;
            }
            let answer = async {
                match pending.next().await {
                    Some(Delivery::Datagram(bytes)) => decode_v2c(&bytes, id, community, most),
                    Some(Delivery::Icmp) => Err(snmp2::Error::Receive),
                    // The reader stopped (the runtime is going away): nothing will come.
                    None => std::future::pending().await,
                }
            };
            let next = match tokio::time::timeout(wait, answer).await {
                Ok(Ok(response)) => {
                    let varbinds = u32::try_from(response.varbinds.len()).unwrap_or(u32::MAX);
                    self.cost.varbinds = self.cost.varbinds.saturating_add(varbinds);
                    return whole(op, response);
                }
                Err(_) if wait < self.target.timeout => {
                    return Err(Failure::Deadline(self.target.deadline));
                }
                Err(_) => policy.on_timeout(),
                Ok(Err(e)) => {
                    let next = policy.on_error(&e);
                    if let Next::GiveUp(stop) = next {
                        drop(pending);
                        return Err(self.explain(stop, &e, &policy).await);
                    }
                    next
                }
            };
            if let Next::GiveUp(_) = next {
                return Err(match policy.out_of_attempts() {
                    Stop::Mismatch => Failure::WrongRequestId {
                        attempts: policy.timeouts(),
                        mismatched: policy.mismatches(),
                    },
                    _ => self.timed_out(policy.timeouts()),
                });
            }
            // Anything else in v2c is a resend, with a new request id.
        }
    }

    /// The failure of a request that got no answer.
    fn timed_out(&self, attempts: u32) -> Failure {
        Failure::Timeout {
            attempts: attempts.max(1),
            timeout: self.target.timeout,
            discovered: self.v3.as_ref().is_some_and(|v| v.discovered),
        }
    }

    /// A request succeeded: the key extension method in use works for this agent.
    fn proven(&mut self) {
        if let Some(v3) = self.v3.as_mut()
            && !v3.proven
        {
            v3.proven = true;
            if let (Some(engine), Some(method)) = (&v3.engine, v3.extension)
                && v3.user.needs_key_extension()
            {
                usm::extension_worked(&v3.user, &engine.id, method);
            }
        }
    }

    /// Open a session: for v3, from the discovered engine (discovering it first if needed).
    async fn open(&mut self) -> Result<(), Failure> {
        let req_id = rand::random::<i32>() & i32::MAX;
        let session = match &self.target.credentials {
            Credentials::V2c { community } => {
                AsyncSession::new_v2c(self.addr, community.as_bytes(), req_id).await
            }
            Credentials::V3 { .. } => {
                if self.v3.as_ref().is_some_and(|v| v.engine.is_none()) {
                    let engine = self.discover().await?;
                    if let Some(v3) = self.v3.as_mut() {
                        v3.engine = Some(engine);
                        v3.discovered = true;
                    }
                }
                let v3 = self.v3.as_mut().expect("v3 credentials");
                let engine = v3.engine.as_ref().expect("discovered above");
                let extension = *v3
                    .extension
                    .get_or_insert_with(|| usm::preferred_extension(&v3.user, &engine.id));
                let security = usm::localized(&v3.user, engine, extension)
                    .await
                    .map_err(|e| {
                        Failure::AuthFailed(format!("cannot derive the SNMPv3 keys: {e}"))
                    })?
                    .with_engine_boots_and_time(
                        engine.boots,
                        engine.time_now(crate::clock::monotonic()),
                    );
                AsyncSession::new_v3(self.addr, req_id, security).await
            }
        }
        .map_err(|e| open_failure(e, self.addr))?;
        self.sockets += 1;
        self.session = Some(session);
        Ok(())
    }

    /// RFC 3414 engine discovery, each attempt on a fresh socket.
    async fn discover(&mut self) -> Result<Engine, Failure> {
        let mut buf = vec![0u8; PROBE_BUFFER];
        let mut attempts = 0;
        loop {
            attempts += 1;
            let socket =
                usm::connected_socket(self.addr).await.map_err(|e| open_failure(e, self.addr))?;
            self.sockets += 1;
            self.cost.requests += 1;
            if attempts > 1 {
                self.cost.retries += 1;
            }
            let msg_id = rand::random::<i32>() & i32::MAX;
            let message = usm::probe_message(msg_id, None, b"");
            let wait = self.wait()?;
            match usm::exchange(&socket, &message, wait, &mut buf).await {
                None if wait < self.target.timeout => {
                    return Err(Failure::Deadline(self.target.deadline));
                }
                None if attempts > self.target.retries => return Err(self.timed_out(attempts)),
                None => continue,
                Some(Err(e)) => return Err(icmp_failure(&e, self.addr.port())),
                Some(Ok(n)) => {
                    return match usm::parse_probe_reply(&buf[..n], None) {
                        Ok(ProbeReply::Engine { id, boots, time }) => {
                            Ok(Engine { id, boots, time, learnt: crate::clock::monotonic() })
                        }
                        Ok(other) => Err(Failure::Decode(format!(
                            "the agent answered SNMPv3 engine discovery with {other:?}, not a discovery report"
                        ))),
                        Err(e) => Err(Failure::Decode(format!(
                            "cannot read the agent's answer to SNMPv3 engine discovery: {e}"
                        ))),
                    };
                }
            }
        }
    }

    /// Turn a final error into a failure with the best diagnosis a second look can give.
    async fn explain(&mut self, stop: Stop, e: &snmp2::Error, policy: &Policy) -> Failure {
        match stop {
            Stop::Timeout => self.timed_out(policy.timeouts()),
            Stop::Mismatch => Failure::WrongRequestId {
                attempts: policy.timeouts(),
                mismatched: policy.mismatches(),
            },
            Stop::Icmp => self.diagnose_icmp().await,
            Stop::Send => Failure::Unreachable(format!("cannot send the request: {e}")),
            Stop::Decode => Failure::Decode(format!("cannot decode the agent's answer: {e}")),
            Stop::Auth => Failure::AuthFailed(self.diagnose_auth(e).await),
        }
    }

    /// snmp2 reports every receive error alike. Ask once more on a socket of our own, where
    /// the kernel's error says what the ICMP message was.
    async fn diagnose_icmp(&mut self) -> Failure {
        let port = self.addr.port();
        let Ok(socket) = usm::connected_socket(self.addr).await else {
            return Failure::Refused { port, confirmed: false };
        };
        self.sockets += 1;
        self.cost.requests += 1;
        let message = usm::probe_message(rand::random::<i32>() & i32::MAX, None, b"");
        let mut buf = vec![0u8; PROBE_BUFFER];
        let Ok(wait) = self.wait() else {
            return Failure::Refused { port, confirmed: false };
        };
        match usm::exchange(&socket, &message, wait.min(Duration::from_secs(1)), &mut buf).await {
            Some(Err(e)) => icmp_failure(&e, port),
            _ => Failure::Refused { port, confirmed: false },
        }
    }

    /// After SNMPv3 authentication failed, ask the agent whether it knows the user at all: a
    /// noAuthNoPriv message for that user gets usmStatsUnknownUserNames only if it does not.
    async fn diagnose_auth(&mut self, e: &snmp2::Error) -> String {
        let Some(v3) = self.v3.as_ref() else {
            return format!("the agent refused the request: {e}");
        };
        let user = v3.user.name.to_owned();
        let engine = v3.engine.clone();
        let generic = format!(
            "the agent refused the SNMPv3 credentials of user {user:?} at {} ({e}); a wrong \
             password and an unknown user look the same to snmp2",
            self.target.credentials.level()
        );
        let Some(engine) = engine else { return generic };
        let Ok(socket) = usm::connected_socket(self.addr).await else { return generic };
        self.sockets += 1;
        self.cost.requests += 1;
        let message =
            usm::probe_message(rand::random::<i32>() & i32::MAX, Some(&engine), user.as_bytes());
        let mut buf = vec![0u8; PROBE_BUFFER];
        let Ok(wait) = self.wait() else { return generic };
        let Some(Ok(n)) = usm::exchange(&socket, &message, wait, &mut buf).await else {
            return generic;
        };
        match usm::parse_probe_reply(&buf[..n], Some(&engine)) {
            Ok(ProbeReply::Report(oid)) if oid == usm::USM_STATS_UNKNOWN_USER_NAMES => {
                format!("the agent has no SNMPv3 user {user:?} (usmStatsUnknownUserNames)")
            }
            Ok(_) => format!(
                "the agent knows SNMPv3 user {user:?} but refused its credentials at {}: wrong \
                 authentication or privacy password or protocol, or a security level the user \
                 does not have",
                self.target.credentials.level()
            ),
            Err(_) => generic,
        }
    }
}

/// Read an SNMPv2c datagram as the answer to request `id`: snmp2's checks on its own sessions.
fn decode_v2c(
    bytes: &[u8],
    id: i32,
    community: &[u8],
    most: usize,
) -> Result<Response, snmp2::Error> {
    let pdu = snmp2::Pdu::from_bytes(bytes)?;
    if pdu.message_type != snmp2::MessageType::Response {
        return Err(snmp2::Error::AsnWrongType);
    }
    if pdu.req_id != id {
        return Err(snmp2::Error::RequestIdMismatch);
    }
    if pdu.community != community {
        return Err(snmp2::Error::CommunityMismatch);
    }
    Ok(Response::from_pdu(pdu, most.saturating_add(1)))
}

/// A response as the request needs it. RFC 3416 answers a GET with one varbind per OID asked;
/// fewer means a varbind could not be decoded (a false length, an unknown type, an OID that is
/// not SNMP's), which must not read as "the agent has no such object".
fn whole(op: Op<'_>, response: Response) -> Result<Response, Failure> {
    let Op::Get(asked) = op else { return Ok(response) };
    if response.error_status != 0 {
        return Ok(response);
    }
    if let Some(why) = response.cut {
        return Err(Failure::Decode(format!("cannot decode the agent's answer: {why}")));
    }
    if response.varbinds.len() < asked.len() {
        return Err(Failure::Decode(format!(
            "cannot decode the agent's answer: {} varbind(s) decoded where {} were asked (a \
             varbind with a false length or of an unknown type ends the list)",
            response.varbinds.len(),
            asked.len()
        )));
    }
    if response.varbinds.len() > asked.len() {
        return Err(Failure::Decode(format!(
            "the agent answered a GET of {} object(s) with more varbinds than that",
            asked.len()
        )));
    }
    Ok(response)
}

/// Why a socket to `addr` could not be opened: no route is the network's doing (connect fails at
/// once), anything else vigia's own (file descriptors exhausted ...).
fn open_failure(e: io::Error, addr: SocketAddr) -> Failure {
    match e.kind() {
        io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::AddrNotAvailable => {
            Failure::Unreachable(format!("no route to {}: {e}", addr.ip()))
        }
        _ => Failure::Local(e),
    }
}

/// The failure an ICMP error on our own socket means.
fn icmp_failure(e: &io::Error, port: u16) -> Failure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Failure::Refused { port, confirmed: true },
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            Failure::Unreachable(format!("ICMP says the agent cannot be reached: {e}"))
        }
        // ICMPv6 destination unreachable, administratively prohibited (code 1) and its kin.
        io::ErrorKind::PermissionDenied => Failure::Unreachable(format!(
            "ICMP says a filter on the way refused the request (administratively prohibited): {e}"
        )),
        _ => Failure::Unreachable(format!("the request could not be delivered: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snmp2::Error as E;

    #[test]
    fn timeouts_resend_on_new_sessions_then_give_up() {
        let mut p = Policy::new(2, false, false);
        assert_eq!(p.on_timeout(), Next::Resend);
        assert_eq!(p.on_timeout(), Next::Resend);
        assert_eq!(p.on_timeout(), Next::GiveUp(Stop::Timeout));
        assert_eq!(p.timeouts(), 3);
        assert_eq!(Policy::new(0, false, false).on_timeout(), Next::GiveUp(Stop::Timeout));
    }

    #[test]
    fn replies_to_other_requests_are_told_from_silence() {
        // Each attempt is on a fresh session (a fresh port), so a reply to another request is
        // the agent's doing, not a late reply: the request ends as a mismatch, not a timeout,
        // also when some attempts were silent.
        let mut p = Policy::new(2, false, false);
        assert_eq!(p.on_timeout(), Next::Resend);
        assert_eq!(p.on_error(&E::RequestIdMismatch), Next::Resend);
        assert_eq!(p.on_timeout(), Next::GiveUp(Stop::Mismatch));
        assert_eq!((p.timeouts(), p.mismatches()), (3, 1));
        let mut p = Policy::new(1, false, false);
        assert_eq!(p.on_error(&E::RequestIdMismatch), Next::Resend);
        assert_eq!(p.on_error(&E::RequestIdMismatch), Next::GiveUp(Stop::Mismatch));
        assert_eq!((p.timeouts(), p.mismatches()), (2, 2));
    }

    #[test]
    fn a_v3_agent_whose_clock_moved_on_is_rediscovered_once() {
        // What a long idle looks like: the agent's engine time is more than 150 s ahead of the
        // time snmp2 sends, the agent reports notInTimeWindows, snmp2 says EngineTimeMismatch
        // (authNoPriv) or ReplyNotEncrypted (authPriv: the report is not encrypted).
        for kind in [AuthErrorKind::EngineTimeMismatch, AuthErrorKind::ReplyNotEncrypted] {
            let mut p = Policy::new(1, true, false);
            assert_eq!(p.on_error(&E::AuthFailure(kind.clone())), Next::Rediscover);
            // Still failing after a fresh discovery: the credentials are the problem.
            assert_eq!(p.on_error(&E::AuthFailure(kind)), Next::GiveUp(Stop::Auth));
        }
        // An agent restart (boots went up) is learnt from the reply itself: repeat.
        let mut p = Policy::new(1, true, false);
        assert_eq!(p.on_error(&E::AuthUpdated), Next::Repeat);
        assert_eq!(p.on_error(&E::AuthUpdated), Next::Repeat);
        assert_eq!(p.on_error(&E::AuthUpdated), Next::Rediscover);
        assert_eq!(p.on_error(&E::AuthUpdated), Next::GiveUp(Stop::Auth));
    }

    #[test]
    fn wrong_credentials_give_up_after_trying_the_other_key_extension_where_it_matters() {
        let wrong = E::AuthFailure(AuthErrorKind::NotAuthenticated);
        let mut p = Policy::new(3, true, true);
        assert_eq!(p.on_error(&wrong), Next::OtherKeyExtension);
        assert_eq!(p.on_error(&wrong), Next::GiveUp(Stop::Auth));
        // An agent that cannot decrypt drops the request: the first timeout tries the other
        // method too, and the retries still end the request.
        let mut p = Policy::new(1, true, true);
        assert_eq!(p.on_timeout(), Next::OtherKeyExtension);
        assert_eq!(p.on_timeout(), Next::GiveUp(Stop::Timeout));
        let mut p = Policy::new(3, true, false);
        assert_eq!(p.on_error(&wrong), Next::GiveUp(Stop::Auth));
        // A Report instead of a Response is a refusal in v3, a decoding problem in v2c.
        assert_eq!(
            Policy::new(1, true, false).on_error(&E::AsnWrongType),
            Next::GiveUp(Stop::Auth)
        );
        assert_eq!(
            Policy::new(1, false, false).on_error(&E::AsnWrongType),
            Next::GiveUp(Stop::Decode)
        );
    }

    #[test]
    fn icmp_and_decoding_errors_stop_at_once() {
        let mut p = Policy::new(5, false, false);
        assert_eq!(p.on_error(&E::Receive), Next::GiveUp(Stop::Icmp));
        assert_eq!(p.on_error(&E::Send), Next::GiveUp(Stop::Send));
        assert_eq!(p.on_error(&E::AsnParse), Next::GiveUp(Stop::Decode));
    }

    #[test]
    fn icmp_errors_are_told_apart() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            icmp_failure(&refused, 161),
            Failure::Refused { port: 161, confirmed: true }
        ));
        let unreachable = io::Error::from(io::ErrorKind::HostUnreachable);
        assert!(matches!(icmp_failure(&unreachable, 161), Failure::Unreachable(_)));
        let prohibited = io::Error::from_raw_os_error(libc::EACCES);
        assert!(matches!(
            icmp_failure(&prohibited, 161),
            Failure::Unreachable(ref s) if s.contains("administratively prohibited")
        ));
        let addr: SocketAddr = "[2001:db8::1]:161".parse().unwrap();
        let no_route = io::Error::from(io::ErrorKind::NetworkUnreachable);
        assert!(matches!(open_failure(no_route, addr), Failure::Unreachable(_)));
        let no_fds = io::Error::from_raw_os_error(libc::EMFILE);
        assert!(matches!(open_failure(no_fds, addr), Failure::Local(_)));
    }

    /// Against a real agent: what snmp2 alone would do after a long idle (send the engine time
    /// it last heard) and after an agent restart (send the old engine boots), cured here.
    mod against_snmpd {
        use super::super::*;
        use crate::inventory::{AuthProtocol, PrivProtocol};
        use crate::probe::snmp::mibs::SYSTEM;
        use crate::probe::snmp::test_snmpd as snmpd;

        fn target(agent: &snmpd::Snmpd, privacy: bool) -> SnmpTarget {
            SnmpTarget {
                address: "127.0.0.1".parse().unwrap(),
                port: agent.port(),
                credentials: Credentials::V3 {
                    user: "u".into(),
                    auth: Some((AuthProtocol::Sha256, "auth-pass-1".into())),
                    privacy: privacy.then(|| (PrivProtocol::Aes128, "priv-pass-1".into())),
                },
                timeout: Duration::from_secs(2),
                retries: 1,
                deadline: Duration::from_secs(60),
            }
        }

        const USERS: &str =
            "createUser u SHA-256 \"auth-pass-1\" AES \"priv-pass-1\"\nrouser u auth\n";

        async fn sys_name(client: &mut Client<'_>) -> Result<Response, Failure> {
            let oids = [SYSTEM[3].to_vec()];
            client.request(Op::Get(&oids)).await
        }

        #[tokio::test]
        async fn an_engine_time_gone_stale_is_rediscovered_and_the_request_succeeds() {
            let agent = snmpd::Snmpd::start(USERS);
            for privacy in [false, true] {
                let t = target(&agent, privacy);
                let pool = SnmpSockets::new();
                let mut client = Client::new(&t, &pool);
                sys_name(&mut client).await.unwrap();
                assert_eq!(client.cost.requests, 2, "discovery and the GET");
                // An engine time 1000 s off the agent's: what snmp2 alone sends after a long
                // idle (it never advances the time it last heard). The agent has been up for
                // seconds, so the test is 1000 s ahead rather than behind (a negative time is
                // malformed and dropped); RFC 3414 rejects both alike with notInTimeWindows.
                let v3 = client.v3.as_mut().unwrap();
                let engine = v3.engine.as_mut().unwrap();
                engine.time += 1000;
                client.session = None;
                let r = sys_name(&mut client).await.unwrap();
                assert_eq!(r.varbinds.len(), 1);
                // The refused GET, a new discovery, the GET again.
                assert_eq!(client.cost.requests, 5, "privacy {privacy}");
            }
        }

        #[tokio::test]
        async fn engine_boots_gone_stale_are_learnt_from_the_agents_report() {
            let agent = snmpd::Snmpd::start(USERS);
            let t = target(&agent, false);
            let pool = SnmpSockets::new();
            let mut client = Client::new(&t, &pool);
            sys_name(&mut client).await.unwrap();
            // As if the agent restarted between discovery and the request.
            client.v3.as_mut().unwrap().engine.as_mut().unwrap().boots -= 1;
            client.session = None;
            sys_name(&mut client).await.unwrap();
            // The refused GET taught snmp2 the new boots (AuthUpdated): the same session
            // repeats it, with no new discovery.
            assert_eq!(client.cost.requests, 4, "{:?}", client.cost);
        }
    }
}
