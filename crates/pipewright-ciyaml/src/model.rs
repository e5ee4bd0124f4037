//! The planned pipeline handed to the server (stored by it as JSON).

use pipewright_domain::When;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelinePlan {
    /// Stages that kept jobs, in order, including `.pre`/`.post` when used.
    pub stages: Vec<String>,
    /// Jobs in YAML order (parallel instances in place of their job).
    pub jobs: Vec<JobPlan>,
    /// `workflow:name`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `workflow:auto_cancel`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_cancel: Option<AutoCancel>,
    /// Variables of the matching `workflow:rules` rule (pipeline-level YAML variables).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workflow_variables: Vec<Variable>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobPlan {
    pub name: String,
    pub stage: String,
    /// Index among the *declared* stages (`.pre` = 0).
    pub stage_idx: i32,
    pub when: When,
    pub allow_failure: bool,
    /// `None` = stage job; `Some(vec![])` = `needs: []`.
    pub needs: Option<Vec<Need>>,
    pub options: JobOptions,
}

impl JobPlan {
    /// A bridge (`trigger:`) job: never handed to a runner.
    pub fn is_bridge(&self) -> bool {
        self.options.trigger.is_some()
    }

    /// `CI_NODE_TOTAL` (always) and `CI_NODE_INDEX` (parallel instances only).
    pub fn node_variables(&self) -> Vec<(String, String)> {
        match &self.options.parallel {
            Some(p) => vec![
                ("CI_NODE_INDEX".to_owned(), p.index.to_string()),
                ("CI_NODE_TOTAL".to_owned(), p.total.to_string()),
            ],
            None => vec![("CI_NODE_TOTAL".to_owned(), "1".to_owned())],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    pub job: String,
    pub artifacts: bool,
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JobOptions {
    pub before_script: Vec<String>,
    pub script: Vec<String>,
    pub after_script: Vec<String>,
    pub image: Option<Image>,
    pub services: Vec<Service>,
    pub tags: Vec<String>,
    /// Seconds.
    pub timeout: Option<u64>,
    /// YAML variables: global merged with job (and matrix, rules:variables), job wins.
    pub variables: Vec<Variable>,
    /// `allow_failure: {exit_codes: ...}`: flip `allow_failure` when the job fails with one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_failure_exit_codes: Vec<i64>,
    /// `start_in` of a delayed job, as written (`30 minutes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_in: Option<String>,
    /// `start_in` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_in_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Artifacts>,
    /// `None` = default (all earlier stages / needs with artifacts); `Some([])` = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Coverage regex without its slashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    #[serde(default)]
    pub interruptible: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<ParallelInstance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// `cache:` passed through unchanged to the runner payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    pub key: String,
    pub value: String,
    /// `expand: false`: the runner must not expand `$` references.
    pub raw: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub name: String,
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_policy: Vec<String>,
    /// `docker: {platform, user}` passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub alias: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_policy: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Artifacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untracked: Option<bool>,
    /// `on_success` (default), `on_failure` or `always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// As written (`1 week`, `never`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_as: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Report type (`junit`, `dotenv`, ...) → paths, in YAML order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<Report>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// `junit`, `dotenv`, `coverage_report` (then `format` is the coverage format), ...
    pub kind: String,
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Retry {
    pub max: u32,
    /// Failure reasons (or `always`); empty = any reason unless `exit_codes` is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exit_codes: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `start` (default), `prepare`, `stop`, `verify`, `access`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_stop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_stop_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_tier: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParallelInstance {
    /// 1-based.
    pub index: u32,
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// Multi-project: downstream project path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Parent-child: local files making the child pipeline's config.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Dynamic child pipelines: config files taken from another job's artifacts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_artifacts: Vec<ArtifactInclude>,
    /// Parent-child: the `inputs` of each `include` file, by position (empty when none has
    /// any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_inputs: Vec<Option<serde_json::Map<String, serde_json::Value>>>,
    /// Multi-project: `trigger:inputs`, the downstream configuration's pipeline inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<serde_json::Map<String, serde_json::Value>>,
    /// `depend` / `mirror`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    pub forward: Forward,
}

/// `trigger: include: [{artifact: generated.yml, job: generator}]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactInclude {
    pub job: String,
    pub artifact: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    pub yaml_variables: bool,
    pub pipeline_variables: bool,
}

impl Default for Forward {
    fn default() -> Self {
        Forward {
            yaml_variables: true,
            pipeline_variables: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoCancel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_new_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_job_failure: Option<String>,
}
