//! `vigia inventory suggest`: a YAML fragment, for a person to review, with the vendor, model
//! and serial each device reported where the inventory has none, every value with a comment of
//! how and when it was seen. vigia never writes it into the inventory itself; once a person
//! copies the lines into the devices' entries, `vigia inventory check` accepts them (the values
//! are quoted as YAML double-quoted scalars, whatever the device sent).

use std::fmt::Write as _;

use super::i18n::{Lang, fill};
use super::renewal::family_label;
use super::text::instant;
use crate::discovered::{Field, InventoryCheck, Seen, Suggestion, suggestions};

/// The inventory key of a field.
fn key(f: Field) -> &'static str {
    match f {
        Field::Vendor => "vendor",
        Field::Model => "model",
        Field::Serial => "serial",
    }
}

/// What the value was read from.
fn object(f: Field) -> &'static str {
    match f {
        Field::Vendor => "sysObjectID / entPhysicalMfgName",
        Field::Model => "ENTITY-MIB entPhysicalModelName",
        Field::Serial => "ENTITY-MIB entPhysicalSerialNum",
    }
}

/// A YAML double-quoted scalar of `text` (JSON's string syntax, which YAML reads the same).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

fn tr(lang: Lang, es: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Es => es,
        Lang::En => en,
    }
}

fn seen_comment(lang: Lang, f: Field, s: &Seen) -> String {
    fill(
        tr(
            lang,
            "# {object}: visto del {first} al {last} ({agent}, {family}); revise antes de copiar",
            "# {object}: seen from {first} to {last} ({agent}, {family}); review before copying",
        ),
        &[
            ("object", &object(f)),
            ("first", &instant(s.first_seen)),
            ("last", &instant(s.last_seen)),
            ("agent", &s.agent),
            ("family", &family_label(s.family)),
        ],
    )
}

/// The fragment: a header comment, then `devices:` with one entry per device that lacks a
/// field it reported (or a comment saying there is none).
pub fn yaml(check: &InventoryCheck, lang: Lang) -> String {
    let list = suggestions(check);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        fill(
            tr(
                lang,
                "# vigia inventory suggest: lo que los equipos informan por SNMP y el inventario no \
                 declara, al {date} (historial hasta {instant}).",
                "# vigia inventory suggest: what devices report over SNMP and the inventory does \
                 not declare, as of {date} (history up to {instant}).",
            ),
            &[("date", &check.as_of.date), ("instant", &instant(check.as_of.instant))]
        )
    );
    let _ = writeln!(
        out,
        "{}",
        tr(
            lang,
            "# Nada de esto se escribe en el inventario: revise cada valor y copie las líneas en la \
             entrada del equipo (mismo id); luego ejecute vigia inventory check.",
            "# None of this is written into the inventory: review each value and copy the lines \
             into the device's entry (same id); then run vigia inventory check.",
        )
    );
    if list.is_empty() {
        let _ = writeln!(
            out,
            "{}\ndevices: []",
            tr(
                lang,
                "# Ningún equipo tiene algo que proponer.",
                "# No device has anything to propose."
            )
        );
        return out;
    }
    let _ = writeln!(out, "devices:");
    for Suggestion { device, fields } in &list {
        let _ = writeln!(out, "  - id: {}", quoted(device.as_str()));
        for (f, seen) in fields {
            let _ = writeln!(out, "    {}", seen_comment(lang, *f, seen));
            let _ = writeln!(out, "    {}: {}", key(*f), quoted(&seen.value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_text_is_always_one_quoted_yaml_scalar() {
        assert_eq!(quoted("WS-C2960X"), "\"WS-C2960X\"");
        assert_eq!(quoted("a: b # c"), "\"a: b # c\"");
        assert_eq!(quoted("say \"hi\" \\ ñ"), "\"say \\\"hi\\\" \\\\ ñ\"");
    }
}
