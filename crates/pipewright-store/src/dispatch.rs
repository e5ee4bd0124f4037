//! The statements of handing jobs to runners (core `dispatch`): the claim, with everything it
//! records, in one statement.

use crate::error::corrupt;
use crate::jobs::{JOB_COLUMNS, JobClaim, JobRow};
use crate::model::Job;
use crate::{Store, StoreError};

impl Store {
    /// Hands a pending job to a runner in one statement, recording the runner manager that
    /// asked (when known), and returns the job as claimed; `None` when another runner was
    /// first (or the job left `pending` meanwhile).
    pub async fn claim_pending_job_for(
        &self,
        job_id: i64,
        claim: &JobClaim<'_>,
        runner_manager_id: Option<i64>,
    ) -> Result<Option<Job>, StoreError> {
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "UPDATE jobs SET status = 'running', runner_id = $1, token_hash = $2, cancel_gracefully = $3,
                timeout = $4, started_at = $5, updated_at = $5,
                runner_manager_id = COALESCE($7, runner_manager_id)
             WHERE id = $6 AND status = 'pending'
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(claim.runner_id)
        .bind(claim.token_hash)
        .bind(claim.cancel_gracefully)
        .bind(claim.timeout)
        .bind(claim.started_at)
        .bind(job_id)
        .bind(runner_manager_id)
        .fetch_optional(&self.write)
        .await?;
        row.map(Job::try_from).transpose()
    }
}

/// A pending build as a runner's scan sees it: enough to choose it, to tell whether the full
/// job must be read before the claim, and to claim it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchCandidate {
    pub id: i64,
    pub project_id: i64,
    pub tag_list: Vec<String>,
    pub stage_idx: i32,
    /// The `needs` JSON as stored (`None` for a stage job).
    pub needs: Option<String>,
    /// Its options mention an `environment` (deployment jobs are checked before the claim).
    pub environment: bool,
    pub timeout: Option<i64>,
}

type CandidateRow = (i64, i64, String, i32, Option<String>, bool, Option<i64>);

impl Store {
    /// The oldest pending builds after `after_id`, from the read pool (a scan never waits
    /// for the writer; the claim re-checks the status). Builds only: a dependent bridge may
    /// wait in `pending` for hours and must not crowd runners' scans.
    pub async fn pending_dispatch_candidates(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<DispatchCandidate>, StoreError> {
        let rows: Vec<CandidateRow> = sqlx::query_as(
            "SELECT id, project_id, tag_list, stage_idx, needs,
                options LIKE '%\"environment\"%' AS environment, timeout
             FROM jobs WHERE status = 'pending' AND kind = 'build' AND id > $1
             ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(
                |(id, project_id, tag_list, stage_idx, needs, environment, timeout)| {
                    Ok(DispatchCandidate {
                        id,
                        project_id,
                        tag_list: serde_json::from_str(&tag_list).map_err(corrupt)?,
                        stage_idx,
                        needs,
                        environment,
                        timeout,
                    })
                },
            )
            .collect()
    }
}

impl Store {
    /// The latest builds of a pipeline a job may take artifacts from: those named in `needs`
    /// for a DAG job, else those of earlier stages. Read through the writer, like
    /// `pipeline_jobs`, and only those rows: a job late in a pipeline of hundreds used to read
    /// them all, twice per hand-out.
    pub async fn dependency_candidates(
        &self,
        pipeline_id: i64,
        stage_idx: i32,
        needs: Option<&[String]>,
    ) -> Result<Vec<Job>, StoreError> {
        let mut query = sqlx::QueryBuilder::new(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE pipeline_id = "
        ));
        query
            .push_bind(pipeline_id)
            .push(" AND retried = FALSE AND kind = 'build'");
        match needs {
            Some([]) => return Ok(Vec::new()),
            Some(names) => {
                query.push(" AND name IN (");
                let mut separated = query.separated(", ");
                for name in names {
                    separated.push_bind(name.clone());
                }
                query.push(")");
            }
            None => {
                query.push(" AND stage_idx < ").push_bind(stage_idx);
            }
        }
        query.push(" ORDER BY id");
        let rows: Vec<JobRow> = query.build_query_as().fetch_all(&self.write).await?;
        rows.into_iter().map(Job::try_from).collect()
    }
}
