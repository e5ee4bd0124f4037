//! How a job ended from the runner's point of view, and how that is reported.

use pipewright_protocol::JobResponse;

/// How the job ended, from the runner's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Failed {
        reason: &'static str,
        exit_code: Option<i32>,
        message: String,
    },
}

impl Outcome {
    pub(crate) fn failed(reason: &'static str, message: impl Into<String>) -> Self {
        Self::Failed {
            reason,
            exit_code: None,
            message: message.into(),
        }
    }

    pub(crate) fn status_word(&self, canceled: bool) -> &'static str {
        match self {
            _ if canceled => "canceled",
            Self::Success => "success",
            Self::Failed { .. } => "failed",
        }
    }
}

/// Stopped because the runner shuts down.
pub(crate) fn interrupted() -> Outcome {
    Outcome::failed("runner_interrupted", "aborted: the runner is shutting down")
}

/// `wanted` if the server accepts it, else the nearest reason it does (like Go's mapper).
pub(crate) fn supported_reason(job: &JobResponse, wanted: &'static str) -> &'static str {
    const ALWAYS: [&str; 3] = [
        "script_failure",
        "runner_system_failure",
        "job_execution_timeout",
    ];
    if ALWAYS.contains(&wanted) || job.features.failure_reasons.iter().any(|r| r == wanted) {
        return wanted;
    }
    match wanted {
        "runner_configuration_error" => "script_failure",
        "runner_external_dependency_failure" | "image_pull_failure" => "runner_system_failure",
        _ => "unknown_failure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_fall_back_to_what_the_server_accepts() {
        let mut job = JobResponse::default();
        assert_eq!(supported_reason(&job, "script_failure"), "script_failure");
        assert_eq!(
            supported_reason(&job, "runner_interrupted"),
            "unknown_failure"
        );
        job.features.failure_reasons = vec!["runner_interrupted".into()];
        assert_eq!(
            supported_reason(&job, "runner_interrupted"),
            "runner_interrupted"
        );
    }
}
