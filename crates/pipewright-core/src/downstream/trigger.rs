//! Creating the downstream pipeline of a `pending` bridge (GitLab's
//! `Ci::CreateDownstreamPipelineService`).

use pipewright_ciyaml::Trigger;
use pipewright_domain::Status;
use pipewright_domain::failure::FailureReason;
use pipewright_store::model::{Job, Pipeline, Project, User};

use super::BridgeOptions;
use super::ancestry::{MAX_HIERARCHY_SIZE, MAX_NESTED_CHILDREN, ancestry, loops};
use super::config::{artifact_config, child_config};
use super::context::interpolation;
use super::status::{follow, set_status};
use super::variables::{downstream_variables, expand};
use crate::App;
use crate::abilities::{ProjectAccess, project_access};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::pipelines::{
    NewPipelineRequest, OnConfigError, Upstream, create_pipeline_with, may_set_pipeline_variables,
};
use crate::processing::{process_pipeline, state_after};
use crate::protected_refs::may_push_branch;

/// Triggers every `pending` bridge of the pipeline, then processes it if any changed.
pub(super) async fn trigger_pending_bridges(app: &App, pipeline_id: i64) -> Result<()> {
    let bridges = app.store.pending_bridges(pipeline_id).await?;
    let mut changed = false;
    for bridge in &bridges {
        changed |= trigger(app, bridge).await?;
    }
    if changed {
        process_pipeline(app, pipeline_id).await?;
    }
    Ok(())
}

/// Checks the preconditions while the bridge is `pending` (a failed one fails it from
/// there, as GitLab's `ensure_preconditions!`), then `pending → running`, creates the
/// downstream pipeline and settles the bridge. False when another worker got there first.
async fn trigger(app: &App, pending: &Job) -> Result<bool> {
    let prepared = match prepare(app, pending).await {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(reason)) => return set_status(app, pending, Status::Failed, Some(reason)).await,
        Err(err) => return drop_on_error(app, pending, &err).await,
    };
    let claim = state_after(pending, Status::Running, pipewright_store::now_ms());
    if !app
        .store
        .update_job_state(pending.id, Status::Pending, &claim)
        .await?
    {
        return Ok(false);
    }
    let bridge = Job {
        status: claim.status,
        queued_at: claim.queued_at,
        started_at: claim.started_at,
        finished_at: claim.finished_at,
        ..pending.clone()
    };
    match create(app, &bridge, prepared).await {
        Ok(Outcome::Created(downstream)) if BridgeOptions::of(&bridge).is_dependent() => {
            // The downstream pipeline may already be finished (e.g. nothing to run).
            follow(app, &bridge, &downstream).await?;
        }
        Ok(Outcome::Created(_)) => {
            set_status(app, &bridge, Status::Success, None).await?;
        }
        Ok(Outcome::Failed(reason)) => {
            set_status(app, &bridge, Status::Failed, Some(reason)).await?;
        }
        Err(err) => {
            drop_on_error(app, &bridge, &err).await?;
        }
    }
    Ok(true)
}

/// A server error never leaves the bridge waiting: GitLab drops it with
/// `data_integrity_failure`.
async fn drop_on_error(app: &App, bridge: &Job, err: &Error) -> Result<bool> {
    tracing::error!(bridge = bridge.id, error = %err, "triggering a downstream pipeline failed");
    set_status(
        app,
        bridge,
        Status::Failed,
        Some(FailureReason::DataIntegrityFailure),
    )
    .await
}

enum Outcome {
    Created(Box<Pipeline>),
    Failed(FailureReason),
}

/// A bridge whose preconditions hold: where and as whom its pipeline is created.
struct Prepared {
    project: Project,
    /// The triggering user's access to `project`.
    access: ProjectAccess,
    /// The triggering user's access to the bridge's own project.
    upstream_access: ProjectAccess,
    user: User,
    upstream: Pipeline,
    trigger: Trigger,
    request: NewPipelineRequest,
}

