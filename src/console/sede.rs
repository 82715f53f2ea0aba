//! Sede: how is this site and its link? Its devices and their state, its link (medium,
//! provider, contracted bandwidth), RTT and loss over 24 h / 7 d / 30 d per family for each
//! device that carries the link, their availability, and the site's events (its outages).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::DateTime;
use maud::html;

use super::Console;
use super::chart;
use super::common::{
    Ctx, FAMILIES, Freshness, Nav, PageInfo, Status, badge, device_status, encode, family_label,
    ms, not_found, shell, store_failed,
};
use super::equipo::{family_charts, period, period_links};
use super::eventos::events_table;
use super::resumen::overall;
use crate::agent::read_shared;
use crate::inventory::{DeviceId, InventoryIndex, Site, SiteRole};
use crate::probe::ProbeKind;
use crate::store::EventFilter;

struct DeviceLine {
    id: DeviceId,
    class: &'static str,
    uplink: bool,
    states: [Status; 2],
    rtt: [Option<f64>; 2],
    snmp: Option<String>,
}

pub(super) async fn page(
    State(console): State<Console>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(query, &headers, console.now());
    let t = ctx.lang.t();
    let model = {
        let shared = read_shared(&console.shared);
        let inv = &shared.inventory;
        inv.site(&id).cloned().map(|site| {
            let index = InventoryIndex::sharded(inv.clone(), ctx.now.date_naive(), shared.shard);
            let deciders: Vec<crate::inventory::Device> =
                index.site_deciders(&site.id).cloned().collect();
            let devices: Vec<DeviceLine> = inv
                .devices
                .iter()
                .filter(|d| d.site == site.id)
                .map(|d| {
                    let st = shared.state.devices.get(&d.id);
                    DeviceLine {
                        id: d.id.clone(),
                        class: t.class(d.class),
                        uplink: d.uplink,
                        states: FAMILIES.map(|f| device_status(d, st, f)),
                        rtt: FAMILIES.map(|f| {
                            st.and_then(|s| s.icmp.get(&f)?.report.rtt_avg())
                                .map(|r| r.as_secs_f64())
                        }),
                        snmp: d.snmp.as_ref().map(|_| {
                            st.and_then(|s| {
                                let outcomes: Vec<String> =
                                    s.snmp.values().map(|x| x.outcome.to_string()).collect();
                                (!outcomes.is_empty()).then(|| outcomes.join(" / "))
                            })
                            .unwrap_or_else(|| t.no_data.to_owned())
                        }),
                    }
                })
                .collect();
            let isolated = shared.state.sites.get(&site.id) == Some(&false);
            let uses = super::contrato::lines(inv, &site.id, &shared.state.devices, ctx.now);
            let own = inv.contracts.sites.get(&site.id).map(|c| c.bandwidth.clone());
            (site, deciders, devices, isolated, (own, uses), Freshness::of(&shared, ctx.now))
        })
    };
    let Some((site, deciders, devices, isolated, (own, uses), freshness)) = model else {
        return not_found(
            &ctx,
            &format!("{}{id}", ctx.t("No hay ninguna sede ", "There is no site ")),
        );
    };
    let (_, from, to) = period(&ctx);
    let mut charts = Vec::new();
    for d in &deciders {
        for f in d.families() {
            let s = console
                .store
                .poll_series(&d.id, f, ProbeKind::Icmp, (from, to), chart::MAX_POINTS)
                .await;
            charts.push((d.id.clone(), f, s));
        }
    }
    let filter = EventFilter {
        from: DateTime::UNIX_EPOCH,
        to,
        site: Some(site.id.clone()),
        device: None,
        kind: None,
    };
    let events = console.store.events_page(&filter, 0, 20).await;
    let path = format!("/sede/{}", encode(&site.id));
    let content = html! {
        (link_facts(&ctx, &site, own.as_ref(), isolated))
        (super::contrato::section(&ctx, &uses))
        h2 { (ctx.t("Equipos", "Devices")) " (" (devices.len()) ")" }
        div.table-wrap { table #equipos {
            thead { tr {
                th scope="col" { (ctx.t("Equipo", "Device")) }
                th scope="col" { (ctx.t("Clase", "Class")) }
                th scope="col" { (ctx.t("Enlace", "Uplink")) }
                @for f in FAMILIES { th scope="col" { (family_label(f)) } th.num scope="col" { "RTT " (family_label(f)) } }
                th scope="col" { "SNMP" }
            } }
            tbody {
                @for d in &devices {
                    tr data-device=(d.id) data-status=(format!("{:?}", overall(d.states)).to_lowercase()) {
                        th scope="row" { a href=(ctx.href(&format!("/equipo/{}", encode(&d.id)), &[])) { (d.id) } }
                        td { (d.class) }
                        td { (t.yes_no(d.uplink)) }
                        @for i in 0..2 { td data-family=(FAMILIES[i].as_str()) { (badge(ctx.lang, d.states[i])) } td.num { (ms(d.rtt[i])) } }
                        td { (d.snmp.as_deref().unwrap_or("—")) }
                    }
                }
            }
        } }
        h2 { (ctx.t("Enlace: RTT, pérdida y disponibilidad", "Link: RTT, loss and availability")) }
        p.note { (ctx.t("De los equipos que deciden si la sede responde (sus equipos de enlace).", "Of the devices that decide whether the site answers (its uplink devices).")) }
        (period_links(&ctx, &path))
        @if charts.is_empty() { p.note { (ctx.t("Ningún equipo de enlace sondeado.", "No polled uplink device.")) } }
        @for (device, f, s) in &charts {
            h3 { (device) " — " (family_label(*f)) }
            (family_charts(&ctx, *f, s))
        }
        h2 { (ctx.t("Eventos y cortes de la sede", "Events and outages of the site")) }
        @match &events {
            Ok(p) => {
                (events_table(&ctx, &p.events))
                p { a href=(ctx.href("/eventos", &[("sede", &site.id)])) { (ctx.t("Todos sus eventos", "All its events")) } " (" (p.total) ")" }
            },
            Err(e) => (store_failed(&ctx, e)),
        }
    };
    let title = format!("{} {}", ctx.t("Sede", "Site"), site.name);
    shell(
        &ctx,
        &PageInfo {
            title: &title,
            path: &path,
            nav: Nav::Detail,
            freshness: Some(freshness),
            refresh: None,
        },
        content,
    )
}

