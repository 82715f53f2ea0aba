//! Maintenance windows: planned work declared in the inventory, during which outages of what a
//! window covers are neither alerted nor counted as downtime.
//!
//! A window has a scope (a device, a site or everything), a time (once, from a start to an end,
//! or weekly or monthly between two times of day) read in a time zone, and a reason. Local
//! times are turned into instants here, with the IANA database compiled in (`chrono-tz`): a
//! local time that a daylight-saving change skips is moved to the first instant after the gap,
//! an ambiguous one takes its earlier instant. (America/Lima, the default, has no such change.)

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

use super::id::{DeviceId, SiteId};
use super::model::Device;

/// The time zone of an inventory that names none (`defaults.time_zone`).
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::America::Lima;

/// What a window covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaintenanceScope {
    /// Every device and site.
    All,
    /// One site: its devices and its link.
    Site(SiteId),
    /// One device.
    Device(DeviceId),
}

impl MaintenanceScope {
    /// `all`, `site` or `device` (the `scope` label of the metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            MaintenanceScope::All => "all",
            MaintenanceScope::Site(_) => "site",
            MaintenanceScope::Device(_) => "device",
        }
    }

    /// The site or device id, empty for `all`.
    pub fn target(&self) -> &str {
        match self {
            MaintenanceScope::All => "",
            MaintenanceScope::Site(s) => s,
            MaintenanceScope::Device(d) => d,
        }
    }

    /// Whether the scope covers `device` (itself, its site, or everything).
    pub fn covers_device(&self, device: &Device) -> bool {
        match self {
            MaintenanceScope::All => true,
            MaintenanceScope::Site(s) => *s == device.site,
            MaintenanceScope::Device(d) => *d == device.id,
        }
    }

    /// Whether the scope covers the site `site` as a whole (its link): the site or everything.
    pub fn covers_site(&self, site: &str) -> bool {
        match self {
            MaintenanceScope::All => true,
            MaintenanceScope::Site(s) => s == site,
            MaintenanceScope::Device(_) => false,
        }
    }
}

/// When a window happens, in its time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenanceTime {
    /// Once, from `start` to `end` (local, `end` after `start`).
    Once {
        /// First local instant inside.
        start: NaiveDateTime,
        /// First local instant after.
        end: NaiveDateTime,
    },
    /// Every week on `day`, from `start` to `end` (an `end` at or before `start` is the next
    /// day).
    Weekly {
        /// The weekday it starts on.
        day: Weekday,
        /// Start time of day.
        start: NaiveTime,
        /// End time of day.
        end: NaiveTime,
    },
    /// Every month on day `day` (1-31; a month without that day has no occurrence), from
    /// `start` to `end` (an `end` at or before `start` is the next day).
    Monthly {
        /// Day of the month it starts on.
        day: u32,
        /// Start time of day.
        start: NaiveTime,
        /// End time of day.
        end: NaiveTime,
    },
}

/// A maintenance window of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// `[a-z0-9-]+`, unique: the `window` label of the metrics and what events carry.
    pub id: String,
    /// What it covers.
    pub scope: MaintenanceScope,
    /// When.
    pub time: MaintenanceTime,
    /// The time zone its times are read in.
    pub time_zone: Tz,
    /// Why (printed in reports and the console).
    pub reason: String,
}

/// A half-open span of instants `[start, end)`.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

impl MaintenanceWindow {
    /// Every occurrence that overlaps `[from, to)`, as instants, in order (not clipped).
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Span> {
        let mut out = Vec::new();
        if from >= to {
            return out;
        }
        let tz = self.time_zone;
        let instant = |t: NaiveDateTime| local_instant(tz, t);
        match self.time {
            MaintenanceTime::Once { start, end } => {
                let span = (instant(start), instant(end));
                if span.0 < to && span.1 > from {
                    out.push(span);
                }
            }
            MaintenanceTime::Weekly { start, end, .. }
            | MaintenanceTime::Monthly { start, end, .. } => {
                // Local days from the day before `from` (an occurrence may run past midnight)
                // to the day of `to`.
                let first = from.with_timezone(&tz).date_naive() - Days::new(1);
                let last = to.with_timezone(&tz).date_naive();
                let mut day = first;
                while day <= last {
                    if self.starts_on(day) {
                        let end_day = if end <= start { day + Days::new(1) } else { day };
                        let span = (instant(day.and_time(start)), instant(end_day.and_time(end)));
                        if span.0 < to && span.1 > from {
                            out.push(span);
                        }
                    }
                    day = day + Days::new(1);
                }
            }
        }
        out
    }

    /// Whether an occurrence of a recurring window starts on local day `day`.
    fn starts_on(&self, day: NaiveDate) -> bool {
        match self.time {
            MaintenanceTime::Once { .. } => false,
            MaintenanceTime::Weekly { day: d, .. } => day.weekday() == d,
            MaintenanceTime::Monthly { day: d, .. } => day.day() == d,
        }
    }

    /// Whether the window is in force at `at`.
    pub fn active_at(&self, at: DateTime<Utc>) -> bool {
        !self.occurrences(at, at + chrono::TimeDelta::microseconds(1)).is_empty()
    }

