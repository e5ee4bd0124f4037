//! The runner admin APIs (platform-api.md "Runners"): `GET /runners`, `GET /runners/all`,
//! `GET/PUT/DELETE /runners/:id`, `GET /runners/:id/jobs`, `GET /projects/:id/runners`.

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::model::Runner;
use pipewright_core::runner_admin::{self, RunnerJobFilter, RunnerListFilter, UpdateRunner};
use pipewright_core::{App, Status, projects, runners};

use super::paged::{page_response, slice};
use crate::auth::Auth;
use crate::entities::runner::{
    RunnerDetailsEntity, RunnerEntity, RunnerJobEntity, runner_job_entity,
};
use crate::error::{ApiResult, param_error};
use crate::pagination::Page;
use crate::params::Params;

fn list_filter(params: &Params) -> ApiResult<RunnerListFilter> {
    let runner_type = params.string("type")?;
    if let Some(kind) = &runner_type
        && !runners::RUNNER_TYPES.contains(&kind.as_str())
    {
        return Err(param_error("type does not have a valid value"));
    }
    let status = params.string("status")?;
    if let Some(status) = &status
        && !runner_admin::RUNNER_STATUSES.contains(&status.as_str())
    {
        return Err(param_error("status does not have a valid value"));
    }
    Ok(RunnerListFilter {
        runner_type,
        paused: params.bool("paused")?,
        status,
        tag_list: params.string_list("tag_list")?.unwrap_or_default(),
    })
}

async fn list_response(
    app: &App,
    uri: &axum::http::Uri,
    params: &Params,
    route: &[(&str, String)],
    runners: Vec<Runner>,
) -> ApiResult<Response> {
    let page = Page::from_params(params)?;
    let total = i64::try_from(runners.len()).unwrap_or(i64::MAX);
    let now = pipewright_core::now_ms();
    let runners = slice(runners, page);
    let executing = runner_admin::executing(app, &runners).await?;
    let items: Vec<RunnerEntity> = runners
        .iter()
        .map(|runner| RunnerEntity::new(runner, now, executing.contains(&runner.id)))
        .collect();
    Ok(page_response(
        &app.config.external_url,
        uri,
        params,
        route,
        page,
        &items,
        total,
    ))
}

/// `GET /runners`: the runners the caller manages (project and group runners).
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let filter = list_filter(&params)?;
    let runners = runner_admin::list_owned(&app, &actor, &filter).await?;
    list_response(&app, &uri, &params, &[], runners).await
}

/// `GET /runners/all` (admin).
pub async fn list_all(
    State(app): State<App>,
    Auth(actor): Auth,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let filter = list_filter(&params)?;
    let runners = runner_admin::list_all(&app, &actor, &filter).await?;
    list_response(&app, &uri, &params, &[], runners).await
}

/// `GET /projects/:id/runners` (maintainers).
pub async fn project_runners(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let filter = list_filter(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let runners = runner_admin::project_runners(&app, &actor, &access.project, &filter).await?;
    list_response(&app, &uri, &params, &[("id", id)], runners).await
}

fn details_response(app: &App, details: &runner_admin::RunnerDetails) -> Response {
    axum::Json(RunnerDetailsEntity::new(
        details,
        pipewright_core::now_ms(),
        &app.config.external_url,
    ))
    .into_response()
}

/// `GET /runners/:id`.
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let id = super::id_param("id", &id)?;
    let details = runner_admin::get(&app, &actor, id).await?;
    Ok(details_response(&app, &details))
}

/// `PUT /runners/:id`.
pub async fn update(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let id = super::id_param("id", &id)?;
    let maximum_timeout = if params.contains("maximum_timeout") {
        Some(params.int("maximum_timeout")?)
    } else {
        None
    };
    // Older clients send `active`, the inverse of `paused`.
    let paused = match params.bool("paused")? {
        Some(paused) => Some(paused),
        None => params.bool("active")?.map(|active| !active),
    };
    let request = UpdateRunner {
        description: params.string("description")?,
        paused,
        tag_list: params.string_list("tag_list")?,
        run_untagged: params.bool("run_untagged")?,
        locked: params.bool("locked")?,
        access_level: params.string("access_level")?,
        maximum_timeout,
    };
    let details = runner_admin::update(&app, &actor, id, request).await?;
    Ok(details_response(&app, &details))
}

/// `DELETE /runners/:id`.
pub async fn delete(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let id = super::id_param("id", &id)?;
    runner_admin::delete(&app, &actor, id).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

/// `GET /runners/:id/jobs`: `status` filter, newest first, offset pagination with totals.
pub async fn jobs(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let runner_id = super::id_param("id", &id)?;
    let statuses = match params.string("status")? {
        None => Vec::new(),
        Some(text) => vec![
            text.parse::<Status>()
                .map_err(|_| param_error("status does not have a valid value"))?,
        ],
    };
    let order_by = params.string("order_by")?.unwrap_or_else(|| "id".into());
    if order_by != "id" {
        return Err(param_error("order_by does not have a valid value"));
    }
    let ascending = match params.string("sort")?.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(param_error("sort does not have a valid value")),
    };
    let filter = RunnerJobFilter {
        statuses,
        system_id: params.string("system_id")?,
        ascending,
    };
    let page = Page::from_params(&params)?;
    let jobs = runner_admin::jobs(
        &app,
        &actor,
        runner_id,
        &filter,
        page.per_page,
        page.offset(),
    )
    .await?;
    let now = pipewright_core::now_ms();
    let items: Vec<RunnerJobEntity> = jobs
        .views
        .iter()
        .map(|view| {
            let namespace = jobs.namespaces.get(&view.project.namespace_id);
            runner_job_entity(view, namespace, &app.config.external_url, now)
        })
        .collect();
    Ok(page_response(
        &app.config.external_url,
        &uri,
        &params,
        &[("id", id)],
        page,
        &items,
        jobs.total,
    ))
}
