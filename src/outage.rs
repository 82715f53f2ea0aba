//! Why a device or a site does not answer, and which maintenance windows cover it: one pure
//! derivation, shared by the agent (each scrape, from the current state) and the availability
//! report (for each stretch of the history).
//!
//! A polled device is **down** when it answers ICMP on none of its families. It is **cut off**
//! when it is down and every device it depends on is down too (Nagios' "unreachable"). Each
//! down device gets one cause and one root:
//!
//! - `link`: it stands behind its site's link, and the site is isolated by that link (the
//!   site's uplinks are down themselves: the link or the uplink device, which vigia cannot tell
//!   apart from the data centre), or it is such an uplink;
//! - `dependency`: the outage comes from a device elsewhere (the root), or its site is isolated
//!   because what the site's link lands on is down;
//! - `device`: it is down itself, what it depends on answers.
//!
//! The root is a site (`root.device` empty) when the outage starts at a site's own link, or a
//! device. It is what the alert of the outage names, so that Alertmanager can inhibit the
//! alerts of what hangs from it (their `root_site` / `root_device` labels are equal).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::inventory::{Device, DeviceId, InventoryIndex, MaintenanceWindow, SiteId};

names! {
    /// Why a device or a site does not answer.
    Cause {
        /// The device itself.
        Device = "device",
        /// Its site's link (or the uplink device that carries it).
        Link = "link",
        /// Something it depends on, elsewhere.
        Dependency = "dependency",
    }
}

/// What is known of a device's answer at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Answers ICMP on some family.
    Up,
    /// Answers on none of its families.
    Down,
    /// Not polled yet (or no fresh result).
    Unknown,
}

/// Where an outage starts: a site's link (`device` is `None`) or a device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Root {
    /// The site of the root.
    pub site: SiteId,
    /// The device, when the root is a device rather than a site's link.
    pub device: Option<DeviceId>,
}

/// Why something is down, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    /// The cause.
    pub cause: Cause,
    /// Where the outage starts.
    pub root: Root,
}

/// Every down device and isolated site, with cause and root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outages {
    /// Down devices.
    pub devices: HashMap<DeviceId, Down>,
    /// Isolated sites (no deciding device answers).
    pub sites: HashMap<SiteId, Down>,
}

/// Classify every polled device of `index` by `reach`.
pub fn classify(index: &InventoryIndex, reach: impl Fn(&Device) -> Reach) -> Outages {
    let mut known: HashMap<&str, Reach> = HashMap::new();
    for d in index.polled() {
        known.insert(d.id.as_str(), reach(d));
    }
    let down = |id: &str| known.get(id) == Some(&Reach::Down);
    let cut_off = |d: &Device| {
        down(&d.id) && !d.depends_on.is_empty() && d.depends_on.iter().all(|p| down(p))
    };
    // The device an outage starts at: follow the first dependency while it is cut off too.
    // Inventories are acyclic; the bound only guards against a hand-built one that is not.
    let root_device = |d: &Device| -> DeviceId {
        let mut at = d;
        for _ in 0..index.inventory().devices.len() {
            if !cut_off(at) {
                break;
            }
            match at.depends_on.first().and_then(|p| index.device(p)) {
                Some(next) => at = next,
                None => break,
            }
        }
        at.id.clone()
    };
    let inv = index.inventory();
    // Isolated sites: every deciding device down.
    let mut isolated: HashMap<&str, Vec<&Device>> = HashMap::new();
    for s in &inv.sites {
        let deciders: Vec<&Device> = index.site_deciders(&s.id).collect();
        if !deciders.is_empty() && deciders.iter().all(|d| down(&d.id)) {
            isolated.insert(s.id.as_str(), deciders);
        }
    }
    // A root device that decides an isolated site is named by its site: the site's alert is
    // the one that fires for it.
    let name_root = |id: DeviceId| -> Root {
        let d = index.device(&id).expect("a root is a device of the index");
        if isolated.get(d.site.as_str()).is_some_and(|ds| ds.iter().any(|x| x.id == d.id)) {
            Root { site: d.site.clone(), device: None }
        } else {
            Root { site: d.site.clone(), device: Some(id) }
        }
    };
    let mut out = Outages::default();
    for (site, deciders) in &isolated {
        let first = deciders[0];
        let root = if deciders.iter().all(|d| cut_off(d)) {
            let r = name_root(root_device(first));
            (r.site.as_str() != *site).then_some(r)
        } else {
            None
        };
        let down = match root {
            Some(root) => Down { cause: Cause::Dependency, root },
            None => Down {
                cause: Cause::Link,
                root: Root { site: SiteId::from(site.to_string()), device: None },
            },
        };
        out.sites.insert(SiteId::from(site.to_string()), down);
    }
    for d in index.polled().filter(|d| down(&d.id)) {
        let site_down = out.sites.get(&d.site);
        let decides =
            isolated.get(d.site.as_str()).is_some_and(|ds| ds.iter().any(|x| x.id == d.id));
        let verdict = match site_down {
            Some(s) if decides => s.clone(),
            _ if cut_off(d) => {
                let root = name_root(root_device(d));
                let own_link = root.site == d.site && root.device.is_none();
                Down { cause: if own_link { Cause::Link } else { Cause::Dependency }, root }
            }
            _ => Down {
                cause: Cause::Device,
                root: Root { site: d.site.clone(), device: Some(d.id.clone()) },
            },
        };
        out.devices.insert(d.id.clone(), verdict);
    }
    out
}

