//! The CI/CD job token scope (jobs-api.md §1.3.6): which projects' job tokens may reach a
//! project, and the API that manages the inbound allowlists.

use pipewright_store::model::{Job, Namespace, Project};

use crate::App;
use crate::abilities::{self, ProjectAccess};
use crate::auth::Actor;
use crate::error::{Error, Result};

/// Whether a job token of `job` may authenticate against `project`: always for its own
/// project; otherwise when the project's inbound scope is off, or the job's project (or a
/// group above it) is on the project's allowlist.
pub async fn job_may_access(app: &App, job: &Job, project: &Project) -> Result<bool> {
    if job.project_id == project.id {
        return Ok(true);
    }
    if !app
        .store
        .inbound_job_token_scope_enabled(project.id)
        .await?
    {
        return Ok(true);
    }
    let projects = app.store.job_token_allowlisted_projects(project.id).await?;
    if projects.contains(&job.project_id) {
        return Ok(true);
    }
    let groups = app.store.job_token_allowlisted_groups(project.id).await?;
    if groups.is_empty() {
        return Ok(false);
    }
    let Some(source) = app.store.project_by_id(job.project_id).await? else {
        return Ok(false);
    };
    let chain = crate::groups::group_chain_ids(app, source.namespace_id).await?;
    Ok(chain.iter().any(|id| groups.contains(id)))
}

/// The caller's access to a project with the job token scope applied: a job token from a
/// project that is not allowlisted is worth no more than anonymous access. The second value
/// tells whether the scope cut the access down.
pub async fn scoped_access(
    app: &App,
    actor: &Actor,
    project: Project,
) -> Result<(ProjectAccess, bool)> {
    if let Actor::Job { job, .. } = actor
        && !job_may_access(app, job, &project).await?
    {
        let access = abilities::project_access(app, &Actor::Anonymous, project).await?;
        return Ok((access, true));
    }
    Ok((abilities::project_access(app, actor, project).await?, false))
}

/// The 403 a job token gets for a project outside its scope (short paths, as GitLab).
pub async fn cross_project_error(app: &App, job: &Job, accessed: &Project) -> Result<Error> {
    let source = app
        .store
        .project_by_id(job.project_id)
        .await?
        .map(|project| project.path)
        .unwrap_or_default();
    Ok(Error::forbidden_because(format!(
        "Authentication by CI/CD job token not allowed from {source} to {}.",
        accessed.path
    )))
}

/// Managing the scope needs `admin_project` (Maintainer).
fn require_admin(actor: &Actor, access: &ProjectAccess, write: bool) -> Result<()> {
    if write {
        actor.require_write_scope()?;
    }
    if !access.can_admin_project() {
        return Err(Error::forbidden());
    }
    Ok(())
}

/// `GET /projects/:id/job_token_scope`: (inbound enabled, outbound enabled).
pub async fn settings(app: &App, actor: &Actor, access: &ProjectAccess) -> Result<(bool, bool)> {
    require_admin(actor, access, false)?;
    let inbound = app
        .store
        .inbound_job_token_scope_enabled(access.project.id)
        .await?;
    Ok((inbound, access.project.job_token_scope_enabled))
}

/// `PATCH /projects/:id/job_token_scope` with `enabled`.
pub async fn set_enabled(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    enabled: bool,
) -> Result<()> {
    require_admin(actor, access, true)?;
    app.store
        .set_inbound_job_token_scope_enabled(access.project.id, enabled)
        .await?;
    Ok(())
}

/// `GET .../job_token_scope/allowlist`: the project itself, then the allowlisted projects.
pub async fn allowlisted_projects(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
) -> Result<Vec<Project>> {
    require_admin(actor, access, false)?;
    let mut ids = vec![access.project.id];
    ids.extend(
        app.store
            .job_token_allowlisted_projects(access.project.id)
            .await?,
    );
    let mut projects = app.store.projects_by_ids(&ids).await?;
    projects.sort_by_key(|project| ids.iter().position(|id| *id == project.id));
    Ok(projects)
}