fn link_facts(
    ctx: &Ctx,
    site: &Site,
    contract: Option<&crate::inventory::contract::Bandwidth>,
    isolated: bool,
) -> maud::Markup {
    let t = ctx.lang.t();
    html! {
        dl.facts #enlace {
            dt { (ctx.t("Identificador", "Id")) } dd { (site.id) }
            dt { (ctx.t("Medio", "Medium")) }
            dd data-medium { @match (site.role, site.link) { (SiteRole::Main, _) | (_, None) => (t.main_site), (_, Some(m)) => (t.medium(m)) } }
            dt { (ctx.t("Proveedor", "Provider")) } dd { (site.provider.as_deref().unwrap_or("—")) }
            dt { (ctx.t("Ancho de banda contratado", "Contracted bandwidth")) }
            dd { (contract.map_or_else(|| t.no_data.to_owned(), |b| if b.down_mbps == b.up_mbps {
                format!("{} Mbit/s", b.down_mbps)
            } else {
                format!("{} / {} Mbit/s ({})", b.down_mbps, b.up_mbps, ctx.t("bajada / subida", "down / up"))
            })) }
            @if let Some(p) = site.planned_link {
                dt { (ctx.t("Enlace previsto", "Planned link")) }
                dd { (t.medium(p)) @if let Some(d) = site.planned_date { " (" (d.to_string()) ")" } }
            }
            dt { (ctx.t("Estado", "State")) }
            dd { @if isolated { (badge(ctx.lang, Status::Isolated)) } @else { (ctx.t("ver cada familia abajo", "see each family below")) } }
        }
    }
}
