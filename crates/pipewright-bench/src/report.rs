//! The results: one row per scenario, each also as a ratio to `GET /version` measured in the
//! same run, printed as a table and written as JSON.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::config::{Mode, Sizes};
use crate::load::LoadResult;
use crate::procfs::Machine;

/// The goal for a scenario; any bound left `None` is not checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Target {
    pub min_rps: Option<f64>,
    pub max_p50_ms: Option<f64>,
    pub max_p99_ms: Option<f64>,
}

impl Target {
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(rps) = self.min_rps {
            parts.push(format!(">={rps:.0}/s"));
        }
        if let Some(ms) = self.max_p50_ms {
            parts.push(format!("p50<={ms}ms"));
        }
        if let Some(ms) = self.max_p99_ms {
            parts.push(format!("p99<={ms}ms"));
        }
        parts.join(" ")
    }

    fn met(&self, rps: f64, p50: f64, p99: f64) -> bool {
        self.min_rps.is_none_or(|min| rps >= min)
            && self.max_p50_ms.is_none_or(|max| p50 <= max)
            && self.max_p99_ms.is_none_or(|max| p99 <= max)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub connections: usize,
    /// `closed` (as fast as answers come) or the fixed request rate.
    pub pace: String,
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub rps_vs_version: Option<f64>,
    pub p50_vs_version: Option<f64>,
    pub p99_vs_version: Option<f64>,
    /// Server CPU time (all threads) per answered request in the measured window, in µs:
    /// less sensitive than req/s to other processes on a shared machine.
    pub server_cpu_us: Option<f64>,
    pub target: String,
    /// `pass`/`FAIL` against the target in full mode; `-` otherwise.
    pub verdict: String,
    pub first_error: Option<String>,
}

impl Row {
    pub fn new(
        scenario: &str,
        connections: usize,
        pace: &str,
        result: &LoadResult,
        target: &Target,
    ) -> Row {
        let (rps, p50, p99) = (result.rps(), result.p_ms(0.5), result.p_ms(0.99));
        Row {
            scenario: scenario.to_owned(),
            connections,
            pace: pace.to_owned(),
            requests: result.requests,
            errors: result.errors,
            rps,
            p50_ms: p50,
            p99_ms: p99,
            max_ms: result.histogram.max() as f64 / 1000.0,
            rps_vs_version: None,
            p50_vs_version: None,
            p99_vs_version: None,
            target: target.text(),
            verdict: if target.text().is_empty() {
                "-".into()
            } else if result.requests > 0 && target.met(rps, p50, p99) && result.errors == 0 {
                "pass".into()
            } else {
                "FAIL".into()
            },
            first_error: result.first_error.clone(),
            server_cpu_us: None,
        }
    }

    /// A fixed-rate run left out because the closed-loop run showed the server cannot
    /// sustain the rate: every latency would be queueing time.
    pub fn unsustainable(scenario: &str, connections: usize, rate: f64, max_rps: f64) -> Row {
        Row {
            scenario: scenario.to_owned(),
            connections,
            pace: format!("{rate:.0}/s"),
            requests: 0,
            errors: 0,
            rps: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            rps_vs_version: None,
            p50_vs_version: None,
            p99_vs_version: None,
            target: format!("{rate:.0}/s sustained"),
            verdict: format!("FAIL (max {max_rps:.0}/s)"),
            first_error: None,
            server_cpu_us: None,
        }
    }

    /// Ratios to the trivial endpoint's closed-loop figures of the same run.
    pub fn relate_to(&mut self, version: &Row) {
        self.rps_vs_version = ratio(self.rps, version.rps);
        self.p50_vs_version = ratio(self.p50_ms, version.p50_ms);
        self.p99_vs_version = ratio(self.p99_ms, version.p99_ms);
    }
}

fn ratio(value: f64, base: f64) -> Option<f64> {
    (base > 0.0).then(|| value / base)
}

/// A figure that is not a load run: a ratio between two runs, a time, a memory size.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: Option<f64>,
    pub unit: String,
    pub target: String,
    pub verdict: String,
}

