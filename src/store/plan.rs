//! Availability over a range, the same for both backends: which parts come from roll-ups and
//! which from raw rows, and how the pieces add up. Everything is summed as integers (RTTs in
//! microseconds), so a day gives the same figures from its roll-up as from its raw rows.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

use super::StoreError;
use super::codec::{self, Id, Names};
use crate::history::{Availability, DailyRollup};

/// A part of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Roll-up rows of the days `[from, to)`.
    Rollup {
        /// First day.
        from: NaiveDate,
        /// Day after the last.
        to: NaiveDate,
    },
    /// Raw rows in `[from, to)`.
    Raw {
        /// Start.
        from: DateTime<Utc>,
        /// End (excluded).
        to: DateTime<Utc>,
    },
}

/// The first midnight at or after `t`.
fn ceil_day(t: DateTime<Utc>) -> NaiveDate {
    let day = t.date_naive();
    if codec::day_start(day) == t { day } else { day + Days::new(1) }
}

/// Splits `[from, to)` into pieces: every whole day that is in `rolled` from its roll-up, every
/// other part from raw rows; neighbouring pieces of one kind are merged.
pub(crate) fn plan(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    rolled: &BTreeSet<NaiveDate>,
) -> Vec<Piece> {
    let mut pieces = Vec::new();
    if from >= to {
        return pieces;
    }
    let mut push = |p: Piece| match (pieces.last_mut(), p) {
        (Some(Piece::Raw { to: end, .. }), Piece::Raw { from: start, to: new_end })
            if *end == start =>
        {
            *end = new_end;
        }
        (Some(Piece::Rollup { to: end, .. }), Piece::Rollup { from: start, to: new_end })
            if *end == start =>
        {
            *end = new_end;
        }
        _ => pieces.push(p),
    };
    let first = ceil_day(from);
    let end = to.date_naive(); // whole days end at the midnight at or before `to`
    if first >= end {
        push(Piece::Raw { from, to });
        return pieces;
    }
    let first_start = codec::day_start(first);
    if from < first_start {
        push(Piece::Raw { from, to: first_start });
    }
    let mut day = first;
    while day < end {
        let next = day + Days::new(1);
        if rolled.contains(&day) {
            push(Piece::Rollup { from: day, to: next });
        } else {
            push(Piece::Raw { from: codec::day_start(day), to: codec::day_start(next) });
        }
        day = next;
    }
    let end_start = codec::day_start(end);
    if end_start < to {
        push(Piece::Raw { from: end_start, to });
    }
    pieces
}

