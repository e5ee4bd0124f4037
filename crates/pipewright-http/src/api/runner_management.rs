//! Runner-protocol management (runner-protocol.md §4): legacy registration, unregistering,
//! token rotation and the unsupported job router discovery.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::runner_registration::{self, RegisterRunner};
use pipewright_core::{App, Error};
use pipewright_protocol::RunnerInfo;
use serde_json::json;

use crate::auth::Auth;
use crate::entities::runner::CreatedRunnerEntity;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;

fn runner_info(params: &Params) -> ApiResult<Option<RunnerInfo>> {
    match params.get("info") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|_| crate::error::param_error("info is invalid")),
    }
}

/// `POST /runners` with a registration token.
pub async fn register(State(app): State<App>, params: Params) -> ApiResult<Response> {
    let token = params.required_string("token")?;
    // Older GitLab took `active`, the inverse of `paused`.
    let paused = match params.bool("paused")? {
        Some(paused) => paused,
        None => params
            .bool("active")?
            .map(|active| !active)
            .unwrap_or(false),
    };
    let request = RegisterRunner {
        token,
        description: params.string("description")?,
        tag_list: params.string_list("tag_list")?.unwrap_or_default(),
        run_untagged: params.bool("run_untagged")?,
        locked: params.bool("locked")?.unwrap_or(false),
        access_level: params.string("access_level")?,
        maximum_timeout: params.int("maximum_timeout")?,
        paused,
        info: runner_info(&params)?,
    };
    let (runner, token) = runner_registration::register(&app, request).await?;
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

/// `DELETE /runners`.
pub async fn unregister(State(app): State<App>, params: Params) -> ApiResult<Response> {
    let token = params.required_string("token")?;
    runner_registration::unregister(&app, &token).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

/// `DELETE /runners/managers`.
pub async fn unregister_manager(State(app): State<App>, params: Params) -> ApiResult<Response> {
    params.require_present(&["token", "system_id"])?;
    let token = params.required_string("token")?;
    let system_id = params.required_string("system_id")?;
    runner_registration::unregister_manager(&app, &token, &system_id).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

/// `POST /runners/reset_authentication_token`: tokens never expire here, so no expiry.
pub async fn reset_token(State(app): State<App>, params: Params) -> ApiResult<Response> {
    let token = params.required_string("token")?;
    let token = runner_registration::reset_token(&app, &token).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "token_expires_at": null })),
    )
        .into_response())
}

/// `GET /runners/router/discovery`: no KAS job router here.
pub async fn router_discovery() -> ApiResult<Response> {
    Err(ApiError(Error::message(501, "501 Not Implemented")))
}

/// `POST /runners/reset_registration_token` (admin).
pub async fn reset_registration_token(
    State(app): State<App>,
    Auth(actor): Auth,
) -> ApiResult<Response> {
    let token = runner_registration::reset_registration_token(&app, &actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "token_expires_at": null })),
    )
        .into_response())
}
