//! The group-commit contract, on a real database file: jobs forced into one
//! batch (the writer is held inside an earlier batch while they queue).

use std::sync::mpsc as std_mpsc;

use super::*;
use crate::sql::{Arg, args};

struct Writer {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    jobs: mpsc::Sender<Job>,
}

fn writer() -> Writer {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("batch.db");
    let setup = Connection::open(&path).expect("create");
    setup
        .execute_batch(
            "PRAGMA journal_mode = WAL; \
             CREATE TABLE parent (id INTEGER PRIMARY KEY); \
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id)); \
             CREATE TABLE t (name TEXT PRIMARY KEY);",
        )
        .expect("schema");
    drop(setup);
    let Batcher::Group(jobs) = Batcher::start_sqlite(&path).expect("writer") else {
        unreachable!("start_sqlite makes a group writer")
    };
    Writer {
        _dir: dir,
        path,
        jobs,
    }
}

impl Writer {
    /// Hold the writer thread inside a batch of its own until the returned
    /// sender is dropped or sent to; returns once the writer is held.
    fn hold(&self) -> (std_mpsc::Sender<()>, oneshot::Receiver<Result<()>>) {
        let (entered_tx, entered) = std_mpsc::channel::<()>();
        let (release, released) = std_mpsc::channel::<()>();
        let done = submit(&self.jobs, false, move |_tx| {
            Box::pin(async move {
                let _ = entered_tx.send(());
                let _ = released.recv();
                Ok(())
            })
        })
        .expect("submit the hold");
        entered.recv().expect("the writer took the hold");
        (release, done)
    }

    /// Queue one statement as its own job.
    fn statement(
        &self,
        atomic: bool,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> oneshot::Receiver<Result<u64>> {
        submit(&self.jobs, atomic, move |tx| {
            Box::pin(tx.execute(sql, args))
        })
        .expect("submit")
    }

    /// Names in `t`, read on a fresh connection.
    fn names(&self) -> Vec<String> {
        let conn = Connection::open(&self.path).expect("fresh connection");
        let mut stmt = conn
            .prepare("SELECT name FROM t ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows")
    }
}

#[tokio::test]
async fn a_failing_job_rolls_back_alone_and_the_rest_of_its_batch_commits() {
    let w = writer();
    let (release, held) = w.hold();
    let first = w.statement(true, "INSERT INTO t VALUES ($1)", args!["a"]);
    // Several statements, the last failing: the earlier ones must go too.
    let partial = submit(&w.jobs, false, |tx| {
        Box::pin(async move {
            tx.execute("INSERT INTO t VALUES ($1)", args!["partial"])
                .await?;
            tx.execute("INSERT INTO t VALUES ($1)", args!["a"]).await
        })
    })
    .expect("submit");
    // One statement that fails (a duplicate key), without a savepoint.
    let duplicate = w.statement(true, "INSERT INTO t VALUES ($1)", args!["a"]);
    let after = w.statement(true, "INSERT INTO t VALUES ($1)", args!["b"]);
    let multi = submit(&w.jobs, false, |tx| {
        Box::pin(async move {
            tx.execute("INSERT INTO t VALUES ($1)", args!["c"]).await?;
            tx.execute("INSERT INTO t VALUES ($1)", args!["d"]).await
        })
    })
    .expect("submit");
    release.send(()).expect("release");
    held.await.expect("answered").expect("the hold committed");
    assert_eq!(first.await.expect("answered").expect("committed"), 1);
    let err = partial.await.expect("answered").unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    let err = duplicate.await.expect("answered").unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    assert_eq!(after.await.expect("answered").expect("committed"), 1);
    assert_eq!(multi.await.expect("answered").expect("committed"), 1);
    assert_eq!(w.names(), ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn a_failed_commit_fails_every_job_of_its_batch_and_the_writer_goes_on() {
    let w = writer();
    let (release, held) = w.hold();
    let good = w.statement(true, "INSERT INTO t VALUES ($1)", args!["good"]);
    // Foreign keys checked at COMMIT: the statement succeeds, the commit fails.
    let orphan = submit(&w.jobs, false, |tx| {
        Box::pin(async move {
            tx.execute("PRAGMA defer_foreign_keys = ON", args![])
                .await?;
            tx.execute(
                "INSERT INTO child (id, parent_id) VALUES ($1, $2)",
                args![1i64, 42i64],
            )
            .await
        })
    })
    .expect("submit");
    let also_good = w.statement(false, "INSERT INTO t VALUES ($1)", args!["also good"]);
    release.send(()).expect("release");
    held.await.expect("answered").expect("the hold committed");
    for (name, answer) in [("good", good), ("orphan", orphan), ("also good", also_good)] {
        let err = answer.await.expect("answered").unwrap_err();
        assert!(err.to_string().contains("commit failed"), "{name}: {err}");
        assert!(err.to_string().contains("FOREIGN KEY"), "{name}: {err}");
    }
    assert!(w.names().is_empty(), "nothing of the failed batch is kept");
    // The writer is not left inside the broken transaction.
    let next = w.statement(true, "INSERT INTO t VALUES ($1)", args!["next"]);
    assert_eq!(next.await.expect("answered").expect("committed"), 1);
    assert_eq!(w.names(), ["next"]);
}

#[tokio::test]
async fn no_job_is_answered_before_its_batch_is_committed() {
    let w = writer();
    let (release, held) = w.hold();
    let first = w.statement(true, "INSERT INTO t VALUES ($1)", args!["first"]);
    // The last job of the batch holds its COMMIT open (a commit hook on the
    // writer's connection) until the test has looked.
    let (committing_tx, committing) = std_mpsc::channel::<()>();
    let (go, go_rx) = std_mpsc::channel::<()>();
    let hook = submit(&w.jobs, false, move |tx| {
        Box::pin(async move {
            let Tx::Lite(conn) = tx else {
                unreachable!("the writer runs SQLite jobs")
            };
            let mut once = Some((committing_tx, go_rx));
            conn.lock().expect("writer").commit_hook(Some(move || {
                if let Some((committing, go)) = once.take() {
                    let _ = committing.send(());
                    let _ = go.recv();
                }
                false
            }))?;
            Ok(())
        })
    })
    .expect("submit");
    let mut first = first;
    release.send(()).expect("release");
    held.await.expect("answered").expect("the hold committed");
    committing.recv().expect("the batch reached its commit");
    // Every job ran; the commit is under way but not done.
    assert!(
        matches!(first.try_recv(), Err(oneshot::error::TryRecvError::Empty)),
        "a job was answered before its batch committed"
    );
    assert!(w.names().is_empty(), "visible before the commit");
    go.send(()).expect("let the commit finish");
    assert_eq!(first.await.expect("answered").expect("committed"), 1);
    // Answered: a fresh connection already sees the row.
    assert_eq!(w.names(), ["first"]);
    hook.await.expect("answered").expect("committed");
}
