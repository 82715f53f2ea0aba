//! The SQLite backend: one file (or memory), WAL, one writer at a time.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, Row, Sqlite, SqliteExecutor};

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
/// How long a writer waits for another one (another agent process, a prune) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Most rows per INSERT statement (SQLite allows 32,766 bound values per statement).
const ROWS_PER_STATEMENT: usize = 256;
/// Rows per DELETE when pruning: short write locks, so inserts go on between them.
const ROWS_PER_DELETE: i64 = 20_000;

/// The statements on the stored rows, built once from their column lists.
static SQL: LazyLock<Statements> = LazyLock::new(|| Statements::new(Dialect::Sqlite));
/// The console's reads.
static CONSOLE: LazyLock<ConsoleSql> = LazyLock::new(|| ConsoleSql::new(Dialect::Sqlite));

/// The SQLite store.
pub struct SqliteStore {
    /// One connection for every write. SQLite has one writer at a time anyway, and a
    /// connection drops its page cache whenever another one wrote: a single writer keeps its
    /// cache warm (measured here: 35k -> 42k poll rows/s against writes spread over a pool).
    write: SqlitePool,
    /// Readers (reports, roll-up sums); WAL lets them run while the writer writes.
    read: SqlitePool,
    names: Interner,
    /// The settled raw sums of the last availability asked (`plan::RawCache`).
    raw: plan::RawCache,
    url: String,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("url", &self.url).finish_non_exhaustive()
    }
}

/// A connection given back still inside a transaction is closed, and the pool opens a fresh
/// one. When SQLite fails a COMMIT (SQLITE_FULL on a full disk) it may already have rolled the
/// transaction back; sqlx then still counts one open transaction on the connection, its own
/// ROLLBACK fails, and every later BEGIN on that connection is refused ("non-zero transaction
/// depth"), also once space returns. A new connection has no such memory.
fn discard_if_in_transaction(
    conn: &mut SqliteConnection,
    _: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    let keep = !sqlx::Connection::is_in_transaction(conn);
    if !keep {
        tracing::warn!(
            "a history connection was left inside a failed transaction; opening a new one"
        );
    }
    Box::pin(async move { Ok(keep) })
}

impl SqliteStore {
    /// Opens (creating the file if missing) and migrates.
    pub(crate) async fn connect(url: &DbUrl) -> Result<SqliteStore, StoreError> {
        let shown = url.redacted();
        let options = SqliteConnectOptions::from_str(url.expose())
            .map_err(|error| StoreError::BadUrl { url: shown.clone(), error })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL with WAL: a power cut may lose the last transactions, never the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .optimize_on_close(true, 400)
            // 64 MiB of page cache per connection (the default is 2 MiB): with 10,000 devices,
            // each batch touches the newest leaf of every device in `polls_device_at`.
            .pragma("cache_size", "-65536");
        let connect_error = |error| StoreError::Connect { url: shown.clone(), error };
        // One plain connection first: its error says why (the pool would only time out), and
        // it keeps an in-memory database alive until the pool holds it.
        let mut first =
            tokio::time::timeout(CONNECT_TIMEOUT, SqliteConnection::connect_with(&options))
                .await
                .map_err(|_| StoreError::ConnectTimeout {
                    url: shown.clone(),
                    seconds: CONNECT_TIMEOUT.as_secs(),
                })?
                .map_err(connect_error)?;
        sqlx::migrate!("migrations/sqlite")
            .run(&mut first)
            .await
            .map_err(|error| StoreError::Migrate { url: shown.clone(), error })?;
        add_counter_columns(&mut first).await?;
        // One connection for every write, kept open (an in-memory database would vanish with
        // its last connection).
        let memory = url.is_sqlite_memory();
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(BUSY_TIMEOUT);
        // A memory database lives in its one connection: it is never replaced.
        let write = if memory { write } else { write.after_release(discard_if_in_transaction) }
            .connect_with(options.clone())
            .await
            .map_err(connect_error)?;
        let read = if memory {
            // Every connection must see the one memory database: the writer reads too.
            write.clone()
        } else {
            // Readers scan (sums, reports) more than they revisit: 8 MiB of page cache each (the
            // kernel caches the file anyway), where four at 64 MiB could hold 256 MiB.
            SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(BUSY_TIMEOUT)
                .after_release(discard_if_in_transaction)
                .connect_with(options.pragma("cache_size", "-8192"))
                .await
                .map_err(connect_error)?
        };
        first.close().await.map_err(connect_error)?;
        Ok(SqliteStore {
            write,
            read,
            names: Interner::default(),
            raw: plan::RawCache::default(),
            url: shown,
        })
    }

