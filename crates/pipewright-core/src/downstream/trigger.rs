//! Creating the downstream pipeline of a `pending` bridge (GitLab's
//! `Ci::CreateDownstreamPipelineService`).

use std::collections::HashMap;

use pipewright_ciyaml::Trigger;
use pipewright_domain::Status;
use pipewright_domain::failure::FailureReason;
use pipewright_store::model::{Job, Pipeline, Project, User};

use super::BridgeOptions;
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
use crate::variables::{PipelineFacts, pipeline_variables, user_variables};

/// GitLab's `MAX_NESTED_CHILDREN`: a pipeline and its same-project ancestors may number at
/// most this many before a bridge in it may no longer create a child.
const MAX_NESTED_CHILDREN: usize = 2;
/// A project may appear this many times in the multi-project chain above a bridge.
const MAX_SAME_PROJECT_UPSTREAMS: usize = 2;
/// GitLab's limit on a pipeline hierarchy; also bounds the ancestry walk.
const MAX_HIERARCHY_SIZE: usize = 1000;

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
            (access, request(ref_name, None, "pipeline"))
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
    }
}

/// A child pipeline's configuration: exactly the included local files.
fn child_config(trigger: &Trigger) -> Option<String> {
    if trigger.include.is_empty() {
        return None;
    }
    let mut config = String::from("include:\n");
    for path in &trigger.include {
        // A JSON string is a valid YAML scalar, whatever the path contains.
        let quoted = serde_json::to_string(path).ok()?;
        config.push_str(&format!("  - local: {quoted}\n"));
    }
    Some(config)
}

/// Largest generated configuration accepted (GitLab caps config files at 4 MiB).
const MAX_GENERATED_CONFIG: u64 = 4 * 1024 * 1024;

