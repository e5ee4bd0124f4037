//! Command-line interface. Every `serve` flag is also a `PIPEWRIGHT_<NAME>` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "pipewright",
    version,
    about = "A CI job server that speaks GitLab's REST API v4"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: API, git over HTTP and the built-in runner.
    Serve(ServeArgs),
    /// Run a runner against a Pipewright (or GitLab) server.
    Runner(RunnerArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PIPEWRIGHT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the database, repositories and logs live.
    #[arg(long, env = "PIPEWRIGHT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database location (`sqlite://<path>`); default: `<data-dir>/pipewright.db`.
    #[arg(long, env = "PIPEWRIGHT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Public web root used in `web_url`s and clone URLs; default `http://<listen>`.
    #[arg(long, env = "PIPEWRIGHT_EXTERNAL_URL")]
    pub external_url: Option<String>,
    /// Jobs the built-in shell runner runs at once; 0 disables it. Default: number of CPUs.
    #[arg(long, env = "PIPEWRIGHT_BUILTIN_RUNNERS")]
    pub builtin_runners: Option<usize>,
    /// Seconds a runner's job request may be held waiting for work (long polling); 0 disables.
    #[arg(long, env = "PIPEWRIGHT_LONG_POLLING_TIMEOUT", default_value_t = 50)]
    pub long_polling_timeout: u64,
    /// Token of the `root` user created on first start (default: a random `glpat-` token).
    #[arg(long, env = "PIPEWRIGHT_INITIAL_ROOT_TOKEN", hide_env_values = true)]
    pub initial_root_token: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RunnerArgs {
    /// Server web root, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "PIPEWRIGHT_RUNNER_URL")]
    pub url: String,
    /// Runner authentication token (`glrt-...`, from `POST /user/runners`).
    #[arg(long, env = "PIPEWRIGHT_RUNNER_TOKEN")]
    pub token: String,
    /// Jobs run at once.
    #[arg(long, env = "PIPEWRIGHT_RUNNER_CONCURRENCY", default_value_t = 1)]
    pub concurrency: usize,
    /// Where job checkouts are made.
    #[arg(long, env = "PIPEWRIGHT_RUNNER_BUILDS_DIR", default_value = "./builds")]
    pub builds_dir: PathBuf,
    /// Seconds between job requests when idle.
    #[arg(long, default_value_t = 3)]
    pub poll_interval: u64,
    /// Name reported to the server.
    #[arg(long, default_value = "pipewright-runner")]
    pub name: String,
}
