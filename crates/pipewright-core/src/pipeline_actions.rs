//! What users do to whole pipelines: cancel, retry, delete (platform-api.md "Pipelines",
//! ci-yaml.md §7), and the auto-cancel of redundant pipelines (§3.24).

use pipewright_domain::pipeline::{cancel_pipeline as plan_cancel, retry_pipeline as plan_retry};
use pipewright_domain::{Status, Transition};
use pipewright_store::model::{Job, Pipeline};

use crate::abilities::ProjectAccess;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::job_options::ProcessingOptions;
use crate::pipelines::find_pipeline;
use crate::processing::{process_pipeline, processing_job, state_after};
use crate::{App, auto_retry};

async fn reload(app: &App, pipeline_id: i64) -> Result<Pipeline> {
    app.store
        .pipeline_by_id(pipeline_id)
        .await?
        .ok_or_else(Error::record_not_found)
}

/// GitLab's `update_pipeline` (cancel, retry): Developer+, and on a protected branch the
/// right to push or merge to it.
async fn require_update_pipeline(
    app: &App,
    access: &ProjectAccess,
    pipeline: &Pipeline,
) -> Result<()> {
    let ref_ok = pipeline.tag
        || crate::protected_refs::may_write_ref(app, access, &pipeline.ref_name).await?;
    if !access.can_update_build() || !ref_ok {
        return Err(Error::forbidden());
    }
    Ok(())
}

/// Writes transitions computed over `jobs` (compare-and-set on each `from`).
async fn apply(app: &App, jobs: &[Job], transitions: &[Transition]) -> Result<()> {
    let now = pipewright_store::now_ms();
    for transition in transitions {
        if let Some(job) = jobs.iter().find(|job| job.id == transition.id) {
            let update = state_after(job, transition.to, now);
            app.store
                .update_job_state(job.id, transition.from, &update)
                .await?;
        }
    }
    Ok(())
}

/// Cancels the latest jobs of a pipeline that `include` selects (§7: running jobs of graceful
/// runners go to `canceling`, manual jobs stay), then processes it.
pub(crate) async fn cancel_jobs(
    app: &App,
    pipeline_id: i64,
    include: impl Fn(&Job) -> bool,
) -> Result<()> {
    let jobs: Vec<Job> = app
        .store
        .pipeline_jobs(pipeline_id, false)
        .await?
        .into_iter()
        .filter(|job| include(job))
        .collect();
    let candidates: Vec<_> = jobs.iter().map(processing_job).collect();
    let transitions = plan_cancel(&candidates, |candidate| {
        jobs.iter()
            .any(|job| job.id == candidate.id && job.cancel_gracefully)
    });
    apply(app, &jobs, &transitions).await?;
    process_pipeline(app, pipeline_id).await
}

/// `POST /projects/:id/pipelines/:pipeline_id/cancel`.
pub async fn cancel(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    pipeline_id: i64,
) -> Result<Pipeline> {
    actor.require_write_scope()?;
    let pipeline = find_pipeline(app, access, pipeline_id).await?;
    require_update_pipeline(app, access, &pipeline).await?;
    cancel_jobs(app, pipeline.id, |_| true).await?;
    crate::downstream::cancel_child_pipelines(app, pipeline.id).await?;
    reload(app, pipeline.id).await
}

/// `POST /projects/:id/pipelines/:pipeline_id/retry`: failed and canceled jobs are cloned,
/// skipped ones reset; manual jobs go back to `manual` (no immediate enqueue).
pub async fn retry(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    pipeline_id: i64,
) -> Result<Pipeline> {
    actor.require_write_scope()?;
    let user = actor.require_user()?.clone();
    let pipeline = find_pipeline(app, access, pipeline_id).await?;
    require_update_pipeline(app, access, &pipeline).await?;
    let jobs = app.store.pipeline_jobs(pipeline.id, false).await?;
    let candidates: Vec<_> = jobs.iter().map(processing_job).collect();
    let plan = plan_retry(&candidates);
    // Clones first: a skipped job reset before its cause is replaced could be skipped
    // again by a concurrent processing.
    for id in &plan.clone {
        if let Some(job) = jobs.iter().find(|job| job.id == *id) {
            auto_retry::clone_job(app, job, Some(user.id)).await?;
        }
    }
    apply(app, &jobs, &plan.reset).await?;
    process_pipeline(app, pipeline.id).await?;
    reload(app, pipeline.id).await
}

/// `DELETE /projects/:id/pipelines/:pipeline_id`: the pipeline, its jobs, their logs and
/// artifacts.
/// Owners only, as GitLab's `destroy_pipeline`.
pub async fn delete(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    pipeline_id: i64,
) -> Result<()> {
    actor.require_write_scope()?;
    let pipeline = find_pipeline(app, access, pipeline_id).await?;
    if !(access.admin || access.level >= crate::abilities::OWNER) {
        return Err(Error::forbidden());
    }
    for job in app.store.pipeline_jobs(pipeline.id, true).await? {
        crate::artifacts::remove_all(app, &job).await?;
    }
    let job_ids = app.store.delete_pipeline(pipeline.id).await?;
    for job_id in job_ids {
        app.traces.delete(job_id).await.map_err(Error::internal)?;
    }
    let repo = app.repository(pipeline.project_id);
    let name = format!("refs/pipelines/{}", pipeline.id);
    tokio::task::spawn_blocking(move || repo.delete_ref(&name, None)).await??;
    // Deleted holders free their resource groups for jobs of other pipelines.
    crate::resource_groups::assign(app, pipeline.project_id).await
}

/// `workflow:auto_cancel:on_job_failure: all`: a failure that counts (not allowed to fail,
/// not retried automatically) cancels the rest of the pipeline.
pub(crate) async fn after_counted_failure(app: &App, failed: &Job) -> Result<()> {
    if failed.allow_failure || failed.retried {
        return Ok(());
    }
    if app
        .store
        .pipeline_auto_cancel_on_job_failure(failed.pipeline_id)
        .await?
        .as_deref()
        == Some("all")
    {
        cancel_jobs(app, failed.pipeline_id, |_| true).await?;
        crate::downstream::cancel_child_pipelines(app, failed.pipeline_id).await?;
    }
    Ok(())
}

/// `workflow:auto_cancel:on_new_commit` (default `conservative`): a new pipeline makes the
/// unfinished older pipelines of its ref redundant.
pub(crate) async fn auto_cancel_redundant(app: &App, newer: &Pipeline, mode: &str) -> Result<()> {
    if mode == "none" {
        return Ok(());
    }
    for older in app.store.redundant_pipelines(newer).await? {
        let jobs = app.store.pipeline_jobs(older.id, false).await?;
        let interruptible = |job: &Job| ProcessingOptions::of(job).interruptible;
        if mode == "interruptible" {
            cancel_jobs(app, older.id, interruptible).await?;
            continue;
        }
        // Conservative: only while every job that has started is interruptible.
        let started_uninterruptible = jobs.iter().any(|job| {
            matches!(
                job.status,
                Status::Running | Status::Canceling | Status::Success | Status::Failed
            ) && !interruptible(job)
        });
        if !started_uninterruptible {
            cancel_jobs(app, older.id, |_| true).await?;
            crate::downstream::cancel_child_pipelines(app, older.id).await?;
        }
    }
    Ok(())
}
