//! Credential extraction (jobs-api.md §1.3): who is calling, from which source, in GitLab's
//! precedence order. Rejections are already GitLab's 401 bodies.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use pipewright_core::auth::{authenticate_job_token, authenticate_token};
use pipewright_core::{Actor, App, Error};

use crate::error::ApiError;

/// The caller on routes that accept personal access tokens only (a `JOB-TOKEN` is ignored).
pub struct Auth(pub Actor);

/// The caller on routes that also accept CI job tokens (E1–E5).
pub struct JobAuth(pub Actor);

fn query_param(parts: &Parts, name: &str) -> Option<String> {
    let query = parts.uri.query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn header(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = header(parts, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// PAT sources: `private_token` param, then `PRIVATE-TOKEN`, then Bearer.
fn personal_token(parts: &Parts) -> Option<String> {
    query_param(parts, "private_token")
        .or_else(|| header(parts, "private-token"))
        .or_else(|| bearer(parts))
}

/// Job-token sources: `job_token` param, then `token` param, then `JOB-TOKEN`.
fn job_token(parts: &Parts) -> Option<String> {
    query_param(parts, "job_token")
        .or_else(|| query_param(parts, "token"))
        .or_else(|| header(parts, "job-token"))
}

async fn resolve_personal(app: &App, parts: &Parts) -> Result<Option<Actor>, ApiError> {
    match personal_token(parts) {
        Some(token) => {
            let actor = authenticate_token(app, &token).await?;
            check_scopes(&actor, &parts.method)?;
            Ok(Some(actor))
        }
        None => Ok(None),
    }
}

/// Token scopes are checked with authentication, before any parameter: `api` allows
/// everything, `read_api` only reads, anything else nothing.
fn check_scopes(actor: &Actor, method: &axum::http::Method) -> Result<(), ApiError> {
    let Actor::User { scopes, .. } = actor else {
        return Ok(());
    };
    let has = |scope: &str| scopes.iter().any(|granted| granted == scope);
    let reading = method == axum::http::Method::GET || method == axum::http::Method::HEAD;
    if has("api") || (reading && has("read_api")) {
        Ok(())
    } else {
        Err(ApiError(Error::InsufficientScope))
    }
}

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Ok(Auth(
            resolve_personal(app, parts)
                .await?
                .unwrap_or(Actor::Anonymous),
        ))
    }
}

impl FromRequestParts<App> for JobAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        // A Bearer value is first tried as a job token on these routes.
        if let Some(token) = bearer(parts) {
            match authenticate_job_token(app, &token).await {
                Ok(actor) => return Ok(JobAuth(actor)),
                // A valid job token of a blocked user: the account-state 403.
                Err(Error::Forbidden(reason)) => return Err(ApiError(Error::Forbidden(reason))),
                Err(_) => {}
            }
        }
        if let Some(actor) = resolve_personal(app, parts).await? {
            return Ok(JobAuth(actor));
        }
        match job_token(parts) {
            Some(token) => match authenticate_job_token(app, &token).await {
                Ok(actor) => Ok(JobAuth(actor)),
                Err(Error::Internal(detail)) => Err(ApiError(Error::Internal(detail))),
                // A blocked or deactivated job user: GitLab's 403 with the account state.
                Err(Error::Forbidden(reason)) => Err(ApiError(Error::Forbidden(reason))),
                Err(_) => Err(ApiError(Error::Unauthorized)),
            },
            None => Ok(JobAuth(Actor::Anonymous)),
        }
    }
}
