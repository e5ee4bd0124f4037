//! The job entity's shape (`common::shape`) on jobs in every status the server can reach
//! today, through every route that returns jobs.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{ROOT_TOKEN, TestApp};

/// One pipeline holding jobs in as many statuses as possible:
/// success, failed, skipped, manual, canceled, canceling, running, pending, created.
async fn zoo(t: &TestApp) -> (i64, i64) {
    let ci = t
        .project_with_ci(
            "stages: [one, two, three]\n\
             ok:\n  stage: one\n  script: x\n  tags: [z, a]\n\
             broken:\n  stage: one\n  script: x\n  allow_failure: true\n\
             graceful:\n  stage: one\n  script: x\n\
             stopped:\n  stage: one\n  script: x\n\
             live:\n  stage: one\n  script: x\n\
             queued:\n  stage: one\n  script: x\n  tags: [nobody-has-this]\n\
             on_fail:\n  stage: two\n  script: x\n  when: on_failure\n\
             later:\n  stage: two\n  script: x\n\
             gate:\n  stage: two\n  script: x\n  when: manual\n\
             last:\n  stage: three\n  script: x\n",
        )
        .await;
    let runner = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "tag_list": ["a", "z"] }),
        )
        .await;
    let ok = t.claim(&runner).await;
    t.succeed(&ok).await;
    let broken = t.claim(&runner).await;
    t.fail(&broken, "runner_system_failure", 1).await;
    let graceful = t
        .request_job_with(json!({
            "token": runner.token,
            "info": { "features": { "cancel_gracefully": true } },
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let stopped = t.claim(&runner).await;
    t.claim(&runner).await; // `live` stays running
    for id in [graceful["id"].as_i64().expect("id"), stopped.id] {
        t.post(&format!(
            "/api/v4/projects/{}/jobs/{id}/cancel",
            ci.project_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    }
    (ci.project_id, ci.pipeline_id)
}

#[tokio::test]
async fn every_status_has_the_job_shape_everywhere() {
    let t = TestApp::new().await;
    let (project, pipeline) = zoo(&t).await;
    let statuses = t.job_statuses(project, pipeline).await;
    let mut seen: Vec<&str> = statuses.values().map(String::as_str).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "canceled",
            "canceling",
            "created",
            "failed",
            "pending",
            "running",
            "success"
        ],
        "{statuses:?}"
    );

    // E1 (offset and keyset), E2 (with retried), E6 for each, E4: all shape-checked.
    let e1 = t
        .get(&format!("/api/v4/projects/{project}/jobs?per_page=100"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    t.get(&format!(
        "/api/v4/projects/{project}/jobs?pagination=keyset&per_page=3"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::OK)
    .jobs();
    t.get(&format!(
        "/api/v4/projects/{project}/pipelines/{pipeline}/jobs?include_retried=true"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::OK)
    .jobs();
    for job in &e1 {
        let id = job["id"].as_i64().expect("id");
        let single = t.job(project, id).await;
        assert_eq!(&single["status"], &job["status"]);
        let failed = job["status"] == "failed";
        assert_eq!(job.get("failure_reason").is_some(), failed, "{job}");
    }
    let broken = e1
        .iter()
        .find(|job| job["name"] == "broken")
        .expect("broken");
    assert_eq!(broken["failure_reason"], "runner_system_failure");
    let ok = e1.iter().find(|job| job["name"] == "ok").expect("ok");
    assert_eq!(ok["tag_list"], json!(["a", "z"]));
}

#[tokio::test]
async fn skipped_and_manual_jobs_have_the_job_shape() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "stages: [one, two]\n\
             first:\n  stage: one\n  script: x\n\
             on_fail:\n  stage: two\n  script: x\n  when: on_failure\n\
             gate:\n  stage: two\n  script: x\n  when: manual\n",
        )
        .await;
    let runner = t.instance_runner().await;
    t.drain(&runner, "success").await;
    let statuses = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(statuses["on_fail"], "skipped");
    assert_eq!(statuses["gate"], "manual");
    for job in t
        .pipeline_jobs(ci.project_id, ci.pipeline_id)
        .await
        .values()
    {
        t.job(ci.project_id, job["id"].as_i64().expect("id")).await;
    }
}

#[tokio::test]
async fn action_and_current_job_responses_have_the_job_shape() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("a:\n  script: x\nb:\n  script: x\n  when: manual\n")
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    t.get("/api/v4/job")
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK)
        .job();
    t.append_trace(job.id, &job.token, 0, b"log\n")
        .await
        .expect_status(StatusCode::ACCEPTED);
    t.fail(&job, "script_failure", 1).await;
    let path =
        |id: i64, action: &str| format!("/api/v4/projects/{}/jobs/{id}/{action}", ci.project_id);
    let retried: Value = t
        .post(&path(job.id, "retry"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    t.post(&path(job.id, "erase"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    t.post(&path(retried["id"].as_i64().expect("id"), "cancel"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    t.post(&path(2, "play"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .job();
}
