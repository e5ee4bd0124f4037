//! Groups: namespaces of kind `group`, nested through `parent_id`.

use crate::model::Namespace;
use crate::{Store, StoreError, now_ms};

const NAMESPACE_COLUMNS: &str =
    "id, kind, name, path, full_path, parent_id, owner_id, visibility, created_at";

/// Deepest nesting walked when following `parent_id` (GitLab allows 20 levels).
const MAX_DEPTH: usize = 21;

pub struct NewGroup {
    pub name: String,
    pub path: String,
    pub full_path: String,
    pub parent_id: Option<i64>,
    pub visibility: String,
    /// Becomes the group's Owner (access level 50) in the same transaction.
    pub creator_id: i64,
}

impl Store {
    pub async fn create_group(&self, new: &NewGroup) -> Result<Namespace, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let group: Namespace = sqlx::query_as(&format!(
            "INSERT INTO namespaces (kind, name, path, full_path, full_path_lower, parent_id, visibility, created_at)
             VALUES ('group', $1, $2, $3, $4, $5, $6, $7) RETURNING {NAMESPACE_COLUMNS}"
        ))
        .bind(&new.name)
        .bind(&new.path)
        .bind(&new.full_path)
        .bind(new.full_path.to_lowercase())
        .bind(new.parent_id)
        .bind(&new.visibility)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO members (source_type, source_id, user_id, access_level, created_at)
             VALUES ('namespace', $1, $2, 50, $3)",
        )
        .bind(group.id)
        .bind(new.creator_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Case-insensitive lookup of a user namespace or group by its full path.
    pub async fn namespace_by_full_path(
        &self,
        full_path: &str,
    ) -> Result<Option<Namespace>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE full_path_lower = $1"
        ))
        .bind(full_path.to_lowercase())
        .fetch_optional(&self.read)
        .await?)
    }

    /// The namespace and its ancestors, nearest first.
    pub async fn namespace_chain(&self, namespace_id: i64) -> Result<Vec<Namespace>, StoreError> {
        let mut chain = Vec::new();
        let mut current = Some(namespace_id);
        while let Some(id) = current {
            if chain.len() >= MAX_DEPTH {
                break;
            }
            let Some(namespace) = self.namespace_by_id(id).await? else {
                break;
            };
            current = namespace.parent_id;
            chain.push(namespace);
        }
        Ok(chain)
    }

    /// Whether a user is a member of the namespace or of any namespace below it (a private
    /// group is visible to members of its subgroups, as in GitLab).
    pub async fn has_membership_at_or_below(
        &self,
        user_id: i64,
        namespace_id: i64,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "WITH RECURSIVE tree (id) AS (
                 SELECT id FROM namespaces WHERE id = $1
                 UNION SELECT namespaces.id FROM namespaces JOIN tree ON namespaces.parent_id = tree.id
             )
             SELECT 1 FROM members
             WHERE user_id = $2 AND ((source_type = 'namespace' AND source_id IN (SELECT id FROM tree))
                OR (source_type = 'project' AND source_id IN
                    (SELECT projects.id FROM projects WHERE projects.namespace_id IN (SELECT id FROM tree))))
             LIMIT 1",
        )
        .bind(namespace_id)
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(found.is_some())
    }
}
