//! What runners report about a job they run: `PUT /jobs/:id` and `PATCH /jobs/:id/trace`.

use pipewright_ciyaml::JobOptions;
use pipewright_domain::{FailureReason, Status};
use pipewright_protocol::{JobState, UpdateJobRequest};
use pipewright_store::model::Job;

use crate::App;
use crate::error::{Error, Result};
use crate::processing::{process_pipeline, process_pipeline_after_success, state_after};
use crate::tokens::hash_token;
use crate::traces::Append;

/// Failure reasons the server stores as sent; anything else becomes `unknown_failure`.
const KNOWN_FAILURE_REASONS: [&str; 10] = [
    "unknown_failure",
    "script_failure",
    "runner_system_failure",
    "job_execution_timeout",
    "image_pull_failure",
    "runner_configuration_error",
    "runner_external_dependency_failure",
    "runner_interrupted",
    "stuck_or_timeout_failure",
    "runner_unsupported",
];

/// How stale a job's `updated_at` may get before a log chunk refreshes it (the watchdogs
/// count in tens of minutes; this spares the writer a write per chunk).
const TOUCH_EVERY_MS: i64 = 30_000;

/// The job named by `:id`, if `token` is its token and it is executing; otherwise the 403
/// GitLab answers (with `Job-Status` when the job is known).
pub async fn authenticate_job(app: &App, job_id: i64, token: &str) -> Result<Job> {
    let job = app
        .store
        .job_by_token_hash(&hash_token(token))
        .await?
        .filter(|job| job.id == job_id)
        .ok_or(Error::JobForbidden {
            job_status: None,
            message: "403 Forbidden".into(),
        })?;
    if job.erased_at.is_some() {
        return Err(Error::JobForbidden {
            job_status: Some(job.status),
            message: "403 Forbidden - Job has been erased!".into(),
        });
    }
    if !job.status.is_executing() {
        return Err(Error::JobForbidden {
            job_status: Some(job.status),
            message: "403 Forbidden - Job is not processing on runner".into(),
        });
    }
    Ok(job)
}

/// Result of a `PUT /jobs/:id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// 200: applied (or a keep-alive).
    Done(Status),
    /// 202: the log is not complete yet; the runner sends the rest and repeats the PUT.
    Accepted(Status),
}

/// `PUT /jobs/:id`: keep-alive or the final result.
pub async fn update_job(
    app: &App,
    job_id: i64,
    token: &str,
    request: &UpdateJobRequest,
) -> Result<UpdateOutcome> {
    let job = authenticate_job(app, job_id, token).await?;
    let final_status = match request.state {
        JobState::Running | JobState::Pending => {
            // A keep-alive: the running-without-update watchdog measures from here.
            app.store.touch_job(job.id).await?;
            return Ok(UpdateOutcome::Done(job.status));
        }
        JobState::Unknown => return Err(Error::Param("state does not have a valid value".into())),
        JobState::Success => Status::Success,
        JobState::Failed => Status::Failed,
    };
    if let Some(expected) = request.output.as_ref().and_then(|output| output.bytesize)
        && app.traces.len(job.id).await.map_err(Error::internal)? < expected
    {
        return Ok(UpdateOutcome::Accepted(job.status));
    }
    let now = pipewright_store::now_ms();
    let mut update = if job.status == Status::Canceling {
        // The runner finished its graceful cancel: whatever it reports, the job is canceled.
        state_after(&job, Status::Canceled, now)
    } else {
        state_after(&job, final_status, now)
    };
    if update.status == Status::Failed {
        let reason = request
            .failure_reason
            .as_deref()
            .filter(|reason| KNOWN_FAILURE_REASONS.contains(reason))
            .unwrap_or("unknown_failure");
        update.failure_reason = Some(reason.to_owned());
        update.exit_code = request.exit_code;
        if let Some(code) = request.exit_code
            && allowed_exit_code(&job, code)
        {
            update.allow_failure = true;
        }
    } else {
        update.exit_code = request.exit_code;
    }
    if !app
        .store
        .update_job_state(job.id, job.status, &update)
        .await?
    {
        // A user action (cancel) won the race; report the job as it now is.
        let current = app.store.job_by_id(job.id).await?;
        return Ok(UpdateOutcome::Done(
            current.map(|job| job.status).unwrap_or(job.status),
        ));
    }
    // The job stopped running: its log takes no more chunks.
    app.traces.close(job.id);
    match update.status {
        Status::Failed => {
            if let Some(failed) = app.store.job_by_id_fresh(job.id).await? {
                // Cloned before processing, so later stages never see the failure.
                if crate::auto_retry::retry_if_allowed(app, &failed)
                    .await?
                    .is_none()
                {
                    crate::pipeline_actions::after_counted_failure(app, &failed).await?;
                }
            }
        }
        Status::Success => crate::coverage::record(app, &job).await?,
        _ => {}
    }
    if update.status == Status::Success {
        process_pipeline_after_success(app, job.pipeline_id, &job.name).await?;
    } else {
        process_pipeline(app, job.pipeline_id).await?;
    }
    Ok(UpdateOutcome::Done(update.status))
}

