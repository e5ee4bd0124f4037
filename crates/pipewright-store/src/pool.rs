use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;
use crate::cache::{Caches, Watch};
use crate::reader::Readers;

/// Handle to the database: one writer connection and a pool of readers.
#[derive(Clone)]
pub struct Store {
    pub(crate) write: SqlitePool,
    pub(crate) read: SqlitePool,
    /// The request handlers' reads, off sqlx (see `reader`).
    pub(crate) readers: Arc<Readers>,
    /// What the writer changed, for the lookups cached in memory (see `cache`).
    pub(crate) watch: Arc<Watch>,
    pub(crate) caches: Arc<Caches>,
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
        let watch = Arc::new(Watch::default());
        let on_connect = Arc::clone(&watch);
        let on_release = Arc::clone(&watch);
        // No ping before each use: a local file connection does not go stale, and the ping
        // was a tenth of the server's CPU under load.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            // Every change goes through this one connection, so its update hook sees them all;
            // when the connection goes back to the pool, whatever it did is committed (or
            // rolled back) and cached lookups may be trusted again.
            .after_connect(move |conn, _| {
                let watch = Arc::clone(&on_connect);
                Box::pin(async move {
                    // A new connection: nothing of an earlier one is still in flight.
                    watch.settle();
                    let hook = Arc::clone(&watch);
                    conn.lock_handle()
                        .await?
                        .set_update_hook(move |change| hook.changed(change.table));
                    Ok(())
                })
            })
            .after_release(move |_, _| {
                on_release.settle();
                Box::pin(async { Ok(true) })
            })
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Store {
            write,
            read,
            readers: Arc::new(Readers::new(path)),
            watch,
            caches: Arc::default(),
        })
    }

    /// The settled generation of the tables that decide who may do what (users, tokens,
    /// members, projects, namespaces, ...), or `None` while the writer is changing them. An
    /// answer derived from those tables and read after observing generation `g` stays true
    /// while this still returns `Some(g)` (see `cache`).
    pub fn access_generation(&self) -> Option<u64> {
        self.watch.access.current()
    }

    pub async fn close(&self) {
        self.readers.close();
        self.read.close().await;
        self.write.close().await;
    }
}
