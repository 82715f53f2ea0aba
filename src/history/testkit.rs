//! Builders for hand-computed test cases: small inventories and history rows written in code.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::history::{Availability, EventKind, EventRecord, InventorySnapshot, PollRecord};
use crate::inventory::snapshot::{SiteSnapshot, Snapshot};
use crate::inventory::{
    Device, DeviceClass, Family, Inventory, Lifecycle, LinkMedium, Policy, PollSettings, SecretRef,
    Site, SiteId, SiteRole, SnmpProfile, SnmpRef,
};
use crate::poll::{PollOutcome, ProbeKind, SystemInfo};

/// A date from `YYYY-MM-DD`.
pub fn day(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// An instant from RFC 3339.
pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("an instant")
}

/// A site: the main one when `link` is `None`.
pub fn site(id: &str, link: Option<LinkMedium>) -> Site {
    Site {
        id: id.into(),
        name: format!("Sede {id}"),
        role: if link.is_none() { SiteRole::Main } else { SiteRole::Branch },
        link,
        link_mbps: None,
        provider: None,
        planned_link: None,
        planned_date: None,
        via: None,
        core: Vec::new(),
    }
}

/// A monitored device with an IPv4 address and no SNMP.
pub fn device(id: &str, site: &str, class: DeviceClass) -> Device {
    Device {
        id: id.into(),
        site: site.into(),
        class,
        vendor: None,
        model: None,
        serial: None,
        ipv4: Some(Ipv4Addr::new(198, 18, 0, 1)),
        ipv6: None,
        uplink: false,
        snmp: None,
        monitor: true,
        ipv6_planned: None,
        lifecycle: Lifecycle::default(),
        depends_on: Vec::new(),
        icmp: true,
        icmp_spacing: None,
    }
}

/// `device` with an IPv6 address from 2001:db8::/32.
pub fn with_v6(mut d: Device, last: u16) -> Device {
    d.ipv6 = Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last));
    d
}

/// `device` with an SNMPv2c profile.
pub fn with_snmp(mut d: Device) -> Device {
    d.snmp = Some(SnmpRef {
        name: "test".into(),
        profile: Arc::new(SnmpProfile::V2c { community: SecretRef::Env("UNUSED".into()) }),
    });
    d
}

/// An inventory of these sites and devices, default policy, no projects.
pub fn inventory(sites: Vec<Site>, devices: Vec<Device>) -> Inventory {
    Inventory {
        dir: PathBuf::from("test"),
        sites,
        devices,
        snmp_profiles: BTreeMap::new(),
        poll: PollSettings::default(),
        policy: Policy::default(),
        projects: Vec::new(),
        indicators: Vec::new(),
        declared: Vec::new(),
        lab: Default::default(),
        catalog: Default::default(),
        time_zone: crate::inventory::maintenance::DEFAULT_TIME_ZONE,
        maintenance: Vec::new(),
        contracts: Default::default(),
    }
}

/// A poll result.
pub fn poll(device: &str, family: Family, probe: ProbeKind, when: &str, ok: bool) -> PollRecord {
    PollRecord {
        at: at(when),
        agent: "test".into(),
        device: device.into(),
        site: SiteId::default(),
        family,
        probe,
        outcome: if ok { PollOutcome::Ok } else { PollOutcome::Timeout },
        success: ok,
        sent: (probe == ProbeKind::Icmp).then_some(3),
        received: (probe == ProbeKind::Icmp).then_some(if ok { 3 } else { 0 }),
        rtt_min_s: None,
        rtt_avg_s: None,
        rtt_max_s: None,
        jitter_s: None,
        duration_s: 0.01,
        system: SystemInfo::default(),
    }
}

/// An ICMP availability row: `polls` polls of 3 echoes, `successes` answered with all 3.
pub fn availability(device: &str, family: Family, polls: u64, successes: u64) -> Availability {
    Availability {
        device: device.into(),
        site: SiteId::default(),
        family,
        probe: ProbeKind::Icmp,
        polls,
        successes,
        sent: polls * 3,
        received: successes * 3,
        rtt_sum_s: 0.02 * successes as f64,
        rtt_count: successes,
    }
}

/// An event.
pub fn event(kind: EventKind, device: Option<&str>, site: &str, when: &str) -> EventRecord {
    EventRecord {
        at: at(when),
        agent: "test".into(),
        kind,
        device: device.map(Into::into),
        site: Some(site.into()),
        family: None,
        probe: None,
        detail: String::new(),
        cause: None,
        maintenance: Vec::new(),
    }
}

/// A stored inventory snapshot holding these sites (and no devices).
pub fn snapshot(when: &str, sites: &[(&str, Option<LinkMedium>)]) -> InventorySnapshot {
    let snap = Snapshot {
        sites: sites
            .iter()
            .map(|(id, link)| SiteSnapshot {
                id: (*id).into(),
                name: format!("Sede {id}"),
                role: if link.is_none() { SiteRole::Main } else { SiteRole::Branch },
                link: *link,
            })
            .collect(),
        devices: Vec::new(),
    };
    let (text, digest) = snap.to_text_and_digest();
    let content = serde_json::from_str(&text).expect("a snapshot's text is JSON");
    InventorySnapshot { at: at(when), agent: "test".into(), digest, content }
}
