//! Protected environments (`/projects/:id/protected_environments`, GitLab EE, project level
//! only): who may deploy to an environment, by role, user or group. A job deploying to a
//! protected environment may be played, retried, cancelled or erased only by a caller with
//! deploy access (jobs-api.md §2.1), checked in [`crate::protected_refs::may_act_on_job_ref`].

use pipewright_domain::Status;
use pipewright_domain::failure::FailureReason;
use pipewright_store::model::Job;
use pipewright_store::{NewDeployAccessLevel, ProtectedEnvironmentUpdate, StoreError};
use serde_json::{Map, Value};

pub use pipewright_store::{DeployAccessLevel, ProtectedEnvironment};

use crate::App;
use crate::abilities::{DEVELOPER, MAINTAINER, ProjectAccess};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::protected_refs::ADMIN_ACCESS;

/// `ProtectedEnvironments::DeployAccessLevel::ALLOWED_ACCESS_LEVELS`.
pub const DEPLOY_ACCESS_LEVELS: [i32; 3] = [DEVELOPER, MAINTAINER, ADMIN_ACCESS];
/// `GROUP_INHERITANCE_TYPE`: direct membership only, all inherited groups.
const GROUP_INHERITANCE_TYPES: [i32; 2] = [0, 1];
const MAX_REQUIRED_APPROVALS: i32 = 5;

/// GitLab's `access_level_description` of a deploy access level.
pub fn level_description(level: &DeployAccessLevel) -> String {
    match (level.access_level, level.user_id, level.group_id) {
        (_, Some(_), _) => "User".to_owned(),
        (_, _, Some(_)) => "Group".to_owned(),
        (Some(DEVELOPER), ..) => "Developers + Maintainers".to_owned(),
        (Some(MAINTAINER), ..) => "Maintainers".to_owned(),
        (Some(ADMIN_ACCESS), ..) => "Admins".to_owned(),
        _ => "Unknown".to_owned(),
    }
}

/// One element of `deploy_access_levels`, validated as Grape declares it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LevelParam {
    /// An existing level (updates only).
    pub id: Option<i64>,
    pub destroy: bool,
    pub level: NewDeployAccessLevel,
}

/// Parses `deploy_access_levels` (an array of hashes, from JSON or `a[][k]=v` forms).
/// `id` and `_destroy` are accepted on updates only (Grape ignores them on create).
pub fn parse_levels(value: &Value, update: bool) -> Result<Vec<LevelParam>> {
    let Value::Array(items) = value else {
        return Err(Error::Param("deploy_access_levels is invalid".into()));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let Value::Object(map) = item else {
                return Err(Error::Param("deploy_access_levels is invalid".into()));
            };
            parse_level(map, index, update)
        })
        .collect()
}

fn parse_level(map: &Map<String, Value>, index: usize, update: bool) -> Result<LevelParam> {
    let name = |key: &str| format!("deploy_access_levels[{index}][{key}]");
    let int = |key: &str| -> Result<Option<i64>> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::Number(number)) => number
                .as_i64()
                .map(Some)
                .ok_or_else(|| Error::Param(format!("{} is invalid", name(key)))),
            Some(Value::String(text)) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::Param(format!("{} is invalid", name(key)))),
            Some(_) => Err(Error::Param(format!("{} is invalid", name(key)))),
        }
    };
    let one_of = |key: &str, allowed: &[i32]| -> Result<Option<i32>> {
        int(key)?
            .map(|value| {
                i32::try_from(value)
                    .ok()
                    .filter(|value| allowed.contains(value))
                    .ok_or_else(|| {
                        Error::Param(format!("{} does not have a valid value", name(key)))
                    })
            })
            .transpose()
    };
    let access_level = one_of("access_level", &DEPLOY_ACCESS_LEVELS)?;
    let group_inheritance_type = one_of("group_inheritance_type", &GROUP_INHERITANCE_TYPES)?;
    let user_id = int("user_id")?;
    let group_id = int("group_id")?;
    let (id, destroy) = if update {
        let destroy = match map.get("_destroy") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(Value::String(text)) => match crate_bool(text) {
                Some(flag) => flag,
                None => return Err(Error::Param(format!("{} is invalid", name("_destroy")))),
            },
            Some(_) => return Err(Error::Param(format!("{} is invalid", name("_destroy")))),
        };
        (int("id")?, destroy)
    } else {
        (None, false)
    };
    Ok(LevelParam {
        id,
        destroy,
        level: NewDeployAccessLevel {
            access_level,
            user_id,
            group_id,
            group_inheritance_type: group_inheritance_type.unwrap_or(0),
        },
    })
}

/// Grape's Boolean coercion of a form value.
fn crate_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "1" | "t" | "yes" | "y" | "on" => Some(true),
        "false" | "0" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// The model validations of a protected environment, as GitLab's 422 messages.