    /// How the window's time reads, for reports: `2026-11-14 22:00 - 2026-11-15 02:00`,
    /// `weekly sunday 02:00-04:00`, `monthly 1 22:00-02:00`, with the time zone.
    pub fn describe(&self) -> String {
        let tz = self.time_zone.name();
        match self.time {
            MaintenanceTime::Once { start, end } => {
                format!(
                    "{} - {} ({tz})",
                    start.format("%Y-%m-%d %H:%M"),
                    end.format("%Y-%m-%d %H:%M")
                )
            }
            MaintenanceTime::Weekly { day, start, end } => format!(
                "weekly {} {}-{} ({tz})",
                weekday_name(day),
                start.format("%H:%M"),
                end.format("%H:%M")
            ),
            MaintenanceTime::Monthly { day, start, end } => {
                format!("monthly {day} {}-{} ({tz})", start.format("%H:%M"), end.format("%H:%M"))
            }
        }
    }
}

/// The instant of local time `t` in `tz`: the earlier of two, or the first after a gap.
pub fn local_instant(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(d) => d.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            // Inside a skipped hour: step forward a minute at a time (gaps are at most hours).
            let mut probe = t;
            for _ in 0..(26 * 60) {
                probe += chrono::TimeDelta::minutes(1);
                if let LocalResult::Single(d) | LocalResult::Ambiguous(d, _) =
                    tz.from_local_datetime(&probe)
                {
                    return d.with_timezone(&Utc);
                }
            }
            t.and_utc()
        }
    }
}

/// The weekday as the inventory spells it.
pub fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAYS.iter().find(|(_, d)| *d == day).map_or("monday", |(n, _)| n)
}

/// Weekday spellings of the inventory.
pub const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

/// Merge overlapping or touching spans; the result is sorted and disjoint.
pub fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.0 <= last.1 => last.1 = last.1.max(s.1),
            _ => out.push(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn hm(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    fn window(time: MaintenanceTime) -> MaintenanceWindow {
        MaintenanceWindow {
            id: "w".into(),
            scope: MaintenanceScope::All,
            time,
            time_zone: DEFAULT_TIME_ZONE,
            reason: "r".into(),
        }
    }

    #[test]
    fn lima_is_five_hours_behind_utc_all_year() {
        let once = window(MaintenanceTime::Once {
            start: "2026-11-14T22:00:00".parse().unwrap(),
            end: "2026-11-15T02:00:00".parse().unwrap(),
        });
        let occ = once.occurrences(at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"));
        assert_eq!(occ, vec![(at("2026-11-15T03:00:00Z"), at("2026-11-15T07:00:00Z"))]);
        assert!(once.active_at(at("2026-11-15T03:00:00Z")));
        assert!(!once.active_at(at("2026-11-15T07:00:00Z")), "the end is excluded");
        assert!(!once.active_at(at("2026-11-15T02:59:59Z")));
    }

    #[test]
    fn weekly_windows_run_past_midnight_and_overlap_the_range_edges() {
        // Sundays 23:00-01:00 Lima = Monday 04:00-06:00 UTC.
        let w = window(MaintenanceTime::Weekly {
            day: Weekday::Sun,
            start: hm("23:00"),
            end: hm("01:00"),
        });
        // November 2026: Sundays 1, 8, 15, 22, 29. The range starts inside the occurrence of
        // Sunday 1 November? No: that one is 2 Nov 04:00-06:00 UTC; a range from 05:00 cuts it.
        let occ = w.occurrences(at("2026-11-02T05:00:00Z"), at("2026-11-16T00:00:00Z"));
        assert_eq!(
            occ,
            vec![
                (at("2026-11-02T04:00:00Z"), at("2026-11-02T06:00:00Z")),
                (at("2026-11-09T04:00:00Z"), at("2026-11-09T06:00:00Z")),
            ]
        );
    }

    #[test]
    fn monthly_windows_skip_months_without_the_day() {
        let w = window(MaintenanceTime::Monthly { day: 31, start: hm("02:00"), end: hm("03:00") });
        let occ = w.occurrences(at("2026-10-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
        // 31 October and 31 December; November has no 31st.
        assert_eq!(
            occ,
            vec![
                (at("2026-10-31T07:00:00Z"), at("2026-10-31T08:00:00Z")),
                (at("2026-12-31T07:00:00Z"), at("2026-12-31T08:00:00Z")),
            ]
        );
    }

    #[test]
    fn a_skipped_local_hour_moves_forward() {
        // Santiago de Chile springs forward at 24:00 on 2026-09-06 (00:00 does not exist).
        let tz: Tz = "America/Santiago".parse().unwrap();
        let t: NaiveDateTime = "2026-09-06T00:30:00".parse().unwrap();
        let i = local_instant(tz, t);
        assert_eq!(i.with_timezone(&tz).format("%H:%M").to_string(), "01:00");
    }

    #[test]
    fn spans_merge() {
        let s = |a: &str, b: &str| (at(a), at(b));
        assert_eq!(
            merge(vec![
                s("2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"),
                s("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"),
                s("2026-01-01T01:00:00Z", "2026-01-01T01:30:00Z"),
            ]),
            vec![
                s("2026-01-01T00:00:00Z", "2026-01-01T01:30:00Z"),
                s("2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"),
            ]
        );
    }
}
