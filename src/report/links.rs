//! The links report: sites by medium, fibre coverage, what the sources state beside the
//! inventory, each connected site's link health, and the sites still without a link. As
//! Markdown, JSON, CSV (one row per branch site, figures as numbers) and an XLSX workbook (that
//! table, then one sheet per table of the Markdown report).

use rust_xlsxwriter::XlsxError;
use serde::Serialize;

use chrono::NaiveDate;

use super::i18n::{Lang, Strings, col, fill};
use super::renewal::{family_label, to_json};
use super::table::{self, Cell, Doc, row};
use super::text::{instant, pct};
use super::xlsx::Book;
use crate::inventory::contract::LinkKind;
use crate::inventory::{DeviceId, Family, LinkMedium, SiteId};
use crate::links::{Health, Links, SiteLink};

/// The `schema` field of the JSON document.
pub const SCHEMA: &str = "vigia.links/1";

/// The JSON document (see docs/reports.md).
pub fn json(l: &Links) -> Vec<u8> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a Links,
    }
    to_json(&Doc { schema: SCHEMA, body: l })
}

row! {
    /// How many sites use a medium.
    struct MediumRow {
        medium: &'static str = col::MEDIUM,
        sites: usize = ("Sedes", "Sites"),
    }
}

row! {
    /// A figure a source states beside the inventory's count.
    struct DeclaredRow {
        source: String = ("Fuente", "Source"),
        figure: &'static str = ("Dato", "Figure"),
        stated: u32 = ("Declarado", "Stated"),
        counted: usize = ("Inventario", "Inventory"),
        agrees: &'static str = ("Coincide", "Agrees"),
    }
}

row! {
    /// A connected site's link health over one family (`{family}` filled by the parent row).
    struct FamilyHealth {
        availability: Cell = ("Disponibilidad {family}", "{family} availability"),
        polls: Cell = ("Sondeos {family}", "{family} polls"),
        rtt: Cell = ("RTT {family}", "{family} RTT"),
        loss: Cell = ("Pérdida {family}", "{family} loss"),
    }
}

row! {
    /// A connected site and its link health in both families.
    struct HealthRow {
        /// The site's name.
        site: String = col::SITE,
        medium: &'static str = col::MEDIUM,
        provider: Option<String> = ("Proveedor", "Provider"),
        uplinks: String = ("Equipos de enlace", "Uplink devices"),
        ipv4: FamilyHealth = Some(("family", family_label(Family::Ipv4))),
        ipv6: FamilyHealth = Some(("family", family_label(Family::Ipv6))),
    }
}

row! {
    /// A site with no link yet.
    struct UnlinkedRow {
        /// The site's name.
        site: String = col::SITE,
        planned_link: Option<&'static str> = ("Enlace previsto", "Planned link"),
        planned_date: Option<NaiveDate> = ("Fecha prevista", "Planned date"),
    }
}

row! {
    /// A site's link figures over one family, as numbers (`{family}` filled by the parent row).
    struct FamilyFigures {
        /// The uplink device the figures are of (the best answering one).
        device: Option<DeviceId> = ("Equipo medido {family}", "{family} device measured"),
        polls: Option<u64> = ("Sondeos {family}", "{family} polls"),
        availability: Cell = ("Disponibilidad {family}", "{family} availability"),
        rtt_ms: Option<f64> = ("RTT medio {family} (ms)", "{family} mean RTT (ms)"),
        loss: Cell = ("Pérdida {family}", "{family} loss"),
    }
}

row! {
    /// A branch site, its link and the link's figures: the CSV, and the workbook's first sheet.
    struct SiteRow {
        id: SiteId = ("Id de la sede", "Site id"),
        /// The site's name.
        site: String = col::SITE_NAME,
        medium: &'static str = col::MEDIUM,
        provider: Option<String> = ("Proveedor", "Provider"),
        contract_down: Option<u32> = ("Contrato bajada (Mbps)", "Contract down (Mbps)"),
        contract_up: Option<u32> = ("Contrato subida (Mbps)", "Contract up (Mbps)"),
        /// The pool the site shares, if any.
        pool: Option<String> = ("Contrato compartido", "Shared contract"),
        uplinks: String = ("Equipos de enlace", "Uplink devices"),
        ipv4: FamilyFigures = Some(("family", family_label(Family::Ipv4))),
        ipv6: FamilyFigures = Some(("family", family_label(Family::Ipv6))),
        planned_link: Option<&'static str> = ("Enlace previsto", "Planned link"),
        planned_date: Option<NaiveDate> = ("Fecha prevista", "Planned date"),
        /// The use of the site's own contract (empty without one).
        contract_use: super::link_use::UseFigs = None,
    }
}

