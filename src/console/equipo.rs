//! Equipo: what is this device doing, and should it be renewed? Reachability per family, RTT
//! and loss charts over 24 h / 7 d / 30 d, the SNMP outcome with its diagnosis, the system
//! group, interfaces (state, speed, traffic rates, errors), what SNMP says the device is, its
//! life cycle and why it is or is not a renewal candidate, and its events. Every string a
//! device wrote (sysDescr, ifAlias, ...) is escaped by maud like any other.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use maud::{Markup, html};

use super::Console;
use super::chart;
use super::common::{
    Ctx, FAMILIES, Freshness, Nav, PageInfo, badge, device_status, encode, family_label, instant_s,
    ms, not_found, pct, shell, store_failed,
};
use super::eventos::events_table;
use crate::agent::read_shared;
use crate::inventory::{Device, Family, InventoryIndex, Policy};
use crate::lifecycle::{Candidate, Renewal};
use crate::probe::{Interface, ProbeKind};
use crate::state::DeviceState;
use crate::store::{EventFilter, InterfaceRecord, PollSeries, StoreError};

/// The windows a chart can show.
pub const PERIODS: [(&str, i64); 3] = [("24h", 1), ("7d", 7), ("30d", 30)];

/// The window the request asks for (24 h by default): its name and `[from, to)`.
pub fn period(ctx: &Ctx) -> (&'static str, DateTime<Utc>, DateTime<Utc>) {
    let (name, days) = PERIODS
        .iter()
        .find(|(n, _)| Some(*n) == ctx.param("periodo"))
        .copied()
        .unwrap_or(PERIODS[0]);
    let to = ctx.now + TimeDelta::seconds(1);
    (name, to - TimeDelta::days(days), to)
}

/// Links to the windows, the current one marked.
pub fn period_links(ctx: &Ctx, path: &str) -> Markup {
    let (current, ..) = period(ctx);
    html! {
        nav.periods aria-label=(ctx.t("Periodo", "Window")) {
            @for (name, _) in PERIODS {
                @let label = match name { "24h" => "24 h", "7d" => ctx.t("7 días", "7 days"), _ => ctx.t("30 días", "30 days") };
                @if name == current {
                    a href=(ctx.href(path, &[("periodo", name)])) aria-current="true" { (label) }
                } @else {
                    a href=(ctx.href(path, &[("periodo", name)])) { (label) }
                }
            }
        }
    }
}

/// The charts and availability of one device over one family.
pub fn family_charts(ctx: &Ctx, family: Family, series: &Result<PollSeries, StoreError>) -> Markup {
    html! {
        @match series {
            Ok(s) => {
                p { (ctx.t("Disponibilidad ICMP ", "ICMP availability ")) (family_label(family)) ": "
                    strong data-availability=(family.as_str()) { (pct(ctx, s.availability())) }
                    @let (polls, ok) = s.totals();
                    " (" (ok) "/" (polls) ")"
                }
                (chart::rtt(ctx, family, s))
                (chart::loss(ctx, family, s))
            },
            Err(e) => (store_failed(ctx, e)),
        }
    }
}

struct Model {
    device: Device,
    site_name: String,
    state: Option<DeviceState>,
    polled: bool,
    freshness: Freshness,
    snmp_interval: std::time::Duration,
    policy: Policy,
    candidate: Option<Candidate>,
    renewal_known: bool,
}

