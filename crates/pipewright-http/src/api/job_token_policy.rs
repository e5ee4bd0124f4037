//! The job token policy each job-token route declares (GitLab's `route_setting
//! :authorization, job_token_policies:`), as route layers: the project lookup of the
//! wrapped handler enforces it (`pipewright_core::job_token_policies`).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use pipewright_core::job_token_policies::{RoutePolicy, with_route_policy};

/// E1 — `GET /projects/:id/jobs`, and the artifact downloads: `read_jobs`.
pub async fn read_jobs(request: Request, next: Next) -> Response {
    let policy = RoutePolicy {
        policy: "read_jobs",
        public_features_exempt: false,
    };
    with_route_policy(policy, next.run(request)).await
}

/// E2 — pipeline jobs: `read_jobs`, except on projects open to everyone with access.
pub async fn read_jobs_unless_public(request: Request, next: Next) -> Response {
    let policy = RoutePolicy {
        policy: "read_jobs",
        public_features_exempt: true,
    };
    with_route_policy(policy, next.run(request)).await
}

/// E3 — pipeline bridges: `read_pipelines`, except on projects open to everyone with
/// access.
pub async fn read_pipelines_unless_public(request: Request, next: Next) -> Response {
    let policy = RoutePolicy {
        policy: "read_pipelines",
        public_features_exempt: true,
    };
    with_route_policy(policy, next.run(request)).await
}
