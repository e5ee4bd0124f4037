//! `cargo run --release -p pipewright-bench [-- --quick]`: builds the server, seeds a database,
//! runs the scenarios of issue #6 and prints a table; the same numbers go to
//! `target/bench/results.json`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pipewright_bench::config::Sizes;
use pipewright_bench::server::{self, ChildLauncher};

#[derive(Debug, Parser)]
#[command(
    name = "pipewright-bench",
    about = "Load benchmark of a real pipewright server"
)]
struct Args {
    /// Small data and short runs (about a minute): a smoke run, not a measurement.
    #[arg(long)]
    quick: bool,
    /// The server binary; default: build `pipewright` in release mode and use it.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Where the JSON results go.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Parent directory of the temporary data directory (default: the system's temp dir).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the seeded data directory (its path is printed) for profiling or query plans.
    #[arg(long)]
    keep_data: bool,
    /// Diagnostic: hide the listed project's repository (no `git log` per job entity).
    #[arg(long)]
    without_list_repo: bool,
    /// Threads of the load generator (it shares the machine with the server).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("[pipewright-bench] a correctness check failed");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("[pipewright-bench] error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<bool> {
    let binary = match args.server_bin {
        Some(path) => path,
        None => server::build_server_binary()?,
    };
    let sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()?;
    let launcher = ChildLauncher { binary };
    let report = runtime.block_on(pipewright_bench::run(
        sizes,
        &launcher,
        &pipewright_bench::RunOptions {
            work_parent: args.work_dir,
            keep_data: args.keep_data,
            without_list_repo: args.without_list_repo,
        },
    ))?;
    println!("{}", report.table());
    let json = args
        .json
        .unwrap_or_else(|| server::workspace_root().join("target/bench/results.json"));
    report.write_json(&json)?;
    eprintln!("[pipewright-bench] results written to {}", json.display());
    Ok(report.all_checks_pass())
}
