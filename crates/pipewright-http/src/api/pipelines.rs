use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::model::PipelineVariable;
use pipewright_core::pipelines::{PipelineFilter, PipelineListQuery, PipelineOrder};
use pipewright_core::{App, Status, pipeline_actions, pipelines, projects};
use serde_json::Value;

use crate::auth::Auth;
use crate::entities::pipeline::{PipelineBasicEntity, PipelineEntity};
use crate::error::{ApiResult, param_error};
use crate::pagination::{OffsetLinks, Page};
use crate::params::Params;

pub(crate) fn parse_variables(params: &Params) -> ApiResult<Vec<PipelineVariable>> {
    let items = match params.get("variables") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(param_error("variables is invalid")),
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let text = |key: &str| match item.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(Value::Number(number)) => Ok(Some(number.to_string())),
                Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
                Some(_) => Err(param_error(format!("variables[{index}][{key}] is invalid"))),
            };
            let key = text("key")?
                .ok_or_else(|| param_error(format!("variables[{index}][key] is missing")))?;
            let value = text("value")?
                .ok_or_else(|| param_error(format!("variables[{index}][value] is missing")))?;
            let variable_type = text("variable_type")?.unwrap_or_else(|| "env_var".into());
            if !["env_var", "file"].contains(&variable_type.as_str()) {
                return Err(param_error(format!(
                    "variables[{index}][variable_type] does not have a valid value"
                )));
            }
            Ok(PipelineVariable {
                key,
                value,
                variable_type,
            })
        })
        .collect()
}

/// `inputs` (Grape `type: Hash`): `{"inputs": {"env": "prod"}}` or `inputs[env]=prod`; text
/// holding JSON becomes a number, boolean or array (GitLab's `Inputs.parse_params`).
pub(crate) fn parse_inputs(params: &Params) -> ApiResult<pipewright_core::PipelineInputs> {
    match params.get("inputs") {
        None => Ok(Default::default()),
        Some(Value::Object(map)) => Ok(pipewright_core::parse_input_params(map)),
        Some(_) => Err(param_error("inputs is invalid")),
    }
}

/// An ISO 8601 time parameter as UTC milliseconds (`2019-03-15T08:00:00Z`, or a date).
fn time_param(params: &Params, key: &str) -> ApiResult<Option<i64>> {
    let Some(text) = params.string(key)? else {
        return Ok(None);
    };
    let parsed = chrono::DateTime::parse_from_rfc3339(&text)
        .map(|time| time.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map(|date| {
                date.and_hms_opt(0, 0, 0)
                    .map(|time| time.and_utc().timestamp_millis())
                    .unwrap_or_default()
            })
        });
    parsed
        .map(Some)
        .map_err(|_| param_error(format!("{key} is invalid")))
}

/// The `GET /projects/:id/pipelines` filters, with GitLab's parameter errors.
fn list_query(params: &Params) -> ApiResult<PipelineListQuery> {
    let invalid = |key: &str| param_error(format!("{key} does not have a valid value"));
    let mut filter = PipelineFilter::default();
    let status = match params.string("status")? {
        Some(text) => Some(text.parse::<Status>().map_err(|_| invalid("status"))?),
        None => None,
    };
    let scope: Option<Vec<Status>> = match params.string("scope")?.as_deref() {
        None => None,
        Some("running") => Some(vec![Status::Running]),
        Some("pending") => Some(vec![Status::Pending]),
        Some("finished") => Some(vec![
            Status::Success,
            Status::Failed,
            Status::Canceled,
            Status::Skipped,
        ]),
        Some("branches") => {
            filter.latest_per_ref = Some(false);
            None
        }
        Some("tags") => {
            filter.latest_per_ref = Some(true);
            None
        }
        Some(_) => return Err(invalid("scope")),
    };
    // GitLab applies `scope` and `status` one after the other: both must hold.
    filter.statuses = match (scope, status) {
        (None, None) => Vec::new(),
        (None, Some(status)) => vec![status],
        (Some(scope), None) => scope,
        (Some(scope), Some(status)) if scope.contains(&status) => vec![status],
        // No pipeline is ever `waiting_for_callback`: an empty result, as GitLab gives.
        (Some(_), Some(_)) => vec![Status::WaitingForCallback],
    };
    filter.ref_name = params.string("ref")?;
    filter.sha = params.string("sha")?;
    filter.source = params.string("source")?;
    filter.hide_child_pipelines = filter.source.is_none();
    filter.created_after = time_param(params, "created_after")?;
    filter.created_before = time_param(params, "created_before")?;
    filter.yaml_errors = params.bool("yaml_errors")?;
    filter.updated_after = time_param(params, "updated_after")?;
    filter.updated_before = time_param(params, "updated_before")?;
    filter.order_by = match params.string("order_by")?.as_deref() {
        None | Some("id") => PipelineOrder::Id,
        Some("status") => PipelineOrder::Status,
        Some("ref") => PipelineOrder::Ref,
        Some("updated_at") => PipelineOrder::UpdatedAt,
        Some("user_id") => PipelineOrder::UserId,
        Some(_) => return Err(invalid("order_by")),
    };
    filter.ascending = match params.string("sort")?.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(invalid("sort")),
    };
    Ok(PipelineListQuery {
        filter,
        username: params.string("username")?,
    })
}

