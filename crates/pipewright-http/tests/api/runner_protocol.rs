//! The runner side (runner-protocol.md §4–§9): verify, job request, trace PATCH, job PUT.
//! A runner is simulated request by request.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{
    ClaimedJob, EXTERNAL_URL, ROOT_TOKEN, TestApp, TestRunner, ZERO_SHA, assert_json_content_type,
};

const CI: &str = "variables:\n  GLOBAL_VAR: global\nbuild:\n  before_script:\n    - echo before\n  script:\n    - make\n    - make test\n  after_script:\n    - echo after\n  variables:\n    JOB_VAR: job\n";

// ---- runner registration and verify -------------------------------------------------

#[tokio::test]
async fn create_runner_returns_a_glrt_token_once() {
    let t = TestApp::new().await;
    let response = t
        .post("/api/v4/user/runners")
        .token(ROOT_TOKEN)
        .json(json!({ "runner_type": "instance_type", "description": "r", "tag_list": "b,a" }))
        .await
        .expect_status(StatusCode::CREATED);
    let body = response.json();
    let token = body["token"].as_str().expect("token");
    assert!(token.starts_with("glrt-"), "{token}");
    assert_eq!(
        body,
        json!({ "id": 1, "token": token, "token_expires_at": null })
    );
}

#[tokio::test]
async fn create_runner_validation() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    t.create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    let create = |token: &str, body: Value| t.post("/api/v4/user/runners").token(token).json(body);
    for (body, error) in [
        (json!({}), "runner_type is missing"),
        (
            json!({ "runner_type": "mine" }),
            "runner_type does not have a valid value",
        ),
        (
            json!({ "runner_type": "project_type" }),
            "project_id is missing",
        ),
        (
            json!({ "runner_type": "group_type" }),
            "group_id is missing",
        ),
        (
            json!({ "runner_type": "instance_type", "access_level": "everything" }),
            "access_level does not have a valid value",
        ),
    ] {
        let response = create(ROOT_TOKEN, body)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }));
    }
    let response = create(
        ROOT_TOKEN,
        json!({ "runner_type": "instance_type", "maximum_timeout": 60 }),
    )
    .await
    .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "message": { "maximum_timeout": ["needs to be at least 10 minutes"] } })
    );
    // Instance runners are for admins; project runners for the project's maintainers.
    for body in [
        json!({ "runner_type": "instance_type" }),
        json!({ "runner_type": "project_type", "project_id": 1 }),
    ] {
        let response = create(&alice.token, body)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    }
    t.post("/api/v4/user/runners")
        .json(json!({ "runner_type": "instance_type" }))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn verify_answers_the_runner_id() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let response = t
        .post("/api/v4/runners/verify")
        .json(json!({ "token": runner.token, "system_id": "s_0123456789ab", "info": { "features": { "cancel_gracefully": true } } }))
        .await
        .expect_status(StatusCode::OK);
    assert_json_content_type(&response);
    assert_eq!(
        response.json(),
        json!({ "id": runner.id, "token": runner.token, "token_expires_at": null })
    );
    let response = t
        .post("/api/v4/runners/verify")
        .json(json!({ "token": "glrt-nope" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    // No token at all is a parameter error (GitLab: `token is missing`).
    t.post("/api/v4/runners/verify")
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
}

/// runner-protocol.md §1: parameters come from the JSON body or the query string.
#[tokio::test]
async fn runner_token_in_the_query_string() {
    let t = TestApp::new().await;
    t.project_with_ci(CI).await;
    let runner = t.instance_runner().await;
    t.post(&format!("/api/v4/runners/verify?token={}", runner.token))
        .await
        .expect_status(StatusCode::OK);
    t.post(&format!("/api/v4/jobs/request?token={}", runner.token))
        .await
        .expect_status(StatusCode::CREATED);
}

// ---- job request ---------------------------------------------------------------------

#[tokio::test]
async fn no_job_is_204_with_a_queue_version() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let response = t
        .request_job(&runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
    let version = response
        .header("x-gitlab-last-update")
        .expect("X-GitLab-Last-Update")
        .to_owned();
    // Echoing the version back while nothing changed: 204 with the same version.
    let again = t
        .request_job_with(json!({ "token": runner.token, "last_update": version }))
        .await
        .expect_status(StatusCode::NO_CONTENT);
    assert_eq!(again.header("x-gitlab-last-update"), Some(version.as_str()));
    // A job becoming pending changes the version, so the same echo now gets the job.
    t.project_with_ci(CI).await;
    let response = t
        .request_job_with(json!({ "token": runner.token, "last_update": version }))
        .await
        .expect_status(StatusCode::CREATED);
    assert_json_content_type(&response);
}

#[tokio::test]
async fn unknown_runner_token_is_403() {
    let t = TestApp::new().await;
    t.project_with_ci(CI).await;
    let response = t
        .request_job_with(json!({ "token": "glrt-nope" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    t.request_job_with(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    // The job is still there for a real runner.
    let runner = t.instance_runner().await;
    t.claim(&runner).await;
}

fn variable<'a>(payload: &'a Value, key: &str) -> &'a Value {
    payload["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .rev()
        .find(|variable| variable["key"] == key)
        .unwrap_or_else(|| panic!("variable {key} missing"))
}

#[tokio::test]
async fn the_job_payload_has_what_runners_need() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(CI).await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let payload = &job.payload;
    assert!(job.token.starts_with("glcbt-"), "{}", job.token);
    assert_eq!(payload["allow_git_fetch"], true);
    let info = &payload["job_info"];
    assert_eq!(info["id"], job.id);
    assert_eq!(info["name"], "build");
    assert_eq!(info["stage"], "test");
    assert_eq!(info["project_id"], ci.project_id);
    assert_eq!(info["project_name"], "demo");
    assert_eq!(info["pipeline_id"], ci.pipeline_id);
    assert_eq!(info["project_full_path"], "root/demo");

    let pid = ci.pipeline_id;
    assert_eq!(
        payload["git_info"],
        json!({
            "repo_url": format!("http://gitlab-ci-token:{}@pw.example/root/demo.git", job.token),
            "repo_object_format": "sha1",
            "ref": "main",
            "sha": ci.sha,
            "before_sha": ZERO_SHA,
            "ref_type": "branch",
            "refspecs": [
                format!("+refs/pipelines/{pid}:refs/pipelines/{pid}"),
                "+refs/heads/main:refs/remotes/origin/main",
            ],
            "depth": 20,
            "protected": true,
        })
    );
    assert_eq!(payload["runner_info"]["timeout"], 3600);
    assert_eq!(payload["runner_info"]["runner_session_url"], Value::Null);
    assert_eq!(
        payload["steps"],
        json!([
            { "name": "script", "script": ["echo before", "make", "make test"], "timeout": 3600, "when": "on_success", "allow_failure": false },
            { "name": "after_script", "script": ["echo after"], "timeout": 3600, "when": "always", "allow_failure": true },
        ])
    );
    for key in ["artifacts", "image"] {
        assert_eq!(payload[key], Value::Null, "{key}");
    }
    for key in ["services", "cache", "credentials", "dependencies"] {
        assert_eq!(payload[key], json!([]), "{key}");
    }
    let reasons = payload["features"]["failure_reasons"]
        .as_array()
        .expect("failure_reasons");
    for reason in [
        "script_failure",
        "runner_system_failure",
        "job_execution_timeout",
    ] {
        assert!(reasons.contains(&json!(reason)), "{reason}");
    }
    assert_eq!(payload["features"]["trace_sections"], true);

    // Every variable carries key, value, public and masked.
    for variable in payload["variables"].as_array().expect("variables") {
        for key in ["key", "value", "public", "masked"] {
            assert!(variable.get(key).is_some(), "{variable} lacks {key}");
        }
    }
    let expected = [
        ("CI_JOB_ID", job.id.to_string()),
        ("CI_JOB_TOKEN", job.token.clone()),
        ("CI_JOB_NAME", "build".into()),
        ("CI_JOB_STAGE", "test".into()),
        (
            "CI_JOB_URL",
            format!("{EXTERNAL_URL}/root/demo/-/jobs/{}", job.id),
        ),
        ("CI_PIPELINE_ID", ci.pipeline_id.to_string()),
        ("CI_PIPELINE_IID", "1".into()),
        ("CI_PIPELINE_SOURCE", "push".into()),
        ("CI_COMMIT_SHA", ci.sha.clone()),
        ("CI_COMMIT_SHORT_SHA", ci.sha[..8].to_owned()),
        ("CI_COMMIT_REF_NAME", "main".into()),
        ("CI_COMMIT_BRANCH", "main".into()),
        ("CI_COMMIT_BEFORE_SHA", ZERO_SHA.into()),
        ("CI_PROJECT_ID", ci.project_id.to_string()),
        ("CI_PROJECT_PATH", "root/demo".into()),
        ("CI_PROJECT_NAME", "demo".into()),
        ("CI_PROJECT_NAMESPACE", "root".into()),
        ("CI_PROJECT_URL", format!("{EXTERNAL_URL}/root/demo")),
        ("CI_DEFAULT_BRANCH", "main".into()),
        ("CI_SERVER_URL", EXTERNAL_URL.into()),
        ("CI_API_V4_URL", format!("{EXTERNAL_URL}/api/v4")),
        (
            "CI_REPOSITORY_URL",
            format!(
                "http://gitlab-ci-token:{}@pw.example/root/demo.git",
                job.token
            ),
        ),
        ("CI_RUNNER_ID", runner.id.to_string()),
        ("CI", "true".into()),
        ("GITLAB_CI", "true".into()),
        ("GITLAB_USER_LOGIN", "root".into()),
        ("GLOBAL_VAR", "global".into()),
        ("JOB_VAR", "job".into()),
    ];
    for (key, value) in expected {
        assert_eq!(job.variable(key).as_deref(), Some(value.as_str()), "{key}");
    }
    let token = variable(payload, "CI_JOB_TOKEN");
    assert_eq!(token["masked"], true);
    assert_eq!(token["public"], false);
    assert_eq!(variable(payload, "CI_JOB_ID")["public"], true);
}

#[tokio::test]
async fn job_timeout_is_the_smaller_of_job_and_runner_limits() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n  timeout: 15m\nb:\n  script: x\n")
        .await;
    let runner = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "maximum_timeout": 1200 }),
        )
        .await;
    let a = t.claim(&runner).await;
    assert_eq!(a.payload["runner_info"]["timeout"], 900);
    assert_eq!(a.payload["steps"][0]["timeout"], 900);
    let b = t.claim(&runner).await;
    assert_eq!(b.payload["runner_info"]["timeout"], 1200);
}

