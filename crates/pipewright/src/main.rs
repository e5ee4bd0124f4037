//! The `pipewright` binary: `serve` (API + git + built-in runner) and `runner`.

use clap::Parser;
use pipewright::{cli, serve};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PIPEWRIGHT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match cli.command {
        cli::Command::Serve(args) => serve::run(args).await,
        cli::Command::Runner(args) => run_runner(args).await,
    }
}

async fn run_runner(args: cli::RunnerArgs) -> anyhow::Result<()> {
    let shutdown = tokio_util::sync::CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        serve::shutdown_signal().await;
        signal.cancel();
    });
    let id = pipewright_runner::verify(&args.url, &args.token).await?;
    tracing::info!(runner_id = id, url = %args.url, "runner verified");
    pipewright_runner::run(
        pipewright_runner::RunnerConfig {
            url: args.url,
            token: args.token,
            concurrency: args.concurrency.max(1),
            builds_dir: args.builds_dir,
            system_id: serve::system_id(),
            poll_interval: std::time::Duration::from_secs(args.poll_interval.max(1)),
            name: args.name,
        },
        shutdown,
    )
    .await
}
