//! Handing a pending job to a runner (runner-protocol.md §5.2, §5.10, §6): choose among the
//! pending builds the runner may take, claim one atomically, answer its payload.
//!
//! Once the claim is committed the job belongs to the runner, and a 5xx would lose it (the
//! runner never learns of it, the job stays `running` until a watchdog fails it an hour
//! later; §14 forbids it). So nothing after the claim is answered with an error: a job whose
//! payload cannot be built is dropped with `scheduler_failure` (GitLab's
//! `Ci::RegisterJobService#scheduler_failure!`, auto-retried twice by default), its token
//! dies with it, and the runner is offered the next candidate.

use pipewright_domain::{FailureReason, Status};
use pipewright_protocol::{JobRequest, JobResponse};
use pipewright_store::model::{Job, Runner};
use pipewright_store::{DispatchCandidate, JobClaim, RunnerManager};

use crate::App;
use crate::error::{Error, Result};
use crate::runners::{JobRequestOutcome, runner_can_pick, runner_may_take};
use crate::tokens::{JOB_TOKEN_PREFIX, generate, hash_token};

/// Pending jobs the first page of the scan reads: the queue head runners spread over.
const FIRST_PAGE: i64 = 64;
/// Pending jobs each further page reads, for runners that could take none of the head.
const NEXT_PAGES: i64 = 256;

/// Runners start their claims at different places among the first this-many eligible jobs,
/// so that concurrent runners rarely race for the same job (order stays oldest-first within
/// that window).
const SPREAD: usize = 64;

/// The scan and the claim loop of `POST /jobs/request`, after the runner was authenticated
/// and found neither paused nor up to date (`version` is the queue version read before).
pub(crate) async fn next_job(
    app: &App,
    runner: &Runner,
    manager: Option<&RunnerManager>,
    request: &JobRequest,
    version: String,
) -> Result<JobRequestOutcome> {
    let eligible = eligible_jobs(app, runner, &version).await?;
    // The oldest job first; a runner that loses it moves on from its own place in the queue
    // head, so that a crowd of runners fans out instead of racing down the same list.
    let start = spread_start(runner.id, eligible.len()).max(1);
    let order = eligible
        .iter()
        .take(1)
        .chain(eligible.get(start..).unwrap_or_default())
        .chain(eligible.get(1..start).unwrap_or_default());
    let graceful = request
        .info
        .as_ref()
        .and_then(|info| info.features.cancel_gracefully)
        .unwrap_or(false);
    let mut lost_race = false;
    for candidate in order {
        match hand_out(app, runner, manager, graceful, candidate).await? {
            HandOut::Given(response) => return Ok(JobRequestOutcome::Job(response)),
            HandOut::Lost => lost_race = true,
            HandOut::Passed => {}
        }
    }
    if lost_race {
        return Ok(JobRequestOutcome::Conflict);
    }
    Ok(JobRequestOutcome::NoJob {
        last_update: version,
    })
}

/// Pending builds this runner may take, oldest first. Only what choosing and claiming
/// needs: the scan runs on the read pool and leaves the writer to the claims. The first page
/// is the queue head the runners fan out over; the scan pages on until this runner may take
/// something, so a queue head of jobs for other runners (other tags, other projects) never
/// starves it. A runner configuration that just found nothing, at a version that has not
/// moved since, is answered without a scan: an idle runner polling a long queue of jobs for
/// others would otherwise read all of it on every request.
async fn eligible_jobs(
    app: &App,
    runner: &Runner,
    version: &str,
) -> Result<Vec<DispatchCandidate>> {
    let runner_key = runner_key(runner);
    if app.queue.known_idle(&runner_key) {
        return Ok(Vec::new());
    }
    let mut eligible = Vec::new();
    let mut after_id = 0;
    let mut limit = FIRST_PAGE;
    loop {
        let page = app
            .store
            .pending_dispatch_candidates(after_id, limit)
            .await?;
        let exhausted = page.len() < usize::try_from(limit).unwrap_or(usize::MAX);
        after_id = page.last().map_or(after_id, |candidate| candidate.id);
        eligible.extend(page.into_iter().filter(|candidate| {
            runner_may_take(runner, candidate.project_id, &candidate.tag_list, true)
        }));
        if !eligible.is_empty() {
            return Ok(eligible);
        }
        if exhausted {
            app.queue.record_idle(&runner_key, version);
            return Ok(eligible);
        }
        limit = NEXT_PAGES;
    }
}

/// What decides which pending jobs a runner may take in the scan (runners with the same
/// configuration share their "nothing for me" memo).
fn runner_key(runner: &Runner) -> String {
    format!(
        "{}|{:?}|{:?}|{}|{}",
        runner.runner_type,
        runner.project_id,
        runner.group_id,
        runner.run_untagged,
        runner.tag_list.join(",")
    )
}

/// What became of one candidate.
enum HandOut {
    Given(Box<JobResponse>),
    /// Another runner (or a user action) took it first.
    Lost,
    /// Not for this runner, failed before the claim, or dropped after it.
    Passed,
}

