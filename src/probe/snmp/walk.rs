//! Walking table columns with GETBULK: every column of interest in one request, row by row.
//!
//! snmp2 has no walk helper. This is the bookkeeping of one, free of I/O so that the odd
//! answers real agents give (truncated responses, OIDs that go backwards, empty responses) are
//! tested without a network: the caller sends [`ColumnWalk::request`] and feeds the reply back.

use super::value::{ObjectId, Val, Varbind};
use crate::poll::Truncation;

/// What one walk may keep: what one device may cost in rows (each interface is a row, and
/// about ten series in /metrics) and in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WalkLimits {
    /// Rows per column.
    pub rows: usize,
    /// Bytes of rows kept, all columns together (see [`row_cost`]).
    pub bytes: usize,
}

impl WalkLimits {
    /// Far above any device vigia polls (a 48-port switch has about 60 interfaces), far below
    /// what an agent that keeps answering would make of a poll (89,881 interfaces, gigabytes).
    pub(crate) const DEFAULT: WalkLimits = WalkLimits { rows: 2_048, bytes: 8 << 20 };
}

/// What a row costs in [`WalkLimits::bytes`]: its value's bytes, its index and the bookkeeping
/// around them, about its size in memory.
pub(crate) fn row_cost(suffix: &[u32], val: &Val) -> usize {
    let value = match val {
        Val::Bytes(b) => b.len(),
        Val::Oid(o) => o.len() * 4,
        _ => 0,
    };
    64 + suffix.len() * 4 + value
}

/// One column being walked.
#[derive(Debug, Clone)]
struct Column {
    prefix: ObjectId,
    cursor: ObjectId,
    done: bool,
    rows: Vec<(ObjectId, Val)>,
}

/// Something odd an agent did while a walk went on; the walk ends the affected columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anomaly {
    /// A returned OID was not after the one asked for (a broken agent would loop for ever).
    NotIncreasing,
    /// A response held no varbinds at all.
    Empty,
    /// A varbind could not be read (why): nothing after it lines up with the request.
    Malformed(&'static str),
}

/// The walk of a set of columns (each a table column OID, such as ifHCInOctets).
#[derive(Debug, Clone)]
pub(crate) struct ColumnWalk {
    columns: Vec<Column>,
    /// Indices of the columns asked in the request in flight.
    asked: Vec<usize>,
    anomaly: Option<Anomaly>,
    limits: WalkLimits,
    /// Bytes kept so far (see [`row_cost`]).
    bytes: usize,
    /// Every bound met, in the order first met.
    met: Vec<Truncation>,
}

impl ColumnWalk {
    /// Start walking `prefixes`, within the default limits.
    pub(crate) fn new(prefixes: &[&[u32]]) -> ColumnWalk {
        ColumnWalk::with_limits(prefixes, WalkLimits::DEFAULT)
    }

    /// Start walking `prefixes`, keeping at most what `limits` allows.
    pub(crate) fn with_limits(prefixes: &[&[u32]], limits: WalkLimits) -> ColumnWalk {
        ColumnWalk {
            columns: prefixes
                .iter()
                .map(|p| Column {
                    prefix: p.to_vec(),
                    cursor: p.to_vec(),
                    done: false,
                    rows: Vec::new(),
                })
                .collect(),
            asked: Vec::new(),
            anomaly: None,
            limits,
            bytes: 0,
            met: Vec::new(),
        }
    }

    /// The OIDs to ask next (the last OID seen of each unfinished column), or `None` when every
    /// column is finished.
    pub(crate) fn request(&mut self) -> Option<Vec<ObjectId>> {
        self.asked = (0..self.columns.len()).filter(|&i| !self.columns[i].done).collect();
        if self.asked.is_empty() {
            return None;
        }
        Some(self.asked.iter().map(|&i| self.columns[i].cursor.clone()).collect())
    }

