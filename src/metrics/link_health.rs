//! Link health: radio signal from the vendor tables (`poll/radio.rs`), transceiver power
//! (`poll/optics.rs`), and the inventory's thresholds the alert rules compare them with
//! (`policy.radio`, `policy.optics`).

use std::collections::HashMap;

use super::encode::Encoder;
use super::{Group, Kind, Metric};
use crate::inventory::{Device, DeviceId, InventoryIndex, LinkPolicy};
use crate::poll::optics::{Direction, Optic};
use crate::poll::radio::{Level, RadioLink, RadioReading};
use crate::state::DeviceState;

/// `vigia_radio_signal_dbm`.
pub const RADIO_SIGNAL: Metric = Metric {
    name: "vigia_radio_signal_dbm",
    kind: Kind::Gauge,
    unit: Some("dbm"),
    labels: &["device", "site", "table", "station"],
    help: "Received signal of a radio link (vendor table; see docs/snmp.md), dBm.",
    doc_unit: "dBm",
    doc: "received signal per radio interface or remote station (`table`: the vendor table; `station`: its row index); absent when the reading was unusable",
};

/// `vigia_radio_noise_dbm`.
pub const RADIO_NOISE: Metric = Metric {
    name: "vigia_radio_noise_dbm",
    kind: Kind::Gauge,
    unit: Some("dbm"),
    labels: &["device", "site", "table", "station"],
    help: "Noise floor of a radio link, dBm.",
    doc_unit: "dBm",
    doc: "noise floor, where the vendor table has it",
};

/// `vigia_radio_snr_db`.
pub const RADIO_SNR: Metric = Metric {
    name: "vigia_radio_snr_db",
    kind: Kind::Gauge,
    unit: Some("db"),
    labels: &["device", "site", "table", "station"],
    help: "Signal to noise ratio of a radio link (the vendor's, else signal minus noise), dB.",
    doc_unit: "dB",
    doc: "signal to noise ratio: the vendor's own, else signal minus noise floor",
};

/// `vigia_radio_ccq_ratio`.
pub const RADIO_CCQ: Metric = Metric {
    name: "vigia_radio_ccq_ratio",
    kind: Kind::Gauge,
    unit: Some("ratio"),
    labels: &["device", "site", "table", "station"],
    help: "Client connection quality (CCQ / 100) of a radio link.",
    doc_unit: "ratio 0-1",
    doc: "link quality (CCQ) where the vendor has it",
};

/// `vigia_radio_tx_rate_bytes_per_second`.
pub const RADIO_TX_RATE: Metric = Metric {
    name: "vigia_radio_tx_rate_bytes_per_second",
    kind: Kind::Gauge,
    unit: Some("bytes_per_second"),
    labels: &["device", "site", "table", "station"],
    help: "Current transmit rate of a radio link, bytes per second (bit/s / 8).",
    doc_unit: "bytes/s",
    doc: "the rate the radio transmits at",
};

/// `vigia_radio_rx_rate_bytes_per_second`.
pub const RADIO_RX_RATE: Metric = Metric {
    name: "vigia_radio_rx_rate_bytes_per_second",
    kind: Kind::Gauge,
    unit: Some("bytes_per_second"),
    labels: &["device", "site", "table", "station"],
    help: "Current receive rate of a radio link, bytes per second (bit/s / 8).",
    doc_unit: "bytes/s",
    doc: "the rate the radio receives at",
};

/// `vigia_radio_tx_capacity_bytes_per_second`.
pub const RADIO_TX_CAPACITY: Metric = Metric {
    name: "vigia_radio_tx_capacity_bytes_per_second",
    kind: Kind::Gauge,
    unit: Some("bytes_per_second"),
    labels: &["device", "site", "table", "station"],
    help: "Transmit capacity of a radio link as the radio estimates it, bytes per second (bit/s / 8).",
    doc_unit: "bytes/s",
    doc: "the transmit capacity the radio estimates (airFiber)",
};

/// `vigia_radio_rx_capacity_bytes_per_second`.
pub const RADIO_RX_CAPACITY: Metric = Metric {
    name: "vigia_radio_rx_capacity_bytes_per_second",
    kind: Kind::Gauge,
    unit: Some("bytes_per_second"),
    labels: &["device", "site", "table", "station"],
    help: "Receive capacity of a radio link as the radio estimates it, bytes per second (bit/s / 8).",
    doc_unit: "bytes/s",
    doc: "the receive capacity the radio estimates (airFiber)",
};

/// `vigia_radio_remote_info`.
pub const RADIO_REMOTE: Metric = Metric {
    name: "vigia_radio_remote_info",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "table", "station", "remote"],
    help: "The station at the other end of a radio link, as the radio names it (always 1).",
    doc_unit: "1",
    doc: "the remote station's name or MAC address, where the MIB has it (cleaned device text)",
};

