//! Pipeline trigger tokens: `POST/GET /projects/:id/triggers` and
//! `POST /projects/:id/trigger/pipeline` (platform-api.md "Pipelines").

use pipewright_store::NewTrigger;
pub use pipewright_store::PipelineTrigger;
use pipewright_store::model::{Pipeline, PipelineVariable, Project, User};

use crate::App;
use crate::abilities::{ProjectAccess, project_access};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::pipelines::{NewPipelineRequest, OnConfigError, create_pipeline};
use crate::tokens::{generate, hash_token};

pub const TRIGGER_TOKEN_PREFIX: &str = "glptt-";

/// GitLab's `short_token`: four characters after the prefix, what non-owners see.
pub fn short_token(token: &str) -> String {
    token
        .strip_prefix(TRIGGER_TOKEN_PREFIX)
        .unwrap_or(token)
        .chars()
        .take(4)
        .collect()
}

/// The token as `viewer` may see it: whole for the trigger's owner only.
pub fn visible_token(trigger: &PipelineTrigger, viewer: Option<&User>) -> String {
    if viewer.is_some_and(|user| Some(user.id) == trigger.owner_id) {
        trigger.token.clone()
    } else {
        short_token(&trigger.token)
    }
}

/// `POST /projects/:id/triggers` (Maintainer+).
pub async fn create_trigger(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    description: &str,
) -> Result<PipelineTrigger> {
    let user = actor.require_user()?.clone();
    actor.require_write_scope()?;
    if !access.can_admin_build() {
        return Err(Error::forbidden());
    }
    let token = generate(TRIGGER_TOKEN_PREFIX);
    Ok(app
        .store
        .create_trigger(&NewTrigger {
            project_id: access.project.id,
            owner_id: user.id,
            description,
            token: &token,
            token_hash: &hash_token(&token),
        })
        .await?)
}

/// `GET /projects/:id/triggers` (Maintainer+), newest first.
pub async fn list_triggers(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
) -> Result<Vec<PipelineTrigger>> {
    actor.require_user()?;
    if !access.can_admin_build() {
        return Err(Error::forbidden());
    }
    Ok(app.store.list_triggers(access.project.id).await?)
}

/// `GET /projects/:id/triggers/:trigger_id` (Maintainer+).
pub async fn find_trigger(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    trigger_id: i64,
) -> Result<PipelineTrigger> {
    actor.require_user()?;
    if !access.can_admin_build() {
        return Err(Error::forbidden());
    }
    app.store
        .trigger_by_id(trigger_id)
        .await?
        .filter(|trigger| trigger.project_id == access.project.id)
        .ok_or_else(|| Error::not_found("Trigger"))
}

/// `DELETE /projects/:id/triggers/:trigger_id` (Maintainer+).
pub async fn delete_trigger(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    trigger_id: i64,
) -> Result<()> {
    actor.require_write_scope()?;
    let trigger = find_trigger(app, actor, access, trigger_id).await?;
    app.store.delete_trigger(trigger.id).await?;
    Ok(())
}

/// Owners of triggers, for the entities.
pub async fn trigger_owner(app: &App, trigger: &PipelineTrigger) -> Result<Option<User>> {
    match trigger.owner_id {
        Some(id) => Ok(app.store.user_by_id(id).await?),
        None => Ok(None),
    }
}

async fn lookup_project(app: &App, id: &str) -> Result<Option<Project>> {
    if let Ok(id) = id.parse::<i64>() {
        return Ok(app.store.project_by_id(id).await?);
    }
    Ok(app.store.project_by_full_path(id).await?)
}

/// `POST /projects/:id/trigger/pipeline`: the token alone authenticates; the pipeline runs
/// as the trigger's owner with source `trigger`. Returns it with its project.
pub async fn trigger_pipeline(
    app: &App,
    project_id: &str,
    token: &str,
    ref_name: String,
    variables: Vec<(String, String)>,
    inputs: pipewright_ciyaml::PipelineInputs,
) -> Result<(Pipeline, Project)> {
    let project = lookup_project(app, project_id)
        .await?
        .ok_or_else(|| Error::not_found("Project"))?;
    let trigger = app
        .store
        .trigger_by_token_hash(project.id, &hash_token(token))
        .await?
        .ok_or_else(|| Error::NotFound("404 Not Found".into()))?;
    let owner = trigger_owner(app, &trigger)
        .await?
        .ok_or_else(|| Error::NotFound("404 Not Found".into()))?;
    let actor = Actor::User {
        user: owner.clone(),
        scopes: vec!["api".into()],
    };
    let access = project_access(app, &actor, project).await?;
    if !access.can_update_build() {
        return Err(Error::base_error(
            "Insufficient permissions to create a new pipeline",
        ));
    }
    if !variables.is_empty() && !crate::pipelines::may_set_pipeline_variables(&access) {
        return Err(Error::base_error(
            "Insufficient permissions to set pipeline variables",
        ));
    }
    app.store.touch_trigger(trigger.id).await?;
    let request = NewPipelineRequest {
        ref_name,
        sha: None,
        before_sha: None,
        source: "trigger".into(),
        variables: variables
            .into_iter()
            .map(|(key, value)| PipelineVariable {
                key,
                value,
                variable_type: "env_var".into(),
            })
            .collect(),
        inputs,
    };
    let pipeline = create_pipeline(app, &access.project, &owner, request, OnConfigError::Reject)
        .await?
        .ok_or_else(|| Error::base_error("No stages / jobs for this pipeline."))?;
    app.store
        .set_pipeline_trigger(pipeline.id, trigger.id)
        .await?;
    Ok((pipeline, access.project))
}

/// `CI_TRIGGER_SHORT_TOKEN` of a triggered pipeline's jobs.
pub async fn pipeline_short_token(app: &App, pipeline: &Pipeline) -> Result<Option<String>> {
    if pipeline.source != "trigger" {
        return Ok(None);
    }
    let Some(trigger_id) = app.store.pipeline_trigger_id(pipeline.id).await? else {
        return Ok(None);
    };
    Ok(app
        .store
        .trigger_by_id(trigger_id)
        .await?
        .map(|trigger| short_token(&trigger.token)))
}

#[cfg(test)]
mod tests {
    use super::short_token;

    #[test]
    fn short_tokens_skip_the_prefix() {
        assert_eq!(short_token("glptt-abcdef123"), "abcd");
        assert_eq!(short_token("xy"), "xy");
    }
}
