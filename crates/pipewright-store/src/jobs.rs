use pipewright_domain::{Status, When};
use sqlx::{FromRow, Sqlite, Transaction};

use crate::error::corrupt;
use crate::model::{Job, Pipeline};
use crate::reader::{self, Columns};
use crate::{Store, StoreError, now_ms};

pub(crate) const JOB_COLUMNS: &str = "id, project_id, pipeline_id, kind, name, stage, stage_idx, status, when_kind, allow_failure, needs, options, tag_list, ref_name, tag, user_id, runner_id, cancel_gracefully, retried, timeout, created_at, updated_at, queued_at, started_at, finished_at, erased_at, erased_by, failure_reason, exit_code, coverage, job_variables";

#[derive(FromRow)]
pub(crate) struct JobRow {
    id: i64,
    project_id: i64,
    pipeline_id: i64,
    kind: String,
    name: String,
    stage: String,
    stage_idx: i32,
    status: String,
    when_kind: String,
    allow_failure: bool,
    needs: Option<String>,
    options: String,
    tag_list: String,
    ref_name: String,
    tag: bool,
    user_id: Option<i64>,
    runner_id: Option<i64>,
    cancel_gracefully: bool,
    retried: bool,
    timeout: Option<i64>,
    created_at: i64,
    updated_at: i64,
    queued_at: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    erased_at: Option<i64>,
    erased_by: Option<i64>,
    failure_reason: Option<String>,
    exit_code: Option<i32>,
    coverage: Option<f64>,
    job_variables: Option<String>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<Self, StoreError> {
        let needs = row
            .needs
            .map(|json| serde_json::from_str::<Vec<String>>(&json))
            .transpose()
            .map_err(corrupt)?;
        Ok(Job {
            status: row.status.parse().map_err(corrupt)?,
            when: row.when_kind.parse::<When>().map_err(corrupt)?,
            tag_list: serde_json::from_str(&row.tag_list).map_err(corrupt)?,
            needs,
            id: row.id,
            project_id: row.project_id,
            pipeline_id: row.pipeline_id,
            kind: row.kind,
            name: row.name,
            stage: row.stage,
            stage_idx: row.stage_idx,
            allow_failure: row.allow_failure,
            options: row.options,
            ref_name: row.ref_name,
            tag: row.tag,
            user_id: row.user_id,
            runner_id: row.runner_id,
            cancel_gracefully: row.cancel_gracefully,
            retried: row.retried,
            timeout: row.timeout,
            created_at: row.created_at,
            updated_at: row.updated_at,
            queued_at: row.queued_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            erased_at: row.erased_at,
            erased_by: row.erased_by,
            failure_reason: row.failure_reason,
            exit_code: row.exit_code,
            coverage: row.coverage,
            job_variables: row.job_variables,
        })
    }
}

impl JobRow {
    /// The row of a [`JOB_COLUMNS`] select on the read path, columns in that order.
    pub(crate) fn read(row: &rusqlite::Row<'_>) -> Result<JobRow, StoreError> {
        let mut c = Columns::new(row);
        Ok(JobRow {
            id: c.next()?,
            project_id: c.next()?,
            pipeline_id: c.next()?,
            kind: c.next()?,
            name: c.next()?,
            stage: c.next()?,
            stage_idx: c.next()?,
            status: c.next()?,
            when_kind: c.next()?,
            allow_failure: c.next()?,
            needs: c.next()?,
            options: c.next()?,
            tag_list: c.next()?,
            ref_name: c.next()?,
            tag: c.next()?,
            user_id: c.next()?,
            runner_id: c.next()?,
            cancel_gracefully: c.next()?,
            retried: c.next()?,
            timeout: c.next()?,
            created_at: c.next()?,
            updated_at: c.next()?,
            queued_at: c.next()?,
            started_at: c.next()?,
            finished_at: c.next()?,
            erased_at: c.next()?,
            erased_by: c.next()?,
            failure_reason: c.next()?,
            exit_code: c.next()?,
            coverage: c.next()?,
            job_variables: c.next()?,
        })
    }
}

/// A [`JOB_COLUMNS`] row on the read path, as a [`Job`].
pub(crate) fn read_job(row: &rusqlite::Row<'_>) -> Result<Job, StoreError> {
    Job::try_from(JobRow::read(row)?)
}

/// A job by id on a reader connection.
pub(crate) fn job_by_id(conn: &rusqlite::Connection, id: i64) -> Result<Option<Job>, StoreError> {
    reader::query_optional(
        conn,
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
        &[&id],
        read_job,
    )
}

