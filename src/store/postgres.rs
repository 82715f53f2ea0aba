//! The PostgreSQL backend: several agents may share one database.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgExecutor, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, Postgres, Row};

use super::codec::{self, EventRow, FactRow, Id, Ids, InterfaceRow, Interner, Names, PollRow};
use super::columns::{Dialect, Statements};
use super::console::{ConsoleSql, EventFilter, EventPage, PollSeries, SeriesPoint};
use super::plan::{self, Key, Sums};
use super::url::DbUrl;
use super::{StoreError, decode_each, query_error};
use crate::history::{
    Availability, DailyRollup, EventRecord, FactRecord, InterfaceRecord, InventorySnapshot,
    InventorySnapshotText, PollRecord,
};

/// How long opening the database may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Connections per agent: one writer and a few report readers.
const MAX_CONNECTIONS: u32 = 8;
/// Advisory lock that serialises, across agents, roll-up writes with moves of the raw horizon.
const ROLLUP_LOCK: i64 = 0x7669_6769_6101;
/// Advisory lock that serialises, across agents, "store this snapshot unless it is the latest".
const SNAPSHOT_LOCK: i64 = 0x7669_6769_6102;
/// Advisory lock that serialises, across agents, adding interface counter columns.
const COLUMNS_LOCK: i64 = 0x7669_6769_6103;

/// The statements on the stored rows, built once from their column lists.
static SQL: LazyLock<Statements> = LazyLock::new(|| Statements::new(Dialect::Postgres));
/// The console's reads.
static CONSOLE: LazyLock<ConsoleSql> = LazyLock::new(|| ConsoleSql::new(Dialect::Postgres));

/// The figures of raw polls per key; the site is that of the latest poll.
macro_rules! raw_sums_select {
    () => {
        "SELECT device, family, probe, (array_agg(site ORDER BY at DESC))[1], max(at), \
         count(*), count(*) FILTER (WHERE success), coalesce(sum(sent), 0), \
         coalesce(sum(received), 0), coalesce(sum(rtt_avg_us) FILTER (WHERE success), 0), \
         count(rtt_avg_us) FILTER (WHERE success) \
         FROM polls WHERE at >= $1 AND at < $2 GROUP BY device, family, probe"
    };
}

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    names: Interner,
    /// The settled raw sums of the last availability asked (`plan::RawCache`).
    raw: plan::RawCache,
    url: String,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore").field("url", &self.url).finish_non_exhaustive()
    }
}

/// One column of a batch, as an array parameter.
macro_rules! column {
    ($rows:expr, $field:ident) => {
        $rows.iter().map(|r| r.$field).collect::<Vec<_>>()
    };
}