    pub(crate) async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Ids of `values`, creating the missing ones.
    async fn intern<'a>(&self, values: impl Iterator<Item = &'a str>) -> Result<Ids, StoreError> {
        let cleaned: Vec<Cow<'a, str>> = values.map(codec::clean_name).collect();
        let (mut ids, missing) = self.names.split(cleaned.iter().map(|c| &**c));
        if missing.is_empty() {
            return Ok(ids);
        }
        for chunk in missing.chunks(10_000) {
            let json = serde_json::to_string(chunk).expect("strings serialise");
            // SQLite gives rowids as max + 1: an ignored conflict wastes no id.
            sqlx::query(
                "INSERT INTO strings (value) SELECT value FROM json_each(?1) WHERE true \
                 ON CONFLICT (value) DO NOTHING",
            )
            .bind(&json)
            .execute(&self.write)
            .await
            .map_err(query_error("storing names"))?;
            let pairs = decode_each(
                sqlx::query(
                    "SELECT id, value FROM strings \
                     WHERE value IN (SELECT value FROM json_each(?1))",
                )
                .bind(&json)
                .fetch(&self.write),
                "reading names",
                id_value_pair,
            )
            .await?;
            self.names.learn(pairs.iter().map(|(id, v)| (*id, v.as_str())));
            ids.extend(pairs.into_iter().map(|(id, v)| (v, id)));
        }
        Ok(ids)
    }

    /// The strings of `ids`.
    async fn names(&self, ids: impl Iterator<Item = Id>) -> Result<Names, StoreError> {
        let (mut names, missing) = self.names.split_ids(ids);
        for chunk in missing.chunks(10_000) {
            let json = serde_json::to_string(chunk).expect("ids serialise");
            let pairs = decode_each(
                sqlx::query(
                    "SELECT id, value FROM strings WHERE id IN (SELECT value FROM json_each(?1))",
                )
                .bind(&json)
                .fetch(&self.read),
                "reading names",
                id_value_pair,
            )
            .await?;
            self.names.learn(pairs.iter().map(|(id, v)| (*id, v.as_str())));
            names.extend(pairs.into_iter().map(|(id, v)| (id, v.into())));
        }
        Ok(names)
    }

    /// The id of one string, if it was ever stored.
    async fn id_of(&self, value: &str) -> Result<Option<Id>, StoreError> {
        let value = codec::clean_name(value);
        if let Some(id) = self.names.cached_id(&value) {
            return Ok(Some(id));
        }
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM strings WHERE value = ?1")
            .bind(&*value)
            .fetch_optional(&self.read)
            .await
            .map_err(query_error("reading names"))?;
        id.map(|id| to_id("strings", "id", id)).transpose()
    }

    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        // IMMEDIATE takes the write lock at once: a deferred transaction that reads first could
        // not upgrade when another connection wrote meanwhile (SQLITE_BUSY_SNAPSHOT).
        self.write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(query_error("starting a transaction"))
    }

    pub(crate) async fn insert_polls(&self, rows: &[PollRecord]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let ids = self.intern(codec::poll_strings(rows)).await?;
        let encoded =
            rows.iter().map(|r| PollRow::encode(r, &ids)).collect::<Result<Vec<_>, _>>()?;
        let first_day = encoded.iter().map(|r| r.at).min().expect("not empty").date_naive();
        let mut tx = self.write_tx().await?;
        for chunk in statement_chunks(&encoded) {
            let mut q = QueryBuilder::<Sqlite>::new(&SQL.insert_polls);
            q.push_values(chunk, |b, r| r.bind_sqlite(b));
            q.build().execute(&mut *tx).await.map_err(query_error("storing polls"))?;
        }
        for chunk in statement_chunks(&codec::latest_per_key(&encoded)) {
            let mut q = QueryBuilder::<Sqlite>::new(&SQL.insert_latest);
            q.push_values(chunk, |b, r| r.bind_sqlite(b));
            q.push(&SQL.upsert_latest);
            q.build().execute(&mut *tx).await.map_err(query_error("storing the latest polls"))?;
        }
        sqlx::query(
            "UPDATE retention SET raw_first_day = ?1 \
             WHERE id = 1 AND (raw_first_day IS NULL OR raw_first_day > ?1)",
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
        let mut tx = self.write_tx().await?;
        for chunk in statement_chunks(&encoded) {
            let mut q = QueryBuilder::<Sqlite>::new(&SQL.insert_interfaces);
            q.push_values(chunk, |b, r| r.bind_sqlite(b));
            q.build().execute(&mut *tx).await.map_err(query_error("storing interfaces"))?;
        }
        tx.commit().await.map_err(query_error("storing interfaces"))
    }

    pub(crate) async fn insert_events(&self, rows: &[EventRecord]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let encoded: Vec<EventRow> = rows.iter().map(EventRow::encode).collect();
        let mut tx = self.write_tx().await?;
        for chunk in statement_chunks(&encoded) {
            let mut q = QueryBuilder::<Sqlite>::new(&SQL.insert_events);
            q.push_values(chunk, |b, e| e.bind_sqlite(b));
            q.build().execute(&mut *tx).await.map_err(query_error("storing events"))?;
        }
        tx.commit().await.map_err(query_error("storing events"))
    }

    pub(crate) async fn insert_facts(&self, rows: &[FactRecord]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let encoded: Vec<FactRow> = rows.iter().map(FactRow::encode).collect();
        let mut tx = self.write_tx().await?;
        for chunk in statement_chunks(&codec::latest_fact_per_key(&encoded)) {
            let mut q = QueryBuilder::<Sqlite>::new(&SQL.insert_facts);
            q.push_values(chunk, |b, r| r.bind_sqlite(b));
            q.push(&SQL.upsert_facts);
            q.build().execute(&mut *tx).await.map_err(query_error("storing device facts"))?;
        }
        tx.commit().await.map_err(query_error("storing device facts"))
    }

    pub(crate) async fn facts(&self) -> Result<Vec<FactRecord>, StoreError> {
        let rows = sqlx::query(SQL.select_facts.as_str()).fetch(&self.read);
        decode_each(rows, "reading device facts", |r| FactRow::from_sqlite(r)?.decode()).await
    }

    pub(crate) async fn record_inventory(
        &self,
        snap: &InventorySnapshotText,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
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
            "INSERT INTO inventory_snapshots (at, agent, digest, content) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(codec::micros(snap.at))
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
        let rows = sqlx::query(
            "SELECT at, agent, digest, content FROM inventory_snapshots WHERE at <= ?1 \
             ORDER BY at, id",
        )
        .bind(codec::micros(until))
        .fetch_all(&self.read)
        .await
        .map_err(query_error("reading inventory snapshots"))?;
        rows.iter()
            .map(|r| {
                let get = query_error("reading inventory snapshots");
                let content: String = r.try_get(3).map_err(get)?;
                Ok(InventorySnapshot {
                    at: codec::from_micros(
                        "inventory_snapshots",
                        "at",
                        r.try_get(0).map_err(get)?,
                    )?,
                    agent: r.try_get(1).map_err(get)?,
                    digest: r.try_get(2).map_err(get)?,
                    content: codec::snapshot_content(&content)?,
                })
            })
            .collect()
    }

    pub(crate) async fn latest_polls(&self) -> Result<Vec<PollRecord>, StoreError> {
        let rows = sqlx::query(SQL.select_latest.as_str()).fetch(&self.read);
        let rows = decode_each(rows, "reading the latest polls", PollRow::from_sqlite).await?;
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
            .bind(codec::micros(from))
            .bind(codec::micros(to))
            .fetch(&self.read);
        decode_each(rows, "reading events", |r| EventRow::from_sqlite(r)?.decode()).await
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
            .bind(codec::micros(from))
            .bind(codec::micros(to))
            .fetch(&self.read);
        let rows = decode_each(rows, "reading polls", PollRow::from_sqlite).await?;
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
            .bind(codec::micros(filter.from))
            .bind(codec::micros(filter.to))
            .bind(filter.site.as_deref())
            .bind(filter.device.as_deref())
            .bind(kind)
            .bind(big(limit))
            .bind(big(offset))
            .fetch_all(&self.read)
            .await
            .map_err(query_error("reading events"))?;
        let events =
            rows.iter().map(|r| EventRow::from_sqlite(r)?.decode()).collect::<Result<_, _>>()?;
        let total: i64 = sqlx::query_scalar(CONSOLE.events_count.as_str())
            .bind(codec::micros(filter.from))
            .bind(codec::micros(filter.to))
            .bind(filter.site.as_deref())
            .bind(filter.device.as_deref())
            .bind(kind)
            .fetch_one(&self.read)
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
        // One read transaction: the count and the points see the same rows.
        let mut tx = self.read.begin().await.map_err(read)?;
        let bind = |sql: &'static str| {
            sqlx::query(sql)
                .bind(device)
                .bind(codec::micros(from))
                .bind(codec::micros(to))
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
            series.points.push(SeriesPoint {
                at: codec::from_micros("polls", "at", r.try_get(0).map_err(read)?)?,
                polls: super::console::count_of(r.try_get(1).map_err(read)?),
                successes: super::console::count_of(r.try_get(2).map_err(read)?),
                sent: super::console::count_of(r.try_get(3).map_err(read)?),
                received: super::console::count_of(r.try_get(4).map_err(read)?),
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
            .bind(codec::micros(from))
            .bind(codec::micros(to))
            .fetch(&self.read);
        let rows = decode_each(rows, "reading interfaces", InterfaceRow::from_sqlite).await?;
        let names = self.names(rows.iter().flat_map(InterfaceRow::ids)).await?;
        rows.into_iter().map(|r| r.decode(&names)).collect()
    }

    pub(crate) async fn rollup(&self, day: NaiveDate) -> Result<u64, StoreError> {
        let from = codec::day_start(day);
        let to = codec::day_start(day + Days::new(1));
        // Summed outside the write lock (WAL lets inserts go on meanwhile); written under it,
        // after checking the day was not pruned in between.
        let sums = raw_sums(&self.read, from, to).await?;
        let mut tx = self.write_tx().await?;
        let pruned = pruned_before(&mut *tx).await?;
        if pruned.is_some_and(|p| day < p) {
            let rows: Option<i64> =
                sqlx::query_scalar("SELECT rows FROM rolled_days WHERE day = ?1")
                    .bind(day)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(query_error("reading rolled-up days"))?;
            return codec::count("rolled_days", "rows", rows.unwrap_or(0));
        }
        for chunk in statement_chunks(&sums) {
            let mut q =
                QueryBuilder::<Sqlite>::new(concat!("INSERT INTO daily (", daily_columns!(), ") "));
            q.push_values(chunk, |mut b, ((device, family, probe), s)| {
                b.push_bind(day)
                    .push_bind(*device)
                    .push_bind(*family)
                    .push_bind(*probe)
                    .push_bind(s.site)
                    .push_bind(s.last_at_us)
                    .push_bind(s.polls)
                    .push_bind(s.successes)
                    .push_bind(s.sent)
                    .push_bind(s.received)
                    .push_bind(s.rtt_sum_us)
                    .push_bind(s.rtt_count);
            });
            q.push(daily_upsert!());
            q.build().execute(&mut *tx).await.map_err(query_error("storing a roll-up"))?;
        }
        let n = sums.len() as i64;
        sqlx::query(
            "INSERT INTO rolled_days (day, rolled_at, rows) VALUES (?1, ?2, ?3) \
             ON CONFLICT (day) DO UPDATE SET rolled_at = excluded.rolled_at, rows = excluded.rows",
        )
        .bind(day)
        // When the roll-up ran, by the wall clock (PostgreSQL writes its own `now()`).
        .bind(codec::micros(crate::clock::Clock::Wall.now()))
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
        // One read transaction: one consistent view even while a roll-up or prune runs.
        let mut tx = self.read.begin().await.map_err(query_error("starting a transaction"))?;
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
        let rows = daily_sums(&self.read, from, to).await?;
        let names = self.names(plan::daily_ids(&rows)).await?;
        plan::daily_rows(&rows, &names)
    }

    pub(crate) async fn rolled_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        rolled_days(&self.read, from, to).await
    }

    pub(crate) async fn raw_pruned_before(&self) -> Result<Option<NaiveDate>, StoreError> {
        pruned_before(&self.read).await
    }

    pub(crate) async fn prune(&self, raw_before: DateTime<Utc>) -> Result<u64, StoreError> {
        // Sums kept of raw rows about to go (again at the end: a reading may run meanwhile).
        self.raw.clear();
        let cut_day = raw_before.date_naive();
        let (first, pruned): (Option<NaiveDate>, Option<NaiveDate>) =
            sqlx::query_as("SELECT raw_first_day, raw_pruned_before FROM retention WHERE id = 1")
                .fetch_one(&self.read)
                .await
                .map_err(query_error("reading the retention state"))?;
        if let Some(first) = first {
            // Days before `pruned` are rolled up already and their raw rows gone.
            for day in plan::days(first.max(pruned.unwrap_or(first)), cut_day) {
                self.rollup(day).await?;
            }
        }
        // The horizon moves before any row goes: a roll-up of a day being pruned then keeps
        // the stored figures instead of summing what is left.
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE retention SET raw_pruned_before = ?1 \
             WHERE id = 1 AND (raw_pruned_before IS NULL OR raw_pruned_before < ?1)",
        )
        .bind(cut_day)
        .execute(&mut *tx)
        .await
        .map_err(query_error("pruning"))?;
        tx.commit().await.map_err(query_error("pruning"))?;
        let cut = codec::micros(codec::day_start(cut_day));
        let mut deleted = 0;
        for sql in [
            "DELETE FROM polls WHERE rowid IN (SELECT rowid FROM polls WHERE at < ?1 LIMIT ?2)",
            "DELETE FROM interfaces WHERE rowid IN \
             (SELECT rowid FROM interfaces WHERE at < ?1 LIMIT ?2)",
        ] {
            loop {
                let n = sqlx::query(sql)
                    .bind(cut)
                    .bind(ROWS_PER_DELETE)
                    .execute(&self.write)
                    .await
                    .map_err(query_error("pruning"))?
                    .rows_affected();
                deleted += n;
                if n == 0 {
                    break;
                }
            }
        }
        self.raw.clear();
        Ok(deleted)
    }
}

