//! Reading bridges (trigger jobs) for the Jobs API: E3 and the Bridge entity of E11.

use std::collections::HashMap;

use pipewright_domain::Status;
use pipewright_store::model::{Job, Pipeline, Project};

use crate::App;
use crate::abilities::{ProjectAccess, project_access};
use crate::auth::Actor;
use crate::downstream::BridgeOptions;
use crate::downstream::context::expanded_target;
use crate::error::{Error, Result};
use crate::jobs::{JobView, views};
use crate::protected_refs::may_push_branch;

/// A bridge with everything its entity shows.
#[derive(Debug, Clone)]
pub struct BridgeView {
    pub job: JobView,
    pub downstream: Option<DownstreamPipeline>,
}

/// The pipeline a bridge triggered, with its project's path for its `web_url`.
#[derive(Debug, Clone)]
pub struct DownstreamPipeline {
    pub pipeline: Pipeline,
    pub project_full_path: String,
}

/// E3: the pipeline's bridges, newest first, latest attempts unless `include_retried`,
/// filtered by `statuses` (empty = all). Needs `read_build` on the project.
pub async fn list_pipeline_bridges(
    app: &App,
    access: &ProjectAccess,
    pipeline: &Pipeline,
    include_retried: bool,
    statuses: &[Status],
) -> Result<Vec<Job>> {
    if !access.can_read_build() {
        return Err(Error::forbidden());
    }
    let mut bridges: Vec<Job> = app
        .store
        .pipeline_jobs(pipeline.id, include_retried)
        .await?
        .into_iter()
        .filter(|job| !job.is_build())
        .filter(|job| statuses.is_empty() || statuses.contains(&job.status))
        .collect();
    bridges.reverse();
    Ok(bridges)
}

/// Views of bridges of one project with a fixed number of queries.
pub async fn bridge_views(app: &App, project: &Project, jobs: Vec<Job>) -> Result<Vec<BridgeView>> {
    let ids: Vec<i64> = jobs.iter().map(|job| job.id).collect();
    let links = app.store.links_of_bridges(&ids).await?;
    let downstream_ids: Vec<i64> = links
        .iter()
        .map(|link| link.downstream_pipeline_id)
        .collect();
    let pipelines: HashMap<i64, Pipeline> = app
        .store
        .pipelines_by_ids(&downstream_ids)
        .await?
        .into_iter()
        .map(|pipeline| (pipeline.id, pipeline))
        .collect();
    let mut project_ids: Vec<i64> = pipelines.values().map(|p| p.project_id).collect();
    project_ids.sort_unstable();
    project_ids.dedup();
    let paths: HashMap<i64, String> = app
        .store
        .project_paths(&project_ids)
        .await?
        .into_iter()
        .collect();
    let downstream_of: HashMap<i64, DownstreamPipeline> = links
        .iter()
        .filter_map(|link| {
            let pipeline = pipelines.get(&link.downstream_pipeline_id)?.clone();
            let project_full_path = paths.get(&pipeline.project_id)?.clone();
            Some((
                link.bridge_id,
                DownstreamPipeline {
                    pipeline,
                    project_full_path,
                },
            ))
        })
        .collect();
    Ok(views(app, project, jobs)
        .await?
        .into_iter()
        .map(|job| BridgeView {
            downstream: downstream_of.get(&job.job.id).cloned(),
            job,
        })
        .collect())
}

/// The view of one bridge.
pub async fn bridge_view(app: &App, project: &Project, job: Job) -> Result<BridgeView> {
    bridge_views(app, project, vec![job])
        .await?
        .pop()
        .ok_or_else(Error::record_not_found)
}

/// `play_job` on a bridge: the caller may push to the downstream project's target branch
/// (the bridge's own ref for a child pipeline).
pub(crate) async fn may_play(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    bridge: &Job,
) -> Result<bool> {
    if BridgeOptions::of(bridge).trigger.is_none() {
        return Ok(false);
    }
    let Some(user) = actor.user() else {
        return Ok(false);
    };
    let Some((path, branch)) = expanded_target(app, bridge, user).await? else {
        // A child pipeline runs on the bridge's own ref.
        return may_push_branch(app, access, &bridge.ref_name).await;
    };
    let Some(downstream) = app.store.project_by_full_path(&path).await? else {
        return Ok(false);
    };
    let downstream = project_access(app, actor, downstream).await?;
    if !downstream.can_read_project() {
        return Ok(false);
    }
    let branch = branch.unwrap_or_else(|| downstream.project.default_branch.clone());
    may_push_branch(app, &downstream, &branch).await
}
