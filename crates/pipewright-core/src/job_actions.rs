//! What users do to jobs: cancel, retry, erase, play (jobs-api.md E8–E11, §3.3).

use pipewright_domain::pipeline::{PlayOutcome, play as plan_play, reset_skipped_jobs};
use pipewright_domain::state::{is_retryable, transition};
use pipewright_domain::{JobEvent, Status, When};
use pipewright_store::NewJob;
use pipewright_store::model::Job;
use serde::{Deserialize, Serialize};

use crate::App;
use crate::abilities::ProjectAccess;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::processing::{process_pipeline, process_pipeline_with, processing_job, state_after};

/// A variable given when playing a manual job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobVariable {
    pub key: String,
    pub value: String,
}

/// A build or bridge of this project (E9, E11 accept both), or `404 Not found`.
async fn find_job(app: &App, access: &ProjectAccess, job_id: i64) -> Result<Job> {
    app.store
        .job_by_id(job_id)
        .await?
        .filter(|job| job.project_id == access.project.id)
        .ok_or_else(Error::record_not_found)
}

async fn reload(app: &App, job_id: i64) -> Result<Job> {
    app.store
        .job_by_id(job_id)
        .await?
        .ok_or_else(Error::record_not_found)
}

/// E8: cancel (or force-cancel) a build. Impossible transitions are not errors: the job is
/// returned as it is.
pub async fn cancel(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    job_id: i64,
    force: bool,
) -> Result<Job> {
    actor.require_write_scope()?;
    // The project-level ability comes before the lookup (a Reporter gets 403 for any id).
    if !access.can_update_build() {
        return Err(Error::forbidden());
    }
    let job = crate::jobs::find_build(app, access, job_id).await?;
    if !crate::protected_refs::may_act_on_job_ref(app, actor, access, &job).await? {
        return Err(Error::forbidden());
    }
    if force && !access.can_admin_build() {
        return Err(Error::forbidden());
    }
    let event = if force {
        JobEvent::ForceCancel
    } else {
        JobEvent::Cancel {
            graceful: job.cancel_gracefully,
        }
    };
    let Some(to) = transition(job.status, event) else {
        return Ok(job);
    };
    let update = state_after(&job, to, pipewright_store::now_ms());
    app.store
        .update_job_state(job.id, job.status, &update)
        .await?;
    process_pipeline(app, job.pipeline_id).await?;
    reload(app, job.id).await
}

/// E9: retry a finished build or bridge: a new job in the same pipeline, owned by the caller.
pub async fn retry(app: &App, actor: &Actor, access: &ProjectAccess, job_id: i64) -> Result<Job> {
    actor.require_write_scope()?;
    let user = actor.require_user()?.clone();
    let job = find_job(app, access, job_id).await?;
    if !access.can_update_build() {
        return Err(Error::forbidden());
    }
    if !crate::protected_refs::may_act_on_job_ref(app, actor, access, &job).await? {
        return Err(Error::forbidden());
    }
    if job.retried || !is_retryable(job.status) || crate::downstream::blocks_retry(&job) {
        return Err(Error::forbidden_because("Job is not retryable"));
    }
    retry_job(app, &job, user.id).await
}

async fn retry_job(app: &App, job: &Job, user_id: i64) -> Result<Job> {
    let new = app
        .store
        .retry_job(job, &NewJob::retry_of(job, user_id))
        .await?;
    reset_skipped_after(app, job.pipeline_id, new.id).await?;
    // A manual job retried through the API is enqueued at once, not parked again.
    let enqueue_now: Vec<i64> = if matches!(new.when, When::Manual | When::Delayed) {
        vec![new.id]
    } else {
        Vec::new()
    };
    process_pipeline_with(app, job.pipeline_id, &enqueue_now).await?;
    reload(app, new.id).await
}

/// Jobs skipped because of `origin` go back to `created` so processing looks at them again.
pub(crate) async fn reset_skipped_after(app: &App, pipeline_id: i64, origin: i64) -> Result<()> {
    let jobs = app.store.pipeline_jobs(pipeline_id, false).await?;
    let candidates: Vec<_> = jobs.iter().map(processing_job).collect();
    let now = pipewright_store::now_ms();
    for reset in reset_skipped_jobs(&candidates, &[origin]) {
        if let Some(job) = jobs.iter().find(|job| job.id == reset.id) {
            let update = state_after(job, reset.to, now);
            app.store
                .update_job_state(job.id, reset.from, &update)
                .await?;
        }
    }
    Ok(())
}

