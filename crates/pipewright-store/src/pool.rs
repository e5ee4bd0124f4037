use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;

/// Handle to the database: one writer connection and a pool of readers.
#[derive(Clone)]
pub struct Store {
    pub(crate) write: SqlitePool,
    pub(crate) read: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and runs pending migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        // A filename, not a URL: data dirs may contain `?`, `#` or `%`.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // No ping before each use: a local file connection does not go stale, and the ping
        // was a tenth of the server's CPU under load.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Store { write, read })
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}