    /// How many columns the next request asks for.
    pub(crate) fn active(&self) -> usize {
        self.columns.iter().filter(|c| !c.done).count()
    }

    /// Feed the answer to a GETBULK of the last [`request`](Self::request) with
    /// max-repetitions `reps`: an agent may send fewer varbinds than that asks for, never more;
    /// what is more is dropped (an agent stuffing its replies would otherwise make one poll
    /// as large as it likes), and the walk says so.
    pub(crate) fn feed_bulk(&mut self, mut varbinds: Vec<Varbind>, reps: u32) {
        let most = self.asked.len().saturating_mul(usize::try_from(reps).unwrap_or(usize::MAX));
        if varbinds.len() > most {
            varbinds.truncate(most);
            self.truncate(Truncation::Varbinds);
        }
        self.feed(varbinds);
    }

    /// End every column here: something outside the walk (a request limit, a deadline) cut it.
    pub(crate) fn stop(&mut self, why: Truncation) {
        for c in &mut self.columns {
            c.done = true;
        }
        self.truncate(why);
    }

    /// The answer's varbinds could not all be read: the walk ends after those that could.
    pub(crate) fn malformed(&mut self, why: &'static str) {
        for c in &mut self.columns {
            c.done = true;
        }
        self.anomaly.get_or_insert(Anomaly::Malformed(why));
    }

    fn truncate(&mut self, why: Truncation) {
        if !self.met.contains(&why) {
            self.met.push(why);
        }
    }

    /// Feed the varbinds of the response to the last [`request`](Self::request). A GETBULK
    /// response lists, for each repetition, one varbind per column asked, in order; an agent
    /// may send fewer repetitions (even a partial last one) than asked.
    pub(crate) fn feed(&mut self, varbinds: Vec<Varbind>) {
        let n = self.asked.len();
        if n == 0 {
            return;
        }
        if varbinds.is_empty() {
            self.end_asked(Anomaly::Empty);
            return;
        }
        for (k, (oid, val)) in varbinds.into_iter().enumerate() {
            let col = &mut self.columns[self.asked[k % n]];
            if col.done {
                continue;
            }
            if matches!(val, Val::EndOfMibView | Val::NoSuchObject | Val::NoSuchInstance)
                || !oid.starts_with(&col.prefix)
                || oid.len() == col.prefix.len()
            {
                col.done = true;
                continue;
            }
            if oid <= col.cursor {
                col.done = true;
                self.anomaly.get_or_insert(Anomaly::NotIncreasing);
                continue;
            }
            if col.rows.len() >= self.limits.rows {
                col.done = true;
                self.truncate(Truncation::Rows);
                continue;
            }
            let suffix = oid[col.prefix.len()..].to_vec();
            let cost = row_cost(&suffix, &val);
            if self.bytes.saturating_add(cost) > self.limits.bytes {
                self.stop(Truncation::Bytes);
                return;
            }
            self.bytes += cost;
            col.rows.push((suffix, val));
            col.cursor = oid;
        }
    }

    fn end_asked(&mut self, why: Anomaly) {
        for &i in &self.asked {
            self.columns[i].done = true;
        }
        self.anomaly.get_or_insert(why);
    }

    /// The rows of column `i` read so far.
    pub(crate) fn rows(&self, i: usize) -> &[(ObjectId, Val)] {
        &self.columns[i].rows
    }

    /// The first odd thing the agent did, if any.
    pub(crate) fn anomaly(&self) -> Option<Anomaly> {
        self.anomaly
    }

    /// The first limit the walk met, if any.
    pub(crate) fn truncated(&self) -> Option<Truncation> {
        self.met.first().copied()
    }

    /// Every limit the walk met, in the order first met.
    pub(crate) fn bounds_met(&self) -> &[Truncation] {
        &self.met
    }

