//! Old full paths of renamed projects (GitLab's `redirect_routes`).

use crate::{Store, StoreError};

impl Store {
    /// The project an old path redirects to, if any (case-insensitive).
    pub async fn project_redirect(&self, path: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT source_id FROM redirect_routes WHERE source_type = 'project' AND path_lower = $1",
        )
        .bind(path.to_lowercase())
        .fetch_optional(&self.read)
        .await?)
    }
}

impl Store {
    /// A live project now owns `path`: an old redirect with that path must not shadow it.
    pub async fn delete_redirect(&self, path: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM redirect_routes WHERE path_lower = $1")
            .bind(path.to_lowercase())
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
