//! What a poll of a device found, as plain data of the core.
//!
//! A device that does not answer, refuses credentials or lacks an object is not an error of
//! vigia: it is an outcome, stored and exported like any other. The adapters (`probe::icmp`,
//! `probe::snmp`) produce these values; the state, the store, the metrics and the reports
//! consume them. Every interface counter is declared once, in `interface.rs`.

pub mod counters;
mod interface;
pub mod optics;
pub mod radio;
pub mod text;
pub mod vendor;

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::inventory::Family;
pub use interface::{Counter, Interface, InterfaceCounters, InterfaceTotals};

names! {
    /// The two ways vigia asks a device whether it is there.
    ProbeKind { Icmp = "icmp", Snmp = "snmp" }
}

names! {
    /// How an ICMP echo cycle ended.
    IcmpOutcome {
        /// At least one echo reply came back.
        Ok = "ok",
        /// No reply at all within the timeout.
        Timeout = "timeout",
        /// A router or the host answered "destination unreachable" (a failure, never a success).
        Unreachable = "unreachable",
        /// The echo could not be sent (no route, the kernel refused it).
        SendError = "send_error",
    }
}

/// One ICMP echo cycle of one device over one family: `count` echoes, paced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IcmpReport {
    /// Address family.
    pub family: Family,
    /// The address probed.
    pub address: IpAddr,
    /// How it ended.
    pub outcome: IcmpOutcome,
    /// Echoes sent.
    pub sent: u32,
    /// Echo replies received.
    pub received: u32,
    /// Round-trip times of the replies, in the order the echoes were sent (JSON: `rtts_s`, in
    /// seconds).
    #[serde(rename = "rtts_s", serialize_with = "seconds_list")]
    pub rtts: Vec<Duration>,
    /// A human diagnostic for failures (never a secret).
    pub detail: Option<String>,
}

impl IcmpReport {
    /// True when at least one echo reply came back.
    pub fn reachable(&self) -> bool {
        self.outcome == IcmpOutcome::Ok && self.received > 0
    }

    /// Lost / sent (1.0 when nothing was sent).
    pub fn loss_ratio(&self) -> f64 {
        if self.sent == 0 {
            1.0
        } else {
            f64::from(self.sent - self.received.min(self.sent)) / f64::from(self.sent)
        }
    }

    /// Shortest RTT.
    pub fn rtt_min(&self) -> Option<Duration> {
        self.rtts.iter().min().copied()
    }

    /// Longest RTT.
    pub fn rtt_max(&self) -> Option<Duration> {
        self.rtts.iter().max().copied()
    }

    /// Mean RTT.
    pub fn rtt_avg(&self) -> Option<Duration> {
        let n = u32::try_from(self.rtts.len()).ok().filter(|n| *n > 0)?;
        Some(self.rtts.iter().sum::<Duration>() / n)
    }

    /// Jitter: the mean absolute difference between successive RTTs (RFC 3550 style, without
    /// smoothing). `None` with fewer than two replies.
    pub fn jitter(&self) -> Option<Duration> {
        if self.rtts.len() < 2 {
            return None;
        }
        let diffs: Duration = self.rtts.windows(2).map(|w| w[0].abs_diff(w[1])).sum();
        Some(diffs / u32::try_from(self.rtts.len() - 1).ok()?)
    }
}

names! {
    /// How an SNMP poll ended.
    SnmpOutcome {
        /// The agent answered.
        Ok = "ok",
        /// No answer within timeout and retries. A wrong v2c community looks like this too.
        Timeout = "timeout",
        /// Nothing listens on the SNMP port (ICMP port unreachable).
        Refused = "refused",
        /// SNMPv3 credentials were refused (wrong password and unknown user look the same).
        AuthFailed = "auth_failed",
        /// The agent answered but has none of the objects asked for.
        NoSuchObject = "no_such_object",
        /// The answer could not be decoded.
        DecodeError = "decode_error",
    }
}

names! {
    /// Which of vigia's bounds on what one device may cost cut a poll short: what was read
    /// until then is kept, and the poll says so (docs/snmp.md, "Bounds").
    Truncation {
        /// The poll reached its deadline (the SNMP interval).
        Deadline = "deadline",
        /// A table walk reached its request limit.
        Requests = "requests",
        /// A table passed the row limit.
        Rows = "rows",
        /// A reply held more varbinds than were asked for; the excess was dropped.
        Varbinds = "varbinds",
        /// The values read passed the poll's byte budget.
        Bytes = "bytes",
    }
}

