//! Pipelines advancing as a runner reports results: stages, `when`, `allow_failure`, manual
//! jobs, `needs` (ci-yaml.md §5–§6), all through the protocol and read back through E2.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{ROOT_TOKEN, TestApp};

fn statuses(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, status)| ((*name).to_owned(), (*status).to_owned()))
        .collect()
}

const TWO_STAGES: &str = "stages: [build, test]\nbuild:\n  stage: build\n  script: x\ntest:\n  stage: test\n  script: x\n";

#[tokio::test]
async fn stage_two_becomes_pending_after_stage_one_succeeds() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(TWO_STAGES).await;
    let (project, pipeline) = (ci.project_id, ci.pipeline_id);
    assert_eq!(
        t.job_statuses(project, pipeline).await,
        statuses(&[("build", "pending"), ("test", "created")])
    );
    assert_eq!(t.pipeline_status(project, pipeline).await, "pending");

    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    assert_eq!(t.pipeline_status(project, pipeline).await, "running");
    let started = t.pipeline(project, pipeline).await["started_at"].clone();
    assert!(started.is_string(), "started_at once running");

    t.succeed(&build).await;
    assert_eq!(
        t.job_statuses(project, pipeline).await,
        statuses(&[("build", "success"), ("test", "pending")])
    );
    assert_eq!(t.pipeline_status(project, pipeline).await, "running");

    let test = t.claim(&runner).await;
    t.succeed(&test).await;
    let finished = t.pipeline(project, pipeline).await;
    assert_eq!(finished["status"], "success");
    assert!(finished["finished_at"].is_string());
    assert!(finished["duration"].is_number());
    assert_eq!(finished["started_at"], started);
    assert_eq!(finished["detailed_status"]["text"], "Passed");
}

#[tokio::test]
async fn a_failed_stage_skips_later_on_success_jobs() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "stages: [build, test, deploy]\n\
             build:\n  stage: build\n  script: x\n\
             test:\n  stage: test\n  script: x\n\
             deploy:\n  stage: deploy\n  script: x\n\
             cleanup:\n  stage: test\n  script: x\n  when: on_failure\n\
             notify:\n  stage: deploy\n  script: x\n  when: always\n",
        )
        .await;
    let (project, pipeline) = (ci.project_id, ci.pipeline_id);
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    t.fail(&build, "script_failure", 1).await;
    // The deploy stage waits: its previous status includes the pending `cleanup`.
    assert_eq!(
        t.job_statuses(project, pipeline).await,
        statuses(&[
            ("build", "failed"),
            ("cleanup", "pending"),
            ("deploy", "created"),
            ("notify", "created"),
            ("test", "skipped"),
        ])
    );
    assert_eq!(t.pipeline_status(project, pipeline).await, "running");
    let ran = t.drain(&runner, "success").await;
    assert_eq!(ran.len(), 2, "cleanup, then notify");
    assert_eq!(
        t.job_statuses(project, pipeline).await,
        statuses(&[
            ("build", "failed"),
            ("cleanup", "success"),
            ("deploy", "skipped"),
            ("notify", "success"),
            ("test", "skipped"),
        ])
    );
    let finished = t.pipeline(project, pipeline).await;
    assert_eq!(finished["status"], "failed");
    assert!(finished["finished_at"].is_string());
}

#[tokio::test]
async fn an_allowed_failure_lets_the_pipeline_continue_and_pass() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "stages: [build, test]\n\
             flaky:\n  stage: build\n  script: x\n  allow_failure: true\n\
             test:\n  stage: test\n  script: x\n\
             on_fail:\n  stage: test\n  script: x\n  when: on_failure\n",
        )
        .await;
    let runner = t.instance_runner().await;
    let flaky = t.claim(&runner).await;
    t.fail(&flaky, "script_failure", 1).await;
    assert_eq!(
        t.job_statuses(ci.project_id, ci.pipeline_id).await,
        statuses(&[
            ("flaky", "failed"),
            ("on_fail", "skipped"),
            ("test", "pending")
        ])
    );
    t.drain(&runner, "success").await;
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "success"
    );
    let flaky_entity = t.job(ci.project_id, flaky.id).await;
    assert_eq!(flaky_entity["allow_failure"], true);
    assert_eq!(flaky_entity["failure_reason"], "script_failure");
}

