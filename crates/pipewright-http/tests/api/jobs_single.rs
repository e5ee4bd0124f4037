//! E6 (one job) and E7 (its log).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{EXTERNAL_URL, ROOT_TOKEN, TestApp, assert_api_headers};

const BRIDGE_CI: &str =
    "build:\n  stage: build\n  script: x\ndownstream:\n  stage: deploy\n  trigger: root/other\n";

#[tokio::test]
async fn e6_returns_the_job_entity() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("build:\n  script: make\n  tags: [linux, docker]\n")
        .await;
    let job = t.job(ci.project_id, 1).await;
    assert_eq!(job["id"], 1);
    assert_eq!(job["status"], "pending");
    assert_eq!(job["stage"], "test");
    assert_eq!(job["name"], "build");
    assert_eq!(job["ref"], "main");
    assert_eq!(job["tag"], false);
    assert_eq!(job["allow_failure"], false);
    assert_eq!(job["started_at"], Value::Null);
    assert_eq!(job["duration"], Value::Null);
    assert!(job["queued_duration"].is_number());
    assert_eq!(job["user"]["username"], "root");
    assert_eq!(job["commit"]["id"], ci.sha.as_str());
    assert_eq!(job["pipeline"]["id"], ci.pipeline_id);
    assert_eq!(job["pipeline"]["status"], "pending");
    assert_eq!(job["web_url"], format!("{EXTERNAL_URL}/root/demo/-/jobs/1"));
    assert_eq!(
        job["project"],
        json!({ "ci_job_token_scope_enabled": false })
    );
    assert_eq!(job["artifacts"], json!([]));
    assert_eq!(job["runner"], Value::Null);
    assert_eq!(job["runner_manager"], Value::Null);
    assert_eq!(job["archived"], false);
    assert_eq!(job["tag_list"], json!(["docker", "linux"]));
    assert_eq!(job["source"], "push");
}

#[tokio::test]
async fn e6_shows_the_runner_while_running_and_the_failure_after() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("build:\n  script: make\n").await;
    let runner = t.instance_runner().await;
    let claimed = t.claim(&runner).await;
    let job = t.job(ci.project_id, claimed.id).await;
    assert_eq!(job["status"], "running");
    assert_eq!(job["runner"]["id"], runner.id);
    assert_eq!(job["runner"]["description"], "test runner");
    assert_eq!(job["runner"]["runner_type"], "instance_type");
    assert_eq!(job["runner"]["is_shared"], true);
    assert_eq!(job["runner"]["online"], true);
    assert_eq!(job["runner"]["status"], "online");
    assert_eq!(job["runner"]["job_execution_status"], "active");
    assert!(job["started_at"].is_string());
    assert!(job["duration"].is_number());

    t.fail(&claimed, "script_failure", 2).await;
    let job = t.job(ci.project_id, claimed.id).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["failure_reason"], "script_failure");
    assert!(job["finished_at"].is_string());
    assert_eq!(job["runner"]["job_execution_status"], "idle");
    assert_eq!(job["pipeline"]["status"], "failed");
}

#[tokio::test]
async fn e6_not_found_cases() {
    let t = TestApp::new().await;
    t.create_project(ROOT_TOKEN, json!({ "name": "other" }))
        .await;
    let ci = t.project_with_ci(BRIDGE_CI).await;
    let third = t
        .project_with_ci_as(ROOT_TOKEN, "third", json!({}), "x:\n  script: x\n")
        .await;
    let bridge = t
        .get(&format!(
            "/api/v4/projects/{}/jobs?scope=created",
            ci.project_id
        ))
        .token(ROOT_TOKEN)
        .await
        .jobs();
    assert!(bridge.is_empty(), "the bridge is not a build");
    // Job ids: 1 build, 2 the bridge (project 2); 3 the job of project 3.
    for job in [2, 3, 999] {
        let response = t
            .get(&format!("/api/v4/projects/{}/jobs/{job}", ci.project_id))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::NOT_FOUND);
        assert_eq!(
            response.json(),
            json!({ "message": "404 Not found" }),
            "job {job}"
        );
    }
    t.job(third.project_id, 3).await;
}

#[tokio::test]
async fn e6_check_order() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("build:\n  script: x\n").await;
    let response = t
        .get(&format!("/api/v4/projects/{}/jobs/abc", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), json!({ "error": "job_id is invalid" }));
    // 401 before 400, 400 before 404.
    t.get(&format!("/api/v4/projects/{}/jobs/abc", ci.project_id))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    let response = t
        .get("/api/v4/projects/999/jobs/abc")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), json!({ "error": "job_id is invalid" }));
    let response = t
        .get("/api/v4/projects/999/jobs/1")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        response.json(),
        json!({ "message": "404 Project Not Found" })
    );
    // Even a public project's job needs authentication on E6.
    let public = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "open",
            json!({ "visibility": "public" }),
            "x:\n  script: x\n",
        )
        .await;
    let response = t
        .get(&format!("/api/v4/projects/{}/jobs/2", public.project_id))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(response.json(), json!({ "message": "401 Unauthorized" }));
}

