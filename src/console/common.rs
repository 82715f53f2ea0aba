//! What every console page shares: the language, the page shell (navigation, the time of the
//! data and whether it is stale, wall mode), the states a site or device can be in, and small
//! formatting helpers. Every text goes through maud, which escapes it.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::agent::Shared;
use crate::inventory::{Device, Family};
pub use crate::report::Lang;
use crate::state::DeviceState;

/// The language of a request: `?lang=es|en` first, then the first of `Accept-Language`'s
/// languages (by quality) that the console speaks, else Spanish.
pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(lang) = query.and_then(Lang::parse) {
        return lang;
    }
    let mut best: Option<(f32, Lang)> = None;
    for part in accept_language.unwrap_or_default().split(',') {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or_default();
        if let Some(lang) = Lang::parse(primary)
            && q > 0.0
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::Es, |(_, l)| l)
}

/// A text in both languages, picked.
pub fn tr(lang: Lang, es: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Es => es,
        Lang::En => en,
    }
}

/// One request's context: its language, wall mode and query, and the agent's "now".
pub struct Ctx {
    /// The page's language.
    pub lang: Lang,
    /// Full-screen wall display: no navigation, larger type.
    pub wall: bool,
    /// The query parameters.
    pub query: HashMap<String, String>,
    /// Now, by the agent's clock.
    pub now: DateTime<Utc>,
}

impl Ctx {
    /// The context of a request.
    pub fn new(query: HashMap<String, String>, headers: &HeaderMap, now: DateTime<Utc>) -> Ctx {
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let lang = negotiate(query.get("lang").map(String::as_str), accept);
        let wall = query.get("wall").is_some_and(|v| v == "1");
        Ctx { lang, wall, query, now }
    }

    /// A text in the page's language.
    pub fn t(&self, es: &'static str, en: &'static str) -> &'static str {
        tr(self.lang, es, en)
    }

    /// A query parameter, if given and not empty.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A link to `path` (already encoded) with `params`, keeping the language and wall mode.
    pub fn href(&self, path: &str, params: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if self.lang == Lang::En {
            pairs.push(("lang", "en"));
        }
        if self.wall {
            pairs.push(("wall", "1"));
        }
        pairs.extend(params.iter().copied().filter(|(_, v)| !v.is_empty()));
        if pairs.is_empty() {
            return path.to_owned();
        }
        let query: Vec<String> =
            pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        format!("{path}?{}", query.join("&"))
    }

    /// This page in the other language, or in or out of wall mode.
    fn variant(&self, path: &str, lang: Lang, wall: bool) -> String {
        let mut pairs: Vec<(String, String)> = self
            .query
            .iter()
            .filter(|(k, _)| *k != "lang" && *k != "wall")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.sort();
        if lang == Lang::En {
            pairs.insert(0, ("lang".into(), "en".into()));
        }
        if wall {
            pairs.push(("wall".into(), "1".into()));
        }
        let query: Vec<String> =
            pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) }
    }
}

/// Percent-encodes a path segment or query value (everything but unreserved characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How fresh the agent's data is.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// The newest ICMP result the agent holds.
    pub data_at: Option<DateTime<Utc>>,
    /// The poll interval (ICMP), which is also the page's refresh interval.
    pub interval: Duration,
    /// The data is older than two intervals (and a margin): the agent is not polling.
    pub stale: bool,
}

impl Freshness {
    /// Of the agent's state at `now`.
    pub fn of(shared: &Shared, now: DateTime<Utc>) -> Freshness {
        let interval = shared.inventory.poll.icmp_interval;
        let data_at =
            shared.state.devices.values().flat_map(|d| d.icmp.values().map(|s| s.at)).max();
        let limit = TimeDelta::from_std(interval * 2).unwrap_or(TimeDelta::MAX)
            + TimeDelta::from_std(shared.inventory.poll.timeout).unwrap_or_default()
            + TimeDelta::seconds(5);
        let polls_something = shared.inventory.devices.iter().any(|d| d.monitor);
        let stale = polls_something && data_at.is_none_or(|at| now - at > limit);
        Freshness { data_at, interval, stale }
    }
}

/// What a page says about itself to the shell.
pub struct PageInfo<'a> {
    /// The title (also the first heading).
    pub title: &'a str,
    /// The request path (for the language and wall links).
    pub path: &'a str,
    /// Which entry of the navigation it is.
    pub nav: Nav,
    /// The data's freshness, for pages that show live data.
    pub freshness: Option<Freshness>,
    /// How often the script refreshes the page (`None`: never; pages with a freshness
    /// refresh at its interval).
    pub refresh: Option<Duration>,
}

/// The navigation entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Resumen.
    Resumen,
    /// A site or device page (under Resumen).
    Detail,
    /// Eventos.
    Eventos,
    /// Reportes.
    Reportes,
    /// Inventario.
    Inventario,
}

