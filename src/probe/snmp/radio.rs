//! Radio vendor tables (declared as data in `poll/radio.rs`): their column OIDs, and the rows
//! a walk read turned into [`RadioLink`]s, the same way for every vendor.

use std::collections::BTreeMap;

use super::mibs::Rows;
use super::value::{ObjectId, Val};
use crate::poll::radio::{
    Field, Level, RadioColumn, RadioLink, RadioTable, Syntax, derive_snr, level,
};
use crate::poll::text::device_text;

/// The OIDs of a table's columns, in the table's column order.
pub(crate) fn columns(table: &RadioTable) -> Vec<ObjectId> {
    table.columns.iter().map(|c| table.entry.iter().copied().chain([c.column]).collect()).collect()
}

/// A column's value as a number in the exported unit: `None` when absent, unusable when of the
/// wrong type or impossible.
fn number(c: &RadioColumn, v: &Val) -> Option<Level> {
    let Field::Reading(r) = c.field else { return None };
    if v.is_exception() {
        return None;
    }
    let raw = match (c.syntax, v) {
        (Syntax::Integer, Val::Int(n)) => *n as f64,
        (Syntax::Gauge, Val::Gauge32(n)) => f64::from(*n),
        _ => return Some(Level::Unusable),
    };
    if c.zero_is_absent && raw == 0.0 {
        return None;
    }
    Some(level(r, raw * c.scale))
}

/// A remote station's name or address, made safe.
fn remote(c: &RadioColumn, v: &Val) -> Option<String> {
    match (c.syntax, v) {
        (Syntax::Mac, Val::Bytes(b)) if b.len() == 6 => {
            Some(b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":"))
        }
        (Syntax::Text, Val::Bytes(b)) => device_text(b).filter(|t| !t.trim().is_empty()),
        _ => None,
    }
}

