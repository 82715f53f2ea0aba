//! Report writers: the core's figures as Markdown, CSV, JSON, plain text and XLSX, in Spanish by
//! default or English. Each entry point takes the inventory, the history the store fetched, the
//! as-of day (or year), a language and a format, and returns the bytes to write.
//!
//! What each report says and the JSON schemas: docs/reports.md.

pub mod availability;
pub mod events;
pub mod html;
pub mod i18n;
pub mod indicators;
pub mod inventory;
pub mod ipv6;
pub mod link_use;
pub mod links;
pub mod renewal;
pub mod suggest;
pub mod table;
pub mod text;
pub mod xlsx;

use chrono::NaiveDate;

pub use i18n::Lang;

use crate::history::{AsOf, History};
use crate::indicators::IndicatorError;
use crate::inventory::Inventory;
use crate::ipv6::{Threshold, ThresholdError};

names! {
    /// Formats of `vigia report renewal`.
    RenewalFormat { Md = "md", Csv = "csv", Json = "json", Xlsx = "xlsx" }
}

names! {
    /// Formats of `vigia report ipv6` (text is also what `vigia check ipv6` prints).
    Ipv6Format { Text = "text", Json = "json", Md = "md", Csv = "csv", Xlsx = "xlsx" }
}

names! {
    /// Formats of `vigia check ipv6`.
    CheckFormat { Text = "text", Json = "json" }
}

names! {
    /// Formats of `vigia report links`.
    LinksFormat { Md = "md", Json = "json", Csv = "csv", Xlsx = "xlsx" }
}

names! {
    /// Formats of `vigia report inventory`.
    InventoryFormat { Md = "md", Csv = "csv", Json = "json", Xlsx = "xlsx" }
}

names! {
    /// Formats of `vigia report availability`.
    AvailabilityFormat { Md = "md", Csv = "csv", Json = "json", Xlsx = "xlsx" }
}

names! {
    /// Formats of `vigia report indicators`.
    IndicatorsFormat { Md = "md", Xlsx = "xlsx", Json = "json", Csv = "csv" }
}

/// A report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The workbook could not be written.
    #[error("cannot write the {report} workbook: {source}")]
    Xlsx {
        /// Which report.
        report: &'static str,
        /// Why.
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
    /// The indicators cannot be computed (a bad year, or a stored snapshot that cannot be read).
    #[error(transparent)]
    Indicators(#[from] IndicatorError),
    /// The IPv6 threshold is invalid.
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
    /// The period asked for is not one (`--to` before `--from`, a month that does not exist,
    /// a period not started yet).
    #[error("vigia: {0}")]
    Period(String),
    /// A filter names what the inventory does not have (`vigia events --site`, `--device`).
    #[error("vigia: {0}")]
    Filter(String),
}

impl ReportError {
    /// Whether the fault is in what the user asked (exit 64) rather than in vigia or its data
    /// (exit 1).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            ReportError::Threshold(_) | ReportError::Period(_) | ReportError::Filter(_) => true,
            ReportError::Indicators(e) => !matches!(e, IndicatorError::Snapshot { .. }),
            ReportError::Xlsx { .. } => false,
        }
    }
}

/// `vigia report renewal`: candidates, missing data and policy as of `as_of`.
pub fn renewal(
    inv: &Inventory,
    history: &History,
    as_of: AsOf,
    lang: Lang,
    format: RenewalFormat,
) -> Result<Vec<u8>, ReportError> {
    let r = crate::lifecycle::analyse(inv, history, as_of);
    Ok(match format {
        RenewalFormat::Md => renewal::markdown(&r, lang).into_bytes(),
        RenewalFormat::Csv => renewal::csv(&r, lang).into_bytes(),
        RenewalFormat::Json => renewal::json(&r),
        RenewalFormat::Xlsx => renewal::xlsx(&r, lang)
            .map_err(|source| ReportError::Xlsx { report: "renewal", source })?,
    })
}

/// `vigia report ipv6`: coverage by stage, site and class as of `as_of`.
pub fn ipv6(
    inv: &Inventory,
    history: &History,
    as_of: AsOf,
    lang: Lang,
    format: Ipv6Format,
) -> Result<Vec<u8>, ReportError> {
    let c = crate::ipv6::coverage(inv, history, as_of);
    Ok(match format {
        Ipv6Format::Text => ipv6::text(&c, None, lang).into_bytes(),
        Ipv6Format::Json => ipv6::json(&c, None),
        Ipv6Format::Md => ipv6::markdown(&c, lang).into_bytes(),
        Ipv6Format::Csv => ipv6::csv(&c, lang).into_bytes(),
        Ipv6Format::Xlsx => {
            ipv6::xlsx(&c, lang).map_err(|source| ReportError::Xlsx { report: "ipv6", source })?
        }
    })
}

/// What `vigia check ipv6` prints, and whether the threshold was met (exit 0, else 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Whether the threshold was met.
    pub pass: bool,
    /// The text or JSON to print.
    pub output: Vec<u8>,
}

