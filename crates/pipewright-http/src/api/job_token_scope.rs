//! `/projects/:id/job_token_scope` and its project and group allowlists.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::job_token_policies::{self, AllowlistEntry, PermissionsParams};
use pipewright_core::{App, job_token_scope, projects};
use serde_json::json;

use crate::auth::Auth;
use crate::entities::group::BasicGroupEntity;
use crate::entities::project_identity::BasicProjectEntity;
use crate::error::{ApiResult, param_error};
use crate::pagination::Page;
use crate::params::Params;

pub async fn get_settings(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let (inbound, outbound) = job_token_scope::settings(&app, &actor, &access).await?;
    Ok(Json(json!({ "inbound_enabled": inbound, "outbound_enabled": outbound })).into_response())
}

pub async fn patch_settings(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let enabled = params
        .bool("enabled")?
        .ok_or_else(|| param_error("enabled is missing"))?;
    let access = projects::find_project(&app, &actor, &id).await?;
    job_token_scope::set_enabled(&app, &actor, &access, enabled).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

pub async fn list_projects(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let page = Page::from_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let listed = job_token_scope::allowlisted_projects(&app, &actor, &access).await?;
    let total = listed.len() as i64;
    let mut entities = Vec::new();
    for project in super::paged::slice(listed, page) {
        let view = projects::project_view(&app, project).await?;
        entities.push(BasicProjectEntity::new(
            &view.project,
            &view.namespace,
            &app.config.external_url,
        ));
    }
    Ok(super::paged::page_response(
        &app.config.external_url,
        &uri,
        &params,
        &[("id", id)],
        page,
        &entities,
        total,
    ))
}

pub async fn add_project(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let target = params.required_int("target_project_id")?;
    let permissions = permissions_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let target = job_token_scope::add_project(&app, &actor, &access, target).await?;
    job_token_policies::apply_to_new_entry(
        &app,
        &access,
        AllowlistEntry::Project(target),
        &permissions,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "source_project_id": access.project.id, "target_project_id": target })),
    )
        .into_response())
}

pub async fn remove_project(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, target)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let target = super::id_param("target_project_id", &target)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    job_token_scope::remove_project(&app, &actor, &access, target).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

pub async fn list_groups(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let page = Page::from_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let listed = job_token_scope::allowlisted_groups(&app, &actor, &access).await?;
    let total = listed.len() as i64;
    let mut entities = Vec::new();
    for group in super::paged::slice(listed, page) {
        let full_name = pipewright_core::groups::full_name(&app, &group).await?;
        entities.push(BasicGroupEntity::new(
            &group,
            full_name,
            &app.config.external_url,
        ));
    }
    Ok(super::paged::page_response(
        &app.config.external_url,
        &uri,
        &params,
        &[("id", id)],
        page,
        &entities,
        total,
    ))
}

pub async fn add_group(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let target = params.required_int("target_group_id")?;
    let permissions = permissions_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let target = job_token_scope::add_group(&app, &actor, &access, target).await?;
    job_token_policies::apply_to_new_entry(
        &app,
        &access,
        AllowlistEntry::Group(target),
        &permissions,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "source_project_id": access.project.id, "target_group_id": target })),
    )
        .into_response())
}

pub async fn remove_group(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, target)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let target = super::id_param("target_group_id", &target)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    job_token_scope::remove_group(&app, &actor, &access, target).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

/// `default_permissions` and `job_token_policies` (fine-grained permissions of an entry).
fn permissions_params(params: &Params) -> ApiResult<PermissionsParams> {
    let permissions = PermissionsParams {
        default_permissions: params.bool("default_permissions")?,
        job_token_policies: params.string_list("job_token_policies")?,
    };
    permissions.validate()?;
    Ok(permissions)
}

/// An allowlist entry with its permissions, keys in this order.
#[derive(serde::Serialize)]
struct ProjectEntryEntity<'a> {
    source_project_id: i64,
    target_project_id: i64,
    default_permissions: bool,
    job_token_policies: &'a [String],
}

#[derive(serde::Serialize)]
struct GroupEntryEntity<'a> {
    source_project_id: i64,
    target_group_id: i64,
    default_permissions: bool,
    job_token_policies: &'a [String],
}

/// `PATCH .../allowlist/:target_project_id`: the entry's fine-grained permissions.
pub async fn update_project(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, target)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let target = super::id_param("target_project_id", &target)?;
    let permissions = permissions_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let entry = job_token_policies::update_entry(
        &app,
        &actor,
        &access,
        AllowlistEntry::Project(target),
        &permissions,
    )
    .await?;
    Ok(Json(ProjectEntryEntity {
        source_project_id: entry.source_project_id,
        target_project_id: entry.target_id,
        default_permissions: entry.default_permissions,
        job_token_policies: &entry.job_token_policies,
    })
    .into_response())
}

/// `PATCH .../groups_allowlist/:target_group_id`.
pub async fn update_group(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, target)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let target = super::id_param("target_group_id", &target)?;
    let permissions = permissions_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let entry = job_token_policies::update_entry(
        &app,
        &actor,
        &access,
        AllowlistEntry::Group(target),
        &permissions,
    )
    .await?;
    Ok(Json(GroupEntryEntity {
        source_project_id: entry.source_project_id,
        target_group_id: entry.target_id,
        default_permissions: entry.default_permissions,
        job_token_policies: &entry.job_token_policies,
    })
    .into_response())
}
