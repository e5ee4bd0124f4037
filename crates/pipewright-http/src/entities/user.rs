use pipewright_core::model::User;
use serde::Serialize;

use super::timestamp;

/// The full public user entity (jobs-api.md §5.4), used in jobs.
#[derive(Debug, Serialize)]
pub struct UserEntity {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub state: String,
    pub locked: bool,
    pub avatar_url: Option<String>,
    pub web_url: String,
    pub created_at: String,
    pub bio: String,
    pub location: String,
    pub public_email: Option<String>,
    pub skype: String,
    pub linkedin: String,
    pub twitter: String,
    pub discord: String,
    pub website_url: String,
    pub organization: String,
    pub job_title: String,
    pub pronouns: Option<String>,
    pub bot: bool,
    pub work_information: Option<String>,
    pub followers: i64,
    pub following: i64,
    pub is_followed: bool,
    pub local_time: Option<String>,
}

impl UserEntity {
    pub fn new(user: &User, external_url: &str) -> UserEntity {
        UserEntity {
            id: user.id,
            username: user.username.clone(),
            name: user.name.clone(),
            state: user.state.clone(),
            locked: false,
            avatar_url: None,
            web_url: format!("{external_url}/{}", user.username),
            created_at: timestamp(user.created_at),
            bio: String::new(),
            location: String::new(),
            public_email: None,
            skype: String::new(),
            linkedin: String::new(),
            twitter: String::new(),
            discord: String::new(),
            website_url: String::new(),
            organization: String::new(),
            job_title: String::new(),
            pronouns: None,
            bot: user.bot,
            work_information: None,
            followers: 0,
            following: 0,
            is_followed: false,
            local_time: None,
        }
    }
}

/// `GET /user`, `POST /users`: the public entity plus what the user (or an admin) may see.
#[derive(Debug, Serialize)]
pub struct CurrentUserEntity {
    #[serde(flatten)]
    pub public: UserEntity,
    pub email: String,
    pub is_admin: bool,
    pub can_create_project: bool,
    pub can_create_group: bool,
    pub two_factor_enabled: bool,
    pub external: bool,
    pub private_profile: bool,
}

impl CurrentUserEntity {
    pub fn new(user: &User, external_url: &str) -> CurrentUserEntity {
        CurrentUserEntity {
            public: UserEntity::new(user, external_url),
            email: user.email.clone(),
            is_admin: user.is_admin,
            can_create_project: true,
            can_create_group: true,
            two_factor_enabled: false,
            external: false,
            private_profile: false,
        }
    }
}

/// `UserBasic`: pipelines and members.
#[derive(Debug, Serialize)]
pub struct UserBasicEntity {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub state: String,
    pub locked: bool,
    pub avatar_url: Option<String>,
    pub web_url: String,
}

impl UserBasicEntity {
    pub fn new(user: &User, external_url: &str) -> UserBasicEntity {
        UserBasicEntity {
            id: user.id,
            username: user.username.clone(),
            name: user.name.clone(),
            state: user.state.clone(),
            locked: false,
            avatar_url: None,
            web_url: format!("{external_url}/{}", user.username),
        }
    }
}

/// A personal access token (`token` only in the creation response).
#[derive(Debug, Serialize)]
pub struct PersonalAccessTokenEntity {
    pub id: i64,
    pub name: String,
    pub revoked: bool,
    pub created_at: String,
    pub description: Option<String>,
    pub scopes: Vec<String>,
    pub user_id: i64,
    pub last_used_at: Option<String>,
    pub active: bool,
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl PersonalAccessTokenEntity {
    pub fn new(
        token: &pipewright_core::model::PersonalAccessToken,
        clear: Option<String>,
    ) -> PersonalAccessTokenEntity {
        PersonalAccessTokenEntity {
            id: token.id,
            name: token.name.clone(),
            revoked: token.revoked,
            created_at: timestamp(token.created_at),
            description: None,
            scopes: token.scope_list(),
            user_id: token.user_id,
            last_used_at: token.last_used_at.map(timestamp),
            active: !token.revoked,
            expires_at: token.expires_at.clone(),
            token: clear,
        }
    }
}
