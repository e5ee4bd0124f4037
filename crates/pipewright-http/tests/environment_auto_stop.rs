//! `auto_stop_in` (ci-yaml.md §3.19) through the router: once `auto_stop_at` has passed, an
//! auto-stop pass plays the `on_stop` job of the last deployment (the environment is
//! `stopping` until it succeeds), or stops an environment without one at once; and the
//! server's timer runs those passes by itself.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp};
use pipewright_core::environment_auto_stop::{AutoStopReport, run};
use serde_json::Value;

const REVIEW: &str = "\
stages: [deploy, cleanup]
deploy:
  stage: deploy
  script: ./deploy
  environment:
    name: review/$CI_COMMIT_REF_SLUG
    on_stop: stop_review
    auto_stop_in: 1 minute
stop_review:
  stage: cleanup
  script: ./teardown
  when: manual
  environment:
    name: review/$CI_COMMIT_REF_SLUG
    action: stop
production:
  stage: deploy
  script: ./deploy
  environment: production
";

const NO_STOP_JOB: &str = "\
deploy:
  script: ./deploy
  environment:
    name: review/$CI_COMMIT_REF_SLUG
    auto_stop_in: 1 minute
";

async fn environment(t: &TestApp, project: i64, id: i64) -> Value {
    t.get(&format!("/api/v4/projects/{project}/environments/{id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json()
}

async fn environment_id(t: &TestApp, project: i64, name: &str) -> i64 {
    let list: Value = t
        .get(&format!(
            "/api/v4/projects/{project}/environments?name={name}"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    list[0]["id"].as_i64().expect("environment id")
}

/// The stored `auto_stop_at` (milliseconds), to put the clock just before and after it.
async fn auto_stop_at(t: &TestApp, project: i64, id: i64) -> Option<i64> {
    t.app
        .store
        .environment_by_id(project, id)
        .await
        .expect("store")
        .expect("environment")
        .auto_stop_at
}

/// Runs the next job and checks it is `name`.
async fn run_job(t: &TestApp, runner: &common::TestRunner, name: &str) -> i64 {
    let job = t.run_next(runner, "", "success").await;
    assert_eq!(job.payload["job_info"]["name"], name, "ran the wrong job");
    job.id
}

#[tokio::test]
async fn a_due_environment_plays_its_stop_job() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(REVIEW).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    run_job(&t, &runner, "deploy").await;
    run_job(&t, &runner, "production").await;

    let review = environment_id(&t, project, "review/main").await;
    let production = environment_id(&t, project, "production").await;
    let body = environment(&t, project, review).await;
    assert_eq!(body["state"], "available");
    assert!(body["auto_stop_at"].is_string(), "auto_stop_in: 1 minute");
    let due = auto_stop_at(&t, project, review)
        .await
        .expect("auto_stop_at");
    assert_eq!(
        auto_stop_at(&t, project, production).await,
        None,
        "no auto_stop_in"
    );
    let stop_job = t.job_id(project, ci.pipeline_id, "stop_review").await;
    assert_eq!(t.job(project, stop_job).await["status"], "manual");

    // Not yet due: nothing happens.
    assert_eq!(
        run(&t.app, due - 1).await.expect("pass"),
        AutoStopReport::default()
    );
    assert_eq!(environment(&t, project, review).await["state"], "available");

    // Due: the stop job is played, as its user, and the environment waits for it.
    let report = run(&t.app, due + 1).await.expect("pass");
    assert_eq!(report.stopping, vec![review]);
    assert!(report.stopped.is_empty() && report.unplayable.is_empty());
    let body = environment(&t, project, review).await;
    assert_eq!(body["state"], "stopping");
    assert_eq!(body["auto_stop_at"], Value::Null, "nothing left to stop");
    let played = t.job(project, stop_job).await;
    assert_eq!(played["status"], "pending");
    assert_eq!(played["user"]["username"], "root");
    assert_eq!(
        environment(&t, project, production).await["state"],
        "available"
    );

    // A second pass does not play it again.
    assert_eq!(
        run(&t.app, due + 120_000).await.expect("pass"),
        AutoStopReport::default()
    );

    // The stop job succeeds: the environment is stopped.
    assert_eq!(run_job(&t, &runner, "stop_review").await, stop_job);
    assert_eq!(environment(&t, project, review).await["state"], "stopped");
}

#[tokio::test]
async fn without_a_stop_job_the_environment_stops_at_once() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(NO_STOP_JOB).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    run_job(&t, &runner, "deploy").await;
    let review = environment_id(&t, project, "review/main").await;
    let due = auto_stop_at(&t, project, review)
        .await
        .expect("auto_stop_at");

    let report = run(&t.app, due + 1).await.expect("pass");
    assert_eq!(report.stopped, vec![review]);
    let body = environment(&t, project, review).await;
    assert_eq!(body["state"], "stopped");
    assert_eq!(body["auto_stop_at"], Value::Null);
}

#[tokio::test]
async fn a_redeployment_pushes_auto_stop_back() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(NO_STOP_JOB).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    run_job(&t, &runner, "deploy").await;
    let review = environment_id(&t, project, "review/main").await;
    let first = auto_stop_at(&t, project, review)
        .await
        .expect("auto_stop_at");

    // A later deployment (a retry of the job) resets the timer from its own finish.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let deploy = t.job_id(project, ci.pipeline_id, "deploy").await;
    t.post(&format!("/api/v4/projects/{project}/jobs/{deploy}/retry"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    run_job(&t, &runner, "deploy").await;
    let second = auto_stop_at(&t, project, review)
        .await
        .expect("auto_stop_at");
    assert!(second > first, "{second} > {first}");

    assert_eq!(
        run(&t.app, second - 1).await.expect("pass"),
        AutoStopReport::default()
    );
    assert_eq!(environment(&t, project, review).await["state"], "available");
}

#[tokio::test]
async fn the_server_timer_runs_the_auto_stop_pass() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(NO_STOP_JOB).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    run_job(&t, &runner, "deploy").await;
    let review = environment_id(&t, project, "review/main").await;

    // The time is in the database: an `auto_stop_at` already past (as after a restart).
    let past = pipewright_store::now_ms() - 1_000;
    t.app
        .store
        .record_environment_deployed(
            review,
            &pipewright_store::DeployedEnvironment {
                auto_stop_at: Some(past),
                ..Default::default()
            },
        )
        .await
        .expect("store");

    let config = pipewright_core::scheduler::TimerConfig {
        interval: Duration::from_millis(10),
        auto_stop_interval: Duration::from_millis(10),
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let timer = pipewright_core::scheduler::spawn(t.app.clone(), config, async move {
        let _ = stopped.await;
    });
    let mut state = Value::Null;
    for _ in 0..500 {
        state = environment(&t, project, review).await["state"].clone();
        if state == "stopped" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(());
    timer.await.expect("timer task");
    assert_eq!(state, "stopped");
}

#[tokio::test]
async fn stop_stale_checks_its_date_and_leaves_recent_environments() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(NO_STOP_JOB).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    run_job(&t, &runner, "deploy").await;
    let review = environment_id(&t, project, "review/main").await;
    let url = format!("/api/v4/projects/{project}/environments/stop_stale");
    let days_ago = |days: i64| {
        (chrono::Utc::now() - chrono::Duration::days(days))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };

    let missing = t
        .post(&url)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["error"], "before is missing");
    for too_recent_or_old in [days_ago(1), days_ago(3700)] {
        let refused = t
            .post(&format!("{url}?before={too_recent_or_old}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(refused.json()["message"], "400 Bad request - Invalid Date");
    }

    // A reporter may not stop environments.
    let reporter = t.create_user("reporter").await;
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(serde_json::json!({ "user_id": reporter.id, "access_level": 20 }))
        .await
        .expect_status(StatusCode::CREATED);
    t.post(&format!("{url}?before={}", days_ago(8)))
        .token(&reporter.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);

    // Deployed just now: not stale.
    let done = t
        .post(&format!("{url}?before={}", days_ago(8)))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        done,
        serde_json::json!({ "message": "Successfully requested stop for all stale environments" })
    );
    assert_eq!(environment(&t, project, review).await["state"], "available");
}

#[tokio::test]
async fn review_apps_are_listed_then_deleted() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(NO_STOP_JOB).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    run_job(&t, &runner, "deploy").await;
    let review = environment_id(&t, project, "review/main").await;
    let base = format!("/api/v4/projects/{project}/environments");
    // Created now: only a `before` in the future finds it, once it is stopped.
    let later = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let url = format!("{base}/review_apps?before={later}");

    let found = t
        .delete(&url)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        found,
        serde_json::json!({ "scheduled_entries": [], "unprocessable_entries": [] })
    );
    let report = run(&t.app, i64::MAX).await.expect("pass");
    assert_eq!(report.stopped, vec![review]);

    // The default is a dry run.
    let found = t
        .delete(&url)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(found["scheduled_entries"][0]["id"], review);
    assert_eq!(found["scheduled_entries"][0]["name"], "review/main");
    environment(&t, project, review).await;
    // Not old enough by default (30 days).
    let default = t
        .delete(&format!("{base}/review_apps"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(default["scheduled_entries"], serde_json::json!([]));
    t.delete(&format!("{url}&limit=0"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);

    // A reporter reads environments but may not delete them.
    let reporter = t.create_user("reporter").await;
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(serde_json::json!({ "user_id": reporter.id, "access_level": 20 }))
        .await
        .expect_status(StatusCode::CREATED);
    let refused = t
        .delete(&url)
        .token(&reporter.token)
        .await
        .expect_status(StatusCode::UNAUTHORIZED)
        .json();
    assert_eq!(
        refused["message"],
        "You do not have permission to destroy environments in this project"
    );

    let deleted = t
        .delete(&format!("{url}&dry_run=false"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::ACCEPTED)
        .json();
    assert_eq!(deleted["scheduled_entries"][0]["id"], review);
    t.get(&format!("{base}/{review}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_stop_job_its_user_may_no_longer_play_leaves_the_environment_stopping() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(REVIEW).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    run_job(&t, &runner, "deploy").await;
    run_job(&t, &runner, "production").await;
    let review = environment_id(&t, project, "review/main").await;
    let stop_job = t.job_id(project, ci.pipeline_id, "stop_review").await;

    // "No one" may merge into `main` any more, administrators included.
    let branches = format!("/api/v4/projects/{project}/protected_branches");
    t.delete(&format!("{branches}/main"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.post(&branches)
        .token(ROOT_TOKEN)
        .json(serde_json::json!({
            "name": "main", "push_access_level": 0, "merge_access_level": 0
        }))
        .await
        .expect_status(StatusCode::CREATED);

    let report = run(&t.app, i64::MAX).await.expect("pass");
    assert_eq!(report.unplayable, vec![review]);
    // As in GitLab, `stop!` came first: the environment waits for a forced stop.
    assert_eq!(environment(&t, project, review).await["state"], "stopping");
    assert_eq!(t.job(project, stop_job).await["status"], "manual");
    assert_eq!(
        run(&t.app, i64::MAX).await.expect("pass"),
        AutoStopReport::default()
    );
}
