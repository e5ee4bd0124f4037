//! Why a job failed (GitLab's `failure_reason` enum, ci-yaml.md §8) and the automatic retry
//! rules built on it (`retry:`, ci-yaml.md §3.14, GitLab's `Gitlab::Ci::Build::AutoRetry`).

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! failure_reasons {
    ($($variant:ident => $text:literal,)*) => {
        /// A job's `failure_reason`, spelled as GitLab spells it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum FailureReason {
            #[default]
            $($variant,)*
        }

        impl FailureReason {
            /// Every reason, in the order of ci-yaml.md §8.
            pub const ALL: &'static [FailureReason] = &[$(FailureReason::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(FailureReason::$variant => $text,)*
                }
            }
        }
    };
}

failure_reasons! {
    UnknownFailure => "unknown_failure",
    ScriptFailure => "script_failure",
    ApiFailure => "api_failure",
    StuckOrTimeoutFailure => "stuck_or_timeout_failure",
    RunnerSystemFailure => "runner_system_failure",
    MissingDependencyFailure => "missing_dependency_failure",
    RunnerUnsupported => "runner_unsupported",
    StaleSchedule => "stale_schedule",
    JobExecutionTimeout => "job_execution_timeout",
    ArchivedFailure => "archived_failure",
    UnmetPrerequisites => "unmet_prerequisites",
    SchedulerFailure => "scheduler_failure",
    DataIntegrityFailure => "data_integrity_failure",
    ForwardDeploymentFailure => "forward_deployment_failure",
    UserBlocked => "user_blocked",
    ProjectDeleted => "project_deleted",
    CiQuotaExceeded => "ci_quota_exceeded",
    PipelineLoopDetected => "pipeline_loop_detected",
    NoMatchingRunner => "no_matching_runner",
    TraceSizeExceeded => "trace_size_exceeded",
    BuildsDisabled => "builds_disabled",
    EnvironmentCreationFailure => "environment_creation_failure",
    DeploymentRejected => "deployment_rejected",
    FailedOutdatedDeploymentJob => "failed_outdated_deployment_job",
    JobExecutionServerTimeout => "job_execution_server_timeout",
    StuckPendingWithMatchingRunners => "stuck_pending_with_matching_runners",
    StuckPendingNoMatchingRunners => "stuck_pending_no_matching_runners",
    NoUpdatesRunning => "no_updates_running",
    NoUpdatesCanceling => "no_updates_canceling",
    ServerTimeoutRunning => "server_timeout_running",
    ServerTimeoutCanceling => "server_timeout_canceling",
    RunnerConfigurationError => "runner_configuration_error",
    RunnerExternalDependencyFailure => "runner_external_dependency_failure",
    RunnerInterrupted => "runner_interrupted",
    ProtectedEnvironmentFailure => "protected_environment_failure",
    InsufficientBridgePermissions => "insufficient_bridge_permissions",
    DownstreamBridgeProjectNotFound => "downstream_bridge_project_not_found",
    InvalidBridgeTrigger => "invalid_bridge_trigger",
    UpstreamBridgeProjectNotFound => "upstream_bridge_project_not_found",
    InsufficientUpstreamPermissions => "insufficient_upstream_permissions",
    BridgePipelineIsChildPipeline => "bridge_pipeline_is_child_pipeline",
    DownstreamPipelineCreationFailed => "downstream_pipeline_creation_failed",
    SecretsProviderNotFound => "secrets_provider_not_found",
    ReachedMaxDescendantPipelinesDepth => "reached_max_descendant_pipelines_depth",
    IpRestrictionFailure => "ip_restriction_failure",
    ReachedMaxPipelineHierarchySize => "reached_max_pipeline_hierarchy_size",
    ReachedDownstreamPipelineTriggerRateLimit => "reached_downstream_pipeline_trigger_rate_limit",
    JobTokenExpired => "job_token_expired",
}

impl FailureReason {
    /// Strict parse: `None` for a value GitLab does not know (for validating `retry:when`).
    pub fn parse_known(s: &str) -> Option<FailureReason> {
        FailureReason::ALL
            .iter()
            .copied()
            .find(|reason| reason.as_str() == s)
    }

