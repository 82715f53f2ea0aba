//! SNMP v2c and v3 polling (snmp2): system group, IF-MIB, ENTITY-MIB, HOST-RESOURCES.
//!
//! [`poll`] asks one agent over one address family and always returns a report: every way a
//! device can fail is an [`SnmpOutcome`] with a human detail, never an `Err`. SNMPv2c requests go
//! through one shared UDP socket per address family ([`SnmpSockets`], [`poll_shared`]); an
//! SNMPv3 poll opens its own snmp2 sessions and drops them: at most one UDP socket (and snmp2's
//! 2 x 64 KiB of buffers) at any moment of the poll, so callers bound file descriptors and memory
//! by bounding how many polls run at once. docs/snmp.md says what is read, and what each outcome
//! means.

mod client;
mod credentials;
mod mibs;
mod optics;
mod radio;
mod shared;
mod track;
mod usm;
mod value;
mod walk;

/// The tests' real snmpd (a test helper shared with tests/snmp.rs).
#[cfg(test)]
#[allow(clippy::disallowed_methods)] // a test helper: waits for snmpd with deadlines
#[path = "../../../tests/support/snmpd.rs"]
mod test_snmpd;

use std::time::Duration;

pub use credentials::{Credentials, SnmpTarget};
pub use shared::SnmpSockets;
pub use track::{AgentTracker, InterfaceTotals, Observation};

/// An RFC 3414 engine-discovery request: a reportable noAuthNoPriv GET with an empty user.
/// Every SNMPv3 agent answers it with a Report whatever its credentials, so an answer proves
/// the agent is there without knowing them. `msg_id` must be in 0..2^31. The lab asks its
/// agents with this very message before it counts as up.
pub fn discovery_request(msg_id: i32) -> Vec<u8> {
    usm::probe_message(msg_id, None, b"")
}

use crate::inventory::Family;
use crate::poll::{SnmpCost, SnmpOutcome, SnmpReport, Truncation};
use crate::probe::{RadioQuery, SnmpQuery};
use client::{Client, Failure, Op};
use mibs::Rows;
use value::{ObjectId, Response, error_status_name};
use walk::{Anomaly, ColumnWalk, WalkLimits};

/// Tuning of a poll, and the bounds on what one device may cost. [`poll`] uses the defaults;
/// the deadline of a whole poll is the target's ([`SnmpTarget::deadline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollOptions {
    /// Most varbinds one GETBULK asks for: max-repetitions is this divided by the number of
    /// table columns still being walked. The default keeps a typical IF-MIB response within
    /// one 1500-byte Ethernet frame (docs/snmp.md has the measurements).
    pub bulk_varbinds: u32,
    /// Stop a table walk after this many GETBULK requests (an agent that never ends a table).
    pub max_walk_requests: u32,
    /// Rows kept per table column: a device's interfaces (about ten series each in /metrics,
    /// a row each in the history) are at most this many.
    pub max_rows: usize,
    /// Bytes of table rows one poll keeps (values, indices and bookkeeping).
    pub max_bytes: usize,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            bulk_varbinds: 48,
            max_walk_requests: 500,
            max_rows: WalkLimits::DEFAULT.rows,
            max_bytes: WalkLimits::DEFAULT.bytes,
        }
    }
}

/// Entities asked per request (after the first) while looking for the device's entity.
const ENTITY_PAGE: u32 = 16;

/// Poll one agent: what `query` asks, over the target's address family.
pub async fn poll(target: &SnmpTarget, query: SnmpQuery) -> SnmpReport {
    poll_with(target, query, &PollOptions::default()).await
}

/// [`poll`] with explicit tuning (benchmarks, the lab).
pub async fn poll_with(target: &SnmpTarget, query: SnmpQuery, options: &PollOptions) -> SnmpReport {
    poll_shared(target, query, options, &SnmpSockets::new()).await
}

