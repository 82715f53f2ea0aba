//! The indicators report: one ficha per indicator, as the plan lays it out, each value followed
//! by what it counted; as Markdown, JSON and an XLSX workbook (one sheet per ficha and a detail
//! sheet listing every project, device and site behind the figures).

use std::fmt::Write;

use rust_xlsxwriter::XlsxError;
use serde::Serialize;

use super::i18n::{Lang, Strings, fill};
use super::renewal::to_json;
use super::text::{date, ids, instant, md_table, number, opt, percent_value};
use super::xlsx::{Book, Cell};
use crate::indicators::{Components, Ficha, Indicators, ProjectRow, RenewedDevice};
use crate::inventory::IndicatorId;

/// The `schema` field of the JSON document.
pub const SCHEMA: &str = "vigia.indicators/1";

/// The JSON document (see docs/reports.md).
pub fn json(r: &Indicators) -> Vec<u8> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a Indicators,
    }
    to_json(&Doc { schema: SCHEMA, body: r })
}

/// One ficha line: its label, its text, its typed cell.
struct Line {
    label: String,
    text: String,
    cell: Cell,
}

fn line(label: impl Into<String>, text: impl Into<String>, cell: Cell) -> Line {
    Line { label: label.into(), text: text.into(), cell }
}

fn or_not_recorded(t: &Strings, s: &Option<String>) -> (String, Cell) {
    match s {
        Some(s) => (s.clone(), Cell::text(s.clone())),
        None => (t.not_recorded.to_owned(), Cell::text(t.not_recorded)),
    }
}

fn period_text(t: &Strings, f: &Ficha) -> String {
    let p = &f.period;
    let template = if p.complete { t.period_complete } else { t.period_partial };
    fill(template, &[("from", &p.from), ("to", &p.to)])
}

fn formula_text(t: &Strings, c: &Components) -> String {
    match c.percent {
        Some(p) => fill(
            t.formula_result,
            &[
                ("improved", &c.improved),
                ("evaluated", &c.evaluated),
                ("percent", &percent_value(t, p)),
            ],
        ),
        None => t.formula_empty.to_owned(),
    }
}

fn ficha_lines(t: &Strings, f: &Ficha, components: Option<&Components>) -> Vec<Line> {
    let year = f.period.year;
    let mut lines = Vec::new();
    let text = |s: &Option<String>| or_not_recorded(t, s);
    let (objective, c) = text(&f.objective);
    lines.push(line(t.f_objective, objective, c));
    let (action, c) = text(&f.action);
    lines.push(line(t.f_action, action, c));
    let name = f.name.as_ref().map(|n| format!("{} — {n}", f.indicator));
    let (indicator, c) = text(&name.or_else(|| Some(f.indicator.to_string())));
    lines.push(line(t.f_indicator, indicator, c));
    let (formula, c) = text(&f.formula);
    lines.push(line(t.f_formula, formula, c));
    let target_label = fill(t.f_target, &[("year", &year)]);
    match f.target {
        Some(target) => lines.push(line(target_label, number(target), Cell::Number(target))),
        None => {
            let none = fill(t.no_target, &[("year", &year)]);
            lines.push(line(target_label, none.clone(), Cell::text(none)));
        }
    }
    if let Some(note) = &f.target_note {
        lines.push(line(t.f_target_note, note.clone(), Cell::text(note.clone())));
    }
    let value_template = match f.indicator {
        IndicatorId::Ae703 => t.value_projects,
        IndicatorId::Ae704 => t.value_devices,
    };
    lines.push(line(
        t.f_value,
        fill(value_template, &[("value", &f.value)]),
        Cell::Number(f.value as f64),
    ));
    lines.push(line(t.f_counted, ids(t, &f.counted), Cell::text(ids(t, &f.counted))));
    match f.progress_percent {
        Some(p) => lines.push(line(
            t.f_progress,
            fill(t.progress_of_target, &[("percent", &percent_value(t, p))]),
            Cell::Percent(p / 100.0),
        )),
        None => lines.push(line(t.f_progress, t.no_progress, Cell::text(t.no_progress))),
    }
    if let Some(c) = components {
        lines.push(line(
            t.f_formula_result,
            formula_text(t, c),
            Cell::opt_percent(c.percent.map(|p| p / 100.0)),
        ));
    }
    let period = period_text(t, f);
    lines.push(line(t.f_period, period.clone(), Cell::text(period)));
    let (source, c) = text(&f.source);
    lines.push(line(t.f_source, source, c));
    let (responsible, c) = text(&f.responsible);
    lines.push(line(t.f_responsible, responsible, c));
    lines
}

