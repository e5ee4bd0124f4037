//! Runner administration: managers (hosts of a runner), the legacy registration token,
//! updates, deletion, token rotation and the lists of the runner admin APIs.

use pipewright_domain::Status;
use sqlx::FromRow;

use crate::jobs::{JOB_COLUMNS, JobRow, into_jobs};
use crate::model::{Job, Runner};
use crate::reader::{self, Columns};
use crate::runners::{RUNNER_COLUMNS, RunnerRow};
use crate::{Store, StoreError, now_ms};

/// One host running a runner's token, identified by its `system_id`.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct RunnerManager {
    pub id: i64,
    pub runner_id: i64,
    pub system_id: String,
    pub version: Option<String>,
    pub revision: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: i64,
    pub contacted_at: Option<i64>,
}

const MANAGER_COLUMNS: &str = "id, runner_id, system_id, version, revision, platform, architecture, ip_address, created_at, contacted_at";

/// What a manager reports on each contact; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct ManagerContact {
    pub version: Option<String>,
    pub revision: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub ip_address: Option<String>,
}

/// The editable attributes of a runner, written as a whole.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    pub description: String,
    pub paused: bool,
    pub tag_list: Vec<String>,
    pub run_untagged: bool,
    pub locked: bool,
    pub access_level: String,
    pub maximum_timeout: Option<i64>,
}

/// The managers that picked the given jobs, as (job id, manager), on a reader connection.
pub(crate) fn runner_managers_for_jobs(
    conn: &rusqlite::Connection,
    job_ids: &[i64],
) -> Result<Vec<(i64, RunnerManager)>, StoreError> {
    if job_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT jobs.id AS job_id, m.id, m.runner_id, m.system_id, m.version, m.revision, m.platform,
            m.architecture, m.ip_address, m.created_at, m.contacted_at
         FROM jobs JOIN runner_managers m ON m.id = jobs.runner_manager_id WHERE jobs.id IN ({})",
        reader::placeholders(1, job_ids.len())
    );
    reader::query(conn, &sql, &reader::id_params(job_ids), |row| {
        let mut c = Columns::new(row);
        Ok((
            c.next()?,
            RunnerManager {
                id: c.next()?,
                runner_id: c.next()?,
                system_id: c.next()?,
                version: c.next()?,
                revision: c.next()?,
                platform: c.next()?,
                architecture: c.next()?,
                ip_address: c.next()?,
                created_at: c.next()?,
                contacted_at: c.next()?,
            },
        ))
    })
}

/// The filters of `GET /runners/:id/jobs`.
#[derive(Debug, Clone, Default)]
pub struct RunnerJobFilter {
    /// Empty = every status.
    pub statuses: Vec<Status>,
    /// Only jobs picked by this manager of the runner.
    pub system_id: Option<String>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}