/// The rows of a table (each column's rows, in [`columns`] order) as links, by index.
pub(crate) fn links(table: &RadioTable, walked: &[Rows]) -> Vec<RadioLink> {
    let mut by_row: BTreeMap<&[u32], RadioLink> = BTreeMap::new();
    for (c, rows) in table.columns.iter().zip(walked) {
        for (suffix, v) in rows {
            if suffix.is_empty() {
                continue;
            }
            let link = by_row.entry(suffix.as_slice()).or_insert_with(|| RadioLink {
                table: table.id,
                station: suffix.iter().map(u32::to_string).collect::<Vec<_>>().join("."),
                remote: None,
                readings: Vec::new(),
            });
            match c.field {
                Field::Remote => link.remote = remote(c, v),
                Field::Reading(r) => {
                    if let Some(l) = number(c, v) {
                        link.readings.push((r, l));
                    }
                }
            }
        }
    }
    by_row
        .into_values()
        .map(|mut l| {
            derive_snr(&mut l);
            l
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::radio::{RadioReading as R, RadioTableId, TABLES};

    fn table(id: RadioTableId) -> &'static RadioTable {
        TABLES.iter().find(|t| t.id == id).unwrap()
    }

    /// The walked rows of `t` with `values` set per column object name, at `suffix`.
    fn rows(t: &RadioTable, suffix: &[u32], values: &[(&str, Val)]) -> Vec<Rows> {
        t.columns
            .iter()
            .map(|c| {
                values
                    .iter()
                    .filter(|(o, _)| *o == c.object)
                    .map(|(_, v)| (suffix.to_vec(), v.clone()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn column_oids_by_hand() {
        let c = columns(table(RadioTableId::MikrotikRtab));
        assert_eq!(c[0], [1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 2, 1, 3]);
        let c = columns(table(RadioTableId::UbntAirMax));
        assert_eq!(c[0], [1, 3, 6, 1, 4, 1, 41112, 1, 4, 5, 1, 5]);
        let c = columns(table(RadioTableId::UbntAirFiber));
        assert_eq!(c[2], [1, 3, 6, 1, 4, 1, 41112, 1, 3, 2, 1, 11]);
    }

    #[test]
    fn airmax_rates_are_kbits_and_snr_is_signal_minus_noise() {
        let t = table(RadioTableId::UbntAirMax);
        let walked = rows(
            t,
            &[1],
            &[
                ("ubntWlStatSignal", Val::Int(-63)),
                ("ubntWlStatNoiseFloor", Val::Int(-96)),
                ("ubntWlStatCcq", Val::Int(91)),
                ("ubntWlStatTxRate", Val::Int(144_444)),
                ("ubntWlStatRxRate", Val::Int(130_000)),
                ("ubntWlStatApMac", Val::Bytes(vec![0x24, 0xa4, 0x3c, 0x01, 0x02, 0xff])),
            ],
        );
        let l = links(t, &walked);
        assert_eq!(l.len(), 1);
        let l = &l[0];
        assert_eq!((l.table, l.station.as_str()), (RadioTableId::UbntAirMax, "1"));
        assert_eq!(l.value(R::SignalDbm), Some(-63.0));
        assert_eq!(l.value(R::NoiseDbm), Some(-96.0));
        assert_eq!(l.value(R::SnrDb), Some(33.0), "-63 - -96");
        assert_eq!(l.value(R::CcqPercent), Some(91.0));
        assert_eq!(l.value(R::TxRateBps), Some(144_444_000.0));
        assert_eq!(l.value(R::RxRateBps), Some(130_000_000.0));
        assert_eq!(l.remote.as_deref(), Some("24:a4:3c:01:02:ff"));
        assert_eq!(l.unusable(), 0);
    }

    #[test]
    fn airfiber_capacity_in_bits_and_power_in_dbm() {
        let t = table(RadioTableId::UbntAirFiber);
        let walked = rows(
            t,
            &[1],
            &[
                ("rxCapacity", Val::Int(702_000_000)),
                ("txCapacity", Val::Int(650_000_000)),
                ("rxPower0", Val::Int(-48)),
                ("remoteMAC", Val::Bytes(b"04:18:D6:00:00:01".to_vec())),
            ],
        );
        let l = &links(t, &walked)[0];
        assert_eq!(l.value(R::RxCapacityBps), Some(702e6));
        assert_eq!(l.value(R::TxCapacityBps), Some(650e6));
        assert_eq!(l.value(R::SignalDbm), Some(-48.0));
        assert_eq!(l.value(R::SnrDb), None, "no noise floor, no SNR");
        assert_eq!(l.remote.as_deref(), Some("04:18:D6:00:00:01"));
    }

    #[test]
    fn mikrotik_registration_rows_are_keyed_by_mac_and_interface() {
        let t = table(RadioTableId::MikrotikRtab);
        let suffix = [0x4c, 0x5e, 0x0c, 1, 2, 3, 7];
        let walked = rows(
            t,
            &suffix,
            &[
                ("mtxrWlRtabStrength", Val::Int(-71)),
                ("mtxrWlRtabTxRate", Val::Gauge32(54_000_000)),
                ("mtxrWlRtabRxRate", Val::Gauge32(48_000_000)),
                ("mtxrWlRtabSignalToNoise", Val::Int(24)),
                ("mtxrWlRtabRadioName", Val::Bytes(b"Torre Alto\x1b[2J".to_vec())),
            ],
        );
        let l = &links(t, &walked)[0];
        assert_eq!(l.station, "76.94.12.1.2.3.7");
        assert_eq!(l.value(R::SignalDbm), Some(-71.0));
        assert_eq!(l.value(R::SnrDb), Some(24.0));
        assert_eq!(l.value(R::TxRateBps), Some(54e6));
        assert_eq!(l.value(R::RxRateBps), Some(48e6));
        assert_eq!(l.remote.as_deref(), Some("Torre Alto\u{FFFD}[2J"), "control bytes cleaned");
        // The MIB: "if value does not exist it is indicated with 0".
        let walked = rows(t, &suffix, &[("mtxrWlRtabSignalToNoise", Val::Int(0))]);
        assert_eq!(links(t, &walked)[0].readings, []);
    }

    #[test]
    fn wrong_types_and_impossible_values_are_unusable_never_numbers() {
        let t = table(RadioTableId::MikrotikRtab);
        let walked = rows(
            t,
            &[1],
            &[
                ("mtxrWlRtabStrength", Val::Int(12)),              // above 0 dBm
                ("mtxrWlRtabTxRate", Val::Int(54_000_000)),        // INTEGER, not Gauge32
                ("mtxrWlRtabRxRate", Val::Bytes(b"54M".to_vec())), // a string
                ("mtxrWlRtabSignalToNoise", Val::NoSuchInstance),  // absent, not unusable
            ],
        );
        let l = &links(t, &walked)[0];
        assert_eq!(l.value(R::SignalDbm), None);
        assert_eq!(l.unusable(), 3);
        assert!(l.readings.iter().all(|(_, v)| *v == Level::Unusable));
        let airmax = table(RadioTableId::UbntAirMax);
        let walked = rows(
            airmax,
            &[1],
            &[("ubntWlStatCcq", Val::Int(140)), ("ubntWlStatSignal", Val::Int(-200))],
        );
        assert_eq!(links(airmax, &walked)[0].unusable(), 2);
    }
}
