//! Radio links: what a radio's own MIB says of its signal, declared as data.
//!
//! Each supported vendor table is one [`RadioTable`]: the OID of its conceptual row, and per
//! column the object's name, its SNMP syntax, the scale to the exported unit and which
//! [`RadioReading`] it is. The SNMP adapter walks the columns and decodes every row the same
//! way (`probe/snmp/radio.rs`), so adding a vendor is a new entry in [`TABLES`], not new code.
//!
//! A value of the wrong SNMP type, or outside what a radio can report ([`RadioReading::range`]),
//! is kept as [`Level::Unusable`], never as a number: a radio that reports +20 dBm of signal is
//! broken or lying, and an alert must not fire (or stay quiet) on it.
//!
//! Sources (the MIB modules as LibreNMS ships them, github.com/librenms/librenms `mibs/`):
//! `ubnt/UBNT-AirMAX-MIB` (ubntWlStatTable), `ubnt/UBNT-AirFIBER-MIB` (airFiberStatusTable),
//! `mikrotik/MIKROTIK-MIB` (mtxrWlRtabTable). docs/snmp.md lists every object.

use serde::Serialize;

names! {
    /// One vendor table of radio readings.
    RadioTableId {
        /// UBNT-AirMAX-MIB ubntWlStatTable: one row per wireless interface of an airMAX radio.
        UbntAirMax = "ubnt_airmax",
        /// UBNT-AirFIBER-MIB airFiberStatusTable: one row per airFiber radio.
        UbntAirFiber = "ubnt_airfiber",
        /// MIKROTIK-MIB mtxrWlRtabTable: the registration table, one row per remote station.
        MikrotikRtab = "mikrotik_rtab",
    }
}

names! {
    /// What a radio reading is; the exported unit is in the name.
    RadioReading {
        /// Received signal, dBm.
        SignalDbm = "signal_dbm",
        /// Noise floor, dBm.
        NoiseDbm = "noise_dbm",
        /// Signal to noise ratio, dB (the vendor's, else signal - noise).
        SnrDb = "snr_db",
        /// Client connection quality (CCQ), percent.
        CcqPercent = "ccq_percent",
        /// Transmit rate, bits per second.
        TxRateBps = "tx_rate_bps",
        /// Receive rate, bits per second.
        RxRateBps = "rx_rate_bps",
        /// Transmit capacity, bits per second.
        TxCapacityBps = "tx_capacity_bps",
        /// Receive capacity, bits per second.
        RxCapacityBps = "rx_capacity_bps",
    }
}

impl RadioReading {
    /// The values a working radio can report (inclusive); anything else is unusable. Signal and
    /// noise: a received level is never above 0 dBm on a link (that is 1 mW into the receiver)
    /// and below -120 dBm no radio decodes anything. SNR: a link works from a few dB up; a
    /// negative SNR beyond -10 dB is a broken reading. CCQ is a percentage. Rates and capacities:
    /// up to 100 Gbit/s.
    pub fn range(self) -> (f64, f64) {
        match self {
            RadioReading::SignalDbm | RadioReading::NoiseDbm => (-120.0, 0.0),
            RadioReading::SnrDb => (-10.0, 100.0),
            RadioReading::CcqPercent => (0.0, 100.0),
            RadioReading::TxRateBps
            | RadioReading::RxRateBps
            | RadioReading::TxCapacityBps
            | RadioReading::RxCapacityBps => (0.0, 100e9),
        }
    }
}

/// The SNMP syntax a column must have; any other type makes the reading unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// INTEGER / Integer32.
    Integer,
    /// Gauge32 / Unsigned32.
    Gauge,
    /// DisplayString.
    Text,
    /// MacAddress (6 octets), shown as `aa:bb:cc:dd:ee:ff`.
    Mac,
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A reading, in the vendor's unit; `scale` times it is the exported unit.
    Reading(RadioReading),
    /// The name or address of the station at the other end.
    Remote,
}

/// One column of a vendor table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadioColumn {
    /// Its sub-identifier under the table's entry.
    pub column: u32,
    /// The MIB object's name (docs, diagnostics).
    pub object: &'static str,
    /// Its syntax.
    pub syntax: Syntax,
    /// What it holds.
    pub field: Field,
    /// Multiply the value by this to get the exported unit.
    pub scale: f64,
    /// The MIB says 0 means "no value" (MikroTik's SNR): 0 is absent, not a reading.
    pub zero_is_absent: bool,
}

