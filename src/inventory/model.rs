//! The typed inventory: what `load` builds once every check has passed.
//!
//! Nothing here can hold a value the checks refused: ids are well formed and unique, every
//! device names a site that exists, addresses are of the right family, dates are in order.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use serde::Serialize;

use super::id::{DeviceId, ProjectId, SiteId};

names! {
    /// Whether a site is the main site (the data centre) or a branch.
    SiteRole { Main = "main", Branch = "branch" }
}

names! {
    /// How a branch site reaches the main site.
    LinkMedium {
        /// Optical fibre.
        Fibre = "fibre",
        /// A radio link.
        Radio = "radio",
        /// No link at all: the site is in the inventory but cannot be reached.
        None = "none",
    }
}

names! {
    /// What kind of equipment a device is.
    DeviceClass {
        Switch = "switch",
        Router = "router",
        Firewall = "firewall",
        Server = "server",
        AccessPoint = "access_point",
        Radio = "radio",
        Other = "other",
    }
}

names! {
    /// SNMP protocol version.
    SnmpVersion { V2c = "2c", V3 = "3" }
}

names! {
    /// SNMPv3 authentication protocol.
    AuthProtocol {
        Md5 = "md5", Sha1 = "sha1", Sha224 = "sha224", Sha256 = "sha256", Sha384 = "sha384",
        Sha512 = "sha512",
    }
}

names! {
    /// SNMPv3 privacy (encryption) protocol.
    PrivProtocol { Des = "des", Aes128 = "aes128", Aes192 = "aes192", Aes256 = "aes256" }
}

names! {
    /// A project's state.
    ProjectStatus {
        Planned = "planned", InProgress = "in_progress", Implemented = "implemented",
        Cancelled = "cancelled",
    }
}

names! {
    /// The strategic indicators vigia computes (PEI 2025-2030, OEI.07).
    IndicatorId {
        /// Infrastructure projects implemented.
        Ae703 = "AE.7.03",
        /// Equipment renewed.
        Ae704 = "AE.7.04",
    }
}

names! {
    /// An IP address family.
    Family { Ipv4 = "ipv4", Ipv6 = "ipv6" }
}

/// The whole inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// Where it was read from.
    pub dir: PathBuf,
    /// Every site, main first, then in file order.
    pub sites: Vec<Site>,
    /// Every device, in file order.
    pub devices: Vec<Device>,
    /// Named SNMP profiles.
    pub snmp_profiles: BTreeMap<String, Arc<SnmpProfile>>,
    /// Default polling settings.
    pub poll: PollSettings,
    /// Renewal policy.
    pub policy: Policy,
    /// Projects counted by the indicators.
    pub projects: Vec<Project>,
    /// Indicators and their targets.
    pub indicators: Vec<Indicator>,
    /// Figures stated by source documents, kept to compare with what the inventory counts.
    pub declared: Vec<Declared>,
    /// Lab-only settings of the lab twin (the `lab` section); polling never reads them.
    pub lab: LabTwin,
    /// Vendors' life-cycle dates per model, with their sources.
    pub catalog: super::catalog::Catalog,
    /// The time zone of local times: maintenance windows and reports (`defaults.time_zone`,
    /// America/Lima unless set).
    pub time_zone: chrono_tz::Tz,
    /// Planned work: outages inside a window are neither alerted nor counted as downtime.
    pub maintenance: Vec<super::maintenance::MaintenanceWindow>,
    /// Contracted bandwidth per site and shared pools, and the interfaces that carry them.
    pub contracts: super::contract::Contracts,
}

/// Lab-only settings (the inventory's `lab` section): where the lab twin of the inventory
/// departs from what the media and addresses alone would build. Only `vigia lab` and
/// `vigia agent --lab` read them; polling a real network ignores them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabTwin {
    /// Sites whose link the lab shapes with these figures instead of their medium's.
    pub links: BTreeMap<SiteId, LabLink>,
    /// Addresses the lab routes to their device where nothing answers: an address family
    /// configured on the device but broken.
    pub silent: Vec<(DeviceId, Family)>,
}

/// A link as the lab shapes it, in each direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabLink {
    /// One-way delay.
    pub delay: Duration,
    /// Each packet's delay is drawn in `delay ± jitter`.
    pub jitter: Duration,
    /// Share of packets lost (0 to 1).
    pub loss: f64,
}

