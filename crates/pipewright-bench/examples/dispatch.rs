//! The dispatch race alone, for A/B comparisons of the hand-out path in a minute instead of
//! the full suite's several: seeds only the runner project (N pending jobs, R instance
//! runners), starts the given server binary, lets the runners race until nothing is left
//! and checks exactly-once.
//!
//! ```sh
//! cargo build --release -p pipewright-bench -p pipewright --examples
//! target/release/examples/dispatch --server-bin target/release/pipewright --jobs 10000 --runners 50
//! ```
//! Run two binaries back to back, alternating, on a shared machine.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use hyper::StatusCode;
use pipewright_bench::config::{Mode, Sizes};
use pipewright_bench::load::{Call, Conn};
use pipewright_bench::runner_load;
use pipewright_bench::server::{self, ChildLauncher, Launcher, ServerArgs};

#[derive(Debug, Parser)]
struct Args {
    /// The server binary (default: `target/release/pipewright`).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    #[arg(long, default_value_t = 50)]
    runners: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    limit: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = match args.server_bin {
        Some(path) => path,
        None => server::release_binary()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(race(binary, args.jobs, args.runners, args.limit))
}

async fn race(binary: PathBuf, jobs: usize, runners: usize, limit: u64) -> anyhow::Result<()> {
    let mut work = tempfile::Builder::new()
        .prefix("pipewright-dispatch-")
        .tempdir()?;
    let data_dir = work.path().join("data");
    let addr = server::free_addr()?;
    let sizes = Sizes {
        mode: Mode::Quick,
        pipelines: 1,
        dispatch_jobs: jobs,
        dispatch_runners: runners,
        trace_jobs: 0,
        big_log_bytes: 64 * 1024,
        small_log_bytes: 16 * 1024,
        ..Sizes::full()
    };
    let seeded = pipewright_bench::seed::seed(&data_dir, &format!("http://{addr}"), &sizes).await?;
    let server = ChildLauncher { binary }
        .start(ServerArgs {
            data_dir,
            addr,
            root_token: seeded.root_token.clone(),
        })
        .await?;
    let up = Instant::now();
    loop {
        let call = Call::get("/api/v4/version").header("private-token", &seeded.root_token);
        if let Ok(mut conn) = Conn::open(addr).await
            && let Ok(answer) = conn.send(&call).await
            && answer.status == StatusCode::OK
        {
            break;
        }
        if up.elapsed() > Duration::from_secs(60) {
            let log = std::fs::read_to_string(work.path().join("server.log")).unwrap_or_default();
            work.disable_cleanup(true);
            bail!(
                "the server did not start ({}):\n{log}",
                work.path().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let dispatch =
        runner_load::dispatch(addr, &seeded.runner_tokens, Duration::from_secs(limit)).await;
    server.stop().await.context("stopping the server")?;
    let dispatch = dispatch?;
    let (ok, detail) = runner_load::exactly_once(&seeded.dispatch_jobs, &dispatch.handed_out, true);
    println!(
        "{jobs} pending, {runners} runners: {:.0} jobs/s, p50 {:.2} ms, p99 {:.2} ms, \
         {} conflicts, {} errors{}; exactly once: {ok} ({detail})",
        dispatch.load.rps(),
        dispatch.load.p_ms(0.5),
        dispatch.load.p_ms(0.99),
        dispatch.conflicts,
        dispatch.load.errors,
        dispatch
            .load
            .first_error
            .as_deref()
            .map(|error| format!(" (first: {error})"))
            .unwrap_or_default(),
    );
    if !ok || dispatch.load.errors > 0 {
        bail!("dispatch was not exactly once");
    }
    Ok(())
}