/// The maintenance windows in force for each device and site at a moment: those whose scope
/// covers it, and, for what is down, those covering its root (work on the FortiGate covers the
/// branches cut off behind it). A site is covered by windows over it (or over everything), and
/// by device windows that cover every one of its deciding devices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Covered {
    /// Window ids per device, in inventory order, no repeats.
    pub devices: HashMap<DeviceId, Vec<String>>,
    /// Window ids per site.
    pub sites: HashMap<SiteId, Vec<String>>,
}

impl Covered {
    /// The windows covering `device`.
    pub fn device(&self, device: &str) -> &[String] {
        self.devices.get(device).map_or(&[], Vec::as_slice)
    }

    /// The windows covering `site`.
    pub fn site(&self, site: &str) -> &[String] {
        self.sites.get(site).map_or(&[], Vec::as_slice)
    }
}

/// The windows of `windows` in force at `at`.
pub fn active_at(windows: &[MaintenanceWindow], at: DateTime<Utc>) -> Vec<&MaintenanceWindow> {
    windows.iter().filter(|w| w.active_at(at)).collect()
}

/// Which of the `active` windows cover each polled device and each site, given `outages`.
pub fn covered(
    index: &InventoryIndex,
    active: &[&MaintenanceWindow],
    outages: &Outages,
) -> Covered {
    let mut out = Covered::default();
    if active.is_empty() {
        return out;
    }
    let direct = |d: &Device| -> Vec<String> {
        active.iter().filter(|w| w.scope.covers_device(d)).map(|w| w.id.clone()).collect()
    };
    let inv = index.inventory();
    for s in &inv.sites {
        let mut ids: Vec<String> =
            active.iter().filter(|w| w.scope.covers_site(&s.id)).map(|w| w.id.clone()).collect();
        let deciders: Vec<&Device> = index.site_deciders(&s.id).collect();
        if !deciders.is_empty() {
            for w in active {
                if deciders.iter().all(|d| w.scope.covers_device(d)) {
                    push_new(&mut ids, &w.id);
                }
            }
        }
        if !ids.is_empty() {
            out.sites.insert(s.id.clone(), ids);
        }
    }
    for d in index.polled() {
        let ids = direct(d);
        if !ids.is_empty() {
            out.devices.insert(d.id.clone(), ids);
        }
    }
    // What is down because of a covered root is covered too.
    let of_root = |root: &Root, out: &Covered| -> Vec<String> {
        match &root.device {
            Some(dev) => out.device(dev).to_vec(),
            None => out.site(&root.site).to_vec(),
        }
    };
    let mut extra_devices = Vec::new();
    for (id, down) in &outages.devices {
        for w in of_root(&down.root, &out) {
            extra_devices.push((id.clone(), w));
        }
    }
    let mut extra_sites = Vec::new();
    for (id, down) in &outages.sites {
        for w in of_root(&down.root, &out) {
            extra_sites.push((id.clone(), w));
        }
    }
    for (id, w) in extra_devices {
        push_new(out.devices.entry(id).or_default(), &w);
    }
    for (id, w) in extra_sites {
        push_new(out.sites.entry(id).or_default(), &w);
    }
    out
}

