//! Group commit: write jobs that arrive together share one transaction and
//! so one durable commit (one WAL fsync on SQLite, one WAL flush on
//! PostgreSQL), and each job's caller is answered only after that commit
//! succeeded. A job that fails is rolled back alone (savepoint); a commit
//! that fails fails every job of the batch, and none is answered as done.
//!
//! One thread owns one connection and runs batches back to back: while a
//! batch commits, the next one gathers, so there is no added waiting at low
//! load and batches grow by themselves under load. On SQLite this thread is
//! also the one writer the hot path uses, so hot writes queue in memory
//! (FIFO) instead of sleeping in SQLite's busy handler.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, mpsc};
use std::task::{Context, Poll, Waker};

use rusqlite::Connection;
use sqlx::AnyPool;
use tokio::sync::oneshot;

use crate::sql::Tx;
use crate::{Result, StorageError};

/// Most jobs in one transaction.
const MAX_BATCH: usize = 256;

pub(crate) type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;
/// Called once the batch's commit is known: `Ok` = durable.
type Finisher = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
type JobFn = Box<dyn FnOnce(&Mutex<Connection>) -> Option<Finisher> + Send>;

pub(crate) struct Job {
    run: JobFn,
    /// One statement: it fails without effect, so it needs no savepoint.
    atomic: bool,
}

#[derive(Clone)]
pub(crate) enum Batcher {
    /// SQLite: one writer thread with its own connection, group commit.
    Group(mpsc::Sender<Job>),
    /// PostgreSQL: each job in its own transaction on the pool. PostgreSQL
    /// already shares WAL flushes between concurrent commits, and a single
    /// writer connection would serialize what it runs in parallel.
    Direct(AnyPool),
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

impl Batcher {
    /// SQLite: start the writer thread on the database file at `path`.
    pub(crate) fn start_sqlite(path: &std::path::Path) -> Result<Batcher> {
        let conn = crate::lite::open(path, false)?;
        let (tx, rx) = mpsc::channel();
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("atomik-db-writer".into())
            .spawn(move || write_batches(conn, &path, rx))
            .map_err(|e| StorageError::Invalid(format!("cannot start the database writer: {e}")))?;
        Ok(Batcher::Group(tx))
    }

    /// Run `f` inside the next group transaction; its result once committed.
    /// On SQLite `f` must only await the database (it runs on the writer
    /// thread, polled once).
    pub(crate) async fn run<T, F>(&self, atomic: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c, 't> FnOnce(&'c mut Tx<'t>) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let jobs = match self {
            Batcher::Group(jobs) => jobs,
            Batcher::Direct(pool) => {
                let mut tx = pool.begin().await?;
                let value = f(&mut Tx::Pg(&mut tx)).await?;
                tx.commit().await?;
                return Ok(value);
            }
        };
        submit(jobs, atomic, f)?.await.map_err(|_| {
            StorageError::Invalid(
                "the database writer dropped the write (transaction failed)".into(),
            )
        })?
    }
}

/// Queue `f` for the writer thread; the receiver gets its result once the
/// batch's commit is known.
pub(crate) fn submit<T, F>(
    jobs: &mpsc::Sender<Job>,
    atomic: bool,
    f: F,
) -> Result<oneshot::Receiver<Result<T>>>
where
    T: Send + 'static,
    F: for<'c, 't> FnOnce(&'c mut Tx<'t>) -> BoxFuture<'c, Result<T>> + Send + 'static,
{
    let (tx, rx) = oneshot::channel::<Result<T>>();
    let run: JobFn = Box::new(move |conn| {
        let result = poll_once(f(&mut Tx::Lite(conn))).unwrap_or_else(|| {
            Err(StorageError::Invalid(
                "a database job waited on something other than SQLite".into(),
            ))
        });
        match result {
            Ok(value) => Some(Box::new(move |committed: std::result::Result<(), String>| {
                let _ = tx.send(match committed {
                    Ok(()) => Ok(value),
                    Err(e) => Err(StorageError::Invalid(format!("commit failed: {e}"))),
                });
            }) as Finisher),
            Err(e) => {
                let _ = tx.send(Err(e));
                None
            }
        }
    });
    jobs.send(Job { run, atomic })
        .map_err(|_| StorageError::Invalid("the database writer has stopped".into()))?;
    Ok(rx)
}

