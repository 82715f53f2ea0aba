//! Walking table columns with GETBULK: every column of interest in one request, row by row.
//!
//! snmp2 has no walk helper. This is the bookkeeping of one, free of I/O so that the odd
//! answers real agents give (truncated responses, OIDs that go backwards, empty responses) are
//! tested without a network: the caller sends [`ColumnWalk::request`] and feeds the reply back.

use super::value::{ObjectId, Val, Varbind};

/// Stop a column after this many rows: no device vigia polls has a table this long, and an agent
/// that keeps answering must not keep a poll going for ever.
pub(crate) const MAX_ROWS_PER_COLUMN: usize = 100_000;

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
    /// A column passed [`MAX_ROWS_PER_COLUMN`].
    TooManyRows,
}

/// The walk of a set of columns (each a table column OID, such as ifHCInOctets).
#[derive(Debug, Clone)]
pub(crate) struct ColumnWalk {
    columns: Vec<Column>,
    /// Indices of the columns asked in the request in flight.
    asked: Vec<usize>,
    anomaly: Option<Anomaly>,
}

impl ColumnWalk {
    /// Start walking `prefixes`.
    pub(crate) fn new(prefixes: &[&[u32]]) -> ColumnWalk {
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
            if col.rows.len() >= MAX_ROWS_PER_COLUMN {
                col.done = true;
                self.anomaly.get_or_insert(Anomaly::TooManyRows);
                continue;
            }
            col.rows.push((oid[col.prefix.len()..].to_vec(), val));
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
}
