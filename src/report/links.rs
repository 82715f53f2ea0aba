//! The links report: sites by medium, fibre coverage, what the sources state beside the
//! inventory, each connected site's link health, and the sites still without a link.

use std::fmt::Write;

use serde::Serialize;

use super::i18n::{Lang, Strings, fill};
use super::renewal::{family_label, to_json};
use super::text::{date, instant, md_table, pct};
use crate::inventory::{Family, LinkMedium};
use crate::links::{Health, Links};

/// The `schema` field of the JSON document.
pub const SCHEMA: &str = "vigia.links/1";

/// The JSON document (see docs/reports.md).
pub fn json(l: &Links) -> Vec<u8> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a Links,
    }
    to_json(&Doc { schema: SCHEMA, body: l })
}

fn health_cells(t: &Strings, h: &Option<Health>) -> [String; 3] {
    match h {
        Some(h) => [
            pct(t, h.availability),
            h.rtt_mean_s.map_or_else(
                || t.no_data.to_owned(),
                |s| fill(t.rtt_ms, &[("ms", &format!("{:.1}", s * 1000.0))]),
            ),
            pct(t, h.loss_ratio),
        ],
        None => [t.no_data.to_owned(), String::new(), String::new()],
    }
}

/// The Markdown report.
pub fn markdown(l: &Links, lang: Lang) -> String {
    let t = lang.t();
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", t.links_title);
    let _ = writeln!(
        out,
        "{}  \n{}\n",
        fill(t.as_of, &[("date", &l.as_of.date), ("instant", &instant(l.as_of.instant))]),
        fill(
            t.links_window,
            &[
                ("days", &(l.window.to - l.window.from).num_days()),
                ("from", &instant(l.window.from)),
                ("to", &instant(l.window.to)),
            ],
        )
    );

    let c = &l.counts;
    let _ = writeln!(out, "## {}\n", t.links_by_medium);
    let mut rows = vec![vec![t.main_site.to_owned(), c.main.to_string()]];
    for m in LinkMedium::ALL {
        rows.push(vec![t.medium(*m).to_owned(), c.of_medium(*m).to_string()]);
    }
    rows.push(vec![t.branches_total.to_owned(), c.branches.to_string()]);
    md_table(&mut out, &[t.col_medium, t.col_sites], &rows);
    let _ = writeln!(
        out,
        "\n{}  \n{}\n",
        fill(
            t.fibre_coverage,
            &[("fibre", &c.fibre), ("branches", &c.branches), ("percent", &pct(t, l.fibre_ratio))],
        ),
        fill(
            t.connected_coverage,
            &[
                ("connected", &(c.fibre + c.radio)),
                ("branches", &c.branches),
                ("percent", &pct(t, l.connected_ratio)),
            ],
        )
    );

    if !l.declared.is_empty() {
        let _ = writeln!(out, "## {}\n", t.links_declared);
        let mut rows = Vec::new();
        for d in &l.declared {
            for f in &d.figures {
                let what = LinkMedium::parse(f.what).map_or(t.declared_total, |m| t.medium(m));
                rows.push(vec![
                    d.source.clone(),
                    what.to_owned(),
                    f.stated.to_string(),
                    f.counted.to_string(),
                    t.yes_no(f.agrees).to_owned(),
                ]);
            }
        }
        md_table(
            &mut out,
            &[t.col_source, t.col_figure, t.col_stated, t.col_counted, t.col_agrees],
            &rows,
        );
        let disagreeing = l.declared.iter().filter(|d| !d.agrees).count();
        if disagreeing > 0 {
            let _ = writeln!(
                out,
                "\n**{}**",
                fill(t.declared_contradiction, &[("count", &disagreeing)])
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## {}\n", t.links_health);
    let mut headers = vec![t.col_site, t.col_medium, t.col_provider, t.col_uplinks];
    let family_headers: Vec<String> = [Family::Ipv4, Family::Ipv6]
        .iter()
        .flat_map(|f| {
            let family = family_label(*f);
            [t.col_availability, t.col_rtt, t.col_loss].map(|h| fill(h, &[("family", &family)]))
        })
        .collect();
    headers.extend(family_headers.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = l
        .sites
        .iter()
        .filter(|s| s.link != LinkMedium::None)
        .map(|s| {
            let mut row = vec![
                s.name.clone(),
                t.medium(s.link).to_owned(),
                s.provider.clone().unwrap_or_default(),
                super::text::ids(t, &s.uplinks),
            ];
            row.extend(health_cells(t, &s.ipv4));
            row.extend(health_cells(t, &s.ipv6));
            row
        })
        .collect();
    md_table(&mut out, &headers, &rows);

    let unlinked: Vec<Vec<String>> = l
        .sites
        .iter()
        .filter(|s| s.link == LinkMedium::None)
        .map(|s| {
            vec![
                s.name.clone(),
                s.planned_link.map(|m| t.medium(m).to_owned()).unwrap_or_default(),
                date(s.planned_date),
            ]
        })
        .collect();
    let _ = writeln!(out, "\n## {} ({})\n", t.links_unlinked, unlinked.len());
    if unlinked.is_empty() {
        let _ = writeln!(out, "{}", t.none_listed);
    } else {
        md_table(&mut out, &[t.col_site, t.col_planned_link, t.col_planned_date], &unlinked);
    }
    let _ = writeln!(out, "\n## {}\n", t.rules);
    for rule in t.links_rules {
        let _ = writeln!(out, "- {rule}");
    }
    out
}
