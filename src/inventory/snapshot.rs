//! A copy of what an inventory says, without secrets, for the history: the agent stores one at
//! start and on every reload that changes it, and the indicators read them back (a site whose
//! medium was upgraded during a year counts for AE.7.03).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::id::{DeviceId, SiteId};
use super::model::{DeviceClass, Inventory, Lifecycle, LinkMedium, SiteRole};

// The fields of these structs are declared in the order of their names: serde_json writes a
// struct's fields in declaration order, and the stored text and its digest are the sorted-key
// form a `serde_json::Value` gives (what earlier versions stored), so the text is written
// straight from the structs, with no `Value` of the whole inventory in between. The test
// `the_text_is_the_sorted_value_form` holds the two forms equal.

/// The inventory's sites and devices as they stood, without addresses or secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every device.
    pub devices: Vec<DeviceSnapshot>,
    /// Every site.
    pub sites: Vec<SiteSnapshot>,
}

/// A site in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSnapshot {
    /// Site id.
    pub id: SiteId,
    /// Medium (`None` for the main site).
    pub link: Option<LinkMedium>,
    /// Name.
    pub name: String,
    /// Main or branch.
    pub role: SiteRole,
}

/// A device in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSnapshot {
    /// Class.
    pub class: DeviceClass,
    /// Has an IPv4 address.
    pub has_ipv4: bool,
    /// Has an IPv6 address.
    pub has_ipv6: bool,
    /// Device id.
    pub id: DeviceId,
    /// When the IPv6 plan gives it an address.
    pub ipv6_planned: Option<NaiveDate>,
    /// Life-cycle dates (its fields are declared in the order of their names too).
    pub lifecycle: Lifecycle,
    /// Monitored.
    pub monitor: bool,
    /// Site id.
    pub site: SiteId,
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

    /// The snapshot as compact JSON with sorted keys, and the SHA-256 of that text (hex): what
    /// the store keeps.
    pub fn to_text_and_digest(&self) -> (String, String) {
        let text = serde_json::to_string(self).expect("a snapshot serialises");
        let digest = Sha256::digest(text.as_bytes());
        let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
        (text, hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Option<NaiveDate> {
        Some(s.parse().unwrap())
    }

    /// Every field set (and one of each left empty), names that need escaping.
    fn sample() -> Snapshot {
        Snapshot {
            devices: vec![
                DeviceSnapshot {
                    class: DeviceClass::AccessPoint,
                    has_ipv4: true,
                    has_ipv6: false,
                    id: "ap-mercado".into(),
                    ipv6_planned: date("2027-03-01"),
                    lifecycle: Lifecycle {
                        acquired: date("2019-05-02"),
                        end_of_sale: date("2023-01-31"),
                        end_of_support: date("2028-01-31"),
                        renewed: date("2024-07-15"),
                        replaces: Some("ap-viejo".into()),
                        retired: date("2029-12-31"),
                    },
                    monitor: true,
                    site: "sede-mercado".into(),
                },
                DeviceSnapshot {
                    class: DeviceClass::Switch,
                    has_ipv4: false,
                    has_ipv6: true,
                    id: "sw-core".into(),
                    ipv6_planned: None,
                    lifecycle: Lifecycle::default(),
                    monitor: false,
                    site: "sede-central".into(),
                },
            ],
            sites: vec![
                SiteSnapshot {
                    id: "sede-central".into(),
                    link: None,
                    name: "Sede \"Central\" \\ Tacna\u{1}ñ".into(),
                    role: SiteRole::Main,
                },
                SiteSnapshot {
                    id: "sede-mercado".into(),
                    link: Some(LinkMedium::Radio),
                    name: "Mercado Grau".into(),
                    role: SiteRole::Branch,
                },
            ],
        }
    }

    #[test]
    fn the_text_is_the_sorted_value_form() {
        // Earlier versions stored `serde_json::to_value(snapshot).to_string()` and digested
        // that; the text written straight from the structs must be the same bytes, or every
        // existing database would take one more snapshot row at the next start.
        let snap = sample();
        let (text, digest) = snap.to_text_and_digest();
        let value = serde_json::to_value(&snap).unwrap();
        assert_eq!(text, value.to_string());
        let want = Sha256::digest(value.to_string().as_bytes());
        assert_eq!(digest, want.iter().map(|b| format!("{b:02x}")).collect::<String>());
        assert_eq!(serde_json::from_str::<Snapshot>(&text).unwrap(), snap);
    }

    #[test]
    fn the_digest_of_a_known_snapshot_does_not_move() {
        // Pinned: a change of field names, order or form changes the digest of every stored
        // inventory (one extra snapshot row per database); make it on purpose, not by accident.
        let (text, digest) = sample().to_text_and_digest();
        assert!(
            text.starts_with(r#"{"devices":[{"class":"access_point","has_ipv4":true,"#),
            "{text}"
        );
        assert_eq!(digest, "5abfd66850b7f5aadc90e37231996e048fa383dd3d6851d9f2289167655f9b0d");
    }
}
