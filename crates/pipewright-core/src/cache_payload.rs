//! The `cache` entries of a job payload (runner-protocol.md §5.4) from the job's `cache:`
//! keyword, computed the way GitLab does it: `key` defaults to `default`; `key:files` becomes
//! a digest of those files at the pipeline's commit (with `key:prefix`); every key (and
//! fallback key) gets `-protected` or `-non_protected`, so that jobs of unprotected refs can
//! never write a cache that protected refs read. Runners store the archives themselves.
//!
//! Deviation: GitLab digests the last commits that changed the `key:files`; we digest their
//! content, which changes exactly when those commits do for the files' current versions.

use pipewright_protocol::{Cache, When};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::App;

/// The payload entries for the job's raw `cache:` option (a mapping or a list of them).
pub async fn entries(
    app: &App,
    project_id: i64,
    sha: &str,
    cache: Option<&Value>,
    protected_ref: bool,
) -> Vec<Cache> {
    let specs: Vec<&Value> = match cache {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let key = key_of(app, project_id, sha, spec.get("key")).await;
        let unprotect = spec.get("unprotect").and_then(Value::as_bool) == Some(true);
        let suffix = if protected_ref && !unprotect {
            "protected"
        } else {
            "non_protected"
        };
        out.push(Cache {
            key: format!("{key}-{suffix}"),
            untracked: spec.get("untracked").and_then(Value::as_bool) == Some(true),
            paths: strings(spec.get("paths")),
            policy: spec
                .get("policy")
                .and_then(Value::as_str)
                .unwrap_or("pull-push")
                .to_owned(),
            when: match spec.get("when").and_then(Value::as_str) {
                Some("on_failure") => When::OnFailure,
                Some("always") => When::Always,
                _ => When::OnSuccess,
            },
            fallback_keys: strings(spec.get("fallback_keys"))
                .into_iter()
                .map(|key| format!("{key}-{suffix}"))
                .collect(),
        });
    }
    out
}

/// `key:` as a string (numbers too), `key: {files, prefix}`, or `default`.
async fn key_of(app: &App, project_id: i64, sha: &str, key: Option<&Value>) -> String {
    match key {
        Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::Object(map)) => {
            let files = strings(map.get("files"));
            let digest = files_digest(app, project_id, sha, files).await;
            let body = digest.unwrap_or_else(|| "default".to_owned());
            match map.get("prefix") {
                Some(Value::String(prefix)) if !prefix.is_empty() => format!("{prefix}-{body}"),
                Some(Value::Number(prefix)) => format!("{prefix}-{body}"),
                _ => body,
            }
        }
        _ => "default".to_owned(),
    }
}

/// SHA-256 (40 hex, the length of GitLab's SHA-1 keys) of the files that exist at `sha`;
/// `None` when none does.
async fn files_digest(app: &App, project_id: i64, sha: &str, files: Vec<String>) -> Option<String> {
    let repo = app.repository(project_id);
    let rev = sha.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut hasher = Sha256::new();
        let mut found = false;
        for path in &files {
            let path = path.trim_start_matches("./");
            if let Ok(Some(bytes)) = repo.read_file(&rev, path) {
                found = true;
                hasher.update(path.as_bytes());
                hasher.update([0]);
                hasher.update(Sha256::digest(&bytes));
            }
        }
        found.then(|| hex::encode(hasher.finalize())[..40].to_owned())
    })
    .await
    .ok()
    .flatten()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(text)) => vec![text.clone()],
        _ => Vec::new(),
    }
}
