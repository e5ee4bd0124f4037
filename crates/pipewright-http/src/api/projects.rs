use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::project_features::{self, FeatureLevels};
use pipewright_core::projects::{self, CreateProject, ProjectView};
use pipewright_core::{App, Error};
use serde::Serialize;

use crate::auth::Auth;
use crate::entities::project::ProjectEntity;
use crate::error::ApiResult;
use crate::params::Params;

async fn render(app: &App, view: &ProjectView) -> ApiResult<ProjectEntity> {
    let repo = app.repository(view.project.id);
    let empty = tokio::task::spawn_blocking(move || repo.is_empty().unwrap_or(true))
        .await
        .map_err(Error::from)?;
    Ok(ProjectEntity::new(view, &app.config.external_url, empty))
}

pub async fn create_project(
    State(app): State<App>,
    Auth(actor): Auth,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let request = CreateProject {
        name: params.string("name")?,
        path: params.string("path")?,
        namespace_id: params.int("namespace_id")?,
        description: params.string("description")?,
        visibility: params.string("visibility")?,
        default_branch: params.string("default_branch")?,
        initialize_with_readme: params.bool("initialize_with_readme")?.unwrap_or(false),
        public_jobs: match params.bool("public_jobs")? {
            Some(flag) => Some(flag),
            None => params.bool("public_builds")?,
        },
        ci_pipeline_variables_minimum_override_role: params
            .string("ci_pipeline_variables_minimum_override_role")?,
    };
    let features = FeatureLevels {
        builds_access_level: params.string("builds_access_level")?,
        repository_access_level: params.string("repository_access_level")?,
    }
    .legacy_jobs_enabled(params.bool("jobs_enabled")?);
    let forward_deployment = (
        params.bool("ci_forward_deployment_enabled")?,
        params.bool("ci_forward_deployment_rollback_allowed")?,
    );
    let view = project_features::create_project(&app, &actor, request, &features).await?;
    let deployment = pipewright_core::environments::update_forward_deployment_settings(
        &app,
        view.project.id,
        forward_deployment,
    )
    .await?;
    let entity = render(&app, &view)
        .await?
        .with_forward_deployment(deployment);
    Ok((StatusCode::CREATED, Json(entity)).into_response())
}

pub async fn get_project(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let access = projects::find_project(&app, &actor, &id).await?;
    let jobs_enabled = access.builds_available();
    let deployment =
        pipewright_core::environments::forward_deployment_settings(&app, access.project.id).await?;
    let view = projects::project_view(&app, access.project).await?;
    let entity = render(&app, &view)
        .await?
        .with_jobs_enabled(jobs_enabled)
        .with_forward_deployment(deployment);
    Ok(Json(entity).into_response())
}

#[derive(Serialize)]
struct MemberEntity {
    #[serde(flatten)]
    user: crate::entities::user::UserBasicEntity,
    access_level: i32,
    created_at: String,
    expires_at: Option<String>,
}

pub async fn add_member(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let user_id = params.required_int("user_id")?;
    let access_level = params.required_int("access_level")?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let level = i32::try_from(access_level)
        .map_err(|_| crate::error::param_error("access_level does not have a valid value"))?;
    let (user, level) = projects::add_member(&app, &actor, &access, user_id, level).await?;
    Ok((
        StatusCode::CREATED,
        Json(MemberEntity {
            user: crate::entities::user::UserBasicEntity::new(&user, &app.config.external_url),
            access_level: level,
            created_at: crate::entities::timestamp(pipewright_core::now_ms()),
            expires_at: None,
        }),
    )
        .into_response())
}
