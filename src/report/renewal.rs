//! The renewal report: candidates with their evidence, the devices with missing dates, and the
//! policy applied; as Markdown, CSV, JSON and an XLSX workbook.

use std::fmt::Write;

use rust_xlsxwriter::XlsxError;
use serde::Serialize;

use super::i18n::{Lang, Strings, fill};
use super::text::{csv_record, instant, md_table, opt};
use super::xlsx::{Book, Cell};
use crate::inventory::DeviceClass;
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
    let t = lang.t();
    let days = r.rules.reliability_days;
    let mut out = String::new();
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
        let rows: Vec<Vec<String>> = r
            .candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let findings: Vec<String> = c
                    .findings
                    .iter()
                    .map(|f| format!("{}: {}", t.reason(f.reason), evidence(t, f, days)))
                    .collect();
                vec![
                    (i + 1).to_string(),
                    t.priority(c.priority).to_owned(),
                    c.score.to_string(),
                    c.facts.device.clone(),
                    c.facts.site_name.clone(),
                    t.class(c.facts.class).to_owned(),
                    findings.join(t.list_sep),
                    missing(t, &c.facts),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &[
                t.col_rank,
                t.col_priority,
                t.col_score,
                t.col_device,
                t.col_site,
                t.col_class,
                t.col_reasons_evidence,
                t.col_missing,
            ],
            &rows,
        );
        out.push('\n');
    }

    let _ = writeln!(out, "## {}\n", t.missing_data);
    let _ = writeln!(out, "{}\n", t.missing_data_note);
    if r.missing_data.is_empty() {
        let _ = writeln!(out, "{}\n", t.none_listed);
    } else {
        let rows: Vec<Vec<String>> = r
            .missing_data
            .iter()
            .map(|m| {
                vec![
                    m.facts.device.clone(),
                    m.facts.site_name.clone(),
                    t.class(m.facts.class).to_owned(),
                    opt(&m.facts.vendor),
                    opt(&m.facts.model),
                    missing(t, &m.facts),
                    t.yes_no(m.candidate).to_owned(),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &[
                t.col_device,
                t.col_site,
                t.col_class,
                t.col_vendor,
                t.col_model,
                t.col_missing,
                t.col_candidate,
            ],
            &rows,
        );
        out.push('\n');
    }

    let _ = writeln!(out, "## {}\n", t.policy);
    md_table(&mut out, &[t.col_rule, t.col_class, t.col_value, t.col_unit], &policy_rows(t, r));
    let _ = writeln!(out, "\n## {}\n", t.rules);
    for rule in t.renewal_rules {
        let _ = writeln!(out, "- {rule}");
    }
    out
}

/// The policy as (rule, class, value, unit) rows.
fn policy_rows(t: &Strings, r: &Renewal) -> Vec<Vec<String>> {
    policy_cells(t, r)
        .into_iter()
        .map(|(rule, class, value, unit)| {
            vec![rule.to_owned(), class, value.to_string(), unit.to_owned()]
        })
        .collect()
}

fn policy_cells(t: &Strings, r: &Renewal) -> Vec<(&'static str, String, u64, &'static str)> {
    let mut rows: Vec<(&str, String, u64, &str)> = DeviceClass::ALL
        .iter()
        .filter(|c| r.policy.max_age_years.contains_key(c))
        .map(|c| {
            (t.rule_max_age, t.class(*c).to_owned(), u64::from(r.policy.max_age(*c)), t.unit_years)
        })
        .collect();
    rows.push((
        t.rule_max_age,
        t.other_classes.to_owned(),
        u64::from(r.policy.default_max_age_years),
        t.unit_years,
    ));
    let rules = &r.rules;
    rows.extend([
        (
            t.rule_support_warning,
            String::new(),
            u64::from(r.policy.support_warning_days),
            t.unit_days,
        ),
        (t.rule_window, String::new(), u64::from(rules.reliability_days), t.unit_days),
        (t.rule_availability, String::new(), rules.unreliable_below_percent, t.unit_percent),
        (t.rule_min_polls, String::new(), rules.min_polls, t.unit_polls),
        (t.rule_restarts, String::new(), rules.repeated_restarts as u64, t.unit_restarts),
        (
            t.rule_explained,
            String::new(),
            u64::try_from(rules.explained_within_minutes).unwrap_or(0),
            t.unit_minutes,
        ),
    ]);
    rows
}

fn candidate_headers(t: &Strings) -> Vec<&'static str> {
    vec![
        t.col_priority,
        t.col_score,
        t.col_device,
        t.col_site,
        t.col_site_name,
        t.col_class,
        t.col_vendor,
        t.col_model,
        t.col_serial,
        t.col_acquired,
        t.col_age,
        t.col_max_age,
        t.col_end_of_sale,
        t.col_days_end_of_sale,
        t.col_end_of_support,
        t.col_days_end_of_support,
        t.col_reasons,
        t.col_evidence,
        t.col_missing,
    ]
}