pub(super) async fn page(
    State(console): State<Console>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(query, &headers, console.now());
    let model = {
        let shared = read_shared(&console.shared);
        let inv = &shared.inventory;
        inv.device(&id).map(|d| {
            let index = InventoryIndex::sharded(inv.clone(), ctx.now.date_naive(), shared.shard);
            let plan = shared.plan.as_deref();
            Model {
                device: d.clone(),
                site_name: inv.site(&d.site).map_or_else(|| d.site.to_string(), |s| s.name.clone()),
                state: shared.state.devices.get(&d.id).cloned(),
                polled: index.is_polled(&d.id),
                freshness: Freshness::of(&shared, ctx.now),
                snmp_interval: inv.poll.snmp_interval,
                policy: inv.policy.clone(),
                candidate: plan.and_then(|p| find_candidate(&p.renewal, &d.id)),
                renewal_known: plan.is_some(),
            }
        })
    };
    let Some(m) = model else {
        return not_found(
            &ctx,
            &format!("{}{id}", ctx.t("No hay ningún equipo ", "There is no device ")),
        );
    };
    let (_, from, to) = period(&ctx);
    let mut series = BTreeMap::new();
    for f in m.device.families() {
        let s = console
            .store
            .poll_series(&m.device.id, f, ProbeKind::Icmp, (from, to), chart::MAX_POINTS)
            .await;
        series.insert(f, s);
    }
    let lookback = TimeDelta::from_std(m.snmp_interval * 3).unwrap_or(TimeDelta::minutes(3))
        + TimeDelta::seconds(10);
    let samples = console.store.interfaces(&m.device.id, ctx.now - lookback, to).await;
    let filter = EventFilter {
        from: DateTime::UNIX_EPOCH,
        to,
        site: None,
        device: Some(m.device.id.clone()),
        kind: None,
    };
    let events = console.store.events_page(&filter, 0, 20).await;
    let path = format!("/equipo/{}", encode(&m.device.id));
    let content = html! {
        (facts(&ctx, &m))
        h2 { (ctx.t("Alcance por familia", "Reachability per family")) }
        (reachability(&ctx, &m))
        h2 { (ctx.t("RTT y pérdida", "RTT and loss")) }
        (period_links(&ctx, &path))
        @for (f, s) in &series { h3 { (family_label(*f)) } (family_charts(&ctx, *f, s)) }
        @if series.is_empty() { p.note { (ctx.t("Sin direcciones: nada que sondear.", "No address: nothing to poll.")) } }
        h2 { "SNMP" }
        (snmp(&ctx, &m))
        h2 { (ctx.t("Interfaces", "Interfaces")) }
        (interfaces(&ctx, &m, &samples))
        h2 { (ctx.t("Ciclo de vida", "Life cycle")) }
        (lifecycle(&ctx, &m))
        h2 { (ctx.t("Eventos del equipo", "Events of the device")) }
        @match &events {
            Ok(p) => {
                (events_table(&ctx, &p.events))
                p { a href=(ctx.href("/eventos", &[("equipo", &m.device.id)])) { (ctx.t("Todos sus eventos", "All its events")) } " (" (p.total) ")" }
            },
            Err(e) => (store_failed(&ctx, e)),
        }
    };
    let title = format!("{} {}", ctx.t("Equipo", "Device"), m.device.id);
    shell(
        &ctx,
        &PageInfo {
            title: &title,
            path: &path,
            nav: Nav::Detail,
            freshness: Some(m.freshness),
            refresh: None,
        },
        content,
    )
}

fn find_candidate(r: &Renewal, device: &str) -> Option<Candidate> {
    r.candidates.iter().find(|c| c.facts.device == device).cloned()
}

fn facts(ctx: &Ctx, m: &Model) -> Markup {
    let t = ctx.lang.t();
    let d = &m.device;
    html! {
        dl.facts {
            dt { (ctx.t("Sede", "Site")) }
            dd { a href=(ctx.href(&format!("/sede/{}", encode(&d.site)), &[])) { (m.site_name) } }
            dt { (ctx.t("Clase", "Class")) } dd { (t.class(d.class)) }
            dt { (ctx.t("Fabricante / modelo (inventario)", "Vendor / model (inventory)")) }
            dd { (d.vendor.as_deref().unwrap_or("—")) " / " (d.model.as_deref().unwrap_or("—")) }
            dt { (ctx.t("Serie (inventario)", "Serial (inventory)")) } dd { (d.serial.as_deref().unwrap_or("—")) }
            dt { (ctx.t("Equipo de enlace", "Uplink device")) } dd { (t.yes_no(d.uplink)) }
            dt { (ctx.t("Sondeado", "Polled")) } dd { (t.yes_no(m.polled)) }
            dt { (ctx.t("Perfil SNMP", "SNMP profile")) }
            dd { @match &d.snmp { Some(s) => { (s.name) " (v" (s.profile.version().to_string()) ")" }, None => (ctx.t("ninguno (solo ICMP)", "none (ICMP only)")) } }
        }
    }
}

