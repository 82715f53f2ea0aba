//! The stored rows' columns, each listed once. [`stored_row!`] declares a row struct and its
//! columns together; its column names, the SQL both backends build from them, their binders and
//! their decoders (by column name, never by position) all follow from that one list.
//!
//! The first column of every such row is `at`: SQLite keeps it as microseconds since the Unix
//! epoch, PostgreSQL as `timestamptz`; every other column has the same Rust type in both.

use super::codec::{EventRow, FACT_KEY, FactRow, InterfaceRow, LATEST_KEY, PollRow};

/// Declares a stored row. Each field is `name: Type = "pg_array_element_type"`; an optional
/// last entry `[name: Type = "pg_type"; N] named ITER` adds N columns of one type, named by
/// `ITER` (the interface counters). Generates the struct (with `at` first), `columns()`,
/// `pg_types()`, SQLite and PostgreSQL binders, and decoders by column name.
macro_rules! stored_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:literal, $action:literal {
            $( $field:ident : $ty:ty = $pg:literal, )+
            $( [$extra:ident : $ety:ty = $epg:literal; $n:expr] named $names:expr, )?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            pub at: chrono::DateTime<chrono::Utc>,
            $( pub $field: $ty, )+
            $( pub $extra: [$ety; $n], )?
        }

        impl $name {
            /// The columns, in bind order.
            pub(crate) fn columns() -> Vec<&'static str> {
                #[allow(unused_mut)]
                let mut c = vec!["at", $(stringify!($field)),+];
                $( c.extend($names); )?
                c
            }

            /// PostgreSQL's type of each column, in bind order (for `UNNEST` of arrays).
            pub(crate) fn pg_types() -> Vec<&'static str> {
                #[allow(unused_mut)]
                let mut t = vec!["timestamptz", $($pg),+];
                $( t.extend(std::iter::repeat_n($epg, $n)); )?
                t
            }

            /// Binds one row's values to an SQLite `VALUES` tuple.
            pub(crate) fn bind_sqlite(
                &self,
                mut b: sqlx::query_builder::Separated<'_, sqlx::Sqlite, &'static str>,
            ) {
                b.push_bind($crate::store::codec::micros(self.at));
                $( b.push_bind(self.$field.clone()); )+
                $( for v in &self.$extra { b.push_bind(v.clone()); } )?
            }

            /// Binds every column of `rows` as one PostgreSQL array each (see [`pg_types`]).
            pub(crate) fn bind_pg<'q>(
                q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
                rows: &[&$name],
            ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
                let q = q.bind(rows.iter().map(|r| r.at).collect::<Vec<_>>());
                $( let q = q.bind(rows.iter().map(|r| r.$field.clone()).collect::<Vec<_>>()); )+
                $(
                    let mut q = q;
                    for i in 0..$n {
                        q = q.bind(rows.iter().map(|r| r.$extra[i].clone()).collect::<Vec<_>>());
                    }
                )?
                q
            }

            /// Decodes an SQLite row by column name.
            pub(crate) fn from_sqlite(
                r: &sqlx::sqlite::SqliteRow,
            ) -> Result<$name, $crate::store::StoreError> {
                let us = sqlx::Row::try_get(r, "at").map_err($crate::store::query_error($action))?;
                Self::read_columns(r, $crate::store::codec::from_micros($table, "at", us)?)
            }

            /// Decodes a PostgreSQL row by column name.
            pub(crate) fn from_pg(
                r: &sqlx::postgres::PgRow,
            ) -> Result<$name, $crate::store::StoreError> {
                let at = sqlx::Row::try_get(r, "at").map_err($crate::store::query_error($action))?;
                Self::read_columns(r, at)
            }

            /// The columns after `at`, by name, in either backend.
            fn read_columns<R>(
                r: &R,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<$name, $crate::store::StoreError>
            where
                R: sqlx::Row,
                for<'c> &'c str: sqlx::ColumnIndex<R>,
                $( $ty: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>, )+
                $( $ety: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>, )?
            {
                let get = $crate::store::query_error($action);
                Ok($name {
                    at,
                    $( $field: r.try_get(stringify!($field)).map_err(get)?, )+
                    $( $extra: {
                        let mut values: [$ety; $n] = Default::default();
                        for (v, column) in values.iter_mut().zip($names) {
                            *v = r.try_get(column).map_err(get)?;
                        }
                        values
                    }, )?
                })
            }
        }
    };
}
pub(crate) use stored_row;

/// The SQL dialect a statement is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `?1` placeholders; rows as `VALUES` tuples pushed after the `INSERT`.
    Sqlite,
    /// `$1` placeholders; rows as one array per column (`UNNEST`), so one statement (the same
    /// text whatever the batch size, prepared once) takes any number of rows.
    Postgres,
}

/// The statements on the stored rows, built once per backend from their column lists.
#[derive(Debug)]
pub(crate) struct Statements {
    /// Insert polls (SQLite: the values follow).
    pub insert_polls: String,
    /// Insert into `latest_polls` (SQLite: the values and then [`Statements::upsert_latest`]
    /// follow; PostgreSQL: the whole statement).
    pub insert_latest: String,
    /// What keeps `latest_polls` at the latest row per key.
    pub upsert_latest: String,
    /// Every latest poll.
    pub select_latest: String,
    /// A device's polls in a time range (device, from, to).
    pub select_polls: String,
    /// Insert interface samples (SQLite: the values follow).
    pub insert_interfaces: String,
    /// A device's interface samples in a time range (device, from, to).
    pub select_interfaces: String,
    /// Insert events (SQLite: the values follow).
    pub insert_events: String,
    /// Events in a time range (from, to).
    pub select_events: String,
    /// Insert runs of device facts (SQLite: the values and then [`Statements::upsert_facts`]
    /// follow; PostgreSQL: the whole statement).
    pub insert_facts: String,
    /// What keeps a run's last sighting the latest one, whichever agent wrote it.
    pub upsert_facts: String,
    /// Every run of every device fact, by device, fact and first sighting.
    pub select_facts: String,
}

