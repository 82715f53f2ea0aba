//! The one-screen summary `vigia agent --once` prints.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Shared;
use crate::inventory::{Device, Family, InventoryIndex, LinkMedium};
use crate::poll::{ProbeKind, SnmpOutcome};
use crate::state;

/// The summary of what the last poll found.
pub fn render_summary(shared: &Shared, elapsed: std::time::Duration) -> String {
    let inv = &shared.inventory;
    let index = InventoryIndex::sharded(inv.clone(), shared.clock.today(), shared.shard);
    let polled: Vec<_> = index.polled().collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vigia: polled {} devices of {} in {:.1} s ({} sites, {} not connected)",
        polled.len(),
        inv.devices.len(),
        elapsed.as_secs_f64(),
        inv.sites.len(),
        inv.sites.iter().filter(|s| s.link == Some(LinkMedium::None)).count()
    );
    up_down_table(&mut out, shared, &polled);
    snmp_outcomes(&mut out, shared);
    sites_answering(&mut out, shared, &index);
    not_answering(&mut out, shared, &polled);
    out
}

/// Devices up and down per probe and family.
fn up_down_table(out: &mut String, shared: &Shared, polled: &[&Device]) {
    let _ = writeln!(out, "\n{:<6} {:>8} {:>8} {:>8}", "", "devices", "up", "down");
    for family in Family::ALL {
        for probe in ProbeKind::ALL {
            let states: Vec<bool> = polled
                .iter()
                .filter_map(|d| shared.state.devices.get(&d.id)?.up(*family, *probe))
                .collect();
            if states.is_empty() {
                continue;
            }
            let up = states.iter().filter(|u| **u).count();
            let _ = writeln!(
                out,
                "{:<6} {:>8} {:>8} {:>8}   {probe} over {family}",
                "",
                states.len(),
                up,
                states.len() - up
            );
        }
    }
}

/// How the SNMP polls ended, counted.
fn snmp_outcomes(out: &mut String, shared: &Shared) {
    let mut outcomes: BTreeMap<SnmpOutcome, usize> = BTreeMap::new();
    for st in shared.state.devices.values() {
        for s in st.snmp.values() {
            *outcomes.entry(s.outcome).or_default() += 1;
        }
    }
    if !outcomes.is_empty() {
        let parts: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
        let _ = writeln!(out, "\nSNMP outcomes: {}", parts.join(", "));
    }
}

/// Sites that answer, and those isolated.
fn sites_answering(out: &mut String, shared: &Shared, index: &InventoryIndex) {
    let mut isolated = Vec::new();
    let mut up_sites = 0;
    for s in &shared.inventory.sites {
        match state::site_reachable(index, &shared.state.devices, &s.id) {
            Some(true) => up_sites += 1,
            Some(false) => isolated.push(format!("{} [{}]", s.id, s.link_label())),
            None => {}
        }
    }
    let _ = writeln!(out, "Sites answering: {up_sites}; isolated: {}", isolated.len());
    for s in &isolated {
        let _ = writeln!(out, "  isolated: {s}");
    }
}

/// The devices that do not answer, with why (the first 20).
fn not_answering(out: &mut String, shared: &Shared, polled: &[&Device]) {
    let mut down = Vec::new();
    for d in polled {
        let Some(st) = shared.state.devices.get(&d.id) else { continue };
        for family in d.families() {
            for probe in ProbeKind::ALL {
                if st.up(family, *probe) == Some(false) {
                    let detail = match probe {
                        ProbeKind::Icmp => {
                            st.icmp.get(&family).and_then(|s| s.report.detail.clone())
                        }
                        ProbeKind::Snmp => st.snmp.get(&family).and_then(|s| s.detail.clone()),
                    };
                    down.push(format!("{} {probe}/{family}: {}", d.id, detail.unwrap_or_default()));
                }
            }
        }
    }
    if !down.is_empty() {
        let _ = writeln!(out, "\nNot answering ({}):", down.len());
        for line in down.iter().take(20) {
            let _ = writeln!(out, "  {line}");
        }
        if down.len() > 20 {
            let _ = writeln!(
                out,
                "  ... and {} more (see /api/devices or the history)",
                down.len() - 20
            );
        }
    }
}