/// [`poll_with`] through `sockets`: the agent polls every SNMPv2c device through the same one
/// socket per address family ([`SnmpSockets`]), where [`poll`] opens its own for the poll.
pub async fn poll_shared(
    target: &SnmpTarget,
    query: SnmpQuery,
    options: &PollOptions,
    sockets: &SnmpSockets,
) -> SnmpReport {
    let started = crate::clock::monotonic();
    let mut report = SnmpReport {
        family: if target.address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 },
        address: target.address,
        outcome: SnmpOutcome::Ok,
        detail: None,
        elapsed: Duration::ZERO,
        system: None,
        interfaces: Vec::new(),
        entity: None,
        host: None,
        radio: Vec::new(),
        optics: Vec::new(),
        cost: SnmpCost::default(),
        truncated: None,
    };
    let mut client = Client::new(target, sockets);
    let mut notes = Vec::new();
    // Every wait of the client stops at the deadline; this is the net under it (a stage that
    // waits on something else, such as SNMPv3 key derivation on a loaded machine).
    let net = client.deadline() + Duration::from_secs(1);
    let reading = read(&mut client, query, options, &mut report, &mut notes);
    let ended = match tokio::time::timeout_at(net, reading).await {
        Ok(ended) => ended,
        Err(_) => Err((Stage::System, End::Failed(Failure::Deadline(target.deadline)))),
    };
    if let Err((stage, end)) = ended {
        if matches!(end, End::Failed(Failure::Deadline(_))) {
            report.truncated = Some(Truncation::Deadline);
        }
        let (outcome, detail) = describe(target, stage, &end, report.system.is_some());
        report.outcome = outcome;
        notes.insert(0, detail);
    }
    report.detail = (!notes.is_empty()).then(|| notes.join("; "));
    report.elapsed = started.elapsed();
    report.cost = client.cost;
    tracing::debug!(
        address = %target.address,
        outcome = %report.outcome,
        requests = client.cost.requests,
        retries = client.cost.retries,
        varbinds = client.cost.varbinds,
        sockets = client.sockets,
        elapsed_ms = report.elapsed.as_millis() as u64,
        "snmp poll"
    );
    report
}

/// Where in a poll something ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    System,
    Interfaces,
    Entity,
    Host,
    Radio,
    Optics,
}

impl Stage {
    fn what(self) -> &'static str {
        match self {
            Stage::System => "the system group",
            Stage::Interfaces => "the IF-MIB walk",
            Stage::Entity => "ENTITY-MIB",
            Stage::Host => "the HOST-RESOURCES walk",
            Stage::Radio => "the radio vendor tables",
            Stage::Optics => "ENTITY-SENSOR-MIB",
        }
    }
}

/// How a poll ended early.
#[derive(Debug)]
enum End {
    /// The request failed.
    Failed(Failure),
    /// The agent has no system group (or its view hides it).
    NoSystem,
    /// The agent answered the system GET with an error status.
    ErrorStatus(u32),
}

