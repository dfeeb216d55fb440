//! SQLite without sqlx's hand-offs: every repository statement runs on direct
//! connections to the same file the sqlx pool uses (same bundled SQLite).
//!
//! sqlx runs each SQLite connection on its own thread and passes every
//! statement there and back (two thread switches per statement); on two
//! cores that scheduling, not SQL, was half the server's CPU. Here a read
//! runs on tokio's blocking pool (never on an async worker: it may wait for
//! SQLite or the disk) on a connection taken from a small pool, and every
//! write goes to the one writer thread ([`crate::batch`]), which answers a
//! whole group-committed batch at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use crate::sql::{Arg, FromRow};
use crate::{Result, StorageError};

/// Read connections kept for reuse (more are opened under bursts).
const KEPT_READERS: usize = 8;

pub(crate) struct Lite {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
}

impl Lite {
    pub(crate) fn new(path: PathBuf) -> Lite {
        Lite {
            path,
            readers: Mutex::new(Vec::new()),
        }
    }

    /// Run `f` on a read-only connection, inline on the calling task. In
    /// WAL mode a reader never waits for the writer (it reads the last
    /// committed snapshot), so a read is bounded by its own work — about
    /// 10 µs for the hot path's (crates/storage/benches/reads.rs) — and
    /// cannot stall an async worker. Measured alternatives were worse: on
    /// tokio's blocking pool every read cost ~17 µs more and a 500-follower
    /// fan-out started a thread and a connection per read (fan-out 221 →
    /// 718 ms, +45 MiB); bounding that pool to the kept connections queued
    /// ingress reads behind the executor's (ack p50 @1,000/s 1.5 → 2.6 ms).
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.read_here(f)
    }

    /// Run `f` on a read-only connection, on this thread.
    fn read_here<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().expect("readers").pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open(&self.path, true)?,
        };
        let result = f(&conn);
        let mut readers = self.readers.lock().expect("readers");
        if readers.len() < KEPT_READERS {
            readers.push(conn);
        }
        result
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// The database file of a `sqlite://PATH[?options]` URL.
pub(crate) fn path_of(url: &str) -> Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return Err(StorageError::Invalid(format!(
            "atomik needs a SQLite database file, not {url:?}: use sqlite://PATH"
        )));
    }
    Ok(PathBuf::from(path))
}

/// The database file holds everyone's account data: it is created readable
/// by the owner only (mode 0600, like the vault key), and an existing file
/// readable by others is tightened. SQLite gives its `-wal` and `-shm` files
/// the database file's mode; existing ones are tightened too.
pub(crate) fn make_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| {
            StorageError::Invalid(format!(
                "cannot create or secure the database file {}: {e}",
                path.display()
            ))
        };
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %file.display(), "database file was readable by others: now mode 0600");
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
        }
    }
    Ok(())
}

/// A connection with the durability and locking atomik requires
/// (`synchronous` is per connection; WAL is already set on the file).
pub(crate) fn open(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    // mmap: pages of the main file are read in place instead of copied by
    // pread (a WAL reader's page cache is reset whenever another connection
    // commits, so under load nearly every read fetches pages anew).
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
         PRAGMA mmap_size = 268435456;",
    )?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = 1;")?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Bind `args` to `$1`, `$2`, … (or `?1`, …) by name (SQLite numbers `$N`
/// parameters in order of first appearance, which need not be N).
fn bind(stmt: &mut rusqlite::Statement<'_>, args: &[Arg]) -> Result<()> {
    for index in 1..=stmt.parameter_count() {
        let arg = stmt
            .parameter_name(index)
            .and_then(|name| name.strip_prefix(['$', '?']))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| args.get(n.checked_sub(1)?))
            .ok_or_else(|| {
                StorageError::Invalid(format!(
                    "statement parameter {index} has no argument ({} given)",
                    args.len()
                ))
            })?;
        stmt.raw_bind_parameter(index, arg)?;
    }
    Ok(())
}