/// E10: erase a finished build's log and artifacts; the record stays.
pub async fn erase(app: &App, actor: &Actor, access: &ProjectAccess, job_id: i64) -> Result<Job> {
    actor.require_write_scope()?;
    let user = actor.require_user()?.clone();
    let job = crate::jobs::find_build(app, access, job_id).await?;
    // A Developer erases their own jobs on unprotected refs only; everyone is subject to
    // the protected-ref rule.
    let protected = crate::protected_refs::job_ref_protected(app, &job).await?;
    let own_job = job.user_id == Some(user.id) && access.can_update_build() && !protected;
    if !(access.can_admin_build() || own_job)
        || !crate::protected_refs::may_act_on_job_ref(app, actor, access, &job).await?
    {
        return Err(Error::forbidden());
    }
    let has_log = app.traces.len(job.id).await.map_err(Error::internal)? > 0;
    let erasable = has_log || crate::artifacts::has_any(app, job.id).await?;
    if !job.status.is_completed() || !erasable {
        return Err(Error::forbidden_because("Job is not erasable!"));
    }
    crate::artifacts::remove_all(app, &job).await?;
    app.traces.delete(job.id).await.map_err(Error::internal)?;
    app.store.erase_job(job.id, user.id).await?;
    reload(app, job.id).await
}

/// E11: play a manual (or scheduled) job; a completed manual job is retried instead and the
/// new job is returned.
pub async fn play(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    job_id: i64,
    variables: Vec<JobVariable>,
) -> Result<Job> {
    actor.require_write_scope()?;
    let user = actor.require_user()?.clone();
    if !access.can_read_build() {
        return Err(Error::forbidden());
    }
    let job = find_job(app, access, job_id).await?;
    if !access.can_update_build() {
        return Err(Error::forbidden());
    }
    // A bridge's `play_job` depends only on the downstream branch (GitLab's BridgePolicy).
    if job.is_build()
        && !crate::protected_refs::may_act_on_job_ref(app, actor, access, &job).await?
    {
        return Err(Error::forbidden());
    }
    if !job.is_build() && !crate::bridges::may_play(app, actor, access, &job).await? {
        return Err(Error::forbidden());
    }
    let jobs = app.store.pipeline_jobs(job.pipeline_id, false).await?;
    let candidates: Vec<_> = jobs.iter().map(processing_job).collect();
    // A bridge plays only from `manual`; a finished one is never re-played as a retry.
    let bridge_unplayable =
        !job.is_build() && !pipewright_domain::state::is_bridge_playable(job.when, job.status);
    let outcome = if job.retried || bridge_unplayable {
        PlayOutcome::NotPlayable
    } else {
        plan_play(&candidates, job.id)
    };
    if matches!(outcome, PlayOutcome::NotPlayable) {
        return Err(Error::BadRequest("Unplayable Job".into()));
    }
    let variables = if job.is_build() {
        variables
    } else {
        Vec::new()
    };
    if !variables.is_empty() && !crate::pipelines::may_set_pipeline_variables(access) {
        return Err(Error::forbidden());
    }
    let variables_json = if variables.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&variables).map_err(Error::internal)?)
    };
    match outcome {
        PlayOutcome::Retry => {
            app.store
                .set_job_player(job.id, user.id, variables_json.as_deref())
                .await?;
            let refreshed = reload(app, job.id).await?;
            retry_job(app, &refreshed, user.id).await
        }
        PlayOutcome::Enqueued(transitions) => {
            app.store
                .set_job_player(job.id, user.id, variables_json.as_deref())
                .await?;
            let now = pipewright_store::now_ms();
            for step in transitions {
                if let Some(target) = jobs.iter().find(|candidate| candidate.id == step.id) {
                    let update = state_after(target, step.to, now);
                    app.store
                        .update_job_state(target.id, step.from, &update)
                        .await?;
                }
            }
            process_pipeline(app, job.pipeline_id).await?;
            let played = reload(app, job.id).await?;
            if played.status == Status::Pending {
                app.queue.tick();
            }
            Ok(played)
        }
        PlayOutcome::NotPlayable => Err(Error::BadRequest("Unplayable Job".into())),
    }
}

/// Variables given when the job was played, in the order given.
pub fn played_variables(job: &Job) -> Vec<JobVariable> {
    job.job_variables
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}
