use crate::model::{Namespace, User};
use crate::{Store, StoreError, now_ms};

const USER_COLUMNS: &str = "id, username, name, email, is_admin, state, bot, created_at";

pub struct NewUser {
    pub username: String,
    pub name: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub is_admin: bool,
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

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username_lower = $1"
        ))
        .bind(username.to_lowercase())
        .fetch_optional(&self.read)
        .await?)
    }

    /// Loads many users in one statement (entity lists must not query per row).
    pub async fn users_by_ids(&self, ids: &[i64]) -> Result<Vec<User>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query =
            sqlx::QueryBuilder::new(format!("SELECT {USER_COLUMNS} FROM users WHERE id IN ("));
        let mut separated = query.separated(", ");
        for id in ids {
            separated.push_bind(*id);
        }
        query.push(")");
        Ok(query.build_query_as().fetch_all(&self.read).await?)
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
