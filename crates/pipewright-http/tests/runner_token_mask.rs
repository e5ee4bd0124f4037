//! Runner tokens never reach a stored job log (runner-protocol.md §8.2): the token of any
//! live runner, `glrt-` or legacy `t1_`, is replaced with `x`s of the same length; strings
//! that only look like tokens are kept.

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp};
use serde_json::json;

#[tokio::test]
async fn live_runner_tokens_are_masked_in_stored_logs() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;

    let settings = t
        .get("/api/v4/application/settings")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let legacy = t
        .post("/api/v4/runners")
        .json(json!({ "token": settings["runners_registration_token"] }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let legacy_token = legacy["token"].as_str().expect("legacy token").to_owned();
    assert!(legacy_token.starts_with("t1_"), "{legacy_token}");

    let fake = "glrt-thisIsNotARunnerToken";
    let line = format!("own={} legacy={legacy_token} fake={fake}\n", runner.token);
    t.append_trace(job.id, &job.token, 0, line.as_bytes())
        .await
        .expect_status(StatusCode::ACCEPTED);
    let log = t
        .get(&format!(
            "/api/v4/projects/{}/jobs/{}/trace",
            ci.project_id, job.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .text();
    let x = |n: usize| "x".repeat(n);
    assert_eq!(
        log,
        format!(
            "own={} legacy={} fake={fake}\n",
            x(runner.token.len()),
            x(legacy_token.len())
        )
    );
}