    /// Each column's rows (instance suffix and value), in the order the columns were given.
    pub(crate) fn into_columns(self) -> Vec<Vec<(ObjectId, Val)>> {
        self.columns.into_iter().map(|c| c.rows).collect()
    }
}

#[cfg(test)]
mod tests {
    //! The agent here is an in-memory sorted table answering GETBULK by the RFC 3416 rules: a
    //! stand-in for the odd agents that cannot be had for real (the real snmpd cases are in
    //! tests/snmp.rs).
    use super::*;

    fn mib(entries: &[(&[u32], Val)]) -> Vec<Varbind> {
        let mut v: Vec<Varbind> = entries.iter().map(|(o, v)| (o.to_vec(), v.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// GETBULK with non-repeaters 0 over a sorted MIB, at most `max_varbinds` varbinds back.
    fn getbulk(
        mib: &[Varbind],
        oids: &[ObjectId],
        reps: usize,
        max_varbinds: usize,
    ) -> Vec<Varbind> {
        let mut cursors = oids.to_vec();
        let mut out = Vec::new();
        'rep: for _ in 0..reps {
            for c in cursors.iter_mut() {
                if out.len() == max_varbinds {
                    break 'rep;
                }
                match mib.iter().find(|(o, _)| o > c) {
                    Some((o, v)) => {
                        out.push((o.clone(), v.clone()));
                        *c = o.clone();
                    }
                    None => out.push((c.clone(), Val::EndOfMibView)),
                }
            }
        }
        out
    }

    fn run(walk: &mut ColumnWalk, mib: &[Varbind], reps: usize, max_varbinds: usize) -> usize {
        let mut requests = 0;
        while let Some(oids) = walk.request() {
            requests += 1;
            assert!(requests < 100, "walk does not end");
            walk.feed(getbulk(mib, &oids, reps, max_varbinds));
        }
        requests
    }

    const A: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 2];
    const B: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 3];

    fn table(rows: u32) -> Vec<Varbind> {
        let mut e = Vec::new();
        for i in 1..=rows {
            let mut a = A.to_vec();
            a.push(i);
            e.push((a, Val::Bytes(format!("if{i}").into_bytes())));
            let mut b = B.to_vec();
            b.push(i);
            e.push((b, Val::Int(6)));
        }
        e.push((vec![1, 3, 6, 1, 2, 1, 2, 2, 1, 4, 1], Val::Int(1500)));
        let r: Vec<(&[u32], Val)> = e.iter().map(|(o, v)| (o.as_slice(), v.clone())).collect();
        mib(&r)
    }

    #[test]
    fn columns_are_walked_side_by_side_and_stop_at_their_end() {
        let t = table(7);
        let mut w = ColumnWalk::new(&[A, B]);
        // 3 rows per request: 7 rows need 3 requests, the third also sees the ends.
        assert_eq!(run(&mut w, &t, 3, 1000), 3);
        assert_eq!(w.anomaly(), None);
        let cols = w.into_columns();
        assert_eq!(cols[0].len(), 7);
        assert_eq!(cols[1].len(), 7);
        assert_eq!(cols[0][6], (vec![7], Val::Bytes(b"if7".to_vec())));
        assert_eq!(cols[1][0], (vec![1], Val::Int(6)));
    }

    #[test]
    fn enough_repetitions_take_one_request() {
        let mut w = ColumnWalk::new(&[A, B]);
        assert_eq!(run(&mut w, &table(7), 8, 1000), 1);
    }

    #[test]
    fn truncated_responses_resume_where_each_column_stopped() {
        let t = table(5);
        let mut w = ColumnWalk::new(&[A, B]);
        // The agent sends 3 varbinds where 2 x 10 were asked: a partial last repetition.
        run(&mut w, &t, 10, 3);
        let cols = w.into_columns();
        assert_eq!(cols[0].iter().map(|r| r.0[0]).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert_eq!(cols[1].len(), 5);
    }

    #[test]
    fn an_absent_column_and_end_of_mib_end_cleanly() {
        let t = table(2);
        let absent: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6];
        let mut w = ColumnWalk::new(&[absent, A]);
        run(&mut w, &t, 5, 1000);
        let cols = w.into_columns();
        assert!(cols[0].is_empty());
        assert_eq!(cols[1].len(), 2);
    }

