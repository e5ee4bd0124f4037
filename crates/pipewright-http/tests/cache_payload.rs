//! The `cache` array of the job payload (runner-protocol.md §5.4), computed from `cache:` the
//! way GitLab does: default key, `key:files` digests with `prefix`, policy/when/untracked,
//! fallback keys, and the `-protected`/`-non_protected` suffix (`unprotect: true`).

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp, TestRunner};
use serde_json::{Value, json};

const CI: &str = r#"
a:
  script: x
  cache:
    - key:
        files: [Gemfile.lock]
        prefix: $CI_JOB_NAME
      paths: [vendor/]
    - key: k1
      paths: [out]
      policy: pull
      when: always
      untracked: true
      unprotect: true
      fallback_keys: [f1]
b:
  script: x
  cache:
    paths: [p]
"#;

/// Claims the pipeline's two jobs, finishes them, and returns their `cache` by job name.
async fn caches(t: &TestApp, runner: &TestRunner) -> (Value, Value) {
    let (mut a, mut b) = (Value::Null, Value::Null);
    for _ in 0..2 {
        let job = t.claim(runner).await;
        match job.payload["job_info"]["name"].as_str() {
            Some("a") => a = job.payload["cache"].clone(),
            Some("b") => b = job.payload["cache"].clone(),
            other => panic!("unexpected job {other:?}"),
        }
        t.succeed(&job).await;
    }
    (a, b)
}

fn key(cache: &Value) -> String {
    cache[0]["key"].as_str().expect("key").to_owned()
}

#[tokio::test]
async fn cache_entries_follow_gitlab() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let ci = t.project_with_ci(CI).await;

    // No Gemfile.lock yet: the `key:files` key falls back to `<prefix>-default`.
    let (a, b) = caches(&t, &runner).await;
    assert_eq!(
        a,
        json!([
            { "key": "$CI_JOB_NAME-default-protected", "untracked": false, "paths": ["vendor/"],
              "policy": "pull-push", "when": "on_success", "fallback_keys": [] },
            { "key": "k1-non_protected", "untracked": true, "paths": ["out"],
              "policy": "pull", "when": "always", "fallback_keys": ["f1-non_protected"] },
        ])
    );
    assert_eq!(
        b,
        json!([{ "key": "default-protected", "untracked": false, "paths": ["p"],
                 "policy": "pull-push", "when": "on_success", "fallback_keys": [] }])
    );

    // With the file, a digest of it; unchanged by unrelated commits, changed with the file.
    let commit = |action: &str, path: &str, content: &str| json!([{ "action": action, "file_path": path, "content": content }]);
    t.commit(
        ROOT_TOKEN,
        ci.project_id,
        "main",
        commit("create", "Gemfile.lock", "v1"),
    )
    .await;
    let (first, _) = caches(&t, &runner).await;
    let first = key(&first);
    let digest = first
        .strip_prefix("$CI_JOB_NAME-")
        .and_then(|rest| rest.strip_suffix("-protected"))
        .expect("prefixed, suffixed key");
    assert_eq!(digest.len(), 40, "{first}");
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{first}");

    t.commit(
        ROOT_TOKEN,
        ci.project_id,
        "main",
        commit("create", "README", "r"),
    )
    .await;
    let (same, _) = caches(&t, &runner).await;
    assert_eq!(key(&same), first);

    t.commit(
        ROOT_TOKEN,
        ci.project_id,
        "main",
        commit("update", "Gemfile.lock", "v2"),
    )
    .await;
    let (changed, _) = caches(&t, &runner).await;
    assert_ne!(key(&changed), first);

    // An unprotected branch gets `-non_protected` keys.
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({
        "branch": "feature", "start_branch": "main", "commit_message": "f",
        "actions": [{ "action": "create", "file_path": "f", "content": "f" }],
    }))
    .await
    .expect_status(StatusCode::CREATED);
    let (_, b) = caches(&t, &runner).await;
    assert_eq!(key(&b), "default-non_protected");
}
