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
    Runner(Box<RunnerArgs>),
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

/// `pipewright runner [run] [flags]` runs jobs; `pipewright runner register` creates one.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunnerArgs {
    #[command(subcommand)]
    pub action: Option<RunnerAction>,
    /// Without a subcommand: the flags of `run`.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RunnerAction {
    /// Create a runner on the server and write its configuration file.
    Register(RegisterArgs),
    /// Run jobs (the default). Flags override the configuration file.
    Run(RunArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Configuration file written by `runner register`; default `./pipewright-runner.toml`
    /// when it exists and `--url`/`--token` are not both given.
    #[arg(long, env = "PIPEWRIGHT_RUNNER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Server web root, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "PIPEWRIGHT_RUNNER_URL")]
    pub url: Option<String>,
    /// Runner authentication token (`glrt-...`, from `POST /user/runners`).
    #[arg(long, env = "PIPEWRIGHT_RUNNER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Jobs run at once (default 1).
    #[arg(long, env = "PIPEWRIGHT_RUNNER_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// Where job checkouts and caches are made (default ./builds).
    #[arg(long, env = "PIPEWRIGHT_RUNNER_BUILDS_DIR")]
    pub builds_dir: Option<PathBuf>,
    /// Seconds between job requests when idle (default 3).
    #[arg(long)]
    pub poll_interval: Option<u64>,
    /// Name reported to the server (default pipewright-runner).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    /// Server web root, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "PIPEWRIGHT_RUNNER_URL")]
    pub url: String,
    /// Personal access token of a user allowed to create the runner (`POST /user/runners`),
    /// or the `glrt-` token of an existing runner (only verified, then written).
    #[arg(
        long,
        env = "PIPEWRIGHT_REGISTER_TOKEN",
        hide_env_values = true,
        required_unless_present = "registration_token",
        conflicts_with = "registration_token"
    )]
    pub token: Option<String>,
    /// Legacy registration token instead (`POST /runners`).
    #[arg(long, env = "PIPEWRIGHT_REGISTRATION_TOKEN", hide_env_values = true)]
    pub registration_token: Option<String>,
    /// `instance_type`, `group_type` or `project_type` (with `--token`).
    #[arg(long, default_value = "instance_type", value_parser = ["instance_type", "group_type", "project_type"])]
    pub runner_type: String,
    /// Group of a `group_type` runner.
    #[arg(long)]
    pub group_id: Option<i64>,
    /// Project of a `project_type` runner.
    #[arg(long)]
    pub project_id: Option<i64>,
    /// Description shown in the runner lists; also the runner's name in job logs.
    #[arg(long)]
    pub description: Option<String>,
    /// Comma-separated tags.
    #[arg(long, value_delimiter = ',')]
    pub tag_list: Vec<String>,
    /// Also take jobs without tags (server default: yes; with `--registration-token`: only
    /// when no tags are given).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub run_untagged: Option<bool>,
    /// Lock a project runner to its projects.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub locked: Option<bool>,
    /// `not_protected` or `ref_protected`.
    #[arg(long, value_parser = ["not_protected", "ref_protected"])]
    pub access_level: Option<String>,
    /// Longest job timeout in seconds (at least 600).
    #[arg(long)]
    pub maximum_timeout: Option<i64>,
    /// Create the runner paused.
    #[arg(long)]
    pub paused: bool,
    /// Configuration file to write (mode 0600).
    #[arg(long, default_value = "./pipewright-runner.toml")]
    pub config: PathBuf,
    /// Replace an existing configuration file.
    #[arg(long)]
    pub force: bool,
    /// Jobs run at once, written to the configuration.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Builds directory written to the configuration.
    #[arg(long, default_value = "./builds")]
    pub builds_dir: PathBuf,
}
