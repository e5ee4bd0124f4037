use crate::model::{Namespace, User};
use crate::reader::{self, Columns};
use crate::{Store, StoreError, now_ms};

const USER_COLUMNS: &str = "id, username, name, email, is_admin, state, bot, created_at";

pub struct NewUser {
    pub username: String,
    pub name: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub is_admin: bool,
}

/// Users not found in the cache, and the generation observed before reading them.
pub(crate) struct UserLookup {
    generation: Option<u64>,
    pub(crate) missing: Vec<i64>,
}

/// Users by id on a reader connection (one statement).
pub(crate) fn users_by_ids(
    conn: &rusqlite::Connection,
    ids: &[i64],
) -> Result<Vec<User>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id IN ({})",
        reader::placeholders(1, ids.len())
    );
    reader::query(conn, &sql, &reader::id_params(ids), |row| {
        let mut c = Columns::new(row);
        Ok(User {
            id: c.next()?,
            username: c.next()?,
            name: c.next()?,
            email: c.next()?,
            is_admin: c.next()?,
            state: c.next()?,
            bot: c.next()?,
            created_at: c.next()?,
        })
    })
}

impl Store {
    /// Creates a user and its personal namespace (path = username) in one transaction.
    pub async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let user: User = sqlx::query_as(&format!(
            "INSERT INTO users (username, username_lower, name, email, email_lower, password_hash, is_admin, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {USER_COLUMNS}"
        ))
        .bind(&new.username)
        .bind(new.username.to_lowercase())
        .bind(&new.name)
        .bind(&new.email)
        .bind(new.email.to_lowercase())
        .bind(&new.password_hash)
        .bind(new.is_admin)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO namespaces (kind, name, path, full_path, full_path_lower, owner_id, visibility, created_at)
             VALUES ('user', $1, $2, $2, $3, $4, 'public', $5)",
        )
        .bind(&new.name)
        .bind(&new.username)
        .bind(new.username.to_lowercase())
        .bind(user.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Cached until the next write to the access tables (see `cache`).
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        Ok(self.users_by_ids(&[id]).await?.pop())
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username_lower = $1"
        ))
        .bind(username.to_lowercase())
        .fetch_optional(&self.read)
        .await?)
    }

    /// Loads many users in one statement (entity lists must not query per row); users read
    /// since the last write to the access tables come from the cache (see `cache`).
    pub async fn users_by_ids(&self, ids: &[i64]) -> Result<Vec<User>, StoreError> {
        let (mut users, lookup) = self.cached_users(ids);
        let Some(lookup) = lookup else {
            return Ok(users);
        };
        let missing = lookup.missing.clone();
        let read = self
            .readers
            .run(move |conn| users_by_ids(conn, &missing))
            .await?;
        users.extend(self.keep_users(&lookup, read));
        Ok(users)
    }

    /// The cached users among `ids`, and what is left to read (`None`: nothing).
    pub(crate) fn cached_users(&self, ids: &[i64]) -> (Vec<User>, Option<UserLookup>) {
        let generation = self.watch.access.current();
        let mut users = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.caches.user_by_id.get(&id.to_string(), generation) {
                Some(user) => users.push(user),
                None => missing.push(*id),
            }
        }
        let lookup = (!missing.is_empty()).then_some(UserLookup {
            generation,
            missing,
        });
        (users, lookup)
    }

    /// Caches users read for `lookup` and hands them back.
    pub(crate) fn keep_users(&self, lookup: &UserLookup, read: Vec<User>) -> Vec<User> {
        for user in &read {
            self.caches
                .user_by_id
                .put(&user.id.to_string(), lookup.generation, user);
        }
        read
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await?)
    }

    /// The personal namespace of a user.
    pub async fn user_namespace(&self, user_id: i64) -> Result<Option<Namespace>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind, name, path, full_path, parent_id, owner_id, visibility, created_at
             FROM namespaces WHERE kind = 'user' AND owner_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?)
    }
}
