//! A GitLab-compatible runner with a shell (bash) executor.
//!
//! It speaks only the runner HTTP protocol (`spec/runner-protocol.md`) through
//! [`pipewright_protocol`]: `pipewright serve` starts its built-in runners over loopback with
//! [`run`], and `pipewright runner --url --token` runs one against any compatible server
//! (plain `http://` only for now: reqwest is built without TLS). It must never depend on the
//! store or core crates.
//!
//! Per job, in `<builds_dir>/<job id>` (removed afterwards; scripts and file variables live
//! in `<builds_dir>/<job id>.tmp`):
//! 1. `git init` + `git fetch` of `git_info.refspecs` + `git checkout -f <sha>` (skipped with
//!    `GIT_STRATEGY=none`); a failure is a `runner_system_failure`;
//! 2. the archives of `dependencies` are downloaded and unzipped;
//! 3. the `script` step runs in one bash (`set -eo pipefail`, each command echoed as
//!    `$ cmd`, stderr merged into stdout) with the runner's own environment plus the job's
//!    variables and `CI_PROJECT_DIR`, `CI_BUILDS_DIR`, `CI_SERVER`, `CI_JOB_STATUS`, …;
//! 4. `after_script` runs in another bash whose failure never fails the job;
//! 5. `cache` entries are restored before the script and saved after `after_script`, in
//!    `<builds_dir>/cache/<project id>/<key>/cache.zip` (see `cache.rs`);
//! 6. `artifacts` entries that apply are packed (zip, gzip, raw) and uploaded.
//!
//! The log streams while the job runs (masked variables and the job token are replaced by
//! `[MASKED]`). `Job-Status: canceling` triggers a graceful cancel (script killed,
//! `after_script` run with `CI_JOB_STATUS=canceled`, final update sent); `canceled`,
//! `failed` or a 403 kill the job and stop all updates. Timeouts kill the script's whole
//! process group and report `job_execution_timeout`.

mod archive;
mod artifacts;
mod cache;
mod client;
mod executor;
mod git;
mod glob;
mod job;
mod mask;
mod outcome;
mod poll;
mod register;
mod shell;
mod style;
mod trace;
mod vars;

use std::path::PathBuf;
use std::time::Duration;

use pipewright_protocol::{Features, RunnerInfo, VerifyRequest};
pub use register::{RegisterAuth, RegisterOptions, Registration, register};
use tokio_util::sync::CancellationToken;

/// How one runner process connects and runs jobs.
#[derive(Clone)]
pub struct RunnerConfig {
    /// Server web root, e.g. `http://127.0.0.1:8080` (`/api/v4` is appended).
    pub url: String,
    /// Runner authentication token (`glrt-…`).
    pub token: String,
    /// Jobs run at the same time (at least 1).
    pub concurrency: usize,
    /// Jobs run in `<builds_dir>/<job id>`; created if missing.
    pub builds_dir: PathBuf,
    /// Identifies this host to the server (`s_`/`r_` + 12 hex by convention).
    pub system_id: String,
    /// Wait after a "no job" answer.
    pub poll_interval: Duration,
    /// Shown in job logs and sent as `info.name`.
    pub name: String,
}

// By hand so that `{:?}` never prints the token.
impl std::fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerConfig")
            .field("url", &self.url)
            .field("token", &"[MASKED]")
            .field("concurrency", &self.concurrency)
            .field("builds_dir", &self.builds_dir)
            .field("system_id", &self.system_id)
            .field("poll_interval", &self.poll_interval)
            .field("name", &self.name)
            .finish()
    }
}

/// Verifies the token and polls for jobs until `shutdown` fires.
///
/// On shutdown, polling stops, running jobs are killed (without `after_script`) and reported
/// as failed (`runner_interrupted` where the server accepts it), and the call returns once
/// their final updates are sent or after a grace period. Transport errors are retried with
/// backoff; a rejected token is an error.
pub async fn run(config: RunnerConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    poll::run(config, shutdown).await
}

/// `POST /api/v4/runners/verify`: checks `token` and returns the runner id.
pub async fn verify(url: &str, token: &str) -> anyhow::Result<i64> {
    let client = client::Client::new(url)?;
    let response = client
        .verify(&VerifyRequest {
            token: token.to_owned(),
            system_id: None,
            info: Some(runner_info("pipewright-runner")),
        })
        .await?;
    Ok(response.id)
}

/// What we tell the server about ourselves. Only features we implement are claimed.
pub(crate) fn runner_info(name: &str) -> RunnerInfo {
    let yes = Some(true);
    RunnerInfo {
        name: Some(name.to_owned()),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        revision: None,
        platform: Some(std::env::consts::OS.to_owned()),
        architecture: Some(go_arch().to_owned()),
        executor: Some("shell".to_owned()),
        shell: Some("bash".to_owned()),
        features: Features {
            variables: yes,
            raw_variables: yes,
            masking: yes,
            refspecs: yes,
            cancelable: yes,
            cancel_gracefully: yes,
            trace_reset: yes,
            trace_checksum: yes,
            trace_size: yes,
            return_exit_code: yes,
            upload_multiple_artifacts: yes,
            cache: yes,
            fallback_cache_keys: yes,
            ..Features::default()
        },
        config: None,
        labels: None,
    }
}

/// Architecture names as Go (and so GitLab) spells them.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// `CI_RUNNER_EXECUTABLE_ARCH`, e.g. `linux/amd64`.
pub(crate) fn platform() -> String {
    format!("{}/{}", std::env::consts::OS, go_arch())
}
