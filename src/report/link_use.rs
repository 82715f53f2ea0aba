//! The links report's "use of the contract" part (issue 15): per contracted link (a site's own,
//! or a pool shared by sites) the contract, the measured interface, and per direction the 95th
//! percentile of the use over the as-of day and month and the minutes spent above 80 % of the
//! contract. A link whose interface is not declared says it cannot be measured.
//!
//! Its texts live here, beside its rows, in both languages.

use super::i18n::Lang;
use super::table::{Cell, Doc, row};
use crate::inventory::contract::{Direction, LinkKind};
use crate::link_use::{ContractUse, PeriodUse, UseStatus};

/// The texts of this part, per language.
pub struct UseStrings {
    /// The section's title.
    pub title: &'static str,
    /// The workbook sheet's name.
    pub sheet: &'static str,
    /// The periods, `{day_from}`, `{month_from}`, `{to}` filled.
    pub periods: &'static str,
    /// `site`, `pool`.
    pub kinds: [&'static str; 2],
    /// Per [`UseStatus`].
    pub status: [&'static str; 3],
    /// No contract in the inventory.
    pub none: &'static str,
    /// How the figures are made.
    pub rules: &'static [&'static str],
}

const ES: UseStrings = UseStrings {
    title: "Uso del ancho de banda contratado",
    sheet: "Uso del contrato",
    periods: "Día: desde {day_from}; mes: desde {month_from}; ambos hasta {to} (exclusive).",
    kinds: ["Sede", "Compartido"],
    status: ["medido", "no se puede medir: interfaz no declarada", "sin datos"],
    none: "El inventario no registra contratos de ancho de banda (contracts, link_pools o link_mbps).",
    rules: &[
        "Uso: tráfico de la interfaz declarada (ifHCInOctets = bajada hacia la sede, ifHCOutOctets = subida) entre lecturas consecutivas, dividido entre el contrato en esa dirección.",
        "Percentil 95: sobre intervalos de 5 minutos alineados a UTC, se descarta el 5 % más alto (rango ⌈0,95·n⌉), como facturan los proveedores.",
        "Minutos > 80 %: tiempo de los intervalos entre lecturas cuyo tráfico superó el 80 % del contrato.",
        "Lecturas separadas por más de 15 minutos, reinicios del contador y tasas mayores que la velocidad del puerto no se miden.",
        "Un enlace cuya interfaz no declara el inventario no se puede medir: agregar interface (equipo y ifName o ifIndex) a su contrato.",
    ],
};

const EN: UseStrings = UseStrings {
    title: "Use of the contracted bandwidth",
    sheet: "Contract use",
    periods: "Day: from {day_from}; month: from {month_from}; both to {to} (exclusive).",
    kinds: ["Site", "Shared"],
    status: ["measured", "cannot be measured: interface not declared", "no data"],
    none: "The inventory records no bandwidth contracts (contracts, link_pools or link_mbps).",
    rules: &[
        "Use: traffic of the declared interface (ifHCInOctets = down towards the site, ifHCOutOctets = up) between consecutive readings, divided by the contract in that direction.",
        "95th percentile: over 5-minute slots aligned to UTC, the top 5 % discarded (rank ⌈0.95·n⌉), as carriers bill.",
        "Minutes > 80 %: the time of the intervals between readings whose traffic exceeded 80 % of the contract.",
        "Readings more than 15 minutes apart, counter resets and rates above the port's speed measure nothing.",
        "A link whose interface the inventory does not declare cannot be measured: add interface (device and ifName or ifIndex) to its contract.",
    ],
};

/// The texts in `lang`.
pub fn strings(lang: Lang) -> &'static UseStrings {
    match lang {
        Lang::Es => &ES,
        Lang::En => &EN,
    }
}

