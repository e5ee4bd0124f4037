//! A protected tag rule (`/projects/:id/protected_tags`), as GitLab's `ProtectedTag`.

use pipewright_core::model::ProtectedTag;
use serde::Serialize;

use super::protected_branch::AccessLevelEntity;

#[derive(Debug, Serialize)]
pub struct ProtectedTagEntity {
    pub name: String,
    pub create_access_levels: Vec<AccessLevelEntity>,
}

impl ProtectedTagEntity {
    /// Each rule keeps one create level, which shares the rule's id.
    pub fn new(rule: &ProtectedTag) -> ProtectedTagEntity {
        ProtectedTagEntity {
            name: rule.name.clone(),
            create_access_levels: vec![AccessLevelEntity::new(rule.id, rule.create_access_level)],
        }
    }
}