fn figures(h: &Option<Health>) -> FamilyFigures {
    let h = h.as_ref();
    FamilyFigures {
        device: h.map(|h| h.device.clone()),
        polls: h.map(|h| h.polls),
        availability: h.and_then(|h| h.availability).map_or(Cell::Empty, Cell::Percent),
        // To the microsecond, as stored.
        rtt_ms: h.and_then(|h| h.rtt_mean_s).map(|s| (s * 1e6).round() / 1e3),
        loss: h.and_then(|h| h.loss_ratio).map_or(Cell::Empty, Cell::Percent),
    }
}

fn site_rows<'a>(lang: Lang, l: &'a Links) -> impl Iterator<Item = SiteRow> + 'a {
    let t = lang.t();
    l.sites.iter().map(move |s: &SiteLink| {
        let own = l.contracts.iter().find(|c| c.kind == LinkKind::Site && c.id == s.site.as_str());
        let pool = l
            .contracts
            .iter()
            .find(|c| c.kind == LinkKind::Pool && c.sites.contains(&s.site))
            .map(|c| c.id.clone());
        SiteRow {
            id: s.site.clone(),
            site: s.name.clone(),
            medium: t.medium(s.link),
            provider: s.provider.clone(),
            contract_down: own.map(|c| c.bandwidth.down_mbps),
            contract_up: own.map(|c| c.bandwidth.up_mbps),
            pool,
            uplinks: super::text::ids(t, &s.uplinks),
            ipv4: figures(&s.ipv4),
            ipv6: figures(&s.ipv6),
            planned_link: s.planned_link.map(|m| t.medium(m)),
            planned_date: s.planned_date,
            contract_use: super::link_use::figures(lang, own),
        }
    })
}

/// One row per branch site, the header first.
pub fn csv(l: &Links, lang: Lang) -> String {
    let mut out = String::new();
    table::csv(&mut out, lang, site_rows(lang, l));
    out
}

/// The workbook: the sites, then each table of the Markdown report.
pub fn xlsx(l: &Links, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let t = lang.t();
    let [sites, by_medium, sources, health, unlinked] = t.links_sheets;
    let mut book = Book::new(l.as_of.instant);
    book.sheet(sites, lang, site_rows(lang, l))?;
    book.sheet(by_medium, lang, medium_rows(t, l))?;
    book.sheet(sources, lang, declared_rows(t, l))?;
    book.sheet(health, lang, health_rows(t, l))?;
    book.sheet(unlinked, lang, unlinked_rows(t, l))?;
    let uses = super::link_use::strings(lang).sheet;
    book.sheet(uses, lang, super::link_use::rows(lang, &l.contracts))?;
    book.finish()
}

fn health(t: &Strings, h: &Option<Health>) -> FamilyHealth {
    match h {
        Some(h) => FamilyHealth {
            availability: if h.sufficient {
                Cell::percent_or(h.availability, t.no_data)
            } else {
                Cell::text(t.insufficient)
            },
            polls: Cell::Phrase(
                Box::new(Cell::Number(h.polls as f64)),
                fill(t.links_polls, &[("polls", &h.polls), ("expected", &h.expected_polls)]),
            ),
            rtt: Cell::text(h.rtt_mean_s.map_or_else(
                || t.no_data.to_owned(),
                |s| fill(t.rtt_ms, &[("ms", &format!("{:.1}", s * 1000.0))]),
            )),
            loss: Cell::percent_or(h.loss_ratio, t.no_data),
        },
        None => FamilyHealth {
            availability: Cell::text(t.no_data),
            polls: Cell::Empty,
            rtt: Cell::Empty,
            loss: Cell::Empty,
        },
    }
}

fn medium_rows(t: &Strings, l: &Links) -> Vec<MediumRow> {
    let c = &l.counts;
    let mut rows = vec![MediumRow { medium: t.main_site, sites: c.main }];
    for m in LinkMedium::ALL {
        rows.push(MediumRow { medium: t.medium(*m), sites: c.of_medium(*m) });
    }
    rows.push(MediumRow { medium: t.branches_total, sites: c.branches });
    rows
}