fn push_new(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|x| x == id) {
        list.push(id.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::history::testkit::*;
    use crate::inventory::DeviceClass::{Firewall, Server, Switch};
    use crate::inventory::{LinkMedium, MaintenanceScope, MaintenanceTime};

    /// A main site with two core switches and a firewall behind them; a fibre branch whose
    /// link lands on the firewall (uplink sw-b, and ap-b behind it); a radio branch relayed
    /// through the fibre branch.
    fn network() -> InventoryIndex {
        let dep = |mut d: Device, on: &[&str]| {
            d.depends_on = on.iter().map(|s| DeviceId::from(*s)).collect();
            d
        };
        let up = |mut d: Device| {
            d.uplink = true;
            d
        };
        let inv = inventory(
            vec![
                site("main", None),
                site("b", Some(LinkMedium::Fibre)),
                site("r", Some(LinkMedium::Radio)),
            ],
            vec![
                up(device("core-1", "main", Switch)),
                up(device("core-2", "main", Switch)),
                dep(device("fw", "main", Firewall), &["core-1", "core-2"]),
                dep(device("srv", "main", Server), &["core-1", "core-2"]),
                dep(up(device("sw-b", "b", Switch)), &["fw"]),
                dep(device("ap-b", "b", Switch), &["sw-b"]),
                dep(up(device("sw-r", "r", Switch)), &["sw-b"]),
            ],
        );
        InventoryIndex::new(Arc::new(inv), day("2026-11-01"))
    }

    fn with<'a>(down: &'a [&'a str]) -> impl Fn(&Device) -> Reach + 'a {
        move |d| if down.contains(&d.id.as_str()) { Reach::Down } else { Reach::Up }
    }

    fn root(site: &str, device: Option<&str>) -> Root {
        Root { site: site.into(), device: device.map(DeviceId::from) }
    }

    fn verdict(o: &Outages, id: &str) -> (Cause, Root) {
        let d = &o.devices[id];
        (d.cause, d.root.clone())
    }

    #[test]
    fn everything_answers_nothing_is_down() {
        let o = classify(&network(), with(&[]));
        assert_eq!(o, Outages::default());
    }

    #[test]
    fn a_device_down_alone_is_its_own_root() {
        let o = classify(&network(), with(&["srv"]));
        assert_eq!(verdict(&o, "srv"), (Cause::Device, root("main", Some("srv"))));
        assert!(o.sites.is_empty());
    }

    #[test]
    fn a_cut_branch_link_isolates_the_site_and_its_devices_follow_the_link() {
        let o = classify(&network(), with(&["sw-b", "ap-b"]));
        assert_eq!(o.sites[&SiteId::from("b")].cause, Cause::Link);
        assert_eq!(verdict(&o, "sw-b"), (Cause::Link, root("b", None)));
        assert_eq!(verdict(&o, "ap-b"), (Cause::Link, root("b", None)));
    }

    #[test]
    fn a_relayed_branch_behind_a_cut_link_is_cut_off_by_a_dependency() {
        let o = classify(&network(), with(&["sw-b", "ap-b", "sw-r"]));
        assert_eq!(
            o.sites[&SiteId::from("r")],
            Down { cause: Cause::Dependency, root: root("b", None) }
        );
        assert_eq!(verdict(&o, "sw-r"), (Cause::Dependency, root("b", None)));
    }

    #[test]
    fn the_firewall_down_makes_every_branch_unreachable_with_the_firewall_as_root() {
        let o = classify(&network(), with(&["fw", "sw-b", "ap-b", "sw-r"]));
        let fw = root("main", Some("fw"));
        assert_eq!(verdict(&o, "fw"), (Cause::Device, fw.clone()));
        for site in ["b", "r"] {
            assert_eq!(
                o.sites[&SiteId::from(site)],
                Down { cause: Cause::Dependency, root: fw.clone() }
            );
        }
        for d in ["sw-b", "ap-b", "sw-r"] {
            assert_eq!(verdict(&o, d), (Cause::Dependency, fw.clone()), "{d}");
        }
        assert!(!o.sites.contains_key(&SiteId::from("main")), "one core still answers");
    }

    #[test]
    fn both_cores_down_isolate_the_main_site_which_is_the_root_of_everything() {
        let all = ["core-1", "core-2", "fw", "srv", "sw-b", "ap-b", "sw-r"];
        let o = classify(&network(), with(&all));
        let main = root("main", None);
        assert_eq!(o.sites[&SiteId::from("main")], Down { cause: Cause::Link, root: main.clone() });
        assert_eq!(
            o.sites[&SiteId::from("b")],
            Down { cause: Cause::Dependency, root: main.clone() }
        );
        assert_eq!(verdict(&o, "srv"), (Cause::Link, main.clone()), "behind its own site's core");
        assert_eq!(verdict(&o, "sw-r"), (Cause::Dependency, main));
    }

    #[test]
    fn a_dependency_not_known_down_explains_nothing() {
        let o = classify(&network(), |d: &Device| match d.id.as_str() {
            "fw" => Reach::Unknown,
            "sw-b" | "ap-b" => Reach::Down,
            _ => Reach::Up,
        });
        assert_eq!(o.sites[&SiteId::from("b")].cause, Cause::Link);
    }

    fn window(id: &str, scope: MaintenanceScope) -> MaintenanceWindow {
        MaintenanceWindow {
            id: id.into(),
            scope,
            time: MaintenanceTime::Once {
                start: "2026-11-01T00:00:00".parse().unwrap(),
                end: "2026-11-02T00:00:00".parse().unwrap(),
            },
            time_zone: crate::inventory::maintenance::DEFAULT_TIME_ZONE,
            reason: "r".into(),
        }
    }

    #[test]
    fn a_window_over_the_root_covers_what_is_cut_off_behind_it() {
        let idx = network();
        let fw = window("fw-work", MaintenanceScope::Device("fw".into()));
        let o = classify(&idx, with(&["fw", "sw-b", "ap-b", "sw-r"]));
        let c = covered(&idx, &[&fw], &o);
        for d in ["fw", "sw-b", "ap-b", "sw-r"] {
            assert_eq!(c.device(d), ["fw-work"], "{d}");
        }
        assert_eq!(c.site("b"), ["fw-work"]);
        assert!(c.device("srv").is_empty() && c.site("main").is_empty());
        // With nothing down, only the firewall itself is covered.
        let c = covered(&idx, &[&fw], &classify(&idx, with(&[])));
        assert_eq!(c.device("fw"), ["fw-work"]);
        assert!(c.device("sw-b").is_empty() && c.sites.is_empty());
    }

    #[test]
    fn site_and_all_windows_cover_sites_and_their_devices() {
        let idx = network();
        let b = window("obra-b", MaintenanceScope::Site("b".into()));
        let all = window("todo", MaintenanceScope::All);
        let c = covered(&idx, &[&b, &all], &classify(&idx, with(&[])));
        assert_eq!(c.site("b"), ["obra-b", "todo"]);
        assert_eq!(c.device("ap-b"), ["obra-b", "todo"]);
        assert_eq!(c.site("main"), ["todo"]);
        // A device window over the site's only uplink covers the site.
        let u = window("uplink", MaintenanceScope::Device("sw-r".into()));
        let c = covered(&idx, &[&u], &classify(&idx, with(&[])));
        assert_eq!(c.site("r"), ["uplink"]);
    }
}
