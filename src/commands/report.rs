//! `vigia report ...` and `vigia check ...`: the inventory and the history a report reads, the
//! report made, written where it was asked to go.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use vigia::agent::NetProber;
use vigia::availability::{Answers, Period};
use vigia::clock::Clock;
use vigia::history::{AsOf, History};
use vigia::indicators::Asked;
use vigia::inventory::{Inventory, Secrets, SiteId};
use vigia::ipv6::Threshold;
use vigia::probe::icmp::Icmp;
use vigia::report::{
    AvailabilityFormat, IndicatorsFormat, InventoryFormat, Ipv6Format, LinksFormat, RenewalFormat,
};
use vigia::store::Store;

use super::{CliError, Outcome, emit, load};
use crate::cli::{CheckCommand, ReportCommand, ReportSource};

/// Run `vigia report ...`.
pub async fn run(cmd: ReportCommand) -> Result<Outcome, CliError> {
    let now = Clock::Wall.now();
    let (bytes, source, binary) = match cmd {
        ReportCommand::Renewal { source, as_of, format } => {
            let (inv, at, history) = report_history(&source, as_of, now).await?;
            let bytes = vigia::report::renewal(&inv, &history, at, source.lang, format);
            (bytes, source, format == RenewalFormat::Xlsx)
        }
        ReportCommand::Ipv6 { source, as_of, format } => {
            let (inv, at, history) = report_history(&source, as_of, now).await?;
            let bytes = vigia::report::ipv6(&inv, &history, at, source.lang, format);
            (bytes, source, format == Ipv6Format::Xlsx)
        }
        ReportCommand::Links { source, as_of, format } => {
            let (inv, at, mut history) = report_history(&source, as_of, now).await?;
            history.link_use = link_use(&source, &inv, at).await?;
            let bytes = vigia::report::links(&inv, &history, at, source.lang, format);
            (bytes, source, format == LinksFormat::Xlsx)
        }
        ReportCommand::Inventory { source, as_of, format } => {
            let (inv, at, history) = report_history(&source, as_of, now).await?;
            let bytes = vigia::report::inventory(&inv, &history, at, source.lang, format);
            (bytes, source, format == InventoryFormat::Xlsx)
        }
        ReportCommand::Availability { source, month, from, to, format } => {
            let (inv, store) = report_inputs(&source).await?;
            let tz = inv.time_zone;
            let period = match (month, from, to) {
                (_, Some(from), Some(to)) => Period::days(tz, from, to, now),
                (Some((y, m)), ..) => Period::month(tz, y, m, now),
                _ => {
                    let today = now.with_timezone(&tz).date_naive();
                    Period::month(tz, today.year(), today.month(), now)
                }
            }
            .map_err(|e| CliError::Report(vigia::report::ReportError::Period(e)))?;
            let inv = Arc::new(inv);
            // Device by device, folded as read: a month of raw polls is never held at once.
            let mut answers = Answers::new(&inv, &period);
            for d in &inv.devices {
                let rows = store
                    .polls(&d.id, period.from, period.to)
                    .await
                    .map_err(|e| CliError::Store { db: source.db.clone(), source: e })?;
                answers.add(&rows);
            }
            let bytes = vigia::report::availability(&inv, &answers, period, source.lang, format);
            (bytes, source, format == AvailabilityFormat::Xlsx)
        }
        ReportCommand::Indicators { source, year, as_of, format } => {
            let (inv, store) = report_inputs(&source).await?;
            let asked = Asked::new(year, as_of, now);
            let history =
                history_for(&store, &inv, asked.as_of, asked.snapshots_until, now).await?;
            let lang = source.lang;
            let bytes =
                vigia::report::indicators(&inv, &history, asked.year, asked.day, lang, format);
            (bytes, source, format == IndicatorsFormat::Xlsx)
        }
    };
    let bytes = bytes.map_err(CliError::Report)?;
    emit(source.output.as_ref(), &bytes, binary)
}

/// Run `vigia check ...`: met, or not met.
pub async fn check(cmd: CheckCommand) -> Result<Outcome, CliError> {
    let CheckCommand::Ipv6 { source, min_coverage, stage, site, class, as_of, probe, format } = cmd;
    let site = site.map(SiteId::from);
    let threshold = Threshold { stage, min_percent: min_coverage, site, class };
    let (inv, at, history) = if probe {
        probe_now(&source).await?
    } else {
        report_history(&source, as_of, Clock::Wall.now()).await?
    };
    let report = vigia::report::check_ipv6(&inv, &history, at, &threshold, source.lang, format)
        .map_err(CliError::Report)?;
    emit(source.output.as_ref(), &report.output, false)?;
    Ok(if report.pass { Outcome::Done } else { Outcome::CheckNotMet })
}

/// `check ipv6 --probe`: the latest results are taken now, from the devices themselves.
async fn probe_now(source: &ReportSource) -> Result<(Inventory, AsOf, History), CliError> {
    let inv = load(&source.inventory.inventory, Secrets::Require)?;
    let creds = vigia::agent::credentials(&inv).map_err(CliError::Credentials)?;
    let prober = Arc::new(NetProber::new(Icmp::open().map_err(CliError::Icmp)?));
    let latest = vigia::agent::poll_now(prober, &inv, &creds, Clock::Wall, 256).await;
    // The results were taken just now: the check describes the instant after them.
    let at = AsOf::at(Clock::Wall.now() + TimeDelta::seconds(1));
    Ok((inv, at, History { latest, ..Default::default() }))
}

/// The inventory and the store a report reads.
pub(super) async fn report_inputs(source: &ReportSource) -> Result<(Inventory, Store), CliError> {
    let inv = load(&source.inventory.inventory, Secrets::Warn)?;
    let store = Store::open(&source.db)
        .await
        .map_err(|e| CliError::Store { db: source.db.clone(), source: e })?;
    Ok((inv, store))
}

/// The inventory, the moment asked for (a day, or now) and the history up to it.
pub(super) async fn report_history(
    source: &ReportSource,
    day: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<(Inventory, AsOf, History), CliError> {
    let (inv, store) = report_inputs(source).await?;
    let at = AsOf::asked(day, now);
    let history = history_for(&store, &inv, at, at.instant, now).await?;
    Ok((inv, at, history))
}

async fn history_for(
    store: &Store,
    inv: &Inventory,
    as_of: AsOf,
    snapshots_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<History, CliError> {
    vigia::agent::derived::fetch_history(store, inv, as_of, snapshots_until, now)
        .await
        .map_err(CliError::History)
}

/// The use of each contracted link over the as-of day and month: only the links report folds
/// a month of interface readings, so the other reports do not pay for it.
async fn link_use(
    source: &ReportSource,
    inv: &Inventory,
    at: AsOf,
) -> Result<Vec<vigia::link_use::LinkUseRecord>, CliError> {
    let store = Store::open(&source.db)
        .await
        .map_err(|e| CliError::Store { db: source.db.clone(), source: e })?;
    store.link_use(inv, at).await.map_err(CliError::History)
}
