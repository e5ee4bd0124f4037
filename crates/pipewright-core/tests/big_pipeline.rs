//! A pipeline of hundreds of jobs run to completion through the runner protocol use cases
//! (`request_job`, `update_job`): the SQL work per hand-out and per job update must not grow
//! with the pipeline's size (issue #6: processing re-read every job on every update, so a
//! pipeline of n jobs cost O(n²) rows). Statements and rows are counted from sqlx's own
//! `sqlx::query` events (and the store's read path's), never timed.

#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pipewright_core::auth::authenticate_token;
use pipewright_core::job_updates::{UpdateOutcome, update_job};
use pipewright_core::processing::process_pipeline;
use pipewright_core::projects::{CreateProject, create_project};
use pipewright_core::runners::{JobRequestOutcome, create_builtin_runner, request_job};
use pipewright_core::users::bootstrap_root;
use pipewright_core::{App, Config, Status, When};
use pipewright_protocol::{JobRequest, JobState, UpdateJobRequest};
use pipewright_store::{NewJob, NewPipeline, Store};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Statements and the rows they returned, from sqlx's query events (the `PRAGMA`s a pool runs
/// on a new connection left out).
#[derive(Default)]
struct Counts {
    statements: AtomicU64,
    rows: AtomicU64,
}

impl Counts {
    fn take(&self) -> (u64, u64) {
        (
            self.statements.swap(0, Ordering::SeqCst),
            self.rows.swap(0, Ordering::SeqCst),
        )
    }
}

struct Counter(Arc<Counts>);

