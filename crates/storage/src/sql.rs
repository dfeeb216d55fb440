//! One way to run a statement on either backend: arguments as values,
//! columns read by name through [`Cols`], rows turned into values by
//! [`FromRow`]. On SQLite the statement runs on a direct connection
//! ([`crate::lite`]); on PostgreSQL through sqlx. The hot path (webhook
//! ingress, signal recording, execution) goes through here, so each of its
//! queries and row mappings is written once for both databases.

use sqlx::any::AnyArguments;
use sqlx::query::Query;

use crate::Result;

/// A bound argument. Its `Debug` shows no values: arguments carry token
/// digests, password hashes and sealed credentials.
#[derive(Clone, PartialEq)]
pub(crate) enum Arg {
    /// A NULL of text type (PostgreSQL types every parameter).
    Null,
    /// A NULL of integer type.
    NullInt,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl std::fmt::Debug for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Null | Arg::NullInt => f.write_str("NULL"),
            Arg::Int(_) => f.write_str("Int(…)"),
            Arg::Text(v) => write!(f, "Text({} bytes)", v.len()),
            Arg::Blob(v) => write!(f, "Blob({} bytes)", v.len()),
        }
    }
}

impl From<&[u8]> for Arg {
    fn from(v: &[u8]) -> Self {
        Arg::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Blob(v)
    }
}
impl From<&Vec<u8>> for Arg {
    fn from(v: &Vec<u8>) -> Self {
        Arg::Blob(v.clone())
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Int(v as i64)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        v.as_deref().into()
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        v.map_or(Arg::Null, Arg::Text)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}

/// `args![a, b, …]`: the arguments `$1`, `$2`, … of a statement.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        vec![$($crate::sql::Arg::from($arg)),*]
    };
}
pub(crate) use args;

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Arg::Null | Arg::NullInt => ToSqlOutput::Borrowed(ValueRef::Null),
            Arg::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Arg::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Arg::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

/// A sqlx query with `args` bound in order.
pub(crate) fn pg_query(
    sql: &'static str,
    args: Vec<Arg>,
) -> Query<'static, sqlx::Any, AnyArguments> {
    args.into_iter().fold(sqlx::query(sql), bind_pg)
}

fn bind_pg<'q>(
    query: Query<'q, sqlx::Any, AnyArguments>,
    arg: Arg,
) -> Query<'q, sqlx::Any, AnyArguments> {
    match arg {
        Arg::Null => query.bind(None::<String>),
        Arg::NullInt => query.bind(None::<i64>),
        Arg::Int(v) => query.bind(v),
        Arg::Text(v) => query.bind(v),
        Arg::Blob(v) => query.bind(v),
    }
}

/// `alias.column AS {prefix}column, …` for every column of `columns` (a
/// comma-separated list): a joined table's columns under their own names.
pub(crate) fn prefixed_columns(alias: &str, columns: &str, prefix: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{0} AS {prefix}{0}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column type both drivers can decode.
pub(crate) trait ColType:
    sqlx::Type<sqlx::Any> + for<'r> sqlx::Decode<'r, sqlx::Any> + rusqlite::types::FromSql
{
}
impl<T> ColType for T where
    T: sqlx::Type<sqlx::Any> + for<'r> sqlx::Decode<'r, sqlx::Any> + rusqlite::types::FromSql
{
}

/// Read a row's columns by name, whichever driver produced it.
pub(crate) trait Cols {
    fn try_get<T: ColType>(&self, name: &str) -> Result<T>;
    fn at<T: ColType>(&self, index: usize) -> Result<T>;
}

impl Cols for sqlx::any::AnyRow {
    fn try_get<T: ColType>(&self, name: &str) -> Result<T> {
        Ok(sqlx::Row::try_get(self, name)?)
    }
    fn at<T: ColType>(&self, index: usize) -> Result<T> {
        Ok(sqlx::Row::try_get(self, index)?)
    }
}

impl Cols for rusqlite::Row<'_> {
    fn try_get<T: ColType>(&self, name: &str) -> Result<T> {
        Ok(self.get(name)?)
    }
    fn at<T: ColType>(&self, index: usize) -> Result<T> {
        Ok(self.get(index)?)
    }
}

/// A value made from one row.
pub(crate) trait FromRow: Sized {
    fn from_row(row: &impl Cols) -> Result<Self>;
}

/// The first column.
#[derive(Debug)]
pub(crate) struct Scalar<T>(pub T);

impl<T: ColType> FromRow for Scalar<T> {
    fn from_row(row: &impl Cols) -> Result<Self> {
        row.at(0).map(Scalar)
    }
}

impl<A: ColType, B: ColType> FromRow for (A, B) {
    fn from_row(row: &impl Cols) -> Result<Self> {
        Ok((row.at(0)?, row.at(1)?))
    }
}

impl<A: ColType, B: ColType, C: ColType> FromRow for (A, B, C) {
    fn from_row(row: &impl Cols) -> Result<Self> {
        Ok((row.at(0)?, row.at(1)?, row.at(2)?))
    }
}

impl<A: ColType, B: ColType, C: ColType, D: ColType> FromRow for (A, B, C, D) {
    fn from_row(row: &impl Cols) -> Result<Self> {
        Ok((row.at(0)?, row.at(1)?, row.at(2)?, row.at(3)?))
    }
}

impl<A: ColType, B: ColType, C: ColType, D: ColType, E: ColType> FromRow for (A, B, C, D, E) {
    fn from_row(row: &impl Cols) -> Result<Self> {
        Ok((row.at(0)?, row.at(1)?, row.at(2)?, row.at(3)?, row.at(4)?))
    }
}

