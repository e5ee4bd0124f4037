use std::fmt;

/// What can go wrong in storage, in terms the use cases can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint rejected the write; the payload names the constraint's column(s).
    #[error("duplicate value for {0}")]
    Duplicate(String),
    /// A stored value could not be understood (a corrupt row or a bug).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] DatabaseError),
}

/// The underlying driver error, wrapped so callers never name sqlx or rusqlite.
pub struct DatabaseError(Driver);

enum Driver {
    Sqlx(sqlx::Error),
    /// The read path (`reader`).
    Sqlite(rusqlite::Error),
    /// The reader pool itself (closed, or a reading thread panicked).
    Other(String),
}

impl DatabaseError {
    pub(crate) fn other(what: impl fmt::Display) -> DatabaseError {
        DatabaseError(Driver::Other(what.to_string()))
    }
}

impl fmt::Debug for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Driver::Sqlx(err) => err.fmt(f),
            Driver::Sqlite(err) => err.fmt(f),
            Driver::Other(err) => err.fmt(f),
        }
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Driver::Sqlx(err) => err.fmt(f),
            Driver::Sqlite(err) => err.fmt(f),
            Driver::Other(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for DatabaseError {}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            // SQLite: "UNIQUE constraint failed: users.username_lower"
            let message = db.message();
            let column = message.rsplit(": ").next().unwrap_or(message).to_owned();
            return StoreError::Duplicate(column);
        }
        StoreError::Database(DatabaseError(Driver::Sqlx(err)))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(DatabaseError(Driver::Sqlx(sqlx::Error::Migrate(Box::new(
            err,
        )))))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match err {
            // A column holding an unexpected type is a corrupt row, not a failing database.
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => corrupt(err),
            err => StoreError::Database(DatabaseError(Driver::Sqlite(err))),
        }
    }
}

pub(crate) fn corrupt(what: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
