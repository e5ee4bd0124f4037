//! Project feature access levels (GitLab's `ProjectFeature`) for CI/CD (`builds`) and the
//! repository: `disabled`, `private` (project members only) or `enabled` (everyone with
//! access to the project). The abilities they withdraw live in [`crate::abilities`].

use pipewright_store::ProjectUpdate;

use crate::App;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::projects::{CreateProject, ProjectView};

pub const DISABLED: i32 = 0;
pub const PRIVATE: i32 = 10;
pub const ENABLED: i32 = 20;

/// GitLab's string for a stored level.
pub fn level_name(level: i32) -> &'static str {
    match level {
        DISABLED => "disabled",
        PRIVATE => "private",
        _ => "enabled",
    }
}

/// The stored level of a parameter value; anything else is GitLab's `values` error.
fn parse_level(param: &str, value: &str) -> Result<i32> {
    match value {
        "disabled" => Ok(DISABLED),
        "private" => Ok(PRIVATE),
        "enabled" => Ok(ENABLED),
        _ => Err(Error::Param(format!("{param} does not have a valid value"))),
    }
}

/// The `*_access_level` parameters of `POST /projects` and `PUT /projects/:id`.
#[derive(Debug, Default, Clone)]
pub struct FeatureLevels {
    pub builds_access_level: Option<String>,
    pub repository_access_level: Option<String>,
}

/// Parsed levels: (builds, repository), `None` where not given.
#[derive(Debug, Default, Clone, Copy)]
pub struct ParsedLevels {
    pub builds: Option<i32>,
    pub repository: Option<i32>,
}

impl FeatureLevels {
    /// GitLab's deprecated `jobs_enabled` flag: `builds_access_level` `enabled` or
    /// `disabled`, unless the level itself is given.
    pub fn legacy_jobs_enabled(mut self, jobs_enabled: Option<bool>) -> FeatureLevels {
        if self.builds_access_level.is_none()
            && let Some(enabled) = jobs_enabled
        {
            let level = if enabled { ENABLED } else { DISABLED };
            self.builds_access_level = Some(level_name(level).into());
        }
        self
    }

    /// Parameter validation (400 `{"error": ...}`), before anything else is looked at.
    pub fn parse(&self) -> Result<ParsedLevels> {
        Ok(ParsedLevels {
            builds: self
                .builds_access_level
                .as_deref()
                .map(|value| parse_level("builds_access_level", value))
                .transpose()?,
            repository: self
                .repository_access_level
                .as_deref()
                .map(|value| parse_level("repository_access_level", value))
                .transpose()?,
        })
    }
}

impl ParsedLevels {
    /// GitLab's `repository_children_level` validation: CI/CD may not be more visible than
    /// the repository it builds. `current` is (builds, repository) before the change.
    pub fn validate(&self, current: (i32, i32)) -> Result<()> {
        let builds = self.builds.unwrap_or(current.0);
        let repository = self.repository.unwrap_or(current.1);
        if builds > repository {
            return Err(Error::Message {
                status: 400,
                message: serde_json::json!({
                    "project_feature.builds_access_level": [
                        "cannot have higher visibility level than repository access level"
                    ]
                }),
            });
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.builds.is_none() && self.repository.is_none()
    }
}

/// `POST /projects` with feature levels: validated before the project exists, applied once
/// it does (a project is never left with levels it was not asked for).
pub async fn create_project(
    app: &App,
    actor: &Actor,
    params: CreateProject,
    features: &FeatureLevels,
) -> Result<ProjectView> {
    let levels = features.parse()?;
    levels.validate((ENABLED, ENABLED))?;
    let mut view = crate::projects::create_project(app, actor, params).await?;
    if levels.is_empty() {
        return Ok(view);
    }
    let update = ProjectUpdate {
        builds_access_level: levels.builds,
        repository_access_level: levels.repository,
        ..ProjectUpdate::default()
    };
    if let Some(project) = app.store.update_project(view.project.id, &update).await? {
        view.project = project;
    }
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_validate_like_gitlab() {
        let levels = FeatureLevels {
            builds_access_level: Some("private".into()),
            repository_access_level: None,
        }
        .parse()
        .unwrap_or_default();
        assert_eq!(levels.builds, Some(PRIVATE));
        assert!(levels.validate((ENABLED, ENABLED)).is_ok());
        assert!(levels.validate((ENABLED, DISABLED)).is_err());
        let bad = FeatureLevels {
            builds_access_level: Some("public".into()),
            repository_access_level: None,
        }
        .parse();
        assert!(
            matches!(bad, Err(Error::Param(text)) if text == "builds_access_level does not have a valid value")
        );
        assert_eq!(level_name(PRIVATE), "private");
    }
}
