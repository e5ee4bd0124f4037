//! A `strategy: depend` bridge follows its downstream pipeline.

use pipewright_domain::Status;
use pipewright_domain::failure::FailureReason;
use pipewright_store::model::{Job, Pipeline};

use super::BridgeOptions;
use crate::App;
use crate::error::Result;
use crate::processing::{process_pipeline, state_after};

/// What a dependent bridge becomes when its downstream pipeline has `downstream`
/// (`Ci::Bridge#inherit_status_from_downstream!`, current GitLab): `None` while the
/// downstream pipeline is not finished.
pub(crate) fn inherited_status(downstream: Status) -> Option<(Status, Option<FailureReason>)> {
    match downstream {
        Status::Success => Some((Status::Success, None)),
        Status::Canceled => Some((Status::Canceled, None)),
        // `drop!` without a reason.
        Status::Failed | Status::Skipped => {
            Some((Status::Failed, Some(FailureReason::UnknownFailure)))
        }
        _ => None,
    }
}

/// If `pipeline_id` was triggered by a dependent bridge, brings the bridge in line with it
/// and processes the upstream pipeline when the bridge changed.
pub(super) async fn sync_upstream_bridge(app: &App, pipeline_id: i64) -> Result<()> {
    let Some(link) = app.store.upstream_link(pipeline_id).await? else {
        return Ok(());
    };
    let Some(bridge) = app.store.job_by_id_fresh(link.bridge_id).await? else {
        return Ok(());
    };
    if bridge.retried || !BridgeOptions::of(&bridge).is_dependent() {
        return Ok(());
    }
    let Some(downstream) = app.store.pipeline_by_id(pipeline_id).await? else {
        return Ok(());
    };
    if follow(app, &bridge, &downstream).await? {
        process_pipeline(app, bridge.pipeline_id).await?;
    }
    Ok(())
}

/// Moves a dependent `bridge` to the status its `downstream` pipeline implies; true when it
/// changed. A finished downstream pipeline sets the bridge whatever it was (GitLab's
/// `inherit_*` events transition from any status). A finished bridge whose downstream
/// pipeline runs again (a job was retried there) goes back to `pending` — it does not trigger
/// again, it has its pipeline — and the jobs its result had skipped are reset, like GitLab's
/// `reset_source_bridge!`.
pub(super) async fn follow(app: &App, bridge: &Job, downstream: &Pipeline) -> Result<bool> {
    match inherited_status(downstream.status) {
        Some((to, reason)) if bridge.status != to => set_status(app, bridge, to, reason).await,
        // Not from `canceled`: only a retry in the downstream pipeline reopens the bridge in
        // GitLab, and a cancelled bridge's downstream pipeline may simply still be running.
        None if matches!(bridge.status, Status::Success | Status::Failed) => {
            if !set_status(app, bridge, Status::Pending, None).await? {
                return Ok(false);
            }
            crate::job_actions::reset_skipped_after(app, bridge.pipeline_id, bridge.id).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Compare-and-set of a bridge's status from the one it has in `bridge`.
pub(super) async fn set_status(
    app: &App,
    bridge: &Job,
    to: Status,
    reason: Option<FailureReason>,
) -> Result<bool> {
    let mut update = state_after(bridge, to, pipewright_store::now_ms());
    update.failure_reason = reason.map(|reason| reason.as_str().to_owned());
    if !to.is_completed() {
        // Alive again: the earlier finish no longer holds.
        update.finished_at = None;
    }
    Ok(app
        .store
        .update_job_state(bridge.id, bridge.status, &update)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_downstream_statuses_map_like_gitlab() {
        assert_eq!(
            inherited_status(Status::Success),
            Some((Status::Success, None))
        );
        assert_eq!(
            inherited_status(Status::Canceled),
            Some((Status::Canceled, None))
        );
        for status in [Status::Failed, Status::Skipped] {
            assert_eq!(
                inherited_status(status),
                Some((Status::Failed, Some(FailureReason::UnknownFailure)))
            );
        }
    }

    #[test]
    fn unfinished_downstream_statuses_leave_the_bridge_running() {
        for status in [
            Status::Created,
            Status::Pending,
            Status::Running,
            Status::Manual,
            Status::Scheduled,
            Status::Canceling,
            Status::WaitingForResource,
            Status::Preparing,
        ] {
            assert_eq!(inherited_status(status), None, "{status:?}");
        }
    }
}
