//! Which log lines the binaries print: `RUST_LOG`, as every tracing program reads it, or
//! `VIGIA_LOG` (the older name, kept as an alias, and preferred when both are set), with the
//! same syntax (`info`, `debug`, `vigia::probe::snmp=trace,info`); `info` when neither is set.

use tracing_subscriber::EnvFilter;

/// The variables read, first found wins.
pub const VARIABLES: [&str; 2] = ["VIGIA_LOG", "RUST_LOG"];

/// The filter the environment asks for, and a warning to print when it asks for something
/// that does not parse (the filter is then `info`).
pub fn filter() -> (EnvFilter, Option<String>) {
    filter_from(|name| std::env::var(name).ok())
}

fn filter_from(var: impl Fn(&str) -> Option<String>) -> (EnvFilter, Option<String>) {
    for name in VARIABLES {
        let Some(value) = var(name).filter(|v| !v.trim().is_empty()) else { continue };
        return match EnvFilter::try_new(&value) {
            Ok(filter) => (filter, None),
            Err(e) => (EnvFilter::new("info"), Some(format!("{name}={value:?} ignored: {e}"))),
        };
    }
    (EnvFilter::new("info"), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_is_read_and_vigia_log_wins_when_both_are_set() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let (f, warning) = filter_from(env(&[("RUST_LOG", "debug")]));
        assert_eq!((f.to_string(), warning), ("debug".to_owned(), None));
        let (f, _) = filter_from(env(&[("RUST_LOG", "debug"), ("VIGIA_LOG", "warn")]));
        assert_eq!(f.to_string(), "warn");
        let (f, _) = filter_from(env(&[]));
        assert_eq!(f.to_string(), "info");
        let (f, warning) = filter_from(env(&[("RUST_LOG", "vigia=loud")]));
        assert_eq!(f.to_string(), "info");
        assert!(warning.is_some_and(|w| w.starts_with("RUST_LOG=\"vigia=loud\" ignored")));
    }
}
