//! The runner admin APIs (platform-api.md "Runners"): listing, showing, updating and deleting
//! runners, a project's runners and a runner's jobs, with GitLab's permissions: admins manage
//! every runner, project maintainers their project's runners, group maintainers their group's.

use std::collections::HashMap;

pub use pipewright_store::RunnerJobFilter;
use pipewright_store::RunnerSettings;
use pipewright_store::model::{Namespace, Project, Runner};

use crate::abilities::{self, MAINTAINER};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::jobs::JobView;
use crate::{App, now_ms};

/// A runner is online when it made contact within the last two hours (GitLab's threshold).
const ONLINE_WINDOW_MS: i64 = 2 * 60 * 60 * 1000;
/// GitLab calls a runner stale after three months without contact.
const STALE_AFTER_MS: i64 = 90 * 24 * 60 * 60 * 1000;

pub const RUNNER_STATUSES: [&str; 4] = ["online", "offline", "stale", "never_contacted"];

/// GitLab's runner status: `online`, `offline`, `stale` or `never_contacted`.
pub fn runner_status(runner: &Runner, now: i64) -> &'static str {
    match runner.contacted_at {
        None if now - runner.created_at > STALE_AFTER_MS => "stale",
        None => "never_contacted",
        Some(contacted) if now - contacted < ONLINE_WINDOW_MS => "online",
        Some(contacted) if now - contacted > STALE_AFTER_MS => "stale",
        Some(_) => "offline",
    }
}

/// The filters of the runner lists (`type`, `paused`, `status`, `tag_list`).
#[derive(Debug, Clone, Default)]
pub struct RunnerListFilter {
    pub runner_type: Option<String>,
    pub paused: Option<bool>,
    pub status: Option<String>,
    pub tag_list: Vec<String>,
}

impl RunnerListFilter {
    fn matches(&self, runner: &Runner, now: i64) -> bool {
        self.runner_type
            .as_ref()
            .is_none_or(|kind| *kind == runner.runner_type)
            && self.paused.is_none_or(|paused| paused == runner.paused)
            && self
                .status
                .as_ref()
                .is_none_or(|status| status == runner_status(runner, now))
            && self
                .tag_list
                .iter()
                .all(|tag| runner.tag_list.contains(tag))
    }
}

/// A runner with the projects and groups it belongs to (the details entity).
#[derive(Debug, Clone)]
pub struct RunnerDetails {
    pub runner: Runner,
    /// A job of this runner is running now.
    pub executing: bool,
    /// Each with its namespace (for `name_with_namespace`).
    pub projects: Vec<(Project, Namespace)>,
    pub groups: Vec<Namespace>,
}

/// Answers and caches "may the caller manage runners of this project/group".
struct Manages<'a> {
    app: &'a App,
    actor: &'a Actor,
    projects: HashMap<i64, bool>,
    groups: HashMap<i64, bool>,
}

impl<'a> Manages<'a> {
    fn new(app: &'a App, actor: &'a Actor) -> Manages<'a> {
        Manages {
            app,
            actor,
            projects: HashMap::new(),
            groups: HashMap::new(),
        }
    }

    /// `admin_runner`: admins always; instance runners only admins; owner project
    /// maintainers; owner group maintainers.
    async fn runner(&mut self, runner: &Runner) -> Result<bool> {
        if self.actor.is_admin() {
            return Ok(true);
        }
        let Some(user) = self.actor.user() else {
            return Ok(false);
        };
        match runner.runner_type.as_str() {
            "project_type" => {
                let Some(project_id) = runner.project_id else {
                    return Ok(false);
                };
                if let Some(known) = self.projects.get(&project_id) {
                    return Ok(*known);
                }
                let allowed = match self.app.store.project_by_id(project_id).await? {
                    Some(project) => abilities::project_access(self.app, self.actor, project)
                        .await?
                        .can_admin_project(),
                    None => false,
                };
                self.projects.insert(project_id, allowed);
                Ok(allowed)
            }
            "group_type" => {
                let Some(group_id) = runner.group_id else {
                    return Ok(false);
                };
                if let Some(known) = self.groups.get(&group_id) {
                    return Ok(*known);
                }
                let level = self
                    .app
                    .store
                    .namespace_access_level(user.id, group_id)
                    .await?;
                let allowed = level.unwrap_or(0) >= MAINTAINER;
                self.groups.insert(group_id, allowed);
                Ok(allowed)
            }
            _ => Ok(false),
        }
    }
}

