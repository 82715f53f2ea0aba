//! Link media: sites by medium as the inventory counts them, fibre coverage, each connected
//! site's link health from the history, and the figures the sources state beside them.
//!
//! - Counts: the main site is `main`; branches are counted by `link` (fibre, radio, none).
//!   Coverage ratios are over the branch sites: fibre / branches and (fibre + radio) / branches.
//! - Link health of a connected branch, over [`LINK_HEALTH_DAYS`](crate::history::LINK_HEALTH_DAYS)
//!   before the as-of instant: ICMP availability, mean RTT and loss of its uplink devices (those
//!   marked `uplink`, or every polled device of the site when none is), per family. The site's
//!   figure in a family is its best uplink device's: a site is up when any uplink answers.
//! - Declared: every source's site figures beside the inventory's count, each marked as agreeing
//!   or not; nothing is picked silently.

use std::collections::HashMap;

use serde::Serialize;

use crate::history::{AsOf, AvailabilityIndex, History, Window};
use crate::inventory::{Device, DeviceId, Family, Inventory, LinkMedium, SiteId, SiteRole};
use crate::lifecycle::{SiteIndex, in_service};
use crate::poll::ProbeKind;

/// Sites per medium.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MediumCounts {
    /// The main site (1).
    pub main: usize,
    /// Branches linked by fibre.
    pub fibre: usize,
    /// Branches linked by radio.
    pub radio: usize,
    /// Branches with no link.
    pub none: usize,
    /// All branches.
    pub branches: usize,
}

impl MediumCounts {
    /// Count the inventory's sites.
    pub fn of(inv: &Inventory) -> MediumCounts {
        let mut c = MediumCounts::default();
        for s in &inv.sites {
            match (s.role, s.link) {
                (SiteRole::Main, _) => c.main += 1,
                (SiteRole::Branch, link) => {
                    c.branches += 1;
                    match link {
                        Some(LinkMedium::Fibre) => c.fibre += 1,
                        Some(LinkMedium::Radio) => c.radio += 1,
                        Some(LinkMedium::None) | None => c.none += 1,
                    }
                }
            }
        }
        c
    }

    /// The count of a medium.
    pub fn of_medium(&self, medium: LinkMedium) -> usize {
        match medium {
            LinkMedium::Fibre => self.fibre,
            LinkMedium::Radio => self.radio,
            LinkMedium::None => self.none,
        }
    }
}

/// One figure a source states, beside the inventory's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclaredFigure {
    /// `fibre`, `radio`, `none` or `total` (branch sites).
    pub what: &'static str,
    /// What the source says.
    pub stated: u32,
    /// What the inventory counts.
    pub counted: usize,
    /// Whether they agree.
    pub agrees: bool,
}

/// A source's site figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclaredSites {
    /// The source.
    pub source: String,
    /// Its figures.
    pub figures: Vec<DeclaredFigure>,
    /// Whether all of them agree with the inventory.
    pub agrees: bool,
}

/// Link health of one uplink device over one family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// Device id.
    pub device: DeviceId,
    /// Family.
    pub family: Family,
    /// ICMP polls in the window.
    pub polls: u64,
    /// Successful polls.
    pub successes: u64,
    /// successes / polls.
    pub availability: Option<f64>,
    /// The polls the window could hold at the inventory's ICMP interval.
    pub expected_polls: u64,
    /// Whether `polls` reach [`crate::availability::MIN_POLL_SHARE`] of `expected_polls`:
    /// below it the reports print "datos insuficientes" instead of `availability`.
    pub sufficient: bool,
    /// Mean RTT of the successful polls, seconds.
    pub rtt_mean_s: Option<f64>,
    /// Echoes lost / sent.
    pub loss_ratio: Option<f64>,
}

/// A branch site's link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteLink {
    /// Site id.
    pub site: SiteId,
    /// Name.
    pub name: String,
    /// Medium.
    pub link: LinkMedium,
    /// Carrier.
    pub provider: Option<String>,
    /// Contracted bandwidth.
    pub link_mbps: Option<u32>,
    /// The medium a plan will give it.
    pub planned_link: Option<LinkMedium>,
    /// When.
    pub planned_date: Option<chrono::NaiveDate>,
    /// Its uplink devices (those whose replies say the link is up).
    pub uplinks: Vec<DeviceId>,
    /// Health per uplink device and family, where the history has polls.
    pub health: Vec<Health>,
    /// The site's IPv4 figure: its best uplink device's.
    pub ipv4: Option<Health>,
    /// The site's IPv6 figure.
    pub ipv6: Option<Health>,
}

