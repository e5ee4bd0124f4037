//! Projects: creation (with their git repository), lookup by id or path, membership.

use pipewright_store::model::{Namespace, Project};
use pipewright_store::{NewProject, StoreError};

use crate::App;
use crate::abilities::{MAINTAINER, OWNER, ProjectAccess};
use crate::auth::Actor;
use crate::error::{Error, Result};

/// A project and the namespace it lives in, as the project entity renders it.
#[derive(Debug, Clone)]
pub struct ProjectView {
    pub project: Project,
    pub namespace: Namespace,
}

/// Resolves `:id` (numeric id or URL-decoded full path) to a project the caller can see,
/// in the order of jobs-api.md §1.4: not found or not readable is `404 Project Not Found`,
/// except for job tokens outside the project's job token scope (403); an old path of a
/// renamed project is [`Error::Moved`].
pub async fn find_project(app: &App, actor: &Actor, id: &str) -> Result<ProjectAccess> {
    let (project, moved) = lookup(app, id)
        .await?
        .ok_or_else(|| Error::not_found("Project"))?;
    let (access, out_of_scope) = crate::job_token_scope::scoped_access(app, actor, project).await?;
    if !access.can_read_project() {
        if let (true, Actor::Job { job, .. }) = (out_of_scope, actor) {
            return Err(
                crate::job_token_scope::cross_project_error(app, job, &access.project).await?,
            );
        }
        return Err(Error::not_found("Project"));
    }
    // Step 3: the route's fine-grained job token policy.
    crate::job_token_policies::authorize(app, actor, &access.project).await?;
    if moved {
        return Err(Error::Moved {
            project_id: access.project.id,
        });
    }
    Ok(access)
}

/// The project and whether it was only found through a redirect left by a rename.
async fn lookup(app: &App, id: &str) -> Result<Option<(Project, bool)>> {
    if is_numeric_id(id) {
        return match id.parse::<i64>() {
            Ok(id) => Ok(app.store.project_by_id(id).await?.map(|p| (p, false))),
            Err(_) => Ok(None),
        };
    }
    if id.contains('/') {
        if let Some(project) = app.store.project_by_full_path(id).await? {
            return Ok(Some((project, false)));
        }
        if let Some(project_id) = app.store.project_redirect(id).await? {
            return Ok(app
                .store
                .project_by_id(project_id)
                .await?
                .map(|p| (p, true)));
        }
    }
    Ok(None)
}