fn runner_not_found() -> Error {
    Error::not_found("Runner")
}

async fn find_runner(app: &App, id: i64) -> Result<Runner> {
    app.store
        .runner_by_id(id)
        .await?
        .ok_or_else(runner_not_found)
}

/// `GET /runners`: the project and group runners the caller manages.
pub async fn list_owned(
    app: &App,
    actor: &Actor,
    filter: &RunnerListFilter,
) -> Result<Vec<Runner>> {
    actor.require_user()?;
    let now = now_ms();
    let mut manages = Manages::new(app, actor);
    let mut owned = Vec::new();
    for runner in app.store.all_runners().await? {
        if runner.runner_type == "instance_type" || !filter.matches(&runner, now) {
            continue;
        }
        if manages.runner(&runner).await? {
            owned.push(runner);
        }
    }
    Ok(owned)
}

/// `GET /runners/all` (admin).
pub async fn list_all(app: &App, actor: &Actor, filter: &RunnerListFilter) -> Result<Vec<Runner>> {
    actor.require_user()?;
    if !actor.is_admin() {
        return Err(Error::forbidden());
    }
    let now = now_ms();
    let mut runners = app.store.all_runners().await?;
    runners.retain(|runner| filter.matches(runner, now));
    Ok(runners)
}

/// `GET /projects/:id/runners`: the runners that may run the project's jobs (its own, its
/// groups', the instance's). Maintainers only.
pub async fn project_runners(
    app: &App,
    actor: &Actor,
    project: &Project,
    filter: &RunnerListFilter,
) -> Result<Vec<Runner>> {
    actor.require_user()?;
    let access = abilities::project_access(app, actor, project.clone()).await?;
    if !access.can_admin_project() {
        return Err(Error::forbidden());
    }
    let chain = crate::groups::group_chain_ids(app, project.namespace_id).await?;
    let now = now_ms();
    let mut runners = app.store.all_runners().await?;
    runners.retain(|runner| {
        let available = match runner.runner_type.as_str() {
            "project_type" => runner.project_id == Some(project.id),
            "group_type" => runner.group_id.is_some_and(|id| chain.contains(&id)),
            _ => true,
        };
        available && filter.matches(runner, now)
    });
    Ok(runners)
}

/// `GET /runners/:id`: instance runners are visible to every signed-in user, others to
/// those who manage them.
pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<RunnerDetails> {
    actor.require_user()?;
    let runner = find_runner(app, id).await?;
    if runner.runner_type != "instance_type" && !Manages::new(app, actor).runner(&runner).await? {
        return Err(Error::forbidden());
    }
    details(app, runner).await
}

async fn details(app: &App, runner: Runner) -> Result<RunnerDetails> {
    let mut projects = Vec::new();
    if let Some(id) = runner.project_id
        && let Some(project) = app.store.project_by_id(id).await?
        && let Some(namespace) = app.store.namespace_by_id(project.namespace_id).await?
    {
        projects.push((project, namespace));
    }
    let groups = match runner.group_id {
        Some(id) => app.store.namespace_by_id(id).await?.into_iter().collect(),
        None => Vec::new(),
    };
    let executing = !app
        .store
        .executing_runner_ids(&[runner.id])
        .await?
        .is_empty();
    Ok(RunnerDetails {
        runner,
        executing,
        projects,
        groups,
    })
}

async fn managed_runner(app: &App, actor: &Actor, id: i64) -> Result<Runner> {
    actor.require_user()?;
    let runner = find_runner(app, id).await?;
    if !Manages::new(app, actor).runner(&runner).await? {
        return Err(Error::forbidden());
    }
    Ok(runner)
}

/// `PUT /runners/:id` attributes; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UpdateRunner {
    pub description: Option<String>,
    pub paused: Option<bool>,
    pub tag_list: Option<Vec<String>>,
    pub run_untagged: Option<bool>,
    pub locked: Option<bool>,
    pub access_level: Option<String>,
    /// `Some(None)` clears the limit.
    pub maximum_timeout: Option<Option<i64>>,
}

