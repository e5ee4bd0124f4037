//! Pipelines as GitLab processes them (issue #4): pipeline cancel/retry/delete, list filters,
//! trigger tokens, CI lint, automatic retry, delayed jobs, watchdogs, resource groups,
//! coverage, environments, auto-cancel of redundant pipelines and invalid YAML.
//!
//! Runners are simulated through the protocol (`POST /jobs/request`, `PATCH /jobs/:id/trace`,
//! `PUT /jobs/:id`); time-driven behaviour is driven by calling the timer's `tick` with an
//! explicit time, never by sleeping.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use axum::http::StatusCode;
use pipewright_core::scheduler::{Watchdogs, tick};
use serde_json::{Value, json};

use common::{ClaimedJob, ROOT_TOKEN, TestApp, TestRunner, TestUser};

const MINUTE: i64 = 60_000;

async fn member(t: &TestApp, project: i64, user: &TestUser, level: i64) {
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user.id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
}

/// Claims a job as a runner that advertises graceful cancellation (GitLab Runner 16+).
async fn claim_graceful(t: &TestApp, runner: &TestRunner) -> ClaimedJob {
    let payload = t
        .request_job_with(json!({
            "token": runner.token,
            "info": { "name": "gitlab-runner", "features": { "cancel_gracefully": true } },
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    ClaimedJob {
        id: payload["id"].as_i64().expect("job id"),
        token: payload["token"].as_str().expect("token").to_owned(),
        payload,
    }
}

async fn tick_at(t: &TestApp, now: i64) -> pipewright_core::scheduler::TickReport {
    tick(&t.app, now, &Watchdogs::default())
        .await
        .expect("timer tick")
}

fn now() -> i64 {
    pipewright_core::now_ms()
}

fn names(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|item| item["id"].as_i64().expect("id"))
        .collect()
}

// ---- 1. pipeline APIs -------------------------------------------------------------------

const CANCEL_YAML: &str = "stages: [build, test]
a:
  stage: build
  script: run
b:
  stage: build
  script: run
  tags: [other]
m:
  stage: build
  script: deploy
  when: manual
c:
  stage: test
  script: check
";

#[tokio::test]
async fn cancel_cascades_over_the_pipeline_but_leaves_manual_jobs() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(CANCEL_YAML).await;
    let runner = t.instance_runner().await;
    let a = claim_graceful(&t, &runner).await;
    let before = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(before["a"], "running");
    assert_eq!(before["b"], "pending");
    assert_eq!(before["m"], "manual");
    assert_eq!(before["c"], "created");

    let reporter = t.create_user("reporter").await;
    member(&t, ci.project_id, &reporter, 20).await;
    let path = format!(
        "/api/v4/projects/{}/pipelines/{}/cancel",
        ci.project_id, ci.pipeline_id
    );
    t.post(&path)
        .token(&reporter.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);

    let pipeline = t
        .post(&path)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(pipeline["id"], ci.pipeline_id);
    assert_eq!(pipeline["status"], "canceling");
    let after = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(
        after["a"], "canceling",
        "graceful runner: after_script runs"
    );
    assert_eq!(after["b"], "canceled");
    assert_eq!(
        after["m"], "manual",
        "a pipeline cancel leaves manual jobs alone"
    );
    assert_eq!(after["c"], "canceled");

    // The runner learns it from Job-Status, finishes after_script and reports.
    let trace = t.append_trace(a.id, &a.token, 0, b"bye\n").await;
    assert_eq!(trace.header("job-status"), Some("canceling"));
    t.succeed(&a).await;
    let done = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(done["a"], "canceled");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "canceled"
    );
}

#[tokio::test]
async fn cancel_without_graceful_runner_cancels_running_jobs_at_once() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: run\n").await;
    let runner = t.instance_runner().await;
    let a = t.claim(&runner).await;
    t.post(&format!(
        "/api/v4/projects/{}/pipelines/{}/cancel",
        ci.project_id, ci.pipeline_id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::OK);
    assert_eq!(t.job(ci.project_id, a.id).await["status"], "canceled");
    let response = t.append_trace(a.id, &a.token, 0, b"x").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.header("job-status"), Some("canceled"));
}

const RETRY_YAML: &str = "stages: [build, test, deploy]
build:
  stage: build
  script: make
test:
  stage: test
  script: make test
manual:
  stage: test
  script: publish
  when: manual
deploy:
  stage: deploy
  script: ship
";

#[tokio::test]
async fn retry_clones_failed_jobs_resets_skipped_and_keeps_manual() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(RETRY_YAML).await;
    let runner = t.instance_runner().await;
    let build = t.run_next(&runner, "", "success").await;
    t.run_next(&runner, "boom\n", "failed").await;
    let statuses = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(statuses["test"], "failed");
    assert_eq!(statuses["deploy"], "skipped");
    assert_eq!(statuses["manual"], "manual");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "failed"
    );

    let pipeline = t
        .post(&format!(
            "/api/v4/projects/{}/pipelines/{}/retry",
            ci.project_id, ci.pipeline_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(pipeline["status"], "running");
    let jobs = t.pipeline_jobs(ci.project_id, ci.pipeline_id).await;
    assert_eq!(jobs["build"]["id"], build.id, "successful jobs are kept");
    assert_eq!(jobs["test"]["status"], "pending", "failed job cloned");
    assert_eq!(jobs["manual"]["status"], "manual");
    assert_eq!(jobs["deploy"]["status"], "created", "skipped job reset");
    let all = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}/jobs?include_retried=true",
            ci.project_id, ci.pipeline_id
        ))
        .token(ROOT_TOKEN)
        .await
        .jobs();
    assert_eq!(all.iter().filter(|job| job["name"] == "test").count(), 2);

    t.drain(&runner, "success").await;
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "success"
    );
}

