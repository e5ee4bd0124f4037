//! Project attribute updates (with the redirect a rename leaves) and the visible-projects list.

use sqlx::{QueryBuilder, Sqlite};

use crate::model::Project;
use crate::{Store, StoreError, now_ms};

const PROJECT_COLUMNS: &str = "id, namespace_id, name, path, full_path, description, visibility, default_branch, public_jobs, ci_config_path, ci_pipeline_variables_minimum_override_role, job_token_scope_enabled, creator_id, created_at, updated_at, builds_access_level, repository_access_level";

/// Attributes to change; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    /// A new path together with the full path it gives.
    pub path: Option<(String, String)>,
    pub visibility: Option<String>,
    pub default_branch: Option<String>,
    pub public_jobs: Option<bool>,
    pub ci_pipeline_variables_minimum_override_role: Option<String>,
    /// Feature access levels (0 disabled, 10 private, 20 enabled).
    pub builds_access_level: Option<i32>,
    pub repository_access_level: Option<i32>,
}

/// Which projects `GET /projects` lists.
#[derive(Debug, Clone)]
pub struct ProjectListFilter {
    /// `None` for anonymous callers (public projects only).
    pub user_id: Option<i64>,
    /// Administrators see every project.
    pub admin: bool,
    /// Only projects the user is a member of (directly or through a group).
    pub membership: bool,
    /// Only projects in the user's namespace or where they are Owner.
    pub owned: bool,
    /// Only projects where the user's membership is at least this level.
    pub min_access_level: Option<i32>,
    /// Only projects directly in one of these namespaces.
    pub namespace_ids: Option<Vec<i64>>,
    pub visibility: Option<String>,
    /// Case-insensitive substring of the name or path.
    pub search: Option<String>,
    /// A column of `projects` (validated by the caller against a fixed list).
    pub order_by: &'static str,
    pub ascending: bool,
}

impl Store {
    /// Applies the update; a path change records the old full path as a redirect and drops
    /// any redirect that pointed at the new one.
    pub async fn update_project(
        &self,
        id: i64,
        update: &ProjectUpdate,
    ) -> Result<Option<Project>, StoreError> {
        let mut tx = self.write.begin().await?;
        let old_path: Option<String> =
            sqlx::query_scalar("SELECT full_path FROM projects WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old_path) = old_path else {
            return Ok(None);
        };
        let mut query: QueryBuilder<Sqlite> =
            QueryBuilder::new("UPDATE projects SET updated_at = ");
        query.push_bind(now_ms());
        if let Some(name) = &update.name {
            query.push(", name = ").push_bind(name);
        }
        if let Some(description) = &update.description {
            query.push(", description = ").push_bind(description);
        }
        if let Some((path, full_path)) = &update.path {
            query.push(", path = ").push_bind(path);
            query.push(", full_path = ").push_bind(full_path);
            query
                .push(", full_path_lower = ")
                .push_bind(full_path.to_lowercase());
        }
        if let Some(visibility) = &update.visibility {
            query.push(", visibility = ").push_bind(visibility);
        }
        if let Some(branch) = &update.default_branch {
            query.push(", default_branch = ").push_bind(branch);
        }
        if let Some(flag) = update.public_jobs {
            query.push(", public_jobs = ").push_bind(flag);
        }
        if let Some(role) = &update.ci_pipeline_variables_minimum_override_role {
            query
                .push(", ci_pipeline_variables_minimum_override_role = ")
                .push_bind(role);
        }
        if let Some(level) = update.builds_access_level {
            query.push(", builds_access_level = ").push_bind(level);
        }
        if let Some(level) = update.repository_access_level {
            query.push(", repository_access_level = ").push_bind(level);
        }
        query.push(" WHERE id = ").push_bind(id);
        query.build().execute(&mut *tx).await?;
        if let Some((_, full_path)) = &update.path
            && full_path.to_lowercase() != old_path.to_lowercase()
        {
            sqlx::query("DELETE FROM redirect_routes WHERE path_lower = $1")
                .bind(full_path.to_lowercase())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO redirect_routes (source_type, source_id, path, path_lower, created_at)
                 VALUES ('project', $1, $2, $3, $4)
                 ON CONFLICT (path_lower) DO UPDATE SET source_type = excluded.source_type, source_id = excluded.source_id",
            )
            .bind(id)
            .bind(&old_path)
            .bind(old_path.to_lowercase())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        let project = sqlx::query_as(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(project)
    }

    /// Whether another project of the namespace already has this name, ignoring case (GitLab
    /// validates `name` unique per namespace, like `path`).
    pub async fn project_name_taken(
        &self,
        namespace_id: i64,
        name: &str,
        except_id: Option<i64>,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM projects WHERE namespace_id = $1 AND LOWER(name) = LOWER($2) AND id <> $3 LIMIT 1",
        )
        .bind(namespace_id)
        .bind(name)
        .bind(except_id.unwrap_or(0))
        .fetch_optional(&self.read)
        .await?;
        Ok(found.is_some())
    }