async fn read(
    client: &mut Client<'_>,
    query: SnmpQuery,
    options: &PollOptions,
    report: &mut SnmpReport,
    notes: &mut Vec<String>,
) -> Result<(), (Stage, End)> {
    if query.system {
        let oids: Vec<ObjectId> = mibs::SYSTEM.iter().map(|o| o.to_vec()).collect();
        let response =
            client.request(Op::Get(&oids)).await.map_err(|f| (Stage::System, End::Failed(f)))?;
        if response.error_status != 0 {
            return Err((Stage::System, End::ErrorStatus(response.error_status)));
        }
        report.system =
            Some(mibs::system_info(&response.varbinds).ok_or((Stage::System, End::NoSystem))?);
    }

    // Interfaces and host resources in one walk: every column side by side.
    let mut columns: Vec<&[u32]> = if query.interfaces { mibs::if_columns() } else { Vec::new() };
    let if_count = columns.len();
    if query.host_resources {
        columns.extend(mibs::HR_COLUMNS);
    }
    if !columns.is_empty() {
        let stage = if query.interfaces { Stage::Interfaces } else { Stage::Host };
        let walked = walk(client, &columns, options).await.map_err(|f| (stage, End::Failed(f)))?;
        if let Some(note) = walked.note {
            notes.push(format!("{}: {note}", stage.what()));
        }
        if let Some(why) = walked.truncated {
            report.truncated.get_or_insert(why);
        }
        let rows = walked.columns;
        let (if_rows, hr_rows) = rows.split_at(if_count);
        if query.interfaces {
            report.interfaces = mibs::interfaces(if_rows);
            if report.interfaces.is_empty() {
                notes.push("the agent has no IF-MIB interfaces".into());
            }
        }
        if query.host_resources {
            report.host = mibs::host_resources(hr_rows);
            if report.host.is_none() {
                notes.push("the agent has no HOST-RESOURCES-MIB storage or processors".into());
            }
        }
    }

    if query.entity && report.truncated != Some(Truncation::Deadline) {
        match entity(client).await {
            Ok(found) => report.entity = found,
            Err(Failure::Deadline(d)) => {
                report.truncated.get_or_insert(Truncation::Deadline);
                notes.push(format!(
                    "{}: not read, the poll reached its deadline ({} s)",
                    Stage::Entity.what(),
                    d.as_secs_f64()
                ));
            }
            Err(f) => return Err((Stage::Entity, End::Failed(f))),
        }
    }

    if query.radio != RadioQuery::No && report.truncated != Some(Truncation::Deadline) {
        let object_id = report.system.as_ref().and_then(|s| s.object_id.as_deref());
        let mut tables = crate::poll::radio::tables_for(object_id);
        if tables.is_empty() && query.radio == RadioQuery::All {
            tables = crate::poll::radio::TABLES.iter().collect();
        }
        for table in tables {
            let oids = radio::columns(table);
            let columns: Vec<&[u32]> = oids.iter().map(Vec::as_slice).collect();
            // A few rows a request: a radio has one row per interface or remote station, and
            // on an agent without the table the first answer runs past it by little.
            let bounded = PollOptions {
                bulk_varbinds: u32::try_from(columns.len() * 4).unwrap_or(u32::MAX),
                ..*options
            };
            match walk(client, &columns, &bounded).await {
                Ok(walked) => {
                    if let Some(note) = walked.note {
                        notes.push(format!("{} {}: {note}", table.mib, table.name));
                    }
                    if let Some(why) = walked.truncated {
                        report.truncated.get_or_insert(why);
                    }
                    report.radio.extend(radio::links(table, &walked.columns));
                }
                Err(Failure::Deadline(d)) => {
                    report.truncated.get_or_insert(Truncation::Deadline);
                    notes.push(format!(
                        "{} {}: not read, the poll reached its deadline ({} s)",
                        table.mib,
                        table.name,
                        d.as_secs_f64()
                    ));
                    break;
                }
                Err(f) => return Err((Stage::Radio, End::Failed(f))),
            }
        }
    }

    if query.optics && report.truncated != Some(Truncation::Deadline) {
        match read_optics(client, options, report, notes).await {
            Ok(()) => {}
            Err(Failure::Deadline(d)) => {
                report.truncated.get_or_insert(Truncation::Deadline);
                notes.push(format!(
                    "ENTITY-SENSOR-MIB: not read, the poll reached its deadline ({} s)",
                    d.as_secs_f64()
                ));
            }
            Err(f) => return Err((Stage::Optics, End::Failed(f))),
        }
    }
    Ok(())
}

/// Transceiver power: one GETBULK of a single row first (an agent without ENTITY-SENSOR-MIB,
/// net-snmp among them, answers with an object past the table and the walk ends there, having
/// cost the agent one lookup), then the sensor table, the power sensors' names, and on Cisco
/// devices their thresholds.
async fn read_optics(
    client: &mut Client<'_>,
    options: &PollOptions,
    report: &mut SnmpReport,
    notes: &mut Vec<String>,
) -> Result<(), Failure> {
    let first = optics::columns(&optics::SENSOR_ENTRY, &optics::SENSOR_COLUMNS[..1]);
    let probe = client.request(Op::Bulk(&first, 1)).await?;
    let present = probe.error_status == 0
        && probe
            .varbinds
            .first()
            .is_some_and(|(o, v)| o.starts_with(&first[0]) && !v.is_exception());
    if !present {
        return Ok(());
    }
    let oids = optics::columns(&optics::SENSOR_ENTRY, &optics::SENSOR_COLUMNS);
    let columns: Vec<&[u32]> = oids.iter().map(Vec::as_slice).collect();
    let walked = walk(client, &columns, options).await?;
    if let Some(note) = walked.note {
        notes.push(format!("ENTITY-SENSOR-MIB entPhySensorTable: {note}"));
    }
    if let Some(why) = walked.truncated {
        report.truncated.get_or_insert(why);
    }
    let sensors = optics::power_sensors(&walked.columns);
    if sensors.is_empty() {
        return Ok(());
    }
    let indexes: Vec<u32> = sensors.keys().copied().collect();
    let mut names = std::collections::BTreeMap::new();
    // Ten entities (twenty objects) a GET.
    for chunk in indexes.chunks(10) {
        let response = client.request(Op::Get(&optics::name_oids(chunk))).await?;
        names.extend(optics::names(&response.varbinds));
    }
    let cisco = report
        .system
        .as_ref()
        .and_then(|s| s.object_id.as_deref())
        .and_then(crate::poll::vendor::enterprise_of)
        == Some(optics::CISCO);
    let mut thresholds = std::collections::BTreeMap::new();
    if cisco {
        let oids = optics::columns(&optics::THRESHOLD_ENTRY, &optics::THRESHOLD_COLUMNS);
        let columns: Vec<&[u32]> = oids.iter().map(Vec::as_slice).collect();
        let walked = walk(client, &columns, options).await?;
        if let Some(note) = walked.note {
            notes.push(format!("CISCO-ENTITY-SENSOR-MIB entSensorThresholdTable: {note}"));
        }
        thresholds = optics::low_thresholds(&walked.columns);
    }
    report.optics = optics::optics(&sensors, &names, &thresholds);
    Ok(())
}

