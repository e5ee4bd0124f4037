//! Protected branches: who may push to or merge into a branch, the API that manages the
//! rules, and the protected-ref part of the job abilities (jobs-api.md §2.1).

use pipewright_store::model::{Job, Project};
use pipewright_store::{NewProtectedBranch, StoreError};

pub use pipewright_store::ProtectedBranch;

use crate::App;
use crate::abilities::{DEVELOPER, MAINTAINER, ProjectAccess};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::protected_tags::TagRules;

pub const NO_ACCESS: i32 = 0;
pub const ADMIN_ACCESS: i32 = 60;
/// The levels a rule may require (`ProtectedRefAccess.allowed_access_levels`).
pub const ACCESS_LEVELS: [i32; 4] = [NO_ACCESS, DEVELOPER, MAINTAINER, ADMIN_ACCESS];

/// GitLab's label for an access level of a rule.
pub fn level_description(level: i32) -> &'static str {
    match level {
        NO_ACCESS => "No one",
        DEVELOPER => "Developers + Maintainers",
        MAINTAINER => "Maintainers",
        ADMIN_ACCESS => "Admins",
        _ => "Unknown",
    }
}

/// Whether `name` matches a rule: exactly, or through `*` wildcards (which match any run
/// of characters, `/` included, as GitLab's wildcard matcher does).
pub fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(split) => split,
        None => return false,
    };
    let Some(mut remaining) = name.strip_prefix(first) else {
        return false;
    };
    let (last, middle) = match rest.split_last() {
        Some(split) => split,
        None => return remaining.is_empty(),
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// A protection rule: a ref name or `*` pattern.
pub trait RefRule {
    fn pattern(&self) -> &str;
}

impl RefRule for ProtectedBranch {
    fn pattern(&self) -> &str {
        &self.name
    }
}

/// A project's protected branch or tag rules, loaded once per request.
#[derive(Debug, Clone)]
pub struct RefRules<R> {
    pub rules: Vec<R>,
}

impl<R> Default for RefRules<R> {
    fn default() -> Self {
        RefRules { rules: Vec::new() }
    }
}

impl<R: RefRule> RefRules<R> {
    pub(crate) fn matching<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a R> {
        self.rules
            .iter()
            .filter(move |rule| matches(rule.pattern(), name))
    }

    pub fn is_protected(&self, name: &str) -> bool {
        self.matching(name).next().is_some()
    }

    /// Developer+ on unprotected refs; on protected ones, any matching rule whose
    /// `level` the caller reaches.
    pub(crate) fn allows(
        &self,
        access: &ProjectAccess,
        name: &str,
        level: impl Fn(&R) -> i32,
    ) -> bool {
        if !access.can_push() {
            return false;
        }
        !self.is_protected(name) || self.matching(name).any(|rule| reaches(access, level(rule)))
    }
}

pub type BranchRules = RefRules<ProtectedBranch>;

impl BranchRules {
    pub async fn load(app: &App, project_id: i64) -> Result<BranchRules> {
        Ok(RefRules {
            rules: app.store.protected_branches(project_id).await?,
        })
    }

    pub fn can_push(&self, access: &ProjectAccess, branch: &str) -> bool {
        self.allows(access, branch, |rule| rule.push_access_level)
    }

    pub fn can_merge(&self, access: &ProjectAccess, branch: &str) -> bool {
        self.allows(access, branch, |rule| rule.merge_access_level)
    }

    /// The branch entity's `developers_can_push` / `developers_can_merge`.
    pub fn developers_can(&self, branch: &str) -> (bool, bool) {
        let push = self
            .matching(branch)
            .any(|rule| rule.push_access_level == DEVELOPER);
        let merge = self
            .matching(branch)
            .any(|rule| rule.merge_access_level == DEVELOPER);
        (push, merge)
    }
}

/// Whether the caller's role reaches a rule's level. "No one" stops everybody, admins
/// included; "Admins" only lets administrators through.
pub(crate) fn reaches(access: &ProjectAccess, level: i32) -> bool {
    match level {
        NO_ACCESS => false,
        ADMIN_ACCESS => access.admin,
        level => access.admin || access.level >= level,
    }
}

/// Whether a ref is protected: a branch matching a protected branch rule, or a tag
/// matching a protected tag rule (`CI_COMMIT_REF_PROTECTED`, `ref_protected` runners).
pub async fn ref_protected(app: &App, project_id: i64, ref_name: &str, tag: bool) -> Result<bool> {
    if tag {
        return Ok(TagRules::load(app, project_id)
            .await?
            .is_protected(ref_name));
    }
    Ok(BranchRules::load(app, project_id)
        .await?
        .is_protected(ref_name))
}

/// Whether the caller may update a ref, as the protected-ref part of the job abilities
/// asks (jobs-api.md §2.1): any unprotected ref; a protected branch with push or merge
/// rights to it; a protected tag with the right to create it.
pub async fn may_update_ref(
    app: &App,
    access: &ProjectAccess,
    ref_name: &str,
    tag: bool,
) -> Result<bool> {
    if tag {
        let rules = TagRules::load(app, access.project.id).await?;
        return Ok(!rules.is_protected(ref_name) || rules.can_create(access, ref_name));
    }
    let rules = BranchRules::load(app, access.project.id).await?;
    Ok(!rules.is_protected(ref_name)
        || rules.can_push(access, ref_name)
        || rules.can_merge(access, ref_name))
}

/// `CI_COMMIT_REF_PROTECTED`: see [`ref_protected`].
pub async fn is_ref_protected(
    app: &App,
    project: &Project,
    ref_name: &str,
    tag: bool,
) -> Result<bool> {
    ref_protected(app, project.id, ref_name, tag).await
}

/// Whether the repository has no commits yet. GitLab then treats every branch as protected
/// (only Maintainers may push the first commit).
async fn repository_is_empty(app: &App, project_id: i64) -> Result<bool> {
    let repo = app.repository(project_id);
    Ok(tokio::task::spawn_blocking(move || repo.is_empty()).await??)
}

/// May the caller push commits to `branch` (Commits API, git push)?
pub async fn may_push_branch(app: &App, access: &ProjectAccess, branch: &str) -> Result<bool> {
    if repository_is_empty(app, access.project.id).await? {
        return Ok(access.can_admin_project());
    }
    Ok(BranchRules::load(app, access.project.id)
        .await?
        .can_push(access, branch))
}

/// One ref update of a push (`<old> <new> <ref>` of receive-pack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    pub old: String,
    pub new: String,
    pub name: String,
}