/// `vigia_radio_unusable_readings`.
pub const RADIO_UNUSABLE: Metric = Metric {
    name: "vigia_radio_unusable_readings",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "table", "station", "reading"],
    help: "1 when a radio reading of the last poll had the wrong SNMP type or an impossible value (not exported as a number).",
    doc_unit: "0/1",
    doc: "a reading the radio sent that vigia refused (wrong type, impossible value such as signal above 0 dBm or CCQ over 100); the reading's own metric is then absent",
};

/// `vigia_optics_rx_power_dbm`.
pub const OPTICS_RX: Metric = Metric {
    name: "vigia_optics_rx_power_dbm",
    kind: Kind::Gauge,
    unit: Some("dbm"),
    labels: &["device", "site", "sensor"],
    help: "Received optical power of a transceiver (ENTITY-SENSOR-MIB), dBm.",
    doc_unit: "dBm",
    doc: "received power per transceiver sensor (`sensor`: its entPhysicalName, which names the port); watts converted to dBm",
};

/// `vigia_optics_tx_power_dbm`.
pub const OPTICS_TX: Metric = Metric {
    name: "vigia_optics_tx_power_dbm",
    kind: Kind::Gauge,
    unit: Some("dbm"),
    labels: &["device", "site", "sensor"],
    help: "Transmitted optical power of a transceiver (ENTITY-SENSOR-MIB), dBm.",
    doc_unit: "dBm",
    doc: "transmitted power per transceiver sensor",
};

/// `vigia_optics_rx_low_alarm_dbm`.
pub const OPTICS_LOW_ALARM: Metric = Metric {
    name: "vigia_optics_rx_low_alarm_dbm",
    kind: Kind::Gauge,
    unit: Some("dbm"),
    labels: &["device", "site", "sensor"],
    help: "The transceiver's own low-alarm threshold of received power (CISCO-ENTITY-SENSOR-MIB), dBm.",
    doc_unit: "dBm",
    doc: "the low-alarm threshold the device reports for a receive sensor (Cisco: the most severe `lessThan` threshold)",
};

/// `vigia_optics_rx_margin_db`.
pub const OPTICS_MARGIN: Metric = Metric {
    name: "vigia_optics_rx_margin_db",
    kind: Kind::Gauge,
    unit: Some("db"),
    labels: &["device", "site", "sensor"],
    help: "Received optical power above the transceiver's low-alarm threshold, dB.",
    doc_unit: "dB",
    doc: "received power minus its low-alarm threshold, where the device reports one",
};

/// `vigia_optics_unusable_readings`.
pub const OPTICS_UNUSABLE: Metric = Metric {
    name: "vigia_optics_unusable_readings",
    kind: Kind::Gauge,
    unit: None,
    labels: &["device", "site", "sensor"],
    help: "1 when a transceiver power sensor's last reading was unusable (sensor not ok, wrong SNMP type, impossible value).",
    doc_unit: "0/1",
    doc: "a power sensor whose reading vigia refused; its power metric is then absent",
};

/// `vigia_policy_radio_min_signal_dbm`.
pub const POLICY_MIN_SIGNAL: Metric = Metric {
    name: "vigia_policy_radio_min_signal_dbm",
    kind: Kind::Gauge,
    unit: Some("dbm"),
    labels: &[],
    help: "The inventory's policy.radio.min_signal_dbm: a radio's signal below it is an alert.",
    doc_unit: "dBm",
    doc: "`policy.radio.min_signal_dbm` (default -75)",
};

/// `vigia_policy_radio_min_snr_db`.
pub const POLICY_MIN_SNR: Metric = Metric {
    name: "vigia_policy_radio_min_snr_db",
    kind: Kind::Gauge,
    unit: Some("db"),
    labels: &[],
    help: "The inventory's policy.radio.min_snr_db: a radio's SNR below it is an alert.",
    doc_unit: "dB",
    doc: "`policy.radio.min_snr_db` (default 20)",
};

/// `vigia_policy_optics_min_margin_db`.
pub const POLICY_MIN_MARGIN: Metric = Metric {
    name: "vigia_policy_optics_min_margin_db",
    kind: Kind::Gauge,
    unit: Some("db"),
    labels: &[],
    help: "The inventory's policy.optics.min_margin_db: a transceiver this close to its low-alarm threshold is an alert.",
    doc_unit: "dB",
    doc: "`policy.optics.min_margin_db` (default 3)",
};

/// This group.
pub const GROUP: Group = Group {
    title: "link health: radio signal, transceiver power, thresholds",
    metrics: &[
        &RADIO_SIGNAL,
        &RADIO_NOISE,
        &RADIO_SNR,
        &RADIO_CCQ,
        &RADIO_TX_RATE,
        &RADIO_RX_RATE,
        &RADIO_TX_CAPACITY,
        &RADIO_RX_CAPACITY,
        &RADIO_REMOTE,
        &RADIO_UNUSABLE,
        &OPTICS_RX,
        &OPTICS_TX,
        &OPTICS_LOW_ALARM,
        &OPTICS_MARGIN,
        &OPTICS_UNUSABLE,
        &POLICY_MIN_SIGNAL,
        &POLICY_MIN_SNR,
        &POLICY_MIN_MARGIN,
    ],
};

