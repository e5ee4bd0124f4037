//! Git over HTTP honours token scopes (issue #3), as GitLab's `find_for_git_client` and
//! `abilities_for_scopes` do: `api`, `read_api`, `read_repository` and `write_repository`
//! download, `api` and `write_repository` push; other scopes do neither. Passwords work
//! too (any token goes with any username; `oauth2` for OAuth tokens by convention), and job
//! tokens only read. Personal access tokens are created with GitLab's scopes.

mod common;

use axum::http::StatusCode;
use base64::Engine;
use serde_json::json;

use crate::common::{ROOT_TOKEN, TestApp};

const UPLOAD_REFS: &str = "/root/demo.git/info/refs?service=git-upload-pack";
const RECEIVE_REFS: &str = "/root/demo.git/info/refs?service=git-receive-pack";
const PASSWORD: &str = "correct-horse-battery";

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn status_and_text(
    t: &TestApp,
    path: &str,
    user: &str,
    password: &str,
) -> (StatusCode, String) {
    let response = t
        .get(path)
        .header("authorization", &basic(user, password))
        .await;
    (response.status, response.text())
}

#[tokio::test]
async fn personal_access_token_scopes_decide_clone_and_push() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n").await;
    let download_denied = (
        StatusCode::FORBIDDEN,
        "You are not allowed to download code.\n".to_owned(),
    );
    let upload_denied = (
        StatusCode::FORBIDDEN,
        "You are not allowed to upload code.\n".to_owned(),
    );
    for (scopes, can_clone, can_push) in [
        (&["api"][..], true, true),
        (&["write_repository"][..], true, true),
        (&["read_repository"][..], true, false),
        // GitLab maps read_api to its read-only abilities, which include download_code.
        (&["read_api"][..], true, false),
        (&["read_user"][..], false, false),
        (&["read_registry", "create_runner"][..], false, false),
        (&["read_user", "read_repository"][..], true, false),
    ] {
        let (_, token) = t.create_token(1, scopes, None).await;
        let clone = status_and_text(&t, UPLOAD_REFS, "root", &token).await;
        if can_clone {
            assert_eq!(clone.0, StatusCode::OK, "{scopes:?}: {}", clone.1);
        } else {
            assert_eq!(clone, download_denied, "{scopes:?}");
        }
        let push = status_and_text(&t, RECEIVE_REFS, "anything", &token).await;
        if can_push {
            assert_eq!(push.0, StatusCode::OK, "{scopes:?}: {}", push.1);
        } else {
            assert_eq!(push, upload_denied, "{scopes:?}");
        }
    }
    // Scopes narrow, never widen: a read_repository token of a stranger still finds nothing.
    let alice = t.create_user("alice").await;
    let (_, token) = t.create_token(alice.id, &["read_repository"], None).await;
    let (status, _) = status_and_text(&t, UPLOAD_REFS, "alice", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn job_tokens_clone_but_never_push() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let (status, _) = status_and_text(&t, UPLOAD_REFS, "gitlab-ci-token", &job.token).await;
    assert_eq!(status, StatusCode::OK);
    let push = status_and_text(&t, RECEIVE_REFS, "gitlab-ci-token", &job.token).await;
    assert_eq!(
        push,
        (
            StatusCode::FORBIDDEN,
            "You are not allowed to push code to this project.\n".to_owned()
        )
    );
}

#[tokio::test]
async fn oauth_tokens_and_passwords_authenticate_git() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n").await;
    t.post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({
            "username": "alice", "name": "Alice", "email": "alice@example.com",
            "password": PASSWORD,
        }))
        .await
        .expect_status(StatusCode::CREATED);
    t.post("/api/v4/projects/1/members")
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": 2, "access_level": 30 }))
        .await
        .expect_status(StatusCode::CREATED);

    // The user's own password (GitLab's password authentication for Git, on by default).
    let (status, _) = status_and_text(&t, UPLOAD_REFS, "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = status_and_text(&t, UPLOAD_REFS, "alice@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let wrong = t
        .get(UPLOAD_REFS)
        .header("authorization", &basic("alice", "not-the-password"))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Basic realm=\"GitLab\"")
    );

    // OAuth access tokens, with their scopes.
    let oauth = |scope: &'static str| {
        t.post("/oauth/token").form(&format!(
            "grant_type=password&username=alice&password={PASSWORD}&scope={scope}"
        ))
    };
    let api = oauth("api").await.expect_status(StatusCode::OK).json();
    let api = api["access_token"].as_str().expect("token");
    let (status, _) = status_and_text(&t, UPLOAD_REFS, "oauth2", api).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = status_and_text(&t, RECEIVE_REFS, "oauth2", api).await;
    assert_eq!(status, StatusCode::OK);
    let read_user = oauth("read_user")
        .await
        .expect_status(StatusCode::OK)
        .json();
    let read_user = read_user["access_token"].as_str().expect("token");
    let denied = status_and_text(&t, UPLOAD_REFS, "oauth2", read_user).await;
    assert_eq!(
        denied,
        (
            StatusCode::FORBIDDEN,
            "You are not allowed to download code.\n".to_owned()
        )
    );
    // A revoked OAuth token asks for credentials again.
    t.post("/oauth/revoke")
        .form(&format!("token={api}"))
        .await
        .expect_status(StatusCode::OK);
    let (status, _) = status_and_text(&t, UPLOAD_REFS, "oauth2", api).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn personal_access_tokens_take_gitlabs_scopes() {
    let t = TestApp::new().await;
    let created = t
        .post("/api/v4/users/1/personal_access_tokens")
        .token(ROOT_TOKEN)
        .json(json!({
            "name": "everything",
            "scopes": [
                "api", "read_api", "read_user", "create_runner", "manage_runner", "k8s_proxy",
                "self_rotate", "read_repository", "write_repository", "read_registry",
                "write_registry", "read_virtual_registry", "write_virtual_registry",
                "read_observability", "write_observability", "ai_features", "sudo",
                "admin_mode", "read_service_ping"
            ],
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(created["scopes"].as_array().map(Vec::len), Some(19));
    for scopes in [
        json!(["api", "teleport"]),
        json!(["ai_workflows"]),
        json!(["openid"]),
    ] {
        let refused = t
            .post("/api/v4/users/1/personal_access_tokens")
            .token(ROOT_TOKEN)
            .json(json!({ "name": "nope", "scopes": scopes }))
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(
            refused.json(),
            json!({ "error": "scopes does not have a valid value" }),
            "{scopes}"
        );
    }
}
