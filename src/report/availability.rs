//! The availability report: per site, per link medium, per family and per device over a month
//! or a range, each figure with the poll counts behind it, the outages with their cause, and
//! the maintenance left out. Rules: [`crate::availability`] and docs/reports.md.

use chrono::{DateTime, TimeDelta, Utc};
use rust_xlsxwriter::XlsxError;
use serde::Serialize;

use super::i18n::{Lang, col};
use super::renewal::{family_label, to_json};
use super::table::{self, Cell, Doc, Header, header, row};
use super::xlsx::Book;
use crate::availability::{Figure, Outage, Report};
use crate::inventory::{Family, LinkMedium};
use crate::outage::Cause;

/// The `schema` field of the JSON document.
pub const SCHEMA: &str = "vigia.availability/1";

/// What a figure below the poll share reads.
const INSUFFICIENT: Header = ("datos insuficientes", "insufficient data");

/// The JSON document (see docs/reports.md).
pub fn json(r: &Report) -> Vec<u8> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a Report,
    }
    to_json(&Doc { schema: SCHEMA, body: r })
}

row! {
    /// A figure and the counts behind it.
    struct Counted {
        availability: Cell = ("Disponibilidad{of}", "Availability{of}"),
        polled: u64 = ("Ciclos contados{of}", "Cycles counted{of}"),
        up: u64 = ("Con respuesta{of}", "Answered{of}"),
        expected: u64 = ("Ciclos esperados{of}", "Cycles expected{of}"),
        maintenance: u64 = ("En mantenimiento{of}", "In maintenance{of}"),
    }
}

row! {
    /// A site.
    struct SiteRow {
        site: String = col::SITE,
        name: String = col::SITE_NAME,
        medium: &'static str = col::MEDIUM,
        figure: Counted = Some(("of", "")),
    }
}

row! {
    /// A group: a link medium or an address family.
    struct GroupRow {
        group: &'static str = ("Grupo", "Group"),
        figure: Counted = Some(("of", "")),
    }
}

row! {
    /// The availability of one family, for the device rows.
    struct FamilyCell {
        availability: Cell = ("Disponibilidad {family}", "{family} availability"),
        polled: Option<u64> = ("Ciclos {family}", "{family} cycles"),
    }
}

row! {
    /// A device.
    struct DeviceRow {
        device: String = col::DEVICE,
        site: String = col::SITE,
        figure: Counted = Some(("of", "")),
        ipv4: FamilyCell = Some(("family", family_label(Family::Ipv4))),
        ipv6: FamilyCell = Some(("family", family_label(Family::Ipv6))),
    }
}

row! {
    /// The CSV: every figure, one row each, the first column says what it is.
    struct CsvRow {
        kind: &'static str = ("Tipo", "Kind"),
        id: String = ("Id", "Id"),
        site: String = col::SITE,
        figure: Counted = Some(("of", "")),
    }
}

row! {
    /// An outage.
    struct OutageRow {
        site: String = col::SITE,
        device: String = col::DEVICE,
        start: String = ("Inicio", "Start"),
        end: String = ("Fin", "End"),
        duration: String = ("Duración", "Duration"),
        cause: &'static str = ("Causa", "Cause"),
        root: String = ("Origen", "Root"),
        cycles: u64 = ("Ciclos caídos", "Down cycles"),
        maintenance: String = ("Mantenimiento", "Maintenance"),
        counted: &'static str = ("Cuenta como caída", "Counted as down"),
    }
}

row! {
    /// A maintenance occurrence left out.
    struct MaintenanceRow {
        window: String = ("Ventana", "Window"),
        scope: String = ("Alcance", "Scope"),
        reason: String = ("Motivo", "Reason"),
        start: String = ("Inicio", "Start"),
        end: String = ("Fin", "End"),
        duration: String = ("Duración", "Duration"),
    }
}

fn tr(lang: Lang, h: Header) -> &'static str {
    header(h, lang)
}

fn counted(lang: Lang, f: &Figure) -> Counted {
    Counted {
        availability: Cell::percent_or(f.availability, tr(lang, INSUFFICIENT)),
        polled: f.counts.polled,
        up: f.counts.up,
        expected: f.counts.expected,
        maintenance: f.counts.maintenance,
    }
}

fn medium(lang: Lang, m: Option<LinkMedium>) -> &'static str {
    let t = lang.t();
    m.map_or(t.main_site, |m| t.medium(m))
}

fn local(r: &Report, at: DateTime<Utc>) -> String {
    at.with_timezone(&r.period.time_zone).format("%Y-%m-%d %H:%M").to_string()
}

