//! The IPv6 coverage report: plain text (for `vigia check ipv6` and terminals), JSON (for cron
//! and pipelines; stable, documented in docs/reports.md) and the Markdown sites × classes
//! matrix for people.

use std::fmt::Write;

use serde::Serialize;

use super::i18n::{Lang, Strings, fill};
use super::renewal::to_json;
use super::text::{date, instant, md_table, pct, text_table};
use crate::ipv6::{CheckOutcome, Coverage, Stage, Stages, Tally};

/// The `schema` field of the JSON document.
pub const SCHEMA: &str = "vigia.ipv6/1";

/// The JSON document; `check` is `null` unless a threshold was checked.
pub fn json(c: &Coverage, check: Option<&CheckOutcome>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a Coverage,
        overdue: Vec<&'a str>,
        broken: Vec<&'a str>,
        check: Option<&'a CheckOutcome>,
    }
    to_json(&Doc {
        schema: SCHEMA,
        body: c,
        overdue: c.overdue().map(|d| d.device.as_str()).collect(),
        broken: c.broken().map(|d| d.device.as_str()).collect(),
        check,
    })
}

fn tally(t: &Strings, x: Tally) -> String {
    if x.eligible == 0 {
        return t.tally_empty.to_owned();
    }
    fill(
        t.tally,
        &[("passed", &x.passed), ("eligible", &x.eligible), ("percent", &pct(t, x.ratio()))],
    )
}

fn stage_headers(t: &Strings) -> Vec<&'static str> {
    Stage::ALL.iter().map(|s| t.stage(*s)).collect()
}

fn stage_cells(t: &Strings, s: &Stages) -> Vec<String> {
    Stage::ALL.iter().map(|st| tally(t, s.get(*st))).collect()
}

fn overall_rows(t: &Strings, s: &Stages) -> Vec<Vec<String>> {
    Stage::ALL
        .iter()
        .map(|st| {
            let x = s.get(*st);
            vec![
                t.stage(*st).to_owned(),
                x.passed.to_string(),
                x.eligible.to_string(),
                pct(t, x.ratio()),
            ]
        })
        .collect()
}

struct Sections {
    overall: Vec<Vec<String>>,
    sites: Vec<Vec<String>>,
    classes: Vec<Vec<String>>,
    overdue: Vec<Vec<String>>,
    broken: Vec<Vec<String>>,
}

