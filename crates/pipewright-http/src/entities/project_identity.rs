//! Short project representations: `ProjectIdentity` (agents' `config_project`) and
//! `BasicProjectDetails` (job token allowlist).

use pipewright_core::model::{Namespace, Project};
use serde::Serialize;

use super::project::NamespaceEntity;
use super::timestamp;

#[derive(Debug, Serialize)]
pub struct ProjectIdentityEntity {
    pub id: i64,
    pub description: Option<String>,
    pub name: String,
    pub name_with_namespace: String,
    pub path: String,
    pub path_with_namespace: String,
    pub created_at: String,
}

impl ProjectIdentityEntity {
    pub fn new(project: &Project, namespace: &Namespace) -> ProjectIdentityEntity {
        ProjectIdentityEntity {
            id: project.id,
            description: project.description.clone(),
            name: project.name.clone(),
            name_with_namespace: format!("{} / {}", namespace.name, project.name),
            path: project.path.clone(),
            path_with_namespace: project.full_path.clone(),
            created_at: timestamp(project.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BasicProjectEntity {
    #[serde(flatten)]
    pub identity: ProjectIdentityEntity,
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
}

impl BasicProjectEntity {
    pub fn new(project: &Project, namespace: &Namespace, external_url: &str) -> BasicProjectEntity {
        let web_url = format!("{external_url}/{}", project.full_path);
        let host = external_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(external_url)
            .split(['/', ':'])
            .next()
            .unwrap_or_default();
        BasicProjectEntity {
            identity: ProjectIdentityEntity::new(project, namespace),
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
            web_url,
        }
    }
}
