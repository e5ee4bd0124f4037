//! `include:project` and `include:component` for the YAML planner: a file of another project
//! of this server, read with the access of the pipeline's user (GitLab's `download_code`), at a
//! ref or the default branch; a component's template at a version (tag, branch, sha, `~latest`
//! or a partial semantic version, resolved against the project's semver tags).

use pipewright_ciyaml::{ComponentFile, ProjectFile, ProjectPaths};
use pipewright_store::model::User;
use tokio::runtime::Handle;

use crate::App;
use crate::abilities::{ProjectAccess, REPORTER};

/// Reads other projects' files for one planning; built on the runtime, used from the
/// planner's blocking thread.
pub(crate) struct ProjectFiles {
    app: App,
    user: User,
    handle: Handle,
}

impl ProjectFiles {
    /// Must be called inside the runtime (it keeps a handle to it).
    pub(crate) fn new(app: &App, user: &User) -> Self {
        ProjectFiles {
            app: app.clone(),
            user: user.clone(),
            handle: Handle::current(),
        }
    }

    /// Blocks on the store: call it from a blocking thread only (the planner runs on one).
    pub(crate) fn read(&self, project: &str, rev: Option<&str>, path: &str) -> ProjectFile {
        self.handle.block_on(self.read_async(project, rev, path))
    }

    /// Blocks on the store: call it from a blocking thread only (the planner runs on one).
    pub(crate) fn paths(&self, project: &str, rev: Option<&str>) -> ProjectPaths {
        self.handle.block_on(self.paths_async(project, rev))
    }

    /// Blocks on the store: call it from a blocking thread only (the planner runs on one).
    pub(crate) fn component(&self, project: &str, version: &str, name: &str) -> ComponentFile {
        self.handle
            .block_on(self.component_async(project, version, name))
    }

    async fn component_async(&self, full_path: &str, version: &str, name: &str) -> ComponentFile {
        let repo = match self.readable(full_path).await {
            Readable::Repo(repo) => repo,
            Readable::NoProject => return ComponentFile::NotFound,
            Readable::Denied => return ComponentFile::Denied,
        };
        let Some(sha) = crate::component_version::resolve(&repo, version) else {
            return ComponentFile::NotFound;
        };
        for path in [
            format!("templates/{name}.yml"),
            format!("templates/{name}/template.yml"),
        ] {
            if let Ok(Some(bytes)) = repo.read_file(&sha, &path)
                && let Ok(content) = String::from_utf8(bytes)
            {
                return ComponentFile::Found { content, sha, path };
            }
        }
        ComponentFile::NotFound
    }

    async fn read_async(&self, full_path: &str, rev: Option<&str>, path: &str) -> ProjectFile {
        let sha = match self.resolve(full_path, rev).await {
            Resolved::Commit(repo, sha) => (repo, sha),
            Resolved::NoProject | Resolved::Denied => return ProjectFile::NotFound,
            Resolved::NoRef => return ProjectFile::NoRef,
        };
        let (repo, sha) = sha;
        match repo.read_file(&sha, path) {
            Ok(Some(bytes)) => match String::from_utf8(bytes) {
                Ok(text) => ProjectFile::Found(text),
                Err(_) => ProjectFile::NoFile,
            },
            _ => ProjectFile::NoFile,
        }
    }

    async fn paths_async(&self, full_path: &str, rev: Option<&str>) -> ProjectPaths {
        match self.resolve(full_path, rev).await {
            Resolved::Commit(repo, sha) => {
                ProjectPaths::Found(repo.list_paths(&sha).unwrap_or_default())
            }
            Resolved::NoProject => ProjectPaths::NoProject,
            Resolved::Denied => ProjectPaths::Denied,
            Resolved::NoRef => ProjectPaths::NoRef,
        }
    }

    /// The project's repository and the commit `rev` names, if the user may read its code.
    async fn resolve(&self, full_path: &str, rev: Option<&str>) -> Resolved {
        let repo = match self.readable(full_path).await {
            Readable::Repo(repo) => repo,
            Readable::NoProject => return Resolved::NoProject,
            Readable::Denied => return Resolved::Denied,
        };
        match repo.resolve(rev.unwrap_or("HEAD")) {
            Ok(Some(sha)) => Resolved::Commit(repo, sha),
            _ => Resolved::NoRef,
        }
    }

    /// The project's repository, if the user may read its code.
    async fn readable(&self, full_path: &str) -> Readable {
        let Ok(Some(project)) = self.app.store.project_by_full_path(full_path).await else {
            return Readable::NoProject;
        };
        let direct = self
            .app
            .store
            .member_access_level("project", project.id, self.user.id)
            .await;
        let inherited = self
            .app
            .store
            .namespace_access_level(self.user.id, project.namespace_id)
            .await;
        let (Ok(direct), Ok(inherited)) = (direct, inherited) else {
            return Readable::Denied;
        };
        let access = ProjectAccess {
            level: direct.max(inherited).unwrap_or(0),
            admin: self.user.is_admin,
            signed_in: true,
            project,
        };
        if !may_download_code(&access) {
            return Readable::Denied;
        }
        Readable::Repo(self.app.repository(access.project.id))
    }
}

enum Readable {
    Repo(pipewright_git::Repo),
    NoProject,
    Denied,
}

enum Resolved {
    Commit(pipewright_git::Repo, String),
    NoProject,
    Denied,
    NoRef,
}

/// GitLab's `download_code`: Reporter+ in a private project, whoever sees a public or
/// internal one; never when the repository feature is unavailable to the user.
fn may_download_code(access: &ProjectAccess) -> bool {
    access.repository_available()
        && (access.admin
            || access.level >= REPORTER
            || (access.project.visibility != "private" && access.can_read_project()))
}
