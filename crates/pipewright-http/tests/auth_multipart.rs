//! Credentials in multipart bodies (issue #3): GitLab reads `private_token`, `access_token`,
//! `job_token`, `token` and `sudo` from any parameter body, `multipart/form-data` included
//! (`curl --form`). Multipart bodies are read for parameters up to 1 MiB only; larger ones
//! are uploads and go on unread, and the runner's artifact upload is never buffered.

mod common;

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{ROOT_TOKEN, TestApp};

const BOUNDARY: &str = "pipewright-test-boundary";

/// A `multipart/form-data` body of text fields (and optionally one file part).
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, contents)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(contents);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

#[tokio::test]
async fn a_private_token_field_authenticates_and_the_other_fields_are_params() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let body = multipart(
        &[("private_token", &alice.token), ("name", "from-a-form")],
        None,
    );
    let project = t
        .post("/api/v4/projects")
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(project["path_with_namespace"], "alice/from-a-form");

    // The query string's token wins over the body's (Rails' `request.params`).
    let body = multipart(&[("private_token", "wrong"), ("name", "second")], None);
    let project = t
        .post(&format!("/api/v4/projects?private_token={}", alice.token))
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(project["path_with_namespace"], "alice/second");

    // A wrong token in the body is a 401, as anywhere else.
    let body = multipart(&[("private_token", "wrong"), ("name", "third")], None);
    let refused = t
        .post("/api/v4/projects")
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json(), json!({ "message": "401 Unauthorized" }));
}

#[tokio::test]
async fn access_token_and_sudo_fields_work_and_a_job_token_field_is_ignored_where_pats_only() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let (_, sudo_token) = t.create_token(1, &["api", "sudo"], None).await;

    // `access_token` carries a personal access token too (GitLab's parsed OAuth token).
    let user = t
        .get(&format!("/api/v4/user?access_token={}", alice.token))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(user["username"], "alice");
    let body = multipart(
        &[("access_token", &alice.token), ("name", "via-oauth-param")],
        None,
    );
    let project = t
        .post("/api/v4/projects")
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(project["namespace"]["path"], "alice");

    // sudo as a field: root acts as alice.
    let body = multipart(
        &[
            ("private_token", &sudo_token),
            ("sudo", "alice"),
            ("name", "made-for-alice"),
        ],
        None,
    );
    let project = t
        .post("/api/v4/projects")
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(project["path_with_namespace"], "alice/made-for-alice");

    // A job token field is no personal access token: anonymous, so 401.
    let body = multipart(&[("job_token", "glcbt-anything"), ("name", "nope")], None);
    t.post("/api/v4/projects")
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_oauth_access_token_field_authenticates() {
    let t = TestApp::new().await;
    t.post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({
            "username": "alice", "name": "Alice", "email": "alice@example.com",
            "password": "correct-horse-battery",
        }))
        .await
        .expect_status(StatusCode::CREATED);
    let token = t
        .post("/oauth/token")
        .header("content-type", &content_type())
        .body(multipart(
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "correct-horse-battery"),
            ],
            None,
        ))
        .await
        .expect_status(StatusCode::OK)
        .json();
    let access = token["access_token"].as_str().expect("token");
    let body = multipart(&[("access_token", access), ("name", "oauth-form")], None);
    let project = t
        .post("/api/v4/projects")
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(project["path_with_namespace"], "alice/oauth-form");
}

#[tokio::test]
async fn a_trigger_token_form_starts_a_pipeline_as_curl_form_does() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: echo hi\n").await;
    let trigger = t
        .post(&format!("/api/v4/projects/{}/triggers", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "description": "hook" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let token = trigger["token"].as_str().expect("token");
    let body = multipart(
        &[
            ("token", token),
            ("ref", "main"),
            ("variables[GREETING]", "hello"),
        ],
        None,
    );
    let pipeline = t
        .post(&format!(
            "/api/v4/projects/{}/trigger/pipeline",
            ci.project_id
        ))
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(pipeline["source"], "trigger");
    assert_eq!(pipeline["ref"], "main");
}

#[tokio::test]
async fn a_large_multipart_body_is_not_read_for_credentials() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let upload = vec![b'x'; 1024 * 1024 + 1];
    // Announced as too large: not read, so the caller is anonymous.
    let body = multipart(
        &[("private_token", &alice.token), ("name", "big")],
        Some(("file", &upload)),
    );
    let refused = t
        .post("/api/v4/projects")
        .header("content-type", &content_type())
        .header("content-length", &body.len().to_string())
        .body(body)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json(), json!({ "message": "401 Unauthorized" }));
    // Not announced (chunked): read up to the limit, then handed on unparsed.
    let body = multipart(
        &[("private_token", &alice.token), ("name", "big")],
        Some(("file", &upload)),
    );
    t.post("/api/v4/projects")
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    // Just under the limit: read.
    let small = vec![b'x'; 1024];
    let body = multipart(
        &[("private_token", &alice.token), ("name", "small")],
        Some(("file", &small)),
    );
    t.post("/api/v4/projects")
        .header("content-type", &content_type())
        .body(body)
        .await
        .expect_status(StatusCode::CREATED);
}