/// One page of a project's builds on a reader connection (see [`Store::list_project_jobs`]).
pub(crate) fn list_project_jobs(
    conn: &rusqlite::Connection,
    project_id: i64,
    filter: &JobFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<Job>, StoreError> {
    // One indexed seek per status, merged by id: an `IN (...)` over several statuses would
    // make SQLite read the project's whole history (or sort) instead.
    let statuses: Vec<Option<Status>> = if filter.statuses.is_empty() {
        vec![None]
    } else {
        let mut statuses = filter.statuses.clone();
        statuses.sort_by_key(|status| status.as_str());
        statuses.dedup();
        statuses.into_iter().map(Some).collect()
    };
    // Portable text: `$n` numbered in order, each arm binding its own values.
    let mut sql = String::new();
    let mut params: Vec<&dyn rusqlite::ToSql> = Vec::new();
    let status_texts: Vec<&'static str> = statuses
        .iter()
        .map(|status| status.map_or("", |status| status.as_str()))
        .collect();
    for (index, status) in statuses.iter().enumerate() {
        if index > 0 {
            sql.push_str(" UNION ALL ");
        }
        params.push(&project_id);
        sql.push_str(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE project_id = ${} AND kind = 'build'",
            params.len()
        ));
        if status.is_some() {
            params.push(&status_texts[index]);
            sql.push_str(&format!(" AND status = ${}", params.len()));
        }
        if let Some(ref_name) = &filter.ref_name {
            params.push(ref_name);
            sql.push_str(&format!(" AND ref_name = ${}", params.len()));
        }
        if let Some(before_id) = &filter.before_id {
            params.push(before_id);
            sql.push_str(&format!(" AND id < ${}", params.len()));
        }
        if let Some(after_id) = &filter.after_id {
            params.push(after_id);
            sql.push_str(&format!(" AND id > ${}", params.len()));
        }
    }
    let backward = filter.after_id.is_some();
    sql.push_str(if backward {
        " ORDER BY id ASC LIMIT "
    } else {
        " ORDER BY id DESC LIMIT "
    });
    params.push(&limit);
    sql.push_str(&format!("${} OFFSET ", params.len()));
    params.push(&offset);
    sql.push_str(&format!("${}", params.len()));
    let mut jobs = reader::query(conn, &sql, &params, read_job)?;
    if backward {
        jobs.reverse();
    }
    Ok(jobs)
}

pub(crate) fn into_jobs(rows: Vec<JobRow>) -> Result<Vec<Job>, StoreError> {
    rows.into_iter().map(Job::try_from).collect()
}

pub struct NewJob {
    pub kind: String,
    pub name: String,
    pub stage: String,
    pub stage_idx: i32,
    pub status: Status,
    pub when: When,
    pub allow_failure: bool,
    pub needs: Option<Vec<String>>,
    pub options: String,
    pub tag_list: Vec<String>,
    pub user_id: Option<i64>,
    pub timeout: Option<i64>,
}

pub(crate) async fn insert_job(
    tx: &mut Transaction<'_, Sqlite>,
    pipeline: &Pipeline,
    job: &NewJob,
    now: i64,
) -> Result<Job, StoreError> {
    let needs = job
        .needs
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(corrupt)?;
    let tag_list = serde_json::to_string(&job.tag_list).map_err(corrupt)?;
    let row: JobRow = sqlx::query_as(&format!(
        "INSERT INTO jobs (project_id, pipeline_id, kind, name, stage, stage_idx, status, when_kind, allow_failure,
            needs, options, tag_list, ref_name, tag, user_id, timeout, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(pipeline.project_id)
    .bind(pipeline.id)
    .bind(&job.kind)
    .bind(&job.name)
    .bind(&job.stage)
    .bind(job.stage_idx)
    .bind(job.status.as_str())
    .bind(job.when.as_str())
    .bind(job.allow_failure)
    .bind(needs)
    .bind(&job.options)
    .bind(tag_list)
    .bind(&pipeline.ref_name)
    .bind(pipeline.tag)
    .bind(job.user_id)
    .bind(job.timeout)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Job::try_from(row)
}

/// Filters of the project job list (E1).
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Empty = every status.
    pub statuses: Vec<Status>,
    pub ref_name: Option<String>,
    /// Keyset pagination forward: only jobs with an id below this one.
    pub before_id: Option<i64>,
    /// Keyset pagination backward: only jobs with an id above this one (the page nearest to
    /// it is returned, still newest first).
    pub after_id: Option<i64>,
}

/// The new state of a job after a transition, written as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStateUpdate {
    pub status: Status,
    pub queued_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub failure_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub allow_failure: bool,
}