/// What a walk read, and how it ended.
struct Walked {
    /// Each column's rows.
    columns: Vec<Rows>,
    /// Why it did not end cleanly, for the report's detail.
    note: Option<String>,
    /// The bound that cut it short, if one did.
    truncated: Option<Truncation>,
}

/// Walk table columns with GETBULK. Returns each column's rows and, when the walk did not end
/// cleanly, why (the rows read until then are kept). A request that fails ends the walk with
/// that failure, except the poll's deadline: the rows read by then are kept, and the walk says
/// it was cut there.
async fn walk(
    client: &mut Client<'_>,
    columns: &[&[u32]],
    options: &PollOptions,
) -> Result<Walked, Failure> {
    let limits = WalkLimits { rows: options.max_rows, bytes: options.max_bytes };
    let mut walk = ColumnWalk::with_limits(columns, limits);
    let mut budget = options.bulk_varbinds.max(1);
    let mut requests = 0;
    let mut note = None;
    while let Some(oids) = walk.request() {
        if requests == options.max_walk_requests {
            walk.stop(Truncation::Requests);
            note = Some(format!(
                "stopped after {requests} GETBULK requests (the limit); rows read so far kept"
            ));
            break;
        }
        requests += 1;
        let active = u32::try_from(walk.active()).unwrap_or(u32::MAX).max(1);
        let reps = (budget / active).max(1);
        let response = match client.request(Op::Bulk(&oids, reps)).await {
            Ok(response) => response,
            Err(Failure::Deadline(d)) => {
                walk.stop(Truncation::Deadline);
                note = Some(format!(
                    "stopped at the poll's deadline ({} s) after {requests} GETBULK requests; rows read so far kept",
                    d.as_secs_f64()
                ));
                break;
            }
            Err(f) => return Err(f),
        };
        let Response { error_status, varbinds, cut, .. } = response;
        match error_status {
            0 => {
                // The rows before a name that is not an SNMP OID are kept; that name, not an
                // empty answer, is why the walk ends.
                if cut.is_none() || !varbinds.is_empty() {
                    walk.feed_bulk(varbinds, reps);
                }
                if let Some(why) = cut {
                    walk.malformed(why);
                }
            }
            // tooBig: ask for fewer rows at a time (agents should trim GETBULK themselves).
            1 if reps > 1 => budget = (active * reps / 2).max(1),
            status => {
                note = Some(format!(
                    "the agent answered GETBULK with error-status {}({status})",
                    error_status_name(status)
                ));
                break;
            }
        }
    }
    // Every reason the walk did not end cleanly, the one that stopped it first.
    let mut notes: Vec<String> = note.into_iter().collect();
    notes.extend(walk.anomaly().map(|a| match a {
        Anomaly::NotIncreasing => "the agent returned OIDs out of order; walk cut short".to_owned(),
        Anomaly::Empty => "the agent returned an empty GETBULK response; walk cut short".to_owned(),
        Anomaly::Malformed(why) => format!("the agent returned {why}; walk cut short"),
    }));
    notes.extend(walk.bounds_met().iter().filter_map(|t| match t {
        Truncation::Rows => Some(format!(
            "a column passed {} rows (the limit); rows past it dropped",
            options.max_rows
        )),
        Truncation::Bytes => Some(format!(
            "the rows passed {} MiB (the limit for one poll); walk cut short",
            options.max_bytes >> 20
        )),
        Truncation::Varbinds => {
            Some("the agent returned more varbinds than asked for; the excess was dropped".into())
        }
        // Said where they happen, above.
        Truncation::Requests | Truncation::Deadline => None,
    }));
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    let truncated = walk.truncated();
    Ok(Walked { columns: walk.into_columns(), note, truncated })
}

