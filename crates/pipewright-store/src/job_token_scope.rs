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

/// An allowlist entry's permissions: default (the user's role) or only the named policies.
pub type LinkPermissions = (bool, Vec<String>);

fn encode_policies(policies: &[String]) -> String {
    serde_json::to_string(policies).unwrap_or_else(|_| "[]".into())
}

fn decode_policies(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

impl Store {
    /// Sets the permissions of `source_project_id`'s entry on `project_id`'s allowlist;
    /// false when there is no such entry.
    pub async fn set_job_token_project_link_permissions(
        &self,
        project_id: i64,
        source_project_id: i64,
        default_permissions: bool,
        policies: &[String],
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE job_token_project_allowlist SET default_permissions = $1, job_token_policies = $2
             WHERE project_id = $3 AND source_project_id = $4",
        )
        .bind(default_permissions)
        .bind(encode_policies(policies))
        .bind(project_id)
        .bind(source_project_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Like [`Store::set_job_token_project_link_permissions`] for a group entry.
    pub async fn set_job_token_group_link_permissions(
        &self,
        project_id: i64,
        group_id: i64,
        default_permissions: bool,
        policies: &[String],
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE job_token_group_allowlist SET default_permissions = $1, job_token_policies = $2
             WHERE project_id = $3 AND group_id = $4",
        )
        .bind(default_permissions)
        .bind(encode_policies(policies))
        .bind(project_id)
        .bind(group_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The permissions of `source_project_id`'s entry on `project_id`'s allowlist.
    pub async fn job_token_project_link_permissions(
        &self,
        project_id: i64,
        source_project_id: i64,
    ) -> Result<Option<LinkPermissions>, StoreError> {
        let row: Option<(bool, String)> = sqlx::query_as(
            "SELECT default_permissions, job_token_policies FROM job_token_project_allowlist
             WHERE project_id = $1 AND source_project_id = $2",
        )
        .bind(project_id)
        .bind(source_project_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|(default, policies)| (default, decode_policies(&policies))))
    }

    /// The permissions of `group_id`'s entry on `project_id`'s group allowlist.
    pub async fn job_token_group_link_permissions(
        &self,
        project_id: i64,
        group_id: i64,
    ) -> Result<Option<LinkPermissions>, StoreError> {
        let row: Option<(bool, String)> = sqlx::query_as(
            "SELECT default_permissions, job_token_policies FROM job_token_group_allowlist
             WHERE project_id = $1 AND group_id = $2",
        )
        .bind(project_id)
        .bind(group_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|(default, policies)| (default, decode_policies(&policies))))
    }

    /// Whether any entry of the project's allowlists opted into fine-grained permissions.
    pub async fn job_token_policies_in_use(&self, project_id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM job_token_project_allowlist WHERE project_id = $1 AND NOT default_permissions
             UNION ALL
             SELECT 1 FROM job_token_group_allowlist WHERE project_id = $1 AND NOT default_permissions
             LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(found.is_some())
    }
}
