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

    /// The namespace and every namespace below it.
    pub async fn namespace_subtree_ids(&self, namespace_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "WITH RECURSIVE tree (id) AS (
                 SELECT id FROM namespaces WHERE id = $1
                 UNION SELECT namespaces.id FROM namespaces JOIN tree ON namespaces.parent_id = tree.id
             )
             SELECT id FROM tree ORDER BY id",
        )
        .bind(namespace_id)
        .fetch_all(&self.read)
        .await?)
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

/// Which groups `GET /groups` lists.
#[derive(Debug, Clone)]
pub struct GroupListFilter {
    /// `None` for anonymous callers (public groups only).
    pub user_id: Option<i64>,
    /// Every group of the instance (administrators by default).
    pub all: bool,
    /// Public and internal groups besides the user's own (`all_available`).
    pub all_available: bool,
    /// Only groups where the user's membership reaches this level (`owned` is 50).
    pub min_access_level: Option<i32>,
    pub top_level_only: bool,
    /// Case-insensitive substring of the name or path.
    pub search: Option<String>,
    /// `name`, `path` or `id` (validated by the caller).
    pub order_by: &'static str,
    pub ascending: bool,
}

/// `WITH ... SELECT <select> FROM namespaces WHERE <visible group and filtered>`.
fn push_visible_groups(
    query: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
    filter: &GroupListFilter,
    select: &str,
) {
    match filter.user_id {
        Some(user_id) if !filter.all || filter.min_access_level.is_some() => {
            // Groups the user belongs to (at the level asked) and everything below them,
            // plus the groups of projects they are a member of.
            let min_level = filter.min_access_level.unwrap_or(0);
            query.push(
                "WITH RECURSIVE authorized (id) AS (
                     SELECT source_id FROM members WHERE source_type = 'namespace' AND user_id = ",
            );
            query.push_bind(user_id);
            query.push(" AND access_level >= ").push_bind(min_level);
            if filter.min_access_level.is_none() {
                query.push(
                    " UNION SELECT projects.namespace_id FROM projects JOIN members
                       ON members.source_type = 'project' AND members.source_id = projects.id
                       WHERE members.user_id = ",
                );
                query.push_bind(user_id);
            }
            query.push(
                " UNION SELECT namespaces.id FROM namespaces JOIN authorized ON namespaces.parent_id = authorized.id
                 ) ",
            );
            query.push(format!(
                "SELECT {select} FROM namespaces WHERE kind = 'group' AND (id IN (SELECT id FROM authorized)"
            ));
            if filter.all_available && filter.min_access_level.is_none() {
                query.push(" OR visibility IN ('public', 'internal')");
            }
            query.push(")");
        }
        Some(_) => {
            query.push(format!(
                "SELECT {select} FROM namespaces WHERE kind = 'group'"
            ));
        }
        None => {
            query.push(format!(
                "SELECT {select} FROM namespaces WHERE kind = 'group' AND visibility = 'public'"
            ));
        }
    }
    if filter.top_level_only {
        query.push(" AND parent_id IS NULL");
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

impl Store {
    /// One page of the groups a caller may list, and how many there are in all.
    pub async fn list_visible_groups(
        &self,
        filter: &GroupListFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Namespace>, i64), StoreError> {
        let mut count = sqlx::QueryBuilder::new("");
        push_visible_groups(&mut count, filter, "COUNT(*)");
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut page = sqlx::QueryBuilder::new("");
        push_visible_groups(&mut page, filter, NAMESPACE_COLUMNS);
        let direction = if filter.ascending { "ASC" } else { "DESC" };
        page.push(format!(
            " ORDER BY {} {direction}, id {direction} LIMIT ",
            filter.order_by
        ));
        page.push_bind(limit).push(" OFFSET ").push_bind(offset);
        let groups = page.build_query_as().fetch_all(&self.read).await?;
        Ok((groups, total))
    }
}
