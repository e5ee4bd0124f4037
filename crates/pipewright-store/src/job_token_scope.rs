//! The inbound CI/CD job token scope of a project and its project/group allowlists.

use crate::{Store, StoreError, now_ms};

impl Store {
    pub async fn inbound_job_token_scope_enabled(
        &self,
        project_id: i64,
    ) -> Result<bool, StoreError> {
        let enabled: Option<bool> = sqlx::query_scalar(
            "SELECT ci_inbound_job_token_scope_enabled FROM projects WHERE id = $1",
        )
        .bind(project_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(enabled.unwrap_or(true))
    }

    pub async fn set_inbound_job_token_scope_enabled(
        &self,
        project_id: i64,
        enabled: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE projects SET ci_inbound_job_token_scope_enabled = $1 WHERE id = $2")
            .bind(enabled)
            .bind(project_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Lets job tokens of `source_project_id` reach `project_id`; false if already allowed.
    pub async fn add_job_token_project_link(
        &self,
        project_id: i64,
        source_project_id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO job_token_project_allowlist (project_id, source_project_id, created_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(project_id)
        .bind(source_project_id)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn remove_job_token_project_link(
        &self,
        project_id: i64,
        source_project_id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM job_token_project_allowlist WHERE project_id = $1 AND source_project_id = $2",
        )
        .bind(project_id)
        .bind(source_project_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Projects whose job tokens may reach `project_id`, in the order they were added.
    pub async fn job_token_allowlisted_projects(
        &self,
        project_id: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT source_project_id FROM job_token_project_allowlist WHERE project_id = $1 ORDER BY created_at, source_project_id",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn add_job_token_group_link(
        &self,
        project_id: i64,
        group_id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO job_token_group_allowlist (project_id, group_id, created_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(project_id)
        .bind(group_id)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn remove_job_token_group_link(
        &self,
        project_id: i64,
        group_id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM job_token_group_allowlist WHERE project_id = $1 AND group_id = $2",
        )
        .bind(project_id)
        .bind(group_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Groups under which every project's job tokens may reach `project_id`.
    pub async fn job_token_allowlisted_groups(
        &self,
        project_id: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT group_id FROM job_token_group_allowlist WHERE project_id = $1 ORDER BY created_at, group_id",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?)
    }
}
