//! `pipewright runner`: `register` creates a runner and writes its configuration file; `run`
//! (the default) runs jobs from flags, the configuration file, or both (flags win).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use pipewright_runner::{RegisterAuth, RegisterOptions, Registration, RunnerConfig};
use tokio_util::sync::CancellationToken;

use crate::cli::{RegisterArgs, RunArgs, RunnerAction, RunnerArgs};
use crate::runner_config::{DEFAULT_PATH, RunnerFile};

const DEFAULT_NAME: &str = "pipewright-runner";
const DEFAULT_BUILDS_DIR: &str = "./builds";
const DEFAULT_POLL_INTERVAL: u64 = 3;
/// Runner authentication tokens; `register --token` with one only verifies it.
const RUNNER_TOKEN_PREFIX: &str = "glrt-";

/// Runs the `runner` command until SIGINT/SIGTERM (for `run`).
pub async fn main(args: RunnerArgs) -> anyhow::Result<()> {
    match args.action {
        Some(RunnerAction::Register(register_args)) => {
            let (registration, path) = register(&register_args).await?;
            // The token is in the file only: never print it.
            println!(
                "Runner {} created; configuration written to {}",
                registration.id,
                path.display()
            );
            println!(
                "Start it with: pipewright runner run --config {}",
                path.display()
            );
            Ok(())
        }
        Some(RunnerAction::Run(run_args)) => run_until_signal(&run_args).await,
        None => run_until_signal(&args.run).await,
    }
}

async fn run_until_signal(args: &RunArgs) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        crate::serve::shutdown_signal().await;
        signal.cancel();
    });
    run(args, shutdown).await
}

/// Runs jobs with the settings `args` resolve to until `shutdown` fires.
pub async fn run(args: &RunArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let config = resolve(args)?;
    tracing::info!(
        url = %redact_userinfo(&config.url),
        concurrency = config.concurrency,
        builds_dir = %config.builds_dir.display(),
        "starting the runner"
    );
    pipewright_runner::run(config, shutdown).await
}

/// The runner settings: each flag, else the configuration file's value, else the default.
pub fn resolve(args: &RunArgs) -> anyhow::Result<RunnerConfig> {
    let file = match &args.config {
        Some(path) => Some(RunnerFile::read(path)?),
        // The default file is only consulted when the flags do not already say it all.
        None if args.url.is_none() || args.token.is_none() => {
            let path = Path::new(DEFAULT_PATH);
            path.exists().then(|| RunnerFile::read(path)).transpose()?
        }
        None => None,
    };
    let file = file.as_ref();
    let Some(url) = args.url.clone().or_else(|| file.map(|f| f.url.clone())) else {
        anyhow::bail!(
            "no server URL: pass --url and --token, or --config <file> written by `pipewright runner register`"
        );
    };
    let Some(token) = args.token.clone().or_else(|| file.map(|f| f.token.clone())) else {
        anyhow::bail!(
            "no runner token: pass --token, or --config <file> written by `pipewright runner register`"
        );
    };
    Ok(RunnerConfig {
        url,
        token,
        concurrency: args
            .concurrency
            .or_else(|| file.and_then(|f| f.concurrency))
            .unwrap_or(1)
            .max(1),
        builds_dir: args
            .builds_dir
            .clone()
            .or_else(|| file.and_then(|f| f.builds_dir.clone()))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BUILDS_DIR)),
        system_id: file
            .and_then(|f| f.system_id.clone())
            .unwrap_or_else(crate::serve::system_id),
        poll_interval: Duration::from_secs(
            args.poll_interval
                .or_else(|| file.and_then(|f| f.poll_interval))
                .unwrap_or(DEFAULT_POLL_INTERVAL)
                .max(1),
        ),
        name: args
            .name
            .clone()
            .or_else(|| file.and_then(|f| f.name.clone()))
            .unwrap_or_else(|| DEFAULT_NAME.to_owned()),
    })
}

/// Creates the runner on the server and writes its configuration file. Refuses to replace an
/// existing file without `--force` before anything is created on the server.
pub async fn register(args: &RegisterArgs) -> anyhow::Result<(Registration, PathBuf)> {
    if !args.force && args.config.exists() {
        anyhow::bail!(
            "{} already exists; pass --force to replace it",
            args.config.display()
        );
    }
    let auth = match (&args.token, &args.registration_token) {
        (Some(token), None) => RegisterAuth::PersonalAccessToken(token.clone()),
        (None, Some(token)) => RegisterAuth::RegistrationToken(token.clone()),
        _ => anyhow::bail!(
            "pass exactly one of --token (a personal access token) and --registration-token"
        ),
    };
    let options = RegisterOptions {
        runner_type: Some(args.runner_type.clone()),
        group_id: args.group_id,
        project_id: args.project_id,
        description: args.description.clone(),
        tag_list: args
            .tag_list
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        run_untagged: args.run_untagged,
        locked: args.locked,
        access_level: args.access_level.clone(),
        maximum_timeout: args.maximum_timeout,
        paused: args.paused.then_some(true),
    };
    let registration = match &auth {
        // Like `gitlab-runner register --token glrt-…`: the runner already exists (created
        // with `POST /user/runners` or in a UI); only check the token and write the file.
        RegisterAuth::PersonalAccessToken(token) if token.starts_with(RUNNER_TOKEN_PREFIX) => {
            let id = pipewright_runner::verify(&args.url, token)
                .await
                .context("verifying the runner token")?;
            Registration {
                id,
                token: token.clone(),
                token_expires_at: None,
            }
        }
        _ => pipewright_runner::register(&args.url, &auth, &options)
            .await
            .context("creating the runner")?,
    };
    let file = RunnerFile {
        url: args.url.trim_end_matches('/').to_owned(),
        token: registration.token.clone(),
        id: Some(registration.id),
        token_expires_at: registration.token_expires_at.clone(),
        system_id: Some(crate::serve::system_id()),
        name: Some(
            args.description
                .clone()
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_NAME.to_owned()),
        ),
        concurrency: Some(args.concurrency.max(1)),
        builds_dir: Some(args.builds_dir.clone()),
        poll_interval: Some(DEFAULT_POLL_INTERVAL),
    };
    file.write(&args.config, args.force).with_context(|| {
        format!(
            "runner {} was created but its configuration could not be written",
            registration.id
        )
    })?;
    Ok((registration, args.config.clone()))
}

/// `http://user:secret@host` → `http://***@host`, for logs.
fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted() {
        assert_eq!(
            redact_userinfo("http://u:secret@h:8080/x@y"),
            "http://***@h:8080/x@y"
        );
        assert_eq!(redact_userinfo("http://h:8080"), "http://h:8080");
    }
}
