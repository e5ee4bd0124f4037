//! Protected branches: names or wildcard patterns with push/merge access levels.

use crate::model::ProtectedTag;
use crate::{Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProtectedBranch {
    pub id: i64,
    pub project_id: i64,
    /// A branch name or a pattern with `*` wildcards.
    pub name: String,
    pub push_access_level: i32,
    pub merge_access_level: i32,
    pub allow_force_push: bool,
    pub created_at: i64,
}

pub struct NewProtectedBranch {
    pub project_id: i64,
    pub name: String,
    pub push_access_level: i32,
    pub merge_access_level: i32,
    pub allow_force_push: bool,
}

const COLUMNS: &str =
    "id, project_id, name, push_access_level, merge_access_level, allow_force_push, created_at";

impl Store {
    /// Fails with [`StoreError::Duplicate`] when the project already protects `name`.
    pub async fn create_protected_branch(
        &self,
        new: &NewProtectedBranch,
    ) -> Result<ProtectedBranch, StoreError> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO protected_branches (project_id, name, push_access_level, merge_access_level, allow_force_push, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(new.project_id)
        .bind(&new.name)
        .bind(new.push_access_level)
        .bind(new.merge_access_level)
        .bind(new.allow_force_push)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await?)
    }

    /// Every rule of a project, oldest first (a project has a handful).
    pub async fn protected_branches(
        &self,
        project_id: i64,
    ) -> Result<Vec<ProtectedBranch>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM protected_branches WHERE project_id = $1 ORDER BY id"
        ))
        .bind(project_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn protected_branch_by_name(
        &self,
        project_id: i64,
        name: &str,
    ) -> Result<Option<ProtectedBranch>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM protected_branches WHERE project_id = $1 AND name = $2"
        ))
        .bind(project_id)
        .bind(name)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn delete_protected_branch(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM protected_branches WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    pub async fn set_protected_branch_force_push(
        &self,
        id: i64,
        allow_force_push: bool,
    ) -> Result<Option<ProtectedBranch>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "UPDATE protected_branches SET allow_force_push = $1 WHERE id = $2 RETURNING {COLUMNS}"
        ))
        .bind(allow_force_push)
        .bind(id)
        .fetch_optional(&self.write)
        .await?)
    }
}

const TAG_COLUMNS: &str = "id, project_id, name, create_access_level, created_at";

/// Protected tags live beside protected branches: same patterns, one level (create).
impl Store {
    /// Fails with [`StoreError::Duplicate`] when the project already protects `name`.
    pub async fn create_protected_tag(
        &self,
        project_id: i64,
        name: &str,
        create_access_level: i32,
    ) -> Result<ProtectedTag, StoreError> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO protected_tags (project_id, name, create_access_level, created_at)
             VALUES ($1, $2, $3, $4) RETURNING {TAG_COLUMNS}"
        ))
        .bind(project_id)
        .bind(name)
        .bind(create_access_level)
        .bind(now_ms())
        .fetch_one(&self.write)
        .await?)
    }

    /// Every protected tag rule of a project, oldest first.
    pub async fn protected_tags(&self, project_id: i64) -> Result<Vec<ProtectedTag>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TAG_COLUMNS} FROM protected_tags WHERE project_id = $1 ORDER BY id"
        ))
        .bind(project_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// The rule with exactly this name (wildcards included).
    pub async fn protected_tag_by_name(
        &self,
        project_id: i64,
        name: &str,
    ) -> Result<Option<ProtectedTag>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TAG_COLUMNS} FROM protected_tags WHERE project_id = $1 AND name = $2"
        ))
        .bind(project_id)
        .bind(name)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn delete_protected_tag(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM protected_tags WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
