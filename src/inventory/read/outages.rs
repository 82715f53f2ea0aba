//! Reading what outages need from an inventory: dependencies (a device's `depends_on`, a
//! site's `via` and `core`), maintenance windows and the time zone; and their checks across
//! items: unknown ids, dependencies in a cycle, windows naming what does not exist.

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDateTime, NaiveTime};
use chrono_tz::Tz;

use super::super::maintenance::{MaintenanceScope, MaintenanceTime, MaintenanceWindow, WEEKDAYS};
use super::*;

/// A list of ids as written: one id, or a list of them; each with where it was written.
pub(super) fn id_list(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<(String, Loc)>> {
    match &node.value {
        Value::Seq(items) => {
            let mut out = Vec::new();
            let mut ok = true;
            for (i, n) in items.iter().enumerate() {
                match cx.id(n, &format!("{path}[{i}]")) {
                    Some(id) => out.push((id, cx.here(n.pos))),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        }
        Value::Scalar { .. } => cx.id(node, path).map(|id| vec![(id, cx.here(node.pos))]),
        _ => {
            cx.error(
                node.pos,
                path,
                format!("expected an id or a list of ids, found {}", node.kind()),
            );
            None
        }
    }
}

/// An IANA time zone name.
pub(super) fn time_zone(cx: &mut Cx, node: &Node, path: &str) -> Option<Tz> {
    let text = cx.text(node, path)?;
    match text.parse::<Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            cx.error(
                node.pos,
                path,
                format!("unknown time zone {text:?}; use an IANA name such as America/Lima"),
            );
            None
        }
    }
}

/// A maintenance window as read, before its scope's ids are checked.
#[derive(Debug)]
pub(super) struct WindowDraft {
    pub window: MaintenanceWindow,
    /// Whether the window named its own time zone (otherwise the inventory's applies).
    pub own_zone: bool,
}

/// One item of the top-level `maintenance` list.
pub(super) fn read_window(cx: &mut Cx, node: &Node, i: usize) -> Option<Item<WindowDraft>> {
    let (label, id) = label(cx, "maintenance", i, node, true);
    let mut f = Fields::of(cx, node, &label)?;
    let mut at = HashMap::new();
    if let Some(n) = f.need(cx, "id", "[a-z0-9-]+, unique") {
        at.insert("id", cx.here(n.pos));
    }
    let scope = f.need(cx, "scope", "all, { site: ID } or { device: ID }").and_then(|n| {
        at.insert("scope", cx.here(n.pos));
        read_scope(cx, n, &f.at("scope"))
    });
    let reason =
        f.need(cx, "reason", "why: the planned work").and_then(|n| cx.text(n, &f.at("reason")));
    let zone = f.get("time_zone").map(|n| time_zone(cx, n, &f.at("time_zone")));
    let time = read_time(cx, &mut f);
    f.finish(cx);
    let window = MaintenanceWindow {
        id: id?,
        scope: scope?,
        time: time?,
        time_zone: match zone {
            None => super::super::maintenance::DEFAULT_TIME_ZONE,
            Some(z) => z?,
        },
        reason: reason?,
    };
    Some(Item {
        value: WindowDraft { window, own_zone: zone.is_some() },
        loc: cx.here(node.pos),
        label,
        at,
    })
}

fn read_scope(cx: &mut Cx, node: &Node, path: &str) -> Option<MaintenanceScope> {
    if let Value::Scalar { text, .. } = &node.value {
        if text == "all" {
            return Some(MaintenanceScope::All);
        }
        cx.error(
            node.pos,
            path,
            format!("unknown scope {text:?}; allowed: all, {{ site: ID }}, {{ device: ID }}"),
        );
        return None;
    }
    let mut f = Fields::of(cx, node, path)?;
    let site = f.get("site");
    let device = f.get("device");
    f.finish(cx);
    match (site, device) {
        (Some(n), None) => cx.id(n, &f.at("site")).map(|s| MaintenanceScope::Site(s.into())),
        (None, Some(n)) => cx.id(n, &f.at("device")).map(|d| MaintenanceScope::Device(d.into())),
        (Some(_), Some(n)) => {
            cx.error(n.pos, path, "give site or device, not both (two windows cover both)");
            None
        }
        (None, None) => {
            cx.error(node.pos, path, "expected site or device (or scope: all)");
            None
        }
    }
}

/// `start` and `end`: local date-times for a window that happens once; with `weekly` or
/// `monthly`, times of day.
fn read_time(cx: &mut Cx, f: &mut Fields) -> Option<MaintenanceTime> {
    let weekly = f.get("weekly");
    let monthly = f.get("monthly");
    let start = f.need(cx, "start", "when it starts");
    let end = f.need(cx, "end", "when it ends");
    match (weekly, monthly) {
        (Some(_), Some(n)) => {
            cx.error(n.pos, &f.at("monthly"), "give weekly or monthly, not both");
            None
        }
        (Some(n), None) => {
            let text = cx.text(n, &f.at("weekly"))?;
            let day = WEEKDAYS.iter().find(|(name, _)| *name == text).map(|(_, d)| *d);
            if day.is_none() {
                let allowed: Vec<&str> = WEEKDAYS.iter().map(|(n, _)| *n).collect();
                cx.error(
                    n.pos,
                    &f.at("weekly"),
                    format!("unknown day {text:?}; allowed: {}", allowed.join(", ")),
                );
            }
            let (start, end) = (clock_time(cx, start?, f, "start"), clock_time(cx, end?, f, "end"));
            Some(MaintenanceTime::Weekly { day: day?, start: start?, end: end? })
        }
        (None, Some(n)) => {
            let day = cx.uint(n, &f.at("monthly"), 31);
            if day == Some(0) {
                cx.error(n.pos, &f.at("monthly"), "a day of the month is 1 to 31");
                return None;
            }
            if day.is_some_and(|d| d > 28) {
                cx.warn(
                    n.pos,
                    &f.at("monthly"),
                    format!("months without a day {} have no occurrence", day.unwrap_or(0)),
                );
            }
            let (start, end) = (clock_time(cx, start?, f, "start"), clock_time(cx, end?, f, "end"));
            Some(MaintenanceTime::Monthly { day: day? as u32, start: start?, end: end? })
        }
        (None, None) => {
            let (s, e) = (start?, end?);
            let (start, end) = (date_time(cx, s, f, "start"), date_time(cx, e, f, "end"));
            let (start, end) = (start?, end?);
            if end <= start {
                cx.error(
                    e.pos,
                    &f.at("end"),
                    format!("end {} is not after start {}", fmt_dt(end), fmt_dt(start)),
                );
                return None;
            }
            Some(MaintenanceTime::Once { start, end })
        }
    }
}

fn fmt_dt(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn clock_time(cx: &mut Cx, node: &Node, f: &Fields, name: &str) -> Option<NaiveTime> {
    local_text(
        cx,
        node,
        f,
        name,
        5,
        |t| NaiveTime::parse_from_str(t, "%H:%M").ok(),
        "with weekly or monthly, a time of day HH:MM (24 h)",
    )
}

fn date_time(cx: &mut Cx, node: &Node, f: &Fields, name: &str) -> Option<NaiveDateTime> {
    local_text(
        cx,
        node,
        f,
        name,
        16,
        |t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").ok(),
        "expected YYYY-MM-DD HH:MM (local time), or weekly/monthly with a time of day",
    )
}

/// A field's text parsed as a local time of exactly `len` characters (chrono alone would take
/// "9:5"), or an error that says what is allowed.
fn local_text<T>(
    cx: &mut Cx,
    node: &Node,
    f: &Fields,
    name: &str,
    len: usize,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> Option<T> {
    let text = cx.text(node, &f.at(name))?;
    let parsed = parse(&text).filter(|_| text.len() == len);
    if parsed.is_none() {
        let what = if len == 5 { "time" } else { "date and time" };
        cx.error(node.pos, &f.at(name), format!("invalid {what} {text:?}; {allowed}"));
    }
    parsed
}

/// Windows: unique ids, scopes naming sites and devices that exist, the inventory's time zone
/// where a window names none.
pub(super) fn windows(
    cx: &mut Cx,
    drafts: &[Item<WindowDraft>],
    zone: Tz,
    sites: &[Item<Site>],
    devices: &[Device],
) -> Vec<MaintenanceWindow> {
    unique(cx, drafts, "maintenance window", |w| w.window.id.clone());
    let site_ids: Vec<&str> = sites.iter().map(|s| s.value.id.as_str()).collect();
    let device_ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    let (site_hints, device_hints) = (Hints::new(&site_ids), Hints::new(&device_ids));
    let mut out = Vec::new();
    for item in drafts {
        let mut w = item.value.window.clone();
        if !item.value.own_zone {
            w.time_zone = zone;
        }
        let (what, id, known) = match &w.scope {
            MaintenanceScope::All => ("", "", None),
            MaintenanceScope::Site(s) => ("site", s.as_str(), Some((&site_ids, &site_hints))),
            MaintenanceScope::Device(d) => {
                ("device", d.as_str(), Some((&device_ids, &device_hints)))
            }
        };
        if let Some((ids, hints)) = known
            && !ids.contains(&id)
        {
            let hint = hints.suggest(id);
            cx.error_at(
                item.field("scope"),
                &item.path(&format!("scope.{what}")),
                format!("unknown {what} {id:?}{hint}"),
            );
            continue;
        }
        out.push(w);
    }
    out
}

/// Dependencies: check what was written, apply the defaults, refuse cycles.
///
/// Defaults: a branch's link lands on the main site (`via`); a site's `core` is its uplink
/// devices (all its monitored devices when none is marked); a device that is not an uplink of
/// a site with uplinks depends on those uplinks; an uplink of a branch (every device of a
/// branch without uplinks) depends on the core of the site its link lands on; the rest (the
/// main site's uplinks) depend on nothing.
pub(super) fn dependencies(cx: &mut Cx, parts: &Parts, sites: &mut [Site], devices: &mut [Device]) {
    let site_items: HashMap<&str, &Item<Site>> =
        parts.sites.iter().map(|s| (s.value.id.as_str(), s)).collect();
    let site_ids: Vec<&str> = parts.sites.iter().map(|s| s.value.id.as_str()).collect();
    let device_pos: HashMap<String, usize> =
        devices.iter().enumerate().map(|(i, d)| (d.id.to_string(), i)).collect();
    let device_ids: Vec<&str> = parts.devices.iter().map(|d| d.value.device.id.as_str()).collect();
    let (site_hints, device_hints) = (Hints::new(&site_ids), Hints::new(&device_ids));
    let main =
        parts.sites.iter().find(|s| s.value.role == SiteRole::Main).map(|s| s.value.id.clone());

    // Sites: `via` names a linked branch or the main site; `core` names devices of the site.
    for site in sites.iter_mut() {
        let Some(item) = site_items.get(site.id.as_str()) else { continue };
        if let Some(via) = site.via.clone() {
            let target = site_items.get(via.as_str());
            let problem = match target {
                _ if site.role == SiteRole::Main => Some(
                    "the main site's link lands nowhere: vigia polls from it; omit via".to_owned(),
                ),
                None => Some(format!("unknown site {via:?}{}", site_hints.suggest(&via))),
                Some(_) if via == site.id => Some("a site's link cannot land on itself".to_owned()),
                Some(t) if t.value.link == Some(LinkMedium::None) => Some(format!(
                    "site {via} has no link (link: none): no other site's link can land on it"
                )),
                Some(_) => None,
            };
            if let Some(message) = problem {
                cx.error_at(item.field("via"), &item.path("via"), message);
                site.via = None;
            }
        } else if site.role == SiteRole::Branch {
            site.via = main.clone();
        }
        let written = std::mem::take(&mut site.core);
        let mut core = Vec::new();
        for id in written {
            match device_pos.get(id.as_str()).map(|&i| &devices[i]) {
                None => cx.error_at(
                    item.field("core"),
                    &item.path("core"),
                    format!("unknown device {id:?}{}", device_hints.suggest(&id)),
                ),
                Some(d) if d.site != site.id => cx.error_at(
                    item.field("core"),
                    &item.path("core"),
                    format!(
                        "device {id} stands at site {}, not at {}: a core is the site's own",
                        d.site, site.id
                    ),
                ),
                Some(_) => core.push(id),
            }
        }
        if !item.at.contains_key("core") {
            let members: Vec<&Device> =
                devices.iter().filter(|d| d.site == site.id && d.monitor).collect();
            let uplinks: Vec<&Device> = members.iter().copied().filter(|d| d.uplink).collect();
            let chosen = if uplinks.is_empty() { members } else { uplinks };
            core = chosen.iter().map(|d| d.id.clone()).collect();
        }
        site.core = core;
    }

    let by_id: HashMap<&str, &Site> = sites.iter().map(|s| (s.id.as_str(), s)).collect();
    // Each site's monitored uplink devices, in file order, found once (not once per device:
    // 4,096 devices at one site were 16 million comparisons).
    let mut uplinks: HashMap<&str, Vec<&DeviceId>> = HashMap::new();
    for o in devices.iter().filter(|o| o.uplink && o.monitor) {
        uplinks.entry(o.site.as_str()).or_default().push(&o.id);
    }
    let mut written_at: HashMap<usize, Loc> = HashMap::new();
    let mut resolved: Vec<Vec<DeviceId>> = Vec::with_capacity(devices.len());
    for (i, item) in parts.devices.iter().enumerate() {
        let d = &devices[i];
        match &item.value.depends_on {
            Some(list) => {
                written_at.insert(i, item.field("depends_on"));
                let mut deps = Vec::new();
                for (id, loc) in list {
                    match device_pos.get(id.as_str()) {
                        None => cx.error_at(
                            *loc,
                            &item.path("depends_on"),
                            format!("unknown device {id:?}{}", device_hints.suggest(id)),
                        ),
                        Some(_) if *id == *d.id => cx.error_at(
                            *loc,
                            &item.path("depends_on"),
                            "a device cannot depend on itself",
                        ),
                        Some(&j) => {
                            if !devices[j].monitor {
                                cx.warn_at(
                                    *loc,
                                    &item.path("depends_on"),
                                    format!("{id} is not monitored: vigia never sees it down, so it never explains this device's silence"),
                                );
                            }
                            deps.push(DeviceId::from(id.clone()));
                        }
                    }
                }
                resolved.push(deps);
            }
            None => resolved.push(default_dependencies(d, &uplinks, &by_id)),
        }
    }
    for (d, deps) in devices.iter_mut().zip(resolved) {
        d.depends_on = deps;
    }
    cycles(cx, parts, devices, &device_pos, &written_at);
}

/// What a device depends on when the inventory does not say.
fn default_dependencies(
    d: &Device,
    uplinks: &HashMap<&str, Vec<&DeviceId>>,
    sites: &HashMap<&str, &Site>,
) -> Vec<DeviceId> {
    let Some(site) = sites.get(d.site.as_str()) else { return Vec::new() };
    let uplinks: Vec<DeviceId> = uplinks
        .get(d.site.as_str())
        .into_iter()
        .flatten()
        .filter(|o| ***o != d.id)
        .map(|o| (*o).clone())
        .collect();
    if !d.uplink && !uplinks.is_empty() {
        return uplinks;
    }
    match (site.role, site.link) {
        (SiteRole::Branch, Some(LinkMedium::Fibre | LinkMedium::Radio)) => site
            .via
            .as_deref()
            .and_then(|v| sites.get(v))
            .map(|v| v.core.iter().filter(|c| **c != d.id).cloned().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Every cycle of dependencies, once, at the first of its devices whose dependency was
/// written (or at the first device, when all came from defaults).
fn cycles(
    cx: &mut Cx,
    parts: &Parts,
    devices: &[Device],
    pos: &HashMap<String, usize>,
    written_at: &HashMap<usize, Loc>,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let edges: Vec<Vec<usize>> = devices
        .iter()
        .map(|d| d.depends_on.iter().filter_map(|id| pos.get(id.as_str()).copied()).collect())
        .collect();
    let mut mark = vec![Mark::New; devices.len()];
    let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
    let mut found: Vec<Vec<usize>> = Vec::new();
    for root in 0..devices.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // Iterative depth-first search: the path and, per node on it, the next edge to try.
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&to) = edges[node].get(*next) {
                *next += 1;
                match mark[to] {
                    Mark::New => {
                        mark[to] = Mark::Open;
                        path.push((to, 0));
                    }
                    Mark::Open => {
                        let start = path.iter().position(|(n, _)| *n == to).unwrap_or(0);
                        let cycle: Vec<usize> = path[start..].iter().map(|(n, _)| *n).collect();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if seen.insert(key) {
                            found.push(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                path.pop();
            }
        }
    }
    for cycle in found {
        // Start the cycle at its first device in file order, written dependencies first.
        let first = cycle
            .iter()
            .copied()
            .min_by_key(|i| (!written_at.contains_key(i), *i))
            .unwrap_or(cycle[0]);
        let at = cycle.iter().position(|i| *i == first).unwrap_or(0);
        let mut names: Vec<&str> =
            cycle[at..].iter().chain(&cycle[..at]).map(|&i| devices[i].id.as_str()).collect();
        names.push(devices[first].id.as_str());
        let item = &parts.devices[first];
        // No dependency of the cycle was written: the defaults built it from a site's `via`.
        let via = parts
            .sites
            .iter()
            .find(|s| s.value.id == item.value.device.site && s.at.contains_key("via"));
        let (loc, path) = match (written_at.get(&first), via) {
            (Some(loc), _) => (*loc, item.path("depends_on")),
            (None, Some(site)) => (site.field("via"), site.path("via")),
            (None, None) => (item.loc, item.path("depends_on")),
        };
        cx.error_at(
            loc,
            &path,
            format!(
                "dependency cycle: {}; each would wait for the other to answer. Break it where \
                 the path really starts (defaults: a branch depends on the core of the site its \
                 link lands on)",
                names.join(" -> ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::inventory::{Secrets, load};

    fn deps(inv: &crate::inventory::Inventory, id: &str) -> Vec<String> {
        inv.device(id).unwrap().depends_on.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn tacnas_branches_reach_the_data_centre_through_the_fortigate() {
        let inv = load(Path::new("inventory/tacna"), Secrets::Warn).unwrap().0;
        let core = ["sw-dc-01", "sw-dc-02"];
        // The data-centre switches that carry the main site are where vigia stands.
        assert!(deps(&inv, "sw-dc-01").is_empty());
        // The rest of the data centre hangs from them (either answering is enough).
        for id in ["fw-fortigate-500e", "rt-01", "sw-dc-03", "srv-18"] {
            assert_eq!(deps(&inv, id), core, "{id}");
        }
        // Every branch's uplink switch depends on the main site's core: the FortiGate.
        let branches = inv
            .sites
            .iter()
            .filter(|s| s.link.is_some_and(|l| l != crate::inventory::LinkMedium::None));
        for site in branches {
            assert_eq!(site.via.as_deref(), Some("sede-principal"), "{}", site.id);
            for d in inv.devices.iter().filter(|d| d.site == site.id) {
                assert_eq!(deps(&inv, &d.id), ["fw-fortigate-500e"], "{}", d.id);
            }
        }
        assert_eq!(inv.time_zone, chrono_tz::America::Lima);
        assert!(inv.maintenance.is_empty(), "the plan declares no maintenance window");
    }
}
