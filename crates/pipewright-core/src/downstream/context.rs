//! The bridge's own variables: what forwarded values and `trigger:project` /
//! `trigger:branch` are expanded against.

use std::collections::HashMap;

use pipewright_store::model::{Job, Pipeline, Project, User};

use super::BridgeOptions;
use crate::App;
use crate::error::{Error, Result};
use crate::variables::{PipelineFacts, pipeline_variables, user_variables};

/// The bridge's own variables, against which forwarded values and `trigger:project` /
/// `trigger:branch` are expanded.
pub(super) async fn interpolation(
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

/// A multi-project bridge's downstream project path and branch (`None` = the project's
/// default branch), expanded as triggering expands them, as `user` would trigger it.
pub(crate) async fn expanded_target(
    app: &App,
    bridge: &Job,
    user: &User,
) -> Result<Option<(String, Option<String>)>> {
    let Some(trigger) = BridgeOptions::of(bridge).trigger else {
        return Ok(None);
    };
    let Some(path) = trigger.project else {
        return Ok(None);
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
    let context = interpolation(app, bridge, &upstream, &project, user).await?;
    Ok(Some((
        super::variables::expand(&path, &context),
        trigger
            .branch
            .map(|branch| super::variables::expand(&branch, &context)),
    )))
}
