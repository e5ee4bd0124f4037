//! `process_pipeline`: after any job change, move the pipeline's `created` jobs forward and
//! recompute the pipeline status (GitLab's atomic processing, ci-yaml.md §5–§6).

use std::collections::HashSet;

use pipewright_domain::pipeline_timing::{JobPeriod, PipelineTimestamps, pipeline_duration_ms};
use pipewright_domain::processing::{ProcessingJob, Transition, decide, process_with};
use pipewright_domain::{
    CompositeItem, Status, Timestamps, apply_pipeline_status, composite, dag_composite,
};
use pipewright_store::model::{Job, Pipeline};
use pipewright_store::{CreatedTransition, JobStateUpdate, ProcessingRow, StatusGroup};
use tokio::sync::{Mutex, MutexGuard};

use crate::App;
use crate::error::Result;
use crate::job_options::{ProcessingOptions, has_resource_group};
use crate::queue::Enqueued;

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
    process_and_follow(app, pipeline_id, enqueue_now, None).await
}

/// [`process_pipeline`] after the job named `name` succeeded, and nothing else changed
/// with it: a DAG job can only have been unblocked by it if it needs that name, which one
/// probe tells without reading the pipeline (every other status change runs its own
/// processing, so no other job can be waiting for a pass).
pub(crate) async fn process_pipeline_after_success(
    app: &App,
    pipeline_id: i64,
    name: &str,
) -> Result<()> {
    process_and_follow(app, pipeline_id, &[], Some(name)).await
}

async fn process_and_follow(
    app: &App,
    pipeline_id: i64,
    enqueue_now: &[i64],
    succeeded: Option<&str>,
) -> Result<()> {
    let processed = process_pass(app, pipeline_id, enqueue_now, succeeded).await?;
    let resource_project = processed.resource_project;
    crate::deployments::sync_pipeline(app, pipeline_id).await?;
    // Outside the pipeline lock: assigning a free resource processes other pipelines.
    if let Some(project_id) = resource_project {
        crate::resource_groups::assign(app, project_id).await?;
    }
    // Pending bridges trigger, and a finished downstream pipeline reaches its bridge, in the
    // background (crate::downstream): only pipelines with bridges or an upstream bridge have
    // anything to do there.
    if processed.downstream_work {
        app.downstream.push(app, pipeline_id);
    }
    Ok(())
}

/// One processing of one pipeline under its lock; returns the project when the pipeline
/// has resource-group jobs (whose finishing may free a resource for another job).
///
/// Sized for big pipelines, since it runs after every job update: a grouped summary of the
/// latest jobs (a few rows) shows whether a pass could move any job; most updates (a job
/// finishing beside running siblings) stop there and only recompute the pipeline status from
/// it. A pass reads the decision columns once, writes its transitions in one transaction and
/// applies them in memory; it reads again only when another writer won a compare-and-set.
pub(crate) async fn process_locked(
    app: &App,
    pipeline_id: i64,
    enqueue_now: &[i64],
) -> Result<Option<i64>> {
    Ok(process_pass(app, pipeline_id, enqueue_now, None)
        .await?
        .resource_project)
}

/// What a processing found out beyond the statuses it wrote.
#[derive(Default)]
struct Processed {
    /// The project, when the pipeline may have resource-group jobs.
    resource_project: Option<i64>,
    /// The pipeline has bridges, or is a downstream pipeline (whose bridge may follow it).
    downstream_work: bool,
}

