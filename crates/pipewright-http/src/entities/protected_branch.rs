//! A protected branch rule (`/projects/:id/protected_branches`).

use pipewright_core::protected_refs::{ProtectedBranch, level_description};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct AccessLevelEntity {
    pub id: i64,
    pub access_level: i32,
    pub access_level_description: &'static str,
    pub deploy_key_id: Option<i64>,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
}

impl AccessLevelEntity {
    pub(crate) fn new(id: i64, level: i32) -> AccessLevelEntity {
        AccessLevelEntity {
            id,
            access_level: level,
            access_level_description: level_description(level),
            deploy_key_id: None,
            user_id: None,
            group_id: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ProtectedBranchEntity {
    pub id: i64,
    pub name: String,
    pub push_access_levels: Vec<AccessLevelEntity>,
    pub merge_access_levels: Vec<AccessLevelEntity>,
    pub allow_force_push: bool,
    pub code_owner_approval_required: bool,
}

impl ProtectedBranchEntity {
    /// Each rule keeps one push and one merge level; they share the rule's id.
    pub fn new(rule: &ProtectedBranch) -> ProtectedBranchEntity {
        ProtectedBranchEntity {
            id: rule.id,
            name: rule.name.clone(),
            push_access_levels: vec![AccessLevelEntity::new(rule.id, rule.push_access_level)],
            merge_access_levels: vec![AccessLevelEntity::new(rule.id, rule.merge_access_level)],
            allow_force_push: rule.allow_force_push,
            code_owner_approval_required: false,
        }
    }
}