#[derive(Default)]
struct Fields {
    text: String,
    rows: u64,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, _: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.text.push_str(&format!("{value:?} "));
    }

    fn record_str(&mut self, _: &tracing::field::Field, value: &str) {
        self.text.push_str(value);
        self.text.push(' ');
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "rows_returned" {
            self.rows = value;
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Counter {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        // sqlx's statements, and the store's own read path (which reports no row counts).
        if !matches!(
            event.metadata().target(),
            "sqlx::query" | "pipewright_store::query"
        ) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if !fields.text.to_ascii_uppercase().contains("PRAGMA") {
            // BIG_PIPELINE_SQL=1 prints every statement (to see where a count comes from).
            if std::env::var_os("BIG_PIPELINE_SQL").is_some() {
                eprintln!(
                    "SQL {} rows: {}",
                    fields.rows,
                    fields.text.replace('\n', " ")
                );
            }
            self.0.statements.fetch_add(1, Ordering::SeqCst);
            self.0.rows.fetch_add(fields.rows, Ordering::SeqCst);
        }
    }
}

/// SQLite connections run on their own threads: the counter is the process-wide subscriber.
fn install_counter() -> Arc<Counts> {
    let counts = Arc::new(Counts::default());
    let subscriber = tracing_subscriber::registry()
        .with(Counter(counts.clone()).with_filter(tracing_subscriber::filter::LevelFilter::TRACE));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    counts
}

const OPTIONS: &str = r#"{"before_script":[],"script":["true"],"after_script":[],"image":null,"services":[],"tags":[],"timeout":null,"variables":[]}"#;

/// What running one pipeline cost.
#[derive(Debug)]
struct Cost {
    jobs: u64,
    request_statements: u64,
    request_rows: u64,
    update_statements: u64,
    update_rows: u64,
}

impl Cost {
    fn per_job(&self) -> (f64, f64, f64, f64) {
        let jobs = self.jobs as f64;
        (
            self.request_statements as f64 / jobs,
            self.request_rows as f64 / jobs,
            self.update_statements as f64 / jobs,
            self.update_rows as f64 / jobs,
        )
    }
}

/// Runs a pipeline of `stages × per_stage` jobs (stage jobs; with `dag`, every job of a
/// later stage also needs its namesake of the stage before) to the end with one runner.
async fn run_pipeline(counts: &Counts, stages: usize, per_stage: usize, dag: bool) -> Cost {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    let app = App::new(store, Config::new(dir.path(), "http://pw.example")).unwrap();
    bootstrap_root(&app, Some("root-token")).await.unwrap();
    let actor = authenticate_token(&app, "root-token").await.unwrap();
    let project = create_project(
        &app,
        &actor,
        CreateProject {
            name: Some("big".into()),
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
    let (_, runner_token) = create_builtin_runner(&app, "big runner").await.unwrap();
    let jobs: Vec<NewJob> = (0..stages)
        .flat_map(|stage| {
            (0..per_stage).map(move |index| NewJob {
                kind: "build".into(),
                name: format!("s{stage} job {index}"),
                stage: format!("stage{stage}"),
                stage_idx: i32::try_from(stage).unwrap(),
                status: Status::Created,
                when: When::OnSuccess,
                allow_failure: false,
                needs: (dag && stage > 0).then(|| vec![format!("s{} job {index}", stage - 1)]),
                options: OPTIONS.into(),
                tag_list: Vec::new(),
                user_id: Some(1),
                timeout: None,
            })
        })
        .collect();
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
            &jobs,
        )
        .await
        .unwrap();
    process_pipeline(&app, pipeline.id).await.unwrap();
    let ask = JobRequest {
        token: runner_token,
        ..JobRequest::default()
    };
    let mut cost = Cost {
        jobs: 0,
        request_statements: 0,
        request_rows: 0,
        update_statements: 0,
        update_rows: 0,
    };
    counts.take();
    loop {
        let outcome = request_job(&app, &ask, None).await.unwrap();
        let (statements, rows) = counts.take();
        let JobRequestOutcome::Job(payload) = outcome else {
            break;
        };
        cost.request_statements += statements;
        cost.request_rows += rows;
        let update = UpdateJobRequest {
            token: Some(payload.token.clone()),
            state: JobState::Success,
            exit_code: Some(0),
            ..UpdateJobRequest::default()
        };
        let done = update_job(&app, payload.id, &payload.token, &update)
            .await
            .unwrap();
        assert_eq!(done, UpdateOutcome::Done(Status::Success));
        let (statements, rows) = counts.take();
        cost.update_statements += statements;
        cost.update_rows += rows;
        cost.jobs += 1;
    }
    assert_eq!(cost.jobs, (stages * per_stage) as u64, "every job ran");
    let finished = app
        .store
        .pipeline_by_id(pipeline.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.status, Status::Success);
    pipewright_core::downstream::DownstreamQueue::drain(&app).await;
    cost
}

#[tokio::test(flavor = "current_thread")]
async fn running_a_big_pipeline_costs_the_same_per_job_as_a_small_one() {
    let counts = install_counter();
    for dag in [false, true] {
        let small = run_pipeline(&counts, 5, 10, dag).await;
        let big = run_pipeline(&counts, 5, 100, dag).await;
        let (small_req, small_req_rows, small_upd, small_upd_rows) = small.per_job();
        let (big_req, big_req_rows, big_upd, big_upd_rows) = big.per_job();
        eprintln!(
            "dag={dag}: per job, 50 jobs: request {small_req:.1} statements / {small_req_rows:.1} rows, \
             update {small_upd:.1} / {small_upd_rows:.1}; 500 jobs: request {big_req:.1} / \
             {big_req_rows:.1}, update {big_upd:.1} / {big_upd_rows:.1}"
        );
        // Statements per job stay flat, and so do the rows an update reads (processing used
        // to read every job of the pipeline, twice, on every update).
        assert!(
            big_req <= small_req + 1.0,
            "request statements grow: {big:?}"
        );
        assert!(
            big_upd <= small_upd + 1.0,
            "update statements grow: {big:?}"
        );
        assert!(
            big_upd_rows <= 2.0 * small_upd_rows + 5.0,
            "update rows grow with the pipeline: {small:?} vs {big:?}"
        );
        // A stage job's payload lists every build of the earlier stages as a dependency
        // (GitLab's default without `dependencies:`), so its hand-out reads grow with them;
        // a DAG job's only with its needs.
        if dag {
            assert!(
                // The scan's first page (64) is the one part that grows with the queue.
                big_req_rows <= small_req_rows + 64.0 + 10.0,
                "hand-out rows grow with the pipeline: {small:?} vs {big:?}"
            );
        }
    }
}
