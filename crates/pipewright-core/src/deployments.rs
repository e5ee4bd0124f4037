//! Jobs with `environment:` (ci-yaml.md §3.19) as GitLab records them: each links to its
//! environment (created on first use), a `start` job also gets a deployment whose status
//! follows the job's, a successful `stop` job stops the environment, and an older
//! deployment job that would overwrite a newer successful deployment is failed with
//! `failed_outdated_deployment_job` ("Prevent outdated deployment jobs").
//!
//! Processing calls [`sync_pipeline`] after every pass; it costs two indexed reads when
//! nothing changed (new jobs since the last look, linked jobs whose status moved).

use std::collections::{HashMap, HashSet};

use pipewright_ciyaml::JobOptions;
use pipewright_domain::Status;
use pipewright_domain::failure::FailureReason;
use pipewright_store::model::{Job, Pipeline};
use pipewright_store::{
    DeployedEnvironment, JobEnvironmentChange, JobEnvironmentSync, NewDeployment, NewEnvironment,
    NewJobEnvironment,
};

use crate::App;
use crate::environment::{environment_slug, environment_variables, guess_tier};
use crate::error::Result;

/// Rounds of "drop outdated jobs, process again" one sync may take.
const MAX_ROUNDS: usize = 4;

/// Links the pipeline's new environment jobs, reflects job statuses onto deployments and
/// environments, and fails enqueued deployment jobs that are outdated.
pub async fn sync_pipeline(app: &App, pipeline_id: i64) -> Result<()> {
    for _ in 0..MAX_ROUNDS {
        link_new_jobs(app, pipeline_id).await?;
        let changes = app.store.job_environment_changes(pipeline_id).await?;
        if changes.is_empty() {
            return Ok(());
        }
        let dropped = drop_outdated(app, &changes).await?;
        if dropped {
            // The failed jobs move their pipeline on; the next round reflects them.
            crate::processing::process_locked(app, pipeline_id, &[]).await?;
            continue;
        }
        apply(app, changes).await?;
        return Ok(());
    }
    Ok(())
}

/// Reflects one job's status (a runner just took it: no processing runs then).
pub async fn sync_job(app: &App, job: &Job) -> Result<()> {
    if !mentions_environment(job) {
        return Ok(());
    }
    if let Some(change) = app.store.job_environment_change(job.id).await? {
        apply(app, vec![change]).await?;
    }
    Ok(())
}

/// A runner is about to take `job`: an outdated deployment job is failed instead (GitLab
/// checks when it enqueues; this closes the gap between enqueueing and the runner's claim).
/// Whether the job was failed.
pub async fn drop_if_outdated(app: &App, job: &Job) -> Result<bool> {
    if !is_outdated(app, job).await? {
        return Ok(false);
    }
    fail_outdated(app, job).await?;
    crate::processing::process_pipeline(app, job.pipeline_id).await?;
    Ok(true)
}

/// Fails `job` when it is an outdated deployment job, without processing its pipeline (the
/// caller does); whether it was failed.
pub async fn fail_if_outdated(app: &App, job: &Job) -> Result<bool> {
    Ok(is_outdated(app, job).await? && fail_outdated(app, job).await?)
}

/// GitLab's `has_outdated_deployment?`: a deployment job whose deployment is older than the
/// environment's last successful one (and not of the same commit), in a project that
/// prevents outdated deployment jobs. Finished jobs count only when rollbacks by retry are
/// not allowed.
pub async fn is_outdated(app: &App, job: &Job) -> Result<bool> {
    if !mentions_environment(job) {
        return Ok(false);
    }
    let Some(deployment) = app.store.deployment_by_job(job.id).await? else {
        return Ok(false);
    };
    let (enabled, rollback_allowed) = app
        .store
        .forward_deployment_settings(job.project_id)
        .await?;
    if !enabled || (rollback_allowed && job.status.is_completed()) {
        return Ok(false);
    }
    let Some(last) = app
        .store
        .last_successful_deployment(deployment.environment_id)
        .await?
    else {
        return Ok(false);
    };
    Ok(last.id != deployment.id && last.sha != deployment.sha && deployment.id < last.id)
}

/// Cheap pre-check: jobs without the key never parse their options here.
fn mentions_environment(job: &Job) -> bool {
    job.options.contains("\"environment\"")
}

async fn fail_outdated(app: &App, job: &Job) -> Result<bool> {
    let mut update =
        crate::processing::state_after(job, Status::Failed, pipewright_store::now_ms());
    update.failure_reason = Some(
        FailureReason::FailedOutdatedDeploymentJob
            .as_str()
            .to_owned(),
    );
    Ok(app
        .store
        .update_job_state(job.id, job.status, &update)
        .await?)
}

