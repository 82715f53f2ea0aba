//! Use of the contracted bandwidth (issue 15): per contracted link (a site's own, or a pool
//! shared by sites), the contract in bits/s, the traffic its interface carried between its last
//! two readings and that traffic as a share of the contract, both directions (`down`: towards
//! the site, the interface's in-octets; `up`: from it). The rates come from
//! [`crate::link_use::Rates`]: 64-bit counters, wraps and restarts as everywhere in vigia.
//!
//! A link is exported by the agent whose shard owns it: a site's link by the site's, a pool by
//! the site of its measuring device (the main site's when none is declared).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::encode::Encoder;
use super::{Group, Kind, Metric};
use crate::inventory::contract::{Direction, LinkKind, MeasuredAt, Port};
use crate::inventory::{DeviceId, InventoryIndex};
use crate::link_use::{MAX_GAP, Rates};
use crate::state::{DeviceState, InterfaceState};

const LINK: &[&str] = &["site", "pool", "direction"];

/// `vigia_link_contract_bytes_per_second`.
pub const LINK_CONTRACT: Metric = Metric {
    name: "vigia_link_contract_bytes_per_second",
    kind: Kind::Gauge,
    unit: Some("bytes_per_second"),
    labels: LINK,
    help: "Contracted bandwidth of the link in the direction (down: towards the site; up: from it), bytes per second (Mbit/s x 10^6 / 8).",
    doc_unit: "bytes/s",
    doc: "the inventory's contract (`contracts`, `link_pools`, or a site's `link_mbps`) in Mbit/s × 10^6 / 8 (Prometheus base unit: bytes; × 8 for bit/s); `site` is the site of a site's own link (empty for a pool), `pool` the pool's id (empty for a site's link), `direction` `down` (towards the site) or `up`",
};

/// `vigia_link_traffic_bytes_per_second`.
pub const LINK_TRAFFIC: Metric = Metric {
    name: "vigia_link_traffic_bytes_per_second",
    kind: Kind::Gauge,
    unit: Some("bytes_per_second"),
    labels: LINK,
    help: "Traffic the link's interface carried between its last two readings, bytes per second.",
    doc_unit: "bytes/s",
    doc: "octets counted by the declared interface (`ifHCInOctets` down, `ifHCOutOctets` up) between its last two SNMP readings / the seconds between them; absent while the interface is not declared, not found, or its last reading is older than 15 minutes",
};

/// `vigia_link_use_ratio`.
pub const LINK_USE: Metric = Metric {
    name: "vigia_link_use_ratio",
    kind: Kind::Gauge,
    unit: Some("ratio"),
    labels: LINK,
    help: "Traffic as a share of the contract (1 = the whole contract).",
    doc_unit: "0-1+",
    doc: "`vigia_link_traffic_bytes_per_second` / `vigia_link_contract_bytes_per_second`; above 1 when the link carries more than contracted. The alert `VigiaEnlaceSaturado` fires above 0.8 for 15 minutes",
};

/// `vigia_link_interface_declared`.
pub const LINK_DECLARED: Metric = Metric {
    name: "vigia_link_interface_declared",
    kind: Kind::Gauge,
    unit: None,
    labels: &["site", "pool"],
    help: "1 if the inventory names the interface that carries the link, else 0 (its use cannot be measured).",
    doc_unit: "0/1",
    doc: "one series per contracted link: 0 until the inventory names the interface (`interface:` of its contract or pool), so a dashboard can say the use cannot be measured rather than show nothing",
};

/// This group.
pub const GROUP: Group = Group {
    title: "Use of the contracted bandwidth",
    metrics: &[&LINK_CONTRACT, &LINK_TRAFFIC, &LINK_USE, &LINK_DECLARED],
};

/// One contracted link, as read.
struct Row<'a> {
    site: &'a str,
    pool: &'a str,
    contract: [f64; 2],
    declared: bool,
    rates: Option<Rates>,
}

/// What this group read.
pub(super) struct Reading<'a> {
    rows: Vec<Row<'a>>,
}

