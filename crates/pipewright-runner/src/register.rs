//! Creating a runner on the server: `POST /user/runners` with a personal access token (the
//! current workflow) or the legacy `POST /runners` with a registration token.

use pipewright_protocol::{RegisterRequest, VerifyResponse};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::client::Client;

/// How the caller proves it may create a runner.
#[derive(Debug, Clone)]
pub enum RegisterAuth {
    /// A user's personal access token (`glpat-…`): `POST /user/runners`.
    PersonalAccessToken(String),
    /// A registration token (instance, group or project): legacy `POST /runners`.
    RegistrationToken(String),
}

/// The runner's settings on the server. `None` leaves the server's default.
#[derive(Debug, Clone, Default)]
pub struct RegisterOptions {
    /// `instance_type`, `group_type` or `project_type` (PAT workflow only).
    pub runner_type: Option<String>,
    pub group_id: Option<i64>,
    pub project_id: Option<i64>,
    pub description: Option<String>,
    pub tag_list: Vec<String>,
    pub run_untagged: Option<bool>,
    pub locked: Option<bool>,
    /// `not_protected` or `ref_protected`.
    pub access_level: Option<String>,
    /// Seconds (GitLab requires at least 600).
    pub maximum_timeout: Option<i64>,
    pub paused: Option<bool>,
}

/// A created runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: i64,
    /// The runner authentication token; shown only once by the server.
    pub token: String,
    /// RFC 3339, or `None` when the token does not expire.
    pub token_expires_at: Option<String>,
}

/// Creates a runner on the server at `url` (its web root) and returns its token.
///
/// Errors carry the server's status and message, never the token that was sent.
pub async fn register(
    url: &str,
    auth: &RegisterAuth,
    options: &RegisterOptions,
) -> anyhow::Result<Registration> {
    let client = Client::new(url)?;
    let (status, body) = match auth {
        RegisterAuth::PersonalAccessToken(token) => {
            let Some(runner_type) = options.runner_type.as_deref() else {
                anyhow::bail!(
                    "a runner type is required (instance_type, group_type or project_type)"
                );
            };
            client
                .create_user_runner(token, &user_runner_body(runner_type, options))
                .await?
        }
        RegisterAuth::RegistrationToken(token) => {
            client.register_runner(&legacy_body(token, options)).await?
        }
    };
    if status != StatusCode::CREATED {
        anyhow::bail!(
            "the server refused to create the runner: {status}{}",
            message(&body)
        );
    }
    let created: VerifyResponse = serde_json::from_slice(&body)
        .map_err(|err| anyhow::anyhow!("malformed answer to the runner creation: {err}"))?;
    if created.id == 0 || created.token.is_empty() {
        anyhow::bail!("the server answered without a runner id or token");
    }
    Ok(Registration {
        id: created.id,
        token: created.token,
        token_expires_at: created.token_expires_at,
    })
}

/// `POST /user/runners` parameters; absent options are left out.
fn user_runner_body(runner_type: &str, options: &RegisterOptions) -> Value {
    let mut body = Map::new();
    body.insert("runner_type".into(), json!(runner_type));
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            body.insert(key.into(), value);
        }
    };
    put("group_id", options.group_id.map(Value::from));
    put("project_id", options.project_id.map(Value::from));
    put("description", options.description.clone().map(Value::from));
    put(
        "tag_list",
        (!options.tag_list.is_empty()).then(|| json!(options.tag_list)),
    );
    put("run_untagged", options.run_untagged.map(Value::from));
    put("locked", options.locked.map(Value::from));
    put(
        "access_level",
        options.access_level.clone().map(Value::from),
    );
    put("maximum_timeout", options.maximum_timeout.map(Value::from));
    put("paused", options.paused.map(Value::from));
    Value::Object(body)
}

/// `POST /runners` body, as the Go runner's `register -r` sends it.
fn legacy_body(token: &str, options: &RegisterOptions) -> RegisterRequest {
    RegisterRequest {
        token: token.to_owned(),
        description: options.description.clone(),
        tag_list: (!options.tag_list.is_empty()).then(|| options.tag_list.join(",")),
        // Go: a runner registered without tags takes untagged jobs.
        run_untagged: options
            .run_untagged
            .or_else(|| options.tag_list.is_empty().then_some(true)),
        locked: options.locked,
        access_level: options.access_level.clone(),
        maximum_timeout: options.maximum_timeout,
        paused: options.paused,
        info: Some(crate::runner_info(
            options
                .description
                .as_deref()
                .unwrap_or("pipewright-runner"),
        )),
        ..RegisterRequest::default()
    }
}

/// `: <message>` from a GitLab error body (`message` or `error`), if there is one.
fn message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    match value.get("message").or_else(|| value.get("error")) {
        Some(Value::String(text)) => format!(": {text}"),
        Some(other) => format!(": {other}"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_runner_body_leaves_out_unset_options() {
        let options = RegisterOptions {
            project_id: Some(4),
            tag_list: vec!["linux".into(), "shell".into()],
            locked: Some(true),
            ..RegisterOptions::default()
        };
        assert_eq!(
            user_runner_body("project_type", &options),
            json!({"runner_type": "project_type", "project_id": 4,
                   "tag_list": ["linux", "shell"], "locked": true})
        );
    }

    #[test]
    fn legacy_body_joins_tags_and_runs_untagged_without_tags() {
        let tagged = legacy_body(
            "reg",
            &RegisterOptions {
                tag_list: vec!["a".into(), "b".into()],
                ..RegisterOptions::default()
            },
        );
        assert_eq!(tagged.tag_list.as_deref(), Some("a,b"));
        assert_eq!(tagged.run_untagged, None);
        let untagged = legacy_body("reg", &RegisterOptions::default());
        assert_eq!(untagged.run_untagged, Some(true));
    }

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(
            message(br#"{"message":"403 Forbidden"}"#),
            ": 403 Forbidden"
        );
        assert_eq!(
            message(br#"{"message":{"maximum_timeout":["too short"]}}"#),
            r#": {"maximum_timeout":["too short"]}"#
        );
        assert_eq!(message(b"not json"), "");
    }
}
