//! `pipewright serve`: open the store, bootstrap root, serve HTTP, run the built-in runner.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use pipewright_core::users::{RootBootstrap, bootstrap_root};
use pipewright_core::{App, Config};
use pipewright_store::Store;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;

/// A running server, for the binary and for tests that need a real one.
pub struct Server {
    pub addr: SocketAddr,
    pub app: App,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let server = start(args).await?;
    let shutdown = server.shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    server.handle.await?
}

fn database_path(args: &ServeArgs) -> anyhow::Result<PathBuf> {
    match &args.database_url {
        None => Ok(args.data_dir.join("pipewright.db")),
        Some(url) if url.starts_with("postgres") => {
            anyhow::bail!("PostgreSQL is not supported yet; use sqlite://<path>")
        }
        Some(url) => Ok(PathBuf::from(
            url.strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url),
        )),
    }
}

pub async fn start(args: ServeArgs) -> anyhow::Result<Server> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let store = Store::open_sqlite(&database_path(&args)?)
        .await
        .context("opening the database")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let external_url = args
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let mut config = Config::new(&args.data_dir, &external_url);
    config.long_poll = Duration::from_secs(args.long_polling_timeout);
    artifact_settings(&mut config)?;
    // GitLab's plan limit `ci_jobs_trace_size_limit`, in MiB (0 = unlimited).
    if let Ok(text) = std::env::var("PIPEWRIGHT_CI_JOBS_TRACE_SIZE_LIMIT") {
        config.max_trace_size_mb = text
            .trim()
            .parse()
            .context("PIPEWRIGHT_CI_JOBS_TRACE_SIZE_LIMIT must be a number of MiB")?;
    }
    let app = App::new(store, config)?;

    match bootstrap_root(&app, args.initial_root_token.as_deref()).await? {
        RootBootstrap::Created {
            token,
            generated: true,
        } => {
            // Printed once, on purpose: this is how the operator learns the token.
            println!("Root personal access token: {token}");
            println!(
                "(also written to {})",
                args.data_dir.join("initial_root_token").display()
            );
        }
        RootBootstrap::Created { .. } => {
            tracing::info!("root user created with the preset token");
        }
        RootBootstrap::Existing => {}
    }

    let shutdown = CancellationToken::new();
    // Delayed jobs, the watchdogs and environment auto-stop; what they act on is in the
    // database, so a restart picks up where the last process stopped.
    pipewright_core::scheduler::spawn(
        app.clone(),
        timer_config()?,
        shutdown.clone().cancelled_owned(),
    );
    // HTTP stops only after the built-in runner has finished: its interrupted jobs still
    // need the API to report their final state.
    let http_shutdown = CancellationToken::new();
    let router = pipewright_http::router(app.clone());
    let server_shutdown = http_shutdown.clone();
    let server = tokio::spawn(async move {
        // Small responses (log tails, 204s) must not wait for Nagle and delayed ACKs.
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "cannot set TCP_NODELAY");
            }
        });
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { server_shutdown.cancelled().await })
        .await
    });
    tracing::info!(%addr, %external_url, "pipewright listening");

    let builtin = args.builtin_runners.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    let runner = if builtin > 0 {
        let loopback = loopback_url(addr);
        let token = builtin_runner_token(&app, &args.data_dir).await?;
        let config = pipewright_runner::RunnerConfig {
            url: loopback,
            token,
            concurrency: builtin,
            builds_dir: args.data_dir.join("builds"),
            system_id: system_id(),
            poll_interval: Duration::from_secs(1),
            name: "pipewright-builtin".into(),
        };
        let runner_shutdown = shutdown.clone();
        Some(tokio::spawn(async move {
            if let Err(err) = pipewright_runner::run(config, runner_shutdown).await {
                tracing::error!(error = %err, "built-in runner stopped");
            }
        }))
    } else {
        None
    };

    // Expired artifacts go once a minute (GitLab's expiry worker runs on a similar cadence).
    let sweeper = pipewright_core::artifacts::spawn_sweeper(app.clone(), Duration::from_secs(60));

    let stop = shutdown.clone();
    let handle = tokio::spawn(async move {
        stop.cancelled().await;
        sweeper.abort();
        if let Some(runner) = runner {
            runner.await?;
        }
        http_shutdown.cancel();
        server.await??;
        Ok(())
    });
    Ok(Server {
        addr,
        app,
        shutdown,
        handle,
    })
}

