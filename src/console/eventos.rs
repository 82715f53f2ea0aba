//! Eventos: what happened, when. Every stored event, filtered by sede, device, kind and time
//! range, newest first, a page at a time (a plain GET form: it works without JavaScript).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use maud::{Markup, html};

use super::Console;
use super::common::{Ctx, Nav, PageInfo, encode, instant_s, shell, store_failed, tr};
use crate::agent::read_shared;
use crate::inventory::{DeviceId, SiteId};
use crate::report::Lang;
use crate::store::{EventFilter, EventKind, EventRecord};

/// Events per page.
pub const PER_PAGE: u64 = 50;

/// An event kind in words.
pub fn kind_label(lang: Lang, k: EventKind) -> &'static str {
    match k {
        EventKind::DeviceDown => tr(lang, "equipo caído", "device down"),
        EventKind::DeviceUp => tr(lang, "equipo activo de nuevo", "device up again"),
        EventKind::SiteIsolated => tr(lang, "sede aislada", "site isolated"),
        EventKind::SiteRestored => tr(lang, "sede restablecida", "site restored"),
        EventKind::AgentRestart => tr(lang, "reinicio del agente SNMP", "SNMP agent restart"),
        EventKind::InventoryChanged => tr(lang, "inventario cambiado", "inventory changed"),
        EventKind::InventoryReloadFailed => {
            tr(lang, "recarga del inventario rechazada", "inventory reload refused")
        }
        EventKind::DeviceReplaced => tr(lang, "equipo reemplazado", "equipment replaced"),
        EventKind::ModelChanged => tr(lang, "modelo cambiado", "model changed"),
    }
}

/// A shape for a kind, so that a bad event reads as bad without colour.
fn kind_mark(k: EventKind) -> &'static str {
    match k {
        EventKind::DeviceDown | EventKind::SiteIsolated | EventKind::InventoryReloadFailed => "▼",
        EventKind::DeviceUp | EventKind::SiteRestored => "▲",
        EventKind::AgentRestart | EventKind::InventoryChanged => "●",
        EventKind::DeviceReplaced | EventKind::ModelChanged => "◆",
    }
}

