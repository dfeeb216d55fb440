//! The Logs tab's record of refused webhook deliveries, written in batches.
//!
//! A refusal (bad secret, paused, 429, not JSON…) must not cost a durable
//! write each: a flood of bad requests would turn into a flood of fsyncs.
//! Refusals go to a bounded queue; one task writes whatever has queued in
//! one transaction, then the next lot. Best effort: when the queue is full a
//! refusal is counted (`atomik_refusals_dropped_total`) and dropped.
//! Accepted signals never go through here: they stay durable before 202.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use atomik_storage::Db;
use atomik_storage::signals::{self, RefusedDelivery};
use tokio::sync::mpsc;

/// Refusals waiting to be written, at most.
pub const QUEUE_CAPACITY: usize = 10_000;
/// Rows per transaction, at most.
const MAX_BATCH: usize = 1_000;

#[derive(Clone)]
pub struct RefusalLog {
    tx: mpsc::Sender<RefusedDelivery>,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Stats {
    batches: AtomicU64,
    rows: AtomicU64,
    dropped: AtomicU64,
}

/// The writer half: [`Writer::run`] until every [`RefusalLog`] is dropped.
pub struct Writer {
    rx: mpsc::Receiver<RefusedDelivery>,
    db: Db,
    stats: Arc<Stats>,
}

impl RefusalLog {
    /// A log and its writer, not yet running (tests start it when they choose).
    pub fn new(db: Db) -> (RefusalLog, Writer) {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let stats = Arc::new(Stats::default());
        let log = RefusalLog {
            tx,
            stats: stats.clone(),
        };
        (log, Writer { rx, db, stats })
    }

    /// A log whose writer runs on the current Tokio runtime.
    pub fn start(db: Db) -> RefusalLog {
        let (log, writer) = RefusalLog::new(db);
        tokio::spawn(writer.run());
        log
    }

    /// Queue a refusal; never waits.
    pub fn record(&self, refused: RefusedDelivery) {
        if self.tx.try_send(refused).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("atomik_refusals_dropped_total").increment(1);
        }
    }

    /// Transactions written so far.
    pub fn batches_written(&self) -> u64 {
        self.stats.batches.load(Ordering::Relaxed)
    }

    /// Refusals written so far.
    pub fn rows_written(&self) -> u64 {
        self.stats.rows.load(Ordering::Relaxed)
    }

    /// Refusals dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }
}

impl Writer {
    pub async fn run(mut self) {
        while let Some(first) = self.rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let rows = batch.len() as u64;
            match signals::log_refusals(&self.db, batch).await {
                Ok(()) => {
                    self.stats.rows.fetch_add(rows, Ordering::Relaxed);
                    metrics::counter!("atomik_refusals_logged_total").increment(rows);
                }
                Err(e) => {
                    tracing::warn!(error = %e, rows, "could not log refused webhook deliveries");
                    metrics::counter!("atomik_refusals_dropped_total").increment(rows);
                }
            }
            self.stats.batches.fetch_add(1, Ordering::Relaxed);
        }
    }
}
