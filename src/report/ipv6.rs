//! The IPv6 coverage report: plain text (for `vigia check ipv6` and terminals), JSON (for cron
//! and pipelines; stable, documented in docs/reports.md), the Markdown sites × classes matrix
//! for people, CSV (one row per device in scope) and an XLSX workbook (that table, then one
//! sheet per table of the Markdown report).

use std::borrow::Cow;
use std::fmt::Write;

use chrono::NaiveDate;
use rust_xlsxwriter::XlsxError;
use serde::Serialize;

use super::i18n::{Lang, Strings, col, fill};
use super::renewal::to_json;
use super::table::{self, Cell, Doc, row};
use super::text::{instant, pct};
use super::xlsx::Book;
use crate::inventory::DeviceId;
use crate::ipv6::{CheckOutcome, Coverage, DeviceIpv6, Stage, Stages, Tally};

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

/// How many IPv6 stages there are: one column each.
const STAGES: usize = Stage::ALL.len();

/// The stage columns' headers: the stage names.
fn stage_headers(lang: Lang) -> [Cow<'static, str>; STAGES] {
    std::array::from_fn(|i| lang.t().stage(Stage::ALL[i]).into())
}

fn stage_cells(t: &Strings, s: &Stages) -> [String; STAGES] {
    std::array::from_fn(|i| tally(t, s.get(Stage::ALL[i])))
}

row! {
    /// One stage of the overall coverage.
    struct OverallRow {
        stage: &'static str = ("Etapa", "Stage"),
        passed: usize = ("Cumplen", "Passed"),
        of: usize = ("De", "Of"),
        coverage: Cell = ("Cobertura", "Coverage"),
    }
}

row! {
    /// A site's coverage by stage.
    struct SiteRow {
        /// The site's name.
        site: String = col::SITE,
        link: &'static str = ("Enlace", "Link"),
        stages: [String; STAGES] = stage_headers,
    }
}

row! {
    /// A class's coverage by stage.
    struct ClassRow {
        class: &'static str = col::CLASS,
        stages: [String; STAGES] = stage_headers,
    }
}

row! {
    /// One cell of the sites × classes matrix.
    struct MatrixRow {
        /// The site's name.
        site: String = col::SITE,
        class: &'static str = col::CLASS,
        devices: usize = ("Equipos", "Devices"),
        stages: [String; STAGES] = stage_headers,
    }
}

row! {
    /// A device overdue against its `ipv6_planned` day.
    struct OverdueRow {
        device: DeviceId = col::DEVICE,
        /// The site's name.
        site: String = col::SITE,
        class: &'static str = col::CLASS,
        planned: Option<NaiveDate> = ("IPv6 previsto", "IPv6 planned"),
        days_overdue: Option<i64> = ("Días de atraso", "Days overdue"),
    }
}

row! {
    /// A device configured for IPv6 that does not answer over it while IPv4 does.
    struct BrokenRow {
        device: DeviceId = col::DEVICE,
        /// The site's name.
        site: String = col::SITE,
        class: &'static str = col::CLASS,
        address: Option<String> = ("Dirección IPv6", "IPv6 address"),
        icmp6: String = ("Último ICMPv6", "Latest ICMPv6"),
    }
}