fn reachability(ctx: &Ctx, m: &Model) -> Markup {
    let st = m.state.as_ref();
    html! {
        div.table-wrap { table #alcance {
            thead { tr {
                th scope="col" { (ctx.t("Familia", "Family")) }
                th scope="col" { (ctx.t("Dirección", "Address")) }
                th scope="col" { (ctx.t("Estado", "State")) }
                th.num scope="col" { "RTT" }
                th.num scope="col" { (ctx.t("Pérdida", "Loss")) }
                th scope="col" { (ctx.t("Resultado ICMP", "ICMP outcome")) }
                th scope="col" { (ctx.t("Último ciclo", "Last cycle")) }
            } }
            tbody {
                @for f in FAMILIES {
                    @let seen = st.and_then(|s| s.icmp.get(&f));
                    tr data-family=(f.as_str()) {
                        th scope="row" { (family_label(f)) }
                        td { (m.device.address(f).map_or_else(|| "—".to_owned(), |a| a.to_string())) }
                        td { (badge(ctx.lang, device_status(&m.device, st, f))) }
                        td.num { (ms(seen.and_then(|s| s.report.rtt_avg()).map(|d| d.as_secs_f64()))) }
                        td.num { @if let Some(s) = seen { (pct(ctx, Some(s.report.loss_ratio()))) } @else { "—" } }
                        td { @if let Some(s) = seen { (s.report.outcome.to_string()) @if let Some(d) = &s.report.detail { ": " (d) } } }
                        td { @if let Some(s) = seen { (instant_s(s.at)) } }
                    }
                }
            }
        } }
    }
}

