//! Credentials (jobs-api.md §1.3): sources and their precedence, invalid, revoked and
//! expired tokens, scopes.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{ROOT_TOKEN, TestApp, assert_api_headers};

const UNAUTHORIZED: &str = r#"{"message":"401 Unauthorized"}"#;

fn unauthorized() -> serde_json::Value {
    serde_json::from_str(UNAUTHORIZED).expect("json")
}

#[tokio::test]
async fn no_credentials_is_401() {
    let t = TestApp::new().await;
    for path in [
        "/api/v4/user",
        "/api/v4/projects/1/jobs",
        "/api/v4/projects/1/jobs/1",
    ] {
        let response = t.get(path).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.json(), unauthorized(), "{path}");
        assert_api_headers(&response);
    }
}

#[tokio::test]
async fn a_token_that_matches_nothing_is_401_from_every_source() {
    let t = TestApp::new().await;
    let answers = [
        t.get("/api/v4/user").token("nope").await,
        t.get("/api/v4/user").bearer("nope").await,
        t.get("/api/v4/user?private_token=nope").await,
        // Even where anonymous access is fine (E2 on a public project, GET /version is not
        // authenticated at all but a project lookup is).
        t.get("/api/v4/projects/1/pipelines/1/jobs")
            .token("nope")
            .await,
    ];
    for response in answers {
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.json(), unauthorized());
    }
}

#[tokio::test]
async fn each_credential_source_authenticates() {
    let t = TestApp::new().await;
    for response in [
        t.get("/api/v4/user").token(ROOT_TOKEN).await,
        t.get("/api/v4/user").bearer(ROOT_TOKEN).await,
        t.get(&format!("/api/v4/user?private_token={ROOT_TOKEN}"))
            .await,
        t.get("/api/v4/user")
            .header("authorization", &format!("bearer {ROOT_TOKEN}"))
            .await,
    ] {
        let user = response.expect_status(StatusCode::OK).json();
        assert_eq!(user["username"], "root");
    }
}

#[tokio::test]
async fn private_token_param_wins_over_header_which_wins_over_bearer() {
    let t = TestApp::new().await;
    // param (bad) beats header (good)
    t.get("/api/v4/user?private_token=nope")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    // header (bad) beats Bearer (good)
    t.get("/api/v4/user")
        .token("nope")
        .bearer(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    // and the other way round, good credentials win
    let alice = t.create_user("alice").await;
    let user = t
        .get(&format!("/api/v4/user?private_token={}", alice.token))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(user["username"], "alice");
}

#[tokio::test]
async fn a_revoked_token_is_an_oauth_style_401() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let (token_id, token) = t.create_token(alice.id, &["api"], None).await;
    t.get("/api/v4/user")
        .token(&token)
        .await
        .expect_status(StatusCode::OK);

    let revoked = t
        .delete(&format!("/api/v4/personal_access_tokens/{token_id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    assert!(revoked.body.is_empty());

    let response = t
        .get("/api/v4/user")
        .token(&token)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json(),
        json!({
            "error": "invalid_token",
            "error_description": "Token was revoked. You have to re-authorize from the user.",
        })
    );
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
    // The user's other token still works.
    t.get("/api/v4/user")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn an_owner_revokes_their_own_token_but_not_someone_elses() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let bob = t.create_user("bob").await;
    let (alice_second, _) = t.create_token(alice.id, &["api"], None).await;
    let (bob_second, _) = t.create_token(bob.id, &["api"], None).await;
    t.delete(&format!("/api/v4/personal_access_tokens/{alice_second}"))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.delete(&format!("/api/v4/personal_access_tokens/{bob_second}"))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.delete("/api/v4/personal_access_tokens/999")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.delete(&format!("/api/v4/personal_access_tokens/{bob_second}"))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_token_is_an_oauth_style_401() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let today = chrono::Utc::now().date_naive();
    let yesterday = (today - chrono::Days::new(1)).to_string();
    // Two days ahead so a run across midnight UTC cannot expire it.
    let later = (today + chrono::Days::new(2)).to_string();

    for expired in [yesterday, today.to_string()] {
        let (_, token) = t.create_token(alice.id, &["api"], Some(&expired)).await;
        let response = t
            .get("/api/v4/user")
            .token(&token)
            .await
            .expect_status(StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.json(),
            json!({
                "error": "invalid_token",
                "error_description": "Token is expired. You can either do re-authorization or token refresh.",
            }),
            "expires_at {expired}"
        );
        assert!(
            response
                .header("www-authenticate")
                .is_some_and(|value| value.starts_with("Bearer"))
        );
    }
    let (_, token) = t.create_token(alice.id, &["api"], Some(&later)).await;
    t.get("/api/v4/user")
        .token(&token)
        .await
        .expect_status(StatusCode::OK);
}

/// The `scope` value lists every scope the route registers: its class's own (e.g.
/// `ai_workflows` for projects, pipelines and commits, `read_user` for users), then `api` and
/// `read_api`, whatever the method (GitLab's `InsufficientScopeError#scopes`).
fn insufficient_scope(scope: &str) -> serde_json::Value {
    json!({
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the access token.",
        "scope": scope,
    })
}

const PROJECT_SCOPES: &str = "ai_workflows api read_api";
const USER_SCOPES: &str = "read_user api read_api";
const USER_RUNNER_SCOPES: &str = "create_runner api read_api";

#[tokio::test]
async fn read_api_reads_but_may_not_write() {
    let t = TestApp::new().await;
    let (_, read_only) = t.create_token(1, &["read_api"], None).await;
    t.get("/api/v4/user")
        .token(&read_only)
        .await
        .expect_status(StatusCode::OK);
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    t.get(&format!("/api/v4/projects/{}/jobs", ci.project_id))
        .token(&read_only)
        .await
        .expect_status(StatusCode::OK);

    let writes = [
        (
            t.post("/api/v4/projects")
                .token(&read_only)
                .json(json!({ "name": "x" }))
                .await,
            PROJECT_SCOPES,
        ),
        (
            t.post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
                .token(&read_only)
                .json(json!({ "ref": "main" }))
                .await,
            PROJECT_SCOPES,
        ),
        (
            t.post("/api/v4/users")
                .token(&read_only)
                .json(json!({ "username": "u", "name": "u", "email": "u@example.com" }))
                .await,
            USER_SCOPES,
        ),
        (
            t.post(&format!(
                "/api/v4/projects/{}/repository/commits",
                ci.project_id
            ))
            .token(&read_only)
            .json(json!({
                "branch": "main",
                "commit_message": "m",
                "actions": [{ "action": "create", "file_path": "f", "content": "x" }],
            }))
            .await,
            PROJECT_SCOPES,
        ),
        (
            t.post("/api/v4/user/runners")
                .token(&read_only)
                .json(json!({ "runner_type": "instance_type" }))
                .await,
            USER_RUNNER_SCOPES,
        ),
    ];
    for (response, scope) in writes {
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{}",
            response.text()
        );
        assert_eq!(response.json(), insufficient_scope(scope));
        // rack-oauth2's `Bearer::Forbidden` sends no challenge (unlike its 401s).
        assert_eq!(response.header("www-authenticate"), None);
    }
}

