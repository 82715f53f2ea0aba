//! Charts drawn on the server as SVG: a device's RTT and loss over a window, one mark per
//! stored poll (or per bucket where the store downsampled a long window, which the caption
//! says). Failed polls are crosses, not just another colour.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::common::{Ctx, family_label, instant};
use crate::inventory::Family;
use crate::store::PollSeries;

const W: f64 = 640.0;
const H: f64 = 150.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 22.0;

/// The most points a chart asks the store for; longer windows are downsampled to this.
pub const MAX_POINTS: u32 = 500;

fn x_of(series: &PollSeries, at: DateTime<Utc>) -> f64 {
    let span = (series.to - series.from).num_milliseconds().max(1) as f64;
    let t = (at - series.from).num_milliseconds() as f64 / span;
    LEFT + t.clamp(0.0, 1.0) * (W - LEFT - RIGHT)
}

fn y_of(v: f64, max: f64) -> f64 {
    let r = if max > 0.0 { (v / max).clamp(0.0, 1.0) } else { 0.0 };
    TOP + (1.0 - r) * (H - TOP - BOTTOM)
}

/// The sentence under a chart: how many polls the window holds and how they are drawn.
pub fn caption(ctx: &Ctx, series: &PollSeries) -> String {
    let points = series.points.len();
    match series.bucket {
        None => match ctx.lang {
            crate::report::Lang::Es => {
                format!("{} sondeos almacenados en el periodo; un punto por sondeo.", series.stored)
            }
            crate::report::Lang::En => {
                format!("{} polls stored in the window; one point per poll.", series.stored)
            }
        },
        Some(width) => {
            let mins = width.as_secs_f64() / 60.0;
            match ctx.lang {
                crate::report::Lang::Es => format!(
                    "{} sondeos almacenados: resumidos en el servidor en {points} puntos, uno \
                     por cada {mins:.1} min (media del RTT, pérdida total del intervalo).",
                    series.stored
                ),
                crate::report::Lang::En => format!(
                    "{} polls stored: downsampled on the server to {points} points, one per \
                     {mins:.1} min (mean RTT, total loss of the bucket).",
                    series.stored
                ),
            }
        }
    }
}

/// The RTT chart of one family: a line through the successful polls, a dot for each, a cross
/// at the top for each failed one.
pub fn rtt(ctx: &Ctx, family: Family, series: &PollSeries) -> Markup {
    let max_ms = series
        .points
        .iter()
        .filter_map(|p| p.rtt_avg_s)
        .fold(0.0_f64, |m, s| m.max(s * 1000.0))
        .max(1.0)
        * 1.1;
    let line: Vec<String> = series
        .points
        .iter()
        .filter_map(|p| {
            Some(format!("{:.1},{:.1}", x_of(series, p.at), y_of(p.rtt_avg_s? * 1000.0, max_ms)))
        })
        .collect();
    let title = format!("RTT {} (ms)", family_label(family));
    html! {
        figure {
            svg.chart role="img" aria-label=(title) viewBox=(format!("0 0 {W} {H}"))
                data-chart="rtt" data-family=(family.as_str())
                data-stored=(series.stored) data-points=(series.points.len()) {
                title { (title) }
                (axes(series, &format!("{max_ms:.0} ms")))
                @if line.len() > 1 { polyline.line points=(line.join(" ")) {} }
                @for p in &series.points {
                    @let x = x_of(series, p.at);
                    @match p.rtt_avg_s.filter(|_| p.successes > 0) {
                        Some(s) => circle.pt cx=(format!("{x:.1}")) cy=(format!("{:.1}", y_of(s * 1000.0, max_ms))) r="2.2" {
                            title { (instant(p.at)) ": " (format!("{:.2} ms", s * 1000.0)) }
                        },
                        None => path.pt.fail d=(format!("M{:.1} {:.1}l6 6m0 -6l-6 6", x - 3.0, TOP)) {
                            title { (instant(p.at)) ": " (ctx.t("sin respuesta", "no answer")) }
                        },
                    }
                }
            }
            figcaption.note { (caption(ctx, series)) }
        }
    }
}

/// The loss chart of one family: a bar per point whose echoes were lost, as tall as the share
/// lost (100 % at the top).
pub fn loss(ctx: &Ctx, family: Family, series: &PollSeries) -> Markup {
    let title = format!("{} {}", ctx.t("Pérdida", "Loss"), family_label(family));
    let bar_w = ((W - LEFT - RIGHT) / (series.points.len().max(1) as f64)).clamp(1.0, 6.0);
    html! {
        figure {
            svg.chart role="img" aria-label=(title) viewBox=(format!("0 0 {W} {H}"))
                data-chart="loss" data-family=(family.as_str()) data-points=(series.points.len()) {
                title { (title) }
                (axes(series, "100 %"))
                @for p in &series.points {
                    @if let Some(l) = p.loss().filter(|l| *l > 0.0) {
                        @let y = y_of(l, 1.0);
                        rect.bar x=(format!("{:.1}", x_of(series, p.at) - bar_w / 2.0)) y=(format!("{y:.1}"))
                            width=(format!("{bar_w:.1}")) height=(format!("{:.1}", H - BOTTOM - y)) {
                            title { (instant(p.at)) ": " (format!("{:.1} %", l * 100.0)) }
                        }
                    }
                }
            }
        }
    }
}

fn axes(series: &PollSeries, top_label: &str) -> Markup {
    html! {
        line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W - RIGHT) y2=(H - BOTTOM) {}
        line.axis x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(H - BOTTOM) {}
        text x="2" y=(TOP + 9.0) { (top_label) }
        text x="2" y=(H - BOTTOM) { "0" }
        text x=(LEFT) y=(H - 6.0) { (instant(series.from)) }
        text x=(W - RIGHT) y=(H - 6.0) text-anchor="end" { (instant(series.to)) }
    }
}
