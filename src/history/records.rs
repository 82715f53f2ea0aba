//! What the history keeps: rows as plain data. The agent and the state make them, the store
//! keeps them (both backends), the core reads them back in a [`super::History`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::inventory::{DeviceId, Family, SiteId};
use crate::poll::{Fact, Interface, PollOutcome, ProbeKind, SystemInfo};

names! {
    /// Things that happened, stored as events.
    EventKind {
        /// A device stopped answering a probe over a family.
        DeviceDown = "device_down",
        /// It answers again.
        DeviceUp = "device_up",
        /// No uplink device of a site answers ICMP on any family.
        SiteIsolated = "site_isolated",
        /// The site answers again.
        SiteRestored = "site_restored",
        /// A device's SNMP agent restarted (sysUpTime went back or advanced too little).
        AgentRestart = "agent_restart",
        /// The inventory changed (at start or on reload).
        InventoryChanged = "inventory_changed",
        /// A reload was refused because the new inventory is invalid.
        InventoryReloadFailed = "inventory_reload_failed",
        /// A device's serial number changed: the equipment was replaced (the detail gives the
        /// old and new serial and model).
        DeviceReplaced = "equipo_reemplazado",
        /// A device's model changed while its serial did not (or it reports none).
        ModelChanged = "modelo_cambiado",
    }
}

/// One probe of one device over one family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollRecord {
    /// When the probe started.
    pub at: DateTime<Utc>,
    /// Which agent polled (several agents may share PostgreSQL).
    pub agent: String,
    /// Device id.
    pub device: DeviceId,
    /// Site id of the device at the time.
    pub site: SiteId,
    /// Address family.
    pub family: Family,
    /// ICMP or SNMP.
    pub probe: ProbeKind,
    /// How it ended.
    pub outcome: PollOutcome,
    /// Whether the probe succeeded.
    pub success: bool,
    /// ICMP: echoes sent.
    pub sent: Option<u32>,
    /// ICMP: replies received.
    pub received: Option<u32>,
    /// ICMP: RTT figures in seconds.
    pub rtt_min_s: Option<f64>,
    /// Mean RTT, seconds.
    pub rtt_avg_s: Option<f64>,
    /// Longest RTT, seconds.
    pub rtt_max_s: Option<f64>,
    /// Jitter, seconds.
    pub jitter_s: Option<f64>,
    /// How long the probe took, seconds.
    pub duration_s: f64,
    /// SNMP: the system group as read (all `None` for ICMP).
    #[serde(default)]
    pub system: SystemInfo,
}

/// One interface sample.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceRecord {
    /// When it was read.
    pub at: DateTime<Utc>,
    /// Which agent.
    pub agent: String,
    /// Device id.
    pub device: DeviceId,
    /// The row as the probe read it (octet counters raw, as the device keeps them).
    pub interface: Interface,
}

/// A value a device reported about itself, over one run of polls that saw it unchanged: when
/// the value changes a new run starts, so the runs of a fact are its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactRecord {
    /// Device id.
    pub device: DeviceId,
    /// Which fact.
    pub fact: Fact,
    /// The value (already made safe: `poll::text::device_text`).
    pub value: String,
    /// The first poll of the run that reported it.
    pub first_at: DateTime<Utc>,
    /// The agent of that poll.
    pub first_agent: String,
    /// The last poll of the run so far.
    pub last_at: DateTime<Utc>,
    /// The agent of that poll.
    pub agent: String,
    /// The family that poll went over.
    pub family: Family,
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// Which agent saw it.
    pub agent: String,
    /// What.
    pub kind: EventKind,
    /// The device, for device events.
    pub device: Option<DeviceId>,
    /// The site, for site events (and the device's site for device events).
    pub site: Option<SiteId>,
    /// The family, for per-family events.
    pub family: Option<Family>,
    /// The probe, for device up/down.
    pub probe: Option<ProbeKind>,
    /// A human detail (never a secret).
    pub detail: String,
    /// Why the device or site was down when this happened (device and site events recorded
    /// while it answered on no family; see `crate::outage`), as the agent knew it then.
    #[serde(default)]
    pub cause: Option<crate::outage::Cause>,
    /// The maintenance windows in force over it when it happened (ids, inventory order).
    #[serde(default)]
    pub maintenance: Vec<String>,
}

/// A copy of what the inventory said at a time, without secrets: sites with their link medium,
/// devices with their site, class and life cycle. The indicators read the history of these
/// (a site's medium upgraded during the year counts for AE.7.03). `content` is the snapshot as
/// JSON (see `inventory::snapshot`): parsed as the store gives it back, or the text its digest
/// was computed over on its way in ([`InventorySnapshotText`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventorySnapshot<Content = serde_json::Value> {
    /// When it was taken (agent start or reload).
    pub at: DateTime<Utc>,
    /// Which agent took it.
    pub agent: String,
    /// SHA-256 of the content's text, hex; a snapshot equal to the latest is not stored again.
    pub digest: String,
    /// The snapshot as JSON.
    pub content: Content,
}

/// An inventory snapshot on its way into the store: its content the JSON text its digest was
/// computed over (`Snapshot::to_text_and_digest`), stored as it is.
pub type InventorySnapshotText = InventorySnapshot<String>;

/// Availability and link figures summed over a period, per device, family and probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// Device id.
    pub device: DeviceId,
    /// Site id (the latest seen in the period).
    pub site: SiteId,
    /// Family.
    pub family: Family,
    /// Probe.
    pub probe: ProbeKind,
    /// Polls in the period.
    pub polls: u64,
    /// Successful polls.
    pub successes: u64,
    /// ICMP echoes sent.
    pub sent: u64,
    /// ICMP replies received.
    pub received: u64,
    /// Sum of mean RTTs of successful ICMP polls, seconds (divide by `rtt_count`).
    pub rtt_sum_s: f64,
    /// Number of polls that contributed an RTT.
    pub rtt_count: u64,
}

impl Availability {
    /// successes / polls, `None` without polls.
    pub fn ratio(&self) -> Option<f64> {
        (self.polls > 0).then(|| self.successes as f64 / self.polls as f64)
    }

    /// Mean RTT in seconds.
    pub fn rtt_mean_s(&self) -> Option<f64> {
        (self.rtt_count > 0).then(|| self.rtt_sum_s / self.rtt_count as f64)
    }

    /// Lost / sent.
    pub fn loss_ratio(&self) -> Option<f64> {
        (self.sent > 0)
            .then(|| (self.sent - self.received.min(self.sent)) as f64 / self.sent as f64)
    }
}

/// A day's roll-up row: the same sums as [`Availability`] for one calendar day (UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyRollup {
    /// The day (UTC).
    pub day: NaiveDate,
    /// The figures.
    pub figures: Availability,
}