/// `vigia check ipv6`: the coverage and a threshold verdict.
pub fn check_ipv6(
    inv: &Inventory,
    history: &History,
    as_of: AsOf,
    threshold: &Threshold,
    lang: Lang,
    format: CheckFormat,
) -> Result<CheckReport, ReportError> {
    let c = crate::ipv6::coverage(inv, history, as_of);
    let outcome = crate::ipv6::check(inv, &c, threshold)?;
    let output = match format {
        CheckFormat::Text => ipv6::text(&c, Some(&outcome), lang).into_bytes(),
        CheckFormat::Json => ipv6::json(&c, Some(&outcome)),
    };
    Ok(CheckReport { pass: outcome.pass, output })
}

/// `vigia report links`: sites by medium, fibre coverage, declared figures, link health.
pub fn links(
    inv: &Inventory,
    history: &History,
    as_of: AsOf,
    lang: Lang,
    format: LinksFormat,
) -> Result<Vec<u8>, ReportError> {
    let l = crate::links::links(inv, history, as_of);
    Ok(match format {
        LinksFormat::Md => links::markdown(&l, lang).into_bytes(),
        LinksFormat::Json => links::json(&l),
        LinksFormat::Csv => links::csv(&l, lang).into_bytes(),
        LinksFormat::Xlsx => {
            links::xlsx(&l, lang).map_err(|source| ReportError::Xlsx { report: "links", source })?
        }
    })
}

/// `vigia report inventory`: per device what is declared and what it reports, the verdict
/// and its evidence, and the replacements detected, as of `as_of`.
pub fn inventory(
    inv: &Inventory,
    history: &History,
    as_of: AsOf,
    lang: Lang,
    format: InventoryFormat,
) -> Result<Vec<u8>, ReportError> {
    let c = crate::discovered::analyse(inv, history, as_of);
    Ok(match format {
        InventoryFormat::Md => inventory::markdown(&c, lang).into_bytes(),
        InventoryFormat::Csv => inventory::csv(&c, lang).into_bytes(),
        InventoryFormat::Json => inventory::json(&c),
        InventoryFormat::Xlsx => inventory::xlsx(&c, lang)
            .map_err(|source| ReportError::Xlsx { report: "inventory", source })?,
    })
}

/// `vigia report availability`: sites, media, families and devices over `period`, from the
/// raw ICMP polls of the period folded into `answers`.
pub fn availability(
    inv: &std::sync::Arc<Inventory>,
    answers: &crate::availability::Answers,
    period: crate::availability::Period,
    lang: Lang,
    format: AvailabilityFormat,
) -> Result<Vec<u8>, ReportError> {
    let r = crate::availability::compute(inv, answers, period);
    Ok(match format {
        AvailabilityFormat::Md => availability::markdown(&r, lang).into_bytes(),
        AvailabilityFormat::Csv => availability::csv(&r, lang).into_bytes(),
        AvailabilityFormat::Json => availability::json(&r),
        AvailabilityFormat::Xlsx => availability::xlsx(&r, lang)
            .map_err(|source| ReportError::Xlsx { report: "availability", source })?,
    })
}

/// `vigia report indicators`: the AE.7.03 and AE.7.04 fichas for `year`, counted up to
/// `as_of` (the whole year once it is over).
pub fn indicators(
    inv: &Inventory,
    history: &History,
    year: i32,
    as_of: NaiveDate,
    lang: Lang,
    format: IndicatorsFormat,
) -> Result<Vec<u8>, ReportError> {
    let r = crate::indicators::compute(inv, history, year, as_of)?;
    Ok(match format {
        IndicatorsFormat::Md => indicators::markdown(&r, lang).into_bytes(),
        IndicatorsFormat::Json => indicators::json(&r),
        IndicatorsFormat::Csv => indicators::csv(&r, lang).into_bytes(),
        IndicatorsFormat::Xlsx => indicators::xlsx(&r, lang)
            .map_err(|source| ReportError::Xlsx { report: "indicators", source })?,
    })
}

/// The renewal report as HTML (the console's page), from the same analysis as [`renewal`].
pub fn renewal_html(inv: &Inventory, history: &History, as_of: AsOf, lang: Lang) -> String {
    renewal::html(&crate::lifecycle::analyse(inv, history, as_of), lang)
}

/// The IPv6 report as HTML (the console's page), from the same coverage as [`ipv6`].
pub fn ipv6_html(inv: &Inventory, history: &History, as_of: AsOf, lang: Lang) -> String {
    ipv6::html(&crate::ipv6::coverage(inv, history, as_of), lang)
}

/// The links report as HTML (the console's page), from the same figures as [`links`].
pub fn links_html(inv: &Inventory, history: &History, as_of: AsOf, lang: Lang) -> String {
    links::html(&crate::links::links(inv, history, as_of), lang)
}

/// The indicators report as HTML (the console's page), from the same figures as
/// [`indicators`].
pub fn indicators_html(
    inv: &Inventory,
    history: &History,
    year: i32,
    as_of: NaiveDate,
    lang: Lang,
) -> Result<String, ReportError> {
    Ok(indicators::html(&crate::indicators::compute(inv, history, year, as_of)?, lang))
}