impl PgStore {
    /// Connects and migrates.
    pub(crate) async fn connect(url: &DbUrl) -> Result<PgStore, StoreError> {
        let shown = url.redacted();
        let options = PgConnectOptions::from_str(url.expose())
            .map_err(|error| StoreError::BadUrl { url: shown.clone(), error })?
            .application_name("vigia");
        // One plain connection first: its error says why (the pool would retry a refused
        // connection until its timeout, then only say it timed out).
        let mut first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| StoreError::ConnectTimeout {
                url: shown.clone(),
                seconds: CONNECT_TIMEOUT.as_secs(),
            })?
            .map_err(|error| StoreError::Connect { url: shown.clone(), error })?;
        // sqlx holds an advisory lock while migrating: agents starting together take turns.
        sqlx::migrate!("migrations/postgres")
            .run(&mut first)
            .await
            .map_err(|error| StoreError::Migrate { url: shown.clone(), error })?;
        add_counter_columns(&mut first).await?;
        first.close().await.map_err(|error| StoreError::Connect { url: shown.clone(), error })?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options);
        Ok(PgStore { pool, names: Interner::default(), raw: plan::RawCache::default(), url: shown })
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Ids of `values`, creating the missing ones.
    async fn intern<'a>(&self, values: impl Iterator<Item = &'a str>) -> Result<Ids, StoreError> {
        let cleaned: Vec<_> = values.map(codec::clean_name).collect();
        let (mut ids, missing) = self.names.split(cleaned.iter().map(|c| &**c));
        if missing.is_empty() {
            return Ok(ids);
        }
        // Look first, insert only what is new: a conflicting insert would still use up an
        // identity value, and every agent start would burn thousands.
        let found = self.ids_of(&missing).await?;
        let still: Vec<String> = {
            let found: HashSet<&str> = found.iter().map(|(_, v)| v.as_str()).collect();
            missing.iter().filter(|v| !found.contains(v.as_str())).cloned().collect()
        };
        self.names.learn(found.iter().map(|(id, v)| (*id, v.as_str())));
        ids.extend(found.into_iter().map(|(id, v)| (v, id)));
        if !still.is_empty() {
            // Sorted, so two agents adding the same names lock them in the same order.
            sqlx::query(
                "INSERT INTO strings (value) SELECT v FROM unnest($1::text[]) AS t(v) ORDER BY v \
                 ON CONFLICT (value) DO NOTHING",
            )
            .bind(&still)
            .execute(&self.pool)
            .await
            .map_err(query_error("storing names"))?;
            let added = self.ids_of(&still).await?;
            self.names.learn(added.iter().map(|(id, v)| (*id, v.as_str())));
            ids.extend(added.into_iter().map(|(id, v)| (v, id)));
        }
        Ok(ids)
    }

    async fn ids_of(&self, values: &[String]) -> Result<Vec<(Id, String)>, StoreError> {
        sqlx::query_as("SELECT id, value FROM strings WHERE value = ANY($1)")
            .bind(values)
            .fetch_all(&self.pool)
            .await
            .map_err(query_error("reading names"))
    }

    /// The strings of `ids`.
    async fn names(&self, ids: impl Iterator<Item = Id>) -> Result<Names, StoreError> {
        let (mut names, missing) = self.names.split_ids(ids);
        if missing.is_empty() {
            return Ok(names);
        }
        let pairs: Vec<(Id, String)> =
            sqlx::query_as("SELECT id, value FROM strings WHERE id = ANY($1)")
                .bind(&missing)
                .fetch_all(&self.pool)
                .await
                .map_err(query_error("reading names"))?;
        self.names.learn(pairs.iter().map(|(id, v)| (*id, v.as_str())));
        names.extend(pairs.into_iter().map(|(id, v)| (id, v.into())));
        Ok(names)
    }

    /// The id of one string, if it was ever stored.
    async fn id_of(&self, value: &str) -> Result<Option<Id>, StoreError> {
        let value = codec::clean_name(value);
        if let Some(id) = self.names.cached_id(&value) {
            return Ok(Some(id));
        }
        sqlx::query_scalar("SELECT id FROM strings WHERE value = $1")
            .bind(&*value)
            .fetch_optional(&self.pool)
            .await
            .map_err(query_error("reading names"))
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(query_error("starting a transaction"))
    }

    pub(crate) async fn insert_polls(&self, rows: &[PollRecord]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let ids = self.intern(codec::poll_strings(rows)).await?;
        let encoded =
            rows.iter().map(|r| PollRow::encode(r, &ids)).collect::<Result<Vec<_>, _>>()?;
        let first_day = encoded.iter().map(|r| r.at).min().expect("not empty").date_naive();
        let all: Vec<&PollRow> = encoded.iter().collect();
        let latest = codec::latest_per_key(&encoded);
        let mut tx = self.begin().await?;
        PollRow::bind_pg(sqlx::query(SQL.insert_polls.as_str()), &all)
            .execute(&mut *tx)
            .await
            .map_err(query_error("storing polls"))?;
        PollRow::bind_pg(sqlx::query(SQL.insert_latest.as_str()), &latest)
            .execute(&mut *tx)
            .await
            .map_err(query_error("storing the latest polls"))?;
        // Matches (and so locks) the row only when the day moves back: agents do not queue here.
        sqlx::query(
            "UPDATE retention SET raw_first_day = $1 \
             WHERE id = 1 AND (raw_first_day IS NULL OR raw_first_day > $1)",
        )
        .bind(first_day)
        .execute(&mut *tx)
        .await
        .map_err(query_error("storing polls"))?;
        tx.commit().await.map_err(query_error("storing polls"))
    }

    pub(crate) async fn insert_interfaces(
        &self,
        rows: &[InterfaceRecord],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let ids = self.intern(codec::interface_strings(rows)).await?;
        let encoded =
            rows.iter().map(|r| InterfaceRow::encode(r, &ids)).collect::<Result<Vec<_>, _>>()?;
        let rows: Vec<&InterfaceRow> = encoded.iter().collect();
        InterfaceRow::bind_pg(sqlx::query(SQL.insert_interfaces.as_str()), &rows)
            .execute(&self.pool)
            .await
            .map_err(query_error("storing interfaces"))?;
        Ok(())
    }

    pub(crate) async fn insert_events(&self, rows: &[EventRecord]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let encoded: Vec<EventRow> = rows.iter().map(EventRow::encode).collect();
        let rows: Vec<&EventRow> = encoded.iter().collect();
        EventRow::bind_pg(sqlx::query(SQL.insert_events.as_str()), &rows)
            .execute(&self.pool)
            .await
            .map_err(query_error("storing events"))?;
        Ok(())
    }

    pub(crate) async fn insert_facts(&self, rows: &[FactRecord]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let encoded: Vec<FactRow> = rows.iter().map(FactRow::encode).collect();
        let rows = codec::latest_fact_per_key(&encoded);
        FactRow::bind_pg(sqlx::query(SQL.insert_facts.as_str()), &rows)
            .execute(&self.pool)
            .await
            .map_err(query_error("storing device facts"))?;
        Ok(())
    }

    pub(crate) async fn facts(&self) -> Result<Vec<FactRecord>, StoreError> {
        let rows = sqlx::query(SQL.select_facts.as_str()).fetch(&self.pool);
        decode_each(rows, "reading device facts", |r| FactRow::from_pg(r)?.decode()).await
    }

    pub(crate) async fn record_inventory(
        &self,
        snap: &InventorySnapshotText,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        lock(&mut tx, SNAPSHOT_LOCK).await?;
        let latest: Option<String> = sqlx::query_scalar(
            "SELECT digest FROM inventory_snapshots ORDER BY at DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_error("reading inventory snapshots"))?;
        if latest.as_deref() == Some(snap.digest.as_str()) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO inventory_snapshots (at, agent, digest, content) VALUES ($1, $2, $3, $4)",
        )
        .bind(codec::truncate_micros(snap.at))
        .bind(codec::clean_text(&snap.agent))
        .bind(&snap.digest)
        .bind(snap.content.as_str())
        .execute(&mut *tx)
        .await
        .map_err(query_error("storing an inventory snapshot"))?;
        tx.commit().await.map_err(query_error("storing an inventory snapshot"))?;
        Ok(true)
    }

    pub(crate) async fn inventory_history(
        &self,
        until: DateTime<Utc>,
    ) -> Result<Vec<InventorySnapshot>, StoreError> {
        let rows: Vec<(DateTime<Utc>, String, String, String)> = sqlx::query_as(
            "SELECT at, agent, digest, content FROM inventory_snapshots WHERE at <= $1 \
             ORDER BY at, id",
        )
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(query_error("reading inventory snapshots"))?;
        rows.into_iter()
            .map(|(at, agent, digest, content)| {
                Ok(InventorySnapshot {
                    at,
                    agent,
                    digest,
                    content: codec::snapshot_content(&content)?,
                })
            })
            .collect()
    }

    pub(crate) async fn latest_polls(&self) -> Result<Vec<PollRecord>, StoreError> {
        let rows = sqlx::query(SQL.select_latest.as_str()).fetch(&self.pool);
        let rows = decode_each(rows, "reading the latest polls", PollRow::from_pg).await?;
        let mut polls = self.decode_polls(rows).await?;
        codec::sort_latest(&mut polls);
        Ok(polls)
    }

    pub(crate) async fn events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let rows = sqlx::query(SQL.select_events.as_str())
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .map_err(query_error("reading events"))?;
        rows.iter().map(|r| EventRow::from_pg(r)?.decode()).collect()
    }

    pub(crate) async fn polls(
        &self,
        device: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<PollRecord>, StoreError> {
        let Some(device) = self.id_of(device).await? else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(SQL.select_polls.as_str())
            .bind(device)
            .bind(from)
            .bind(to)
            .fetch(&self.pool);
        let rows = decode_each(rows, "reading polls", PollRow::from_pg).await?;
        self.decode_polls(rows).await
    }

    pub(crate) async fn events_page(
        &self,
        filter: &EventFilter,
        offset: u64,
        limit: u64,
    ) -> Result<EventPage, StoreError> {
        let kind = filter.kind.map(|k| k.as_str());
        let big = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let rows = sqlx::query(CONSOLE.events_page.as_str())
            .bind(filter.from)
            .bind(filter.to)
            .bind(filter.site.as_deref())
            .bind(filter.device.as_deref())
            .bind(kind)
            .bind(big(limit))
            .bind(big(offset))
            .fetch_all(&self.pool)
            .await
            .map_err(query_error("reading events"))?;
        let events =
            rows.iter().map(|r| EventRow::from_pg(r)?.decode()).collect::<Result<_, _>>()?;
        let total: i64 = sqlx::query_scalar(CONSOLE.events_count.as_str())
            .bind(filter.from)
            .bind(filter.to)
            .bind(filter.site.as_deref())
            .bind(filter.device.as_deref())
            .bind(kind)
            .fetch_one(&self.pool)
            .await
            .map_err(query_error("counting events"))?;
        Ok(EventPage { events, total: super::console::count_of(total) })
    }

    pub(crate) async fn poll_series(
        &self,
        device: &str,
        family: crate::inventory::Family,
        probe: crate::probe::ProbeKind,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        max_points: u32,
    ) -> Result<PollSeries, StoreError> {
        let mut series = PollSeries { from, to, stored: 0, bucket: None, points: Vec::new() };
        let Some(device) = self.id_of(device).await? else {
            return Ok(series);
        };
        let read = query_error("reading a poll series");
        // One read transaction (repeatable read): the count and the points see the same rows.
        let mut tx = self.pool.begin().await.map_err(read)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(read)?;
        let bind = |sql: &'static str| {
            sqlx::query(sql)
                .bind(device)
                .bind(from)
                .bind(to)
                .bind(codec::family_code(family))
                .bind(codec::probe_code(probe))
        };
        let stored: i64 = bind(CONSOLE.series_count.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(read)?
            .try_get(0)
            .map_err(read)?;
        series.stored = super::console::count_of(stored);
        let rows = if series.stored <= u64::from(max_points) {
            bind(CONSOLE.series_raw.as_str()).fetch_all(&mut *tx).await.map_err(read)?
        } else {
            let width = super::console::bucket_micros(from, to, max_points);
            series.bucket = Some(Duration::from_micros(u64::try_from(width).unwrap_or(1)));
            bind(CONSOLE.series_buckets.as_str())
                .bind(width)
                .fetch_all(&mut *tx)
                .await
                .map_err(read)?
        };
        tx.rollback().await.map_err(read)?;
        for r in &rows {
            let rtt: Option<f64> = r.try_get(5).map_err(read)?;
            let count = |i: usize| -> Result<u64, StoreError> {
                Ok(super::console::count_of(r.try_get::<i64, _>(i).map_err(read)?))
            };
            series.points.push(SeriesPoint {
                at: r.try_get(0).map_err(read)?,
                polls: count(1)?,
                successes: count(2)?,
                sent: count(3)?,
                received: count(4)?,
                rtt_avg_s: rtt.map(|us| us / 1e6),
            });
        }
        Ok(series)
    }

    async fn decode_polls(&self, rows: Vec<PollRow>) -> Result<Vec<PollRecord>, StoreError> {
        let names = self.names(rows.iter().flat_map(PollRow::ids)).await?;
        rows.into_iter().map(|r| r.decode(&names)).collect()
    }

    pub(crate) async fn interfaces(
        &self,
        device: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<InterfaceRecord>, StoreError> {
        let Some(device) = self.id_of(device).await? else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(SQL.select_interfaces.as_str())
            .bind(device)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .map_err(query_error("reading interfaces"))?;
        let rows = rows.iter().map(InterfaceRow::from_pg).collect::<Result<Vec<_>, _>>()?;
        let names = self.names(rows.iter().flat_map(InterfaceRow::ids)).await?;
        rows.into_iter().map(|r| r.decode(&names)).collect()
    }

    pub(crate) async fn rollup(&self, day: NaiveDate) -> Result<u64, StoreError> {
        let from = codec::day_start(day);
        let to = codec::day_start(day + Days::new(1));
        // Summed outside the lock; written under it, after checking the day was not pruned in
        // between (a prune moves the horizon under the same lock before deleting anything).
        let sums = raw_sums(&self.pool, from, to).await?;
        let mut tx = self.begin().await?;
        lock(&mut tx, ROLLUP_LOCK).await?;
        let pruned = pruned_before(&mut *tx).await?;
        if pruned.is_some_and(|p| day < p) {
            let rows: Option<i64> =
                sqlx::query_scalar("SELECT rows FROM rolled_days WHERE day = $1")
                    .bind(day)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(query_error("reading rolled-up days"))?;
            return codec::count("rolled_days", "rows", rows.unwrap_or(0));
        }
        let s: Vec<&Sums> = sums.iter().map(|(_, s)| s).collect();
        let last_at = s
            .iter()
            .map(|s| codec::from_micros("polls", "at", s.last_at_us))
            .collect::<Result<Vec<_>, _>>()?;
        sqlx::query(concat!(
            "INSERT INTO daily (",
            daily_columns!(),
            ") SELECT $1::date, * FROM UNNEST($2::int4[], $3::int2[], $4::int2[], $5::int4[], \
             $6::timestamptz[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], \
             $12::int8[])",
            daily_upsert!()
        ))
        .bind(day)
        .bind(sums.iter().map(|((d, _, _), _)| *d).collect::<Vec<_>>())
        .bind(sums.iter().map(|((_, f, _), _)| *f).collect::<Vec<_>>())
        .bind(sums.iter().map(|((_, _, p), _)| *p).collect::<Vec<_>>())
        .bind(column!(s, site))
        .bind(last_at)
        .bind(column!(s, polls))
        .bind(column!(s, successes))
        .bind(column!(s, sent))
        .bind(column!(s, received))
        .bind(column!(s, rtt_sum_us))
        .bind(column!(s, rtt_count))
        .execute(&mut *tx)
        .await
        .map_err(query_error("storing a roll-up"))?;
        let n = sums.len() as i64;
        sqlx::query(
            "INSERT INTO rolled_days (day, rolled_at, rows) VALUES ($1, now(), $2) \
             ON CONFLICT (day) DO UPDATE SET rolled_at = excluded.rolled_at, rows = excluded.rows",
        )
        .bind(day)
        .bind(n)
        .execute(&mut *tx)
        .await
        .map_err(query_error("storing a roll-up"))?;
        tx.commit().await.map_err(query_error("storing a roll-up"))?;
        codec::count("rolled_days", "rows", n)
    }

    pub(crate) async fn availability(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Availability>, StoreError> {
        // One snapshot for every piece, even while a roll-up or prune runs.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(query_error("starting a transaction"))?;
        let totals = plan::totals(&mut *tx, &self.raw, from, to).await?;
        tx.rollback().await.map_err(query_error("reading availability"))?;
        let names = self.names(totals.ids()).await?;
        totals.finish(&names)
    }

    pub(crate) async fn daily(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyRollup>, StoreError> {
        let rows = daily_sums(&self.pool, from, to).await?;
        let names = self.names(plan::daily_ids(&rows)).await?;
        plan::daily_rows(&rows, &names)
    }

    pub(crate) async fn rolled_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        rolled_days(&self.pool, from, to).await
    }

    pub(crate) async fn raw_pruned_before(&self) -> Result<Option<NaiveDate>, StoreError> {
        pruned_before(&self.pool).await
    }

    pub(crate) async fn prune(&self, raw_before: DateTime<Utc>) -> Result<u64, StoreError> {
        // Sums kept of raw rows about to go (again at the end: a reading may run meanwhile).
        self.raw.clear();
        let cut_day = raw_before.date_naive();
        let (first, pruned): (Option<NaiveDate>, Option<NaiveDate>) =
            sqlx::query_as("SELECT raw_first_day, raw_pruned_before FROM retention WHERE id = 1")
                .fetch_one(&self.pool)
                .await
                .map_err(query_error("reading the retention state"))?;
        if let Some(first) = first {
            // Days before `pruned` are rolled up already and their raw rows gone.
            for day in plan::days(first.max(pruned.unwrap_or(first)), cut_day) {
                self.rollup(day).await?;
            }
        }
        // The horizon moves before any row goes: a roll-up of a day being pruned (by this
        // agent or another) then keeps the stored figures instead of summing what is left.
        let mut tx = self.begin().await?;
        lock(&mut tx, ROLLUP_LOCK).await?;
        sqlx::query(
            "UPDATE retention SET raw_pruned_before = $1 \
             WHERE id = 1 AND (raw_pruned_before IS NULL OR raw_pruned_before < $1)",
        )
        .bind(cut_day)
        .execute(&mut *tx)
        .await
        .map_err(query_error("pruning"))?;
        tx.commit().await.map_err(query_error("pruning"))?;
        // One statement per table: PostgreSQL deletes without blocking readers or writers, and
        // autovacuum gives the space back to new rows.
        let cut = codec::day_start(cut_day);
        let mut deleted = 0;
        for sql in ["DELETE FROM polls WHERE at < $1", "DELETE FROM interfaces WHERE at < $1"] {
            deleted += sqlx::query(sql)
                .bind(cut)
                .execute(&self.pool)
                .await
                .map_err(query_error("pruning"))?
                .rows_affected();
        }
        self.raw.clear();
        Ok(deleted)
    }
}

impl plan::Source for PgConnection {
    async fn rolled_days(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        rolled_days(self, from, to).await
    }

    async fn raw_sums(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Key, Sums)>, StoreError> {
        raw_sums(self, from, to).await
    }

    async fn rollup_sums(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(Key, Sums)>, StoreError> {
        rollup_sums(self, from, to).await
    }
}

/// Adds to `interfaces` a column for every declared interface counter the database lacks (it
/// was written before the counter was declared); its older rows read as "not read". Adding a
/// nullable column without a default rewrites nothing.
async fn add_counter_columns(c: &mut PgConnection) -> Result<(), StoreError> {
    async fn have(c: &mut PgConnection) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'interfaces'",
        )
        .fetch_all(c)
        .await
        .map_err(query_error("reading the columns of interfaces"))
    }
    if codec::missing_counter_columns(&have(c).await?).is_empty() {
        return Ok(());
    }
    let adding = query_error("adding interface counter columns");
    let mut tx = c.begin().await.map_err(adding)?;
    // Under the lock, looked at again: another agent may have just added them.
    lock(&mut tx, COLUMNS_LOCK).await?;
    for column in codec::missing_counter_columns(&have(&mut tx).await?) {
        // `column` is a declared counter name (lower-case letters and `_`, checked by a test).
        let sql = format!("ALTER TABLE interfaces ADD COLUMN IF NOT EXISTS {column} bigint");
        sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await.map_err(adding)?;
    }
    tx.commit().await.map_err(adding)
}

async fn lock(tx: &mut PgConnection, key: i64) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(tx)
        .await
        .map(drop)
        .map_err(query_error("taking a lock"))
}

