//! Account states (`active`, `blocked`, `deactivated`, ...).

use crate::{Store, StoreError};

impl Store {
    /// Sets a user's state; false when the user does not exist.
    pub async fn set_user_state(&self, user_id: i64, state: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET state = $1 WHERE id = $2")
            .bind(state)
            .bind(user_id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
