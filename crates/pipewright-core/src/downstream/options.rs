//! The planned options of a bridge that triggering reads.

use pipewright_ciyaml::{Trigger, Variable};
use pipewright_domain::failure::FailureReason;
use pipewright_store::model::Job;
use serde::Deserialize;

/// A bridge's `trigger:` and YAML variables, read leniently from its stored options.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct BridgeOptions {
    pub trigger: Option<Trigger>,
    /// Global variables merged with the job's, as planned.
    pub variables: Vec<Variable>,
}

impl BridgeOptions {
    pub fn of(job: &Job) -> BridgeOptions {
        serde_json::from_str(&job.options).unwrap_or_default()
    }

    /// `strategy: depend` (or `mirror`): the bridge takes the downstream pipeline's status.
    pub fn is_dependent(&self) -> bool {
        self.trigger
            .as_ref()
            .and_then(|trigger| trigger.strategy.as_deref())
            .is_some_and(|strategy| strategy == "depend" || strategy == "mirror")
    }
}

/// Bridges failed for these reasons cannot be retried (jobs-api.md §3.3, Retry).
pub fn blocks_retry(job: &Job) -> bool {
    !job.is_build()
        && job.failure_reason.as_deref().is_some_and(|reason| {
            reason == FailureReason::PipelineLoopDetected.as_str()
                || reason == FailureReason::ReachedMaxDescendantPipelinesDepth.as_str()
        })
}