/// The links report's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Links {
    /// The day and instant described.
    pub as_of: AsOf,
    /// The link-health window.
    pub window: Window,
    /// Sites per medium.
    pub counts: MediumCounts,
    /// fibre / branches.
    pub fibre_ratio: Option<f64>,
    /// (fibre + radio) / branches.
    pub connected_ratio: Option<f64>,
    /// Every source's site figures beside the inventory's.
    pub declared: Vec<DeclaredSites>,
    /// Every branch site, in inventory order.
    pub sites: Vec<SiteLink>,
    /// Every contracted link (sites' own, then shared pools) and its use over the as-of day and
    /// month (issue 15; `crate::link_use`).
    pub contracts: Vec<crate::link_use::ContractUse>,
}

/// Compare every source's site figures with the inventory's counts.
pub fn declared(inv: &Inventory, counts: &MediumCounts) -> Vec<DeclaredSites> {
    inv.declared
        .iter()
        .filter(|d| !d.sites.is_empty() || d.sites_total.is_some())
        .map(|d| {
            let mut figures: Vec<DeclaredFigure> = LinkMedium::ALL
                .iter()
                .filter_map(|m| {
                    let stated = *d.sites.get(m)?;
                    let counted = counts.of_medium(*m);
                    Some(DeclaredFigure {
                        what: m.as_str(),
                        stated,
                        counted,
                        agrees: counted == stated as usize,
                    })
                })
                .collect();
            if let Some(total) = d.sites_total {
                figures.push(DeclaredFigure {
                    what: "total",
                    stated: total,
                    counted: counts.branches,
                    agrees: counts.branches == total as usize,
                });
            }
            DeclaredSites {
                source: d.source.clone(),
                agrees: figures.iter().all(|f| f.agrees),
                figures,
            }
        })
        .collect()
}

