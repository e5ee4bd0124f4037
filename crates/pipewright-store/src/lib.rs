//! Every SQL statement Pipewright runs lives in this crate.
//!
//! The rest of the system sees plain model structs ([`model`]) and [`StoreError`]; no sqlx type
//! crosses the boundary. Writes go through a single connection (SQLite has one writer anyway,
//! and serialising them in-process avoids `SQLITE_BUSY` upgrade deadlocks); reads use a pool.

mod cache;
mod error;
pub mod model;
mod pool;
mod reader;

mod artifacts;
mod cluster_agents;
mod credentials;
mod deployments;
mod dispatch;
mod environments;
mod groups;
mod job_relations;
mod job_token_scope;
mod jobs;
mod namespaces;
mod oauth;
mod pipeline_admin;
mod pipeline_links;
mod pipelines;
mod processing;
mod project_settings;
mod projects;
mod protected_branches;
mod protected_environments;
mod redirect_routes;
mod resource_groups;
mod runner_admin;
mod runners;
mod scheduling;
mod seed;
mod settings;
mod tokens;
mod triggers;
mod user_state;
mod users;

pub use artifacts::{ArtifactsExpiry, DotenvVariable, JobArtifact, NewArtifact};
pub use cluster_agents::ClusterAgent;
pub use deployments::{
    Deployment, DeploymentFilter, DeploymentOrder, JobEnvironmentChange, JobEnvironmentSync,
    NewDeployment, NewJobEnvironment,
};
pub use dispatch::DispatchCandidate;
pub use environments::{
    DeployedEnvironment, Environment, EnvironmentFilter, EnvironmentUpdate, NewEnvironment,
};
pub use error::StoreError;
pub use groups::{GroupListFilter, NewGroup};
pub use job_relations::JobRelations;
pub use jobs::{JobClaim, JobFilter, JobStateUpdate, NewJob, PendingCandidate};
pub use oauth::{NewOauthAccessToken, NewOauthApplication, OauthAccessToken, OauthApplication};
pub use pipeline_admin::{PipelineFilter, PipelineOrder};
pub use pipeline_links::PipelineLink;
pub use pipelines::NewPipeline;
pub use pool::Store;
pub use processing::{CreatedTransition, ProcessingRow, StatusGroup};
pub use project_settings::{ProjectListFilter, ProjectUpdate};
pub use projects::NewProject;
pub use protected_branches::{NewProtectedBranch, ProtectedBranch};
pub use protected_environments::{
    DeployAccessLevel, NewDeployAccessLevel, ProtectedEnvironment, ProtectedEnvironmentUpdate,
};
pub use reader::QUERY_TARGET;
pub use resource_groups::ResourceGroup;
pub use runner_admin::{ManagerContact, RunnerJobFilter, RunnerManager, RunnerSettings};
pub use runners::{NewRunner, RunnerContact};
#[doc(hidden)]
pub use seed::Seeded;
pub use triggers::{NewTrigger, PipelineTrigger};
pub use users::NewUser;

/// Current time as UTC milliseconds, the unit every timestamp column uses.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
