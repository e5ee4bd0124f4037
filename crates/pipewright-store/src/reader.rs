//! The read path of the request handlers, on plain SQLite connections (`rusqlite`).
//!
//! sqlx-sqlite runs every connection on a thread of its own and sends each row across a
//! channel, so a request's half a dozen statements cost dozens of thread switches: 35–45% of
//! the server's CPU under load, against about 1% in SQLite itself (docs/PERFORMANCE.md). Here
//! a whole store call runs on one blocking-pool thread — one hand-off per call — with a
//! prepared-statement cache per connection, and rows are mapped straight into the model structs.
//!
//! Only reads come here. Writes stay on sqlx's single writer connection, whose update hook
//! feeds the generation caches (`cache`). The SQL text is the same portable text the sqlx
//! (PostgreSQL) path runs: `$n` placeholders, bound by their number.
//!
//! Every statement is reported as a `debug` event of target [`QUERY_TARGET`] with the same
//! `summary` / `db.statement` fields sqlx uses, so statement logs and the statement-count tests
//! see both paths.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, Row};
use tokio::sync::Semaphore;

use crate::StoreError;
use crate::error::DatabaseError;

/// Target of the statement events of this path (sqlx's own are `sqlx::query`).
pub const QUERY_TARGET: &str = "pipewright_store::query";

/// Connections reading at once. Reads are CPU-bound on a warm page cache, so more than a few
/// per core only adds memory (each connection has its own page cache); a slow offset page
/// still leaves others free.
const MAX_READERS: usize = 8;

/// Prepared statements kept per connection. Batch loads build `IN ($1, …, $n)` for each page
/// size, so a handful of statements come in many lengths.
const STATEMENT_CACHE: usize = 256;

/// Read-only connections, opened on demand and reused.
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    pub(crate) fn new(path: &Path) -> Readers {
        Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(MAX_READERS),
        }
    }

    /// Runs `read` on a reader connection, on the blocking pool: the whole call is one hand-off
    /// however many statements and rows it reads.
    pub(crate) async fn run<T, F>(self: &std::sync::Arc<Self>, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Database(DatabaseError::other("reader pool closed")))?;
        let readers = std::sync::Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let conn = readers.checkout()?;
            let result = read(&conn);
            readers.checkin(conn);
            result
        })
        .await
        .map_err(|err| StoreError::Database(DatabaseError::other(err)))?
    }

    fn checkout(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        // No URI parsing: data dirs may contain `?`, `#` or `%`.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn checkin(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_READERS
        {
            idle.push(conn);
        }
    }

    /// Drops the idle connections (the store is closing).
    pub(crate) fn close(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

/// Runs `sql` with `params` bound by their `$n` number and maps every row.
pub(crate) fn query<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    mut map: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    log(sql);
    let mut statement = conn.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let value = statement
            .parameter_name(index)
            .and_then(|name| name.get(1..))
            .and_then(|number| number.parse::<usize>().ok())
            .and_then(|number| params.get(number.checked_sub(1)?))
            .ok_or_else(|| crate::error::corrupt(format!("unbound parameter {index} in {sql}")))?;
        statement.raw_bind_parameter(index, value)?;
    }
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// [`query`] for at most one row.
pub(crate) fn query_optional<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    map: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    Ok(query(conn, sql, params, map)?.into_iter().next())
}

/// `$1, $2, …, $n` for an `IN (…)` list of `n` values starting at `$first`.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    let mut text = String::with_capacity(n * 4);
    for number in first..first + n {
        if number > first {
            text.push_str(", ");
        }
        text.push('$');
        text.push_str(&number.to_string());
    }
    text
}

/// The values of an id list as bind parameters.
pub(crate) fn id_params(ids: &[i64]) -> Vec<&dyn ToSql> {
    ids.iter().map(|id| id as &dyn ToSql).collect()
}

fn log(sql: &str) {
    tracing::debug!(
        target: QUERY_TARGET,
        summary = sql.split_whitespace().take(4).collect::<Vec<_>>().join(" "),
        db.statement = sql,
    );
}

/// Reads a row's columns in the order of its `SELECT` list.
pub(crate) struct Columns<'a, 'r> {
    row: &'a Row<'r>,
    next: usize,
}

impl<'a, 'r> Columns<'a, 'r> {
    pub(crate) fn new(row: &'a Row<'r>) -> Self {
        Columns { row, next: 0 }
    }

    pub(crate) fn next<T: rusqlite::types::FromSql>(&mut self) -> Result<T, StoreError> {
        let value = self.row.get(self.next)?;
        self.next += 1;
        Ok(value)
    }
}