impl Figure {
    pub fn at_most(name: &str, value: Option<f64>, unit: &str, max: f64) -> Figure {
        Figure {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            target: format!("<= {max} {unit}"),
            verdict: match value {
                Some(value) if value <= max => "pass".into(),
                Some(_) => "FAIL".into(),
                None => "-".into(),
            },
        }
    }

    pub fn info(name: &str, value: Option<f64>, unit: &str) -> Figure {
        Figure {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            target: String::new(),
            verdict: "-".into(),
        }
    }
}

/// A correctness check (these are what the test asserts).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub sizes: Sizes,
    pub separate_server_process: bool,
    /// Set when the run changed the setup to find a bottleneck; not a product figure then.
    pub diagnostic: Option<String>,
    pub rows: Vec<Row>,
    pub figures: Vec<Figure>,
    pub checks: Vec<Check>,
    pub total_seconds: f64,
}

impl Report {
    pub fn all_checks_pass(&self) -> bool {
        self.checks.iter().all(|check| check.ok)
    }

    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let machine = &self.machine;
        let _ = writeln!(
            out,
            "machine: {} CPUs ({}), {:.1} GiB, kernel {}, load {} -> {}",
            machine.cpus,
            machine.cpu_model.as_deref().unwrap_or("?"),
            machine.memory_mib.unwrap_or(0.0) / 1024.0,
            machine.kernel.as_deref().unwrap_or("?"),
            fmt_opt(machine.load_before, 2),
            fmt_opt(machine.load_after, 2),
        );
        let _ = writeln!(
            out,
            "data: {} jobs in {} pipelines; mode {:?}{}",
            self.sizes.total_jobs(),
            self.sizes.pipelines,
            self.sizes.mode,
            if self.sizes.mode == Mode::Full {
                ""
            } else {
                " (verdicts are for the full mode)"
            }
        );
        if let Some(diagnostic) = &self.diagnostic {
            let _ = writeln!(out, "DIAGNOSTIC RUN: {diagnostic}");
        }
        let _ = writeln!(
            out,
            "\n{:<44} {:>5} {:>7} {:>9} {:>8} {:>8} {:>8} {:>6} {:>6} {:>7} {:>4}  {:<24} verdict",
            "scenario",
            "conns",
            "pace",
            "req/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "x rps",
            "x p50",
            "cpu us",
            "err",
            "target"
        );
        for row in &self.rows {
            let _ = writeln!(
                out,
                "{:<44} {:>5} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>8.1} {:>6} {:>6} {:>7} {:>4}  {:<24} {}",
                row.scenario,
                row.connections,
                row.pace,
                row.rps,
                row.p50_ms,
                row.p99_ms,
                row.max_ms,
                fmt_opt(row.rps_vs_version, 2),
                fmt_opt(row.p50_vs_version, 1),
                fmt_opt(row.server_cpu_us, 0),
                row.errors,
                row.target,
                row.verdict
            );
        }
        let _ = writeln!(
            out,
            "\n{:<58} {:>10}  {:<16} verdict",
            "figure", "value", "target"
        );
        for figure in &self.figures {
            let _ = writeln!(
                out,
                "{:<58} {:>10}  {:<16} {}",
                figure.name,
                format!("{} {}", fmt_opt(figure.value, 2), figure.unit),
                figure.target,
                figure.verdict
            );
        }
        let _ = writeln!(out, "\ncorrectness:");
        for check in &self.checks {
            let _ = writeln!(
                out,
                "  [{}] {}: {}",
                if check.ok { "ok" } else { "FAILED" },
                check.name,
                check.detail
            );
        }
        for row in self.rows.iter().filter(|row| row.first_error.is_some()) {
            let _ = writeln!(
                out,
                "  first error of {}: {}",
                row.scenario,
                row.first_error.as_deref().unwrap_or_default()
            );
        }
        let _ = writeln!(out, "\ntotal {:.0} s", self.total_seconds);
        out
    }
}

fn fmt_opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".into(), |value| format!("{value:.decimals$}"))
}
