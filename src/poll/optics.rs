//! Fibre optics: transceiver receive and transmit power from ENTITY-SENSOR-MIB (RFC 3433
//! entPhySensorTable), tied to the port by the sensor's entPhysicalName, and the margin to the
//! low-alarm threshold where the device reports one (CISCO-ENTITY-SENSOR-MIB
//! entSensorThresholdTable; the standard MIB has no thresholds). docs/snmp.md lists the objects.

use serde::Serialize;

use super::radio::Level;

/// entPhySensorType (EntitySensorDataType) watts(6).
pub const TYPE_WATTS: i64 = 6;
/// dBm(14): CISCO-ENTITY-SENSOR-MIB's SensorDataType, which agents also use in
/// entPhySensorType for optical power (RFC 3433's enumeration ends at truthvalue(12)).
pub const TYPE_DBM: i64 = 14;

/// entPhySensorOperStatus ok(1); unavailable(2) and nonoperational(3) are unusable.
pub const STATUS_OK: i64 = 1;

/// The powers a transceiver's digital diagnostics can report (SFF-8472: 0.1 uW to 6.5535 mW,
/// -40 to +8.2 dBm), with room for high-power optics: anything else is unusable.
pub const DBM_RANGE: (f64, f64) = (-40.0, 10.0);

/// Which way the light goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Received power.
    Rx,
    /// Transmitted power.
    Tx,
}

/// The direction an optical power sensor measures, from its (cleaned) name or description:
/// `Te1/1 Receive Power Sensor`, `Ethernet1 DOM Rx Power`; `None` for any other sensor (a power
/// supply's watts, a temperature).
pub fn direction(name: &str) -> Option<Direction> {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
    let has = |w: &str| words.contains(&w);
    let optical = lower.contains("power") || lower.contains("optic") || lower.contains("dom");
    if !optical {
        return None;
    }
    if has("rx") || has("receive") || lower.contains("receive") {
        Some(Direction::Rx)
    } else if has("tx") || has("transmit") || lower.contains("transmit") {
        Some(Direction::Tx)
    } else {
        None
    }
}

/// A sensor value in its own unit: `value` × 10^(3 × (scale − 9)) × 10^(−precision)
/// (EntitySensorDataScale: units(9), milli(8), micro(7) ...; precision: decimal places).
/// `None` for a scale or precision outside the MIB's ranges.
pub fn scaled(scale: i64, precision: i64, value: i64) -> Option<f64> {
    if !(1..=17).contains(&scale) || !(-8..=9).contains(&precision) {
        return None;
    }
    let exp = 3 * (scale - 9) - precision;
    Some(value as f64 * 10f64.powi(i32::try_from(exp).ok()?))
}

/// A power sensor's reading in dBm: dBm sensors as they are, watts converted (10·log10 of mW).
/// No light at all (0 W) reads as the bottom of the range, -40 dBm, as transceivers report it;
/// a negative power, an impossible level or another sensor type is unusable.
pub fn power_dbm(sensor_type: i64, scale: i64, precision: i64, value: i64) -> Level {
    let Some(v) = scaled(scale, precision, value) else { return Level::Unusable };
    let dbm = match sensor_type {
        TYPE_DBM => v,
        TYPE_WATTS if v > 0.0 => 10.0 * (v * 1000.0).log10(),
        TYPE_WATTS if v == 0.0 => DBM_RANGE.0,
        _ => return Level::Unusable,
    };
    // Round away the binary noise of the conversion (0.1 uW steps are 0.0004 dB apart at most).
    let dbm = (dbm * 1e4).round() / 1e4;
    if dbm.is_finite() && dbm >= DBM_RANGE.0 && dbm <= DBM_RANGE.1 {
        Level::Value(dbm)
    } else {
        Level::Unusable
    }
}

/// One optical power sensor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Optic {
    /// Its entPhysicalIndex.
    pub index: u32,
    /// Its entPhysicalName (else entPhysicalDescr), cleaned: names the port.
    pub sensor: String,
    /// Receive or transmit.
    pub direction: Direction,
    /// The power, dBm, or unusable.
    pub power: Level,
    /// The low-alarm threshold in dBm, where the device reports one.
    pub low_alarm_dbm: Option<f64>,
}

impl Optic {
    /// Receive power above its low-alarm threshold, dB (receive sensors with both known).
    pub fn margin_db(&self) -> Option<f64> {
        match (self.direction, self.power, self.low_alarm_dbm) {
            (Direction::Rx, Level::Value(p), Some(low)) => Some(((p - low) * 1e4).round() / 1e4),
            _ => None,
        }
    }
}