impl plan::Source for SqliteConnection {
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
/// was written before the counter was declared); its older rows read as "not read".
async fn add_counter_columns(c: &mut SqliteConnection) -> Result<(), StoreError> {
    async fn have(c: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT name FROM pragma_table_info('interfaces')")
            .fetch_all(c)
            .await
            .map_err(query_error("reading the columns of interfaces"))
    }
    if codec::missing_counter_columns(&have(c).await?).is_empty() {
        return Ok(());
    }
    let adding = query_error("adding interface counter columns");
    // Under the write lock, looked at again: another agent may have just added them.
    let mut tx = c.begin_with("BEGIN IMMEDIATE").await.map_err(adding)?;
    for column in codec::missing_counter_columns(&have(&mut tx).await?) {
        // `column` is a declared counter name (lower-case letters and `_`, checked by a test).
        let sql = format!("ALTER TABLE interfaces ADD COLUMN {column} INTEGER");
        sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await.map_err(adding)?;
    }
    tx.commit().await.map_err(adding)
}

/// `rows` cut into statements of power-of-two sizes, largest first, at most
/// [`ROWS_PER_STATEMENT`]: a multi-row `INSERT` is a different statement for every row count,
/// and sqlx keeps each prepared statement per connection (its VDBE program grows with the
/// rows: about a megabyte at 500 rows of a poll). With power-of-two sizes a table has at most
/// nine statements, each prepared once and reused, where batches of any size kept up to the
/// cache's hundred.
fn statement_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let n = ROWS_PER_STATEMENT.min(1 << rows.len().ilog2());
        let (chunk, rest) = rows.split_at(n);
        rows = rest;
        Some(chunk)
    })
}

