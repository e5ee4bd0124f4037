use crate::model::Namespace;
use crate::{Store, StoreError};

const NAMESPACE_COLUMNS: &str =
    "id, kind, name, path, full_path, parent_id, owner_id, visibility, created_at";

impl Store {
    pub async fn namespace_by_id(&self, id: i64) -> Result<Option<Namespace>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn namespaces_by_ids(&self, ids: &[i64]) -> Result<Vec<Namespace>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::new(format!(
            "SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE id IN ("
        ));
        let mut separated = query.separated(", ");
        for id in ids {
            separated.push_bind(*id);
        }
        query.push(")");
        Ok(query.build_query_as().fetch_all(&self.read).await?)
    }

    /// The highest access level a user holds through membership of a namespace or its ancestors.
    pub async fn namespace_access_level(
        &self,
        user_id: i64,
        namespace_id: i64,
    ) -> Result<Option<i32>, StoreError> {
        // Walk the (shallow) ancestor chain; group nesting is a handful of levels at most.
        let mut best: Option<i32> = None;
        let mut current = Some(namespace_id);
        let mut depth = 0;
        while let Some(id) = current {
            depth += 1;
            if depth > 20 {
                break;
            }
            let Some(namespace) = self.namespace_by_id(id).await? else {
                break;
            };
            if namespace.owner_id == Some(user_id) && namespace.kind == "user" {
                best = best.max(Some(50));
            }
            let level: Option<i32> = sqlx::query_scalar(
                "SELECT access_level FROM members WHERE source_type = 'namespace' AND source_id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?;
            best = best.max(level);
            current = namespace.parent_id;
        }
        Ok(best)
    }
}
