//! The inventory report: per device what the inventory declares beside what the device
//! reports, the verdict and its evidence (which poll, when), and the replacements the serial
//! history shows; as Markdown, CSV, JSON and an XLSX workbook.

use rust_xlsxwriter::XlsxError;
use serde::Serialize;

use super::i18n::{Lang, Strings, col, fill};
use super::renewal::{family_label, to_json};
use super::table::{self, Doc, row};
use super::text::instant;
use super::xlsx::Book;
use crate::discovered::{DeviceIdentity, Field, InventoryCheck, Replacement, Verdict};
use crate::inventory::{DeviceId, SiteId};

/// The `schema` field of the JSON document.
pub const SCHEMA: &str = "vigia.inventory/1";

/// The JSON document (see docs/reports.md).
pub fn json(c: &InventoryCheck) -> Vec<u8> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a InventoryCheck,
    }
    to_json(&Doc { schema: SCHEMA, body: c })
}

row! {
    /// One device: declared, discovered, verdict, evidence.
    struct DeviceRow {
        device: DeviceId = col::DEVICE,
        site: SiteId = col::SITE,
        site_name: String = col::SITE_NAME,
        class: &'static str = col::CLASS,
        vendor: Option<String> = ("Fabricante declarado", "Declared vendor"),
        vendor_found: Option<String> = ("Fabricante descubierto", "Discovered vendor"),
        model: Option<String> = ("Modelo declarado", "Declared model"),
        model_found: Option<String> = ("Modelo descubierto", "Discovered model"),
        serial: Option<String> = ("Serie declarada", "Declared serial"),
        serial_found: Option<String> = ("Serie descubierta", "Discovered serial"),
        verdict: &'static str = ("Veredicto", "Verdict"),
        software: Option<String> = ("Software", "Software"),
        evidence: Option<String> = ("Evidencia", "Evidence"),
    }
}

row! {
    /// A replacement the serial history shows.
    struct ReplacementRow {
        device: DeviceId = col::DEVICE,
        site: SiteId = col::SITE,
        at: String = ("Detectado el", "Detected on"),
        old_serial: String = ("Serie anterior", "Old serial"),
        old_model: Option<String> = ("Modelo anterior", "Old model"),
        new_serial: String = ("Serie nueva", "New serial"),
        new_model: Option<String> = ("Modelo nuevo", "New model"),
        old_last_seen: String = ("Serie anterior vista por última vez", "Old serial last seen"),
        agent: String = ("Agente", "Agent"),
    }
}

/// The evidence of a device's row: the latest poll that reported anything of it.
fn evidence(t: &Strings, d: &DeviceIdentity) -> Option<String> {
    let last = d.reported.last()?;
    let first = d.reported.field(Field::Serial).or(d.reported.field(Field::Model)).unwrap_or(last);
    Some(fill(
        t.inv_evidence,
        &[
            ("instant", &instant(last.last_seen)),
            ("agent", &last.agent),
            ("family", &family_label(last.family)),
            ("first", &instant(first.first_seen)),
        ],
    ))
}

fn device_row(t: &Strings, d: &DeviceIdentity) -> DeviceRow {
    let software = d
        .reported
        .software_rev
        .as_ref()
        .or(d.reported.firmware_rev.as_ref())
        .map(|s| s.value.clone());
    DeviceRow {
        device: d.device.clone(),
        site: d.site.clone(),
        site_name: d.site_name.clone(),
        class: t.class(d.class),
        vendor: d.field(Field::Vendor).declared.clone(),
        vendor_found: d.field(Field::Vendor).discovered.clone(),
        model: d.field(Field::Model).declared.clone(),
        model_found: d.field(Field::Model).discovered.clone(),
        serial: d.field(Field::Serial).declared.clone(),
        serial_found: d.field(Field::Serial).discovered.clone(),
        verdict: t.verdict(d.verdict),
        software,
        evidence: evidence(t, d),
    }
}

