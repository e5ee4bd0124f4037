//! Every SQL statement Pipewright runs lives in this crate.
//!
//! The rest of the system sees plain model structs ([`model`]) and [`StoreError`]; no sqlx type
//! crosses the boundary. Writes go through a single connection (SQLite has one writer anyway,
//! and serialising them in-process avoids `SQLITE_BUSY` upgrade deadlocks); reads use a pool.

mod error;
pub mod model;
mod pool;

mod jobs;
mod namespaces;
mod pipeline_admin;
mod pipelines;
mod projects;
mod runners;
mod scheduling;
mod seed;
mod tokens;
mod triggers;
mod users;

pub use error::StoreError;
pub use jobs::{JobClaim, JobFilter, JobStateUpdate, NewJob};
pub use pipeline_admin::{PipelineFilter, PipelineOrder};
pub use pipelines::NewPipeline;
pub use pool::Store;
pub use projects::NewProject;
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