impl Inventory {
    /// The site with this id.
    pub fn site(&self, id: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.id == id)
    }

    /// The device with this id.
    pub fn device(&self, id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }

    /// The main site (validation guarantees there is exactly one).
    pub fn main_site(&self) -> &Site {
        self.sites
            .iter()
            .find(|s| s.role == SiteRole::Main)
            .expect("a validated inventory has a main site")
    }

    /// The indicator with this id.
    pub fn indicator(&self, id: IndicatorId) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    /// Devices vigia polls on `day`: monitored, not retired by then, at a site with a link
    /// (or the main site).
    pub fn polled_devices(&self, day: NaiveDate) -> impl Iterator<Item = &Device> {
        self.devices.iter().filter(move |d| {
            d.is_active(day) && self.site(&d.site).is_some_and(|s| s.link != Some(LinkMedium::None))
        })
    }
}

/// A place the municipality works from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    /// `[a-z0-9-]+`, unique.
    pub id: SiteId,
    /// Name as the plan writes it.
    pub name: String,
    /// Main or branch.
    pub role: SiteRole,
    /// How a branch reaches the main site; `None` for the main site itself.
    pub link: Option<LinkMedium>,
    /// Contracted bandwidth of the link.
    pub link_mbps: Option<u32>,
    /// Carrier of the link.
    pub provider: Option<String>,
    /// The medium a plan will give the site.
    pub planned_link: Option<LinkMedium>,
    /// When the plan gives it.
    pub planned_date: Option<NaiveDate>,
    /// A branch: the site its link lands on (the main site unless the inventory says
    /// otherwise); `None` for the main site.
    #[serde(skip)]
    pub via: Option<SiteId>,
    /// The devices of this site that the links of the sites landing here arrive at (defaults
    /// applied: the site's uplink devices).
    #[serde(skip)]
    pub core: Vec<DeviceId>,
}

impl Site {
    /// The link label used in metrics and reports: the medium, or `main` for the main site.
    pub fn link_label(&self) -> &'static str {
        self.link.map_or("main", LinkMedium::as_str)
    }
}

/// A piece of equipment.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// `[a-z0-9-]+`, unique.
    pub id: DeviceId,
    /// The site it stands in.
    pub site: SiteId,
    /// What it is.
    pub class: DeviceClass,
    /// Maker, where recorded.
    pub vendor: Option<String>,
    /// Model, where recorded.
    pub model: Option<String>,
    /// Serial number, where recorded.
    pub serial: Option<String>,
    /// IPv4 management address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 management address.
    pub ipv6: Option<Ipv6Addr>,
    /// Whether this device carries the site's link.
    pub uplink: bool,
    /// SNMP settings; `None` polls ICMP only.
    pub snmp: Option<SnmpRef>,
    /// Whether vigia polls it at all.
    pub monitor: bool,
    /// When the IPv6 plan gives it an address.
    pub ipv6_planned: Option<NaiveDate>,
    /// Life-cycle dates.
    pub lifecycle: Lifecycle,
    /// The devices it is reached through (defaults applied). It is cut off, not down itself,
    /// when every one of them is down (as a host's parents in Nagios); empty: nothing is
    /// between vigia and it.
    pub depends_on: Vec<DeviceId>,
    /// Whether vigia sends it ICMP echoes (`icmp: false`: SNMP only, for a device that drops
    /// ICMP on purpose).
    pub icmp: bool,
    /// Its own time between two echoes (`poll.icmp_spacing` in the device), instead of the
    /// default's.
    pub icmp_spacing: Option<Duration>,
}

impl Device {
    /// The address of `family`, if the device has one.
    pub fn address(&self, family: Family) -> Option<IpAddr> {
        match family {
            Family::Ipv4 => self.ipv4.map(IpAddr::V4),
            Family::Ipv6 => self.ipv6.map(IpAddr::V6),
        }
    }

    /// The families the device has an address in.
    pub fn families(&self) -> impl Iterator<Item = Family> + '_ {
        Family::ALL.iter().copied().filter(|f| self.address(*f).is_some())
    }

    /// The time between two echoes to this device: its own, else the inventory's default.
    pub fn icmp_spacing(&self, defaults: &PollSettings) -> Duration {
        self.icmp_spacing.unwrap_or(defaults.icmp_spacing)
    }

    /// Monitored and not retired on `day`.
    pub fn is_active(&self, day: NaiveDate) -> bool {
        self.monitor && self.lifecycle.retired.is_none_or(|r| r > day)
    }
}

