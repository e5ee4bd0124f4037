//! Resource groups (`/projects/:id/resource_groups`): list, show, and set the process mode
//! that decides which waiting job gets the resource next (ci-yaml.md §3.18).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use pipewright_core::resource_groups::ResourceGroup;
use pipewright_core::{App, projects, resource_groups};
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::entities::timestamp;
use crate::error::ApiResult;
use crate::params::Params;

/// GitLab's `ResourceGroup` entity.
fn entity(group: &ResourceGroup) -> Value {
    json!({
        "id": group.id,
        "key": group.key,
        "process_mode": group.process_mode,
        "created_at": timestamp(group.created_at),
        "updated_at": timestamp(group.updated_at),
    })
}

/// `GET /projects/:id/resource_groups`.
pub async fn list_resource_groups(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let groups = resource_groups::list_resource_groups(&app, &access).await?;
    Ok(Json(groups.iter().map(entity).collect::<Vec<_>>()).into_response())
}

/// `GET /projects/:id/resource_groups/:key`.
pub async fn get_resource_group(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let group = resource_groups::find_resource_group(&app, &access, &key).await?;
    Ok(Json(entity(&group)).into_response())
}

/// `GET /projects/:id/resource_groups/:key/upcoming_jobs` (`JobBasic` entities, paginated).
pub async fn upcoming_jobs(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, key)): Path<(String, String)>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let page = crate::pagination::Page::from_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let jobs = resource_groups::upcoming_jobs(&app, &access, &key).await?;
    let now = pipewright_core::now_ms();
    let external_url = app.config.external_url.clone();
    Ok(super::paged::project_list_response(
        &app.config.external_url,
        &uri,
        &params,
        id,
        page,
        jobs,
        |view| {
            crate::entities::job::JobBasicEntity::new(
                view,
                &external_url,
                now,
                crate::entities::job::JobProjectEntity::of(view),
            )
        },
    ))
}

/// `PUT /projects/:id/resource_groups/:key` (`process_mode`).
pub async fn update_resource_group(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, key)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let process_mode = params.string("process_mode")?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let group =
        resource_groups::update_resource_group(&app, &access, &key, process_mode.as_deref())
            .await?;
    Ok(Json(entity(&group)).into_response())
}
