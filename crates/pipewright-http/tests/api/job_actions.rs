//! E4 (`GET /job`) and the job actions E8–E11: cancel, retry, erase, play.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{ROOT_TOKEN, TestApp, TestUser};

async fn member(t: &TestApp, project: i64, username: &str, level: i64) -> TestUser {
    let user = t.create_user(username).await;
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user.id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
    user
}

fn action(project: i64, job: i64, name: &str) -> String {
    format!("/api/v4/projects/{project}/jobs/{job}/{name}")
}

// ---- E4 ------------------------------------------------------------------------------

#[tokio::test]
async fn e4_the_job_of_a_job_token() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    for response in [
        t.get("/api/v4/job").job_token(&job.token).await,
        t.get("/api/v4/job").bearer(&job.token).await,
        t.get(&format!("/api/v4/job?job_token={}", job.token)).await,
        t.get(&format!("/api/v4/job?token={}", job.token)).await,
    ] {
        let entity = response.expect_status(StatusCode::OK).job();
        assert_eq!(entity["id"], job.id);
        assert_eq!(entity["status"], "running");
    }
    let response = t
        .get("/api/v4/job")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({ "message": "404 Job Not Found" }));
    // A personal token wins over a job token sent alongside it.
    t.get("/api/v4/job")
        .token(ROOT_TOKEN)
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.get("/api/v4/job")
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    t.succeed(&job).await;
    let response = t
        .get("/api/v4/job")
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(response.json(), json!({ "message": "401 Unauthorized" }));
}

// ---- E8 cancel -----------------------------------------------------------------------

