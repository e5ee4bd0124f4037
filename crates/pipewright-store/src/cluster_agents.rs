//! Kubernetes agents registered in projects.

use crate::{Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClusterAgent {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub created_by_user_id: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, project_id, name, created_by_user_id, created_at";

impl Store {
    /// Fails with [`StoreError::Duplicate`] when the project already has an agent `name`.
    pub async fn create_cluster_agent(
        &self,
        project_id: i64,
        name: &str,
        created_by: i64,
    ) -> Result<ClusterAgent, StoreError> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO cluster_agents (project_id, name, created_by_user_id, created_at)
             VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
        ))
        .bind(project_id)
        .bind(name)
        .bind(created_by)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await?)
    }

    pub async fn cluster_agents(&self, project_id: i64) -> Result<Vec<ClusterAgent>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM cluster_agents WHERE project_id = $1 ORDER BY id"
        ))
        .bind(project_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Every agent of the instance, for resolving which of them authorize a project.
    pub async fn all_cluster_agents(&self) -> Result<Vec<ClusterAgent>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM cluster_agents ORDER BY id"))
                .fetch_all(&self.read)
                .await?,
        )
    }
}
