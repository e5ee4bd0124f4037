//! Golden JSON of each entity, keys in wire order, volatile values redacted
//! (`common::ordered::redact`). A change here is a change of the public API: review the
//! snapshot diff like code.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::ordered::{Ordered, redact};
use crate::common::{ROOT_TOKEN, Response, TestApp};

/// The body with `secrets` replaced before parsing (tokens inside URLs and variables).
fn scrubbed(response: &Response, secrets: &[(&str, &str)]) -> Ordered {
    let mut text = response.text();
    for (secret, placeholder) in secrets {
        text = text.replace(secret, placeholder);
    }
    serde_json::from_str(&text).expect("json")
}

const CI: &str = "stages: [build, test]\nvariables:\n  GLOBAL: g\nbuild:\n  stage: build\n  script: make\n  tags: [linux]\ntest:\n  stage: test\n  script: make test\n";

#[tokio::test]
async fn user_entities() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let user = t
        .get(&format!("/api/v4/users/{}", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    insta::assert_json_snapshot!("user", redact(user.ordered()));
    let current = t
        .get("/api/v4/user")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    insta::assert_json_snapshot!("current_user", redact(current.ordered()));
    let token = t
        .post(&format!(
            "/api/v4/users/{}/personal_access_tokens",
            alice.id
        ))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "ci", "scopes": ["read_api"] }))
        .await
        .expect_status(StatusCode::CREATED);
    insta::assert_json_snapshot!("personal_access_token", redact(token.ordered()));
}

#[tokio::test]
async fn project_entity() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(CI).await;
    let project = t
        .get(&format!("/api/v4/projects/{}", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    insta::assert_json_snapshot!("project", redact(project.ordered()));
}

#[tokio::test]
async fn commit_entity() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(CI).await;
    let commit = t
        .get(&format!(
            "/api/v4/projects/{}/repository/commits/{}",
            ci.project_id, ci.sha
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    insta::assert_json_snapshot!("commit", redact(commit.ordered()));
}

#[tokio::test]
async fn pipeline_entities() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(CI).await;
    let list = t
        .get(&format!("/api/v4/projects/{}/pipelines", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    insta::assert_json_snapshot!("pipeline_basic_list", redact(list.ordered()));
    let pending = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}",
            ci.project_id, ci.pipeline_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    insta::assert_json_snapshot!("pipeline_pending", redact(pending.ordered()));

    let runner = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "tag_list": ["linux"] }),
        )
        .await;
    t.drain(&runner, "success").await;
    let finished = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}",
            ci.project_id, ci.pipeline_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    insta::assert_json_snapshot!("pipeline_success", redact(finished.ordered()));
}

#[tokio::test]
async fn job_entities() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(CI).await;
    let pending = t
        .get(&format!("/api/v4/projects/{}/jobs/1", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    pending.job();
    insta::assert_json_snapshot!("job_pending", redact(pending.ordered()));

    let runner = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "description": "golden", "tag_list": ["linux"] }),
        )
        .await;
    let job = t.claim(&runner).await;
    let running = t
        .get(&format!(
            "/api/v4/projects/{}/jobs/{}",
            ci.project_id, job.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    running.job();
    insta::assert_json_snapshot!("job_running", redact(running.ordered()));

    t.fail(&job, "script_failure", 1).await;
    let failed = t
        .get(&format!(
            "/api/v4/projects/{}/jobs/{}",
            ci.project_id, job.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    failed.job();
    insta::assert_json_snapshot!("job_failed", redact(failed.ordered()));
}

#[tokio::test]
async fn runner_job_payload() {
    let t = TestApp::new().await;
    t.project_with_ci(CI).await;
    let runner = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "description": "golden", "tag_list": ["linux"] }),
        )
        .await;
    let response = t
        .request_job(&runner)
        .await
        .expect_status(StatusCode::CREATED);
    let payload = response.json();
    let token = payload["token"].as_str().expect("token").to_owned();
    let sha = payload["git_info"]["sha"].as_str().expect("sha").to_owned();
    insta::assert_json_snapshot!(
        "runner_job_payload",
        redact(scrubbed(
            &response,
            &[
                (&token, "[job_token]"),
                (&sha, "[sha]"),
                (&sha[..8], "[short_sha]")
            ]
        ))
    );
}
