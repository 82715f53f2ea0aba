//! The renewal report: candidates with their evidence, the devices with missing dates, and the
//! policy applied; as Markdown, CSV, JSON and an XLSX workbook.

use chrono::NaiveDate;

use rust_xlsxwriter::XlsxError;
use serde::Serialize;

use super::i18n::{Lang, Strings, col, fill};
use super::table::{self, Doc, row};
use super::text::instant;
use super::xlsx::Book;
use crate::inventory::{DeviceClass, DeviceId, SiteId};
use crate::lifecycle::{Candidate, DeviceFacts, Evidence, Finding, Priority, Renewal};

/// The `schema` field of the JSON document.
pub const SCHEMA: &str = "vigia.renewal/1";

/// The evidence of a finding as a sentence.
pub fn evidence(t: &Strings, f: &Finding, window_days: u32) -> String {
    match &f.evidence {
        Evidence::SupportEnded { end_of_support, days_since } => {
            fill(t.ev_support_ended, &[("date", end_of_support), ("days", days_since)])
        }
        Evidence::SupportEnding { end_of_support, days_left, warning_days } => fill(
            t.ev_support_ending,
            &[("date", end_of_support), ("days", days_left), ("warning", warning_days)],
        ),
        Evidence::TooOld { acquired, age_years, max_age_years, limit_reached_on, .. } => fill(
            t.ev_too_old,
            &[
                ("acquired", acquired),
                ("age", age_years),
                ("max", max_age_years),
                ("limit", limit_reached_on),
            ],
        ),
        Evidence::Unreliable { availability, restarts } => {
            let mut parts = Vec::new();
            if let Some(a) = availability {
                let percent = format!("{:.1}", a.ratio * 100.0);
                parts.push(fill(
                    t.ev_availability,
                    &[
                        ("family", &family_label(a.family)),
                        ("percent", &percent),
                        ("successes", &a.successes),
                        ("polls", &a.polls),
                        ("days", &window_days),
                    ],
                ));
            }
            if let Some(r) = restarts {
                let dates: Vec<String> = r.unexplained.iter().map(|at| instant(*at)).collect();
                parts.push(fill(
                    t.ev_restarts,
                    &[
                        ("count", &r.unexplained.len()),
                        ("days", &window_days),
                        ("dates", &dates.join(", ")),
                        ("explained", &r.explained),
                    ],
                ));
            }
            parts.join(t.list_sep)
        }
        Evidence::Ipv6Overdue { ipv6_planned, days_overdue, configured, latest_icmp } => {
            let head = fill(t.ev_ipv6_overdue, &[("date", ipv6_planned), ("days", days_overdue)]);
            let tail = match (configured, latest_icmp) {
                (false, _) => t.ev_ipv6_no_address.to_owned(),
                (true, Some(l)) => {
                    fill(t.ev_ipv6_failing, &[("outcome", &l.outcome), ("at", &instant(l.at))])
                }
                (true, None) => t.ev_ipv6_no_result.to_owned(),
            };
            format!("{head}{}{tail}", t.list_sep)
        }
    }
}

/// `IPv4` / `IPv6`, as written in prose.
pub fn family_label(f: crate::inventory::Family) -> &'static str {
    match f {
        crate::inventory::Family::Ipv4 => "IPv4",
        crate::inventory::Family::Ipv6 => "IPv6",
    }
}

/// Where the device's dates came from, when the catalogue gave any.
pub fn dates_source(t: &Strings, facts: &DeviceFacts) -> Option<String> {
    let c = facts.catalog.as_ref()?;
    let dates: Vec<&str> = c.dates.iter().map(|f| t.date_field(*f)).collect();
    let mut out = fill(
        t.dates_from_catalog,
        &[
            ("dates", &dates.join(t.list_sep)),
            ("vendor", &c.vendor),
            ("model", &c.model),
            ("at", &c.at),
            ("source", &c.source),
        ],
    );
    if c.by_discovered {
        out.push_str(t.by_discovered);
    }
    Some(out)
}

