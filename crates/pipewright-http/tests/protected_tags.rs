//! Protected tags through the router: the `/projects/:id/protected_tags` API (GitLab's
//! entity and errors), jobs on protected tags (cancel/retry need the right to create the
//! tag, pipelines need it too), `ref_protected` runners and `CI_COMMIT_REF_PROTECTED`, and
//! git pushes of protected tags.

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{CiProject, ROOT_TOKEN, TestApp, TestUser};
use serde_json::{Value, json};

const ONE_JOB: &str = "build:\n  script: echo hi\n";

async fn add_project_member(t: &TestApp, project: i64, user: &TestUser, level: i64) {
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user.id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
}

/// Runs git in `dir`; returns (success, stderr).
fn git(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Tags `main` as `tag` directly in the project's bare repository.
fn tag_main(t: &TestApp, project: i64, tag: &str) {
    let repo = t.app.repository_path(project);
    let (ok, err) = git(&repo, &["tag", tag, "main"]);
    assert!(ok, "git tag: {err}");
}

async fn protect(t: &TestApp, project: i64, body: Value) -> Value {
    t.post(&format!("/api/v4/projects/{project}/protected_tags"))
        .token(ROOT_TOKEN)
        .json(body)
        .await
        .expect_status(StatusCode::CREATED)
        .json()
}

/// A pipeline for `ref_name` run by root; returns its only job's id.
async fn pipeline_job(t: &TestApp, ci: &CiProject, ref_name: &str) -> i64 {
    let pipeline = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "ref": ref_name }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let jobs = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}/jobs",
            ci.project_id, pipeline["id"]
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(jobs[0]["tag"], true, "{ref_name}");
    jobs[0]["id"].as_i64().expect("job id")
}

// ---- the API ---------------------------------------------------------------------------

