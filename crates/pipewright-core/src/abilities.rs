//! What a caller may do in a project (GitLab's project abilities, jobs-api.md §2).

use pipewright_store::model::Project;

use crate::App;
use crate::auth::Actor;
use crate::error::Result;
use crate::project_features;

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

    /// GitLab's `feature_available?`: a disabled feature is nobody's (administrators
    /// included), a private one is for members (Guest+) and administrators, an enabled one
    /// for whoever sees the project.
    fn feature_available(&self, level: i32) -> bool {
        match level {
            project_features::DISABLED => false,
            project_features::PRIVATE => self.admin || self.level >= GUEST,
            _ => true,
        }
    }

    /// Whether the CI/CD feature is visible to the caller.
    pub fn builds_available(&self) -> bool {
        self.feature_available(self.project.builds_access_level)
    }

    /// Whether the repository feature is visible to the caller (`download_code`).
    pub fn repository_available(&self) -> bool {
        self.feature_available(self.project.repository_access_level)
    }

    /// GitLab's `builds_disabled | repository_disabled` rule: it prevents every build
    /// ability, for administrators too.
    fn builds_allowed(&self) -> bool {
        self.builds_available() && self.repository_available()
    }

    /// `read_build`: Reporter+, or anyone who sees the project when its jobs are public;
    /// never when CI/CD or the repository is not available to the caller.
    pub fn can_read_build(&self) -> bool {
        self.builds_allowed()
            && (self.admin
                || self.level >= REPORTER
                || (self.project.public_jobs && self.can_read_project()))
    }

    /// `read_pipeline`: Reporter+, anyone with access to a public/internal project, Guests
    /// only when jobs are public; withdrawn with CI/CD or the repository.
    pub fn can_read_pipeline(&self) -> bool {
        self.builds_allowed()
            && (self.admin
                || self.level >= REPORTER
                || (self.project.visibility != "private" && self.can_read_project())
                || (self.level >= GUEST && self.project.public_jobs))
    }

    /// `update_build` (cancel, retry, play, run pipelines): Developer+, CI/CD on.
    pub fn can_update_build(&self) -> bool {
        self.builds_allowed() && (self.admin || self.level >= DEVELOPER)
    }

    /// `admin_build` (erase anyone's job, force cancel): Maintainer+, CI/CD on.
    pub fn can_admin_build(&self) -> bool {
        self.builds_allowed() && (self.admin || self.level >= MAINTAINER)
    }

    /// Pushing to the repository: Developer+, repository on (protected refs are checked
    /// by [`crate::protected_refs`]).
    pub fn can_push(&self) -> bool {
        self.repository_available() && (self.admin || self.level >= DEVELOPER)
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
    let level = crate::access_cache::project_level(app, user.id, &project).await?;
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
                builds_access_level: project_features::ENABLED,
                repository_access_level: project_features::ENABLED,
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
