//! Links between a bridge job, its pipeline and the downstream pipeline it triggered.

use sqlx::FromRow;

use crate::jobs::{JOB_COLUMNS, JobRow, into_jobs};
use crate::model::Job;
use crate::{Store, StoreError, now_ms};

/// One triggered downstream pipeline.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PipelineLink {
    pub bridge_id: i64,
    pub upstream_pipeline_id: i64,
    pub downstream_pipeline_id: i64,
    pub created_at: i64,
}

const LINK_COLUMNS: &str = "bridge_id, upstream_pipeline_id, downstream_pipeline_id, created_at";

impl Store {
    /// Records that `bridge_id` (a job of `upstream_pipeline_id`) created
    /// `downstream_pipeline_id`. A second link for the same bridge or downstream pipeline is
    /// [`StoreError::Duplicate`].
    pub async fn insert_pipeline_link(
        &self,
        bridge_id: i64,
        upstream_pipeline_id: i64,
        downstream_pipeline_id: i64,
    ) -> Result<PipelineLink, StoreError> {
        let link: PipelineLink = sqlx::query_as(&format!(
            "INSERT INTO pipeline_links (bridge_id, upstream_pipeline_id, downstream_pipeline_id, created_at)
             VALUES ($1, $2, $3, $4) RETURNING {LINK_COLUMNS}"
        ))
        .bind(bridge_id)
        .bind(upstream_pipeline_id)
        .bind(downstream_pipeline_id)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await?;
        Ok(link)
    }

    /// The bridge that created `pipeline_id`, if it is a downstream pipeline. Reads through
    /// the writer: processing decides on it right after the link is written.
    pub async fn upstream_link(
        &self,
        pipeline_id: i64,
    ) -> Result<Option<PipelineLink>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {LINK_COLUMNS} FROM pipeline_links WHERE downstream_pipeline_id = $1"
        ))
        .bind(pipeline_id)
        .fetch_optional(&self.write)
        .await?)
    }

    /// The links of the given bridges (those that triggered something), for one page of a
    /// bridge list.
    pub async fn links_of_bridges(
        &self,
        bridge_ids: &[i64],
    ) -> Result<Vec<PipelineLink>, StoreError> {
        if bridge_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::new(format!(
            "SELECT {LINK_COLUMNS} FROM pipeline_links WHERE bridge_id IN ("
        ));
        let mut separated = query.separated(", ");
        for id in bridge_ids {
            separated.push_bind(*id);
        }
        query.push(")");
        Ok(query.build_query_as().fetch_all(&self.read).await?)
    }

    /// The pipelines directly triggered by `pipeline_id`'s bridges, oldest first.
    pub async fn downstream_links(
        &self,
        pipeline_id: i64,
    ) -> Result<Vec<PipelineLink>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {LINK_COLUMNS} FROM pipeline_links WHERE upstream_pipeline_id = $1 ORDER BY bridge_id"
        ))
        .bind(pipeline_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// `(id, full_path)` of the given projects: enough to spell a downstream pipeline's
    /// `web_url`.
    pub async fn project_paths(
        &self,
        project_ids: &[i64],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        if project_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::new("SELECT id, full_path FROM projects WHERE id IN (");
        let mut separated = query.separated(", ");
        for id in project_ids {
            separated.push_bind(*id);
        }
        query.push(")");
        Ok(query.build_query_as().fetch_all(&self.read).await?)
    }

    /// Pipelines whose bridges wait for work that the in-process queue should have done by
    /// `before` (e.g. lost in a restart): pipelines with `pending` bridges that have not
    /// triggered, and finished downstream pipelines whose bridge still waits for them.
    pub async fn pipelines_with_stale_bridges(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT pipeline_id FROM jobs
             WHERE status = 'pending' AND kind = 'bridge' AND updated_at < $1
                AND NOT EXISTS (SELECT 1 FROM pipeline_links WHERE bridge_id = jobs.id)
             UNION
             SELECT links.downstream_pipeline_id FROM jobs
             JOIN pipeline_links AS links ON links.bridge_id = jobs.id
             JOIN pipelines ON pipelines.id = links.downstream_pipeline_id
             WHERE jobs.status IN ('pending', 'running') AND jobs.kind = 'bridge' AND jobs.updated_at < $1
                AND pipelines.status IN ('success', 'failed', 'canceled', 'skipped')
             LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.write)
        .await?)
    }

    /// The latest bridges of a pipeline waiting to trigger (`pending` without a downstream
    /// pipeline: a `pending` bridge with one waits for it to finish again), oldest first. Runs after every
    /// processing, so it reads through the writer and only the pipeline's jobs.
    pub async fn pending_bridges(&self, pipeline_id: i64) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs
             WHERE pipeline_id = $1 AND kind = 'bridge' AND status = 'pending' AND retried = FALSE
                AND NOT EXISTS (SELECT 1 FROM pipeline_links WHERE bridge_id = jobs.id)
             ORDER BY id"
        ))
        .bind(pipeline_id)
        .fetch_all(&self.write)
        .await?;
        into_jobs(rows)
    }

    /// Bridges claimed for triggering (`running`) before `before` that never got a downstream
    /// pipeline: the process died between the claim and the creation.
    pub async fn unlinked_running_bridges(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs
             WHERE status = 'running' AND kind = 'bridge' AND updated_at < $1
                AND NOT EXISTS (SELECT 1 FROM pipeline_links WHERE bridge_id = jobs.id)
             ORDER BY updated_at, id LIMIT $2"
        ))
        .bind(before)
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        into_jobs(rows)
    }
}
