//! Listing jobs costs a fixed number of SQL statements whatever the page size: related records
//! are batch-loaded, never fetched per job. Statements are counted from sqlx's own
//! `sqlx::query` tracing events.

#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pipewright_core::abilities::project_access;
use pipewright_core::auth::authenticate_token;
use pipewright_core::jobs::{JobFilter, list_project_jobs};
use pipewright_core::projects::{CreateProject, create_project};
use pipewright_core::users::bootstrap_root;
use pipewright_core::{App, Config, Status, When};
use pipewright_store::{NewJob, NewPipeline, Store};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Counts sqlx statement events, leaving out the `PRAGMA`s a pool runs when it opens a
/// connection (how many connections open during a call is the pool's business).
struct StatementCounter(Arc<AtomicUsize>);

/// Collects an event's field values as text.
#[derive(Default)]
struct FieldText(String);

impl tracing::field::Visit for FieldText {
    fn record_debug(&mut self, _: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{value:?} "));
    }

    fn record_str(&mut self, _: &tracing::field::Field, value: &str) {
        self.0.push_str(value);
        self.0.push(' ');
    }
}

impl<S: tracing::Subscriber> Layer<S> for StatementCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        // sqlx's events and the store's read path's (same fields, another target).
        let target = event.metadata().target();
        if target != "sqlx::query" && target != pipewright_store::QUERY_TARGET {
            return;
        }
        let mut text = FieldText::default();
        event.record(&mut text);
        if !text.0.to_ascii_uppercase().contains("PRAGMA") {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// SQLite connections run on their own threads, so the counter must be the process-wide
/// subscriber (this test binary holds a single test).
fn install_counter() -> Arc<AtomicUsize> {
    let counter = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(
        StatementCounter(counter.clone())
            .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
    );
    tracing::subscriber::set_global_default(subscriber).unwrap();
    counter
}

fn job(name: String, user_id: i64) -> NewJob {
    NewJob {
        kind: "build".into(),
        name,
        stage: "test".into(),
        stage_idx: 2,
        status: Status::Success,
        when: When::OnSuccess,
        allow_failure: false,
        needs: None,
        options: "{}".into(),
        tag_list: vec!["docker".into()],
        user_id: Some(user_id),
        timeout: None,
    }
}

/// Statements issued by one `list_project_jobs` call over a project holding `jobs` jobs in
/// `jobs` different pipelines, each by a different user.
async fn statements_for(counter: &AtomicUsize, jobs: usize) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    let app = App::new(store, Config::new(dir.path(), "http://pw.example")).unwrap();
    bootstrap_root(&app, Some("root-token")).await.unwrap();
    let actor = authenticate_token(&app, "root-token").await.unwrap();
    let view = create_project(
        &app,
        &actor,
        CreateProject {
            name: Some("n1".into()),
            path: None,
            namespace_id: None,
            description: None,
            visibility: None,
            default_branch: None,
            initialize_with_readme: false,
            public_jobs: None,
            ci_pipeline_variables_minimum_override_role: None,
        },
    )
    .await
    .unwrap();
    for i in 0..jobs {
        let user = app
            .store
            .create_user(&pipewright_store::NewUser {
                username: format!("user{i}"),
                name: format!("User {i}"),
                email: format!("user{i}@example.com"),
                password_hash: None,
                is_admin: false,
            })
            .await
            .unwrap();
        app.store
            .create_pipeline(
                &NewPipeline {
                    project_id: view.project.id,
                    ref_name: "main".into(),
                    tag: false,
                    sha: format!("{i:040}"),
                    before_sha: "0".repeat(40),
                    source: "push".into(),
                    status: Status::Success,
                    user_id: Some(user.id),
                    yaml_errors: None,
                    variables: Vec::new(),
                },
                &[job(format!("job {i}"), user.id)],
            )
            .await
            .unwrap();
    }
    let access = project_access(&app, &actor, view.project).await.unwrap();

    // Warm up first: opening a pooled connection runs statements of its own.
    list_project_jobs(&app, &access, &JobFilter::default(), 100, 0)
        .await
        .unwrap();
    counter.store(0, Ordering::SeqCst);
    let views = list_project_jobs(&app, &access, &JobFilter::default(), 100, 0)
        .await
        .unwrap();
    assert_eq!(views.len(), jobs);
    assert!(views.iter().all(|view| view.user.is_some()));
    counter.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "current_thread")]
async fn one_job_and_a_hundred_jobs_cost_the_same_statements() {
    let counter = install_counter();
    let one = statements_for(&counter, 1).await;
    let hundred = statements_for(&counter, 100).await;
    assert!(one > 0, "no statement was counted: is sqlx logging wired?");
    assert_eq!(one, hundred);
}
