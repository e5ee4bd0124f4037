//! Users, personal access tokens and the first administrator.

use std::path::Path;

use pipewright_store::model::{PersonalAccessToken, User};
use pipewright_store::{NewUser, StoreError};

use crate::App;
use crate::auth::{Actor, TOKEN_SCOPES};
use crate::error::{Error, Result};
use crate::tokens::{PERSONAL_ACCESS_TOKEN_PREFIX, generate, hash_token};

/// What start-up did about the administrator.
#[derive(Debug)]
pub enum RootBootstrap {
    /// The database already had users; nothing changed.
    Existing,
    /// `root` was created; `generated` is true when the token was random (print it once).
    Created { token: String, generated: bool },
}

/// Creates `root` (id 1) with an `api` token on first start, writing the token to
/// `<data_dir>/initial_root_token` (mode 0600). Never runs twice.
pub async fn bootstrap_root(app: &App, preset_token: Option<&str>) -> Result<RootBootstrap> {
    if app.store.count_users().await? > 0 {
        return Ok(RootBootstrap::Existing);
    }
    let user = app
        .store
        .create_user(&NewUser {
            username: "root".into(),
            name: "Administrator".into(),
            email: "admin@example.com".into(),
            password_hash: None,
            is_admin: true,
        })
        .await?;
    let (token, generated) = match preset_token.filter(|token| !token.is_empty()) {
        Some(token) => (token.to_owned(), false),
        None => (generate(PERSONAL_ACCESS_TOKEN_PREFIX), true),
    };
    app.store
        .create_personal_access_token(
            user.id,
            "initial root token",
            &hash_token(&token),
            &["api".to_owned()],
            None,
        )
        .await?;
    write_secret_file(&app.data_dir().join("initial_root_token"), &token)
        .map_err(Error::internal)?;
    Ok(RootBootstrap::Created { token, generated })
}

fn write_secret_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

pub struct CreateUser {
    pub username: String,
    pub name: String,
    pub email: String,
    pub password: Option<String>,
    pub admin: bool,
}

/// `POST /users` (admin only).
pub async fn create_user(app: &App, actor: &Actor, params: CreateUser) -> Result<User> {
    require_admin(actor)?;
    actor.require_write_scope()?;
    if !valid_username(&params.username) {
        return Err(Error::Message {
            status: 400,
            message: serde_json::json!({ "username": ["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'."] }),
        });
    }
    if !params.email.contains('@') {
        return Err(Error::Message {
            status: 400,
            message: serde_json::json!({ "email": ["is invalid"] }),
        });
    }
    // GitLab's minimum password length (`Devise.password_length`).
    if params
        .password
        .as_deref()
        .is_some_and(|password| password.chars().count() < 8)
    {
        return Err(Error::Message {
            status: 400,
            message: serde_json::json!({ "password": ["is too short (minimum is 8 characters)"] }),
        });
    }
    let password_hash = match params.password.as_deref() {
        Some(password) => Some(crate::passwords::hash(password).await?),
        None => None,
    };
    let created = app
        .store
        .create_user(&NewUser {
            username: params.username,
            name: params.name,
            email: params.email,
            password_hash,
            is_admin: params.admin,
        })
        .await;
    match created {
        Ok(user) => Ok(user),
        Err(StoreError::Duplicate(column)) if column.contains("email") => {
            Err(Error::message(409, "Email has already been taken"))
        }
        Err(StoreError::Duplicate(_)) => {
            Err(Error::message(409, "Username has already been taken"))
        }
        Err(err) => Err(err.into()),
    }
}

/// GitLab's username rule: letters, digits, `_`, `-`, `.`; not starting with `-`, not ending
/// with `.`, `.git` or `.atom`.
pub fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= 255
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !username.starts_with('-')
        && !username.ends_with('.')
        && !username.ends_with(".git")
        && !username.ends_with(".atom")
}

pub async fn find_user(app: &App, id_or_username: &str) -> Result<User> {
    let user = match id_or_username.parse::<i64>() {
        Ok(id) => app.store.user_by_id(id).await?,
        Err(_) => app.store.user_by_username(id_or_username).await?,
    };
    user.ok_or_else(|| Error::not_found("User"))
}

pub struct CreateToken {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
}

/// `POST /users/:id/personal_access_tokens` (admin only). Returns the record and the clear token.
pub async fn create_personal_access_token(
    app: &App,
    actor: &Actor,
    user_id: i64,
    params: CreateToken,
) -> Result<(PersonalAccessToken, String)> {
    require_admin(actor)?;
    actor.require_write_scope()?;
    // Parameter validation comes before any lookup, as in Grape.
    if params.scopes.is_empty() {
        return Err(Error::Param("scopes is empty".into()));
    }
    if params
        .scopes
        .iter()
        .any(|scope| !TOKEN_SCOPES.contains(&scope.as_str()))
    {
        return Err(Error::Param("scopes does not have a valid value".into()));
    }
    if let Some(date) = &params.expires_at
        && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
    {
        return Err(Error::Param("expires_at is invalid".into()));
    }
    let user = app
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| Error::not_found("User"))?;
    let token = generate(PERSONAL_ACCESS_TOKEN_PREFIX);
    let record = app
        .store
        .create_personal_access_token(
            user.id,
            &params.name,
            &hash_token(&token),
            &params.scopes,
            params.expires_at.as_deref(),
        )
        .await?;
    Ok((record, token))
}

/// `DELETE /personal_access_tokens/:id`: the owner or an admin may revoke.
pub async fn revoke_personal_access_token(app: &App, actor: &Actor, id: i64) -> Result<()> {
    let user = actor.require_user()?;
    actor.require_write_scope()?;
    let token = app
        .store
        .personal_access_token_by_id(id)
        .await?
        .filter(|token| token.user_id == user.id || user.is_admin)
        .ok_or_else(|| Error::not_found("Personal Access Token"))?;
    if !app.store.revoke_personal_access_token(token.id).await? {
        return Err(Error::BadRequest("Token already revoked".into()));
    }
    Ok(())
}

fn require_admin(actor: &Actor) -> Result<()> {
    actor.require_user()?;
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}
