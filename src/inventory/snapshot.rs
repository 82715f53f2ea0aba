//! A copy of what an inventory says, without secrets, for the history: the agent stores one at
//! start and on every reload that changes it, and the indicators read them back (a site whose
//! medium was upgraded during a year counts for AE.7.03).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::id::{DeviceId, SiteId};
use super::model::{DeviceClass, Inventory, Lifecycle, LinkMedium, SiteRole};

/// The inventory's sites and devices as they stood, without addresses or secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every site.
    pub sites: Vec<SiteSnapshot>,
    /// Every device.
    pub devices: Vec<DeviceSnapshot>,
}

/// A site in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSnapshot {
    /// Site id.
    pub id: SiteId,
    /// Name.
    pub name: String,
    /// Main or branch.
    pub role: SiteRole,
    /// Medium (`None` for the main site).
    pub link: Option<LinkMedium>,
}

/// A device in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSnapshot {
    /// Device id.
    pub id: DeviceId,
    /// Site id.
    pub site: SiteId,
    /// Class.
    pub class: DeviceClass,
    /// Monitored.
    pub monitor: bool,
    /// Has an IPv4 address.
    pub has_ipv4: bool,
    /// Has an IPv6 address.
    pub has_ipv6: bool,
    /// When the IPv6 plan gives it an address.
    pub ipv6_planned: Option<NaiveDate>,
    /// Life-cycle dates.
    pub lifecycle: Lifecycle,
}

impl Snapshot {
    /// The snapshot of an inventory.
    pub fn of(inv: &Inventory) -> Snapshot {
        Snapshot {
            sites: inv
                .sites
                .iter()
                .map(|s| SiteSnapshot {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    role: s.role,
                    link: s.link,
                })
                .collect(),
            devices: inv
                .devices
                .iter()
                .map(|d| DeviceSnapshot {
                    id: d.id.clone(),
                    site: d.site.clone(),
                    class: d.class,
                    monitor: d.monitor,
                    has_ipv4: d.ipv4.is_some(),
                    has_ipv6: d.ipv6.is_some(),
                    ipv6_planned: d.ipv6_planned,
                    lifecycle: d.lifecycle.clone(),
                })
                .collect(),
        }
    }

    /// The snapshot as JSON and the SHA-256 of that JSON (hex).
    pub fn to_json_and_digest(&self) -> (serde_json::Value, String) {
        let value = serde_json::to_value(self).expect("a snapshot serialises");
        let digest = Sha256::digest(value.to_string().as_bytes());
        let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
        (value, hex)
    }
}
