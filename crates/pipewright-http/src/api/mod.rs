//! Route table and the cross-cutting responses (404/405/410, security headers).

mod applications;
mod artifacts;
mod bridges;
mod cluster_agents;
mod deployments;
mod environments;
mod groups;
mod job_actions;
mod job_token_policy;
mod job_token_scope;
mod jobs;
mod lint;
mod paged;
mod pipelines;
mod project_settings;
mod projects;
mod protected_branches;
mod protected_environments;
mod protected_tags;
mod repository;
mod resource_groups;
mod runner_api;
mod runner_management;
mod runners;
mod runners_admin;
mod settings;
mod triggers;
mod user_states;
mod users;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use pipewright_core::App;
use serde_json::json;

/// The whole application: API, runner protocol and git smart HTTP.
pub fn router(app: App) -> Router {
    let api = Router::new()
        .route("/version", get(version))
        .route("/metadata", get(version))
        .route(
            "/applications",
            post(applications::create).get(applications::list),
        )
        .route("/applications/{id}", delete(applications::delete))
        .route(
            "/applications/{id}/renew-secret",
            post(applications::renew_secret),
        )
        .route(
            "/application/settings",
            get(settings::get_settings).put(settings::put_settings),
        )
        .route("/user", get(users::current_user))
        .route("/users", post(users::create_user).get(users::list_users))
        .route("/users/{user_id}", get(users::get_user))
        .route(
            "/users/{user_id}/personal_access_tokens",
            post(users::create_token),
        )
        .route(
            "/personal_access_tokens/{token_id}",
            delete(users::revoke_token),
        )
        .route(
            "/projects",
            post(projects::create_project).get(project_settings::list_projects),
        )
        .route(
            "/projects/{id}",
            get(projects::get_project).put(project_settings::update_project),
        )
        .route("/projects/{id}/members", post(projects::add_member))
        .route(
            "/projects/{id}/repository/commits",
            post(repository::create_commit),
        )
        .route(
            "/projects/{id}/repository/commits/{sha}",
            get(repository::get_commit),
        )
        .route(
            "/projects/{id}/repository/branches",
            get(repository::list_branches),
        )
        .route("/projects/{id}/pipeline", post(pipelines::create_pipeline))
        .route("/projects/{id}/pipelines", get(pipelines::list_pipelines))
        .route(
            "/projects/{id}/pipelines/{pipeline_id}",
            get(pipelines::get_pipeline).delete(pipelines::delete_pipeline),
        )
        .route(
            "/projects/{id}/pipelines/{pipeline_id}/cancel",
            post(pipelines::cancel_pipeline),
        )
        .route(
            "/projects/{id}/pipelines/{pipeline_id}/retry",
            post(pipelines::retry_pipeline),
        )
        .route(
            "/projects/{id}/resource_groups",
            get(resource_groups::list_resource_groups),
        )
        .route(
            "/projects/{id}/resource_groups/{key}",
            get(resource_groups::get_resource_group).put(resource_groups::update_resource_group),
        )
        .route(
            "/projects/{id}/resource_groups/{key}/upcoming_jobs",
            get(resource_groups::upcoming_jobs),
        )
        .route(
            "/projects/{id}/environments",
            get(environments::list).post(environments::create),
        )
        .route(
            "/projects/{id}/environments/{environment_id}",
            get(environments::get)
                .put(environments::update)
                .delete(environments::delete),
        )
        .route(
            "/projects/{id}/environments/{environment_id}/stop",
            post(environments::stop),
        )
        .route(
            "/projects/{id}/environments/stop_stale",
            post(environments::stop_stale),
        )
        .route(
            "/projects/{id}/environments/review_apps",
            delete(environments::delete_review_apps),
        )
        .route("/projects/{id}/deployments", get(deployments::list))
        .route(
            "/projects/{id}/deployments/{deployment_id}",
            get(deployments::get),
        )
        .route(
            "/projects/{id}/triggers",
            post(triggers::create_trigger).get(triggers::list_triggers),
        )
        .route(
            "/projects/{id}/triggers/{trigger_id}",
            get(triggers::get_trigger).delete(triggers::delete_trigger),
        )
        .route(
            "/projects/{id}/trigger/pipeline",
            post(triggers::trigger_pipeline),
        )
        .route(
            "/projects/{id}/ref/{ref_name}/trigger/pipeline",
            post(triggers::trigger_pipeline_for_ref),
        )
        .route("/projects/{id}/ci/lint", post(lint::lint_project))
        .route(
            "/projects/{id}/pipelines/{pipeline_id}/jobs",
            get(jobs::list_pipeline_jobs).route_layer(middleware::from_fn(
                job_token_policy::read_jobs_unless_public,
            )),
        )
        .route(
            "/projects/{id}/pipelines/{pipeline_id}/bridges",
            get(bridges::list_pipeline_bridges).route_layer(middleware::from_fn(
                job_token_policy::read_pipelines_unless_public,
            )),
        )
        .route(
            "/projects/{id}/jobs",
            get(jobs::list_project_jobs)
                .route_layer(middleware::from_fn(job_token_policy::read_jobs)),
        )
        .route("/projects/{id}/jobs/{job_id}", get(jobs::get_job))
        .route("/projects/{id}/jobs/{job_id}/trace", get(jobs::get_trace))
        .route(
            "/projects/{id}/jobs/{job_id}/cancel",
            post(job_actions::cancel),
        )
        .route(
            "/projects/{id}/jobs/{job_id}/retry",
            post(job_actions::retry),
        )
        .route(
            "/projects/{id}/jobs/{job_id}/erase",
            post(job_actions::erase),
        )
        .route("/projects/{id}/jobs/{job_id}/play", post(job_actions::play))
        .route(
            "/projects/{id}/jobs/{job_id}/artifacts",
            get(artifacts::download_archive)
                .delete(artifacts::delete)
                .route_layer(middleware::from_fn(job_token_policy::read_jobs)),
        )
        .route(
            "/projects/{id}/jobs/{job_id}/artifacts/keep",
            post(artifacts::keep),
        )
        .route(
            "/projects/{id}/jobs/{job_id}/artifacts/{*artifact_path}",
            get(artifacts::download_entry)
                .route_layer(middleware::from_fn(job_token_policy::read_jobs)),
        )
        .route(
            "/projects/{id}/jobs/artifacts/{*rest}",
            get(artifacts::by_ref).route_layer(middleware::from_fn(job_token_policy::read_jobs)),
        )
        .route("/job", get(jobs::current_job))
        .route("/job/allowed_agents", get(cluster_agents::allowed_agents))
        .route(
            "/groups",
            post(groups::create_group).get(groups::list_groups),
        )
        .route("/groups/{id}", get(groups::get_group))
        .route("/groups/{id}/members", post(groups::add_member))
        .route(
            "/groups/{id}/projects",
            get(project_settings::list_group_projects),
        )
        .route("/users/{user_id}/block", post(user_states::block))
        .route("/users/{user_id}/unblock", post(user_states::unblock))
        .route("/users/{user_id}/deactivate", post(user_states::deactivate))
        .route("/users/{user_id}/activate", post(user_states::activate))
        .route(
            "/projects/{id}/protected_branches",
            get(protected_branches::list).post(protected_branches::create),
        )
        .route(
            "/projects/{id}/protected_branches/{name}",
            get(protected_branches::get)
                .patch(protected_branches::update)
                .delete(protected_branches::delete),
        )
        .route(
            "/projects/{id}/protected_environments",
            get(protected_environments::list).post(protected_environments::create),
        )
        .route(
            "/projects/{id}/protected_environments/{name}",
            get(protected_environments::get)
                .put(protected_environments::update)
                .delete(protected_environments::delete),
        )
        .route(
            "/projects/{id}/protected_tags",
            get(protected_tags::list).post(protected_tags::create),
        )
        .route(
            "/projects/{id}/protected_tags/{name}",
            get(protected_tags::get).delete(protected_tags::delete),
        )
        .route(
            "/projects/{id}/job_token_scope",
            get(job_token_scope::get_settings).patch(job_token_scope::patch_settings),
        )
        .route(
            "/projects/{id}/job_token_scope/allowlist",
            get(job_token_scope::list_projects).post(job_token_scope::add_project),
        )
        .route(
            "/projects/{id}/job_token_scope/allowlist/{target_project_id}",
            delete(job_token_scope::remove_project).patch(job_token_scope::update_project),
        )
        .route(
            "/projects/{id}/job_token_scope/groups_allowlist",
            get(job_token_scope::list_groups).post(job_token_scope::add_group),
        )
        .route(
            "/projects/{id}/job_token_scope/groups_allowlist/{target_group_id}",
            delete(job_token_scope::remove_group).patch(job_token_scope::update_group),
        )
        .route(
            "/projects/{id}/cluster_agents",
            get(cluster_agents::list).post(cluster_agents::create),
        )
        .route("/user/runners", post(runners::create_runner))
        .route("/runners/verify", post(runner_api::verify))
        .route(
            "/runners",
            post(runner_management::register)
                .delete(runner_management::unregister)
                .get(runners_admin::list),
        )
        .route("/runners/all", get(runners_admin::list_all))
        .route(
            "/runners/{id}",
            get(runners_admin::get)
                .put(runners_admin::update)
                .delete(runners_admin::delete),
        )
        .route("/runners/{id}/jobs", get(runners_admin::jobs))
        .route(
            "/projects/{id}/runners",
            get(runners_admin::project_runners),
        )
        .route(
            "/runners/managers",
            delete(runner_management::unregister_manager),
        )
        .route(
            "/runners/reset_authentication_token",
            post(runner_management::reset_token),
        )
        .route(
            "/runners/reset_registration_token",
            post(runner_management::reset_registration_token),
        )
        .route(
            "/runners/router/discovery",
            get(runner_management::router_discovery),
        )
        .route("/jobs/request", post(runner_api::request_job))
        .route("/jobs/{job_id}", put(runner_api::update_job))
        .route("/jobs/{job_id}/trace", patch(runner_api::append_trace))
        .route(
            "/jobs/{job_id}/artifacts",
            post(artifacts::upload).get(artifacts::download_for_runner),
        )
        .route(
            "/jobs/{job_id}/artifacts/authorize",
            post(artifacts::authorize),
        )
        .fallback(not_found)
        // Credentials may sit in a JSON or form body (Grape params).
        .layer(middleware::from_fn(crate::body_params::capture))
        .layer(middleware::from_fn(api_headers))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            crate::moved::rewrite,
        ));

    let v3 = Router::new()
        .route("/api/v3", axum::routing::any(gone))
        .route("/api/v3/{*rest}", axum::routing::any(gone))
        .layer(middleware::from_fn(api_headers));
    Router::new()
        .nest("/api/v4", api)
        .merge(v3)
        .merge(crate::oauth::router())
        .fallback(crate::git_http::git_or_not_found)
        .with_state(app)
}

