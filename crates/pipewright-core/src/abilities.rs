//! What a caller may do in a project (GitLab's project abilities, jobs-api.md §2).

use pipewright_store::model::Project;

use crate::App;
use crate::auth::Actor;
use crate::error::Result;

pub const GUEST: i32 = 10;
pub const REPORTER: i32 = 20;
pub const DEVELOPER: i32 = 30;
pub const MAINTAINER: i32 = 40;
pub const OWNER: i32 = 50;

/// A project together with the caller's standing in it.
#[derive(Debug, Clone)]
pub struct ProjectAccess {
    pub project: Project,
    /// The caller's maximum access level (0 = not a member).
    pub level: i32,
    pub admin: bool,
    pub signed_in: bool,
}

impl ProjectAccess {
    pub fn can_read_project(&self) -> bool {
        self.admin
            || self.level >= GUEST
            || self.project.visibility == "public"
            || (self.project.visibility == "internal" && self.signed_in)
    }

    /// `read_build`: Reporter+, or anyone who sees the project when its jobs are public.
    pub fn can_read_build(&self) -> bool {
        self.admin
            || self.level >= REPORTER
            || (self.project.public_jobs && self.can_read_project())
    }

    /// `read_pipeline`: Reporter+, anyone with access to a public/internal project, Guests
    /// only when jobs are public.
    pub fn can_read_pipeline(&self) -> bool {
        self.admin
            || self.level >= REPORTER
            || (self.project.visibility != "private" && self.can_read_project())
            || (self.level >= GUEST && self.project.public_jobs)
    }

    /// `update_build` (cancel, retry, play, run pipelines): Developer+.
    pub fn can_update_build(&self) -> bool {
        self.admin || self.level >= DEVELOPER
    }

    /// `admin_build` (erase anyone's job, force cancel): Maintainer+.
    pub fn can_admin_build(&self) -> bool {
        self.admin || self.level >= MAINTAINER
    }

    /// Pushing to the repository: Developer+ (protected branches come with #3).
    pub fn can_push(&self) -> bool {
        self.admin || self.level >= DEVELOPER
    }

    /// Managing members and settings: Maintainer+.
    pub fn can_admin_project(&self) -> bool {
        self.admin || self.level >= MAINTAINER
    }
}

/// Computes the caller's access to a project: direct membership, or membership of the
/// namespace it lives in (the owner of a personal namespace is Owner).
pub async fn project_access(app: &App, actor: &Actor, project: Project) -> Result<ProjectAccess> {
    let Some(user) = actor.user() else {
        return Ok(ProjectAccess {
            project,
            level: 0,
            admin: false,
            signed_in: false,
        });
    };
    let direct = app
        .store
        .member_access_level("project", project.id, user.id)
        .await?;
    let inherited = app
        .store
        .namespace_access_level(user.id, project.namespace_id)
        .await?;
    let level = direct.max(inherited).unwrap_or(0);
    Ok(ProjectAccess {
        project,
        level,
        admin: actor.is_admin(),
        signed_in: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(visibility: &str, public_jobs: bool, level: i32, signed_in: bool) -> ProjectAccess {
        ProjectAccess {
            project: Project {
                id: 1,
                namespace_id: 1,
                name: "p".into(),
                path: "p".into(),
                full_path: "u/p".into(),
                description: None,
                visibility: visibility.into(),
                default_branch: "main".into(),
                public_jobs,
                ci_config_path: ".gitlab-ci.yml".into(),
                ci_pipeline_variables_minimum_override_role: "developer".into(),
                job_token_scope_enabled: false,
                creator_id: None,
                created_at: 0,
                updated_at: 0,
            },
            level,
            admin: false,
            signed_in,
        }
    }

    #[test]
    fn private_projects_are_invisible_to_outsiders() {
        assert!(!access("private", true, 0, true).can_read_project());
        assert!(!access("private", true, 0, false).can_read_project());
        assert!(access("private", true, GUEST, true).can_read_project());
    }

    #[test]
    fn read_build_follows_the_visibility_table() {
        // private: Guests only with public jobs; Reporters always.
        assert!(access("private", true, GUEST, true).can_read_build());
        assert!(!access("private", false, GUEST, true).can_read_build());
        assert!(access("private", false, REPORTER, true).can_read_build());
        // internal: signed-in non-members with public jobs.
        assert!(access("internal", true, 0, true).can_read_build());
        assert!(!access("internal", false, 0, true).can_read_build());
        assert!(!access("internal", true, 0, false).can_read_project());
        // public: anyone with public jobs.
        assert!(access("public", true, 0, false).can_read_build());
        assert!(!access("public", false, 0, false).can_read_build());
    }

    #[test]
    fn roles_gate_actions() {
        assert!(!access("private", true, REPORTER, true).can_update_build());
        assert!(access("private", true, DEVELOPER, true).can_update_build());
        assert!(!access("private", true, DEVELOPER, true).can_admin_build());
        assert!(access("private", true, MAINTAINER, true).can_admin_build());
    }
}