/// Vendor, model and serial as shown: declared, or discovered and marked so.
fn shown_identity(t: &Strings, f: &DeviceFacts) -> [Option<String>; 3] {
    use super::inventory::shown;
    let d = &f.discovered;
    [
        shown(t, f.vendor.as_deref(), d.vendor.as_deref()),
        shown(t, f.model.as_deref(), d.model.as_deref()),
        shown(t, f.serial.as_deref(), d.serial.as_deref()),
    ]
}

fn missing(t: &Strings, facts: &DeviceFacts) -> String {
    facts.missing.iter().map(|f| t.date_field(*f)).collect::<Vec<_>>().join(t.list_sep)
}

fn reasons(t: &Strings, c: &Candidate) -> String {
    c.findings.iter().map(|f| t.reason(f.reason)).collect::<Vec<_>>().join(t.list_sep)
}

fn evidences(t: &Strings, c: &Candidate, days: u32) -> String {
    c.findings.iter().map(|f| evidence(t, f, days)).collect::<Vec<_>>().join(t.list_sep)
}

/// The JSON document (see docs/reports.md).
pub fn json(r: &Renewal) -> Vec<u8> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a Renewal,
    }
    to_json(&Doc { schema: SCHEMA, body: r })
}

/// Pretty JSON ending with a newline.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).expect("report values serialise");
    out.push(b'\n');
    out
}

/// The Markdown report.
pub fn markdown(r: &Renewal, lang: Lang) -> String {
    let mut out = String::new();
    write(&mut out, r, lang);
    out
}

/// The report as HTML (the console's page): the same document, tables from the same rows.
pub fn html(r: &Renewal, lang: Lang) -> String {
    let mut out = super::html::Html::default();
    write(&mut out, r, lang);
    out.finish()
}

/// The report's document, in Markdown or HTML.
fn write<D: Doc>(out: &mut D, r: &Renewal, lang: Lang) {
    let t = lang.t();
    let days = r.rules.reliability_days;
    let count = |p: Priority| r.candidates.iter().filter(|c| c.priority == p).count();
    let _ = writeln!(out, "# {}\n", t.renewal_title);
    let _ = writeln!(
        out,
        "{}\n",
        fill(t.as_of, &[("date", &r.as_of.date), ("instant", &instant(r.as_of.instant))])
    );
    let _ = writeln!(
        out,
        "{}\n",
        fill(
            t.renewal_summary,
            &[
                ("evaluated", &r.evaluated),
                ("candidates", &r.candidates.len()),
                ("high", &count(Priority::High)),
                ("medium", &count(Priority::Medium)),
                ("low", &count(Priority::Low)),
                ("missing", &r.missing_data.len()),
            ],
        )
    );

    let _ = writeln!(out, "## {}\n", t.candidates);
    if r.candidates.is_empty() {
        let _ = writeln!(out, "{}\n", t.no_candidates);
    } else {
        let rows = r.candidates.iter().enumerate().map(|(i, c)| {
            let findings: Vec<String> = c
                .findings
                .iter()
                .map(|f| format!("{}: {}", t.reason(f.reason), evidence(t, f, days)))
                .collect();
            CandidateLine {
                rank: i + 1,
                priority: t.priority(c.priority),
                score: c.score,
                device: c.facts.device.clone(),
                site: c.facts.site_name.clone(),
                class: t.class(c.facts.class),
                findings: findings.join(t.list_sep),
                missing: missing(t, &c.facts),
                dates_source: dates_source(t, &c.facts),
            }
        });
        out.table(lang, rows);
        let _ = out.write_char('\n');
    }

    let _ = writeln!(out, "## {}\n", t.missing_data);
    let _ = writeln!(out, "{}\n", t.missing_data_note);
    if r.missing_data.is_empty() {
        let _ = writeln!(out, "{}\n", t.none_listed);
    } else {
        let rows = r.missing_data.iter().map(|m| {
            let [vendor, model, _] = shown_identity(t, &m.facts);
            MissingLine {
                device: m.facts.device.clone(),
                site: m.facts.site_name.clone(),
                class: t.class(m.facts.class),
                vendor,
                model,
                missing: missing(t, &m.facts),
                candidate: t.yes_no(m.candidate),
                dates_source: dates_source(t, &m.facts),
            }
        });
        out.table(lang, rows);
        let _ = out.write_char('\n');
    }

    let _ = writeln!(out, "## {}\n", t.policy);
    out.table(lang, policy(t, r));
    let _ = writeln!(out, "\n## {}\n", t.rules);
    for rule in t.renewal_rules {
        let _ = writeln!(out, "- {rule}");
    }
}

