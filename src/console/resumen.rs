//! Resumen: is the network up, site by site, and how is the plan going? Every sede with its
//! medium and its state per family, RTT and loss of the last cycle and availability over 24 h;
//! counts of sedes and devices by state; IPv6 coverage per stage; renewal candidates; AE.7.03
//! and AE.7.04 against their targets; the last events. Sites are sorted worst first and
//! paginated, so 2,000 sedes weigh what 250 do.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};

use super::Console;
use super::common::{
    Ctx, FAMILIES, Freshness, Nav, PageInfo, Status, badge, device_status, encode, family_label,
    meter, ms, pct, shell, store_failed,
};
use super::eventos::events_table;
use crate::agent::{Plan, Shared, read_shared};
use crate::inventory::{Family, InventoryIndex, Site, SiteId, SiteRole};
use crate::ipv6::Stage;
use crate::lifecycle::Priority;
use crate::store::EventFilter;

/// Sites per page of the Resumen.
pub const SITES_PER_PAGE: usize = 250;

/// One site's line.
struct SiteLine {
    id: SiteId,
    name: String,
    medium: &'static str,
    overall: Status,
    families: [FamilyLine; 2],
}

#[derive(Clone, Copy)]
struct FamilyLine {
    status: Status,
    rtt_s: Option<f64>,
    loss: Option<f64>,
    availability: Option<f64>,
}

