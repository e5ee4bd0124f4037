//! `resource_group` (ci-yaml.md §3.18): at most one job per group and project is executing;
//! the others wait in `waiting_for_resource` and are assigned, oldest first (GitLab's default
//! `unordered` mode picks in id order too), when the holder finishes.

use std::collections::{BTreeSet, HashSet};

use pipewright_domain::Status;
use tokio::sync::Mutex;

use crate::App;
use crate::error::Result;
use crate::job_options::ProcessingOptions;
use crate::processing::{process_locked, state_after};

/// Statuses in which a job holds its resource.
const HOLDING: [Status; 5] = [
    Status::Preparing,
    Status::Pending,
    Status::Running,
    Status::Canceling,
    Status::WaitingForCallback,
];

/// Bounds the cascade (an assignment may let processing queue more waiters elsewhere).
const MAX_ROUNDS: usize = 8;

/// Hands every free resource of the project to its oldest waiter.
pub async fn assign(app: &App, project_id: i64) -> Result<()> {
    for _ in 0..MAX_ROUNDS {
        let touched = assign_once(app, project_id).await?;
        if touched.is_empty() {
            break;
        }
        for pipeline_id in touched {
            process_locked(app, pipeline_id, &[]).await?;
        }
    }
    Ok(())
}

/// Serialises assignment rounds, so two finishing holders never hand one resource to two
/// waiters. Held only while reading and writing statuses, never while processing.
static ASSIGNING: Mutex<()> = Mutex::const_new(());

/// One assignment round; returns the pipelines whose jobs moved.
async fn assign_once(app: &App, project_id: i64) -> Result<BTreeSet<i64>> {
    let _guard = ASSIGNING.lock().await;
    let waiting = app
        .store
        .project_jobs_in(project_id, &[Status::WaitingForResource])
        .await?;
    let mut touched = BTreeSet::new();
    if waiting.is_empty() {
        return Ok(touched);
    }
    let mut held: HashSet<String> = app
        .store
        .project_jobs_in(project_id, &HOLDING)
        .await?
        .iter()
        .filter_map(|job| ProcessingOptions::of(job).resource_group)
        .collect();
    let now = pipewright_store::now_ms();
    let mut enqueued = false;
    for job in &waiting {
        let Some(group) = ProcessingOptions::of(job).resource_group else {
            // A waiter without a group (config changed under it) needs no resource.
            continue;
        };
        if held.contains(&group) {
            continue;
        }
        let update = state_after(job, Status::Pending, now);
        if app
            .store
            .update_job_state(job.id, Status::WaitingForResource, &update)
            .await?
        {
            held.insert(group);
            touched.insert(job.pipeline_id);
            enqueued = true;
        }
    }
    if enqueued {
        app.queue.tick();
    }
    Ok(touched)
}
