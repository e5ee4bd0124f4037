//! Pipewright's domain vocabulary: job and pipeline statuses with GitLab's exact strings, the
//! job state machine and the composite status, as pure functions.
//!
//! No IO, no async, no database: everything here is testable with plain values.

pub mod composite;
pub mod failure;
pub mod pipeline;
pub mod pipeline_timing;
pub mod processing;
pub mod slug;
pub mod state;
pub mod status;

pub use composite::{CompositeItem, apply_pipeline_status, composite, dag_composite};
pub use failure::{FailureReason, RetryPolicy, RetryWhen};
pub use processing::{ProcessingJob, Transition, process};
pub use slug::slugify;
pub use state::{JobEvent, Timestamps, transition};
pub use status::{Status, UnknownStatus, When};