#[tokio::test]
async fn e8_cancel_pending_and_running_jobs() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("a:\n  script: x\nb:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let running = t.claim(&runner).await;
    let response = t
        .post(&action(ci.project_id, 2, "cancel"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    let pending = response.job();
    assert_eq!(pending["status"], "canceled");

    // The runner did not advertise graceful cancel: straight to canceled.
    let cancelled = t
        .post(&action(ci.project_id, running.id, "cancel"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(cancelled["status"], "canceled");
    // The runner learns it from its next trace or update.
    let response = t
        .append_trace(running.id, &running.token, 0, b"x")
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.header("job-status"), Some("canceled"));
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "canceled"
    );
}

#[tokio::test]
async fn e8_graceful_cancel_goes_through_canceling() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let payload = t
        .request_job_with(json!({
            "token": runner.token,
            "info": { "features": { "cancel_gracefully": true } },
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let (id, token) = (
        payload["id"].as_i64().expect("id"),
        payload["token"].as_str().expect("token").to_owned(),
    );
    let job = t
        .post(&action(ci.project_id, id, "cancel"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(job["status"], "canceling");
    let response = t
        .append_trace(id, &token, 0, b"stopping\n")
        .await
        .expect_status(StatusCode::ACCEPTED);
    assert_eq!(response.header("job-status"), Some("canceling"));
    // Whatever the runner reports at the end, the job ends canceled.
    let response = t
        .update_job(id, json!({ "token": token, "state": "success" }))
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(response.header("job-status"), Some("canceled"));
    assert_eq!(t.job(ci.project_id, id).await["status"], "canceled");
}

#[tokio::test]
async fn e8_impossible_cancel_is_still_201_and_force_needs_a_maintainer() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("a:\n  script: x\nb:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let done = t.run_next(&runner, "", "success").await;
    let job = t
        .post(&action(ci.project_id, done.id, "cancel"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(job["status"], "success");

    let developer = member(&t, ci.project_id, "dev", 30).await;
    let running = t.claim(&runner).await;
    let response = t
        .post(&format!(
            "{}?force=true",
            action(ci.project_id, running.id, "cancel")
        ))
        .token(&developer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    // Force only finishes `canceling`; a running job stays running.
    let job = t
        .post(&action(ci.project_id, running.id, "cancel"))
        .token(ROOT_TOKEN)
        .form("force=true")
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(job["status"], "running");
}

#[tokio::test]
async fn e8_check_order() {
    let t = TestApp::new().await;
    t.create_project(ROOT_TOKEN, json!({ "name": "other" }))
        .await;
    let ci = t
        .project_with_ci("a:\n  script: x\ndown:\n  stage: deploy\n  trigger: root/other\n")
        .await;
    let reporter = member(&t, ci.project_id, "reporter", 20).await;
    // A Reporter is refused before the lookup, even for a job that does not exist.
    for job in [1, 999] {
        let response = t
            .post(&action(ci.project_id, job, "cancel"))
            .token(&reporter.token)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    }
    // Bridges, unknown ids: 404.
    for job in [2, 999] {
        let response = t
            .post(&action(ci.project_id, job, "cancel"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::NOT_FOUND);
        assert_eq!(response.json(), json!({ "message": "404 Not found" }));
    }
    let response = t
        .post(&format!("/api/v4/projects/{}/jobs/x/cancel", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), json!({ "error": "job_id is invalid" }));
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    // Job tokens are not accepted on actions.
    t.post(&action(ci.project_id, job.id, "cancel"))
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

// ---- E9 retry ------------------------------------------------------------------------

#[tokio::test]
async fn e9_retry_makes_a_new_job_owned_by_the_caller() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("stages: [build, test]\nbuild:\n  stage: build\n  script: x\ntest:\n  stage: test\n  script: x\n")
        .await;
    let maintainer = member(&t, ci.project_id, "maint", 40).await;
    let runner = t.instance_runner().await;
    let failed = t.run_next(&runner, "", "failed").await;
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "failed"
    );

    let response = t
        .post(&action(ci.project_id, failed.id, "retry"))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::CREATED);
    let new = response.job();
    let new_id = new["id"].as_i64().expect("id");
    assert_ne!(new_id, failed.id);
    assert_eq!(new["name"], "build");
    assert_eq!(new["status"], "pending");
    assert_eq!(new["user"]["username"], "maint");
    // The skipped stage is back to created and the finished pipeline runs again.
    let jobs = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(jobs["build"], "pending");
    assert_eq!(jobs["test"], "created");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "running"
    );
    // The old job keeps its status; retrying it again is refused.
    assert_eq!(t.job(ci.project_id, failed.id).await["status"], "failed");
    let response = t
        .post(&action(ci.project_id, failed.id, "retry"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        response.json(),
        json!({ "message": "403 Forbidden - Job is not retryable" })
    );
    // A pending/running job is not retryable either.
    let response = t
        .post(&action(ci.project_id, new_id, "retry"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        response.json(),
        json!({ "message": "403 Forbidden - Job is not retryable" })
    );
    t.drain(&runner, "success").await;
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "success"
    );
}

#[tokio::test]
async fn e9_who_may_retry() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let reporter = member(&t, ci.project_id, "reporter", 20).await;
    let developer = member(&t, ci.project_id, "dev", 30).await;
    let runner = t.instance_runner().await;
    let done = t.run_next(&runner, "", "success").await;
    // A Reporter may not; nor may a Developer on the protected default branch.
    for user in [&reporter, &developer] {
        let response = t
            .post(&action(ci.project_id, done.id, "retry"))
            .token(&user.token)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    }
    // On an unprotected branch the Developer may.
    let feature = feature_pipeline_job(&t, ci.project_id, &developer, &runner).await;
    t.post(&action(ci.project_id, feature, "retry"))
        .token(&developer.token)
        .await
        .expect_status(StatusCode::CREATED);
    let response = t
        .post(&action(ci.project_id, 999, "retry"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({ "message": "404 Not found" }));
    t.post(&action(ci.project_id, done.id, "retry"))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

// ---- E10 erase -----------------------------------------------------------------------

#[tokio::test]
async fn e10_erase_removes_the_log_and_keeps_the_record() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("a:\n  script: x\nb:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let done = t.run_next(&runner, "some output\n", "success").await;
    let erased = t
        .post(&action(ci.project_id, done.id, "erase"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(erased["status"], "success");
    assert!(erased["erased_at"].is_string());
    assert_eq!(erased["artifacts"], json!([]));
    assert_eq!(erased["artifacts_expire_at"], Value::Null);
    let trace = t
        .get(&format!(
            "/api/v4/projects/{}/jobs/{}/trace",
            ci.project_id, done.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert!(trace.body.is_empty());
    // Nothing left to erase; a running job or a job without log is not erasable either.
    let running = t.claim(&runner).await;
    for job in [done.id, running.id] {
        let response = t
            .post(&action(ci.project_id, job, "erase"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(
            response.json(),
            json!({ "message": "403 Forbidden - Job is not erasable!" })
        );
    }
}

/// `user` pushes branch `feature` (unprotected); its pipeline's only job runs to success
/// with a log. Returns the job id.
async fn feature_pipeline_job(
    t: &TestApp,
    project: i64,
    user: &TestUser,
    runner: &crate::common::TestRunner,
) -> i64 {
    t.post(&format!("/api/v4/projects/{project}/repository/commits"))
        .token(&user.token)
        .json(json!({
            "branch": "feature", "start_branch": "main", "commit_message": "mine",
            "actions": [{ "action": "create", "file_path": "mine.txt", "content": "x" }],
        }))
        .await
        .expect_status(StatusCode::CREATED);
    let job = t.claim(runner).await;
    assert_eq!(
        job.variable("CI_COMMIT_REF_NAME").as_deref(),
        Some("feature")
    );
    assert_eq!(
        job.variable("GITLAB_USER_LOGIN").as_deref(),
        Some(user.username.as_str())
    );
    t.append_trace(job.id, &job.token, 0, b"mine\n")
        .await
        .expect_status(StatusCode::ACCEPTED);
    t.succeed(&job).await;
    job.id
}

#[tokio::test]
async fn e10_developers_erase_only_their_own_jobs_on_unprotected_refs() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let developer = member(&t, ci.project_id, "dev", 30).await;
    let other = member(&t, ci.project_id, "other", 30).await;
    let runner = t.instance_runner().await;
    let root_job = t.run_next(&runner, "log\n", "success").await;
    let response = t
        .post(&action(ci.project_id, root_job.id, "erase"))
        .token(&developer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    let own = feature_pipeline_job(&t, ci.project_id, &developer, &runner).await;
    // Someone else's job, even on an unprotected branch: no.
    t.post(&action(ci.project_id, own, "erase"))
        .token(&other.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let erased = t
        .post(&action(ci.project_id, own, "erase"))
        .token(&developer.token)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert!(erased["erased_at"].is_string());
    // A Maintainer erases anyone's job.
    t.post(&action(ci.project_id, root_job.id, "erase"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
}

// ---- E11 play ------------------------------------------------------------------------

const MANUAL: &str = "build:\n  script: x\ndeploy:\n  stage: deploy\n  script: x\n  when: manual\n";

#[tokio::test]
async fn e11_play_with_variables() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(MANUAL).await;
    let maintainer = member(&t, ci.project_id, "maint", 40).await;
    let runner = t.instance_runner().await;
    t.drain(&runner, "success").await;
    let deploy = t.job_id(ci.project_id, ci.pipeline_id, "deploy").await;
    let played = t
        .post(&action(ci.project_id, deploy, "play"))
        .token(&maintainer.token)
        .json(json!({ "job_variables_attributes": [{ "key": "TARGET", "value": "prod" }] }))
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_eq!(played["id"], deploy);
    assert_eq!(played["status"], "pending");
    assert_eq!(played["user"]["username"], "maint");
    let job = t.claim(&runner).await;
    assert_eq!(job.id, deploy);
    assert_eq!(job.variable("TARGET").as_deref(), Some("prod"));
    assert_eq!(job.variable("GITLAB_USER_LOGIN").as_deref(), Some("maint"));

    // Not manual any more: unplayable while running.
    let response = t
        .post(&action(ci.project_id, deploy, "play"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "message": "400 Bad request - Unplayable Job" })
    );
    // Once finished, playing it again retries it: a new job.
    t.succeed(&job).await;
    let again = t
        .post(&action(ci.project_id, deploy, "play"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_ne!(again["id"], deploy);
    assert_eq!(again["name"], "deploy");
}

#[tokio::test]
async fn e11_play_validation_and_permissions() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(MANUAL).await;
    let reporter = member(&t, ci.project_id, "reporter", 20).await;
    let runner = t.instance_runner().await;
    t.drain(&runner, "success").await;
    let deploy = t.job_id(ci.project_id, ci.pipeline_id, "deploy").await;
    let build = t.job_id(ci.project_id, ci.pipeline_id, "build").await;
    let response = t
        .post(&action(ci.project_id, deploy, "play"))
        .token(ROOT_TOKEN)
        .json(json!({ "job_variables_attributes": [{ "value": "v" }, { "key": "K" }] }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "job_variables_attributes[0][key] is missing, job_variables_attributes[1][value] is missing" })
    );
    let developer = member(&t, ci.project_id, "dev", 30).await;
    // A Reporter may not play; a Developer may not on the protected default branch.
    for user in [&reporter, &developer] {
        let response = t
            .post(&action(ci.project_id, deploy, "play"))
            .token(&user.token)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    }
    // A job that is not manual cannot be played.
    let response = t
        .post(&action(ci.project_id, build, "play"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "message": "400 Bad request - Unplayable Job" })
    );
    let response = t
        .post(&action(ci.project_id, 999, "play"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({ "message": "404 Not found" }));
    // Nothing changed.
    assert_eq!(
        t.job_statuses(ci.project_id, ci.pipeline_id).await["deploy"],
        "manual"
    );
}
