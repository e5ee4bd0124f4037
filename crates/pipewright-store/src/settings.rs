use crate::{Store, StoreError};

impl Store {
    /// Every stored instance setting as (name, JSON value).
    pub async fn application_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT name, value FROM application_settings ORDER BY name")
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn put_application_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO application_settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