/// The interface `at` names, among a device's: by ifIndex, or by a name no other interface has.
pub fn find<'s>(st: &'s DeviceState, at: &MeasuredAt) -> Option<&'s InterfaceState> {
    match &at.port {
        Port::Index(i) => st.interfaces.get(i),
        Port::Name(n) => {
            let mut found = st.interfaces.values().filter(|i| i.interface.name == *n);
            let first = found.next();
            if found.next().is_some() { None } else { first }
        }
    }
}

pub(super) fn read<'a>(
    index: &'a InventoryIndex,
    devices: &HashMap<DeviceId, DeviceState>,
    now: DateTime<Utc>,
) -> Reading<'a> {
    let inv = index.inventory();
    let mut rows = Vec::new();
    for link in inv.contracts.links() {
        let owner = match (link.kind, link.measured_at) {
            (LinkKind::Site, _) => link.id,
            (_, Some(m)) => index.device(&m.device).map_or("", |d| d.site.as_str()),
            (_, None) => inv.main_site().id.as_str(),
        };
        if !index.owns_site(owner) {
            continue;
        }
        let rates = link.measured_at.and_then(|m| {
            let i = find(devices.get(&m.device)?, m)?;
            let fresh = i.octets.is_some_and(|o| now - o.at <= MAX_GAP);
            i.rates.filter(|_| fresh)
        });
        rows.push(Row {
            // Labels borrow from the inventory, which outlives the lock.
            site: if link.kind == LinkKind::Site { link.id } else { "" },
            pool: if link.kind == LinkKind::Pool { link.id } else { "" },
            contract: [
                link.bandwidth.bits_per_second(Direction::Down),
                link.bandwidth.bits_per_second(Direction::Up),
            ],
            declared: link.measured_at.is_some(),
            rates,
        });
    }
    Reading { rows }
}

pub(super) fn write(out: &mut Encoder, r: &Reading) {
    let dirs = [Direction::Down, Direction::Up];
    let mut family = out.family(&LINK_CONTRACT);
    for row in &r.rows {
        for (n, d) in dirs.iter().enumerate() {
            family.sample(&[row.site, row.pool, d.as_str()], row.contract[n] / 8.0);
        }
    }
    let mut family = out.family(&LINK_TRAFFIC);
    for row in &r.rows {
        for d in dirs {
            if let Some(bps) = row.rates.and_then(|x| x.bps(d)) {
                family.sample(&[row.site, row.pool, d.as_str()], bps / 8.0);
            }
        }
    }
    let mut family = out.family(&LINK_USE);
    for row in &r.rows {
        for (n, d) in dirs.iter().enumerate() {
            if let Some(bps) = row.rates.and_then(|x| x.bps(*d)) {
                family.sample(&[row.site, row.pool, d.as_str()], bps / row.contract[n]);
            }
        }
    }
    let mut family = out.family(&LINK_DECLARED);
    for row in &r.rows {
        family.sample(&[row.site, row.pool], f64::from(u8::from(row.declared)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::Interface;

    fn state(names: &[(u32, &str)]) -> DeviceState {
        let mut st = DeviceState::default();
        for (index, name) in names {
            let interface =
                Interface { index: *index, name: (*name).into(), ..Interface::default() };
            st.interfaces.insert(*index, InterfaceState { interface, ..InterfaceState::default() });
        }
        st
    }

    fn at(port: Port) -> MeasuredAt {
        MeasuredAt { device: "sw".into(), port }
    }

    #[test]
    fn the_port_is_found_by_index_or_by_a_name_no_other_interface_has() {
        let st = state(&[(1, "Gi0/1"), (2, "Gi0/2"), (3, "Gi0/2")]);
        let index = |p| find(&st, &at(p)).map(|i| i.interface.index);
        assert_eq!(index(Port::Index(3)), Some(3));
        assert_eq!(index(Port::Index(9)), None);
        assert_eq!(index(Port::Name("Gi0/1".into())), Some(1));
        // Two interfaces share the name: which one carries the link cannot be told.
        assert_eq!(index(Port::Name("Gi0/2".into())), None);
        assert_eq!(index(Port::Name("gi0/1".into())), None, "names are compared exactly");
    }
}
