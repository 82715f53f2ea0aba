//! The `lab` section: lab-only settings of the lab twin (`vigia lab`, `vigia agent --lab`),
//! read and checked like every other section. Polling a real network never reads them.
//!
//! ```yaml
//! lab:
//!   links:    # a site's link shaped with these figures instead of its medium's
//!     - { site: gerencia-fiscalizacion-control, delay: 45ms, jitter: 20ms, loss_percent: 6 }
//!   silent:   # an address routed to its device in the lab, where nothing answers
//!     - { device: sw-mercado-grau, family: ipv6 }
//! ```

use super::*;
use crate::inventory::id::SiteId;

/// The longest delay or jitter the lab shapes: beyond it every probe times out anyway.
const MAX_DELAY: Duration = Duration::from_secs(10);

/// What the section said, before the checks against sites and devices.
#[derive(Default)]
pub(super) struct LabDraft {
    at: Option<Loc>,
    links: Vec<Item<(SiteId, LabLink)>>,
    silent: Vec<Item<(DeviceId, Family)>>,
}

/// Read the `lab` section (one file only, like `defaults`).
pub(super) fn read(cx: &mut Cx, draft: &mut LabDraft, node: &Node) {
    if let Some(first) = draft.at {
        let first = cx.show(first);
        cx.error(node.pos, "lab", format!("lab is defined twice (first at {first})"));
        return;
    }
    draft.at = Some(cx.here(node.pos));
    let Some(mut f) = Fields::of(cx, node, "lab") else { return };
    if let Some(n) = f.get("links") {
        for (i, n) in items(cx, n, "lab.links").iter().enumerate() {
            if let Some(link) = read_link(cx, n, i) {
                draft.links.push(link);
            }
        }
    }
    if let Some(n) = f.get("silent") {
        for (i, n) in items(cx, n, "lab.silent").iter().enumerate() {
            if let Some(silent) = read_silent(cx, n, i) {
                draft.silent.push(silent);
            }
        }
    }
    f.finish(cx);
}

/// `lab.links[3] (teatro)`: the list item, labelled by the value of `key` when it has one.
/// Also the contracts' and pools' labels.
pub(super) fn item_label(list: &str, i: usize, node: &Node, key: &str) -> String {
    let named = match &node.value {
        Value::Map(m) => {
            m.iter().find(|(k, _)| k.scalar() == Some(key)).and_then(|(_, v)| v.scalar())
        }
        _ => None,
    };
    match named {
        Some(name) => format!("{list}[{i}] ({name})"),
        None => format!("{list}[{i}]"),
    }
}

fn read_link(cx: &mut Cx, node: &Node, i: usize) -> Option<Item<(SiteId, LabLink)>> {
    let label = item_label("lab.links", i, node, "site");
    let mut f = Fields::of(cx, node, &label)?;
    let mut at = HashMap::new();
    let site_node = f.need(cx, "site", "the id of a site with a link");
    if let Some(n) = site_node {
        at.insert("site", cx.here(n.pos));
    }
    let site = site_node.and_then(|n| cx.id(n, &f.at("site")));
    let delay = f
        .need(cx, "delay", "the one-way delay, e.g. 40ms")
        .and_then(|n| lab_delay(cx, n, &f.at("delay")));
    let jitter = match f.get("jitter") {
        Some(n) => lab_delay(cx, n, &f.at("jitter")),
        None => Some(Duration::ZERO),
    };
    let loss = match f.get("loss_percent") {
        Some(n) => {
            let path = f.at("loss_percent");
            cx.number(n, &path).and_then(|p| {
                if p <= 100.0 {
                    Some(p / 100.0)
                } else {
                    cx.error(
                        n.pos,
                        &path,
                        format!("{p} is more than 100; allowed: 0 to 100 (each way)"),
                    );
                    None
                }
            })
        }
        None => Some(0.0),
    };
    f.finish(cx);
    let link = LabLink { delay: delay?, jitter: jitter?, loss: loss? };
    Some(Item { value: (site?.into(), link), loc: cx.here(node.pos), label, at })
}