#[tokio::test]
async fn protected_tags_are_created_listed_read_and_deleted_by_maintainers() {
    let t = TestApp::new().await;
    let project = t.create_project(ROOT_TOKEN, json!({ "name": "p" })).await;
    let id = project["id"].as_i64().expect("id");
    let base = format!("/api/v4/projects/{id}/protected_tags");

    let created = t
        .post(&base)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "release-*", "create_access_level": 30 }))
        .await
        .expect_status(StatusCode::CREATED);
    let rule_id = created.json()["create_access_levels"][0]["id"].clone();
    assert_eq!(
        created.json(),
        json!({
            "name": "release-*",
            "create_access_levels": [{
                "id": rule_id,
                "access_level": 30,
                "access_level_description": "Developers + Maintainers",
                "deploy_key_id": null,
                "user_id": null,
                "group_id": null,
            }],
        })
    );
    assert_eq!(created.ordered().keys(), ["name", "create_access_levels"]);
    // Maintainers by default.
    let v1 = protect(&t, id, json!({ "name": "v1.0" })).await;
    assert_eq!(v1["create_access_levels"][0]["access_level"], 40);
    assert_eq!(
        v1["create_access_levels"][0]["access_level_description"],
        "Maintainers"
    );

    let listed = t
        .get(&base)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(listed.header("x-total"), Some("2"));
    let listed = listed.json();
    let names: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|rule| rule["name"].as_str())
        .collect();
    assert_eq!(names, ["release-*", "v1.0"]);
    let one = t
        .get(&format!("{base}/release-*"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(one.json(), created.json());

    // GitLab's errors.
    let taken = t
        .post(&base)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "v1.0" }))
        .await
        .expect_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        taken.json(),
        json!({ "message": ["Name has already been taken"] })
    );
    let missing = t
        .post(&base)
        .token(ROOT_TOKEN)
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(missing.json(), json!({ "error": "name is missing" }));
    let invalid = t
        .post(&base)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "x", "create_access_level": 20 }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json(),
        json!({ "error": "create_access_level does not have a valid value" })
    );
    let unknown = t
        .get(&format!("{base}/nope"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(unknown.json(), json!({ "message": "404 Not found" }));

    // Developers may not manage (or read) the rules.
    let dev = t.create_user("dev").await;
    add_project_member(&t, id, &dev, 30).await;
    for response in [
        t.get(&base).token(&dev.token).await,
        t.post(&base)
            .token(&dev.token)
            .json(json!({ "name": "mine" }))
            .await,
        t.delete(&format!("{base}/v1.0")).token(&dev.token).await,
    ] {
        assert_eq!(response.status, StatusCode::FORBIDDEN);
        assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    }

    t.delete(&format!("{base}/v1.0"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let gone = t
        .delete(&format!("{base}/v1.0"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(gone.json(), json!({ "message": "404 Not found" }));
    let missing_project = t
        .get("/api/v4/projects/999/protected_tags")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        missing_project.json(),
        json!({ "message": "404 Project Not Found" })
    );
}

// ---- jobs on protected tags ------------------------------------------------------------

#[tokio::test]
async fn jobs_on_protected_tags_need_the_right_to_create_the_tag() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(ONE_JOB).await;
    let dev = t.create_user("dev").await;
    add_project_member(&t, ci.project_id, &dev, 30).await;
    let maintainer = t.create_user("maint").await;
    add_project_member(&t, ci.project_id, &maintainer, 40).await;
    tag_main(&t, ci.project_id, "v1");
    tag_main(&t, ci.project_id, "nightly");
    protect(&t, ci.project_id, json!({ "name": "v*" })).await;
    let jobs = format!("/api/v4/projects/{}/jobs", ci.project_id);
    let forbidden = json!({ "message": "403 Forbidden" });

    // A protected tag created by Maintainers only: a Developer may not touch its jobs.
    let job = pipeline_job(&t, &ci, "v1").await;
    let response = t
        .post(&format!("{jobs}/{job}/cancel"))
        .token(&dev.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), forbidden);
    t.post(&format!("{jobs}/{job}/cancel"))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::CREATED);
    let response = t
        .post(&format!("{jobs}/{job}/retry"))
        .token(&dev.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), forbidden);
    let retried = t
        .post(&format!("{jobs}/{job}/retry"))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::CREATED)
        .json();

    // Nor run a pipeline for it.
    let refused = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(&dev.token)
        .json(json!({ "ref": "v1" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.json(),
        json!({ "message": { "base": ["Insufficient permissions for protected ref 'v1'"] } })
    );

    // An unprotected tag is any Developer's.
    let nightly = pipeline_job(&t, &ci, "nightly").await;
    t.post(&format!("{jobs}/{nightly}/cancel"))
        .token(&dev.token)
        .await
        .expect_status(StatusCode::CREATED);

    // A rule that lets Developers create the tag lets them act on its jobs.
    t.delete(&format!(
        "/api/v4/projects/{}/protected_tags/v*",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NO_CONTENT);
    protect(
        &t,
        ci.project_id,
        json!({ "name": "v*", "create_access_level": 30 }),
    )
    .await;
    t.post(&format!("{jobs}/{}/cancel", retried["id"]))
        .token(&dev.token)
        .await
        .expect_status(StatusCode::CREATED);
    t.post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(&dev.token)
        .json(json!({ "ref": "v1" }))
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn protected_tags_are_protected_refs_for_runners_and_variables() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(ONE_JOB).await;
    // The push pipeline's job on main goes first.
    let runner = t.instance_runner().await;
    let first = t.claim(&runner).await;
    assert_eq!(first.payload["git_info"]["ref"], "main");
    tag_main(&t, ci.project_id, "v1");
    tag_main(&t, ci.project_id, "nightly");
    protect(&t, ci.project_id, json!({ "name": "v1" })).await;

    let nightly = pipeline_job(&t, &ci, "nightly").await;
    let v1 = pipeline_job(&t, &ci, "v1").await;
    let protected_runner = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "access_level": "ref_protected" }),
        )
        .await;
    // The older job is on an unprotected tag: the protected runner skips it.
    let job = t.claim(&protected_runner).await;
    assert_eq!(job.id, v1);
    assert_eq!(job.payload["git_info"]["ref"], "v1");
    assert_eq!(
        job.variable("CI_COMMIT_REF_PROTECTED").as_deref(),
        Some("true")
    );
    t.request_job(&protected_runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let other = t.claim(&runner).await;
    assert_eq!(other.id, nightly);
    assert_eq!(
        other.variable("CI_COMMIT_REF_PROTECTED").as_deref(),
        Some("false")
    );
}