fn to_id(table: &'static str, column: &'static str, v: i64) -> Result<Id, StoreError> {
    Id::try_from(v).map_err(|_| StoreError::Corrupt { table, column, value: v.to_string() })
}

fn id_value_pair(r: &SqliteRow) -> Result<(Id, String), StoreError> {
    let id: i64 = r.try_get(0).map_err(query_error("reading names"))?;
    Ok((to_id("strings", "id", id)?, r.try_get(1).map_err(query_error("reading names"))?))
}

/// The figures of the raw polls in `[from, to)`, per key. With a single `max()`, SQLite takes
/// the bare `site` from the row holding the maximum: the site of the latest poll.
async fn raw_sums<'e>(
    db: impl SqliteExecutor<'e>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(Key, Sums)>, StoreError> {
    let rows = sqlx::query(
        "SELECT device, family, probe, site, max(at), count(*), sum(success), \
         coalesce(sum(sent), 0), coalesce(sum(received), 0), \
         coalesce(sum(CASE WHEN success THEN rtt_avg_us END), 0), \
         count(CASE WHEN success THEN rtt_avg_us END) \
         FROM polls WHERE at >= ?1 AND at < ?2 GROUP BY device, family, probe",
    )
    .bind(codec::micros(from))
    .bind(codec::micros(to))
    .fetch(db);
    decode_each(rows, "summing polls", |r| sums_row(r, 0)).await
}

