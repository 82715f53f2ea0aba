//! The device page's link health (issue 15): radio readings from the vendor tables and
//! transceiver power, as the last poll read them. Unusable readings say so; every device
//! string (the remote station, the sensor's name) is escaped by maud.

use maud::{Markup, html};

use super::common::Ctx;
use crate::poll::optics::{Direction, Optic};
use crate::poll::radio::{Level, RadioLink, RadioReading};
use crate::state::DeviceState;

fn level(ctx: &Ctx, l: Option<Level>, unit: &str, factor: f64) -> String {
    match l {
        Some(Level::Value(v)) => format!("{:.1} {unit}", v * factor).trim_end().to_owned(),
        Some(Level::Unusable) => ctx.t("inutilizable", "unusable").to_owned(),
        None => "—".to_owned(),
    }
}

fn reading(link: &RadioLink, r: RadioReading) -> Option<Level> {
    link.readings.iter().find(|(x, _)| *x == r).map(|(_, l)| *l)
}

/// The radio and optics tables, when the device has any.
pub(super) fn section(ctx: &Ctx, st: Option<&DeviceState>) -> Markup {
    let radio: &[RadioLink] = st.map_or(&[], |s| &s.radio);
    let optics: &[Optic] = st.map_or(&[], |s| &s.optics);
    html! {
        @if !radio.is_empty() {
            h3 { (ctx.t("Señal de radio", "Radio signal")) }
            div.table-wrap { table #radio {
                thead { tr {
                    th scope="col" { (ctx.t("Tabla", "Table")) }
                    th scope="col" { (ctx.t("Estación", "Station")) }
                    th scope="col" { (ctx.t("Remota", "Remote")) }
                    th.num scope="col" { (ctx.t("Señal", "Signal")) }
                    th.num scope="col" { (ctx.t("Ruido", "Noise")) }
                    th.num scope="col" { "SNR" }
                    th.num scope="col" { "CCQ" }
                    th.num scope="col" { "TX" }
                    th.num scope="col" { "RX" }
                } }
                tbody {
                    @for l in radio {
                        tr {
                            td { (l.table.as_str()) }
                            td { (l.station) }
                            td { (l.remote.as_deref().unwrap_or("—")) }
                            td.num { (level(ctx, reading(l, RadioReading::SignalDbm), "dBm", 1.0)) }
                            td.num { (level(ctx, reading(l, RadioReading::NoiseDbm), "dBm", 1.0)) }
                            td.num { (level(ctx, reading(l, RadioReading::SnrDb), "dB", 1.0)) }
                            td.num { (level(ctx, reading(l, RadioReading::CcqPercent), "%", 1.0)) }
                            td.num { (level(ctx, reading(l, RadioReading::TxRateBps), "Mbit/s", 1e-6)) }
                            td.num { (level(ctx, reading(l, RadioReading::RxRateBps), "Mbit/s", 1e-6)) }
                        }
                    }
                }
            } }
        }
        @if !optics.is_empty() {
            h3 { (ctx.t("Potencia óptica", "Optical power")) }
            div.table-wrap { table #optics {
                thead { tr {
                    th scope="col" { (ctx.t("Sensor", "Sensor")) }
                    th scope="col" { (ctx.t("Sentido", "Direction")) }
                    th.num scope="col" { (ctx.t("Potencia", "Power")) }
                    th.num scope="col" { (ctx.t("Alarma baja", "Low alarm")) }
                    th.num scope="col" { (ctx.t("Margen", "Margin")) }
                } }
                tbody {
                    @for o in optics {
                        tr {
                            td { (o.sensor) }
                            td { @match o.direction { Direction::Rx => { (ctx.t("recibe", "receive")) }, Direction::Tx => { (ctx.t("emite", "transmit")) } } }
                            td.num { (level(ctx, Some(o.power), "dBm", 1.0)) }
                            td.num { (o.low_alarm_dbm.map_or_else(|| "—".to_owned(), |v| format!("{v:.1} dBm"))) }
                            td.num { (o.margin_db().map_or_else(|| "—".to_owned(), |v| format!("{v:.1} dB"))) }
                        }
                    }
                }
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::console::common::Lang;
    use crate::poll::radio::RadioTableId;

    #[test]
    fn readings_unusable_ones_and_device_strings_escaped() {
        let ctx = Ctx {
            lang: Lang::Es,
            wall: false,
            query: HashMap::new(),
            now: chrono::DateTime::UNIX_EPOCH,
        };
        let st = DeviceState {
            radio: vec![RadioLink {
                table: RadioTableId::MikrotikRtab,
                station: "1".into(),
                remote: Some("<script>x</script>".into()),
                readings: vec![
                    (RadioReading::SignalDbm, Level::Value(-71.0)),
                    (RadioReading::TxRateBps, Level::Unusable),
                ],
            }],
            optics: vec![Optic {
                index: 1001,
                sensor: "Te1/1/1 Receive Power Sensor".into(),
                direction: Direction::Rx,
                power: Level::Value(-11.2),
                low_alarm_dbm: Some(-13.9),
            }],
            ..DeviceState::default()
        };
        let html = section(&ctx, Some(&st)).into_string();
        assert!(html.contains("-71.0 dBm") && html.contains("inutilizable"), "{html}");
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
        assert!(html.contains("2.7 dB") && html.contains("-13.9 dBm"), "{html}");
        assert_eq!(section(&ctx, Some(&DeviceState::default())).into_string(), "");
    }
}
