//! Git smart HTTP behind the router's fallback: who may read and push (the runner clones
//! with `gitlab-ci-token:<job token>`). The full clone/push round trip is tested in
//! pipewright-git; here only the HTTP decisions.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::json;

use crate::common::{ROOT_TOKEN, TestApp};

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

const UPLOAD_REFS: &str = "/root/demo.git/info/refs?service=git-upload-pack";
const RECEIVE_REFS: &str = "/root/demo.git/info/refs?service=git-receive-pack";

#[tokio::test]
async fn personal_tokens_and_running_job_tokens_read_the_repository() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n").await;
    let response = t
        .get(UPLOAD_REFS)
        .header("authorization", &basic("root", ROOT_TOKEN))
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("application/x-git-upload-pack-advertisement")
    );
    let text = String::from_utf8_lossy(&response.body).into_owned();
    assert!(text.contains("refs/heads/main"), "{text}");
    // Runners fetch `+refs/pipelines/<id>:refs/pipelines/<id>` (the payload's first
    // refspec), so the pipeline ref must be advertised to fetches.
    assert!(text.contains("refs/pipelines/1"), "{text}");

    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    t.get(UPLOAD_REFS)
        .header("authorization", &basic("gitlab-ci-token", &job.token))
        .await
        .expect_status(StatusCode::OK);
    t.succeed(&job).await;
    let response = t
        .get(UPLOAD_REFS)
        .header("authorization", &basic("gitlab-ci-token", &job.token))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Basic realm=\"GitLab\"")
    );
}

#[tokio::test]
async fn private_repositories_ask_for_credentials_or_hide() {
    let t = TestApp::new().await;
    t.create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    let alice = t.create_user("alice").await;
    for authorization in [None, Some(basic("root", "wrong"))] {
        let mut request = t.get(UPLOAD_REFS);
        if let Some(value) = &authorization {
            request = request.header("authorization", value);
        }
        let response = request.await.expect_status(StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.header("www-authenticate"),
            Some("Basic realm=\"GitLab\""),
            "{authorization:?}"
        );
    }
    // Signed in but not a member: the project does not exist for them.
    t.get(UPLOAD_REFS)
        .header("authorization", &basic("alice", &alice.token))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.get("/root/nothing.git/info/refs?service=git-upload-pack")
        .header("authorization", &basic("root", ROOT_TOKEN))
        .await
        .expect_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn public_repositories_clone_anonymously_but_push_needs_developer() {
    let t = TestApp::new().await;
    t.create_project(
        ROOT_TOKEN,
        json!({ "name": "demo", "visibility": "public", "initialize_with_readme": true }),
    )
    .await;
    let alice = t.create_user("alice").await;
    t.get(UPLOAD_REFS).await.expect_status(StatusCode::OK);
    t.get(RECEIVE_REFS)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    let response = t
        .get(RECEIVE_REFS)
        .header("authorization", &basic("alice", &alice.token))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        "You are not allowed to push code to this project.\n"
    );
    t.get(RECEIVE_REFS)
        .header("authorization", &basic("root", ROOT_TOKEN))
        .await
        .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn job_tokens_never_push() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    t.get(RECEIVE_REFS)
        .header("authorization", &basic("gitlab-ci-token", &job.token))
        .await
        .expect_status(StatusCode::FORBIDDEN);
}
