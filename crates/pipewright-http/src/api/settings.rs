//! `GET`/`PUT /application/settings` (admin).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use pipewright_core::{App, settings};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::params::Params;

pub async fn get_settings(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Response> {
    let mut body = serde_json::to_value(settings::get(&app, &actor).await?)
        .map_err(pipewright_core::Error::internal)?;
    // Only admins get here (settings::get checks); they read the legacy registration token.
    if let Some(object) = body.as_object_mut() {
        let token = pipewright_core::runner_registration::instance_registration_token(&app).await?;
        object.insert("runners_registration_token".into(), token.into());
    }
    Ok(Json(body).into_response())
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
