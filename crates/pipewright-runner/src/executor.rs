//! The shell executor's stages for one job: prepare the build directory, get sources,
//! download dependencies, run `script` then `after_script`, upload artifacts, clean up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pipewright_protocol::{JobResponse, Step, step};
use tokio::time::Instant;

use crate::job::JobContext;
use crate::outcome::{Outcome, interrupted};
use crate::shell::{self, StepEnd, Stops};
use crate::style::{ERROR as RED, RESET, SECTION as BOLD_CYAN, WARNING as YELLOW};
use crate::trace::{JobSignals, TraceLog};
use crate::{artifacts, cache, git, vars};

/// Go uses this when the server sends no positive job timeout.
const DEFAULT_JOB_TIMEOUT: Duration = Duration::from_secs(7200);
/// GitLab Runner's default `after_script` timeout.
const AFTER_SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// `runner_info.timeout`, or Go's default when the server sends none.
fn job_timeout(job: &JobResponse) -> Duration {
    u64::try_from(job.runner_info.timeout)
        .ok()
        .filter(|&t| t > 0)
        .map_or(DEFAULT_JOB_TIMEOUT, Duration::from_secs)
}

/// The working directories of one job.
struct Dirs {
    builds: PathBuf,
    project: PathBuf,
    /// Scripts, file variables and archives, outside the project so artifacts never include them.
    tmp: PathBuf,
}

impl Dirs {
    fn new(builds_dir: &Path, job_id: i64) -> Self {
        Self {
            builds: builds_dir.to_path_buf(),
            project: builds_dir.join(job_id.to_string()),
            tmp: builds_dir.join(format!("{job_id}.tmp")),
        }
    }

    fn prepare(&self) -> std::io::Result<()> {
        self.cleanup()?;
        std::fs::create_dir_all(&self.tmp)
    }