/// One vendor table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadioTable {
    /// Its id (the `table` label).
    pub id: RadioTableId,
    /// The IANA enterprise number whose sysObjectIDs have this table.
    pub enterprise: u32,
    /// The MIB module.
    pub mib: &'static str,
    /// The table's name in the MIB.
    pub name: &'static str,
    /// The OID of its conceptual row (`...Entry`).
    pub entry: &'static [u32],
    /// The columns read.
    pub columns: &'static [RadioColumn],
}

const fn reading(
    column: u32,
    object: &'static str,
    syntax: Syntax,
    r: RadioReading,
    scale: f64,
) -> RadioColumn {
    RadioColumn { column, object, syntax, field: Field::Reading(r), scale, zero_is_absent: false }
}

const fn remote(column: u32, object: &'static str, syntax: Syntax) -> RadioColumn {
    RadioColumn { column, object, syntax, field: Field::Remote, scale: 1.0, zero_is_absent: false }
}

/// The supported vendor tables.
pub const TABLES: &[RadioTable] = &[
    RadioTable {
        id: RadioTableId::UbntAirMax,
        enterprise: 41112,
        mib: "UBNT-AirMAX-MIB",
        name: "ubntWlStatTable",
        entry: &[1, 3, 6, 1, 4, 1, 41112, 1, 4, 5, 1],
        columns: &[
            reading(5, "ubntWlStatSignal", Syntax::Integer, RadioReading::SignalDbm, 1.0),
            reading(7, "ubntWlStatCcq", Syntax::Integer, RadioReading::CcqPercent, 1.0),
            reading(8, "ubntWlStatNoiseFloor", Syntax::Integer, RadioReading::NoiseDbm, 1.0),
            // kbit/s (LibreNMS reads them with a multiplier of 1000).
            reading(9, "ubntWlStatTxRate", Syntax::Integer, RadioReading::TxRateBps, 1000.0),
            reading(10, "ubntWlStatRxRate", Syntax::Integer, RadioReading::RxRateBps, 1000.0),
            remote(4, "ubntWlStatApMac", Syntax::Mac),
        ],
    },
    RadioTable {
        id: RadioTableId::UbntAirFiber,
        enterprise: 41112,
        mib: "UBNT-AirFIBER-MIB",
        name: "airFiberStatusTable",
        entry: &[1, 3, 6, 1, 4, 1, 41112, 1, 3, 2, 1],
        columns: &[
            reading(5, "rxCapacity", Syntax::Integer, RadioReading::RxCapacityBps, 1.0),
            reading(6, "txCapacity", Syntax::Integer, RadioReading::TxCapacityBps, 1.0),
            reading(11, "rxPower0", Syntax::Integer, RadioReading::SignalDbm, 1.0),
            remote(45, "remoteMAC", Syntax::Text),
        ],
    },
    RadioTable {
        id: RadioTableId::MikrotikRtab,
        enterprise: 14988,
        mib: "MIKROTIK-MIB",
        name: "mtxrWlRtabTable",
        entry: &[1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 2, 1],
        columns: &[
            reading(3, "mtxrWlRtabStrength", Syntax::Integer, RadioReading::SignalDbm, 1.0),
            reading(8, "mtxrWlRtabTxRate", Syntax::Gauge, RadioReading::TxRateBps, 1.0),
            reading(9, "mtxrWlRtabRxRate", Syntax::Gauge, RadioReading::RxRateBps, 1.0),
            RadioColumn {
                column: 12,
                object: "mtxrWlRtabSignalToNoise",
                syntax: Syntax::Integer,
                field: Field::Reading(RadioReading::SnrDb),
                scale: 1.0,
                zero_is_absent: true,
            },
            remote(20, "mtxrWlRtabRadioName", Syntax::Text),
        ],
    },
];

/// The tables a device with this sysObjectID (dotted, `1.3.6.1.4.1.N...`) may have.
pub fn tables_for(sys_object_id: Option<&str>) -> Vec<&'static RadioTable> {
    let Some(n) = sys_object_id.and_then(super::vendor::enterprise_of) else { return Vec::new() };
    TABLES.iter().filter(|t| t.enterprise == n).collect()
}