#[tokio::test]
async fn retry_of_a_canceled_pipeline_puts_manual_jobs_back_to_manual() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "a:\n  script: x\nm:\n  script: y\n  when: manual\n  allow_failure: false\n",
        )
        .await;
    let path = format!(
        "/api/v4/projects/{}/pipelines/{}",
        ci.project_id, ci.pipeline_id
    );
    t.post(&format!("{path}/cancel"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    // The manual job was played, then canceled: both come back on retry.
    let m = t.job_id(ci.project_id, ci.pipeline_id, "m").await;
    t.post(&format!("/api/v4/projects/{}/jobs/{m}/play", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    t.post(&format!(
        "/api/v4/projects/{}/jobs/{m}/cancel",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::CREATED);
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "canceled"
    );
    t.post(&format!("{path}/retry"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    let statuses = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(statuses["a"], "pending");
    assert_eq!(statuses["m"], "manual");
}

#[tokio::test]
async fn delete_removes_the_pipeline_its_jobs_and_logs() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.run_next(&runner, "some log\n", "success").await;
    let maintainer = t.create_user("maint").await;
    member(&t, ci.project_id, &maintainer, 40).await;
    let path = format!(
        "/api/v4/projects/{}/pipelines/{}",
        ci.project_id, ci.pipeline_id
    );
    // GitLab's destroy_pipeline is for Owners.
    t.delete(&path)
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let response = t
        .delete(&path)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
    t.get(&path)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.get(&format!(
        "/api/v4/projects/{}/jobs/{}",
        ci.project_id, job.id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NOT_FOUND);
    assert!(
        !t.data_dir()
            .join("traces")
            .join(format!("{}.log", job.id))
            .exists()
    );
    t.delete(&path)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn list_filters_scopes_and_ordering() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await; // 1: push on main, pending
    let runner = t.instance_runner().await;
    t.drain(&runner, "success").await; // 1 → success
    let api = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json(); // 2: api on main, pending
    let dev = t.create_user("dev").await;
    member(&t, ci.project_id, &dev, 30).await;
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(&dev.token)
    .json(json!({
        "branch": "feature", "start_branch": "main", "commit_message": "f",
        "actions": [{ "action": "create", "file_path": "f.txt", "content": "f" }],
    }))
    .await
    .expect_status(StatusCode::CREATED); // 3: push on feature by dev, pending
    let list = format!("/api/v4/projects/{}/pipelines", ci.project_id);
    let get = |query: &str| {
        let url = format!("{list}?{query}");
        let t = &t;
        async move { t.get(&url).token(ROOT_TOKEN).await }
    };
    assert_eq!(names(&get("").await.json()), [3, 2, 1]);
    assert_eq!(names(&get("scope=finished").await.json()), [1]);
    assert_eq!(names(&get("scope=pending").await.json()), [3, 2]);
    assert_eq!(names(&get("scope=running").await.json()), Vec::<i64>::new());
    assert_eq!(names(&get("scope=branches").await.json()), [3, 2]);
    assert_eq!(names(&get("scope=tags").await.json()), Vec::<i64>::new());
    assert_eq!(
        names(&get("scope=finished&status=pending").await.json()),
        Vec::<i64>::new()
    );
    assert_eq!(names(&get("source=api").await.json()), [2]);
    assert_eq!(names(&get("source=push&sort=asc").await.json()), [1, 3]);
    assert_eq!(names(&get(&format!("sha={}", ci.sha)).await.json()), [2, 1]);
    assert_eq!(names(&get("username=dev").await.json()), [3]);
    assert_eq!(
        names(&get("username=nobody").await.json()),
        Vec::<i64>::new()
    );
    assert_eq!(names(&get("order_by=ref&sort=asc").await.json()), [3, 1, 2]);
    assert_eq!(
        names(&get("order_by=status&sort=desc").await.json()),
        [1, 3, 2]
    );
    assert_eq!(
        names(&get("order_by=user_id&sort=asc").await.json()),
        [1, 2, 3]
    );
    assert_eq!(names(&get("order_by=updated_at").await.json()).len(), 3);
    assert_eq!(api["id"], 2);
    let paged = get("scope=branches&per_page=1").await;
    assert_eq!(paged.header("x-total"), Some("2"));
    for (query, error) in [
        ("scope=nope", "scope does not have a valid value"),
        ("order_by=name", "order_by does not have a valid value"),
        ("sort=up", "sort does not have a valid value"),
    ] {
        let response = get(query).await.expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }), "{query}");
    }
}

// ---- 1b. trigger tokens and lint ----------------------------------------------------------

#[tokio::test]
async fn trigger_tokens_start_trigger_pipelines() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("a:\n  script: echo $GREETING\n  rules:\n    - if: $CI_PIPELINE_TRIGGERED\n    - if: $CI_PIPELINE_SOURCE == \"push\"\n")
        .await;
    let triggers = format!("/api/v4/projects/{}/triggers", ci.project_id);
    let developer = t.create_user("dev").await;
    member(&t, ci.project_id, &developer, 30).await;
    t.post(&triggers)
        .token(&developer.token)
        .json(json!({ "description": "nope" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let response = t
        .post(&triggers)
        .token(ROOT_TOKEN)
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "description is missing" })
    );
    let trigger = t
        .post(&triggers)
        .token(ROOT_TOKEN)
        .json(json!({ "description": "deploy hook" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let token = trigger["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("glptt-"), "{token}");
    assert_eq!(trigger["description"], "deploy hook");
    assert_eq!(trigger["owner"]["username"], "root");
    assert_eq!(trigger["last_used"], Value::Null);

    // Another maintainer sees only the short token.
    let maintainer = t.create_user("maint").await;
    member(&t, ci.project_id, &maintainer, 40).await;
    let theirs = t
        .get(&triggers)
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        theirs[0]["token"],
        token["glptt-".len().."glptt-".len() + 4]
    );
    let mine = t.get(&triggers).token(ROOT_TOKEN).await.json();
    assert_eq!(mine[0]["token"], token);

    // The token alone authenticates; variables[KEY] become pipeline variables.
    let pipeline = t
        .post(&format!(
            "/api/v4/projects/{}/trigger/pipeline",
            ci.project_id
        ))
        .form(&format!("token={token}&ref=main&variables[GREETING]=hello"))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(pipeline["source"], "trigger");
    assert_eq!(pipeline["status"], "pending");
    let runner = t.instance_runner().await;
    let _push_job = t.claim(&runner).await;
    let job = t.claim(&runner).await;
    assert_eq!(job.payload["job_info"]["pipeline_id"], pipeline["id"]);
    assert_eq!(
        job.variable("CI_PIPELINE_TRIGGERED").as_deref(),
        Some("true")
    );
    assert_eq!(
        job.variable("CI_PIPELINE_SOURCE").as_deref(),
        Some("trigger")
    );
    assert_eq!(job.variable("GREETING").as_deref(), Some("hello"));
    assert_eq!(
        job.variable("CI_TRIGGER_SHORT_TOKEN").as_deref(),
        Some(&token["glptt-".len().."glptt-".len() + 4])
    );
    let used = t.get(&triggers).token(ROOT_TOKEN).await.json();
    assert!(used[0]["last_used"].is_string());

    let wrong = t
        .post(&format!(
            "/api/v4/projects/{}/trigger/pipeline",
            ci.project_id
        ))
        .json(json!({ "token": "glptt-wrong", "ref": "main" }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(wrong.json(), json!({ "message": "404 Not Found" }));
    let bad_ref = t
        .post(&format!(
            "/api/v4/projects/{}/trigger/pipeline",
            ci.project_id
        ))
        .json(json!({ "token": token, "ref": "nope" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_ref.json(),
        json!({ "message": { "base": ["Reference not found"] } })
    );
}

#[tokio::test]
async fn ci_lint_answers_like_gitlab() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let lint = format!("/api/v4/projects/{}/ci/lint", ci.project_id);
    let content = "stages: [build]\nbuild:\n  stage: build\n  script: make\n  tags: [linux]\n  environment: production\n";
    let body = t
        .post(&lint)
        .token(ROOT_TOKEN)
        .json(json!({ "content": content, "dry_run": true, "include_jobs": true }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(body["valid"], true);
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["warnings"], json!([]));
    // The expanded configuration (GitLab's `Config#to_hash`), `.pre`/`.post` included.
    assert_eq!(
        body["merged_yaml"],
        "---\nstages:\n- .pre\n- build\n- .post\nbuild:\n  stage: build\n  script: make\n  tags:\n  - linux\n  environment: production\n"
    );
    assert_eq!(
        body["jobs"],
        json!([{
            "name": "build", "stage": "build", "before_script": [], "script": ["make"],
            "after_script": [], "tag_list": ["linux"], "environment": "production",
            "when": "on_success", "allow_failure": false, "only": null, "except": null,
        }])
    );
    let without_jobs = t
        .post(&lint)
        .token(ROOT_TOKEN)
        .json(json!({ "content": content }))
        .await
        .json();
    assert!(without_jobs.get("jobs").is_none());

    let invalid = t
        .post(&lint)
        .token(ROOT_TOKEN)
        .json(json!({ "content": "job:\n  stage: build\n" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(invalid["valid"], false);
    assert_eq!(invalid["errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(invalid["merged_yaml"], "---\njob:\n  stage: build\n");

    let missing = t
        .post(&lint)
        .token(ROOT_TOKEN)
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(missing.json(), json!({ "error": "content is missing" }));
    let reporter = t.create_user("rep").await;
    member(&t, ci.project_id, &reporter, 20).await;
    t.post(&lint)
        .token(&reporter.token)
        .json(json!({ "content": content }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
}

// ---- 2. automatic retry -------------------------------------------------------------------

#[tokio::test]
async fn retry_max_clones_the_failed_job_until_the_budget_is_used() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("stages: [a, b]\nflaky:\n  stage: a\n  script: x\n  retry: 1\nafter:\n  stage: b\n  script: y\n")
        .await;
    let runner = t.instance_runner().await;
    let first = t.run_next(&runner, "", "failed").await;
    let jobs = t.pipeline_jobs(ci.project_id, ci.pipeline_id).await;
    assert_ne!(
        jobs["flaky"]["id"], first.id,
        "a clone replaced the attempt"
    );
    assert_eq!(jobs["flaky"]["status"], "pending");
    assert_eq!(
        jobs["after"]["status"], "created",
        "never skipped meanwhile"
    );
    assert_eq!(t.job(ci.project_id, first.id).await["status"], "failed");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "running"
    );
    let second = t.run_next(&runner, "", "failed").await;
    let jobs = t.pipeline_jobs(ci.project_id, ci.pipeline_id).await;
    assert_eq!(
        jobs["flaky"]["id"], second.id,
        "budget used: no third attempt"
    );
    assert_eq!(jobs["flaky"]["status"], "failed");
    assert_eq!(jobs["after"]["status"], "skipped");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "failed"
    );
}

#[tokio::test]
async fn retry_when_and_exit_codes_select_the_failures() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "by_reason:\n  script: x\n  retry:\n    max: 2\n    when: runner_system_failure\nby_code:\n  script: x\n  retry:\n    max: 2\n    exit_codes: [137]\n",
        )
        .await;
    let runner = t.instance_runner().await;
    let by_reason = t.claim(&runner).await;
    let by_code = t.claim(&runner).await;
    t.fail(&by_reason, "script_failure", 1).await;
    t.update_job(
        by_code.id,
        json!({ "token": by_code.token, "state": "failed", "failure_reason": "script_failure", "exit_code": 137 }),
    )
    .await
    .expect_status(StatusCode::OK);
    let jobs = t.pipeline_jobs(ci.project_id, ci.pipeline_id).await;
    assert_eq!(
        jobs["by_reason"]["id"], by_reason.id,
        "script_failure is not covered"
    );
    assert_eq!(jobs["by_reason"]["status"], "failed");
    assert_ne!(
        jobs["by_code"]["id"], by_code.id,
        "exit code 137 is covered"
    );
    assert_eq!(jobs["by_code"]["status"], "pending");
    let again = t.claim(&runner).await;
    t.fail(&again, "runner_system_failure", 1).await;
    let jobs = t.pipeline_jobs(ci.project_id, ci.pipeline_id).await;
    assert_eq!(
        jobs["by_code"]["status"], "failed",
        "exit code 1 is not covered"
    );
}

// ---- 3. delayed jobs ----------------------------------------------------------------------

const DELAYED_YAML: &str = "stages: [build, deploy]
build:
  stage: build
  script: make
deploy:
  stage: deploy
  script: ship
  when: delayed
  start_in: 30 minutes
";

#[tokio::test]
async fn delayed_jobs_are_scheduled_when_reached_and_enqueued_when_due() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(DELAYED_YAML).await;
    let runner = t.instance_runner().await;
    t.run_next(&runner, "", "success").await;
    let reached = now();
    let deploy = t.job_id(ci.project_id, ci.pipeline_id, "deploy").await;
    assert_eq!(t.job(ci.project_id, deploy).await["status"], "scheduled");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "scheduled"
    );
    let at = t
        .app
        .store
        .job_scheduled_at(deploy)
        .await
        .expect("scheduled_at")
        .expect("set");
    assert!((reached - 5_000..=now() + 30 * MINUTE).contains(&at));
    assert!(at >= reached + 30 * MINUTE - 5_000);

    assert!(tick_at(&t, now() + 29 * MINUTE).await.enqueued.is_empty());
    t.request_job(&runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let report = tick_at(&t, now() + 31 * MINUTE).await;
    assert_eq!(report.enqueued, [deploy]);
    assert_eq!(t.job(ci.project_id, deploy).await["status"], "pending");
    let job = t.claim(&runner).await;
    assert_eq!(job.id, deploy);
    assert_eq!(job.variable("CI_JOB_MANUAL").as_deref(), Some("true"));
    t.succeed(&job).await;
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "success"
    );
}

#[tokio::test]
async fn a_restarted_server_still_enqueues_due_jobs() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("later:\n  script: x\n  when: delayed\n  start_in: 1 minute\n")
        .await;
    let later = t.job_id(ci.project_id, ci.pipeline_id, "later").await;
    assert_eq!(t.job(ci.project_id, later).await["status"], "scheduled");
    // A second App over the same files stands for the restarted process.
    let store = pipewright_store::Store::open_sqlite(&t.data_dir().join("db.sqlite"))
        .await
        .expect("reopen");
    let config = pipewright_core::Config::new(t.data_dir(), common::EXTERNAL_URL);
    let restarted = pipewright_core::App::new(store, config).expect("app");
    let report = tick(&restarted, now() + 2 * MINUTE, &Watchdogs::default())
        .await
        .expect("tick");
    assert_eq!(report.enqueued, [later]);
    assert_eq!(t.job(ci.project_id, later).await["status"], "pending");
}

#[tokio::test]
async fn playing_a_scheduled_job_runs_it_now() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("later:\n  script: x\n  when: delayed\n  start_in: 1 week\n")
        .await;
    let later = t.job_id(ci.project_id, ci.pipeline_id, "later").await;
    let played = t
        .post(&format!(
            "/api/v4/projects/{}/jobs/{later}/play",
            ci.project_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_eq!(played["status"], "pending");
    let runner = t.instance_runner().await;
    assert_eq!(t.claim(&runner).await.id, later);
}

// ---- 4. watchdogs -------------------------------------------------------------------------

#[tokio::test]
async fn running_jobs_without_updates_fail_and_the_runner_is_told() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    t.append_trace(job.id, &job.token, 0, b"working\n")
        .await
        .expect_status(StatusCode::ACCEPTED);
    assert!(tick_at(&t, now() + 59 * MINUTE).await.failed.is_empty());
    let report = tick_at(&t, now() + 61 * MINUTE).await;
    assert_eq!(report.failed, [job.id]);
    let failed = t.job(ci.project_id, job.id).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_reason"], "stuck_or_timeout_failure");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "failed"
    );
    // The verdict reaches the runner on its next call.
    let trace = t.append_trace(job.id, &job.token, 8, b"more\n").await;
    assert_eq!(trace.status, StatusCode::FORBIDDEN);
    assert_eq!(trace.header("job-status"), Some("failed"));
    let update = t
        .update_job(job.id, json!({ "token": job.token, "state": "success" }))
        .await;
    assert_eq!(update.status, StatusCode::FORBIDDEN);
    assert_eq!(update.header("job-status"), Some("failed"));
}

#[tokio::test]
async fn keep_alives_hold_the_running_watchdog_off() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let thresholds = Watchdogs {
        running_without_update: Duration::from_secs(60),
        ..Watchdogs::default()
    };
    let later = now() + 50_000;
    t.update_job(job.id, json!({ "token": job.token, "state": "running" }))
        .await
        .expect_status(StatusCode::OK);
    // 50 s after the keep-alive: within a 60 s threshold.
    let report = tick(&t.app, later, &thresholds).await.expect("tick");
    assert!(report.failed.is_empty());
    let report = tick(&t.app, now() + 61_000, &thresholds)
        .await
        .expect("tick");
    assert_eq!(report.failed, [job.id]);
}

#[tokio::test]
async fn canceling_pending_and_overtime_jobs_are_finished_by_the_server() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("slow:\n  script: x\n  timeout: 10 minutes\nstuck:\n  script: x\nquiet:\n  script: x\n  tags: [nobody]\n")
        .await;
    let runner = t.instance_runner().await;
    let slow = t.claim(&runner).await;
    let stuck = claim_graceful(&t, &runner).await;
    t.post(&format!(
        "/api/v4/projects/{}/jobs/{}/cancel",
        ci.project_id, stuck.id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::CREATED);
    assert_eq!(t.job(ci.project_id, stuck.id).await["status"], "canceling");
    let quiet = t.job_id(ci.project_id, ci.pipeline_id, "quiet").await;

    // 26 minutes: slow overran 10 min + 15 min margin; nothing else is due yet.
    let report = tick_at(&t, now() + 26 * MINUTE).await;
    assert_eq!(report.failed, [slow.id]);
    let slow_job = t.job(ci.project_id, slow.id).await;
    assert_eq!(slow_job["failure_reason"], "job_execution_timeout");
    // 31 minutes: the canceling job is force-finished.
    let report = tick_at(&t, now() + 31 * MINUTE).await;
    assert_eq!(report.canceled, [stuck.id]);
    assert_eq!(t.job(ci.project_id, stuck.id).await["status"], "canceled");
    // 25 hours: the pending job no runner takes fails.
    let report = tick_at(&t, now() + 25 * 60 * MINUTE).await;
    assert_eq!(report.failed, [quiet]);
    let quiet_job = t.job(ci.project_id, quiet).await;
    assert_eq!(quiet_job["failure_reason"], "stuck_or_timeout_failure");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "failed"
    );
}

#[tokio::test]
async fn a_watchdog_failure_is_retried_when_retry_covers_it() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "a:\n  script: x\n  retry:\n    max: 1\n    when: stuck_or_timeout_failure\n",
        )
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    tick_at(&t, now() + 2 * 60 * MINUTE).await;
    let jobs = t.pipeline_jobs(ci.project_id, ci.pipeline_id).await;
    assert_ne!(jobs["a"]["id"], job.id);
    assert_eq!(jobs["a"]["status"], "pending");
}

// ---- 5. resource groups, coverage, environment, interruptible ---------------------------

#[tokio::test]
async fn one_job_per_resource_group_executes_at_a_time() {
    let t = TestApp::new().await;
    let yaml = "deploy:\n  script: ship\n  resource_group: production\nother:\n  script: x\n  resource_group: staging\n";
    let ci = t.project_with_ci(yaml).await;
    let second = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let second = second["id"].as_i64().expect("id");
    let first_jobs = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(first_jobs["deploy"], "pending");
    assert_eq!(first_jobs["other"], "pending");
    let second_jobs = t.job_statuses(ci.project_id, second).await;
    assert_eq!(second_jobs["deploy"], "waiting_for_resource");
    assert_eq!(second_jobs["other"], "waiting_for_resource");
    assert_eq!(
        t.pipeline_status(ci.project_id, second).await,
        "waiting_for_resource"
    );

    let runner = t.instance_runner().await;
    let deploy = t.claim(&runner).await;
    assert_eq!(deploy.payload["job_info"]["name"], "deploy");
    // Still held while running.
    assert_eq!(
        t.job_statuses(ci.project_id, second).await["deploy"],
        "waiting_for_resource"
    );
    t.fail(&deploy, "script_failure", 1).await;
    let second_jobs = t.job_statuses(ci.project_id, second).await;
    assert_eq!(second_jobs["deploy"], "pending", "released on finish");
    assert_eq!(second_jobs["other"], "waiting_for_resource");
    assert_eq!(t.pipeline_status(ci.project_id, second).await, "running");
    // Canceling the holder releases it too.
    let other = t.job_id(ci.project_id, ci.pipeline_id, "other").await;
    t.post(&format!(
        "/api/v4/projects/{}/jobs/{other}/cancel",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::CREATED);
    assert_eq!(
        t.job_statuses(ci.project_id, second).await["other"],
        "pending"
    );
}

#[tokio::test]
async fn coverage_is_read_from_the_log_of_a_successful_job() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("unit:\n  script: x\n  coverage: '/Total: \\d+\\.\\d+%/'\nother:\n  script: y\n  coverage: '/Total: \\d+\\.\\d+%/'\n")
        .await;
    let runner = t.instance_runner().await;
    let unit = t
        .run_next(
            &runner,
            "Total: 10.00%\nrunning\nTotal: 87.50%\n",
            "success",
        )
        .await;
    let failed = t.run_next(&runner, "Total: 50.00%\n", "failed").await;
    let job = t.job(ci.project_id, unit.id).await;
    assert_eq!(job["coverage"], json!(87.5));
    assert_eq!(
        t.job(ci.project_id, failed.id).await["coverage"],
        Value::Null
    );
    let pipeline = t.pipeline(ci.project_id, ci.pipeline_id).await;
    assert_eq!(pipeline["coverage"], "87.50");
}

#[tokio::test]
async fn environment_reaches_the_job_payload() {
    let t = TestApp::new().await;
    t.project_with_ci("deploy:\n  script: x\n  environment:\n    name: review/$CI_COMMIT_REF_SLUG\n    url: https://$CI_COMMIT_REF_SLUG.example.com\n")
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    assert_eq!(
        job.variable("CI_ENVIRONMENT_NAME").as_deref(),
        Some("review/main")
    );
    // GitLab's environment slug: a name the slug rules changed gets a suffix from its hash.
    assert_eq!(
        job.variable("CI_ENVIRONMENT_SLUG").as_deref(),
        Some("review-main-yi2y9f")
    );
    assert_eq!(
        job.variable("CI_ENVIRONMENT_ACTION").as_deref(),
        Some("start")
    );
    assert_eq!(
        job.variable("CI_ENVIRONMENT_TIER").as_deref(),
        Some("development")
    );
    assert_eq!(
        job.variable("CI_ENVIRONMENT_URL").as_deref(),
        Some("https://main.example.com")
    );
}

const INTERRUPTIBLE_YAML: &str = "stages: [test, deploy]
test:
  stage: test
  script: x
  interruptible: true
deploy:
  stage: deploy
  script: y
";

#[tokio::test]
async fn a_new_push_cancels_redundant_interruptible_pipelines() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(INTERRUPTIBLE_YAML).await;
    let runner = t.instance_runner().await;
    let test = t.claim(&runner).await;
    let newer = t
        .update_ci(
            ROOT_TOKEN,
            ci.project_id,
            &format!("{INTERRUPTIBLE_YAML}# v2\n"),
        )
        .await;
    let older = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(older["test"], "canceled");
    assert_eq!(older["deploy"], "canceled");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "canceled"
    );
    assert_eq!(t.pipeline_status(ci.project_id, newer).await, "pending");
    let response = t.append_trace(test.id, &test.token, 0, b"x").await;
    assert_eq!(response.header("job-status"), Some("canceled"));
}

