//! The one place vigia reads the time.
//!
//! Decision logic (scheduling, state, life cycle, indicators, reports) never reads a clock: it
//! is handed "now". The agent, the HTTP layer and the commands take it from a [`Clock`]; the
//! probes measure how long a round trip took with [`monotonic`]. `clippy.toml` bans the clock's
//! functions (`Utc::now`, `Local::now`, `SystemTime::now`, `Instant::now`) everywhere else.
#![allow(clippy::disallowed_methods)]

use chrono::{DateTime, NaiveDate, Utc};

/// Where timestamps come from: the wall clock, or (in simulations) a fixed start plus the tokio
/// clock, so paused time moves the timestamps too.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// `Utc::now()`.
    Wall,
    /// `start` plus the time elapsed on the tokio clock since `origin`.
    Simulated {
        /// Wall time at `origin`.
        start: DateTime<Utc>,
        /// The tokio instant `start` corresponds to.
        origin: tokio::time::Instant,
    },
}

impl Clock {
    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::Wall => Utc::now(),
            Clock::Simulated { start, origin } => {
                *start + chrono::Duration::from_std(origin.elapsed()).unwrap_or_default()
            }
        }
    }

    /// Today's date (UTC), for the inventory's retired/active checks.
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// Today's date in this machine's time zone (what a person at it calls today).
    pub fn local_today(&self) -> NaiveDate {
        match self {
            Clock::Wall => chrono::Local::now().date_naive(),
            Clock::Simulated { .. } => self.today(),
        }
    }

    /// The tokio clock's now, for the scheduler and the agent's timers (tokio's, so that paused
    /// time moves it in tests).
    pub fn instant(&self) -> tokio::time::Instant {
        monotonic()
    }
}

/// A monotonic instant, to measure how long something took (a probe, a command); never a date.
/// The tokio clock's, which is the system's unless a test paused it.
pub fn monotonic() -> tokio::time::Instant {
    tokio::time::Instant::now()
}
