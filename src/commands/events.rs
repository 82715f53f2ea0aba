//! `vigia events`: the stored events, filtered, as a table or JSON.

use chrono::{Days, NaiveTime, TimeDelta};
use vigia::clock::Clock;
use vigia::inventory::maintenance::local_instant;
use vigia::inventory::{DeviceId, SiteId};
use vigia::report::ReportError;
use vigia::report::events::{Events, EventsFormat};
use vigia::store::EventFilter;

use super::{CliError, Outcome, emit};
use crate::cli::EventsArgs;

/// Run `vigia events`.
pub async fn run(args: EventsArgs) -> Result<Outcome, CliError> {
    let EventsArgs { source, from, to, site, device, kind, limit, format } = args;
    let (inv, store) = super::report::report_inputs(&source).await?;
    let bad = |e: String| CliError::Report(ReportError::Filter(e));
    if let Some(s) = &site
        && inv.site(s).is_none()
    {
        return Err(bad(format!("--site {s:?}: no such site in the inventory")));
    }
    if let Some(d) = &device
        && inv.device(d).is_none()
    {
        return Err(bad(format!("--device {d:?}: no such device in the inventory")));
    }
    let tz = inv.time_zone;
    let now = Clock::Wall.now();
    let midnight = |d: chrono::NaiveDate| local_instant(tz, d.and_time(NaiveTime::MIN));
    let start = match from {
        Some(d) => midnight(d),
        None => now - TimeDelta::days(7),
    };
    let end = match to {
        Some(d) => midnight(d.checked_add_days(Days::new(1)).unwrap_or(d)),
        None => now + TimeDelta::seconds(1),
    };
    if end <= start {
        return Err(bad(format!("--to is before --from ({start} .. {end})")));
    }
    let filter = EventFilter {
        from: start,
        to: end,
        site: site.map(SiteId::from),
        device: device.map(DeviceId::from),
        kind,
    };
    let page = store
        .events_page(&filter, 0, limit)
        .await
        .map_err(|e| CliError::Store { db: source.db.clone(), source: e })?;
    let events =
        Events { from: start, to: end, time_zone: tz, total: page.total, events: page.events };
    let bytes = match format {
        EventsFormat::Table => vigia::report::events::text(&events, source.lang).into_bytes(),
        EventsFormat::Json => vigia::report::events::json(&events),
    };
    emit(source.output.as_ref(), &bytes, false)
}
