//! The environments and deployments APIs (`/projects/:id/environments`,
//! `/projects/:id/deployments`): GitLab's `read_environment`/`read_deployment` for
//! Reporters, writes for Developers.

use std::collections::HashMap;

use pipewright_store::model::{Namespace, Project, User};
pub use pipewright_store::{
    Deployment, DeploymentFilter, DeploymentOrder, Environment, EnvironmentFilter,
    EnvironmentUpdate,
};
use pipewright_store::{NewEnvironment, StoreError};

use crate::App;
use crate::abilities::{DEVELOPER, ProjectAccess, REPORTER};
use crate::auth::Actor;
use crate::environment::{environment_slug, guess_tier};
use crate::error::{Error, Result};
use crate::jobs::JobView;

/// The tiers an environment may have.
pub const TIERS: [&str; 5] = ["production", "staging", "testing", "development", "other"];
/// The states an environment may be in.
pub const STATES: [&str; 3] = ["available", "stopping", "stopped"];
/// The statuses a deployment may have.
pub const DEPLOYMENT_STATUSES: [&str; 7] = [
    "created", "running", "success", "failed", "canceled", "skipped", "blocked",
];

/// GitLab's message for a name outside `Gitlab::Regex.environment_name_regex`.
const NAME_FORMAT_MESSAGE: &str = "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'";

/// An environment with what its entity shows.
#[derive(Debug, Clone)]
pub struct EnvironmentView {
    pub environment: Environment,
    pub project: Project,
    pub namespace: Namespace,
    /// Only on the single-environment read.
    pub last_deployment: Option<DeploymentView>,
}

/// A deployment with its user, environment and job.
#[derive(Debug, Clone)]
pub struct DeploymentView {
    pub deployment: Deployment,
    pub user: Option<User>,
    pub environment: Environment,
    pub deployable: Option<JobView>,
}

/// A new environment (`POST`).
#[derive(Debug, Clone, Default)]
pub struct CreateEnvironment {
    pub name: String,
    pub external_url: Option<String>,
    pub tier: Option<String>,
    pub description: Option<String>,
}

/// `Gitlab::Regex.environment_name_regex`, and at most 255 characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 255
        && !name.starts_with('/')
        && !name.ends_with('/')
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '$' | '{' | '}' | '.' | ' ' | '-')
        })
}

fn can_read(access: &ProjectAccess) -> bool {
    access.admin || access.level >= REPORTER
}

fn can_write(access: &ProjectAccess) -> bool {
    access.admin || access.level >= DEVELOPER
}