fn snmp(ctx: &Ctx, m: &Model) -> Markup {
    let st = m.state.as_ref();
    let sys = st.and_then(|s| s.system.as_ref());
    html! {
        @if m.device.snmp.is_none() {
            p.note { (ctx.t("Este equipo no se sondea por SNMP.", "This device is not polled over SNMP.")) }
        } @else {
            div.table-wrap { table #snmp {
                thead { tr {
                    th scope="col" { (ctx.t("Familia", "Family")) }
                    th scope="col" { (ctx.t("Resultado", "Outcome")) }
                    th scope="col" { (ctx.t("Diagnóstico", "Diagnosis")) }
                    th scope="col" { (ctx.t("Sondeado", "Polled at")) }
                    th.num scope="col" { (ctx.t("Duración", "Took")) }
                } }
                tbody {
                    @for f in m.device.families() {
                        @let seen = st.and_then(|s| s.snmp.get(&f));
                        tr data-family=(f.as_str()) {
                            th scope="row" { (family_label(f)) }
                            @match seen {
                                Some(s) => {
                                    td { @if s.outcome == crate::probe::SnmpOutcome::Ok { span.badge.st-up { span.mark aria-hidden="true" { "▲" } " ok" } } @else { span.badge.st-down { span.mark aria-hidden="true" { "▼" } " " (s.outcome.to_string()) } } }
                                    td { (s.detail.as_deref().unwrap_or("—")) }
                                    td { (instant_s(s.at)) }
                                    td.num { (format!("{:.0} ms", s.elapsed_s * 1000.0)) }
                                },
                                None => { td colspan="4" { (ctx.t("sin datos", "no data")) } },
                            }
                        }
                    }
                }
            } }
            h3 { (ctx.t("Grupo system", "System group")) }
            dl.facts #system {
                dt { "sysName" } dd { (sys.and_then(|s| s.name.as_deref()).unwrap_or("—")) }
                dt { "sysDescr" } dd { (sys.and_then(|s| s.descr.as_deref()).unwrap_or("—")) }
                dt { "sysObjectID" } dd { (sys.and_then(|s| s.object_id.as_deref()).unwrap_or("—")) }
                dt { "sysLocation" } dd { (sys.and_then(|s| s.location.as_deref()).unwrap_or("—")) }
                dt { "sysContact" } dd { (sys.and_then(|s| s.contact.as_deref()).unwrap_or("—")) }
                dt { "sysUpTime" } dd { (sys.and_then(|s| s.uptime()).map_or_else(|| "—".to_owned(), |u| format!("{} d {} h", u.as_secs() / 86400, u.as_secs() % 86400 / 3600))) }
                dt { (ctx.t("Reinicios vistos", "Restarts seen")) } dd { (st.map_or(0, |s| s.restarts)) }
            }
            h3 { (ctx.t("Lo que el equipo dice de sí mismo", "What the device says about itself")) }
            (identity(ctx, m))
            (super::link_health::section(ctx, st))
            @if let Some(h) = st.and_then(|s| s.host.as_ref()) {
                h3 { "HOST-RESOURCES" }
                dl.facts {
                    dt { "CPU" } dd { (h.cpu_load_percent.map_or_else(|| "—".to_owned(), |c| format!("{c:.0} %"))) }
                    dt { (ctx.t("Memoria", "Memory")) } dd { (bytes(h.memory_used_bytes)) " / " (bytes(h.memory_total_bytes)) }
                    @for disk in &h.disks { dt { (disk.descr) } dd { (bytes(Some(disk.used_bytes))) " / " (bytes(Some(disk.size_bytes))) } }
                }
            }
        }
    }
}

/// Declared beside discovered (vendor, model, serial), the verdict, then every fact the device
/// reported with when it was first and last seen. Every device string is escaped by maud.
fn identity(ctx: &Ctx, m: &Model) -> Markup {
    use crate::discovered::{Field, Reported, Seen, identity};
    let t = ctx.lang.t();
    let reported =
        m.state.as_ref().map(|s| Reported::of_runs(s.facts.values())).unwrap_or_default();
    let id = identity(&m.device, None, m.polled && m.device.snmp.is_some(), reported);
    let field_name = |f: Field| match f {
        Field::Vendor => ctx.t("Fabricante", "Vendor"),
        Field::Model => ctx.t("Modelo", "Model"),
        Field::Serial => ctx.t("Serie", "Serial"),
    };
    let r = &id.reported;
    let others: [(&str, &Option<Seen>); 5] = [
        ("entPhysicalSoftwareRev", &r.software_rev),
        ("entPhysicalFirmwareRev", &r.firmware_rev),
        ("entPhysicalHardwareRev", &r.hardware_rev),
        ("sysObjectID", &r.sys_object_id),
        ("sysDescr", &r.sys_descr),
    ];
    html! {
        p #identity-verdict data-verdict=(id.verdict.as_str()) {
            (ctx.t("Veredicto: ", "Verdict: ")) strong { (t.verdict(id.verdict)) }
        }
        div.table-wrap { table #identity {
            thead { tr {
                th scope="col" { (ctx.t("Dato", "Field")) }
                th scope="col" { (ctx.t("Inventario", "Inventory")) }
                th scope="col" { (ctx.t("Equipo (descubierto)", "Device (discovered)")) }
                th scope="col" { (ctx.t("Coincide", "Agrees")) }
                th scope="col" { (ctx.t("Visto desde", "Seen since")) }
                th scope="col" { (ctx.t("Visto por última vez", "Last seen")) }
            } }
            tbody {
                @for c in &id.fields {
                    @let seen = r.field(c.field);
                    tr data-field=(c.field.as_str()) {
                        th scope="row" { (field_name(c.field)) }
                        td { (c.declared.as_deref().unwrap_or("—")) }
                        td { (c.discovered.as_deref().unwrap_or("—")) }
                        td { @match c.agrees { Some(a) => (t.yes_no(a)), None => "—" } }
                        td { @if let Some(s) = seen { (instant_s(s.first_seen)) } }
                        td { @if let Some(s) = seen { (instant_s(s.last_seen)) } }
                    }
                }
                @for (name, seen) in others {
                    @if let Some(s) = seen {
                        tr { th scope="row" { (name) } td { "—" } td { (s.value) } td { "—" } td { (instant_s(s.first_seen)) } td { (instant_s(s.last_seen)) } }
                    }
                }
            }
        } }
    }
}

