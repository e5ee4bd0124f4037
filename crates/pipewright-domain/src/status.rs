//! Statuses shared by jobs and pipelines (GitLab uses one vocabulary for both).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A job's or a pipeline's status, spelled exactly as GitLab spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Created,
    WaitingForResource,
    Preparing,
    WaitingForCallback,
    Pending,
    Running,
    Success,
    Failed,
    Canceling,
    Canceled,
    Skipped,
    Manual,
    Scheduled,
}

impl Status {
    /// Every status, in the order GitLab's documentation lists them.
    pub const ALL: [Status; 13] = [
        Status::Created,
        Status::WaitingForResource,
        Status::Preparing,
        Status::WaitingForCallback,
        Status::Pending,
        Status::Running,
        Status::Success,
        Status::Failed,
        Status::Canceling,
        Status::Canceled,
        Status::Skipped,
        Status::Manual,
        Status::Scheduled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::WaitingForResource => "waiting_for_resource",
            Status::Preparing => "preparing",
            Status::WaitingForCallback => "waiting_for_callback",
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Success => "success",
            Status::Failed => "failed",
            Status::Canceling => "canceling",
            Status::Canceled => "canceled",
            Status::Skipped => "skipped",
            Status::Manual => "manual",
            Status::Scheduled => "scheduled",
        }
    }

    /// `success`, `failed`, `canceled`, `skipped`: nothing more will happen.
    pub fn is_completed(self) -> bool {
        matches!(
            self,
            Status::Success | Status::Failed | Status::Canceled | Status::Skipped
        )
    }

    /// `running`, `canceling`: the job token is valid and the runner may report.
    pub fn is_executing(self) -> bool {
        matches!(self, Status::Running | Status::Canceling)
    }

    /// Statuses a plain cancel moves to `canceled` (or `canceling` for running jobs).
    pub fn is_cancelable(self) -> bool {
        !self.is_completed() && self != Status::Canceling
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status: {0}")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// A job's `when:`, deciding what happens when its turn comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum When {
    #[default]
    OnSuccess,
    OnFailure,
    Always,
    Manual,
    Delayed,
    Never,
}

impl When {
    pub fn as_str(self) -> &'static str {
        match self {
            When::OnSuccess => "on_success",
            When::OnFailure => "on_failure",
            When::Always => "always",
            When::Manual => "manual",
            When::Delayed => "delayed",
            When::Never => "never",
        }
    }
}

impl FromStr for When {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            When::OnSuccess,
            When::OnFailure,
            When::Always,
            When::Manual,
            When::Delayed,
            When::Never,
        ]
        .into_iter()
        .find(|when| when.as_str() == s)
        .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_gitlab_string() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).ok(),
                Some(format!("\"{}\"", status.as_str()))
            );
        }
        assert!("passed".parse::<Status>().is_err());
    }
}