/// Events as a table (newest first as given).
pub fn events_table(ctx: &Ctx, events: &[EventRecord]) -> Markup {
    html! {
        @if events.is_empty() {
            p.note { (ctx.t("Ningún evento.", "No event.")) }
        } @else {
            div.table-wrap {
                table.events {
                    thead { tr {
                        th scope="col" { (ctx.t("Fecha (UTC)", "Time (UTC)")) }
                        th scope="col" { (ctx.t("Tipo", "Kind")) }
                        th scope="col" { (ctx.t("Sede", "Site")) }
                        th scope="col" { (ctx.t("Equipo", "Device")) }
                        th scope="col" { (ctx.t("Familia", "Family")) }
                        th scope="col" { (ctx.t("Sonda", "Probe")) }
                        th scope="col" { (ctx.t("Detalle", "Detail")) }
                    } }
                    tbody {
                        @for e in events {
                            tr data-kind=(e.kind.as_str()) data-device=[e.device.as_deref()] data-site=[e.site.as_deref()] {
                                td { time datetime=(e.at.to_rfc3339()) { (instant_s(e.at)) } }
                                td { span aria-hidden="true" { (kind_mark(e.kind)) } " " (kind_label(ctx.lang, e.kind)) }
                                td { @if let Some(s) = &e.site { a href=(ctx.href(&format!("/sede/{}", encode(s)), &[])) { (s) } } }
                                td { @if let Some(d) = &e.device { a href=(ctx.href(&format!("/equipo/{}", encode(d)), &[])) { (d) } } }
                                td { @if let Some(f) = e.family { (super::common::family_label(f)) } }
                                td { @if let Some(p) = e.probe { (p.as_str().to_uppercase()) } }
                                td { (e.detail) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn day(text: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text?, "%Y-%m-%d").ok()
}

fn start_of(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

pub(super) async fn page(
    State(console): State<Console>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(query, &headers, console.now());
    let (sites, interval) = {
        let shared = read_shared(&console.shared);
        let sites: Vec<(SiteId, String)> =
            shared.inventory.sites.iter().map(|s| (s.id.clone(), s.name.clone())).collect();
        (sites, shared.inventory.poll.icmp_interval)
    };
    let from_day = day(ctx.param("desde"));
    let to_day = day(ctx.param("hasta"));
    let kind = ctx.param("tipo").and_then(EventKind::parse);
    let filter = EventFilter {
        from: from_day.map_or(DateTime::UNIX_EPOCH, start_of),
        // The whole "to" day; without one, up to a minute past now.
        to: to_day.map_or(ctx.now + TimeDelta::minutes(1), |d| start_of(d) + TimeDelta::days(1)),
        site: ctx.param("sede").map(SiteId::from),
        device: ctx.param("equipo").map(DeviceId::from),
        kind,
    };
    let page: u64 = ctx.param("pagina").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let result = console.store.events_page(&filter, (page - 1) * PER_PAGE, PER_PAGE).await;
    let keep: Vec<(&str, &str)> = ["sede", "equipo", "tipo", "desde", "hasta"]
        .iter()
        .filter_map(|k| Some((*k, ctx.param(k)?)))
        .collect();
    let link = |p: u64| {
        let p = p.to_string();
        let mut params = keep.clone();
        params.push(("pagina", &p));
        ctx.href("/eventos", &params)
    };
    let content = html! {
        form.filters method="get" action="/eventos" {
            @if ctx.lang == Lang::En { input type="hidden" name="lang" value="en"; }
            label { (ctx.t("Sede", "Site"))
                select name="sede" {
                    option value="" { (ctx.t("Todas", "All")) }
                    @for (id, name) in &sites {
                        option value=(id) selected[filter.site.as_deref() == Some(id.as_str())] { (name) }
                    }
                }
            }
            label { (ctx.t("Equipo (id)", "Device (id)"))
                input type="text" name="equipo" value=(filter.device.as_deref().unwrap_or_default());
            }
            label { (ctx.t("Tipo", "Kind"))
                select name="tipo" {
                    option value="" { (ctx.t("Todos", "All")) }
                    @for k in EventKind::ALL {
                        option value=(k.as_str()) selected[kind == Some(*k)] { (kind_label(ctx.lang, *k)) }
                    }
                }
            }
            label { (ctx.t("Desde (UTC)", "From (UTC)"))
                input type="date" name="desde" value=(from_day.map(|d| d.to_string()).unwrap_or_default());
            }
            label { (ctx.t("Hasta (UTC, incluido)", "To (UTC, included)"))
                input type="date" name="hasta" value=(to_day.map(|d| d.to_string()).unwrap_or_default());
            }
            button type="submit" { (ctx.t("Filtrar", "Filter")) }
        }
        @match &result {
            Ok(p) => {
                @let pages = p.total.div_ceil(PER_PAGE).max(1);
                p #total data-total=(p.total) {
                    (p.total) (ctx.t(" eventos. Página ", " events. Page ")) (page) " / " (pages) "."
                }
                (events_table(&ctx, &p.events))
                nav.pager aria-label=(ctx.t("Páginas", "Pages")) {
                    @if page > 1 { a href=(link(page - 1)) rel="prev" { "← " (ctx.t("Más recientes", "Newer")) } }
                    @if page < pages { a href=(link(page + 1)) rel="next" { (ctx.t("Anteriores", "Older")) " →" } }
                }
            },
            Err(e) => (store_failed(&ctx, e)),
        }
    };
    let title = ctx.t("Eventos", "Events");
    let info = PageInfo {
        title,
        path: "/eventos",
        nav: Nav::Eventos,
        freshness: None,
        refresh: Some(interval),
    };
    shell(&ctx, &info, content)
}
