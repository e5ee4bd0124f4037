//! GitLab's JSON representations, one file per entity. Views carry no logic: they spell
//! records the way GitLab does (key order, `null` vs absent, timestamp format).

pub mod application;
pub mod bridge;
pub mod cluster_agent;
pub mod commit;
pub mod environment;
pub mod group;
pub mod job;
pub mod member;
pub mod pipeline;
pub mod project;
pub mod project_identity;
pub mod protected_branch;
pub mod protected_tag;
pub mod runner;
pub mod trigger;
pub mod user;

pub use pipewright_core::jobs::iso_ms as timestamp;

pub fn opt_timestamp(ms: Option<i64>) -> Option<String> {
    ms.map(timestamp)
}
