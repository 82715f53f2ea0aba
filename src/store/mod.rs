//! History: poll results, interface samples, events, inventory snapshots and daily roll-ups,
//! in SQLite (the embedded default) or PostgreSQL (several agents, long history).
//!
//! One API, two backends: each has its own migrations (`migrations/sqlite`,
//! `migrations/postgres`, applied by [`Store::connect`]) and its own SQL, because sqlx's `Any`
//! driver cannot read either database's date and time columns. `docs/storage.md` describes the
//! schema, retention and sizing.
//!
//! The columns of `polls`, `latest_polls`, `interfaces`, `events` and `device_facts` are listed
//! once each (`codec`, with `columns::stored_row!`); both backends build their SQL, binders and
//! decoders from those lists. `interfaces` has one column per interface counter declared in
//! `poll::Counter`: a database that lacks one (written before the counter was declared) gets
//! it when it is opened, beside the migrations, so a new counter needs no migration file.
//!
//! Conventions shared by both backends, so they give the same answers:
//! - every time range is half-open, `[from, to)`, and days are UTC calendar days;
//! - times are kept to the microsecond (PostgreSQL's resolution), RTTs and durations too;
//! - text is stored with NUL characters replaced by U+FFFD (PostgreSQL refuses NUL) and
//!   repeated strings (device, site, SNMP system values, interface names) longer than
//!   [`MAX_TEXT_BYTES`] cut at a character boundary.

/// The figures columns of `daily`, in the order of `plan::Sums` after the key.
macro_rules! daily_columns {
    () => {
        "day, device, family, probe, site, last_at, polls, successes, sent, received, \
         rtt_sum_us, rtt_count"
    };
}

/// Replaces a day's roll-up row (SQL shared by both backends).
macro_rules! daily_upsert {
    () => {
        " ON CONFLICT (day, device, family, probe) DO UPDATE SET site = excluded.site, \
         last_at = excluded.last_at, polls = excluded.polls, successes = excluded.successes, \
         sent = excluded.sent, received = excluded.received, rtt_sum_us = excluded.rtt_sum_us, \
         rtt_count = excluded.rtt_count"
    };
}

mod codec;
mod columns;
mod console;
mod link_use;
mod plan;
mod postgres;
mod sqlite;
mod url;

use chrono::{DateTime, NaiveDate, Utc};

/// The rows the store keeps (their home is [`crate::history`]).
pub use crate::history::{
    Availability, DailyRollup, EventKind, EventRecord, FactRecord, InterfaceRecord,
    InventorySnapshot, InventorySnapshotText, PollRecord,
};
pub use codec::MAX_TEXT_BYTES;
pub use console::{EventFilter, EventPage, PollSeries, SeriesPoint};
pub use url::{Backend, DEFAULT_URL, DbUrl, URL_ENV};

/// What can go wrong in the store. Device failures never come here: they are rows.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no backend vigia knows.
    #[error(
        "database URL {url}: unknown scheme; use sqlite://PATH (for example {DEFAULT_URL}), \
         sqlite::memory: or postgres://USER@HOST/DATABASE"
    )]
    UnknownScheme {
        /// The URL, password hidden.
        url: String,
    },
    /// The URL has a known scheme but cannot be parsed.
    #[error("database URL {url}: {error}")]
    BadUrl {
        /// The URL, password hidden.
        url: String,
        /// What the driver said.
        error: sqlx::Error,
    },
    /// The database could not be opened or reached.
    #[error("cannot open the database {url}: {error}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// What the driver said.
        error: sqlx::Error,
    },
    /// The server did not answer in time.
    #[error("cannot open the database {url}: no answer within {seconds} s")]
    ConnectTimeout {
        /// The URL, password hidden.
        url: String,
        /// How long vigia waited.
        seconds: u64,
    },
    /// The schema could not be brought up to date.
    #[error("cannot bring the database {url} up to date (migrations): {error}")]
    Migrate {
        /// The URL, password hidden.
        url: String,
        /// What the migrator said.
        error: sqlx::migrate::MigrateError,
    },
    /// A statement failed.
    #[error("database error while {action}: {error}")]
    Query {
        /// What the store was doing.
        action: &'static str,
        /// What the driver said.
        error: sqlx::Error,
    },
    /// A value of a row cannot be represented in the database.
    #[error("cannot store {field} = {value}: {why}")]
    Unstorable {
        /// The record field.
        field: &'static str,
        /// The value.
        value: String,
        /// Why not.
        why: &'static str,
    },
    /// The database holds a value vigia cannot read back (written by something else, or damaged).
    #[error("the database holds a value vigia cannot read: {table}.{column} = {value}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The value.
        value: String,
    },
}