/// A dynamic child pipeline's configuration: the file `artifact` of the latest job called
/// `job` in the bridge's pipeline (`trigger:include:artifact`). `None` when it cannot be
/// read; GitLab takes one such file, not mixed with local ones.
async fn artifact_config(
    app: &App,
    access: &ProjectAccess,
    pipeline: &Pipeline,
    trigger: &Trigger,
) -> Result<Option<String>> {
    let [include] = trigger.include_artifacts.as_slice() else {
        return Ok(None);
    };
    if !trigger.include.is_empty() {
        return Ok(None);
    }
    let Some(job) = app
        .store
        .pipeline_jobs(pipeline.id, false)
        .await?
        .into_iter()
        .find(|job| job.is_build() && job.name == include.job)
    else {
        return Ok(None);
    };
    let mut entry =
        match crate::artifacts::download_entry(app, access, job.id, &include.artifact).await {
            Ok(entry) => entry,
            Err(Error::Internal(text)) => return Err(Error::Internal(text)),
            Err(_) => return Ok(None),
        };
    if entry.size > MAX_GENERATED_CONFIG {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = entry.chunks.recv().await {
        bytes.extend_from_slice(&chunk.map_err(Error::internal)?);
    }
    Ok(String::from_utf8(bytes).ok())
}

/// `pipeline` and the pipelines above it, nearest first.
async fn ancestry(app: &App, pipeline: &Pipeline) -> Result<Vec<Pipeline>> {
    let mut chain = vec![pipeline.clone()];
    while chain.len() < MAX_HIERARCHY_SIZE {
        let Some(current) = chain.last() else { break };
        let Some(link) = app.store.upstream_link(current.id).await? else {
            break;
        };
        let Some(parent) = app.store.pipeline_by_id(link.upstream_pipeline_id).await? else {
            break;
        };
        chain.push(parent);
    }
    Ok(chain)
}

/// GitLab's cyclic-dependency check: among the pipelines above the bridge (child pipelines
/// do not count), one (project, ref, source) appears more than twice — one cycle
/// `A → B → A` is allowed, `A → B → A → B → A` is not.
fn loops(ancestry: &[Pipeline]) -> bool {
    let mut seen: HashMap<(i64, &str, &str), usize> = HashMap::new();
    for pipeline in ancestry.iter().filter(|p| p.source != "parent_pipeline") {
        let key = (
            pipeline.project_id,
            pipeline.ref_name.as_str(),
            pipeline.source.as_str(),
        );
        let count = seen.entry(key).or_default();
        *count += 1;
        if *count > MAX_SAME_PROJECT_UPSTREAMS {
            return true;
        }
    }
    false
}

/// The bridge's own variables, against which forwarded values and `trigger:project` /
/// `trigger:branch` are expanded.
async fn interpolation(
    app: &App,
    bridge: &Job,
    upstream: &Pipeline,
    project: &Project,
    user: &User,
) -> Result<HashMap<String, String>> {
    let namespace = app
        .store
        .namespace_by_id(project.namespace_id)
        .await?
        .ok_or_else(|| Error::internal("project without namespace"))?;
    let commit = {
        let repo = app.repository(project.id);
        let sha = upstream.sha.clone();
        tokio::task::spawn_blocking(move || repo.commit(&sha)).await??
    };
    let mut vars = pipeline_variables(
        app,
        &PipelineFacts {
            project,
            namespace: &namespace,
            ref_name: &upstream.ref_name,
            tag: upstream.tag,
            sha: &upstream.sha,
            before_sha: &upstream.before_sha,
            source: &upstream.source,
            commit: commit.as_ref(),
            pipeline: Some(upstream),
        },
    );
    let project_url = format!("{}/{}", app.config.external_url, project.full_path);
    vars.extend([
        ("CI_JOB_ID".to_owned(), bridge.id.to_string()),
        ("CI_JOB_NAME".to_owned(), bridge.name.clone()),
        ("CI_JOB_STAGE".to_owned(), bridge.stage.clone()),
        (
            "CI_JOB_URL".to_owned(),
            format!("{project_url}/-/jobs/{}", bridge.id),
        ),
    ]);
    vars.extend(user_variables(user));
    for variable in &BridgeOptions::of(bridge).variables {
        vars.push((variable.key.clone(), variable.value.clone()));
    }
    // Dotenv reports of the bridge's dependencies win over YAML variables, so
    // `VERSION: $BUILD_VERSION` forwards what an earlier job computed.
    let dependencies: Vec<i64> = crate::artifacts::dependency_jobs(app, bridge)
        .await?
        .iter()
        .map(|job| job.id)
        .collect();
    if !dependencies.is_empty() {
        let mut dotenv = app.store.dotenv_variables_by_job_ids(&dependencies).await?;
        dotenv.sort_by_key(|variable| {
            dependencies
                .iter()
                .position(|id| *id == variable.job_id)
                .unwrap_or(usize::MAX)
        });
        vars.extend(
            dotenv
                .into_iter()
                .map(|variable| (variable.key, variable.value)),
        );
    }
    for variable in app.store.pipeline_variables(upstream.id).await? {
        vars.push((variable.key, variable.value));
    }
    Ok(vars.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(id: i64, project_id: i64, source: &str) -> Pipeline {
        Pipeline {
            id,
            project_id,
            iid: id,
            ref_name: "main".into(),
            tag: false,
            sha: "0".repeat(40),
            before_sha: "0".repeat(40),
            source: source.into(),
            status: Status::Running,
            user_id: None,
            yaml_errors: None,
            created_at: 0,
            updated_at: 0,
            started_at: None,
            finished_at: None,
            duration: None,
        }
    }

    fn trigger(include: &[&str]) -> Trigger {
        Trigger {
            project: None,
            branch: None,
            include: include.iter().map(|path| (*path).to_owned()).collect(),
            include_artifacts: Vec::new(),
            strategy: None,
            forward: pipewright_ciyaml::Forward {
                yaml_variables: true,
                pipeline_variables: false,
            },
        }
    }

    #[test]
    fn child_config_includes_exactly_the_listed_files() {
        assert_eq!(
            child_config(&trigger(&["ci/a.yml", "b: c.yml"])).as_deref(),
            Some("include:\n  - local: \"ci/a.yml\"\n  - local: \"b: c.yml\"\n")
        );
        assert_eq!(child_config(&trigger(&[])), None);
    }

    #[test]
    fn a_project_may_appear_twice_above_a_bridge() {
        // The same (project, ref, source) twice is fine, a third time loops.
        let twice = [
            pipeline(4, 1, "pipeline"),
            pipeline(3, 2, "pipeline"),
            pipeline(2, 1, "pipeline"),
            pipeline(1, 2, "push"),
        ];
        assert!(!loops(&twice));
        let thrice = [
            pipeline(6, 1, "pipeline"),
            pipeline(5, 2, "pipeline"),
            pipeline(4, 1, "pipeline"),
            pipeline(3, 2, "pipeline"),
            pipeline(2, 1, "pipeline"),
            pipeline(1, 2, "push"),
        ];
        assert!(loops(&thrice));
        // Another ref is another configuration.
        let mut other_ref = thrice.clone();
        other_ref[0].ref_name = "other".into();
        assert!(!loops(&other_ref));
    }

    #[test]
    fn child_pipelines_do_not_count_as_loops() {
        let chain = [
            pipeline(4, 1, "parent_pipeline"),
            pipeline(3, 1, "parent_pipeline"),
            pipeline(2, 1, "parent_pipeline"),
            pipeline(1, 1, "push"),
        ];
        assert!(!loops(&chain));
    }
}
