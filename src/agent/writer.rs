//! The history writer: batches from the polling loop go to the store in order, off the loop.
//!
//! A store that refuses a write (a full disk, a PostgreSQL restarting, a locked file) never
//! stops polling and never ends the writer: the batches wait in memory, up to a bound in rows,
//! and the write is tried again with a backoff capped at [`MAX_BACKOFF`]. Past the bound the
//! oldest rows are dropped and counted. When the store takes writes again, what waited is
//! written in order and the agent says so. `/healthz`, the log and the `vigia_store_*` metrics
//! tell the state meanwhile.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::{Batch, Clock, SharedState};
use crate::store::{Store, StoreError};

/// The longest wait between two tries of a failing write.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The first wait after a failed write.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Tries of the last write when the agent stops while the store is failing.
const TRIES_AT_STOP: u32 = 3;

/// How the history writes stand: the agent's shared state carries it for `/healthz` and
/// `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreHealth {
    /// Since when writes fail (`None` while they succeed).
    pub failing_since: Option<DateTime<Utc>>,
    /// The last write error, as the store said it (no secret: URLs are redacted).
    pub last_error: Option<String>,
    /// Rows waiting in memory for the store.
    pub buffered_rows: u64,
    /// Rows dropped since the agent started because the buffer was full.
    pub dropped_rows: u64,
    /// Writes the store refused since the agent started.
    pub write_errors: u64,
}

/// Rows waiting for the store, oldest first, bounded in rows.
struct Queue {
    batches: VecDeque<Batch>,
    rows: usize,
    limit: usize,
    dropped: u64,
}

impl Queue {
    fn new(limit: usize) -> Queue {
        Queue { batches: VecDeque::new(), rows: 0, limit: limit.max(1), dropped: 0 }
    }

    /// Queue a batch; past the limit, drop the oldest whole batches (the newest rows are worth
    /// more to a monitor, and a partly written batch is never the one dropped unless it is the
    /// only one).
    fn push(&mut self, batch: Batch) {
        if batch.len() == 0 {
            return;
        }
        self.rows += batch.len();
        self.batches.push_back(batch);
        while self.rows > self.limit && self.batches.len() > 1 {
            let old = self.batches.pop_front().expect("more than one");
            self.rows -= old.len();
            self.dropped += old.len() as u64;
        }
    }
}

