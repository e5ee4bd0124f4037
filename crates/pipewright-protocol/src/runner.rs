//! Runner identity: `info` (sent on verify, register and every job request) and the runner
//! management endpoints (`/runners`, `/runners/verify`, `/runners/managers`,
//! `/runners/reset_authentication_token`).

use serde::{Deserialize, Serialize};

/// `info`: what the runner tells about itself. Every field is optional on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunnerInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub features: Features,
    /// `{"gpus": "..."}` in Go; kept opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Newer Go only; kept opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<serde_json::Value>,
}

/// `info.features`: capability flags (§5.1). Absent means "not advertised"; unknown flags are
/// ignored. GitLab reads a flag as set only when it is `Some(true)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_cache_keys: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_multiple_artifacts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_raw_artifacts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refspecs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masking: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_variables: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts_exclude: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_build_steps: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_reset: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_checksum: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_size: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_secrets: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_exit_code: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_variables: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_multiple_aliases: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_executor_opts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_executor_opts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_gracefully: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_steps_integration: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_phase_job_commit: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_inputs: Option<bool>,
}

/// `POST /runners/verify` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequest {
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<RunnerInfo>,
}

/// `POST /runners/verify` 200 answer, also the shape of the legacy `POST /runners` 201 answer.
/// `id` must be non-zero (Go's `register --token` aborts on 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResponse {
    pub id: i64,
    pub token: String,
    /// RFC 3339 or `null` (never expires); always serialized.
    #[serde(default)]
    pub token_expires_at: Option<String>,
}

/// `POST /runners` (legacy registration with a registration token) body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_note: Option<String>,
    /// One comma-separated string, e.g. `"docker,linux"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_list: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_untagged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    /// `not_protected` or `ref_protected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Older spelling: inverse of `paused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<RunnerInfo>,
}

/// `DELETE /runners` and `DELETE /runners/managers` JSON body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRunnerRequest {
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<String>,
}

/// `POST /runners/reset_authentication_token` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetTokenRequest {
    pub token: String,
}

/// `POST /runners/reset_authentication_token` 201 answer; expiry omitted when none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetTokenResponse {
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<String>,
}
