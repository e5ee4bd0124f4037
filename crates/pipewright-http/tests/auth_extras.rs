//! Authentication beyond the basics (issue #3): sudo (jobs-api.md §1.3.5), GitLab's full set
//! of token scopes and the route scopes they open (§1.3.4), credentials in a JSON or form body,
//! and `access_token` as a Bearer equivalent (§1.3.1).

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{ROOT_TOKEN, TestApp, TestUser, assert_api_headers};

const DESCRIPTION: &str =
    "The request requires higher privileges than provided by the access token.";

fn insufficient_scope(scope: &str) -> Value {
    json!({ "error": "insufficient_scope", "error_description": DESCRIPTION, "scope": scope })
}

fn message(text: &str) -> Value {
    json!({ "message": text })
}

/// Root's token with `api` and `sudo`, and a regular user `alice`.
async fn sudo_setup(t: &TestApp) -> (String, TestUser) {
    let (_, sudo_token) = t.create_token(1, &["api", "sudo"], None).await;
    let alice = t.create_user("alice").await;
    (sudo_token, alice)
}

// ---- sudo ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_admin_with_the_sudo_scope_acts_as_a_user_named_by_id_or_username() {
    let t = TestApp::new().await;
    let (sudo_token, alice) = sudo_setup(&t).await;
    for response in [
        t.get(&format!("/api/v4/user?sudo={}", alice.id))
            .token(&sudo_token)
            .await,
        // Usernames are case-insensitive.
        t.get("/api/v4/user?sudo=ALICE").token(&sudo_token).await,
        t.get("/api/v4/user")
            .token(&sudo_token)
            .header("sudo", "alice")
            .await,
        t.get("/api/v4/user")
            .bearer(&sudo_token)
            .header("Sudo", &alice.id.to_string())
            .await,
    ] {
        let user = response.expect_status(StatusCode::OK).json();
        assert_eq!(user["username"], "alice");
        assert_eq!(user["id"], alice.id);
    }
    // Without sudo the token is root's.
    let me = t
        .get("/api/v4/user")
        .token(&sudo_token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(me["username"], "root");
}