/// ENTITY-MIB: find the entity that stands for the device (the first chassis, else the first
/// entity with a model name) by walking entPhysicalClass and entPhysicalModelName side by side,
/// then GET its descriptive columns. `None` when the agent has no such entity.
///
/// The first request asks one row of each column: on an agent without ENTITY-MIB (net-snmp
/// among them) a GETBULK runs on into whatever MIB follows, and each repetition costs the agent
/// a lookup, so the walk learns that the table is absent for two lookups, not a page.
async fn entity(client: &mut Client<'_>) -> Result<Option<crate::poll::EntityInfo>, Failure> {
    let mut walk = ColumnWalk::new(&[mibs::ENT_CLASS, mibs::ENT_MODEL_NAME]);
    let mut chosen = None;
    let mut requests = 0;
    while let Some(oids) = walk.request() {
        requests += 1;
        if requests > 64 {
            break;
        }
        let reps = if requests == 1 { 1 } else { ENTITY_PAGE };
        let response = client.request(Op::Bulk(&oids, reps)).await?;
        if response.error_status != 0 {
            break;
        }
        walk.feed(response.varbinds);
        chosen = mibs::choose_entity(walk.rows(0), walk.rows(1), false);
        if chosen.is_some() {
            break;
        }
    }
    if chosen.is_none() {
        chosen = mibs::choose_entity(walk.rows(0), walk.rows(1), true);
    }
    let Some(index) = chosen else { return Ok(None) };
    let response = client.request(Op::Get(&mibs::entity_oids(index))).await?;
    Ok(Some(mibs::entity_info(index, &response.varbinds)))
}

/// The outcome and the human detail of a poll that ended early.
fn describe(
    target: &SnmpTarget,
    stage: Stage,
    end: &End,
    answered_before: bool,
) -> (SnmpOutcome, String) {
    let agent = target.socket_addr();
    match end {
        End::NoSystem => (
            SnmpOutcome::NoSuchObject,
            format!(
                "{agent} answered but has no system group (noSuchObject for sysDescr, sysName, \
                 sysUpTime ...): the agent's view for these credentials probably excludes it"
            ),
        ),
        End::ErrorStatus(2) => (
            SnmpOutcome::NoSuchObject,
            format!("{agent} answered the system group with noSuchName"),
        ),
        End::ErrorStatus(status @ (6 | 16)) => (
            SnmpOutcome::AuthFailed,
            format!(
                "{agent} denied access to the system group: error-status {}({status})",
                error_status_name(*status)
            ),
        ),
        End::ErrorStatus(status) => (
            SnmpOutcome::DecodeError,
            format!(
                "{agent} answered the system group with error-status {}({status})",
                error_status_name(*status)
            ),
        ),
        End::Failed(f) => {
            let during = if answered_before {
                format!("{agent} answered the system group, then failed during {}: ", stage.what())
            } else {
                format!("{agent}, reading {}: ", stage.what())
            };
            let outcome = match f {
                Failure::Timeout { .. }
                | Failure::Unreachable(_)
                | Failure::Local(_)
                | Failure::Deadline(_) => SnmpOutcome::Timeout,
                Failure::Refused { .. } => SnmpOutcome::Refused,
                Failure::AuthFailed(_) => SnmpOutcome::AuthFailed,
                Failure::Decode(_) | Failure::WrongRequestId { .. } => SnmpOutcome::DecodeError,
            };
            let mut text = format!("{during}{f}");
            if let Failure::Timeout { discovered, .. } = f
                && !answered_before
            {
                text.push_str(match (&target.credentials, discovered) {
                    (Credentials::V2c { .. }, _) => {
                        "; with SNMPv2c a wrong community looks exactly like this: the agent drops \
                         the request without a word"
                    }
                    (Credentials::V3 { privacy: Some(_), .. }, true) => {
                        "; with authPriv a wrong privacy password or protocol looks exactly like \
                         this: the agent cannot decrypt the request and drops it"
                    }
                    (Credentials::V3 { .. }, true) => {
                        "; the agent is there but dropped the request"
                    }
                    (Credentials::V3 { .. }, false) => {
                        "; no SNMP agent answered engine discovery, which needs no credentials"
                    }
                });
            }
            if let Failure::Local(_) = f {
                tracing::warn!(address = %target.address, error = %f, "snmp poll could not open a socket");
            }
            (outcome, text)
        }
    }
}
