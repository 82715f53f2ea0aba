//! Reportes: the renewal, IPv6, links and indicators reports as pages, from the same report
//! code the CLI runs (`vigia report ...`) on the same history, with the same `--as-of` day
//! (`?fecha=YYYY-MM-DD`) and year (`?anio=YYYY`), and each as a download in the formats the
//! CLI writes.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use maud::html;

use super::Console;
use super::common::{Ctx, Nav, PageInfo, encode, not_found, shell, trusted};
use crate::agent::derived::fetch_history;
use crate::agent::read_shared;
use crate::history::{AsOf, History};
use crate::indicators::Asked;
use crate::inventory::Inventory;
use crate::report::{self, IndicatorsFormat, Ipv6Format, LinksFormat, RenewalFormat};

/// The reports: URL name, Spanish and English titles, the formats offered (as the CLI names
/// them), and the file name of a download.
pub const REPORTS: [(&str, &str, &str, &[&str], &str); 4] = [
    (
        "renewal",
        "Renovación de equipos",
        "Equipment renewal",
        &["md", "csv", "json", "xlsx"],
        "renovacion",
    ),
    ("ipv6", "Transición IPv6", "IPv6 transition", &["md", "csv", "json", "xlsx", "text"], "ipv6"),
    (
        "links",
        "Enlaces entre sedes",
        "Links between sites",
        &["md", "csv", "json", "xlsx"],
        "enlaces",
    ),
    (
        "indicators",
        "Indicadores AE.7.03 y AE.7.04",
        "Indicators AE.7.03 and AE.7.04",
        &["md", "csv", "json", "xlsx"],
        "indicadores",
    ),
];

fn find(
    name: &str,
) -> Option<&'static (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
)> {
    REPORTS.iter().find(|r| r.0 == name)
}

pub(super) async fn index(
    State(console): State<Console>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(query, &headers, console.now());
    let content = html! {
        p { (ctx.t("Los mismos reportes que ", "The same reports as ")) code { "vigia report" } (ctx.t(", sobre el mismo historial.", ", on the same history.")) }
        ul {
            @for (name, es, en, formats, _) in REPORTS {
                li {
                    a href=(ctx.href(&format!("/reportes/{name}"), &[])) { (ctx.t(es, en)) }
                    " — " (ctx.t("descargas: ", "downloads: "))
                    @for f in formats { a href=(ctx.href(&format!("/reportes/{name}/{f}"), &[])) download { (f) } " " }
                }
            }
        }
    };
    shell(
        &ctx,
        &PageInfo {
            title: ctx.t("Reportes", "Reports"),
            path: "/reportes",
            nav: Nav::Reportes,
            freshness: None,
            refresh: None,
        },
        content,
    )
}

/// What a report is computed from: the inventory in force and the history as of the day asked.
struct Inputs {
    inv: std::sync::Arc<Inventory>,
    at: AsOf,
    day: Option<NaiveDate>,
    year: i32,
    indicators_day: NaiveDate,
    history: Result<History, crate::store::StoreError>,
}

async fn inputs(console: &Console, ctx: &Ctx, name: &str) -> Inputs {
    let inv = read_shared(&console.shared).inventory.clone();
    let now = ctx.now;
    let day = ctx.param("fecha").and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    // The same defaults as `vigia report`: a day is that day's end (or now, for today); none
    // is now; the indicators' year and day as `indicators::Asked` fills them in.
    if name == "indicators" {
        let year = ctx.param("anio").and_then(|y| y.parse().ok());
        let asked = Asked::new(year, day, now);
        let history =
            fetch_history(&console.store, &inv, asked.as_of, asked.snapshots_until, now).await;
        Inputs { inv, at: asked.as_of, day, year: asked.year, indicators_day: asked.day, history }
    } else {
        let at = AsOf::asked(day, now);
        let mut history = fetch_history(&console.store, &inv, at, at.instant, now).await;
        // As `vigia report links`: only this report folds the month's interface readings.
        if name == "links"
            && let Ok(h) = &mut history
        {
            match console.store.link_use(&inv, at).await {
                Ok(uses) => h.link_use = uses,
                Err(e) => history = Err(e),
            }
        }
        Inputs { inv, at, day, year: at.date.year(), indicators_day: at.date, history }
    }
}

