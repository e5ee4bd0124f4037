use pipewright_core::model::Runner;
use serde::Serialize;

use super::opt_timestamp;

/// A runner is online when it made contact within the last two hours (GitLab's threshold).
const ONLINE_WINDOW_MS: i64 = 2 * 60 * 60 * 1000;

/// The runner entity (jobs-api.md §5.6).
#[derive(Debug, Serialize)]
pub struct RunnerEntity {
    pub id: i64,
    pub description: String,
    pub ip_address: Option<String>,
    pub active: bool,
    pub paused: bool,
    pub is_shared: bool,
    pub runner_type: String,
    pub name: Option<String>,
    pub online: bool,
    pub created_at: String,
    pub status: &'static str,
    pub job_execution_status: &'static str,
}

impl RunnerEntity {
    pub fn new(runner: &Runner, now: i64, executing: bool) -> RunnerEntity {
        let online = runner
            .contacted_at
            .is_some_and(|contacted| now - contacted < ONLINE_WINDOW_MS);
        let status = match runner.contacted_at {
            None => "never_contacted",
            Some(_) if online => "online",
            Some(_) => "offline",
        };
        RunnerEntity {
            id: runner.id,
            description: runner.description.clone(),
            ip_address: None,
            active: !runner.paused,
            paused: runner.paused,
            is_shared: runner.runner_type == "instance_type",
            runner_type: runner.runner_type.clone(),
            name: runner.name.clone(),
            online,
            created_at: super::timestamp(runner.created_at),
            status,
            job_execution_status: if executing { "active" } else { "idle" },
        }
    }
}

/// `POST /user/runners` answer: id and the token, shown once.
#[derive(Debug, Serialize)]
pub struct CreatedRunnerEntity {
    pub id: i64,
    pub token: String,
    pub token_expires_at: Option<String>,
}

/// Kept for symmetry with the job entity's nullable timestamps.
pub fn contacted_at(runner: &Runner) -> Option<String> {
    opt_timestamp(runner.contacted_at)
}
