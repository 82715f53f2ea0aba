//! What the console reads from the history beyond the reports: a page of events filtered by
//! site, device, kind and time, and one device's poll series over a window, downsampled on the
//! server when the window holds more polls than a chart shows. Both backends answer the same.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::history::{EventKind, EventRecord};
use crate::inventory::{DeviceId, SiteId};

/// Which events to read: a half-open time range and optional exact matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    /// Start (included).
    pub from: DateTime<Utc>,
    /// End (excluded).
    pub to: DateTime<Utc>,
    /// Only events of this site.
    pub site: Option<SiteId>,
    /// Only events of this device.
    pub device: Option<DeviceId>,
    /// Only events of this kind.
    pub kind: Option<EventKind>,
}

/// One page of events, newest first, and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    /// The events of the page, newest first (ties: the last stored first).
    pub events: Vec<EventRecord>,
    /// Events matching the filter, over every page.
    pub total: u64,
}

/// One point of a poll series: one poll, or every poll of one bucket of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    /// The poll's time, or the time of the bucket's first poll.
    pub at: DateTime<Utc>,
    /// Polls behind the point (1 when not downsampled).
    pub polls: u64,
    /// Of which successful.
    pub successes: u64,
    /// ICMP echoes sent.
    pub sent: u64,
    /// ICMP replies received.
    pub received: u64,
    /// Mean of the successful polls' mean RTTs, seconds; `None` when none succeeded.
    pub rtt_avg_s: Option<f64>,
}

impl SeriesPoint {
    /// Share of echoes lost, `None` without echoes (SNMP).
    pub fn loss(&self) -> Option<f64> {
        (self.sent > 0).then(|| 1.0 - self.received as f64 / self.sent as f64)
    }
}

/// A device's polls of one probe over one family in `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PollSeries {
    /// Start (included).
    pub from: DateTime<Utc>,
    /// End (excluded).
    pub to: DateTime<Utc>,
    /// Raw polls stored in the window.
    pub stored: u64,
    /// `None`: one point per stored poll. `Some(width)`: the window held more polls than
    /// asked for, and each point sums the polls of one bucket of this width.
    pub bucket: Option<Duration>,
    /// The points, oldest first.
    pub points: Vec<SeriesPoint>,
}

impl PollSeries {
    /// Polls and successes over the whole window, summed from the points.
    pub fn totals(&self) -> (u64, u64) {
        self.points.iter().fold((0, 0), |(p, s), x| (p + x.polls, s + x.successes))
    }

    /// successes / polls over the window, `None` without polls.
    pub fn availability(&self) -> Option<f64> {
        let (polls, ok) = self.totals();
        (polls > 0).then(|| ok as f64 / polls as f64)
    }
}

/// The bucket width, in microseconds, that splits `[from, to)` into at most `max_points`
/// buckets (at least one microsecond).
pub(crate) fn bucket_micros(from: DateTime<Utc>, to: DateTime<Utc>, max_points: u32) -> i64 {
    let span = (to - from).num_microseconds().unwrap_or(i64::MAX).max(1);
    let n = i64::from(max_points.max(1));
    (span + n - 1) / n
}

/// A raw figure read back as a count (never negative in a well-formed database).
pub(crate) fn count_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn buckets_cover_the_window_in_at_most_the_points_asked() {
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let to = from + chrono::TimeDelta::days(1);
        let b = bucket_micros(from, to, 500);
        assert_eq!(b, 172_800_000);
        assert!((to - from).num_microseconds().unwrap() / b <= 500);
        assert_eq!(bucket_micros(from, from, 10), 1);
        assert_eq!(bucket_micros(from, to, 0), 86_400_000_000);
    }

    #[test]
    fn loss_and_availability_from_points() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let p = |polls, successes, sent, received| SeriesPoint {
            at,
            polls,
            successes,
            sent,
            received,
            rtt_avg_s: None,
        };
        assert_eq!(p(1, 1, 4, 3).loss(), Some(0.25));
        assert_eq!(p(1, 1, 0, 0).loss(), None);
        let s = PollSeries {
            from: at,
            to: at,
            stored: 4,
            bucket: None,
            points: vec![p(3, 2, 0, 0), p(1, 1, 0, 0)],
        };
        assert_eq!(s.availability(), Some(0.75));
    }
}

/// The statements of the console's reads, in one dialect.
#[derive(Debug)]
pub(crate) struct ConsoleSql {
    /// A page of events: (from, to, site, device, kind, limit, offset).
    pub events_page: String,
    /// How many events match: (from, to, site, device, kind).
    pub events_count: String,
    /// How many polls a series window holds: (device, from, to, family, probe).
    pub series_count: String,
    /// Every poll of a series window, oldest first: (device, from, to, family, probe).
    pub series_raw: String,
    /// The polls of a series window summed per bucket: (device, from, to, family, probe,
    /// bucket width in microseconds).
    pub series_buckets: String,
}

impl ConsoleSql {
    pub(crate) fn new(dialect: super::columns::Dialect) -> ConsoleSql {
        use super::columns::Dialect;
        let pg = dialect == Dialect::Postgres;
        let p = |n: u8| if pg { format!("${n}") } else { format!("?{n}") };
        // `$3::text IS NULL`: PostgreSQL must know a parameter's type to test it for NULL.
        let text = |n: u8| if pg { format!("${n}::text") } else { format!("?{n}") };
        let events_where = format!(
            " FROM events WHERE at >= {} AND at < {} AND ({} IS NULL OR site = {}) \
             AND ({} IS NULL OR device = {}) AND ({} IS NULL OR kind = {})",
            p(1),
            p(2),
            text(3),
            p(3),
            text(4),
            p(4),
            text(5),
            p(5)
        );
        let columns = super::codec::EventRow::columns().join(", ");
        let series_where = format!(
            " FROM polls WHERE device = {} AND at >= {} AND at < {} AND family = {} \
             AND probe = {}",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5)
        );
        let (bucket, successes, sums, avg) = if pg {
            (
                "(EXTRACT(EPOCH FROM (at - $2)) * 1000000)::bigint / $6",
                "count(*) FILTER (WHERE success)",
                "coalesce(sum(sent), 0)::bigint, coalesce(sum(received), 0)::bigint",
                "(avg(rtt_avg_us) FILTER (WHERE success))::float8",
            )
        } else {
            (
                "(at - ?2) / ?6",
                "sum(success)",
                "coalesce(sum(sent), 0), coalesce(sum(received), 0)",
                "avg(CASE WHEN success THEN rtt_avg_us END)",
            )
        };
        let raw_counts = if pg {
            "1::int8, success::int4::int8, coalesce(sent, 0)::int8, coalesce(received, 0)::int8"
        } else {
            "1, success, coalesce(sent, 0), coalesce(received, 0)"
        };
        let rtt = if pg {
            "(CASE WHEN success THEN rtt_avg_us END)::float8"
        } else {
            "CAST(CASE WHEN success THEN rtt_avg_us END AS REAL)"
        };
        ConsoleSql {
            events_page: format!(
                "SELECT {columns}{events_where} ORDER BY at DESC, id DESC LIMIT {} OFFSET {}",
                p(6),
                p(7)
            ),
            events_count: format!("SELECT count(*){events_where}"),
            series_count: format!("SELECT count(*){series_where}"),
            series_raw: format!("SELECT at, {raw_counts}, {rtt}{series_where} ORDER BY at"),
            series_buckets: format!(
                "SELECT min(at), count(*), {successes}, {sums}, {avg}{series_where} \
                 GROUP BY {bucket} ORDER BY min(at)"
            ),
        }
    }
}