/// [`process_locked`], also telling whether the downstream worker has work; `succeeded`
/// names the one job whose success is the only change since the last processing.
async fn process_pass(
    app: &App,
    pipeline_id: i64,
    enqueue_now: &[i64],
    succeeded: Option<&str>,
) -> Result<Processed> {
    let _guard = app.pipeline_locks.lock(pipeline_id).await;
    let Some(pipeline) = app.store.pipeline_by_id(pipeline_id).await? else {
        return Ok(Processed::default());
    };
    let summary = app.store.pipeline_status_summary(pipeline_id).await?;
    let mut woken = Woken::default();
    let advance = if enqueue_now.is_empty() {
        may_advance(&summary)
    } else {
        Advance::Yes
    };
    // The latest jobs' statuses once the pass is done: every job when a full pass ran,
    // else the summary with the moved jobs.
    let mut rows = None;
    let mut items: Vec<CompositeItem> = summary
        .iter()
        .map(|group| CompositeItem::new(group.status, group.allow_failure))
        .collect();
    let targeted = match (&advance, succeeded) {
        (Advance::IfDagJobsWait, Some(name)) => {
            dependents_pass(app, &pipeline, &summary, name, &mut woken).await?
        }
        _ => None,
    };
    match (advance, targeted) {
        (_, Some(after)) => items = after,
        (Advance::No, None) => {}
        (Advance::Yes | Advance::IfDagJobsWait, None) => {
            let jobs = full_pass(app, &pipeline, enqueue_now, &mut woken).await?;
            items = jobs
                .iter()
                .map(|job| CompositeItem::new(job.status, job.allow_failure))
                .collect();
            rows = Some(jobs);
        }
    }

    let status = apply_pipeline_status(pipeline.status, composite(&items));
    if status != pipeline.status {
        let now = pipewright_store::now_ms();
        let timestamps = PipelineTimestamps {
            started_at: pipeline.started_at,
            finished_at: pipeline.finished_at,
        }
        .after_transition(pipeline.status, status, now);
        let duration = if status.is_completed() {
            let jobs = match rows.take() {
                Some(jobs) => jobs,
                None => app.store.processing_rows(pipeline_id).await?,
            };
            let periods: Vec<JobPeriod> = jobs
                .iter()
                .map(|job| JobPeriod {
                    status: job.status,
                    started_at: job.started_at,
                    finished_at: job.finished_at,
                })
                .collect();
            Some(pipeline_duration_ms(&periods, now) / 1000)
        } else {
            None
        };
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
    // Wakes only the long-polling runners that may take one of the new jobs.
    if woken.unknown {
        app.queue.tick();
    } else {
        app.queue.tick_for(&woken.jobs);
    }
    Ok(Processed {
        resource_project: summary
            .iter()
            .any(|group| group.may_have_resource_group)
            .then_some(pipeline.project_id),
        downstream_work: summary.iter().any(|group| group.bridge)
            || matches!(pipeline.source.as_str(), "pipeline" | "parent_pipeline"),
    })
}

/// Builds that became pending, for the runners' wake-up.
#[derive(Default)]
struct Woken {
    jobs: Vec<Enqueued>,
    /// Some job's tags could not be read: wake every runner.
    unknown: bool,
}

/// A full pass: reads the decision columns of every latest job once, decides (to the
/// fixpoint), writes the transitions in one transaction and applies them in memory; reads
/// again only when another writer won a compare-and-set. Returns the jobs as they now are.
async fn full_pass(
    app: &App,
    pipeline: &Pipeline,
    enqueue_now: &[i64],
    woken: &mut Woken,
) -> Result<Vec<ProcessingRow>> {
    let mut jobs = app.store.processing_rows(pipeline.id).await?;
    // Each pass cascades through every stage; the loop only guards against lost races.
    for _ in 0..4 {
        let candidates: Vec<ProcessingJob> = jobs.iter().map(processing_row_job).collect();
        let transitions = process_with(&candidates, enqueue_now);
        if transitions.is_empty() {
            break;
        }
        if apply(app, pipeline, &mut jobs, &transitions, woken).await? {
            // Applied in memory: the pass already ran to its fixpoint.
            break;
        }
        jobs = app.store.processing_rows(pipeline.id).await?;
    }
    Ok(jobs)
}

/// After the job `name` succeeded while only DAG jobs wait: decides just the `created` jobs
/// that need it, from the statuses of their needs (the rule of the domain's pass for DAG
/// jobs). Returns the composite items of the latest jobs afterwards, or `None` when a full
/// pass must run instead: a job skipped, or an optional manual job, can unblock further jobs.
async fn dependents_pass(
    app: &App,
    pipeline: &Pipeline,
    summary: &[StatusGroup],
    name: &str,
    woken: &mut Woken,
) -> Result<Option<Vec<CompositeItem>>> {
    let mut dependents = app.store.created_dependents(pipeline.id, name).await?;
    let mut transitions = Vec::new();
    if !dependents.is_empty() {
        let mut names: Vec<String> = dependents
            .iter()
            .flat_map(|job| job.needs.iter().flatten().cloned())
            .collect();
        names.sort();
        names.dedup();
        let needed = app.store.processing_rows_named(pipeline.id, &names).await?;
        for job in &dependents {
            let items: Vec<CompositeItem> = needed
                .iter()
                .filter(|need| job.needs.iter().flatten().any(|name| *name == need.name))
                .map(|need| CompositeItem::new(need.status, need.allow_failure))
                .collect();
            let previous = dag_composite(&items).unwrap_or(Status::Success);
            if !previous.is_completed() {
                continue;
            }
            let candidate = processing_row_job(job);
            let to = decide(&candidate, previous, false);
            let optional_manual = to == Status::Manual && job.allow_failure;
            if to == Status::Skipped || optional_manual {
                return Ok(None);
            }
            transitions.push(Transition {
                id: job.id,
                from: Status::Created,
                to,
            });
        }
    }
    if !apply(app, pipeline, &mut dependents, &transitions, woken).await? {
        return Ok(None);
    }
    // The summary's sets, with the moved jobs out of `created`.
    let mut groups: Vec<(Status, bool, i64)> = summary
        .iter()
        .map(|group| (group.status, group.allow_failure, group.count))
        .collect();
    for job in dependents
        .iter()
        .filter(|job| job.status != Status::Created)
    {
        if let Some(group) = groups.iter_mut().find(|(status, allow_failure, count)| {
            *status == Status::Created && *allow_failure == job.allow_failure && *count > 0
        }) {
            group.2 -= 1;
        }
        groups.push((job.status, job.allow_failure, 1));
    }
    Ok(Some(
        groups
            .into_iter()
            .filter(|(_, _, count)| *count > 0)
            .map(|(status, allow_failure, _)| CompositeItem::new(status, allow_failure))
            .collect(),
    ))
}

/// Writes `transitions` (each from `created`) in one transaction and applies the ones that
/// moved to `jobs`; false when another writer changed one of the jobs first.
async fn apply(
    app: &App,
    pipeline: &Pipeline,
    jobs: &mut [ProcessingRow],
    transitions: &[Transition],
    woken: &mut Woken,
) -> Result<bool> {
    if transitions.is_empty() {
        return Ok(true);
    }
    let now = pipewright_store::now_ms();
    let planned: Vec<CreatedTransition> = transitions
        .iter()
        .filter(|transition| transition.from == Status::Created)
        .map(|transition| CreatedTransition {
            id: transition.id,
            to: transition.to,
            scheduled_at: (transition.to == Status::Scheduled).then(|| {
                // `start_in` counts from when the job is reached (ci-yaml.md §3.5).
                let delay = jobs
                    .iter()
                    .find(|job| job.id == transition.id)
                    .and_then(|job| row_options(job).start_in_seconds)
                    .unwrap_or(0);
                let delay_ms = i64::try_from(delay.saturating_mul(1000)).unwrap_or(i64::MAX);
                now.saturating_add(delay_ms)
            }),
        })
        .collect();
    let moved: HashSet<i64> = app
        .store
        .apply_created_transitions(&planned, now)
        .await?
        .into_iter()
        .collect();
    for transition in &planned {
        if !moved.contains(&transition.id) {
            continue;
        }
        let Some(job) = jobs.iter_mut().find(|job| job.id == transition.id) else {
            continue;
        };
        job.status = transition.to;
        if transition.to == Status::Pending && job.kind == "build" {
            match serde_json::from_str(&job.tag_list_json) {
                Ok(tag_list) => woken.jobs.push(Enqueued {
                    project_id: pipeline.project_id,
                    tag_list,
                }),
                Err(_) => woken.unknown = true,
            }
        }
    }
    Ok(moved.len() == transitions.len())
}

/// Whether a processing pass could move a job, from the summary alone.
enum Advance {
    /// No `created` job can be decided.
    No,
    /// A `created` stage job's earlier stages are all completed.
    Yes,
    /// Only `created` DAG jobs could move (their needs are not in the summary).
    IfDagJobsWait,
}

/// Stage jobs are decided exactly from the summary: a `created` stage job moves once the
/// composite of the earlier stages is completed. When no job can move, a pass would return
/// no transition.
fn may_advance(summary: &[StatusGroup]) -> Advance {
    let mut dag_waiting = false;
    for group in summary
        .iter()
        .filter(|group| group.status == Status::Created)
    {
        if group.dag {
            dag_waiting = true;
            continue;
        }
        let before: Vec<CompositeItem> = summary
            .iter()
            .filter(|earlier| earlier.stage_idx < group.stage_idx)
            .map(|earlier| CompositeItem::new(earlier.status, earlier.allow_failure))
            .collect();
        if composite(&before).unwrap_or(Status::Success).is_completed() {
            return Advance::Yes;
        }
    }
    if dag_waiting {
        Advance::IfDagJobsWait
    } else {
        Advance::No
    }
}

/// The domain's view of a processing row.
fn processing_row_job(job: &ProcessingRow) -> ProcessingJob {
    ProcessingJob {
        id: job.id,
        name: job.name.clone(),
        stage_idx: job.stage_idx,
        status: job.status,
        when: job.when,
        allow_failure: job.allow_failure,
        needs: job.needs.clone(),
        has_resource_group: row_options(job).resource_group.is_some(),
    }
}

/// The options processing reads, for the rows that carry them (defaults for the others).
fn row_options(job: &ProcessingRow) -> ProcessingOptions {
    job.options
        .as_deref()
        .and_then(|options| serde_json::from_str(options).ok())
        .unwrap_or_default()
}