/// What the page shows, taken from the shared state under its lock.
struct Model {
    freshness: Freshness,
    sites: Vec<SiteLine>,
    site_counts: BTreeMap<Status, usize>,
    device_counts: BTreeMap<Status, usize>,
    devices_polled: usize,
    plan: Option<Arc<Plan>>,
    availability_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The worst state of a thing over its configured families.
pub fn overall(states: impl IntoIterator<Item = Status>) -> Status {
    states
        .into_iter()
        .filter(|s| *s != Status::NotConfigured)
        .min()
        .unwrap_or(Status::NotConfigured)
}

/// A site's state over `family`: isolated when no uplink answers on any family; up when one
/// of its deciding devices answers over the family; down when all of them were polled over it
/// and none answers.
fn site_family(
    shared: &Shared,
    index: &InventoryIndex,
    site: &Site,
    family: Family,
    avail: &super::Availability24h,
) -> FamilyLine {
    let deciders: Vec<_> =
        index.site_deciders(&site.id).filter(|d| d.address(family).is_some()).collect();
    let mut line =
        FamilyLine { status: Status::NotConfigured, rtt_s: None, loss: None, availability: None };
    if deciders.is_empty() {
        return line;
    }
    let states: Vec<Status> = deciders
        .iter()
        .map(|d| device_status(d, shared.state.devices.get(&d.id), family))
        .collect();
    line.status = if shared.state.sites.get(&site.id) == Some(&false) {
        Status::Isolated
    } else if states.contains(&Status::Up) {
        Status::Up
    } else if states.contains(&Status::NoData) {
        Status::NoData
    } else {
        Status::Down
    };
    // The last cycle of the first decider that has one over this family.
    if let Some(seen) =
        deciders.iter().find_map(|d| shared.state.devices.get(&d.id)?.icmp.get(&family))
    {
        line.rtt_s = seen.report.rtt_avg().map(|d| d.as_secs_f64());
        line.loss = Some(seen.report.loss_ratio());
    }
    let (polls, ok) = deciders
        .iter()
        .filter_map(|d| avail.by_device.get(&(d.id.clone(), family)))
        .fold((0, 0), |(p, o), (dp, doo)| (p + dp, o + doo));
    line.availability = (polls > 0).then(|| ok as f64 / polls as f64);
    line
}

fn build(shared: &Shared, ctx: &Ctx, avail: &super::Availability24h) -> Model {
    let t = ctx.lang.t();
    let today = ctx.now.date_naive();
    let index = InventoryIndex::sharded(shared.inventory.clone(), today, shared.shard);
    let inv = &shared.inventory;
    let mut sites = Vec::with_capacity(inv.sites.len());
    let mut site_counts = BTreeMap::new();
    for s in &inv.sites {
        let families = FAMILIES.map(|f| site_family(shared, &index, s, f, avail));
        let overall = overall(families.iter().map(|f| f.status));
        *site_counts.entry(overall).or_insert(0) += 1;
        let medium = match (s.role, s.link) {
            (SiteRole::Main, _) | (_, None) => t.main_site,
            (_, Some(m)) => t.medium(m),
        };
        sites.push(SiteLine { id: s.id.clone(), name: s.name.clone(), medium, overall, families });
    }
    sites.sort_by(|a, b| a.overall.cmp(&b.overall).then_with(|| a.name.cmp(&b.name)));
    let mut device_counts = BTreeMap::new();
    let mut devices_polled = 0;
    for d in index.polled() {
        devices_polled += 1;
        let st = shared.state.devices.get(&d.id);
        let s = overall(FAMILIES.map(|f| device_status(d, st, f)));
        *device_counts.entry(s).or_insert(0) += 1;
    }
    Model {
        freshness: Freshness::of(shared, ctx.now),
        sites,
        site_counts,
        device_counts,
        devices_polled,
        plan: shared.plan.clone(),
        availability_at: avail.at,
    }
}

pub(super) async fn page(
    State(console): State<Console>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(query, &headers, console.now());
    let avail = console.availability_24h(ctx.now);
    let model = build(&read_shared(&console.shared), &ctx, &avail);
    let filter = EventFilter {
        from: chrono::DateTime::UNIX_EPOCH,
        to: ctx.now + chrono::TimeDelta::minutes(1),
        site: None,
        device: None,
        kind: None,
    };
    let events = console.store.events_page(&filter, 0, 10).await;
    let content = html! {
        (counts(&ctx, &model))
        (sites(&ctx, &model))
        div.cards {
            (coverage(&ctx, model.plan.as_deref()))
            (renewal(&ctx, model.plan.as_deref()))
            (indicators(&ctx, model.plan.as_deref()))
        }
        h2 { (ctx.t("Últimos eventos", "Latest events")) }
        @match &events {
            Ok(page) => {
                (events_table(&ctx, &page.events))
                p { a href=(ctx.href("/eventos", &[])) { (ctx.t("Todos los eventos", "All events")) } " (" (page.total) ")" }
            },
            Err(e) => (store_failed(&ctx, e)),
        }
    };
    let title = ctx.t("Resumen de la red", "Network summary");
    shell(
        &ctx,
        &PageInfo {
            title,
            path: "/",
            nav: Nav::Resumen,
            freshness: Some(model.freshness),
            refresh: None,
        },
        content,
    )
}

fn counts(ctx: &Ctx, m: &Model) -> Markup {
    let list = |counts: &BTreeMap<Status, usize>| {
        html! {
            ul.counts {
                @for s in Status::ALL {
                    @if let Some(n) = counts.get(&s) {
                        li data-count=(format!("{s:?}").to_lowercase()) { (badge(ctx.lang, s)) strong { (n) } }
                    }
                }
            }
        }
    };
    html! {
        div.cards {
            section.card {
                h2 { (ctx.t("Sedes", "Sites")) " (" (m.sites.len()) ")" }
                (list(&m.site_counts))
            }
            section.card {
                h2 { (ctx.t("Equipos sondeados", "Polled devices")) " (" (m.devices_polled) ")" }
                (list(&m.device_counts))
                p.note { (ctx.t("Estado: el peor de sus familias configuradas.", "State: the worst of its configured families.")) }
            }
        }
    }
}

fn sites(ctx: &Ctx, m: &Model) -> Markup {
    let pages = m.sites.len().div_ceil(SITES_PER_PAGE).max(1);
    let page =
        ctx.param("pagina").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).clamp(1, pages);
    let shown = m.sites.iter().skip((page - 1) * SITES_PER_PAGE).take(SITES_PER_PAGE);
    let avail_note = match m.availability_at {
        Some(at) => format!(
            "{}{}.",
            ctx.t(
                "Disponibilidad de las últimas 24 h calculada a las ",
                "Availability over the last 24 h computed at "
            ),
            super::common::instant(at)
        ),
        None => ctx
            .t(
                "Disponibilidad de las últimas 24 h: calculando…",
                "Availability over the last 24 h: computing…",
            )
            .to_owned(),
    };
    html! {
        h2 { (ctx.t("Sedes", "Sites")) }
        p.note {
            (ctx.t("Ordenadas de peor a mejor estado. RTT y pérdida: último ciclo ICMP de sus equipos de enlace. ",
                   "Worst state first. RTT and loss: the last ICMP cycle of their uplink devices. "))
            (avail_note)
        }
        div.table-wrap {
            table #sedes {
                thead {
                    tr {
                        th scope="col" { (ctx.t("Sede", "Site")) }
                        th scope="col" { (ctx.t("Medio", "Medium")) }
                        @for f in FAMILIES {
                            th scope="col" { (family_label(f)) }
                            th.num scope="col" { "RTT " (family_label(f)) }
                            th.num scope="col" { (ctx.t("Pérdida ", "Loss ")) (family_label(f)) }
                            th.num scope="col" { (ctx.t("Disp. 24 h ", "Avail. 24 h ")) (family_label(f)) }
                        }
                    }
                }
                tbody {
                    @for s in shown {
                        tr data-site=(s.id) data-status=(format!("{:?}", s.overall).to_lowercase()) {
                            th scope="row" { a href=(ctx.href(&format!("/sede/{}", encode(&s.id)), &[])) { (s.name) } }
                            td data-medium { (s.medium) }
                            @for (f, line) in FAMILIES.iter().zip(&s.families) {
                                td data-family=(f.as_str()) { (badge(ctx.lang, line.status)) }
                                td.num { (ms(line.rtt_s)) }
                                td.num { @if let Some(l) = line.loss { (pct(ctx, Some(l))) } @else { "—" } }
                                td.num { @if line.status == Status::NotConfigured { "—" } @else { (pct(ctx, line.availability)) } }
                            }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager aria-label=(ctx.t("Páginas de sedes", "Pages of sites")) {
                @if page > 1 { a href=(ctx.href("/", &[("pagina", &(page - 1).to_string())])) rel="prev" { "← " (ctx.t("Anterior", "Previous")) } }
                span { (ctx.t("Página ", "Page ")) (page) " / " (pages) }
                @if page < pages { a href=(ctx.href("/", &[("pagina", &(page + 1).to_string())])) rel="next" { (ctx.t("Siguiente", "Next")) " →" } }
            }
        }
    }
}

fn pending(ctx: &Ctx) -> Markup {
    html! { p.note { (ctx.t("Calculando a partir del historial…", "Computing from the history…")) } }
}

fn coverage(ctx: &Ctx, plan: Option<&Plan>) -> Markup {
    let t = ctx.lang.t();
    html! {
        section.card {
            h2 { (ctx.t("Cobertura IPv6 por etapa", "IPv6 coverage by stage")) }
            @match plan {
                Some(p) => {
                    ul.counts {
                        @for s in Stage::ALL {
                            @let tally = p.coverage.stages.get(*s);
                            li data-stage=(s.as_str()) { span { (t.stage(*s)) } span { (meter(ctx, tally.ratio())) " (" (tally.passed) "/" (tally.eligible) ")" } }
                        }
                    }
                    p { a href=(ctx.href("/reportes/ipv6", &[])) { (ctx.t("Reporte IPv6", "IPv6 report")) } }
                },
                None => (pending(ctx)),
            }
        }
    }
}

fn renewal(ctx: &Ctx, plan: Option<&Plan>) -> Markup {
    let t = ctx.lang.t();
    html! {
        section.card {
            h2 { (ctx.t("Candidatos a renovación", "Renewal candidates")) }
            @match plan {
                Some(p) => {
                    @let r = &p.renewal;
                    p { strong { (r.candidates.len()) } (ctx.t(" de ", " of ")) (r.evaluated) (ctx.t(" equipos evaluados", " devices evaluated")) }
                    ul.counts {
                        @for pr in Priority::ALL {
                            li { span { (t.priority(*pr)) } strong { (r.candidates.iter().filter(|c| c.priority == *pr).count()) } }
                        }
                    }
                    @if !r.candidates.is_empty() {
                        ol {
                            @for c in r.candidates.iter().take(5) {
                                li { a href=(ctx.href(&format!("/equipo/{}", encode(&c.facts.device)), &[])) { (c.facts.device) } " — " (t.priority(c.priority)) " (" (c.score) ")" }
                            }
                        }
                    }
                    p { a href=(ctx.href("/reportes/renewal", &[])) { (ctx.t("Reporte de renovación", "Renewal report")) } }
                },
                None => (pending(ctx)),
            }
        }
    }
}

fn indicators(ctx: &Ctx, plan: Option<&Plan>) -> Markup {
    html! {
        section.card {
            h2 { (ctx.t("Indicadores AE.7.03 y AE.7.04", "Indicators AE.7.03 and AE.7.04")) }
            @match plan.and_then(|p| p.indicators.as_ref()) {
                Some(i) => {
                    ul.counts {
                        @for f in [&i.ae703.ficha, &i.ae704.ficha] {
                            li data-indicator=(f.indicator.to_string()) {
                                span { (f.indicator.to_string()) }
                                span {
                                    strong { (f.value) }
                                    " / " (f.target.map_or_else(|| "—".to_owned(), crate::report::text::number))
                                    " " (meter(ctx, f.progress_percent.map(|p| p / 100.0)))
                                }
                            }
                        }
                    }
                    p.note { (ctx.t("Valor del año frente a su meta.", "The year's value against its target.")) }
                    p { a href=(ctx.href("/reportes/indicators", &[])) { (ctx.t("Reporte de indicadores", "Indicators report")) } }
                },
                None if plan.is_some() => p.note { (ctx.t("No se pudieron calcular (ver el registro del agente).", "Could not be computed (see the agent's log).")) },
                None => (pending(ctx)),
            }
        }
    }
}
