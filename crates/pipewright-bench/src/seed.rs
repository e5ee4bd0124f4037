//! Builds the benchmark database before the server starts, through the store and the use
//! cases (never through HTTP): root, two projects with real git repositories, pipelines and
//! jobs, runners, running jobs with known tokens and two logs of very different sizes.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use pipewright_ciyaml::JobOptions;
use pipewright_core::projects::{CreateProject, create_project};
use pipewright_core::tokens::hash_token;
use pipewright_core::users::bootstrap_root;
use pipewright_core::{App, Config, Status, When};
use pipewright_store::{JobClaim, JobFilter, JobStateUpdate, NewJob, NewPipeline, Store};

use crate::config::Sizes;

/// Everything the scenarios need to know about the seeded data.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub root_token: String,
    /// The project with `pipelines × jobs_per_pipeline` builds (no pending ones).
    pub list_project: i64,
    pub first_pipeline: i64,
    pub last_pipeline: i64,
    pub first_job: i64,
    pub last_job: i64,
    /// A build with a `big_log_bytes` log and one with a `small_log_bytes` log.
    pub big_log_job: i64,
    pub small_log_job: i64,
    /// The project whose jobs runners take and write logs to.
    pub runner_project: i64,
    pub dispatch_jobs: Vec<i64>,
    pub runner_tokens: Vec<String>,
    /// `(job id, job token)` of running jobs.
    pub trace_jobs: Vec<(i64, String)>,
    pub seconds: f64,
}

pub const ROOT_TOKEN: &str = "glpat-pipewright-bench-root";
const JOB_TOKEN_PREFIX: &str = "glcbt-bench-";
const NULL_SHA: &str = "0000000000000000000000000000000000000000";

