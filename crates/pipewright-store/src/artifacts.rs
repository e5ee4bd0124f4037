//! Job artifact records (the files live in the server's artifact store), the job's
//! `artifacts_expire_at`, and the variables of `dotenv` reports.

use sqlx::FromRow;

use crate::reader::{self, Columns};
use crate::{Store, StoreError, now_ms};

/// One uploaded artifact file of a job.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct JobArtifact {
    pub id: i64,
    pub job_id: i64,
    pub project_id: i64,
    pub file_type: String,
    pub file_format: String,
    pub filename: String,
    pub size: i64,
    pub file_sha256: String,
    pub expire_at: Option<i64>,
    pub created_at: i64,
}

const ARTIFACT_COLUMNS: &str = "id, job_id, project_id, file_type, file_format, filename, size, file_sha256, expire_at, created_at";

pub struct NewArtifact<'a> {
    pub job_id: i64,
    pub project_id: i64,
    pub file_type: &'a str,
    pub file_format: &'a str,
    pub filename: &'a str,
    pub size: i64,
    pub file_sha256: &'a str,
    pub expire_at: Option<i64>,
}

/// A job's `artifacts_expire_at` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct ArtifactsExpiry {
    pub job_id: i64,
    pub artifacts_expire_at: Option<i64>,
}

/// One variable of a job's `dotenv` report.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DotenvVariable {
    pub job_id: i64,
    pub key: String,
    pub value: String,
}

/// Every artifact record of these jobs, by job then type, on a reader connection.
pub(crate) fn artifacts_by_job_ids(
    conn: &rusqlite::Connection,
    ids: &[i64],
) -> Result<Vec<JobArtifact>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {ARTIFACT_COLUMNS} FROM job_artifacts WHERE job_id IN ({}) ORDER BY job_id, id",
        reader::placeholders(1, ids.len())
    );
    reader::query(conn, &sql, &reader::id_params(ids), |row| {
        let mut c = Columns::new(row);
        Ok(JobArtifact {
            id: c.next()?,
            job_id: c.next()?,
            project_id: c.next()?,
            file_type: c.next()?,
            file_format: c.next()?,
            filename: c.next()?,
            size: c.next()?,
            file_sha256: c.next()?,
            expire_at: c.next()?,
            created_at: c.next()?,
        })
    })
}

/// `artifacts_expire_at` of these jobs, on a reader connection.
pub(crate) fn artifacts_expiry_by_job_ids(
    conn: &rusqlite::Connection,
    ids: &[i64],
) -> Result<Vec<ArtifactsExpiry>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id AS job_id, artifacts_expire_at FROM jobs WHERE id IN ({})",
        reader::placeholders(1, ids.len())
    );
    reader::query(conn, &sql, &reader::id_params(ids), |row| {
        let mut c = Columns::new(row);
        Ok(ArtifactsExpiry {
            job_id: c.next()?,
            artifacts_expire_at: c.next()?,
        })
    })
}

fn push_ids(query: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>, ids: &[i64]) {
    let mut separated = query.separated(", ");
    for id in ids {
        separated.push_bind(*id);
    }
    query.push(")");
}

