//! Contracted bandwidth: what each link is contracted for and which interface carries it
//! (issue 15). A site's own link (`contracts`), and pools a contract is shared by
//! (`link_pools`: the main site's 80 Mbps shared by the radio-linked and decentralised sites).
//!
//! Directions are the site's: `down` is traffic towards the site (received on the measured
//! interface), `up` traffic from it (sent). The measured interface is the one that faces the
//! carrier, so its `ifHCInOctets` are the downlink and its `ifHCOutOctets` the uplink.

use std::collections::BTreeMap;

use serde::Serialize;

use super::id::{DeviceId, SiteId};

/// How an interface is named in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Port {
    /// By `ifName` (ifDescr where the device has no ifName), as the device reports it.
    Name(String),
    /// By `ifIndex`.
    Index(u32),
}

impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Port::Name(n) => f.write_str(n),
            Port::Index(i) => write!(f, "ifIndex {i}"),
        }
    }
}

/// The interface whose counters measure a link: a device polled by SNMP, and one of its ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeasuredAt {
    /// The device.
    pub device: DeviceId,
    /// Its interface.
    pub port: Port,
}

/// Where a contract's figure was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractSource {
    /// A `contracts` entry.
    Contract,
    /// The site's `link_mbps` alone (symmetric, no interface declared).
    LinkMbps,
}

/// One contracted bandwidth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bandwidth {
    /// Towards the site, Mbit/s (10^6 bit/s).
    pub down_mbps: u32,
    /// From the site, Mbit/s.
    pub up_mbps: u32,
}

impl Bandwidth {
    /// The contract in one direction, bit/s.
    pub fn bits_per_second(&self, direction: Direction) -> f64 {
        let mbps = match direction {
            Direction::Down => self.down_mbps,
            Direction::Up => self.up_mbps,
        };
        f64::from(mbps) * 1e6
    }
}

names! {
    /// A direction of a link, seen from the site.
    Direction {
        /// Towards the site (in on the measured interface).
        Down = "down",
        /// From the site (out on the measured interface).
        Up = "up",
    }
}

/// A site's own contracted link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteContract {
    /// The site.
    pub site: SiteId,
    /// What is contracted.
    pub bandwidth: Bandwidth,
    /// Which interface carries it; `None` until the inventory says (use cannot be measured).
    pub measured_at: Option<MeasuredAt>,
    /// Where it was written.
    pub source: ContractSource,
}

/// A contract shared by several sites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pool {
    /// `[a-z0-9-]+`, unique among pools.
    pub id: String,
    /// Its name as the municipality says it.
    pub name: String,
    /// What is contracted.
    pub bandwidth: Bandwidth,
    /// Which interface carries it; `None` until the inventory says.
    pub measured_at: Option<MeasuredAt>,
    /// The sites that share it, in the order written.
    pub sites: Vec<SiteId>,
}

/// Every contract of the inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Contracts {
    /// Per site (at most one each), by site id.
    pub sites: BTreeMap<SiteId, SiteContract>,
    /// Shared pools, in the order written.
    pub pools: Vec<Pool>,
}

names! {
    /// What a contracted link is: a site's own, or a pool shared by sites.
    LinkKind { Site = "site", Pool = "pool" }
}

/// A contracted link of either kind, as the metrics and the reports walk them.
#[derive(Debug, Clone, Copy)]
pub struct ContractedLink<'a> {
    /// Site or pool.
    pub kind: LinkKind,
    /// The site's or the pool's id.
    pub id: &'a str,
    /// What is contracted.
    pub bandwidth: &'a Bandwidth,
    /// Which interface carries it.
    pub measured_at: Option<&'a MeasuredAt>,
}

impl Contracts {
    /// Every contracted link: sites in id order, then pools in the order written.
    pub fn links(&self) -> impl Iterator<Item = ContractedLink<'_>> {
        let sites = self.sites.values().map(|c| ContractedLink {
            kind: LinkKind::Site,
            id: c.site.as_str(),
            bandwidth: &c.bandwidth,
            measured_at: c.measured_at.as_ref(),
        });
        let pools = self.pools.iter().map(|p| ContractedLink {
            kind: LinkKind::Pool,
            id: p.id.as_str(),
            bandwidth: &p.bandwidth,
            measured_at: p.measured_at.as_ref(),
        });
        sites.chain(pools)
    }

    /// The pool a site shares, if any.
    pub fn pool_of(&self, site: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.sites.iter().any(|s| s == site))
    }
}