/// A SQLite job's future never waits (the driver is synchronous): poll it once.
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}

/// The writer thread: batches back to back until every sender is gone.
fn write_batches(conn: Connection, path: &std::path::Path, rx: mpsc::Receiver<Job>) {
    let mut conn = Mutex::new(conn);
    // Jobs not run because their batch's transaction broke: first in the next.
    let mut carried: VecDeque<Job> = VecDeque::new();
    loop {
        let first = match carried.pop_front() {
            Some(job) => job,
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match carried.pop_front().map(Ok).unwrap_or_else(|| rx.try_recv()) {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if !write_batch(&conn, jobs, &mut carried) {
            // Never keep a connection with an open transaction: start afresh.
            match crate::lite::open(path, false) {
                Ok(fresh) => conn = Mutex::new(fresh),
                Err(e) => tracing::error!(error = %e, "database writer cannot reopen the database"),
            }
        }
    }
}

/// One batch: every job in one transaction, each under a savepoint (a
/// failing job is rolled back alone), one commit, then every caller
/// answered. Jobs not run because the transaction broke go to `carried`.
/// False if the connection is left unusable.
fn write_batch(conn: &Mutex<Connection>, jobs: Vec<Job>, carried: &mut VecDeque<Job>) -> bool {
    let sql = |statement: &str| match conn.lock() {
        Ok(conn) => conn.execute_batch(statement).map_err(|e| e.to_string()),
        Err(_) => Err("the writer connection is poisoned".to_string()),
    };
    let in_transaction = || conn.lock().map(|c| !c.is_autocommit()).unwrap_or(false);
    if let Err(e) = sql("BEGIN IMMEDIATE") {
        // Dropping the jobs answers their callers with an error.
        tracing::error!(error = %e, "database writer cannot begin a transaction");
        return !in_transaction();
    }
    let single = jobs.len() == 1;
    let mut finishers = Vec::with_capacity(jobs.len());
    // Why the transaction cannot commit, if it cannot.
    let mut broken: Option<String> = None;
    let mut jobs = jobs.into_iter();
    for job in jobs.by_ref() {
        let savepoint = !single && !job.atomic;
        if savepoint && let Err(e) = sql("SAVEPOINT job") {
            // Dropping the job answers its caller with an error (so every
            // batch consumes at least one job).
            broken = Some(e);
            drop(job);
            break;
        }
        match (job.run)(conn) {
            Some(finish) => {
                finishers.push(finish);
                if savepoint && let Err(e) = sql("RELEASE SAVEPOINT job") {
                    broken = Some(e);
                }
            }
            // A failed single job (its caller has its error): roll it back whole.
            None if single => broken = Some("the only job failed".into()),
            // A failed statement leaves no trace, unless its error ended the
            // transaction (SQLite then rolled everything back).
            None if !savepoint => {
                if !in_transaction() {
                    broken = Some("a failed statement ended the transaction".into());
                }
            }
            None => {
                if let Err(e) = sql("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job") {
                    broken = Some(e);
                }
            }
        }
        if broken.is_some() {
            break;
        }
    }
    carried.extend(jobs);
    let committed = match broken {
        Some(e) => Err(format!("the batch transaction broke: {e}")),
        None => sql("COMMIT"),
    };
    let usable = committed.is_ok() || !in_transaction() || sql("ROLLBACK").is_ok();
    for finish in finishers {
        finish(committed.clone());
    }
    usable
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
