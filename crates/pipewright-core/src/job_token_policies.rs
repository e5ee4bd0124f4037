//! Fine-grained CI/CD job token permissions (jobs-api.md §1.3.6): an allowlist entry either
//! keeps "default permissions" (the job's user acts with their role) or lists the policies
//! its job tokens may use. Routes declare the policy they need (GitLab's
//! `route_setting :authorization, job_token_policies:`); [`authorize`] enforces it in the
//! project lookup, after the read check and before the moved-project answer.

use std::future::Future;

use pipewright_store::model::{Job, Project};

use crate::App;
use crate::abilities::ProjectAccess;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::project_features::ENABLED;

/// GitLab's `Ci::JobToken::Policies::POLICIES`.
pub const POLICIES: [&str; 18] = [
    "read_deployments",
    "admin_deployments",
    "read_environments",
    "admin_environments",
    "read_jobs",
    "admin_jobs",
    "read_merge_requests",
    "read_packages",
    "admin_packages",
    "read_pipelines",
    "admin_pipelines",
    "read_releases",
    "admin_releases",
    "read_repositories",
    "read_secure_files",
    "admin_secure_files",
    "read_terraform_state",
    "admin_terraform_state",
];

/// What a route asks of job tokens from other projects.
#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    pub policy: &'static str,
    /// GitLab's `allow_public_access_for_enabled_project_features: [:repository, :builds]`:
    /// no policy is needed on a public or internal project whose repository and CI/CD are
    /// both enabled for everyone with access.
    pub public_features_exempt: bool,
}

tokio::task_local! {
    static ROUTE_POLICY: RoutePolicy;
}

/// Runs a route handler with its job token policy declared (the HTTP layer wraps E1-E3).
pub async fn with_route_policy<F: Future>(policy: RoutePolicy, handler: F) -> F::Output {
    ROUTE_POLICY.scope(policy, handler).await
}

fn route_policy() -> Option<RoutePolicy> {
    ROUTE_POLICY.try_with(|policy| *policy).ok()
}

/// The 403 of a job token whose allowlist entry lacks the route's policy.
fn insufficient(project: &Project, policy: &str) -> Error {
    Error::forbidden_because(format!(
        "Insufficient permissions to access this resource in project {}. The following token permission is required: {policy}.",
        project.path
    ))
}

/// Enforces the current route's policy on a job token reaching `project` (no-op for other
/// callers, routes without a policy, the job's own project, and projects none of whose
/// allowlist entries use fine-grained permissions: GitLab's per-project opt-in).
pub async fn authorize(app: &App, actor: &Actor, project: &Project) -> Result<()> {
    let (Actor::Job { job, .. }, Some(route)) = (actor, route_policy()) else {
        return Ok(());
    };
    if job.project_id == project.id {
        return Ok(());
    }
    if route.public_features_exempt
        && project.visibility != "private"
        && project.builds_access_level == ENABLED
        && project.repository_access_level == ENABLED
    {
        return Ok(());
    }
    if !app.store.job_token_policies_in_use(project.id).await? {
        return Ok(());
    }
    if !app
        .store
        .inbound_job_token_scope_enabled(project.id)
        .await?
    {
        return Ok(());
    }
    let allowed = match nearest_entry(app, job, project).await? {
        Some((true, _)) => true,
        Some((false, policies)) => policies.iter().any(|policy| policy == route.policy),
        // Outside the allowlists altogether (a public project read anonymously).
        None => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(insufficient(project, route.policy))
    }
}