row! {
    /// A link's use figures: how it was measured, then per period and direction.
    pub struct UseFigs {
        status: Option<&'static str> = ("Medición", "Measurement"),
        day_p95_down: Cell = ("P95 del día, bajada", "Day's 95th percentile, down"),
        day_p95_up: Cell = ("P95 del día, subida", "Day's 95th percentile, up"),
        month_p95_down: Cell = ("P95 del mes, bajada", "Month's 95th percentile, down"),
        month_p95_up: Cell = ("P95 del mes, subida", "Month's 95th percentile, up"),
        day_above_down: Option<f64> = ("Minutos > 80 % en el día, bajada", "Minutes > 80 % in the day, down"),
        day_above_up: Option<f64> = ("Minutos > 80 % en el día, subida", "Minutes > 80 % in the day, up"),
        month_above_down: Option<f64> = ("Minutos > 80 % en el mes, bajada", "Minutes > 80 % in the month, down"),
        month_above_up: Option<f64> = ("Minutos > 80 % en el mes, subida", "Minutes > 80 % in the month, up"),
    }
}

row! {
    /// A contracted link and its use.
    pub struct UseRow {
        id: String = ("Id", "Id"),
        name: String = ("Enlace", "Link"),
        kind: &'static str = ("Tipo", "Kind"),
        sites: String = ("Sedes", "Sites"),
        down_mbps: u32 = ("Contrato bajada (Mbps)", "Contract down (Mbps)"),
        up_mbps: u32 = ("Contrato subida (Mbps)", "Contract up (Mbps)"),
        interface: Option<String> = ("Interfaz medida", "Measured interface"),
        figures: UseFigs = None,
    }
}

/// The figures of a link; all empty for none (a site without a contract of its own).
pub fn figures(lang: Lang, u: Option<&ContractUse>) -> UseFigs {
    let day = u.and_then(|u| u.day.as_ref());
    let month = u.and_then(|u| u.month.as_ref());
    UseFigs {
        status: u.map(|u| status_text(lang, u.status)),
        day_p95_down: p95(day, Direction::Down),
        day_p95_up: p95(day, Direction::Up),
        month_p95_down: p95(month, Direction::Down),
        month_p95_up: p95(month, Direction::Up),
        day_above_down: above(day, Direction::Down),
        day_above_up: above(day, Direction::Up),
        month_above_down: above(month, Direction::Down),
        month_above_up: above(month, Direction::Up),
    }
}

/// How a link's use was measured, in `lang`.
pub fn status_text(lang: Lang, s: UseStatus) -> &'static str {
    let i = UseStatus::ALL.iter().position(|x| *x == s).unwrap_or(0);
    strings(lang).status[i]
}

fn p95(p: Option<&PeriodUse>, d: Direction) -> Cell {
    p.and_then(|p| p.of(d).p95).map_or(Cell::Empty, Cell::Percent)
}

/// Minutes above 80 %, to the tenth; none where nothing was measured.
fn above(p: Option<&PeriodUse>, d: Direction) -> Option<f64> {
    let f = p?.of(d);
    (f.measured_s > 0.0).then(|| (f.above_s / 6.0).round() / 10.0)
}

/// One row per contracted link.
pub fn rows(lang: Lang, uses: &[ContractUse]) -> Vec<UseRow> {
    let s = strings(lang);
    uses.iter()
        .map(|u| UseRow {
            id: u.id.clone(),
            name: u.name.clone(),
            kind: s.kinds[usize::from(u.kind == LinkKind::Pool)],
            sites: u.sites.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", "),
            down_mbps: u.bandwidth.down_mbps,
            up_mbps: u.bandwidth.up_mbps,
            interface: u.measured_at.as_ref().map(|m| format!("{} {}", m.device, m.port)),
            figures: figures(lang, Some(u)),
        })
        .collect()
}

/// The section of the Markdown (or HTML) report.
pub fn write<D: Doc>(out: &mut D, lang: Lang, uses: &[ContractUse], as_of: crate::history::AsOf) {
    let s = strings(lang);
    let _ = writeln!(out, "## {}\n", s.title);
    if uses.is_empty() {
        let _ = writeln!(out, "{}\n", s.none);
        return;
    }
    let (day, month) = crate::link_use::periods(as_of);
    let _ = writeln!(
        out,
        "{}\n",
        super::i18n::fill(
            s.periods,
            &[
                ("day_from", &super::text::instant(day.from)),
                ("month_from", &super::text::instant(month.from)),
                ("to", &super::text::instant(as_of.instant)),
            ],
        )
    );
    out.table(lang, rows(lang, uses));
    let _ = writeln!(out);
    for rule in s.rules {
        let _ = writeln!(out, "- {rule}");
    }
    let _ = writeln!(out);
}