names! {
    /// How a poll ended, whichever its probe: the spellings of [`IcmpOutcome`] and
    /// [`SnmpOutcome`] in one set, as the history keeps them beside the probe.
    PollOutcome {
        /// ICMP or SNMP: the device answered.
        Ok = "ok",
        /// ICMP or SNMP: no answer in time.
        Timeout = "timeout",
        /// ICMP: destination unreachable.
        Unreachable = "unreachable",
        /// ICMP: the echo could not be sent.
        SendError = "send_error",
        /// SNMP: nothing listens on the port.
        Refused = "refused",
        /// SNMP: SNMPv3 credentials refused.
        AuthFailed = "auth_failed",
        /// SNMP: none of the objects asked for.
        NoSuchObject = "no_such_object",
        /// SNMP: the answer could not be decoded.
        DecodeError = "decode_error",
    }
}

impl From<IcmpOutcome> for PollOutcome {
    fn from(o: IcmpOutcome) -> PollOutcome {
        match o {
            IcmpOutcome::Ok => PollOutcome::Ok,
            IcmpOutcome::Timeout => PollOutcome::Timeout,
            IcmpOutcome::Unreachable => PollOutcome::Unreachable,
            IcmpOutcome::SendError => PollOutcome::SendError,
        }
    }
}

impl From<SnmpOutcome> for PollOutcome {
    fn from(o: SnmpOutcome) -> PollOutcome {
        match o {
            SnmpOutcome::Ok => PollOutcome::Ok,
            SnmpOutcome::Timeout => PollOutcome::Timeout,
            SnmpOutcome::Refused => PollOutcome::Refused,
            SnmpOutcome::AuthFailed => PollOutcome::AuthFailed,
            SnmpOutcome::NoSuchObject => PollOutcome::NoSuchObject,
            SnmpOutcome::DecodeError => PollOutcome::DecodeError,
        }
    }
}

/// The SNMP system group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// sysDescr.
    pub descr: Option<String>,
    /// sysObjectID, dotted.
    pub object_id: Option<String>,
    /// sysUpTime in hundredths of a second (TimeTicks, wraps at 2^32).
    pub uptime_ticks: Option<u32>,
    /// sysName.
    pub name: Option<String>,
    /// sysLocation.
    pub location: Option<String>,
    /// sysContact.
    pub contact: Option<String>,
}

impl SystemInfo {
    /// sysUpTime as a duration.
    pub fn uptime(&self) -> Option<Duration> {
        self.uptime_ticks.map(|t| Duration::from_millis(u64::from(t) * 10))
    }
}

/// ENTITY-MIB facts about the device itself (its chassis), where the agent has them. Every
/// text went through [`text::device_text`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EntityInfo {
    /// entPhysicalIndex of the entity read: the first chassis, else the first with a model.
    pub index: Option<u32>,
    /// entPhysicalDescr.
    pub descr: Option<String>,
    /// entPhysicalModelName.
    pub model: Option<String>,
    /// entPhysicalSerialNum.
    pub serial: Option<String>,
    /// entPhysicalHardwareRev.
    pub hardware_rev: Option<String>,
    /// entPhysicalFirmwareRev.
    pub firmware_rev: Option<String>,
    /// entPhysicalSoftwareRev.
    pub software_rev: Option<String>,
    /// entPhysicalMfgName.
    pub mfg_name: Option<String>,
}

names! {
    /// What a device says about itself that vigia keeps, with when each value was first and
    /// last seen (the history's `device_facts`).
    Fact {
        /// sysDescr.
        SysDescr = "sys_descr",
        /// sysObjectID (dotted): its enterprise number names the vendor.
        SysObjectId = "sys_object_id",
        /// entPhysicalModelName.
        Model = "model",
        /// entPhysicalSerialNum.
        Serial = "serial",
        /// entPhysicalHardwareRev.
        HardwareRev = "hardware_rev",
        /// entPhysicalFirmwareRev.
        FirmwareRev = "firmware_rev",
        /// entPhysicalSoftwareRev.
        SoftwareRev = "software_rev",
        /// entPhysicalMfgName.
        MfgName = "mfg_name",
    }
}

impl SnmpReport {
    /// What the device said about itself in this poll, fact by fact (none unless it answered).
    pub fn facts(&self) -> Vec<(Fact, String)> {
        if !self.ok() {
            return Vec::new();
        }
        let system = self.system.as_ref();
        let entity = self.entity.as_ref();
        [
            (Fact::SysDescr, system.and_then(|s| s.descr.clone())),
            (Fact::SysObjectId, system.and_then(|s| s.object_id.clone())),
            (Fact::Model, entity.and_then(|e| e.model.clone())),
            (Fact::Serial, entity.and_then(|e| e.serial.clone())),
            (Fact::HardwareRev, entity.and_then(|e| e.hardware_rev.clone())),
            (Fact::FirmwareRev, entity.and_then(|e| e.firmware_rev.clone())),
            (Fact::SoftwareRev, entity.and_then(|e| e.software_rev.clone())),
            (Fact::MfgName, entity.and_then(|e| e.mfg_name.clone())),
        ]
        .into_iter()
        .filter_map(|(f, v)| Some((f, v?)))
        .collect()
    }
}