impl JobStateUpdate {
    pub fn of(job: &Job) -> JobStateUpdate {
        JobStateUpdate {
            status: job.status,
            queued_at: job.queued_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            failure_reason: job.failure_reason.clone(),
            exit_code: job.exit_code,
            allow_failure: job.allow_failure,
        }
    }
}

/// A pending build as a runner's scan first sees it (see [`Store::pending_job_candidates`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCandidate {
    pub id: i64,
    pub project_id: i64,
    pub tag_list: Vec<String>,
}

/// What a runner's claim writes onto a pending job.
pub struct JobClaim<'a> {
    pub runner_id: i64,
    pub token_hash: &'a str,
    pub cancel_gracefully: bool,
    pub timeout: i64,
    pub started_at: i64,
}

impl NewJob {
    /// A fresh copy of `job` for a retry: same configuration, `created`, owned by `user_id`.
    pub fn retry_of(job: &Job, user_id: i64) -> NewJob {
        NewJob {
            kind: job.kind.clone(),
            name: job.name.clone(),
            stage: job.stage.clone(),
            stage_idx: job.stage_idx,
            status: Status::Created,
            when: job.when,
            allow_failure: job.allow_failure,
            needs: job.needs.clone(),
            options: job.options.clone(),
            tag_list: job.tag_list.clone(),
            user_id: Some(user_id),
            timeout: job.timeout,
        }
    }
}