/// The all-zero object name (either hash length) that marks a created or deleted ref.
fn is_zero(oid: &str) -> bool {
    !oid.is_empty() && oid.bytes().all(|b| b == b'0')
}

/// GitLab's branch checks of a push (`Gitlab::Checks::BranchCheck`): the first refusal, as
/// the message the client shows, or `None` when every update is allowed. Force pushes are
/// not detected (the new objects are not in the repository before receive-pack runs).
pub async fn push_rejection(
    app: &App,
    access: &ProjectAccess,
    changes: &[RefChange],
) -> Result<Option<String>> {
    let rules = BranchRules::load(app, access.project.id).await?;
    let tags = TagRules::load(app, access.project.id).await?;
    let empty = repository_is_empty(app, access.project.id).await?;
    for change in changes {
        if let Some(tag) = change.name.strip_prefix("refs/tags/") {
            if let Some(message) = tag_rejection(&tags, access, change, tag) {
                return Ok(Some(message.into()));
            }
            continue;
        }
        let Some(branch) = change.name.strip_prefix("refs/heads/") else {
            continue;
        };
        let deletion = is_zero(&change.new);
        if deletion && branch == access.project.default_branch {
            return Ok(Some(
                "The default branch of a project cannot be deleted.".into(),
            ));
        }
        if empty {
            if !access.can_admin_project() {
                return Ok(Some(
                    "You are not allowed to push code to protected branches on this project."
                        .into(),
                ));
            }
            continue;
        }
        if !rules.is_protected(branch) {
            continue;
        }
        if deletion {
            return Ok(Some(if access.can_admin_project() {
                "You can only delete protected branches using the web interface.".into()
            } else {
                "You are not allowed to delete protected branches from this project. Only a project maintainer or owner can delete a protected branch.".into()
            }));
        }
        if !rules.can_push(access, branch) {
            return Ok(Some(
                "You are not allowed to push code to protected branches on this project.".into(),
            ));
        }
    }
    Ok(None)
}

