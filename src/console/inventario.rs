//! Inventario: what vigia was told. Sites and devices as loaded (never a secret: a device's
//! SNMP profile is shown by name), the inventory's warnings, and the figures the plan states
//! beside the inventory's own count, contradictions marked as `vigia inventory show` marks them.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;

use super::Console;
use super::common::{Ctx, Nav, PageInfo, encode, shell};
use crate::agent::read_shared;
use crate::inventory::{DeviceClass, Secrets, SiteRole};
use crate::links::{MediumCounts, declared};

/// Devices per page.
pub const DEVICES_PER_PAGE: usize = 250;

pub(super) async fn page(
    State(console): State<Console>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(query, &headers, console.now());
    let t = ctx.lang.t();
    let inv = read_shared(&console.shared).inventory.clone();
    // The warnings `vigia inventory check` gives for the files the inventory was loaded from
    // (the agent logged them at load; they are read again here, secrets not resolved).
    let dir = inv.dir.clone();
    let diagnostics =
        tokio::task::spawn_blocking(move || match crate::inventory::load(&dir, Secrets::Warn) {
            Ok((_, warnings)) => warnings,
            Err(invalid) => invalid.diagnostics,
        })
        .await
        .unwrap_or_default();
    let counts = MediumCounts::of(&inv);
    let sources = declared(&inv, &counts);
    let mut by_class: BTreeMap<DeviceClass, usize> = BTreeMap::new();
    for d in &inv.devices {
        *by_class.entry(d.class).or_insert(0) += 1;
    }
    let pages = inv.devices.len().div_ceil(DEVICES_PER_PAGE).max(1);
    let page =
        ctx.param("pagina").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).clamp(1, pages);
    let content = html! {
        p { (inv.sites.len()) (ctx.t(" sedes, ", " sites, ")) (inv.devices.len()) (ctx.t(" equipos, cargados de ", " devices, loaded from ")) code { (inv.dir.display().to_string()) } "." }
        h2 { (ctx.t("Advertencias", "Warnings")) " (" (diagnostics.len()) ")" }
        @if diagnostics.is_empty() {
            p.note { (ctx.t("Ninguna.", "None.")) }
        } @else {
            ul #advertencias { @for d in &diagnostics { li { code { (d.to_string()) } } } }
        }
        h2 { (ctx.t("Lo que declaran las fuentes frente al inventario", "What the sources state beside the inventory")) }
        div.table-wrap { table #declarado {
            thead { tr {
                th scope="col" { (ctx.t("Fuente", "Source")) }
                th scope="col" { (ctx.t("Dato", "Figure")) }
                th.num scope="col" { (ctx.t("Declarado", "Stated")) }
                th.num scope="col" { (ctx.t("Inventario", "Inventory")) }
                th scope="col" { (ctx.t("Coincide", "Agrees")) }
            } }
            tbody {
                @for s in &sources {
                    @for f in &s.figures {
                        tr {
                            td { (s.source) }
                            td { (crate::inventory::LinkMedium::parse(f.what).map_or(t.declared_total, |m| t.medium(m))) }
                            td.num { (f.stated) } td.num { (f.counted) }
                            td { @if f.agrees { "✔ " (t.yes) } @else { span.contradiction { "✖ " (t.no) } } }
                        }
                    }
                }
                @for d in &inv.declared {
                    @for (class, stated) in &d.devices {
                        @let counted = by_class.get(class).copied().unwrap_or(0);
                        tr {
                            td { (d.source) } td { (t.class(*class)) }
                            td.num { (stated) } td.num { (counted) }
                            td { @if counted == *stated as usize { "✔ " (t.yes) } @else { span.contradiction { "✖ " (t.no) } } }
                        }
                    }
                }
            }
        } }
        @let disagreeing = sources.iter().filter(|s| !s.agrees).count();
        @if disagreeing > 1 {
            p.contradiction { "✖ " (ctx.t("Las fuentes se contradicen entre sí: se muestran todas.", "The sources contradict each other: all are shown.")) }
        }
        h2 { (ctx.t("Sedes", "Sites")) " (" (inv.sites.len()) ")" }
        div.table-wrap { table #inv-sedes {
            thead { tr {
                th scope="col" { "Id" } th scope="col" { (ctx.t("Nombre", "Name")) } th scope="col" { (ctx.t("Medio", "Medium")) }
                th scope="col" { (ctx.t("Proveedor", "Provider")) } th.num scope="col" { "Mbit/s" } th scope="col" { (ctx.t("Previsto", "Planned")) }
            } }
            tbody {
                @for s in &inv.sites {
                    tr {
                        td { a href=(ctx.href(&format!("/sede/{}", encode(&s.id)), &[])) { (s.id) } }
                        td { (s.name) }
                        td { @match (s.role, s.link) { (SiteRole::Main, _) | (_, None) => (t.main_site), (_, Some(m)) => (t.medium(m)) } }
                        td { (s.provider.as_deref().unwrap_or("")) }
                        td.num { (s.link_mbps.map(|m| m.to_string()).unwrap_or_default()) }
                        td { @if let Some(p) = s.planned_link { (t.medium(p)) } @if let Some(d) = s.planned_date { " " (d.to_string()) } }
                    }
                }
            }
        } }
        h2 { (ctx.t("Equipos", "Devices")) " (" (inv.devices.len()) ")" }
        div.table-wrap { table #inv-equipos {
            thead { tr {
                th scope="col" { "Id" } th scope="col" { (ctx.t("Sede", "Site")) } th scope="col" { (ctx.t("Clase", "Class")) }
                th scope="col" { (ctx.t("Fabricante / modelo", "Vendor / model")) } th scope="col" { "IPv4" } th scope="col" { "IPv6" }
                th scope="col" { "SNMP" } th scope="col" { (ctx.t("Adquirido", "Acquired")) } th scope="col" { (ctx.t("Fin de soporte", "End of support")) }
            } }
            tbody {
                @for d in inv.devices.iter().skip((page - 1) * DEVICES_PER_PAGE).take(DEVICES_PER_PAGE) {
                    tr {
                        td { a href=(ctx.href(&format!("/equipo/{}", encode(&d.id)), &[])) { (d.id) } }
                        td { (d.site) } td { (t.class(d.class)) }
                        td { (d.vendor.as_deref().unwrap_or("")) " " (d.model.as_deref().unwrap_or("")) }
                        td { (d.ipv4.map(|a| a.to_string()).unwrap_or_default()) }
                        td { (d.ipv6.map(|a| a.to_string()).unwrap_or_default()) @if let Some(p) = d.ipv6_planned { " (" (ctx.t("previsto ", "planned ")) (p.to_string()) ")" } }
                        td { (d.snmp.as_ref().map(|s| s.name.as_str()).unwrap_or("—")) }
                        td { (d.lifecycle.acquired.map(|x| x.to_string()).unwrap_or_default()) }
                        td { (d.lifecycle.end_of_support.map(|x| x.to_string()).unwrap_or_default()) }
                    }
                }
            }
        } }
        @if pages > 1 {
            nav.pager {
                @if page > 1 { a href=(ctx.href("/inventario", &[("pagina", &(page - 1).to_string())])) rel="prev" { "← " (ctx.t("Anterior", "Previous")) } }
                span { (ctx.t("Página ", "Page ")) (page) " / " (pages) }
                @if page < pages { a href=(ctx.href("/inventario", &[("pagina", &(page + 1).to_string())])) rel="next" { (ctx.t("Siguiente", "Next")) " →" } }
            }
        }
    };
    shell(
        &ctx,
        &PageInfo {
            title: ctx.t("Inventario", "Inventory"),
            path: "/inventario",
            nav: Nav::Inventario,
            freshness: None,
            refresh: None,
        },
        content,
    )
}
