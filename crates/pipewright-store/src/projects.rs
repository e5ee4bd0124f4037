use crate::model::Project;
use crate::reader::{self, Columns};
use crate::{Store, StoreError, now_ms};

const PROJECT_COLUMNS: &str = "id, namespace_id, name, path, full_path, description, visibility, default_branch, public_jobs, ci_config_path, ci_pipeline_variables_minimum_override_role, job_token_scope_enabled, creator_id, created_at, updated_at, builds_access_level, repository_access_level";

/// A [`PROJECT_COLUMNS`] row on the read path, columns in that order.
fn read_project(row: &rusqlite::Row<'_>) -> Result<Project, StoreError> {
    let mut c = Columns::new(row);
    Ok(Project {
        id: c.next()?,
        namespace_id: c.next()?,
        name: c.next()?,
        path: c.next()?,
        full_path: c.next()?,
        description: c.next()?,
        visibility: c.next()?,
        default_branch: c.next()?,
        public_jobs: c.next()?,
        ci_config_path: c.next()?,
        ci_pipeline_variables_minimum_override_role: c.next()?,
        job_token_scope_enabled: c.next()?,
        creator_id: c.next()?,
        created_at: c.next()?,
        updated_at: c.next()?,
        builds_access_level: c.next()?,
        repository_access_level: c.next()?,
    })
}

pub struct NewProject {
    pub namespace_id: i64,
    pub name: String,
    pub path: String,
    pub full_path: String,
    pub description: Option<String>,
    pub visibility: String,
    pub default_branch: String,
    pub public_jobs: bool,
    pub ci_pipeline_variables_minimum_override_role: String,
    pub creator_id: i64,
}

impl Store {
    pub async fn create_project(&self, new: &NewProject) -> Result<Project, StoreError> {
        let now = now_ms();
        Ok(sqlx::query_as(&format!(
            "INSERT INTO projects (namespace_id, name, path, full_path, full_path_lower, description, visibility,
                default_branch, public_jobs, ci_pipeline_variables_minimum_override_role, creator_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING {PROJECT_COLUMNS}"
        ))
        .bind(new.namespace_id)
        .bind(&new.name)
        .bind(&new.path)
        .bind(&new.full_path)
        .bind(new.full_path.to_lowercase())
        .bind(&new.description)
        .bind(&new.visibility)
        .bind(&new.default_branch)
        .bind(new.public_jobs)
        .bind(&new.ci_pipeline_variables_minimum_override_role)
        .bind(new.creator_id)
        .bind(now)
        .fetch_one(&self.write)
        .await?)
    }

    /// Removes a project row whose creation could not be completed (e.g. its repository failed).
    pub async fn delete_project(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Cached until the next write to the access tables (see `cache`).
    pub async fn project_by_id(&self, id: i64) -> Result<Option<Project>, StoreError> {
        let generation = self.watch.access.current();
        let key = id.to_string();
        if let Some(project) = self.caches.project_by_id.get(&key, generation) {
            return Ok(Some(project));
        }
        let project = self
            .readers
            .run(move |conn| {
                reader::query_optional(
                    conn,
                    &format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1"),
                    &[&id],
                    read_project,
                )
            })
            .await?;
        if let Some(project) = &project {
            self.caches.project_by_id.put(&key, generation, project);
        }
        Ok(project)
    }

    /// Case-insensitive lookup by `namespace/path`, as GitLab resolves `:id`; cached like
    /// [`Store::project_by_id`].
    pub async fn project_by_full_path(
        &self,
        full_path: &str,
    ) -> Result<Option<Project>, StoreError> {
        let generation = self.watch.access.current();
        let key = full_path.to_lowercase();
        if let Some(project) = self.caches.project_by_path.get(&key, generation) {
            return Ok(Some(project));
        }
        let lower = key.clone();
        let project = self
            .readers
            .run(move |conn| {
                reader::query_optional(
                    conn,
                    &format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE full_path_lower = $1"),
                    &[&lower],
                    read_project,
                )
            })
            .await?;
        if let Some(project) = &project {
            self.caches.project_by_path.put(&key, generation, project);
        }
        Ok(project)
    }

    /// Adds or updates a membership (`source_type` is `project` or `namespace`).
    pub async fn upsert_member(
        &self,
        source_type: &str,
        source_id: i64,
        user_id: i64,
        access_level: i32,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO members (source_type, source_id, user_id, access_level, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (source_type, source_id, user_id) DO UPDATE SET access_level = excluded.access_level",
        )
        .bind(source_type)
        .bind(source_id)
        .bind(user_id)
        .bind(access_level)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn member_access_level(
        &self,
        source_type: &str,
        source_id: i64,
        user_id: i64,
    ) -> Result<Option<i32>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT access_level FROM members WHERE source_type = $1 AND source_id = $2 AND user_id = $3",
        )
        .bind(source_type)
        .bind(source_id)
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?)
    }
}
