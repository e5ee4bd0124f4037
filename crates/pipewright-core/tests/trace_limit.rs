//! The job log size limit (runner-protocol.md §8.2, GitLab's `ci_jobs_trace_size_limit`): a
//! chunk whose end reaches the limit fails the job with `trace_size_exceeded` and is answered
//! with a plain 403; the log keeps what came before.

#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

use pipewright_core::auth::authenticate_token;
use pipewright_core::job_updates::append_trace;
use pipewright_core::processing::process_pipeline;
use pipewright_core::projects::{CreateProject, create_project};
use pipewright_core::runners::{JobRequestOutcome, create_builtin_runner, request_job};
use pipewright_core::users::bootstrap_root;
use pipewright_core::{App, Config, Error, Status, When};
use pipewright_protocol::JobRequest;
use pipewright_store::{NewJob, NewPipeline, Store};

const MIB: usize = 1024 * 1024;

/// An app with a 1 MiB log limit and one running job: (app, job id, job token).
async fn running_job(dir: &std::path::Path) -> (App, i64, String) {
    let store = Store::open_sqlite(&dir.join("db.sqlite")).await.unwrap();
    let mut config = Config::new(dir, "http://pw.example");
    config.max_trace_size_mb = 1;
    let app = App::new(store, config).unwrap();
    bootstrap_root(&app, Some("root-token")).await.unwrap();
    let actor = authenticate_token(&app, "root-token").await.unwrap();
    let project = create_project(
        &app,
        &actor,
        CreateProject {
            name: Some("chatty".into()),
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
    let (pipeline, _) = app
        .store
        .create_pipeline(
            &NewPipeline {
                project_id: project.project.id,
                ref_name: project.project.default_branch.clone(),
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
                stage_idx: 0,
                status: Status::Created,
                when: When::OnSuccess,
                allow_failure: false,
                needs: None,
                options: r#"{"before_script":[],"script":["yes"],"after_script":[],"image":null,"services":[],"tags":[],"timeout":null,"variables":[]}"#.into(),
                tag_list: Vec::new(),
                user_id: Some(1),
                timeout: None,
            }],
        )
        .await
        .unwrap();
    process_pipeline(&app, pipeline.id).await.unwrap();
    let (_, runner_token) = create_builtin_runner(&app, "runner").await.unwrap();
    let request = JobRequest {
        token: runner_token,
        ..JobRequest::default()
    };
    match request_job(&app, &request, None).await.unwrap() {
        JobRequestOutcome::Job(payload) => (app, payload.id, payload.token.clone()),
        other => panic!("expected a job, got {other:?}"),
    }
}

#[tokio::test]
async fn a_chunk_reaching_the_limit_fails_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let (app, job_id, token) = running_job(dir.path()).await;

    // Up to one byte short of 1 MiB is fine.
    let first = append_trace(&app, job_id, &token, 0, vec![b'a'; MIB - 1])
        .await
        .unwrap();
    assert!(first.accepted);
    assert_eq!(first.len, (MIB - 1) as u64);

    // The byte that would make it 1 MiB: a plain 403 (no Job-Status), nothing written.
    match append_trace(&app, job_id, &token, (MIB - 1) as u64, b"b".to_vec()).await {
        Err(Error::JobForbidden {
            job_status: None,
            message,
        }) => assert_eq!(message, "403 Forbidden"),
        other => panic!("expected the plain 403, got {other:?}"),
    }
    let job = app.store.job_by_id(job_id).await.unwrap().unwrap();
    assert_eq!(job.status, Status::Failed);
    assert_eq!(job.failure_reason.as_deref(), Some("trace_size_exceeded"));
    assert_eq!(app.traces.len(job_id).await.unwrap(), (MIB - 1) as u64);

    // The runner's next call learns the verdict.
    match append_trace(&app, job_id, &token, (MIB - 1) as u64, b"c".to_vec()).await {
        Err(Error::JobForbidden { job_status, .. }) => {
            assert_eq!(job_status, Some(Status::Failed));
        }
        other => panic!("expected 403 with Job-Status, got {other:?}"),
    }
}

#[tokio::test]
async fn the_limit_is_checked_before_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let (app, job_id, token) = running_job(dir.path()).await;
    // A wrong offset that reaches the limit still fails the job, as in GitLab.
    assert!(matches!(
        append_trace(&app, job_id, &token, MIB as u64, b"late".to_vec()).await,
        Err(Error::JobForbidden {
            job_status: None,
            ..
        })
    ));
    let job = app.store.job_by_id(job_id).await.unwrap().unwrap();
    assert_eq!(job.failure_reason.as_deref(), Some("trace_size_exceeded"));
}