/// A device's SNMP settings: a named profile or one written inline.
#[derive(Debug, Clone, PartialEq)]
pub struct SnmpRef {
    /// The profile's name, or `inline` for a profile written in the device.
    pub name: String,
    /// The settings.
    pub profile: Arc<SnmpProfile>,
}

/// How to talk SNMP to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnmpProfile {
    /// SNMPv2c with a community.
    V2c {
        /// The community string.
        community: SecretRef,
    },
    /// SNMPv3 with the user security model.
    V3 {
        /// The USM user name.
        user: String,
        /// Authentication, if any (noAuthNoPriv without it).
        auth: Option<(AuthProtocol, SecretRef)>,
        /// Privacy, if any (requires authentication).
        privacy: Option<(PrivProtocol, SecretRef)>,
    },
}

impl SnmpProfile {
    /// The version.
    pub fn version(&self) -> SnmpVersion {
        match self {
            SnmpProfile::V2c { .. } => SnmpVersion::V2c,
            SnmpProfile::V3 { .. } => SnmpVersion::V3,
        }
    }

    /// Every secret the profile refers to.
    pub fn secrets(&self) -> Vec<&SecretRef> {
        match self {
            SnmpProfile::V2c { community } => vec![community],
            SnmpProfile::V3 { auth, privacy, .. } => {
                auth.iter().map(|a| &a.1).chain(privacy.iter().map(|p| &p.1)).collect()
            }
        }
    }
}

/// Where a secret comes from. Inline values never appear in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// Written in the inventory (allowed, with a warning).
    Inline(String),
    /// Read from an environment variable.
    Env(String),
    /// Read from a file (see [`super::secret_file`]).
    File(PathBuf),
    /// From the environment variable when it is set, else from the file: the inventory names
    /// both (`NAME_env` and `NAME_file`).
    EnvOrFile(String, PathBuf),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Inline(_) => f.write_str("Inline(<redacted>)"),
            SecretRef::Env(name) => write!(f, "Env({name})"),
            SecretRef::File(path) => write!(f, "File({})", path.display()),
            SecretRef::EnvOrFile(name, path) => write!(f, "EnvOrFile({name}, {})", path.display()),
        }
    }
}

/// A secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set.
    #[error("environment variable {0} is not set")]
    EnvNotSet(String),
    /// The file could not be read.
    #[error("cannot read secret file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Neither the environment variable is set nor the file readable.
    #[error("environment variable {var} is not set, and cannot read secret file {path}: {reason}")]
    EnvNorFile {
        /// The variable.
        var: String,
        /// The file.
        path: PathBuf,
        /// Why the file cannot be read.
        reason: String,
    },
}

impl SecretRef {
    /// The secret's value. Errors name the variable or file, never the value.
    pub fn resolve(&self) -> Result<String, SecretError> {
        match self {
            SecretRef::Inline(v) => Ok(v.clone()),
            SecretRef::Env(name) => {
                std::env::var(name).map_err(|_| SecretError::EnvNotSet(name.clone()))
            }
            SecretRef::File(path) => super::secret_file::read(path)
                .map_err(|reason| SecretError::File { path: path.clone(), reason }),
            // An empty variable counts as unset: no secret is empty.
            SecretRef::EnvOrFile(var, path) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(v),
                _ => super::secret_file::read(path).map_err(|reason| SecretError::EnvNorFile {
                    var: var.clone(),
                    path: path.clone(),
                    reason,
                }),
            },
        }
    }
}

/// When and how often to poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PollSettings {
    /// Time between ICMP cycles of one device.
    #[serde(with = "duration_text")]
    pub icmp_interval: Duration,
    /// Time between SNMP polls of one device.
    #[serde(with = "duration_text")]
    pub snmp_interval: Duration,
    /// How long to wait for one reply.
    #[serde(with = "duration_text")]
    pub timeout: Duration,
    /// SNMP retries after a timeout.
    pub retries: u32,
    /// ICMP echoes per cycle.
    pub icmp_count: u32,
    /// Time between two echoes of a cycle to the same address (fping's `-p`).
    #[serde(with = "duration_text")]
    pub icmp_spacing: Duration,
}

/// The shortest `icmp_spacing`: closer echoes to one address measure little more than one
/// does, and a device's control plane may rate-limit them.
pub const MIN_ICMP_SPACING: Duration = Duration::from_millis(10);
/// The longest `icmp_spacing`.
pub const MAX_ICMP_SPACING: Duration = Duration::from_secs(60);

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings {
            icmp_interval: Duration::from_secs(30),
            snmp_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(2),
            retries: 1,
            icmp_count: 3,
            icmp_spacing: Duration::from_millis(500),
        }
    }
}