/// GitLab's `ensure_preconditions!`, in its order: the downstream project exists and is
/// visible, is not the bridge's own project (multi-project), nesting and hierarchy limits,
/// permissions (including the target branch's protection), loops.
async fn prepare(app: &App, bridge: &Job) -> Result<Result<Prepared, FailureReason>> {
    use FailureReason::*;
    let options = BridgeOptions::of(bridge);
    let Some(trigger) = options.trigger.clone() else {
        return Ok(Err(InvalidBridgeTrigger));
    };
    let upstream = app
        .store
        .pipeline_by_id(bridge.pipeline_id)
        .await?
        .ok_or_else(|| Error::internal("bridge without pipeline"))?;
    let project = app
        .store
        .project_by_id(bridge.project_id)
        .await?
        .ok_or_else(|| Error::internal("bridge without project"))?;
    let user = match bridge.user_id {
        Some(id) => app.store.user_by_id(id).await?,
        None => None,
    };
    let Some(user) = user else {
        return Ok(Err(InsufficientBridgePermissions));
    };
    let actor = Actor::User {
        user: user.clone(),
        scopes: vec!["api".to_owned()],
    };
    let upstream_access = project_access(app, &actor, project.clone()).await?;
    let ancestry = ancestry(app, &upstream).await?;
    let context = interpolation(app, bridge, &upstream, &project, &user).await?;

    let (access, request) = match &trigger.project {
        Some(path) => {
            let path = expand(path, &context);
            let found = match app.store.project_by_full_path(&path).await? {
                Some(found) => Some(project_access(app, &actor, found).await?),
                None => None,
            };
            let Some(access) = found.filter(ProjectAccess::can_read_project) else {
                return Ok(Err(DownstreamBridgeProjectNotFound));
            };
            if access.project.id == project.id {
                return Ok(Err(InvalidBridgeTrigger));
            }
            if ancestry.len() >= MAX_HIERARCHY_SIZE {
                return Ok(Err(ReachedMaxPipelineHierarchySize));
            }
            let ref_name = trigger
                .branch
                .as_deref()
                .map(|branch| expand(branch, &context))
                .unwrap_or_else(|| access.project.default_branch.clone());
            // GitLab's `can_create_downstream_pipeline?`: run pipelines on both sides and
            // push to the target branch (protected branches included).
            if !(upstream_access.can_update_build()
                && access.can_update_build()
                && may_push_branch(app, &access, &ref_name).await?)
            {
                return Ok(Err(InsufficientBridgePermissions));
            }
            if loops(&ancestry) {
                return Ok(Err(PipelineLoopDetected));
            }
            let mut request = request(ref_name, None, "pipeline");
            request.inputs = trigger.inputs.clone().unwrap_or_default();
            (access, request)
        }
        None => {
            let same_project = ancestry
                .iter()
                .take_while(|pipeline| pipeline.project_id == project.id)
                .count();
            if same_project > MAX_NESTED_CHILDREN {
                return Ok(Err(ReachedMaxDescendantPipelinesDepth));
            }
            if ancestry.len() >= MAX_HIERARCHY_SIZE {
                return Ok(Err(ReachedMaxPipelineHierarchySize));
            }
            if !(upstream_access.can_update_build()
                && may_push_branch(app, &upstream_access, &upstream.ref_name).await?)
            {
                return Ok(Err(InsufficientBridgePermissions));
            }
            let request = request(
                upstream.ref_name.clone(),
                Some(upstream.sha.clone()),
                "parent_pipeline",
            );
            (upstream_access.clone(), request)
        }
    };
    let pipeline_variables = app.store.pipeline_variables(upstream.id).await?;
    let mut request = request;
    request.variables = downstream_variables(
        trigger.forward,
        &options.variables,
        &pipeline_variables,
        &context,
    );
    Ok(Ok(Prepared {
        project: access.project.clone(),
        access,
        upstream_access,
        user,
        upstream,
        trigger,
        request,
    }))
}

/// Creates the downstream pipeline of a running bridge (GitLab's `CreatePipelineService`
/// step): what fails here is `downstream_pipeline_creation_failed`.
async fn create(app: &App, bridge: &Job, prepared: Prepared) -> Result<Outcome> {
    use FailureReason::*;
    let Prepared {
        project,
        access,
        upstream_access,
        user,
        upstream,
        trigger,
        request,
    } = prepared;
    let config = if trigger.project.is_some() {
        None
    } else {
        let config = if trigger.include_artifacts.is_empty() {
            child_config(&trigger)
        } else {
            artifact_config(app, &upstream_access, &upstream, &trigger).await?
        };
        let Some(config) = config else {
            return Ok(Outcome::Failed(DownstreamPipelineCreationFailed));
        };
        Some(config)
    };
    if !request.variables.is_empty() && !may_set_pipeline_variables(&access) {
        return Ok(Outcome::Failed(DownstreamPipelineCreationFailed));
    }
    let created = create_pipeline_with(
        app,
        &project,
        &user,
        request,
        OnConfigError::RecordFailedPipeline,
        Some(Upstream {
            bridge_id: bridge.id,
            pipeline_id: upstream.id,
            config: config.as_deref(),
        }),
    )
    .await;
    Ok(match created {
        Ok(Some(pipeline)) if pipeline.yaml_errors.is_none() => {
            Outcome::Created(Box::new(pipeline))
        }
        // An invalid configuration gives a failed downstream pipeline, still linked.
        Ok(Some(_)) | Ok(None) => Outcome::Failed(DownstreamPipelineCreationFailed),
        Err(Error::Internal(text)) => return Err(Error::Internal(text)),
        Err(err) => {
            tracing::info!(bridge = bridge.id, error = %err, "downstream pipeline not created");
            Outcome::Failed(DownstreamPipelineCreationFailed)
        }
    })
}

fn request(ref_name: String, sha: Option<String>, source: &str) -> NewPipelineRequest {
    NewPipelineRequest {
        ref_name,
        sha,
        before_sha: None,
        source: source.to_owned(),
        variables: Vec::new(),
        inputs: Default::default(),
    }
}