/// CISCO-ENTITY-SENSOR-MIB SensorThresholdRelation lessThan(1) and lessOrEqual(2): a low
/// threshold.
pub fn is_low(relation: i64) -> bool {
    matches!(relation, 1 | 2)
}

/// Of a sensor's low thresholds (severity, value), the alarm: the most severe (critical(30),
/// major(20), minor(10), other(1)), the highest value among equals.
pub fn low_alarm(thresholds: &[(i64, f64)]) -> Option<f64> {
    thresholds.iter().copied().max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))).map(|t| t.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_and_precision_by_hand() {
        // -2.5 dBm sent as -25, units(9), precision 1.
        assert_eq!(scaled(9, 1, -25), Some(-2.5));
        // 501.2 uW sent as 5012, micro(7), precision 1: 5012 × 10^-6 × 10^-1 W.
        assert!((scaled(7, 1, 5012).unwrap() - 0.000_501_2).abs() < 1e-12);
        assert_eq!(scaled(0, 0, 1), None);
        assert_eq!(scaled(9, 10, 1), None);
    }

    #[test]
    fn power_in_dbm_from_dbm_and_from_watts() {
        assert_eq!(power_dbm(TYPE_DBM, 9, 1, -25), Level::Value(-2.5));
        // 1 mW = 0 dBm; 100 uW = -10 dBm; 501.2 uW: 10·log10(0.5012) = 10·(log10(0.5) +
        // log10(1.0024)) = 10·(-0.30103 + 0.00104) = -2.9999 dBm (to 4 places).
        assert_eq!(power_dbm(TYPE_WATTS, 8, 0, 1), Level::Value(0.0));
        assert_eq!(power_dbm(TYPE_WATTS, 7, 0, 100), Level::Value(-10.0));
        assert_eq!(power_dbm(TYPE_WATTS, 7, 1, 5012), Level::Value(-2.9999));
        assert_eq!(power_dbm(TYPE_WATTS, 7, 0, 0), Level::Value(-40.0), "no light");
    }

    #[test]
    fn impossible_powers_and_other_sensors_are_unusable() {
        assert_eq!(power_dbm(TYPE_DBM, 9, 1, 250), Level::Unusable, "+25 dBm");
        assert_eq!(power_dbm(TYPE_DBM, 9, 0, -60), Level::Unusable, "-60 dBm");
        assert_eq!(power_dbm(TYPE_WATTS, 7, 0, -5), Level::Unusable, "negative watts");
        assert_eq!(power_dbm(TYPE_WATTS, 9, 0, 3), Level::Unusable, "3 W into a receiver");
        assert_eq!(power_dbm(8, 9, 0, 40), Level::Unusable, "celsius");
    }

    #[test]
    fn direction_from_the_sensor_name() {
        assert_eq!(direction("Te1/1/1 Receive Power Sensor"), Some(Direction::Rx));
        assert_eq!(direction("GigabitEthernet0/1 Transmit Power Sensor"), Some(Direction::Tx));
        assert_eq!(direction("DOM Rx Power for Ethernet1"), Some(Direction::Rx));
        assert_eq!(direction("xcvr 3 TX power"), Some(Direction::Tx));
        assert_eq!(direction("Power Supply 1 Input Power"), None);
        assert_eq!(direction("Te1/1/1 Temperature Sensor"), None);
    }

    #[test]
    fn the_alarm_is_the_most_severe_low_threshold_and_the_margin_is_above_it() {
        // minor -12 dBm, critical -14 dBm and -13.9: the critical one, the higher of two.
        assert_eq!(low_alarm(&[(10, -12.0), (30, -14.0), (30, -13.9)]), Some(-13.9));
        assert_eq!(low_alarm(&[]), None);
        let o = Optic {
            index: 1001,
            sensor: "Te1/1/1 Receive Power Sensor".into(),
            direction: Direction::Rx,
            power: Level::Value(-11.2),
            low_alarm_dbm: Some(-13.9),
        };
        assert_eq!(o.margin_db(), Some(2.7));
        let tx = Optic { direction: Direction::Tx, ..o.clone() };
        assert_eq!(tx.margin_db(), None, "only receive power has a margin");
        let dark = Optic { power: Level::Unusable, ..o };
        assert_eq!(dark.margin_db(), None);
    }
}
