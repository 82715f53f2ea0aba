//! Transceiver power (`poll/optics.rs`): ENTITY-SENSOR-MIB's entPhySensorTable, the names of
//! the power sensors from ENTITY-MIB, and, on Cisco devices, CISCO-ENTITY-SENSOR-MIB's
//! thresholds. Independent of the ENTITY-MIB identity read (`mod.rs`'s `entity`).

use std::collections::BTreeMap;

use super::mibs::Rows;
use super::value::{ObjectId, Val, Varbind};
use crate::poll::optics::{
    Direction, Optic, STATUS_OK, TYPE_DBM, TYPE_WATTS, direction, is_low, low_alarm, power_dbm,
};
use crate::poll::radio::Level;

/// ENTITY-SENSOR-MIB entPhySensorEntry (1.3.6.1.2.1.99.1.1.1).
pub(crate) const SENSOR_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 99, 1, 1, 1];
/// entPhySensorType, Scale, Precision, Value, OperStatus: columns 1 to 5.
pub(crate) const SENSOR_COLUMNS: [u32; 5] = [1, 2, 3, 4, 5];
/// ENTITY-MIB entPhysicalEntry, and its entPhysicalDescr (2) and entPhysicalName (7).
const PHYSICAL_ENTRY: [u32; 11] = [1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1];
const PHYSICAL_DESCR: u32 = 2;
const PHYSICAL_NAME: u32 = 7;
/// CISCO-ENTITY-SENSOR-MIB entSensorThresholdEntry (1.3.6.1.4.1.9.9.91.1.2.1.1), indexed by
/// entPhysicalIndex and entSensorThresholdIndex.
pub(crate) const THRESHOLD_ENTRY: [u32; 13] = [1, 3, 6, 1, 4, 1, 9, 9, 91, 1, 2, 1, 1];
/// entSensorThresholdSeverity (2), Relation (3), Value (4).
pub(crate) const THRESHOLD_COLUMNS: [u32; 3] = [2, 3, 4];
/// Cisco's enterprise number: the devices whose thresholds vigia reads.
pub(crate) const CISCO: u32 = 9;

/// The OIDs of `columns` under `entry`.
pub(crate) fn columns(entry: &[u32], columns: &[u32]) -> Vec<ObjectId> {
    columns.iter().map(|c| entry.iter().copied().chain([*c]).collect()).collect()
}

/// One sensor row as read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sensor {
    sensor_type: i64,
    scale: i64,
    precision: i64,
    value: Option<i64>,
    status: Option<i64>,
}

fn int(v: &Val) -> Option<i64> {
    match v {
        Val::Int(n) => Some(*n),
        _ => None,
    }
}

/// The power sensors (types dBm and watts) of the walked entPhySensorTable columns, by
/// entPhysicalIndex.
pub(crate) fn power_sensors(walked: &[Rows]) -> BTreeMap<u32, Sensor> {
    let col = |i: usize| -> BTreeMap<u32, &Val> {
        walked
            .get(i)
            .map(|rows| rows.iter().filter(|(s, _)| s.len() == 1).map(|(s, v)| (s[0], v)).collect())
            .unwrap_or_default()
    };
    let (types, scales, precisions, values, statuses) = (col(0), col(1), col(2), col(3), col(4));
    types
        .into_iter()
        .filter_map(|(i, t)| {
            let sensor_type = int(t).filter(|t| *t == TYPE_DBM || *t == TYPE_WATTS)?;
            Some((
                i,
                Sensor {
                    sensor_type,
                    scale: scales.get(&i).and_then(|v| int(v)).unwrap_or(9),
                    precision: precisions.get(&i).and_then(|v| int(v)).unwrap_or(0),
                    // Integer32 per the MIB; any other type leaves the reading unusable.
                    value: values.get(&i).and_then(|v| int(v)),
                    status: statuses.get(&i).and_then(|v| int(v)),
                },
            ))
        })
        .collect()
}

/// The GET of the names (entPhysicalName, entPhysicalDescr) of these entities.
pub(crate) fn name_oids(indexes: &[u32]) -> Vec<ObjectId> {
    indexes
        .iter()
        .flat_map(|i| {
            [PHYSICAL_NAME, PHYSICAL_DESCR]
                .map(|c| PHYSICAL_ENTRY.iter().copied().chain([c, *i]).collect::<ObjectId>())
        })
        .collect()
}

