//! Protected environments and their deploy access levels.

use crate::{Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeployAccessLevel {
    pub id: i64,
    pub protected_environment_id: i64,
    pub access_level: Option<i32>,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub group_inheritance_type: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProtectedEnvironment {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub required_approval_count: i32,
    /// Oldest first.
    pub deploy_access_levels: Vec<DeployAccessLevel>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    project_id: i64,
    name: String,
    required_approval_count: i32,
}

/// One of `access_level`, `user_id` or `group_id` (the caller validates that).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewDeployAccessLevel {
    pub access_level: Option<i32>,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub group_inheritance_type: i32,
}

/// What `PUT /protected_environments/:name` changes.
#[derive(Debug, Clone, Default)]
pub struct ProtectedEnvironmentUpdate {
    pub required_approval_count: Option<i32>,
    pub add: Vec<NewDeployAccessLevel>,
    /// Deploy access level ids to remove (ids of other environments are ignored).
    pub remove: Vec<i64>,
}

const ROW: &str = "id, project_id, name, required_approval_count";
const LEVEL: &str =
    "id, protected_environment_id, access_level, user_id, group_id, group_inheritance_type";

impl Store {
    /// A project's protected environments by name (a project has a handful).
    pub async fn protected_environments(
        &self,
        project_id: i64,
    ) -> Result<Vec<ProtectedEnvironment>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {ROW} FROM protected_environments WHERE project_id = $1 ORDER BY name, id"
        ))
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        let levels: Vec<DeployAccessLevel> = sqlx::query_as(&format!(
            "SELECT {LEVEL} FROM protected_environment_deploy_access_levels
             WHERE protected_environment_id IN
                 (SELECT id FROM protected_environments WHERE project_id = $1)
             ORDER BY id"
        ))
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| with_levels(row, &levels))
            .collect())
    }

    pub async fn protected_environment_by_name(
        &self,
        project_id: i64,
        name: &str,
    ) -> Result<Option<ProtectedEnvironment>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {ROW} FROM protected_environments WHERE project_id = $1 AND name = $2"
        ))
        .bind(project_id)
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        self.load_levels(row).await
    }

    /// The protected environment a job deploys to (through its environment link), if any.
    pub async fn job_protected_environment(
        &self,
        job_id: i64,
    ) -> Result<Option<ProtectedEnvironment>, StoreError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT pe.id, pe.project_id, pe.name, pe.required_approval_count
             FROM job_environments je
             JOIN environments e ON e.id = je.environment_id
             JOIN protected_environments pe ON pe.project_id = e.project_id AND pe.name = e.name
             WHERE je.job_id = $1",
        )
        .bind(job_id)
        .fetch_optional(&self.read)
        .await?;
        self.load_levels(row).await
    }

    async fn load_levels(
        &self,
        row: Option<Row>,
    ) -> Result<Option<ProtectedEnvironment>, StoreError> {
        let Some(row) = row else {
            return Ok(None);
        };
        let levels: Vec<DeployAccessLevel> = sqlx::query_as(&format!(
            "SELECT {LEVEL} FROM protected_environment_deploy_access_levels
             WHERE protected_environment_id = $1 ORDER BY id"
        ))
        .bind(row.id)
        .fetch_all(&self.read)
        .await?;
        Ok(Some(with_levels(row, &levels)))
    }

    /// Fails with [`StoreError::Duplicate`] when the project already protects `name`.
    pub async fn create_protected_environment(
        &self,
        project_id: i64,
        name: &str,
        required_approval_count: i32,
        levels: &[NewDeployAccessLevel],
    ) -> Result<ProtectedEnvironment, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO protected_environments (project_id, name, required_approval_count, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(project_id)
        .bind(name)
        .bind(required_approval_count)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for level in levels {
            insert_level(&mut tx, id, level, now).await?;
        }
        tx.commit().await?;
        self.protected_environment_by_id(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("protected environment vanished".into()))
    }

    pub async fn update_protected_environment(
        &self,
        id: i64,
        update: &ProtectedEnvironmentUpdate,
    ) -> Result<Option<ProtectedEnvironment>, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        if let Some(count) = update.required_approval_count {
            sqlx::query(
                "UPDATE protected_environments SET required_approval_count = $1 WHERE id = $2",
            )
            .bind(count)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        for level_id in &update.remove {
            sqlx::query(
                "DELETE FROM protected_environment_deploy_access_levels
                 WHERE id = $1 AND protected_environment_id = $2",
            )
            .bind(level_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        for level in &update.add {
            insert_level(&mut tx, id, level, now).await?;
        }
        tx.commit().await?;
        self.protected_environment_by_id(id).await
    }

    pub async fn delete_protected_environment(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM protected_environments WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn protected_environment_by_id(
        &self,
        id: i64,
    ) -> Result<Option<ProtectedEnvironment>, StoreError> {
        // Read through the writer: the row was just written.
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {ROW} FROM protected_environments WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let levels: Vec<DeployAccessLevel> = sqlx::query_as(&format!(
            "SELECT {LEVEL} FROM protected_environment_deploy_access_levels
             WHERE protected_environment_id = $1 ORDER BY id"
        ))
        .bind(id)
        .fetch_all(&self.write)
        .await?;
        Ok(Some(with_levels(row, &levels)))
    }

    /// Whether the user is a direct member of any of the groups.
    pub async fn is_direct_member_of_any_group(
        &self,
        user_id: i64,
        group_ids: &[i64],
    ) -> Result<bool, StoreError> {
        for group_id in group_ids {
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM members
                 WHERE source_type = 'namespace' AND source_id = $1 AND user_id = $2",
            )
            .bind(group_id)
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?;
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

async fn insert_level(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    protected_environment_id: i64,
    level: &NewDeployAccessLevel,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO protected_environment_deploy_access_levels
             (protected_environment_id, access_level, user_id, group_id, group_inheritance_type, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(protected_environment_id)
    .bind(level.access_level)
    .bind(level.user_id)
    .bind(level.group_id)
    .bind(level.group_inheritance_type)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn with_levels(row: Row, levels: &[DeployAccessLevel]) -> ProtectedEnvironment {
    ProtectedEnvironment {
        deploy_access_levels: levels
            .iter()
            .filter(|level| level.protected_environment_id == row.id)
            .cloned()
            .collect(),
        id: row.id,
        project_id: row.project_id,
        name: row.name,
        required_approval_count: row.required_approval_count,
    }
}
