//! The `contracts` and `link_pools` sections: each link's contracted bandwidth and the
//! interface that carries it (see `inventory::contract`).
//!
//! ```yaml
//! contracts:
//!   - site: mercado-grau
//!     mbps: 60                       # or down_mbps: 60 and up_mbps: 20
//!     interface: { device: rt-mercado-grau, name: ge-0/0/1 }   # or index: 3
//! link_pools:
//!   - id: central
//!     name: Internet de la sede principal
//!     mbps: 80
//!     interface: { device: fw-fortigate-500e, name: port1 }
//!     sites: [teatro-municipal, demuna]
//! ```

use super::*;
use crate::inventory::contract::*;
use crate::inventory::id::SiteId;

/// The largest contract written, Mbit/s (1 Tbit/s).
const MAX_MBPS: u64 = 1_000_000;

/// A `contracts` entry as read: the site, the bandwidth, the interface.
type SiteDraft = (SiteId, Bandwidth, Option<Item<MeasuredAt>>);

/// A `link_pools` entry as read: the pool (members not yet checked), its interface, its sites
/// as written.
type PoolDraft = (Pool, Option<Item<MeasuredAt>>, Vec<(String, Loc)>);

/// What the sections said, before the checks against sites and devices.
#[derive(Default)]
pub(super) struct ContractsDraft {
    sites: Vec<Item<SiteDraft>>,
    pools: Vec<Item<PoolDraft>>,
}

/// Read a `contracts` list (any file; lists are concatenated).
pub(super) fn read_contracts(cx: &mut Cx, draft: &mut ContractsDraft, node: &Node) {
    let first = draft.sites.len();
    for (i, n) in items(cx, node, "contracts").iter().enumerate() {
        let label = super::lab::item_label("contracts", first + i, n, "site");
        let Some(mut f) = Fields::of(cx, n, &label) else { continue };
        let mut at = HashMap::new();
        let site_node = f.need(cx, "site", "the id of the site whose link this is");
        if let Some(s) = site_node {
            at.insert("site", cx.here(s.pos));
        }
        let site = site_node.and_then(|s| cx.id(s, &f.at("site")));
        let bandwidth = bandwidth(cx, &mut f, &label);
        let measured = f.get("interface").and_then(|s| interface(cx, s, &f.at("interface")));
        f.finish(cx);
        if let (Some(site), Some(bw)) = (site, bandwidth) {
            draft.sites.push(Item {
                value: (site.into(), bw, measured),
                loc: cx.here(n.pos),
                label,
                at,
            });
        }
    }
}

/// Read a `link_pools` list.
pub(super) fn read_pools(cx: &mut Cx, draft: &mut ContractsDraft, node: &Node) {
    let first = draft.pools.len();
    for (i, n) in items(cx, node, "link_pools").iter().enumerate() {
        let label = super::lab::item_label("link_pools", first + i, n, "id");
        let Some(mut f) = Fields::of(cx, n, &label) else { continue };
        let mut at = HashMap::new();
        let id = f.need(cx, "id", "[a-z0-9-]+, unique among pools").and_then(|s| {
            at.insert("id", cx.here(s.pos));
            cx.id(s, &f.at("id"))
        });
        let name = f.need(cx, "name", "the pool's name").and_then(|s| cx.text(s, &f.at("name")));
        let bandwidth = bandwidth(cx, &mut f, &label);
        let measured = f.get("interface").and_then(|s| interface(cx, s, &f.at("interface")));
        let sites = f
            .need(cx, "sites", "the ids of the sites that share the pool")
            .and_then(|s| outages::id_list(cx, s, &f.at("sites")));
        f.finish(cx);
        if let Some(sites) = &sites
            && sites.is_empty()
        {
            cx.error(n.pos, &f.at("sites"), "a pool is shared by at least one site; list them");
        }
        if let (Some(id), Some(name), Some(bandwidth), Some(sites)) = (id, name, bandwidth, sites) {
            let pool = Pool { id, name, bandwidth, measured_at: None, sites: Vec::new() };
            draft.pools.push(Item {
                value: (pool, measured, sites),
                loc: cx.here(n.pos),
                label,
                at,
            });
        }
    }
}

