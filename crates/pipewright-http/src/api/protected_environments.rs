//! `/projects/:id/protected_environments[/:name]` (GitLab EE, project level).

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::protected_environments::{
    self as protected, DeployAccessLevel, LevelParam, ProtectedEnvironment,
};
use pipewright_core::{App, projects};
use serde::Serialize;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::pagination::Page;
use crate::params::Params;

/// GitLab's `ProtectedEnvironment` entity.
#[derive(Debug, Serialize)]
struct ProtectedEnvironmentEntity {
    name: String,
    deploy_access_levels: Vec<DeployAccessLevelEntity>,
    required_approval_count: i32,
    /// Deployment approvals are not implemented: never any rule.
    approval_rules: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct DeployAccessLevelEntity {
    id: i64,
    access_level: Option<i32>,
    access_level_description: String,
    user_id: Option<i64>,
    group_id: Option<i64>,
    group_inheritance_type: i32,
}

impl ProtectedEnvironmentEntity {
    fn new(environment: &ProtectedEnvironment) -> ProtectedEnvironmentEntity {
        ProtectedEnvironmentEntity {
            name: environment.name.clone(),
            deploy_access_levels: environment
                .deploy_access_levels
                .iter()
                .map(DeployAccessLevelEntity::new)
                .collect(),
            required_approval_count: environment.required_approval_count,
            approval_rules: Vec::new(),
        }
    }
}

impl DeployAccessLevelEntity {
    fn new(level: &DeployAccessLevel) -> DeployAccessLevelEntity {
        DeployAccessLevelEntity {
            id: level.id,
            access_level: level.access_level,
            access_level_description: protected::level_description(level),
            user_id: level.user_id,
            group_id: level.group_id,
            group_inheritance_type: level.group_inheritance_type,
        }
    }
}

pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    protected::authorize(&actor, &access, false)?;
    let page = Page::from_params(&params)?;
    let environments = protected::list(&app, &actor, &access).await?;
    Ok(super::paged::project_list_response(
        &app.config.external_url,
        &uri,
        &params,
        id,
        page,
        environments,
        ProtectedEnvironmentEntity::new,
    ))
}

pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let environment = protected::get(&app, &actor, &access, &name).await?;
    Ok(Json(ProtectedEnvironmentEntity::new(&environment)).into_response())
}

/// `deploy_access_levels` when given (`null` counts as absent, as Grape's optional).
fn levels(params: &Params, update: bool) -> ApiResult<Vec<LevelParam>> {
    match params.get("deploy_access_levels") {
        Some(value) => Ok(protected::parse_levels(value, update)?),
        None => Ok(Vec::new()),
    }
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
    let access = projects::find_project(&app, &actor, &id).await?;
    // GitLab authorizes in a `before` filter, ahead of parameter validation.
    protected::authorize(&actor, &access, true)?;
    params.require_present(&["name", "deploy_access_levels"])?;
    let name = params.required_string("name")?;
    let count = params.int("required_approval_count")?;
    let levels = levels(&params, false)?;
    let environment = protected::create(&app, &actor, &access, &name, &levels, count).await?;
    Ok((
        StatusCode::CREATED,
        Json(ProtectedEnvironmentEntity::new(&environment)),
    )
        .into_response())
}

pub async fn update(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, name)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    actor.require_write_scope()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    protected::authorize(&actor, &access, true)?;
    let count = params.int("required_approval_count")?;
    let levels = levels(&params, true)?;
    let environment = protected::update(&app, &actor, &access, &name, &levels, count).await?;
    Ok(Json(ProtectedEnvironmentEntity::new(&environment)).into_response())
}

pub async fn delete(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    actor.require_write_scope()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    protected::delete(&app, &actor, &access, &name).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}