row! {
    /// A candidate in the Markdown report.
    struct CandidateLine {
        rank: usize = ("N.°", "#"),
        priority: &'static str = col::PRIORITY,
        score: u32 = col::SCORE,
        device: DeviceId = col::DEVICE,
        /// The site's name.
        site: String = col::SITE,
        class: &'static str = col::CLASS,
        findings: String = ("Motivos y evidencia", "Reasons and evidence"),
        missing: String = col::MISSING,
        dates_source: Option<String> = col::DATES_SOURCE,
    }
}

row! {
    /// A device with unknown dates in the Markdown report.
    struct MissingLine {
        device: DeviceId = col::DEVICE,
        /// The site's name.
        site: String = col::SITE,
        class: &'static str = col::CLASS,
        vendor: Option<String> = col::VENDOR,
        model: Option<String> = col::MODEL,
        missing: String = col::MISSING,
        candidate: &'static str = col::CANDIDATE,
        dates_source: Option<String> = col::DATES_SOURCE,
    }
}

row! {
    /// One rule of the policy.
    struct PolicyRow {
        rule: &'static str = ("Regla", "Rule"),
        class: String = col::CLASS,
        value: u64 = col::VALUE,
        unit: &'static str = ("Unidad", "Unit"),
    }
}

row! {
    /// What identifies a device, and when it was acquired: the first columns of both sheets.
    struct Identity {
        device: DeviceId = col::DEVICE,
        site: SiteId = col::SITE,
        site_name: String = col::SITE_NAME,
        class: &'static str = col::CLASS,
        vendor: Option<String> = col::VENDOR,
        model: Option<String> = col::MODEL,
        serial: Option<String> = col::SERIAL,
        acquired: Option<NaiveDate> = col::ACQUIRED,
    }
}

row! {
    /// A device in the candidates sheet and the CSV; the candidate columns are empty for a
    /// device that is only missing data.
    struct DeviceRow {
        priority: Option<&'static str> = col::PRIORITY,
        score: Option<u32> = col::SCORE,
        identity: Identity = None,
        age_years: Option<u32> = ("Edad (años)", "Age (years)"),
        max_age_years: u32 = ("Límite (años)", "Limit (years)"),
        end_of_sale: Option<NaiveDate> = col::END_OF_SALE,
        days_to_end_of_sale: Option<i64> = ("Días a fin de venta", "Days to end of sale"),
        end_of_support: Option<NaiveDate> = col::END_OF_SUPPORT,
        days_to_end_of_support: Option<i64> =
            ("Días a fin de soporte", "Days to end of support"),
        reasons: Option<String> = ("Motivos", "Reasons"),
        evidence: Option<String> = ("Evidencia", "Evidence"),
        missing: String = col::MISSING,
        dates_source: Option<String> = col::DATES_SOURCE,
    }
}

row! {
    /// A CSV record: whether the device is a candidate, then its row.
    struct CsvRow {
        candidate: &'static str = col::CANDIDATE,
        device: DeviceRow = None,
    }
}

row! {
    /// A device with unknown dates in the workbook.
    struct MissingRow {
        identity: Identity = None,
        end_of_sale: Option<NaiveDate> = col::END_OF_SALE,
        end_of_support: Option<NaiveDate> = col::END_OF_SUPPORT,
        missing: String = col::MISSING,
        candidate: &'static str = col::CANDIDATE,
        dates_source: Option<String> = col::DATES_SOURCE,
    }
}

fn identity(t: &Strings, f: &DeviceFacts) -> Identity {
    let [vendor, model, serial] = shown_identity(t, f);
    Identity {
        device: f.device.clone(),
        site: f.site.clone(),
        site_name: f.site_name.clone(),
        class: t.class(f.class),
        vendor,
        model,
        serial,
        acquired: f.acquired,
    }
}

