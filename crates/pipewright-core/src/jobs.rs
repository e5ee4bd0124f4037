//! Reading jobs for the Jobs API: lists, one job, its log. Related records are batch-loaded
//! (one statement per kind of record, whatever the page size).

use std::collections::HashMap;

use pipewright_git::Commit;
pub use pipewright_store::JobFilter;
use pipewright_store::model::{Job, Pipeline, Project, Runner, User};

use crate::App;
use crate::abilities::ProjectAccess;
use crate::error::{Error, Result};

/// A job with everything its entity shows.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: Job,
    pub pipeline: Pipeline,
    pub project: Project,
    pub user: Option<User>,
    pub runner: Option<Runner>,
    /// The runner manager (host) that picked the job.
    pub runner_manager: Option<pipewright_store::RunnerManager>,
    pub commit: Option<Commit>,
    pub artifacts: crate::artifacts::JobArtifacts,
}

/// `2015-12-24T15:51:21.802Z` from UTC milliseconds.
///
/// Written digit by digit: a job entity has up to five timestamps, and chrono's `format`
/// parses its format string on every call (5% of the server's CPU on job lists).
pub fn iso_ms(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    let Some(time) = chrono::DateTime::from_timestamp_millis(ms) else {
        return String::new();
    };
    let Ok(year) = u32::try_from(time.year()) else {
        return time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    };
    if year > 9999 {
        return time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    }
    let mut out = String::with_capacity(24);
    let fields = [
        (year, 4, '-'),
        (time.month(), 2, '-'),
        (time.day(), 2, 'T'),
        (time.hour(), 2, ':'),
        (time.minute(), 2, ':'),
        (time.second(), 2, '.'),
        (time.timestamp_subsec_millis(), 3, 'Z'),
    ];
    for (value, width, separator) in fields {
        for power in (0..width).rev() {
            let digit = value / 10u32.pow(power) % 10;
            out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        out.push(separator);
    }
    out
}

/// `2015-12-24T15:51:21Z`, as GitLab writes times into CI variables.
pub fn iso_seconds(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|time| time.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Builds views for jobs of one project with a fixed number of queries (one store call).
pub async fn views(app: &App, project: &Project, jobs: Vec<Job>) -> Result<Vec<JobView>> {
    let relations = app.store.job_relations(&jobs).await?;
    views_from(app, project, jobs, relations).await
}

/// [`views`] from related records already read with the jobs.
async fn views_from(
    app: &App,
    project: &Project,
    jobs: Vec<Job>,
    relations: pipewright_store::JobRelations,
) -> Result<Vec<JobView>> {
    let pipelines: HashMap<i64, Pipeline> = relations
        .pipelines
        .into_iter()
        .map(|pipeline| (pipeline.id, pipeline))
        .collect();
    let users: HashMap<i64, User> = relations
        .users
        .into_iter()
        .map(|user| (user.id, user))
        .collect();
    let runners: HashMap<i64, Runner> = relations
        .runners
        .into_iter()
        .map(|runner| (runner.id, runner))
        .collect();
    let mut managers: HashMap<i64, pipewright_store::RunnerManager> =
        relations.runner_managers.into_iter().collect();
    let mut artifacts =
        crate::artifacts::assemble(app, &jobs, relations.artifacts_expiry, relations.artifacts)
            .await?;
    let shas: Vec<String> = {
        let mut shas: Vec<String> = pipelines.values().map(|p| p.sha.clone()).collect();
        shas.sort();
        shas.dedup();
        shas
    };
    let commits = if shas.is_empty() {
        HashMap::new()
    } else {
        crate::commit_cache::commits(app, project.id, &shas).await?
    };
    jobs.into_iter()
        .map(|job| {
            let pipeline = pipelines
                .get(&job.pipeline_id)
                .cloned()
                .ok_or_else(|| Error::internal("job without pipeline"))?;
            Ok(JobView {
                user: job.user_id.and_then(|id| users.get(&id).cloned()),
                runner: job.runner_id.and_then(|id| runners.get(&id).cloned()),
                runner_manager: managers.remove(&job.id),
                commit: commits.get(&pipeline.sha).cloned(),
                artifacts: artifacts.remove(&job.id).unwrap_or_default(),
                pipeline,
                project: project.clone(),
                job,
            })
        })
        .collect()
}

/// E1: one page of the project's builds (`offset` rows skipped), newest first.
pub async fn list_project_jobs(
    app: &App,
    access: &ProjectAccess,
    filter: &JobFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<JobView>> {
    if !access.can_read_build() {
        return Err(Error::forbidden());
    }
    // The page and its related records in one store call.
    let (jobs, relations) = app
        .store
        .list_project_jobs_with_relations(access.project.id, filter, limit, offset)
        .await?;
    views_from(app, &access.project, jobs, relations).await
}

/// A build of this project (bridges and other projects' jobs are `404 Not found`).
pub async fn find_build(app: &App, access: &ProjectAccess, job_id: i64) -> Result<Job> {
    app.store
        .job_by_id(job_id)
        .await?
        .filter(|job| job.project_id == access.project.id && job.is_build())
        .ok_or_else(Error::record_not_found)
}

/// E6.
pub async fn get_job(app: &App, access: &ProjectAccess, job_id: i64) -> Result<JobView> {
    if !access.can_read_build() {
        return Err(Error::forbidden());
    }
    // The job and its related records in one store call, with `find_build`'s filter.
    let (job, relations) = app
        .store
        .job_with_relations(job_id)
        .await?
        .filter(|(job, _)| job.project_id == access.project.id && job.is_build())
        .ok_or_else(Error::record_not_found)?;
    let mut views = views_from(app, &access.project, vec![job], relations).await?;
    views.pop().ok_or_else(Error::record_not_found)
}

/// E7: the log file positioned at `offset`, if any, for streaming.
pub async fn open_trace(
    app: &App,
    access: &ProjectAccess,
    job_id: i64,
    offset: u64,
) -> Result<(Job, Option<tokio::fs::File>)> {
    if !access.can_read_build() {
        return Err(Error::forbidden());
    }
    let job = find_build(app, access, job_id).await?;
    // `read_build_trace`: the log of a job in debug mode may hold secrets, so only those
    // who may update builds (Developer+) read it, whatever `public_builds` says.
    if !access.can_update_build() && in_debug_mode(app, &job).await? {
        return Err(Error::forbidden());
    }
    let file = app
        .traces
        .open_at(job.id, offset)
        .await
        .map_err(Error::internal)?;
    Ok((job, file))
}

/// GitLab's `Ci::Build#debug_mode?`: `CI_DEBUG_TRACE` or `CI_DEBUG_SERVICES` is true among
/// the job's variables (YAML, then pipeline variables, then variables given when played:
/// the last definition of a key wins).
pub async fn in_debug_mode(app: &App, job: &Job) -> Result<bool> {
    let options: pipewright_ciyaml::JobOptions =
        serde_json::from_str(&job.options).unwrap_or_default();
    let mut variables: Vec<(String, String)> = options
        .variables
        .into_iter()
        .map(|variable| (variable.key, variable.value))
        .collect();
    variables.extend(
        app.store
            .pipeline_variables(job.pipeline_id)
            .await?
            .into_iter()
            .map(|variable| (variable.key, variable.value)),
    );
    variables.extend(
        crate::job_actions::played_variables(job)
            .into_iter()
            .map(|variable| (variable.key, variable.value)),
    );
    let enabled = |key: &str| {
        variables
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .is_some_and(|(_, value)| is_true(value))
    };
    Ok(enabled("CI_DEBUG_TRACE") || enabled("CI_DEBUG_SERVICES"))
}

/// `Gitlab::Utils.to_boolean` with a `false` default.
fn is_true(value: &str) -> bool {
    ["true", "t", "yes", "y", "1", "on"]
        .iter()
        .any(|word| value.eq_ignore_ascii_case(word))
}

/// E2 (first slice): the jobs of one pipeline.
pub async fn list_pipeline_jobs(
    app: &App,
    access: &ProjectAccess,
    pipeline: &Pipeline,
    include_retried: bool,
) -> Result<Vec<JobView>> {
    // Whoever may read the pipeline but not its builds sees an empty list, not a 403.
    if !access.can_read_build() {
        return Ok(Vec::new());
    }
    // E2 lists newest first, from a read snapshot (not the writer, which processing needs).
    let jobs = app
        .store
        .pipeline_jobs_for_reading(pipeline.id, include_retried)
        .await?
        .into_iter()
        .rev()
        .filter(Job::is_build)
        .collect();
    views(app, &access.project, jobs).await
}

/// E4: the view of a job-token's own job.
pub async fn current_job(app: &App, job: Job) -> Result<JobView> {
    let project = app
        .store
        .project_by_id(job.project_id)
        .await?
        .ok_or_else(|| Error::not_found("Job"))?;
    let mut views = views(app, &project, vec![job]).await?;
    views.pop().ok_or_else(|| Error::not_found("Job"))
}

#[cfg(test)]
mod tests {
    use super::iso_ms;

    #[test]
    fn iso_ms_writes_what_chrono_formats() {
        for ms in [
            0,
            1,
            999,
            1_450_972_281_802,
            1_764_100_000_123,
            -1,
            -62_135_596_800_000,
            253_402_300_799_999,
        ] {
            let expected = chrono::DateTime::from_timestamp_millis(ms)
                .map(|time| time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default();
            assert_eq!(iso_ms(ms), expected, "{ms}");
        }
        assert_eq!(iso_ms(1_450_972_281_802), "2015-12-24T15:51:21.802Z");
    }
}