impl Store {
    /// Every artifact record of these jobs, by job then type (one statement for a page).
    pub async fn artifacts_by_job_ids(&self, ids: &[i64]) -> Result<Vec<JobArtifact>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.readers
            .run(move |conn| artifacts_by_job_ids(conn, &ids))
            .await
    }

    /// `artifacts_expire_at` of these jobs (one statement for a page).
    pub async fn artifacts_expiry_by_job_ids(
        &self,
        ids: &[i64],
    ) -> Result<Vec<ArtifactsExpiry>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.readers
            .run(move |conn| artifacts_expiry_by_job_ids(conn, &ids))
            .await
    }

    /// The job's artifact of one type, read from the writer so a racing upload is seen.
    pub async fn job_artifact(
        &self,
        job_id: i64,
        file_type: &str,
    ) -> Result<Option<JobArtifact>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ARTIFACT_COLUMNS} FROM job_artifacts WHERE job_id = $1 AND file_type = $2"
        ))
        .bind(job_id)
        .bind(file_type)
        .fetch_optional(&self.write)
        .await?)
    }

    /// Inserts a record; `None` when the job already has an artifact of that type.
    pub async fn insert_artifact(
        &self,
        new: &NewArtifact<'_>,
    ) -> Result<Option<JobArtifact>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO job_artifacts (job_id, project_id, file_type, file_format, filename, size, file_sha256, expire_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (job_id, file_type) DO NOTHING
             RETURNING {ARTIFACT_COLUMNS}"
        ))
        .bind(new.job_id)
        .bind(new.project_id)
        .bind(new.file_type)
        .bind(new.file_format)
        .bind(new.filename)
        .bind(new.size)
        .bind(new.file_sha256)
        .bind(new.expire_at)
        .bind(now_ms())
        .fetch_optional(&self.write)
        .await?)
    }

    pub async fn delete_artifact(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM job_artifacts WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn set_artifacts_expire_at(
        &self,
        job_id: i64,
        expire_at: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET artifacts_expire_at = $1 WHERE id = $2")
            .bind(expire_at)
            .bind(job_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// "Keep": neither the job's artifacts nor its expiry date expire any more.
    pub async fn keep_job_artifacts(&self, job_id: i64) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE job_artifacts SET expire_at = NULL WHERE job_id = $1")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE jobs SET artifacts_expire_at = NULL WHERE id = $1")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the job's records and dotenv variables; returns the records so the caller
    /// can remove the files.
    pub async fn delete_job_artifacts(&self, job_id: i64) -> Result<Vec<JobArtifact>, StoreError> {
        let mut tx = self.write.begin().await?;
        let deleted = sqlx::query_as(&format!(
            "DELETE FROM job_artifacts WHERE job_id = $1 RETURNING {ARTIFACT_COLUMNS}"
        ))
        .bind(job_id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM job_dotenv_variables WHERE job_id = $1")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Records whose `expire_at` is at or before `now`, oldest first.
    pub async fn expired_artifacts(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<JobArtifact>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ARTIFACT_COLUMNS} FROM job_artifacts
             WHERE expire_at IS NOT NULL AND expire_at <= $1 ORDER BY expire_at, id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Deletes one record if it is still expired at `now` (a "keep" may have won the race).
    pub async fn delete_expired_artifact(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM job_artifacts WHERE id = $1 AND expire_at IS NOT NULL AND expire_at <= $2",
        )
        .bind(id)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces a job's dotenv variables.
    pub async fn replace_dotenv_variables(
        &self,
        job_id: i64,
        variables: &[(String, String)],
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM job_dotenv_variables WHERE job_id = $1")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        for (key, value) in variables {
            sqlx::query(
                "INSERT INTO job_dotenv_variables (job_id, key, value) VALUES ($1, $2, $3)",
            )
            .bind(job_id)
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The dotenv variables of these jobs, in job then file order.
    pub async fn dotenv_variables_by_job_ids(
        &self,
        ids: &[i64],
    ) -> Result<Vec<DotenvVariable>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::new(
            "SELECT job_id, key, value FROM job_dotenv_variables WHERE job_id IN (",
        );
        push_ids(&mut query, ids);
        query.push(" ORDER BY job_id, id");
        Ok(query.build_query_as().fetch_all(&self.read).await?)
    }

    /// The newest successful pipeline of a ref (`/jobs/artifacts/:ref_name/...`).
    pub async fn latest_successful_pipeline_id(
        &self,
        project_id: i64,
        ref_name: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM pipelines WHERE project_id = $1 AND ref_name = $2 AND status = 'success'
             ORDER BY id DESC LIMIT 1",
        )
        .bind(project_id)
        .bind(ref_name)
        .fetch_optional(&self.read)
        .await?)
    }
}
