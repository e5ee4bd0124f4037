//! `POST /users/:id/block|unblock|deactivate|activate` (admin): answer 201 `true`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::App;
use pipewright_core::user_states::{StateChange, change_state};

use crate::auth::Auth;
use crate::error::ApiResult;

async fn change(
    app: &App,
    actor: &pipewright_core::Actor,
    id: &str,
    to: StateChange,
) -> ApiResult<Response> {
    actor.require_user()?;
    actor.require_write_scope()?;
    let user_id = super::id_param("id", id)?;
    change_state(app, actor, user_id, to).await?;
    Ok((StatusCode::CREATED, Json(true)).into_response())
}

pub async fn block(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    change(&app, &actor, &id, StateChange::Block).await
}

pub async fn unblock(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    change(&app, &actor, &id, StateChange::Unblock).await
}

pub async fn deactivate(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    change(&app, &actor, &id, StateChange::Deactivate).await
}

pub async fn activate(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    change(&app, &actor, &id, StateChange::Activate).await
}