#[tokio::test]
async fn a_claimed_job_is_never_handed_out_twice() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\nb:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let other = t.instance_runner().await;
    let first = t.claim(&runner).await;
    let second = t.claim(&other).await;
    assert_ne!(first.id, second.id);
    assert_eq!(first.id, 1, "oldest first");
    t.request_job(&runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.request_job(&other)
        .await
        .expect_status(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn concurrent_requests_for_one_job_give_it_to_exactly_one_runner() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n").await;
    let mut runners = Vec::new();
    for _ in 0..8 {
        runners.push(t.instance_runner().await);
    }
    let answers =
        futures::future::join_all(runners.iter().map(|runner| t.request_job(runner))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|status| [201, 204, 409].contains(status)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn later_stages_wait_for_earlier_ones() {
    let t = TestApp::new().await;
    t.project_with_ci("build:\n  stage: build\n  script: x\ntest:\n  stage: test\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    assert_eq!(build.payload["job_info"]["name"], "build");
    t.request_job(&runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.succeed(&build).await;
    let test = t.claim(&runner).await;
    assert_eq!(test.payload["job_info"]["name"], "test");
}

#[tokio::test]
async fn tags_decide_which_runner_gets_a_job() {
    let t = TestApp::new().await;
    t.project_with_ci("tagged:\n  script: x\n  tags: [docker]\n")
        .await;
    let untagged = t.instance_runner().await;
    let other_tags = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "tag_list": ["linux"] }),
        )
        .await;
    let docker = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "tag_list": ["docker", "linux"], "run_untagged": false }),
        )
        .await;
    for runner in [&untagged, &other_tags] {
        t.request_job(runner)
            .await
            .expect_status(StatusCode::NO_CONTENT);
    }
    let job = t.claim(&docker).await;
    assert_eq!(
        job.variable("CI_RUNNER_TAGS").as_deref(),
        Some(r#"["docker", "linux"]"#)
    );
    // A runner that does not run untagged jobs leaves them alone.
    t.update_ci(ROOT_TOKEN, 1, "plain:\n  script: x\n").await;
    t.request_job(&docker)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.claim(&untagged).await;
}

