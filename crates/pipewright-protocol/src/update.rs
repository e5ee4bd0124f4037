//! `PUT /jobs/:id`: keep-alives and the final result (§7).

use serde::{Deserialize, Serialize};

use crate::runner::RunnerInfo;

/// `state` of a job update.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Two-phase commit keep-alive while the runner prepares (§7.4).
    Pending,
    /// Keep-alive, or acceptance under two-phase commit.
    Running,
    Success,
    Failed,
    /// Missing or unrecognised `state`; a server answers 400.
    #[default]
    #[serde(other)]
    Unknown,
}

impl JobState {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    /// `success` or `failed`: the job's final result.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Failed)
    }
}

/// `PUT /jobs/:id` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateJobRequest {
    /// Job token; may instead come in the `JOB-TOKEN` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default)]
    pub state: JobState,
    /// Only with `state: failed`; unknown values are stored as `unknown_failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Go omits it when 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Deprecated duplicate of `output.checksum` (Go still sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_environment_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<RunnerInfo>,
}

impl UpdateJobRequest {
    /// The log checksum the runner reported (`output.checksum`, else the legacy field).
    /// A server may answer 202 to a final update only when this is present.
    pub fn reported_checksum(&self) -> Option<&str> {
        self.output
            .as_ref()
            .and_then(|o| o.checksum.as_deref())
            .or(self.checksum.as_deref())
            .filter(|c| !c.is_empty())
    }
}

/// `output`: what the runner sent as the whole log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// `crc32:` + 8 lowercase hex digits of the IEEE CRC-32 (see [`crate::crc32_checksum`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytesize: Option<u64>,
}