/// The whole page: head, navigation, the data's time, the content.
pub fn shell(ctx: &Ctx, info: &PageInfo<'_>, content: Markup) -> Response {
    let lang = ctx.lang;
    let refresh = info.refresh.or(info.freshness.map(|f| f.interval)).map(|d| d.as_secs().max(1));
    let nav = [
        (Nav::Resumen, "/", ctx.t("Resumen", "Summary")),
        (Nav::Eventos, "/eventos", ctx.t("Eventos", "Events")),
        (Nav::Reportes, "/reportes", ctx.t("Reportes", "Reports")),
        (Nav::Inventario, "/inventario", ctx.t("Inventario", "Inventory")),
    ];
    let other = match lang {
        Lang::Es => Lang::En,
        Lang::En => Lang::Es,
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (info.title) " · vigia" }
                link rel="stylesheet" href="/assets/console.css";
                link rel="icon" href="/assets/icon.svg" type="image/svg+xml";
                script src="/assets/console.js" defer {}
            }
            body.wall[ctx.wall] data-refresh=[refresh] data-offline=(ctx.t(
                "No se pudo actualizar: el agente no responde.",
                "Could not refresh: the agent does not answer."
            )) {
                a.skip href="#contenido" { (ctx.t("Ir al contenido", "Skip to content")) }
                header.top {
                    a.brand href=(ctx.href("/", &[])) { "vigia" }
                    nav aria-label=(ctx.t("Secciones", "Sections")) {
                        @for (which, path, label) in nav {
                            @if which == info.nav || (which == Nav::Resumen && info.nav == Nav::Detail) {
                                a href=(ctx.href(path, &[])) aria-current="page" { (label) }
                            } @else {
                                a href=(ctx.href(path, &[])) { (label) }
                            }
                        }
                    }
                    span.tools {
                        a href=(ctx.variant(info.path, other, ctx.wall)) lang=(other.as_str()) {
                            (tr(other, "Español", "English"))
                        }
                        @if ctx.wall {
                            a href=(ctx.variant(info.path, lang, false)) { (ctx.t("Salir de pantalla completa", "Leave wall mode")) }
                        } @else {
                            a href=(ctx.variant(info.path, lang, true)) { (ctx.t("Pantalla completa", "Wall mode")) }
                        }
                    }
                }
                main #contenido {
                    h1 { (info.title) }
                    @if let Some(f) = info.freshness { (freshness(ctx, f)) }
                    (content)
                }
                footer {
                    (ctx.t("Generado por el agente a las ", "Rendered by the agent at "))
                    time datetime=(ctx.now.to_rfc3339()) { (instant(ctx.now)) }
                    ". " (ctx.t("Solo lectura.", "Read-only."))
                }
            }
        }
    };
    html_response(markup)
}

/// A rendered page as an HTML response.
pub fn html_response(markup: Markup) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response()
}

fn freshness(ctx: &Ctx, f: Freshness) -> Markup {
    let age = |at: DateTime<Utc>| ago(ctx, ctx.now - at);
    html! {
        @match (f.data_at, f.stale) {
            (Some(at), false) => p.freshness.fresh role="status" {
                span.mark aria-hidden="true" { "●" } " "
                (ctx.t("Datos de ", "Data from ")) time datetime=(at.to_rfc3339()) { (instant_s(at)) }
                " (" (age(at)) "). "
                (ctx.t("Se actualiza cada ", "Refreshes every ")) (f.interval.as_secs()) " s."
            },
            (Some(at), true) => p.freshness.stale role="alert" {
                span.mark aria-hidden="true" { "⚠" } " "
                strong { (ctx.t("DATOS DESACTUALIZADOS", "STALE DATA")) } ": "
                (ctx.t("el agente no sondea. Último dato: ", "the agent is not polling. Last data: "))
                time datetime=(at.to_rfc3339()) { (instant_s(at)) } " (" (age(at)) ")."
            },
            (None, true) => p.freshness.stale role="alert" {
                span.mark aria-hidden="true" { "⚠" } " "
                strong { (ctx.t("SIN DATOS", "NO DATA")) } ": "
                (ctx.t("el agente aún no tiene ningún resultado.", "the agent has no result yet."))
            },
            (None, false) => p.freshness.fresh role="status" {
                (ctx.t("Nada que sondear.", "Nothing to poll."))
            },
        }
    }
}

/// "5 s ago", "3 min ago", ...
pub fn ago(ctx: &Ctx, d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    let (n, unit) = if s < 120 {
        (s, "s")
    } else if s < 7200 {
        (s / 60, "min")
    } else if s < 172_800 {
        (s / 3600, "h")
    } else {
        (s / 86400, ctx.t("d", "d"))
    };
    match ctx.lang {
        Lang::Es => format!("hace {n} {unit}"),
        Lang::En => format!("{n} {unit} ago"),
    }
}

