//! GitLab's `EnvironmentBasic`, `Environment` and `Deployment` entities.

use pipewright_core::environments::Environment;
use pipewright_core::environments::{DeploymentView, EnvironmentView};
use serde::Serialize;

use super::job::JobEntity;
use super::project_identity::BasicProjectEntity;
use super::user::UserBasicEntity;
use super::{opt_timestamp, timestamp};

/// `EnvironmentBasic` (a deployment's environment).
#[derive(Debug, Serialize)]
pub struct EnvironmentBasicEntity {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub external_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl EnvironmentBasicEntity {
    pub fn new(environment: &Environment) -> EnvironmentBasicEntity {
        EnvironmentBasicEntity {
            id: environment.id,
            name: environment.name.clone(),
            slug: environment.slug.clone(),
            external_url: environment.external_url.clone(),
            created_at: timestamp(environment.created_at),
            updated_at: timestamp(environment.updated_at),
        }
    }
}

/// `Environment`: `project` everywhere but on the single read, which shows
/// `last_deployment` (without its environment) instead.
#[derive(Debug, Serialize)]
pub struct EnvironmentEntity {
    #[serde(flatten)]
    pub basic: EnvironmentBasicEntity,
    pub tier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<BasicProjectEntity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_deployment: Option<Option<DeploymentEntity>>,
    pub state: String,
    pub auto_stop_at: Option<String>,
    pub description: Option<String>,
    pub auto_stop_setting: String,
}

impl EnvironmentEntity {
    /// The list, create, update and stop representation.
    pub fn new(view: &EnvironmentView, external_url: &str) -> EnvironmentEntity {
        let environment = &view.environment;
        EnvironmentEntity {
            basic: EnvironmentBasicEntity::new(environment),
            tier: environment.tier.clone(),
            project: Some(BasicProjectEntity::new(
                &view.project,
                &view.namespace,
                external_url,
            )),
            last_deployment: None,
            state: environment.state.clone(),
            auto_stop_at: opt_timestamp(environment.auto_stop_at),
            description: environment.description.clone(),
            auto_stop_setting: environment.auto_stop_setting.clone(),
        }
    }

    /// `GET /projects/:id/environments/:environment_id`.
    pub fn single(view: &EnvironmentView, external_url: &str, now: i64) -> EnvironmentEntity {
        EnvironmentEntity {
            project: None,
            last_deployment: Some(view.last_deployment.as_ref().map(|deployment| {
                DeploymentEntity::without_environment(deployment, external_url, now)
            })),
            ..EnvironmentEntity::new(view, external_url)
        }
    }
}

/// `Deployment` (the API's `DeploymentExtended` adds EE approval fields only).
#[derive(Debug, Serialize)]
pub struct DeploymentEntity {
    pub id: i64,
    pub iid: i64,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub sha: String,
    pub created_at: String,
    pub updated_at: String,
    pub user: Option<UserBasicEntity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvironmentBasicEntity>,
    pub deployable: Option<JobEntity>,
    pub status: String,
}

impl DeploymentEntity {
    pub fn new(view: &DeploymentView, external_url: &str, now: i64) -> DeploymentEntity {
        let deployment = &view.deployment;
        DeploymentEntity {
            id: deployment.id,
            iid: deployment.iid,
            ref_name: deployment.ref_name.clone(),
            sha: deployment.sha.clone(),
            created_at: timestamp(deployment.created_at),
            updated_at: timestamp(deployment.updated_at),
            user: view
                .user
                .as_ref()
                .map(|user| UserBasicEntity::new(user, external_url)),
            environment: Some(EnvironmentBasicEntity::new(&view.environment)),
            deployable: view
                .deployable
                .as_ref()
                .map(|job| JobEntity::new(job, external_url, now)),
            status: deployment.status.clone(),
        }
    }

    fn without_environment(
        view: &DeploymentView,
        external_url: &str,
        now: i64,
    ) -> DeploymentEntity {
        DeploymentEntity {
            environment: None,
            ..DeploymentEntity::new(view, external_url, now)
        }
    }
}