// ---- git pushes --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn git_pushes_of_protected_tags_follow_gitlabs_tag_checks() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(ONE_JOB).await;
    let dev = t.create_user("dev").await;
    add_project_member(&t, ci.project_id, &dev, 30).await;
    protect(&t, ci.project_id, json!({ "name": "v*" })).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let router = pipewright_http::router(t.app.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().to_owned();
    let dev_url = format!("http://dev:{}@{address}/root/demo.git", dev.token);
    let root_url = format!("http://root:{ROOT_TOKEN}@{address}/root/demo.git");
    let outcomes = tokio::task::spawn_blocking(move || {
        let (ok, err) = git(&dir, &["clone", &dev_url, "clone"]);
        assert!(ok, "clone: {err}");
        let clone = dir.join("clone");
        git(&clone, &["config", "user.email", "dev@example.com"]);
        git(&clone, &["config", "user.name", "Dev"]);
        git(&clone, &["tag", "v1"]);
        git(&clone, &["tag", "other"]);
        let dev_protected = git(&clone, &["push", "origin", "v1"]);
        let dev_unprotected = git(&clone, &["push", "origin", "other"]);
        let root_protected = git(&clone, &["push", &root_url, "v1"]);
        // Moving or deleting a protected tag.
        std::fs::write(clone.join("new.txt"), "x").expect("write");
        git(&clone, &["add", "new.txt"]);
        git(&clone, &["commit", "-m", "new"]);
        git(&clone, &["tag", "-f", "v1"]);
        let moved = git(&clone, &["push", "--force", &root_url, "v1"]);
        let deleted = git(&clone, &["push", &root_url, ":refs/tags/v1"]);
        let dev_deleted = git(&clone, &["push", "origin", ":refs/tags/v1"]);
        [
            dev_protected,
            dev_unprotected,
            root_protected,
            moved,
            deleted,
            dev_deleted,
        ]
    })
    .await
    .expect("git");
    server.abort();
    let [
        dev_protected,
        dev_unprotected,
        root_protected,
        moved,
        deleted,
        dev_deleted,
    ] = outcomes;

    assert!(!dev_protected.0, "developer created a protected tag");
    assert!(
        dev_protected
            .1
            .contains("GitLab: You are not allowed to create this tag as it is protected."),
        "{}",
        dev_protected.1
    );
    assert!(
        dev_protected.1.contains("pre-receive hook declined"),
        "{}",
        dev_protected.1
    );
    assert!(dev_unprotected.0, "{}", dev_unprotected.1);
    assert!(root_protected.0, "{}", root_protected.1);
    assert!(!moved.0, "protected tag moved");
    assert!(
        moved
            .1
            .contains("GitLab: Protected tags cannot be updated."),
        "{}",
        moved.1
    );
    assert!(!deleted.0, "protected tag deleted");
    assert!(
        deleted
            .1
            .contains("GitLab: You can only delete protected tags using the web interface."),
        "{}",
        deleted.1
    );
    assert!(!dev_deleted.0);
    assert!(
        dev_deleted.1.contains(
            "GitLab: You are not allowed to delete protected tags from this project. Only a project maintainer or owner can delete a protected tag."
        ),
        "{}",
        dev_deleted.1
    );
}