/// Checks, claims and delivers one candidate. Errors before the claim are the caller's
/// (nothing was committed); after it, none leaves this function.
async fn hand_out(
    app: &App,
    runner: &Runner,
    manager: Option<&RunnerManager>,
    graceful: bool,
    candidate: &DispatchCandidate,
) -> Result<HandOut> {
    let timeout = if needs_full_check(runner, candidate) {
        match checked(app, runner, candidate.id).await? {
            Checked::Claimable { timeout } => effective_timeout(app, timeout, runner),
            Checked::Lost => return Ok(HandOut::Lost),
            Checked::Passed => return Ok(HandOut::Passed),
        }
    } else {
        effective_timeout(app, candidate.timeout, runner)
    };
    let token = generate(JOB_TOKEN_PREFIX);
    let claimed = app
        .store
        .claim_pending_job_for(
            candidate.id,
            &JobClaim {
                runner_id: runner.id,
                token_hash: &hash_token(&token),
                cancel_gracefully: graceful,
                timeout,
                started_at: pipewright_store::now_ms(),
            },
            manager.map(|manager| manager.id),
        )
        .await?;
    let Some(claimed) = claimed else {
        return Ok(HandOut::Lost);
    };
    // Committed to this runner from here on.
    match deliver(app, &claimed, runner, &token).await {
        Ok(response) => Ok(HandOut::Given(Box::new(response))),
        Err(err) => {
            tracing::error!(job_id = claimed.id, %err, "dropping a claimed job whose payload failed");
            drop_claimed(app, &claimed).await;
            Ok(HandOut::Passed)
        }
    }
}

/// Whether the candidate needs its full job read and checked before the claim: the scan
/// already checked tags, project and kind, and the claim checks the status. The rest —
/// group ancestry, protected refs, dependency artifacts, deployment jobs — needs the job.
fn needs_full_check(runner: &Runner, candidate: &DispatchCandidate) -> bool {
    let no_dependencies = match candidate.needs.as_deref() {
        None => candidate.stage_idx == 0,
        Some(needs) => needs == "[]",
    };
    runner.runner_type == "group_type"
        || runner.access_level == "ref_protected"
        || !no_dependencies
        || candidate.environment
}

/// The outcome of the checks on a full job.
enum Checked {
    /// With the job's own timeout.
    Claimable {
        timeout: Option<i64>,
    },
    Lost,
    Passed,
}

/// The checks that need the whole job (runner-protocol.md §5.10, §6); a job failing one is
/// skipped (or failed, for missing dependencies) before anything is committed.
async fn checked(app: &App, runner: &Runner, job_id: i64) -> Result<Checked> {
    let Some(job) = app.store.job_by_id(job_id).await? else {
        return Ok(Checked::Passed);
    };
    if job.status != Status::Pending {
        return Ok(Checked::Lost);
    }
    if !runner_can_pick(runner, &job) || !crate::runner_scope::may_run(app, runner, &job).await? {
        return Ok(Checked::Passed);
    }
    // GitLab drops a job whose dependencies lost their artifacts instead of handing it out,
    // an outdated deployment job, and one deploying to an environment protected from its user.
    if crate::artifacts::fail_if_missing_dependency(app, &job).await?
        || crate::deployments::drop_if_outdated(app, &job).await?
        || crate::protected_environments::drop_if_protected_from_user(app, &job).await?
    {
        return Ok(Checked::Passed);
    }
    Ok(Checked::Claimable {
        timeout: job.timeout,
    })
}

/// The payload of a claimed job, and the processing its start may need.
async fn deliver(app: &App, job: &Job, runner: &Runner, token: &str) -> Result<JobResponse> {
    let pipeline = app
        .store
        .pipeline_by_id(job.pipeline_id)
        .await?
        .ok_or_else(|| Error::internal("job without pipeline"))?;
    let response = crate::payload::build_for(app, job, &pipeline, runner, token).await?;
    // A job that starts running makes its pipeline `running` and advances nothing else, so a
    // pipeline already running needs no processing (and no pipeline lock). The job runs
    // either way: a failed processing is repaired by the next one, never answered.
    let followed = if pipeline.status == Status::Running {
        // Its deployment follows the job even when no processing runs.
        crate::deployments::sync_job(app, job).await
    } else {
        crate::processing::process_pipeline(app, job.pipeline_id).await
    };
    if let Err(err) = followed {
        tracing::warn!(job_id = job.id, %err, "bookkeeping after a hand-out failed");
    }
    Ok(response)
}

/// Fails a claimed job that could not be delivered (`running → failed`, reason
/// `scheduler_failure`; its token stops working with the status), retries it when its
/// budget allows, and processes its pipeline. Best effort: a store that fails here too
/// leaves the job to the running-without-update watchdog.
async fn drop_claimed(app: &App, job: &Job) {
    let dropped =
        crate::job_updates::drop_job(app, job, Status::Running, FailureReason::SchedulerFailure);
    if let Err(err) = dropped.await {
        tracing::error!(job_id = job.id, %err, "could not drop a job whose hand-out failed");
    }
}

/// Where a runner continues among `eligible` jobs after losing the oldest one: a fixed place
/// per runner within the first [`SPREAD`], so concurrent runners fan out over the queue head.
fn spread_start(runner_id: i64, eligible: usize) -> usize {
    let window = eligible.min(SPREAD);
    if window == 0 {
        return 0;
    }
    // Fibonacci hashing: consecutive runner ids land far apart.
    let mixed = (runner_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    usize::try_from(mixed % window as u64).unwrap_or(0)
}

/// min(job timeout or project default, runner maximum), in seconds.
fn effective_timeout(app: &App, job_timeout: Option<i64>, runner: &Runner) -> i64 {
    let wanted = job_timeout.unwrap_or(app.config.default_job_timeout);
    match runner.maximum_timeout {
        Some(max) => wanted.min(max),
        None => wanted,
    }
}