    /// Reasons never retried automatically, whatever `retry:` says (GitLab's
    /// `RETRY_OVERRIDES`).
    pub fn is_never_retried(self) -> bool {
        matches!(
            self,
            FailureReason::MissingDependencyFailure
                | FailureReason::CiQuotaExceeded
                | FailureReason::NoMatchingRunner
                | FailureReason::ForwardDeploymentFailure
                | FailureReason::EnvironmentCreationFailure
        )
    }

    /// Retries a job failing for this reason gets without any `retry:` keyword.
    pub fn default_retries(self) -> u32 {
        match self {
            FailureReason::SchedulerFailure => 2,
            _ => 0,
        }
    }
}

/// Lenient parse, for values reported by runners: unknown values are `unknown_failure`.
impl FromStr for FailureReason {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(FailureReason::parse_known(s).unwrap_or(FailureReason::UnknownFailure))
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FailureReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FailureReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(FailureReason::parse_known(&text).unwrap_or(FailureReason::UnknownFailure))
    }
}

/// One value of `retry:when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryWhen {
    Always,
    Reason(FailureReason),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown retry:when value: {0}")]
pub struct UnknownRetryWhen(pub String);

impl FromStr for RetryWhen {
    type Err = UnknownRetryWhen;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "always" {
            return Ok(RetryWhen::Always);
        }
        FailureReason::parse_known(s)
            .map(RetryWhen::Reason)
            .ok_or_else(|| UnknownRetryWhen(s.to_owned()))
    }
}

impl RetryWhen {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryWhen::Always => "always",
            RetryWhen::Reason(reason) => reason.as_str(),
        }
    }

    /// Whether a job that failed for `reason` is covered by this `retry:when` value. Old names
    /// cover the reasons GitLab later split out of them, so existing configs keep working.
    pub fn matches(self, reason: FailureReason) -> bool {
        use FailureReason as R;
        match self {
            RetryWhen::Always => true,
            RetryWhen::Reason(R::StuckOrTimeoutFailure) => matches!(
                reason,
                R::StuckOrTimeoutFailure
                    | R::StuckPendingWithMatchingRunners
                    | R::StuckPendingNoMatchingRunners
                    | R::NoUpdatesRunning
                    | R::NoUpdatesCanceling
            ),
            RetryWhen::Reason(R::JobExecutionTimeout) => matches!(
                reason,
                R::JobExecutionTimeout | R::ServerTimeoutRunning | R::ServerTimeoutCanceling
            ),
            RetryWhen::Reason(wanted) => wanted == reason,
        }
    }
}

/// A job's `retry:` keyword (`retry: 2` is `max: Some(2)` with nothing else).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetryPolicy {
    pub max: Option<u32>,
    /// `None`: not given, meaning `[always]` unless `exit_codes` is given (then nothing).
    pub when: Option<Vec<RetryWhen>>,
    pub exit_codes: Option<Vec<i32>>,
}

impl RetryPolicy {
    fn covers(&self, reason: FailureReason, exit_code: Option<i32>) -> bool {
        let by_reason = match &self.when {
            Some(when) => when.iter().any(|w| w.matches(reason)),
            None => self.exit_codes.is_none(),
        };
        let by_exit_code = match (&self.exit_codes, exit_code) {
            (Some(codes), Some(code)) => codes.contains(&code),
            _ => false,
        };
        by_reason || by_exit_code
    }
}

/// How many automatic retries a job failing with `reason` (and `exit_code`) is allowed in total.
pub fn max_auto_retries(
    policy: Option<&RetryPolicy>,
    reason: FailureReason,
    exit_code: Option<i32>,
) -> u32 {
    if reason.is_never_retried() {
        return 0;
    }
    // A configured max applies when it covers the failure; otherwise the reason's default.
    policy
        .filter(|policy| policy.covers(reason, exit_code))
        .and_then(|policy| policy.max)
        .unwrap_or_else(|| reason.default_retries())
}

/// Whether a job that just failed should be cloned and run again. `retries_so_far` counts the
/// earlier attempts with the same name in the pipeline that were retried. The caller also
/// checks the job itself is retryable (not archived, not a rejected deployment).
pub fn should_auto_retry(
    policy: Option<&RetryPolicy>,
    reason: FailureReason,
    exit_code: Option<i32>,
    retries_so_far: u32,
) -> bool {
    max_auto_retries(policy, reason, exit_code) > retries_so_far
}

#[cfg(test)]
mod tests {
    use super::*;
    use FailureReason as R;