/// A delay the lab can hold a packet for.
fn lab_delay(cx: &mut Cx, node: &Node, path: &str) -> Option<Duration> {
    let d = cx.duration(node, path)?;
    if d > MAX_DELAY {
        cx.error(
            node.pos,
            path,
            format!("{} is longer than the lab shapes; at most 10s", duration_text::format(d)),
        );
        return None;
    }
    Some(d)
}

fn read_silent(cx: &mut Cx, node: &Node, i: usize) -> Option<Item<(DeviceId, Family)>> {
    let label = item_label("lab.silent", i, node, "device");
    let mut f = Fields::of(cx, node, &label)?;
    let mut at = HashMap::new();
    let device_node = f.need(cx, "device", "the id of a polled device");
    if let Some(n) = device_node {
        at.insert("device", cx.here(n.pos));
    }
    let device = device_node.and_then(|n| cx.id(n, &f.at("device")));
    let family_node = f.need(cx, "family", "ipv4 or ipv6: the address nothing answers on");
    if let Some(n) = family_node {
        at.insert("family", cx.here(n.pos));
    }
    let family =
        family_node.and_then(|n| cx.name(n, &f.at("family"), Family::parse, &Family::allowed()));
    f.finish(cx);
    Some(Item { value: (device?.into(), family?), loc: cx.here(node.pos), label, at })
}

/// The checks against the sites and devices: each link's site exists and has one, each silent
/// address is a polled device's, nothing is given twice. Then the typed settings.
pub(super) fn build(
    cx: &mut Cx,
    draft: LabDraft,
    sites: &[Item<Site>],
    devices: &[Device],
) -> LabTwin {
    let mut lab = LabTwin::default();
    let site_ids: Vec<&str> = sites.iter().map(|s| s.value.id.as_str()).collect();
    let site_hints = Hints::new(&site_ids);
    let mut first: HashMap<SiteId, Loc> = HashMap::new();
    for item in draft.links {
        let (loc, path) = (item.field("site"), format!("{}.site", item.label));
        let (id, link) = item.value;
        match sites.iter().find(|s| s.value.id == id) {
            None => {
                let hint = site_hints.suggest(&id);
                cx.error_at(loc, &path, format!("unknown site {:?}{hint}", id.as_str()));
            }
            Some(s) if s.value.link == Some(LinkMedium::None) => cx.error_at(
                loc,
                &path,
                format!("site {id} has no link (link: none): the lab builds nothing to shape"),
            ),
            Some(_) => {
                if let Some(prev) = first.get(&id) {
                    let prev = cx.show(*prev);
                    cx.error_at(
                        loc,
                        &path,
                        format!("site {id}'s lab link is given twice (first at {prev})"),
                    );
                } else {
                    first.insert(id.clone(), loc);
                    lab.links.insert(id, link);
                }
            }
        }
    }
    let device_ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    let device_hints = Hints::new(&device_ids);
    for item in draft.silent {
        let (loc, path) = (item.field("device"), format!("{}.device", item.label));
        let family_at = (item.field("family"), format!("{}.family", item.label));
        let (id, family) = item.value;
        let Some(d) = devices.iter().find(|d| d.id == id) else {
            let hint = device_hints.suggest(&id);
            cx.error_at(loc, &path, format!("unknown device {:?}{hint}", id.as_str()));
            continue;
        };
        let linked =
            sites.iter().any(|s| s.value.id == d.site && s.value.link != Some(LinkMedium::None));
        if d.address(family).is_none() {
            cx.error_at(
                family_at.0,
                &family_at.1,
                format!("device {id} has no {family} address to leave unanswered"),
            );
        } else if !d.monitor || !linked {
            cx.error_at(loc, &path, format!("device {id} is never polled (monitor: false, or its site has no link): it has no place in the lab"));
        } else if lab.silent.contains(&(id.clone(), family)) {
            cx.error_at(loc, &path, format!("device {id}'s {family} address is listed twice"));
        } else {
            lab.silent.push((id, family));
        }
    }
    lab
}