/// GitLab's protected tag checks of a push (`Gitlab::Checks::TagCheck`): protected tags are
/// never moved, deleted only from the web interface, created by those a rule admits.
fn tag_rejection(
    tags: &TagRules,
    access: &ProjectAccess,
    change: &RefChange,
    tag: &str,
) -> Option<&'static str> {
    if !tags.is_protected(tag) {
        return None;
    }
    let created = is_zero(&change.old);
    let deleted = is_zero(&change.new);
    if !created && !deleted {
        return Some("Protected tags cannot be updated.");
    }
    if deleted {
        return Some(if access.can_admin_project() {
            "You can only delete protected tags using the web interface."
        } else {
            "You are not allowed to delete protected tags from this project. Only a project maintainer or owner can delete a protected tag."
        });
    }
    (!tags.can_create(access, tag))
        .then_some("You are not allowed to create this tag as it is protected.")
}

/// Replaces the `CI_COMMIT_REF_PROTECTED` that [`crate::variables::pipeline_variables`]
/// approximates (it cannot query the rules) with the answer of the project's rules.
pub async fn set_ref_protected_variable(
    app: &App,
    project: &Project,
    ref_name: &str,
    tag: bool,
    variables: &mut [(String, String)],
) -> Result<()> {
    let protected = is_ref_protected(app, project, ref_name, tag).await?;
    for (key, value) in variables.iter_mut() {
        if key == "CI_COMMIT_REF_PROTECTED" {
            *value = protected.to_string();
        }
    }
    Ok(())
}

/// The protected-ref part of `cancel_build`, `retry_job`, `play_job` (and of `erase_build`
/// for Maintainers): a job on a protected branch needs push or merge rights to it, one on a
/// protected tag the right to create the tag.
pub async fn may_act_on_job_ref(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    job: &Job,
) -> Result<bool> {
    // GitLab's BuildPolicy also prevents acting on an outdated deployment job, and (EE) on
    // a job deploying to a protected environment the caller may not deploy to.
    Ok(may_update_ref(app, access, &job.ref_name, job.tag).await?
        && !crate::deployments::is_outdated(app, job).await?
        && crate::protected_environments::may_deploy(app, actor, access, job).await?)
}

/// GitLab's `allowed_to_write_ref?` for running a pipeline: a protected branch needs push
/// or merge rights, a protected tag (a ref that names a tag and no branch) the right to
/// create it.
pub async fn may_write_ref(app: &App, access: &ProjectAccess, ref_name: &str) -> Result<bool> {
    let repo = app.repository(access.project.id);
    let name = ref_name.to_owned();
    let tag = tokio::task::spawn_blocking(move || -> Result<bool> {
        Ok(!repo.is_branch(&name)? && repo.is_tag(&name)?)
    })
    .await??;
    may_update_ref(app, access, ref_name, tag).await
}

/// Whether the job's ref is a protected branch or tag.
pub async fn job_ref_protected(app: &App, job: &Job) -> Result<bool> {
    ref_protected(app, job.project_id, &job.ref_name, job.tag).await
}

