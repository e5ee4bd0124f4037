//! The runner-protocol management calls (runner-protocol.md §4): legacy registration with
//! the instance registration token, unregistering a runner or one of its managers, token
//! rotation, and recording managers (`system_id`) on contact.

use pipewright_protocol::RunnerInfo;
pub use pipewright_store::RunnerManager;
use pipewright_store::model::Runner;
use pipewright_store::{ManagerContact, NewRunner};

use crate::App;
use crate::error::{Error, Result};
use crate::runners::authenticate_runner;
use crate::tokens::{generate, hash_token};

/// Tokens of legacy-registered runners: no `glrt-`, so Go unregisters with `DELETE /runners`
/// (current GitLab's instance type marker).
const LEGACY_RUNNER_TOKEN_PREFIX: &str = "t1_";
/// GitLab's `system_id` limit.
const MAX_SYSTEM_ID_LEN: usize = 64;

/// The instance registration token, created on first use.
pub async fn instance_registration_token(app: &App) -> Result<String> {
    Ok(app.store.instance_registration_token(&generate("")).await?)
}

/// `POST /runners/reset_registration_token` (admin): a new instance registration token; the
/// old one stops working at once.
pub async fn reset_registration_token(app: &App, actor: &crate::auth::Actor) -> Result<String> {
    actor.require_user()?;
    if !actor.is_admin() {
        return Err(Error::forbidden());
    }
    actor.require_write_scope()?;
    let token = generate("");
    app.store
        .replace_instance_registration_token(&token)
        .await?;
    Ok(token)
}

/// `POST /runners` parameters (the token is the registration token).
#[derive(Debug, Default)]
pub struct RegisterRunner {
    pub token: String,
    pub description: Option<String>,
    pub tag_list: Vec<String>,
    pub run_untagged: Option<bool>,
    pub locked: bool,
    pub access_level: Option<String>,
    pub maximum_timeout: Option<i64>,
    pub paused: bool,
    pub info: Option<RunnerInfo>,
}

fn same_secret(a: &str, b: &str) -> bool {
    // Compare hashes so the time taken says nothing about the stored token.
    hash_token(a) == hash_token(b)
}

/// `POST /runners`: registers an instance runner; 403 for a wrong registration token.
pub async fn register(app: &App, params: RegisterRunner) -> Result<(Runner, String)> {
    let expected = instance_registration_token(app).await?;
    if params.token.is_empty() || !same_secret(&params.token, &expected) {
        return Err(Error::forbidden());
    }
    let access_level = params
        .access_level
        .unwrap_or_else(|| "not_protected".to_owned());
    if !["not_protected", "ref_protected"].contains(&access_level.as_str()) {
        return Err(Error::Param(
            "access_level does not have a valid value".into(),
        ));
    }
    if let Some(timeout) = params.maximum_timeout
        && timeout < 600
    {
        return Err(Error::Message {
            status: 400,
            message: serde_json::json!({ "maximum_timeout": ["needs to be at least 10 minutes"] }),
        });
    }
    let mut tag_list = params.tag_list;
    tag_list.retain(|tag| !tag.is_empty());
    tag_list.sort();
    tag_list.dedup();
    let token = generate(LEGACY_RUNNER_TOKEN_PREFIX);
    let runner = app
        .store
        .create_runner(&NewRunner {
            token_hash: hash_token(&token),
            description: params.description.unwrap_or_default(),
            runner_type: "instance_type".into(),
            // Go sends run_untagged=true without tags; a tagless runner must take untagged jobs.
            run_untagged: params.run_untagged.unwrap_or(true) || tag_list.is_empty(),
            tag_list,
            locked: params.locked,
            access_level,
            maximum_timeout: params.maximum_timeout,
            paused: params.paused,
            project_id: None,
            group_id: None,
            creator_id: None,
        })
        .await?;
    if let Some(info) = &params.info {
        app.store
            .touch_runner(runner.id, &crate::runners::contact_of(info))
            .await?;
    }
    Ok((runner, token))
}

/// `DELETE /runners`.
pub async fn unregister(app: &App, token: &str) -> Result<()> {
    let runner = authenticate_runner(app, token).await?;
    app.store.delete_runner(runner.id).await?;
    Ok(())
}

/// `DELETE /runners/managers`: 404 when the runner has no manager with that system id.
pub async fn unregister_manager(app: &App, token: &str, system_id: &str) -> Result<()> {
    let runner = authenticate_runner(app, token).await?;
    if !app
        .store
        .delete_runner_manager(runner.id, system_id)
        .await?
    {
        return Err(Error::not_found("Runner manager"));
    }
    Ok(())
}

/// `POST /runners/reset_authentication_token`: a new token with the same prefix kind.
pub async fn reset_token(app: &App, token: &str) -> Result<String> {
    let runner = authenticate_runner(app, token).await?;
    let prefix = if token.starts_with(crate::tokens::RUNNER_TOKEN_PREFIX) {
        crate::tokens::RUNNER_TOKEN_PREFIX
    } else {
        LEGACY_RUNNER_TOKEN_PREFIX
    };
    let new_token = generate(prefix);
    app.store
        .reset_runner_token(runner.id, &hash_token(&new_token))
        .await?;
    Ok(new_token)
}

/// Records the manager behind a contact; `None` when the runner sent no usable system id.
pub async fn record_manager(
    app: &App,
    runner: &Runner,
    system_id: Option<&str>,
    info: Option<&RunnerInfo>,
    ip_address: Option<&str>,
) -> Result<Option<RunnerManager>> {
    let Some(system_id) = system_id.filter(|id| !id.is_empty() && id.len() <= MAX_SYSTEM_ID_LEN)
    else {
        return Ok(None);
    };
    let contact = ManagerContact {
        version: info.and_then(|info| info.version.clone()),
        revision: info.and_then(|info| info.revision.clone()),
        platform: info.and_then(|info| info.platform.clone()),
        architecture: info.and_then(|info| info.architecture.clone()),
        ip_address: ip_address.map(str::to_owned),
    };
    Ok(Some(
        app.store
            .touch_runner_manager(runner.id, system_id, &contact)
            .await?,
    ))
}
