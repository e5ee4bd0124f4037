//! The `pipewright` binary: `serve` (API + git + built-in runner) and `runner`.

use clap::Parser;
use pipewright::{cli, runner_cmd, serve};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    // Logs go to stderr (stdout carries only what a command prints on purpose).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PIPEWRIGHT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match cli.command {
        cli::Command::Serve(args) => serve::run(args).await,
        cli::Command::Runner(args) => runner_cmd::main(*args).await,
    }
}
