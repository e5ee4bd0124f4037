//! `/projects/:id/environments[/:environment_id[/stop]]` (GitLab's `API::Environments`).

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::environments::{
    self, CreateEnvironment, EnvironmentFilter, EnvironmentUpdate, STATES,
};
use pipewright_core::{App, Error, projects};

use crate::auth::Auth;
use crate::entities::environment::{EnvironmentBasicEntity, EnvironmentEntity};
use crate::error::{ApiResult, param_error};
use crate::pagination::Page;
use crate::params::Params;

/// GitLab's shortest `search`.
const MIN_SEARCH_LENGTH: usize = 3;

/// `slug` is derived from the name: GitLab's `absence` validator.
fn reject_slug(params: &Params) -> ApiResult<()> {
    if params.contains("slug") {
        return Err(param_error(
            "slug is automatically generated and cannot be changed",
        ));
    }
    Ok(())
}

/// `GET /projects/:id/environments` (`name`, `search`, `states`).
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let page = Page::from_params(&params)?;
    let name = params.string("name")?;
    let search = params.string("search")?;
    if name.is_some() && search.is_some() {
        return Err(param_error("name, search cannot be used together"));
    }
    let states = match params.string("states")? {
        Some(state) if STATES.contains(&state.as_str()) => vec![state],
        Some(_) => return Err(param_error("states does not have a valid value")),
        None => Vec::new(),
    };
    let access = projects::find_project(&app, &actor, &id).await?;
    let search = search.filter(|search| !search.is_empty());
    let filter = EnvironmentFilter {
        name: name.filter(|name| !name.is_empty()),
        name_prefix: search.clone(),
        states,
    };
    // The length check comes after the ability check, as in GitLab.
    let (views, total) =
        environments::list_environments(&app, &access, &filter, page.per_page, page.offset())
            .await?;
    if search.is_some_and(|search| search.chars().count() < MIN_SEARCH_LENGTH) {
        return Err(Error::BadRequest(format!(
            "Search query is less than {MIN_SEARCH_LENGTH} characters"
        ))
        .into());
    }
    let entities: Vec<EnvironmentEntity> = views
        .iter()
        .map(|view| EnvironmentEntity::new(view, &app.config.external_url))
        .collect();
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

/// `GET /projects/:id/environments/:environment_id`.
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, environment_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let environment_id = super::id_param("environment_id", &environment_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let view = environments::get_environment(&app, &access, environment_id).await?;
    let entity =
        EnvironmentEntity::single(&view, &app.config.external_url, pipewright_core::now_ms());
    Ok(Json(entity).into_response())
}

/// `POST /projects/:id/environments` (`name`, `external_url`, `tier`, `description`).
pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    actor.require_write_scope()?;
    params.require_present(&["name"])?;
    reject_slug(&params)?;
    let request = CreateEnvironment {
        name: params.string("name")?.unwrap_or_default(),
        external_url: params.string("external_url")?,
        tier: params.string("tier")?,
        description: params.string("description")?,
    };
    if let Some(tier) = &request.tier
        && !environments::TIERS.contains(&tier.as_str())
    {
        return Err(param_error("tier does not have a valid value"));
    }
    let access = projects::find_project(&app, &actor, &id).await?;
    let view = environments::create_environment(&app, &actor, &access, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(EnvironmentEntity::new(&view, &app.config.external_url)),
    )
        .into_response())
}

/// `PUT /projects/:id/environments/:environment_id`.
pub async fn update(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, environment_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    actor.require_write_scope()?;
    let environment_id = super::id_param("environment_id", &environment_id)?;
    reject_slug(&params)?;
    let update = EnvironmentUpdate {
        name: params.string("name")?,
        external_url: params.string("external_url")?,
        tier: params.string("tier")?,
        description: params.string("description")?,
    };
    if let Some(tier) = &update.tier
        && !environments::TIERS.contains(&tier.as_str())
    {
        return Err(param_error("tier does not have a valid value"));
    }
    let access = projects::find_project(&app, &actor, &id).await?;
    let view =
        environments::update_environment(&app, &actor, &access, environment_id, update).await?;
    Ok(Json(EnvironmentEntity::new(&view, &app.config.external_url)).into_response())
}

/// `DELETE /projects/:id/environments/:environment_id` (a stopped environment only).
pub async fn delete(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, environment_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let environment_id = super::id_param("environment_id", &environment_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    environments::delete_environment(&app, &actor, &access, environment_id).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

/// `POST /projects/:id/environments/:environment_id/stop` (`force`).
pub async fn stop(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, environment_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let environment_id = super::id_param("environment_id", &environment_id)?;
    let force = params.bool("force")?.unwrap_or(false);
    let access = projects::find_project(&app, &actor, &id).await?;
    let view = environments::stop_environment(&app, &actor, &access, environment_id, force).await?;
    Ok(Json(EnvironmentEntity::new(&view, &app.config.external_url)).into_response())
}

/// `POST /projects/:id/environments/stop_stale` (`before`, required).
pub async fn stop_stale(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    params.require_present(&["before"])?;
    let before = super::deployments::time_param(&params, "before")?
        .ok_or_else(|| param_error("before is invalid"))?;
    let access = projects::find_project(&app, &actor, &id).await?;
    pipewright_core::environment_auto_stop::stop_stale(&app, &actor, &access, before).await?;
    Ok(Json(serde_json::json!({
        "message": "Successfully requested stop for all stale environments"
    }))
    .into_response())
}

/// `DELETE /projects/:id/environments/review_apps` (`before`: 30 days ago, `limit`: 100 in
/// 1..=1000, `dry_run`: true).
pub async fn delete_review_apps(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    const DAY: i64 = 24 * 3600 * 1000;
    actor.require_user()?;
    let before = super::deployments::time_param(&params, "before")?
        .unwrap_or_else(|| pipewright_core::now_ms() - 30 * DAY);
    let limit = params.int("limit")?.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(param_error("limit does not have a valid value"));
    }
    let dry_run = params.bool("dry_run")?.unwrap_or(true);
    let access = projects::find_project(&app, &actor, &id).await?;
    let basic = |list: &[pipewright_core::environments::Environment]| {
        list.iter()
            .map(EnvironmentBasicEntity::new)
            .collect::<Vec<_>>()
    };
    let Some(cleanup) =
        environments::delete_review_apps(&app, &actor, &access, before, limit, dry_run).await?
    else {
        let body = serde_json::json!({
            "scheduled_entries": [],
            "unprocessable_entries": [],
            "message": "You do not have permission to destroy environments in this project",
        });
        return Ok((StatusCode::UNAUTHORIZED, Json(body)).into_response());
    };
    let body = serde_json::json!({
        "scheduled_entries": basic(&cleanup.scheduled),
        "unprocessable_entries": basic(&cleanup.unprocessable),
    });
    let status = if dry_run {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(body)).into_response())
}