fn sections(t: &Strings, c: &Coverage) -> Sections {
    let site_name = |id: &str| {
        c.sites.iter().find(|s| s.site == id).map(|s| s.name.clone()).unwrap_or_default()
    };
    Sections {
        overall: overall_rows(t, &c.stages),
        sites: c
            .sites
            .iter()
            .map(|s| {
                let mut row = vec![s.name.clone(), t.link_label(s.link).to_owned()];
                row.extend(stage_cells(t, &s.stages));
                row
            })
            .collect(),
        classes: c
            .classes
            .iter()
            .map(|k| {
                let mut row = vec![t.class(k.class).to_owned()];
                row.extend(stage_cells(t, &k.stages));
                row
            })
            .collect(),
        overdue: c
            .overdue()
            .map(|d| {
                vec![
                    d.device.clone(),
                    site_name(&d.site),
                    t.class(d.class).to_owned(),
                    date(d.ipv6_planned),
                    d.days_overdue.map(|n| n.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
        broken: c
            .broken()
            .map(|d| {
                let latest = match (&d.icmp6_outcome, d.icmp6_at) {
                    (Some(o), Some(at)) => format!("{o} ({})", instant(at)),
                    _ => String::new(),
                };
                vec![
                    d.device.clone(),
                    site_name(&d.site),
                    t.class(d.class).to_owned(),
                    d.address.map(|a| a.to_string()).unwrap_or_default(),
                    latest,
                ]
            })
            .collect(),
    }
}

fn header_lines(t: &Strings, c: &Coverage) -> String {
    let snmp = c.devices.iter().filter(|d| d.snmp_configured).count();
    format!(
        "{}\n{}\n{}",
        fill(t.as_of, &[("date", &c.as_of.date), ("instant", &instant(c.as_of.instant))]),
        fill(t.ipv6_fresh, &[("minutes", &(c.fresh_within_seconds / 60))]),
        fill(t.ipv6_scope, &[("devices", &c.devices.len()), ("snmp", &snmp)]),
    )
}

/// The verdict line of a check.
pub fn check_line(t: &Strings, c: &CheckOutcome) -> String {
    let th = &c.threshold;
    let mut scope = Vec::new();
    if let Some(site) = &th.site {
        scope.push(fill(t.check_site, &[("site", site)]));
    }
    if let Some(class) = th.class {
        scope.push(fill(t.check_class, &[("class", &t.class(class))]));
    }
    let scope = if scope.is_empty() { t.check_all.to_owned() } else { scope.join(", ") };
    fill(
        t.check_line,
        &[
            ("stage", &t.stage(th.stage)),
            ("min", &super::text::number(th.min_percent)),
            ("scope", &scope),
            ("passed", &c.passed),
            ("eligible", &c.eligible),
            ("percent", &pct(t, c.ratio)),
            ("verdict", &if c.pass { t.check_pass } else { t.check_fail }),
        ],
    )
}

/// Plain text for a terminal or a cron mail.
pub fn text(c: &Coverage, check: Option<&CheckOutcome>, lang: Lang) -> String {
    let t = lang.t();
    let s = sections(t, c);
    let mut out = String::new();
    let _ = writeln!(out, "{}\n{}\n", t.ipv6_title, header_lines(t, c));
    let _ = writeln!(out, "{}", t.ipv6_overall);
    text_table(&mut out, &[t.col_stage, t.col_passed, t.col_of, t.col_coverage], &s.overall);
    let mut site_headers = vec![t.col_site, t.col_link];
    site_headers.extend(stage_headers(t));
    let _ = writeln!(out, "\n{}", t.ipv6_by_site);
    text_table(&mut out, &site_headers, &s.sites);
    let mut class_headers = vec![t.col_class];
    class_headers.extend(stage_headers(t));
    let _ = writeln!(out, "\n{}", t.ipv6_by_class);
    text_table(&mut out, &class_headers, &s.classes);
    let _ = writeln!(out, "\n{}: {}", t.ipv6_overdue, s.overdue.len());
    if !s.overdue.is_empty() {
        text_table(
            &mut out,
            &[t.col_device, t.col_site, t.col_class, t.col_planned, t.col_days_overdue],
            &s.overdue,
        );
    }
    let _ = writeln!(out, "\n{}: {}", t.ipv6_broken, s.broken.len());
    if !s.broken.is_empty() {
        text_table(
            &mut out,
            &[t.col_device, t.col_site, t.col_class, t.col_address, t.col_icmp6],
            &s.broken,
        );
    }
    if let Some(check) = check {
        let _ = writeln!(out, "\n{}: {}", t.check, check_line(t, check));
    }
    out
}

/// The Markdown report with the sites × classes matrix.
pub fn markdown(c: &Coverage, lang: Lang) -> String {
    let t = lang.t();
    let s = sections(t, c);
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", t.ipv6_title);
    for line in header_lines(t, c).lines() {
        let _ = writeln!(out, "{line}  ");
    }
    let _ = writeln!(out, "\n## {}\n", t.ipv6_overall);
    md_table(&mut out, &[t.col_stage, t.col_passed, t.col_of, t.col_coverage], &s.overall);

    let _ = writeln!(out, "\n## {}\n", t.ipv6_matrix);
    let mut headers = vec![t.col_site, t.col_class, t.col_devices];
    headers.extend(stage_headers(t));
    let mut rows = Vec::new();
    for site in &c.sites {
        for cell in c.matrix.iter().filter(|m| m.site == site.site) {
            let mut row = vec![
                site.name.clone(),
                t.class(cell.class).to_owned(),
                cell.stages.configured.eligible.to_string(),
            ];
            row.extend(stage_cells(t, &cell.stages));
            rows.push(row);
        }
    }
    md_table(&mut out, &headers, &rows);

    let mut site_headers = vec![t.col_site, t.col_link];
    site_headers.extend(stage_headers(t));
    let _ = writeln!(out, "\n## {}\n", t.ipv6_by_site);
    md_table(&mut out, &site_headers, &s.sites);
    let mut class_headers = vec![t.col_class];
    class_headers.extend(stage_headers(t));
    let _ = writeln!(out, "\n## {}\n", t.ipv6_by_class);
    md_table(&mut out, &class_headers, &s.classes);

    let _ = writeln!(out, "\n## {}: {}\n", t.ipv6_overdue, s.overdue.len());
    if s.overdue.is_empty() {
        let _ = writeln!(out, "{}", t.none_listed);
    } else {
        md_table(
            &mut out,
            &[t.col_device, t.col_site, t.col_class, t.col_planned, t.col_days_overdue],
            &s.overdue,
        );
    }
    let _ = writeln!(out, "\n## {}: {}\n", t.ipv6_broken, s.broken.len());
    if s.broken.is_empty() {
        let _ = writeln!(out, "{}", t.none_listed);
    } else {
        md_table(
            &mut out,
            &[t.col_device, t.col_site, t.col_class, t.col_address, t.col_icmp6],
            &s.broken,
        );
    }
    let _ = writeln!(out, "\n## {}\n", t.rules);
    for rule in t.ipv6_rules {
        let _ = writeln!(out, "- {rule}");
    }
    out
}