row! {
    /// A device in scope and where it stands, stage by stage: the CSV, and the workbook's
    /// first sheet.
    struct DeviceRow {
        device: DeviceId = col::DEVICE,
        /// The site's name.
        site: String = col::SITE,
        class: &'static str = col::CLASS,
        address: Option<String> = ("Dirección IPv6", "IPv6 address"),
        /// Passed, not passed, or not counted (SNMP for an ICMP-only device).
        stages: [&'static str; STAGES] = stage_headers,
        planned: Option<NaiveDate> = ("IPv6 previsto", "IPv6 planned"),
        days_overdue: Option<i64> = ("Días de atraso", "Days overdue"),
        broken: &'static str = ("Configurado sin respuesta IPv6", "Configured, IPv6 not answering"),
        icmp6: String = ("Último ICMPv6", "Latest ICMPv6"),
    }
}

/// The latest ICMPv6 result: its outcome and when.
fn latest_icmp6(d: &DeviceIpv6) -> String {
    match (&d.icmp6_outcome, d.icmp6_at) {
        (Some(o), Some(at)) => format!("{o} ({})", instant(at)),
        _ => String::new(),
    }
}

fn device_rows<'a>(t: &'a Strings, c: &'a Coverage) -> impl Iterator<Item = DeviceRow> + 'a {
    c.devices.iter().map(move |d| DeviceRow {
        device: d.device.clone(),
        site: site_name(c, &d.site),
        class: t.class(d.class),
        address: d.address.map(|a| a.to_string()),
        stages: std::array::from_fn(|i| {
            let stage = Stage::ALL[i];
            if !d.eligible(stage) { t.not_applicable } else { t.yes_no(d.passes(stage)) }
        }),
        planned: d.ipv6_planned,
        days_overdue: d.days_overdue,
        broken: t.yes_no(d.broken),
        icmp6: latest_icmp6(d),
    })
}

fn site_name(c: &Coverage, id: &str) -> String {
    c.sites.iter().find(|s| s.site == id).map(|s| s.name.clone()).unwrap_or_default()
}

/// One row per device in scope, the header first.
pub fn csv(c: &Coverage, lang: Lang) -> String {
    let mut out = String::new();
    table::csv(&mut out, lang, device_rows(lang.t(), c));
    out
}

/// The workbook: the devices, then each table of the Markdown report.
pub fn xlsx(c: &Coverage, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let t = lang.t();
    let s = sections(t, c);
    let [devices, overall, matrix, by_site, by_class, overdue, broken] = t.ipv6_sheets;
    let mut book = Book::new(c.as_of.instant);
    book.sheet(devices, lang, device_rows(t, c))?;
    book.sheet(overall, lang, s.overall)?;
    book.sheet(matrix, lang, matrix_rows(t, c))?;
    book.sheet(by_site, lang, s.sites)?;
    book.sheet(by_class, lang, s.classes)?;
    book.sheet(overdue, lang, s.overdue)?;
    book.sheet(broken, lang, s.broken)?;
    book.finish()
}

struct Sections {
    overall: Vec<OverallRow>,
    sites: Vec<SiteRow>,
    classes: Vec<ClassRow>,
    overdue: Vec<OverdueRow>,
    broken: Vec<BrokenRow>,
}

fn sections(t: &Strings, c: &Coverage) -> Sections {
    let site_name = |id: &str| site_name(c, id);
    Sections {
        overall: Stage::ALL
            .iter()
            .map(|st| {
                let x = c.stages.get(*st);
                OverallRow {
                    stage: t.stage(*st),
                    passed: x.passed,
                    of: x.eligible,
                    coverage: Cell::percent_or(x.ratio(), t.no_data),
                }
            })
            .collect(),
        sites: c
            .sites
            .iter()
            .map(|s| SiteRow {
                site: s.name.clone(),
                link: t.link_label(s.link),
                stages: stage_cells(t, &s.stages),
            })
            .collect(),
        classes: c
            .classes
            .iter()
            .map(|k| ClassRow { class: t.class(k.class), stages: stage_cells(t, &k.stages) })
            .collect(),
        overdue: c
            .overdue()
            .map(|d| OverdueRow {
                device: d.device.clone(),
                site: site_name(&d.site),
                class: t.class(d.class),
                planned: d.ipv6_planned,
                days_overdue: d.days_overdue,
            })
            .collect(),
        broken: c
            .broken()
            .map(|d| BrokenRow {
                device: d.device.clone(),
                site: site_name(&d.site),
                class: t.class(d.class),
                address: d.address.map(|a| a.to_string()),
                icmp6: latest_icmp6(d),
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
    table::text(&mut out, lang, s.overall);
    let _ = writeln!(out, "\n{}", t.ipv6_by_site);
    table::text(&mut out, lang, s.sites);
    let _ = writeln!(out, "\n{}", t.ipv6_by_class);
    table::text(&mut out, lang, s.classes);
    let _ = writeln!(out, "\n{}: {}", t.ipv6_overdue, s.overdue.len());
    if !s.overdue.is_empty() {
        table::text(&mut out, lang, s.overdue);
    }
    let _ = writeln!(out, "\n{}: {}", t.ipv6_broken, s.broken.len());
    if !s.broken.is_empty() {
        table::text(&mut out, lang, s.broken);
    }
    if let Some(check) = check {
        let _ = writeln!(out, "\n{}: {}", t.check, check_line(t, check));
    }
    out
}

/// The sites × classes matrix, sites in inventory order.
fn matrix_rows(t: &Strings, c: &Coverage) -> Vec<MatrixRow> {
    let mut rows = Vec::new();
    for site in &c.sites {
        for cell in c.matrix.iter().filter(|m| m.site == site.site) {
            rows.push(MatrixRow {
                site: site.name.clone(),
                class: t.class(cell.class),
                devices: cell.stages.configured.eligible,
                stages: stage_cells(t, &cell.stages),
            });
        }
    }
    rows
}

/// The Markdown report with the sites × classes matrix.
pub fn markdown(c: &Coverage, lang: Lang) -> String {
    let mut out = String::new();
    write(&mut out, c, lang);
    out
}

/// The report as HTML (the console's page): the same document, tables from the same rows.
pub fn html(c: &Coverage, lang: Lang) -> String {
    let mut out = super::html::Html::default();
    write(&mut out, c, lang);
    out.finish()
}

/// The report's document, in Markdown or HTML.
fn write<D: Doc>(out: &mut D, c: &Coverage, lang: Lang) {
    let t = lang.t();
    let s = sections(t, c);
    let _ = writeln!(out, "# {}\n", t.ipv6_title);
    for line in header_lines(t, c).lines() {
        let _ = writeln!(out, "{line}  ");
    }
    let _ = writeln!(out, "\n## {}\n", t.ipv6_overall);
    out.table(lang, s.overall);

    let _ = writeln!(out, "\n## {}\n", t.ipv6_matrix);
    out.table(lang, matrix_rows(t, c));

    let _ = writeln!(out, "\n## {}\n", t.ipv6_by_site);
    out.table(lang, s.sites);
    let _ = writeln!(out, "\n## {}\n", t.ipv6_by_class);
    out.table(lang, s.classes);

    let _ = writeln!(out, "\n## {}: {}\n", t.ipv6_overdue, s.overdue.len());
    if s.overdue.is_empty() {
        let _ = writeln!(out, "{}", t.none_listed);
    } else {
        out.table(lang, s.overdue);
    }
    let _ = writeln!(out, "\n## {}: {}\n", t.ipv6_broken, s.broken.len());
    if s.broken.is_empty() {
        let _ = writeln!(out, "{}", t.none_listed);
    } else {
        out.table(lang, s.broken);
    }
    let _ = writeln!(out, "\n## {}\n", t.rules);
    for rule in t.ipv6_rules {
        let _ = writeln!(out, "- {rule}");
    }
}