impl Statements {
    /// The statements in `dialect`.
    pub(crate) fn new(dialect: Dialect) -> Statements {
        let p = |n: u8| match dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        };
        let values = |types: Vec<&str>| match dialect {
            Dialect::Sqlite => String::new(),
            Dialect::Postgres => unnest(&types),
        };
        let device_range = format!(" WHERE device = {} AND at >= {} AND at < {}", p(1), p(2), p(3));
        let polls = PollRow::columns();
        let upsert_latest = upsert_latest("latest_polls", &LATEST_KEY, &polls);
        let mut insert_latest = insert("latest_polls", &polls);
        if dialect == Dialect::Postgres {
            insert_latest += &(unnest(&PollRow::pg_types()) + &upsert_latest);
        }
        let interfaces = InterfaceRow::columns();
        let events = EventRow::columns();
        let facts = FactRow::columns();
        let upsert_facts = upsert_run("device_facts", &FACT_KEY, &["last_at", "agent", "family"]);
        let mut insert_facts = insert("device_facts", &facts);
        if dialect == Dialect::Postgres {
            insert_facts += &(unnest(&FactRow::pg_types()) + &upsert_facts);
        }
        Statements {
            insert_polls: insert("polls", &polls) + &values(PollRow::pg_types()),
            insert_latest,
            upsert_latest,
            select_latest: select("latest_polls", &polls),
            select_polls: select("polls", &polls)
                + &device_range
                + " ORDER BY at, family, probe, agent",
            insert_interfaces: insert("interfaces", &interfaces)
                + &values(InterfaceRow::pg_types()),
            select_interfaces: select("interfaces", &interfaces)
                + &device_range
                + " ORDER BY at, if_index, agent",
            insert_events: insert("events", &events) + &values(EventRow::pg_types()),
            select_events: select("events", &events)
                + &format!(" WHERE at >= {} AND at < {} ORDER BY at, id", p(1), p(2)),
            insert_facts,
            upsert_facts,
            select_facts: select("device_facts", &facts) + " ORDER BY device, fact, at",
        }
    }
}

/// `INSERT INTO table (columns) `, to be followed by the values.
fn insert(table: &str, columns: &[&str]) -> String {
    format!("INSERT INTO {table} ({}) ", columns.join(", "))
}

/// `SELECT columns FROM table`, to be followed by the conditions.
fn select(table: &str, columns: &[&str]) -> String {
    format!("SELECT {} FROM {table}", columns.join(", "))
}

/// PostgreSQL: every row of a batch from one array parameter per column.
fn unnest(types: &[&str]) -> String {
    let arrays: Vec<String> =
        types.iter().enumerate().map(|(i, t)| format!("${}::{t}[]", i + 1)).collect();
    format!("SELECT * FROM UNNEST({})", arrays.join(", "))
}

/// Keeps `table` at the latest row per `key`, whichever agent wrote it: every other column is
/// replaced by a newer row's (SQL shared by both backends).
fn upsert_latest(table: &str, key: &[&str], columns: &[&str]) -> String {
    let set: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        " ON CONFLICT ({}) DO UPDATE SET {} WHERE excluded.at > {table}.at",
        key.join(", "),
        set.join(", ")
    )
}

/// Keeps a run's `last` columns those of its latest sighting: a newer row replaces them.
fn upsert_run(table: &str, key: &[&str], last: &[&str]) -> String {
    let set: Vec<String> = last.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    format!(
        " ON CONFLICT ({}) DO UPDATE SET {} WHERE excluded.last_at > {table}.last_at",
        key.join(", "),
        set.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_name_the_same_columns_in_the_same_order() {
        let (lite, pg) = (Statements::new(Dialect::Sqlite), Statements::new(Dialect::Postgres));
        assert!(pg.insert_interfaces.starts_with(&lite.insert_interfaces));
        assert!(pg.insert_interfaces.contains("$1::timestamptz[]"));
        assert_eq!(lite.select_latest, pg.select_latest);
        assert_eq!(
            lite.select_events.replace('?', "$"),
            pg.select_events,
            "only the placeholders differ"
        );
        assert!(pg.insert_latest.ends_with(&lite.upsert_latest));
        assert_eq!(PollRow::columns().len(), PollRow::pg_types().len());
        assert_eq!(InterfaceRow::columns().len(), InterfaceRow::pg_types().len());
        assert_eq!(FactRow::columns().len(), FactRow::pg_types().len());
        assert!(pg.insert_facts.ends_with(&lite.upsert_facts));
        assert_eq!(lite.select_facts, pg.select_facts);
    }

    #[test]
    fn statements_by_hand() {
        assert_eq!(insert("t", &["at", "a"]), "INSERT INTO t (at, a) ");
        assert_eq!(select("t", &["at", "a"]), "SELECT at, a FROM t");
        assert_eq!(
            unnest(&["timestamptz", "int4"]),
            "SELECT * FROM UNNEST($1::timestamptz[], $2::int4[])"
        );
        assert_eq!(
            upsert_latest("l", &["k"], &["at", "k", "v"]),
            " ON CONFLICT (k) DO UPDATE SET at = excluded.at, v = excluded.v \
             WHERE excluded.at > l.at"
        );
        assert_eq!(
            upsert_run("f", &["k", "at"], &["last_at"]),
            " ON CONFLICT (k, at) DO UPDATE SET last_at = excluded.last_at \
             WHERE excluded.last_at > f.last_at"
        );
    }
}
