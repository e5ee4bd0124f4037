//! Bulk fixture data for benchmarks (issue #6) and query-plan tests. The product never calls it.

use crate::{Store, StoreError, now_ms};

/// What [`Store::seed_jobs`] inserted.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    /// The new pipelines' ids, oldest first.
    pub pipeline_ids: Vec<i64>,
    /// How many jobs were inserted.
    pub jobs: u64,
}

/// A `JobOptions` document with one script line, so a seeded pending job can be handed to a runner.
const SEED_OPTIONS: &str = r#"{"before_script":[],"script":["echo seeded"],"after_script":[],"image":null,"services":[],"tags":[],"timeout":null,"variables":[]}"#;

/// One minute between seeded pipelines, the newest finishing now.
const PIPELINES_SQL: &str = "INSERT INTO pipelines (project_id, iid, ref_name, tag, sha, before_sha, source, status,
        created_at, updated_at, started_at, finished_at, duration)
    WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $3)
    SELECT $1, $2 + n, CASE WHEN n % 4 = 0 THEN 'feature' ELSE 'main' END, FALSE,
        '5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed', '0000000000000000000000000000000000000000', 'push',
        CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'success' END,
        $4 - ($3 - n + 1) * 60000, $4 - ($3 - n + 1) * 60000, $4 - ($3 - n + 1) * 60000 + 1000,
        $4 - ($3 - n) * 60000, 59
    FROM seq";

/// Job statuses come from a bucket in 0..20 that cycles through every status a job list can
/// filter on: 12 success, 2 failed, then one each of canceled, skipped, manual, created,
/// pending and running.
const JOBS_SQL: &str = "INSERT INTO jobs (project_id, pipeline_id, kind, name, stage, stage_idx, status, when_kind,
        allow_failure, options, tag_list, ref_name, tag, created_at, updated_at, queued_at, started_at, finished_at)
    WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $3),
    planned AS (
        SELECT p.id AS pipeline_id, p.project_id AS project_id, p.ref_name AS ref_name,
            p.created_at AS created_at, seq.n AS n, (p.iid * 7 + seq.n * 13) % 20 AS bucket
        FROM pipelines AS p CROSS JOIN seq
        WHERE p.project_id = $1 AND p.iid > $2
    )
    SELECT project_id, pipeline_id, 'build', 'job ' || n,
        CASE (n - 1) % 3 WHEN 0 THEN 'build' WHEN 1 THEN 'test' ELSE 'deploy' END, (n - 1) % 3,
        CASE WHEN bucket < 12 THEN 'success' WHEN bucket < 14 THEN 'failed' WHEN bucket = 14 THEN 'canceled'
            WHEN bucket = 15 THEN 'skipped' WHEN bucket = 16 THEN 'manual' WHEN bucket = 17 THEN 'created'
            WHEN bucket = 18 THEN 'pending' ELSE 'running' END,
        CASE WHEN bucket = 16 THEN 'manual' ELSE 'on_success' END,
        FALSE, $4, '[]', ref_name, FALSE, created_at, created_at,
        CASE WHEN bucket IN (15, 16, 17) THEN NULL ELSE created_at END,
        CASE WHEN bucket IN (15, 16, 17, 18) THEN NULL ELSE created_at + 1000 END,
        CASE WHEN bucket < 15 THEN created_at + 59000 ELSE NULL END
    FROM planned
    ORDER BY pipeline_id, n";

impl Store {
    /// Inserts `pipelines` pipelines of `jobs_per_pipeline` build jobs each into a project, in one
    /// transaction of two set-based statements (a million jobs take seconds).
    ///
    /// The history looks like a busy project's: iids continue after the project's last
    /// pipeline, one pipeline in four is on ref `feature` and the others on `main`, job ids grow
    /// with pipeline ids, and job statuses cycle through every status (see `JOBS_SQL`), so
    /// each status filter finds rows. A pipeline's status is not derived from its jobs.
    #[doc(hidden)]
    pub async fn seed_jobs(
        &self,
        project_id: i64,
        pipelines: u32,
        jobs_per_pipeline: u32,
    ) -> Result<Seeded, StoreError> {
        let mut tx = self.write.begin().await?;
        let last_iid: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(iid), 0) FROM pipelines WHERE project_id = $1")
                .bind(project_id)
                .fetch_one(&mut *tx)
                .await?;
        // The recursive sequence always yields its first row, so zero must not reach it.
        if pipelines > 0 {
            sqlx::query(PIPELINES_SQL)
                .bind(project_id)
                .bind(last_iid)
                .bind(i64::from(pipelines))
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        let jobs = if pipelines > 0 && jobs_per_pipeline > 0 {
            sqlx::query(JOBS_SQL)
                .bind(project_id)
                .bind(last_iid)
                .bind(i64::from(jobs_per_pipeline))
                .bind(SEED_OPTIONS)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        } else {
            0
        };
        let pipeline_ids = sqlx::query_scalar(
            "SELECT id FROM pipelines WHERE project_id = $1 AND iid > $2 ORDER BY id",
        )
        .bind(project_id)
        .bind(last_iid)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Seeded { pipeline_ids, jobs })
    }
}