fn validate(levels: &[&NewDeployAccessLevel], required_approval_count: i32) -> Result<()> {
    let mut messages = Vec::new();
    if levels.is_empty() {
        messages.push("Deploy access levels is too short (minimum is 1 character)".to_owned());
    }
    // A level without a user or group is a role level and needs its access level.
    if levels.iter().any(|level| {
        level.user_id.is_none() && level.group_id.is_none() && level.access_level.is_none()
    }) {
        messages.push("Deploy access levels access level can't be blank".to_owned());
    }
    if required_approval_count < 0 {
        messages.push("Required approval count must be greater than or equal to 0".to_owned());
    }
    if required_approval_count > MAX_REQUIRED_APPROVALS {
        messages.push(format!(
            "Required approval count must be less than or equal to {MAX_REQUIRED_APPROVALS}"
        ));
    }
    if messages.is_empty() {
        return Ok(());
    }
    Err(Error::Message {
        status: 422,
        message: serde_json::json!(messages),
    })
}

fn approval_count(value: Option<i64>) -> Result<Option<i32>> {
    value
        .map(|count| {
            i32::try_from(count)
                .map_err(|_| Error::Param("required_approval_count is invalid".into()))
        })
        .transpose()
}

/// `admin_protected_environments`: Maintainers and up (GitLab checks it before parameters).
pub fn authorize(actor: &Actor, access: &ProjectAccess, write: bool) -> Result<()> {
    if write {
        actor.require_write_scope()?;
    }
    if !access.can_admin_project() {
        return Err(Error::forbidden());
    }
    Ok(())
}

/// `GET /projects/:id/protected_environments`, by name.
pub async fn list(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
) -> Result<Vec<ProtectedEnvironment>> {
    authorize(actor, access, false)?;
    Ok(app.store.protected_environments(access.project.id).await?)
}

/// `GET /projects/:id/protected_environments/:name`.
pub async fn get(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    name: &str,
) -> Result<ProtectedEnvironment> {
    authorize(actor, access, false)?;
    app.store
        .protected_environment_by_name(access.project.id, name)
        .await?
        .ok_or_else(Error::record_not_found)
}

/// `POST /projects/:id/protected_environments`; an already protected name is a 409.
pub async fn create(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    name: &str,
    levels: &[LevelParam],
    required_approval_count: Option<i64>,
) -> Result<ProtectedEnvironment> {
    authorize(actor, access, true)?;
    let conflict = || Error::Message {
        status: 409,
        message: Value::String(format!("Environment '{name}' is already protected")),
    };
    if app
        .store
        .protected_environment_by_name(access.project.id, name)
        .await?
        .is_some()
    {
        return Err(conflict());
    }
    let count = approval_count(required_approval_count)?.unwrap_or(0);
    let new: Vec<NewDeployAccessLevel> = levels.iter().map(|param| param.level.clone()).collect();
    validate(&new.iter().collect::<Vec<_>>(), count)?;
    match app
        .store
        .create_protected_environment(access.project.id, name, count, &new)
        .await
    {
        Ok(environment) => Ok(environment),
        Err(StoreError::Duplicate(_)) => Err(conflict()),
        Err(err) => Err(err.into()),
    }
}

/// `PUT /projects/:id/protected_environments/:name`: adds levels without `id`, removes
/// those with `id` and `_destroy`; an `id` of no level of this environment is a 404.
pub async fn update(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    name: &str,
    levels: &[LevelParam],
    required_approval_count: Option<i64>,
) -> Result<ProtectedEnvironment> {
    let environment = get(app, actor, access, name).await?;
    actor.require_write_scope()?;
    let count = approval_count(required_approval_count)?;
    let mut update = ProtectedEnvironmentUpdate {
        required_approval_count: count,
        ..ProtectedEnvironmentUpdate::default()
    };
    for param in levels {
        match param.id {
            Some(id) => {
                if !environment
                    .deploy_access_levels
                    .iter()
                    .any(|level| level.id == id)
                {
                    return Err(Error::record_not_found());
                }
                if param.destroy {
                    update.remove.push(id);
                }
            }
            None if param.destroy => {}
            None => update.add.push(param.level.clone()),
        }
    }
    let kept: Vec<NewDeployAccessLevel> = environment
        .deploy_access_levels
        .iter()
        .filter(|level| !update.remove.contains(&level.id))
        .map(|level| NewDeployAccessLevel {
            access_level: level.access_level,
            user_id: level.user_id,
            group_id: level.group_id,
            group_inheritance_type: level.group_inheritance_type,
        })
        .collect();
    let remaining: Vec<&NewDeployAccessLevel> = kept.iter().chain(update.add.iter()).collect();
    validate(
        &remaining,
        count.unwrap_or(environment.required_approval_count),
    )?;
    app.store
        .update_protected_environment(environment.id, &update)
        .await?
        .ok_or_else(Error::record_not_found)
}