fn allowed_exit_code(job: &Job, code: i32) -> bool {
    serde_json::from_str::<JobOptions>(&job.options)
        .map(|options| options.allow_failure_exit_codes.contains(&i64::from(code)))
        .unwrap_or(false)
}

/// Result of a `PATCH /jobs/:id/trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceOutcome {
    /// false = 416, nothing written.
    pub accepted: bool,
    /// Total log length after the call.
    pub len: u64,
    pub status: Status,
}

/// Appends a log chunk at `start`, masking the job's own token and runner tokens (same
/// length, so offsets keep referring to the runner's bytes).
pub async fn append_trace(
    app: &App,
    job_id: i64,
    token: &str,
    start: u64,
    mut chunk: Vec<u8>,
) -> Result<TraceOutcome> {
    let job = authenticate_job(app, job_id, token).await?;
    if exceeds_size_limit(app.config.max_trace_size_mb, start, chunk.len()) {
        return Err(drop_for_size(app, &job).await);
    }
    mask(&mut chunk, token.as_bytes());
    crate::runner_token_mask::mask_runner_tokens(app, &mut chunk).await?;
    let outcome = app
        .traces
        .append(job.id, start, &chunk)
        .await
        .map_err(Error::internal)?;
    if matches!(outcome, Append::Appended { .. })
        && pipewright_store::now_ms().saturating_sub(job.updated_at) > TOUCH_EVERY_MS
    {
        app.store.touch_job(job.id).await?;
    }
    Ok(match outcome {
        Append::Appended { len } => TraceOutcome {
            accepted: true,
            len,
            status: job.status,
        },
        Append::RangeMismatch { len } => TraceOutcome {
            accepted: false,
            len,
            status: job.status,
        },
    })
}

/// GitLab's `ci_jobs_trace_size_limit` check: the end of the chunk, in whole MiB, must stay
/// below the limit (so a log never reaches it). It is checked before the range, as GitLab
/// does, so an oversized chunk fails the job even at a wrong offset.
fn exceeds_size_limit(limit_mb: u64, start: u64, len: usize) -> bool {
    let end = start.saturating_add(len as u64);
    limit_mb > 0 && end / (1024 * 1024) >= limit_mb
}

/// Fails the job with `trace_size_exceeded` (GitLab's `build.drop`) and gives the plain 403
/// GitLab answers: the runner aborts, and later calls see `Job-Status: failed`.
async fn drop_for_size(app: &App, job: &Job) -> Error {
    let forbidden = Error::JobForbidden {
        job_status: None,
        message: "403 Forbidden".into(),
    };
    match drop_job(app, job, job.status, FailureReason::TraceSizeExceeded).await {
        Ok(_) => forbidden,
        Err(err) => err,
    }
}

/// The server fails a job (GitLab's `build.drop(reason)`) if it is still in `from`: its log is
/// closed, `retry:` applies as to any failure, and its pipeline is processed. Whether this
/// call failed it (false: the job had moved on meanwhile).
pub(crate) async fn drop_job(
    app: &App,
    job: &Job,
    from: Status,
    reason: FailureReason,
) -> Result<bool> {
    let mut update = state_after(job, Status::Failed, pipewright_store::now_ms());
    update.failure_reason = Some(reason.as_str().to_owned());
    if !app.store.update_job_state(job.id, from, &update).await? {
        return Ok(false);
    }
    app.traces.close(job.id);
    if let Some(failed) = app.store.job_by_id_fresh(job.id).await?
        && crate::auto_retry::retry_if_allowed(app, &failed)
            .await?
            .is_none()
    {
        crate::pipeline_actions::after_counted_failure(app, &failed).await?;
    }
    process_pipeline(app, job.pipeline_id).await?;
    Ok(true)
}

/// Replaces every occurrence of `secret` in `bytes` with `x`s.
fn mask(bytes: &mut [u8], secret: &[u8]) {
    if secret.len() < 8 || bytes.len() < secret.len() {
        return;
    }
    let mut i = 0;
    while i + secret.len() <= bytes.len() {
        if &bytes[i..i + secret.len()] == secret {
            bytes[i..i + secret.len()].fill(b'x');
            i += secret.len();
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{exceeds_size_limit, mask};

    #[test]
    fn the_size_limit_counts_whole_mib_of_the_chunk_end() {
        const MIB: u64 = 1024 * 1024;
        assert!(!exceeds_size_limit(100, 0, 4096));
        assert!(!exceeds_size_limit(100, 100 * MIB - 4096, 4095));
        assert!(exceeds_size_limit(100, 100 * MIB - 4096, 4096));
        assert!(exceeds_size_limit(1, MIB, 1));
        assert!(!exceeds_size_limit(0, u64::MAX - 1, 4096));
    }

    #[test]
    fn masking_keeps_lengths() {
        let mut bytes = b"token=glcbt-secret123 again glcbt-secret123".to_vec();
        mask(&mut bytes, b"glcbt-secret123");
        assert_eq!(
            bytes,
            b"token=xxxxxxxxxxxxxxx again xxxxxxxxxxxxxxx".to_vec()
        );
    }
}