/// What a backend reads for availability, on one connection (inside one read transaction).
pub(crate) trait Source {
    /// The rolled-up days in `[from, to)`.
    async fn rolled_days(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError>;
    /// The figures of the raw polls in `[from, to)`, per key.
    async fn raw_sums(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Key, Sums)>, StoreError>;
    /// The figures of the roll-ups of the days `[from, to)`, summed per key (one row per key
    /// whatever the number of days: 90 days of 10,000 devices are 40,000 rows, not 3.6
    /// million).
    async fn rollup_sums(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(Key, Sums)>, StoreError>;
}

/// How late a raw row may still arrive after its poll's time: a poll's row is written when
/// the poll ends (at most two intervals later) and the writer batches. Raw rows older than
/// this before the end of a range are taken as settled, and their sums kept between calls.
const SETTLE: TimeDelta = TimeDelta::minutes(10);
/// Settled sums are read again from scratch at least this often: a row that came later than
/// [`SETTLE`] (a writer that retried after the store failed, another agent's) counts from then.
const RESYNC: TimeDelta = TimeDelta::hours(1);

/// The sums of a raw piece's settled part, kept between calls. The agent asks for the same
/// windows every minute: without it, every call summed the whole day's raw polls again (at
/// 10,000 devices polled every 30 s, tens of millions of rows by the evening); with it, a call
/// sums the polls since the last one and the unsettled tail.
#[derive(Debug, Default)]
pub(crate) struct RawCache(Mutex<Option<Settled>>);

#[derive(Debug)]
struct Settled {
    /// Start of the raw piece.
    from: DateTime<Utc>,
    /// The sums cover `[from, until)`.
    until: DateTime<Utc>,
    /// When they were first summed (as `until` then).
    since: DateTime<Utc>,
    totals: Totals,
}

impl RawCache {
    /// The settled sums of a piece from `from` that can be extended to `until`, if kept.
    fn take(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Option<Settled> {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match &*kept {
            Some(s) if s.from == from && s.until <= until && until - s.since < RESYNC => {
                kept.take()
            }
            _ => None,
        }
    }

    /// Forgets what it kept (raw rows were deleted).
    pub(crate) fn clear(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Keeps `settled` unless the sums kept are of the same piece and reach further (a call
    /// about an earlier moment does not undo the agent's newer ones).
    fn keep(&self, settled: Settled) {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.as_ref().is_none_or(|k| k.from != settled.from || k.until <= settled.until) {
            *kept = Some(settled);
        }
    }
}

/// The figures over `[from, to)`: whole rolled-up days from roll-ups, the rest from raw rows
/// (their settled part from `cache` where it holds it).
pub(crate) async fn totals(
    src: &mut impl Source,
    cache: &RawCache,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Totals, StoreError> {
    let rolled: BTreeSet<NaiveDate> = src
        .rolled_days(from.date_naive(), to.date_naive() + Days::new(1))
        .await?
        .into_iter()
        .collect();
    let mut totals = Totals::default();
    let pieces = plan(from, to, &rolled);
    let last = pieces.len().saturating_sub(1);
    for (i, piece) in pieces.into_iter().enumerate() {
        match piece {
            // Only the last piece, the one the next call extends (today's, for the agent): a
            // window's first piece starts at a moment that moves with every call.
            Piece::Raw { from, to } if i == last && to - SETTLE > from => {
                let settle = to - SETTLE;
                let mut settled = cache.take(from, settle).unwrap_or_else(|| Settled {
                    from,
                    until: from,
                    since: settle,
                    totals: Totals::default(),
                });
                if settled.until < settle {
                    for (key, sums) in src.raw_sums(settled.until, settle).await? {
                        settled.totals.add(key, sums);
                    }
                    settled.until = settle;
                }
                for (key, sums) in &settled.totals.0 {
                    totals.add(*key, *sums);
                }
                cache.keep(settled);
                for (key, sums) in src.raw_sums(settle, to).await? {
                    totals.add(key, sums);
                }
            }
            Piece::Raw { from, to } => {
                for (key, sums) in src.raw_sums(from, to).await? {
                    totals.add(key, sums);
                }
            }
            Piece::Rollup { from, to } => {
                for (key, sums) in src.rollup_sums(from, to).await? {
                    totals.add(key, sums);
                }
            }
        }
    }
    Ok(totals)
}

/// The key of availability figures.
pub(crate) type Key = (Id, i16, i16);

/// Figures of one key from one source (a raw aggregate or a roll-up row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sums {
    /// Site of the latest poll.
    pub site: Id,
    /// Time of the latest poll, microseconds.
    pub last_at_us: i64,
    /// Polls.
    pub polls: i64,
    /// Successful polls.
    pub successes: i64,
    /// Echoes sent.
    pub sent: i64,
    /// Replies received.
    pub received: i64,
    /// Sum of mean RTTs of successful polls, microseconds.
    pub rtt_sum_us: i64,
    /// Polls that contributed an RTT.
    pub rtt_count: i64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        if o.last_at_us > self.last_at_us {
            self.site = o.site;
            self.last_at_us = o.last_at_us;
        }
        self.polls += o.polls;
        self.successes += o.successes;
        self.sent += o.sent;
        self.received += o.received;
        self.rtt_sum_us += o.rtt_sum_us;
        self.rtt_count += o.rtt_count;
    }

    fn ids(&self) -> [Id; 1] {
        [self.site]
    }
}

/// Figures summed per key over all pieces.
#[derive(Debug, Default)]
pub(crate) struct Totals(HashMap<Key, Sums>);

impl Totals {
    /// Adds one source's figures for a key.
    pub(crate) fn add(&mut self, key: Key, sums: Sums) {
        self.0.entry(key).and_modify(|s| s.add(&sums)).or_insert(sums);
    }

    /// The string ids to read back.
    pub(crate) fn ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.0.iter().flat_map(|((device, _, _), s)| std::iter::once(*device).chain(s.ids()))
    }

    /// The availability rows, sorted by device, family, probe.
    pub(crate) fn finish(self, names: &Names) -> Result<Vec<Availability>, StoreError> {
        let mut out = self
            .0
            .into_iter()
            .map(|(key, sums)| figures("polls", key, &sums, names))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (&a.device, a.family, a.probe).cmp(&(&b.device, b.family, b.probe)));
        Ok(out)
    }
}

/// The public figures of one key.
pub(crate) fn figures(
    table: &'static str,
    (device, family, probe): Key,
    s: &Sums,
    names: &Names,
) -> Result<Availability, StoreError> {
    let n = |column, v| codec::count(table, column, v);
    Ok(Availability {
        device: codec::ident(names, table, "device", device)?,
        site: codec::ident(names, table, "site", s.site)?,
        family: codec::family_of(table, family.into())?,
        probe: codec::probe_of(table, probe.into())?,
        polls: n("polls", s.polls)?,
        successes: n("successes", s.successes)?,
        sent: n("sent", s.sent)?,
        received: n("received", s.received)?,
        rtt_sum_s: codec::us_to_secs(s.rtt_sum_us),
        rtt_count: n("rtt_count", s.rtt_count)?,
    })
}

/// Roll-up rows as read from `daily`.
pub(crate) type DailyRows = Vec<(NaiveDate, Key, Sums)>;

/// The string ids of roll-up rows.
pub(crate) fn daily_ids(rows: &DailyRows) -> impl Iterator<Item = Id> + '_ {
    rows.iter().flat_map(|(_, (device, _, _), s)| [*device, s.site])
}

/// Roll-up rows read back, sorted by day, device, family, probe.
pub(crate) fn daily_rows(rows: &DailyRows, names: &Names) -> Result<Vec<DailyRollup>, StoreError> {
    let mut out = rows
        .iter()
        .map(|(day, key, s)| {
            Ok(DailyRollup { day: *day, figures: figures("daily", *key, s, names)? })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    out.sort_by(|a, b| {
        (a.day, &a.figures.device, a.figures.family, a.figures.probe).cmp(&(
            b.day,
            &b.figures.device,
            b.figures.family,
            b.figures.probe,
        ))
    });
    Ok(out)
}

/// The days from `from` to the day before `to`.
pub(crate) fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d < to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn plan_covers_the_range_with_rollups_for_rolled_whole_days_only() {
        let rolled: BTreeSet<_> = [day(2), day(3), day(5), day(9)].into();
        let cases: Vec<(DateTime<Utc>, DateTime<Utc>, Vec<Piece>)> = vec![
            // Empty and inverted ranges.
            (t(2, 0), t(2, 0), vec![]),
            (t(3, 0), t(2, 0), vec![]),
            // Inside one day, even a rolled one: raw.
            (t(2, 6), t(2, 18), vec![Piece::Raw { from: t(2, 6), to: t(2, 18) }]),
            // Exactly one rolled day.
            (t(2, 0), t(3, 0), vec![Piece::Rollup { from: day(2), to: day(3) }]),
            // Partial ends around rolled days 2 and 3, then day 4 raw (not rolled).
            (
                t(1, 12),
                t(4, 12),
                vec![
                    Piece::Raw { from: t(1, 12), to: t(2, 0) },
                    Piece::Rollup { from: day(2), to: day(4) },
                    Piece::Raw { from: t(4, 0), to: t(4, 12) },
                ],
            ),
            // Raw day 4 merges with the partial day 6 around rolled day 5.
            (
                t(4, 0),
                t(6, 1),
                vec![
                    Piece::Raw { from: t(4, 0), to: t(5, 0) },
                    Piece::Rollup { from: day(5), to: day(6) },
                    Piece::Raw { from: t(6, 0), to: t(6, 1) },
                ],
            ),
            // Unrolled whole days and a partial end merge into one raw piece.
            (t(6, 0), t(8, 5), vec![Piece::Raw { from: t(6, 0), to: t(8, 5) }]),
            // Across two partial days with no whole day between them.
            (t(8, 20), t(9, 4), vec![Piece::Raw { from: t(8, 20), to: t(9, 4) }]),
        ];
        for (from, to, want) in cases {
            assert_eq!(plan(from, to, &rolled), want, "[{from}, {to})");
        }
    }

    #[test]
    fn sums_add_up_and_keep_the_site_of_the_latest_poll() {
        let a = Sums {
            site: 1,
            last_at_us: 10,
            polls: 10,
            successes: 9,
            sent: 30,
            received: 27,
            rtt_sum_us: 90,
            rtt_count: 9,
        };
        let b = Sums { site: 2, last_at_us: 20, ..a };
        let mut totals = Totals::default();
        totals.add((7, 4, 1), b);
        totals.add((7, 4, 1), a);
        let s = totals.0[&(7, 4, 1)];
        assert_eq!((s.site, s.last_at_us, s.polls, s.successes), (2, 20, 20, 18));
        assert_eq!((s.sent, s.received, s.rtt_sum_us, s.rtt_count), (60, 54, 180, 18));
    }
}