#[tokio::test]
async fn conservative_auto_cancel_spares_pipelines_with_started_uninterruptible_jobs() {
    let t = TestApp::new().await;
    let yaml = "stages: [test, deploy]\ntest:\n  stage: test\n  script: x\ndeploy:\n  stage: deploy\n  script: y\n  interruptible: true\n";
    let ci = t.project_with_ci(yaml).await;
    let runner = t.instance_runner().await;
    t.claim(&runner).await;
    t.update_ci(ROOT_TOKEN, ci.project_id, &format!("{yaml}# v2\n"))
        .await;
    assert_eq!(
        t.job_statuses(ci.project_id, ci.pipeline_id).await["test"],
        "running"
    );

    // `interruptible` mode cancels only the interruptible jobs of the older pipeline.
    let with_mode = format!("workflow:\n  auto_cancel:\n    on_new_commit: interruptible\n{yaml}");
    let second = t.update_ci(ROOT_TOKEN, ci.project_id, &with_mode).await;
    let older = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(older["test"], "running");
    assert_eq!(older["deploy"], "canceled");
    // `none` keeps everything.
    let none = format!("workflow:\n  auto_cancel:\n    on_new_commit: none\n{yaml}");
    t.update_ci(ROOT_TOKEN, ci.project_id, &none).await;
    assert_eq!(
        t.job_statuses(ci.project_id, second).await["test"],
        "pending"
    );
}