/// `GET .../job_token_scope/groups_allowlist`.
pub async fn allowlisted_groups(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
) -> Result<Vec<Namespace>> {
    require_admin(actor, access, false)?;
    let ids = app
        .store
        .job_token_allowlisted_groups(access.project.id)
        .await?;
    let mut groups = app.store.namespaces_by_ids(&ids).await?;
    groups.sort_by_key(|group| ids.iter().position(|id| *id == group.id));
    Ok(groups)
}

const TARGET_PROJECT_UNAUTHORIZED_OR_UNFOUND: &str = "The target_project that you are attempting to access does not exist or you don't have permission to perform this action";
const TARGET_GROUP_UNAUTHORIZED_OR_UNFOUND: &str = "The target_group that you are attempting to access does not exist or you don't have permission to perform this action";

/// `POST .../job_token_scope/allowlist` with `target_project_id`.
pub async fn add_project(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    target_project_id: i64,
) -> Result<i64> {
    require_admin(actor, access, true)?;
    let target = app
        .store
        .project_by_id(target_project_id)
        .await?
        .ok_or_else(|| Error::not_found("target_project_id not found"))?;
    let target_access = abilities::project_access(app, actor, target).await?;
    if !target_access.can_read_project() {
        return Err(Error::BadRequest(
            TARGET_PROJECT_UNAUTHORIZED_OR_UNFOUND.into(),
        ));
    }
    if !app
        .store
        .add_job_token_project_link(access.project.id, target_project_id)
        .await?
    {
        return Err(Error::BadRequest(
            "Target project is already in the job token scope".into(),
        ));
    }
    Ok(target_project_id)
}

/// `DELETE .../job_token_scope/allowlist/:target_project_id`.
pub async fn remove_project(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    target_project_id: i64,
) -> Result<()> {
    actor.require_write_scope()?;
    if app.store.project_by_id(target_project_id).await?.is_none() {
        return Err(Error::not_found("Project"));
    }
    if !access.can_admin_project() {
        return Err(Error::forbidden_because(
            "Insufficient permissions to modify the job token scope",
        ));
    }
    if !app
        .store
        .remove_job_token_project_link(access.project.id, target_project_id)
        .await?
    {
        return Err(Error::BadRequest(
            "Target project is not in the job token scope".into(),
        ));
    }
    Ok(())
}

/// `POST .../job_token_scope/groups_allowlist` with `target_group_id`.
pub async fn add_group(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    target_group_id: i64,
) -> Result<i64> {
    require_admin(actor, access, true)?;
    let group = app
        .store
        .namespace_by_id(target_group_id)
        .await?
        .filter(|namespace| namespace.kind == "group")
        .ok_or_else(|| Error::not_found("target_group_id not found"))?;
    if crate::groups::find_group(app, actor, &group.id.to_string())
        .await
        .is_err()
    {
        return Err(Error::BadRequest(
            TARGET_GROUP_UNAUTHORIZED_OR_UNFOUND.into(),
        ));
    }
    if !app
        .store
        .add_job_token_group_link(access.project.id, group.id)
        .await?
    {
        return Err(Error::BadRequest(
            "Target group is already in the job token scope".into(),
        ));
    }
    Ok(group.id)
}

/// `DELETE .../job_token_scope/groups_allowlist/:target_group_id`.
pub async fn remove_group(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    target_group_id: i64,
) -> Result<()> {
    actor.require_write_scope()?;
    let exists = app
        .store
        .namespace_by_id(target_group_id)
        .await?
        .is_some_and(|namespace| namespace.kind == "group");
    if !exists {
        return Err(Error::not_found("target_group_id not found"));
    }
    if !access.can_admin_project() {
        return Err(Error::forbidden_because(
            "Insufficient permissions to modify the job token scope",
        ));
    }
    if !app
        .store
        .remove_job_token_group_link(access.project.id, target_group_id)
        .await?
    {
        return Err(Error::BadRequest(
            "Target group is not in the job token scope".into(),
        ));
    }
    Ok(())
}
