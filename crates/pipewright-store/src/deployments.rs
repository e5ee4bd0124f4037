//! Deployments and the job ↔ environment links they come from (ci-yaml.md §3.19).

use sqlx::{QueryBuilder, Sqlite};

use crate::jobs::{JOB_COLUMNS, JobRow, into_jobs};
use crate::model::Job;
use crate::{Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Deployment {
    pub id: i64,
    pub project_id: i64,
    pub iid: i64,
    pub environment_id: i64,
    pub job_id: Option<i64>,
    pub ref_name: String,
    pub tag: bool,
    pub sha: String,
    pub user_id: Option<i64>,
    /// `created`, `running`, `success`, `failed`, `canceled`, `skipped` or `blocked`.
    pub status: String,
    pub on_stop: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// A job's link to its environment, made once when processing first sees the job.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJobEnvironment {
    pub job_id: i64,
    pub environment_id: i64,
    /// `start`, `prepare`, `stop`, `verify` or `access`.
    pub action: String,
    /// Expanded `environment:url`.
    pub url: Option<String>,
    /// `environment:deployment_tier` when the job sets it.
    pub tier: Option<String>,
    pub auto_stop_in_seconds: Option<i64>,
    /// The deployment a `start` job makes.
    pub deployment: Option<NewDeployment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDeployment {
    pub project_id: i64,
    pub ref_name: String,
    pub tag: bool,
    pub sha: String,
    pub user_id: Option<i64>,
    pub on_stop: Option<String>,
}

/// A linked job whose status moved since it was last reflected.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobEnvironmentChange {
    pub job_id: i64,
    pub environment_id: i64,
    pub deployment_id: Option<i64>,
    pub deployment_status: Option<String>,
    pub action: String,
    pub url: Option<String>,
    pub tier: Option<String>,
    pub auto_stop_in_seconds: Option<i64>,
    pub synced_status: String,
    pub job_status: String,
    pub job_finished_at: Option<i64>,
}

/// What one change writes: the status now reflected, and the deployment's new status.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEnvironmentSync {
    pub job_id: i64,
    pub synced_status: String,
    pub deployment: Option<(i64, String, Option<i64>)>,
}

/// Sort keys of the deployments list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeploymentOrder {
    #[default]
    Id,
    UpdatedAt,
    FinishedAt,
    Ref,
}

/// Filters of `GET /projects/:id/deployments` (times in UTC milliseconds).
#[derive(Debug, Clone, Default)]
pub struct DeploymentFilter {
    pub environment_id: Option<i64>,
    pub status: Option<String>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    pub finished_after: Option<i64>,
    pub finished_before: Option<i64>,
    pub order: DeploymentOrder,
    pub ascending: bool,
}

const COLUMNS: &str = "id, project_id, iid, environment_id, job_id, ref_name, tag, sha, user_id, status, on_stop, created_at, updated_at, finished_at";

const CHANGE_COLUMNS: &str = "je.job_id, je.environment_id, je.deployment_id, d.status AS deployment_status, je.action, je.url, je.tier, je.auto_stop_in_seconds, je.synced_status, j.status AS job_status, j.finished_at AS job_finished_at";

fn push_filter(query: &mut QueryBuilder<'_, Sqlite>, project_id: i64, filter: &DeploymentFilter) {
    query.push(" WHERE project_id = ").push_bind(project_id);
    if let Some(environment_id) = filter.environment_id {
        query
            .push(" AND environment_id = ")
            .push_bind(environment_id);
    }
    if let Some(status) = &filter.status {
        query.push(" AND status = ").push_bind(status.clone());
    }
    // GitLab's bounds are exclusive.
    if let Some(after) = filter.updated_after {
        query.push(" AND updated_at > ").push_bind(after);
    }
    if let Some(before) = filter.updated_before {
        query.push(" AND updated_at < ").push_bind(before);
    }
    if let Some(after) = filter.finished_after {
        query.push(" AND finished_at > ").push_bind(after);
    }
    if let Some(before) = filter.finished_before {
        query.push(" AND finished_at < ").push_bind(before);
    }
}

