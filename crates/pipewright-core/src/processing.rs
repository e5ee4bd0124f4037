//! `process_pipeline`: after any job change, move the pipeline's `created` jobs forward and
//! recompute the pipeline status (GitLab's atomic processing, ci-yaml.md §5–§6).

use pipewright_domain::pipeline_timing::{JobPeriod, PipelineTimestamps, pipeline_duration_ms};
use pipewright_domain::processing::{ProcessingJob, process_with};
use pipewright_domain::{CompositeItem, Status, Timestamps, apply_pipeline_status, composite};
use pipewright_store::JobStateUpdate;
use pipewright_store::model::Job;
use tokio::sync::{Mutex, MutexGuard};

use crate::App;
use crate::error::Result;
use crate::job_options::{ProcessingOptions, has_resource_group};

const LOCK_STRIPES: usize = 64;

/// Serialises processing per pipeline (striped: bounded memory, rare false sharing).
pub(crate) struct PipelineLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for PipelineLocks {
    fn default() -> Self {
        PipelineLocks {
            stripes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl PipelineLocks {
    pub(crate) async fn lock(&self, pipeline_id: i64) -> MutexGuard<'_, ()> {
        let stripe = usize::try_from(pipeline_id.rem_euclid(LOCK_STRIPES as i64)).unwrap_or(0);
        self.stripes[stripe].lock().await
    }
}

/// The domain's view of a stored job.
pub(crate) fn processing_job(job: &Job) -> ProcessingJob {
    ProcessingJob {
        id: job.id,
        name: job.name.clone(),
        stage_idx: job.stage_idx,
        status: job.status,
        when: job.when,
        allow_failure: job.allow_failure,
        needs: job.needs.clone(),
        has_resource_group: has_resource_group(job),
    }
}

/// A full new state for `job` moving to `to` at `now`, with GitLab's timestamp rules.
pub(crate) fn state_after(job: &Job, to: Status, now: i64) -> JobStateUpdate {
    let timestamps = Timestamps {
        queued_at: job.queued_at,
        started_at: job.started_at,
        finished_at: job.finished_at,
    }
    .after_transition(job.status, to, now);
    let mut update = JobStateUpdate::of(job);
    update.status = to;
    update.queued_at = timestamps.queued_at;
    update.started_at = timestamps.started_at;
    update.finished_at = timestamps.finished_at;
    update
}

/// Advances a pipeline's jobs and its status. Safe to call any number of times.
pub async fn process_pipeline(app: &App, pipeline_id: i64) -> Result<()> {
    process_pipeline_with(app, pipeline_id, &[]).await
}

/// Like [`process_pipeline`], with jobs that skip their `manual`/`delayed` parking (a manual
/// job retried through the API is enqueued at once).
pub async fn process_pipeline_with(app: &App, pipeline_id: i64, enqueue_now: &[i64]) -> Result<()> {
    let resource_project = process_locked(app, pipeline_id, enqueue_now).await?;
    crate::deployments::sync_pipeline(app, pipeline_id).await?;
    // Outside the pipeline lock: assigning a free resource processes other pipelines.
    if let Some(project_id) = resource_project {
        crate::resource_groups::assign(app, project_id).await?;
    }
    // Pending bridges trigger, and a finished downstream pipeline reaches its bridge, in the
    // background (crate::downstream).
    app.downstream.push(app, pipeline_id);
    Ok(())
}

/// One processing of one pipeline under its lock; returns the project when the pipeline
/// has resource-group jobs (whose finishing may free a resource for another job).
pub(crate) async fn process_locked(
    app: &App,
    pipeline_id: i64,
    enqueue_now: &[i64],
) -> Result<Option<i64>> {
    let _guard = app.pipeline_locks.lock(pipeline_id).await;
    let Some(pipeline) = app.store.pipeline_by_id(pipeline_id).await? else {
        return Ok(None);
    };
    let mut enqueued = false;
    // Each pass cascades through every stage; the loop only guards against lost CAS races.
    let mut jobs = app.store.pipeline_jobs(pipeline_id, false).await?;
    for _ in 0..4 {
        let candidates: Vec<ProcessingJob> = jobs.iter().map(processing_job).collect();
        let transitions = process_with(&candidates, enqueue_now);
        if transitions.is_empty() {
            break;
        }
        let now = pipewright_store::now_ms();
        for transition in transitions {
            let Some(job) = jobs.iter().find(|job| job.id == transition.id) else {
                continue;
            };
            let update = state_after(job, transition.to, now);
            if !app
                .store
                .update_job_state(job.id, transition.from, &update)
                .await?
            {
                continue;
            }
            match transition.to {
                Status::Pending => enqueued = true,
                Status::Scheduled => {
                    // `start_in` counts from when the job is reached (ci-yaml.md §3.5).
                    let delay = ProcessingOptions::of(job).start_in_seconds.unwrap_or(0);
                    let delay_ms = i64::try_from(delay.saturating_mul(1000)).unwrap_or(i64::MAX);
                    app.store
                        .set_job_scheduled_at(job.id, Some(now.saturating_add(delay_ms)))
                        .await?;
                }
                _ => {}
            }
        }
        jobs = app.store.pipeline_jobs(pipeline_id, false).await?;
    }

    let items: Vec<CompositeItem> = jobs
        .iter()
        .map(|job| CompositeItem::new(job.status, job.allow_failure))
        .collect();
    let status = apply_pipeline_status(pipeline.status, composite(&items));
    if status != pipeline.status {
        let now = pipewright_store::now_ms();
        let timestamps = PipelineTimestamps {
            started_at: pipeline.started_at,
            finished_at: pipeline.finished_at,
        }
        .after_transition(pipeline.status, status, now);
        let duration = status.is_completed().then(|| {
            let periods: Vec<JobPeriod> = jobs
                .iter()
                .map(|job| JobPeriod {
                    status: job.status,
                    started_at: job.started_at,
                    finished_at: job.finished_at,
                })
                .collect();
            pipeline_duration_ms(&periods, now) / 1000
        });
        app.store
            .update_pipeline_status(
                pipeline.id,
                pipeline.status,
                status,
                timestamps.started_at,
                timestamps.finished_at,
                duration.or(pipeline.duration),
            )
            .await?;
    }
    if enqueued {
        app.queue.tick();
    }
    let has_resource_groups = jobs.iter().any(has_resource_group);
    Ok(has_resource_groups.then_some(pipeline.project_id))
}
