//! The pipeline timer: enqueues delayed jobs whose time has come (ci-yaml.md §3.5) and runs
//! GitLab's server-side watchdogs (runner-protocol.md §9). Everything it acts on is read from
//! the database, so a restart loses nothing; [`tick`] takes the time as a parameter so tests
//! drive it without sleeping.

use std::future::Future;
use std::time::Duration;

use pipewright_domain::processing::enqueue_status;
use pipewright_domain::{FailureReason, Status};
use pipewright_store::model::Job;

use crate::App;
use crate::error::Result;
use crate::job_options::ProcessingOptions;
use crate::processing::{process_pipeline, state_after};

/// Thresholds of the watchdogs; the defaults are GitLab's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watchdogs {
    /// `running` without any update (log, keep-alive) for this long → `failed`
    /// (`stuck_or_timeout_failure`).
    pub running_without_update: Duration,
    /// `canceling` for this long → `canceled`.
    pub canceling_without_update: Duration,
    /// `pending` for this long → `failed` (`stuck_or_timeout_failure`).
    pub pending: Duration,
    /// `running` past its timeout plus this margin → `failed` (`job_execution_timeout`);
    /// the runner normally enforces the timeout itself.
    pub timeout_margin: Duration,
}

impl Default for Watchdogs {
    fn default() -> Self {
        Watchdogs {
            running_without_update: Duration::from_secs(3600),
            canceling_without_update: Duration::from_secs(30 * 60),
            pending: Duration::from_secs(24 * 3600),
            timeout_margin: Duration::from_secs(15 * 60),
        }
    }
}

/// How the background timer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// How often due delayed jobs are looked for.
    pub interval: Duration,
    /// How often the watchdogs run; their thresholds are tens of minutes, so a coarse
    /// period costs nothing in precision (GitLab runs its stuck-jobs worker periodically).
    /// The first run comes one period after start.
    pub watchdog_interval: Duration,
    pub watchdogs: Watchdogs,
    /// How often environments past their `auto_stop_at` are stopped
    /// ([`crate::environment_auto_stop::run`]); `auto_stop_in` is in minutes at least.
    pub auto_stop_interval: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            interval: Duration::from_secs(1),
            watchdog_interval: Duration::from_secs(60),
            watchdogs: Watchdogs::default(),
            auto_stop_interval: Duration::from_secs(60),
        }
    }
}

/// What one tick did (job ids), for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub enqueued: Vec<i64>,
    pub failed: Vec<i64>,
    pub canceled: Vec<i64>,
}

/// Jobs one tick handles per kind; the rest wait for the next tick.
const BATCH: i64 = 500;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// One pass of the timer at time `now` (UTC milliseconds): due delayed jobs, then the
/// watchdogs.
pub async fn tick(app: &App, now: i64, watchdogs: &Watchdogs) -> Result<TickReport> {
    let mut report = enqueue_due(app, now).await?;
    let dropped = run_watchdogs(app, now, watchdogs).await?;
    report.failed = dropped.failed;
    report.canceled = dropped.canceled;
    Ok(report)
}

/// Enqueues the delayed jobs due at `now`.
pub async fn enqueue_due(app: &App, now: i64) -> Result<TickReport> {
    let mut report = TickReport::default();
    for job in app.store.due_scheduled_jobs(now, BATCH).await? {
        if enqueue_scheduled(app, &job).await? {
            report.enqueued.push(job.id);
        }
    }
    Ok(report)
}

/// The watchdogs at time `now`.
pub async fn run_watchdogs(app: &App, now: i64, watchdogs: &Watchdogs) -> Result<TickReport> {
    let mut report = TickReport::default();
    let stale_running = now.saturating_sub(millis(watchdogs.running_without_update));
    for job in app
        .store
        .jobs_not_updated_since(Status::Running, stale_running, BATCH)
        .await?
    {
        if drop_job(app, &job, FailureReason::StuckOrTimeoutFailure).await? {
            report.failed.push(job.id);
        }
    }
    for job in app
        .store
        .running_jobs_past_timeout(now, millis(watchdogs.timeout_margin), BATCH)
        .await?
    {
        if drop_job(app, &job, FailureReason::JobExecutionTimeout).await? {
            report.failed.push(job.id);
        }
    }
    let stale_pending = now.saturating_sub(millis(watchdogs.pending));
    for job in app
        .store
        .jobs_not_updated_since(Status::Pending, stale_pending, BATCH)
        .await?
    {
        if drop_job(app, &job, FailureReason::StuckOrTimeoutFailure).await? {
            report.failed.push(job.id);
        }
    }
    let stale_canceling = now.saturating_sub(millis(watchdogs.canceling_without_update));
    for job in app
        .store
        .jobs_not_updated_since(Status::Canceling, stale_canceling, BATCH)
        .await?
    {
        let update = state_after(&job, Status::Canceled, pipewright_store::now_ms());
        if app
            .store
            .update_job_state(job.id, Status::Canceling, &update)
            .await?
        {
            process_pipeline(app, job.pipeline_id).await?;
            report.canceled.push(job.id);
        }
    }
    crate::downstream::recover(app, now).await?;
    Ok(report)
}

/// A due delayed job goes to `pending` (`waiting_for_resource` with a resource group).
async fn enqueue_scheduled(app: &App, job: &Job) -> Result<bool> {
    let has_group = ProcessingOptions::of(job).resource_group.is_some();
    let update = state_after(job, enqueue_status(has_group), pipewright_store::now_ms());
    if !app
        .store
        .update_job_state(job.id, Status::Scheduled, &update)
        .await?
    {
        return Ok(false);
    }
    app.store.set_job_scheduled_at(job.id, None).await?;
    process_pipeline(app, job.pipeline_id).await?;
    app.queue.tick();
    Ok(true)
}

/// The server fails a job (GitLab's `drop`): the runner learns it from its next call (403
/// with `Job-Status: failed`).
async fn drop_job(app: &App, job: &Job, reason: FailureReason) -> Result<bool> {
    crate::job_updates::drop_job(app, job, job.status, reason).await
}

fn log_outcome(outcome: Result<TickReport>) {
    match outcome {
        Ok(report) if report != TickReport::default() => {
            tracing::info!(?report, "pipeline timer");
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "pipeline timer tick failed"),
    }
}

/// Enqueues due delayed jobs every `config.interval` and runs the watchdogs every
/// `config.watchdog_interval` and the environments' auto-stop every
/// `config.auto_stop_interval`, until `shutdown` resolves. Errors are logged and the next
/// tick tries again.
pub fn spawn(
    app: App,
    config: TimerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(config.interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_watchdogs = tokio::time::Instant::now();
        let mut last_auto_stop = tokio::time::Instant::now();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => {
                    let now = pipewright_store::now_ms();
                    log_outcome(enqueue_due(&app, now).await);
                    if last_watchdogs.elapsed() >= config.watchdog_interval {
                        last_watchdogs = tokio::time::Instant::now();
                        log_outcome(run_watchdogs(&app, now, &config.watchdogs).await);
                    }
                    if last_auto_stop.elapsed() >= config.auto_stop_interval {
                        last_auto_stop = tokio::time::Instant::now();
                        crate::environment_auto_stop::log_outcome(
                            crate::environment_auto_stop::run(&app, now).await,
                        );
                    }
                }
            }
        }
    })
}