#[tokio::test]
async fn e6_read_build_ability() {
    let t = TestApp::new().await;
    let guest = t.create_user("guest").await;
    let outsider = t.create_user("outsider").await;
    let ci = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "demo",
            json!({ "public_jobs": false }),
            "x:\n  script: x\n",
        )
        .await;
    t.post(&format!("/api/v4/projects/{}/members", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": guest.id, "access_level": 10 }))
        .await
        .expect_status(StatusCode::CREATED);
    for path in [
        format!("/api/v4/projects/{}/jobs/1", ci.project_id),
        format!("/api/v4/projects/{}/jobs/1/trace", ci.project_id),
    ] {
        let response = t
            .get(&path)
            .token(&guest.token)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(
            response.json(),
            json!({ "message": "403 Forbidden" }),
            "{path}"
        );
        let response = t
            .get(&path)
            .token(&outsider.token)
            .await
            .expect_status(StatusCode::NOT_FOUND);
        assert_eq!(
            response.json(),
            json!({ "message": "404 Project Not Found" }),
            "{path}"
        );
    }
}

// ---- E7 ------------------------------------------------------------------------------

const LOG: &str = "hello\nworld\n\x1b[32;1mgreen\x1b[0;m\n";

/// A finished job whose log is [`LOG`], sent in two chunks.
async fn job_with_log(t: &TestApp) -> (i64, i64) {
    let ci = t.project_with_ci("build:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let (first, second) = LOG.as_bytes().split_at(6);
    t.append_trace(job.id, &job.token, 0, first)
        .await
        .expect_status(StatusCode::ACCEPTED);
    t.append_trace(job.id, &job.token, first.len(), second)
        .await
        .expect_status(StatusCode::ACCEPTED);
    t.succeed(&job).await;
    (ci.project_id, job.id)
}

#[tokio::test]
async fn e7_returns_the_raw_log_as_text() {
    let t = TestApp::new().await;
    let (project, job) = job_with_log(&t).await;
    let response = t
        .get(&format!("/api/v4/projects/{project}/jobs/{job}/trace"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(response.body.as_ref(), LOG.as_bytes());
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(
        response.header("content-disposition"),
        Some(format!("infile; filename=\"{job}.log\"").as_str())
    );
    assert_api_headers(&response);
}

#[tokio::test]
async fn e7_byte_ranges() {
    let t = TestApp::new().await;
    let (project, job) = job_with_log(&t).await;
    let log = LOG.as_bytes();
    let cases: [(&str, &[u8]); 7] = [
        ("byte_offset=6", &log[6..]),
        ("byte_limit=5", &log[..5]),
        ("byte_offset=6&byte_limit=5", &log[6..11]),
        ("byte_offset=0&byte_limit=512000", log),
        ("byte_offset=1000", b""),
        ("byte_offset=6&byte_limit=1000", &log[6..]),
        ("byte_offset=0", log),
    ];
    for (query, expected) in cases {
        let response = t
            .get(&format!(
                "/api/v4/projects/{project}/jobs/{job}/trace?{query}"
            ))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK);
        assert_eq!(response.body.as_ref(), expected, "{query}");
    }
}

#[tokio::test]
async fn e7_byte_range_validation() {
    let t = TestApp::new().await;
    let (project, job) = job_with_log(&t).await;
    for (query, error) in [
        ("byte_offset=-1", "byte_offset does not have a valid value"),
        ("byte_limit=0", "byte_limit does not have a valid value"),
        (
            "byte_limit=512001",
            "byte_limit does not have a valid value",
        ),
        ("byte_limit=-3", "byte_limit does not have a valid value"),
        ("byte_offset=x", "byte_offset is invalid"),
        ("byte_limit=x", "byte_limit is invalid"),
    ] {
        let response = t
            .get(&format!(
                "/api/v4/projects/{project}/jobs/{job}/trace?{query}"
            ))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }), "{query}");
    }
    // 400 before the project lookup.
    t.get("/api/v4/projects/999/jobs/1/trace?byte_limit=0")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn e7_a_job_without_a_log_is_an_empty_200() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("build:\n  script: x\n").await;
    let response = t
        .get(&format!("/api/v4/projects/{}/jobs/1/trace", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert!(response.body.is_empty());
    assert_eq!(
        response.header("content-disposition"),
        Some("infile; filename=\"1.log\"")
    );
    let ranged = t
        .get(&format!(
            "/api/v4/projects/{}/jobs/1/trace?byte_offset=3&byte_limit=2",
            ci.project_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert!(ranged.body.is_empty());
}

#[tokio::test]
async fn e7_errors() {
    let t = TestApp::new().await;
    t.create_project(ROOT_TOKEN, json!({ "name": "other" }))
        .await;
    let ci = t.project_with_ci(BRIDGE_CI).await;
    for job in ["2", "999"] {
        let response = t
            .get(&format!(
                "/api/v4/projects/{}/jobs/{job}/trace",
                ci.project_id
            ))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::NOT_FOUND);
        assert_eq!(
            response.json(),
            json!({ "message": "404 Not found" }),
            "{job}"
        );
    }
    let response = t
        .get(&format!(
            "/api/v4/projects/{}/jobs/abc/trace",
            ci.project_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), json!({ "error": "job_id is invalid" }));
    t.get(&format!("/api/v4/projects/{}/jobs/1/trace", ci.project_id))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn e7_the_job_token_is_masked_in_the_stored_log() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("build:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let line = format!("token={} done\n", job.token);
    t.append_trace(job.id, &job.token, 0, line.as_bytes())
        .await
        .expect_status(StatusCode::ACCEPTED);
    let text = t
        .get(&format!(
            "/api/v4/projects/{}/jobs/{}/trace",
            ci.project_id, job.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .text();
    assert_eq!(
        text,
        format!("token={} done\n", "x".repeat(job.token.len())),
        "same length, token replaced"
    );
}

#[tokio::test]
async fn e7_head_has_the_headers_and_no_body() {
    let t = TestApp::new().await;
    let (project, job) = job_with_log(&t).await;
    let response = t
        .head(&format!("/api/v4/projects/{project}/jobs/{job}/trace"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert!(response.body.is_empty());
    assert_eq!(
        response.header("content-disposition"),
        Some(format!("infile; filename=\"{job}.log\"").as_str())
    );
}
