//! Long polling of `POST /jobs/request`: a runner held because nothing changed is released as
//! soon as a job becomes pending, and its next request gets that job.

#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

use std::time::Duration;

use pipewright_core::auth::authenticate_token;
use pipewright_core::processing::process_pipeline;
use pipewright_core::projects::{CreateProject, create_project};
use pipewright_core::runners::{JobRequestOutcome, create_builtin_runner, request_job};
use pipewright_core::users::bootstrap_root;
use pipewright_core::{App, Config, Status, When};
use pipewright_protocol::JobRequest;
use pipewright_store::{NewJob, NewPipeline, Store};

fn last_update(outcome: &JobRequestOutcome) -> String {
    match outcome {
        JobRequestOutcome::NoJob { last_update } => last_update.clone(),
        other => panic!("expected 204, got {other:?}"),
    }
}

#[tokio::test]
async fn a_held_runner_is_released_by_a_new_job_and_then_gets_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    let mut config = Config::new(dir.path(), "http://pw.example");
    // Long enough that a test passing by timeout would be obvious, short enough to end.
    config.long_poll = Duration::from_secs(20);
    let app = App::new(store, config).unwrap();
    bootstrap_root(&app, Some("root-token")).await.unwrap();
    let actor = authenticate_token(&app, "root-token").await.unwrap();
    let project = create_project(
        &app,
        &actor,
        CreateProject {
            name: Some("polled".into()),
            path: None,
            namespace_id: None,
            description: None,
            visibility: None,
            default_branch: None,
            initialize_with_readme: true,
            public_jobs: None,
            ci_pipeline_variables_minimum_override_role: None,
        },
    )
    .await
    .unwrap();
    let (_, token) = create_builtin_runner(&app, "poller").await.unwrap();
    let ask = |last_update: Option<String>| JobRequest {
        token: token.clone(),
        last_update,
        ..JobRequest::default()
    };

    // First contact: no `last_update`, nothing pending, answered at once.
    let seen = last_update(&request_job(&app, &ask(None), None).await.unwrap());

    // Echoing that version holds the request until something changes.
    let held = {
        let app = app.clone();
        let request = ask(Some(seen.clone()));
        tokio::spawn(async move { request_job(&app, &request, None).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!held.is_finished(), "the request should be held");

    let started = std::time::Instant::now();
    let commit = project.project.default_branch.clone();
    let (pipeline, _) = app
        .store
        .create_pipeline(
            &NewPipeline {
                project_id: project.project.id,
                ref_name: commit,
                tag: false,
                sha: "0".repeat(40),
                before_sha: "0".repeat(40),
                source: "push".into(),
                status: Status::Created,
                user_id: Some(1),
                yaml_errors: None,
                variables: Vec::new(),
            },
            &[NewJob {
                kind: "build".into(),
                name: "build".into(),
                stage: "test".into(),
                stage_idx: 2,
                status: Status::Created,
                when: When::OnSuccess,
                allow_failure: false,
                needs: None,
                options: r#"{"before_script":[],"script":["true"],"after_script":[],"image":null,"services":[],"tags":[],"timeout":null,"variables":[]}"#.into(),
                tag_list: Vec::new(),
                user_id: Some(1),
                timeout: None,
            }],
        )
        .await
        .unwrap();
    process_pipeline(&app, pipeline.id).await.unwrap();

    // Released at once (not by the timeout), with the version the runner sent...
    let released = held.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(last_update(&released), seen);
    // ...so the runner's immediate next request scans the queue and gets the job.
    match request_job(&app, &ask(Some(seen)), None).await.unwrap() {
        JobRequestOutcome::Job(payload) => assert_eq!(payload.job_info.name, "build"),
        other => panic!("expected the job, got {other:?}"),
    }
}
