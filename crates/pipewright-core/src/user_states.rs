//! Blocked and deactivated accounts: why the API refuses them, and the admin actions that
//! change an account's state.

use pipewright_store::model::User;

use crate::App;
use crate::auth::Actor;
use crate::error::{Error, Result};

/// GitLab's reason for refusing an account the API (`403 Forbidden - <reason>`), or `None`
/// for an active account.
pub fn access_denied_reason(user: &User, external_url: &str) -> Option<String> {
    match user.state.as_str() {
        "active" => None,
        "deactivated" => Some(format!(
            "Your account has been deactivated by your administrator. Please log back in from a web browser to reactivate your account at {external_url}"
        )),
        "blocked_pending_approval" => Some(
            "Your account is pending approval from your administrator and hence blocked.".into(),
        ),
        _ => Some("Your account has been blocked.".into()),
    }
}

/// Refuses accounts that may not use the API.
pub fn require_active(app: &App, user: &User) -> Result<()> {
    match access_denied_reason(user, &app.config.external_url) {
        Some(reason) => Err(Error::forbidden_because(reason)),
        None => Ok(()),
    }
}

/// What an administrator does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    Block,
    Unblock,
    Deactivate,
    Activate,
}

/// `POST /users/:id/block|unblock|deactivate|activate` (admin only).
pub async fn change_state(
    app: &App,
    actor: &Actor,
    user_id: i64,
    change: StateChange,
) -> Result<()> {
    actor.require_user()?;
    actor.require_write_scope()?;
    if !actor.is_admin() {
        return Err(Error::forbidden());
    }
    let user = app
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| Error::not_found("User"))?;
    let state = user.state.as_str();
    let target = match change {
        StateChange::Block => {
            if actor.user().is_some_and(|me| me.id == user.id) {
                return Err(Error::forbidden_because("The API cannot block yourself"));
            }
            "blocked"
        }
        StateChange::Unblock => {
            if state == "deactivated" {
                return Err(Error::forbidden_because(
                    "Deactivated users cannot be unblocked by the API",
                ));
            }
            "active"
        }
        StateChange::Deactivate => {
            if state == "blocked" {
                return Err(Error::forbidden_because(
                    "A blocked user cannot be deactivated by the API",
                ));
            }
            "deactivated"
        }
        StateChange::Activate => {
            if state == "blocked" {
                return Err(Error::forbidden_because(
                    "A blocked user must be unblocked to be activated",
                ));
            }
            "active"
        }
    };
    app.store.set_user_state(user.id, target).await?;
    Ok(())
}