/// Authentication (scopes included) runs before parameter validation (§1.5).
#[tokio::test]
async fn read_api_on_a_write_route_is_403_even_with_bad_params() {
    let t = TestApp::new().await;
    let (_, read_only) = t.create_token(1, &["read_api"], None).await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    for (response, scope) in [
        (
            t.post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
                .token(&read_only)
                .await,
            PROJECT_SCOPES,
        ),
        (t.post("/api/v4/users").token(&read_only).await, USER_SCOPES),
        (
            t.post("/api/v4/user/runners").token(&read_only).await,
            USER_RUNNER_SCOPES,
        ),
    ] {
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{}",
            response.text()
        );
        assert_eq!(response.json(), insufficient_scope(scope));
    }
}

#[tokio::test]
async fn a_job_token_is_ignored_on_routes_that_do_not_accept_it() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    for path in [
        "/api/v4/user".to_owned(),
        format!("/api/v4/projects/{}/jobs/{}", ci.project_id, job.id),
        format!("/api/v4/projects/{}/jobs/{}/trace", ci.project_id, job.id),
    ] {
        let response = t.get(&path).job_token(&job.token).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.json(), unauthorized());
    }
    // As a Bearer it is tried as a personal token there, and fails the same way.
    t.get(&format!(
        "/api/v4/projects/{}/jobs/{}",
        ci.project_id, job.id
    ))
    .bearer(&job.token)
    .await
    .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_job_token_is_accepted_on_e1_and_e2_from_every_job_token_source() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("a:\n  script: x\nb:\n  script: y\n")
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let e1 = format!("/api/v4/projects/{}/jobs", ci.project_id);
    let e2 = format!(
        "/api/v4/projects/{}/pipelines/{}/jobs",
        ci.project_id, ci.pipeline_id
    );
    for response in [
        t.get(&e1).job_token(&job.token).await,
        t.get(&e1).bearer(&job.token).await,
        t.get(&format!("{e1}?job_token={}", job.token)).await,
        t.get(&e2).job_token(&job.token).await,
    ] {
        let jobs = response.expect_status(StatusCode::OK).jobs();
        assert_eq!(jobs.len(), 2);
    }
    // Once the job is finished its token is dead.
    t.succeed(&job).await;
    let response = t.get(&e1).job_token(&job.token).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.json(), unauthorized());
}

#[tokio::test]
async fn a_blocked_user_is_403_with_the_account_state() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    t.post(&format!("/api/v4/users/{}/block", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    let response = t
        .get("/api/v4/user")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        response.json(),
        json!({ "message": "403 Forbidden - Your account has been blocked." })
    );
    t.post(&format!("/api/v4/users/{}/unblock", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    t.get("/api/v4/user")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
}
