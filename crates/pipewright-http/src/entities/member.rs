//! A project or group member (`POST .../members`).

use pipewright_core::model::User;
use serde::Serialize;

use super::user::UserBasicEntity;

#[derive(Debug, Serialize)]
pub struct MemberEntity {
    #[serde(flatten)]
    pub user: UserBasicEntity,
    pub access_level: i32,
    pub created_at: String,
    pub expires_at: Option<String>,
}

impl MemberEntity {
    pub fn new(
        user: &User,
        access_level: i32,
        created_at: i64,
        external_url: &str,
    ) -> MemberEntity {
        MemberEntity {
            user: UserBasicEntity::new(user, external_url),
            access_level,
            created_at: super::timestamp(created_at),
            expires_at: None,
        }
    }
}
