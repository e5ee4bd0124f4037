//! Runner registration and the runner side of the protocol: verify, request a job.

use pipewright_protocol::{JobRequest, JobResponse, RunnerInfo};
use pipewright_store::model::{Job, Runner};
use pipewright_store::{NewRunner, RunnerContact};

use crate::App;
use crate::abilities::{self, MAINTAINER};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::tokens::{RUNNER_TOKEN_PREFIX, generate, hash_token};

pub const RUNNER_TYPES: [&str; 3] = ["instance_type", "group_type", "project_type"];

pub struct CreateRunner {
    pub runner_type: String,
    pub group_id: Option<i64>,
    pub project_id: Option<i64>,
    pub description: Option<String>,
    pub tag_list: Vec<String>,
    pub run_untagged: bool,
    pub locked: bool,
    pub access_level: Option<String>,
    pub maximum_timeout: Option<i64>,
    pub paused: bool,
}

/// `POST /user/runners`: creates a runner and returns it with its `glrt-` token (shown once).
pub async fn create_runner(
    app: &App,
    actor: &Actor,
    params: CreateRunner,
) -> Result<(Runner, String)> {
    let user = actor.require_user()?.clone();
    actor.require_write_scope()?;
    let access_level = params
        .access_level
        .unwrap_or_else(|| "not_protected".to_owned());
    if !["not_protected", "ref_protected"].contains(&access_level.as_str()) {
        return Err(Error::Param(
            "access_level does not have a valid value".into(),
        ));
    }
    if let Some(timeout) = params.maximum_timeout
        && timeout < 600
    {
        return Err(Error::Message {
            status: 400,
            message: serde_json::json!({ "maximum_timeout": ["needs to be at least 10 minutes"] }),
        });
    }
    let (project_id, group_id) = match params.runner_type.as_str() {
        "instance_type" => {
            if !user.is_admin {
                return Err(Error::forbidden());
            }
            (None, None)
        }
        "project_type" => {
            let Some(project_id) = params.project_id else {
                return Err(Error::Param("project_id is missing".into()));
            };
            let project = app
                .store
                .project_by_id(project_id)
                .await?
                .ok_or_else(Error::forbidden)?;
            let access = abilities::project_access(app, actor, project).await?;
            if !access.can_admin_project() {
                return Err(Error::forbidden());
            }
            (Some(project_id), None)
        }
        "group_type" => {
            let Some(group_id) = params.group_id else {
                return Err(Error::Param("group_id is missing".into()));
            };
            let level = app.store.namespace_access_level(user.id, group_id).await?;
            if !user.is_admin && level.unwrap_or(0) < MAINTAINER {
                return Err(Error::forbidden());
            }
            (None, Some(group_id))
        }
        _ => {
            return Err(Error::Param(
                "runner_type does not have a valid value".into(),
            ));
        }
    };
    let token = generate(RUNNER_TOKEN_PREFIX);
    let mut tag_list = params.tag_list;
    tag_list.retain(|tag| !tag.is_empty());
    tag_list.sort();
    tag_list.dedup();
    let runner = app
        .store
        .create_runner(&NewRunner {
            token_hash: hash_token(&token),
            description: params.description.unwrap_or_default(),
            runner_type: params.runner_type,
            // A runner without tags must take untagged jobs, or it could never run anything.
            run_untagged: params.run_untagged || tag_list.is_empty(),
            tag_list,
            locked: params.locked,
            access_level,
            maximum_timeout: params.maximum_timeout,
            paused: params.paused,
            project_id,
            group_id,
            creator_id: Some(user.id),
        })
        .await?;
    Ok((runner, token))
}

/// Creates an instance runner for the built-in workers at start-up (no API caller involved).
pub async fn create_builtin_runner(app: &App, description: &str) -> Result<(Runner, String)> {
    let token = generate(RUNNER_TOKEN_PREFIX);
    let runner = app
        .store
        .create_runner(&NewRunner {
            token_hash: hash_token(&token),
            description: description.to_owned(),
            runner_type: "instance_type".into(),
            tag_list: Vec::new(),
            run_untagged: true,
            locked: false,
            access_level: "not_protected".into(),
            maximum_timeout: None,
            paused: false,
            project_id: None,
            group_id: None,
            creator_id: None,
        })
        .await?;
    Ok((runner, token))
}

/// Looks a runner up by its token: unknown tokens are 403 for runners.
pub async fn authenticate_runner(app: &App, token: &str) -> Result<Runner> {
    app.store
        .runner_by_token_hash(&hash_token(token))
        .await?
        .ok_or_else(Error::forbidden)
}

/// What a runner's `info` says about it.
pub(crate) fn contact_of(info: &RunnerInfo) -> RunnerContact {
    RunnerContact {
        name: info.name.clone(),
        version: info.version.clone(),
        revision: info.revision.clone(),
        platform: info.platform.clone(),
        architecture: info.architecture.clone(),
        executor: info.executor.clone(),
    }
}