/// One reading as read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A plausible value, in the reading's unit.
    Value(f64),
    /// The agent sent the wrong type or an impossible value: not a number vigia will use.
    Unusable,
}

/// One row of a vendor table: a radio interface or a remote station.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RadioLink {
    /// The table it came from.
    pub table: RadioTableId,
    /// The row's index (its instance suffix, dotted: digits and dots only).
    pub station: String,
    /// The station at the other end, when the MIB names it (cleaned device text).
    pub remote: Option<String>,
    /// The readings the row had, each a value or unusable.
    pub readings: Vec<(RadioReading, Level)>,
}

impl RadioLink {
    /// A reading's value, when present and usable.
    pub fn value(&self, r: RadioReading) -> Option<f64> {
        self.readings.iter().find(|(x, _)| *x == r).and_then(|(_, l)| match l {
            Level::Value(v) => Some(*v),
            Level::Unusable => None,
        })
    }

    /// How many readings of this row were unusable.
    pub fn unusable(&self) -> usize {
        self.readings.iter().filter(|(_, l)| *l == Level::Unusable).count()
    }
}

/// A reading checked against what a radio can report.
pub fn level(r: RadioReading, value: f64) -> Level {
    let (lo, hi) = r.range();
    if value.is_finite() && value >= lo && value <= hi {
        Level::Value(value)
    } else {
        Level::Unusable
    }
}

/// Where the table gives signal and noise but no SNR, the SNR is their difference (when both
/// are usable); a table's own SNR is kept as it is.
pub fn derive_snr(link: &mut RadioLink) {
    if link.readings.iter().any(|(r, _)| *r == RadioReading::SnrDb) {
        return;
    }
    if let (Some(s), Some(n)) =
        (link.value(RadioReading::SignalDbm), link.value(RadioReading::NoiseDbm))
    {
        link.readings.push((RadioReading::SnrDb, level(RadioReading::SnrDb, s - n)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_readings_are_unusable() {
        assert_eq!(level(RadioReading::SignalDbm, -65.0), Level::Value(-65.0));
        assert_eq!(level(RadioReading::SignalDbm, 20.0), Level::Unusable);
        assert_eq!(level(RadioReading::SignalDbm, -121.0), Level::Unusable);
        assert_eq!(level(RadioReading::CcqPercent, 101.0), Level::Unusable);
        assert_eq!(level(RadioReading::SnrDb, -30.0), Level::Unusable);
        assert_eq!(level(RadioReading::TxRateBps, f64::NAN), Level::Unusable);
    }

    #[test]
    fn snr_is_derived_only_without_the_vendors_own() {
        let mut l = RadioLink {
            table: RadioTableId::UbntAirMax,
            station: "1".into(),
            remote: None,
            readings: vec![
                (RadioReading::SignalDbm, Level::Value(-62.0)),
                (RadioReading::NoiseDbm, Level::Value(-95.0)),
            ],
        };
        derive_snr(&mut l);
        assert_eq!(l.value(RadioReading::SnrDb), Some(33.0));
        l.readings[0].1 = Level::Unusable;
        l.readings.pop();
        derive_snr(&mut l);
        assert_eq!(l.value(RadioReading::SnrDb), None, "no SNR from an unusable signal");
    }

    #[test]
    fn tables_follow_the_sysobjectid() {
        let ids = |o| tables_for(Some(o)).iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(
            ids("1.3.6.1.4.1.41112.1.4"),
            [RadioTableId::UbntAirMax, RadioTableId::UbntAirFiber]
        );
        assert_eq!(ids("1.3.6.1.4.1.14988.1"), [RadioTableId::MikrotikRtab]);
        assert!(ids("1.3.6.1.4.1.9.1.1").is_empty());
        assert!(tables_for(None).is_empty());
    }

    #[test]
    fn every_table_reads_each_column_once() {
        for t in TABLES {
            let mut cols: Vec<u32> = t.columns.iter().map(|c| c.column).collect();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), t.columns.len(), "{}", t.name);
            assert!(t.entry.starts_with(&[1, 3, 6, 1, 4, 1, t.enterprise]), "{}", t.name);
        }
    }
}
