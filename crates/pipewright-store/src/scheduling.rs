//! What the pipeline timer and the processing side-effects write: `scheduled_at` of delayed
//! jobs, watchdog scans, liveness touches, coverage, and the jobs holding a resource group.

use pipewright_domain::Status;

use crate::jobs::{JOB_COLUMNS, JobRow, into_jobs};
use crate::model::Job;
use crate::{Store, StoreError, now_ms};

impl Store {
    /// Records when a delayed job becomes due (`None` clears it once the job leaves
    /// `scheduled`).
    pub async fn set_job_scheduled_at(
        &self,
        job_id: i64,
        at: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET scheduled_at = $1 WHERE id = $2")
            .bind(at)
            .bind(job_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn job_scheduled_at(&self, job_id: i64) -> Result<Option<i64>, StoreError> {
        let at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT scheduled_at FROM jobs WHERE id = $1")
                .bind(job_id)
                .fetch_optional(&self.write)
                .await?;
        Ok(at.flatten())
    }

    /// `scheduled` jobs whose time has come (oldest first).
    pub async fn due_scheduled_jobs(&self, now: i64, limit: i64) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'scheduled' AND scheduled_at <= $1
             ORDER BY scheduled_at, id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        into_jobs(rows)
    }

    /// Builds in `status` whose last update (state change, log chunk, keep-alive) is older than
    /// `before`: the watchdogs' candidates.
    pub async fn jobs_not_updated_since(
        &self,
        status: Status,
        before: i64,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        // The status is written into the SQL (it is one of our own constants): SQLite picks
        // the per-status partial index only for a literal it can see when planning.
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            // Builds only: a bridge waits on its downstream pipeline, not on a runner.
            "SELECT {JOB_COLUMNS} FROM jobs WHERE status = '{}' AND updated_at < $1 AND kind = 'build'
             ORDER BY updated_at, id LIMIT $2",
            status.as_str()
        ))
        .bind(before)
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        into_jobs(rows)
    }

    /// Running jobs whose start plus timeout plus `margin_ms` lies before `now`.
    pub async fn running_jobs_past_timeout(
        &self,
        now: i64,
        margin_ms: i64,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            // `started_at < now` is implied by the deadline test; it lets the running jobs'
            // start-time index bound the scan.
            "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'running' AND started_at < $2
                AND timeout IS NOT NULL AND started_at + timeout * 1000 + $1 < $2 AND kind = 'build'
             ORDER BY started_at, id LIMIT $3"
        ))
        .bind(margin_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        into_jobs(rows)
    }

    /// A sign of life from the runner (log chunk, keep-alive): moves `updated_at` only.
    pub async fn touch_job(&self, job_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET updated_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(job_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn set_job_coverage(&self, job_id: i64, coverage: f64) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET coverage = $1 WHERE id = $2")
            .bind(coverage)
            .bind(job_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Average coverage of a pipeline's latest jobs that have one.
    pub async fn pipeline_coverage(&self, pipeline_id: i64) -> Result<Option<f64>, StoreError> {
        let average: Option<f64> = sqlx::query_scalar(
            "SELECT AVG(coverage) FROM jobs WHERE pipeline_id = $1 AND retried = FALSE AND coverage IS NOT NULL",
        )
        .bind(pipeline_id)
        .fetch_one(&self.read)
        .await?;
        Ok(average)
    }

    /// A project's builds in one of `statuses` (oldest first): resource-group holders and
    /// waiters.
    pub async fn project_jobs_in(
        &self,
        project_id: i64,
        statuses: &[Status],
    ) -> Result<Vec<Job>, StoreError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::new(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE project_id = "
        ));
        query
            .push_bind(project_id)
            .push(" AND kind = 'build' AND status IN (");
        let mut separated = query.separated(", ");
        for status in statuses {
            separated.push_bind(status.as_str());
        }
        query.push(") ORDER BY id");
        let rows: Vec<JobRow> = query.build_query_as().fetch_all(&self.write).await?;
        into_jobs(rows)
    }
}
