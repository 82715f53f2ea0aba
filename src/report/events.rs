//! `vigia events`: the stored events as a plain-text table or JSON, times in the inventory's
//! time zone, with the cause and the maintenance windows each event carries.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::i18n::{Lang, col};
use super::renewal::to_json;
use super::table::{self, row};
use crate::history::EventRecord;

/// The `schema` field of the JSON document.
pub const SCHEMA: &str = "vigia.events/1";

names! {
    /// Formats of `vigia events`.
    EventsFormat { Table = "table", Json = "json" }
}

/// What was asked and what was found.
#[derive(Debug, Clone, Serialize)]
pub struct Events {
    /// First instant asked (included).
    pub from: DateTime<Utc>,
    /// Last instant asked (excluded).
    pub to: DateTime<Utc>,
    /// The time zone of the printed times.
    #[serde(serialize_with = "tz_name")]
    pub time_zone: Tz,
    /// Events matching, in all.
    pub total: u64,
    /// The events shown, newest first (at most the limit asked).
    pub events: Vec<EventRecord>,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

row! {
    /// One event.
    struct EventRow {
        at: String = ("Fecha y hora", "Date and time"),
        kind: &'static str = ("Tipo", "Kind"),
        site: String = col::SITE,
        device: String = col::DEVICE,
        family: String = ("Familia", "Family"),
        cause: String = ("Causa", "Cause"),
        maintenance: String = ("Mantenimiento", "Maintenance"),
        detail: String = ("Detalle", "Detail"),
    }
}

/// The JSON document: `{ schema, from, to, time_zone, total, events[] }`, each event as stored
/// (`at` in UTC).
pub fn json(e: &Events) -> Vec<u8> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        body: &'a Events,
    }
    to_json(&Doc { schema: SCHEMA, body: e })
}

/// The plain-text table, with a line saying how many matched and how many are shown.
pub fn text(e: &Events, lang: Lang) -> String {
    let local = |at: DateTime<Utc>| at.with_timezone(&e.time_zone).format("%Y-%m-%d %H:%M:%S");
    let mut out = match lang {
        Lang::Es => format!(
            "Eventos del {} al {} ({}): {} en total, {} mostrados.\n\n",
            local(e.from),
            local(e.to),
            e.time_zone.name(),
            e.total,
            e.events.len()
        ),
        Lang::En => format!(
            "Events from {} to {} ({}): {} in all, {} shown.\n\n",
            local(e.from),
            local(e.to),
            e.time_zone.name(),
            e.total,
            e.events.len()
        ),
    };
    let rows = e.events.iter().map(|ev| EventRow {
        at: local(ev.at).to_string(),
        kind: ev.kind.as_str(),
        site: ev.site.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        device: ev.device.as_ref().map(|d| d.to_string()).unwrap_or_default(),
        family: ev.family.map(|f| f.as_str().to_owned()).unwrap_or_default(),
        cause: ev.cause.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        maintenance: ev.maintenance.join(", "),
        detail: ev.detail.clone(),
    });
    table::text(&mut out, lang, rows);
    out
}
