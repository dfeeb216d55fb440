//! One way to run a statement on either backend: arguments as values,
//! columns read by name through [`Cols`], rows turned into values by
//! [`FromRow`]. On SQLite the statement runs on a direct connection
//! ([`crate::lite`]); on PostgreSQL through sqlx. The hot path (webhook
//! ingress, signal recording, execution) goes through here, so each of its
//! queries and row mappings is written once for both databases.

use sqlx::any::AnyArguments;
use sqlx::query::Query;

use crate::Result;

/// A bound argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// A NULL of text type (PostgreSQL types every parameter).
    Null,
    /// A NULL of integer type.
    NullInt,
    Int(i64),
    Text(String),
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
        })
    }
}

/// A sqlx query with `args` bound in order.
pub(crate) fn pg_query(
    sql: &'static str,
    args: Vec<Arg>,
) -> Query<'static, sqlx::Any, AnyArguments> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Null => query.bind(None::<String>),
            Arg::NullInt => query.bind(None::<i64>),
            Arg::Int(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
        };
    }
    query
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