/// `PUT /runners/:id`.
pub async fn update(
    app: &App,
    actor: &Actor,
    id: i64,
    params: UpdateRunner,
) -> Result<RunnerDetails> {
    let runner = managed_runner(app, actor, id).await?;
    actor.require_write_scope()?;
    if let Some(level) = &params.access_level
        && !["not_protected", "ref_protected"].contains(&level.as_str())
    {
        return Err(Error::Param(
            "access_level does not have a valid value".into(),
        ));
    }
    if let Some(Some(timeout)) = params.maximum_timeout
        && timeout < 600
    {
        return Err(Error::Message {
            status: 400,
            message: serde_json::json!({ "maximum_timeout": ["needs to be at least 10 minutes"] }),
        });
    }
    let tag_list = match params.tag_list {
        Some(mut tags) => {
            tags.retain(|tag| !tag.is_empty());
            tags.sort();
            tags.dedup();
            tags
        }
        None => runner.tag_list.clone(),
    };
    let run_untagged = params.run_untagged.unwrap_or(runner.run_untagged);
    if !run_untagged && tag_list.is_empty() {
        // GitLab's validation: a runner that takes no untagged jobs needs tags.
        return Err(Error::Message {
            status: 400,
            message: serde_json::json!({
                "tags_list": ["can not be empty when runner is not allowed to pick untagged jobs"]
            }),
        });
    }
    let settings = RunnerSettings {
        description: params.description.unwrap_or(runner.description),
        paused: params.paused.unwrap_or(runner.paused),
        tag_list,
        run_untagged,
        locked: params.locked.unwrap_or(runner.locked),
        access_level: params.access_level.unwrap_or(runner.access_level),
        maximum_timeout: params.maximum_timeout.unwrap_or(runner.maximum_timeout),
    };
    let updated = app
        .store
        .update_runner(id, &settings)
        .await?
        .ok_or_else(runner_not_found)?;
    // Unpausing or retagging can make pending jobs eligible for waiting runners.
    app.queue.tick();
    details(app, updated).await
}

/// `DELETE /runners/:id`.
pub async fn delete(app: &App, actor: &Actor, id: i64) -> Result<()> {
    managed_runner(app, actor, id).await?;
    actor.require_write_scope()?;
    app.store.delete_runner(id).await?;
    Ok(())
}

/// One page of a runner's jobs: views, the namespaces of their projects (for the project
/// identity), and the total.
#[derive(Debug, Clone)]
pub struct RunnerJobsPage {
    pub views: Vec<JobView>,
    pub namespaces: HashMap<i64, Namespace>,
    pub total: i64,
}

/// `GET /runners/:id/jobs`: one page of the builds the runner picked, newest first, and the
/// total. Admins for instance runners, managers for the others.
pub async fn jobs(
    app: &App,
    actor: &Actor,
    id: i64,
    filter: &RunnerJobFilter,
    limit: i64,
    offset: i64,
) -> Result<RunnerJobsPage> {
    let runner = managed_runner(app, actor, id).await?;
    let (jobs, total) = app
        .store
        .runner_jobs(runner.id, filter, limit, offset)
        .await?;
    // One batch of views per project on the page (a runner's page spans few projects).
    let mut by_project: Vec<(i64, Vec<pipewright_store::model::Job>)> = Vec::new();
    let order: Vec<i64> = jobs.iter().map(|job| job.id).collect();
    for job in jobs {
        match by_project.iter_mut().find(|(id, _)| *id == job.project_id) {
            Some((_, list)) => list.push(job),
            None => by_project.push((job.project_id, vec![job])),
        }
    }
    let mut views: HashMap<i64, JobView> = HashMap::new();
    let mut namespaces = HashMap::new();
    for (project_id, list) in by_project {
        let Some(project) = app.store.project_by_id(project_id).await? else {
            continue;
        };
        if let Some(namespace) = app.store.namespace_by_id(project.namespace_id).await? {
            namespaces.insert(namespace.id, namespace);
        }
        for view in crate::jobs::views(app, &project, list).await? {
            views.insert(view.job.id, view);
        }
    }
    Ok(RunnerJobsPage {
        views: order.iter().filter_map(|id| views.remove(id)).collect(),
        namespaces,
        total,
    })
}

/// Which of these runners are executing a job now (`job_execution_status`), in one query.
pub async fn executing(app: &App, runners: &[Runner]) -> Result<std::collections::HashSet<i64>> {
    let ids: Vec<i64> = runners.iter().map(|runner| runner.id).collect();
    Ok(app
        .store
        .executing_runner_ids(&ids)
        .await?
        .into_iter()
        .collect())
}
