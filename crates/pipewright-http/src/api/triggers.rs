//! Trigger tokens and the pipelines they start (platform-api.md "Pipelines").

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::triggers::{self, PipelineTrigger};
use pipewright_core::{Actor, App, projects};
use serde_json::Value;

use crate::auth::Auth;
use crate::entities::trigger::TriggerEntity;
use crate::error::{ApiResult, param_error};
use crate::params::Params;

async fn entity(app: &App, actor: &Actor, trigger: &PipelineTrigger) -> ApiResult<TriggerEntity> {
    let owner = triggers::trigger_owner(app, trigger).await?;
    let token = triggers::visible_token(trigger, actor.user());
    Ok(TriggerEntity::new(
        trigger,
        token,
        owner.as_ref(),
        &app.config.external_url,
    ))
}

/// `POST /projects/:id/triggers` — 201 with the trigger.
pub async fn create_trigger(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let description = params.required_string("description")?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let trigger = triggers::create_trigger(&app, &actor, &access, &description).await?;
    let body = entity(&app, &actor, &trigger).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /projects/:id/triggers`.
pub async fn list_triggers(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let list = triggers::list_triggers(&app, &actor, &access).await?;
    let mut body = Vec::with_capacity(list.len());
    for trigger in &list {
        body.push(entity(&app, &actor, trigger).await?);
    }
    Ok(Json(body).into_response())
}

/// `GET /projects/:id/triggers/:trigger_id`.
pub async fn get_trigger(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, trigger_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let trigger_id = super::id_param("trigger_id", &trigger_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let trigger = triggers::find_trigger(&app, &actor, &access, trigger_id).await?;
    Ok(Json(entity(&app, &actor, &trigger).await?).into_response())
}

/// `DELETE /projects/:id/triggers/:trigger_id` — 204.
pub async fn delete_trigger(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, trigger_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let trigger_id = super::id_param("trigger_id", &trigger_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    triggers::delete_trigger(&app, &actor, &access, trigger_id).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

/// `variables[KEY]=value` (form) or `{"variables": {"KEY": "value"}}` (JSON).
fn trigger_variables(params: &Params) -> ApiResult<Vec<(String, String)>> {
    match params.get("variables") {
        None => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(key, value)| match value {
                Value::String(text) => Ok((key.clone(), text.clone())),
                Value::Number(number) => Ok((key.clone(), number.to_string())),
                Value::Bool(flag) => Ok((key.clone(), flag.to_string())),
                _ => Err(param_error("variables is invalid")),
            })
            .collect(),
        Some(_) => Err(param_error("variables is invalid")),
    }
}

/// `POST /projects/:id/ref/:ref/trigger/pipeline?token=...`: the webhook form, ref in the path.
pub async fn trigger_pipeline_for_ref(
    state: State<App>,
    Path((id, ref_name)): Path<(String, String)>,
    mut params: Params,
) -> ApiResult<Response> {
    params.insert("ref", Value::String(ref_name));
    trigger_pipeline(state, Path(id), params).await
}

/// `POST /projects/:id/trigger/pipeline` — authenticated by the trigger token alone.
pub async fn trigger_pipeline(
    State(app): State<App>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let token = params.required_string("token")?;
    let ref_name = params.required_string("ref")?;
    let variables = trigger_variables(&params)?;
    let inputs = super::pipelines::parse_inputs(&params)?;
    let (pipeline, project) =
        triggers::trigger_pipeline(&app, &id, &token, ref_name, variables, inputs).await?;
    super::pipelines::render_response(&app, &pipeline, &project.full_path, StatusCode::CREATED)
        .await
}
