//! `/projects/:id/protected_branches[/:name]`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::protected_refs::{self, ProtectBranch};
use pipewright_core::{App, projects};

use crate::auth::Auth;
use crate::entities::protected_branch::ProtectedBranchEntity;
use crate::error::{ApiResult, param_error};
use crate::pagination::Page;
use crate::params::Params;

fn level(params: &Params, name: &str) -> ApiResult<Option<i32>> {
    params
        .int(name)?
        .map(|value| {
            i32::try_from(value)
                .map_err(|_| param_error(format!("{name} does not have a valid value")))
        })
        .transpose()
}

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
    let rules = protected_refs::list(&app, &actor, &access).await?;
    Ok(super::paged::project_list_response(
        &app.config.external_url,
        &uri,
        &params,
        id,
        page,
        rules,
        ProtectedBranchEntity::new,
    ))
}

pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let rule = protected_refs::get(&app, &actor, &access, &name).await?;
    Ok(Json(ProtectedBranchEntity::new(&rule)).into_response())
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
    let request = ProtectBranch {
        name: params.required_string("name")?,
        push_access_level: level(&params, "push_access_level")?,
        merge_access_level: level(&params, "merge_access_level")?,
        allow_force_push: params.bool("allow_force_push")?.unwrap_or(false),
    };
    let access = projects::find_project(&app, &actor, &id).await?;
    let rule = protected_refs::create(&app, &actor, &access, request).await?;
    Ok((StatusCode::CREATED, Json(ProtectedBranchEntity::new(&rule))).into_response())
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
    protected_refs::delete(&app, &actor, &access, &name).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

pub async fn update(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, name)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let allow_force_push = params.bool("allow_force_push")?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let rule = protected_refs::update(&app, &actor, &access, &name, allow_force_push).await?;
    Ok(Json(ProtectedBranchEntity::new(&rule)).into_response())
}
