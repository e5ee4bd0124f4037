//! `POST /jobs/request`: the runner's poll (§5.1) and the 201 job payload (§5.4–§5.9).

use serde::{Deserialize, Serialize};

use crate::runner::RunnerInfo;
use crate::serde_util::{is_false, null_as_default};

/// `POST /jobs/request` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<String>,
    /// Echo of the last `X-GitLab-Last-Update` the runner saw (Go only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<RunnerInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionInfo>,
}

/// `session`: the runner's web-terminal endpoint (Go). Ignorable by a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
}

/// The 201 answer to `POST /jobs/request`.
///
/// Serialization always emits every key the Collabora crate requires (`artifacts` and
/// `dependencies` included, `image`/`artifacts` as `null` when absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobResponse {
    pub id: i64,
    /// The job token (`glcbt-…`).
    pub token: String,
    #[serde(default)]
    pub allow_git_fetch: bool,
    #[serde(default)]
    pub job_info: JobInfo,
    #[serde(default)]
    pub git_info: GitInfo,
    #[serde(default)]
    pub runner_info: JobRunnerInfo,
    /// In precedence order: later entries with the same key win.
    #[serde(default, deserialize_with = "null_as_default")]
    pub variables: Vec<JobVariable>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub image: Option<Image>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub services: Vec<Service>,
    /// `null` when the job declares no artifacts.
    #[serde(default)]
    pub artifacts: Option<Vec<ArtifactSpec>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cache: Vec<Cache>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub credentials: Vec<Credential>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dependencies: Vec<Dependency>,
    #[serde(default)]
    pub features: JobFeatures,
    #[serde(default, deserialize_with = "null_as_default")]
    pub hooks: Vec<Hook>,
}

impl JobResponse {
    /// The step with this name (see [`crate::step`]).
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The value of a variable, resolving duplicates "last one wins" like both runners do.
    pub fn variable(&self, key: &str) -> Option<&str> {
        self.variables
            .iter()
            .rev()
            .find(|v| v.key == key)
            .map(|v| v.value.as_str())
    }
}

/// `job_info`: descriptive data the runner uses for logs and directory names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub project_id: i64,
    #[serde(default)]
    pub project_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_full_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_namespace_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_in_queue_seconds: Option<f64>,
    /// A string in GitLab, e.g. `"+Inf"` or `"3"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_jobs_running_on_instance_runners_count: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<i64>,
    /// Job timeout in seconds (Pipewright extra; the authoritative value is `runner_info.timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
}

/// `git_info` (§5.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// Clone URL with `gitlab-ci-token:<job token>@` credentials.
    #[serde(default)]
    pub repo_url: String,
    /// `sha1` or `sha256`.
    #[serde(default = "default_object_format")]
    pub repo_object_format: String,
    /// Branch or tag name (short form).
    #[serde(default)]
    pub r#ref: String,
    #[serde(default)]
    pub sha: String,
    /// Previous head of the ref, or 40 zeros.
    #[serde(default)]
    pub before_sha: String,
    /// `branch` or `tag`.
    #[serde(default)]
    pub ref_type: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub refspecs: Vec<String>,
    /// Shallow depth; 0 = full clone.
    #[serde(default)]
    pub depth: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
}

fn default_object_format() -> String {
    "sha1".to_owned()
}

impl Default for GitInfo {
    fn default() -> Self {
        Self {
            repo_url: String::new(),
            repo_object_format: default_object_format(),
            r#ref: String::new(),
            sha: String::new(),
            before_sha: String::new(),
            ref_type: String::new(),
            refspecs: Vec::new(),
            depth: 0,
            protected: None,
        }
    }
}

/// `runner_info` of the job payload (not to be confused with the runner's own [`RunnerInfo`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRunnerInfo {
    /// Job deadline in seconds (Go uses 7200 when ≤ 0).
    #[serde(default)]
    pub timeout: i64,
    /// Always serialized, usually `null`.
    #[serde(default)]
    pub runner_session_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
}

/// One entry of `variables` (§5.6). `file`/`raw` are omitted when false, like GitLab does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobVariable {
    pub key: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub masked: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub file: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub raw: bool,
}

impl JobVariable {
    /// A public, unmasked variable.
    pub fn public(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            public: true,
            ..Self::default()
        }
    }

    /// A non-public, masked variable (tokens, passwords).
    pub fn secret(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            masked: true,
            ..Self::default()
        }
    }
}

/// `when` of steps, artifacts and caches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    #[default]
    OnSuccess,
    OnFailure,
    Always,
    /// Anything else a newer server might send.
    #[serde(other)]
    Unknown,
}

/// One entry of `steps` (§5.7). All five fields are always serialized.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// `script`, `after_script` or `release` (see [`crate::step`]).
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub script: Vec<String>,
    /// Seconds; never null.
    #[serde(default)]
    pub timeout: i64,
    #[serde(default)]
    pub when: When,
    #[serde(default)]
    pub allow_failure: bool,
}

/// `image`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub name: String,
    /// Always serialized (`null` = image default).
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ports: Vec<ImagePort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<Vec<String>>,
    /// `{docker: {platform, user}, kubernetes: {user}}`; kept opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_opts: Option<serde_json::Value>,
}

/// One entry of `image.ports` / `services[].ports`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePort {
    pub number: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One entry of `services`: image fields plus alias, command and variables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ports: Vec<ImagePort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_opts: Option<serde_json::Value>,
    /// May hold several aliases separated by commas or spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub variables: Vec<JobVariable>,
}

/// `artifact_format`. The Collabora crate accepts only `zip`, `gzip`, `raw` (or null).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactFormat {
    Zip,
    Gzip,
    Raw,
    Zipzstd,
    Tarzstd,
    #[serde(other)]
    Unknown,
}

/// One entry of `artifacts` (§5.8). `paths`, `when`, `artifact_type` and `artifact_format`
/// are always serialized; `exclude` only when non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactSpec {
    /// `null` → runner default name `artifacts`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub untracked: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub paths: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub when: Option<When>,
    #[serde(default)]
    pub expire_in: Option<String>,
    /// `archive`, `junit`, `dotenv`, …
    #[serde(default)]
    pub artifact_type: String,
    #[serde(default)]
    pub artifact_format: Option<ArtifactFormat>,
}

/// One entry of `cache`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cache {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub untracked: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub paths: Vec<String>,
    /// `pull-push`, `pull` or `push`.
    #[serde(default)]
    pub policy: String,
    #[serde(default)]
    pub when: When,
    #[serde(default, deserialize_with = "null_as_default")]
    pub fallback_keys: Vec<String>,
}

/// One entry of `credentials` (registry logins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// Always `registry`.
    #[serde(default)]
    pub r#type: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// One entry of `dependencies` (§5.9).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    /// Token to send as `JOB-TOKEN` when downloading this dependency's artifacts.
    #[serde(default)]
    pub token: String,
    /// Omitted when the dependency has no (unexpired) archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts_file: Option<ArtifactFile>,
}

/// `dependencies[].artifacts_file`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactFile {
    pub filename: String,
    #[serde(default)]
    pub size: i64,
}

/// `features` of the job payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFeatures {
    #[serde(default)]
    pub trace_sections: bool,
    /// Failure reasons the server accepts (see [`crate::RUNNER_FAILURE_REASONS`]).
    #[serde(default, deserialize_with = "null_as_default")]
    pub failure_reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_mask_prefixes: Option<Vec<String>>,
}

/// One entry of `hooks`: `pre_get_sources_script` / `post_get_sources_script`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub script: Vec<String>,
}
