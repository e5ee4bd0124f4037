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

    /// Requires a token allowed to write (`api` scope); `read_api` tokens only read.
    pub fn require_write_scope(&self) -> Result<()> {
        match self {
            Actor::User { scopes, .. } if !scopes.iter().any(|scope| scope == "api") => {
                Err(Error::InsufficientScope)
            }
            _ => Ok(()),
        }
    }
}

/// Scopes a personal access token may carry.
pub const TOKEN_SCOPES: [&str; 2] = ["api", "read_api"];

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
