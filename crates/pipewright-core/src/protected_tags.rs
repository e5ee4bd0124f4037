//! Protected tags (`/projects/:id/protected_tags`): who may create tags matching a name or
//! `*` pattern. Jobs on protected tags are jobs on protected refs
//! ([`crate::protected_refs::ref_protected`], [`crate::protected_refs::may_update_ref`]).

use pipewright_store::StoreError;
use pipewright_store::model::ProtectedTag;

use crate::App;
use crate::abilities::{MAINTAINER, ProjectAccess};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::protected_refs::{ACCESS_LEVELS, RefRule, RefRules};

impl RefRule for ProtectedTag {
    fn pattern(&self) -> &str {
        &self.name
    }
}

pub type TagRules = RefRules<ProtectedTag>;

impl TagRules {
    pub async fn load(app: &App, project_id: i64) -> Result<TagRules> {
        Ok(RefRules {
            rules: app.store.protected_tags(project_id).await?,
        })
    }

    /// GitLab's `can_create_tag?`: push rights, and on a protected tag a matching rule
    /// whose create level the caller reaches.
    pub fn can_create(&self, access: &ProjectAccess, tag: &str) -> bool {
        self.allows(access, tag, |rule| rule.create_access_level)
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

/// `GET /projects/:id/protected_tags`.
pub async fn list(app: &App, actor: &Actor, access: &ProjectAccess) -> Result<Vec<ProtectedTag>> {
    require_admin(actor, access, false)?;
    Ok(app.store.protected_tags(access.project.id).await?)
}

/// `GET /projects/:id/protected_tags/:name` (the exact rule name, wildcards included).
pub async fn get(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    name: &str,
) -> Result<ProtectedTag> {
    require_admin(actor, access, false)?;
    app.store
        .protected_tag_by_name(access.project.id, name)
        .await?
        .ok_or_else(Error::record_not_found)
}

/// Parameter validation of `create_access_level` (GitLab's `values`); default Maintainers.
pub fn create_level(level: Option<i64>) -> Result<i32> {
    let Some(level) = level else {
        return Ok(MAINTAINER);
    };
    i32::try_from(level)
        .ok()
        .filter(|level| ACCESS_LEVELS.contains(level))
        .ok_or_else(|| Error::Param("create_access_level does not have a valid value".into()))
}

/// `POST /projects/:id/protected_tags`; a name already protected is GitLab's 422.
pub async fn create(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    name: &str,
    create_access_level: i32,
) -> Result<ProtectedTag> {
    require_admin(actor, access, true)?;
    match app
        .store
        .create_protected_tag(access.project.id, name, create_access_level)
        .await
    {
        Ok(rule) => Ok(rule),
        Err(StoreError::Duplicate(_)) => Err(Error::Message {
            status: 422,
            message: serde_json::json!(["Name has already been taken"]),
        }),
        Err(err) => Err(err.into()),
    }
}

/// `DELETE /projects/:id/protected_tags/:name`.
pub async fn delete(app: &App, actor: &Actor, access: &ProjectAccess, name: &str) -> Result<()> {
    let rule = get(app, actor, access, name).await?;
    actor.require_write_scope()?;
    app.store.delete_protected_tag(rule.id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_levels_are_gitlabs() {
        assert_eq!(create_level(None).ok(), Some(MAINTAINER));
        assert_eq!(create_level(Some(30)).ok(), Some(30));
        assert_eq!(create_level(Some(0)).ok(), Some(0));
        assert!(create_level(Some(20)).is_err());
        assert!(create_level(Some(i64::MAX)).is_err());
    }
}
