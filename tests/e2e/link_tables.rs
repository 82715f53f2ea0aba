//! Link health tables a lab agent serves (issue 15): a radio vendor's rows and a switch's
//! transceiver sensors, as `vigia_lab::ServedTable`s with the values a test sets. Shared by
//! tests/link_health_lab.rs and tests/e2e_prometheus.rs.

use vigia_lab::{Oid, ServedTable, Value};

/// UBNT-AirMAX-MIB ubntWlStatEntry (src/poll/radio.rs).
pub const AIRMAX_ENTRY: [u32; 11] = [1, 3, 6, 1, 4, 1, 41112, 1, 4, 5, 1];
/// UBNT-AirFIBER-MIB airFiberStatusEntry.
pub const AIRFIBER_ENTRY: [u32; 11] = [1, 3, 6, 1, 4, 1, 41112, 1, 3, 2, 1];
/// MIKROTIK-MIB mtxrWlRtabEntry.
pub const RTAB_ENTRY: [u32; 12] = [1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 2, 1];
/// The MikroTik station's index: its MAC address and the local interface.
pub const STATION: [u32; 7] = [0x4c, 0x5e, 0x0c, 1, 2, 3, 7];

/// The airMAX radio's ubntWlStatTable row 1: `signal` dBm, noise -95 dBm, CCQ 90 %, rates in
/// kbit/s, the access point's MAC.
pub fn airmax(signal: i32) -> ServedTable {
    let entry = Oid::new(&AIRMAX_ENTRY);
    let mut t = ServedTable { subtrees: vec![Oid::new(&AIRMAX_ENTRY)], ..Default::default() };
    for (column, value) in [
        (4, Value::bytes(&[0x24, 0xa4, 0x3c, 0x0a, 0x0b, 0x0c])),
        (5, Value::int(signal)),
        (7, Value::int(90)),
        (8, Value::int(-95)),
        (9, Value::int(130_000)),
        (10, Value::int(117_000)),
    ] {
        t.objects.insert(entry.child(&[column, 1]), value);
    }
    t
}

/// The MikroTik registration row: `strength` dBm, TX rate as Gauge32 (right), RX rate as an
/// OCTET STRING (the wrong type), SNR 25 dB, the station's radio name with an escape sequence.
pub fn rtab(strength: i32) -> ServedTable {
    let entry = Oid::new(&RTAB_ENTRY);
    let mut t = ServedTable { subtrees: vec![Oid::new(&RTAB_ENTRY)], ..Default::default() };
    let at = |column: u32| {
        let mut arcs = vec![column];
        arcs.extend(STATION);
        entry.child(&arcs)
    };
    t.objects.insert(at(3), Value::int(strength));
    t.objects.insert(at(8), Value::Gauge32 { value: 54_000_000 });
    t.objects.insert(at(9), Value::text("48000000"));
    t.objects.insert(at(12), Value::int(25));
    t.objects.insert(at(20), Value::bytes(b"Torre\x1b[2J norte"));
    t
}

/// ENTITY-MIB, ENTITY-SENSOR-MIB, CISCO-ENTITY-SENSOR-MIB: the subtrees the switch serves.
const ENTITY_MIB: [u32; 7] = [1, 3, 6, 1, 2, 1, 47];
const ENTITY_SENSOR_MIB: [u32; 7] = [1, 3, 6, 1, 2, 1, 99];
const CISCO_SENSOR_MIB: [u32; 9] = [1, 3, 6, 1, 4, 1, 9, 9, 91];

/// The Cisco switch's transceiver sensors: 1001 receive power `rx_tenths` dBm/10 (dBm(14),
/// units, precision 1) with a critical low threshold of -13.9 dBm and a minor one of -12.0;
/// 1002 transmit power 501.2 uW (watts(6), micro, precision 1 = -2.9999 dBm); 1003 a receive
/// sensor reporting +25.0 dBm, which no receiver can (unusable); 1004 a temperature (ignored).
pub fn transceivers(rx_tenths: i32) -> ServedTable {
    let mut t = ServedTable {
        subtrees: vec![
            Oid::new(&ENTITY_MIB),
            Oid::new(&ENTITY_SENSOR_MIB),
            Oid::new(&CISCO_SENSOR_MIB),
        ],
        ..Default::default()
    };
    let physical = Oid::new(&[1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1]);
    let sensor = Oid::new(&[1, 3, 6, 1, 2, 1, 99, 1, 1, 1]);
    let threshold = Oid::new(&[1, 3, 6, 1, 4, 1, 9, 9, 91, 1, 2, 1, 1]);
    let rows: [(u32, &str, i32, i32, i32, i32); 4] = [
        (1001, "Te1/1/1 Receive Power Sensor", 14, 9, 1, rx_tenths),
        (1002, "Te1/1/1 Transmit Power Sensor", 6, 7, 1, 5012),
        (1003, "Te1/1/2 Receive Power Sensor", 14, 9, 1, 250),
        (1004, "Te1/1/1 Temperature Sensor", 8, 9, 0, 41),
    ];
    for (index, name, kind, scale, precision, value) in rows {
        t.objects.insert(physical.child(&[2, index]), Value::text(name));
        t.objects.insert(physical.child(&[7, index]), Value::text(name));
        for (column, v) in [(1, kind), (2, scale), (3, precision), (4, value), (5, 1)] {
            t.objects.insert(sensor.child(&[column, index]), Value::int(v));
        }
    }
    // entSensorThresholdSeverity (2), Relation (3), Value (4): critical lessThan -13.9, minor
    // lessThan -12.0, critical greaterThan +2.0.
    for (n, severity, relation, value) in [(1, 30, 1, -139), (2, 10, 1, -120), (3, 30, 3, 20)] {
        t.objects.insert(threshold.child(&[2, 1001, n]), Value::int(severity));
        t.objects.insert(threshold.child(&[3, 1001, n]), Value::int(relation));
        t.objects.insert(threshold.child(&[4, 1001, n]), Value::int(value));
    }
    t
}

/// The airFiber radio's airFiberStatusTable row 1: capacities 650 and 700 Mbit/s, the remote
/// MAC as text, and rxPower0 `rx_power` dBm.
pub fn airfiber(rx_power: i32) -> ServedTable {
    let entry = Oid::new(&AIRFIBER_ENTRY);
    let mut t = ServedTable { subtrees: vec![Oid::new(&AIRFIBER_ENTRY)], ..Default::default() };
    for (column, value) in [
        (5, Value::int(700_000_000)),
        (6, Value::int(650_000_000)),
        (11, Value::int(rx_power)),
        (45, Value::text("04:18:D6:00:00:01")),
    ] {
        t.objects.insert(entry.child(&[column, 1]), value);
    }
    t
}

/// Two tables served by one agent: the subtrees and objects of both.
pub fn both(a: ServedTable, b: ServedTable) -> ServedTable {
    let mut t = a;
    t.subtrees.extend(b.subtrees);
    t.objects.extend(b.objects);
    t
}