#[tokio::test]
async fn a_manual_job_parks_in_manual_and_runs_when_played() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "stages: [build, deploy]\n\
             build:\n  stage: build\n  script: x\n\
             deploy:\n  stage: deploy\n  script: x\n  when: manual\n",
        )
        .await;
    let (project, pipeline) = (ci.project_id, ci.pipeline_id);
    let runner = t.instance_runner().await;
    t.drain(&runner, "success").await;
    assert_eq!(
        t.job_statuses(project, pipeline).await,
        statuses(&[("build", "success"), ("deploy", "manual")])
    );
    // An optional manual job does not hold the pipeline.
    assert_eq!(t.pipeline_status(project, pipeline).await, "success");
    let deploy = t.pipeline_jobs(project, pipeline).await["deploy"].clone();
    assert_eq!(deploy["allow_failure"], true);
    t.request_job(&runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);

    let played = t
        .post(&format!(
            "/api/v4/projects/{project}/jobs/{}/play",
            deploy["id"].as_i64().expect("id")
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_eq!(played["status"], "pending");
    assert_eq!(t.pipeline_status(project, pipeline).await, "running");
    let job = t.claim(&runner).await;
    assert_eq!(job.id, played["id"].as_i64().expect("id"));
    assert_eq!(job.variable("CI_JOB_MANUAL").as_deref(), Some("true"));
    t.succeed(&job).await;
    assert_eq!(t.pipeline_status(project, pipeline).await, "success");
}

#[tokio::test]
async fn a_blocking_manual_job_blocks_the_pipeline() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "stages: [build, deploy, after]\n\
             build:\n  stage: build\n  script: x\n\
             deploy:\n  stage: deploy\n  script: x\n  when: manual\n  allow_failure: false\n\
             after:\n  stage: after\n  script: x\n",
        )
        .await;
    let runner = t.instance_runner().await;
    t.drain(&runner, "success").await;
    assert_eq!(
        t.job_statuses(ci.project_id, ci.pipeline_id).await,
        statuses(&[
            ("after", "created"),
            ("build", "success"),
            ("deploy", "manual")
        ])
    );
    let pipeline = t.pipeline(ci.project_id, ci.pipeline_id).await;
    assert_eq!(pipeline["status"], "manual");
    assert_eq!(pipeline["detailed_status"]["text"], "Blocked");
    assert_eq!(pipeline["finished_at"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_pipeline_of_only_optional_manual_jobs_is_skipped() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("deploy:\n  script: x\n  when: manual\n")
        .await;
    assert_eq!(
        t.job_statuses(ci.project_id, ci.pipeline_id).await,
        statuses(&[("deploy", "manual")])
    );
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "skipped"
    );
}

#[tokio::test]
async fn needs_start_a_job_before_its_stage() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "stages: [build, test]\n\
             build:\n  stage: build\n  script: x\n\
             lint:\n  stage: build\n  script: x\n\
             unit:\n  stage: test\n  script: x\n  needs: [build]\n\
             e2e:\n  stage: test\n  script: x\n",
        )
        .await;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    assert_eq!(build.payload["job_info"]["name"], "build");
    t.succeed(&build).await;
    assert_eq!(
        t.job_statuses(ci.project_id, ci.pipeline_id).await,
        statuses(&[
            ("build", "success"),
            ("e2e", "created"),
            ("lint", "pending"),
            ("unit", "pending"),
        ])
    );
}

#[tokio::test]
async fn a_job_with_empty_needs_starts_at_once() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "stages: [build, deploy]\n\
             build:\n  stage: build\n  script: x\n\
             early:\n  stage: deploy\n  script: x\n  needs: []\n",
        )
        .await;
    assert_eq!(
        t.job_statuses(ci.project_id, ci.pipeline_id).await,
        statuses(&[("build", "pending"), ("early", "pending")])
    );
}

#[tokio::test]
async fn a_second_push_cancels_the_redundant_unstarted_pipeline() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(TWO_STAGES).await;
    let second = t.update_ci(ROOT_TOKEN, ci.project_id, TWO_STAGES).await;
    assert_ne!(second, ci.pipeline_id);
    // Nothing of the first pipeline had started: it is auto-cancelled.
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "canceled"
    );
    assert_eq!(
        t.job_statuses(ci.project_id, ci.pipeline_id).await,
        statuses(&[("build", "canceled"), ("test", "canceled")])
    );
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    assert_eq!(job.payload["job_info"]["pipeline_id"], second);
    assert_eq!(
        job.payload["git_info"]["before_sha"],
        json!(ci.sha),
        "the second push's before_sha is the first commit"
    );
}

#[tokio::test]
async fn a_second_push_leaves_a_started_pipeline_alone() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(TWO_STAGES).await;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    let second = t.update_ci(ROOT_TOKEN, ci.project_id, TWO_STAGES).await;
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "running"
    );
    t.succeed(&build).await;
    // Lowest job id first, whenever it became pending: the first pipeline's `test`.
    let next = t.claim(&runner).await;
    assert_eq!(next.payload["job_info"]["pipeline_id"], ci.pipeline_id);
    assert_eq!(next.payload["job_info"]["name"], "test");
    let after = t.claim(&runner).await;
    assert_eq!(after.payload["job_info"]["pipeline_id"], second);
}
