//! Pipeline-wide actions as pure functions over a pipeline's latest jobs: cancel
//! (ci-yaml.md §7), and the "reset skipped jobs" step shared by play and retry (§5, GitLab's
//! `ResetSkippedJobsService`, `PlayBuildService`, `RetryPipelineService`).
//!
//! Each function returns the transitions of the action itself; the caller persists them and
//! then runs [`crate::processing::process`] as after any status change.

use std::collections::HashSet;

use crate::processing::{ProcessingJob, Transition, enqueue_status};
use crate::state::{is_playable, is_retryable};
use crate::status::{Status, When};

/// Cancelling a pipeline: every job in a cancelable status (`created`, `waiting_for_resource`,
/// `preparing`, `waiting_for_callback`, `pending`, `running`, `scheduled`) goes to `canceled`,
/// except running jobs whose runner cancels gracefully (`graceful(job)`), which go to
/// `canceling`. `manual` jobs are left alone, as are `canceling` and completed ones.
pub fn cancel_pipeline(
    jobs: &[ProcessingJob],
    graceful: impl Fn(&ProcessingJob) -> bool,
) -> Vec<Transition> {
    jobs.iter()
        .filter_map(|job| {
            let to = match job.status {
                Status::Running if graceful(job) => Status::Canceling,
                Status::Created
                | Status::WaitingForResource
                | Status::Preparing
                | Status::WaitingForCallback
                | Status::Pending
                | Status::Running
                | Status::Scheduled => Status::Canceled,
                _ => return None,
            };
            Some(Transition {
                id: job.id,
                from: job.status,
                to,
            })
        })
        .collect()
}

/// GitLab's `ResetSkippedJobsService`, after `origin_ids` were played or retried: every
/// `skipped` job of a stage after the earliest origin's stage, and every `skipped` job that
/// needs an origin directly or transitively (same stage included), goes back to `created`.
///
/// For a retry, pass the list that already holds the new job (in `created`) instead of the
/// retried one, and the new job's id. Unknown ids are ignored.
pub fn reset_skipped_jobs(jobs: &[ProcessingJob], origin_ids: &[i64]) -> Vec<Transition> {
    let origins: Vec<&ProcessingJob> = jobs
        .iter()
        .filter(|job| origin_ids.contains(&job.id))
        .collect();
    let Some(min_stage) = origins.iter().map(|job| job.stage_idx).min() else {
        return Vec::new();
    };
    let dependents = needs_descendants(jobs, &origins);
    let mut reset: Vec<&ProcessingJob> = jobs
        .iter()
        .enumerate()
        .filter(|(index, job)| {
            job.status == Status::Skipped
                && (job.stage_idx > min_stage || dependents.contains(index))
        })
        .map(|(_, job)| job)
        .collect();
    reset.sort_by_key(|job| job.stage_idx);
    reset
        .into_iter()
        .map(|job| Transition {
            id: job.id,
            from: Status::Skipped,
            to: Status::Created,
        })
        .collect()
}

/// Indices of the jobs that need one of `origins` by name, directly or through other jobs.
fn needs_descendants(jobs: &[ProcessingJob], origins: &[&ProcessingJob]) -> HashSet<usize> {
    let mut names: HashSet<&str> = origins.iter().map(|job| job.name.as_str()).collect();
    let mut found = HashSet::new();
    loop {
        let mut grew = false;
        for (index, job) in jobs.iter().enumerate() {
            if found.contains(&index) {
                continue;
            }
            let needs_one = job
                .needs
                .iter()
                .flatten()
                .any(|need| names.contains(need.as_str()));
            if needs_one {
                found.insert(index);
                names.insert(job.name.as_str());
                grew = true;
            }
        }
        if !grew {
            return found;
        }
    }
}

/// What playing a job (jobs-api.md E11) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayOutcome {
    /// A `manual`/`scheduled` job is enqueued (`pending`, or `waiting_for_resource`), then the
    /// skipped jobs depending on it are reset: the play transition first, then the resets.
    Enqueued(Vec<Transition>),
    /// A completed manual job is "played" again by retrying it: clone it, then
    /// [`reset_skipped_jobs`] with the clone.
    Retry,
    /// 400 "Unplayable Job" (also for an id not in the list).
    NotPlayable,
}

/// Playing the build `id` of this pipeline.
pub fn play(jobs: &[ProcessingJob], id: i64) -> PlayOutcome {
    let Some(job) = jobs.iter().find(|job| job.id == id) else {
        return PlayOutcome::NotPlayable;
    };
    if !is_playable(job.when, job.status) {
        return PlayOutcome::NotPlayable;
    }
    if is_retryable(job.status) {
        return PlayOutcome::Retry;
    }
    let to = enqueue_status(job.has_resource_group);
    let mut transitions = vec![Transition {
        id,
        from: job.status,
        to,
    }];
    transitions.extend(reset_skipped_jobs(jobs, &[id]));
    PlayOutcome::Enqueued(transitions)
}

/// Whether a job retried through the Jobs API (E9) skips `manual`/`scheduled` and is enqueued
/// at once: pass its clone's id in `enqueue_immediately` of
/// [`crate::processing::process_with`]. Retrying a whole pipeline does not do this.
pub fn retry_enqueues_immediately(when: When) -> bool {
    matches!(when, When::Manual | When::Delayed)
}

/// What retrying a whole pipeline does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetryPipelinePlan {
    /// Latest `failed`/`canceled` jobs to clone: each clone is a new job in `created` with the
    /// same name, stage, `when`, needs…; the original leaves the latest set (`retried`).
    pub clone: Vec<i64>,
    /// Every latest `skipped` job goes back to `created`.
    pub reset: Vec<Transition>,
}

/// GitLab's `RetryPipelineService` over the latest jobs (permissions are the caller's).
pub fn retry_pipeline(jobs: &[ProcessingJob]) -> RetryPipelinePlan {
    RetryPipelinePlan {
        clone: jobs
            .iter()
            .filter(|job| matches!(job.status, Status::Failed | Status::Canceled))
            .map(|job| job.id)
            .collect(),
        reset: jobs
            .iter()
            .filter(|job| job.status == Status::Skipped)
            .map(|job| Transition {
                id: job.id,
                from: Status::Skipped,
                to: Status::Created,
            })
            .collect(),
    }
}

/// A retried job's clone, ready to be inserted with a fresh id: `created`, everything else
/// copied. The caller takes `allow_failure` from the job's configuration again (an
/// `allow_failure: exit_codes` match flips it on the failed attempt only) and copies what
/// processing does not model.
pub fn clone_for_retry(job: &ProcessingJob, new_id: i64) -> ProcessingJob {
    ProcessingJob {
        id: new_id,
        status: Status::Created,
        ..job.clone()
    }
}

/// Replaces each retried job of `jobs` by its clone, keeping positions: the latest set after a
/// retry. `clones` pairs the old id with the clone.
pub fn replace_retried(
    jobs: &[ProcessingJob],
    clones: &[(i64, ProcessingJob)],
) -> Vec<ProcessingJob> {
    jobs.iter()
        .map(|job| {
            clones
                .iter()
                .find(|(old, _)| *old == job.id)
                .map_or_else(|| job.clone(), |(_, clone)| clone.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests;