    #[test]
    fn every_reason_of_the_spec_is_known_and_round_trips() {
        assert_eq!(R::ALL.len(), 48);
        for &reason in R::ALL {
            assert_eq!(R::parse_known(reason.as_str()), Some(reason));
            assert_eq!(reason.as_str().parse::<R>(), Ok(reason));
            let json = serde_json::to_string(&reason).ok();
            assert_eq!(json, Some(format!("\"{}\"", reason.as_str())));
            let back: Option<R> = json.and_then(|j| serde_json::from_str(&j).ok());
            assert_eq!(back, Some(reason));
        }
    }

    #[test]
    fn spec_list_matches() {
        let spec = "unknown_failure, script_failure, api_failure, stuck_or_timeout_failure, \
            runner_system_failure, missing_dependency_failure, runner_unsupported, stale_schedule, \
            job_execution_timeout, archived_failure, unmet_prerequisites, scheduler_failure, \
            data_integrity_failure, forward_deployment_failure, user_blocked, project_deleted, \
            ci_quota_exceeded, pipeline_loop_detected, no_matching_runner, trace_size_exceeded, \
            builds_disabled, environment_creation_failure, deployment_rejected, \
            failed_outdated_deployment_job, job_execution_server_timeout, \
            stuck_pending_with_matching_runners, stuck_pending_no_matching_runners, \
            no_updates_running, no_updates_canceling, server_timeout_running, \
            server_timeout_canceling, runner_configuration_error, \
            runner_external_dependency_failure, runner_interrupted, \
            protected_environment_failure, insufficient_bridge_permissions, \
            downstream_bridge_project_not_found, invalid_bridge_trigger, \
            upstream_bridge_project_not_found, insufficient_upstream_permissions, \
            bridge_pipeline_is_child_pipeline, downstream_pipeline_creation_failed, \
            secrets_provider_not_found, reached_max_descendant_pipelines_depth, \
            ip_restriction_failure, reached_max_pipeline_hierarchy_size, \
            reached_downstream_pipeline_trigger_rate_limit, job_token_expired";
        let names: Vec<&str> = spec.split(',').map(str::trim).collect();
        let ours: Vec<&str> = R::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(ours, names);
    }

    #[test]
    fn unknown_runner_values_become_unknown_failure() {
        assert_eq!("out_of_cheese".parse::<R>(), Ok(R::UnknownFailure));
        assert_eq!("".parse::<R>(), Ok(R::UnknownFailure));
        assert_eq!(R::parse_known("out_of_cheese"), None);
        let parsed: Option<R> = serde_json::from_str("\"out_of_cheese\"").ok();
        assert_eq!(parsed, Some(R::UnknownFailure));
        assert_eq!(R::default(), R::UnknownFailure);
    }

    #[test]
    fn retry_when_parses_always_and_every_reason_only() {
        assert_eq!("always".parse::<RetryWhen>(), Ok(RetryWhen::Always));
        for &reason in R::ALL {
            let parsed = reason.as_str().parse::<RetryWhen>();
            assert_eq!(parsed, Ok(RetryWhen::Reason(reason)));
            assert_eq!(RetryWhen::Reason(reason).as_str(), reason.as_str());
        }
        assert!("never".parse::<RetryWhen>().is_err());
    }

    #[test]
    fn retry_when_matches_itself_and_always_matches_everything() {
        for &reason in R::ALL {
            assert!(RetryWhen::Always.matches(reason));
            assert!(RetryWhen::Reason(reason).matches(reason));
        }
        assert!(!RetryWhen::Reason(R::ScriptFailure).matches(R::RunnerSystemFailure));
    }

    #[test]
    fn stuck_or_timeout_failure_matches_its_split_successors() {
        let old = RetryWhen::Reason(R::StuckOrTimeoutFailure);
        for reason in [
            R::StuckPendingWithMatchingRunners,
            R::StuckPendingNoMatchingRunners,
            R::NoUpdatesRunning,
            R::NoUpdatesCanceling,
        ] {
            assert!(old.matches(reason), "{reason}");
            assert!(!RetryWhen::Reason(reason).matches(R::StuckOrTimeoutFailure));
        }
        assert!(!old.matches(R::ServerTimeoutRunning));
        assert!(!old.matches(R::ScriptFailure));
    }

