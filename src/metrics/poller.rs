//! The agent itself: how long its poll cycles take, its inventory reloads, and what its polls
//! cost (echoes, SNMP requests, retries, varbinds, time), in the manner of snmp_exporter's
//! `snmp_scrape_packets_sent`, `_retried` and `snmp_scrape_pdus_returned`, and how its history
//! writes stand. The costs are totals
//! per probe and family since the agent started, not per device: 10,000 devices add nothing.

use std::collections::BTreeMap;

use super::encode::Encoder;
use super::{Column, Group, Kind, Metric};
use crate::agent::{PollTotals, ReloadStatus, Shared, SnmpTotals, StoreHealth};
use crate::inventory::Family;
use crate::poll::{ProbeKind, Truncation};

/// `vigia_poll_duration_seconds`.
pub const POLL_DURATION: Metric = Metric {
    name: "vigia_poll_duration_seconds",
    kind: Kind::Gauge,
    unit: Some("seconds"),
    labels: &["probe"],
    help: "Duration of the last full polling cycle of the probe.",
    doc_unit: "seconds",
    doc: "over the last full cycle of that probe (every device once), the longest time from a poll being due to its result: about one poll's length while the agent keeps up (ICMP: echoes × pace; SNMP: milliseconds, a timeout for a dead device), growing toward the poll interval when polls start late",
};

/// `vigia_inventory_reload_failed`.
pub const INVENTORY_RELOAD_FAILED: Metric = Metric {
    name: "vigia_inventory_reload_failed",
    kind: Kind::Gauge,
    unit: None,
    labels: &[],
    help: "1 if the last inventory reload was refused (the agent runs on the previous inventory).",
    doc_unit: "0/1",
    doc: "1 if the last reload attempt was refused (invalid inventory; the agent goes on with the previous one), else 0",
};

/// `vigia_inventory_last_reload_timestamp_seconds`.
pub const INVENTORY_LAST_RELOAD: Metric = Metric {
    name: "vigia_inventory_last_reload_timestamp_seconds",
    kind: Kind::Gauge,
    unit: Some("seconds"),
    labels: &["result"],
    help: "When the inventory was last loaded (success) or a reload refused (failure).",
    doc_unit: "Unix seconds",
    doc: "when the inventory was last loaded successfully, and when a load last failed. The load at start-up counts, so `result=\"success\"` exists from the first scrape",
};

/// `vigia_polls_total`.
pub const POLLS: Metric = Metric {
    name: "vigia_polls_total",
    kind: Kind::Counter,
    unit: None,
    labels: &["probe", "family"],
    help: "Polls finished since the agent started (an ICMP cycle, an SNMP poll), whatever their outcome.",
    doc_unit: "polls",
    doc: "polls finished since the agent started, whatever their outcome: an ICMP cycle of `icmp_count` echoes, or an SNMP poll. The denominator of the counters below",
};

/// `vigia_icmp_echoes_sent_total`.
pub const ICMP_ECHOES_SENT: Metric = Metric {
    name: "vigia_icmp_echoes_sent_total",
    kind: Kind::Counter,
    unit: None,
    labels: &["family"],
    help: "ICMP echo requests sent.",
    doc_unit: "packets",
    doc: "ICMP echo requests sent, all devices together",
};

/// `vigia_icmp_echo_replies_total`.
pub const ICMP_ECHO_REPLIES: Metric = Metric {
    name: "vigia_icmp_echo_replies_total",
    kind: Kind::Counter,
    unit: None,
    labels: &["family"],
    help: "ICMP echo replies received in time.",
    doc_unit: "packets",
    doc: "ICMP echo replies received within the timeout",
};

/// `vigia_snmp_requests_sent_total`.
pub const SNMP_REQUESTS_SENT: Metric = Metric {
    name: "vigia_snmp_requests_sent_total",
    kind: Kind::Counter,
    unit: None,
    labels: &["family"],
    help: "SNMP requests sent, retries, SNMPv3 engine discovery and diagnosis included.",
    doc_unit: "packets",
    doc: "SNMP requests sent (GET, GETBULK), retries, SNMPv3 engine discovery and the second looks that diagnose a failure included (snmp_exporter's `snmp_scrape_packets_sent`)",
};