/// Fails the enqueued (pending) deployment jobs among `changes` that are outdated; whether
/// any was.
async fn drop_outdated(app: &App, changes: &[JobEnvironmentChange]) -> Result<bool> {
    let mut dropped = false;
    for change in changes {
        if change.deployment_id.is_none() || change.job_status != Status::Pending.as_str() {
            continue;
        }
        let Some(job) = app.store.job_by_id_fresh(change.job_id).await? else {
            continue;
        };
        if job.status == Status::Pending && is_outdated(app, &job).await? {
            dropped |= fail_outdated(app, &job).await?;
        }
    }
    Ok(dropped)
}

/// GitLab's `Deployment#sync_status_with`: the job statuses a deployment has.
fn deployment_status(job_status: &str) -> Option<&'static str> {
    Some(match job_status {
        "created" => "created",
        "running" => "running",
        "success" => "success",
        "failed" => "failed",
        "canceled" => "canceled",
        "skipped" => "skipped",
        _ => return None,
    })
}

async fn apply(app: &App, changes: Vec<JobEnvironmentChange>) -> Result<()> {
    let now = pipewright_store::now_ms();
    let syncs: Vec<(JobEnvironmentSync, String)> = changes
        .iter()
        .map(|change| {
            let deployment = change.deployment_id.and_then(|id| {
                let status = deployment_status(&change.job_status)?;
                if change.deployment_status.as_deref() == Some(status) {
                    return None;
                }
                let finished = matches!(status, "success" | "failed" | "canceled")
                    .then(|| change.job_finished_at.unwrap_or(now));
                Some((id, status.to_owned(), finished))
            });
            (
                JobEnvironmentSync {
                    job_id: change.job_id,
                    synced_status: change.job_status.clone(),
                    deployment,
                },
                change.synced_status.clone(),
            )
        })
        .collect();
    let applied: HashSet<i64> = app
        .store
        .apply_job_environment_syncs(&syncs)
        .await?
        .into_iter()
        .collect();
    for change in changes.iter().filter(|c| applied.contains(&c.job_id)) {
        match (change.action.as_str(), change.job_status.as_str()) {
            ("start", "success") => {
                let finished = change.job_finished_at.unwrap_or(now);
                let auto_stop_at = change
                    .auto_stop_in_seconds
                    .map(|seconds| finished.saturating_add(seconds.saturating_mul(1000)));
                app.store
                    .record_environment_deployed(
                        change.environment_id,
                        &DeployedEnvironment {
                            external_url: change.url.clone(),
                            tier: change.tier.clone(),
                            auto_stop_at,
                        },
                    )
                    .await?;
            }
            ("stop", "success") => {
                app.store
                    .set_environment_state(
                        change.environment_id,
                        &["available", "stopping"],
                        "stopped",
                    )
                    .await?;
            }
            // A stop job that did not make it leaves the environment running.
            ("stop", "failed" | "canceled") => {
                app.store
                    .set_environment_state(change.environment_id, &["stopping"], "available")
                    .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// An environment job as processing first sees it.
struct Planned {
    name: String,
    tier: Option<String>,
    link: NewJobEnvironment,
}

/// Links the jobs of the pipeline that were not looked at yet (a new pipeline, a retry).
async fn link_new_jobs(app: &App, pipeline_id: i64) -> Result<()> {
    let jobs = app.store.pipeline_jobs_to_link(pipeline_id).await?;
    let Some(last_job_id) = jobs.last().map(|job| job.id) else {
        return Ok(());
    };
    let with_environment: Vec<(&Job, JobOptions)> = jobs
        .iter()
        .filter(|job| mentions_environment(job))
        .filter_map(|job| {
            let options = serde_json::from_str::<JobOptions>(&job.options).ok()?;
            options.environment.as_ref()?;
            Some((job, options))
        })
        .collect();
    if with_environment.is_empty() {
        app.store
            .link_job_environments(pipeline_id, &[], last_job_id)
            .await?;
        return Ok(());
    }
    let Some(pipeline) = app.store.pipeline_by_id(pipeline_id).await? else {
        return Ok(());
    };
    let predefined = pipeline_known_variables(app, &pipeline).await?;
    let given: Vec<(String, String)> = app
        .store
        .pipeline_variables(pipeline_id)
        .await?
        .into_iter()
        .map(|variable| (variable.key, variable.value))
        .collect();
    let planned: Vec<Planned> = with_environment
        .iter()
        .filter_map(|(job, options)| plan_link(job, options, &pipeline, &predefined, &given))
        .collect();
    // The first job naming an environment decides how it is created.
    let mut wanted: Vec<NewEnvironment> = Vec::new();
    for plan in &planned {
        if wanted.iter().any(|new| new.name == plan.name) {
            continue;
        }
        wanted.push(NewEnvironment {
            name: plan.name.clone(),
            slug: environment_slug(&plan.name),
            external_url: None,
            tier: plan
                .tier
                .clone()
                .unwrap_or_else(|| guess_tier(&plan.name).to_owned()),
            auto_stop_at: None,
        });
    }
    let environments: HashMap<String, i64> = app
        .store
        .ensure_environments(pipeline.project_id, &wanted)
        .await?
        .into_iter()
        .map(|environment| (environment.name, environment.id))
        .collect();
    let links: Vec<NewJobEnvironment> = planned
        .into_iter()
        .filter_map(|plan| {
            let environment_id = *environments.get(&plan.name)?;
            Some(NewJobEnvironment {
                environment_id,
                ..plan.link
            })
        })
        .collect();
    app.store
        .link_job_environments(pipeline_id, &links, last_job_id)
        .await?;
    Ok(())
}

/// The predefined variables every job of the pipeline expands its environment with (part of
/// GitLab's `simple_variables`).
async fn pipeline_known_variables(app: &App, pipeline: &Pipeline) -> Result<Vec<(String, String)>> {
    let mut known = Vec::new();
    let project = app.store.project_by_id(pipeline.project_id).await?;
    if let Some(project) = &project
        && let Some(namespace) = app.store.namespace_by_id(project.namespace_id).await?
    {
        let commit = crate::commit_cache::commit(app, project.id, &pipeline.sha).await?;
        let facts = crate::variables::PipelineFacts {
            project,
            namespace: &namespace,
            ref_name: &pipeline.ref_name,
            tag: pipeline.tag,
            sha: &pipeline.sha,
            before_sha: &pipeline.before_sha,
            source: &pipeline.source,
            commit: commit.as_ref(),
            pipeline: Some(pipeline),
        };
        known.extend(crate::variables::pipeline_variables(app, &facts));
    }
    Ok(known)
}

fn plan_link(
    job: &Job,
    options: &JobOptions,
    pipeline: &Pipeline,
    predefined: &[(String, String)],
    given: &[(String, String)],
) -> Option<Planned> {
    let environment = options.environment.as_ref()?;
    let mut known: Vec<(String, String)> = vec![
        ("CI_JOB_NAME".into(), job.name.clone()),
        ("CI_JOB_NAME_SLUG".into(), crate::variables::slug(&job.name)),
        ("CI_JOB_STAGE".into(), job.stage.clone()),
    ];
    known.extend(predefined.iter().cloned());
    known.extend(
        options
            .variables
            .iter()
            .map(|variable| (variable.key.clone(), variable.value.clone())),
    );
    // Variables given to the pipeline win over the YAML's.
    known.extend(given.iter().cloned());
    let variables = environment_variables(environment, &known);
    let value = |key: &str| {
        variables
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    let name = value("CI_ENVIRONMENT_NAME")?;
    // GitLab refuses to create an environment without a valid name; such a job runs
    // without one.
    if !crate::environments::valid_name(&name) {
        return None;
    }
    let action = environment.action.clone();
    let deployment = (action == "start").then(|| NewDeployment {
        project_id: job.project_id,
        ref_name: pipeline.ref_name.clone(),
        tag: pipeline.tag,
        sha: pipeline.sha.clone(),
        user_id: job.user_id,
        on_stop: environment.on_stop.clone(),
    });
    Some(Planned {
        name,
        tier: environment.deployment_tier.clone(),
        link: NewJobEnvironment {
            job_id: job.id,
            environment_id: 0,
            action,
            url: value("CI_ENVIRONMENT_URL").filter(|url| !url.is_empty()),
            tier: environment.deployment_tier.clone(),
            auto_stop_in_seconds: environment
                .auto_stop_in
                .as_deref()
                .and_then(parse_duration_seconds),
            deployment,
        },
    })
}

/// `auto_stop_in` (`1 day`, `2h 30m`, `1 week`) in seconds, read as every other CI duration;
/// `never` and unreadable values are `None`.
fn parse_duration_seconds(text: &str) -> Option<i64> {
    pipewright_ciyaml::parse_duration(text).and_then(|seconds| i64::try_from(seconds).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_statuses_map_to_deployment_statuses() {
        assert_eq!(deployment_status("running"), Some("running"));
        assert_eq!(deployment_status("skipped"), Some("skipped"));
        assert_eq!(deployment_status("pending"), None);
        assert_eq!(deployment_status("manual"), None);
    }

    #[test]
    fn auto_stop_durations_are_read_like_gitlab() {
        assert_eq!(parse_duration_seconds("1 day"), Some(86_400));
        assert_eq!(parse_duration_seconds("2h 30m"), Some(9_000));
        assert_eq!(parse_duration_seconds("1 week and 1 day"), Some(691_200));
        assert_eq!(parse_duration_seconds("90"), Some(90));
        assert_eq!(parse_duration_seconds("never"), None);
        assert_eq!(parse_duration_seconds("soon"), None);
    }
}