impl Store {
    /// Inserts the retry of `old` and flags every earlier job of that name in the pipeline as
    /// retried, in one transaction.
    pub async fn retry_job(&self, old: &Job, new: &NewJob) -> Result<Job, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let row: Option<crate::pipelines::PipelineRow> = sqlx::query_as(&format!(
            "SELECT {} FROM pipelines WHERE id = $1",
            crate::pipelines::PIPELINE_COLUMNS
        ))
        .bind(old.pipeline_id)
        .fetch_optional(&mut *tx)
        .await?;
        let pipeline = Pipeline::try_from(row.ok_or_else(|| corrupt("job without pipeline"))?)?;
        let job = insert_job(&mut tx, &pipeline, new, now).await?;
        // Retries keep the job's variables from a play.
        sqlx::query("UPDATE jobs SET job_variables = $1 WHERE id = $2")
            .bind(&old.job_variables)
            .bind(job.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE jobs SET retried = TRUE, updated_at = $1 WHERE pipeline_id = $2 AND name = $3 AND id <> $4",
        )
        .bind(now)
        .bind(old.pipeline_id)
        .bind(&old.name)
        .bind(job.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Job {
            job_variables: old.job_variables.clone(),
            ..job
        })
    }

    /// Marks a job erased (its log and artifacts are removed by the caller).
    pub async fn erase_job(&self, id: i64, erased_by: i64) -> Result<bool, StoreError> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE jobs SET erased_at = $1, erased_by = $2, updated_at = $1 WHERE id = $3 AND erased_at IS NULL",
        )
        .bind(now)
        .bind(erased_by)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A play: the job now belongs to the player, with the variables they gave.
    pub async fn set_job_player(
        &self,
        id: i64,
        user_id: i64,
        job_variables: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET user_id = $1, job_variables = COALESCE($2, job_variables), updated_at = $3 WHERE id = $4",
        )
        .bind(user_id)
        .bind(job_variables)
        .bind(now_ms())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn job_by_id(&self, id: i64) -> Result<Option<Job>, StoreError> {
        self.readers.run(move |conn| job_by_id(conn, id)).await
    }

    /// Reads through the writer so a caller sees its own just-committed writes.
    pub async fn job_by_id_fresh(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let row: Option<JobRow> =
            sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.write)
                .await?;
        row.map(Job::try_from).transpose()
    }

    /// The job a token belongs to. Every log chunk and job-token request asks this, so the
    /// answer is cached until the next write to `jobs` (see `cache`).
    pub async fn job_by_token_hash(&self, token_hash: &str) -> Result<Option<Job>, StoreError> {
        let generation = self.watch.jobs.current();
        if let Some(job) = self.caches.job_by_token.get(token_hash, generation) {
            return Ok(Some(job));
        }
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let job = row.map(Job::try_from).transpose()?;
        if let Some(job) = &job {
            self.caches.job_by_token.put(token_hash, generation, job);
        }
        Ok(job)
    }

    /// [`Store::pipeline_jobs`] from a read snapshot, for the Jobs API: a list may lag the
    /// writer by a commit, as every other list does; decisions use `pipeline_jobs`.
    pub async fn pipeline_jobs_for_reading(
        &self,
        pipeline_id: i64,
        include_retried: bool,
    ) -> Result<Vec<Job>, StoreError> {
        self.readers
            .run(move |conn| {
                let sql = if include_retried {
                    format!("SELECT {JOB_COLUMNS} FROM jobs WHERE pipeline_id = $1 ORDER BY id")
                } else {
                    format!(
                        "SELECT {JOB_COLUMNS} FROM jobs WHERE pipeline_id = $1 AND retried = FALSE ORDER BY id"
                    )
                };
                reader::query(conn, &sql, &[&pipeline_id], read_job)
            })
            .await
    }

    /// Every job of a pipeline in creation order; retried ones only when asked.
    pub async fn pipeline_jobs(
        &self,
        pipeline_id: i64,
        include_retried: bool,
    ) -> Result<Vec<Job>, StoreError> {
        let sql = if include_retried {
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE pipeline_id = $1 ORDER BY id")
        } else {
            format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE pipeline_id = $1 AND retried = FALSE ORDER BY id"
            )
        };
        // Processing reads through the writer so it never decides on a stale snapshot.
        let rows: Vec<JobRow> = sqlx::query_as(&sql)
            .bind(pipeline_id)
            .fetch_all(&self.write)
            .await?;
        into_jobs(rows)
    }

    /// One page of a project's builds, newest first (E1). Never counts: GitLab omits totals here.
    pub async fn list_project_jobs(
        &self,
        project_id: i64,
        filter: &JobFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let filter = filter.clone();
        self.readers
            .run(move |conn| list_project_jobs(conn, project_id, &filter, limit, offset))
            .await
    }

    /// The oldest pending builds, for a runner to choose from.
    pub async fn pending_jobs(&self, after_id: i64, limit: i64) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            // Builds only: a dependent bridge may wait in `pending` for hours (its downstream
            // pipeline runs again) and must not crowd runners' scans.
            "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'pending' AND kind = 'build' AND id > $1
             ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        into_jobs(rows)
    }

    /// The oldest pending builds, as much of them as choosing one takes: id, project and
    /// tags. Read from the read pool, so a scan never waits for the writer; the claim
    /// re-checks the status.
    pub async fn pending_job_candidates(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<PendingCandidate>, StoreError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT id, project_id, tag_list FROM jobs WHERE status = 'pending' AND kind = 'build' AND id > $1
             ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, project_id, tag_list)| {
                Ok(PendingCandidate {
                    id,
                    project_id,
                    tag_list: serde_json::from_str(&tag_list).map_err(corrupt)?,
                })
            })
            .collect()
    }

    /// Hands a pending job to a runner in one statement and returns the job as claimed;
    /// `None` when another runner was first (or the job left `pending` meanwhile).
    pub async fn claim_pending_job(
        &self,
        job_id: i64,
        claim: &JobClaim<'_>,
    ) -> Result<Option<Job>, StoreError> {
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "UPDATE jobs SET status = 'running', runner_id = $1, token_hash = $2, cancel_gracefully = $3,
                timeout = $4, started_at = $5, updated_at = $5
             WHERE id = $6 AND status = 'pending'
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(claim.runner_id)
        .bind(claim.token_hash)
        .bind(claim.cancel_gracefully)
        .bind(claim.timeout)
        .bind(claim.started_at)
        .bind(job_id)
        .fetch_optional(&self.write)
        .await?;
        row.map(Job::try_from).transpose()
    }

    /// Atomically hands a pending job to a runner; false when another runner was first.
    pub async fn claim_job(&self, job_id: i64, claim: &JobClaim<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'running', runner_id = $1, token_hash = $2, cancel_gracefully = $3,
                timeout = $4, started_at = $5, updated_at = $5
             WHERE id = $6 AND status = 'pending'",
        )
        .bind(claim.runner_id)
        .bind(claim.token_hash)
        .bind(claim.cancel_gracefully)
        .bind(claim.timeout)
        .bind(claim.started_at)
        .bind(job_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Compare-and-set of a job's state: applies `update` only if the status is still `expected`.
    pub async fn update_job_state(
        &self,
        job_id: i64,
        expected: Status,
        update: &JobStateUpdate,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, queued_at = $2, started_at = $3, finished_at = $4,
                failure_reason = $5, exit_code = $6, allow_failure = $7, updated_at = $8
             WHERE id = $9 AND status = $10",
        )
        .bind(update.status.as_str())
        .bind(update.queued_at)
        .bind(update.started_at)
        .bind(update.finished_at)
        .bind(&update.failure_reason)
        .bind(update.exit_code)
        .bind(update.allow_failure)
        .bind(now_ms())
        .bind(job_id)
        .bind(expected.as_str())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