/// The typed cells of a device row; `c` adds priority, score, reasons and evidence.
fn device_cells(t: &Strings, f: &DeviceFacts, c: Option<&Candidate>, days: u32) -> Vec<Cell> {
    vec![
        c.map_or(Cell::Empty, |c| Cell::text(t.priority(c.priority))),
        c.map_or(Cell::Empty, |c| Cell::Number(f64::from(c.score))),
        Cell::text(f.device.clone()),
        Cell::text(f.site.clone()),
        Cell::text(f.site_name.clone()),
        Cell::text(t.class(f.class)),
        Cell::opt_text(&f.vendor),
        Cell::opt_text(&f.model),
        Cell::opt_text(&f.serial),
        Cell::opt_date(f.acquired),
        Cell::opt_num(f.age_years),
        Cell::Number(f64::from(f.max_age_years)),
        Cell::opt_date(f.end_of_sale),
        f.days_to_end_of_sale.map_or(Cell::Empty, Cell::int),
        Cell::opt_date(f.end_of_support),
        f.days_to_end_of_support.map_or(Cell::Empty, Cell::int),
        c.map_or(Cell::Empty, |c| Cell::text(reasons(t, c))),
        c.map_or(Cell::Empty, |c| Cell::text(evidences(t, c, days))),
        Cell::text(missing(t, f)),
    ]
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Number(n) => super::text::number(*n),
        Cell::Percent(p) => format!("{:.4}", p),
        Cell::Date(d) => d.to_string(),
        Cell::Empty => String::new(),
    }
}

/// The CSV (RFC 4180, UTF-8, CRLF): candidates in order, then the devices that are only missing
/// data; the first column says which.
pub fn csv(r: &Renewal, lang: Lang) -> String {
    let t = lang.t();
    let days = r.rules.reliability_days;
    let mut out = String::new();
    let mut headers = vec![t.col_candidate.to_owned()];
    headers.extend(candidate_headers(t).iter().map(|h| (*h).to_owned()));
    csv_record(&mut out, &headers);
    for c in &r.candidates {
        let mut row = vec![t.yes.to_owned()];
        row.extend(device_cells(t, &c.facts, Some(c), days).iter().map(cell_text));
        csv_record(&mut out, &row);
    }
    for m in r.missing_data.iter().filter(|m| !m.candidate) {
        let mut row = vec![t.no.to_owned()];
        row.extend(device_cells(t, &m.facts, None, days).iter().map(cell_text));
        csv_record(&mut out, &row);
    }
    out
}

/// The workbook: candidates, missing data, policy.
pub fn xlsx(r: &Renewal, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let t = lang.t();
    let days = r.rules.reliability_days;
    let mut book = Book::new(r.as_of.instant);
    let rows: Vec<Vec<Cell>> =
        r.candidates.iter().map(|c| device_cells(t, &c.facts, Some(c), days)).collect();
    book.table(t.candidates, &candidate_headers(t), &rows)?;

    let rows: Vec<Vec<Cell>> = r
        .missing_data
        .iter()
        .map(|m| {
            let f = &m.facts;
            vec![
                Cell::text(f.device.clone()),
                Cell::text(f.site.clone()),
                Cell::text(f.site_name.clone()),
                Cell::text(t.class(f.class)),
                Cell::opt_text(&f.vendor),
                Cell::opt_text(&f.model),
                Cell::opt_text(&f.serial),
                Cell::opt_date(f.acquired),
                Cell::opt_date(f.end_of_sale),
                Cell::opt_date(f.end_of_support),
                Cell::text(missing(t, f)),
                Cell::text(t.yes_no(m.candidate)),
            ]
        })
        .collect();
    book.table(
        t.missing_data,
        &[
            t.col_device,
            t.col_site,
            t.col_site_name,
            t.col_class,
            t.col_vendor,
            t.col_model,
            t.col_serial,
            t.col_acquired,
            t.col_end_of_sale,
            t.col_end_of_support,
            t.col_missing,
            t.col_candidate,
        ],
        &rows,
    )?;

    let rows: Vec<Vec<Cell>> = policy_cells(t, r)
        .into_iter()
        .map(|(rule, class, value, unit)| {
            vec![Cell::text(rule), Cell::text(class), Cell::Number(value as f64), Cell::text(unit)]
        })
        .collect();
    book.table(t.policy, &[t.col_rule, t.col_class, t.col_value, t.col_unit], &rows)?;
    book.finish()
}