/// Compute the links report's figures.
pub fn links(inv: &Inventory, history: &History, as_of: AsOf) -> Links {
    let counts = MediumCounts::of(inv);
    let idx = AvailabilityIndex::new(&history.link_health);
    let window = as_of.link_window();
    let expected_polls = ((window.to - window.from).num_seconds().max(0) as u64)
        / inv.poll.icmp_interval.as_secs().max(1);
    let ratio = |n: usize| (counts.branches > 0).then(|| n as f64 / counts.branches as f64);
    let mut sites = Vec::new();
    let index = SiteIndex::new(inv);
    let mut by_site: HashMap<&str, Vec<&Device>> = HashMap::new();
    for d in inv.devices.iter().filter(|d| index.polled(d) && in_service(d, as_of.date)) {
        by_site.entry(d.site.as_str()).or_default().push(d);
    }
    for site in inv.sites.iter().filter(|s| s.role == SiteRole::Branch) {
        let link = site.link.unwrap_or(LinkMedium::None);
        let here: Vec<&Device> = by_site.get(site.id.as_str()).cloned().unwrap_or_default();
        let marked: Vec<_> = here.iter().filter(|d| d.uplink).copied().collect();
        let uplinks = if marked.is_empty() { here } else { marked };
        let mut health = Vec::new();
        for d in &uplinks {
            for family in d.families() {
                if let Some(a) = idx.get(&d.id, family, ProbeKind::Icmp) {
                    health.push(Health {
                        device: d.id.clone(),
                        family,
                        polls: a.polls,
                        successes: a.successes,
                        availability: a.ratio(),
                        expected_polls,
                        sufficient: a.polls as f64
                            >= crate::availability::MIN_POLL_SHARE * expected_polls as f64,
                        rtt_mean_s: a.rtt_mean_s(),
                        loss_ratio: a.loss_ratio(),
                    });
                }
            }
        }
        let best = |family: Family| {
            health
                .iter()
                .filter(|h| h.family == family && h.polls > 0)
                .max_by(|a, b| {
                    (u128::from(a.successes) * u128::from(b.polls))
                        .cmp(&(u128::from(b.successes) * u128::from(a.polls)))
                        .then_with(|| b.device.cmp(&a.device))
                })
                .cloned()
        };
        sites.push(SiteLink {
            site: site.id.clone(),
            name: site.name.clone(),
            link,
            provider: site.provider.clone(),
            link_mbps: site.link_mbps,
            planned_link: site.planned_link,
            planned_date: site.planned_date,
            uplinks: uplinks.iter().map(|d| d.id.clone()).collect(),
            ipv4: best(Family::Ipv4),
            ipv6: best(Family::Ipv6),
            health,
        });
    }
    Links {
        as_of,
        window: as_of.link_window(),
        counts,
        fibre_ratio: ratio(counts.fibre),
        connected_ratio: ratio(counts.fibre + counts.radio),
        declared: declared(inv, &counts),
        sites,
        contracts: crate::link_use::contract_uses(inv, &history.link_use),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::history::testkit::*;
    use crate::inventory::Declared;
    use crate::inventory::DeviceClass::{Radio, Switch};

    fn inv() -> Inventory {
        let mut up = device("sw-rad", "rad", Switch);
        up.uplink = true;
        let mut inv = inventory(
            vec![
                site("main", None),
                site("fib", Some(LinkMedium::Fibre)),
                site("rad", Some(LinkMedium::Radio)),
                site("off", Some(LinkMedium::None)),
                site("off2", Some(LinkMedium::None)),
            ],
            vec![
                device("sw-fib", "fib", Switch),
                up,
                with_v6(device("radio-rad", "rad", Radio), 1),
                device("sw-off", "off", Switch),
            ],
        );
        inv.declared = vec![
            Declared {
                source: "Tabla".into(),
                sites: BTreeMap::from([
                    (LinkMedium::Fibre, 1),
                    (LinkMedium::Radio, 1),
                    (LinkMedium::None, 2),
                ]),
                sites_total: None,
                devices: BTreeMap::new(),
            },
            Declared {
                source: "Texto".into(),
                sites: BTreeMap::from([(LinkMedium::Fibre, 2)]),
                sites_total: Some(3),
                devices: BTreeMap::new(),
            },
        ];
        inv
    }

    #[test]
    fn counts_ratios_and_declared_figures() {
        let l = links(&inv(), &History::default(), AsOf::end_of_day(day("2026-06-01")));
        assert_eq!(l.counts, MediumCounts { main: 1, fibre: 1, radio: 1, none: 2, branches: 4 });
        assert_eq!((l.fibre_ratio, l.connected_ratio), (Some(0.25), Some(0.5)));
        assert!(l.declared[0].agrees);
        assert!(!l.declared[1].agrees);
        assert_eq!(
            l.declared[1].figures,
            vec![
                DeclaredFigure { what: "fibre", stated: 2, counted: 1, agrees: false },
                DeclaredFigure { what: "total", stated: 3, counted: 4, agrees: false },
            ]
        );
    }

    #[test]
    fn uplinks_are_the_marked_devices_or_else_all_and_the_best_one_speaks_for_the_site() {
        let mut radio_row = availability("sw-rad", Family::Ipv4, 1000, 950);
        radio_row.rtt_sum_s = 950.0 * 0.040;
        let history = History {
            link_health: vec![
                radio_row,
                // The radio device is not an uplink: its rows do not count for the site.
                availability("radio-rad", Family::Ipv4, 1000, 1000),
                availability("sw-fib", Family::Ipv4, 200, 200),
            ],
            ..History::default()
        };
        let l = links(&inv(), &history, AsOf::end_of_day(day("2026-06-01")));
        let site = |id: &str| l.sites.iter().find(|s| s.site == id).unwrap();
        assert_eq!(site("fib").uplinks, ["sw-fib"]);
        assert_eq!(site("rad").uplinks, ["sw-rad"]);
        let rad = site("rad").ipv4.clone().unwrap();
        assert_eq!((rad.polls, rad.successes, rad.availability), (1000, 950, Some(0.95)));
        assert!((rad.rtt_mean_s.unwrap() - 0.040).abs() < 1e-12);
        assert_eq!(rad.loss_ratio, Some(0.05));
        assert_eq!(site("rad").ipv6, None);
        assert_eq!(site("off").uplinks, Vec::<String>::new(), "unlinked sites are never polled");
        assert_eq!(l.window.from.to_rfc3339(), "2026-05-03T00:00:00+00:00");
    }

    #[test]
    fn a_figure_needs_nine_tenths_of_the_polls_the_window_holds() {
        // 30 days at the default 30 s: 86,400 polls fit; 77,760 is 90 %.
        let at = |polls| {
            let history = History {
                link_health: vec![availability("sw-fib", Family::Ipv4, polls, polls)],
                ..History::default()
            };
            let l = links(&inv(), &history, AsOf::end_of_day(day("2026-06-01")));
            let h = l.sites.iter().find(|s| s.site == "fib").unwrap().ipv4.clone().unwrap();
            (h.expected_polls, h.sufficient, h.availability)
        };
        assert_eq!(at(77_760), (86_400, true, Some(1.0)));
        assert_eq!(at(77_759), (86_400, false, Some(1.0)));
        // A minute of history is no 30-day figure: the report says so.
        assert_eq!(at(2), (86_400, false, Some(1.0)));
    }
}