impl Store {
    /// The instance registration token, stored as `candidate` when there is none yet.
    pub async fn instance_registration_token(&self, candidate: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO runner_registration_tokens (id, token, created_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(candidate)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        let token: String =
            sqlx::query_scalar("SELECT token FROM runner_registration_tokens WHERE id = 1")
                .fetch_one(&self.write)
                .await?;
        Ok(token)
    }

    /// Replaces the instance registration token.
    pub async fn replace_instance_registration_token(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO runner_registration_tokens (id, token, created_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET token = excluded.token, created_at = excluded.created_at",
        )
        .bind(token)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Records a manager's contact, creating it on first sight.
    pub async fn touch_runner_manager(
        &self,
        runner_id: i64,
        system_id: &str,
        contact: &ManagerContact,
    ) -> Result<RunnerManager, StoreError> {
        let now = now_ms();
        let manager: RunnerManager = sqlx::query_as(&format!(
            "INSERT INTO runner_managers (runner_id, system_id, version, revision, platform, architecture,
                ip_address, created_at, contacted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (runner_id, system_id) DO UPDATE SET
                version = COALESCE(excluded.version, version),
                revision = COALESCE(excluded.revision, revision),
                platform = COALESCE(excluded.platform, platform),
                architecture = COALESCE(excluded.architecture, architecture),
                ip_address = COALESCE(excluded.ip_address, ip_address),
                contacted_at = excluded.contacted_at
             RETURNING {MANAGER_COLUMNS}"
        ))
        .bind(runner_id)
        .bind(system_id)
        .bind(&contact.version)
        .bind(&contact.revision)
        .bind(&contact.platform)
        .bind(&contact.architecture)
        .bind(&contact.ip_address)
        .bind(now)
        .fetch_one(&self.write)
        .await?;
        Ok(manager)
    }

    /// Deletes one manager; false when the runner has none with that system id.
    pub async fn delete_runner_manager(
        &self,
        runner_id: i64,
        system_id: &str,
    ) -> Result<bool, StoreError> {
        let result =
            sqlx::query("DELETE FROM runner_managers WHERE runner_id = $1 AND system_id = $2")
                .bind(runner_id)
                .bind(system_id)
                .execute(&self.write)
                .await?;
        Ok(result.rows_affected() > 0)
    }

    /// A runner's managers, oldest first.
    pub async fn runner_managers(&self, runner_id: i64) -> Result<Vec<RunnerManager>, StoreError> {
        let managers: Vec<RunnerManager> = sqlx::query_as(&format!(
            "SELECT {MANAGER_COLUMNS} FROM runner_managers WHERE runner_id = $1 ORDER BY id"
        ))
        .bind(runner_id)
        .fetch_all(&self.read)
        .await?;
        Ok(managers)
    }

    /// Remembers which manager picked a job.
    pub async fn set_job_runner_manager(
        &self,
        job_id: i64,
        manager_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET runner_manager_id = $1 WHERE id = $2")
            .bind(manager_id)
            .bind(job_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The managers that picked the given jobs, as (job id, manager), in one statement.
    pub async fn runner_managers_for_jobs(
        &self,
        job_ids: &[i64],
    ) -> Result<Vec<(i64, RunnerManager)>, StoreError> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        let job_ids = job_ids.to_vec();
        self.readers
            .run(move |conn| runner_managers_for_jobs(conn, &job_ids))
            .await
    }

    /// Which of these runners have a job running (or canceling) right now.
    pub async fn executing_runner_ids(&self, runner_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        if runner_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::new(
            "SELECT DISTINCT runner_id FROM jobs WHERE status IN ('running', 'canceling') AND runner_id IN (",
        );
        let mut separated = query.separated(", ");
        for id in runner_ids {
            separated.push_bind(*id);
        }
        query.push(")");
        let ids: Vec<i64> = query.build_query_scalar().fetch_all(&self.read).await?;
        Ok(ids)
    }

    pub async fn runner_by_id(&self, id: i64) -> Result<Option<Runner>, StoreError> {
        let row: Option<RunnerRow> = sqlx::query_as(&format!(
            "SELECT {RUNNER_COLUMNS} FROM runners WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.map(Runner::try_from).transpose()
    }

    /// Every runner, by id.
    pub async fn all_runners(&self) -> Result<Vec<Runner>, StoreError> {
        let rows: Vec<RunnerRow> =
            sqlx::query_as(&format!("SELECT {RUNNER_COLUMNS} FROM runners ORDER BY id"))
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(Runner::try_from).collect()
    }

    pub async fn update_runner(
        &self,
        id: i64,
        settings: &RunnerSettings,
    ) -> Result<Option<Runner>, StoreError> {
        let tag_list = serde_json::to_string(&settings.tag_list).map_err(crate::error::corrupt)?;
        let row: Option<RunnerRow> = sqlx::query_as(&format!(
            "UPDATE runners SET description = $1, paused = $2, tag_list = $3, run_untagged = $4,
                locked = $5, access_level = $6, maximum_timeout = $7
             WHERE id = $8 RETURNING {RUNNER_COLUMNS}"
        ))
        .bind(&settings.description)
        .bind(settings.paused)
        .bind(tag_list)
        .bind(settings.run_untagged)
        .bind(settings.locked)
        .bind(&settings.access_level)
        .bind(settings.maximum_timeout)
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        row.map(Runner::try_from).transpose()
    }

    /// Deletes a runner (its managers go with it; its jobs keep their history without it).
    pub async fn delete_runner(&self, id: i64) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM runners WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Replaces a runner's token hash.
    pub async fn reset_runner_token(&self, id: i64, token_hash: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("UPDATE runners SET token_hash = $1 WHERE id = $2")
            .bind(token_hash)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    /// One page of the builds a runner picked, by id, and how many there are.
    pub async fn runner_jobs(
        &self,
        runner_id: i64,
        filter: &RunnerJobFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Job>, i64), StoreError> {
        let statuses = &filter.statuses;
        let conditions = |query: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>| {
            query
                .push(" FROM jobs WHERE kind = 'build' AND runner_id = ")
                .push_bind(runner_id);
            if !statuses.is_empty() {
                query.push(" AND status IN (");
                let mut separated = query.separated(", ");
                for status in statuses {
                    separated.push_bind(status.as_str());
                }
                query.push(")");
            }
            if let Some(system_id) = &filter.system_id {
                query
                    .push(
                        " AND runner_manager_id IN (SELECT id FROM runner_managers WHERE runner_id = ",
                    )
                    .push_bind(runner_id)
                    .push(" AND system_id = ")
                    .push_bind(system_id.clone())
                    .push(")");
            }
        };
        let mut count = sqlx::QueryBuilder::new("SELECT COUNT(*)");
        conditions(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut query = sqlx::QueryBuilder::new(format!("SELECT {JOB_COLUMNS}"));
        conditions(&mut query);
        query
            .push(if filter.ascending {
                " ORDER BY id ASC LIMIT "
            } else {
                " ORDER BY id DESC LIMIT "
            })
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows: Vec<JobRow> = query.build_query_as().fetch_all(&self.read).await?;
        Ok((into_jobs(rows)?, total))
    }
}