    fn cleanup(&self) -> std::io::Result<()> {
        for dir in [&self.project, &self.tmp] {
            match std::fs::remove_dir_all(dir) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Runs every stage of `job` in a fresh build directory and removes it afterwards.
pub(crate) async fn execute(
    ctx: &JobContext,
    job: &JobResponse,
    log: &TraceLog,
    signals: &JobSignals,
) -> Outcome {
    let timeout = job_timeout(job);
    let deadline = Instant::now() + timeout;
    log.line(&format!(
        "Running with pipewright-runner {}\n  on {} {}",
        env!("CARGO_PKG_VERSION"),
        ctx.name,
        ctx.system_id
    ));
    log.line(&format!(
        "{BOLD_CYAN}Preparing the \"shell\" executor{RESET}"
    ));
    log.line("Using Shell (bash) executor...");
    warn_unsupported(job, log);

    let dirs = Dirs::new(&ctx.builds_dir, job.id);
    if let Err(err) = dirs.prepare() {
        return Outcome::failed(
            "runner_system_failure",
            format!("preparing the build directory: {err}"),
        );
    }
    let outcome = execute_in(ctx, job, log, signals, &dirs, timeout, deadline).await;

    log.line(&format!(
        "{BOLD_CYAN}Cleaning up project directory and file based variables{RESET}"
    ));
    if let Err(err) = dirs.cleanup() {
        log.line(&format!(
            "{YELLOW}WARNING: cleaning up failed: {err}{RESET}"
        ));
    }
    outcome
}

async fn execute_in(
    ctx: &JobContext,
    job: &JobResponse,
    log: &TraceLog,
    signals: &JobSignals,
    dirs: &Dirs,
    timeout: Duration,
    deadline: Instant,
) -> Outcome {
    let runner_vars = [
        ("CI_SERVER", "yes".to_owned()),
        ("CI_BUILDS_DIR", dirs.builds.to_string_lossy().into_owned()),
        (
            "CI_PROJECT_DIR",
            dirs.project.to_string_lossy().into_owned(),
        ),
        ("CI_JOB_TIMEOUT", timeout.as_secs().to_string()),
        ("CI_JOB_STATUS", "running".to_owned()),
        ("CI_RUNNER_VERSION", env!("CARGO_PKG_VERSION").to_owned()),
        ("CI_RUNNER_EXECUTABLE_ARCH", crate::platform()),
    ];
    let env = match vars::build(&job.variables, &runner_vars, &dirs.tmp) {
        Ok(env) => env,
        Err(err) => {
            return Outcome::failed(
                "runner_system_failure",
                format!("writing file variables: {err}"),
            );
        }
    };

    // Sources.
    log.line(&format!(
        "{BOLD_CYAN}Getting source from Git repository{RESET}"
    ));
    let main_stops = Stops {
        deadline,
        graceful: Some(&signals.graceful),
        hard: &signals.hard,
    };
    let outcome = match get_sources(job, log, &env, dirs, timeout, main_stops).await {
        Err(outcome) => outcome,
        Ok(()) => {
            let store = cache::project_dir(&dirs.builds, job);
            cache::restore(job, log, &env, &store, &dirs.project).await;
            let download =
                artifacts::download_dependencies(&ctx.client, job, log, &dirs.project, &dirs.tmp);
            match interruptible(download, signals, Some((deadline, timeout))).await {
                Err(outcome) => outcome,
                Ok(()) => match job.step(step::SCRIPT) {
                    Some(step) => {
                        script_step(step, log, signals, &env, dirs, timeout, deadline).await
                    }
                    None => Outcome::Success,
                },
            }
        }
    };
    let canceled = signals.graceful.is_cancelled() && outcome != Outcome::Success;

    // after_script: whatever happened, unless everything is being killed.
    if let Some(step) = job.step(step::AFTER_SCRIPT)
        && !signals.hard.is_cancelled()
        && dirs.project.is_dir()
        && !step.script.is_empty()
    {
        log.line(&format!("{BOLD_CYAN}Running after_script{RESET}"));
        log.line("Running after script...");
        let mut env = env.clone();
        env.set("CI_JOB_STATUS", outcome.status_word(canceled));
        let limit = u64::try_from(step.timeout)
            .ok()
            .filter(|&t| t > 0)
            .map_or(AFTER_SCRIPT_TIMEOUT, Duration::from_secs)
            .min(AFTER_SCRIPT_TIMEOUT);
        let stops = Stops {
            deadline: Instant::now() + limit,
            graceful: None,
            hard: &signals.hard,
        };
        match run_lines(&step.script, "after_script", log, env.as_slice(), dirs, stops).await {
            Ok(StepEnd::Exited(0)) | Ok(StepEnd::Killed) => {}
            Ok(StepEnd::Exited(code)) => log.line(&format!(
                "{YELLOW}WARNING: after_script failed, but job will continue unaffected: exit code {code}{RESET}"
            )),
            Ok(StepEnd::TimedOut) => log.line(&format!(
                "{YELLOW}WARNING: after_script timed out after {}, but job will continue unaffected{RESET}",
                human(limit)
            )),
            Ok(StepEnd::Canceled) => {}
            Err(err) => log.line(&format!("{YELLOW}WARNING: after_script: {err}{RESET}")),
        }
    }

    // Artifacts, unless the job is being cancelled or killed.
    if canceled || signals.hard.is_cancelled() {
        return outcome;
    }
    let succeeded = outcome == Outcome::Success;
    let store = cache::project_dir(&dirs.builds, job);
    cache::save(job, log, &env, &store, &dirs.project, succeeded).await;
    let upload = artifacts::upload(
        &ctx.client,
        job,
        log,
        &env,
        &dirs.project,
        &dirs.tmp,
        succeeded,
    );
    match interruptible(upload, signals, None).await {
        Ok(()) => outcome,
        Err(failure) if succeeded => failure,
        Err(Outcome::Failed { message, .. }) => {
            log.line(&format!("{RED}ERROR: {message}{RESET}"));
            outcome
        }
        Err(Outcome::Success) => outcome,
    }
}

/// Runs a runner-side transfer, stopped like a script would be. Its error becomes a
/// `runner_system_failure`. `within` is the job deadline and timeout, for the steps that
/// count against it and can be cancelled gracefully (downloads before the script).
async fn interruptible(
    work: impl Future<Output = Result<(), String>>,
    signals: &JobSignals,
    within: Option<(Instant, Duration)>,
) -> Result<(), Outcome> {
    let (until, limit) = within.unwrap_or_else(|| (Instant::now(), Duration::ZERO));
    tokio::select! {
        result = work => result.map_err(|e| Outcome::failed("runner_system_failure", e)),
        () = signals.hard.cancelled() => Err(interrupted()),
        () = signals.graceful.cancelled(), if within.is_some() => {
            Err(Outcome::failed("unknown_failure", "canceled"))
        }
        () = tokio::time::sleep_until(until), if within.is_some() => Err(Outcome::failed(
            "job_execution_timeout",
            format!("execution took longer than {}", human(limit)),
        )),
    }
}

/// Runs the `script` step (before_script + script lines) in one bash.
async fn script_step(
    step: &Step,
    log: &TraceLog,
    signals: &JobSignals,
    env: &vars::Vars,
    dirs: &Dirs,
    job_timeout: Duration,
    job_deadline: Instant,
) -> Outcome {
    log.line(&format!(
        "{BOLD_CYAN}Executing \"step_script\" stage of the job script{RESET}"
    ));
    let deadline = step_deadline(step.timeout, job_deadline);
    let stops = Stops {
        deadline,
        graceful: Some(&signals.graceful),
        hard: &signals.hard,
    };
    match run_lines(
        &step.script,
        "step_script",
        log,
        env.as_slice(),
        dirs,
        stops,
    )
    .await
    {
        Ok(StepEnd::Exited(0)) => Outcome::Success,
        Ok(end) => stopped(end, deadline, job_deadline, job_timeout, step.timeout),
        Err(err) => Outcome::failed("runner_system_failure", format!("starting bash: {err}")),
    }
}

/// Fetches the repository (unless `GIT_STRATEGY=none`). `Err` carries the job's outcome.
async fn get_sources(
    job: &JobResponse,
    log: &TraceLog,
    env: &vars::Vars,
    dirs: &Dirs,
    timeout: Duration,
    stops: Stops<'_>,
) -> Result<(), Outcome> {
    if env.get("GIT_STRATEGY") == Some("none") {
        log.line("Skipping Git repository setup");
        return std::fs::create_dir_all(&dirs.project).map_err(|err| {
            Outcome::failed(
                "runner_system_failure",
                format!("creating the project directory: {err}"),
            )
        });
    }
    let body = git::fetch_script(&job.git_info, &dirs.project, &job.hooks);
    let mut env = env.clone();
    env.set(git::REPO_URL_ENV, job.git_info.repo_url.clone());
    env.set("GIT_TERMINAL_PROMPT", "0");
    let path = dirs.tmp.join("get_sources.sh");
    let end = match std::fs::write(&path, shell::runner_script(&body)) {
        Ok(()) => shell::run(&path, &dirs.builds, env.as_slice(), log, stops).await,
        Err(err) => Err(err),
    };
    match end {
        Ok(StepEnd::Exited(0)) => Ok(()),
        Ok(StepEnd::Exited(code)) => Err(Outcome::failed(
            "runner_system_failure",
            format!("getting sources failed: exit code {code}"),
        )),
        Ok(StepEnd::TimedOut) => Err(Outcome::failed(
            "job_execution_timeout",
            format!("execution took longer than {}", human(timeout)),
        )),
        Ok(StepEnd::Canceled) => Err(Outcome::failed("unknown_failure", "canceled")),
        Ok(StepEnd::Killed) => Err(interrupted()),
        Err(err) => Err(Outcome::failed(
            "runner_system_failure",
            format!("running the get-sources script: {err}"),
        )),
    }
}

/// Writes `lines` as an echoing script named `name` and runs it in the project directory.
async fn run_lines(
    lines: &[String],
    name: &str,
    log: &TraceLog,
    env: &[(String, String)],
    dirs: &Dirs,
    stops: Stops<'_>,
) -> std::io::Result<StepEnd> {
    let path = dirs.tmp.join(format!("{name}.sh"));
    std::fs::write(&path, shell::user_script(lines))?;
    shell::run(&path, &dirs.project, env, log, stops).await
}

/// The script step's deadline: its own timeout, within the job's.
fn step_deadline(step_timeout: i64, job_deadline: Instant) -> Instant {
    u64::try_from(step_timeout)
        .ok()
        .filter(|&t| t > 0)
        .map_or(job_deadline, |t| {
            (Instant::now() + Duration::from_secs(t)).min(job_deadline)
        })
}

/// Outcome of a script stopped before it exited.
fn stopped(
    end: StepEnd,
    step_deadline: Instant,
    job_deadline: Instant,
    job_timeout: Duration,
    step_timeout: i64,
) -> Outcome {
    match end {
        StepEnd::TimedOut => {
            let limit = if step_deadline < job_deadline {
                Duration::from_secs(u64::try_from(step_timeout).unwrap_or(0))
            } else {
                job_timeout
            };
            Outcome::failed(
                "job_execution_timeout",
                format!("execution took longer than {}", human(limit)),
            )
        }
        StepEnd::Canceled => Outcome::failed("unknown_failure", "canceled"),
        StepEnd::Killed => interrupted(),
        StepEnd::Exited(code) => Outcome::Failed {
            reason: "script_failure",
            exit_code: Some(code),
            message: format!("exit code {code}"),
        },
    }
}

/// `1h0m0s`, `5m0s`, `3s`: Go's duration spelling, as in GitLab's messages.
fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// The shell executor has no containers: say so in the log rather than silently ignoring them.
fn warn_unsupported(job: &JobResponse, log: &TraceLog) {
    if let Some(image) = &job.image {
        log.line(&format!(
            "{YELLOW}WARNING: the shell executor ignores image {:?}{RESET}",
            image.name
        ));
    }
    if !job.services.is_empty() {
        log.line(&format!(
            "{YELLOW}WARNING: the shell executor ignores services{RESET}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(3)), "3s");
        assert_eq!(human(Duration::from_secs(300)), "5m0s");
        assert_eq!(human(Duration::from_secs(3661)), "1h1m1s");
    }
}
