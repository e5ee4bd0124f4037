//! `/projects/:id/protected_tags[/:name]`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::{App, projects, protected_tags};

use crate::auth::Auth;
use crate::entities::protected_tag::ProtectedTagEntity;
use crate::error::ApiResult;
use crate::pagination::Page;
use crate::params::Params;

pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let page = Page::from_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let rules = protected_tags::list(&app, &actor, &access).await?;
    Ok(super::paged::project_list_response(
        &app.config.external_url,
        &uri,
        &params,
        id,
        page,
        rules,
        ProtectedTagEntity::new,
    ))
}

pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let rule = protected_tags::get(&app, &actor, &access, &name).await?;
    Ok(Json(ProtectedTagEntity::new(&rule)).into_response())
}

pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let name = params.required_string("name")?;
    let level = protected_tags::create_level(params.int("create_access_level")?)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let rule = protected_tags::create(&app, &actor, &access, &name, level).await?;
    Ok((StatusCode::CREATED, Json(ProtectedTagEntity::new(&rule))).into_response())
}

pub async fn delete(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    protected_tags::delete(&app, &actor, &access, &name).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}