fn bytes(b: Option<u64>) -> String {
    b.map_or_else(|| "—".to_owned(), |b| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64))
}

/// Octets per second in and out of each interface between its last two stored samples.
fn rates(samples: &[InterfaceRecord]) -> HashMap<u32, (Option<f64>, Option<f64>)> {
    let mut by_if: HashMap<u32, Vec<&InterfaceRecord>> = HashMap::new();
    for s in samples {
        by_if.entry(s.interface.index).or_default().push(s);
    }
    let rate = |a: &Interface, b: &Interface, secs: f64, get: fn(&Interface) -> Option<u64>| {
        let (x, y) = (get(a)?, get(b)?);
        // A counter that went back (a wrap or a restart) gives no rate for this pair.
        (y >= x && secs > 0.0).then(|| (y - x) as f64 * 8.0 / secs)
    };
    by_if
        .into_iter()
        .filter_map(|(i, mut v)| {
            v.sort_by_key(|s| s.at);
            let [.., a, b] = v.as_slice() else { return None };
            let secs = (b.at - a.at).num_milliseconds() as f64 / 1000.0;
            Some((
                i,
                (
                    rate(&a.interface, &b.interface, secs, |x| x.in_octets),
                    rate(&a.interface, &b.interface, secs, |x| x.out_octets),
                ),
            ))
        })
        .collect()
}

fn bps(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v >= 1e9 => format!("{:.2} Gbit/s", v / 1e9),
        Some(v) if v >= 1e6 => format!("{:.2} Mbit/s", v / 1e6),
        Some(v) if v >= 1e3 => format!("{:.1} kbit/s", v / 1e3),
        Some(v) => format!("{v:.0} bit/s"),
    }
}

fn interfaces(ctx: &Ctx, m: &Model, samples: &Result<Vec<InterfaceRecord>, StoreError>) -> Markup {
    let ifs: Vec<&Interface> = m
        .state
        .as_ref()
        .map(|s| s.interfaces.values().map(|i| &i.interface).collect())
        .unwrap_or_default();
    let rates = samples.as_ref().map(|s| rates(s)).unwrap_or_default();
    let yes_no = |b: Option<bool>, up: &'static str, down: &'static str| match b {
        Some(true) => up,
        Some(false) => down,
        None => "—",
    };
    html! {
        @if let Err(e) = samples { (store_failed(ctx, e)) }
        @if ifs.is_empty() {
            p.note { (ctx.t("Ninguna interfaz leída.", "No interface read.")) }
        } @else {
            p.note { (ctx.t("Tasas: entre las dos últimas muestras guardadas.", "Rates: between the last two stored samples.")) }
            div.table-wrap { table #interfaces {
                thead { tr {
                    th.num scope="col" { "ifIndex" }
                    th scope="col" { (ctx.t("Nombre", "Name")) }
                    th scope="col" { "ifAlias" }
                    th scope="col" { (ctx.t("Operativa / admin.", "Oper. / admin.")) }
                    th.num scope="col" { (ctx.t("Velocidad", "Speed")) }
                    th.num scope="col" { (ctx.t("Entrada", "In")) }
                    th.num scope="col" { (ctx.t("Salida", "Out")) }
                    th.num scope="col" { (ctx.t("Errores ent./sal.", "Errors in/out")) }
                } }
                tbody {
                    @for i in &ifs {
                        @let (rin, rout) = rates.get(&i.index).copied().unwrap_or((None, None));
                        tr {
                            td.num { (i.index) }
                            td { (i.name) }
                            td { (i.alias.as_deref().unwrap_or("")) }
                            td { (yes_no(i.oper_up, "▲ up", "▼ down")) " / " (yes_no(i.admin_up, "up", "down")) }
                            td.num { (i.speed_mbps.map_or_else(|| "—".to_owned(), |s| format!("{s} Mbit/s"))) }
                            td.num { (bps(rin)) }
                            td.num { (bps(rout)) }
                            td.num { (i.in_errors.map_or_else(|| "—".to_owned(), |v| v.to_string())) " / " (i.out_errors.map_or_else(|| "—".to_owned(), |v| v.to_string())) }
                        }
                    }
                }
            } }
        }
    }
}

