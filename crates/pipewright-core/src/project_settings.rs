//! `PUT /projects/:id` (attributes, rename with a redirect left behind) and
//! `GET /projects` (the projects a caller may see).

use pipewright_store::{ProjectListFilter, ProjectUpdate, StoreError};

use crate::App;
use crate::abilities::{OWNER, ProjectAccess};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::project_features::FeatureLevels;
use crate::projects::{OVERRIDE_ROLES, ProjectView, VISIBILITIES, project_view, valid_path};

#[derive(Debug, Default)]
pub struct UpdateProject {
    pub name: Option<String>,
    pub path: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<String>,
    pub default_branch: Option<String>,
    pub public_jobs: Option<bool>,
    pub ci_pipeline_variables_minimum_override_role: Option<String>,
    pub features: FeatureLevels,
}

fn validation(attribute: &str, text: &str) -> Error {
    Error::Message {
        status: 400,
        message: serde_json::json!({ attribute: [text] }),
    }
}

/// `PUT /projects/:id`: Maintainers change settings; changing the visibility takes an Owner
/// (GitLab's `change_visibility_level`).
pub async fn update_project(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    params: UpdateProject,
) -> Result<ProjectView> {
    actor.require_write_scope()?;
    if !access.can_admin_project() {
        return Err(Error::forbidden());
    }
    if let Some(visibility) = &params.visibility
        && !VISIBILITIES.contains(&visibility.as_str())
    {
        return Err(Error::Param(
            "visibility does not have a valid value".into(),
        ));
    }
    if let Some(role) = &params.ci_pipeline_variables_minimum_override_role
        && !OVERRIDE_ROLES.contains(&role.as_str())
    {
        return Err(Error::Param(
            "ci_pipeline_variables_minimum_override_role does not have a valid value".into(),
        ));
    }
    let levels = params.features.parse()?;
    let project = &access.project;
    levels.validate((project.builds_access_level, project.repository_access_level))?;
    let namespace = app
        .store
        .namespace_by_id(project.namespace_id)
        .await?
        .ok_or_else(|| Error::internal("project without namespace"))?;
    let visibility = params
        .visibility
        .filter(|visibility| *visibility != project.visibility);
    if let Some(visibility) = &visibility {
        if !(access.admin || access.level >= OWNER) {
            return Err(Error::forbidden());
        }
        crate::groups::check_project_visibility(&namespace, visibility)?;
    }
    if let Some(name) = &params.name
        && name.trim().is_empty()
    {
        return Err(validation("name", "can't be blank"));
    }
    if let Some(name) = &params.name
        && *name != project.name
        && app
            .store
            .project_name_taken(project.namespace_id, name, Some(project.id))
            .await?
    {
        return Err(validation("name", "has already been taken"));
    }
    let path = match params.path.filter(|path| *path != project.path) {
        Some(path) if !valid_path(&path) => {
            return Err(validation(
                "path",
                "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'",
            ));
        }
        Some(path) => {
            let full_path = format!("{}/{}", namespace.full_path, path);
            Some((path, full_path))
        }
        None => None,
    };
    let default_branch = params
        .default_branch
        .filter(|branch| *branch != project.default_branch);
    if let Some(branch) = &default_branch {
        set_repository_head(app, project.id, branch).await?;
    }
    let update = ProjectUpdate {
        name: params.name,
        description: params.description,
        path,
        visibility,
        default_branch,
        public_jobs: params.public_jobs,
        ci_pipeline_variables_minimum_override_role: params
            .ci_pipeline_variables_minimum_override_role,
        builds_access_level: levels.builds,
        repository_access_level: levels.repository,
    };
    let updated = match app.store.update_project(project.id, &update).await {
        Ok(Some(project)) => project,
        Ok(None) => return Err(Error::not_found("Project")),
        Err(StoreError::Duplicate(_)) => {
            return Err(validation("path", "has already been taken"));
        }
        Err(err) => return Err(err.into()),
    };
    project_view(app, updated).await
}

/// Points the repository's HEAD at an existing branch (any name in an empty repository,
/// where the first push creates it).
async fn set_repository_head(app: &App, project_id: i64, branch: &str) -> Result<()> {
    if !pipewright_git::validate::is_valid_branch_name(branch) {
        return Err(Error::message(400, "Could not set the default branch"));
    }
    let repo = app.repository(project_id);
    let branch = branch.to_owned();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let empty = repo.is_empty()?;
        if !empty && !repo.is_branch(&branch)? {
            return Err(Error::message(400, "Could not set the default branch"));
        }
        repo.set_default_branch(&branch)?;
        Ok(())
    })
    .await?
}

/// Sort columns `GET /projects` accepts (`last_activity_at` is the update time here).
fn order_column(order_by: &str) -> Option<&'static str> {
    match order_by {
        "id" => Some("id"),
        "name" => Some("name"),
        "path" => Some("path"),
        "created_at" => Some("created_at"),
        "updated_at" | "last_activity_at" => Some("updated_at"),
        _ => None,
    }
}

#[derive(Debug, Default)]
pub struct ListProjects {
    pub membership: bool,
    pub owned: bool,
    pub min_access_level: Option<i32>,
    /// Only projects directly in these namespaces (`GET /groups/:id/projects`).
    pub namespace_ids: Option<Vec<i64>>,
    pub visibility: Option<String>,
    pub search: Option<String>,
    pub order_by: Option<String>,
    pub sort: Option<String>,
}

/// `GET /projects`: one page of the visible projects and the total count.
pub async fn list_projects(
    app: &App,
    actor: &Actor,
    params: ListProjects,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ProjectView>, i64)> {
    let order_by = match params.order_by.as_deref() {
        None => "created_at",
        Some(value) => order_column(value)
            .ok_or_else(|| Error::Param("order_by does not have a valid value".into()))?,
    };
    let ascending = match params.sort.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(Error::Param("sort does not have a valid value".into())),
    };
    if let Some(visibility) = &params.visibility
        && !VISIBILITIES.contains(&visibility.as_str())
    {
        return Err(Error::Param(
            "visibility does not have a valid value".into(),
        ));
    }
    if let Some(level) = params.min_access_level
        && ![10, 15, 20, 30, 40, 50].contains(&level)
    {
        return Err(Error::Param(
            "min_access_level does not have a valid value".into(),
        ));
    }
    let user = actor.user();
    let filter = ProjectListFilter {
        user_id: user.map(|user| user.id),
        admin: actor.is_admin(),
        // Membership filters mean nothing without a user (GitLab ignores them).
        membership: params.membership && user.is_some(),
        owned: params.owned && user.is_some(),
        min_access_level: params.min_access_level.filter(|_| user.is_some()),
        namespace_ids: params.namespace_ids,
        visibility: params.visibility,
        search: params.search.filter(|text| !text.trim().is_empty()),
        order_by,
        ascending,
    };
    let (projects, total) = app
        .store
        .list_visible_projects(&filter, limit, offset)
        .await?;
    let namespace_ids: Vec<i64> = projects.iter().map(|p| p.namespace_id).collect();
    let namespaces = app.store.namespaces_by_ids(&namespace_ids).await?;
    let views = projects
        .into_iter()
        .map(|project| {
            let namespace = namespaces
                .iter()
                .find(|namespace| namespace.id == project.namespace_id)
                .cloned()
                .ok_or_else(|| Error::internal("project without namespace"))?;
            Ok(ProjectView { project, namespace })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((views, total))
}
