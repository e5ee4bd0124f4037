//! The whole benchmark on tiny data, asserting correctness only (never timing): every read
//! answers 200, dispatch hands out each job exactly once, logs come back byte-identical.
//!
//! The server runs in this process through `pipewright::serve::start` (the release binary
//! may be missing or stale under `cargo test`); the benchmark itself uses a child process.

use clap::Parser;
use pipewright::cli::{Cli, Command};
use pipewright_bench::config::Sizes;
use pipewright_bench::server::{Launcher, RunningServer, ServerArgs};

struct InProcess;

impl Launcher for InProcess {
    fn start(
        &self,
        args: ServerArgs,
    ) -> pipewright_bench::server::BoxFuture<'_, anyhow::Result<RunningServer>> {
        Box::pin(async move {
            // Parsed like the command line, so new flags with defaults need no change here.
            let cli = Cli::try_parse_from([
                "pipewright".to_owned(),
                "serve".into(),
                "--data-dir".into(),
                args.data_dir.display().to_string(),
                "--listen".into(),
                args.addr.to_string(),
                "--builtin-runners".into(),
                "0".into(),
                "--initial-root-token".into(),
                args.root_token.clone(),
            ])?;
            let Command::Serve(serve_args) = cli.command else {
                anyhow::bail!("not a serve command");
            };
            let server = pipewright::serve::start(serve_args).await?;
            let addr = server.addr;
            Ok(RunningServer::new(
                addr,
                std::process::id(),
                false,
                move || {
                    Box::pin(async move {
                        server.shutdown.cancel();
                        server.handle.await??;
                        Ok(())
                    })
                },
            ))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_run_is_correct() -> anyhow::Result<()> {
    let report = pipewright_bench::run(Sizes::tiny(), &InProcess, &Default::default()).await?;
    println!("{}", report.table());
    for check in &report.checks {
        assert!(check.ok, "{}: {}", check.name, check.detail);
    }
    assert!(report.checks.len() >= 5, "{:?}", report.checks);
    for row in &report.rows {
        assert_eq!(row.errors, 0, "{}: {:?}", row.scenario, row.first_error);
        assert!(row.requests > 0, "{} sent nothing", row.scenario);
    }
    Ok(())
}
