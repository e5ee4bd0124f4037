//! The token scopes a route accepts, as GitLab registers them with `allow_access_with_scope`:
//! the scopes of the endpoint's class first, then those of `API::API` (`api`, and `read_api`
//! for GET/HEAD). A token passes when one registered scope it holds applies to the request;
//! otherwise the 403 names every registered scope, applicable or not, space-separated in that
//! order (`InsufficientScopeError#scopes`), e.g. `ai_workflows api read_api` on the jobs routes.

use axum::http::Method;

/// When a registered scope opens the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Always,
    Reading,
    /// GET, HEAD, POST and PUT (`allow_ai_workflows_access`).
    ReadingOrWriting,
    Post,
    /// `manage_runner`: only `/runners/:id...` routes.
    RunnerById,
}

#[derive(Debug, Clone, Copy)]
struct Registered {
    scope: &'static str,
    when: When,
}

const fn registered(scope: &'static str, when: When) -> Registered {
    Registered { scope, when }
}

/// `API::API`'s scopes, registered for every route after the class's own.
const EVERY_ROUTE: [Registered; 2] = [
    registered("api", When::Always),
    registered("read_api", When::Reading),
];

const AI_WORKFLOWS_READ: &[Registered] = &[registered("ai_workflows", When::Reading)];
const AI_WORKFLOWS_ACCESS: &[Registered] = &[registered("ai_workflows", When::ReadingOrWriting)];
const READ_USER: &[Registered] = &[registered("read_user", When::Reading)];
const METADATA: &[Registered] = &[
    registered("read_user", When::Reading),
    registered("ai_features", When::Reading),
];
const CREATE_RUNNER: &[Registered] = &[registered("create_runner", When::Post)];
const MANAGE_RUNNER: &[Registered] = &[registered("manage_runner", When::RunnerById)];

/// The scopes the endpoint's class registers, by the route's path (`MatchedPath`, with or
/// without the `/api/v4` prefix). Classes not listed register none of their own.
fn class_scopes(route: &str) -> &'static [Registered] {
    let route = route.strip_prefix("/api/v4").unwrap_or(route);
    match route {
        // API::Metadata
        "/version" | "/metadata" => METADATA,
        // API::Ci::Jobs
        "/job"
        | "/job/allowed_agents"
        | "/projects/{id}/jobs"
        | "/projects/{id}/jobs/{job_id}"
        | "/projects/{id}/jobs/{job_id}/trace"
        | "/projects/{id}/jobs/{job_id}/cancel"
        | "/projects/{id}/jobs/{job_id}/retry"
        | "/projects/{id}/jobs/{job_id}/erase"
        | "/projects/{id}/jobs/{job_id}/play" => AI_WORKFLOWS_READ,
        // API::Ci::Pipelines (pipeline jobs and bridges included)
        "/projects/{id}/pipeline" => AI_WORKFLOWS_READ,
        _ if route.starts_with("/projects/{id}/pipelines") => AI_WORKFLOWS_READ,
        // API::Projects
        "/projects" | "/projects/{id}" => AI_WORKFLOWS_READ,
        // API::Commits
        "/projects/{id}/repository/commits" | "/projects/{id}/repository/commits/{sha}" => {
            AI_WORKFLOWS_ACCESS
        }
        // API::UserRunners
        "/user/runners" => CREATE_RUNNER,
        // API::Users
        "/user" | "/users" => READ_USER,
        _ if route.starts_with("/users/{user_id}") => READ_USER,
        // API::Ci::Runners (runner management by users, not the runner protocol)
        "/runners"
        | "/runners/all"
        | "/runners/{id}"
        | "/runners/{id}/jobs"
        | "/projects/{id}/runners" => MANAGE_RUNNER,
        _ => &[],
    }
}

fn applies(when: When, method: &Method, route: &str) -> bool {
    let reading = *method == Method::GET || *method == Method::HEAD;
    match when {
        When::Always => true,
        When::Reading => reading,
        When::ReadingOrWriting => reading || *method == Method::POST || *method == Method::PUT,
        When::Post => *method == Method::POST,
        When::RunnerById => route
            .strip_prefix("/api/v4")
            .unwrap_or(route)
            .starts_with("/runners/{id}"),
    }
}

/// Checks a personal access token's scopes against the route. The error is the `scope` value
/// of GitLab's `insufficient_scope` answer.
pub fn check(granted: &[String], method: &Method, route: Option<&str>) -> Result<(), String> {
    let route = route.unwrap_or_default();
    let all: Vec<Registered> = class_scopes(route)
        .iter()
        .chain(EVERY_ROUTE.iter())
        .copied()
        .collect();
    let holds = |scope: &str| granted.iter().any(|held| held == scope);
    if all
        .iter()
        .any(|entry| holds(entry.scope) && applies(entry.when, method, route))
    {
        return Ok(());
    }
    Err(all
        .iter()
        .map(|entry| entry.scope)
        .collect::<Vec<_>>()
        .join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|scope| (*scope).to_owned()).collect()
    }

    #[test]
    fn api_opens_everything_and_read_api_only_reads() {
        let route = Some("/api/v4/projects/{id}/jobs/{job_id}/cancel");
        assert!(check(&scopes(&["api"]), &Method::POST, route).is_ok());
        assert_eq!(
            check(&scopes(&["read_api"]), &Method::POST, route),
            Err("ai_workflows api read_api".to_owned())
        );
        assert!(check(&scopes(&["read_api"]), &Method::HEAD, route).is_ok());
    }

    #[test]
    fn class_scopes_come_first_in_the_error() {
        let read_user = scopes(&["read_user"]);
        assert!(check(&read_user, &Method::GET, Some("/api/v4/user")).is_ok());
        assert_eq!(
            check(&read_user, &Method::POST, Some("/api/v4/users")),
            Err("read_user api read_api".to_owned())
        );
        assert_eq!(
            check(&read_user, &Method::GET, Some("/api/v4/projects/{id}/jobs")),
            Err("ai_workflows api read_api".to_owned())
        );
        assert_eq!(
            check(&read_user, &Method::GET, Some("/api/v4/groups")),
            Err("api read_api".to_owned())
        );
        assert_eq!(
            check(&read_user, &Method::GET, None),
            Err("api read_api".to_owned())
        );
    }

    #[test]
    fn metadata_is_read_with_read_user_or_ai_features() {
        for scope in ["read_user", "ai_features", "read_api", "api"] {
            assert!(check(&scopes(&[scope]), &Method::GET, Some("/api/v4/version")).is_ok());
        }
        assert_eq!(
            check(
                &scopes(&["read_repository"]),
                &Method::GET,
                Some("/api/v4/metadata")
            ),
            Err("read_user ai_features api read_api".to_owned())
        );
    }

    #[test]
    fn runner_scopes_open_their_own_routes_only() {
        let create = scopes(&["create_runner"]);
        assert!(check(&create, &Method::POST, Some("/api/v4/user/runners")).is_ok());
        assert!(check(&create, &Method::GET, Some("/api/v4/user/runners")).is_err());
        let manage = scopes(&["manage_runner"]);
        assert!(check(&manage, &Method::PUT, Some("/api/v4/runners/{id}")).is_ok());
        assert_eq!(
            check(&manage, &Method::GET, Some("/api/v4/runners/all")),
            Err("manage_runner api read_api".to_owned())
        );
    }
}
