//! Instance settings and the per-user rate limit of the project job list (jobs-api.md §1.7).

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp};
use serde_json::json;

#[tokio::test]
async fn settings_are_admin_only_and_default_to_gitlabs_limit() {
    let t = TestApp::new().await;
    let settings = t
        .get("/api/v4/application/settings")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(settings["project_jobs_api_rate_limit"], 600);

    let dev = t.create_user("dev").await;
    let refused = t
        .get("/api/v4/application/settings")
        .token(&dev.token)
        .await
        .expect_status(StatusCode::FORBIDDEN)
        .json();
    assert_eq!(refused, json!({ "message": "403 Forbidden" }));
    t.put("/api/v4/application/settings")
        .json(json!({ "project_jobs_api_rate_limit": 5 }))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);

    let invalid = t
        .put("/api/v4/application/settings")
        .token(ROOT_TOKEN)
        .json(json!({ "project_jobs_api_rate_limit": "lots" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST)
        .json();
    assert_eq!(
        invalid,
        json!({ "error": "project_jobs_api_rate_limit is invalid" })
    );
}

#[tokio::test]
async fn the_job_list_is_limited_per_user_per_minute() {
    let t = TestApp::new().await;
    let project = t
        .create_project(ROOT_TOKEN, json!({ "name": "limited" }))
        .await;
    let id = project["id"].as_i64().unwrap_or_default();
    let updated = t
        .put("/api/v4/application/settings")
        .token(ROOT_TOKEN)
        .json(json!({ "project_jobs_api_rate_limit": 3 }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(updated["project_jobs_api_rate_limit"], 3);

    for _ in 0..3 {
        t.get(&format!("/api/v4/projects/{id}/jobs"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK);
    }
    // The limit is checked before the project lookup: even a missing project answers 429.
    for path in [
        format!("/api/v4/projects/{id}/jobs"),
        "/api/v4/projects/999/jobs".to_owned(),
    ] {
        let limited = t
            .get(&path)
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::TOO_MANY_REQUESTS)
            .json();
        assert_eq!(
            limited,
            json!({ "message": { "error": "This endpoint has been requested too many times. Try again later." } })
        );
    }
    // Another user has a window of their own; other endpoints are not limited.
    let other = t.create_user("other").await;
    t.get("/api/v4/projects/999/jobs")
        .token(&other.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.get(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);

    // 0 switches the limit off.
    t.put("/api/v4/application/settings")
        .token(ROOT_TOKEN)
        .json(json!({ "project_jobs_api_rate_limit": 0 }))
        .await
        .expect_status(StatusCode::OK);
    t.get(&format!("/api/v4/projects/{id}/jobs"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
}
