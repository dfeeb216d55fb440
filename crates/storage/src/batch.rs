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
        rx.await.map_err(|_| {
            StorageError::Invalid(
                "the database writer dropped the write (transaction failed)".into(),
            )
        })?
    }
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
    let conn = Mutex::new(conn);
    let sql = |statement: &str| {
        conn.lock()
            .expect("writer connection")
            .execute_batch(statement)
    };
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = sql("BEGIN IMMEDIATE") {
            // Dropping the jobs answers their callers with an error.
            tracing::error!(error = %e, "database writer cannot begin a transaction");
            continue;
        }
        let single = jobs.len() == 1;
        let mut finishers = Vec::with_capacity(jobs.len());
        // `Some(true)`: commit what succeeded so far, drop the rest (their
        // callers get an error); `Some(false)`: roll everything back.
        let mut stop: Option<bool> = None;
        for job in jobs {
            if stop.is_some() {
                break;
            }
            let savepoint = !single && !job.atomic;
            if savepoint && sql("SAVEPOINT job").is_err() {
                stop = Some(true);
                continue;
            }
            match (job.run)(&conn) {
                Some(finish) => {
                    if savepoint && sql("RELEASE SAVEPOINT job").is_err() {
                        stop = Some(false);
                    }
                    finishers.push(finish);
                }
                // A failed single job: roll it back whole.
                None if single => stop = Some(false),
                // A failed statement leaves no trace, but some errors end
                // the transaction: commit (or fail) what came before.
                None if job.atomic => stop = Some(true),
                None => {
                    if sql("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job").is_err() {
                        stop = Some(false);
                    }
                }
            }
        }
        let committed = if stop == Some(false) {
            Err("the batch transaction broke".to_string())
        } else {
            sql("COMMIT").map_err(|e| e.to_string())
        };
        let in_transaction = !conn.lock().expect("writer connection").is_autocommit();
        if committed.is_err() && in_transaction && sql("ROLLBACK").is_err() {
            // Never keep a connection with an open transaction: start afresh.
            match crate::lite::open(path, false) {
                Ok(fresh) => *conn.lock().expect("writer connection") = fresh,
                Err(e) => tracing::error!(error = %e, "database writer cannot reopen the database"),
            }
        }
        for finish in finishers {
            finish(committed.clone());
        }
    }
}
