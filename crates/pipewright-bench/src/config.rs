//! Data sizes and durations of a run. `full` is the scenario set; `quick` is a smoke
//! run of the same scenarios on small data; `tiny` is what the test suite runs.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Full,
    Quick,
    Tiny,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Sizes {
    pub mode: Mode,
    /// Pipelines of the listed project, each with `jobs_per_pipeline` builds.
    pub pipelines: usize,
    pub jobs_per_pipeline: usize,
    /// Pending jobs handed out in the dispatch scenario, and the runners racing for them.
    pub dispatch_jobs: usize,
    pub dispatch_runners: usize,
    /// The dispatch race stops after this long even if jobs are left (a slow server must not
    /// push the suite past its time budget); the checks then cover the jobs handed out.
    #[serde(skip)]
    pub dispatch_limit: Duration,
    /// Running jobs receiving log chunks, chunks per job and chunk size.
    pub trace_jobs: usize,
    pub trace_chunks: usize,
    pub trace_chunk_bytes: usize,
    /// The two logs whose tails are compared.
    pub big_log_bytes: usize,
    pub small_log_bytes: usize,
    /// Connections of the list scenarios (the 64).
    pub list_connections: usize,
    /// Connections of the per-pipeline and single-job scenarios.
    pub item_connections: usize,
    /// Connections pushing log chunks.
    pub trace_connections: usize,
    #[serde(skip)]
    pub warmup: Duration,
    #[serde(skip)]
    pub measure: Duration,
    /// Rate-limited runs check latency at the target rate (wrk2-style).
    pub fixed_rate_runs: bool,
}

impl Sizes {
    pub fn full() -> Sizes {
        Sizes {
            mode: Mode::Full,
            pipelines: 50_000,
            jobs_per_pipeline: 20,
            dispatch_jobs: 10_000,
            dispatch_runners: 50,
            dispatch_limit: Duration::from_secs(60),
            trace_jobs: 200,
            trace_chunks: 100,
            trace_chunk_bytes: 4096,
            big_log_bytes: 100 * 1024 * 1024,
            small_log_bytes: 1024 * 1024,
            list_connections: 64,
            item_connections: 64,
            trace_connections: 50,
            warmup: Duration::from_secs(1),
            measure: Duration::from_secs(5),
            fixed_rate_runs: true,
        }
    }

    pub fn quick() -> Sizes {
        Sizes {
            mode: Mode::Quick,
            pipelines: 1_000,
            dispatch_jobs: 1_000,
            trace_chunks: 25,
            big_log_bytes: 10 * 1024 * 1024,
            small_log_bytes: 100 * 1024,
            warmup: Duration::from_millis(300),
            measure: Duration::from_secs(1),
            fixed_rate_runs: false,
            ..Sizes::full()
        }
    }

    /// Correctness only: a few hundred requests per scenario.
    pub fn tiny() -> Sizes {
        Sizes {
            mode: Mode::Tiny,
            pipelines: 100,
            jobs_per_pipeline: 20,
            dispatch_jobs: 200,
            dispatch_runners: 8,
            dispatch_limit: Duration::from_secs(120),
            trace_jobs: 10,
            trace_chunks: 10,
            trace_chunk_bytes: 4096,
            big_log_bytes: 256 * 1024,
            small_log_bytes: 16 * 1024,
            list_connections: 4,
            item_connections: 4,
            trace_connections: 5,
            warmup: Duration::from_millis(50),
            measure: Duration::from_millis(300),
            fixed_rate_runs: false,
        }
    }

    pub fn total_jobs(&self) -> usize {
        self.pipelines * self.jobs_per_pipeline
    }
}
