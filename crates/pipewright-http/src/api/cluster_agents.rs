//! `POST/GET /projects/:id/cluster_agents` and E5 `GET /job/allowed_agents`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::{Actor, App, Error, cluster_agents, projects};

use crate::auth::{Auth, JobAuth};
use crate::entities::cluster_agent::{AllowedAgentsEntity, ClusterAgentEntity};
use crate::error::ApiResult;
use crate::pagination::Page;
use crate::params::Params;

pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let name = params.required_string("name")?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let view = cluster_agents::create_agent(&app, &actor, &access, &name).await?;
    Ok((StatusCode::CREATED, Json(ClusterAgentEntity::new(&view))).into_response())
}

pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let page = Page::from_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let agents = cluster_agents::list_agents(&app, &access).await?;
    Ok(super::paged::project_list_response(
        &app.config.external_url,
        &uri,
        &params,
        id,
        page,
        agents,
        ClusterAgentEntity::new,
    ))
}

/// E5: like E4, only a job token gets an answer; other credentials get `404 Job Not Found`.
pub async fn allowed_agents(
    State(app): State<App>,
    JobAuth(actor): JobAuth,
) -> ApiResult<Response> {
    actor.require_user()?;
    let Actor::Job { job, user } = actor else {
        return Err(Error::not_found("Job").into());
    };
    let answer = cluster_agents::allowed_agents(&app, &job, &user).await?;
    Ok(Json(AllowedAgentsEntity::new(&answer)).into_response())
}