/// How stale `contacted_at` may get before a contact writes it again. GitLab keeps the
/// heartbeat in a cache and persists it far less often; a runner counts as online for
/// hours, so a minute is invisible, and a busy runner no longer costs a write per request.
const CONTACT_EVERY_MS: i64 = 60_000;

async fn record_contact(app: &App, runner: &Runner, info: Option<&RunnerInfo>) -> Result<()> {
    let contact = info.map(contact_of).unwrap_or_default();
    let recent = runner
        .contacted_at
        .is_some_and(|at| pipewright_store::now_ms().saturating_sub(at) < CONTACT_EVERY_MS);
    if recent && !contact_changes(runner, &contact) {
        return Ok(());
    }
    Ok(app.store.touch_runner(runner.id, &contact).await?)
}

/// Whether `contact` reports something the runner's record does not say yet (a field it
/// leaves out keeps its stored value).
fn contact_changes(runner: &Runner, contact: &RunnerContact) -> bool {
    let differs = |new: &Option<String>, old: &Option<String>| new.is_some() && new != old;
    differs(&contact.name, &runner.name)
        || differs(&contact.version, &runner.version)
        || differs(&contact.revision, &runner.revision)
        || differs(&contact.platform, &runner.platform)
        || differs(&contact.architecture, &runner.architecture)
        || differs(&contact.executor, &runner.executor)
}

/// `POST /runners/verify`.
pub async fn verify(
    app: &App,
    token: &str,
    system_id: Option<&str>,
    info: Option<&RunnerInfo>,
    ip_address: Option<&str>,
) -> Result<Runner> {
    let runner = authenticate_runner(app, token).await?;
    record_contact(app, &runner, info).await?;
    crate::runner_registration::record_manager(app, &runner, system_id, info, ip_address).await?;
    Ok(runner)
}

/// What `POST /jobs/request` answers.
#[derive(Debug)]
pub enum JobRequestOutcome {
    /// 201 with the payload.
    Job(Box<JobResponse>),
    /// 204 with `X-GitLab-Last-Update`.
    NoJob { last_update: String },
    /// 409: every candidate was taken by another runner meanwhile.
    Conflict,
}

/// `POST /jobs/request`: hands the oldest eligible pending job to the runner, atomically.
pub async fn request_job(
    app: &App,
    request: &JobRequest,
    ip_address: Option<&str>,
) -> Result<JobRequestOutcome> {
    let runner = authenticate_runner(app, &request.token).await?;
    record_contact(app, &runner, request.info.as_ref()).await?;
    let manager = crate::runner_registration::record_manager(
        app,
        &runner,
        request.system_id.as_deref(),
        request.info.as_ref(),
        ip_address,
    )
    .await?;
    // Snapshot before scanning: a job enqueued during the scan changes the version, so the
    // runner's next `last_update` will not hide it.
    let version = app.queue.version();
    if runner.paused {
        return Ok(JobRequestOutcome::NoJob {
            last_update: version,
        });
    }
    if request.last_update.as_deref() == Some(version.as_str()) {
        // Nothing changed since this runner last heard "no job": hold it (long polling) and
        // answer 204 as soon as something changes, as GitLab Workhorse does — the runner asks
        // again at once, on a connection known to be alive. The answer keeps the version the
        // runner sent: echoing it back makes its next request differ from the (new) current
        // version, so that request scans the queue instead of being held again.
        // Woken only by jobs this runner may take (or by a plain tick).
        let held = runner.clone();
        app.queue
            .wait_for_job(&version, app.config.long_poll, move |job| {
                runner_may_take(&held, job.project_id, &job.tag_list, true)
            })
            .await;
        return Ok(JobRequestOutcome::NoJob {
            last_update: version,
        });
    }
    crate::dispatch::next_job(app, &runner, manager.as_ref(), request, version).await
}

/// Tags, untagged jobs, runner scope and pausing (runner-protocol.md §6).
pub fn runner_can_pick(runner: &Runner, job: &Job) -> bool {
    runner_may_take(runner, job.project_id, &job.tag_list, job.is_build())
}

pub(crate) fn runner_may_take(
    runner: &Runner,
    project_id: i64,
    tag_list: &[String],
    is_build: bool,
) -> bool {
    if runner.paused || !is_build {
        return false;
    }
    let scope_ok = match runner.runner_type.as_str() {
        "project_type" => runner.project_id == Some(project_id),
        // The project's ancestry is checked by `runner_scope::may_run`.
        "group_type" => runner.group_id.is_some(),
        _ => true,
    };
    let tags_ok = if tag_list.is_empty() {
        runner.run_untagged
    } else {
        tag_list.iter().all(|tag| runner.tag_list.contains(tag))
    };
    scope_ok && tags_ok
}