fn declared_rows<'a>(t: &'a Strings, l: &'a Links) -> impl Iterator<Item = DeclaredRow> + 'a {
    l.declared.iter().flat_map(move |d| {
        d.figures.iter().map(move |f| DeclaredRow {
            source: d.source.clone(),
            figure: LinkMedium::parse(f.what).map_or(t.declared_total, |m| t.medium(m)),
            stated: f.stated,
            counted: f.counted,
            agrees: t.yes_no(f.agrees),
        })
    })
}

fn health_rows<'a>(t: &'a Strings, l: &'a Links) -> impl Iterator<Item = HealthRow> + 'a {
    l.sites.iter().filter(|s| s.link != LinkMedium::None).map(move |s| HealthRow {
        site: s.name.clone(),
        medium: t.medium(s.link),
        provider: s.provider.clone(),
        uplinks: super::text::ids(t, &s.uplinks),
        ipv4: health(t, &s.ipv4),
        ipv6: health(t, &s.ipv6),
    })
}

fn unlinked_rows(t: &Strings, l: &Links) -> Vec<UnlinkedRow> {
    l.sites
        .iter()
        .filter(|s| s.link == LinkMedium::None)
        .map(|s| UnlinkedRow {
            site: s.name.clone(),
            planned_link: s.planned_link.map(|m| t.medium(m)),
            planned_date: s.planned_date,
        })
        .collect()
}

/// What the sources state beside the inventory, and any contradiction.
fn declared<D: Doc>(out: &mut D, lang: Lang, l: &Links) {
    let t = lang.t();
    if l.declared.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {}\n", t.links_declared);
    out.table(lang, declared_rows(t, l));
    let disagreeing = l.declared.iter().filter(|d| !d.agrees).count();
    if disagreeing > 0 {
        let _ =
            writeln!(out, "\n**{}**", fill(t.declared_contradiction, &[("count", &disagreeing)]));
    }
    let _ = out.write_char('\n');
}

/// The Markdown report.
pub fn markdown(l: &Links, lang: Lang) -> String {
    let mut out = String::new();
    write(&mut out, l, lang);
    out
}

/// The report as HTML (the console's page): the same document, tables from the same rows.
pub fn html(l: &Links, lang: Lang) -> String {
    let mut out = super::html::Html::default();
    write(&mut out, l, lang);
    out.finish()
}

/// The report's document, in Markdown or HTML.
fn write<D: Doc>(out: &mut D, l: &Links, lang: Lang) {
    let t = lang.t();
    let _ = writeln!(out, "# {}\n", t.links_title);
    let _ = writeln!(
        out,
        "{}  \n{}\n",
        fill(t.as_of, &[("date", &l.as_of.date), ("instant", &instant(l.as_of.instant))]),
        fill(
            t.links_window,
            &[
                ("days", &(l.window.to - l.window.from).num_days()),
                ("from", &instant(l.window.from)),
                ("to", &instant(l.window.to)),
            ],
        )
    );

    let c = &l.counts;
    let _ = writeln!(out, "## {}\n", t.links_by_medium);
    out.table(lang, medium_rows(t, l));
    let _ = writeln!(
        out,
        "\n{}  \n{}\n",
        fill(
            t.fibre_coverage,
            &[("fibre", &c.fibre), ("branches", &c.branches), ("percent", &pct(t, l.fibre_ratio))],
        ),
        fill(
            t.connected_coverage,
            &[
                ("connected", &(c.fibre + c.radio)),
                ("branches", &c.branches),
                ("percent", &pct(t, l.connected_ratio)),
            ],
        )
    );

    declared(out, lang, l);
    let _ = writeln!(out, "## {}\n", t.links_health);
    out.table(lang, health_rows(t, l));

    let _ = writeln!(out);
    super::link_use::write(out, lang, &l.contracts, l.as_of);

    let unlinked = unlinked_rows(t, l);
    let _ = writeln!(out, "## {} ({})\n", t.links_unlinked, unlinked.len());
    if unlinked.is_empty() {
        let _ = writeln!(out, "{}", t.none_listed);
    } else {
        out.table(lang, unlinked);
    }
    let _ = writeln!(out, "\n## {}\n", t.rules);
    for rule in t.links_rules {
        let _ = writeln!(out, "- {rule}");
    }
}