    #[test]
    fn job_execution_timeout_matches_server_timeouts() {
        let old = RetryWhen::Reason(R::JobExecutionTimeout);
        assert!(old.matches(R::ServerTimeoutRunning));
        assert!(old.matches(R::ServerTimeoutCanceling));
        assert!(!old.matches(R::NoUpdatesRunning));
        assert!(!RetryWhen::Reason(R::ServerTimeoutRunning).matches(R::JobExecutionTimeout));
    }

    fn policy(max: u32, when: &[&str], exit_codes: Option<Vec<i32>>) -> RetryPolicy {
        RetryPolicy {
            max: Some(max),
            when: (!when.is_empty()).then(|| {
                when.iter()
                    .filter_map(|w| w.parse::<RetryWhen>().ok())
                    .collect()
            }),
            exit_codes,
        }
    }

    #[test]
    fn retry_max_2_when_script_failure() {
        let p = policy(2, &["script_failure"], None);
        // Script failures: two retries, three attempts in all.
        assert!(should_auto_retry(Some(&p), R::ScriptFailure, Some(1), 0));
        assert!(should_auto_retry(Some(&p), R::ScriptFailure, Some(1), 1));
        assert!(!should_auto_retry(Some(&p), R::ScriptFailure, Some(1), 2));
        // A runner system failure is not covered.
        assert!(!should_auto_retry(
            Some(&p),
            R::RunnerSystemFailure,
            None,
            0
        ));
    }

    #[test]
    fn plain_retry_count_covers_every_reason_but_the_never_retried() {
        let p = RetryPolicy {
            max: Some(1),
            ..RetryPolicy::default()
        };
        for &reason in R::ALL {
            assert_eq!(
                should_auto_retry(Some(&p), reason, None, 0),
                !reason.is_never_retried(),
                "{reason}"
            );
        }
    }

    #[test]
    fn never_retried_reasons_ignore_always() {
        let p = policy(2, &["always"], None);
        for reason in [
            R::MissingDependencyFailure,
            R::CiQuotaExceeded,
            R::NoMatchingRunner,
            R::ForwardDeploymentFailure,
            R::EnvironmentCreationFailure,
        ] {
            assert!(reason.is_never_retried());
            assert_eq!(max_auto_retries(Some(&p), reason, None), 0, "{reason}");
        }
        let named = policy(2, &["missing_dependency_failure"], None);
        assert_eq!(
            max_auto_retries(Some(&named), R::MissingDependencyFailure, None),
            0
        );
    }

    #[test]
    fn scheduler_failure_gets_two_retries_by_default() {
        assert_eq!(max_auto_retries(None, R::SchedulerFailure, None), 2);
        assert_eq!(max_auto_retries(None, R::ScriptFailure, None), 0);
        // A policy that does not cover it leaves the default.
        let p = policy(1, &["script_failure"], None);
        assert_eq!(max_auto_retries(Some(&p), R::SchedulerFailure, None), 2);
        // A covering policy's max wins, even when lower (GitLab: `0 || 2` is 0 in Ruby).
        let zero = policy(0, &["always"], None);
        assert_eq!(max_auto_retries(Some(&zero), R::SchedulerFailure, None), 0);
    }

    #[test]
    fn exit_codes_retry_only_listed_codes_when_no_when_is_given() {
        let p = policy(2, &[], Some(vec![137, 255]));
        assert!(should_auto_retry(Some(&p), R::ScriptFailure, Some(137), 0));
        assert!(!should_auto_retry(Some(&p), R::ScriptFailure, Some(1), 0));
        assert!(!should_auto_retry(Some(&p), R::ScriptFailure, None, 0));
        // With both, either one is enough.
        let both = policy(2, &["runner_system_failure"], Some(vec![137]));
        assert!(should_auto_retry(
            Some(&both),
            R::RunnerSystemFailure,
            None,
            0
        ));
        assert!(should_auto_retry(
            Some(&both),
            R::ScriptFailure,
            Some(137),
            0
        ));
        assert!(!should_auto_retry(
            Some(&both),
            R::ScriptFailure,
            Some(1),
            0
        ));
    }

    #[test]
    fn a_policy_without_max_falls_back_to_the_default() {
        let p = RetryPolicy {
            max: None,
            when: Some(vec![RetryWhen::Always]),
            exit_codes: None,
        };
        assert_eq!(max_auto_retries(Some(&p), R::ScriptFailure, None), 0);
        assert_eq!(max_auto_retries(Some(&p), R::SchedulerFailure, None), 2);
    }
}