/// The allowlist entry that lets the job's project in: its own entry, else the entry of the
/// nearest group above it (GitLab's `nearest_scope_for_target_project`).
async fn nearest_entry(
    app: &App,
    job: &Job,
    project: &Project,
) -> Result<Option<(bool, Vec<String>)>> {
    if let Some(entry) = app
        .store
        .job_token_project_link_permissions(project.id, job.project_id)
        .await?
    {
        return Ok(Some(entry));
    }
    let Some(source) = app.store.project_by_id(job.project_id).await? else {
        return Ok(None);
    };
    for group_id in crate::groups::group_chain_ids(app, source.namespace_id).await? {
        if let Some(entry) = app
            .store
            .job_token_group_link_permissions(project.id, group_id)
            .await?
        {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

/// `default_permissions` and `job_token_policies` of a request, `None` where not given.
#[derive(Debug, Default, Clone)]
pub struct PermissionsParams {
    pub default_permissions: Option<bool>,
    pub job_token_policies: Option<Vec<String>>,
}

impl PermissionsParams {
    /// Parameter validation: every policy must be one of [`POLICIES`].
    pub fn validate(&self) -> Result<()> {
        let valid = self
            .job_token_policies
            .iter()
            .flatten()
            .all(|policy| POLICIES.contains(&policy.as_str()));
        if !valid {
            return Err(Error::Param(
                "job_token_policies does not have a valid value".into(),
            ));
        }
        Ok(())
    }

    /// The entry's permissions after applying these parameters to `current`; duplicates
    /// are dropped, order kept.
    fn applied(&self, current: (bool, Vec<String>)) -> (bool, Vec<String>) {
        let default = self.default_permissions.unwrap_or(current.0);
        let mut policies = Vec::new();
        for policy in self.job_token_policies.clone().unwrap_or(current.1) {
            if !policies.contains(&policy) {
                policies.push(policy);
            }
        }
        (default, policies)
    }
}

/// An allowlist entry as `PATCH` answers it.
#[derive(Debug, Clone)]
pub struct EntryPermissions {
    pub source_project_id: i64,
    pub target_id: i64,
    pub default_permissions: bool,
    pub job_token_policies: Vec<String>,
}

fn require_admin(actor: &Actor, access: &ProjectAccess) -> Result<()> {
    actor.require_write_scope()?;
    if !access.can_admin_project() {
        return Err(Error::forbidden());
    }
    Ok(())
}

/// An allowlist entry of a project's job token scope: another project or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowlistEntry {
    Project(i64),
    Group(i64),
}

impl AllowlistEntry {
    fn target_id(self) -> i64 {
        match self {
            AllowlistEntry::Project(id) | AllowlistEntry::Group(id) => id,
        }
    }

    async fn permissions(self, app: &App, source: i64) -> Result<Option<(bool, Vec<String>)>> {
        Ok(match self {
            AllowlistEntry::Project(target) => {
                app.store
                    .job_token_project_link_permissions(source, target)
                    .await?
            }
            AllowlistEntry::Group(target) => {
                app.store
                    .job_token_group_link_permissions(source, target)
                    .await?
            }
        })
    }

    async fn set_permissions(
        self,
        app: &App,
        source: i64,
        (default, policies): &(bool, Vec<String>),
    ) -> Result<()> {
        match self {
            AllowlistEntry::Project(target) => {
                app.store
                    .set_job_token_project_link_permissions(source, target, *default, policies)
                    .await?;
            }
            AllowlistEntry::Group(target) => {
                app.store
                    .set_job_token_group_link_permissions(source, target, *default, policies)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Sets the permissions of an entry just added (`POST .../allowlist`, `.../groups_allowlist`).
pub async fn apply_to_new_entry(
    app: &App,
    access: &ProjectAccess,
    entry: AllowlistEntry,
    params: &PermissionsParams,
) -> Result<()> {
    let applied = params.applied((true, Vec::new()));
    entry
        .set_permissions(app, access.project.id, &applied)
        .await
}

/// `PATCH /projects/:id/job_token_scope/allowlist/:target_project_id` and
/// `.../groups_allowlist/:target_group_id`.
pub async fn update_entry(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    entry: AllowlistEntry,
    params: &PermissionsParams,
) -> Result<EntryPermissions> {
    require_admin(actor, access)?;
    let source = access.project.id;
    let current = entry.permissions(app, source).await?.ok_or_else(|| {
        let kind = match entry {
            AllowlistEntry::Project(_) => "project",
            AllowlistEntry::Group(_) => "group",
        };
        Error::BadRequest(format!("Target {kind} is not in the job token scope"))
    })?;
    let applied = params.applied(current);
    entry.set_permissions(app, source, &applied).await?;
    let (default_permissions, job_token_policies) = applied;
    Ok(EntryPermissions {
        source_project_id: source,
        target_id: entry.target_id(),
        default_permissions,
        job_token_policies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_validated_and_applied() {
        let params = PermissionsParams {
            default_permissions: Some(false),
            job_token_policies: Some(vec!["read_jobs".into(), "read_jobs".into()]),
        };
        assert!(params.validate().is_ok());
        assert_eq!(
            params.applied((true, Vec::new())),
            (false, vec!["read_jobs".to_owned()])
        );
        let keep = PermissionsParams::default();
        assert_eq!(
            keep.applied((false, vec!["read_pipelines".into()])),
            (false, vec!["read_pipelines".to_owned()])
        );
        let bad = PermissionsParams {
            default_permissions: None,
            job_token_policies: Some(vec!["write_everything".into()]),
        };
        assert!(bad.validate().is_err());
    }

    #[tokio::test]
    async fn the_route_policy_is_scoped_to_its_handler() {
        assert!(route_policy().is_none());
        let inside = with_route_policy(
            RoutePolicy {
                policy: "read_jobs",
                public_features_exempt: false,
            },
            async { route_policy().map(|route| route.policy) },
        )
        .await;
        assert_eq!(inside, Some("read_jobs"));
        assert!(route_policy().is_none());
    }
}