/// `mbps`, or `down_mbps` with `up_mbps`.
fn bandwidth(cx: &mut Cx, f: &mut Fields, label: &str) -> Option<Bandwidth> {
    let one = |cx: &mut Cx, f: &mut Fields, name: &'static str| {
        f.get(name).map(|n| {
            let path = f.at(name);
            let v = cx.uint(n, &path, MAX_MBPS);
            if v == Some(0) {
                cx.error(n.pos, &path, "0 Mbps is no contract; allowed: 1 to 1000000 (Mbit/s)");
                return None;
            }
            v.map(|v| v as u32)
        })
    };
    let mbps = one(cx, f, "mbps");
    let down = one(cx, f, "down_mbps");
    let up = one(cx, f, "up_mbps");
    match (mbps, down, up) {
        (Some(m), None, None) => m.map(|m| Bandwidth { down_mbps: m, up_mbps: m }),
        (None, Some(d), Some(u)) => Some(Bandwidth { down_mbps: d?, up_mbps: u? }),
        (None, None, None) => {
            cx.error(
                f.pos,
                label,
                "missing the contracted bandwidth: mbps (both directions), or down_mbps and up_mbps",
            );
            None
        }
        (Some(_), _, _) => {
            cx.error(
                f.pos,
                label,
                "mbps and down_mbps/up_mbps both given; allowed: mbps alone (symmetric), or down_mbps and up_mbps",
            );
            None
        }
        _ => {
            cx.error(
                f.pos,
                label,
                "down_mbps and up_mbps go together; allowed: both, or mbps alone (symmetric)",
            );
            None
        }
    }
}

/// `{ device: ID, name: IFNAME }` or `{ device: ID, index: IFINDEX }`.
fn interface(cx: &mut Cx, node: &Node, path: &str) -> Option<Item<MeasuredAt>> {
    let mut f = Fields::of(cx, node, path)?;
    let mut at = HashMap::new();
    let device = f.need(cx, "device", "the id of the device that carries the link").and_then(|n| {
        at.insert("device", cx.here(n.pos));
        cx.id(n, &f.at("device"))
    });
    let name = f.get("name").and_then(|n| {
        let text = cx.text(n, &f.at("name"))?;
        if text.trim().is_empty() {
            cx.error(n.pos, &f.at("name"), "empty interface name; write its ifName");
            return None;
        }
        Some(text)
    });
    let index = f.get("index").and_then(|n| cx.uint(n, &f.at("index"), u64::from(i32::MAX as u32)));
    let had = (f.get("name").is_some(), f.get("index").is_some());
    f.finish(cx);
    let port = match (name, index, had) {
        (Some(n), None, (true, false)) => Port::Name(n),
        (None, Some(i), (false, true)) => {
            if i == 0 {
                cx.error(node.pos, &f.at("index"), "ifIndex starts at 1; allowed: 1 to 2147483647");
                return None;
            }
            Port::Index(i as u32)
        }
        (_, _, (true, true)) => {
            cx.error(
                node.pos,
                path,
                "name and index both given; allowed: name (ifName) or index (ifIndex), one of them",
            );
            return None;
        }
        (_, _, (false, false)) => {
            cx.error(
                node.pos,
                path,
                "missing the interface: name (its ifName) or index (its ifIndex)",
            );
            return None;
        }
        _ => return None,
    };
    Some(Item {
        value: MeasuredAt { device: device?.into(), port },
        loc: cx.here(node.pos),
        label: path.to_owned(),
        at,
    })
}

