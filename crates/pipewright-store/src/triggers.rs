//! Pipeline trigger tokens (`/projects/:id/triggers`).

use sqlx::FromRow;

use crate::{Store, StoreError, now_ms};

/// A project's trigger token. The clear token is kept: GitLab shows it again to its owner.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct PipelineTrigger {
    pub id: i64,
    pub project_id: i64,
    pub owner_id: Option<i64>,
    pub description: String,
    pub token: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used: Option<i64>,
}

const TRIGGER_COLUMNS: &str =
    "id, project_id, owner_id, description, token, created_at, updated_at, last_used";

pub struct NewTrigger<'a> {
    pub project_id: i64,
    pub owner_id: i64,
    pub description: &'a str,
    pub token: &'a str,
    pub token_hash: &'a str,
}

impl Store {
    pub async fn create_trigger(
        &self,
        new: &NewTrigger<'_>,
    ) -> Result<PipelineTrigger, StoreError> {
        let now = now_ms();
        let trigger: PipelineTrigger = sqlx::query_as(&format!(
            "INSERT INTO pipeline_triggers (project_id, owner_id, description, token, token_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {TRIGGER_COLUMNS}"
        ))
        .bind(new.project_id)
        .bind(new.owner_id)
        .bind(new.description)
        .bind(new.token)
        .bind(new.token_hash)
        .bind(now)
        .fetch_one(&self.write)
        .await?;
        Ok(trigger)
    }

    pub async fn list_triggers(&self, project_id: i64) -> Result<Vec<PipelineTrigger>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TRIGGER_COLUMNS} FROM pipeline_triggers WHERE project_id = $1 ORDER BY id DESC"
        ))
        .bind(project_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn trigger_by_id(&self, id: i64) -> Result<Option<PipelineTrigger>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TRIGGER_COLUMNS} FROM pipeline_triggers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The project's trigger with this token hash.
    pub async fn trigger_by_token_hash(
        &self,
        project_id: i64,
        token_hash: &str,
    ) -> Result<Option<PipelineTrigger>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TRIGGER_COLUMNS} FROM pipeline_triggers WHERE project_id = $1 AND token_hash = $2"
        ))
        .bind(project_id)
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn delete_trigger(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM pipeline_triggers WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn touch_trigger(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE pipeline_triggers SET last_used = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
