//! `GET`/`PUT /application/settings` (admin).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use pipewright_core::{App, settings};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::params::Params;

pub async fn get_settings(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Response> {
    Ok(Json(settings::get(&app, &actor).await?).into_response())
}

pub async fn put_settings(
    State(app): State<App>,
    Auth(actor): Auth,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let limit = params.int("project_jobs_api_rate_limit")?;
    Ok(Json(settings::update(&app, &actor, limit).await?).into_response())
}
