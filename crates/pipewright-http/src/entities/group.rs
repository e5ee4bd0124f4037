//! Groups: `GroupDetail` (`POST /groups`, `GET /groups/:id`) and `BasicGroupDetails`
//! (job token groups allowlist).

use pipewright_core::model::Namespace;
use serde::Serialize;

use super::timestamp;

#[derive(Debug, Serialize)]
pub struct GroupEntity {
    pub id: i64,
    pub web_url: String,
    pub name: String,
    pub path: String,
    pub description: String,
    pub visibility: String,
    pub share_with_group_lock: bool,
    pub require_two_factor_authentication: bool,
    pub two_factor_grace_period: i64,
    pub project_creation_level: &'static str,
    pub auto_devops_enabled: Option<bool>,
    pub subgroup_creation_level: &'static str,
    pub emails_disabled: bool,
    pub emails_enabled: bool,
    pub mentions_disabled: Option<bool>,
    pub lfs_enabled: bool,
    pub default_branch: Option<String>,
    pub default_branch_protection: i64,
    pub avatar_url: Option<String>,
    pub request_access_enabled: bool,
    pub full_name: String,
    pub full_path: String,
    pub created_at: String,
    pub parent_id: Option<i64>,
    pub shared_runners_setting: &'static str,
    pub ldap_cn: Option<String>,
    pub ldap_access: Option<i64>,
    pub wiki_access_level: &'static str,
}

impl GroupEntity {
    /// `full_name` is the chain of names (`Parent / Child`), as GitLab spells it.
    pub fn new(group: &Namespace, full_name: String, external_url: &str) -> GroupEntity {
        GroupEntity {
            id: group.id,
            web_url: format!("{external_url}/groups/{}", group.full_path),
            name: group.name.clone(),
            path: group.path.clone(),
            description: String::new(),
            visibility: group.visibility.clone(),
            share_with_group_lock: false,
            require_two_factor_authentication: false,
            two_factor_grace_period: 48,
            project_creation_level: "maintainer",
            auto_devops_enabled: None,
            subgroup_creation_level: "maintainer",
            emails_disabled: false,
            emails_enabled: true,
            mentions_disabled: None,
            lfs_enabled: true,
            default_branch: None,
            default_branch_protection: 2,
            avatar_url: None,
            request_access_enabled: true,
            full_name,
            full_path: group.full_path.clone(),
            created_at: timestamp(group.created_at),
            parent_id: group.parent_id,
            shared_runners_setting: "enabled",
            ldap_cn: None,
            ldap_access: None,
            wiki_access_level: "enabled",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BasicGroupEntity {
    pub id: i64,
    pub web_url: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub full_name: String,
    pub full_path: String,
}

impl BasicGroupEntity {
    pub fn new(group: &Namespace, full_name: String, external_url: &str) -> BasicGroupEntity {
        BasicGroupEntity {
            id: group.id,
            web_url: format!("{external_url}/groups/{}", group.full_path),
            name: group.name.clone(),
            avatar_url: None,
            full_name,
            full_path: group.full_path.clone(),
        }
    }
}