/// `vigia_snmp_requests_retried_total`.
pub const SNMP_REQUESTS_RETRIED: Metric = Metric {
    name: "vigia_snmp_requests_retried_total",
    kind: Kind::Counter,
    unit: None,
    labels: &["family"],
    help: "SNMP requests sent again after a timeout or a refusal the agent could recover from.",
    doc_unit: "packets",
    doc: "of those, the requests sent again: after a timeout, a stale SNMPv3 engine time, or to try the other AES key extension (`snmp_scrape_packets_retried`)",
};

/// `vigia_snmp_varbinds_returned_total`.
pub const SNMP_VARBINDS_RETURNED: Metric = Metric {
    name: "vigia_snmp_varbinds_returned_total",
    kind: Kind::Counter,
    unit: None,
    labels: &["family"],
    help: "Variable bindings the agents returned in answers to GET and GETBULK.",
    doc_unit: "varbinds",
    doc: "variable bindings returned in the answers to GET and GETBULK (`snmp_scrape_pdus_returned`)",
};

/// `vigia_snmp_poll_seconds_total`.
pub const SNMP_POLL_SECONDS: Metric = Metric {
    name: "vigia_snmp_poll_seconds_total",
    kind: Kind::Counter,
    unit: Some("seconds"),
    labels: &["family"],
    help: "Time spent in SNMP polls, summed over the polls.",
    doc_unit: "seconds",
    doc: "wall time of the SNMP polls (GETs and walks), summed: divided by `vigia_polls_total{probe=\"snmp\"}`, the mean poll time (`snmp_scrape_walk_duration_seconds`)",
};

/// `vigia_store_write_failing`.
pub const STORE_WRITE_FAILING: Metric = Metric {
    name: "vigia_store_write_failing",
    kind: Kind::Gauge,
    unit: None,
    labels: &[],
    help: "1 while the history store refuses writes (rows wait in memory and the write is retried).",
    doc_unit: "0/1",
    doc: "1 while the history store refuses writes (a full disk, PostgreSQL down): polling goes on, rows wait in memory up to `--buffer-rows` and the write is retried every 0.5 s to 30 s; 0 once a write succeeds again",
};

/// `vigia_store_buffered_rows`.
pub const STORE_BUFFERED_ROWS: Metric = Metric {
    name: "vigia_store_buffered_rows",
    kind: Kind::Gauge,
    unit: None,
    labels: &[],
    help: "Rows waiting in memory for the history store.",
    doc_unit: "rows",
    doc: "rows (polls, interfaces, events) waiting in memory for the history store: near 0 while it takes writes",
};

/// `vigia_store_dropped_rows_total`.
pub const STORE_DROPPED_ROWS: Metric = Metric {
    name: "vigia_store_dropped_rows_total",
    kind: Kind::Counter,
    unit: None,
    labels: &[],
    help: "Rows dropped because the history store refused writes longer than the buffer could hold.",
    doc_unit: "rows",
    doc: "rows never stored: the store refused writes while more than `--buffer-rows` waited, and the oldest were dropped",
};

/// `vigia_store_write_errors_total`.
pub const STORE_WRITE_ERRORS: Metric = Metric {
    name: "vigia_store_write_errors_total",
    kind: Kind::Counter,
    unit: None,
    labels: &[],
    help: "Writes the history store refused (each retry counts).",
    doc_unit: "writes",
    doc: "writes to the history store that failed, retries included; the error is in the agent's log and on `/healthz`",
};

/// `vigia_snmp_polls_truncated_total`.
pub const SNMP_POLLS_TRUNCATED: Metric = Metric {
    name: "vigia_snmp_polls_truncated_total",
    kind: Kind::Counter,
    unit: None,
    labels: &["family", "bound"],
    help: "SNMP polls cut short by a bound on what one device may cost, by the first bound met.",
    doc_unit: "polls",
    doc: "SNMP polls cut short by one of vigia's bounds on what one device may cost, by the first bound met: `deadline` (the whole poll reached the SNMP interval), `requests` (500 GETBULKs in one walk), `rows` (2,048 rows in a table column), `varbinds` (a reply held more varbinds than asked; the excess dropped), `bytes` (8 MiB of table rows). What was read until then is kept. `vigia_snmp_poll_truncated` says which device (docs/reliability.md)",
};

