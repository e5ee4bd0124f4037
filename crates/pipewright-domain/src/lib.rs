//! Pipewright's domain vocabulary: job and pipeline statuses with GitLab's exact strings, the
//! job state machine, the composite status and GitLab's pipeline processing, as pure functions.
//!
//! No IO, no async, no database: everything here is testable with plain values, and must not
//! grow dependencies on the store or the HTTP layer.
//!
//! | module | GitLab counterpart | spec |
//! |---|---|---|
//! | [`status`] | `Ci::HasStatus` | ci-yaml.md §4 |
//! | [`composite`](mod@composite) | `Gitlab::Ci::Status::Composite`, `Ci::Pipeline#set_status` | ci-yaml.md §6 |
//! | [`processing`] | `Ci::PipelineProcessing::AtomicProcessingService`, `Ci::ProcessBuildService` | ci-yaml.md §5, §3.5–3.9 |
//! | [`state`] | `CommitStatus`/`Ci::Build` state machines | jobs-api.md §3 |
//! | [`pipeline`] | `Ci::CancelPipelineService`, `ResetSkippedJobsService`, `PlayBuildService`, `RetryPipelineService` | ci-yaml.md §5, §7 |
//! | [`resource_group`] | `Ci::ResourceGroup#upcoming_processables` | ci-yaml.md §3.18 |
//! | [`pipeline_timing`] | `Ci::Pipeline` callbacks, `Gitlab::Ci::Pipeline::Duration` | |
//! | [`failure`] | `failure_reason` enum, `Gitlab::Ci::Build::AutoRetry` | ci-yaml.md §3.14, §8 |
//! | [`slug`] | `Gitlab::Utils.slugify` | ci-yaml.md §10 |
//!
//! Typical use case, `process_pipeline`: load the pipeline's latest jobs as
//! [`ProcessingJob`]s, call [`process`], write each [`Transition`] as a compare-and-set on its
//! `from` status (with [`Timestamps::after_transition`]), then store the stage statuses
//! ([`apply_stage_status`] of [`processing::stage_statuses`]) and the pipeline status
//! ([`apply_pipeline_status`] of [`processing::pipeline_composite`]). `tests/gitlab_scenarios.rs`
//! drives whole pipelines that way, through cancel, play and retry.

pub mod composite;
pub mod failure;
pub mod pipeline;
pub mod pipeline_timing;
pub mod processing;
pub mod resource_group;
pub mod slug;
pub mod state;
pub mod status;

pub use composite::{
    CompositeItem, apply_pipeline_status, apply_stage_status, composite, dag_composite,
};
pub use failure::{FailureReason, RetryPolicy, RetryWhen};
pub use pipeline::{PlayOutcome, cancel_pipeline, reset_skipped_jobs};
pub use processing::{ProcessingJob, Transition, process, process_with};
pub use slug::slugify;
pub use state::{
    JobEvent, Timestamps, duration_secs, is_erasable, is_playable, is_retryable,
    queued_duration_secs, transition,
};
pub use status::{Status, UnknownStatus, When};
