//! The stored rows' columns, each listed once. [`stored_row!`] declares a row struct and its
//! columns together; its column names, the SQL both backends build from them, their binders and
//! their decoders (by column name, never by position) all follow from that one list.
//!
//! The first column of every such row is `at`: SQLite keeps it as microseconds since the Unix
//! epoch, PostgreSQL as `timestamptz`; every other column has the same Rust type in both.

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
                use sqlx::Row;
                let get = $crate::store::query_error($action);
                let at = r.try_get("at").map_err(get)?;
                Ok($name {
                    at: $crate::store::codec::from_micros($table, "at", at)?,
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

            /// Decodes a PostgreSQL row by column name.
            pub(crate) fn from_pg(
                r: &sqlx::postgres::PgRow,
            ) -> Result<$name, $crate::store::StoreError> {
                use sqlx::Row;
                let get = $crate::store::query_error($action);
                Ok($name {
                    at: r.try_get("at").map_err(get)?,
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

/// `INSERT INTO table (columns) `, to be followed by the values.
pub(crate) fn insert(table: &str, columns: &[&str]) -> String {
    format!("INSERT INTO {table} ({}) ", columns.join(", "))
}

/// `SELECT columns FROM table`, to be followed by the conditions.
pub(crate) fn select(table: &str, columns: &[&str]) -> String {
    format!("SELECT {} FROM {table}", columns.join(", "))
}

/// PostgreSQL: every row of a batch from one array parameter per column, so one statement (the
/// same text whatever the batch size, prepared once) takes any number of rows.
pub(crate) fn unnest(types: &[&str]) -> String {
    let arrays: Vec<String> =
        types.iter().enumerate().map(|(i, t)| format!("${}::{t}[]", i + 1)).collect();
    format!("SELECT * FROM UNNEST({})", arrays.join(", "))
}

/// Keeps `table` at the latest row per `key`, whichever agent wrote it: every other column is
/// replaced by a newer row's (SQL shared by both backends).
pub(crate) fn upsert_latest(table: &str, key: &[&str], columns: &[&str]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