/// This group.
pub const GROUP: Group = Group {
    title: "the agent itself",
    metrics: &[
        &POLL_DURATION,
        &INVENTORY_RELOAD_FAILED,
        &INVENTORY_LAST_RELOAD,
        &POLLS,
        &ICMP_ECHOES_SENT,
        &ICMP_ECHO_REPLIES,
        &SNMP_REQUESTS_SENT,
        &SNMP_REQUESTS_RETRIED,
        &SNMP_VARBINDS_RETURNED,
        &SNMP_POLL_SECONDS,
        &SNMP_POLLS_TRUNCATED,
        &STORE_WRITE_FAILING,
        &STORE_BUFFERED_ROWS,
        &STORE_DROPPED_ROWS,
        &STORE_WRITE_ERRORS,
    ],
};

/// What this group read.
pub(super) struct Reading {
    poll_duration: BTreeMap<ProbeKind, f64>,
    reload: ReloadStatus,
    totals: PollTotals,
    store: StoreHealth,
}

pub(super) fn read(shared: &Shared) -> Reading {
    Reading {
        poll_duration: shared.poll_duration.clone(),
        reload: shared.reload.clone(),
        totals: shared.polls.clone(),
        store: shared.store.clone(),
    }
}

pub(super) fn write(out: &mut Encoder, r: &Reading) {
    let mut family = out.family(&POLL_DURATION);
    for (probe, seconds) in &r.poll_duration {
        family.sample(&[probe.as_str()], *seconds);
    }
    let reload = &r.reload;
    out.family(&INVENTORY_RELOAD_FAILED).sample(&[], f64::from(u8::from(reload.failed)));
    let mut family = out.family(&INVENTORY_LAST_RELOAD);
    for (result, at) in [("success", reload.last_success), ("failure", reload.last_failure)] {
        if let Some(at) = at {
            family.sample(&[result], at.timestamp() as f64);
        }
    }
    write_totals(out, &r.totals);
    let store = &r.store;
    out.family(&STORE_WRITE_FAILING)
        .sample(&[], f64::from(u8::from(store.failing_since.is_some())));
    out.family(&STORE_BUFFERED_ROWS).sample(&[], store.buffered_rows as f64);
    out.family(&STORE_DROPPED_ROWS).sample(&[], store.dropped_rows as f64);
    out.family(&STORE_WRITE_ERRORS).sample(&[], store.write_errors as f64);
}

/// Every counter for every family, zeros included: a counter that exists from the start
/// lets `rate()` see its first increase.
fn write_totals(out: &mut Encoder, t: &PollTotals) {
    let mut family = out.family(&POLLS);
    for f in Family::ALL {
        family.sample(&[ProbeKind::Icmp.as_str(), f.as_str()], t.icmp(*f).cycles);
        family.sample(&[ProbeKind::Snmp.as_str(), f.as_str()], t.snmp(*f).polls);
    }
    let mut family = out.family(&ICMP_ECHOES_SENT);
    for f in Family::ALL {
        family.sample(&[f.as_str()], t.icmp(*f).echoes_sent);
    }
    let mut family = out.family(&ICMP_ECHO_REPLIES);
    for f in Family::ALL {
        family.sample(&[f.as_str()], t.icmp(*f).replies);
    }
    let snmp: [Column<SnmpTotals, u64>; 3] = [
        (&SNMP_REQUESTS_SENT, |s| s.requests),
        (&SNMP_REQUESTS_RETRIED, |s| s.retries),
        (&SNMP_VARBINDS_RETURNED, |s| s.varbinds),
    ];
    for (metric, count) in snmp {
        let mut family = out.family(metric);
        for f in Family::ALL {
            family.sample(&[f.as_str()], count(&t.snmp(*f)));
        }
    }
    let mut family = out.family(&SNMP_POLL_SECONDS);
    for f in Family::ALL {
        family.sample(&[f.as_str()], t.snmp(*f).seconds);
    }
    let mut family = out.family(&SNMP_POLLS_TRUNCATED);
    for f in Family::ALL {
        let counts = t.snmp(*f).truncated;
        for (bound, count) in Truncation::ALL.iter().zip(counts) {
            family.sample(&[f.as_str(), bound.as_str()], count);
        }
    }
}