/// `1 d 02:03`, `02:03:04`.
fn duration(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    let (days, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if days > 0 {
        format!("{days} d {h:02}:{m:02}:{sec:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

fn cause(lang: Lang, c: Cause) -> &'static str {
    tr(
        lang,
        match c {
            Cause::Device => ("el propio equipo", "the device itself"),
            Cause::Link => ("el enlace de la sede", "the site's link"),
            Cause::Dependency => ("una dependencia", "a dependency"),
        },
    )
}

fn outage_row(lang: Lang, r: &Report, o: &Outage) -> OutageRow {
    let mut end = local(r, o.end);
    if o.open {
        end.push_str(tr(lang, (" (sigue)", " (ongoing)")));
    }
    OutageRow {
        site: o.site.clone(),
        device: o.device.clone().unwrap_or_default(),
        start: local(r, o.start),
        end,
        duration: duration(o.duration()),
        cause: cause(lang, o.cause),
        root: o.root.clone(),
        cycles: o.cycles,
        maintenance: o.maintenance.join(", "),
        counted: lang.t().yes_no(!o.excluded),
    }
}

fn maintenance_row(
    lang: Lang,
    r: &Report,
    m: &crate::availability::MaintenanceSpan,
) -> MaintenanceRow {
    let scope = match m.scope {
        "all" => tr(lang, ("toda la red", "the whole network")).to_owned(),
        "site" => format!("{} {}", tr(lang, ("sede", "site")), m.target),
        _ => format!("{} {}", tr(lang, ("equipo", "device")), m.target),
    };
    MaintenanceRow {
        window: m.window.clone(),
        scope,
        reason: m.reason.clone(),
        start: local(r, m.start),
        end: local(r, m.end),
        duration: duration(m.end - m.start),
    }
}

fn site_rows(lang: Lang, r: &Report) -> impl Iterator<Item = SiteRow> + '_ {
    r.sites.iter().map(move |s| SiteRow {
        site: s.site.clone(),
        name: s.name.clone(),
        medium: medium(lang, s.medium),
        figure: counted(lang, &s.figure),
    })
}

fn media_rows(lang: Lang, r: &Report) -> impl Iterator<Item = GroupRow> + '_ {
    r.media
        .iter()
        .map(move |(m, f)| GroupRow { group: lang.t().medium(*m), figure: counted(lang, f) })
}

fn family_rows(lang: Lang, r: &Report) -> impl Iterator<Item = GroupRow> + '_ {
    r.families
        .iter()
        .map(move |(fam, f)| GroupRow { group: family_label(*fam), figure: counted(lang, f) })
}

fn device_rows(lang: Lang, r: &Report) -> impl Iterator<Item = DeviceRow> + '_ {
    let fam = move |d: &crate::availability::DeviceFigure, f: Family| match d.families.get(&f) {
        Some(x) => FamilyCell {
            availability: Cell::percent_or(x.availability, tr(lang, INSUFFICIENT)),
            polled: Some(x.counts.polled),
        },
        None => FamilyCell { availability: Cell::Empty, polled: None },
    };
    r.devices.iter().map(move |d| DeviceRow {
        device: d.device.clone(),
        site: d.site.clone(),
        figure: counted(lang, &d.figure),
        ipv4: fam(d, Family::Ipv4),
        ipv6: fam(d, Family::Ipv6),
    })
}

/// The Markdown report.
pub fn markdown(r: &Report, lang: Lang) -> String {
    let mut out = String::new();
    write(&mut out, r, lang);
    out
}

