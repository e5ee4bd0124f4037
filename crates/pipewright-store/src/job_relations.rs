//! Everything a job entity shows besides the job row, for a page of jobs, in one read.
//!
//! The Jobs API renders each job with its pipeline, user, runner, runner manager and
//! artifacts. Each kind is one batch statement whatever the page size; here they run back to
//! back on one reader connection, so a page costs one hand-off to the blocking pool instead of
//! one per kind; the single job or the page itself can come in the same call. A PostgreSQL
//! backend runs the same statements on one pooled connection.

use std::sync::Arc;

use crate::artifacts::{ArtifactsExpiry, JobArtifact};
use crate::cache::Caches;
use crate::jobs::JobFilter;
use crate::model::{Job, Pipeline, Runner, User};
use crate::runner_admin::RunnerManager;
use crate::{Store, StoreError};

/// The records related to a set of jobs, each kind loaded once.
#[derive(Debug, Clone, Default)]
pub struct JobRelations {
    pub pipelines: Vec<Pipeline>,
    pub users: Vec<User>,
    pub runners: Vec<Runner>,
    /// (job id, the manager that picked it)
    pub runner_managers: Vec<(i64, RunnerManager)>,
    pub artifacts_expiry: Vec<ArtifactsExpiry>,
    /// By job, then type.
    pub artifacts: Vec<JobArtifact>,
}

impl Store {
    /// The pipelines, users, runners, runner managers and artifacts of `jobs`: one statement
    /// per kind (users from the cache when it has them), one reader hand-off in all.
    pub async fn job_relations(&self, jobs: &[Job]) -> Result<JobRelations, StoreError> {
        if jobs.is_empty() {
            return Ok(JobRelations::default());
        }
        let jobs = jobs.to_vec();
        let (caches, generation) = (Arc::clone(&self.caches), self.watch.access.current());
        self.readers
            .run(move |conn| relations(conn, &jobs, &caches, generation))
            .await
    }

    /// [`Store::job_by_id`] and the job's [`JobRelations`] in one reader hand-off (E6).
    pub async fn job_with_relations(
        &self,
        id: i64,
    ) -> Result<Option<(Job, JobRelations)>, StoreError> {
        let (caches, generation) = (Arc::clone(&self.caches), self.watch.access.current());
        self.readers
            .run(move |conn| {
                let Some(job) = crate::jobs::job_by_id(conn, id)? else {
                    return Ok(None);
                };
                let jobs = [job];
                let relations = relations(conn, &jobs, &caches, generation)?;
                let [job] = jobs;
                Ok(Some((job, relations)))
            })
            .await
    }

    /// [`Store::list_project_jobs`] and the page's [`JobRelations`] in one reader hand-off (E1).
    pub async fn list_project_jobs_with_relations(
        &self,
        project_id: i64,
        filter: &JobFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Job>, JobRelations), StoreError> {
        let filter = filter.clone();
        let (caches, generation) = (Arc::clone(&self.caches), self.watch.access.current());
        self.readers
            .run(move |conn| {
                let jobs =
                    crate::jobs::list_project_jobs(conn, project_id, &filter, limit, offset)?;
                let relations = relations(conn, &jobs, &caches, generation)?;
                Ok((jobs, relations))
            })
            .await
    }
}

/// The relations of `jobs` on a reader connection. Users come from the cache when it holds
/// them at `generation` (observed before the read began); those read are kept in it.
fn relations(
    conn: &rusqlite::Connection,
    jobs: &[Job],
    caches: &Caches,
    generation: Option<u64>,
) -> Result<JobRelations, StoreError> {
    if jobs.is_empty() {
        return Ok(JobRelations::default());
    }
    let job_ids: Vec<i64> = jobs.iter().map(|job| job.id).collect();
    let pipeline_ids = distinct(jobs.iter().map(|job| Some(job.pipeline_id)));
    let runner_ids = distinct(jobs.iter().map(|job| job.runner_id));
    let mut users = Vec::new();
    let mut missing = Vec::new();
    for id in distinct(jobs.iter().map(|job| job.user_id)) {
        match caches.user_by_id.get(&id.to_string(), generation) {
            Some(user) => users.push(user),
            None => missing.push(id),
        }
    }
    for user in crate::users::users_by_ids(conn, &missing)? {
        caches
            .user_by_id
            .put(&user.id.to_string(), generation, &user);
        users.push(user);
    }
    Ok(JobRelations {
        pipelines: crate::pipelines::pipelines_by_ids(conn, &pipeline_ids)?,
        users,
        runners: crate::runners::runners_by_ids(conn, &runner_ids)?,
        runner_managers: crate::runner_admin::runner_managers_for_jobs(conn, &job_ids)?,
        artifacts_expiry: crate::artifacts::artifacts_expiry_by_job_ids(conn, &job_ids)?,
        artifacts: crate::artifacts::artifacts_by_job_ids(conn, &job_ids)?,
    })
}

fn distinct(ids: impl Iterator<Item = Option<i64>>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
