//! `auto_stop_in` (ci-yaml.md §3.19): GitLab's `Environments::AutoStopCronWorker` and
//! `AutoStopWorker`. An available environment whose `auto_stop_at` has passed plays the
//! `on_stop` job of its last successful deployment (and is `stopping` until that job
//! succeeds), or is `stopped` at once when it has none. The time comes from the database, so
//! a restart loses nothing; [`run`] takes `now` so tests drive it without sleeping.

use pipewright_store::model::Job;

use crate::App;
use crate::abilities::{DEVELOPER, ProjectAccess, project_access};
use crate::auth::Actor;
use crate::environments::{Environment, stop_action};
use crate::error::{Error, Result};

/// Environments one pass handles; the rest wait for the next pass (GitLab: 1000 per run).
const BATCH: i64 = 500;

/// What one pass did (environment ids), for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoStopReport {
    /// Their stop job was played; they stop when it succeeds.
    pub stopping: Vec<i64>,
    /// No stop job: stopped at once.
    pub stopped: Vec<i64>,
    /// The stop job could not be played (its user lost access, the ref is protected, ...);
    /// they stay `stopping`, as in GitLab, until a forced stop or a new deployment.
    pub unplayable: Vec<i64>,
}

/// One auto-stop pass at time `now` (UTC milliseconds).
pub async fn run(app: &App, now: i64) -> Result<AutoStopReport> {
    let mut report = AutoStopReport::default();
    for environment in app.store.environments_to_auto_stop(now, BATCH).await? {
        stop(app, &environment, &mut report).await?;
    }
    Ok(report)
}

/// `POST /projects/:id/environments/stop_stale` (GitLab's `Environments::StopStaleService`):
/// the project's available environments neither updated nor deployed since `before` are
/// stopped as by auto-stop. Developers and up; `before` must lie between ten years and a
/// week ago.
pub async fn stop_stale(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    before: i64,
) -> Result<AutoStopReport> {
    actor.require_write_scope()?;
    if !(access.admin || access.level >= DEVELOPER) {
        return Err(Error::forbidden());
    }
    const WEEK: i64 = 7 * 24 * 3600 * 1000;
    const TEN_YEARS: i64 = 3653 * 24 * 3600 * 1000;
    let now = pipewright_store::now_ms();
    if before < now - TEN_YEARS || before > now - WEEK {
        return Err(Error::BadRequest("Invalid Date".to_owned()));
    }
    let mut report = AutoStopReport::default();
    loop {
        let stale = app
            .store
            .stale_environments(access.project.id, before, BATCH)
            .await?;
        let done = i64::try_from(stale.len()).unwrap_or(BATCH) < BATCH;
        for environment in stale {
            stop(app, &environment, &mut report).await?;
        }
        if done {
            return Ok(report);
        }
    }
}

/// GitLab's `AutoStopWorker` on one environment.
async fn stop(app: &App, environment: &Environment, report: &mut AutoStopReport) -> Result<()> {
    match stop_action(app, environment).await? {
        Some(job) => {
            // Claimed first (GitLab's `stop!` before the actions), so two passes never
            // play the same job twice; moving on also clears `auto_stop_at`.
            if !claim(app, environment, "stopping").await? {
                return Ok(());
            }
            match play_as_its_user(app, &job).await {
                Ok(()) => report.stopping.push(environment.id),
                Err(err) => {
                    tracing::warn!(
                        environment = environment.id,
                        job = job.id,
                        error = %err,
                        "auto-stop could not play the stop job"
                    );
                    report.unplayable.push(environment.id);
                }
            }
        }
        None => {
            if claim(app, environment, "stopped").await? {
                report.stopped.push(environment.id);
            }
        }
    }
    Ok(())
}

async fn claim(app: &App, environment: &Environment, state: &str) -> Result<bool> {
    Ok(app
        .store
        .set_environment_state(environment.id, &["available"], state)
        .await?)
}

/// GitLab plays the stop job as its own user (`job.play(job.user)`), with that user's
/// permissions.
async fn play_as_its_user(app: &App, job: &Job) -> Result<()> {
    let user = match job.user_id {
        Some(id) => app.store.user_by_id(id).await?,
        None => None,
    }
    .ok_or_else(Error::forbidden)?;
    let project = app
        .store
        .project_by_id(job.project_id)
        .await?
        .ok_or_else(Error::record_not_found)?;
    let actor = Actor::User {
        user,
        scopes: vec!["api".to_owned()],
    };
    let access = project_access(app, &actor, project).await?;
    crate::job_actions::play(app, &actor, &access, job.id, Vec::new()).await?;
    Ok(())
}

/// Logs what a timer pass did, or why it failed (the next pass tries again).
pub fn log_outcome(outcome: Result<AutoStopReport>) {
    match outcome {
        Ok(report) if report != AutoStopReport::default() => {
            tracing::info!(?report, "environment auto-stop");
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "environment auto-stop pass failed"),
    }
}
