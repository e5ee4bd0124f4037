//! Resource groups and their process mode (ci-yaml.md §3.18).

use crate::{Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ResourceGroup {
    pub id: i64,
    pub project_id: i64,
    pub key: String,
    /// `unordered`, `oldest_first`, `newest_first` or `newest_ready_first`.
    pub process_mode: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, project_id, key, process_mode, created_at, updated_at";

impl Store {
    /// The group of `key` in a project, created (`unordered`) when it does not exist yet.
    pub async fn ensure_resource_group(
        &self,
        project_id: i64,
        key: &str,
    ) -> Result<ResourceGroup, StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO resource_groups (project_id, key, created_at, updated_at)
             VALUES ($1, $2, $3, $3) ON CONFLICT (project_id, key) DO NOTHING",
        )
        .bind(project_id)
        .bind(key)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM resource_groups WHERE project_id = $1 AND key = $2"
        ))
        .bind(project_id)
        .bind(key)
        .fetch_one(&self.write)
        .await?)
    }

    pub async fn resource_group(
        &self,
        project_id: i64,
        key: &str,
    ) -> Result<Option<ResourceGroup>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM resource_groups WHERE project_id = $1 AND key = $2"
        ))
        .bind(project_id)
        .bind(key)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Every group of a project, oldest first.
    pub async fn resource_groups(&self, project_id: i64) -> Result<Vec<ResourceGroup>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM resource_groups WHERE project_id = $1 ORDER BY id"
        ))
        .bind(project_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Sets a group's process mode; `None` when the group does not exist.
    pub async fn set_resource_group_process_mode(
        &self,
        project_id: i64,
        key: &str,
        process_mode: &str,
    ) -> Result<Option<ResourceGroup>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "UPDATE resource_groups SET process_mode = $3, updated_at = $4
             WHERE project_id = $1 AND key = $2 RETURNING {COLUMNS}"
        ))
        .bind(project_id)
        .bind(key)
        .bind(process_mode)
        .bind(now_ms())
        .fetch_optional(&self.write)
        .await?)
    }
}
