//! The Commits and Branches APIs on real git repositories.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::ordered::is_timestamp;
use crate::common::{EXTERNAL_URL, ROOT_TOKEN, TestApp};

fn is_sha(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|sha| sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn demo(t: &TestApp) {
    t.create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
}

fn commit_body(branch: &str, actions: Value) -> Value {
    json!({ "branch": branch, "commit_message": "Add things\n\nWith a body.", "actions": actions })
}

#[tokio::test]
async fn first_commit_creates_the_branch() {
    let t = TestApp::new().await;
    demo(&t).await;
    let response = t
        .post("/api/v4/projects/1/repository/commits")
        .token(ROOT_TOKEN)
        .json(commit_body(
            "main",
            json!([{ "action": "create", "file_path": "README.md", "content": "# hi\n" }]),
        ))
        .await
        .expect_status(StatusCode::CREATED);
    let mut commit = response.json();
    let sha = commit["id"].as_str().expect("sha").to_owned();
    assert!(is_sha(&commit["id"]));
    for key in ["created_at", "authored_date", "committed_date"] {
        assert!(is_timestamp(commit[key].as_str().expect(key)), "{key}");
        commit[key] = json!("[timestamp]");
    }
    assert_eq!(
        commit,
        json!({
            "id": sha,
            "short_id": &sha[..8],
            "created_at": "[timestamp]",
            "parent_ids": [],
            "title": "Add things",
            "message": "Add things\n\nWith a body.",
            "author_name": "Administrator",
            "author_email": "admin@example.com",
            "authored_date": "[timestamp]",
            "committer_name": "Administrator",
            "committer_email": "admin@example.com",
            "committed_date": "[timestamp]",
            "trailers": {},
            "extended_trailers": {},
            "web_url": format!("{EXTERNAL_URL}/root/demo/-/commit/{sha}"),
        })
    );
    // The project is no longer empty.
    let project = t
        .get("/api/v4/projects/1")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(project["empty_repo"], false);
    // No .gitlab-ci.yml: no pipeline.
    let pipelines = t
        .get("/api/v4/projects/1/pipelines")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(pipelines, json!([]));
}

#[tokio::test]
async fn update_move_and_delete_files() {
    let t = TestApp::new().await;
    demo(&t).await;
    let first = t
        .commit(
            ROOT_TOKEN,
            1,
            "main",
            json!([
                { "action": "create", "file_path": "a.txt", "content": "a" },
                { "action": "create", "file_path": "dir/b.txt", "content": "Yg==", "encoding": "base64" },
            ]),
        )
        .await;
    let second = t
        .commit(
            ROOT_TOKEN,
            1,
            "main",
            json!([
                { "action": "update", "file_path": "a.txt", "content": "A" },
                { "action": "move", "file_path": "c.txt", "previous_path": "dir/b.txt" },
            ]),
        )
        .await;
    assert_eq!(second["parent_ids"], json!([first["id"]]));
    let third = t
        .commit(
            ROOT_TOKEN,
            1,
            "main",
            json!([{ "action": "delete", "file_path": "c.txt" }]),
        )
        .await;
    assert_eq!(third["parent_ids"], json!([second["id"]]));
    // Each is readable by sha, and the branch name resolves to the newest.
    for commit in [&first, &second, &third] {
        let read = t
            .get(&format!(
                "/api/v4/projects/1/repository/commits/{}",
                commit["id"].as_str().expect("sha")
            ))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .json();
        assert_eq!(&read, commit);
    }
    let head = t
        .get("/api/v4/projects/1/repository/commits/main")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(head, third);
}

#[tokio::test]
async fn file_action_errors_are_gitlab_messages() {
    let t = TestApp::new().await;
    demo(&t).await;
    t.commit(
        ROOT_TOKEN,
        1,
        "main",
        json!([{ "action": "create", "file_path": "a.txt", "content": "a" }]),
    )
    .await;
    let cases = [
        (
            commit_body(
                "main",
                json!([{ "action": "create", "file_path": "a.txt", "content": "x" }]),
            ),
            "A file with this name already exists",
        ),
        (
            commit_body(
                "main",
                json!([{ "action": "update", "file_path": "nope.txt", "content": "x" }]),
            ),
            "A file with this name doesn't exist",
        ),
        (
            commit_body(
                "main",
                json!([{ "action": "delete", "file_path": "nope.txt" }]),
            ),
            "A file with this name doesn't exist",
        ),
        (
            commit_body(
                "feature",
                json!([{ "action": "create", "file_path": "b.txt", "content": "x" }]),
            ),
            "You can only create or edit files when you are on a branch",
        ),
    ];
    for (body, message) in cases {
        let response = t
            .post("/api/v4/projects/1/repository/commits")
            .token(ROOT_TOKEN)
            .json(body)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "message": message }));
    }
    // With start_branch a new branch is created.
    let mut body = commit_body(
        "feature",
        json!([{ "action": "create", "file_path": "b.txt", "content": "x" }]),
    );
    body["start_branch"] = json!("main");
    t.post("/api/v4/projects/1/repository/commits")
        .token(ROOT_TOKEN)
        .json(body)
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn commit_params_are_validated() {
    let t = TestApp::new().await;
    demo(&t).await;
    let cases = [
        (
            json!({ "commit_message": "m", "actions": [] }),
            "branch is missing",
        ),
        (
            json!({ "branch": "main", "actions": [] }),
            "commit_message is missing",
        ),
        (
            json!({ "branch": "main", "commit_message": "m" }),
            "actions is missing",
        ),
        (
            json!({ "branch": "main", "commit_message": "m", "actions": [] }),
            "actions is empty",
        ),
        (
            json!({ "branch": "main", "commit_message": "m", "actions": [{ "action": "paint", "file_path": "x" }] }),
            "actions[0][action] does not have a valid value",
        ),
        (
            json!({ "branch": "main", "commit_message": "m", "actions": [{ "action": "create" }] }),
            "actions[0][file_path] is missing",
        ),
    ];
    for (body, error) in cases {
        let response = t
            .post("/api/v4/projects/1/repository/commits")
            .token(ROOT_TOKEN)
            .json(body)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }));
    }
}

