//! Plain records handed to the rest of the system. No behaviour, no sqlx types.

use pipewright_domain::{Status, When};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub state: String,
    pub bot: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PersonalAccessToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// Space-separated scope names.
    pub scopes: String,
    /// `YYYY-MM-DD`; the token stops working at the start of that day (UTC).
    pub expires_at: Option<String>,
    pub revoked: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl PersonalAccessToken {
    pub fn scope_list(&self) -> Vec<String> {
        self.scopes.split_whitespace().map(str::to_owned).collect()
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Namespace {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub path: String,
    pub full_path: String,
    pub parent_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub visibility: String,
    pub created_at: i64,
}

/// A protected tag rule: a tag name or `*` pattern and who may create matching tags.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProtectedTag {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub create_access_level: i32,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Project {
    pub id: i64,
    pub namespace_id: i64,
    pub name: String,
    pub path: String,
    pub full_path: String,
    pub description: Option<String>,
    pub visibility: String,
    pub default_branch: String,
    pub public_jobs: bool,
    pub ci_config_path: String,
    pub ci_pipeline_variables_minimum_override_role: String,
    pub job_token_scope_enabled: bool,
    pub creator_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// CI/CD feature: 0 disabled, 10 private (members only), 20 enabled.
    pub builds_access_level: i32,
    /// Repository feature, same levels.
    pub repository_access_level: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub id: i64,
    pub project_id: i64,
    pub iid: i64,
    pub ref_name: String,
    pub tag: bool,
    pub sha: String,
    pub before_sha: String,
    pub source: String,
    pub status: Status,
    pub user_id: Option<i64>,
    pub yaml_errors: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Seconds, set when the pipeline finishes.
    pub duration: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineVariable {
    pub key: String,
    pub value: String,
    pub variable_type: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub project_id: i64,
    pub pipeline_id: i64,
    pub kind: String,
    pub name: String,
    pub stage: String,
    pub stage_idx: i32,
    pub status: Status,
    pub when: When,
    pub allow_failure: bool,
    pub needs: Option<Vec<String>>,
    /// JSON of the planned job options (scripts, image, variables...).
    pub options: String,
    pub tag_list: Vec<String>,
    pub ref_name: String,
    pub tag: bool,
    pub user_id: Option<i64>,
    pub runner_id: Option<i64>,
    pub cancel_gracefully: bool,
    pub retried: bool,
    pub timeout: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub queued_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub erased_at: Option<i64>,
    pub erased_by: Option<i64>,
    pub failure_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub coverage: Option<f64>,
    /// JSON array of `{key, value}` given when the job was played.
    pub job_variables: Option<String>,
}

impl Job {
    pub fn is_build(&self) -> bool {
        self.kind == "build"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Runner {
    pub id: i64,
    pub description: String,
    pub runner_type: String,
    pub tag_list: Vec<String>,
    pub run_untagged: bool,
    pub locked: bool,
    pub access_level: String,
    pub maximum_timeout: Option<i64>,
    pub paused: bool,
    pub project_id: Option<i64>,
    pub group_id: Option<i64>,
    pub creator_id: Option<i64>,
    pub created_at: i64,
    pub contacted_at: Option<i64>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub revision: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub executor: Option<String>,
}