    /// Loads many projects in one statement, by id.
    pub async fn projects_by_ids(&self, ids: &[i64]) -> Result<Vec<Project>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::new(format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id IN ("
        ));
        let mut separated = query.separated(", ");
        for id in ids {
            separated.push_bind(*id);
        }
        query.push(") ORDER BY id");
        Ok(query.build_query_as().fetch_all(&self.read).await?)
    }

    /// One page of the projects a caller may see, and how many there are in all.
    pub async fn list_visible_projects(
        &self,
        filter: &ProjectListFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Project>, i64), StoreError> {
        let mut count: QueryBuilder<Sqlite> = QueryBuilder::new("");
        push_visible_from(&mut count, filter, "COUNT(*)");
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;

        let mut page: QueryBuilder<Sqlite> = QueryBuilder::new("");
        push_visible_from(&mut page, filter, PROJECT_COLUMNS);
        let direction = if filter.ascending { "ASC" } else { "DESC" };
        page.push(format!(
            " ORDER BY {} {direction}, id {direction} LIMIT ",
            filter.order_by
        ));
        page.push_bind(limit).push(" OFFSET ").push_bind(offset);
        let projects = page.build_query_as().fetch_all(&self.read).await?;
        Ok((projects, total))
    }
}

/// `WITH ... SELECT <select> FROM projects WHERE <visible and filtered>`.
fn push_visible_from(query: &mut QueryBuilder<Sqlite>, filter: &ProjectListFilter, select: &str) {
    match filter.user_id {
        Some(user_id) => {
            // Namespaces whose projects the user reaches through membership: groups they
            // belong to (at `min_level` or above) and everything below them, plus their own.
            let min_level =
                filter
                    .min_access_level
                    .unwrap_or(0)
                    .max(if filter.owned { 50 } else { 0 });
            let members_only =
                filter.membership || filter.owned || filter.min_access_level.is_some();
            query.push(
                "WITH RECURSIVE member_namespaces (id) AS (
                     SELECT source_id FROM members WHERE source_type = 'namespace' AND user_id = ",
            );
            query.push_bind(user_id);
            query.push(" AND access_level >= ").push_bind(min_level);
            query.push(" UNION SELECT id FROM namespaces WHERE kind = 'user' AND owner_id = ");
            query.push_bind(user_id);
            query.push(
                " UNION SELECT namespaces.id FROM namespaces JOIN member_namespaces ON namespaces.parent_id = member_namespaces.id
                 ) ",
            );
            query.push(format!("SELECT {select} FROM projects WHERE ("));
            if filter.admin && !members_only {
                query.push("1 = 1");
            } else {
                if !members_only {
                    query.push("visibility IN ('public', 'internal') OR ");
                }
                query.push(
                    "namespace_id IN (SELECT id FROM member_namespaces)
                     OR id IN (SELECT source_id FROM members WHERE source_type = 'project' AND user_id = ",
                );
                query.push_bind(user_id);
                query.push(" AND access_level >= ").push_bind(min_level);
                query.push(")");
            }
            query.push(")");
        }
        None => {
            query.push(format!(
                "SELECT {select} FROM projects WHERE (visibility = 'public')"
            ));
        }
    }
    if let Some(visibility) = &filter.visibility {
        query
            .push(" AND visibility = ")
            .push_bind(visibility.clone());
    }
    if let Some(ids) = &filter.namespace_ids {
        query.push(" AND namespace_id IN (");
        if ids.is_empty() {
            query.push("NULL");
        }
        let mut separated = query.separated(", ");
        for id in ids {
            separated.push_bind(*id);
        }
        query.push(")");
    }
    if let Some(search) = &filter.search {
        let pattern = format!("%{}%", search.to_lowercase());
        query
            .push(" AND (LOWER(name) LIKE ")
            .push_bind(pattern.clone());
        query.push(" OR LOWER(path) LIKE ").push_bind(pattern);
        query.push(")");
    }
}