/// `GET /version` (and `/metadata`, its successor): GitLab's `API::Metadata` runs
/// `authenticate!` first, so anonymous callers get 401 (see docs/API-CONVENTIONS.md).
async fn version(
    crate::auth::Auth(actor): crate::auth::Auth,
) -> crate::error::ApiResult<Json<serde_json::Value>> {
    actor.require_user()?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": option_env!("PIPEWRIGHT_REVISION").unwrap_or("unknown"),
        "kas": { "enabled": false, "externalUrl": null, "version": null },
        "enterprise": false,
    })))
}

pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "404 Not Found" })),
    )
        .into_response()
}

async fn gone() -> Response {
    (
        StatusCode::GONE,
        Json(json!({ "error": "API V3 is no longer supported. Use API V4 instead." })),
    )
        .into_response()
}

/// GitLab's API headers on every response, and its body for the router's bare 405.
async fn api_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    // Only the router's own (empty) 405 gets GitLab's body; endpoint 405s such as the
    // keyset one keep theirs.
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && axum::body::HttpBody::size_hint(response.body()).exact() == Some(0)
    {
        let allow = response.headers().get(header::ALLOW).cloned();
        let mut replaced = (
            StatusCode::METHOD_NOT_ALLOWED,
            Json(json!({ "error": "405 Not Allowed" })),
        )
            .into_response();
        if let Some(allow) = allow {
            replaced.headers_mut().insert(header::ALLOW, allow);
        }
        response = replaced;
    }
    let headers = response.headers_mut();
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A JSON response with a status and extra headers.
pub(crate) fn json_with<T: serde::Serialize>(
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: &T,
) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().extend(headers);
    response
}

/// An empty body with a status (for `204` and friends).
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Parses a numeric route parameter with GitLab's `<name> is invalid` error.
pub(crate) fn id_param(name: &str, value: &str) -> crate::error::ApiResult<i64> {
    value
        .parse::<i64>()
        .map_err(|_| crate::error::param_error(format!("{name} is invalid")))
}
