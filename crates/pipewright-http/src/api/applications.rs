//! `/applications`: instance-wide OAuth applications (GitLab's `API::Applications`, admin only).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::{App, oauth};

use crate::auth::Auth;
use crate::entities::application::ApplicationEntity;
use crate::error::{ApiResult, param_error};
use crate::params::Params;

/// `POST /applications`: 201 with the secret, shown this once.
pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    params: Params,
) -> ApiResult<Response> {
    // `authenticated_as_admin!` runs before parameter validation.
    actor.require_user()?;
    if !actor.is_admin() {
        return Err(pipewright_core::Error::forbidden().into());
    }
    params.require_present(&["name", "redirect_uri", "scopes"])?;
    let name = params.string("name")?.unwrap_or_default();
    let redirect_uri = params.string("redirect_uri")?.unwrap_or_default();
    let scopes = params.string("scopes")?.unwrap_or_default();
    if scopes.trim().is_empty() {
        return Err(param_error("scopes is empty"));
    }
    let confidential = params.bool("confidential")?.unwrap_or(true);
    let (application, secret) = oauth::create_application(
        &app,
        &actor,
        oauth::NewApplication {
            name,
            redirect_uri,
            scopes,
            confidential,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationEntity::new(&application, Some(secret))),
    )
        .into_response())
}

/// `GET /applications`: every application, without secrets.
pub async fn list(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Response> {
    let applications = oauth::list_applications(&app, &actor).await?;
    let entities: Vec<ApplicationEntity> = applications
        .iter()
        .map(|application| ApplicationEntity::new(application, None))
        .collect();
    Ok(Json(entities).into_response())
}

/// `DELETE /applications/:id`: 204; its tokens stop working.
pub async fn delete(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    actor.require_user()?;
    if !actor.is_admin() {
        return Err(pipewright_core::Error::forbidden().into());
    }
    let id = super::id_param("id", &id)?;
    oauth::delete_application(&app, &actor, id).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

/// `POST /applications/:id/renew-secret`: 201 with the new secret.
pub async fn renew_secret(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    actor.require_user()?;
    if !actor.is_admin() {
        return Err(pipewright_core::Error::forbidden().into());
    }
    let id = super::id_param("id", &id)?;
    let (application, secret) = oauth::renew_secret(&app, &actor, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationEntity::new(&application, Some(secret))),
    )
        .into_response())
}
