//! The few planned options that processing and the timers read on every pass, parsed
//! leniently from a job's stored `options` JSON (unknown or broken JSON reads as defaults).

use pipewright_ciyaml::Retry;
use pipewright_domain::failure::{RetryPolicy, RetryWhen};
use pipewright_store::model::Job;
use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ProcessingOptions {
    pub resource_group: Option<String>,
    pub interruptible: bool,
    pub start_in_seconds: Option<u64>,
    pub retry: Option<Retry>,
    pub coverage: Option<String>,
    pub allow_failure_exit_codes: Vec<i64>,
}

/// Whether the job has a `resource_group`, without parsing the options of the (many) jobs
/// whose JSON cannot hold one: an absent group is not serialised.
pub fn has_resource_group(job: &Job) -> bool {
    job.options.contains("\"resource_group\"")
        && ProcessingOptions::of(job).resource_group.is_some()
}

impl ProcessingOptions {
    pub fn of(job: &Job) -> ProcessingOptions {
        serde_json::from_str(&job.options).unwrap_or_default()
    }

    /// The `retry:` keyword as the domain's policy (`None` without the keyword).
    pub fn retry_policy(&self) -> Option<RetryPolicy> {
        let retry = self.retry.as_ref()?;
        let when = (!retry.when.is_empty()).then(|| {
            retry
                .when
                .iter()
                .filter_map(|value| value.parse::<RetryWhen>().ok())
                .collect()
        });
        let exit_codes = (!retry.exit_codes.is_empty()).then(|| {
            retry
                .exit_codes
                .iter()
                .filter_map(|code| i32::try_from(*code).ok())
                .collect()
        });
        Some(RetryPolicy {
            max: Some(retry.max),
            when,
            exit_codes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_processing_keys_and_ignores_the_rest() {
        let options: ProcessingOptions = serde_json::from_str(
            r#"{"script":["x"],"resource_group":"prod","interruptible":true,"start_in_seconds":30,
                "retry":{"max":2,"when":["script_failure"]},"coverage":"(\\d+)%"}"#,
        )
        .unwrap_or_default();
        assert_eq!(options.resource_group.as_deref(), Some("prod"));
        assert!(options.interruptible);
        assert_eq!(options.start_in_seconds, Some(30));
        let policy = options.retry_policy().unwrap_or_default();
        assert_eq!(policy.max, Some(2));
        assert_eq!(
            policy.when,
            Some(vec![RetryWhen::Reason(
                pipewright_domain::FailureReason::ScriptFailure
            )])
        );
        assert_eq!(policy.exit_codes, None);
    }

    #[test]
    fn broken_json_is_all_defaults() {
        let options: ProcessingOptions = serde_json::from_str("[").unwrap_or_default();
        assert_eq!(options, ProcessingOptions::default());
    }
}