pub(super) async fn page(
    State(console): State<Console>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(query, &headers, console.now());
    let Some(&(name, es, en, formats, _)) = find(&name) else {
        return not_found(
            &ctx,
            ctx.t("No hay ningún reporte con ese nombre.", "There is no report of that name."),
        );
    };
    let i = inputs(&console, &ctx, name).await;
    let body = match &i.history {
        Err(e) => Err(e.to_string()),
        Ok(h) => match name {
            "renewal" => Ok(report::renewal_html(&i.inv, h, i.at, ctx.lang)),
            "ipv6" => Ok(report::ipv6_html(&i.inv, h, i.at, ctx.lang)),
            "links" => Ok(report::links_html(&i.inv, h, i.at, ctx.lang)),
            _ => report::indicators_html(&i.inv, h, i.year, i.indicators_day, ctx.lang)
                .map_err(|e| e.to_string()),
        },
    };
    let mut keep: Vec<(&str, String)> = Vec::new();
    if let Some(d) = i.day {
        keep.push(("fecha", d.to_string()));
    }
    if name == "indicators" {
        keep.push(("anio", i.year.to_string()));
    }
    let params: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let path = format!("/reportes/{name}");
    let content = html! {
        form.filters method="get" action=(path) {
            @if ctx.lang == report::Lang::En { input type="hidden" name="lang" value="en"; }
            label { (ctx.t("Fecha de corte (--as-of)", "As of (--as-of)"))
                input type="date" name="fecha" value=(i.day.map(|d| d.to_string()).unwrap_or_default());
            }
            @if name == "indicators" {
                label { (ctx.t("Año", "Year")) input type="number" name="anio" value=(i.year) min="2000" max="2100"; }
            }
            button type="submit" { (ctx.t("Ver", "Show")) }
        }
        p.downloads #descargas {
            (ctx.t("Descargar: ", "Download: "))
            @for f in formats {
                a href=(ctx.href(&format!("/reportes/{name}/{f}"), &params)) download data-format=(f) { (f.to_uppercase()) }
            }
        }
        @match body {
            Ok(html) => article.report #reporte { (trusted(html)) },
            Err(e) => p.error role="alert" { (ctx.t("No se pudo generar el reporte: ", "The report could not be produced: ")) (e) },
        }
    };
    let title = ctx.t(es, en);
    shell(
        &ctx,
        &PageInfo { title, path: &path, nav: Nav::Reportes, freshness: None, refresh: None },
        content,
    )
}

pub(super) async fn download(
    State(console): State<Console>,
    Path((name, format)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(query, &headers, console.now());
    let Some(&(name, _, _, formats, file)) = find(&name) else {
        return not_found(
            &ctx,
            ctx.t("No hay ningún reporte con ese nombre.", "There is no report of that name."),
        );
    };
    if !formats.contains(&format.as_str()) {
        return not_found(
            &ctx,
            ctx.t(
                "Ese reporte no se escribe en ese formato.",
                "That report is not written in that format.",
            ),
        );
    }
    let i = inputs(&console, &ctx, name).await;
    let h = match &i.history {
        Ok(h) => h,
        Err(e) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("history: {e}\n")).into_response();
        }
    };
    let (lang, at, f) = (ctx.lang, i.at, format.as_str());
    let bytes = match name {
        "renewal" => report::renewal(
            &i.inv,
            h,
            at,
            lang,
            RenewalFormat::parse(f).unwrap_or(RenewalFormat::Md),
        ),
        "ipv6" => report::ipv6(&i.inv, h, at, lang, Ipv6Format::parse(f).unwrap_or(Ipv6Format::Md)),
        "links" => {
            report::links(&i.inv, h, at, lang, LinksFormat::parse(f).unwrap_or(LinksFormat::Md))
        }
        _ => report::indicators(
            &i.inv,
            h,
            i.year,
            i.indicators_day,
            lang,
            IndicatorsFormat::parse(f).unwrap_or(IndicatorsFormat::Md),
        ),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    };
    let content_type = match f {
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "text/plain; charset=utf-8",
    };
    let ext = if f == "text" { "txt" } else { f };
    let filename = format!("{file}-{}.{ext}", i.indicators_day);
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", encode(&filename)))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}