fn project_rows(t: &Strings, projects: &[ProjectRow]) -> Vec<Vec<String>> {
    projects
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                p.name.clone(),
                t.status(p.status).to_owned(),
                date(p.implemented_on),
                p.budget_pen.map(number).unwrap_or_default(),
                p.priority.map(|n| n.to_string()).unwrap_or_default(),
                t.yes_no(p.counted).to_owned(),
            ]
        })
        .collect()
}

fn project_headers(t: &Strings) -> [&'static str; 7] {
    [
        t.col_project,
        t.col_name,
        t.col_status,
        t.col_implemented_on,
        t.col_budget,
        t.col_plan_priority,
        t.col_counts,
    ]
}

fn renewed_rows(t: &Strings, devices: &[RenewedDevice]) -> Vec<Vec<String>> {
    devices
        .iter()
        .map(|d| {
            vec![
                d.device.clone(),
                d.site.clone(),
                t.class(d.class).to_owned(),
                d.renewed.to_string(),
                opt(&d.replaces),
            ]
        })
        .collect()
}

/// The Markdown report.
pub fn markdown(r: &Indicators, lang: Lang) -> String {
    let t = lang.t();
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", fill(t.indicators_title, &[("year", &r.period.year)]));
    let _ = writeln!(out, "{}: {}\n", t.f_period, period_text(t, &r.ae703.ficha));

    let ficha = |out: &mut String, f: &Ficha, c: Option<&Components>| {
        let title =
            f.name.as_ref().map_or(f.indicator.to_string(), |n| format!("{} — {n}", f.indicator));
        let _ = writeln!(out, "## {title}\n");
        let rows: Vec<Vec<String>> =
            ficha_lines(t, f, c).into_iter().map(|l| vec![l.label, l.text]).collect();
        md_table(out, &[t.col_field, t.col_value], &rows);
    };

    ficha(&mut out, &r.ae703.ficha, Some(&r.ae703.components));
    let _ = writeln!(out, "\n### {}\n", t.projects);
    md_table(&mut out, &project_headers(t), &project_rows(t, &r.ae703.projects));
    let c = &r.ae703.components;
    let _ = writeln!(out, "\n### {}\n", t.components);
    let _ = writeln!(out, "{}\n", formula_text(t, c));
    let list = |label: &str, count: usize, items: String| {
        format!("- {}: {items}\n", fill(label, &[("count", &count)]))
    };
    out.push_str(&list(
        t.c_devices_evaluated,
        c.devices_evaluated.len(),
        ids(t, &c.devices_evaluated),
    ));
    out.push_str(&list(t.c_sites_evaluated, c.sites_evaluated.len(), ids(t, &c.sites_evaluated)));
    let improved: Vec<String> = c.devices_improved.iter().map(|d| d.device.clone()).collect();
    out.push_str(&list(t.c_devices_improved, improved.len(), ids(t, &improved)));
    let upgrades: Vec<String> = c
        .sites_improved
        .iter()
        .map(|u| {
            fill(
                t.upgrade,
                &[("site", &u.site), ("from", &t.medium(u.from)), ("to", &t.medium(u.to))],
            )
        })
        .collect();
    out.push_str(&list(t.c_sites_improved, upgrades.len(), ids(t, &upgrades)));
    let when =
        |at: Option<chrono::DateTime<chrono::Utc>>| at.map_or_else(|| "—".to_owned(), instant);
    let _ = writeln!(
        out,
        "\n{}\n",
        fill(
            t.c_baseline,
            &[
                ("kind", &t.baseline(c.baseline.kind)),
                ("start", &when(c.baseline.start)),
                ("end", &when(c.baseline.end)),
            ],
        )
    );

    ficha(&mut out, &r.ae704.ficha, None);
    let _ = writeln!(out, "\n### {}\n", t.renewed_devices);
    if r.ae704.renewed.is_empty() {
        let _ = writeln!(out, "{}", t.none_listed);
    } else {
        md_table(
            &mut out,
            &[t.col_device, t.col_site, t.col_class, t.col_renewed, t.col_replaces],
            &renewed_rows(t, &r.ae704.renewed),
        );
    }
    if !r.ae704.projects.is_empty() {
        let _ = writeln!(out, "\n### {}\n", t.projects);
        md_table(&mut out, &project_headers(t), &project_rows(t, &r.ae704.projects));
    }
    let _ = writeln!(out, "\n## {}\n", t.rules);
    for rule in t.indicator_rules {
        let _ = writeln!(out, "- {rule}");
    }
    out
}