fn require_read(access: &ProjectAccess) -> Result<()> {
    if can_read(access) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

fn require_write(actor: &Actor, access: &ProjectAccess) -> Result<()> {
    actor.require_write_scope()?;
    if can_write(access) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// Grape's `{"message": {"<field>": ["<error>"]}}` with 400.
fn field_error(field: &str, message: &str) -> Error {
    Error::Message {
        status: 400,
        message: serde_json::json!({ field: [message] }),
    }
}

async fn namespace_of(app: &App, project: &Project) -> Result<Namespace> {
    app.store
        .namespace_by_id(project.namespace_id)
        .await?
        .ok_or_else(|| Error::internal("project without namespace"))
}

async fn find(app: &App, access: &ProjectAccess, environment_id: i64) -> Result<Environment> {
    app.store
        .environment_by_id(access.project.id, environment_id)
        .await?
        .ok_or_else(Error::record_not_found)
}

fn views(
    environments: Vec<Environment>,
    project: &Project,
    namespace: &Namespace,
) -> Vec<EnvironmentView> {
    environments
        .into_iter()
        .map(|environment| EnvironmentView {
            environment,
            project: project.clone(),
            namespace: namespace.clone(),
            last_deployment: None,
        })
        .collect()
}

async fn view(
    app: &App,
    access: &ProjectAccess,
    environment: Environment,
) -> Result<EnvironmentView> {
    let namespace = namespace_of(app, &access.project).await?;
    views(vec![environment], &access.project, &namespace)
        .pop()
        .ok_or_else(|| Error::internal("no view"))
}

/// `GET /projects/:id/environments`: one page in id order, and the total.
pub async fn list_environments(
    app: &App,
    access: &ProjectAccess,
    filter: &EnvironmentFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<EnvironmentView>, i64)> {
    require_read(access)?;
    let (environments, total) = app
        .store
        .environments_page(access.project.id, filter, limit, offset)
        .await?;
    let namespace = namespace_of(app, &access.project).await?;
    Ok((views(environments, &access.project, &namespace), total))
}

/// `GET /projects/:id/environments/:environment_id`, with the last successful deployment.
pub async fn get_environment(
    app: &App,
    access: &ProjectAccess,
    environment_id: i64,
) -> Result<EnvironmentView> {
    require_read(access)?;
    let environment = find(app, access, environment_id).await?;
    let last = app.store.last_successful_deployment(environment.id).await?;
    let mut view = view(app, access, environment).await?;
    if let Some(last) = last {
        view.last_deployment = deployment_views(app, access, vec![last]).await?.pop();
    }
    Ok(view)
}

fn check_fields(name: Option<&str>, external_url: Option<&str>, tier: Option<&str>) -> Result<()> {
    if let Some(tier) = tier
        && !TIERS.contains(&tier)
    {
        return Err(Error::Param("tier does not have a valid value".to_owned()));
    }
    if let Some(name) = name {
        if name.is_empty() {
            return Err(field_error("name", "can't be blank"));
        }
        if !valid_name(name) {
            return Err(field_error("name", NAME_FORMAT_MESSAGE));
        }
    }
    if let Some(url) = external_url
        && !url.is_empty()
    {
        let parsed = url::Url::parse(url).ok();
        if !parsed.is_some_and(|url| matches!(url.scheme(), "http" | "https")) {
            return Err(field_error(
                "external_url",
                "is blocked: Only allowed schemes are http, https",
            ));
        }
        if url.chars().count() > 255 {
            return Err(field_error(
                "external_url",
                "is too long (maximum is 255 characters)",
            ));
        }
    }
    Ok(())
}

fn taken(err: StoreError) -> Error {
    match err {
        StoreError::Duplicate(_) => field_error("name", "has already been taken"),
        other => other.into(),
    }
}

/// `POST /projects/:id/environments`.
pub async fn create_environment(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    request: CreateEnvironment,
) -> Result<EnvironmentView> {
    require_write(actor, access)?;
    check_fields(
        Some(&request.name),
        request.external_url.as_deref(),
        request.tier.as_deref(),
    )?;
    let new = NewEnvironment {
        slug: environment_slug(&request.name),
        tier: request
            .tier
            .clone()
            .unwrap_or_else(|| guess_tier(&request.name).to_owned()),
        external_url: request.external_url.filter(|url| !url.is_empty()),
        auto_stop_at: None,
        name: request.name,
    };
    let mut environment = app
        .store
        .create_environment(access.project.id, &new)
        .await
        .map_err(taken)?;
    if request.description.is_some() {
        let update = EnvironmentUpdate {
            description: request.description,
            ..EnvironmentUpdate::default()
        };
        if let Some(updated) = app
            .store
            .update_environment(access.project.id, environment.id, &update)
            .await?
        {
            environment = updated;
        }
    }
    view(app, access, environment).await
}

/// `PUT /projects/:id/environments/:environment_id` (`name` is deprecated but accepted).
pub async fn update_environment(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    environment_id: i64,
    update: EnvironmentUpdate,
) -> Result<EnvironmentView> {
    require_write(actor, access)?;
    find(app, access, environment_id).await?;
    check_fields(
        update.name.as_deref(),
        update.external_url.as_deref(),
        update.tier.as_deref(),
    )?;
    let environment = app
        .store
        .update_environment(access.project.id, environment_id, &update)
        .await
        .map_err(taken)?
        .ok_or_else(Error::record_not_found)?;
    view(app, access, environment).await
}

/// `DELETE /projects/:id/environments/:environment_id`: only a stopped environment goes.
pub async fn delete_environment(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    environment_id: i64,
) -> Result<()> {
    actor.require_write_scope()?;
    require_read(access)?;
    let environment = find(app, access, environment_id).await?;
    if !can_write(access) || environment.state != "stopped" {
        return Err(Error::forbidden());
    }
    app.store
        .delete_environment(access.project.id, environment.id)
        .await?;
    Ok(())
}

/// What `DELETE /projects/:id/environments/review_apps` found (GitLab's
/// `ScheduleToDeleteReviewAppsService` result).
#[derive(Debug, Clone, Default)]
pub struct ReviewAppsCleanup {
    /// Deleted, or to be deleted when it is a dry run.
    pub scheduled: Vec<Environment>,
    /// Found but not deletable by the caller (always empty: every stopped environment a
    /// Developer sees is deletable).
    pub unprocessable: Vec<Environment>,
}

/// `DELETE /projects/:id/environments/review_apps`: stopped `review/` environments created
/// before `before`, at most `limit`, oldest first; deleted unless `dry_run`. `None` when the
/// caller may read environments but not delete them (GitLab answers 401 then). GitLab marks
/// them for deletion a week later; they go at once here.
pub async fn delete_review_apps(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    before: i64,
    limit: i64,
    dry_run: bool,
) -> Result<Option<ReviewAppsCleanup>> {
    require_read(access)?;
    actor.require_write_scope()?;
    if !can_write(access) {
        return Ok(None);
    }
    let scheduled = app
        .store
        .stopped_review_apps(access.project.id, before, limit)
        .await?;
    if !dry_run {
        for environment in &scheduled {
            app.store
                .delete_environment(access.project.id, environment.id)
                .await?;
        }
    }
    Ok(Some(ReviewAppsCleanup {
        scheduled,
        unprocessable: Vec::new(),
    }))
}

/// `POST /projects/:id/environments/:environment_id/stop`: plays the `on_stop` job of the
/// last successful deployment (the environment is `stopping` until it succeeds), or stops
/// at once when there is none or `force` is given.
pub async fn stop_environment(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    environment_id: i64,
    force: bool,
) -> Result<EnvironmentView> {
    require_read(access)?;
    let environment = find(app, access, environment_id).await?;
    require_write(actor, access)?;
    if environment.state == "available" {
        let stop_job = if force {
            None
        } else {
            stop_action(app, &environment).await?
        };
        match stop_job {
            Some(job) => {
                // A stop job the caller may not play leaves the environment as it is.
                crate::job_actions::play(app, actor, access, job.id, Vec::new()).await?;
                app.store
                    .set_environment_state(environment.id, &["available"], "stopping")
                    .await?;
            }
            None => {
                app.store
                    .set_environment_state(environment.id, &["available", "stopping"], "stopped")
                    .await?;
            }
        }
    } else if force && environment.state == "stopping" {
        app.store
            .set_environment_state(environment.id, &["stopping"], "stopped")
            .await?;
    }
    let environment = find(app, access, environment_id).await?;
    view(app, access, environment).await
}

/// GitLab's `Environment#stop_actions`: the playable `on_stop` job of the last successful
/// deployment's pipeline.
pub(crate) async fn stop_action(
    app: &App,
    environment: &Environment,
) -> Result<Option<pipewright_store::model::Job>> {
    let Some(last) = app.store.last_successful_deployment(environment.id).await? else {
        return Ok(None);
    };
    let (Some(on_stop), Some(job_id)) = (&last.on_stop, last.job_id) else {
        return Ok(None);
    };
    let Some(deployable) = app.store.job_by_id(job_id).await? else {
        return Ok(None);
    };
    let job = app
        .store
        .latest_pipeline_job_named(deployable.pipeline_id, on_stop)
        .await?;
    Ok(job.filter(|job| job.when == pipewright_domain::When::Manual && !job.retried))
}

// ---- deployments ------------------------------------------------------------------------

/// Deployments with their users, environments and jobs, in a fixed number of queries.
async fn deployment_views(
    app: &App,
    access: &ProjectAccess,
    deployments: Vec<Deployment>,
) -> Result<Vec<DeploymentView>> {
    let mut user_ids: Vec<i64> = deployments.iter().filter_map(|d| d.user_id).collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let mut environment_ids: Vec<i64> = deployments.iter().map(|d| d.environment_id).collect();
    environment_ids.sort_unstable();
    environment_ids.dedup();
    let job_ids: Vec<i64> = deployments.iter().filter_map(|d| d.job_id).collect();
    let users: HashMap<i64, User> = app
        .store
        .users_by_ids(&user_ids)
        .await?
        .into_iter()
        .map(|user| (user.id, user))
        .collect();
    let environments: HashMap<i64, Environment> = app
        .store
        .environments_by_ids(&environment_ids)
        .await?
        .into_iter()
        .map(|environment| (environment.id, environment))
        .collect();
    let jobs = app.store.deployment_jobs(&job_ids).await?;
    let mut jobs: HashMap<i64, JobView> = crate::jobs::views(app, &access.project, jobs)
        .await?
        .into_iter()
        .map(|view| (view.job.id, view))
        .collect();
    deployments
        .into_iter()
        .map(|deployment| {
            let environment = environments
                .get(&deployment.environment_id)
                .cloned()
                .ok_or_else(|| Error::internal("deployment without environment"))?;
            Ok(DeploymentView {
                user: deployment.user_id.and_then(|id| users.get(&id).cloned()),
                deployable: deployment.job_id.and_then(|id| jobs.remove(&id)),
                environment,
                deployment,
            })
        })
        .collect()
}

/// The query of `GET /projects/:id/deployments` before the environment name is resolved.
#[derive(Debug, Clone, Default)]
pub struct DeploymentQuery {
    pub filter: DeploymentFilter,
    pub environment: Option<String>,
}

/// `GET /projects/:id/deployments`: one page and the total.
pub async fn list_deployments(
    app: &App,
    access: &ProjectAccess,
    query: DeploymentQuery,
    limit: i64,
    offset: i64,
) -> Result<(Vec<DeploymentView>, i64)> {
    require_read(access)?;
    let mut filter = query.filter;
    if let Some(name) = &query.environment {
        let by_name = EnvironmentFilter {
            name: Some(name.clone()),
            ..EnvironmentFilter::default()
        };
        let (found, _) = app
            .store
            .environments_page(access.project.id, &by_name, 1, 0)
            .await?;
        match found.first() {
            Some(environment) => filter.environment_id = Some(environment.id),
            None => return Ok((Vec::new(), 0)),
        }
    }
    let (deployments, total) = app
        .store
        .deployments_page(access.project.id, &filter, limit, offset)
        .await?;
    Ok((deployment_views(app, access, deployments).await?, total))
}

/// `GET /projects/:id/deployments/:deployment_id`.
pub async fn get_deployment(
    app: &App,
    access: &ProjectAccess,
    deployment_id: i64,
) -> Result<DeploymentView> {
    require_read(access)?;
    let deployment = app
        .store
        .deployment_by_id(access.project.id, deployment_id)
        .await?
        .ok_or_else(Error::record_not_found)?;
    deployment_views(app, access, vec![deployment])
        .await?
        .pop()
        .ok_or_else(Error::record_not_found)
}

/// The project's "Prevent outdated deployment jobs" settings:
/// (`ci_forward_deployment_enabled`, `ci_forward_deployment_rollback_allowed`).
pub async fn forward_deployment_settings(app: &App, project_id: i64) -> Result<(bool, bool)> {
    Ok(app.store.forward_deployment_settings(project_id).await?)
}

/// Changes them (Maintainers: the caller updated the project first) and returns them.
pub async fn update_forward_deployment_settings(
    app: &App,
    project_id: i64,
    (enabled, rollback_allowed): (Option<bool>, Option<bool>),
) -> Result<(bool, bool)> {
    if enabled.is_some() || rollback_allowed.is_some() {
        app.store
            .set_forward_deployment_settings(project_id, enabled, rollback_allowed)
            .await?;
    }
    forward_deployment_settings(app, project_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_follow_gitlab_rules() {
        assert!(valid_name("production"));
        assert!(valid_name("review/$CI_COMMIT_REF_SLUG"));
        assert!(valid_name("a b.c_d-e{f}"));
        assert!(!valid_name("/review"));
        assert!(!valid_name("review/"));
        assert!(!valid_name("prod!"));
        assert!(!valid_name(""));
    }
}
