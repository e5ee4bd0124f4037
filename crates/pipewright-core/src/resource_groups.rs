//! `resource_group` (ci-yaml.md §3.18): at most one job per group and project is executing;
//! the others wait in `waiting_for_resource`. When the holder finishes, the group's process
//! mode chooses who is next ([`pipewright_domain::resource_group::next_holder`]); the mode is
//! read and set through the resource groups API.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use pipewright_domain::Status;
use pipewright_domain::resource_group::{Candidate, ProcessMode, next_holder};
pub use pipewright_store::ResourceGroup;
use tokio::sync::Mutex;

use crate::App;
use crate::abilities::ProjectAccess;
use crate::error::{Error, Result};
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

/// Jobs that will want their group's resource (the ordered modes wait for them).
const UPCOMING: [Status; 3] = [
    Status::Created,
    Status::Scheduled,
    Status::WaitingForResource,
];

/// Bounds the cascade (an assignment may let processing queue more waiters elsewhere).
const MAX_ROUNDS: usize = 8;

/// Hands every free resource of the project to the job its process mode picks.
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
    let mut touched = BTreeSet::new();
    let upcoming = app.store.project_jobs_in(project_id, &UPCOMING).await?;
    if !upcoming
        .iter()
        .any(|job| job.status == Status::WaitingForResource)
    {
        return Ok(touched);
    }
    // Group → its upcoming jobs, in id order.
    let mut groups: BTreeMap<String, Vec<&pipewright_store::model::Job>> = BTreeMap::new();
    for job in &upcoming {
        if let Some(group) = ProcessingOptions::of(job).resource_group {
            groups.entry(group).or_default().push(job);
        }
    }
    let held: HashSet<String> = app
        .store
        .project_jobs_in(project_id, &HOLDING)
        .await?
        .iter()
        .filter_map(|job| ProcessingOptions::of(job).resource_group)
        .collect();
    let now = pipewright_store::now_ms();
    let mut enqueued = false;
    for (key, jobs) in &groups {
        if held.contains(key) || !jobs.iter().any(|j| j.status == Status::WaitingForResource) {
            continue;
        }
        let group = app.store.ensure_resource_group(project_id, key).await?;
        let mode = group
            .process_mode
            .parse::<ProcessMode>()
            .unwrap_or_default();
        let candidates: Vec<Candidate> = jobs
            .iter()
            .map(|job| Candidate {
                id: job.id,
                pipeline_id: job.pipeline_id,
                status: job.status,
            })
            .collect();
        let Some(next) = next_holder(mode, &candidates) else {
            continue;
        };
        let Some(job) = jobs.iter().find(|job| job.id == next) else {
            continue;
        };
        // GitLab's `enqueue_upcoming`: an outdated deployment job fails instead (the next
        // round hands the resource on).
        if crate::deployments::fail_if_outdated(app, job).await? {
            touched.insert(job.pipeline_id);
            continue;
        }
        let update = state_after(job, Status::Pending, now);
        if app
            .store
            .update_job_state(job.id, Status::WaitingForResource, &update)
            .await?
        {
            touched.insert(job.pipeline_id);
            enqueued = true;
        }
    }
    // A waiter whose group vanished from its options (config changed under it) needs no
    // resource.
    for job in upcoming.iter().filter(|job| {
        job.status == Status::WaitingForResource
            && ProcessingOptions::of(job).resource_group.is_none()
    }) {
        let update = state_after(job, Status::Pending, now);
        if app
            .store
            .update_job_state(job.id, Status::WaitingForResource, &update)
            .await?
        {
            touched.insert(job.pipeline_id);
            enqueued = true;
        }
    }
    if enqueued {
        app.queue.tick();
    }
    Ok(touched)
}

// ---- resource groups API (`/projects/:id/resource_groups`) ------------------------------

/// GitLab's `read_resource_group` / `update_resource_group`: Developer+ with CI/CD on.
fn require_access(access: &ProjectAccess) -> Result<()> {
    if access.can_update_build() {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// Grape's `not_found!` without a resource name.
fn not_found() -> Error {
    Error::NotFound("404 Not Found".to_owned())
}

/// `GET /projects/:id/resource_groups`.
pub async fn list_resource_groups(app: &App, access: &ProjectAccess) -> Result<Vec<ResourceGroup>> {
    require_access(access)?;
    Ok(app.store.resource_groups(access.project.id).await?)
}

/// `GET /projects/:id/resource_groups/:key`.
pub async fn find_resource_group(
    app: &App,
    access: &ProjectAccess,
    key: &str,
) -> Result<ResourceGroup> {
    require_access(access)?;
    app.store
        .resource_group(access.project.id, key)
        .await?
        .ok_or_else(not_found)
}

/// `GET /projects/:id/resource_groups/:key/upcoming_jobs`: GitLab's
/// `upcoming_processables`, the jobs that will take the resource in the order the group's
/// process mode hands it out (`unordered` and `newest_ready_first`: waiting jobs only).
pub async fn upcoming_jobs(
    app: &App,
    access: &ProjectAccess,
    key: &str,
) -> Result<Vec<crate::jobs::JobView>> {
    let group = find_resource_group(app, access, key).await?;
    let mode = group
        .process_mode
        .parse::<ProcessMode>()
        .unwrap_or_default();
    let mut jobs: Vec<pipewright_store::model::Job> = app
        .store
        .project_jobs_in(access.project.id, &UPCOMING)
        .await?
        .into_iter()
        .filter(|job| ProcessingOptions::of(job).resource_group.as_deref() == Some(key))
        .filter(|job| {
            job.status == Status::WaitingForResource
                || matches!(mode, ProcessMode::OldestFirst | ProcessMode::NewestFirst)
        })
        .collect();
    // Inside one pipeline waiting jobs come first (see `next_holder`).
    let in_pipeline =
        |job: &pipewright_store::model::Job| (job.status != Status::WaitingForResource, job.id);
    match mode {
        ProcessMode::Unordered => jobs.sort_by_key(|job| job.id),
        ProcessMode::OldestFirst => jobs.sort_by_key(|job| (job.pipeline_id, in_pipeline(job))),
        ProcessMode::NewestFirst => {
            jobs.sort_by_key(|job| (std::cmp::Reverse(job.pipeline_id), in_pipeline(job)));
        }
        ProcessMode::NewestReadyFirst => {
            jobs.sort_by_key(|job| (std::cmp::Reverse(job.pipeline_id), job.id));
        }
    }
    crate::jobs::views(app, &access.project, jobs).await
}

/// `PUT /projects/:id/resource_groups/:key` with `process_mode`; a changed mode applies to
/// the next assignment, which is attempted at once.
pub async fn update_resource_group(
    app: &App,
    access: &ProjectAccess,
    key: &str,
    process_mode: Option<&str>,
) -> Result<ResourceGroup> {
    require_access(access)?;
    let current = find_resource_group(app, access, key).await?;
    let Some(mode) = process_mode else {
        return Ok(current);
    };
    let mode = mode
        .parse::<ProcessMode>()
        .map_err(|_| Error::Param("process_mode does not have a valid value".to_owned()))?;
    let updated = app
        .store
        .set_resource_group_process_mode(access.project.id, key, mode.as_str())
        .await?
        .ok_or_else(not_found)?;
    assign(app, access.project.id).await?;
    Ok(updated)
}