fn lifecycle(ctx: &Ctx, m: &Model) -> Markup {
    let t = ctx.lang.t();
    let l = &m.device.lifecycle;
    let today = ctx.now.date_naive();
    let max_age = m.policy.max_age(m.device.class);
    let age = l.acquired.map(|a| (today - a).num_days() / 365);
    let date =
        |d: Option<chrono::NaiveDate>| d.map_or_else(|| t.no_data.to_owned(), |d| d.to_string());
    html! {
        dl.facts #ciclo {
            dt { (ctx.t("Adquirido", "Acquired")) } dd { (date(l.acquired)) }
            dt { (ctx.t("Edad", "Age")) }
            dd {
                @match age {
                    Some(a) => { (a) (ctx.t(" años", " years")) },
                    None => (t.no_data),
                }
                (ctx.t("; límite de su clase: ", "; its class's limit: ")) (max_age) (ctx.t(" años", " years"))
            }
            dt { (ctx.t("Fin de venta", "End of sale")) } dd { (date(l.end_of_sale)) }
            dt { (ctx.t("Fin de soporte", "End of support")) } dd { (date(l.end_of_support)) }
            @if let Some(r) = l.renewed { dt { (ctx.t("Renovado el", "Renewed on")) } dd { (r.to_string()) } }
            @if let Some(r) = &l.replaces { dt { (ctx.t("Reemplaza a", "Replaces")) } dd { (r) } }
            @if let Some(r) = l.retired { dt { (ctx.t("Retirado el", "Retired on")) } dd { (r.to_string()) } }
        }
        @match (&m.candidate, m.renewal_known) {
            (Some(c), _) => {
                p #renovacion data-candidate="true" {
                    span.badge.st-down { span.mark aria-hidden="true" { "▼" } " " (ctx.t("Candidato a renovación", "Renewal candidate")) }
                    " " (t.priority(c.priority)) ", " (ctx.t("puntaje ", "score ")) (c.score) ":"
                }
                ul { @for f in &c.findings { li { (t.reason(f.reason)) " (+" (f.points) ")" } } }
            },
            (None, true) => p #renovacion data-candidate="false" {
                span.badge.st-up { span.mark aria-hidden="true" { "▲" } " " (ctx.t("No es candidato", "Not a candidate")) }
                " " (ctx.t("ninguna regla de renovación se cumple con los datos conocidos (edad, fin de soporte, fallas en 90 días).",
                           "no renewal rule holds on the known data (age, end of support, failures over 90 days)."))
                @if l.acquired.is_none() || l.end_of_support.is_none() {
                    " " (ctx.t("Faltan fechas: ver el reporte de renovación.", "Dates are missing: see the renewal report."))
                }
            },
            (None, false) => p.note { (ctx.t("Calculando a partir del historial…", "Computing from the history…")) },
        }
    }
}
