//! `vigia inventory show`: what the inventory holds, counted, with the figures its sources
//! state set beside the inventory's own so that any disagreement is plain to see.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::model::{DeviceClass, Inventory, LinkMedium, SiteRole};

/// The summary as text for a person.
pub fn render(inv: &Inventory) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "Inventory {}: {} sites, {} devices",
        inv.dir.display(),
        inv.sites.len(),
        inv.devices.len()
    );

    let by_medium = sites_by_medium(inv);
    let branches = inv.sites.iter().filter(|s| s.role == SiteRole::Branch).count();
    sites(w, inv, &by_medium, branches);
    if !inv.declared.is_empty() {
        declared(w, inv, &by_medium, branches);
    }
    devices(w, inv);
    ipv6(w, inv);
    lifecycle(w, inv);
    if !inv.projects.is_empty() {
        projects(w, inv);
    }
    out
}

/// Branch sites per medium, the unconnected ones by name.
type ByMedium = BTreeMap<LinkMedium, Vec<String>>;

/// Sites by medium and the fibre coverage.
fn sites(w: &mut String, inv: &Inventory, by_medium: &ByMedium, branches: usize) {
    let _ = writeln!(w, "\nSites by link medium");
    let main = inv.main_site();
    let _ = writeln!(w, "  main   {:>4}  {} ({})", 1, main.name, main.id);
    let connected: usize = [LinkMedium::Fibre, LinkMedium::Radio]
        .iter()
        .map(|m| by_medium.get(m).map_or(0, Vec::len))
        .sum();
    for medium in LinkMedium::ALL {
        let sites = by_medium.get(medium).map(Vec::as_slice).unwrap_or_default();
        let note = match medium {
            LinkMedium::None => "  not connected: kept in the inventory, never polled",
            _ => "",
        };
        let _ = writeln!(w, "  {:<6} {:>4}{note}", medium.as_str(), sites.len());
        if *medium == LinkMedium::None {
            for name in sites {
                let _ = writeln!(w, "           - {name}");
            }
        }
    }
    let fibre = by_medium.get(&LinkMedium::Fibre).map_or(0, Vec::len);
    let _ = writeln!(
        w,
        "  connected branches: {connected} of {branches}; fibre coverage {}",
        percent(fibre, branches)
    );
}

/// What the sources say, beside what the inventory counts.
fn declared(w: &mut String, inv: &Inventory, by_medium: &ByMedium, branches: usize) {
    let _ = writeln!(w, "\nFigures stated by the sources, beside the inventory's count");
    let mut disagreements = 0;
    for d in &inv.declared {
        let mut parts = Vec::new();
        let mut agrees = true;
        for (medium, stated) in &d.sites {
            let counted = by_medium.get(medium).map_or(0, Vec::len);
            agrees &= counted == *stated as usize;
            parts.push(format!("{medium} {stated} (inventory {counted})"));
        }
        if let Some(total) = d.sites_total {
            agrees &= branches == total as usize;
            parts.push(format!("total {total} (inventory {branches} branch sites)"));
        }
        for (class, stated) in &d.devices {
            let counted = inv.devices.iter().filter(|x| x.class == *class).count();
            agrees &= counted == *stated as usize;
            parts.push(format!("{class} {stated} (inventory {counted})"));
        }
        if !agrees {
            disagreements += 1;
        }
        let verdict = if agrees { "agrees" } else { "DISAGREES with the inventory" };
        let _ = writeln!(w, "  {}: {verdict}", d.source);
        let _ = writeln!(w, "      {}", parts.join(", "));
    }
    if disagreements > 0 {
        let _ = writeln!(
            w,
            "  {disagreements} source figure(s) contradict the inventory; reports show both."
        );
    }
}