#[tokio::test]
async fn a_queue_head_of_jobs_for_other_runners_does_not_starve_a_runner() {
    let t = TestApp::new().await;
    // 300 older pending jobs that only a `gpu` runner may take, then one plain job.
    t.project_with_ci(
        "gpu-a:\n  script: x\n  tags: [gpu]\n  parallel: 150\n\
         gpu-b:\n  script: x\n  tags: [gpu]\n  parallel: 150\n\
         plain:\n  script: x\n",
    )
    .await;
    let untagged = t.instance_runner().await;
    let job = t.claim(&untagged).await;
    assert_eq!(job.payload["job_info"]["name"], "plain");
}

#[tokio::test]
async fn project_runners_take_only_their_projects_jobs_and_paused_runners_nothing() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n").await;
    t.create_project(ROOT_TOKEN, json!({ "name": "second" }))
        .await;
    let elsewhere = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "project_type", "project_id": 2 }),
        )
        .await;
    let paused = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "paused": true }),
        )
        .await;
    let own = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "project_type", "project_id": 1 }),
        )
        .await;
    for runner in [&elsewhere, &paused] {
        let response = t
            .request_job(runner)
            .await
            .expect_status(StatusCode::NO_CONTENT);
        assert!(response.header("x-gitlab-last-update").is_some());
    }
    t.claim(&own).await;
}

