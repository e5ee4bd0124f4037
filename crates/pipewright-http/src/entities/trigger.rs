use pipewright_core::model::User;
use pipewright_core::triggers::PipelineTrigger;
use serde::Serialize;

use super::user::UserBasicEntity;
use super::{opt_timestamp, timestamp};

/// GitLab's `Trigger` entity (`/projects/:id/triggers`).
#[derive(Debug, Serialize)]
pub struct TriggerEntity {
    pub id: i64,
    /// Whole for the trigger's owner, its first four characters for everyone else.
    pub token: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_used: Option<String>,
    pub expires_at: Option<String>,
    pub owner: Option<UserBasicEntity>,
}

impl TriggerEntity {
    pub fn new(
        trigger: &PipelineTrigger,
        token: String,
        owner: Option<&User>,
        external_url: &str,
    ) -> TriggerEntity {
        TriggerEntity {
            id: trigger.id,
            token,
            description: trigger.description.clone(),
            created_at: timestamp(trigger.created_at),
            updated_at: timestamp(trigger.updated_at),
            last_used: opt_timestamp(trigger.last_used),
            expires_at: None,
            owner: owner.map(|owner| UserBasicEntity::new(owner, external_url)),
        }
    }
}