/// Artifact settings from the environment: `PIPEWRIGHT_MAX_ARTIFACTS_SIZE` (bytes a runner may
/// upload per file, default 100 MiB) and `PIPEWRIGHT_DEFAULT_ARTIFACTS_EXPIRE_IN` (`expire_in`
/// when a job gives none: `30 days` by default, or `never`).
fn artifact_settings(config: &mut Config) -> anyhow::Result<()> {
    use pipewright_core::artifacts::{ExpireIn, parse_expire_in};

    if let Ok(text) = std::env::var("PIPEWRIGHT_MAX_ARTIFACTS_SIZE") {
        config.max_artifact_size = text
            .trim()
            .parse()
            .context("PIPEWRIGHT_MAX_ARTIFACTS_SIZE must be a number of bytes")?;
    }
    if let Ok(text) = std::env::var("PIPEWRIGHT_DEFAULT_ARTIFACTS_EXPIRE_IN") {
        config.default_artifacts_expire_in = match parse_expire_in(&text) {
            Some(ExpireIn::Never) => None,
            Some(ExpireIn::After(seconds)) => Some(seconds),
            None => anyhow::bail!(
                "PIPEWRIGHT_DEFAULT_ARTIFACTS_EXPIRE_IN must be a duration such as `30 days` or `never`"
            ),
        };
    }
    Ok(())
}

/// The watchdog thresholds, in seconds, from the environment (GitLab's defaults otherwise):
/// `PIPEWRIGHT_RUNNING_JOB_UPDATE_TIMEOUT` (3600), `PIPEWRIGHT_CANCELING_JOB_TIMEOUT` (1800),
/// `PIPEWRIGHT_PENDING_JOB_TIMEOUT` (86400), `PIPEWRIGHT_JOB_TIMEOUT_MARGIN` (900); and how
/// often environments past `auto_stop_at` are stopped:
/// `PIPEWRIGHT_ENVIRONMENT_AUTO_STOP_INTERVAL` (60).
fn timer_config() -> anyhow::Result<pipewright_core::scheduler::TimerConfig> {
    let seconds = |name: &str, default: Duration| -> anyhow::Result<Duration> {
        match std::env::var(name) {
            Ok(text) => {
                Ok(Duration::from_secs(text.trim().parse().with_context(
                    || format!("{name} must be a number of seconds"),
                )?))
            }
            Err(_) => Ok(default),
        }
    };
    let mut config = pipewright_core::scheduler::TimerConfig::default();
    let watchdogs = &mut config.watchdogs;
    watchdogs.running_without_update = seconds(
        "PIPEWRIGHT_RUNNING_JOB_UPDATE_TIMEOUT",
        watchdogs.running_without_update,
    )?;
    watchdogs.canceling_without_update = seconds(
        "PIPEWRIGHT_CANCELING_JOB_TIMEOUT",
        watchdogs.canceling_without_update,
    )?;
    watchdogs.pending = seconds("PIPEWRIGHT_PENDING_JOB_TIMEOUT", watchdogs.pending)?;
    watchdogs.timeout_margin = seconds("PIPEWRIGHT_JOB_TIMEOUT_MARGIN", watchdogs.timeout_margin)?;
    config.auto_stop_interval = seconds(
        "PIPEWRIGHT_ENVIRONMENT_AUTO_STOP_INTERVAL",
        config.auto_stop_interval,
    )?;
    Ok(config)
}

fn loopback_url(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// The built-in runner keeps one identity across restarts: its token lives in the data dir.
async fn builtin_runner_token(app: &App, data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("builtin_runner_token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        let token = token.trim().to_owned();
        if pipewright_core::runners::authenticate_runner(app, &token)
            .await
            .is_ok()
        {
            return Ok(token);
        }
    }
    let (_, token) =
        pipewright_core::runners::create_builtin_runner(app, "pipewright built-in runner")
            .await
            .map_err(|err| anyhow::anyhow!("creating the built-in runner: {err}"))?;
    write_private(&path, &token)?;
    Ok(token)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// `r_` + 12 hex: a random runner-manager id (runner-protocol.md §2).
pub fn system_id() -> String {
    let bytes: [u8; 6] = rand::random();
    format!("r_{}", hex::encode(bytes))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
