//! GitLab's `API::Entities::Application` and `ApplicationWithSecret` (the secret is exposed
//! by the subclass, so it comes last).

use pipewright_core::oauth::OauthApplication;
use serde::Serialize;

#[derive(Serialize)]
pub struct ApplicationEntity {
    pub id: i64,
    pub application_id: String,
    pub application_name: String,
    pub callback_url: String,
    pub confidential: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl ApplicationEntity {
    pub fn new(application: &OauthApplication, secret: Option<String>) -> ApplicationEntity {
        ApplicationEntity {
            id: application.id,
            application_id: application.uid.clone(),
            application_name: application.name.clone(),
            callback_url: application.redirect_uri.clone(),
            confidential: application.confidential,
            secret,
        }
    }
}
