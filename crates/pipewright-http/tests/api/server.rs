//! Cross-cutting answers: version, unknown routes, API v3, wrong methods, HEAD, headers.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{ROOT_TOKEN, TestApp, assert_api_headers, assert_json_content_type};

#[tokio::test]
async fn version_answers_version_and_revision() {
    let t = TestApp::new().await;
    let response = t
        .get("/api/v4/version")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_json_content_type(&response);
    assert_api_headers(&response);
    assert_eq!(
        response.json(),
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "revision": option_env!("PIPEWRIGHT_REVISION").unwrap_or("unknown"),
            "kas": { "enabled": false, "externalUrl": null, "version": null },
            "enterprise": false,
        })
    );
}

#[tokio::test]
async fn version_and_metadata_need_authentication_and_read_user_or_more() {
    let t = TestApp::new().await;
    for path in ["/api/v4/version", "/api/v4/metadata"] {
        let anonymous = t.get(path).await.expect_status(StatusCode::UNAUTHORIZED);
        assert_eq!(anonymous.json(), json!({ "message": "401 Unauthorized" }));
        assert_api_headers(&anonymous);
        let (_, read_user) = t.create_token(1, &["read_user"], None).await;
        t.get(path)
            .bearer(&read_user)
            .await
            .expect_status(StatusCode::OK);
        let (_, registry) = t.create_token(1, &["read_registry"], None).await;
        let refused = t
            .get(path)
            .token(&registry)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(
            refused.json()["scope"],
            "read_user ai_features api read_api"
        );
        // Job tokens are not accepted there (no `job_token_allowed` route setting).
        t.get(path)
            .job_token("glcbt-not-checked")
            .await
            .expect_status(StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn unknown_api_route_is_gitlab_404_with_error_key() {
    let t = TestApp::new().await;
    for path in [
        "/api/v4/nothing-here",
        "/api/v4/projects/1/nothing",
        "/api/v4/projects/1/jobs/1/nothing",
    ] {
        let response = t.get(path).token(ROOT_TOKEN).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.json(),
            json!({ "error": "404 Not Found" }),
            "{path}"
        );
        assert_api_headers(&response);
        assert_json_content_type(&response);
    }
}

#[tokio::test]
async fn unencoded_slash_in_project_id_matches_no_route() {
    let t = TestApp::new().await;
    t.create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    let response = t
        .get("/api/v4/projects/root/demo/jobs")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({ "error": "404 Not Found" }));
}

#[tokio::test]
async fn unknown_path_outside_the_api_is_404() {
    let t = TestApp::new().await;
    let response = t.get("/nothing").await.expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({ "error": "404 Not Found" }));
}

#[tokio::test]
async fn api_v3_is_gone() {
    let t = TestApp::new().await;
    for (method, path) in [
        ("GET", "/api/v3/x"),
        ("POST", "/api/v3/projects/1/jobs"),
        ("GET", "/api/v3"),
    ] {
        let response = t
            .request(method.parse().expect("method"), path)
            .await
            .expect_status(StatusCode::GONE);
        assert_eq!(
            response.json(),
            json!({ "error": "API V3 is no longer supported. Use API V4 instead." }),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn api_v3_answer_carries_the_api_headers() {
    let t = TestApp::new().await;
    let response = t.get("/api/v3/x").await.expect_status(StatusCode::GONE);
    assert_api_headers(&response);
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let t = TestApp::new().await;
    let cases = [
        ("POST", "/api/v4/version", "GET"),
        ("DELETE", "/api/v4/user", "GET"),
        ("GET", "/api/v4/jobs/1", "PUT"),
        ("POST", "/api/v4/jobs/1/trace", "PATCH"),
        ("PUT", "/api/v4/projects/1/jobs", "GET"),
        ("GET", "/api/v4/runners/verify", "POST"),
        // The spec's own example: an action route called with GET.
        ("GET", "/api/v4/projects/1/jobs/1/cancel", "POST"),
    ];
    for (method, path, allowed) in cases {
        let response = t
            .request(method.parse().expect("method"), path)
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            response.json(),
            json!({ "error": "405 Not Allowed" }),
            "{method} {path}"
        );
        let allow = response.header("allow").unwrap_or_default().to_owned();
        assert!(
            allow.split(',').any(|m| m.trim() == allowed),
            "{method} {path}: Allow {allow:?} lacks {allowed}"
        );
        assert_api_headers(&response);
        assert_json_content_type(&response);
    }
}

#[tokio::test]
async fn security_headers_on_success_and_error_answers() {
    let t = TestApp::new().await;
    let answers = [
        t.get("/api/v4/user").token(ROOT_TOKEN).await,
        t.get("/api/v4/user").await,
        t.get("/api/v4/projects/999").token(ROOT_TOKEN).await,
        t.post("/api/v4/projects").token(ROOT_TOKEN).await,
        t.post("/api/v4/jobs/request")
            .json(json!({"token": "x"}))
            .await,
    ];
    for response in &answers {
        assert_api_headers(response);
    }
    assert_eq!(
        answers
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>(),
        [200, 401, 404, 400, 403]
    );
}

#[tokio::test]
async fn head_is_answered_for_get_routes() {
    let t = TestApp::new().await;
    let get = t.get("/api/v4/version").token(ROOT_TOKEN).await;
    let head = t
        .head("/api/v4/version")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_api_headers(&head);

    let head = t
        .head("/api/v4/user")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert!(head.body.is_empty());
    // Authentication still applies to HEAD.
    t.head("/api/v4/user")
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn head_on_a_job_list_keeps_the_pagination_headers() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let path = format!("/api/v4/projects/{}/jobs", ci.project_id);
    let get = t.get(&path).token(ROOT_TOKEN).await;
    let head = t
        .head(&path)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.pagination_headers(), get.pagination_headers());
}
