//! Constant-time questions about a loaded inventory on one day: a device or a site by id, the
//! devices polled that day, and per site the devices whose answers decide whether it answers.
//!
//! [`Inventory::device`], [`Inventory::site`] and [`Inventory::polled_devices`] scan lists:
//! right for a one-off question, wrong inside a loop. Asking "does this site answer?" after
//! every ICMP result through them cost O(devices x sites) each time (at 10,000 devices and
//! 2,000 sites, some 10^7 string comparisons per result, more CPU than one machine has). An
//! index is built once per inventory and day in O(devices + sites) and answers each of those
//! questions in O(1), or in the size of the answer.
//!
//! An index may also be cut to one [`Shard`] of the sites, for several agents that split a
//! network between them: it then holds (polls, decides, exports) only that shard's sites.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;

use super::{Device, DeviceId, Inventory, LinkMedium, Site, SiteId};

/// One part of the sites, for agents that split a network: `--shard I/N` (1-based) owns the
/// sites whose id hashes (64-bit FNV-1a of its bytes) to I-1 modulo N. A site is never split:
/// all its devices go to one agent, which can then tell whether the site answers. The hash
/// depends on the site id alone, so every agent, every restart and every version agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// 0-based.
    index: u32,
    count: u32,
}

/// A `--shard` value that is not `I/N` with 1 <= I <= N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not two numbers around a slash.
    #[error("{given:?} is not I/N (for example 1/3: the first of three agents)")]
    Syntax {
        /// What was given.
        given: String,
    },
    /// A number out of range.
    #[error("shard {number}/{count}: need 1 <= {number} <= {count}")]
    Range {
        /// I, as given.
        number: u32,
        /// N, as given.
        count: u32,
    },
}

impl Shard {
    /// The whole network: one agent polls every site.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Shard `number` (1-based) of `count`.
    pub fn new(number: u32, count: u32) -> Result<Shard, ShardError> {
        if number == 0 || number > count {
            return Err(ShardError::Range { number, count });
        }
        Ok(Shard { index: number - 1, count })
    }

    /// How many shards the sites are split into.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether this shard owns the site with this id.
    pub fn owns_site(&self, site: &str) -> bool {
        self.count == 1 || fnv1a(site.as_bytes()) % u64::from(self.count) == u64::from(self.index)
    }
}

impl Default for Shard {
    fn default() -> Shard {
        Shard::ALL
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax { given: s.to_owned() };
        let (number, count) = s.split_once('/').ok_or_else(syntax)?;
        let number = number.trim().parse().map_err(|_| syntax())?;
        let count = count.trim().parse().map_err(|_| syntax())?;
        Shard::new(number, count)
    }
}

/// 64-bit FNV-1a: stable across versions and platforms (unlike the standard library's hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// An inventory with its lookups, for one day (retirement dates decide what is polled) and one
/// shard of its sites.
#[derive(Debug, Clone)]
pub struct InventoryIndex {
    inventory: Arc<Inventory>,
    day: NaiveDate,
    shard: Shard,
    devices: HashMap<DeviceId, usize>,
    sites: HashMap<SiteId, usize>,
    /// Positions of the devices polled on `day`, in file order.
    polled: Vec<usize>,
    /// Per device position: polled on `day`.
    is_polled: Vec<bool>,
    /// Per site position: the polled devices that decide whether the site answers (its
    /// uplinks, or all its polled devices when none is marked uplink).
    deciders: Vec<Vec<usize>>,
}

impl InventoryIndex {
    /// Index `inventory` as it stands on `day`.
    pub fn new(inventory: Arc<Inventory>, day: NaiveDate) -> InventoryIndex {
        InventoryIndex::sharded(inventory, day, Shard::ALL)
    }