/// Wraps a driver error with what the store was doing.
pub(crate) fn query_error(action: &'static str) -> impl Fn(sqlx::Error) -> StoreError + Copy {
    move |error| StoreError::Query { action, error }
}

/// The rows of a query decoded one at a time as they arrive. `fetch_all` would first hold every
/// row (SQLite copies each column's value into the row) until the last came: at 10,000
/// devices, tens of megabytes for a moment, which the allocator then keeps.
pub(crate) async fn decode_each<R, T>(
    mut rows: futures_util::stream::BoxStream<'_, Result<R, sqlx::Error>>,
    action: &'static str,
    mut decode: impl FnMut(&R) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    use futures_util::TryStreamExt;
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await.map_err(query_error(action))? {
        out.push(decode(&row)?);
    }
    Ok(out)
}

/// The history store: SQLite or PostgreSQL behind one API.
#[derive(Debug)]
pub enum Store {
    /// An SQLite file (or memory) database.
    Sqlite(sqlite::SqliteStore),
    /// A PostgreSQL database, possibly shared by several agents.
    Postgres(postgres::PgStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

impl Store {
    /// Opens the database at `url` (`sqlite://vigia.db`, a relative path is fine and the file is
    /// created if missing; `sqlite::memory:`; `postgres://USER@HOST/DATABASE`) and applies the
    /// migrations. An unknown scheme, an unreachable server or a failed migration is a clear
    /// error naming the URL with any password hidden.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::open(&DbUrl::parse(url)?).await
    }

    /// [`Store::connect`] for an already parsed URL (what the `--db` option gives).
    pub async fn open(url: &DbUrl) -> Result<Store, StoreError> {
        Ok(match url.backend() {
            Backend::Sqlite => Store::Sqlite(sqlite::SqliteStore::connect(url).await?),
            Backend::Postgres => Store::Postgres(postgres::PgStore::connect(url).await?),
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Stores poll results in one transaction, and keeps the latest row per
    /// (device, family, probe) up to date.
    pub async fn insert_polls(&self, rows: &[PollRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_polls(rows).await)
    }

    /// Stores interface samples in one transaction.
    pub async fn insert_interfaces(&self, rows: &[InterfaceRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_interfaces(rows).await)
    }

    /// Stores events in one transaction.
    pub async fn insert_events(&self, rows: &[EventRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_events(rows).await)
    }

    /// Stores runs of what devices say about themselves: a new run is added, a known one (same
    /// device, fact and first sighting) gets its later last sighting, whichever agent wrote it.
    pub async fn insert_facts(&self, rows: &[FactRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_facts(rows).await)
    }

    /// Every run of every device fact, sorted by device, fact and first sighting: each fact's
    /// history. Never pruned (a few rows per device and change).
    pub async fn facts(&self) -> Result<Vec<FactRecord>, StoreError> {
        dispatch!(self, s => s.facts().await)
    }

    /// Stores an inventory snapshot unless its digest equals the latest stored one (by time,
    /// across agents); `false` when it was not stored.
    pub async fn record_inventory(&self, snap: &InventorySnapshotText) -> Result<bool, StoreError> {
        dispatch!(self, s => s.record_inventory(snap).await)
    }

    /// Every stored inventory snapshot taken at or before `until`, oldest first.
    pub async fn inventory_history(
        &self,
        until: DateTime<Utc>,
    ) -> Result<Vec<InventorySnapshot>, StoreError> {
        dispatch!(self, s => s.inventory_history(until).await)
    }

    /// The latest poll per (device, family, probe), across agents, sorted by those three. It is
    /// kept apart from the raw rows: pruning does not remove it.
    pub async fn latest_polls(&self) -> Result<Vec<PollRecord>, StoreError> {
        dispatch!(self, s => s.latest_polls().await)
    }

    /// Events in `[from, to)`, oldest first (ties in the order they were stored).
    pub async fn events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<EventRecord>, StoreError> {
        dispatch!(self, s => s.events(from, to).await)
    }

    /// A device's raw polls in `[from, to)`, oldest first.
    pub async fn polls(
        &self,
        device: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<PollRecord>, StoreError> {
        dispatch!(self, s => s.polls(device, from, to).await)
    }

    /// One page of the events `filter` matches, newest first, `limit` from `offset`, with how
    /// many match in all (the console's event list).
    pub async fn events_page(
        &self,
        filter: &EventFilter,
        offset: u64,
        limit: u64,
    ) -> Result<EventPage, StoreError> {
        dispatch!(self, s => s.events_page(filter, offset, limit).await)
    }

    /// A device's polls of `probe` over `family` in `[from, to)`: one point per poll while the
    /// window holds at most `max_points` polls, otherwise the polls summed into at most
    /// `max_points` equal buckets of the window (the series says which).
    pub async fn poll_series(
        &self,
        device: &str,
        family: crate::inventory::Family,
        probe: crate::probe::ProbeKind,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        max_points: u32,
    ) -> Result<PollSeries, StoreError> {
        dispatch!(self, s => s.poll_series(device, family, probe, (from, to), max_points).await)
    }

    /// A device's raw interface samples in `[from, to)`, oldest first.
    pub async fn interfaces(
        &self,
        device: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<InterfaceRecord>, StoreError> {
        dispatch!(self, s => s.interfaces(device, from, to).await)
    }

    /// Rolls up the raw polls of the UTC day `day` (all agents) into one row per
    /// (device, family, probe), replacing any earlier roll-up of that day, and marks the day
    /// rolled up; returns the number of roll-up rows. Idempotent and safe to run from several
    /// agents at once. A day whose raw rows were pruned keeps its roll-up untouched (the count
    /// returned is the stored one). Roll a day up once it has ended: [`Store::availability`]
    /// uses the roll-up for the whole day.
    pub async fn rollup(&self, day: NaiveDate) -> Result<u64, StoreError> {
        dispatch!(self, s => s.rollup(day).await)
    }

    /// Availability per (device, family, probe) over `[from, to)`, sorted by those three.
    ///
    /// Whole UTC days come from their roll-up when the day is rolled up, from raw rows
    /// otherwise; the partial days at either end come from raw rows, as far as they still
    /// exist: once a day's raw rows are pruned, a partial day of it counts nothing (a roll-up
    /// cannot be split), see [`Store::raw_pruned_before`]. So the figures do not change when a
    /// rolled-up day's raw rows are pruned, as long as the range holds that day whole.
    pub async fn availability(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Availability>, StoreError> {
        dispatch!(self, s => s.availability(from, to).await)
    }

    /// The roll-up rows of the days in `[from, to)`, sorted by day, device, family, probe.
    pub async fn daily(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyRollup>, StoreError> {
        dispatch!(self, s => s.daily(from, to).await)
    }

    /// The days rolled up in `[from, to)`, in order.
    pub async fn rolled_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        dispatch!(self, s => s.rolled_days(from, to).await)
    }

    /// The first day whose raw rows are still complete: the raw rows of every earlier day are
    /// gone. `None` when nothing was ever pruned.
    pub async fn raw_pruned_before(&self) -> Result<Option<NaiveDate>, StoreError> {
        dispatch!(self, s => s.raw_pruned_before().await)
    }

    /// Deletes the raw polls and interface samples of every UTC day that ends at or before
    /// `raw_before` (whole days only: the rows of `raw_before`'s own day stay until a later
    /// prune), after rolling each of those days up once more so no counted poll is lost.
    /// Never touches roll-ups, events, snapshots or the latest polls. Returns the rows deleted.
    pub async fn prune(&self, raw_before: DateTime<Utc>) -> Result<u64, StoreError> {
        dispatch!(self, s => s.prune(raw_before).await)
    }

    /// Closes the connections (waits for them to finish).
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }
}
