//! The `--db` URL: which backend it names, and how to show it without its password.

use std::fmt;
use std::str::FromStr;

use super::StoreError;

/// The default database: an SQLite file in the working directory.
pub const DEFAULT_URL: &str = "sqlite://vigia.db";

/// The environment variable the `--db` option reads (it may hold a password: hide its value in
/// `--help`).
pub const URL_ENV: &str = "VIGIA_DB";

/// The two backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded: one agent, one file.
    Sqlite,
    /// PostgreSQL: several agents, long history.
    Postgres,
}

impl Backend {
    /// Its name, for logs and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database URL whose scheme names a backend. `Display` and `Debug` hide any password, so it
/// can be logged; [`DbUrl::expose`] gives the full URL to connect with.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    backend: Backend,
    url: String,
}

impl DbUrl {
    /// Checks the scheme (`sqlite:`, `postgres://`, `postgresql://`). Fit for clap's
    /// `value_parser`.
    pub fn parse(url: &str) -> Result<DbUrl, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnknownScheme { url: redact(url) });
        };
        Ok(DbUrl { backend, url: url.to_owned() })
    }

    /// The backend the scheme names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The full URL, password included: only to hand to the driver.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.url)
    }

    /// True for an SQLite database that lives in memory only.
    pub(crate) fn is_sqlite_memory(&self) -> bool {
        self.backend == Backend::Sqlite
            && (self.url.contains(":memory:") || self.url.contains("mode=memory"))
    }
}

impl FromStr for DbUrl {
    type Err = StoreError;

    fn from_str(url: &str) -> Result<DbUrl, StoreError> {
        DbUrl::parse(url)
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({})", self.redacted())
    }
}

/// `url` with the password of its user information and any `password=` parameter replaced by
/// `***`. Works on text that is not a valid URL too: it never fails and never reveals more.
pub(crate) fn redact(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match head.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            out.push_str(scheme);
            out.push_str("://");
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(head),
    }
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords_and_keeps_the_rest() {
        let cases = [
            ("sqlite://vigia.db", "sqlite://vigia.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("postgres://vigia@db.example/vigia", "postgres://vigia@db.example/vigia"),
            (
                "postgres://vigia:s3cr:et@db.example:5432/vigia",
                "postgres://vigia:***@db.example:5432/vigia",
            ),
            (
                "postgresql://vigia:p%40ss@h/d?sslmode=require",
                "postgresql://vigia:***@h/d?sslmode=require",
            ),
            (
                "postgres://h/d?user=v&password=s3cret&port=1",
                "postgres://h/d?user=v&password=***&port=1",
            ),
            ("postgres://u:pw@host", "postgres://u:***@host"),
            ("u:pw@host/x", "u:pw@host/x"),
        ];
        for (url, want) in cases {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn parse_names_the_backend_or_says_which_schemes_exist() {
        assert_eq!(DbUrl::parse(DEFAULT_URL).unwrap().backend(), Backend::Sqlite);
        assert_eq!(DbUrl::parse("sqlite::memory:").unwrap().backend(), Backend::Sqlite);
        assert!(DbUrl::parse("sqlite::memory:").unwrap().is_sqlite_memory());
        assert_eq!(DbUrl::parse("postgresql://h/d").unwrap().backend(), Backend::Postgres);
        let err = DbUrl::parse("mysql://root:hunter2@h/d").unwrap_err().to_string();
        assert!(err.contains("unknown scheme"), "{err}");
        assert!(err.contains("sqlite://") && err.contains("postgres://"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn display_and_debug_hide_the_password() {
        let url = DbUrl::parse("postgres://vigia:hunter2@h/d").unwrap();
        assert_eq!(url.to_string(), "postgres://vigia:***@h/d");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "postgres://vigia:hunter2@h/d");
    }
}
