//! Runner management end to end through the router: the runner-protocol management calls
//! (legacy registration, unregister, managers, token rotation), runner managers recorded on
//! contact and shown on jobs, and the runner admin APIs.

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp, TestRunner};
use serde_json::{Value, json};

async fn registration_token(t: &TestApp) -> String {
    let settings = t
        .get("/api/v4/application/settings")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    settings["runners_registration_token"]
        .as_str()
        .expect("registration token")
        .to_owned()
}

async fn verify(t: &TestApp, token: &str, system_id: Option<&str>) -> StatusCode {
    let mut body = json!({ "token": token, "info": { "version": "17.0.0", "platform": "linux" } });
    if let Some(system_id) = system_id {
        body["system_id"] = json!(system_id);
    }
    t.post("/api/v4/runners/verify").json(body).await.status
}

#[tokio::test]
async fn legacy_registration_with_the_instance_token() {
    let t = TestApp::new().await;
    let registration = registration_token(&t).await;
    assert_eq!(registration, registration_token(&t).await, "stable token");

    let bad = t
        .post("/api/v4/runners")
        .json(json!({ "token": "nope" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(bad.json(), json!({ "message": "403 Forbidden" }));
    t.post("/api/v4/runners")
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    t.post("/api/v4/runners")
        .json(json!({ "token": registration, "maximum_timeout": 60 }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);

    let created = t
        .post("/api/v4/runners")
        .json(json!({
            "token": registration,
            "description": "legacy",
            "tag_list": "linux, docker",
            "run_untagged": false,
            "locked": true,
            "access_level": "ref_protected",
            "maximum_timeout": 3600,
            "paused": false,
            "info": { "name": "gitlab-runner", "version": "17.1.0", "platform": "linux",
                      "architecture": "amd64", "features": { "cancelable": true } },
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let id = created["id"].as_i64().expect("id");
    assert!(id > 0);
    assert_eq!(created["token_expires_at"], Value::Null);
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(!token.starts_with("glrt-"), "legacy tokens are not glrt-");
    assert_eq!(verify(&t, &token, None).await, StatusCode::OK);
}

#[tokio::test]
async fn unregister_reset_token_and_discovery() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;

    let reset = t
        .post("/api/v4/runners/reset_authentication_token")
        .json(json!({ "token": runner.token }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let new_token = reset["token"].as_str().expect("token").to_owned();
    assert!(new_token.starts_with("glrt-"));
    assert_ne!(new_token, runner.token);
    assert_eq!(reset["token_expires_at"], Value::Null);
    assert_eq!(verify(&t, &runner.token, None).await, StatusCode::FORBIDDEN);
    assert_eq!(verify(&t, &new_token, None).await, StatusCode::OK);

    t.get("/api/v4/runners/router/discovery")
        .header("runner-token", &new_token)
        .await
        .expect_status(StatusCode::NOT_IMPLEMENTED);

    t.delete("/api/v4/runners")
        .json(json!({ "token": "unknown" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let gone = t
        .delete("/api/v4/runners")
        .json(json!({ "token": new_token }))
        .await
        .expect_status(StatusCode::NO_CONTENT);
    assert!(gone.body.is_empty());
    assert_eq!(verify(&t, &new_token, None).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn managers_are_recorded_and_unregistered_by_system_id() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    assert_eq!(
        verify(&t, &runner.token, Some("s_0123456789ab")).await,
        StatusCode::OK
    );
    t.delete("/api/v4/runners/managers")
        .json(json!({ "token": runner.token, "system_id": "s_unknown" }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.delete("/api/v4/runners/managers")
        .json(json!({ "token": "unknown", "system_id": "s_0123456789ab" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.delete("/api/v4/runners/managers")
        .json(json!({ "token": runner.token, "system_id": "s_0123456789ab" }))
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.delete("/api/v4/runners/managers")
        .json(json!({ "token": runner.token, "system_id": "s_0123456789ab" }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    // The runner itself stays.
    assert_eq!(verify(&t, &runner.token, None).await, StatusCode::OK);
}

#[expect(dead_code, reason = "used by later tests")]
fn unused(_: TestRunner) {}