/// The checks against sites and devices, then the typed contracts. A site's `link_mbps` with
/// no `contracts` entry is a symmetric contract with no interface declared.
pub(super) fn build(
    cx: &mut Cx,
    draft: ContractsDraft,
    sites: &[Item<Site>],
    devices: &[Device],
) -> Contracts {
    let mut out = Contracts::default();
    let site_ids: Vec<&str> = sites.iter().map(|s| s.value.id.as_str()).collect();
    let device_ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    // Built once: each index is made at its first miss and serves every later one.
    let (site_hints, device_hints) = (Hints::new(&site_ids), Hints::new(&device_ids));
    let mut first: HashMap<SiteId, Loc> = HashMap::new();
    for item in draft.sites {
        let (loc, path) = (item.field("site"), format!("{}.site", item.label));
        let (id, bandwidth, measured) = item.value;
        let Some(site) = sites.iter().find(|s| s.value.id == id) else {
            let hint = site_hints.suggest(&id);
            cx.error_at(loc, &path, format!("unknown site {:?}{hint}", id.as_str()));
            continue;
        };
        if site.value.link == Some(LinkMedium::None) {
            cx.error_at(loc, &path, format!("site {id} has no link (link: none): there is no contract to measure; give it a link first"));
            continue;
        }
        if let Some(prev) = first.get(&id) {
            let prev = cx.show(*prev);
            cx.error_at(
                loc,
                &path,
                format!("site {id}'s contract is given twice (first at {prev})"),
            );
            continue;
        }
        if let Some(mbps) = site.value.link_mbps
            && (bandwidth.down_mbps != mbps || bandwidth.up_mbps != mbps)
        {
            cx.error_at(
                item.loc,
                &item.label,
                format!(
                    "site {id} says link_mbps: {mbps} but its contract says {} down / {} up; give the figure once (the contract) or make them agree",
                    bandwidth.down_mbps, bandwidth.up_mbps
                ),
            );
            continue;
        }
        first.insert(id.clone(), loc);
        let measured_at =
            measured.and_then(|m| check_device(cx, m, devices, &device_hints, Some(&id)));
        out.sites.insert(
            id.clone(),
            SiteContract { site: id, bandwidth, measured_at, source: ContractSource::Contract },
        );
    }
    for s in sites {
        if let Some(mbps) = s.value.link_mbps
            && !out.sites.contains_key(&s.value.id)
            && !first.contains_key(&s.value.id)
            && s.value.link != Some(LinkMedium::None)
        {
            out.sites.insert(
                s.value.id.clone(),
                SiteContract {
                    site: s.value.id.clone(),
                    bandwidth: Bandwidth { down_mbps: mbps, up_mbps: mbps },
                    measured_at: None,
                    source: ContractSource::LinkMbps,
                },
            );
        }
    }
    let mut pool_first: HashMap<String, Loc> = HashMap::new();
    let mut member_of: HashMap<String, (String, Loc)> = HashMap::new();
    for item in draft.pools {
        let (mut pool, measured, members) = item.value;
        let id_loc = item.at.get("id").copied().unwrap_or(item.loc);
        if let Some(prev) = pool_first.get(&pool.id) {
            let prev = cx.show(*prev);
            cx.error_at(
                id_loc,
                &format!("{}.id", item.label),
                format!("pool {} is defined twice (first at {prev})", pool.id),
            );
            continue;
        }
        pool_first.insert(pool.id.clone(), id_loc);
        let mut ok = true;
        for (i, (site, loc)) in members.into_iter().enumerate() {
            let path = format!("{}.sites[{i}]", item.label);
            match sites.iter().find(|s| s.value.id == site) {
                None => {
                    let hint = site_hints.suggest(&site);
                    cx.error_at(loc, &path, format!("unknown site {site:?}{hint}"));
                    ok = false;
                }
                Some(_) => {
                    if let Some((other, prev)) = member_of.get(&site) {
                        let prev = cx.show(*prev);
                        cx.error_at(
                            loc,
                            &path,
                            format!("site {site} already shares pool {other} (at {prev}); a site shares at most one pool"),
                        );
                        ok = false;
                    } else {
                        member_of.insert(site.clone(), (pool.id.clone(), loc));
                        pool.sites.push(site.into());
                    }
                }
            }
        }
        pool.measured_at = measured.and_then(|m| check_device(cx, m, devices, &device_hints, None));
        if ok {
            out.pools.push(pool);
        }
    }
    out
}

/// The measuring device exists, is polled by SNMP, and (for a site's own link) stands at the
/// site.
fn check_device(
    cx: &mut Cx,
    m: Item<MeasuredAt>,
    devices: &[Device],
    device_hints: &Hints,
    site: Option<&SiteId>,
) -> Option<MeasuredAt> {
    let (loc, path) = (m.field("device"), format!("{}.device", m.label));
    let id = &m.value.device;
    let Some(d) = devices.iter().find(|d| d.id == *id) else {
        let hint = device_hints.suggest(id);
        cx.error_at(loc, &path, format!("unknown device {:?}{hint}", id.as_str()));
        return None;
    };
    if let Some(site) = site
        && d.site != *site
    {
        cx.error_at(
            loc,
            &path,
            format!("device {id} stands at site {}, not {site}; allowed: a device of the site whose link it carries", d.site),
        );
        return None;
    }
    if d.snmp.is_none() || !d.monitor {
        cx.error_at(
            loc,
            &path,
            format!("device {id} is not polled by SNMP (no snmp profile, or monitor: false): its interface counters cannot be read; allowed: a monitored device with snmp"),
        );
        return None;
    }
    Some(m.value)
}