    #[test]
    fn an_agent_going_backwards_or_answering_nothing_cannot_loop() {
        let mut w = ColumnWalk::new(&[A]);
        w.request().unwrap();
        let mut first = A.to_vec();
        first.push(5);
        let mut back = A.to_vec();
        back.push(2);
        w.feed(vec![(first, Val::Int(1)), (back, Val::Int(2))]);
        assert_eq!(w.anomaly(), Some(Anomaly::NotIncreasing));
        assert!(w.request().is_none());

        let mut w = ColumnWalk::new(&[A, B]);
        w.request().unwrap();
        w.feed(Vec::new());
        assert_eq!(w.anomaly(), Some(Anomaly::Empty));
        assert!(w.request().is_none());
    }

    #[test]
    fn the_column_oid_itself_is_not_a_row() {
        let mut w = ColumnWalk::new(&[A]);
        w.request().unwrap();
        w.feed(vec![(A.to_vec(), Val::Int(1))]);
        assert!(w.request().is_none());
        assert!(w.into_columns()[0].is_empty());
    }

    #[test]
    fn a_reply_with_more_varbinds_than_asked_is_cut_to_what_was_asked() {
        // A stuffing agent: 2 columns x 3 repetitions asked, 14 rows (28 varbinds) sent.
        let t = table(14);
        let mut w = ColumnWalk::new(&[A, B]);
        let oids = w.request().unwrap();
        w.feed_bulk(getbulk(&t, &oids, 14, 1000), 3);
        assert_eq!(w.truncated(), Some(Truncation::Varbinds));
        // The walk goes on from what was kept, and still reads the whole table.
        run(&mut w, &t, 3, 1000);
        let cols = w.into_columns();
        assert_eq!((cols[0].len(), cols[1].len()), (14, 14));
    }

    #[test]
    fn a_column_longer_than_the_row_limit_keeps_the_limit() {
        let limits = WalkLimits { rows: 5, bytes: usize::MAX };
        let mut w = ColumnWalk::with_limits(&[A, B], limits);
        run(&mut w, &table(40), 4, 1000);
        assert_eq!(w.truncated(), Some(Truncation::Rows));
        assert_eq!(w.anomaly(), None);
        let cols = w.into_columns();
        assert_eq!((cols[0].len(), cols[1].len()), (5, 5));
    }

    #[test]
    fn rows_past_the_byte_budget_end_the_walk() {
        // Each row of column A costs 64 + 4 + its 3-4 bytes of text, of B 64 + 4.
        let limits = WalkLimits { rows: usize::MAX, bytes: 1_000 };
        let mut w = ColumnWalk::with_limits(&[A, B], limits);
        run(&mut w, &table(40), 4, 1000);
        assert_eq!(w.truncated(), Some(Truncation::Bytes));
        assert!(w.request().is_none());
        let kept: usize =
            w.into_columns().iter().flat_map(|c| c.iter().map(|(s, v)| row_cost(s, v))).sum();
        assert!(kept <= 1_000 && kept > 1_000 - 2 * 72, "{kept}");
    }

    #[test]
    fn a_stop_from_outside_ends_every_column_and_says_why() {
        let mut w = ColumnWalk::new(&[A, B]);
        let oids = w.request().unwrap();
        w.feed(getbulk(&table(9), &oids, 2, 1000));
        w.stop(Truncation::Deadline);
        assert!(w.request().is_none());
        assert_eq!(w.truncated(), Some(Truncation::Deadline));
        assert_eq!(w.into_columns()[0].len(), 2);
    }
}