/// The policy's rules: the age limit per class listed, then the other rules.
fn policy(t: &Strings, r: &Renewal) -> Vec<PolicyRow> {
    let rule = |rule, class: String, value: u64, unit| PolicyRow { rule, class, value, unit };
    let mut rows: Vec<PolicyRow> = DeviceClass::ALL
        .iter()
        .filter(|c| r.policy.max_age_years.contains_key(c))
        .map(|c| {
            rule(
                t.rule_max_age,
                t.class(*c).to_owned(),
                u64::from(r.policy.max_age(*c)),
                t.unit_years,
            )
        })
        .collect();
    rows.push(rule(
        t.rule_max_age,
        t.other_classes.to_owned(),
        u64::from(r.policy.default_max_age_years),
        t.unit_years,
    ));
    let rules = &r.rules;
    rows.extend([
        rule(
            t.rule_support_warning,
            String::new(),
            u64::from(r.policy.support_warning_days),
            t.unit_days,
        ),
        rule(t.rule_window, String::new(), u64::from(rules.reliability_days), t.unit_days),
        rule(t.rule_availability, String::new(), rules.unreliable_below_percent, t.unit_percent),
        rule(t.rule_min_polls, String::new(), rules.min_polls, t.unit_polls),
        rule(t.rule_restarts, String::new(), rules.repeated_restarts as u64, t.unit_restarts),
        rule(
            t.rule_explained,
            String::new(),
            u64::try_from(rules.explained_within_minutes).unwrap_or(0),
            t.unit_minutes,
        ),
    ]);
    rows
}

/// A device's row; `c` fills priority, score, reasons and evidence.
fn device_row(t: &Strings, f: &DeviceFacts, c: Option<&Candidate>, days: u32) -> DeviceRow {
    DeviceRow {
        priority: c.map(|c| t.priority(c.priority)),
        score: c.map(|c| c.score),
        identity: identity(t, f),
        age_years: f.age_years,
        max_age_years: f.max_age_years,
        end_of_sale: f.end_of_sale,
        days_to_end_of_sale: f.days_to_end_of_sale,
        end_of_support: f.end_of_support,
        days_to_end_of_support: f.days_to_end_of_support,
        reasons: c.map(|c| reasons(t, c)),
        evidence: c.map(|c| evidences(t, c, days)),
        missing: missing(t, f),
        dates_source: dates_source(t, f),
    }
}

/// The CSV (RFC 4180, UTF-8, CRLF): candidates in order, then the devices that are only missing
/// data; the first column says which.
pub fn csv(r: &Renewal, lang: Lang) -> String {
    let t = lang.t();
    let days = r.rules.reliability_days;
    let candidates = r
        .candidates
        .iter()
        .map(|c| CsvRow { candidate: t.yes, device: device_row(t, &c.facts, Some(c), days) });
    let others = r
        .missing_data
        .iter()
        .filter(|m| !m.candidate)
        .map(|m| CsvRow { candidate: t.no, device: device_row(t, &m.facts, None, days) });
    let mut out = String::new();
    table::csv(&mut out, lang, candidates.chain(others));
    out
}

/// The workbook: candidates, missing data, policy.
pub fn xlsx(r: &Renewal, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let t = lang.t();
    let days = r.rules.reliability_days;
    let mut book = Book::new(r.as_of.instant);
    let rows = r.candidates.iter().map(|c| device_row(t, &c.facts, Some(c), days));
    book.sheet(t.candidates, lang, rows)?;
    let rows = r.missing_data.iter().map(|m| {
        let f = &m.facts;
        MissingRow {
            identity: identity(t, f),
            end_of_sale: f.end_of_sale,
            end_of_support: f.end_of_support,
            missing: missing(t, f),
            candidate: t.yes_no(m.candidate),
            dates_source: dates_source(t, f),
        }
    });
    book.sheet(t.missing_data, lang, rows)?;
    book.sheet(t.policy, lang, policy(t, r))?;
    book.finish()
}