/// Serialises durations as inventory text (`30s`, `500ms`).
pub mod duration_text {
    use std::time::Duration;

    /// Write a duration the way inventories spell it.
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    /// `1h`, `2m`, `30s`, `1500ms`: the largest unit that divides the duration exactly.
    pub fn format(d: Duration) -> String {
        let ms = d.as_millis();
        if ms == 0 {
            "0s".into()
        } else if ms.is_multiple_of(3_600_000) {
            format!("{}h", ms / 3_600_000)
        } else if ms.is_multiple_of(60_000) {
            format!("{}m", ms / 60_000)
        } else if ms.is_multiple_of(1000) {
            format!("{}s", ms / 1000)
        } else {
            format!("{ms}ms")
        }
    }
}

/// Life-cycle dates of a device. Every field may be unknown, and unknown stays unknown.
/// Fields in the order of their names: the stored inventory snapshot is written straight from
/// them (`inventory::snapshot`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Lifecycle {
    /// When it was bought or entered service.
    pub acquired: Option<NaiveDate>,
    /// When the vendor stopped selling it.
    pub end_of_sale: Option<NaiveDate>,
    /// When the vendor stops supporting it.
    pub end_of_support: Option<NaiveDate>,
    /// When it entered service as a renewal (counts for AE.7.04 that year).
    pub renewed: Option<NaiveDate>,
    /// The device it replaced.
    pub replaces: Option<DeviceId>,
    /// When it was retired (kept for history, no longer polled).
    pub retired: Option<NaiveDate>,
}

/// Rules for naming renewal candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// Age limits per class.
    pub max_age_years: BTreeMap<DeviceClass, u32>,
    /// Age limit for classes not listed.
    pub default_max_age_years: u32,
    /// Warn this many days before support ends.
    pub support_warning_days: u32,
    /// Link health thresholds (`policy.radio`, `policy.optics`); not part of the renewal
    /// policy the renewal report prints.
    #[serde(skip)]
    pub links: super::LinkPolicy,
}

impl Policy {
    /// The age limit for a class.
    pub fn max_age(&self, class: DeviceClass) -> u32 {
        self.max_age_years.get(&class).copied().unwrap_or(self.default_max_age_years)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_age_years: BTreeMap::from([
                (DeviceClass::Server, 5),
                (DeviceClass::Switch, 7),
                (DeviceClass::Router, 7),
                (DeviceClass::Firewall, 5),
            ]),
            default_max_age_years: 6,
            support_warning_days: 365,
            links: super::LinkPolicy::default(),
        }
    }
}

/// A project counted by an indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// `[a-z0-9-]+`, unique.
    pub id: ProjectId,
    /// The indicator it counts for.
    pub indicator: IndicatorId,
    /// Name as the plan writes it.
    pub name: String,
    /// The year it is planned for.
    pub year: i32,
    /// Budget in soles.
    pub budget_pen: Option<f64>,
    /// The plan's priority (1 is highest).
    pub priority: Option<u32>,
    /// Where it stands.
    pub status: ProjectStatus,
    /// When it was implemented (required when implemented).
    pub implemented_on: Option<NaiveDate>,
}

/// An indicator, its targets and its ficha texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    /// AE.7.03 or AE.7.04.
    pub id: IndicatorId,
    /// Name as the plan writes it.
    pub name: String,
    /// Target per year.
    pub targets: BTreeMap<i32, f64>,
    /// Strategic objective (ficha field), e.g. `OEI.07 Fortalecer al Gobierno Digital`.
    pub objective: Option<String>,
    /// Strategic action (ficha field).
    pub action: Option<String>,
    /// Formula as the plan states it.
    pub formula: Option<String>,
    /// Source of the data as the plan states it.
    pub source: Option<String>,
    /// Who answers for it.
    pub responsible: Option<String>,
    /// A note about the target (e.g. how the plan states it).
    pub target_note: Option<String>,
}

/// Counts a source document states, kept so reports can set them beside the inventory's own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Declared {
    /// Which document, section or table.
    pub source: String,
    /// Sites per medium as that source counts them.
    pub sites: BTreeMap<LinkMedium, u32>,
    /// Total of sites that source speaks of, where it gives one.
    pub sites_total: Option<u32>,
    /// Devices per class as that source counts them.
    pub devices: BTreeMap<DeviceClass, u32>,
}