// ---- 6. invalid YAML on push --------------------------------------------------------------

#[tokio::test]
async fn a_push_with_invalid_yaml_gives_a_failed_pipeline_without_jobs() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("job:\n  stage: nowhere\n  script: x\n")
        .await;
    let pipeline = t.pipeline(ci.project_id, ci.pipeline_id).await;
    assert_eq!(pipeline["status"], "failed");
    assert_eq!(pipeline["source"], "push");
    let errors = pipeline["yaml_errors"].as_str().expect("yaml_errors");
    assert!(errors.contains("nowhere"), "{errors}");
    assert!(pipeline["finished_at"].is_string());
    assert!(
        t.pipeline_jobs(ci.project_id, ci.pipeline_id)
            .await
            .is_empty()
    );
    // GitLab's REST pipeline entity has no failure_reason (config_error is GraphQL-only).
    assert!(pipeline.get("failure_reason").is_none());
}

#[tokio::test]
async fn on_job_failure_all_cancels_the_rest_of_the_pipeline() {
    let t = TestApp::new().await;
    let yaml = "workflow:\n  auto_cancel:\n    on_job_failure: all\nstages: [a, b]\nfails:\n  stage: a\n  script: x\nallowed:\n  stage: a\n  script: x\n  allow_failure: true\nslow:\n  stage: a\n  script: x\nlater:\n  stage: b\n  script: y\n";
    let ci = t.project_with_ci(yaml).await;
    let runner = t.instance_runner().await;
    let fails = t.claim(&runner).await;
    let allowed = t.claim(&runner).await;
    let slow = t.claim(&runner).await;
    // An allowed failure does not count.
    t.fail(&allowed, "script_failure", 1).await;
    assert_eq!(t.job(ci.project_id, slow.id).await["status"], "running");
    t.fail(&fails, "script_failure", 1).await;
    let statuses = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(statuses["slow"], "canceled");
    assert_eq!(statuses["later"], "canceled");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "failed"
    );
}

