//! Starting the server under test. The benchmark uses a real `pipewright serve` child process;
//! tests may plug in another [`Launcher`] (e.g. the server started in-process).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};

/// Seconds: longer than the seeded history is old.
const WATCHDOG_OFF: &str = "315360000";

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a launcher needs to start a server on already-seeded data.
#[derive(Debug, Clone)]
pub struct ServerArgs {
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
    pub root_token: String,
}

/// A started server. Its address may not answer yet.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Process whose memory is reported.
    pub pid: u32,
    /// False when the server shares the benchmark's process (memory figures are then moot).
    pub separate_process: bool,
    stop: Option<Box<dyn FnOnce() -> BoxFuture<'static, anyhow::Result<()>> + Send>>,
}

impl RunningServer {
    pub fn new(
        addr: SocketAddr,
        pid: u32,
        separate_process: bool,
        stop: impl FnOnce() -> BoxFuture<'static, anyhow::Result<()>> + Send + 'static,
    ) -> RunningServer {
        RunningServer {
            addr,
            pid,
            separate_process,
            stop: Some(Box::new(stop)),
        }
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        match self.stop.take() {
            Some(stop) => stop().await,
            None => Ok(()),
        }
    }
}

pub trait Launcher: Send + Sync {
    fn start(&self, args: ServerArgs) -> BoxFuture<'_, anyhow::Result<RunningServer>>;
}

/// `pipewright serve` as a child process, its logs in `<data-dir>/../server.log`.
pub struct ChildLauncher {
    pub binary: PathBuf,
}

impl Launcher for ChildLauncher {
    fn start(&self, args: ServerArgs) -> BoxFuture<'_, anyhow::Result<RunningServer>> {
        Box::pin(async move {
            let log_path = args
                .data_dir
                .parent()
                .unwrap_or(&args.data_dir)
                .join("server.log");
            let log = std::fs::File::create(&log_path)
                .with_context(|| format!("creating {}", log_path.display()))?;
            let mut child = tokio::process::Command::new(&self.binary)
                .arg("serve")
                .arg("--data-dir")
                .arg(&args.data_dir)
                .arg("--listen")
                .arg(args.addr.to_string())
                .arg("--builtin-runners")
                .arg("0")
                .arg("--initial-root-token")
                .arg(&args.root_token)
                // The seeded history is a snapshot whose `running` jobs started weeks ago: the
                // watchdogs would fail tens of thousands of them a minute into the run, process
                // their pipelines (writer load during the read scenarios) and enqueue later
                // stages for the dispatch race. Ten years keeps them quiet.
                .env("PIPEWRIGHT_RUNNING_JOB_UPDATE_TIMEOUT", WATCHDOG_OFF)
                .env("PIPEWRIGHT_CANCELING_JOB_TIMEOUT", WATCHDOG_OFF)
                .env("PIPEWRIGHT_PENDING_JOB_TIMEOUT", WATCHDOG_OFF)
                .env("PIPEWRIGHT_JOB_TIMEOUT_MARGIN", WATCHDOG_OFF)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {}", self.binary.display()))?;
            let Some(pid) = child.id() else {
                bail!("the server exited at once; see {}", log_path.display());
            };
            Ok(RunningServer::new(args.addr, pid, true, move || {
                Box::pin(async move {
                    // SIGTERM for a graceful shutdown; SIGKILL if it does not come.
                    let _ = tokio::process::Command::new("kill")
                        .arg("-TERM")
                        .arg(pid.to_string())
                        .status()
                        .await;
                    match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
                        Ok(status) => {
                            status?;
                        }
                        Err(_) => {
                            child.kill().await?;
                        }
                    }
                    Ok(())
                })
            }))
        })
    }
}

/// A free loopback port (bound then released; the server binds it right after).
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// The workspace this crate was built from (the bench runs from a clone of it).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// Builds `pipewright` in release mode next to this binary and returns its path.
pub fn build_server_binary() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        // The same package set as `cargo run -p pipewright-bench` (which already depends on
        // the server crate), so feature unification matches and nothing is rebuilt.
        .args([
            "build",
            "--release",
            "-p",
            "pipewright-bench",
            "-p",
            "pipewright",
        ])
        .current_dir(workspace_root())
        .status()
        .context("running cargo build for the server")?;
    if !status.success() {
        bail!("cargo build --release -p pipewright-bench -p pipewright failed");
    }
    release_binary()
}

/// `<target>/release/pipewright`, found from where this binary lives (so a custom
/// `CARGO_TARGET_DIR` works), else the workspace's `target/`.
pub fn release_binary() -> anyhow::Result<PathBuf> {
    let name = format!("pipewright{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe()?;
    let mut candidates = Vec::new();
    // target/<profile>/pipewright-bench or target/<profile>/deps/<test binary>
    for ancestor in exe.ancestors().skip(1).take(3) {
        candidates.push(ancestor.join("release").join(&name));
    }
    candidates.push(workspace_root().join("target").join("release").join(&name));
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .with_context(|| format!("{name} not found; run cargo build --release -p pipewright"))
}