/// The workbook: one sheet per ficha, then the detail of everything counted.
pub fn xlsx(r: &Indicators, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let t = lang.t();
    let created = r.period.to.and_time(chrono::NaiveTime::MIN).and_utc();
    let mut book = Book::new(created);
    for (f, c) in [(&r.ae703.ficha, Some(&r.ae703.components)), (&r.ae704.ficha, None)] {
        let rows: Vec<Vec<Cell>> =
            ficha_lines(t, f, c).into_iter().map(|l| vec![Cell::text(l.label), l.cell]).collect();
        book.table(f.indicator.as_str(), &[t.col_field, t.col_value], &rows)?;
    }

    let [k_project, k_dev_eval, k_site_eval, k_dev_impr, k_site_impr, k_renewed] = t.kinds;
    let mut rows = Vec::new();
    let mut row = |ind: IndicatorId,
                   kind: &str,
                   id: &str,
                   name: String,
                   day,
                   counts: Option<bool>,
                   note: String| {
        rows.push(vec![
            Cell::text(ind.as_str()),
            Cell::text(kind),
            Cell::text(id),
            Cell::text(name),
            Cell::opt_date(day),
            counts.map_or(Cell::Empty, |c| Cell::text(t.yes_no(c))),
            Cell::text(note),
        ]);
    };
    let device_name = |class, site: &str| format!("{} · {site}", t.class(class));
    let c = &r.ae703.components;
    for (ind, projects) in
        [(IndicatorId::Ae703, &r.ae703.projects), (IndicatorId::Ae704, &r.ae704.projects)]
    {
        for p in projects {
            row(
                ind,
                k_project,
                &p.id,
                p.name.clone(),
                p.implemented_on,
                Some(p.counted),
                t.status(p.status).to_owned(),
            );
        }
    }
    for d in &c.devices_improved {
        row(
            IndicatorId::Ae703,
            k_dev_impr,
            &d.device,
            device_name(d.class, &d.site),
            Some(d.renewed),
            Some(true),
            opt(&d.replaces),
        );
    }
    for u in &c.sites_improved {
        let note = fill(
            t.upgrade,
            &[("site", &u.site), ("from", &t.medium(u.from)), ("to", &t.medium(u.to))],
        );
        row(IndicatorId::Ae703, k_site_impr, &u.site, u.name.clone(), None, Some(true), note);
    }
    for id in &c.devices_evaluated {
        row(IndicatorId::Ae703, k_dev_eval, id, String::new(), None, None, String::new());
    }
    for id in &c.sites_evaluated {
        row(IndicatorId::Ae703, k_site_eval, id, String::new(), None, None, String::new());
    }
    for d in &r.ae704.renewed {
        row(
            IndicatorId::Ae704,
            k_renewed,
            &d.device,
            device_name(d.class, &d.site),
            Some(d.renewed),
            Some(true),
            opt(&d.replaces),
        );
    }
    book.table(
        t.detail,
        &[t.col_indicator, t.col_kind, t.col_id, t.col_name, t.col_date, t.col_counts, t.col_note],
        &rows,
    )?;
    book.finish()
}