async fn render(
    app: &App,
    pipeline: &pipewright_core::model::Pipeline,
    full_path: &str,
) -> ApiResult<PipelineEntity> {
    let user = pipelines::pipeline_user(app, pipeline).await?;
    let web = format!("{}/{}", app.config.external_url, full_path);
    let mut entity = PipelineEntity::new(pipeline, user.as_ref(), &web, &app.config.external_url);
    entity.coverage = pipelines::pipeline_coverage(app, pipeline).await?;
    Ok(entity)
}

/// `POST /projects/:id/pipelines/:pipeline_id/cancel` — 200 with the pipeline (GitLab sets `status 200` here; retry stays 201).
pub async fn cancel_pipeline(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let pipeline_id = super::id_param("pipeline_id", &pipeline_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let pipeline = pipeline_actions::cancel(&app, &actor, &access, pipeline_id).await?;
    let entity = render(&app, &pipeline, &access.project.full_path).await?;
    Ok((StatusCode::OK, Json(entity)).into_response())
}

/// `POST /projects/:id/pipelines/:pipeline_id/retry` — 201 with the pipeline.
pub async fn retry_pipeline(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let pipeline_id = super::id_param("pipeline_id", &pipeline_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let pipeline = pipeline_actions::retry(&app, &actor, &access, pipeline_id).await?;
    let entity = render(&app, &pipeline, &access.project.full_path).await?;
    Ok((StatusCode::CREATED, Json(entity)).into_response())
}

/// `DELETE /projects/:id/pipelines/:pipeline_id` — 204.
pub async fn delete_pipeline(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let pipeline_id = super::id_param("pipeline_id", &pipeline_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    pipeline_actions::delete(&app, &actor, &access, pipeline_id).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

pub(crate) async fn render_response(
    app: &App,
    pipeline: &pipewright_core::model::Pipeline,
    full_path: &str,
    status: StatusCode,
) -> ApiResult<Response> {
    let entity = render(app, pipeline, full_path).await?;
    Ok((status, Json(entity)).into_response())
}

pub async fn create_pipeline(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let ref_name = params.required_string("ref")?;
    let variables = parse_variables(&params)?;
    let inputs = parse_inputs(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let pipeline =
        pipelines::create_pipeline_by_api(&app, &actor, &access, ref_name, variables, inputs)
            .await?;
    let entity = render(&app, &pipeline, &access.project.full_path).await?;
    Ok((StatusCode::CREATED, Json(entity)).into_response())
}

pub async fn list_pipelines(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    let page = Page::from_params(&params)?;
    let query = list_query(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let (rows, total) =
        pipelines::list_pipelines(&app, &access, query, page.per_page, page.page).await?;
    let web = format!("{}/{}", app.config.external_url, access.project.full_path);
    let entities: Vec<PipelineBasicEntity> = rows
        .iter()
        .map(|pipeline| PipelineBasicEntity::new(pipeline, &web))
        .collect();
    let mut link_params = params.map().clone();
    link_params.insert("id".into(), Value::String(id));
    let headers = OffsetLinks {
        external_url: &app.config.external_url,
        uri: &uri,
        params: link_params,
        page,
        has_next: page.offset() + page.per_page < total,
        total: Some(total),
    }
    .headers();
    Ok(super::json_with(StatusCode::OK, headers, &entities))
}

pub async fn get_pipeline(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, pipeline_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let pipeline_id = super::id_param("pipeline_id", &pipeline_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    if !access.can_read_pipeline() {
        return Err(pipewright_core::Error::forbidden().into());
    }
    let pipeline = pipelines::find_pipeline(&app, &access, pipeline_id).await?;
    let entity = render(&app, &pipeline, &access.project.full_path).await?;
    Ok(Json(entity).into_response())
}
