use pipewright_core::project_features;
use pipewright_core::projects::ProjectView;
use serde::Serialize;

use super::timestamp;

#[derive(Debug, Serialize)]
pub struct NamespaceEntity {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub kind: String,
    pub full_path: String,
    pub parent_id: Option<i64>,
    pub avatar_url: Option<String>,
    pub web_url: String,
}

/// The project entity (`POST /projects`, `GET /projects/:id`).
#[derive(Debug, Serialize)]
pub struct ProjectEntity {
    pub id: i64,
    pub description: Option<String>,
    pub name: String,
    pub name_with_namespace: String,
    pub path: String,
    pub path_with_namespace: String,
    pub created_at: String,
    pub default_branch: String,
    pub tag_list: Vec<String>,
    pub topics: Vec<String>,
    pub ssh_url_to_repo: String,
    pub http_url_to_repo: String,
    pub web_url: String,
    pub readme_url: Option<String>,
    pub forks_count: i64,
    pub avatar_url: Option<String>,
    pub star_count: i64,
    pub last_activity_at: String,
    pub namespace: NamespaceEntity,
    pub visibility: String,
    pub archived: bool,
    pub empty_repo: bool,
    /// GitLab's order: `jobs_enabled`, then the access levels, before `creator_id`.
    pub jobs_enabled: bool,
    pub repository_access_level: &'static str,
    pub builds_access_level: &'static str,
    pub creator_id: Option<i64>,
    pub public_jobs: bool,
    pub ci_config_path: String,
    /// "Prevent outdated deployment jobs"; only on the single-project read and update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_forward_deployment_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_forward_deployment_rollback_allowed: Option<bool>,
    pub ci_job_token_scope_enabled: bool,
    pub ci_pipeline_variables_minimum_override_role: String,
}

impl ProjectEntity {
    pub fn new(view: &ProjectView, external_url: &str, empty_repo: bool) -> ProjectEntity {
        let project = &view.project;
        let namespace = &view.namespace;
        let web_url = format!("{external_url}/{}", project.full_path);
        let host = external_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(external_url)
            .split(['/', ':'])
            .next()
            .unwrap_or_default();
        ProjectEntity {
            id: project.id,
            description: project.description.clone(),
            name: project.name.clone(),
            name_with_namespace: format!("{} / {}", namespace.name, project.name),
            path: project.path.clone(),
            path_with_namespace: project.full_path.clone(),
            created_at: timestamp(project.created_at),
            default_branch: project.default_branch.clone(),
            tag_list: Vec::new(),
            topics: Vec::new(),
            ssh_url_to_repo: format!("git@{host}:{}.git", project.full_path),
            http_url_to_repo: format!("{web_url}.git"),
            readme_url: None,
            forks_count: 0,
            avatar_url: None,
            star_count: 0,
            last_activity_at: timestamp(project.updated_at),
            namespace: NamespaceEntity {
                id: namespace.id,
                name: namespace.name.clone(),
                path: namespace.path.clone(),
                kind: namespace.kind.clone(),
                full_path: namespace.full_path.clone(),
                parent_id: namespace.parent_id,
                avatar_url: None,
                web_url: format!("{external_url}/{}", namespace.full_path),
            },
            visibility: project.visibility.clone(),
            archived: false,
            empty_repo,
            creator_id: project.creator_id,
            public_jobs: project.public_jobs,
            ci_config_path: project.ci_config_path.clone(),
            ci_forward_deployment_enabled: None,
            ci_forward_deployment_rollback_allowed: None,
            ci_job_token_scope_enabled: project.job_token_scope_enabled,
            ci_pipeline_variables_minimum_override_role: project
                .ci_pipeline_variables_minimum_override_role
                .clone(),
            // Without a caller: whether CI/CD is on at all (see `with_jobs_enabled`).
            jobs_enabled: project.builds_access_level != project_features::DISABLED,
            repository_access_level: project_features::level_name(project.repository_access_level),
            builds_access_level: project_features::level_name(project.builds_access_level),
            web_url,
        }
    }

    /// GitLab's `jobs_enabled` is whether CI/CD is available to the caller.
    pub fn with_jobs_enabled(mut self, enabled: bool) -> ProjectEntity {
        self.jobs_enabled = enabled;
        self
    }

    /// `ci_forward_deployment_enabled` and `ci_forward_deployment_rollback_allowed`.
    pub fn with_forward_deployment(
        mut self,
        (enabled, rollback_allowed): (bool, bool),
    ) -> ProjectEntity {
        self.ci_forward_deployment_enabled = Some(enabled);
        self.ci_forward_deployment_rollback_allowed = Some(rollback_allowed);
        self
    }
}
