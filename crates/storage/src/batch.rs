//! Group commit: write jobs that arrive together share one transaction and
//! so one durable commit (one WAL fsync on SQLite, one WAL flush on
//! PostgreSQL), and each job's caller is answered only after that commit
//! succeeded. A job that fails is rolled back alone (savepoint); a commit
//! that fails fails every job of the batch, and none is answered as done.
//!
//! One task owns one connection and runs batches back to back: while a
//! batch commits, the next one gathers, so there is no added waiting at low
//! load and batches grow by themselves under load. On SQLite this task is
//! also the one writer the hot path uses, so hot writes queue in memory
//! (FIFO) instead of sleeping in SQLite's busy handler.

use std::future::Future;
use std::pin::Pin;

use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::{Backend, Result, StorageError};

/// Most jobs in one transaction.
const MAX_BATCH: usize = 256;

type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;
/// Called once the batch's commit is known: `Ok` = durable.
type Finisher = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
type JobFn =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Option<Finisher>> + Send>;

pub(crate) struct Job {
    run: JobFn,
    /// One statement: it fails without effect, so it needs no savepoint.
    atomic: bool,
}

#[derive(Clone)]
pub(crate) enum Batcher {
    /// SQLite: one writer task, group commit.
    Group(mpsc::UnboundedSender<Job>),
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
    pub(crate) fn start(pool: AnyPool, backend: Backend) -> Batcher {
        match backend {
            Backend::Sqlite => {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(run(pool, rx));
                Batcher::Group(tx)
            }
            Backend::Postgres => Batcher::Direct(pool),
        }
    }

    /// Run `f` inside the next group transaction; its result once committed.
    pub(crate) async fn run<T, F>(&self, atomic: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let jobs = match self {
            Batcher::Group(jobs) => jobs,
            Batcher::Direct(pool) => {
                let mut tx = pool.begin().await?;
                let value = f(&mut tx).await?;
                tx.commit().await?;
                return Ok(value);
            }
        };
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let run: JobFn = Box::new(move |conn| {
            Box::pin(async move {
                match f(conn).await {
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
            })
        });
        jobs.send(Job { run, atomic })
            .map_err(|_| StorageError::Invalid("the database writer has stopped".into()))?;
        rx.await.map_err(|_| {
            StorageError::Invalid("the database writer dropped the write (connection lost)".into())
        })?
    }
}

async fn run(pool: AnyPool, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut conn = None;
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            match pool.acquire().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::error!(error = %e, "database writer cannot get a connection");
                    continue; // dropping the jobs answers their callers with an error
                }
            }
        }
        let c = conn.as_mut().expect("connection");
        if let Err(e) = c.execute("BEGIN IMMEDIATE").await {
            tracing::error!(error = %e, "database writer cannot begin a transaction");
            if let Some(c) = conn.take() {
                let _ = c.close().await;
            }
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
            if savepoint && c.execute("SAVEPOINT job").await.is_err() {
                stop = Some(true);
                continue;
            }
            match (job.run)(c).await {
                Some(finish) => {
                    if savepoint && c.execute("RELEASE SAVEPOINT job").await.is_err() {
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
                    if c.execute("ROLLBACK TO SAVEPOINT job").await.is_err()
                        || c.execute("RELEASE SAVEPOINT job").await.is_err()
                    {
                        stop = Some(false);
                    }
                }
            }
        }
        let committed = if stop == Some(false) {
            Err("the batch transaction broke".to_string())
        } else {
            c.execute("COMMIT")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        if committed.is_err() && c.execute("ROLLBACK").await.is_err() {
            // Never hand a connection with an open transaction back to the pool.
            if let Some(c) = conn.take() {
                let _ = c.close().await;
            }
        }
        for finish in finishers {
            finish(committed.clone());
        }
    }
}
