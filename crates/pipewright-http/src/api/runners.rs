use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::{App, runners};

use crate::auth::Auth;
use crate::entities::runner::CreatedRunnerEntity;
use crate::error::{ApiResult, param_error};
use crate::params::Params;

/// `POST /user/runners`.
pub async fn create_runner(
    State(app): State<App>,
    Auth(actor): Auth,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let runner_type = params.required_string("runner_type")?;
    if !runners::RUNNER_TYPES.contains(&runner_type.as_str()) {
        return Err(param_error("runner_type does not have a valid value"));
    }
    let request = runners::CreateRunner {
        runner_type,
        group_id: params.int("group_id")?,
        project_id: params.int("project_id")?,
        description: params.string("description")?,
        tag_list: params.string_list("tag_list")?.unwrap_or_default(),
        run_untagged: params.bool("run_untagged")?.unwrap_or(true),
        locked: params.bool("locked")?.unwrap_or(false),
        access_level: params.string("access_level")?,
        maximum_timeout: params.int("maximum_timeout")?,
        paused: params.bool("paused")?.unwrap_or(false),
    };
    let (runner, token) = runners::create_runner(&app, &actor, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedRunnerEntity {
            id: runner.id,
            token,
            token_expires_at: None,
        }),
    )
        .into_response())
}
