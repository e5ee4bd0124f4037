//! Everything a job entity shows besides the job row, for a page of jobs, in one read.
//!
//! The Jobs API renders each job with its pipeline, user, runner, runner manager and
//! artifacts. Each kind is one batch statement whatever the page size; here they run back to
//! back on one reader connection, so a page costs one hand-off to the blocking pool instead of
//! one per kind. A PostgreSQL backend runs the same statements on one pooled connection.

use crate::artifacts::{ArtifactsExpiry, JobArtifact};
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
        let job_ids: Vec<i64> = jobs.iter().map(|job| job.id).collect();
        let pipeline_ids = distinct(jobs.iter().map(|job| Some(job.pipeline_id)));
        let runner_ids = distinct(jobs.iter().map(|job| job.runner_id));
        let user_ids = distinct(jobs.iter().map(|job| job.user_id));
        let (mut users, lookup) = self.cached_users(&user_ids);
        let missing_users = lookup
            .as_ref()
            .map(|lookup| lookup.missing.clone())
            .unwrap_or_default();
        let (mut relations, read_users) = self
            .readers
            .run(move |conn| {
                let relations = JobRelations {
                    pipelines: crate::pipelines::pipelines_by_ids(conn, &pipeline_ids)?,
                    users: Vec::new(),
                    runners: crate::runners::runners_by_ids(conn, &runner_ids)?,
                    runner_managers: crate::runner_admin::runner_managers_for_jobs(conn, &job_ids)?,
                    artifacts_expiry: crate::artifacts::artifacts_expiry_by_job_ids(
                        conn, &job_ids,
                    )?,
                    artifacts: crate::artifacts::artifacts_by_job_ids(conn, &job_ids)?,
                };
                let users = crate::users::users_by_ids(conn, &missing_users)?;
                Ok((relations, users))
            })
            .await?;
        if let Some(lookup) = &lookup {
            users.extend(self.keep_users(lookup, read_users));
        }
        relations.users = users;
        Ok(relations)
    }
}

fn distinct(ids: impl Iterator<Item = Option<i64>>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