    /// Index the part of `inventory` that `shard` owns, as it stands on `day`: devices at other
    /// shards' sites are known by id but not polled, and other shards' sites have no deciders.
    pub fn sharded(inventory: Arc<Inventory>, day: NaiveDate, shard: Shard) -> InventoryIndex {
        let sites: HashMap<SiteId, usize> =
            inventory.sites.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        let devices =
            inventory.devices.iter().enumerate().map(|(i, d)| (d.id.clone(), i)).collect();
        let mut is_polled = vec![false; inventory.devices.len()];
        let mut polled = Vec::new();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); inventory.sites.len()];
        let owned: Vec<bool> = inventory.sites.iter().map(|s| shard.owns_site(&s.id)).collect();
        for (i, d) in inventory.devices.iter().enumerate() {
            let Some(&site) = sites.get(&d.site) else { continue };
            if owned[site]
                && d.is_active(day)
                && inventory.sites[site].link != Some(LinkMedium::None)
            {
                is_polled[i] = true;
                polled.push(i);
                members[site].push(i);
            }
        }
        let deciders = members
            .into_iter()
            .map(|m| {
                if m.iter().any(|&i| inventory.devices[i].uplink) {
                    m.into_iter().filter(|&i| inventory.devices[i].uplink).collect()
                } else {
                    m
                }
            })
            .collect();
        InventoryIndex { inventory, day, shard, devices, sites, polled, is_polled, deciders }
    }

    /// The inventory indexed.
    pub fn inventory(&self) -> &Arc<Inventory> {
        &self.inventory
    }

    /// The day the index was built for.
    pub fn day(&self) -> NaiveDate {
        self.day
    }

    /// The shard indexed.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Whether the site with this id belongs to the shard indexed.
    pub fn owns_site(&self, site: &str) -> bool {
        self.shard.owns_site(site)
    }

    /// The device with this id.
    pub fn device(&self, id: &str) -> Option<&Device> {
        self.devices.get(id).map(|&i| &self.inventory.devices[i])
    }

    /// The site with this id.
    pub fn site(&self, id: &str) -> Option<&Site> {
        self.sites.get(id).map(|&i| &self.inventory.sites[i])
    }

    /// The devices polled on the index's day, in file order (as
    /// [`Inventory::polled_devices`]).
    pub fn polled(&self) -> impl ExactSizeIterator<Item = &Device> + '_ {
        self.polled.iter().map(|&i| &self.inventory.devices[i])
    }

    /// Whether the device with this id is polled on the index's day.
    pub fn is_polled(&self, id: &str) -> bool {
        self.devices.get(id).is_some_and(|&i| self.is_polled[i])
    }

    /// Whether `device` is one of its site's deciders ([`InventoryIndex::site_deciders`]).
    pub fn decides(&self, device: &Device) -> bool {
        let (Some(&site), Some(&at)) =
            (self.sites.get(device.site.as_str()), self.devices.get(device.id.as_str()))
        else {
            return false;
        };
        // Positions are in file order: ascending.
        self.deciders[site].binary_search(&at).is_ok()
    }

    /// The polled devices whose ICMP answers decide whether the site answers: its uplink
    /// devices, or all its polled devices when none is marked uplink. Empty for a site with no
    /// link, a site without polled devices, and an unknown id.
    pub fn site_deciders(&self, site: &str) -> impl Iterator<Item = &Device> + '_ {
        let positions = self.sites.get(site).map_or(&[][..], |&s| &self.deciders[s][..]);
        positions.iter().map(|&i| &self.inventory.devices[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testkit::*;
    use crate::inventory::DeviceClass::Switch;

    fn retired(mut d: Device, on: &str) -> Device {
        d.lifecycle.retired = Some(day(on));
        d
    }

    fn uplink(mut d: Device) -> Device {
        d.uplink = true;
        d
    }

    fn unmonitored(mut d: Device) -> Device {
        d.monitor = false;
        d
    }

    fn sample() -> Arc<Inventory> {
        Arc::new(inventory(
            vec![
                site("main", None),
                site("fibre", Some(LinkMedium::Fibre)),
                site("radio", Some(LinkMedium::Radio)),
                site("cut", Some(LinkMedium::None)),
            ],
            vec![
                device("core", "main", Switch),
                uplink(device("f-up", "fibre", Switch)),
                device("f-access", "fibre", Switch),
                retired(uplink(device("f-old", "fibre", Switch)), "2026-03-01"),
                device("r-1", "radio", Switch),
                unmonitored(device("r-2", "radio", Switch)),
                device("cut-1", "cut", Switch),
            ],
        ))
    }

    #[test]
    fn polled_devices_are_the_inventorys_own_for_every_day() {
        let inv = sample();
        for d in ["2026-02-28", "2026-03-01"] {
            let index = InventoryIndex::new(inv.clone(), day(d));
            let mine: Vec<&str> = index.polled().map(|d| d.id.as_str()).collect();
            let theirs: Vec<&str> = inv.polled_devices(day(d)).map(|d| d.id.as_str()).collect();
            assert_eq!(mine, theirs, "{d}");
            for dev in &inv.devices {
                assert_eq!(index.is_polled(&dev.id), theirs.contains(&dev.id.as_str()), "{d}");
            }
        }
        let index = InventoryIndex::new(inv, day("2026-02-28"));
        assert_eq!(index.polled().len(), 5);
        assert!(!index.is_polled("cut-1") && !index.is_polled("r-2") && !index.is_polled("nope"));
    }

    #[test]
    fn shards_parse_print_and_refuse_what_is_not_i_of_n() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard::new(2, 3).unwrap()));
        assert_eq!(Shard::new(2, 3).unwrap().to_string(), "2/3");
        assert_eq!(" 1 / 1 ".parse::<Shard>(), Ok(Shard::ALL));
        assert_eq!(Shard::default(), Shard::ALL);
        for bad in ["", "3", "1/", "/3", "a/3", "1/3/4", "-1/3"] {
            assert!(matches!(bad.parse::<Shard>(), Err(ShardError::Syntax { .. })), "{bad:?}");
        }
        for (bad, number, count) in [("0/3", 0, 3), ("4/3", 4, 3), ("1/0", 1, 0)] {
            assert_eq!(bad.parse::<Shard>(), Err(ShardError::Range { number, count }), "{bad}");
        }
    }

    #[test]
    fn every_site_belongs_to_exactly_one_shard_and_shards_are_balanced() {
        let sites: Vec<String> = (0..2000).map(|i| format!("sede-{i:04}")).collect();
        for count in [1u32, 2, 3, 7] {
            let shards: Vec<Shard> = (1..=count).map(|n| Shard::new(n, count).unwrap()).collect();
            let mut sizes = vec![0usize; count as usize];
            for s in &sites {
                let owners: Vec<usize> =
                    (0..shards.len()).filter(|&i| shards[i].owns_site(s)).collect();
                assert_eq!(owners.len(), 1, "{s} in {count} shards");
                sizes[owners[0]] += 1;
            }
            // Within four standard deviations of an even split (a hash that clustered the
            // similar ids would be far outside).
            let fair = sites.len() as f64 / f64::from(count);
            let sigma = (fair * (1.0 - 1.0 / f64::from(count))).sqrt();
            assert!(
                sizes.iter().all(|&n| (n as f64 - fair).abs() <= 4.0 * sigma),
                "{count}: {sizes:?}"
            );
        }
        // The hash is FNV-1a of the id alone: a fixed answer, the same on every machine.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn a_sharded_index_polls_and_decides_only_its_own_sites() {
        let inv = sample();
        let today = day("2026-01-01");
        let whole = InventoryIndex::new(inv.clone(), today);
        let mut polled: Vec<DeviceId> = Vec::new();
        for n in 1..=2 {
            let shard = Shard::new(n, 2).unwrap();
            let part = InventoryIndex::sharded(inv.clone(), today, shard);
            assert_eq!(part.shard(), shard);
            for d in part.polled() {
                assert!(shard.owns_site(&d.site), "{} polled by {shard}", d.id);
                assert!(part.is_polled(&d.id));
                polled.push(d.id.clone());
            }
            for s in &inv.sites {
                let mine: Vec<&str> = part.site_deciders(&s.id).map(|d| d.id.as_str()).collect();
                let all: Vec<&str> = whole.site_deciders(&s.id).map(|d| d.id.as_str()).collect();
                let expected: Vec<&str> = if shard.owns_site(&s.id) { all } else { Vec::new() };
                assert_eq!(mine, expected, "{} in {shard}", s.id);
                assert_eq!(part.owns_site(&s.id), shard.owns_site(&s.id));
            }
            // Every device is still known by id.
            assert!(inv.devices.iter().all(|d| part.device(&d.id) == Some(d)));
        }
        polled.sort();
        let mut all: Vec<DeviceId> = whole.polled().map(|d| d.id.clone()).collect();
        all.sort();
        assert_eq!(polled, all, "the shards together poll what one agent would");
    }

    #[test]
    fn lookups_by_id_find_the_same_items() {
        let inv = sample();
        let index = InventoryIndex::new(inv.clone(), day("2026-01-01"));
        for d in &inv.devices {
            assert_eq!(index.device(&d.id), Some(d));
        }
        for s in &inv.sites {
            assert_eq!(index.site(&s.id), Some(s));
        }
        assert_eq!(index.device("nope"), None);
        assert_eq!(index.site("nope"), None);
        assert_eq!(index.day(), day("2026-01-01"));
        assert!(Arc::ptr_eq(index.inventory(), &inv));
    }

    #[test]
    fn a_site_is_decided_by_its_polled_uplinks_or_else_by_all_its_polled_devices() {
        let inv = sample();
        let ids = |index: &InventoryIndex, site: &str| -> Vec<DeviceId> {
            index.site_deciders(site).map(|d| d.id.clone()).collect()
        };
        let before = InventoryIndex::new(inv.clone(), day("2026-02-28"));
        assert_eq!(ids(&before, "fibre"), ["f-up", "f-old"]);
        // Once the old uplink is retired, the remaining uplink alone decides.
        let after = InventoryIndex::new(inv, day("2026-03-01"));
        assert_eq!(ids(&after, "fibre"), ["f-up"]);
        // No uplink marked: every polled device (not the unmonitored one).
        assert_eq!(ids(&after, "radio"), ["r-1"]);
        assert_eq!(ids(&after, "main"), ["core"]);
        // A site with no link is never polled; an unknown site has nobody.
        assert!(ids(&after, "cut").is_empty());
        assert!(ids(&after, "nope").is_empty());
    }
}
