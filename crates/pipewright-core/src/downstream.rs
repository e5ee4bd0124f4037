//! Downstream pipelines of bridge (`trigger:`) jobs, ci-yaml.md §3.22.
//!
//! Processing never waits for a downstream pipeline. After every processing of a pipeline its
//! id goes to the [`DownstreamQueue`]; a worker task then
//! 1. triggers the bridges of that pipeline that became `pending` (GitLab's
//!    `CreateDownstreamPipelineService`): `pending → running`, create the multi-project or
//!    child pipeline, then `success` (or stay `running` with `strategy: depend`), or `failed`
//!    with the reason GitLab gives;
//! 2. if the pipeline is itself the downstream pipeline of a `strategy: depend` bridge, copies
//!    its final status onto that bridge and processes the upstream pipeline (GitLab's
//!    `PipelineBridgeStatusService`).
//!
//! Both steps are idempotent — every status write is a compare-and-set — so a pipeline queued
//! twice changes nothing more. Tests wait for the queue with [`DownstreamQueue::drain`].

mod ancestry;
mod cancel;
mod config;
pub(crate) mod context;
mod options;
mod queue;
mod status;
mod trigger;
mod variables;

pub use cancel::cancel_child_pipelines;
pub use options::{BridgeOptions, blocks_retry};
pub use queue::DownstreamQueue;

use pipewright_domain::Status;

use crate::App;
use crate::error::Result;

/// How long queued work may take before [`recover`] redoes it.
const RECOVERY_GRACE_MS: i64 = 60_000;
/// How long a claimed bridge may take to create its downstream pipeline before [`recover`]
/// takes it for lost and triggers it again.
const TRIGGER_GRACE_MS: i64 = 10 * 60_000;
/// Pipelines one recovery pass queues at most; the rest wait for the next pass.
const RECOVERY_BATCH: i64 = 500;

/// Queues the pipelines whose bridge work was lost (the queue lives in memory and dies with
/// the process): bridges still `pending`, dependent bridges of finished pipelines, and
/// bridges claimed for triggering long ago without a downstream pipeline (back to
/// `pending`). Run by the scheduler's timer; returns how many pipelines were queued.
pub async fn recover(app: &App, now: i64) -> Result<usize> {
    let pipelines = app
        .store
        .pipelines_with_stale_bridges(now.saturating_sub(RECOVERY_GRACE_MS), RECOVERY_BATCH)
        .await?;
    for pipeline_id in &pipelines {
        app.downstream.push(app, *pipeline_id);
    }
    let mut queued = pipelines.len();
    let claimed = app
        .store
        .unlinked_running_bridges(now.saturating_sub(TRIGGER_GRACE_MS), RECOVERY_BATCH)
        .await?;
    for bridge in claimed {
        if status::set_status(app, &bridge, Status::Pending, None).await? {
            app.downstream.push(app, bridge.pipeline_id);
            queued += 1;
        }
    }
    Ok(queued)
}

/// Everything the worker does for one processed pipeline.
async fn handle_pipeline(app: &App, pipeline_id: i64) -> Result<()> {
    trigger::trigger_pending_bridges(app, pipeline_id).await?;
    status::sync_upstream_bridge(app, pipeline_id).await
}
