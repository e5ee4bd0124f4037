//! `POST /jobs/request` never answers 5xx once a job is committed to the runner
//! (runner-protocol.md §14): a job whose payload cannot be built after the claim is dropped
//! with `scheduler_failure` (GitLab's `Ci::RegisterJobService#scheduler_failure!`, retried
//! twice by default) and the runner is offered the next job instead.

mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp};
use pipewright_core::{Status, When};
use pipewright_store::{NewJob, NewPipeline};
use serde_json::json;

fn job(name: &str, options: &str) -> NewJob {
    NewJob {
        kind: "build".into(),
        name: name.into(),
        stage: "test".into(),
        stage_idx: 0,
        status: Status::Created,
        when: When::OnSuccess,
        allow_failure: false,
        needs: None,
        options: options.into(),
        tag_list: Vec::new(),
        user_id: Some(1),
        timeout: None,
    }
}

const GOOD_OPTIONS: &str = r#"{"before_script":[],"script":["true"],"after_script":[],"image":null,"services":[],"tags":[],"timeout":null,"variables":[]}"#;

/// A pipeline of `jobs`, processed (its jobs pending); returns its id.
async fn pipeline_of(app: &TestApp, project: i64, jobs: &[NewJob]) -> i64 {
    let (pipeline, _) = app
        .app
        .store
        .create_pipeline(
            &NewPipeline {
                project_id: project,
                ref_name: "main".into(),
                tag: false,
                sha: common::ZERO_SHA.into(),
                before_sha: common::ZERO_SHA.into(),
                source: "push".into(),
                status: Status::Created,
                user_id: Some(1),
                yaml_errors: None,
                variables: Vec::new(),
            },
            jobs,
        )
        .await
        .expect("pipeline");
    pipewright_core::processing::process_pipeline(&app.app, pipeline.id)
        .await
        .expect("processing");
    pipeline.id
}

#[tokio::test]
async fn a_job_whose_payload_fails_is_dropped_and_the_runner_gets_the_next_one() {
    let app = TestApp::new().await;
    let project = app
        .create_project(
            ROOT_TOKEN,
            json!({ "name": "safety", "initialize_with_readme": true }),
        )
        .await["id"]
        .as_i64()
        .expect("project id");
    // `broken` is older, so it is claimed first; its options cannot be read.
    let pipeline = pipeline_of(
        &app,
        project,
        &[job("broken", "{not json"), job("fine", GOOD_OPTIONS)],
    )
    .await;
    let runner = app.instance_runner().await;

    let first = app.claim(&runner).await;
    assert_eq!(first.payload["job_info"]["name"], "fine");

    // The two automatic retries of `scheduler_failure` fail the same way: never a 5xx, the
    // runner hears "no job" and the failure is recorded on every attempt.
    for _ in 0..4 {
        let response = app.request_job(&runner).await;
        assert_eq!(
            response.status,
            StatusCode::NO_CONTENT,
            "{}",
            response.text()
        );
    }
    app.succeed(&first).await;

    let jobs = app
        .get(&format!(
            "/api/v4/projects/{project}/pipelines/{pipeline}/jobs?include_retried=true"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let broken: Vec<&serde_json::Value> = jobs
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|job| job["name"] == "broken")
        .collect();
    assert_eq!(broken.len(), 3, "the job and its two automatic retries");
    for attempt in &broken {
        assert_eq!(attempt["status"], "failed");
        assert_eq!(attempt["failure_reason"], "scheduler_failure");
        assert!(attempt["runner"].is_object(), "it was handed to the runner");
    }
    assert_eq!(app.pipeline_status(project, pipeline).await, "failed");
}

#[tokio::test]
async fn a_runner_whose_only_candidate_fails_hears_no_job() {
    let app = TestApp::new().await;
    let project = app
        .create_project(
            ROOT_TOKEN,
            json!({ "name": "alone", "initialize_with_readme": true }),
        )
        .await["id"]
        .as_i64()
        .expect("project id");
    // `retry: 0` switches the automatic retries off.
    let pipeline = pipeline_of(
        &app,
        project,
        &[job("broken", r#"{"retry": {"max": 0}, "script": 1}"#)],
    )
    .await;
    let runner = app.instance_runner().await;
    let response = app.request_job(&runner).await;
    assert_eq!(
        response.status,
        StatusCode::NO_CONTENT,
        "{}",
        response.text()
    );
    let job = app.job_id(project, pipeline, "broken").await;
    let job = app.job(project, job).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["failure_reason"], "scheduler_failure");
}
