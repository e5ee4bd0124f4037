//! One job from hand-out to final update: run it with the executor while the log streams,
//! then report the result.

use std::path::PathBuf;

use pipewright_protocol::{JobResponse, JobState, UpdateJobRequest};
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::executor;
use crate::outcome::{Outcome, supported_reason};
use crate::style::{ERROR as RED, RESET, SUCCESS as GREEN};
use crate::trace::{JobSignals, TraceLog, TraceSender};

/// What every job of one runner shares.
pub(crate) struct JobContext {
    pub client: Client,
    /// Absolute.
    pub builds_dir: PathBuf,
    pub name: String,
    pub system_id: String,
    /// The runner authentication token, masked in every job log.
    pub runner_token: String,
}

/// Runs `job` to the end. `shutdown` aborts it (reported as interrupted).
pub(crate) async fn run(ctx: &JobContext, job: JobResponse, shutdown: &CancellationToken) {
    tracing::info!(job = job.id, name = %job.job_info.name, "job started");
    let log = TraceLog::new(secrets(&job, &ctx.runner_token));
    let signals = JobSignals::new(shutdown);
    let mut sender = TraceSender::new(
        ctx.client.clone(),
        job.id,
        job.token.clone(),
        log.clone(),
        signals.clone(),
    );
    let done = CancellationToken::new();
    let (outcome, ()) = tokio::join!(
        async {
            let outcome = executor::execute(ctx, &job, &log, &signals).await;
            done.cancel();
            outcome
        },
        sender.run_until(&done),
    );
    if signals.server_abort.is_cancelled() {
        // The job was canceled or failed server-side: it takes no more updates.
        tracing::info!(job = job.id, "job aborted by the server");
        return;
    }

    let update = match &outcome {
        Outcome::Success => {
            log.line(&format!("{GREEN}Job succeeded{RESET}"));
            UpdateJobRequest {
                state: JobState::Success,
                exit_code: Some(0),
                ..UpdateJobRequest::default()
            }
        }
        Outcome::Failed {
            reason,
            exit_code,
            message,
        } => {
            log.line(&format!("{RED}ERROR: Job failed: {message}{RESET}"));
            UpdateJobRequest {
                state: JobState::Failed,
                failure_reason: Some(supported_reason(&job, reason).to_owned()),
                exit_code: *exit_code,
                ..UpdateJobRequest::default()
            }
        }
    };
    log.settle();
    sender.flush().await;
    sender.finish(update).await;
    tracing::info!(job = job.id, ?outcome, "job finished");
}

/// Fails a job whose payload we could not read, so it is not left running until the
/// server's watchdog notices.
pub(crate) async fn reject(client: &Client, id: i64, token: &str, error: &str) {
    let log = TraceLog::new([token.to_owned()]);
    log.line(&format!(
        "{RED}ERROR: Job failed: runner could not read the job: {error}{RESET}"
    ));
    log.settle();
    let mut sender = TraceSender::new(
        client.clone(),
        id,
        token.to_owned(),
        log,
        JobSignals::new(&CancellationToken::new()),
    );
    sender.flush().await;
    sender
        .finish(UpdateJobRequest {
            state: JobState::Failed,
            failure_reason: Some("runner_system_failure".to_owned()),
            ..UpdateJobRequest::default()
        })
        .await;
}

/// Values to mask in the log: masked variables, the job token and our own token.
fn secrets(job: &JobResponse, runner_token: &str) -> Vec<String> {
    job.variables
        .iter()
        .filter(|v| v.masked)
        .map(|v| v.value.clone())
        .chain([job.token.clone(), runner_token.to_owned()])
        .collect()
}