/// Devices by class and by site.
fn devices(w: &mut String, inv: &Inventory) {
    let _ = writeln!(w, "\nDevices by class");
    for class in DeviceClass::ALL {
        let n = inv.devices.iter().filter(|d| d.class == *class).count();
        if n > 0 {
            let _ = writeln!(w, "  {:<12} {n:>4}", class.as_str());
        }
    }
    let _ = writeln!(w, "\nDevices by site");
    for site in &inv.sites {
        let here: Vec<_> = inv.devices.iter().filter(|d| d.site == site.id).collect();
        if here.is_empty() {
            continue;
        }
        let mut classes: BTreeMap<DeviceClass, usize> = BTreeMap::new();
        for d in &here {
            *classes.entry(d.class).or_default() += 1;
        }
        let detail: Vec<String> = classes.iter().map(|(c, n)| format!("{n} {c}")).collect();
        let _ = writeln!(
            w,
            "  {:<40} {:>4}  [{}] {}",
            site.id,
            here.len(),
            site.link_label(),
            detail.join(", ")
        );
    }
    let not_polled = inv.devices.iter().filter(|d| !d.monitor).count();
    if not_polled > 0 {
        let _ = writeln!(w, "  not monitored (monitor: false): {not_polled}");
    }
}

/// IPv6 addresses configured and planned.
fn ipv6(w: &mut String, inv: &Inventory) {
    let total = inv.devices.len();
    let with_v6 = inv.devices.iter().filter(|d| d.ipv6.is_some()).count();
    let planned = inv.devices.iter().filter(|d| d.ipv6.is_none() && d.ipv6_planned.is_some());
    let planned_n = planned.clone().count();
    let _ = writeln!(w, "\nIPv6");
    let _ = writeln!(
        w,
        "  addresses configured: {with_v6} of {total} devices ({})",
        percent(with_v6, total)
    );
    if planned_n > 0 {
        let last = planned.filter_map(|d| d.ipv6_planned).max();
        let _ = writeln!(
            w,
            "  planned, not yet configured: {planned_n} (latest date {})",
            last.map(|d| d.to_string()).unwrap_or_default()
        );
    }
}

/// How many devices lack each life-cycle fact.
fn lifecycle(w: &mut String, inv: &Inventory) {
    let total = inv.devices.len();
    let _ = writeln!(w, "\nLife-cycle data missing (of {total} devices)");
    let missing =
        |f: &dyn Fn(&super::model::Device) -> bool| inv.devices.iter().filter(|d| f(d)).count();
    let rows: [(&str, usize); 6] = [
        ("acquired", missing(&|d| d.lifecycle.acquired.is_none())),
        ("end_of_sale", missing(&|d| d.lifecycle.end_of_sale.is_none())),
        ("end_of_support", missing(&|d| d.lifecycle.end_of_support.is_none())),
        ("vendor", missing(&|d| d.vendor.is_none())),
        ("model", missing(&|d| d.model.is_none())),
        ("serial", missing(&|d| d.serial.is_none())),
    ];
    for (field, n) in rows {
        let _ = writeln!(w, "  {field:<15} {n:>4}");
    }
}

/// The projects the indicators count.
fn projects(w: &mut String, inv: &Inventory) {
    let _ = writeln!(w, "\nProjects");
    for p in &inv.projects {
        let budget = p.budget_pen.map(|b| format!("S/ {b:.0}")).unwrap_or_default();
        let _ = writeln!(
            w,
            "  {:<20} {} {} {:<11} {:>14}  {}",
            p.id, p.indicator, p.year, p.status, budget, p.name
        );
    }
}

fn sites_by_medium(inv: &Inventory) -> ByMedium {
    let mut map: BTreeMap<LinkMedium, Vec<String>> = BTreeMap::new();
    for site in &inv.sites {
        if let Some(link) = site.link {
            map.entry(link).or_default().push(site.name.clone());
        }
    }
    map
}

/// `n / total` as a percentage with one decimal, `n/a` when the total is 0.
pub fn percent(n: usize, total: usize) -> String {
    if total == 0 { "n/a".into() } else { format!("{:.1} %", n as f64 * 100.0 / total as f64) }
}
