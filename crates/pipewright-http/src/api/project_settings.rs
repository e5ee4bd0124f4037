//! `PUT /projects/:id` and `GET /projects`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use pipewright_core::project_features::FeatureLevels;
use pipewright_core::project_settings::{self, ListProjects, UpdateProject};
use pipewright_core::projects::ProjectView;
use pipewright_core::{App, Error, projects};

use crate::auth::Auth;
use crate::entities::project::ProjectEntity;
use crate::error::ApiResult;
use crate::pagination::Page;
use crate::params::Params;

async fn render(app: &App, view: &ProjectView) -> ApiResult<ProjectEntity> {
    let repo = app.repository(view.project.id);
    let empty = tokio::task::spawn_blocking(move || repo.is_empty().unwrap_or(true))
        .await
        .map_err(Error::from)?;
    Ok(ProjectEntity::new(view, &app.config.external_url, empty))
}

pub async fn update_project(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let request = UpdateProject {
        name: params.string("name")?,
        path: params.string("path")?,
        description: params.string("description")?,
        visibility: params.string("visibility")?,
        default_branch: params.string("default_branch")?,
        public_jobs: match params.bool("public_jobs")? {
            Some(flag) => Some(flag),
            None => params.bool("public_builds")?,
        },
        ci_pipeline_variables_minimum_override_role: params
            .string("ci_pipeline_variables_minimum_override_role")?,
        features: FeatureLevels {
            builds_access_level: params.string("builds_access_level")?,
            repository_access_level: params.string("repository_access_level")?,
        }
        .legacy_jobs_enabled(params.bool("jobs_enabled")?),
    };
    let forward_deployment = (
        params.bool("ci_forward_deployment_enabled")?,
        params.bool("ci_forward_deployment_rollback_allowed")?,
    );
    let access = projects::find_project(&app, &actor, &id).await?;
    let view = project_settings::update_project(&app, &actor, &access, request).await?;
    let deployment = pipewright_core::environments::update_forward_deployment_settings(
        &app,
        view.project.id,
        forward_deployment,
    )
    .await?;
    // The caller keeps their role; only the project's levels may have changed.
    let jobs_enabled = pipewright_core::abilities::ProjectAccess {
        project: view.project.clone(),
        ..access
    }
    .builds_available();
    Ok(Json(
        render(&app, &view)
            .await?
            .with_jobs_enabled(jobs_enabled)
            .with_forward_deployment(deployment),
    )
    .into_response())
}

pub async fn list_projects(
    State(app): State<App>,
    Auth(actor): Auth,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    list(&app, &actor, &uri, &params, None, &[]).await
}

/// `GET /groups/:id/projects` (`include_subgroups` for the whole subtree).
pub async fn list_group_projects(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    let include_subgroups = params.bool("include_subgroups")?.unwrap_or(false);
    let access = pipewright_core::groups::find_group(&app, &actor, &id).await?;
    let namespaces =
        pipewright_core::groups::namespace_ids(&app, &access.group, include_subgroups).await?;
    list(&app, &actor, &uri, &params, Some(namespaces), &[("id", id)]).await
}

async fn list(
    app: &App,
    actor: &pipewright_core::Actor,
    uri: &axum::http::Uri,
    params: &Params,
    namespace_ids: Option<Vec<i64>>,
    route: &[(&str, String)],
) -> ApiResult<Response> {
    let page = Page::from_params(params)?;
    let request = ListProjects {
        namespace_ids,
        membership: params.bool("membership")?.unwrap_or(false),
        owned: params.bool("owned")?.unwrap_or(false),
        min_access_level: params
            .int("min_access_level")?
            .map(|level| i32::try_from(level).unwrap_or(-1)),
        visibility: params.string("visibility")?,
        search: params.string("search")?,
        order_by: params.string("order_by")?,
        sort: params.string("sort")?,
    };
    let (views, total) =
        project_settings::list_projects(app, actor, request, page.per_page, page.offset()).await?;
    let mut entities = Vec::with_capacity(views.len());
    for view in &views {
        entities.push(render(app, view).await?);
    }
    Ok(super::paged::page_response(
        &app.config.external_url,
        uri,
        params,
        route,
        page,
        &entities,
        total,
    ))
}
