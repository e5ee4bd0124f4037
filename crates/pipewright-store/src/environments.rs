//! Environments (ci-yaml.md §3.19): one per project and name, created by the API or by the
//! first job that names it.

use sqlx::{QueryBuilder, Sqlite};

use crate::{Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Environment {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub slug: String,
    pub external_url: Option<String>,
    pub description: Option<String>,
    /// `production`, `staging`, `testing`, `development` or `other`.
    pub tier: String,
    /// `available`, `stopping` or `stopped`.
    pub state: String,
    pub auto_stop_at: Option<i64>,
    pub auto_stop_setting: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An environment to create (the API, or a job's `environment:`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEnvironment {
    pub name: String,
    pub slug: String,
    pub external_url: Option<String>,
    pub tier: String,
    pub auto_stop_at: Option<i64>,
}

/// What the environments list keeps.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentFilter {
    pub name: Option<String>,
    /// Names starting with this, case-insensitively.
    pub name_prefix: Option<String>,
    /// Empty = every state.
    pub states: Vec<String>,
}

/// Changes of `PUT /environments/:id` (absent fields stay).
#[derive(Debug, Clone, Default)]
pub struct EnvironmentUpdate {
    pub name: Option<String>,
    pub external_url: Option<String>,
    pub tier: Option<String>,
    pub description: Option<String>,
}

/// What a successful deployment writes onto its environment (GitLab's
/// `Deployments::UpdateEnvironmentService`): a url and tier when the job gives them, the
/// auto-stop time, and `available` again.
#[derive(Debug, Clone, Default)]
pub struct DeployedEnvironment {
    pub external_url: Option<String>,
    pub tier: Option<String>,
    pub auto_stop_at: Option<i64>,
}

const COLUMNS: &str = "id, project_id, name, slug, external_url, description, tier, state, auto_stop_at, auto_stop_setting, created_at, updated_at";

fn push_filter(query: &mut QueryBuilder<'_, Sqlite>, project_id: i64, filter: &EnvironmentFilter) {
    query.push(" WHERE project_id = ").push_bind(project_id);
    if let Some(name) = &filter.name {
        query.push(" AND name = ").push_bind(name.clone());
    }
    if let Some(prefix) = &filter.name_prefix {
        let escaped = prefix
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query
            .push(" AND LOWER(name) LIKE ")
            .push_bind(format!("{escaped}%"))
            .push(" ESCAPE '\\'");
    }
    if !filter.states.is_empty() {
        query.push(" AND state IN (");
        let mut separated = query.separated(", ");
        for state in &filter.states {
            separated.push_bind(state.clone());
        }
        query.push(")");
    }
}

impl Store {
    /// One page of a project's environments in id order, and how many match in all.
    pub async fn environments_page(
        &self,
        project_id: i64,
        filter: &EnvironmentFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Environment>, i64), StoreError> {
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM environments");
        push_filter(&mut count, project_id, filter);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut page = QueryBuilder::new(format!("SELECT {COLUMNS} FROM environments"));
        push_filter(&mut page, project_id, filter);
        page.push(" ORDER BY id LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows = page.build_query_as().fetch_all(&self.read).await?;
        Ok((rows, total))
    }

    pub async fn environment_by_id(
        &self,
        project_id: i64,
        id: i64,
    ) -> Result<Option<Environment>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM environments WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Environments by id (any project), for rendering deployments.
    pub async fn environments_by_ids(&self, ids: &[i64]) -> Result<Vec<Environment>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query =
            QueryBuilder::new(format!("SELECT {COLUMNS} FROM environments WHERE id IN ("));
        let mut separated = query.separated(", ");
        for id in ids {
            separated.push_bind(*id);
        }
        query.push(")");
        Ok(query.build_query_as().fetch_all(&self.read).await?)
    }

    /// Fails with [`StoreError::Duplicate`] when the project has an environment of that name.
    pub async fn create_environment(
        &self,
        project_id: i64,
        new: &NewEnvironment,
    ) -> Result<Environment, StoreError> {
        let now = now_ms();
        Ok(sqlx::query_as(&format!(
            "INSERT INTO environments (project_id, name, slug, external_url, tier, auto_stop_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
        ))
        .bind(project_id)
        .bind(&new.name)
        .bind(&new.slug)
        .bind(&new.external_url)
        .bind(&new.tier)
        .bind(new.auto_stop_at)
        .bind(now)
        .fetch_one(&self.write)
        .await?)
    }

    /// The project's environments of these names, each created from its `NewEnvironment`
    /// when missing (an existing one is left as it is), in one transaction.
    pub async fn ensure_environments(
        &self,
        project_id: i64,
        wanted: &[NewEnvironment],
    ) -> Result<Vec<Environment>, StoreError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        for new in wanted {
            sqlx::query(
                "INSERT INTO environments (project_id, name, slug, external_url, tier, auto_stop_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (project_id, name) DO NOTHING",
            )
            .bind(project_id)
            .bind(&new.name)
            .bind(&new.slug)
            .bind(&new.external_url)
            .bind(&new.tier)
            .bind(new.auto_stop_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let mut query = QueryBuilder::new(format!(
            "SELECT {COLUMNS} FROM environments WHERE project_id = "
        ));
        query.push_bind(project_id).push(" AND name IN (");
        let mut separated = query.separated(", ");
        for new in wanted {
            separated.push_bind(new.name.clone());
        }
        query.push(")");
        let found = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Applies `update`; `None` when the environment does not exist, [`StoreError::Duplicate`]
    /// when the new name is taken.
    pub async fn update_environment(
        &self,
        project_id: i64,
        id: i64,
        update: &EnvironmentUpdate,
    ) -> Result<Option<Environment>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "UPDATE environments SET name = COALESCE($3, name),
                external_url = COALESCE($4, external_url), tier = COALESCE($5, tier),
                description = COALESCE($6, description), updated_at = $7
             WHERE project_id = $1 AND id = $2 RETURNING {COLUMNS}"
        ))
        .bind(project_id)
        .bind(id)
        .bind(&update.name)
        .bind(&update.external_url)
        .bind(&update.tier)
        .bind(&update.description)
        .bind(now_ms())
        .fetch_optional(&self.write)
        .await?)
    }

    /// Moves an environment to `state` when it is in one of `from`; whether it moved.
    pub async fn set_environment_state(
        &self,
        id: i64,
        from: &[&str],
        state: &str,
    ) -> Result<bool, StoreError> {
        let mut query = QueryBuilder::new("UPDATE environments SET state = ");
        query
            .push_bind(state.to_owned())
            .push(", updated_at = ")
            .push_bind(now_ms());
        if state != "available" {
            // A stopped environment has nothing left to stop automatically.
            query.push(", auto_stop_at = NULL");
        }
        query
            .push(" WHERE id = ")
            .push_bind(id)
            .push(" AND state IN (");
        let mut separated = query.separated(", ");
        for state in from {
            separated.push_bind((*state).to_owned());
        }
        query.push(")");
        let done = query.build().execute(&self.write).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Available environments whose `auto_stop_at` is before `now`, oldest first (GitLab's
    /// `Environment.auto_stoppable`); served by the `environments_auto_stop` index.
    pub async fn environments_to_auto_stop(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<Environment>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM environments
             WHERE state = 'available' AND auto_stop_at IS NOT NULL AND auto_stop_at < $1
             ORDER BY auto_stop_at, id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.write)
        .await?)
    }

    /// GitLab's `deployed_and_updated_before`: a project's available environments updated
    /// before `before` with no deployment updated since, in id order.
    pub async fn stale_environments(
        &self,
        project_id: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<Environment>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM environments e
             WHERE e.project_id = $1 AND e.state = 'available' AND e.updated_at < $2
               AND NOT EXISTS (SELECT 1 FROM deployments d
                               WHERE d.environment_id = e.id AND d.updated_at >= $2)
             ORDER BY e.id LIMIT $3"
        ))
        .bind(project_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.write)
        .await?)
    }

    /// GitLab's `stopped_review_apps`: a project's stopped environments in the `review/`
    /// folder created before `before`, oldest first.
    pub async fn stopped_review_apps(
        &self,
        project_id: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<Environment>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM environments
             WHERE project_id = $1 AND state = 'stopped' AND substr(name, 1, 7) = 'review/'
               AND created_at < $2
             ORDER BY created_at, id LIMIT $3"
        ))
        .bind(project_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.write)
        .await?)
    }

    /// A successful deployment reached the environment.
    pub async fn record_environment_deployed(
        &self,
        id: i64,
        deployed: &DeployedEnvironment,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE environments SET state = 'available',
                external_url = COALESCE($2, external_url), tier = COALESCE($3, tier),
                auto_stop_at = $4, updated_at = $5
             WHERE id = $1",
        )
        .bind(id)
        .bind(&deployed.external_url)
        .bind(&deployed.tier)
        .bind(deployed.auto_stop_at)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Deletes an environment with its deployments; whether it existed.
    pub async fn delete_environment(&self, project_id: i64, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM environments WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The project's "Prevent outdated deployment jobs" settings: (enabled, rollback allowed).
    pub async fn forward_deployment_settings(
        &self,
        project_id: i64,
    ) -> Result<(bool, bool), StoreError> {
        let row: Option<(bool, bool)> = sqlx::query_as(
            "SELECT forward_deployment_enabled, forward_deployment_rollback_allowed
             FROM project_deployment_settings WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_optional(&self.write)
        .await?;
        Ok(row.unwrap_or((true, true)))
    }

    /// Changes either setting (absent = unchanged).
    pub async fn set_forward_deployment_settings(
        &self,
        project_id: i64,
        enabled: Option<bool>,
        rollback_allowed: Option<bool>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO project_deployment_settings (project_id, forward_deployment_enabled, forward_deployment_rollback_allowed)
             VALUES ($1, COALESCE($2, TRUE), COALESCE($3, TRUE))
             ON CONFLICT (project_id) DO UPDATE SET
                forward_deployment_enabled = COALESCE($2, project_deployment_settings.forward_deployment_enabled),
                forward_deployment_rollback_allowed = COALESCE($3, project_deployment_settings.forward_deployment_rollback_allowed)",
        )
        .bind(project_id)
        .bind(enabled)
        .bind(rollback_allowed)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
