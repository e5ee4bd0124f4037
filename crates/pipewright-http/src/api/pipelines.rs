use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::model::PipelineVariable;
use pipewright_core::{App, Status, pipelines, projects};
use serde_json::Value;

use crate::auth::Auth;
use crate::entities::pipeline::{PipelineBasicEntity, PipelineEntity};
use crate::error::{ApiResult, param_error};
use crate::pagination::{OffsetLinks, Page};
use crate::params::Params;

fn parse_variables(params: &Params) -> ApiResult<Vec<PipelineVariable>> {
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

async fn render(
    app: &App,
    pipeline: &pipewright_core::model::Pipeline,
    full_path: &str,
) -> ApiResult<PipelineEntity> {
    let user = pipelines::pipeline_user(app, pipeline).await?;
    let web = format!("{}/{}", app.config.external_url, full_path);
    Ok(PipelineEntity::new(
        pipeline,
        user.as_ref(),
        &web,
        &app.config.external_url,
    ))
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
    let access = projects::find_project(&app, &actor, &id).await?;
    let pipeline =
        pipelines::create_pipeline_by_api(&app, &actor, &access, ref_name, variables).await?;
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
    let status = match params.string("status")? {
        Some(text) => Some(
            text.parse::<Status>()
                .map_err(|_| param_error("status does not have a valid value"))?,
        ),
        None => None,
    };
    let ref_name = params.string("ref")?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let (rows, total) = pipelines::list_pipelines(
        &app,
        &access,
        status,
        ref_name.as_deref(),
        page.per_page,
        page.page,
    )
    .await?;
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
