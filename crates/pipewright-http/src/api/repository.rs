use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use pipewright_core::{App, projects, repository};
use pipewright_git::{ActionKind, CommitAction, CommitRequest};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Auth;
use crate::entities::commit::CommitEntity;
use crate::error::{ApiResult, param_error};
use crate::params::Params;

fn action_kind(value: &str) -> Option<ActionKind> {
    match value {
        "create" => Some(ActionKind::Create),
        "update" => Some(ActionKind::Update),
        "delete" => Some(ActionKind::Delete),
        "move" => Some(ActionKind::Move),
        "chmod" => Some(ActionKind::Chmod),
        _ => None,
    }
}

fn field<'a>(action: &'a Value, key: &str) -> Option<&'a str> {
    action.get(key).and_then(Value::as_str)
}

/// `actions[]` as GitLab validates them (`actions[0][action] does not have a valid value`).
fn parse_actions(params: &Params) -> ApiResult<Vec<CommitAction>> {
    let Some(Value::Array(items)) = params.get("actions") else {
        return Err(match params.get("actions") {
            None => param_error("actions is missing"),
            Some(_) => param_error("actions is invalid"),
        });
    };
    if items.is_empty() {
        return Err(param_error("actions is empty"));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let Some(kind) = field(item, "action") else {
                return Err(param_error(format!("actions[{index}][action] is missing")));
            };
            let kind = action_kind(kind).ok_or_else(|| {
                param_error(format!(
                    "actions[{index}][action] does not have a valid value"
                ))
            })?;
            let file_path = field(item, "file_path")
                .ok_or_else(|| param_error(format!("actions[{index}][file_path] is missing")))?
                .to_owned();
            let content = match field(item, "content") {
                None => None,
                Some(text) if field(item, "encoding") == Some("base64") => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(text.trim())
                        .map_err(|_| {
                            param_error(format!("actions[{index}][content] is invalid"))
                        })?,
                ),
                Some(text) => Some(text.as_bytes().to_vec()),
            };
            if let Some(encoding) = field(item, "encoding")
                && !["text", "base64"].contains(&encoding)
            {
                return Err(param_error(format!(
                    "actions[{index}][encoding] does not have a valid value"
                )));
            }
            Ok(CommitAction {
                action: kind,
                file_path,
                previous_path: field(item, "previous_path").map(str::to_owned),
                content,
                execute_filemode: item.get("execute_filemode").and_then(Value::as_bool),
                last_commit_id: field(item, "last_commit_id").map(str::to_owned),
            })
        })
        .collect()
}

pub async fn create_commit(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let branch = params.required_string("branch")?;
    let message = params.required_string("commit_message")?;
    let actions = parse_actions(&params)?;
    let request = CommitRequest {
        branch,
        start_branch: params.string("start_branch")?,
        start_sha: params.string("start_sha")?,
        message,
        author_name: params.string("author_name")?.unwrap_or_default(),
        author_email: params.string("author_email")?.unwrap_or_default(),
        actions,
        force: params.bool("force")?.unwrap_or(false),
        committer: None,
    };
    let access = projects::find_project(&app, &actor, &id).await?;
    let commit = repository::create_commit(&app, &actor, &access, request).await?;
    let web = format!("{}/{}", app.config.external_url, access.project.full_path);
    Ok((StatusCode::CREATED, Json(CommitEntity::new(&commit, &web))).into_response())
}

pub async fn get_commit(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, sha)): Path<(String, String)>,
) -> ApiResult<Response> {
    let access = projects::find_project(&app, &actor, &id).await?;
    let commit = repository::find_commit(&app, &access, &sha).await?;
    let web = format!("{}/{}", app.config.external_url, access.project.full_path);
    Ok(Json(CommitEntity::new(&commit, &web)).into_response())
}

#[derive(Serialize)]
struct BranchEntity {
    name: String,
    commit: Option<CommitEntity>,
    merged: bool,
    protected: bool,
    developers_can_push: bool,
    developers_can_merge: bool,
    can_push: bool,
    default: bool,
    web_url: String,
}

pub async fn list_branches(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let access = projects::find_project(&app, &actor, &id).await?;
    let branches = repository::list_branches(&app, &access).await?;
    let rules = pipewright_core::protected_refs::BranchRules::load(&app, access.project.id).await?;
    let web = format!("{}/{}", app.config.external_url, access.project.full_path);
    let entities: Vec<BranchEntity> = branches
        .into_iter()
        .map(|(branch, commit)| {
            let default = branch.name == access.project.default_branch;
            BranchEntity {
                web_url: format!("{web}/-/tree/{}", branch.name),
                commit: commit.map(|commit| CommitEntity::new(&commit, &web)),
                merged: false,
                protected: rules.is_protected(&branch.name),
                developers_can_push: rules.developers_can(&branch.name).0,
                developers_can_merge: rules.developers_can(&branch.name).1,
                can_push: rules.can_push(&access, &branch.name),
                default,
                name: branch.name,
            }
        })
        .collect();
    Ok(Json(entities).into_response())
}
