//! Pipewright's use cases, named after GitLab's services: authenticate, create_project,
//! create_pipeline, process_pipeline, request_job, update_job, append_trace, ...
//!
//! This is the only layer that talks to the store. The HTTP layer calls these functions and
//! renders their results; it never sees SQL. Authorization decisions live here too.

pub mod abilities;
pub mod access_cache;
pub mod app;
pub mod artifact_store;
pub mod artifacts;
pub mod auth;
mod auto_retry;
pub mod bridges;
pub mod cache_payload;
pub mod cluster_agents;
pub mod commit_cache;
mod component_version;
pub mod coverage;
pub mod deployments;
mod dispatch;
pub mod downstream;
pub mod environment;
pub mod environment_auto_stop;
pub mod environments;
pub mod error;
pub mod force_push_guard;
pub mod groups;
mod include_project;
pub mod job_actions;
pub mod job_options;
pub mod job_token_policies;
pub mod job_token_scope;
pub mod job_updates;
pub mod jobs;
pub mod lint;
pub mod oauth;
pub mod passwords;
pub mod payload;
mod payload_context;
pub mod pipeline_actions;
pub mod pipelines;
pub mod processing;
pub mod project_features;
pub mod project_settings;
pub mod projects;
pub mod protected_environments;
pub mod protected_refs;
pub mod protected_tags;
pub mod queue;
pub mod repository;
pub mod resource_groups;
pub mod runner_admin;
pub mod runner_registration;
pub mod runner_scope;
pub mod runner_token_mask;
pub mod runners;
pub mod scheduler;
pub mod settings;
pub mod tokens;
pub mod traces;
pub mod triggers;
pub mod user_states;
pub mod users;
pub mod variables;

pub use app::{App, Config};
pub use auth::Actor;
pub use error::Error;

/// Records the HTTP layer renders; re-exported so it needs no dependency on the store.
pub mod model {
    pub use pipewright_git::Commit;
    pub use pipewright_store::model::*;
}

/// Pipeline inputs (`spec:inputs` of the main configuration) and GitLab's parsing of them.
pub use pipewright_ciyaml::{PipelineInputs, parse_input_params};
pub use pipewright_domain::{Status, When};
pub use pipewright_store::now_ms;