#[tokio::test]
async fn who_may_commit_and_read() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    t.create_project(
        ROOT_TOKEN,
        json!({ "name": "demo", "visibility": "public" }),
    )
    .await;
    let body = commit_body(
        "main",
        json!([{ "action": "create", "file_path": "a.txt", "content": "a" }]),
    );
    t.post("/api/v4/projects/1/repository/commits")
        .json(body.clone())
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    let response = t
        .post("/api/v4/projects/1/repository/commits")
        .token(&alice.token)
        .json(body)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        response.json(),
        json!({ "message": "403 Forbidden - You are not allowed to push into this branch" })
    );
    let commit = t
        .commit(
            ROOT_TOKEN,
            1,
            "main",
            json!([{ "action": "create", "file_path": "a.txt", "content": "a" }]),
        )
        .await;
    // A public project's commits are readable anonymously.
    let read = t
        .get(&format!(
            "/api/v4/projects/1/repository/commits/{}",
            commit["id"].as_str().expect("sha")
        ))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(read, commit);
}

#[tokio::test]
async fn unknown_commit_is_404() {
    let t = TestApp::new().await;
    demo(&t).await;
    t.commit(
        ROOT_TOKEN,
        1,
        "main",
        json!([{ "action": "create", "file_path": "a.txt", "content": "a" }]),
    )
    .await;
    for rev in ["0123456789012345678901234567890123456789", "nope", "--all"] {
        let response = t
            .get(&format!("/api/v4/projects/1/repository/commits/{rev}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::NOT_FOUND);
        assert_eq!(
            response.json(),
            json!({ "message": "404 Commit Not Found" }),
            "{rev}"
        );
    }
}

#[tokio::test]
async fn branches_list_the_default_branch_first_class() {
    let t = TestApp::new().await;
    demo(&t).await;
    let main = t
        .commit(
            ROOT_TOKEN,
            1,
            "main",
            json!([{ "action": "create", "file_path": "a.txt", "content": "a" }]),
        )
        .await;
    let mut body = commit_body(
        "feature",
        json!([{ "action": "create", "file_path": "b.txt", "content": "b" }]),
    );
    body["start_branch"] = json!("main");
    let feature = t
        .post("/api/v4/projects/1/repository/commits")
        .token(ROOT_TOKEN)
        .json(body)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let branches = t
        .get("/api/v4/projects/1/repository/branches")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let branches = branches.as_array().expect("array");
    assert_eq!(branches.len(), 2);
    let find = |name: &str| {
        branches
            .iter()
            .find(|branch| branch["name"] == name)
            .unwrap_or_else(|| panic!("branch {name}"))
            .clone()
    };
    assert_eq!(
        find("main"),
        json!({
            "name": "main",
            "commit": main,
            "merged": false,
            "protected": true,
            "developers_can_push": false,
            "developers_can_merge": false,
            "can_push": true,
            "default": true,
            "web_url": format!("{EXTERNAL_URL}/root/demo/-/tree/main"),
        })
    );
    let feature_branch = find("feature");
    assert_eq!(feature_branch["commit"], feature);
    assert_eq!(feature_branch["default"], false);
    assert_eq!(feature_branch["protected"], false);
}

#[tokio::test]
async fn author_params_set_the_author() {
    let t = TestApp::new().await;
    demo(&t).await;
    let commit = t
        .post("/api/v4/projects/1/repository/commits")
        .token(ROOT_TOKEN)
        .json(json!({
            "branch": "main", "commit_message": "by ada",
            "author_name": "Ada", "author_email": "ada@example.com",
            "actions": [{ "action": "create", "file_path": "a.txt", "content": "a" }],
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(commit["author_name"], "Ada");
    assert_eq!(commit["author_email"], "ada@example.com");
}

/// GitLab (Gitaly's `UserCommitFiles`) takes the committer from the acting user; only the
/// author comes from `author_name`/`author_email`.
#[tokio::test]
async fn the_committer_is_the_api_user() {
    let t = TestApp::new().await;
    demo(&t).await;
    let commit = t
        .post("/api/v4/projects/1/repository/commits")
        .token(ROOT_TOKEN)
        .json(json!({
            "branch": "main", "commit_message": "by ada",
            "author_name": "Ada", "author_email": "ada@example.com",
            "actions": [{ "action": "create", "file_path": "a.txt", "content": "a" }],
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(commit["committer_name"], "Administrator");
    assert_eq!(commit["committer_email"], "admin@example.com");
}