/// What this group read: each polled device's radio rows, and the thresholds.
pub(super) struct Reading<'a> {
    radios: Vec<(&'a Device, Vec<RadioLink>)>,
    optics: Vec<(&'a Device, Vec<Optic>)>,
    policy: LinkPolicy,
}

pub(super) fn read<'a>(
    index: &'a InventoryIndex,
    devices: &HashMap<DeviceId, DeviceState>,
) -> Reading<'a> {
    let radios = index
        .polled()
        .filter(|d| d.snmp.is_some())
        .filter_map(|d| {
            let links = &devices.get(&d.id)?.radio;
            (!links.is_empty()).then(|| (d, links.clone()))
        })
        .collect();
    let optics = index
        .polled()
        .filter(|d| d.snmp.is_some())
        .filter_map(|d| {
            let optics = &devices.get(&d.id)?.optics;
            (!optics.is_empty()).then(|| (d, optics.clone()))
        })
        .collect();
    Reading { radios, optics, policy: index.inventory().policy.links }
}

/// Write one reading of every row that has it as `metric`, times `factor`.
fn readings(out: &mut Encoder, r: &Reading, metric: &Metric, which: RadioReading, factor: f64) {
    let mut family = out.family(metric);
    for (d, links) in &r.radios {
        for l in links {
            if let Some(v) = l.value(which) {
                family.sample(&[&d.id, &d.site, l.table.as_str(), &l.station], v * factor);
            }
        }
    }
}

pub(super) fn write(out: &mut Encoder, r: &Reading) {
    readings(out, r, &RADIO_SIGNAL, RadioReading::SignalDbm, 1.0);
    readings(out, r, &RADIO_NOISE, RadioReading::NoiseDbm, 1.0);
    readings(out, r, &RADIO_SNR, RadioReading::SnrDb, 1.0);
    readings(out, r, &RADIO_CCQ, RadioReading::CcqPercent, 0.01);
    readings(out, r, &RADIO_TX_RATE, RadioReading::TxRateBps, 1.0 / 8.0);
    readings(out, r, &RADIO_RX_RATE, RadioReading::RxRateBps, 1.0 / 8.0);
    readings(out, r, &RADIO_TX_CAPACITY, RadioReading::TxCapacityBps, 1.0 / 8.0);
    readings(out, r, &RADIO_RX_CAPACITY, RadioReading::RxCapacityBps, 1.0 / 8.0);
    let mut family = out.family(&RADIO_REMOTE);
    for (d, links) in &r.radios {
        for l in links {
            if let Some(remote) = &l.remote {
                family.sample(&[&d.id, &d.site, l.table.as_str(), &l.station, remote], 1.0);
            }
        }
    }
    let mut family = out.family(&RADIO_UNUSABLE);
    for (d, links) in &r.radios {
        for l in links {
            for (reading, level) in &l.readings {
                if *level == Level::Unusable {
                    let labels =
                        [d.id.as_str(), &d.site, l.table.as_str(), &l.station, reading.as_str()];
                    family.sample(&labels, 1.0);
                }
            }
        }
    }
    let optic = |metric: &Metric, out: &mut Encoder, value: fn(&Optic) -> Option<f64>| {
        let mut family = out.family(metric);
        for (d, optics) in &r.optics {
            for o in optics {
                if let Some(v) = value(o) {
                    family.sample(&[&d.id, &d.site, &o.sensor], v);
                }
            }
        }
    };
    optic(&OPTICS_RX, out, |o| power(o, Direction::Rx));
    optic(&OPTICS_TX, out, |o| power(o, Direction::Tx));
    optic(&OPTICS_LOW_ALARM, out, |o| o.low_alarm_dbm);
    optic(&OPTICS_MARGIN, out, Optic::margin_db);
    optic(&OPTICS_UNUSABLE, out, |o| (o.power == Level::Unusable).then_some(1.0));
    out.family(&POLICY_MIN_SIGNAL).sample(&[], r.policy.radio_min_signal_dbm);
    out.family(&POLICY_MIN_SNR).sample(&[], r.policy.radio_min_snr_db);
    out.family(&POLICY_MIN_MARGIN).sample(&[], r.policy.optics_min_margin_db);
}

/// A sensor's power in dBm, when it measures `direction` and the reading was usable.
fn power(o: &Optic, direction: Direction) -> Option<f64> {
    match o.power {
        Level::Value(v) if o.direction == direction => Some(v),
        _ => None,
    }
}
