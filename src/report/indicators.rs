//! The indicators report: one ficha per indicator, as the plan lays it out, each value followed
//! by what it counted; as Markdown, JSON and an XLSX workbook (one sheet per ficha and a detail
//! sheet listing every project, device and site behind the figures).

use rust_xlsxwriter::XlsxError;
use serde::Serialize;

use chrono::NaiveDate;

use super::i18n::{Lang, Strings, col, fill};
use super::renewal::to_json;
use super::table::{self, Cell, Doc, row};
use super::text::{ids, instant, opt, percent_value};
use super::xlsx::Book;
use crate::indicators::{Components, Ficha, Indicators, ProjectRow};
use crate::inventory::{DeviceId, IndicatorId, ProjectId, SiteId};

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

row! {
    /// One field of a ficha: its label and its value (a phrase in text formats, the typed
    /// value in the workbook).
    struct FichaLine {
        field: String = ("Campo", "Field"),
        value: Cell = col::VALUE,
    }
}

fn line(label: impl Into<String>, value: Cell) -> FichaLine {
    FichaLine { field: label.into(), value }
}

/// `value` spelt as `text` in text formats.
fn phrase(value: Cell, text: String) -> Cell {
    Cell::Phrase(Box::new(value), text)
}

fn or_not_recorded(t: &Strings, s: &Option<String>) -> Cell {
    Cell::text(s.as_deref().unwrap_or(t.not_recorded))
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

fn ficha_lines(t: &Strings, f: &Ficha, components: Option<&Components>) -> Vec<FichaLine> {
    let year = f.period.year;
    let text = |s: &Option<String>| or_not_recorded(t, s);
    let name = f.name.as_ref().map(|n| format!("{} — {n}", f.indicator));
    let mut lines = vec![
        line(t.f_objective, text(&f.objective)),
        line(t.f_action, text(&f.action)),
        line(t.f_indicator, text(&name.or_else(|| Some(f.indicator.to_string())))),
        line(t.f_formula, text(&f.formula)),
    ];
    let target_label = fill(t.f_target, &[("year", &year)]);
    match f.target {
        Some(target) => lines.push(line(target_label, Cell::Number(target))),
        None => lines.push(line(target_label, Cell::text(fill(t.no_target, &[("year", &year)])))),
    }
    if let Some(note) = &f.target_note {
        lines.push(line(t.f_target_note, Cell::text(note.clone())));
    }
    let value_template = match f.indicator {
        IndicatorId::Ae703 => t.value_projects,
        IndicatorId::Ae704 => t.value_devices,
    };
    lines.push(line(
        t.f_value,
        phrase(Cell::Number(f.value as f64), fill(value_template, &[("value", &f.value)])),
    ));
    lines.push(line(t.f_counted, Cell::text(ids(t, &f.counted))));
    match f.progress_percent {
        Some(p) => lines.push(line(
            t.f_progress,
            phrase(
                Cell::Percent(p / 100.0),
                fill(t.progress_of_target, &[("percent", &percent_value(t, p))]),
            ),
        )),
        None => lines.push(line(t.f_progress, Cell::text(t.no_progress))),
    }
    if let Some(c) = components {
        let value = c.percent.map_or(Cell::Empty, |p| Cell::Percent(p / 100.0));
        lines.push(line(t.f_formula_result, phrase(value, formula_text(t, c))));
    }
    lines.push(line(t.f_period, Cell::text(period_text(t, f))));
    lines.push(line(t.f_source, text(&f.source)));
    lines.push(line(t.f_responsible, text(&f.responsible)));
    lines
}

row! {
    /// A project of an indicator.
    struct ProjectLine {
        project: ProjectId = ("Proyecto", "Project"),
        name: String = col::NAME,
        status: &'static str = ("Estado", "Status"),
        implemented_on: Option<NaiveDate> = ("Implementado el", "Implemented on"),
        budget: Option<f64> = ("Presupuesto (S/)", "Budget (S/)"),
        priority: Option<u32> = ("Prioridad del plan", "Plan priority"),
        counts: &'static str = col::COUNTS,
    }
}

fn project_lines<'a>(
    t: &'a Strings,
    projects: &'a [ProjectRow],
) -> impl Iterator<Item = ProjectLine> + 'a {
    projects.iter().map(|p| ProjectLine {
        project: p.id.clone(),
        name: p.name.clone(),
        status: t.status(p.status),
        implemented_on: p.implemented_on,
        budget: p.budget_pen,
        priority: p.priority,
        counts: t.yes_no(p.counted),
    })
}

row! {
    /// A replacement detected in the period, not yet recorded by the inventory.
    struct DetectedLine {
        device: DeviceId = col::DEVICE,
        site: SiteId = col::SITE,
        at: String = ("Detectado el", "Detected on"),
        old_serial: String = ("Serie anterior", "Old serial"),
        new_serial: String = ("Serie nueva", "New serial"),
        new_model: Option<String> = ("Modelo nuevo", "New model"),
    }
}

row! {
    /// A device renewed in the period.
    struct RenewedLine {
        device: DeviceId = col::DEVICE,
        site: SiteId = col::SITE,
        class: &'static str = col::CLASS,
        renewed: NaiveDate = ("Renovado el", "Renewed on"),
        replaces: Option<DeviceId> = ("Reemplaza a", "Replaces"),
    }
}

row! {
    /// One item behind the figures, in the workbook's detail sheet.
    struct DetailRow {
        indicator: &'static str = ("Indicador", "Indicator"),
        kind: &'static str = ("Tipo", "Kind"),
        id: String = ("Id", "Id"),
        name: String = col::NAME,
        date: Option<NaiveDate> = ("Fecha", "Date"),
        counts: Option<&'static str> = col::COUNTS,
        note: String = ("Nota", "Note"),
    }
}