#[tokio::test]
async fn triggers_are_shown_deleted_and_usable_in_the_ref_path_form() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let triggers = format!("/api/v4/projects/{}/triggers", ci.project_id);
    let trigger = t
        .post(&triggers)
        .token(ROOT_TOKEN)
        .form("description=hook")
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let id = trigger["id"].as_i64().expect("id");
    let token = trigger["token"].as_str().expect("token").to_owned();
    let one = t
        .get(&format!("{triggers}/{id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(one["description"], "hook");
    let pipeline = t
        .post(&format!(
            "/api/v4/projects/{}/ref/main/trigger/pipeline?token={token}",
            ci.project_id
        ))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(pipeline["source"], "trigger");
    assert_eq!(pipeline["ref"], "main");
    t.delete(&format!("{triggers}/{id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let gone = t
        .get(&format!("{triggers}/{id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(gone.json(), json!({ "message": "404 Trigger Not Found" }));
    t.post(&format!(
        "/api/v4/projects/{}/trigger/pipeline",
        ci.project_id
    ))
    .json(json!({ "token": token, "ref": "main" }))
    .await
    .expect_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_a_pipeline_releases_its_resource_groups() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("deploy:\n  script: ship\n  resource_group: production\n")
        .await;
    let second = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json()["id"]
        .as_i64()
        .expect("id");
    assert_eq!(
        t.job_statuses(ci.project_id, second).await["deploy"],
        "waiting_for_resource"
    );
    t.delete(&format!(
        "/api/v4/projects/{}/pipelines/{}",
        ci.project_id, ci.pipeline_id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NO_CONTENT);
    assert_eq!(
        t.job_statuses(ci.project_id, second).await["deploy"],
        "pending"
    );
}

#[tokio::test]
async fn developers_cannot_cancel_or_retry_pipelines_of_a_protected_branch() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let developer = t.create_user("dev").await;
    member(&t, ci.project_id, &developer, 30).await;
    let path = format!(
        "/api/v4/projects/{}/pipelines/{}",
        ci.project_id, ci.pipeline_id
    );
    // `main` is protected (Maintainers push and merge) from the project's creation.
    for action in ["cancel", "retry"] {
        t.post(&format!("{path}/{action}"))
            .token(&developer.token)
            .await
            .expect_status(StatusCode::FORBIDDEN);
    }
    t.post(&format!(
        "/api/v4/projects/{}/pipelines/999/cancel",
        ci.project_id
    ))
    .token(&developer.token)
    .await
    .expect_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn list_filters_by_yaml_errors_and_update_time() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let broken = t
        .update_ci(
            ROOT_TOKEN,
            ci.project_id,
            "a:\n  stage: nowhere\n  script: x\n",
        )
        .await;
    let list = format!("/api/v4/projects/{}/pipelines", ci.project_id);
    let ids = |query: &'static str| {
        let url = format!("{list}?{query}");
        let t = &t;
        async move { names(&t.get(&url).token(ROOT_TOKEN).await.json()) }
    };
    assert_eq!(ids("yaml_errors=true").await, [broken]);
    assert_eq!(ids("yaml_errors=false").await, [ci.pipeline_id]);
    assert_eq!(
        ids("updated_after=2000-01-01").await,
        [broken, ci.pipeline_id]
    );
    assert_eq!(
        ids("updated_before=2000-01-01T00:00:00Z").await,
        Vec::<i64>::new()
    );
    let response = t
        .get(&format!("{list}?updated_after=yesterday"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "updated_after is invalid" })
    );
}

#[tokio::test]
async fn child_pipelines_are_listed_only_when_asked_for() {
    let t = TestApp::new().await;
    let project = t
        .create_project(ROOT_TOKEN, json!({ "name": "parent" }))
        .await["id"]
        .as_i64()
        .expect("id");
    t.commit(
        ROOT_TOKEN,
        project,
        "main",
        json!([
            { "action": "create", "file_path": ".gitlab-ci.yml",
              "content": "child:\n  trigger:\n    include: ci/child.yml\n" },
            { "action": "create", "file_path": "ci/child.yml",
              "content": "inner:\n  script: x\n" },
        ]),
    )
    .await;
    pipewright_core::downstream::DownstreamQueue::drain(&t.app).await;
    let list = format!("/api/v4/projects/{project}/pipelines");
    let all = t.get(&list).token(ROOT_TOKEN).await.json();
    assert_eq!(names(&all), [1], "the child pipeline is left out");
    let children = t
        .get(&format!("{list}?source=parent_pipeline"))
        .token(ROOT_TOKEN)
        .await
        .json();
    assert_eq!(names(&children), [2]);
    let created = t
        .get(&format!(
            "{list}?created_after=2000-01-01&created_before=2999-01-01"
        ))
        .token(ROOT_TOKEN)
        .await
        .json();
    assert_eq!(names(&created), [1]);
}

#[tokio::test]
async fn ci_lint_merged_yaml_resolves_includes_and_extends() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let commit = t
        .commit(
            ROOT_TOKEN,
            ci.project_id,
            "main",
            json!([{ "action": "create", "file_path": "ci/base.yml",
                     "content": ".base:\n  image: ruby\n  script: [make]\n" }]),
        )
        .await;
    let sha = commit["id"].as_str().expect("sha");
    let content = "include: ci/base.yml\nbuild:\n  extends: .base\n  script: [make all]\n";
    let body = t
        .post(&format!("/api/v4/projects/{}/ci/lint", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "content": content }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(body["valid"], true, "{body}");
    assert_eq!(
        body["merged_yaml"],
        "---\n.base:\n  image: ruby\n  script:\n  - make\nbuild:\n  image: ruby\n  script:\n  - make all\n  extends: .base\n"
    );
    let web = format!("{}/{}", common::EXTERNAL_URL, ci.full_path);
    assert_eq!(
        body["includes"],
        json!([{
            "type": "local", "location": "ci/base.yml",
            "blob": format!("{web}/-/blob/{sha}/ci/base.yml"),
            "raw": format!("{web}/-/raw/{sha}/ci/base.yml"),
            "extra": {}, "context_project": ci.full_path, "context_sha": sha,
        }])
    );
}

#[tokio::test]
async fn include_project_reads_another_project_with_the_users_access() {
    let t = TestApp::new().await;
    let shared = t
        .create_project(ROOT_TOKEN, json!({ "name": "shared" }))
        .await;
    let shared_id = shared["id"].as_i64().expect("id");
    t.commit(
        ROOT_TOKEN,
        shared_id,
        "main",
        json!([
            { "action": "create", "file_path": "ci/jobs.yml",
              "content": "include: ci/common.yml\nlint:\n  extends: .common\n  script: [lint]\n" },
            { "action": "create", "file_path": "ci/common.yml",
              "content": ".common:\n  stage: build\n" },
        ]),
    )
    .await;
    let yaml = "include:\n  - project: root/shared\n    file: ci/jobs.yml\nown:\n  script: [own]\n";
    let ci = t.project_with_ci(yaml).await;
    let jobs = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(
        jobs.keys().map(String::as_str).collect::<Vec<_>>(),
        ["lint", "own"],
        "the nested local include is read from the included project"
    );

    // A maintainer of `demo` (main is protected) who cannot read the private `shared` gets
    // GitLab's message.
    let dev = t.create_user("dev").await;
    member(&t, ci.project_id, &dev, 40).await;
    let denied = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(&dev.token)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST)
        .json();
    assert_eq!(
        denied,
        json!({ "message": { "base": [
            "Project `root/shared` not found or access denied! Make sure any includes in the pipeline configuration are correctly defined."
        ] } })
    );
    // As a reporter of `shared` the same request creates the pipeline.
    member(&t, shared_id, &dev, 20).await;
    t.post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(&dev.token)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn resource_group_process_mode_picks_the_next_holder() {
    let t = TestApp::new().await;
    let yaml = "workflow:\n  auto_cancel:\n    on_new_commit: none\ndeploy:\n  script: ship\n  resource_group: production\n";
    let ci = t.project_with_ci(yaml).await;
    let mut pipelines = vec![ci.pipeline_id];
    for _ in 0..2 {
        let created = t
            .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
            .token(ROOT_TOKEN)
            .json(json!({ "ref": "main" }))
            .await
            .expect_status(StatusCode::CREATED)
            .json();
        pipelines.push(created["id"].as_i64().expect("id"));
    }
    let groups_path = format!("/api/v4/projects/{}/resource_groups", ci.project_id);
    let groups = t
        .get(&groups_path)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(groups.as_array().map(Vec::len), Some(1), "{groups}");
    assert_eq!(groups[0]["key"], "production");
    assert_eq!(groups[0]["process_mode"], "unordered");

    let group_path = format!("{groups_path}/production");
    let bad = t
        .put(&group_path)
        .token(ROOT_TOKEN)
        .json(json!({ "process_mode": "fifo" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST)
        .json();
    assert_eq!(
        bad,
        json!({ "error": "process_mode does not have a valid value" })
    );
    t.get(&format!("{groups_path}/staging"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    let updated = t
        .put(&group_path)
        .token(ROOT_TOKEN)
        .json(json!({ "process_mode": "newest_first" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(updated["process_mode"], "newest_first");

    // The first pipeline holds the resource; newest_first then skips the middle one.
    let runner = t.instance_runner().await;
    let mut order = Vec::new();
    for _ in 0..3 {
        let job = t.claim(&runner).await;
        order.push(job.payload["job_info"]["pipeline_id"].as_i64());
        t.succeed(&job).await;
    }
    assert_eq!(
        order,
        [Some(pipelines[0]), Some(pipelines[2]), Some(pipelines[1])]
    );
}

#[tokio::test]
async fn rules_exists_project_looks_into_another_project() {
    let t = TestApp::new().await;
    let shared = t
        .create_project(ROOT_TOKEN, json!({ "name": "shared" }))
        .await;
    t.commit(
        ROOT_TOKEN,
        shared["id"].as_i64().expect("id"),
        "main",
        json!([{ "action": "create", "file_path": "docker/Dockerfile", "content": "FROM x\n" }]),
    )
    .await;
    let yaml = "\
image_build:
  script: [build]
  rules:
    - exists:
        paths: [docker/Dockerfile]
        project: root/shared
gem_build:
  script: [build]
  rules:
    - exists:
        paths: [Gemfile]
        project: root/shared
        ref: main
own:
  script: [own]
";
    let ci = t.project_with_ci(yaml).await;
    let jobs = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(
        jobs.keys().map(String::as_str).collect::<Vec<_>>(),
        ["image_build", "own"]
    );
    let lint = t
        .post(&format!("/api/v4/projects/{}/ci/lint", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "content": "a:\n  script: x\n  rules:\n    - exists:\n        paths: [x]\n        project: root/shared\n        ref: nope\n" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        lint["errors"],
        json!([
            "Failed to parse rule for a: rules:exists:ref `nope` is not a valid ref in project `root/shared`"
        ])
    );
}