fn replacement_row(r: &Replacement) -> ReplacementRow {
    ReplacementRow {
        device: r.device.clone(),
        site: r.site.clone(),
        at: instant(r.at),
        old_serial: r.old_serial.clone(),
        old_model: r.old_model.clone(),
        new_serial: r.new_serial.clone(),
        new_model: r.new_model.clone(),
        old_last_seen: instant(r.old_last_seen),
        agent: r.agent.clone(),
    }
}

/// The Markdown report.
pub fn markdown(c: &InventoryCheck, lang: Lang) -> String {
    let mut out = String::new();
    write(&mut out, c, lang);
    out
}

/// The report's document.
fn write<D: Doc>(out: &mut D, c: &InventoryCheck, lang: Lang) {
    let t = lang.t();
    let _ = writeln!(out, "# {}\n", t.inv_title);
    let _ = writeln!(
        out,
        "{}\n",
        fill(t.as_of, &[("date", &c.as_of.date), ("instant", &instant(c.as_of.instant))])
    );
    let _ = writeln!(
        out,
        "{}\n",
        fill(
            t.inv_summary,
            &[
                ("devices", &c.devices.len()),
                ("match", &c.count(Verdict::Match)),
                ("mismatch", &c.count(Verdict::Mismatch)),
                ("declared_only", &c.count(Verdict::DeclaredOnly)),
                ("discovered_only", &c.count(Verdict::DiscoveredOnly)),
                ("no_snmp", &c.count(Verdict::NoSnmp)),
                ("no_data", &c.count(Verdict::NoData)),
                ("replacements", &c.replacements.len()),
            ],
        )
    );
    let _ = writeln!(out, "## {}\n", t.inv_devices);
    out.table(lang, c.devices.iter().map(|d| device_row(t, d)));
    let _ = writeln!(out, "\n## {} ({})\n", t.inv_replacements, c.replacements.len());
    if c.replacements.is_empty() {
        let _ = writeln!(out, "{}", t.none_listed);
    } else {
        out.table(lang, c.replacements.iter().map(replacement_row));
    }
    let _ = writeln!(out, "\n## {}\n", t.rules);
    for rule in t.inv_rules {
        let _ = writeln!(out, "- {rule}");
    }
}

/// The CSV (RFC 4180, UTF-8, CRLF): one record per device.
pub fn csv(c: &InventoryCheck, lang: Lang) -> String {
    let t = lang.t();
    let mut out = String::new();
    table::csv(&mut out, lang, c.devices.iter().map(|d| device_row(t, d)));
    out
}

/// The workbook: devices, replacements.
pub fn xlsx(c: &InventoryCheck, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let t = lang.t();
    let mut book = Book::new(c.as_of.instant);
    book.sheet(t.inv_devices, lang, c.devices.iter().map(|d| device_row(t, d)))?;
    book.sheet(t.inv_replacements, lang, c.replacements.iter().map(replacement_row))?;
    book.finish()
}

/// The value of `f` for a device as reports show it: declared, or discovered and marked so.
pub fn shown(t: &Strings, declared: Option<&str>, discovered: Option<&str>) -> Option<String> {
    match (declared, discovered) {
        (Some(d), _) => Some(d.to_owned()),
        (None, Some(v)) => Some(fill(t.discovered_mark, &[("value", &v)])),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::table::Row;

    #[test]
    fn declared_and_discovered_stand_side_by_side_in_both_languages() {
        let es = DeviceRow::headers(Lang::Es);
        assert_eq!(
            es[4..10],
            [
                "Fabricante declarado",
                "Fabricante descubierto",
                "Modelo declarado",
                "Modelo descubierto",
                "Serie declarada",
                "Serie descubierta"
            ]
        );
        let en = DeviceRow::headers(Lang::En);
        assert_eq!(en[10], "Verdict");
    }

    #[test]
    fn a_discovered_value_is_marked_and_a_declared_one_wins() {
        let t = Lang::Es.t();
        assert_eq!(shown(t, Some("R740"), Some("R750")).as_deref(), Some("R740"));
        assert_eq!(shown(t, None, Some("R750")).as_deref(), Some("R750 (descubierto)"));
        assert_eq!(shown(Lang::En.t(), None, Some("R750")).as_deref(), Some("R750 (discovered)"));
        assert_eq!(shown(t, None, None), None);
    }
}