/// A transaction of a group-commit batch (see [`crate::batch`]).
pub(crate) enum Tx<'a> {
    /// The writer thread's connection (a mutex only to make the future
    /// `Send`: it is the only user, so the lock is never contended).
    Lite(&'a std::sync::Mutex<rusqlite::Connection>),
    Pg(&'a mut sqlx::AnyConnection),
}

impl Tx<'_> {
    pub(crate) async fn execute(&mut self, sql: &'static str, args: Vec<Arg>) -> Result<u64> {
        match self {
            Tx::Lite(conn) => crate::lite::execute(&conn.lock().expect("writer"), sql, &args),
            Tx::Pg(conn) => Ok(pg_query(sql, args)
                .execute(&mut **conn)
                .await?
                .rows_affected()),
        }
    }

    pub(crate) async fn fetch_all<T: FromRow>(
        &mut self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Vec<T>> {
        match self {
            Tx::Lite(conn) => {
                crate::lite::fetch(&conn.lock().expect("writer"), sql, &args, usize::MAX)
            }
            Tx::Pg(conn) => pg_query(sql, args)
                .fetch_all(&mut **conn)
                .await?
                .iter()
                .map(T::from_row)
                .collect(),
        }
    }

    pub(crate) async fn fetch_optional<T: FromRow>(
        &mut self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Option<T>> {
        match self {
            Tx::Lite(conn) => {
                Ok(crate::lite::fetch(&conn.lock().expect("writer"), sql, &args, 1)?.pop())
            }
            Tx::Pg(conn) => pg_query(sql, args)
                .fetch_optional(&mut **conn)
                .await?
                .as_ref()
                .map(T::from_row)
                .transpose(),
        }
    }
}

/// Most arguments in one statement (below SQLite's 32,766 and PostgreSQL's
/// 65,535).
const MAX_ARGS: usize = 30_000;

/// Inserts written together: on SQLite one statement per table (in-process,
/// cheap); on PostgreSQL all in one statement (a data-modifying CTE: one
/// round trip instead of one per row). Rows are values in column order.
#[derive(Default)]
pub(crate) struct Inserts {
    tables: Vec<Insert>,
}

struct Insert {
    /// `table (column, …)`.
    target: &'static str,
    width: usize,
    args: Vec<Arg>,
}

impl Insert {
    /// `INSERT INTO target VALUES ($first, …), …` for `rows` rows; on SQLite
    /// `?first, …` (SQLite looks each `$name` up among those before it, which
    /// is quadratic in a 500-row insert; `?N` is not looked up).
    fn sql(&self, rows: std::ops::Range<usize>, first: usize, marker: char) -> String {
        use std::fmt::Write;
        let mut sql = format!("INSERT INTO {} VALUES ", self.target);
        let mut n = first;
        for row in rows.clone() {
            sql.push_str(if row == rows.start { "(" } else { ", (" });
            for column in 0..self.width {
                let _ = write!(sql, "{}{marker}{n}", if column == 0 { "" } else { ", " });
                n += 1;
            }
            sql.push(')');
        }
        sql
    }

    fn rows(&self) -> usize {
        self.args.len() / self.width
    }
}

impl Inserts {
    /// Add a row to `target` (`table (column, …)`).
    pub(crate) fn row(&mut self, target: &'static str, row: Vec<Arg>) {
        match self.tables.iter_mut().find(|t| t.target == target) {
            Some(table) => {
                debug_assert_eq!(table.width, row.len(), "rows of {target} differ in width");
                table.args.extend(row);
            }
            None => self.tables.push(Insert {
                target,
                width: row.len(),
                args: row,
            }),
        }
    }

    pub(crate) async fn execute(self, tx: &mut Tx<'_>) -> Result<()> {
        let total: usize = self.tables.iter().map(|t| t.args.len()).sum();
        if let Tx::Pg(conn) = tx
            && total <= MAX_ARGS
        {
            let mut sql = String::new();
            let mut args = Vec::with_capacity(total);
            let last = self.tables.len().saturating_sub(1);
            for (i, table) in self.tables.into_iter().enumerate() {
                let insert = table.sql(0..table.rows(), args.len() + 1, '$');
                sql.push_str(&match i {
                    _ if i == last && i == 0 => insert,
                    0 => format!("WITH w0 AS ({insert})"),
                    _ if i == last => format!(" {insert}"),
                    _ => format!(", w{i} AS ({insert})"),
                });
                args.extend(table.args);
            }
            if args.is_empty() {
                return Ok(());
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for arg in args {
                query = bind_pg(query, arg);
            }
            query.execute(&mut **conn).await?;
            return Ok(());
        }
        // One statement per table and chunk of rows.
        for table in self.tables {
            let per_chunk = (MAX_ARGS / table.width).max(1);
            let rows = table.rows();
            let mut start = 0;
            while start < rows {
                let end = (start + per_chunk).min(rows);
                let marker = if matches!(tx, Tx::Lite(_)) { '?' } else { '$' };
                let sql = table.sql(start..end, 1, marker);
                let args = &table.args[start * table.width..end * table.width];
                match tx {
                    Tx::Lite(conn) => {
                        crate::lite::execute_numbered(&conn.lock().expect("writer"), &sql, args)?;
                    }
                    Tx::Pg(conn) => {
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                        for arg in args.iter().cloned() {
                            query = bind_pg(query, arg);
                        }
                        query.execute(&mut **conn).await?;
                    }
                }
                start = end;
            }
        }
        Ok(())
    }
}