/// Writes batches in order until `rx` closes, then what is left. Returns an error only when
/// the agent stops while the store still refuses its last rows (they are lost, and said so).
pub(super) async fn writer_task(
    store: Arc<Store>,
    mut rx: mpsc::Receiver<Batch>,
    shared: SharedState,
    clock: Clock,
    limit_rows: usize,
) -> Result<(), StoreError> {
    let mut queue = Queue::new(limit_rows);
    let mut health = StoreHealth::default();
    let mut backoff = FIRST_BACKOFF;
    let mut open = true;
    loop {
        // Wait for rows when there is nothing to write, or for the backoff while failing;
        // rows that come meanwhile join the queue, so the polling loop never waits on the store.
        if queue.batches.is_empty() {
            match rx.recv().await {
                Some(b) => queue.push(b),
                None => break,
            }
        } else if health.failing_since.is_some() && open {
            let wake = tokio::time::sleep(backoff);
            tokio::pin!(wake);
            loop {
                tokio::select! {
                    b = rx.recv() => match b {
                        Some(b) => queue.push(b),
                        None => { open = false; break }
                    },
                    _ = &mut wake => break,
                }
            }
            if !open {
                break;
            }
        }
        while let Ok(b) = rx.try_recv() {
            queue.push(b);
        }
        let front = queue.batches.front_mut().expect("not empty");
        let before = front.len();
        let result = write_batch(&store, front).await;
        queue.rows -= before - front.len();
        match result {
            Ok(()) => {
                queue.batches.pop_front();
                if let Some(since) = health.failing_since.take() {
                    info!(
                        failing_since = %since,
                        waiting = queue.rows,
                        dropped = queue.dropped,
                        "history writes recovered; the rows that waited are being written"
                    );
                    health.last_error = None;
                }
                backoff = FIRST_BACKOFF;
            }
            Err(e) => {
                health.write_errors += 1;
                if health.failing_since.is_none() {
                    health.failing_since = Some(clock.now());
                    error!(error = %e, "the history store refuses writes; rows wait in memory and the write is retried");
                } else {
                    warn!(error = %e, waiting = queue.rows, retry_in_s = backoff.as_secs_f64(), "history write failed again");
                }
                health.last_error = Some(e.to_string());
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        health.buffered_rows = queue.rows as u64;
        health.dropped_rows = queue.dropped;
        publish(&shared, &health);
    }
    // Stopping: the rows still queued get a few more tries.
    let mut tries = 0;
    while let Some(front) = queue.batches.front_mut() {
        match write_batch(&store, front).await {
            Ok(()) => {
                queue.batches.pop_front();
            }
            Err(e) => {
                tries += 1;
                if tries >= TRIES_AT_STOP {
                    let lost: usize = queue.batches.iter().map(Batch::len).sum();
                    error!(error = %e, lost_rows = lost, "stopping with the history store refusing writes; these rows are lost");
                    return Err(e);
                }
                tokio::time::sleep(FIRST_BACKOFF * tries).await;
            }
        }
    }
    Ok(())
}

/// Tell readers how the writes stand; the lock the polling loop also takes is taken for
/// writing only when that changed (rarely: every batch is written, most of the time).
fn publish(shared: &SharedState, health: &StoreHealth) {
    if super::read_shared(shared).store == *health {
        return;
    }
    shared.write().unwrap_or_else(std::sync::PoisonError::into_inner).store = health.clone();
}

/// Write a batch, table by table; what was written leaves the batch, so a retry after a
/// failure halfway writes only the rest (no row twice).
pub(super) async fn write_batch(store: &Store, batch: &mut Batch) -> Result<(), StoreError> {
    if !batch.polls.is_empty() {
        store.insert_polls(&batch.polls).await?;
        batch.polls = Vec::new();
    }
    if !batch.interfaces.is_empty() {
        store.insert_interfaces(&batch.interfaces).await?;
        batch.interfaces = Vec::new();
    }
    if !batch.events.is_empty() {
        store.insert_events(&batch.events).await?;
        batch.events = Vec::new();
    }
    if !batch.facts.is_empty() {
        store.insert_facts(&batch.facts).await?;
        batch.facts = Vec::new();
    }
    debug!("batch stored");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::EventKind;
    use crate::history::testkit::event;

    fn batch(events: usize) -> Batch {
        let mut b = Batch::default();
        for _ in 0..events {
            b.events.push(event(EventKind::DeviceDown, Some("sw"), "main", "2026-11-02T10:00:00Z"));
        }
        b
    }

    #[test]
    fn a_full_queue_drops_the_oldest_batches_and_counts_their_rows() {
        let mut q = Queue::new(5);
        q.push(batch(2));
        q.push(batch(2));
        assert_eq!((q.rows, q.dropped), (4, 0));
        q.push(batch(3));
        // 7 > 5: the first batch goes; 5 rows stay.
        assert_eq!((q.rows, q.dropped, q.batches.len()), (5, 2, 2));
        q.push(batch(4));
        assert_eq!((q.rows, q.dropped, q.batches.len()), (4, 7, 1));
        // One batch over the limit alone is kept: it is the newest.
        q.push(batch(6));
        assert_eq!((q.rows, q.dropped, q.batches.len()), (6, 11, 1));
        // An empty batch changes nothing.
        q.push(batch(0));
        assert_eq!((q.rows, q.dropped, q.batches.len()), (6, 11, 1));
    }
}