/// One hrStorage row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Storage {
    /// hrStorageDescr.
    pub descr: String,
    /// Size in bytes (hrStorageSize × hrStorageAllocationUnits).
    pub size_bytes: u64,
    /// Used bytes.
    pub used_bytes: u64,
}

/// HOST-RESOURCES-MIB figures of a server.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostResources {
    /// Mean of hrProcessorLoad over the processors, percent.
    pub cpu_load_percent: Option<f64>,
    /// RAM size (hrStorageRam).
    pub memory_total_bytes: Option<u64>,
    /// RAM used.
    pub memory_used_bytes: Option<u64>,
    /// Fixed disks (hrStorageFixedDisk).
    pub disks: Vec<Storage>,
}

/// One SNMP poll of one device over one family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnmpReport {
    /// Address family.
    pub family: Family,
    /// The address polled.
    pub address: IpAddr,
    /// How it ended.
    pub outcome: SnmpOutcome,
    /// A human diagnostic (for a timeout with v2c: that a wrong community looks the same).
    /// Never holds a secret.
    pub detail: Option<String>,
    /// Wall time of the whole poll (JSON: `elapsed_s`, in seconds).
    #[serde(rename = "elapsed_s", serialize_with = "seconds")]
    pub elapsed: Duration,
    /// The system group, when asked and answered.
    pub system: Option<SystemInfo>,
    /// Interfaces, when asked and answered.
    pub interfaces: Vec<Interface>,
    /// ENTITY-MIB facts, when asked and the agent has them.
    pub entity: Option<EntityInfo>,
    /// HOST-RESOURCES figures, when asked and the agent has them.
    pub host: Option<HostResources>,
    /// Radio readings from the vendor tables the device has (`poll/radio.rs`), when asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub radio: Vec<radio::RadioLink>,
    /// Transceiver power sensors (`poll/optics.rs`), when asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub optics: Vec<optics::Optic>,
    /// What the poll cost.
    pub cost: SnmpCost,
    /// The bound that cut the poll short, if one did (the first one met).
    pub truncated: Option<Truncation>,
}

/// What one SNMP poll cost, as snmp_exporter counts a scrape (`snmp_scrape_packets_sent`,
/// `_packets_retried`, `_pdus_returned`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SnmpCost {
    /// Requests sent: GETs, GETBULKs, their retries, SNMPv3 engine discovery, and the second
    /// looks that diagnose a failure.
    pub requests: u32,
    /// Of those, requests sent again after a failed attempt.
    pub retries: u32,
    /// Variable bindings the answers returned.
    pub varbinds: u32,
}

impl SnmpReport {
    /// True when the agent answered.
    pub fn ok(&self) -> bool {
        self.outcome == SnmpOutcome::Ok
    }
}

/// Durations in JSON are seconds, as Prometheus and scripts expect.
fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn seconds_list<S: serde::Serializer>(ds: &[Duration], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ds.iter().map(Duration::as_secs_f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_outcome_keeps_the_spelling_of_its_probe_outcome() {
        for o in IcmpOutcome::ALL {
            assert_eq!(PollOutcome::from(*o).as_str(), o.as_str());
        }
        for o in SnmpOutcome::ALL {
            assert_eq!(PollOutcome::from(*o).as_str(), o.as_str());
        }
    }

    #[test]
    fn durations_serialise_as_seconds() {
        let r = report(&[10, 14], 2);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["rtts_s"], serde_json::json!([0.01, 0.014]));
    }

    fn report(rtts_ms: &[u64], sent: u32) -> IcmpReport {
        IcmpReport {
            family: Family::Ipv4,
            address: "198.18.0.1".parse().unwrap(),
            outcome: if rtts_ms.is_empty() { IcmpOutcome::Timeout } else { IcmpOutcome::Ok },
            sent,
            received: rtts_ms.len() as u32,
            rtts: rtts_ms.iter().map(|m| Duration::from_millis(*m)).collect(),
            detail: None,
        }
    }

    #[test]
    fn rtt_statistics_and_jitter_by_hand() {
        let r = report(&[10, 14, 12], 3);
        assert_eq!(r.rtt_min(), Some(Duration::from_millis(10)));
        assert_eq!(r.rtt_max(), Some(Duration::from_millis(14)));
        assert_eq!(r.rtt_avg(), Some(Duration::from_millis(12)));
        // |14-10| = 4, |12-14| = 2: mean 3 ms.
        assert_eq!(r.jitter(), Some(Duration::from_millis(3)));
        assert_eq!(r.loss_ratio(), 0.0);
        assert!(r.reachable());
    }

    #[test]
    fn loss_and_no_jitter_with_one_reply() {
        let r = report(&[7], 4);
        assert_eq!(r.loss_ratio(), 0.75);
        assert_eq!(r.jitter(), None);
        let none = report(&[], 3);
        assert_eq!(none.loss_ratio(), 1.0);
        assert_eq!(none.rtt_avg(), None);
        assert!(!none.reachable());
    }
}