/// The Markdown report.
pub fn markdown(r: &Indicators, lang: Lang) -> String {
    let mut out = String::new();
    write(&mut out, r, lang);
    out
}

/// The report as HTML (the console's page): the same document, tables from the same rows.
pub fn html(r: &Indicators, lang: Lang) -> String {
    let mut out = super::html::Html::default();
    write(&mut out, r, lang);
    out.finish()
}

/// The report's document, in Markdown or HTML.
fn write<D: Doc>(out: &mut D, r: &Indicators, lang: Lang) {
    let t = lang.t();
    let _ = writeln!(out, "# {}\n", fill(t.indicators_title, &[("year", &r.period.year)]));
    let _ = writeln!(out, "{}: {}\n", t.f_period, period_text(t, &r.ae703.ficha));

    let ficha = |out: &mut D, f: &Ficha, c: Option<&Components>| {
        let title =
            f.name.as_ref().map_or(f.indicator.to_string(), |n| format!("{} — {n}", f.indicator));
        let _ = writeln!(out, "## {title}\n");
        out.table(lang, ficha_lines(t, f, c));
    };

    ficha(out, &r.ae703.ficha, Some(&r.ae703.components));
    let _ = writeln!(out, "\n### {}\n", t.projects);
    out.table(lang, project_lines(t, &r.ae703.projects));
    let c = &r.ae703.components;
    let _ = writeln!(out, "\n### {}\n", t.components);
    let _ = writeln!(out, "{}\n", formula_text(t, c));
    let list = |label: &str, count: usize, items: String| {
        format!("- {}: {items}\n", fill(label, &[("count", &count)]))
    };
    write_str(
        out,
        &list(t.c_devices_evaluated, c.devices_evaluated.len(), ids(t, &c.devices_evaluated)),
    );
    write_str(out, &list(t.c_sites_evaluated, c.sites_evaluated.len(), ids(t, &c.sites_evaluated)));
    let improved: Vec<DeviceId> = c.devices_improved.iter().map(|d| d.device.clone()).collect();
    write_str(out, &list(t.c_devices_improved, improved.len(), ids(t, &improved)));
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
    write_str(out, &list(t.c_sites_improved, upgrades.len(), ids(t, &upgrades)));
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

    ficha(out, &r.ae704.ficha, None);
    let _ = writeln!(out, "\n### {}\n", t.renewed_devices);
    if r.ae704.renewed.is_empty() {
        let _ = writeln!(out, "{}", t.none_listed);
    } else {
        let rows = r.ae704.renewed.iter().map(|d| RenewedLine {
            device: d.device.clone(),
            site: d.site.clone(),
            class: t.class(d.class),
            renewed: d.renewed,
            replaces: d.replaces.clone(),
        });
        out.table(lang, rows);
    }
    if !r.ae704.detected.is_empty() {
        let _ = writeln!(out, "\n### {}\n\n{}\n", t.detected_replacements, t.detected_note);
        let rows = r.ae704.detected.iter().map(|d| DetectedLine {
            device: d.device.clone(),
            site: d.site.clone(),
            at: super::text::instant(d.at),
            old_serial: d.old_serial.clone(),
            new_serial: d.new_serial.clone(),
            new_model: d.new_model.clone(),
        });
        out.table(lang, rows);
    }
    if !r.ae704.projects.is_empty() {
        let _ = writeln!(out, "\n### {}\n", t.projects);
        out.table(lang, project_lines(t, &r.ae704.projects));
    }
    let _ = writeln!(out, "\n## {}\n", t.rules);
    for rule in t.indicator_rules {
        let _ = writeln!(out, "- {rule}");
    }
}

/// Every project, device and site behind the figures, for the detail sheet.
fn detail_rows(t: &Strings, r: &Indicators) -> Vec<DetailRow> {
    let [k_project, k_dev_eval, k_site_eval, k_dev_impr, k_site_impr, k_renewed, k_detected] =
        t.kinds;
    let mut rows = Vec::new();
    let mut row = |ind: IndicatorId,
                   kind: &'static str,
                   id: &str,
                   name: String,
                   date,
                   counts: Option<bool>,
                   note: String| {
        rows.push(DetailRow {
            indicator: ind.as_str(),
            kind,
            id: id.to_owned(),
            name,
            date,
            counts: counts.map(|c| t.yes_no(c)),
            note,
        });
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
    // Detected, never counted: the serials in the note, the day it was first seen.
    for d in &r.ae704.detected {
        let note = format!("{} → {}", d.old_serial, d.new_serial);
        let name = d.new_model.clone().unwrap_or_default();
        let on = Some(d.at.date_naive());
        row(IndicatorId::Ae704, k_detected, &d.device, name, on, Some(false), note);
    }
    rows
}

/// The workbook: one sheet per ficha, then the detail of everything counted.
pub fn xlsx(r: &Indicators, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let t = lang.t();
    let created = r.period.to.and_time(chrono::NaiveTime::MIN).and_utc();
    let mut book = Book::new(created);
    for (f, c) in [(&r.ae703.ficha, Some(&r.ae703.components)), (&r.ae704.ficha, None)] {
        book.sheet(f.indicator.as_str(), lang, ficha_lines(t, f, c))?;
    }

    book.sheet(t.detail, lang, detail_rows(t, r))?;
    book.finish()
}

/// The items behind the figures (the workbook's detail sheet), one row each, the header first.
pub fn csv(r: &Indicators, lang: Lang) -> String {
    let mut out = String::new();
    table::csv(&mut out, lang, detail_rows(lang.t(), r));
    out
}

/// Appends `s` to a document (writing to one never fails).
fn write_str<D: Doc>(out: &mut D, s: &str) {
    let _ = out.write_str(s);
}
