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

/// The underlying driver error, wrapped so callers never name sqlx.
pub struct DatabaseError(sqlx::Error);

impl fmt::Debug for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
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
        StoreError::Database(DatabaseError(err))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(DatabaseError(sqlx::Error::Migrate(Box::new(err))))
    }
}

pub(crate) fn corrupt(what: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