/// Each entity's name from the GET of [`name_oids`]: entPhysicalName, else entPhysicalDescr.
pub(crate) fn names(varbinds: &[Varbind]) -> BTreeMap<u32, String> {
    let mut out: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    for (oid, v) in varbinds {
        let Some(rest) = oid.strip_prefix(&PHYSICAL_ENTRY[..]) else { continue };
        let [column, index] = rest else { continue };
        let text = v.as_device_text().filter(|t| !t.trim().is_empty());
        let slot = out.entry(*index).or_default();
        match *column {
            PHYSICAL_NAME => slot.0 = text,
            PHYSICAL_DESCR => slot.1 = text,
            _ => {}
        }
    }
    out.into_iter().filter_map(|(i, (name, descr))| Some((i, name.or(descr)?))).collect()
}

/// The low thresholds per entPhysicalIndex from the walked entSensorThresholdTable columns
/// (severity, relation, value): (severity, raw value).
pub(crate) fn low_thresholds(walked: &[Rows]) -> BTreeMap<u32, Vec<(i64, i64)>> {
    let col = |i: usize| -> BTreeMap<(u32, u32), i64> {
        walked
            .get(i)
            .map(|rows| {
                rows.iter()
                    .filter(|(s, _)| s.len() == 2)
                    .filter_map(|(s, v)| Some(((s[0], s[1]), int(v)?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (severity, relation, value) = (col(0), col(1), col(2));
    let mut out: BTreeMap<u32, Vec<(i64, i64)>> = BTreeMap::new();
    for (key, rel) in relation {
        if !is_low(rel) {
            continue;
        }
        if let (Some(sev), Some(v)) = (severity.get(&key), value.get(&key)) {
            out.entry(key.0).or_default().push((*sev, *v));
        }
    }
    out
}

/// The optics of a device: every power sensor whose name says receive or transmit, its power
/// (unusable when the sensor is not ok, or its value of the wrong type or impossible), and
/// the low-alarm threshold converted like the sensor's own value.
pub(crate) fn optics(
    sensors: &BTreeMap<u32, Sensor>,
    names: &BTreeMap<u32, String>,
    thresholds: &BTreeMap<u32, Vec<(i64, i64)>>,
) -> Vec<Optic> {
    sensors
        .iter()
        .filter_map(|(i, s)| {
            let sensor = names.get(i)?.clone();
            let dir = direction(&sensor)?;
            let power = match (s.status, s.value) {
                (Some(STATUS_OK), Some(v)) => power_dbm(s.sensor_type, s.scale, s.precision, v),
                _ => Level::Unusable,
            };
            let low: Vec<(i64, f64)> = thresholds
                .get(i)
                .into_iter()
                .flatten()
                .filter_map(|(sev, raw)| {
                    match power_dbm(s.sensor_type, s.scale, s.precision, *raw) {
                        Level::Value(dbm) => Some((*sev, dbm)),
                        Level::Unusable => None,
                    }
                })
                .collect();
            let low_alarm_dbm = if dir == Direction::Rx { low_alarm(&low) } else { None };
            Some(Optic { index: *i, sensor, direction: dir, power, low_alarm_dbm })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(entries: &[(u32, Val)]) -> Rows {
        entries.iter().map(|(i, v)| (vec![*i], v.clone())).collect()
    }

    #[test]
    fn sensors_names_and_thresholds_by_hand() {
        // 1001: Rx in dBm tenths (-11.2 dBm); 1002: Tx in micro-watts tenths (501.2 uW =
        // -2.9999 dBm); 1003: a temperature; 1004: Rx whose sensor is nonoperational.
        let walked = vec![
            rows(&[
                (1001, Val::Int(14)),
                (1002, Val::Int(6)),
                (1003, Val::Int(8)),
                (1004, Val::Int(14)),
            ]),
            rows(&[
                (1001, Val::Int(9)),
                (1002, Val::Int(7)),
                (1003, Val::Int(9)),
                (1004, Val::Int(9)),
            ]),
            rows(&[
                (1001, Val::Int(1)),
                (1002, Val::Int(1)),
                (1003, Val::Int(0)),
                (1004, Val::Int(1)),
            ]),
            rows(&[
                (1001, Val::Int(-112)),
                (1002, Val::Int(5012)),
                (1003, Val::Int(41)),
                (1004, Val::Int(-50)),
            ]),
            rows(&[
                (1001, Val::Int(1)),
                (1002, Val::Int(1)),
                (1003, Val::Int(1)),
                (1004, Val::Int(3)),
            ]),
        ];
        let sensors = power_sensors(&walked);
        assert_eq!(sensors.keys().copied().collect::<Vec<_>>(), [1001, 1002, 1004]);
        let base = PHYSICAL_ENTRY.to_vec();
        let at = |c: u32, i: u32| base.iter().copied().chain([c, i]).collect::<ObjectId>();
        let varbinds = vec![
            (at(PHYSICAL_NAME, 1001), Val::Bytes(b"Te1/1/1 Receive Power Sensor".to_vec())),
            (at(PHYSICAL_DESCR, 1001), Val::Bytes(b"ignored".to_vec())),
            (at(PHYSICAL_NAME, 1002), Val::Bytes(Vec::new())),
            (at(PHYSICAL_DESCR, 1002), Val::Bytes(b"Te1/1/1 Transmit Power\x07".to_vec())),
            (at(PHYSICAL_NAME, 1004), Val::Bytes(b"Te1/1/2 Receive Power Sensor".to_vec())),
        ];
        let names = names(&varbinds);
        assert_eq!(names[&1002], "Te1/1/1 Transmit Power\u{FFFD}", "descr when no name; cleaned");
        // Cisco thresholds of 1001: low critical -13.9 dBm, low minor -12, high critical +2.
        let two = |a: u32, b: u32, v: Val| (vec![a, b], v);
        let thresholds = low_thresholds(&[
            vec![
                two(1001, 1, Val::Int(30)),
                two(1001, 2, Val::Int(10)),
                two(1001, 3, Val::Int(30)),
            ],
            vec![two(1001, 1, Val::Int(1)), two(1001, 2, Val::Int(1)), two(1001, 3, Val::Int(3))],
            vec![
                two(1001, 1, Val::Int(-139)),
                two(1001, 2, Val::Int(-120)),
                two(1001, 3, Val::Int(20)),
            ],
        ]);
        assert_eq!(thresholds[&1001], [(30, -139), (10, -120)]);
        let o = optics(&sensors, &names, &thresholds);
        assert_eq!(o.len(), 3);
        assert_eq!((o[0].direction, o[0].power), (Direction::Rx, Level::Value(-11.2)));
        assert_eq!(o[0].low_alarm_dbm, Some(-13.9));
        assert_eq!(o[0].margin_db(), Some(2.7));
        assert_eq!((o[1].direction, o[1].power), (Direction::Tx, Level::Value(-2.9999)));
        assert_eq!(o[2].power, Level::Unusable, "nonoperational sensor");
    }

    #[test]
    fn column_oids_by_hand() {
        // entPhySensorValue: 1.3.6.1.2.1.99.1.1.1.4 (RFC 3433).
        let c = columns(&SENSOR_ENTRY, &SENSOR_COLUMNS);
        assert_eq!(c[3], [1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 4]);
        // entSensorThresholdRelation: 1.3.6.1.4.1.9.9.91.1.2.1.1.3 (CISCO-ENTITY-SENSOR-MIB).
        let c = columns(&THRESHOLD_ENTRY, &THRESHOLD_COLUMNS);
        assert_eq!(c[1], [1, 3, 6, 1, 4, 1, 9, 9, 91, 1, 2, 1, 1, 3]);
        // entPhysicalName of entity 1001: 1.3.6.1.2.1.47.1.1.1.1.7.1001.
        assert_eq!(name_oids(&[1001])[0], [1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7, 1001]);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_unusable() {
        let walked = vec![
            rows(&[(7, Val::Int(14))]),
            rows(&[(7, Val::Int(9))]),
            rows(&[(7, Val::Int(1))]),
            rows(&[(7, Val::Bytes(b"-3.1".to_vec()))]),
            rows(&[(7, Val::Int(1))]),
        ];
        let names = BTreeMap::from([(7, "Gi0/1 Rx Power".to_owned())]);
        let o = optics(&power_sensors(&walked), &names, &BTreeMap::new());
        assert_eq!(o[0].power, Level::Unusable);
        assert_eq!(o[0].low_alarm_dbm, None);
    }
}
