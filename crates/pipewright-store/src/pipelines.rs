use pipewright_domain::Status;
use sqlx::FromRow;

use crate::error::corrupt;
use crate::jobs::{NewJob, insert_job};
use crate::model::{Job, Pipeline, PipelineVariable};
use crate::reader::{self, Columns};
use crate::{Store, StoreError, now_ms};

pub(crate) const PIPELINE_COLUMNS: &str = "id, project_id, iid, ref_name, tag, sha, before_sha, source, status, user_id, yaml_errors, created_at, updated_at, started_at, finished_at, duration";

#[derive(FromRow)]
pub(crate) struct PipelineRow {
    id: i64,
    project_id: i64,
    iid: i64,
    ref_name: String,
    tag: bool,
    sha: String,
    before_sha: String,
    source: String,
    status: String,
    user_id: Option<i64>,
    yaml_errors: Option<String>,
    created_at: i64,
    updated_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    duration: Option<i64>,
}

impl TryFrom<PipelineRow> for Pipeline {
    type Error = StoreError;

    fn try_from(row: PipelineRow) -> Result<Self, StoreError> {
        Ok(Pipeline {
            status: row.status.parse().map_err(corrupt)?,
            id: row.id,
            project_id: row.project_id,
            iid: row.iid,
            ref_name: row.ref_name,
            tag: row.tag,
            sha: row.sha,
            before_sha: row.before_sha,
            source: row.source,
            user_id: row.user_id,
            yaml_errors: row.yaml_errors,
            created_at: row.created_at,
            updated_at: row.updated_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            duration: row.duration,
        })
    }
}

impl PipelineRow {
    /// The row of a [`PIPELINE_COLUMNS`] select on the read path, columns in that order.
    fn read(row: &rusqlite::Row<'_>) -> Result<PipelineRow, StoreError> {
        let mut c = Columns::new(row);
        Ok(PipelineRow {
            id: c.next()?,
            project_id: c.next()?,
            iid: c.next()?,
            ref_name: c.next()?,
            tag: c.next()?,
            sha: c.next()?,
            before_sha: c.next()?,
            source: c.next()?,
            status: c.next()?,
            user_id: c.next()?,
            yaml_errors: c.next()?,
            created_at: c.next()?,
            updated_at: c.next()?,
            started_at: c.next()?,
            finished_at: c.next()?,
            duration: c.next()?,
        })
    }
}

fn read_pipeline(row: &rusqlite::Row<'_>) -> Result<Pipeline, StoreError> {
    Pipeline::try_from(PipelineRow::read(row)?)
}

/// Pipelines by id on a reader connection (one statement).
pub(crate) fn pipelines_by_ids(
    conn: &rusqlite::Connection,
    ids: &[i64],
) -> Result<Vec<Pipeline>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE id IN ({})",
        reader::placeholders(1, ids.len())
    );
    reader::query(conn, &sql, &reader::id_params(ids), read_pipeline)
}

pub struct NewPipeline {
    pub project_id: i64,
    pub ref_name: String,
    pub tag: bool,
    pub sha: String,
    pub before_sha: String,
    pub source: String,
    pub status: Status,
    pub user_id: Option<i64>,
    pub yaml_errors: Option<String>,
    pub variables: Vec<PipelineVariable>,
}

impl Store {
    /// Inserts a pipeline, its variables and all its jobs in one transaction; the per-project
    /// `iid` is allocated inside it (the single writer makes `MAX + 1` race-free).
    pub async fn create_pipeline(
        &self,
        new: &NewPipeline,
        jobs: &[NewJob],
    ) -> Result<(Pipeline, Vec<Job>), StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let iid: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(iid), 0) + 1 FROM pipelines WHERE project_id = $1",
        )
        .bind(new.project_id)
        .fetch_one(&mut *tx)
        .await?;
        let finished_at = new.status.is_completed().then_some(now);
        let row: PipelineRow = sqlx::query_as(&format!(
            "INSERT INTO pipelines (project_id, iid, ref_name, tag, sha, before_sha, source, status, user_id,
                yaml_errors, created_at, updated_at, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING {PIPELINE_COLUMNS}"
        ))
        .bind(new.project_id)
        .bind(iid)
        .bind(&new.ref_name)
        .bind(new.tag)
        .bind(&new.sha)
        .bind(&new.before_sha)
        .bind(&new.source)
        .bind(new.status.as_str())
        .bind(new.user_id)
        .bind(&new.yaml_errors)
        .bind(now)
        .bind(finished_at)
        .fetch_one(&mut *tx)
        .await?;
        let pipeline = Pipeline::try_from(row)?;
        for variable in &new.variables {
            sqlx::query(
                "INSERT INTO pipeline_variables (pipeline_id, key, value, variable_type) VALUES ($1, $2, $3, $4)",
            )
            .bind(pipeline.id)
            .bind(&variable.key)
            .bind(&variable.value)
            .bind(&variable.variable_type)
            .execute(&mut *tx)
            .await?;
        }
        let mut created = Vec::with_capacity(jobs.len());
        for job in jobs {
            created.push(insert_job(&mut tx, &pipeline, job, now).await?);
        }
        tx.commit().await?;
        Ok((pipeline, created))
    }

    pub async fn pipeline_by_id(&self, id: i64) -> Result<Option<Pipeline>, StoreError> {
        self.readers
            .run(move |conn| {
                reader::query_optional(
                    conn,
                    &format!("SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE id = $1"),
                    &[&id],
                    read_pipeline,
                )
            })
            .await
    }

    pub async fn pipelines_by_ids(&self, ids: &[i64]) -> Result<Vec<Pipeline>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.readers
            .run(move |conn| pipelines_by_ids(conn, &ids))
            .await
    }

    /// A project's pipelines, newest first, with the total count of the filtered set.
    pub async fn list_pipelines(
        &self,
        project_id: i64,
        status: Option<Status>,
        ref_name: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Pipeline>, i64), StoreError> {
        let push_filter = |query: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>| {
            query
                .push(" FROM pipelines WHERE project_id = ")
                .push_bind(project_id);
            if let Some(status) = status {
                query.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(ref_name) = ref_name {
                query
                    .push(" AND ref_name = ")
                    .push_bind(ref_name.to_owned());
            }
        };
        let mut count = sqlx::QueryBuilder::new("SELECT COUNT(*)");
        push_filter(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;

        let mut page = sqlx::QueryBuilder::new(format!("SELECT {PIPELINE_COLUMNS}"));
        push_filter(&mut page);
        page.push(" ORDER BY id DESC LIMIT ")
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

    /// Compare-and-set of a pipeline's status with the timestamps that go with it.
    pub async fn update_pipeline_status(
        &self,
        id: i64,
        expected: Status,
        status: Status,
        started_at: Option<i64>,
        finished_at: Option<i64>,
        duration: Option<i64>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE pipelines SET status = $1, started_at = $2, finished_at = $3, updated_at = $4,
                duration = $7
             WHERE id = $5 AND status = $6",
        )
        .bind(status.as_str())
        .bind(started_at)
        .bind(finished_at)
        .bind(now_ms())
        .bind(id)
        .bind(expected.as_str())
        .bind(duration)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn pipeline_variables(
        &self,
        pipeline_id: i64,
    ) -> Result<Vec<PipelineVariable>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT key, value, variable_type FROM pipeline_variables WHERE pipeline_id = $1 ORDER BY key",
        )
        .bind(pipeline_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(key, value, variable_type)| PipelineVariable {
                key,
                value,
                variable_type,
            })
            .collect())
    }
}