async fn raw_sums<'e>(
    db: impl PgExecutor<'e>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(Key, Sums)>, StoreError> {
    let rows = sqlx::query(raw_sums_select!()).bind(from).bind(to).fetch(db);
    decode_each(rows, "summing polls", |r| sums_row(r, 0)).await
}

/// The figures of the roll-ups of the days `[from, to)`, summed per key; the site is the
/// latest day's.
async fn rollup_sums<'e>(
    db: impl PgExecutor<'e>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(Key, Sums)>, StoreError> {
    let rows = sqlx::query(
        "SELECT device, family, probe, (array_agg(site ORDER BY last_at DESC))[1], \
         max(last_at), sum(polls)::bigint, sum(successes)::bigint, sum(sent)::bigint, \
         sum(received)::bigint, sum(rtt_sum_us)::bigint, sum(rtt_count)::bigint \
         FROM daily WHERE day >= $1 AND day < $2 GROUP BY device, family, probe",
    )
    .bind(from)
    .bind(to)
    .fetch(db);
    decode_each(rows, "reading roll-ups", |r| sums_row(r, 0)).await
}

/// Key and figures from columns `first..first + 11` (device, family, probe, site, last_at,
/// polls, successes, sent, received, rtt_sum_us, rtt_count).
fn sums_row(r: &PgRow, first: usize) -> Result<(Key, Sums), StoreError> {
    let get = query_error("summing polls");
    let last_at: DateTime<Utc> = r.try_get(first + 4).map_err(get)?;
    Ok((
        (
            r.try_get(first).map_err(get)?,
            r.try_get(first + 1).map_err(get)?,
            r.try_get(first + 2).map_err(get)?,
        ),
        Sums {
            site: r.try_get(first + 3).map_err(get)?,
            last_at_us: codec::micros(last_at),
            polls: r.try_get(first + 5).map_err(get)?,
            successes: r.try_get(first + 6).map_err(get)?,
            sent: r.try_get(first + 7).map_err(get)?,
            received: r.try_get(first + 8).map_err(get)?,
            rtt_sum_us: r.try_get(first + 9).map_err(get)?,
            rtt_count: r.try_get(first + 10).map_err(get)?,
        },
    ))
}

async fn daily_sums<'e>(
    db: impl PgExecutor<'e>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<plan::DailyRows, StoreError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        daily_columns!(),
        " FROM daily WHERE day >= $1 AND day < $2"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
    .map_err(query_error("reading roll-ups"))?;
    rows.iter()
        .map(|r| {
            let day: NaiveDate = r.try_get(0).map_err(query_error("reading roll-ups"))?;
            let (key, sums) = sums_row(r, 1)?;
            Ok((day, key, sums))
        })
        .collect()
}

async fn rolled_days<'e>(
    db: impl PgExecutor<'e>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, StoreError> {
    sqlx::query_scalar("SELECT day FROM rolled_days WHERE day >= $1 AND day < $2 ORDER BY day")
        .bind(from)
        .bind(to)
        .fetch_all(db)
        .await
        .map_err(query_error("reading rolled-up days"))
}

async fn pruned_before<'e>(db: impl PgExecutor<'e>) -> Result<Option<NaiveDate>, StoreError> {
    sqlx::query_scalar("SELECT raw_pruned_before FROM retention WHERE id = 1")
        .fetch_one(db)
        .await
        .map_err(query_error("reading the retention state"))
}
