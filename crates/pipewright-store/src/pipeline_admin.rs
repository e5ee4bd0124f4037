//! Pipeline-level reads and writes beyond creation: the filtered list, deletion, the
//! redundant pipelines of a ref (auto-cancel) and the trigger that started a pipeline.

use pipewright_domain::Status;
use sqlx::{QueryBuilder, Sqlite};

use crate::model::Pipeline;
use crate::pipelines::{PIPELINE_COLUMNS, PipelineRow};
use crate::{Store, StoreError};

/// Column a pipeline list is ordered by (GitLab's `order_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PipelineOrder {
    #[default]
    Id,
    Status,
    Ref,
    UpdatedAt,
    UserId,
}

impl PipelineOrder {
    fn column(self) -> &'static str {
        match self {
            PipelineOrder::Id => "id",
            PipelineOrder::Status => "status",
            PipelineOrder::Ref => "ref_name",
            PipelineOrder::UpdatedAt => "updated_at",
            PipelineOrder::UserId => "user_id",
        }
    }
}

/// Filters of `GET /projects/:id/pipelines`.
#[derive(Debug, Clone, Default)]
pub struct PipelineFilter {
    /// Empty = any status.
    pub statuses: Vec<Status>,
    pub ref_name: Option<String>,
    pub sha: Option<String>,
    pub source: Option<String>,
    /// Leaves out child pipelines (source `parent_pipeline`), as GitLab's list does unless
    /// asked for that source.
    pub hide_child_pipelines: bool,
    pub user_id: Option<i64>,
    /// `Some(true)`: only pipelines with an invalid configuration; `Some(false)`: only the
    /// others.
    pub yaml_errors: Option<bool>,
    /// Bounds on `updated_at` (UTC milliseconds).
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    /// Bounds on `created_at` (UTC milliseconds).
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    /// `Some(tag)`: only the newest pipeline of each branch (`false`) or tag (`true`).
    pub latest_per_ref: Option<bool>,
    pub order_by: PipelineOrder,
    pub ascending: bool,
}

fn push_filter(query: &mut QueryBuilder<'_, Sqlite>, project_id: i64, filter: &PipelineFilter) {
    query
        .push(" FROM pipelines WHERE project_id = ")
        .push_bind(project_id);
    if !filter.statuses.is_empty() {
        query.push(" AND status IN (");
        let mut separated = query.separated(", ");
        for status in &filter.statuses {
            separated.push_bind(status.as_str());
        }
        query.push(")");
    }
    if let Some(ref_name) = &filter.ref_name {
        query.push(" AND ref_name = ").push_bind(ref_name.clone());
    }
    if let Some(sha) = &filter.sha {
        query.push(" AND sha = ").push_bind(sha.clone());
    }
    if let Some(source) = &filter.source {
        query.push(" AND source = ").push_bind(source.clone());
    }
    if let Some(user_id) = filter.user_id {
        query.push(" AND user_id = ").push_bind(user_id);
    }
    match filter.yaml_errors {
        Some(true) => {
            query.push(" AND yaml_errors IS NOT NULL");
        }
        Some(false) => {
            query.push(" AND yaml_errors IS NULL");
        }
        None => {}
    }
    if filter.hide_child_pipelines {
        query.push(" AND source <> 'parent_pipeline'");
    }
    if let Some(after) = filter.created_after {
        query.push(" AND created_at > ").push_bind(after);
    }
    if let Some(before) = filter.created_before {
        query.push(" AND created_at < ").push_bind(before);
    }
    if let Some(after) = filter.updated_after {
        query.push(" AND updated_at > ").push_bind(after);
    }
    if let Some(before) = filter.updated_before {
        query.push(" AND updated_at < ").push_bind(before);
    }
    if let Some(tag) = filter.latest_per_ref {
        query
            .push(" AND id IN (SELECT MAX(id) FROM pipelines WHERE project_id = ")
            .push_bind(project_id)
            .push(" AND tag = ")
            .push_bind(tag)
            .push(" GROUP BY ref_name)");
    }
}

impl Store {
    /// One page of a project's pipelines with the total count of the filtered set.
    pub async fn list_pipelines_filtered(
        &self,
        project_id: i64,
        filter: &PipelineFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Pipeline>, i64), StoreError> {
        let mut count = QueryBuilder::new("SELECT COUNT(*)");
        push_filter(&mut count, project_id, filter);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;

        let mut page = QueryBuilder::new(format!("SELECT {PIPELINE_COLUMNS}"));
        push_filter(&mut page, project_id, filter);
        let direction = if filter.ascending { "ASC" } else { "DESC" };
        page.push(format!(
            " ORDER BY {} {direction}, id {direction} LIMIT ",
            filter.order_by.column()
        ))
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
        let rows: Vec<PipelineRow> = page.build_query_as().fetch_all(&self.read).await?;
        let pipelines = rows
            .into_iter()
            .map(Pipeline::try_from)
            .collect::<Result<_, _>>()?;
        Ok((pipelines, total))
    }

    /// Deletes a pipeline with its jobs and variables; returns the ids of the jobs it had
    /// (the caller removes their logs).
    pub async fn delete_pipeline(&self, pipeline_id: i64) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.write.begin().await?;
        let job_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM jobs WHERE pipeline_id = $1")
            .bind(pipeline_id)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM jobs WHERE pipeline_id = $1")
            .bind(pipeline_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM pipeline_variables WHERE pipeline_id = $1")
            .bind(pipeline_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM pipelines WHERE id = $1")
            .bind(pipeline_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(job_ids)
    }

    /// Older unfinished pipelines of the same ref at another commit: what a new pipeline
    /// makes redundant (GitLab's `CancelRedundantPipelinesService`).
    pub async fn redundant_pipelines(&self, newer: &Pipeline) -> Result<Vec<Pipeline>, StoreError> {
        let rows: Vec<PipelineRow> = sqlx::query_as(&format!(
            "SELECT {PIPELINE_COLUMNS} FROM pipelines
             WHERE project_id = $1 AND ref_name = $2 AND tag = $3 AND id < $4 AND sha <> $5
                AND status IN ('created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'scheduled')
             ORDER BY id"
        ))
        .bind(newer.project_id)
        .bind(&newer.ref_name)
        .bind(newer.tag)
        .bind(newer.id)
        .bind(&newer.sha)
        .fetch_all(&self.write)
        .await?;
        rows.into_iter().map(Pipeline::try_from).collect()
    }

    pub async fn set_pipeline_trigger(
        &self,
        pipeline_id: i64,
        trigger_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE pipelines SET trigger_id = $1 WHERE id = $2")
            .bind(trigger_id)
            .bind(pipeline_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn set_pipeline_auto_cancel_on_job_failure(
        &self,
        pipeline_id: i64,
        mode: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE pipelines SET auto_cancel_on_job_failure = $1 WHERE id = $2")
            .bind(mode)
            .bind(pipeline_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn pipeline_auto_cancel_on_job_failure(
        &self,
        pipeline_id: i64,
    ) -> Result<Option<String>, StoreError> {
        let mode: Option<Option<String>> =
            sqlx::query_scalar("SELECT auto_cancel_on_job_failure FROM pipelines WHERE id = $1")
                .bind(pipeline_id)
                .fetch_optional(&self.write)
                .await?;
        Ok(mode.flatten())
    }

    pub async fn pipeline_trigger_id(&self, pipeline_id: i64) -> Result<Option<i64>, StoreError> {
        let id: Option<Option<i64>> =
            sqlx::query_scalar("SELECT trigger_id FROM pipelines WHERE id = $1")
                .bind(pipeline_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(id.flatten())
    }
}
