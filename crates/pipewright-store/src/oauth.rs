//! OAuth 2 applications and access tokens (migration 0016). Secrets and tokens arrive hashed.

use crate::{Store, StoreError, now_ms};

/// An instance-wide OAuth application (GitLab's `Authn::OauthApplication`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OauthApplication {
    pub id: i64,
    pub name: String,
    /// The client id (`application_id`).
    pub uid: String,
    pub secret_hash: String,
    pub redirect_uri: String,
    /// Space-separated scope names.
    pub scopes: String,
    pub confidential: bool,
    pub created_at: i64,
}

/// An OAuth access token with its refresh token.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OauthAccessToken {
    pub id: i64,
    pub application_id: Option<i64>,
    /// `None` for a client credentials token.
    pub user_id: Option<i64>,
    /// Space-separated scope names.
    pub scopes: String,
    /// Lifetime in seconds from `created_at`.
    pub expires_in: i64,
    /// UTC milliseconds.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl OauthAccessToken {
    pub fn scope_list(&self) -> Vec<String> {
        self.scopes.split_whitespace().map(str::to_owned).collect()
    }
}

pub struct NewOauthApplication<'a> {
    pub name: &'a str,
    pub uid: &'a str,
    pub secret_hash: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a str,
    pub confidential: bool,
}

pub struct NewOauthAccessToken<'a> {
    pub application_id: Option<i64>,
    pub user_id: Option<i64>,
    pub token_hash: &'a str,
    pub refresh_token_hash: Option<&'a str>,
    pub scopes: &'a str,
    pub expires_in: i64,
}

const APPLICATION_COLUMNS: &str =
    "id, name, uid, secret_hash, redirect_uri, scopes, confidential, created_at";
const TOKEN_COLUMNS: &str =
    "id, application_id, user_id, scopes, expires_in, created_at, revoked_at";

impl Store {
    pub async fn create_oauth_application(
        &self,
        new: &NewOauthApplication<'_>,
    ) -> Result<OauthApplication, StoreError> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO oauth_applications (name, uid, secret_hash, redirect_uri, scopes, confidential, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {APPLICATION_COLUMNS}"
        ))
        .bind(new.name)
        .bind(new.uid)
        .bind(new.secret_hash)
        .bind(new.redirect_uri)
        .bind(new.scopes)
        .bind(new.confidential)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await?)
    }

    pub async fn oauth_applications(&self) -> Result<Vec<OauthApplication>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {APPLICATION_COLUMNS} FROM oauth_applications ORDER BY id"
        ))
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn oauth_application_by_id(
        &self,
        id: i64,
    ) -> Result<Option<OauthApplication>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {APPLICATION_COLUMNS} FROM oauth_applications WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn oauth_application_by_uid(
        &self,
        uid: &str,
    ) -> Result<Option<OauthApplication>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {APPLICATION_COLUMNS} FROM oauth_applications WHERE uid = $1"
        ))
        .bind(uid)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Deletes an application and, by cascade, its tokens.
    pub async fn delete_oauth_application(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM oauth_applications WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_oauth_application_secret(
        &self,
        id: i64,
        secret_hash: &str,
    ) -> Result<Option<OauthApplication>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "UPDATE oauth_applications SET secret_hash = $1 WHERE id = $2 RETURNING {APPLICATION_COLUMNS}"
        ))
        .bind(secret_hash)
        .bind(id)
        .fetch_optional(&self.write)
        .await?)
    }

    pub async fn create_oauth_access_token(
        &self,
        new: &NewOauthAccessToken<'_>,
    ) -> Result<OauthAccessToken, StoreError> {
        let mut conn = self.write.acquire().await?;
        insert_token(&mut conn, new).await
    }

    /// Trades a refresh token's access token for a new one: the old one is revoked and the
    /// new one inserted in one transaction, only if the old one was still live (a refresh
    /// token works once, even for two requests racing).
    pub async fn refresh_oauth_access_token(
        &self,
        old_id: i64,
        new: &NewOauthAccessToken<'_>,
    ) -> Result<Option<OauthAccessToken>, StoreError> {
        let mut tx = self.write.begin().await?;
        let revoked = sqlx::query(
            "UPDATE oauth_access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(old_id)
        .execute(&mut *tx)
        .await?;
        if revoked.rows_affected() != 1 {
            return Ok(None);
        }
        let token = insert_token(&mut tx, new).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    pub async fn oauth_access_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<OauthAccessToken>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM oauth_access_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn oauth_access_token_by_refresh_hash(
        &self,
        refresh_token_hash: &str,
    ) -> Result<Option<OauthAccessToken>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM oauth_access_tokens WHERE refresh_token_hash = $1"
        ))
        .bind(refresh_token_hash)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Moves a token's creation back by `ms` (tests of expiry; nothing else calls it).
    #[doc(hidden)]
    pub async fn backdate_oauth_access_token(&self, id: i64, ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE oauth_access_tokens SET created_at = created_at - $1 WHERE id = $2")
            .bind(ms)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Revokes a token (and with it its refresh token); false when it already was.
    pub async fn revoke_oauth_access_token(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

async fn insert_token(
    conn: &mut sqlx::SqliteConnection,
    new: &NewOauthAccessToken<'_>,
) -> Result<OauthAccessToken, StoreError> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO oauth_access_tokens
             (application_id, user_id, token_hash, refresh_token_hash, scopes, expires_in, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(new.application_id)
    .bind(new.user_id)
    .bind(new.token_hash)
    .bind(new.refresh_token_hash)
    .bind(new.scopes)
    .bind(new.expires_in)
    .bind(now_ms())
    .fetch_one(conn)
    .await?)
}