impl Store {
    /// One page of a project's deployments, and how many match in all.
    pub async fn deployments_page(
        &self,
        project_id: i64,
        filter: &DeploymentFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Deployment>, i64), StoreError> {
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM deployments");
        push_filter(&mut count, project_id, filter);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut page = QueryBuilder::new(format!("SELECT {COLUMNS} FROM deployments"));
        push_filter(&mut page, project_id, filter);
        let direction = if filter.ascending { "ASC" } else { "DESC" };
        let order = match filter.order {
            DeploymentOrder::Id => format!("id {direction}"),
            // GitLab breaks ties of the time keys by the newest id.
            DeploymentOrder::UpdatedAt => format!("updated_at {direction}, id DESC"),
            DeploymentOrder::FinishedAt => format!("finished_at {direction}, id DESC"),
            DeploymentOrder::Ref => format!("ref_name {direction}, id {direction}"),
        };
        page.push(format!(" ORDER BY {order} LIMIT "))
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows = page.build_query_as().fetch_all(&self.read).await?;
        Ok((rows, total))
    }

    pub async fn deployment_by_id(
        &self,
        project_id: i64,
        id: i64,
    ) -> Result<Option<Deployment>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM deployments WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn deployment_by_job(&self, job_id: i64) -> Result<Option<Deployment>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM deployments WHERE job_id = $1"
        ))
        .bind(job_id)
        .fetch_optional(&self.write)
        .await?)
    }

    /// GitLab's `Environment#last_deployment`: the successful one that finished last.
    pub async fn last_successful_deployment(
        &self,
        environment_id: i64,
    ) -> Result<Option<Deployment>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM deployments WHERE environment_id = $1 AND status = 'success'
             ORDER BY finished_at DESC, id DESC LIMIT 1"
        ))
        .bind(environment_id)
        .fetch_optional(&self.write)
        .await?)
    }

    /// Jobs of a pipeline that environment linking has not looked at yet.
    pub async fn pipeline_jobs_to_link(&self, pipeline_id: i64) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE pipeline_id = $1 AND id > COALESCE(
                (SELECT last_job_id FROM pipeline_environment_scans WHERE pipeline_id = $1), 0)
             ORDER BY id"
        ))
        .bind(pipeline_id)
        .fetch_all(&self.write)
        .await?;
        into_jobs(rows)
    }

    /// Records the links (and deployments, numbered per project) of a pipeline's new jobs,
    /// and that jobs up to `last_job_id` have been looked at, in one transaction. A job
    /// linked before keeps its first link.
    pub async fn link_job_environments(
        &self,
        pipeline_id: i64,
        links: &[NewJobEnvironment],
        last_job_id: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        for link in links {
            let linked: Option<i64> =
                sqlx::query_scalar("SELECT job_id FROM job_environments WHERE job_id = $1")
                    .bind(link.job_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if linked.is_some() {
                continue;
            }
            let deployment_id = match &link.deployment {
                Some(new) => {
                    let iid: i64 = sqlx::query_scalar(
                        "SELECT COALESCE(MAX(iid), 0) + 1 FROM deployments WHERE project_id = $1",
                    )
                    .bind(new.project_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO deployments (project_id, iid, environment_id, job_id, ref_name, tag, sha, user_id, status, on_stop, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'created', $9, $10, $10) RETURNING id",
                    )
                    .bind(new.project_id)
                    .bind(iid)
                    .bind(link.environment_id)
                    .bind(link.job_id)
                    .bind(&new.ref_name)
                    .bind(new.tag)
                    .bind(&new.sha)
                    .bind(new.user_id)
                    .bind(&new.on_stop)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    Some(id)
                }
                None => None,
            };
            sqlx::query(
                "INSERT INTO job_environments (job_id, pipeline_id, environment_id, deployment_id, action, url, tier, auto_stop_in_seconds, synced_status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'created')",
            )
            .bind(link.job_id)
            .bind(pipeline_id)
            .bind(link.environment_id)
            .bind(deployment_id)
            .bind(&link.action)
            .bind(&link.url)
            .bind(&link.tier)
            .bind(link.auto_stop_in_seconds)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO pipeline_environment_scans (pipeline_id, last_job_id) VALUES ($1, $2)
             ON CONFLICT (pipeline_id) DO UPDATE SET last_job_id = $2
             WHERE pipeline_environment_scans.last_job_id < $2",
        )
        .bind(pipeline_id)
        .bind(last_job_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Linked jobs of a pipeline whose status moved since it was last reflected.
    pub async fn job_environment_changes(
        &self,
        pipeline_id: i64,
    ) -> Result<Vec<JobEnvironmentChange>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CHANGE_COLUMNS} FROM job_environments je
             JOIN jobs j ON j.id = je.job_id
             LEFT JOIN deployments d ON d.id = je.deployment_id
             WHERE je.pipeline_id = $1 AND je.synced_status <> j.status
             ORDER BY je.job_id"
        ))
        .bind(pipeline_id)
        .fetch_all(&self.write)
        .await?)
    }

    /// The same for one job.
    pub async fn job_environment_change(
        &self,
        job_id: i64,
    ) -> Result<Option<JobEnvironmentChange>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CHANGE_COLUMNS} FROM job_environments je
             JOIN jobs j ON j.id = je.job_id
             LEFT JOIN deployments d ON d.id = je.deployment_id
             WHERE je.job_id = $1 AND je.synced_status <> j.status"
        ))
        .bind(job_id)
        .fetch_optional(&self.write)
        .await?)
    }

    /// Writes reflected statuses and deployment statuses, each only if nobody reflected a
    /// newer status meanwhile, in one transaction; returns the jobs whose sync applied.
    pub async fn apply_job_environment_syncs(
        &self,
        syncs: &[(JobEnvironmentSync, String)],
    ) -> Result<Vec<i64>, StoreError> {
        if syncs.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let mut applied = Vec::new();
        let mut tx = self.write.begin().await?;
        for (sync, expected) in syncs {
            let done = sqlx::query(
                "UPDATE job_environments SET synced_status = $1 WHERE job_id = $2 AND synced_status = $3",
            )
            .bind(&sync.synced_status)
            .bind(sync.job_id)
            .bind(expected)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                continue;
            }
            applied.push(sync.job_id);
            if let Some((deployment_id, status, finished_at)) = &sync.deployment {
                sqlx::query(
                    "UPDATE deployments SET status = $1, finished_at = COALESCE($2, finished_at), updated_at = $3
                     WHERE id = $4",
                )
                .bind(status)
                .bind(finished_at)
                .bind(now)
                .bind(deployment_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(applied)
    }

    /// The jobs of deployments (any kind), in id order.
    pub async fn deployment_jobs(&self, ids: &[i64]) -> Result<Vec<Job>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id IN ("));
        let mut separated = query.separated(", ");
        for id in ids {
            separated.push_bind(*id);
        }
        query.push(") ORDER BY id");
        let rows: Vec<JobRow> = query.build_query_as().fetch_all(&self.read).await?;
        into_jobs(rows)
    }

    /// The latest job named `name` in a pipeline (an `on_stop` job).
    pub async fn latest_pipeline_job_named(
        &self,
        pipeline_id: i64,
        name: &str,
    ) -> Result<Option<Job>, StoreError> {
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE pipeline_id = $1 AND name = $2
             ORDER BY id DESC LIMIT 1"
        ))
        .bind(pipeline_id)
        .bind(name)
        .fetch_optional(&self.write)
        .await?;
        Ok(into_jobs(row.into_iter().collect())?.pop())
    }
}
