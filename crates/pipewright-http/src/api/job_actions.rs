//! E8–E11: cancel, retry, erase, play. Job tokens are not accepted here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use pipewright_core::job_actions::{self, JobVariable};
use pipewright_core::model::Job;
use pipewright_core::{App, projects};
use serde_json::Value;

use crate::auth::Auth;
use crate::entities::job::JobEntity;
use crate::error::{ApiResult, param_error};
use crate::params::Params;

async fn render(
    app: &App,
    project: &pipewright_core::model::Project,
    job: Job,
    status: StatusCode,
) -> ApiResult<Response> {
    let mut views = pipewright_core::jobs::views(app, project, vec![job]).await?;
    let view = views
        .pop()
        .ok_or_else(pipewright_core::Error::record_not_found)?;
    let entity = JobEntity::new(&view, &app.config.external_url, pipewright_core::now_ms());
    Ok(super::json_with(
        status,
        axum::http::HeaderMap::new(),
        &entity,
    ))
}

/// E8 — answers 201 even though nothing is created (GitLab quirk).
pub async fn cancel(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, job_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let force = params.bool("force")?.unwrap_or(false);
    let access = projects::find_project(&app, &actor, &id).await?;
    let job = job_actions::cancel(&app, &actor, &access, job_id, force).await?;
    render(&app, &access.project, job, StatusCode::CREATED).await
}

/// E9 — 201 with the new job.
pub async fn retry(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, job_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let job = job_actions::retry(&app, &actor, &access, job_id).await?;
    render(&app, &access.project, job, StatusCode::CREATED).await
}

/// E10 — 201 with the erased job.
pub async fn erase(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, job_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let job = job_actions::erase(&app, &actor, &access, job_id).await?;
    render(&app, &access.project, job, StatusCode::CREATED).await
}

/// `job_variables_attributes`: each element needs a string `key` and `value`.
fn parse_job_variables(params: &Params) -> ApiResult<Vec<JobVariable>> {
    let items = match params.get("job_variables_attributes") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(param_error("job_variables_attributes is invalid")),
    };
    let mut errors = Vec::new();
    let mut variables = Vec::new();
    for (index, item) in items.iter().enumerate() {
        // Grape coerces scalars to `String` (`1` is `"1"`); arrays and hashes are invalid.
        let field = |name: &str| match item.get(name) {
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(format!(
                "job_variables_attributes[{index}][{name}] is invalid"
            )),
        };
        let key = match field("key") {
            Ok(Some(key)) => Some(key),
            Ok(None) => {
                errors.push(format!("job_variables_attributes[{index}][key] is missing"));
                None
            }
            Err(text) => {
                errors.push(text);
                None
            }
        };
        let value = match field("value") {
            Ok(Some(value)) => Some(value),
            Ok(None) => {
                errors.push(format!(
                    "job_variables_attributes[{index}][value] is missing"
                ));
                None
            }
            Err(text) => {
                errors.push(text);
                None
            }
        };
        if let (Some(key), Some(value)) = (key, value) {
            variables.push(JobVariable { key, value });
        }
    }
    if errors.is_empty() {
        Ok(variables)
    } else {
        Err(param_error(errors.join(", ")))
    }
}

/// E11 — answers 200 (unlike the other actions).
pub async fn play(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, job_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let variables = parse_job_variables(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let job = job_actions::play(&app, &actor, &access, job_id, variables).await?;
    if !job.is_build() {
        let entity = super::bridges::render(&app, &access.project, vec![job]).await?;
        return Ok(super::json_with(
            StatusCode::OK,
            axum::http::HeaderMap::new(),
            &entity.first(),
        ));
    }
    render(&app, &access.project, job, StatusCode::OK).await
}