fn write<D: Doc>(out: &mut D, r: &Report, lang: Lang) {
    let p = &r.period;
    let _ = writeln!(
        out,
        "# {} {}\n",
        tr(lang, ("Disponibilidad de la red:", "Network availability:")),
        p.label
    );
    let _ = writeln!(
        out,
        "{}: {} – {} ({}).  \n{}\n",
        tr(lang, ("Periodo", "Period")),
        local(r, p.from),
        local(r, p.to),
        p.time_zone.name(),
        match lang {
            Lang::Es => format!(
                "Ciclos de sondeo de {} s: {} en el periodo. Una cifra se da solo con al menos el {:.0} % de los ciclos esperados; si no, dice «datos insuficientes».",
                r.cycle_s,
                r.cycles,
                r.min_poll_share * 100.0
            ),
            Lang::En => format!(
                "Poll cycles of {} s: {} in the period. A figure is given only with at least {:.0} % of the expected cycles; otherwise it reads \"insufficient data\".",
                r.cycle_s,
                r.cycles,
                r.min_poll_share * 100.0
            ),
        }
    );
    let _ = writeln!(out, "## {}\n", tr(lang, ("Sedes", "Sites")));
    out.table(lang, site_rows(lang, r));
    let _ = writeln!(
        out,
        "\n## {}\n",
        tr(lang, ("Totales por medio de enlace", "Totals per link medium"))
    );
    out.table(lang, media_rows(lang, r));
    let _ = writeln!(out, "\n## {}\n", tr(lang, ("Totales por familia", "Totals per family")));
    out.table(lang, family_rows(lang, r));
    let _ = writeln!(out, "\n## {}\n", tr(lang, ("Equipos", "Devices")));
    out.table(lang, device_rows(lang, r));
    let _ = writeln!(out, "\n## {} ({})\n", tr(lang, ("Caídas", "Outages")), r.outages.len());
    if r.outages.is_empty() {
        let _ = writeln!(out, "{}", lang.t().none_listed);
    } else {
        out.table(lang, r.outages.iter().map(|o| outage_row(lang, r, o)));
    }
    let _ = writeln!(
        out,
        "\n## {} ({})\n",
        tr(lang, ("Mantenimiento excluido", "Maintenance left out")),
        r.maintenance.len()
    );
    if r.maintenance.is_empty() {
        let _ = writeln!(out, "{}", lang.t().none_listed);
    } else {
        out.table(lang, r.maintenance.iter().map(|m| maintenance_row(lang, r, m)));
        let _ = writeln!(
            out,
            "\n{}",
            tr(
                lang,
                (
                    "Los ciclos bajo mantenimiento no cuentan como disponibles ni como caídos.",
                    "Cycles under maintenance count neither as available nor as down."
                )
            )
        );
    }
    let _ = writeln!(out, "\n## {}\n", lang.t().rules);
    let rules: &[Header] = &[
        (
            "Un ciclo tiene respuesta si algún sondeo ICMP del equipo en ese ciclo respondió, por cualquier familia.",
            "A cycle is answered when any ICMP poll of the device in that cycle answered, over any family.",
        ),
        (
            "Una sede responde si alguno de sus equipos de enlace responde; su causa es su enlace o una dependencia.",
            "A site answers when any of its uplink devices answers; its cause is its link or a dependency.",
        ),
        (
            "Disponibilidad = ciclos con respuesta / ciclos contados, sin los ciclos en mantenimiento.",
            "Availability = answered cycles / counted cycles, maintenance cycles left out.",
        ),
        (
            "Una caída va del primer ciclo sin respuesta al siguiente ciclo con respuesta; su causa es la de su primer ciclo.",
            "An outage runs from the first unanswered cycle to the next answered one; its cause is that of its first cycle.",
        ),
    ];
    for rule in rules {
        let _ = writeln!(out, "- {}", tr(lang, *rule));
    }
}

/// The CSV (RFC 4180, UTF-8, CRLF): every figure (sites, media, families, devices), one row
/// each; the outages and maintenance are in the other formats.
pub fn csv(r: &Report, lang: Lang) -> String {
    let kind = |h: Header| tr(lang, h);
    let sites = r.sites.iter().map(|s| CsvRow {
        kind: kind(("sede", "site")),
        id: s.site.clone(),
        site: s.site.clone(),
        figure: counted(lang, &s.figure),
    });
    let media = r.media.iter().map(|(m, f)| CsvRow {
        kind: kind(("medio", "medium")),
        id: lang.t().medium(*m).to_owned(),
        site: String::new(),
        figure: counted(lang, f),
    });
    let fams = r.families.iter().map(|(fam, f)| CsvRow {
        kind: kind(("familia", "family")),
        id: family_label(*fam).to_owned(),
        site: String::new(),
        figure: counted(lang, f),
    });
    let devices = r.devices.iter().map(|d| CsvRow {
        kind: kind(("equipo", "device")),
        id: d.device.clone(),
        site: d.site.clone(),
        figure: counted(lang, &d.figure),
    });
    let mut out = String::new();
    table::csv(&mut out, lang, sites.chain(media).chain(fams).chain(devices));
    out
}

/// The workbook: sites, media, families, devices, outages, maintenance.
pub fn xlsx(r: &Report, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let mut book = Book::new(r.period.to);
    book.sheet(tr(lang, ("Sedes", "Sites")), lang, site_rows(lang, r))?;
    book.sheet(tr(lang, ("Medios", "Media")), lang, media_rows(lang, r))?;
    book.sheet(tr(lang, ("Familias", "Families")), lang, family_rows(lang, r))?;
    book.sheet(tr(lang, ("Equipos", "Devices")), lang, device_rows(lang, r))?;
    book.sheet(
        tr(lang, ("Caídas", "Outages")),
        lang,
        r.outages.iter().map(|o| outage_row(lang, r, o)),
    )?;
    book.sheet(
        tr(lang, ("Mantenimiento", "Maintenance")),
        lang,
        r.maintenance.iter().map(|m| maintenance_row(lang, r, m)),
    )?;
    book.finish()
}