#[tokio::test]
async fn sudo_applies_to_every_route_with_the_users_own_permissions() {
    let t = TestApp::new().await;
    let (sudo_token, alice) = sudo_setup(&t).await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    // Root's private project does not exist for alice.
    let hidden = t
        .get(&format!(
            "/api/v4/projects/{}/jobs?sudo=alice",
            ci.project_id
        ))
        .token(&sudo_token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(hidden.json(), message("404 Project Not Found"));
    // A project created under sudo belongs to alice: `sudo` in a JSON body...
    let created = t
        .post("/api/v4/projects")
        .token(&sudo_token)
        .json(json!({ "name": "mine", "sudo": alice.username }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/mine");
    // ...in a form body...
    let created = t
        .post("/api/v4/projects")
        .token(&sudo_token)
        .form(&format!("name=other&sudo={}", alice.id))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/other");
    // ...and the body wins over the query string (Grape's params).
    let created = t
        .post("/api/v4/projects?sudo=root")
        .token(&sudo_token)
        .json(json!({ "name": "third", "sudo": "alice" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/third");
    // Alice herself sees it.
    t.get(&format!("/api/v4/projects/{}", created["id"]))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn sudo_by_a_non_admin_is_403() {
    let t = TestApp::new().await;
    let (_, alice) = sudo_setup(&t).await;
    let response = t
        .get("/api/v4/user?sudo=root")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        response.json(),
        message("403 Forbidden - Must be admin to use sudo")
    );
    assert_api_headers(&response);
    // Even with the sudo scope, and before the route's own scopes are looked at.
    let (_, alice_sudo) = t.create_token(alice.id, &["read_api", "sudo"], None).await;
    let response = t
        .post("/api/v4/projects")
        .token(&alice_sudo)
        .header("sudo", "root")
        .json(json!({ "name": "x" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        response.json(),
        message("403 Forbidden - Must be admin to use sudo")
    );
}

#[tokio::test]
async fn sudo_with_an_admin_token_without_the_sudo_scope_is_insufficient_scope() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    // The bootstrap token has `api` only.
    let response = t
        .get(&format!("/api/v4/user?sudo={}", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), insufficient_scope("sudo"));
    assert_eq!(response.header("www-authenticate"), None);
    assert_api_headers(&response);
}

#[tokio::test]
async fn sudo_of_an_unknown_user_is_404_naming_it() {
    let t = TestApp::new().await;
    let (sudo_token, _) = sudo_setup(&t).await;
    for (who, expected) in [
        ("nobody", "404 User with ID or username 'nobody' Not Found"),
        ("999", "404 User with ID or username '999' Not Found"),
    ] {
        let response = t
            .get(&format!("/api/v4/user?sudo={who}"))
            .token(&sudo_token)
            .await
            .expect_status(StatusCode::NOT_FOUND);
        assert_eq!(response.json(), message(expected), "{who}");
    }
    let response = t
        .get("/api/v4/projects/1/jobs")
        .token(&sudo_token)
        .header("sudo", "ghost")
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        response.json(),
        message("404 User with ID or username 'ghost' Not Found")
    );
}

#[tokio::test]
async fn sudo_without_credentials_is_401() {
    let t = TestApp::new().await;
    let response = t
        .get("/api/v4/projects/1/pipelines/1/jobs?sudo=root")
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(response.json(), message("401 Unauthorized"));
}

#[tokio::test]
async fn sudo_with_a_job_token_needs_a_personal_access_token() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    // Root (an admin) triggered the pipeline, so the job token acts as an admin.
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let jobs = format!("/api/v4/projects/{}/jobs", ci.project_id);
    let expected = message(
        "403 Forbidden - Must be authenticated using an OAuth or personal access token to use sudo",
    );
    for response in [
        t.get(&format!("{jobs}?sudo={}", alice.id))
            .job_token(&job.token)
            .await,
        t.get(&jobs)
            .bearer(&job.token)
            .header("sudo", "alice")
            .await,
        t.get(&format!("{jobs}?job_token={}&sudo=alice", job.token))
            .await,
        t.get("/api/v4/job")
            .job_token(&job.token)
            .header("sudo", "alice")
            .await,
    ] {
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{}",
            response.text()
        );
        assert_eq!(response.json(), expected);
    }
    // Without sudo the same token works.
    t.get(&jobs)
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn under_sudo_the_routes_scopes_are_not_checked_but_sudo_to_oneself_is_no_sudo() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let (_, read_sudo) = t.create_token(1, &["read_api", "sudo"], None).await;
    // GitLab validates the route's scopes only `unless sudo?`.
    let created = t
        .post("/api/v4/projects")
        .token(&read_sudo)
        .header("sudo", &alice.username)
        .json(json!({ "name": "p" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/p");
    // Naming oneself is not sudo: the read-only token may not write.
    for sudo in ["root", "1"] {
        let response = t
            .post("/api/v4/projects")
            .token(&read_sudo)
            .header("sudo", sudo)
            .json(json!({ "name": "q" }))
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(
            response.json(),
            insufficient_scope("ai_workflows api read_api")
        );
    }
    // A token with only `sudo` reaches nothing without sudo.
    let (_, only_sudo) = t.create_token(1, &["sudo"], None).await;
    let response = t
        .get("/api/v4/user")
        .token(&only_sudo)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        response.json(),
        insufficient_scope("read_user api read_api")
    );
    let user = t
        .get("/api/v4/user?sudo=alice")
        .token(&only_sudo)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(user["username"], "alice");
}

// ---- token scopes -------------------------------------------------------------------------

#[tokio::test]
async fn personal_access_tokens_accept_gitlabs_scopes() {
    let t = TestApp::new().await;
    let scopes = [
        "api",
        "read_api",
        "read_user",
        "create_runner",
        "manage_runner",
        "k8s_proxy",
        "self_rotate",
        "read_repository",
        "write_repository",
        "read_registry",
        "write_registry",
        "read_virtual_registry",
        "write_virtual_registry",
        "read_observability",
        "write_observability",
        "ai_features",
        "sudo",
        "admin_mode",
        "read_service_ping",
    ];
    let token = t
        .post("/api/v4/users/1/personal_access_tokens")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "all", "scopes": scopes }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(token["scopes"], json!(scopes));
    // A comma-separated string works too.
    let token = t
        .post("/api/v4/users/1/personal_access_tokens")
        .token(ROOT_TOKEN)
        .form("name=two&scopes=sudo,read_user")
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(token["scopes"], json!(["sudo", "read_user"]));
}

#[tokio::test]
async fn an_unknown_scope_is_a_parameter_error() {
    let t = TestApp::new().await;
    // `ai_workflows` exists for OAuth applications only.
    for scopes in [json!(["api", "nope"]), json!(["ai_workflows"])] {
        let response = t
            .post("/api/v4/users/1/personal_access_tokens")
            .token(ROOT_TOKEN)
            .json(json!({ "name": "bad", "scopes": scopes }))
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(
            response.json(),
            json!({ "error": "scopes does not have a valid value" })
        );
    }
}

#[tokio::test]
async fn a_token_without_a_route_scope_is_403_naming_the_routes_scopes() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let (_, read_user) = t.create_token(1, &["read_user"], None).await;
    let (_, read_repository) = t.create_token(1, &["read_repository"], None).await;

    // `read_user` opens GET on the users routes.
    let me = t
        .get("/api/v4/user")
        .token(&read_user)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(me["username"], "root");
    t.get("/api/v4/users/1")
        .token(&read_user)
        .await
        .expect_status(StatusCode::OK);

    let jobs_scope = "ai_workflows api read_api";
    let refused = [
        (
            t.get(&format!("/api/v4/projects/{}/jobs", ci.project_id))
                .token(&read_user)
                .await,
            jobs_scope,
        ),
        (
            t.get(&format!(
                "/api/v4/projects/{}/jobs?private_token={read_user}",
                ci.project_id
            ))
            .await,
            jobs_scope,
        ),
        (
            t.post(&format!("/api/v4/projects/{}/jobs/1/cancel", ci.project_id))
                .token(&read_user)
                .await,
            jobs_scope,
        ),
        (
            t.get(&format!(
                "/api/v4/projects/{}/pipelines/{}/jobs",
                ci.project_id, ci.pipeline_id
            ))
            .token(&read_user)
            .await,
            jobs_scope,
        ),
        (t.get("/api/v4/job").token(&read_user).await, jobs_scope),
        (
            t.get("/api/v4/groups").token(&read_user).await,
            "api read_api",
        ),
        (
            t.post("/api/v4/users").token(&read_user).await,
            "read_user api read_api",
        ),
        (
            t.get("/api/v4/user").token(&read_repository).await,
            "read_user api read_api",
        ),
        (
            t.get(&format!("/api/v4/projects/{}", ci.project_id))
                .token(&read_repository)
                .await,
            "ai_workflows api read_api",
        ),
    ];
    for (response, scope) in refused {
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{}",
            response.text()
        );
        assert_eq!(response.json(), insufficient_scope(scope));
        assert_eq!(response.header("www-authenticate"), None);
        assert_api_headers(&response);
    }
}

#[tokio::test]
async fn read_api_reads_jobs_and_is_refused_on_job_actions() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let (_, read_api) = t.create_token(1, &["read_api"], None).await;
    let job = t.job_id(ci.project_id, ci.pipeline_id, "a").await;
    t.get(&format!("/api/v4/projects/{}/jobs/{job}", ci.project_id))
        .token(&read_api)
        .await
        .expect_status(StatusCode::OK);
    let response = t
        .post(&format!(
            "/api/v4/projects/{}/jobs/{job}/cancel",
            ci.project_id
        ))
        .token(&read_api)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        response.json(),
        insufficient_scope("ai_workflows api read_api")
    );
}

#[tokio::test]
async fn runner_scopes_open_their_own_routes() {
    let t = TestApp::new().await;
    let (_, create_runner) = t.create_token(1, &["create_runner"], None).await;
    let (_, manage_runner) = t.create_token(1, &["manage_runner"], None).await;
    let runner = t
        .create_runner(
            &create_runner,
            json!({ "runner_type": "instance_type", "description": "made" }),
        )
        .await;
    let updated = t
        .put(&format!("/api/v4/runners/{}", runner.id))
        .token(&manage_runner)
        .json(json!({ "description": "managed" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(updated["description"], "managed");
    for (response, scope) in [
        (
            t.get("/api/v4/runners/all").token(&manage_runner).await,
            "manage_runner api read_api",
        ),
        (
            t.post("/api/v4/user/runners")
                .token(&manage_runner)
                .json(json!({ "runner_type": "instance_type" }))
                .await,
            "create_runner api read_api",
        ),
        (
            t.put(&format!("/api/v4/runners/{}", runner.id))
                .token(&create_runner)
                .json(json!({ "description": "no" }))
                .await,
            "manage_runner api read_api",
        ),
        (
            t.post("/api/v4/projects")
                .token(&create_runner)
                .json(json!({ "name": "no" }))
                .await,
            "ai_workflows api read_api",
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

// ---- credentials in the body --------------------------------------------------------------

#[tokio::test]
async fn a_personal_access_token_in_a_json_or_form_body_authenticates() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let created = t
        .post("/api/v4/projects")
        .json(json!({ "name": "json", "private_token": alice.token }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/json");
    let created = t
        .post("/api/v4/projects")
        .form(&format!("name=form&private_token={}", alice.token))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/form");
    // `access_token` counts like a Bearer token.
    let created = t
        .put(&format!("/api/v4/projects/{}", created["id"]))
        .json(json!({ "description": "d", "access_token": alice.token }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(created["description"], "d");
    // A JSON body without a content type, as `Params` accepts.
    let created = t
        .post("/api/v4/projects")
        .body(
            serde_json::to_vec(&json!({ "name": "bare", "private_token": alice.token }))
                .expect("json"),
        )
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/bare");
}

#[tokio::test]
async fn a_delete_reads_credentials_from_its_body_too() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let (second, _) = t.create_token(alice.id, &["api"], None).await;
    let response = t
        .delete(&format!("/api/v4/personal_access_tokens/{second}"))
        .form(&format!("private_token={}", alice.token))
        .await
        .expect_status(StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
    // Without any credential it is the usual 401.
    t.delete(&format!("/api/v4/personal_access_tokens/{second}"))
        .form("unrelated=1")
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn body_credentials_follow_the_query_string_precedence() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    // The param (body) beats the header.
    let response = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "x", "private_token": "nope" }))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(response.json(), message("401 Unauthorized"));
    let created = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "y", "private_token": alice.token }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/y");
    // The query string beats the body (Rails' `request.params`).
    let created = t
        .post(&format!("/api/v4/projects?private_token={}", alice.token))
        .json(json!({ "name": "z", "private_token": ROOT_TOKEN }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/z");
    // `private_token` beats `access_token`; an empty param counts as absent.
    let created = t
        .post("/api/v4/projects")
        .json(json!({ "name": "w", "private_token": alice.token, "access_token": "nope" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/w");
    let created = t
        .post("/api/v4/projects")
        .token(&alice.token)
        .json(json!({ "name": "v", "private_token": "" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["path_with_namespace"], "alice/v");
    // `PRIVATE-TOKEN` beats an `access_token` in the body.
    t.post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .form("name=u&access_token=nope")
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn the_handler_still_reads_a_body_that_carried_credentials() {
    let t = TestApp::new().await;
    // Every parameter reaches the use case: nested form keys, arrays and JSON values alike.
    let token = t
        .post("/api/v4/users/1/personal_access_tokens")
        .form(&format!(
            "name=f&scopes[]=api&scopes[]=read_user&private_token={ROOT_TOKEN}"
        ))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(token["name"], "f");
    assert_eq!(token["scopes"], json!(["api", "read_user"]));
    // A broken JSON body is still the handler's 400, after authentication.
    let response = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .header("content-type", "application/json")
        .body(b"{not json".to_vec())
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        message("400 Bad request - invalid JSON body")
    );
}

// ---- access_token -------------------------------------------------------------------------

#[tokio::test]
async fn access_token_is_a_bearer_equivalent() {
    let t = TestApp::new().await;
    let user = t
        .get(&format!("/api/v4/user?access_token={ROOT_TOKEN}"))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(user["username"], "root");
    // Not a known token: 401, as for an unknown Bearer.
    for response in [
        t.get("/api/v4/user?access_token=nope").await,
        t.get("/api/v4/user?bearer_token=nope").await,
        t.post("/api/v4/projects")
            .json(json!({ "name": "x", "access_token": "nope" }))
            .await,
    ] {
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.json(), message("401 Unauthorized"));
    }
    // `access_token` comes before the Bearer header, and after `PRIVATE-TOKEN`.
    t.get("/api/v4/user?access_token=nope")
        .bearer(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    t.get("/api/v4/user?access_token=nope")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
}

/// `find_personal_access_token` returns nothing for a `glcbt-` value on the API: such a value is
/// no personal access token, so where no job token is accepted the caller is anonymous.
#[tokio::test]
async fn a_job_token_value_is_never_a_personal_access_token() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "open",
            json!({ "visibility": "public" }),
            "a:\n  script: x\n",
        )
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    // A public project reads fine anonymously, so a stale `glcbt-` value changes nothing...
    t.get(&format!("/api/v4/projects/{}", ci.project_id))
        .token("glcbt-stale")
        .await
        .expect_status(StatusCode::OK);
    t.get(&format!(
        "/api/v4/projects/{}/pipelines/{}/jobs",
        ci.project_id, ci.pipeline_id
    ))
    .bearer("glcbt-stale")
    .await
    .expect_status(StatusCode::OK);
    // ...while an unknown value of any other form is a 401.
    t.get(&format!("/api/v4/projects/{}", ci.project_id))
        .token("glpat-stale")
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    // Routes that need a user still answer 401, a valid job token included.
    for response in [
        t.get("/api/v4/user").token(&job.token).await,
        t.get(&format!(
            "/api/v4/projects/{}/jobs/{}",
            ci.project_id, job.id
        ))
        .bearer(&job.token)
        .await,
    ] {
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.json(), message("401 Unauthorized"));
    }
    // And as a job token it still works where job tokens are accepted.
    t.get(&format!("/api/v4/projects/{}/jobs", ci.project_id))
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn access_token_carries_a_job_token_where_job_tokens_are_accepted() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let current = t
        .get(&format!("/api/v4/job?access_token={}", job.token))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(current["id"], job.id);
    let jobs = t
        .get(&format!(
            "/api/v4/projects/{}/jobs?access_token={}",
            ci.project_id, job.token
        ))
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 1);
    // Elsewhere it is tried as a personal access token, and fails.
    t.get(&format!(
        "/api/v4/projects/{}/jobs/{}?access_token={}",
        ci.project_id, job.id, job.token
    ))
    .await
    .expect_status(StatusCode::UNAUTHORIZED);
}