/// Seeds `data_dir` (which must be empty) for a server that will listen on `external_url`.
pub async fn seed(data_dir: &Path, external_url: &str, sizes: &Sizes) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    std::fs::create_dir_all(data_dir)?;
    let store = Store::open_sqlite(&data_dir.join("pipewright.db"))
        .await
        .context("opening the database")?;
    let app = App::new(store.clone(), Config::new(data_dir, external_url))?;
    bootstrap_root(&app, Some(ROOT_TOKEN))
        .await
        .map_err(|err| anyhow!("bootstrapping root: {err:?}"))?;
    let root = pipewright_core::auth::authenticate_token(&app, ROOT_TOKEN)
        .await
        .map_err(|err| anyhow!("root token: {err:?}"))?;
    let root_id = root.user().map(|user| user.id);
    // GitLab limits `GET /projects/:id/jobs` to 600 per user and minute; a load test measures
    // the server, not the limiter, so it is switched off as an admin would.
    pipewright_core::settings::update(&app, &root, Some(0))
        .await
        .map_err(|err| anyhow!("disabling the job list rate limit: {err:?}"))?;

    let list_project = new_project(&app, &root, "bench-list").await?;
    let options = serde_json::to_string(&JobOptions {
        script: vec!["echo bench".into()],
        ..JobOptions::default()
    })?;

    let (first_pipeline, last_pipeline, first_job, last_job) =
        seed_finished(&store, list_project, sizes).await?;

    let runner_project = new_project(&app, &root, "bench-runners").await?;
    let runner_template = JobTemplate {
        project_id: runner_project,
        sha: head_sha(&app, runner_project)?,
        user_id: root_id,
        options,
    };
    let trace_jobs = seed_running(&app, &runner_template, sizes.trace_jobs).await?;
    let dispatch_jobs = seed_pending(&store, &runner_template, sizes).await?;
    let mut runner_tokens = Vec::with_capacity(sizes.dispatch_runners);
    for index in 0..sizes.dispatch_runners {
        let (_, token) =
            pipewright_core::runners::create_builtin_runner(&app, &format!("bench runner {index}"))
                .await
                .map_err(|err| anyhow!("creating a runner: {err:?}"))?;
        runner_tokens.push(token);
    }

    let big_log_job = last_job;
    let small_log_job = last_job - 1;
    write_log(&app, big_log_job, sizes.big_log_bytes).await?;
    write_log(&app, small_log_job, sizes.small_log_bytes).await?;
    store.close().await;
    Ok(Seeded {
        root_token: ROOT_TOKEN.into(),
        list_project,
        first_pipeline,
        last_pipeline,
        first_job,
        last_job,
        big_log_job,
        small_log_job,
        runner_project,
        dispatch_jobs,
        runner_tokens,
        trace_jobs,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn new_project(app: &App, root: &pipewright_core::Actor, name: &str) -> anyhow::Result<i64> {
    let view = create_project(
        app,
        root,
        CreateProject {
            name: Some(name.into()),
            path: None,
            namespace_id: None,
            description: None,
            visibility: Some("private".into()),
            default_branch: None,
            initialize_with_readme: true,
            public_jobs: None,
            ci_pipeline_variables_minimum_override_role: None,
        },
    )
    .await
    .map_err(|err| anyhow!("creating project {name}: {err:?}"))?;
    Ok(view.project.id)
}

/// The commit every seeded pipeline points at, so job entities carry a real `commit`.
fn head_sha(app: &App, project_id: i64) -> anyhow::Result<String> {
    app.repository(project_id)
        .resolve("main")?
        .ok_or_else(|| anyhow!("project {project_id} has no main branch"))
}

struct JobTemplate {
    project_id: i64,
    sha: String,
    user_id: Option<i64>,
    options: String,
}

impl JobTemplate {
    fn pipeline(&self, status: Status) -> NewPipeline {
        NewPipeline {
            project_id: self.project_id,
            ref_name: "main".into(),
            tag: false,
            sha: self.sha.clone(),
            before_sha: NULL_SHA.into(),
            source: "push".into(),
            status,
            user_id: self.user_id,
            yaml_errors: None,
            variables: Vec::new(),
        }
    }

    fn job(&self, index: usize, status: Status) -> NewJob {
        let stage_idx = i32::try_from(index / 5).unwrap_or(0);
        NewJob {
            kind: "build".into(),
            name: format!("job {index}"),
            stage: format!("stage-{stage_idx}"),
            stage_idx,
            status,
            when: When::OnSuccess,
            allow_failure: false,
            needs: None,
            options: self.options.clone(),
            tag_list: Vec::new(),
            user_id: self.user_id,
            timeout: None,
        }
    }
}

/// The listed project, through the store's bulk seeding (statuses cycle through every
/// status; 10% failed). Its pending jobs are turned into `created` ones so that the dispatch
/// race sees only its own pending jobs. Returns (first pipeline, last pipeline, first job,
/// last job); job ids are contiguous.
async fn seed_finished(
    store: &Store,
    project_id: i64,
    sizes: &Sizes,
) -> anyhow::Result<(i64, i64, i64, i64)> {
    let pipelines = u32::try_from(sizes.pipelines)?;
    let per_pipeline = u32::try_from(sizes.jobs_per_pipeline)?;
    let seeded = store.seed_jobs(project_id, pipelines, per_pipeline).await?;
    let (Some(&first_pipeline), Some(&last_pipeline)) =
        (seeded.pipeline_ids.first(), seeded.pipeline_ids.last())
    else {
        bail!("no pipelines seeded");
    };
    let newest = store
        .list_project_jobs(project_id, &JobFilter::default(), 1, 0)
        .await?;
    let last_job = newest.first().map(|job| job.id).context("no jobs seeded")?;
    let first_job = last_job - i64::try_from(seeded.jobs)? + 1;
    let contiguous = store
        .job_by_id(first_job)
        .await?
        .is_some_and(|job| job.project_id == project_id)
        && store.job_by_id(first_job - 1).await?.is_none();
    if !contiguous {
        bail!("seeded job ids are not contiguous");
    }
    park_pending(store, project_id).await?;
    Ok((first_pipeline, last_pipeline, first_job, last_job))
}

/// Pending → created for every pending build of the project.
async fn park_pending(store: &Store, project_id: i64) -> anyhow::Result<()> {
    let mut filter = JobFilter {
        statuses: vec![Status::Pending],
        ..JobFilter::default()
    };
    loop {
        let page = store
            .list_project_jobs(project_id, &filter, 1000, 0)
            .await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        filter.before_id = Some(last.id);
        for job in &page {
            let mut update = JobStateUpdate::of(job);
            update.status = Status::Created;
            update.queued_at = None;
            store
                .update_job_state(job.id, Status::Pending, &update)
                .await?;
        }
    }
}

/// Pending jobs for the dispatch race, oldest first.
async fn seed_pending(
    store: &Store,
    template: &JobTemplate,
    sizes: &Sizes,
) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(sizes.dispatch_jobs);
    let per_pipeline = sizes.jobs_per_pipeline.max(1);
    while ids.len() < sizes.dispatch_jobs {
        let count = per_pipeline.min(sizes.dispatch_jobs - ids.len());
        // Every job in stage 0, so each one is runnable as soon as it is seeded.
        let jobs: Vec<NewJob> = (0..count)
            .map(|index| NewJob {
                stage: "test".into(),
                stage_idx: 0,
                ..template.job(index, Status::Pending)
            })
            .collect();
        let (_, created) = store
            .create_pipeline(&template.pipeline(Status::Pending), &jobs)
            .await?;
        ids.extend(created.iter().map(|job| job.id));
    }
    Ok(ids)
}

/// Running jobs with known tokens, claimed through the store exactly as a runner's request
/// would claim them.
async fn seed_running(
    app: &App,
    template: &JobTemplate,
    count: usize,
) -> anyhow::Result<Vec<(i64, String)>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let (runner, _) = pipewright_core::runners::create_builtin_runner(app, "bench log writer")
        .await
        .map_err(|err| anyhow!("creating the log runner: {err:?}"))?;
    let jobs: Vec<NewJob> = (0..count)
        .map(|index| NewJob {
            stage: "test".into(),
            stage_idx: 0,
            ..template.job(index, Status::Pending)
        })
        .collect();
    let (_, created) = app
        .store
        .create_pipeline(&template.pipeline(Status::Running), &jobs)
        .await?;
    let mut running = Vec::with_capacity(count);
    for job in created {
        let token = format!("{JOB_TOKEN_PREFIX}{:012}", job.id);
        let claimed = app
            .store
            .claim_job(
                job.id,
                &JobClaim {
                    runner_id: runner.id,
                    token_hash: &hash_token(&token),
                    cancel_gracefully: false,
                    timeout: 3600,
                    started_at: pipewright_store::now_ms(),
                },
            )
            .await?;
        if !claimed {
            bail!("could not claim seeded job {}", job.id);
        }
        running.push((job.id, token));
    }
    Ok(running)
}

/// One line of a seeded log; deterministic so a reader could check any slice of it.
pub fn log_line(number: usize) -> String {
    format!("{number:>9} \u{1b}[32mok\u{1b}[0m step output, nothing to see here, keep scrolling\n")
}

async fn write_log(app: &App, job_id: i64, bytes: usize) -> anyhow::Result<()> {
    const CHUNK: usize = 1024 * 1024;
    let mut written = 0usize;
    let mut line = 0usize;
    let mut chunk = Vec::with_capacity(CHUNK + 128);
    while written < bytes {
        chunk.clear();
        while chunk.len() < CHUNK.min(bytes - written) {
            line += 1;
            chunk.extend_from_slice(log_line(line).as_bytes());
        }
        chunk.truncate(bytes - written);
        let outcome = app.traces.append(job_id, written as u64, &chunk).await?;
        if !matches!(outcome, pipewright_core::traces::Append::Appended { .. }) {
            bail!("log of job {job_id} did not grow as written");
        }
        written += chunk.len();
    }
    Ok(())
}
