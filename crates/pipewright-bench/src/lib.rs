//! `pipewright-bench`: seeds a database through the store, starts a real server on it, drives
//! HTTP load from this (separate) process and reports throughput, latency and memory, each
//! also relative to the same server's `GET /api/v4/version` in the same run.

pub mod config;
pub mod load;
pub mod procfs;
pub mod report;
pub mod runner_load;
pub mod scenarios;
pub mod seed;
pub mod server;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::StatusCode;

use crate::config::Sizes;
use crate::load::{Call, Conn, Pace};
use crate::procfs::{Machine, RssSampler};
use crate::report::{Check, Figure, Report, Row, Target};
use crate::seed::Seeded;
use crate::server::{Launcher, RunningServer, ServerArgs};

/// Where a run keeps its data.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Parent of the temporary data directory (the system's temporary directory when `None`).
    pub work_parent: Option<PathBuf>,
    /// Keep the data directory afterwards (for `EXPLAIN QUERY PLAN`, profiling).
    pub keep_data: bool,
    /// Diagnostic: hide the listed project's git repository before the server starts, so
    /// job entities skip the commit lookup (a `git log` process per request). Shows what
    /// the read paths would do with that lookup cached.
    pub without_list_repo: bool,
}

/// Runs every scenario once on fresh data in a temporary directory.
pub async fn run(
    sizes: Sizes,
    launcher: &dyn Launcher,
    options: &RunOptions,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut machine = Machine::probe();
    let mut work = match &options.work_parent {
        Some(parent) => {
            std::fs::create_dir_all(parent)?;
            tempfile::Builder::new()
                .prefix("pipewright-bench-")
                .tempdir_in(parent)?
        }
        None => tempfile::Builder::new()
            .prefix("pipewright-bench-")
            .tempdir()?,
    };
    work.disable_cleanup(options.keep_data);
    let data_dir = work.path().join("data");
    let addr = server::free_addr()?;
    progress(&format!(
        "seeding {} jobs in {} pipelines into {}",
        sizes.total_jobs(),
        sizes.pipelines,
        data_dir.display()
    ));
    let seeded = seed::seed(&data_dir, &format!("http://{addr}"), &sizes).await?;
    progress(&format!("seeded in {:.1} s", seeded.seconds));
    let diagnostic = if options.without_list_repo {
        let repo = data_dir
            .join("repositories")
            .join(format!("{}.git", seeded.list_project));
        std::fs::rename(&repo, repo.with_extension("git.hidden"))
            .context("hiding the listed project's repository")?;
        Some("listed project's git repository hidden: job entities have no commit".to_owned())
    } else {
        None
    };

    let launched = Instant::now();
    let server = launcher
        .start(ServerArgs {
            data_dir: data_dir.clone(),
            addr,
            root_token: seeded.root_token.clone(),
        })
        .await?;
    let separate_server_process = server.separate_process;
    let mut handed_out = Vec::new();
    let outcome = measure(&sizes, &seeded, &server, launched, &mut handed_out).await;
    let stopped = server.stop().await;
    let (rows, mut figures, mut checks) = outcome?;
    stopped.context("stopping the server")?;
    checks.push(dispatch_matches_database(&data_dir, &seeded, &handed_out).await?);
    figures.insert(
        0,
        Figure::info("seeding (store, before start)", Some(seeded.seconds), "s"),
    );
    machine.load_after = procfs::load_average();
    Ok(Report {
        machine,
        separate_server_process,
        diagnostic,
        sizes,
        rows,
        figures,
        checks,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

fn progress(message: &str) {
    eprintln!("[pipewright-bench] {message}");
}

type Measured = (Vec<Row>, Vec<Figure>, Vec<Check>);

async fn measure(
    sizes: &Sizes,
    seeded: &Seeded,
    server: &RunningServer,
    launched: Instant,
    handed_out: &mut Vec<i64>,
) -> anyhow::Result<Measured> {
    let addr = server.addr;
    let token = seeded.root_token.as_str();
    let mut figures = Vec::new();
    let mut checks = Vec::new();
    let mut rows = Vec::new();

    let cold_start = first_ok(addr, token, launched).await?;
    figures.push(Figure::at_most(
        "cold start to first 200 (GET /version)",
        Some(cold_start),
        "ms",
        200.0,
    ));
    let first_page = Instant::now();
    let list = Call::get(format!(
        "/api/v4/projects/{}/jobs?per_page=20",
        seeded.list_project
    ))
    .header("private-token", token);
    let answer = Conn::open(addr).await?.send(&list).await?;
    if answer.status != StatusCode::OK {
        bail!("first jobs page: {}", answer.status);
    }
    figures.push(Figure::at_most(
        "cold start to first 200 of the jobs list",
        Some(cold_start + first_page.elapsed().as_secs_f64() * 1000.0),
        "ms",
        200.0,
    ));
    let memory = server.separate_process;
    // An in-process server (tests) shares its CPU time with the load generator.
    let cpu_pid = memory.then_some(server.pid);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = if memory {
        procfs::rss_mib(server.pid)
    } else {
        None
    };
    figures.push(Figure::at_most("idle RSS after start", idle, "MiB", 30.0));

    progress("read scenarios");
    let sampler = RssSampler::start(server.pid, Duration::from_millis(50));
    let baseline = scenarios::version(token, sizes.list_connections);
    let (version, _) = closed(addr, sizes, &baseline, cpu_pid).await?;
    rows.push(version.clone());
    let lists = scenarios::lists(seeded, sizes);
    let items = scenarios::items(seeded, sizes);
    for scenario in lists.iter().chain(items.iter()) {
        let (mut row, _) = closed(addr, sizes, scenario, cpu_pid).await?;
        row.relate_to(&version);
        progress(&format!(
            "{}: {:.0}/s p99 {:.2} ms",
            row.scenario, row.rps, row.p99_ms
        ));
        rows.push(row);
    }
    if sizes.fixed_rate_runs {
        for scenario in lists.iter().chain(items.iter()) {
            let Some(rate) = scenario.target.min_rps else {
                continue;
            };
            let max_rps = rows
                .iter()
                .find(|row| row.scenario == scenario.name && row.pace == "closed")
                .map_or(0.0, |row| row.rps);
            if max_rps < rate * 0.9 {
                rows.push(Row::unsustainable(
                    &scenario.name,
                    scenario.connections,
                    rate,
                    max_rps,
                ));
                continue;
            }
            let (mut row, _) = scenarios::run(
                addr,
                scenario,
                sizes.warmup,
                sizes.measure,
                Pace::Rate(rate),
            )
            .await?;
            row.relate_to(&version);
            progress(&format!(
                "{} at {rate}/s: p99 {:.2} ms",
                row.scenario, row.p99_ms
            ));
            rows.push(row);
        }
    }
    let peak = if memory { sampler.peak_mib() } else { None };
    drop(sampler);
    figures.push(Figure::at_most(
        "peak RSS under read load",
        peak,
        "MiB",
        150.0,
    ));
    let p50 = |name: &str| {
        rows.iter()
            .find(|row| row.scenario == name && row.pace == "closed")
            .map(|row| row.p50_ms)
    };
    figures.push(Figure::at_most(
        "keyset last page p50 / keyset page 1 p50",
        p50("jobs keyset last page")
            .zip(p50("jobs per_page=20 keyset page 1"))
            .map(|(last, first)| last / first.max(1e-6)),
        "x",
        1.2,
    ));
    let read_errors: u64 = rows.iter().map(|row| row.errors).sum();
    checks.push(Check {
        name: "every read answered 200".into(),
        ok: read_errors == 0,
        detail: format!(
            "{} requests, {read_errors} not 200",
            rows.iter().map(|row| row.requests).sum::<u64>()
        ),
    });

    progress("log tails");
    let mut tail_p50 = Vec::new();
    for (job, bytes) in [
        (seeded.small_log_job, sizes.small_log_bytes),
        (seeded.big_log_job, sizes.big_log_bytes),
    ] {
        let label = format!("{:.1} MB", bytes as f64 / 1e6);
        let tail = scenarios::log_tail(seeded, job, bytes, &label);
        let (row, result) = closed(addr, sizes, &tail, cpu_pid).await?;
        tail_p50.push(row.p50_ms);
        let expected = result.requests * 4096;
        checks.push(Check {
            name: format!("tail of the {label} log is 4096 bytes, 200"),
            ok: row.errors == 0 && result.bytes == expected,
            detail: format!("{} requests, {} bytes", result.requests, result.bytes),
        });
        rows.push(row);
    }
    figures.push(Figure::at_most(
        "log tail p50, big log / small log",
        match tail_p50.as_slice() {
            [small, big] => Some(big / small.max(1e-6)),
            _ => None,
        },
        "x",
        1.2,
    ));

    progress("dispatch");
    let dispatch = runner_load::dispatch(addr, &seeded.runner_tokens, sizes.dispatch_limit).await?;
    rows.push(Row::new(
        &format!("POST /jobs/request, {} pending", seeded.dispatch_jobs.len()),
        seeded.runner_tokens.len(),
        "closed",
        &dispatch.load,
        &Target {
            min_rps: Some(2_000.0),
            max_p99_ms: Some(5.0),
            ..Target::default()
        },
    ));
    // The tiny (test) run must hand out everything; a time-limited full run may leave some.
    let complete = sizes.mode == config::Mode::Tiny;
    let (ok, detail) =
        runner_load::exactly_once(&seeded.dispatch_jobs, &dispatch.handed_out, complete);
    handed_out.extend(dispatch.handed_out.iter().map(|(_, id)| *id));
    checks.push(Check {
        name: "dispatch hands out each pending job exactly once".into(),
        ok: ok && dispatch.load.errors == 0,
        detail: format!("{detail}; {} conflicts (409) retried", dispatch.conflicts),
    });

    progress("log appends");
    let appends = runner_load::append_traces(
        addr,
        &seeded.trace_jobs,
        sizes.trace_connections,
        sizes.trace_chunks,
        sizes.trace_chunk_bytes,
    )
    .await?;
    rows.push(Row::new(
        &format!(
            "PATCH /jobs/:id/trace {} B, {} jobs",
            sizes.trace_chunk_bytes,
            seeded.trace_jobs.len()
        ),
        sizes.trace_connections,
        "closed",
        &appends,
        &Target {
            min_rps: Some(20_000.0),
            ..Target::default()
        },
    ));
    let (ok, detail) = runner_load::verify_traces(
        addr,
        seeded.runner_project,
        token,
        &seeded.trace_jobs,
        sizes.trace_chunks,
        sizes.trace_chunk_bytes,
    )
    .await?;
    checks.push(Check {
        name: "logs are byte-identical to what was sent".into(),
        ok: ok && appends.errors == 0,
        detail,
    });
    if let Some(last) = rows.last_mut() {
        last.relate_to(&version);
    }
    Ok((rows, figures, checks))
}

async fn closed(
    addr: std::net::SocketAddr,
    sizes: &Sizes,
    scenario: &scenarios::ReadScenario,
    server_pid: Option<u32>,
) -> anyhow::Result<(Row, load::LoadResult)> {
    // The server's CPU time over the measured window, read beside the load.
    let (warmup, measure) = (sizes.warmup, sizes.measure);
    let cpu = tokio::spawn(async move {
        let server_pid = server_pid?;
        tokio::time::sleep(warmup).await;
        let before = procfs::cpu_micros(server_pid)?;
        tokio::time::sleep(measure).await;
        Some(procfs::cpu_micros(server_pid)?.saturating_sub(before))
    });
    let (mut row, result) = scenarios::run(
        addr,
        scenario,
        sizes.warmup,
        sizes.measure,
        Pace::ClosedLoop,
    )
    .await?;
    if let Ok(Some(micros)) = cpu.await
        && result.requests > 0
    {
        row.server_cpu_us = Some(micros as f64 / result.requests as f64);
    }
    Ok((row, result))
}

/// Milliseconds from `launched` to the first 200 of `GET /version`, polling every millisecond.
async fn first_ok(
    addr: std::net::SocketAddr,
    token: &str,
    launched: Instant,
) -> anyhow::Result<f64> {
    let call = Call::get("/api/v4/version").header("private-token", token);
    let deadline = launched + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(mut conn) = Conn::open(addr).await
            && let Ok(answer) = conn.send(&call).await
            && answer.status == StatusCode::OK
        {
            return Ok(launched.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    bail!("the server did not answer within 60 s")
}

/// After the server stopped: every job handed out is running on a runner, every other
/// seeded job is still pending (nothing was claimed without reaching a runner).
async fn dispatch_matches_database(
    data_dir: &Path,
    seeded: &Seeded,
    handed_out: &[i64],
) -> anyhow::Result<Check> {
    use pipewright_core::Status;
    let handed: std::collections::HashSet<i64> = handed_out.iter().copied().collect();
    let store = pipewright_store::Store::open_sqlite(&data_dir.join("pipewright.db")).await?;
    let mut wrong = Vec::new();
    for id in &seeded.dispatch_jobs {
        let ok = match store.job_by_id(*id).await? {
            Some(job) if handed.contains(id) => {
                job.status == Status::Running && job.runner_id.is_some()
            }
            Some(job) => job.status == Status::Pending && job.runner_id.is_none(),
            None => false,
        };
        if !ok {
            wrong.push(*id);
        }
    }
    store.close().await;
    Ok(Check {
        name: "database: handed-out jobs running, the others still pending".into(),
        ok: wrong.is_empty(),
        detail: format!(
            "{} jobs, {} handed out, {} in the wrong state{}",
            seeded.dispatch_jobs.len(),
            handed.len(),
            wrong.len(),
            if wrong.is_empty() {
                String::new()
            } else {
                format!(" (first: {:?})", &wrong[..wrong.len().min(5)])
            }
        ),
    })
}
