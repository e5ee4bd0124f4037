//! Who is calling: resolving credentials to an [`Actor`].

use pipewright_store::model::{Job, PersonalAccessToken, User};

use crate::App;
use crate::error::{Error, Result};
use crate::tokens::hash_token;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub enum Actor {
    Anonymous,
    /// A user authenticated by a personal access token.
    User {
        user: User,
        scopes: Vec<String>,
    },
    /// A job token of a running job: acts as the job's user.
    Job {
        user: User,
        job: Box<Job>,
    },
}

impl Actor {
    pub fn user(&self) -> Option<&User> {
        match self {
            Actor::Anonymous => None,
            Actor::User { user, .. } | Actor::Job { user, .. } => Some(user),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Actor::User { user, .. } if user.is_admin)
    }

    /// Requires a signed-in caller (GitLab's `authenticate!`).
    pub fn require_user(&self) -> Result<&User> {
        self.user().ok_or(Error::Unauthorized)
    }

    /// Requires a token allowed to write somewhere: `api`, or the runner scopes that open
    /// their own write routes. Which routes a scope opens is the HTTP layer's check (GitLab's
    /// `allow_access_with_scope`); this guard keeps read-only tokens from writing.
    pub fn require_write_scope(&self) -> Result<()> {
        const WRITE_SCOPES: [&str; 3] = ["api", "create_runner", "manage_runner"];
        match self {
            Actor::User { scopes, .. }
                if !scopes
                    .iter()
                    .any(|scope| WRITE_SCOPES.contains(&scope.as_str())) =>
            {
                Err(Error::InsufficientScope)
            }
            _ => Ok(()),
        }
    }
}

/// Scopes a personal access token may carry: GitLab's `Gitlab::Auth.all_available_scopes`
/// (API, repository, registry, virtual registry, observability, Duo and admin scopes).
/// The API enforces `api`, `read_api`, `read_user`, `create_runner`, `manage_runner` and `sudo`
/// (see `pipewright-http`'s route scopes); the others are accepted so GitLab clients can create
/// the tokens they ask for.
pub const TOKEN_SCOPES: &[&str] = &[
    "api",
    "read_api",
    "read_user",
    "create_runner",
    "manage_runner",
    "k8s_proxy",
    "self_rotate",
    "read_repository",
    "write_repository",
    "read_registry",
    "write_registry",
    "read_virtual_registry",
    "write_virtual_registry",
    "read_observability",
    "write_observability",
    "ai_features",
    "sudo",
    "admin_mode",
    "read_service_ping",
];

/// The user an administrator acts as with `sudo=<id|username>` (jobs-api.md §1.3.5): digits
/// are an id, anything else a username (case-insensitive), as GitLab's `UserFinder`.
pub async fn sudo_user(app: &App, identifier: &str) -> Result<User> {
    let is_id = !identifier.is_empty() && identifier.bytes().all(|byte| byte.is_ascii_digit());
    let user = if is_id {
        match identifier.parse::<i64>() {
            Ok(id) => app.store.user_by_id(id).await?,
            // Too many digits for an id: nobody has it.
            Err(_) => None,
        }
    } else {
        app.store.user_by_username(identifier).await?
    };
    user.ok_or_else(|| Error::not_found(&format!("User with ID or username '{identifier}'")))
}

/// Resolves a personal access token. Unknown tokens answer 401, revoked or expired ones
/// GitLab's OAuth-style 401.
pub async fn authenticate_token(app: &App, token: &str) -> Result<Actor> {
    let Some(pat) = app
        .store
        .personal_access_token_by_hash(&hash_token(token))
        .await?
    else {
        return Err(Error::Unauthorized);
    };
    check_token_usable(&pat, &today())?;
    let user = app
        .store
        .user_by_id(pat.user_id)
        .await?
        .ok_or(Error::Unauthorized)?;
    crate::user_states::require_active(app, &user)?;
    let scopes = pat.scope_list();
    Ok(Actor::User { user, scopes })
}

fn check_token_usable(pat: &PersonalAccessToken, today: &str) -> Result<()> {
    if pat.revoked {
        return Err(Error::InvalidToken(
            "Token was revoked. You have to re-authorize from the user.",
        ));
    }
    // Dates compare correctly as `YYYY-MM-DD` strings; a token expires at the start of its day.
    if pat.expires_at.as_deref().is_some_and(|date| date <= today) {
        return Err(Error::InvalidToken(
            "Token is expired. You can either do re-authorization or token refresh.",
        ));
    }
    Ok(())
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Resolves a CI job token: valid only while its job is `running` or `canceling` and not erased.
pub async fn authenticate_job_token(app: &App, token: &str) -> Result<Actor> {
    let job = running_job_for_token(app, token)
        .await?
        .ok_or(Error::Unauthorized)?;
    let user_id = job.user_id.ok_or(Error::Unauthorized)?;
    let user = app
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(Error::Unauthorized)?;
    crate::user_states::require_active(app, &user)?;
    Ok(Actor::Job {
        user,
        job: Box::new(job),
    })
}

/// The job a token belongs to, if that job is executing.
pub async fn running_job_for_token(app: &App, token: &str) -> Result<Option<Job>> {
    let job = app.store.job_by_token_hash(&hash_token(token)).await?;
    Ok(job.filter(|job| job.status.is_executing() && job.erased_at.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(revoked: bool, expires_at: Option<&str>) -> PersonalAccessToken {
        PersonalAccessToken {
            id: 1,
            user_id: 1,
            name: "t".into(),
            scopes: "api".into(),
            expires_at: expires_at.map(str::to_owned),
            revoked,
            created_at: 0,
            last_used_at: None,
        }
    }

    #[test]
    fn a_token_expires_at_the_start_of_its_expiry_day() {
        assert!(check_token_usable(&pat(false, Some("2026-01-02")), "2026-01-01").is_ok());
        assert!(matches!(
            check_token_usable(&pat(false, Some("2026-01-01")), "2026-01-01"),
            Err(Error::InvalidToken(text)) if text.starts_with("Token is expired")
        ));
        assert!(matches!(
            check_token_usable(&pat(true, None), "2026-01-01"),
            Err(Error::InvalidToken(text)) if text.starts_with("Token was revoked")
        ));
        assert!(check_token_usable(&pat(false, None), "2026-01-01").is_ok());
    }
}