/// The figures of the roll-ups of the days `[from, to)`, summed per key. With a single
/// `max()`, SQLite takes the bare `site` from the row holding it: the latest day's.
async fn rollup_sums<'e>(
    db: impl SqliteExecutor<'e>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(Key, Sums)>, StoreError> {
    let rows = sqlx::query(
        "SELECT device, family, probe, site, max(last_at), sum(polls), sum(successes), \
         sum(sent), sum(received), sum(rtt_sum_us), sum(rtt_count) \
         FROM daily WHERE day >= ?1 AND day < ?2 GROUP BY device, family, probe",
    )
    .bind(from)
    .bind(to)
    .fetch(db);
    decode_each(rows, "reading roll-ups", |r| sums_row(r, 0)).await
}

/// Key and figures from columns `first..first + 11` (device, family, probe, site, last_at,
/// polls, successes, sent, received, rtt_sum_us, rtt_count).
fn sums_row(r: &SqliteRow, first: usize) -> Result<(Key, Sums), StoreError> {
    let get = query_error("summing polls");
    Ok((
        (
            r.try_get(first).map_err(get)?,
            r.try_get(first + 1).map_err(get)?,
            r.try_get(first + 2).map_err(get)?,
        ),
        Sums {
            site: r.try_get(first + 3).map_err(get)?,
            last_at_us: r.try_get(first + 4).map_err(get)?,
            polls: r.try_get(first + 5).map_err(get)?,
            successes: r.try_get(first + 6).map_err(get)?,
            sent: r.try_get(first + 7).map_err(get)?,
            received: r.try_get(first + 8).map_err(get)?,
            rtt_sum_us: r.try_get(first + 9).map_err(get)?,
            rtt_count: r.try_get(first + 10).map_err(get)?,
        },
    ))
}

