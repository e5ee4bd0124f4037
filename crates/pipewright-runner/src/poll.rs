//! The runner's main loop: verify once, then ask for jobs while there is capacity, and run
//! each job in its own task.

use std::sync::Arc;
use std::time::Duration;

use pipewright_protocol::{JobRequest, VerifyRequest};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::RunnerConfig;
use crate::client::{CallError, Client, Poll};
use crate::job::{self, JobContext};

/// Longest wait between attempts while the server is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(15);
/// A job request answered this late was held by the server (long polling).
const HELD_POLL: Duration = Duration::from_secs(5);
/// How long shutdown waits for killed jobs to deliver their final update.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

pub(crate) async fn run(config: RunnerConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let client = Client::new(&config.url)?;
    std::fs::create_dir_all(&config.builds_dir)?;
    let builds_dir = std::path::absolute(&config.builds_dir)?;
    let info = crate::runner_info(&config.name);

    let Some(runner_id) = verify_until_ok(&client, &config, &info, &shutdown).await? else {
        return Ok(());
    };
    tracing::info!(runner_id, url = %config.url, concurrency = config.concurrency, "runner verified");

    let ctx = Arc::new(JobContext {
        client: client.clone(),
        builds_dir,
        name: config.name.clone(),
        system_id: config.system_id.clone(),
        runner_token: config.token.clone(),
    });
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut jobs = JoinSet::new();
    let mut request = JobRequest {
        token: config.token.clone(),
        system_id: Some(config.system_id.clone()),
        last_update: None,
        info: Some(info),
        session: None,
    };
    let mut failures = 0u32;

    loop {
        // Reap finished job tasks so the set does not grow.
        while jobs.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => permit?,
        };
        let asked = tokio::time::Instant::now();
        let answer = tokio::select! {
            () = shutdown.cancelled() => break,
            answer = client.request_job(&request) => answer,
        };
        let wait = match answer {
            Ok(Poll::Job(payload)) => {
                failures = 0;
                let ctx = ctx.clone();
                let shutdown = shutdown.clone();
                jobs.spawn(async move {
                    job::run(&ctx, *payload, &shutdown).await;
                    drop(permit);
                });
                // Ask again right away: there may be more work queued.
                continue;
            }
            Ok(Poll::Malformed { id, token, error }) => {
                failures = 0;
                // serde quotes offending values: keep the job token out of our own log.
                let mut error = error.to_string();
                if let Some(token) = token.as_deref().filter(|t| !t.is_empty()) {
                    error = error.replace(token, "[MASKED]");
                }
                tracing::error!(?id, %error, "received a job payload this runner cannot read");
                if let (Some(id), Some(token)) = (id, token) {
                    let client = client.clone();
                    jobs.spawn(async move {
                        job::reject(&client, id, &token, &error).await;
                        drop(permit);
                    });
                    continue;
                }
                // Nothing to report it against; do not spin on a broken server.
                config.poll_interval
            }
            Ok(Poll::NoJob { last_update }) => {
                failures = 0;
                request.last_update = last_update;
                // A long poll that the server held and then released usually means its queue
                // changed: ask again right away instead of adding our own delay.
                if asked.elapsed() >= HELD_POLL {
                    Duration::ZERO
                } else {
                    config.poll_interval
                }
            }
            Err(err) => {
                failures += 1;
                // Forget the queue version: the server may have restarted.
                request.last_update = None;
                let wait = backoff(config.poll_interval, failures);
                if matches!(err, CallError::Forbidden) {
                    tracing::error!(error = %err, "job request rejected; retrying in {wait:?}");
                } else {
                    tracing::warn!(error = %err, "job request failed; retrying in {wait:?}");
                }
                wait
            }
        };
        drop(permit);
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }

    // Jobs saw the same token: they are being killed and reported. Give them time to report.
    if tokio::time::timeout(SHUTDOWN_GRACE, async {
        while jobs.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!("some jobs did not report back before shutdown");
    }
    Ok(())
}

/// Verifies the token, retrying while the server is unreachable. `None` on shutdown.
async fn verify_until_ok(
    client: &Client,
    config: &RunnerConfig,
    info: &pipewright_protocol::RunnerInfo,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<i64>> {
    let request = VerifyRequest {
        token: config.token.clone(),
        system_id: Some(config.system_id.clone()),
        info: Some(info.clone()),
    };
    let mut failures = 0;
    loop {
        let answer = tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            answer = client.verify(&request) => answer,
        };
        match answer {
            Ok(response) => return Ok(Some(response.id)),
            Err(err) if err.is_transient() => {
                failures += 1;
                let wait = backoff(config.poll_interval, failures);
                tracing::warn!(error = %err, "cannot verify the runner yet; retrying in {wait:?}");
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(None),
                    () = tokio::time::sleep(wait) => {}
                }
            }
            Err(err) => return Err(anyhow::anyhow!("verifying the runner token failed: {err}")),
        }
    }
}

/// `base` doubled per consecutive failure, capped.
fn backoff(base: Duration, failures: u32) -> Duration {
    let base = base.max(Duration::from_millis(100));
    base.saturating_mul(1 << failures.min(8)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_secs(1);
        assert_eq!(backoff(base, 1), Duration::from_secs(2));
        assert_eq!(backoff(base, 2), Duration::from_secs(4));
        assert_eq!(backoff(base, 30), MAX_BACKOFF);
    }
}
