//! The sede page's "use of the contract" part (issue 15): the site's own contracted link and
//! the pool it shares, each with its contract, the interface that carries it and its use now
//! (the rates between the interface's last two readings, as `vigia_link_use_ratio`); a link
//! whose interface the inventory does not declare says its use cannot be measured. The day's
//! and month's 95th percentile are in the links report (`/reportes/links`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use maud::html;

use super::common::{Ctx, pct};
use crate::inventory::contract::{ContractedLink, Direction, LinkKind};
use crate::inventory::{DeviceId, Inventory};
use crate::link_use::MAX_GAP;
use crate::state::DeviceState;

/// One contracted link of the site, as read under the state's lock.
pub(super) struct UseLine {
    kind: LinkKind,
    id: String,
    name: String,
    mbps: [u32; 2],
    interface: Option<String>,
    /// The use now per direction (down, up); `None` without a fresh rate.
    now: [Option<f64>; 2],
}

/// The site's own contract and the pool it shares, with their use now.
pub(super) fn lines(
    inv: &Inventory,
    site: &str,
    devices: &HashMap<DeviceId, DeviceState>,
    now: DateTime<Utc>,
) -> Vec<UseLine> {
    let line = |l: ContractedLink, name: String| {
        let rates = l.measured_at.and_then(|m| {
            let i = crate::metrics::link_use::find(devices.get(&m.device)?, m)?;
            i.rates.filter(|_| i.octets.is_some_and(|o| now - o.at <= MAX_GAP))
        });
        let share = |d: Direction| {
            rates.and_then(|r| r.bps(d)).map(|bps| bps / l.bandwidth.bits_per_second(d))
        };
        UseLine {
            kind: l.kind,
            id: l.id.to_owned(),
            name,
            mbps: [l.bandwidth.down_mbps, l.bandwidth.up_mbps],
            interface: l.measured_at.map(|m| format!("{} {}", m.device, m.port)),
            now: [share(Direction::Down), share(Direction::Up)],
        }
    };
    let mut out = Vec::new();
    for l in inv.contracts.links() {
        let name = match l.kind {
            LinkKind::Site if l.id == site => {
                inv.site(site).map_or_else(String::new, |s| s.name.clone())
            }
            LinkKind::Pool => match inv.contracts.pools.iter().find(|p| p.id == l.id) {
                Some(p) if p.sites.iter().any(|s| s == site) => p.name.clone(),
                _ => continue,
            },
            LinkKind::Site => continue,
        };
        out.push(line(l, name));
    }
    out
}

/// The section of the page.
pub(super) fn section(ctx: &Ctx, lines: &[UseLine]) -> maud::Markup {
    html! {
        h2 { (ctx.t("Uso del contrato", "Contract use")) }
        @if lines.is_empty() {
            p.note { (ctx.t("El inventario no registra contrato de ancho de banda para esta sede.", "The inventory records no bandwidth contract for this site.")) }
        } @else {
            div.table-wrap { table #contrato {
                thead { tr {
                    th scope="col" { (ctx.t("Contrato", "Contract")) }
                    th scope="col" { (ctx.t("Tipo", "Kind")) }
                    th.num scope="col" { (ctx.t("Bajada (Mbps)", "Down (Mbps)")) }
                    th.num scope="col" { (ctx.t("Subida (Mbps)", "Up (Mbps)")) }
                    th scope="col" { (ctx.t("Interfaz medida", "Measured interface")) }
                    th.num scope="col" { (ctx.t("Uso ahora, bajada", "Use now, down")) }
                    th.num scope="col" { (ctx.t("Uso ahora, subida", "Use now, up")) }
                } }
                tbody {
                    @for l in lines {
                        tr data-link=(l.id) {
                            th scope="row" { (l.name) }
                            td { @if l.kind == LinkKind::Pool { (ctx.t("compartido", "shared")) } @else { (ctx.t("propio", "own")) } }
                            td.num { (l.mbps[0]) }
                            td.num { (l.mbps[1]) }
                            @match &l.interface {
                                Some(i) => { td { (i) } td.num data-direction="down" { (pct(ctx, l.now[0])) } td.num data-direction="up" { (pct(ctx, l.now[1])) } },
                                None => { td colspan="3" { (ctx.t("no se puede medir: interfaz no declarada en el inventario", "cannot be measured: interface not declared in the inventory")) } },
                            }
                        }
                    }
                }
            } }
            p.note { (ctx.t("Percentil 95 del día y del mes y tiempo sobre el 80 %: reporte Enlaces.", "Day's and month's 95th percentile and time above 80 %: the Links report.")) }
        }
    }
}
