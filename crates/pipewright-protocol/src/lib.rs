//! The GitLab Runner wire protocol as plain data: request/response bodies of the runner API
//! (`/api/v4/runners/*`, `/api/v4/jobs/*`), the header names both sides use, and a few pure
//! helpers (trace ranges, the CRC-32 log checksum).
//!
//! Shared by the server (`pipewright-http`) and our runner (`pipewright-runner`), so that both
//! sides agree byte for byte. No IO here, no HTTP types: only `serde` and `serde_json`.
//!
//! Field names and presence rules follow `spec/runner-protocol.md`: a field GitLab always
//! sends is always serialized (as `null` when it may be null); optional extras are skipped
//! when absent. Deserialization is lenient (unknown keys ignored, `null` arrays read as empty)
//! because the same types parse what the official `gitlab-runner` and real GitLab send.

pub mod checksum;
pub mod header;
pub mod job;
pub mod range;
pub mod runner;
pub mod update;

mod serde_util;

pub use checksum::{Crc32, crc32_checksum};
pub use job::{
    ArtifactFile, ArtifactFormat, ArtifactSpec, Cache, Credential, Dependency, GitInfo, Hook,
    Image, ImagePort, JobFeatures, JobInfo, JobRequest, JobResponse, JobRunnerInfo, JobVariable,
    Service, SessionInfo, Step, When,
};
pub use runner::{
    DeleteRunnerRequest, Features, RegisterRequest, ResetTokenRequest, ResetTokenResponse,
    RunnerInfo, VerifyRequest, VerifyResponse,
};
pub use update::{JobState, Output, UpdateJobRequest};

/// Step names GitLab puts in `steps[].name`.
pub mod step {
    /// `before_script` + `script` lines, one shell session.
    pub const SCRIPT: &str = "script";
    /// `after_script` lines, separate shell, never fails the job.
    pub const AFTER_SCRIPT: &str = "after_script";
    /// Only sent to runners advertising `multi_build_steps`.
    pub const RELEASE: &str = "release";
}

/// Failure reasons a runner may report in `PUT /jobs/:id` (§7.3). A server sends (at least)
/// these in `features.failure_reasons` so that Go maps its reasons onto them unchanged.
pub const RUNNER_FAILURE_REASONS: [&str; 8] = [
    "unknown_failure",
    "script_failure",
    "runner_system_failure",
    "job_execution_timeout",
    "image_pull_failure",
    "runner_configuration_error",
    "runner_external_dependency_failure",
    "runner_interrupted",
];
