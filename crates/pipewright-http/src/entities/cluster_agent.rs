//! Kubernetes agents (`/projects/:id/cluster_agents`) and the E5 answer
//! (`GET /job/allowed_agents`, jobs-api.md §4 E5 and §5.8).

use pipewright_core::cluster_agents::{AgentView, AllowedAgents};
use serde::Serialize;
use serde_json::Value;

use super::project_identity::ProjectIdentityEntity;
use super::timestamp;

#[derive(Debug, Serialize)]
pub struct ClusterAgentEntity {
    pub id: i64,
    pub name: String,
    pub config_project: ProjectIdentityEntity,
    pub created_at: String,
    pub created_by_user_id: Option<i64>,
}

impl ClusterAgentEntity {
    pub fn new(view: &AgentView) -> ClusterAgentEntity {
        ClusterAgentEntity {
            id: view.agent.id,
            name: view.agent.name.clone(),
            config_project: ProjectIdentityEntity::new(&view.project, &view.namespace),
            created_at: timestamp(view.agent.created_at),
            created_by_user_id: view.agent.created_by_user_id,
        }
    }
}

#[derive(Debug, Serialize)]
struct AllowedAgentEntity {
    id: i64,
    config_project: ProjectIdentityEntity,
    configuration: Value,
}

#[derive(Debug, Serialize)]
struct IdEntity {
    id: i64,
}

#[derive(Debug, Serialize)]
struct ProjectGroupsEntity {
    id: i64,
    groups: Vec<IdEntity>,
}

#[derive(Debug, Serialize)]
struct AgentUserEntity {
    id: i64,
    username: String,
    roles_in_project: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct EnvironmentEntity {
    tier: String,
    slug: String,
}

/// `environment` is left out (not `null`) when the job has none.
#[derive(Debug, Serialize)]
pub struct AllowedAgentsEntity {
    allowed_agents: Vec<AllowedAgentEntity>,
    job: IdEntity,
    pipeline: IdEntity,
    project: ProjectGroupsEntity,
    user: AgentUserEntity,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<EnvironmentEntity>,
}

impl AllowedAgentsEntity {
    pub fn new(answer: &AllowedAgents) -> AllowedAgentsEntity {
        AllowedAgentsEntity {
            allowed_agents: answer
                .agents
                .iter()
                .map(|allowed| AllowedAgentEntity {
                    id: allowed.agent.agent.id,
                    config_project: ProjectIdentityEntity::new(
                        &allowed.agent.project,
                        &allowed.agent.namespace,
                    ),
                    configuration: allowed.configuration.clone(),
                })
                .collect(),
            job: IdEntity { id: answer.job.id },
            pipeline: IdEntity {
                id: answer.job.pipeline_id,
            },
            project: ProjectGroupsEntity {
                id: answer.job.project_id,
                groups: answer
                    .group_ids
                    .iter()
                    .map(|id| IdEntity { id: *id })
                    .collect(),
            },
            user: AgentUserEntity {
                id: answer.user.id,
                username: answer.user.username.clone(),
                roles_in_project: answer.roles_in_project.clone(),
            },
            environment: answer
                .environment
                .as_ref()
                .map(|(tier, slug)| EnvironmentEntity {
                    tier: tier.clone(),
                    slug: slug.clone(),
                }),
        }
    }
}