/// A time to the minute, UTC.
pub fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A time to the second, UTC.
pub fn instant_s(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A ratio as a percentage in the page's language, or "sin datos".
pub fn pct(ctx: &Ctx, ratio: Option<f64>) -> String {
    crate::report::text::pct(ctx.lang.t(), ratio)
}

/// Seconds as milliseconds, or "—".
pub fn ms(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "—".to_owned(), |s| format!("{:.1} ms", s * 1000.0))
}

/// The state of a device or site over one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// No uplink answers on any family.
    Isolated,
    /// Does not answer.
    Down,
    /// Not polled yet, or no result.
    NoData,
    /// Answers.
    Up,
    /// No address of this family.
    NotConfigured,
}

impl Status {
    /// Every state, worst first.
    pub const ALL: [Status; 5] =
        [Status::Isolated, Status::Down, Status::NoData, Status::Up, Status::NotConfigured];

    /// Its name.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Status::Up => tr(lang, "activo", "up"),
            Status::Down => tr(lang, "caído", "down"),
            Status::Isolated => tr(lang, "aislada", "isolated"),
            Status::NoData => tr(lang, "sin datos", "no data"),
            Status::NotConfigured => tr(lang, "no configurado", "not configured"),
        }
    }

    /// Its CSS class (colour), shape and text say the same.
    pub fn class(self) -> &'static str {
        match self {
            Status::Up => "st-up",
            Status::Down => "st-down",
            Status::Isolated => "st-isolated",
            Status::NoData => "st-nodata",
            Status::NotConfigured => "st-none",
        }
    }

    /// Its shape.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Up => "▲",
            Status::Down => "▼",
            Status::Isolated => "✖",
            Status::NoData => "?",
            Status::NotConfigured => "–",
        }
    }
}

/// A state as a badge: shape, word and colour together.
pub fn badge(lang: Lang, s: Status) -> Markup {
    html! {
        span class={"badge " (s.class())} data-status=(format!("{s:?}").to_lowercase()) {
            span.mark aria-hidden="true" { (s.mark()) } " " (s.label(lang))
        }
    }
}

/// A device's state over `family`.
pub fn device_status(d: &Device, st: Option<&DeviceState>, family: Family) -> Status {
    if d.address(family).is_none() {
        return Status::NotConfigured;
    }
    match st.and_then(|s| s.icmp.get(&family)) {
        None => Status::NoData,
        Some(seen) if seen.report.reachable() => Status::Up,
        Some(_) => Status::Down,
    }
}

/// The families, in display order.
pub const FAMILIES: [Family; 2] = [Family::Ipv4, Family::Ipv6];

/// The family's name.
pub fn family_label(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

/// A page that does not exist.
pub fn not_found(ctx: &Ctx, what: &str) -> Response {
    let mut r = shell(
        ctx,
        &PageInfo {
            title: ctx.t("No encontrado", "Not found"),
            path: "/",
            nav: Nav::Detail,
            freshness: None,
            refresh: None,
        },
        html! { p { (what) } p { a href=(ctx.href("/", &[])) { (ctx.t("Volver al resumen", "Back to the summary")) } } },
    );
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// A failure of the history store, said on the page (the agent goes on).
pub fn store_failed(ctx: &Ctx, e: &crate::store::StoreError) -> Markup {
    html! {
        p.error role="alert" {
            span.mark aria-hidden="true" { "⚠" } " "
            (ctx.t("No se pudo leer el historial: ", "Could not read the history: ")) (e.to_string())
        }
    }
}

/// A `<meter>` with its value said in words beside it.
pub fn meter(ctx: &Ctx, ratio: Option<f64>) -> Markup {
    html! {
        @if let Some(r) = ratio {
            meter min="0" max="1" value=(format!("{:.4}", r.clamp(0.0, 1.0))) {}
            " "
        }
        (pct(ctx, ratio))
    }
}

/// Raw HTML produced by a trusted renderer of this crate (a report's HTML, itself escaped
/// by maud).
pub fn trusted(html: String) -> PreEscaped<String> {
    PreEscaped(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_query_then_accept_language_else_spanish() {
        assert_eq!(negotiate(Some("en"), Some("es")), Lang::En);
        assert_eq!(negotiate(Some("xx"), Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(negotiate(None, Some("de-DE,en;q=0.5,es;q=0.8")), Lang::Es);
        assert_eq!(negotiate(None, Some("de, fr")), Lang::Es);
        assert_eq!(negotiate(None, Some("en;q=0")), Lang::Es);
        assert_eq!(negotiate(None, None), Lang::Es);
    }

    #[test]
    fn links_keep_the_language_and_encode_values() {
        let ctx = Ctx {
            lang: Lang::En,
            wall: true,
            query: HashMap::new(),
            now: chrono::DateTime::UNIX_EPOCH,
        };
        assert_eq!(
            ctx.href("/eventos", &[("sede", "a b/<c>")]),
            "/eventos?lang=en&wall=1&sede=a%20b%2F%3Cc%3E"
        );
        assert_eq!(encode("sw-01_x.y~"), "sw-01_x.y~");
    }
}
