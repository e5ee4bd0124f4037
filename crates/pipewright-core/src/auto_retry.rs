//! Automatic retry of a failed job (`retry:`, ci-yaml.md §3.14): the failed job leaves the
//! latest set (`retried`) and a clone starts over in `created`.

use pipewright_domain::FailureReason;
use pipewright_domain::failure::should_auto_retry;
use pipewright_store::NewJob;
use pipewright_store::model::Job;

use crate::App;
use crate::error::Result;
use crate::job_options::ProcessingOptions;

/// Clones `failed` (already stored as `failed`) when its retry budget allows; the caller
/// processes the pipeline afterwards. Returns the clone.
pub(crate) async fn retry_if_allowed(app: &App, failed: &Job) -> Result<Option<Job>> {
    if failed.retried || !failed.is_build() {
        return Ok(None);
    }
    let options = ProcessingOptions::of(failed);
    let policy = options.retry_policy();
    let reason = failed
        .failure_reason
        .as_deref()
        .and_then(FailureReason::parse_known)
        .unwrap_or_default();
    let attempts = app
        .store
        .pipeline_jobs(failed.pipeline_id, true)
        .await?
        .iter()
        .filter(|job| job.name == failed.name && job.retried)
        .count();
    let retries_so_far = u32::try_from(attempts).unwrap_or(u32::MAX);
    if !should_auto_retry(policy.as_ref(), reason, failed.exit_code, retries_so_far) {
        return Ok(None);
    }
    Ok(Some(clone_job(app, failed, failed.user_id).await?))
}

/// Inserts the retry of `job` (marking it `retried`) and resets the jobs its failure skipped.
pub(crate) async fn clone_job(app: &App, job: &Job, user_id: Option<i64>) -> Result<Job> {
    let mut new = NewJob::retry_of(job, user_id.unwrap_or_default());
    new.user_id = user_id;
    // An `allow_failure: exit_codes` match flips allow_failure on the failed attempt only.
    if !ProcessingOptions::of(job)
        .allow_failure_exit_codes
        .is_empty()
    {
        new.allow_failure = false;
    }
    let clone = app.store.retry_job(job, &new).await?;
    crate::job_actions::reset_skipped_after(app, job.pipeline_id, clone.id).await?;
    Ok(clone)
}
