use crate::model::PersonalAccessToken;
use crate::{Store, StoreError, now_ms};

const TOKEN_COLUMNS: &str =
    "id, user_id, name, scopes, expires_at, revoked, created_at, last_used_at";

impl Store {
    pub async fn create_personal_access_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        scopes: &[String],
        expires_at: Option<&str>,
    ) -> Result<PersonalAccessToken, StoreError> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO personal_access_tokens (user_id, name, token_hash, scopes, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(scopes.join(" "))
        .bind(expires_at)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await?)
    }

    /// The token with this hash, as of the last write to an access table (see `cache`):
    /// a revoke takes effect with its commit.
    pub async fn personal_access_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<PersonalAccessToken>, StoreError> {
        let generation = self.watch.access.current();
        if let Some(token) = self
            .caches
            .personal_access_token
            .get(token_hash, generation)
        {
            return Ok(Some(token));
        }
        let token: Option<PersonalAccessToken> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM personal_access_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        if let Some(token) = &token {
            self.caches
                .personal_access_token
                .put(token_hash, generation, token);
        }
        Ok(token)
    }

    pub async fn personal_access_token_by_id(
        &self,
        id: i64,
    ) -> Result<Option<PersonalAccessToken>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM personal_access_tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn revoke_personal_access_token(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE personal_access_tokens SET revoked = TRUE WHERE id = $1 AND revoked = FALSE",
        )
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