/// The roll-up rows of the days `[from, to)`.
async fn daily_sums<'e>(
    db: impl SqliteExecutor<'e>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<plan::DailyRows, StoreError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        daily_columns!(),
        " FROM daily WHERE day >= ?1 AND day < ?2"
    ))
    .bind(from)
    .bind(to)
    .fetch(db);
    decode_each(rows, "reading roll-ups", |r| {
        let day: NaiveDate = r.try_get(0).map_err(query_error("reading roll-ups"))?;
        let (key, sums) = sums_row(r, 1)?;
        Ok((day, key, sums))
    })
    .await
}

async fn rolled_days<'e>(
    db: impl SqliteExecutor<'e>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, StoreError> {
    sqlx::query_scalar("SELECT day FROM rolled_days WHERE day >= ?1 AND day < ?2 ORDER BY day")
        .bind(from)
        .bind(to)
        .fetch_all(db)
        .await
        .map_err(query_error("reading rolled-up days"))
}

async fn pruned_before<'e>(db: impl SqliteExecutor<'e>) -> Result<Option<NaiveDate>, StoreError> {
    sqlx::query_scalar("SELECT raw_pruned_before FROM retention WHERE id = 1")
        .fetch_one(db)
        .await
        .map_err(query_error("reading the retention state"))
}

#[cfg(test)]
mod tests {
    use super::{ROWS_PER_STATEMENT, statement_chunks};

    #[test]
    fn statements_take_every_row_once_in_order_and_few_sizes() {
        let mut sizes = std::collections::BTreeSet::new();
        for n in [0, 1, 2, 3, 255, 256, 257, 500, 511, 1000, 20_001] {
            let rows: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = statement_chunks(&rows).collect();
            assert_eq!(chunks.concat(), rows, "{n} rows");
            for c in &chunks {
                assert!(c.len().is_power_of_two() && c.len() <= ROWS_PER_STATEMENT, "{n}: {c:?}");
                sizes.insert(c.len());
            }
        }
        assert!(sizes.len() <= 9, "{sizes:?}");
    }
}
