//! User passwords, read for the OAuth password grant. Only hashes are stored.

use crate::model::User;
use crate::{Store, StoreError};

#[derive(sqlx::FromRow)]
struct UserWithPassword {
    #[sqlx(flatten)]
    user: User,
    password_hash: Option<String>,
}

impl Store {
    /// The user a login names (username or email, case-insensitive, as GitLab's
    /// `User.find_by_login`) with their password hash, if any.
    pub async fn user_with_password_by_login(
        &self,
        login: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let row: Option<UserWithPassword> = sqlx::query_as(
            "SELECT id, username, name, email, is_admin, state, bot, created_at, password_hash
             FROM users WHERE username_lower = $1 OR email_lower = $1 ORDER BY id LIMIT 1",
        )
        .bind(login.to_lowercase())
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|row| (row.user, row.password_hash)))
    }

    /// Replaces a user's password hash (an old-format hash upgraded after a login).
    pub async fn set_user_password_hash(
        &self,
        user_id: i64,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