/// `DELETE /projects/:id/protected_environments/:name`.
pub async fn delete(app: &App, actor: &Actor, access: &ProjectAccess, name: &str) -> Result<()> {
    let environment = get(app, actor, access, name).await?;
    actor.require_write_scope()?;
    app.store
        .delete_protected_environment(environment.id)
        .await?;
    Ok(())
}

/// Whether the caller may deploy to the job's environment: always when it is not protected;
/// otherwise administrators, and callers one of its deploy access levels lets through
/// (their role reaches the level, they are the user, or a direct member of the group).
pub async fn may_deploy(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    job: &Job,
) -> Result<bool> {
    let Some(environment) = job_protected_environment(app, job).await? else {
        return Ok(true);
    };
    if access.admin {
        return Ok(true);
    }
    let Some(user) = actor.user() else {
        return Ok(false);
    };
    accessible_to(app, &environment, user.id, access.level).await
}

async fn job_protected_environment(app: &App, job: &Job) -> Result<Option<ProtectedEnvironment>> {
    // Cheap pre-check: jobs without the key have no environment link.
    if !job.options.contains("\"environment\"") {
        return Ok(None);
    }
    Ok(app.store.job_protected_environment(job.id).await?)
}

/// GitLab's `ProtectedEnvironment#accessible_to?` for a non-administrator.
async fn accessible_to(
    app: &App,
    environment: &ProtectedEnvironment,
    user_id: i64,
    level: i32,
) -> Result<bool> {
    let mut groups = Vec::new();
    for rule in &environment.deploy_access_levels {
        match (rule.user_id, rule.group_id, rule.access_level) {
            (Some(id), ..) if id == user_id => return Ok(true),
            (Some(_), ..) => {}
            (None, Some(group_id), _) => groups.push(group_id),
            (None, None, Some(required)) if level >= required => return Ok(true),
            _ => {}
        }
    }
    Ok(app
        .store
        .is_direct_member_of_any_group(user_id, &groups)
        .await?)
}

/// GitLab's EE `ProcessBuildService#enqueue`: a job deploying to a protected environment
/// its user may not deploy to fails with `protected_environment_failure` instead of
/// running. Checked before a pending job is handed out (beside the outdated-deployment
/// check), so the pipeline is processed again; whether the job was dropped.
pub async fn drop_if_protected_from_user(app: &App, job: &Job) -> Result<bool> {
    let Some(environment) = job_protected_environment(app, job).await? else {
        return Ok(false);
    };
    if job_user_may_deploy(app, job, &environment).await? {
        return Ok(false);
    }
    let mut update =
        crate::processing::state_after(job, Status::Failed, pipewright_store::now_ms());
    update.failure_reason = Some(
        FailureReason::ProtectedEnvironmentFailure
            .as_str()
            .to_owned(),
    );
    if !app
        .store
        .update_job_state(job.id, job.status, &update)
        .await?
    {
        return Ok(false);
    }
    crate::processing::process_pipeline(app, job.pipeline_id).await?;
    Ok(true)
}

async fn job_user_may_deploy(
    app: &App,
    job: &Job,
    environment: &ProtectedEnvironment,
) -> Result<bool> {
    let Some(user_id) = job.user_id else {
        return Ok(false);
    };
    let Some(user) = app.store.user_by_id(user_id).await? else {
        return Ok(false);
    };
    if user.is_admin {
        return Ok(true);
    }
    let Some(project) = app.store.project_by_id(job.project_id).await? else {
        return Ok(false);
    };
    let level = crate::access_cache::project_level(app, user_id, &project).await?;
    accessible_to(app, environment, user_id, level).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_parsed_as_grape_declares_them() {
        let levels = parse_levels(
            &serde_json::json!([{"access_level": 40}, {"user_id": "7"}]),
            false,
        );
        assert_eq!(
            levels.ok().map(|levels| levels.len()),
            Some(2),
            "two levels"
        );
        let err = parse_levels(&serde_json::json!([{"access_level": 20}]), false);
        assert!(matches!(err, Err(Error::Param(message))
            if message == "deploy_access_levels[0][access_level] does not have a valid value"));
        let update = parse_levels(&serde_json::json!([{"id": 3, "_destroy": "true"}]), true);
        assert!(matches!(
            update.as_deref(),
            Ok([LevelParam {
                id: Some(3),
                destroy: true,
                ..
            }])
        ));
        assert!(parse_levels(&serde_json::json!("x"), false).is_err());
    }

    #[test]
    fn validation_messages_are_gitlabs() {
        assert!(matches!(
            validate(&[], 0),
            Err(Error::Message { status: 422, .. })
        ));
        let role = NewDeployAccessLevel {
            access_level: Some(MAINTAINER),
            ..NewDeployAccessLevel::default()
        };
        assert!(validate(&[&role], 0).is_ok());
        assert!(validate(&[&role], 6).is_err());
        assert!(validate(&[&NewDeployAccessLevel::default()], 0).is_err());
    }
}