/// Protects the default branch of a new project: Maintainers push and merge, as GitLab's
/// default branch protection does.
pub async fn protect_default_branch(app: &App, project: &Project) -> Result<()> {
    match app
        .store
        .create_protected_branch(&NewProtectedBranch {
            project_id: project.id,
            name: project.default_branch.clone(),
            push_access_level: MAINTAINER,
            merge_access_level: MAINTAINER,
            allow_force_push: false,
        })
        .await
    {
        Ok(_) | Err(StoreError::Duplicate(_)) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Managing rules (and reading them through the API) is a Maintainer's job.
fn require_admin(actor: &Actor, access: &ProjectAccess, write: bool) -> Result<()> {
    if write {
        actor.require_write_scope()?;
    }
    if !access.can_admin_project() {
        return Err(Error::forbidden());
    }
    Ok(())
}

/// `GET /projects/:id/protected_branches`.
pub async fn list(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
) -> Result<Vec<ProtectedBranch>> {
    require_admin(actor, access, false)?;
    Ok(app.store.protected_branches(access.project.id).await?)
}

/// `GET /projects/:id/protected_branches/:name` (the exact rule name, wildcards included).
pub async fn get(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    name: &str,
) -> Result<ProtectedBranch> {
    require_admin(actor, access, false)?;
    app.store
        .protected_branch_by_name(access.project.id, name)
        .await?
        .ok_or_else(Error::record_not_found)
}

pub struct ProtectBranch {
    pub name: String,
    pub push_access_level: Option<i32>,
    pub merge_access_level: Option<i32>,
    pub allow_force_push: bool,
}

/// `POST /projects/:id/protected_branches`: levels default to Maintainers.
pub async fn create(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    params: ProtectBranch,
) -> Result<ProtectedBranch> {
    require_admin(actor, access, true)?;
    let push = params.push_access_level.unwrap_or(MAINTAINER);
    let merge = params.merge_access_level.unwrap_or(MAINTAINER);
    if !ACCESS_LEVELS.contains(&push) {
        return Err(Error::Param(
            "push_access_level does not have a valid value".into(),
        ));
    }
    if !ACCESS_LEVELS.contains(&merge) {
        return Err(Error::Param(
            "merge_access_level does not have a valid value".into(),
        ));
    }
    let created = app
        .store
        .create_protected_branch(&NewProtectedBranch {
            project_id: access.project.id,
            name: params.name.clone(),
            push_access_level: push,
            merge_access_level: merge,
            allow_force_push: params.allow_force_push,
        })
        .await;
    match created {
        Ok(rule) => Ok(rule),
        Err(StoreError::Duplicate(_)) => Err(Error::message(
            409,
            format!("Protected branch '{}' already exists", params.name),
        )),
        Err(err) => Err(err.into()),
    }
}

/// `PATCH /projects/:id/protected_branches/:name` (`allow_force_push`).
pub async fn update(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    name: &str,
    allow_force_push: Option<bool>,
) -> Result<ProtectedBranch> {
    let rule = get(app, actor, access, name).await?;
    actor.require_write_scope()?;
    let Some(flag) = allow_force_push else {
        return Ok(rule);
    };
    app.store
        .set_protected_branch_force_push(rule.id, flag)
        .await?
        .ok_or_else(Error::record_not_found)
}

/// `DELETE /projects/:id/protected_branches/:name`.
pub async fn delete(app: &App, actor: &Actor, access: &ProjectAccess, name: &str) -> Result<()> {
    let rule = get(app, actor, access, name).await?;
    actor.require_write_scope()?;
    app.store.delete_protected_branch(rule.id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_gitlab() {
        assert!(matches("main", "main"));
        assert!(!matches("main", "main2"));
        assert!(matches("release/*", "release/1.0"));
        assert!(matches("release/*", "release/1/hotfix"));
        assert!(!matches("release/*", "release"));
        assert!(matches("*-stable", "v1-stable"));
        assert!(!matches("*-stable", "v1-stable-x"));
        assert!(matches("*", "anything/at/all"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXc"));
        assert!(matches("a*a", "aa"));
        assert!(!matches("a*a", "a"));
    }
}