// ---- trace ---------------------------------------------------------------------------

async fn running_job(t: &TestApp) -> (TestRunner, ClaimedJob) {
    t.project_with_ci("a:\n  script: x\nb:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    (runner, job)
}

async fn log_of(t: &TestApp, job: i64) -> String {
    t.get(&format!("/api/v4/projects/1/jobs/{job}/trace"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .text()
}

#[tokio::test]
async fn trace_appends_at_the_current_length() {
    let t = TestApp::new().await;
    let (_, job) = running_job(&t).await;
    let response = t
        .append_trace(job.id, &job.token, 0, b"hello ")
        .await
        .expect_status(StatusCode::ACCEPTED);
    assert_eq!(response.header("range"), Some("0-6"));
    assert_eq!(response.header("job-status"), Some("running"));
    assert_eq!(response.header("x-gitlab-trace-update-interval"), Some("3"));
    let response = t
        .append_trace(job.id, &job.token, 6, b"world\n")
        .await
        .expect_status(StatusCode::ACCEPTED);
    assert_eq!(response.header("range"), Some("0-12"));
    assert_eq!(log_of(&t, job.id).await, "hello world\n");
}

#[tokio::test]
async fn trace_gaps_and_overlaps_are_416_and_write_nothing() {
    let t = TestApp::new().await;
    let (_, job) = running_job(&t).await;
    // Nothing stored yet: only offset 0 is acceptable.
    let response = t
        .append_trace(job.id, &job.token, 3, b"late")
        .await
        .expect_status(StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(response.header("range"), Some("0-0"));
    t.append_trace(job.id, &job.token, 0, b"0123456789")
        .await
        .expect_status(StatusCode::ACCEPTED);
    for start in [5, 11, 20] {
        let response = t
            .append_trace(job.id, &job.token, start, b"xyz")
            .await
            .expect_status(StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(response.header("range"), Some("0-10"), "start {start}");
        assert_eq!(response.header("job-status"), Some("running"));
    }
    assert_eq!(log_of(&t, job.id).await, "0123456789");
    // The runner resyncs from the Range total.
    t.append_trace(job.id, &job.token, 10, b"ab")
        .await
        .expect_status(StatusCode::ACCEPTED);
    assert_eq!(log_of(&t, job.id).await, "0123456789ab");
}

#[tokio::test]
async fn trace_without_content_range_is_400() {
    let t = TestApp::new().await;
    let (_, job) = running_job(&t).await;
    let response = t
        .patch(&format!("/api/v4/jobs/{}/trace", job.id))
        .job_token(&job.token)
        .body(b"x".to_vec())
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "message": "400 Missing header Content-Range" })
    );
}

#[tokio::test]
async fn trace_token_must_be_this_running_jobs() {
    let t = TestApp::new().await;
    let (runner, job) = running_job(&t).await;
    let other = t.claim(&runner).await;
    for token in ["glcbt-nope", other.token.as_str()] {
        let response = t
            .append_trace(job.id, token, 0, b"x")
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(response.header("job-status"), None);
    }
    // The token may also come as a query parameter.
    let response = t
        .patch(&format!(
            "/api/v4/jobs/{}/trace?token={}",
            job.id, job.token
        ))
        .header("content-range", "0-0")
        .body(b"q".to_vec())
        .await
        .expect_status(StatusCode::ACCEPTED);
    assert_eq!(response.header("range"), Some("0-1"));

    t.succeed(&job).await;
    let response = t
        .append_trace(job.id, &job.token, 1, b"more")
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.header("job-status"), Some("success"));
    assert_eq!(
        response.json(),
        json!({ "message": "403 Forbidden - Job is not processing on runner" })
    );
}

// ---- job updates ---------------------------------------------------------------------

#[tokio::test]
async fn put_running_is_a_keep_alive() {
    let t = TestApp::new().await;
    let (_, job) = running_job(&t).await;
    let response = t
        .update_job(job.id, json!({ "token": job.token, "state": "running" }))
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(response.header("job-status"), Some("running"));
    assert_eq!(t.job(1, job.id).await["status"], "running");
    // Token in the JOB-TOKEN header only (Go sends both; either is enough).
    t.put(&format!("/api/v4/jobs/{}", job.id))
        .job_token(&job.token)
        .json(json!({ "state": "running" }))
        .await
        .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn put_rejects_bad_states_and_tokens() {
    let t = TestApp::new().await;
    let (_, job) = running_job(&t).await;
    for body in [
        json!({ "token": job.token }),
        json!({ "token": job.token, "state": "exploded" }),
    ] {
        t.update_job(job.id, body)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
    }
    let response = t
        .update_job(job.id, json!({ "token": "glcbt-nope", "state": "success" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.header("job-status"), None);
    assert_eq!(t.job(1, job.id).await["status"], "running");
}

#[tokio::test]
async fn put_success_and_then_the_token_is_dead() {
    let t = TestApp::new().await;
    let (_, job) = running_job(&t).await;
    let response = t.succeed(&job).await;
    assert_eq!(response.header("job-status"), Some("success"));
    let entity = t.job(1, job.id).await;
    assert_eq!(entity["status"], "success");
    assert!(entity.get("failure_reason").is_none());
    let response = t
        .update_job(job.id, json!({ "token": job.token, "state": "failed" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.header("job-status"), Some("success"));
    assert_eq!(t.job(1, job.id).await["status"], "success");
}

#[tokio::test]
async fn put_failed_stores_the_failure_reason() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\nb:\n  script: x\nc:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let cases = [
        (Some("runner_system_failure"), "runner_system_failure"),
        (Some("made_up_reason"), "unknown_failure"),
        (None, "unknown_failure"),
    ];
    for (sent, stored) in cases {
        let job = t.claim(&runner).await;
        let mut body = json!({ "token": job.token, "state": "failed", "exit_code": 3 });
        if let Some(reason) = sent {
            body["failure_reason"] = json!(reason);
        }
        let response = t
            .update_job(job.id, body)
            .await
            .expect_status(StatusCode::OK);
        assert_eq!(response.header("job-status"), Some("failed"));
        let entity = t.job(1, job.id).await;
        assert_eq!(entity["status"], "failed");
        assert_eq!(entity["failure_reason"], stored, "sent {sent:?}");
    }
}

#[tokio::test]
async fn an_allowed_exit_code_makes_the_failure_allowed() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("a:\n  script: x\n  allow_failure:\n    exit_codes: [42]\n")
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    t.fail(&job, "script_failure", 42).await;
    let entity = t.job(ci.project_id, job.id).await;
    assert_eq!(entity["status"], "failed");
    assert_eq!(entity["allow_failure"], true);
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "success"
    );
}

#[tokio::test]
async fn a_final_update_ahead_of_the_log_is_202_until_the_log_is_complete() {
    let t = TestApp::new().await;
    let (_, job) = running_job(&t).await;
    t.append_trace(job.id, &job.token, 0, b"half")
        .await
        .expect_status(StatusCode::ACCEPTED);
    let final_update = json!({
        "token": job.token,
        "state": "success",
        "output": { "checksum": "crc32:00000000", "bytesize": 8 },
    });
    let response = t
        .update_job(job.id, final_update.clone())
        .await
        .expect_status(StatusCode::ACCEPTED);
    assert_eq!(response.header("job-status"), Some("running"));
    assert!(response.header("x-gitlab-trace-update-interval").is_some());
    t.append_trace(job.id, &job.token, 4, b"done")
        .await
        .expect_status(StatusCode::ACCEPTED);
    let response = t
        .update_job(job.id, final_update)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(response.header("job-status"), Some("success"));
}

#[tokio::test]
async fn concurrent_patches_at_one_offset_append_once() {
    let t = TestApp::new().await;
    let (_, job) = running_job(&t).await;
    let patches = (0..6).map(|i| {
        let chunk = format!("chunk-{i}\n");
        let t = &t;
        let token = job.token.clone();
        async move { t.append_trace(job.id, &token, 0, chunk.as_bytes()).await }
    });
    let answers = futures::future::join_all(patches).await;
    let accepted: Vec<_> = answers
        .iter()
        .filter(|answer| answer.status == StatusCode::ACCEPTED)
        .collect();
    assert_eq!(accepted.len(), 1, "exactly one append wins");
    for answer in &answers {
        assert_eq!(answer.header("range"), Some("0-8"));
    }
    let log = log_of(&t, job.id).await;
    assert!(log.starts_with("chunk-") && log.len() == 8, "{log:?}");
}

#[tokio::test]
async fn ref_protected_runners_take_only_protected_refs() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let protected_only = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "access_level": "ref_protected" }),
        )
        .await;
    // `main` is protected: its job is fine.
    let job = t.claim(&protected_only).await;
    assert_eq!(job.payload["git_info"]["protected"], true);
    t.succeed(&job).await;
    // A job on an unprotected branch is not for this runner.
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({
        "branch": "feature", "start_branch": "main", "commit_message": "f",
        "actions": [{ "action": "create", "file_path": "f", "content": "f" }],
    }))
    .await
    .expect_status(StatusCode::CREATED);
    t.request_job(&protected_only)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let any = t.instance_runner().await;
    let feature = t.claim(&any).await;
    assert_eq!(feature.payload["git_info"]["ref"], "feature");
    assert_eq!(feature.payload["git_info"]["protected"], false);
    assert_eq!(
        feature.variable("CI_COMMIT_REF_PROTECTED").as_deref(),
        Some("false")
    );
}

/// runner-protocol.md §8.2: the server should mask the job token *and the runner token*.
#[tokio::test]
async fn the_runner_token_is_masked_in_the_log() {
    let t = TestApp::new().await;
    let (runner, job) = running_job(&t).await;
    let line = format!("runner={}\n", runner.token);
    t.append_trace(job.id, &job.token, 0, line.as_bytes())
        .await
        .expect_status(StatusCode::ACCEPTED);
    assert_eq!(
        log_of(&t, job.id).await,
        format!("runner={}\n", "x".repeat(runner.token.len()))
    );
}