/// Run one statement; rows changed.
pub(crate) fn execute(conn: &Connection, sql: &str, args: &[Arg]) -> Result<u64> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    Ok(stmt.raw_execute()? as u64)
}

/// Run one statement whose parameters are `?1`, `?2`, … in order: bound by
/// position (looking names up is linear per parameter in SQLite).
pub(crate) fn execute_numbered(conn: &Connection, sql: &str, args: &[Arg]) -> Result<u64> {
    let mut stmt = conn.prepare_cached(sql)?;
    if stmt.parameter_count() != args.len() {
        return Err(StorageError::Invalid(format!(
            "statement has {} parameters, {} given",
            stmt.parameter_count(),
            args.len()
        )));
    }
    for (index, arg) in args.iter().enumerate() {
        stmt.raw_bind_parameter(index + 1, arg)?;
    }
    Ok(stmt.raw_execute()? as u64)
}

/// Up to `limit` rows of a query.
pub(crate) fn fetch<T: FromRow>(
    conn: &Connection,
    sql: &str,
    args: &[Arg],
    limit: usize,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while out.len() < limit {
        match rows.next()? {
            Some(row) => out.push(T::from_row(row)?),
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Inserts, Tx, args};

    fn temp_db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        Connection::open(&path).expect("create");
        let conn = open(&path, false).expect("open");
        (dir, conn)
    }

    #[test]
    fn dollar_parameters_bind_by_number_whatever_their_order() {
        let (_dir, conn) = temp_db();
        let rows: Vec<crate::sql::Scalar<String>> = fetch(
            &conn,
            "SELECT $2 || $1 || $2",
            &[Arg::from("a"), Arg::from("b")],
            10,
        )
        .unwrap();
        assert_eq!(rows[0].0, "bab");
        let missing = fetch::<crate::sql::Scalar<String>>(&conn, "SELECT $3", &[Arg::from("a")], 1);
        assert!(missing.unwrap_err().to_string().contains("no argument"));
    }

    #[test]
    fn numbered_statement_refuses_a_wrong_argument_count() {
        let (_dir, conn) = temp_db();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT)")
            .unwrap();
        let err =
            execute_numbered(&conn, "INSERT INTO t VALUES (?1, ?2)", &[Arg::Int(1)]).unwrap_err();
        assert!(err.to_string().contains("2 parameters, 1 given"), "{err}");
        assert_eq!(
            execute_numbered(
                &conn,
                "INSERT INTO t VALUES (?1, ?2)",
                &[Arg::Int(1), Arg::from("x")]
            )
            .unwrap(),
            1
        );
    }

    #[test]
    fn inserts_beyond_one_statements_argument_limit_are_split_and_all_written() {
        let (_dir, conn) = temp_db();
        conn.execute_batch("CREATE TABLE wide (n INTEGER, a TEXT, b TEXT, c TEXT, d TEXT)")
            .unwrap();
        conn.execute_batch("CREATE TABLE other (n INTEGER)")
            .unwrap();
        let mut inserts = Inserts::default();
        // 7,000 rows × 5 columns = 35,000 arguments: above one statement's limit.
        for n in 0..7_000i64 {
            inserts.row("wide (n, a, b, c, d)", args![n, "a", "b", "c", "d"]);
        }
        inserts.row("other (n)", args![42i64]);
        let conn = std::sync::Mutex::new(conn);
        let done = poll(inserts.execute(&mut Tx::Lite(&conn)));
        done.expect("inserted");
        let conn = conn.into_inner().unwrap();
        let (count, sum): (i64, i64) = conn
            .query_row("SELECT COUNT(*), SUM(n) FROM wide", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((count, sum), (7_000, (0..7_000).sum()));
        let other: i64 = conn
            .query_row("SELECT n FROM other", [], |r| r.get(0))
            .unwrap();
        assert_eq!(other, 42);
    }

    /// SQLite work never waits: one poll finishes it.
    fn poll<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("SQLite work waited"),
        }
    }
}