fn is_numeric_id(id: &str) -> bool {
    let digits = id.strip_prefix('-').unwrap_or(id);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

pub async fn project_view(app: &App, project: Project) -> Result<ProjectView> {
    let namespace = app
        .store
        .namespace_by_id(project.namespace_id)
        .await?
        .ok_or_else(|| Error::internal("project without namespace"))?;
    Ok(ProjectView { project, namespace })
}

pub struct CreateProject {
    pub name: Option<String>,
    pub path: Option<String>,
    pub namespace_id: Option<i64>,
    pub description: Option<String>,
    pub visibility: Option<String>,
    pub default_branch: Option<String>,
    pub initialize_with_readme: bool,
    pub public_jobs: Option<bool>,
    pub ci_pipeline_variables_minimum_override_role: Option<String>,
}

pub const VISIBILITIES: [&str; 3] = ["private", "internal", "public"];
pub const OVERRIDE_ROLES: [&str; 4] = ["no_one_allowed", "developer", "maintainer", "owner"];

/// `POST /projects`: creates the project in the caller's namespace (or a group they may
/// create projects in) and its bare repository.
pub async fn create_project(
    app: &App,
    actor: &Actor,
    params: CreateProject,
) -> Result<ProjectView> {
    let user = actor.require_user()?.clone();
    actor.require_write_scope()?;
    let (name, path) = match (params.name, params.path) {
        (None, None) => {
            return Err(Error::Param(
                "name, path are missing, at least one parameter must be provided".into(),
            ));
        }
        (Some(name), Some(path)) => (name, path),
        (Some(name), None) => {
            let path = path_from_name(&name);
            (name, path)
        }
        (None, Some(path)) => (path.clone(), path),
    };
    if !valid_path(&path) {
        return Err(Error::Message {
            status: 400,
            message: serde_json::json!({ "path": ["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"] }),
        });
    }
    let visibility = params.visibility.unwrap_or_else(|| "private".into());
    if !VISIBILITIES.contains(&visibility.as_str()) {
        return Err(Error::Param(
            "visibility does not have a valid value".into(),
        ));
    }
    let override_role = params
        .ci_pipeline_variables_minimum_override_role
        .unwrap_or_else(|| "developer".into());
    if !OVERRIDE_ROLES.contains(&override_role.as_str()) {
        return Err(Error::Param(
            "ci_pipeline_variables_minimum_override_role does not have a valid value".into(),
        ));
    }
    let default_branch = params.default_branch.unwrap_or_else(|| "main".into());
    if !pipewright_git::validate::is_valid_branch_name(&default_branch) {
        return Err(Error::Param("default_branch is invalid".into()));
    }

    let namespace = match params.namespace_id {
        Some(id) => {
            let namespace = app
                .store
                .namespace_by_id(id)
                .await?
                .ok_or_else(|| Error::not_found("Namespace"))?;
            let level = app.store.namespace_access_level(user.id, id).await?;
            if !user.is_admin && level.unwrap_or(0) < MAINTAINER {
                return Err(Error::not_found("Namespace"));
            }
            namespace
        }
        None => app
            .store
            .user_namespace(user.id)
            .await?
            .ok_or_else(|| Error::internal("user without namespace"))?,
    };
    crate::groups::check_project_visibility(&namespace, &visibility)?;
    // GitLab validates `name` unique per namespace, like `path`.
    if app
        .store
        .project_name_taken(namespace.id, &name, None)
        .await?
    {
        let path_taken = app
            .store
            .project_by_full_path(&format!("{}/{}", namespace.full_path, path))
            .await?
            .is_some();
        let mut errors = serde_json::json!({ "name": ["has already been taken"] });
        if path_taken {
            errors["path"] = serde_json::json!(["has already been taken"]);
        }
        return Err(Error::Message {
            status: 400,
            message: errors,
        });
    }

    let created = app
        .store
        .create_project(&NewProject {
            namespace_id: namespace.id,
            full_path: format!("{}/{}", namespace.full_path, path),
            name,
            path,
            description: params.description,
            visibility,
            default_branch: default_branch.clone(),
            public_jobs: params.public_jobs.unwrap_or(true),
            ci_pipeline_variables_minimum_override_role: override_role,
            creator_id: user.id,
        })
        .await;
    let project = match created {
        Ok(project) => project,
        Err(StoreError::Duplicate(_)) => {
            return Err(Error::Message {
                status: 400,
                message: serde_json::json!({
                    "name": ["has already been taken"],
                    "path": ["has already been taken"],
                }),
            });
        }
        Err(err) => return Err(err.into()),
    };
    if namespace.kind != "user" {
        // The creator of a group project becomes its Owner only through the group; record
        // them as a Maintainer of the project as GitLab does.
        app.store
            .upsert_member("project", project.id, user.id, MAINTAINER)
            .await?;
    }

    if let Err(err) = init_repository(app, &project, &user, params.initialize_with_readme).await {
        // Never leave a project row without its repository.
        app.store.delete_project(project.id).await?;
        return Err(err);
    }
    // The live project now owns its path; the default branch is protected from the start.
    app.store.delete_redirect(&project.full_path).await?;
    crate::protected_refs::protect_default_branch(app, &project).await?;
    project_view(app, project).await
}

async fn init_repository(
    app: &App,
    project: &Project,
    user: &pipewright_store::model::User,
    with_readme: bool,
) -> Result<()> {
    let path = app.repository_path(project.id);
    let branch = project.default_branch.clone();
    let readme = with_readme.then(|| pipewright_git::CommitRequest {
        branch: branch.clone(),
        start_branch: None,
        start_sha: None,
        message: "Initial commit".into(),
        author_name: user.name.clone(),
        author_email: user.email.clone(),
        actions: vec![pipewright_git::CommitAction {
            action: pipewright_git::ActionKind::Create,
            file_path: "README.md".into(),
            previous_path: None,
            content: Some(format!("# {}\n", project.name).into_bytes()),
            execute_filemode: None,
            last_commit_id: None,
        }],
        force: false,
        committer: None,
    });
    tokio::task::spawn_blocking(move || -> Result<()> {
        let repo = pipewright_git::Repo::init_bare(&path, &branch)?;
        if let Some(request) = readme {
            repo.create_commit(&request)
                .map_err(|err| Error::internal(err.to_string()))?;
        }
        Ok(())
    })
    .await?
}

/// GitLab derives a path from a name: lower-case, runs of other characters become `-`.
pub fn path_from_name(name: &str) -> String {
    let mut path = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            path.push(c.to_ascii_lowercase());
        } else if !path.ends_with('-') {
            path.push('-');
        }
    }
    path.trim_matches('-').to_owned()
}

pub fn valid_path(path: &str) -> bool {
    crate::users::valid_username(path)
}

/// `POST /projects/:id/members`.
pub async fn add_member(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    user_id: i64,
    access_level: i32,
) -> Result<(pipewright_store::model::User, i32)> {
    actor.require_write_scope()?;
    if !access.can_admin_project() {
        return Err(Error::forbidden());
    }
    if ![10, 15, 20, 30, 40, 50].contains(&access_level) {
        return Err(Error::Param(
            "access_level does not have a valid value".into(),
        ));
    }
    if access_level == OWNER && !(access.admin || access.level >= OWNER) {
        return Err(Error::forbidden());
    }
    let user = app
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| Error::not_found("User"))?;
    if app
        .store
        .member_access_level("project", access.project.id, user.id)
        .await?
        .is_some()
    {
        return Err(Error::message(409, "Member already exists"));
    }
    app.store
        .upsert_member("project", access.project.id, user.id, access_level)
        .await?;
    Ok((user, access_level))
}

/// A project by its full path, whatever the caller may see (git smart HTTP decides access
/// itself so it can ask for credentials instead of answering 404).
pub async fn project_by_path(app: &App, full_path: &str) -> Result<Option<Project>> {
    Ok(app.store.project_by_full_path(full_path).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_derived_from_names() {
        assert_eq!(path_from_name("My Project"), "my-project");
        assert_eq!(path_from_name("  a  b!! c "), "a-b-c");
        assert_eq!(path_from_name("v1.2_x"), "v1.2_x");
    }

    #[test]
    fn numeric_ids_are_recognised() {
        assert!(is_numeric_id("42"));
        assert!(is_numeric_id("-1"));
        assert!(!is_numeric_id("group/project"));
        assert!(!is_numeric_id(""));
    }
}
