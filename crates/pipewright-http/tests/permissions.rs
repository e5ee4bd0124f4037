//! Permissions beyond plain membership, end to end through the router: groups and inherited
//! membership, protected branches (API, Commits API, git push, job abilities,
//! `CI_COMMIT_REF_PROTECTED`), the CI/CD job token scope, renames and their redirects,
//! Kubernetes agents (E5), blocked users and `GET /projects`.

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp, TestUser};
use serde_json::{Value, json};

const ONE_JOB: &str = "build:\n  script: echo hi\n";

fn encode(path: &str) -> String {
    path.replace('/', "%2F")
}

async fn add_project_member(t: &TestApp, project: i64, user: &TestUser, level: i64) {
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user.id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
}

async fn create_group(t: &TestApp, token: &str, body: Value) -> Value {
    t.post("/api/v4/groups")
        .token(token)
        .json(body)
        .await
        .expect_status(StatusCode::CREATED)
        .json()
}

async fn add_group_member(t: &TestApp, token: &str, group: i64, user: &TestUser, level: i64) {
    t.post(&format!("/api/v4/groups/{group}/members"))
        .token(token)
        .json(json!({ "user_id": user.id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
}

fn message(response: &common::Response) -> Value {
    response.json()["message"].clone()
}

// ---- groups ----------------------------------------------------------------------------

#[tokio::test]
async fn groups_are_created_found_by_id_or_path_and_owned_by_their_creator() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let group = create_group(
        &t,
        &alice.token,
        json!({ "name": "Acme", "path": "acme", "visibility": "internal" }),
    )
    .await;
    assert_eq!(group["name"], "Acme");
    assert_eq!(group["path"], "acme");
    assert_eq!(group["full_path"], "acme");
    assert_eq!(group["full_name"], "Acme");
    assert_eq!(group["visibility"], "internal");
    assert_eq!(group["parent_id"], Value::Null);
    assert_eq!(group["web_url"], "http://pw.example/groups/acme");
    let id = group["id"].as_i64().expect("id");

    let sub = create_group(
        &t,
        &alice.token,
        json!({ "name": "Platform", "path": "platform", "parent_id": id }),
    )
    .await;
    assert_eq!(sub["full_path"], "acme/platform");
    assert_eq!(sub["full_name"], "Acme / Platform");
    assert_eq!(sub["parent_id"], id);
    assert_eq!(sub["visibility"], "private");

    let by_path = t
        .get("/api/v4/groups/acme%2Fplatform")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(by_path["id"], sub["id"]);
    let by_id = t
        .get(&format!("/api/v4/groups/{id}"))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(by_id["full_path"], "acme");

    // The creator is Owner: they may add another Owner.
    let bob = t.create_user("bob").await;
    let member = t
        .post(&format!("/api/v4/groups/{id}/members"))
        .token(&alice.token)
        .json(json!({ "user_id": bob.id, "access_level": 50 }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(member["username"], "bob");
    assert_eq!(member["access_level"], 50);
    let again = t
        .post(&format!("/api/v4/groups/{id}/members"))
        .token(&alice.token)
        .json(json!({ "user_id": bob.id, "access_level": 30 }))
        .await
        .expect_status(StatusCode::CONFLICT);
    assert_eq!(message(&again), "Member already exists");
}

#[tokio::test]
async fn private_groups_are_hidden_and_subgroups_need_a_maintainer() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let bob = t.create_user("bob").await;
    let group = create_group(
        &t,
        &alice.token,
        json!({ "name": "Secret", "path": "secret" }),
    )
    .await;
    let id = group["id"].as_i64().expect("id");

    for token in [Some(bob.token.as_str()), None] {
        let mut request = t.get("/api/v4/groups/secret");
        if let Some(token) = token {
            request = request.token(token);
        }
        let response = request.await.expect_status(StatusCode::NOT_FOUND);
        assert_eq!(message(&response), "404 Group Not Found");
    }
    // A Developer sees the group but may not create subgroups or add members.
    add_group_member(&t, &alice.token, id, &bob, 30).await;
    t.get("/api/v4/groups/secret")
        .token(&bob.token)
        .await
        .expect_status(StatusCode::OK);
    let refused = t
        .post("/api/v4/groups")
        .token(&bob.token)
        .json(json!({ "name": "Sub", "path": "sub", "parent_id": id }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(message(&refused), "403 Forbidden");
    let carol = t.create_user("carol").await;
    t.post(&format!("/api/v4/groups/{id}/members"))
        .token(&bob.token)
        .json(json!({ "user_id": carol.id, "access_level": 10 }))
        .await
        .expect_status(StatusCode::FORBIDDEN);

    let missing = t
        .post("/api/v4/groups")
        .token(&alice.token)
        .json(json!({ "name": "Sub", "path": "sub", "parent_id": 999 }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(message(&missing), "404 Group Not Found");
    let taken = t
        .post("/api/v4/groups")
        .token(&bob.token)
        .json(json!({ "name": "Again", "path": "secret" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&taken),
        "Failed to save group {:path=>[\"has already been taken\"]}"
    );
    let no_path = t
        .post("/api/v4/groups")
        .token(&bob.token)
        .json(json!({ "name": "Nameless" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(no_path.json(), json!({ "error": "path is missing" }));
}

#[tokio::test]
async fn group_visibility_limits_subgroups_and_projects() {
    let t = TestApp::new().await;
    let group = create_group(&t, ROOT_TOKEN, json!({ "name": "G", "path": "g" })).await;
    let id = group["id"].as_i64().expect("id");
    let sub = t
        .post("/api/v4/groups")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "S", "path": "s", "parent_id": id, "visibility": "public" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&sub),
        json!({ "visibility_level": ["public is not allowed since the parent group has a private visibility."] })
    );
    let project = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "app", "namespace_id": id, "visibility": "internal" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&project),
        json!({ "visibility_level": ["internal is not allowed in a private group."] })
    );
}

#[tokio::test]
async fn group_membership_is_inherited_by_subgroups_and_their_projects() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let dev = t.create_user("dev").await;
    let reporter = t.create_user("reporter").await;
    let outsider = t.create_user("outsider").await;
    let top = create_group(&t, &alice.token, json!({ "name": "Top", "path": "top" })).await;
    let top_id = top["id"].as_i64().expect("id");
    let sub = create_group(
        &t,
        &alice.token,
        json!({ "name": "Sub", "path": "sub", "parent_id": top_id }),
    )
    .await;
    add_group_member(&t, &alice.token, top_id, &dev, 30).await;
    add_group_member(&t, &alice.token, top_id, &reporter, 20).await;

    let ci = t
        .project_with_ci_as(
            &alice.token,
            "app",
            json!({ "namespace_id": sub["id"] }),
            ONE_JOB,
        )
        .await;
    assert_eq!(ci.full_path, "top/sub/app");
    let path = format!("/api/v4/projects/{}", encode(&ci.full_path));
    let project = t
        .get(&path)
        .token(&dev.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(project["namespace"]["full_path"], "top/sub");
    assert_eq!(project["namespace"]["kind"], "group");
    t.get(&path)
        .token(&outsider.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);

    // Reporter (inherited) reads jobs but may not cancel; Developer may commit to a branch.
    let jobs = format!("/api/v4/projects/{}/jobs", ci.project_id);
    t.get(&jobs)
        .token(&reporter.token)
        .await
        .expect_status(StatusCode::OK);
    let job = t.job_id(ci.project_id, ci.pipeline_id, "build").await;
    t.post(&format!("{jobs}/{job}/cancel"))
        .token(&reporter.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(&dev.token)
    .json(json!({
        "branch": "feature", "start_branch": "main", "commit_message": "f",
        "actions": [{ "action": "create", "file_path": "f.txt", "content": "f" }],
    }))
    .await
    .expect_status(StatusCode::CREATED);
}

// ---- protected branches --------------------------------------------------------------

#[tokio::test]
async fn the_default_branch_is_protected_on_creation_and_rules_are_managed_by_maintainers() {
    let t = TestApp::new().await;
    let project = t
        .create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    let id = project["id"].as_i64().expect("id");
    let base = format!("/api/v4/projects/{id}/protected_branches");
    let list = t
        .get(&base)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(list.header("x-total"), Some("1"));
    let rule = &list.json()[0];
    assert_eq!(rule["name"], "main");
    assert_eq!(rule["push_access_levels"][0]["access_level"], 40);
    assert_eq!(
        rule["push_access_levels"][0]["access_level_description"],
        "Maintainers"
    );
    assert_eq!(rule["merge_access_levels"][0]["access_level"], 40);
    assert_eq!(rule["allow_force_push"], false);

    let created = t
        .post(&base)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "release/*", "push_access_level": 30, "merge_access_level": 0 }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(
        created,
        json!({
            "id": created["id"],
            "name": "release/*",
            "push_access_levels": [{
                "id": created["id"], "access_level": 30,
                "access_level_description": "Developers + Maintainers",
                "deploy_key_id": null, "user_id": null, "group_id": null,
            }],
            "merge_access_levels": [{
                "id": created["id"], "access_level": 0, "access_level_description": "No one",
                "deploy_key_id": null, "user_id": null, "group_id": null,
            }],
            "allow_force_push": false,
            "code_owner_approval_required": false,
        })
    );
    let duplicate = t
        .post(&base)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "release/*" }))
        .await
        .expect_status(StatusCode::CONFLICT);
    assert_eq!(
        message(&duplicate),
        "Protected branch 'release/*' already exists"
    );
    let invalid = t
        .post(&base)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "x", "push_access_level": 20 }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json(),
        json!({ "error": "push_access_level does not have a valid value" })
    );

    let one = t
        .get(&format!("{base}/release%2F*"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(one["name"], "release/*");

    // Developers may neither read nor change the rules.
    let dev = t.create_user("dev").await;
    add_project_member(&t, id, &dev, 30).await;
    t.get(&base)
        .token(&dev.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.delete(&format!("{base}/release%2F*"))
        .token(&dev.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);

    t.delete(&format!("{base}/release%2F*"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let gone = t
        .get(&format!("{base}/release%2F*"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(message(&gone), "404 Not found");
}

fn commit_body(branch: &str, start: Option<&str>, file: &str) -> Value {
    let mut body = json!({
        "branch": branch, "commit_message": format!("touch {file}"),
        "actions": [{ "action": "create", "file_path": file, "content": "x" }],
    });
    if let Some(start) = start {
        body["start_branch"] = json!(start);
    }
    body
}

#[tokio::test]
async fn the_commits_api_enforces_protected_branches() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(ONE_JOB).await;
    let commits = format!("/api/v4/projects/{}/repository/commits", ci.project_id);
    let dev = t.create_user("dev").await;
    add_project_member(&t, ci.project_id, &dev, 30).await;

    let refused = t
        .post(&commits)
        .token(&dev.token)
        .json(commit_body("main", None, "a.txt"))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        message(&refused),
        "403 Forbidden - You are not allowed to push into this branch"
    );
    t.post(&commits)
        .token(&dev.token)
        .json(commit_body("feature", Some("main"), "b.txt"))
        .await
        .expect_status(StatusCode::CREATED);

    // A wildcard rule letting Developers push.
    t.post(&format!(
        "/api/v4/projects/{}/protected_branches",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({ "name": "release/*", "push_access_level": 30 }))
    .await
    .expect_status(StatusCode::CREATED);
    t.post(&commits)
        .token(&dev.token)
        .json(commit_body("release/1.0", Some("main"), "c.txt"))
        .await
        .expect_status(StatusCode::CREATED);
    t.post(&format!(
        "/api/v4/projects/{}/protected_branches",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({ "name": "frozen", "push_access_level": 0 }))
    .await
    .expect_status(StatusCode::CREATED);
    // "No one" stops administrators too.
    t.post(&commits)
        .token(ROOT_TOKEN)
        .json(commit_body("frozen", Some("main"), "d.txt"))
        .await
        .expect_status(StatusCode::FORBIDDEN);

    let branches = t
        .get(&format!(
            "/api/v4/projects/{}/repository/branches",
            ci.project_id
        ))
        .token(&dev.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let by_name = |name: &str| {
        branches
            .as_array()
            .expect("array")
            .iter()
            .find(|branch| branch["name"] == name)
            .cloned()
            .expect("branch")
    };
    assert_eq!(by_name("main")["protected"], true);
    assert_eq!(by_name("main")["can_push"], false);
    assert_eq!(by_name("feature")["protected"], false);
    assert_eq!(by_name("feature")["can_push"], true);
    assert_eq!(by_name("release/1.0")["protected"], true);
    assert_eq!(by_name("release/1.0")["developers_can_push"], true);
    assert_eq!(by_name("release/1.0")["can_push"], true);
}

#[tokio::test]
async fn developers_cannot_push_the_first_commit_of_an_empty_repository() {
    let t = TestApp::new().await;
    let project = t
        .create_project(ROOT_TOKEN, json!({ "name": "empty" }))
        .await;
    let id = project["id"].as_i64().expect("id");
    let dev = t.create_user("dev").await;
    add_project_member(&t, id, &dev, 30).await;
    t.post(&format!("/api/v4/projects/{id}/repository/commits"))
        .token(&dev.token)
        .json(commit_body("feature", None, "a.txt"))
        .await
        .expect_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn jobs_on_protected_refs_need_push_or_merge_rights() {
    let t = TestApp::new().await;
    let yaml = "build:\n  script: echo hi\nmanual:\n  script: echo m\n  when: manual\n";
    let ci = t.project_with_ci(yaml).await;
    let dev = t.create_user("dev").await;
    add_project_member(&t, ci.project_id, &dev, 30).await;
    let maintainer = t.create_user("maint").await;
    add_project_member(&t, ci.project_id, &maintainer, 40).await;
    let jobs = format!("/api/v4/projects/{}/jobs", ci.project_id);
    let build = t.job_id(ci.project_id, ci.pipeline_id, "build").await;
    let manual = t.job_id(ci.project_id, ci.pipeline_id, "manual").await;

    // main is protected (Maintainers): a Developer can do nothing to its jobs.
    for (job, action) in [(build, "cancel"), (manual, "play")] {
        let response = t
            .post(&format!("{jobs}/{job}/{action}"))
            .token(&dev.token)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(message(&response), "403 Forbidden", "{action}");
    }
    let runner = t.instance_runner().await;
    let done = t.run_next(&runner, "log\n", "failed").await;
    assert_eq!(done.id, build);
    assert_eq!(
        done.variable("CI_COMMIT_REF_PROTECTED").as_deref(),
        Some("true")
    );
    for action in ["retry", "erase"] {
        t.post(&format!("{jobs}/{build}/{action}"))
            .token(&dev.token)
            .await
            .expect_status(StatusCode::FORBIDDEN);
    }
    // A Maintainer may.
    t.post(&format!("{jobs}/{build}/retry"))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::CREATED);
    t.post(&format!("{jobs}/{build}/erase"))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn developers_erase_their_own_jobs_on_unprotected_refs_only() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(ONE_JOB).await;
    let dev = t.create_user("dev").await;
    add_project_member(&t, ci.project_id, &dev, 30).await;
    let commits = format!("/api/v4/projects/{}/repository/commits", ci.project_id);
    let runner = t.instance_runner().await;
    // Drain main's job first so the next claim is the feature branch's.
    t.run_next(&runner, "main\n", "success").await;

    t.post(&commits)
        .token(&dev.token)
        .json(commit_body("feature", Some("main"), "f.txt"))
        .await
        .expect_status(StatusCode::CREATED);
    let feature_job = t.run_next(&runner, "feature\n", "success").await;
    assert_eq!(
        feature_job.variable("CI_COMMIT_REF_PROTECTED").as_deref(),
        Some("false")
    );
    let jobs = format!("/api/v4/projects/{}/jobs", ci.project_id);
    let erased = t
        .post(&format!("{jobs}/{}/erase", feature_job.id))
        .token(&dev.token)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert!(erased["erased_at"].is_string());

    // On a protected branch the Developer may push to, retry works but erase does not.
    t.post(&format!(
        "/api/v4/projects/{}/protected_branches",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({ "name": "release/*", "push_access_level": 30, "merge_access_level": 30 }))
    .await
    .expect_status(StatusCode::CREATED);
    t.post(&commits)
        .token(&dev.token)
        .json(commit_body("release/1", Some("main"), "r.txt"))
        .await
        .expect_status(StatusCode::CREATED);
    let release_job = t.run_next(&runner, "release\n", "success").await;
    assert_eq!(
        release_job.variable("CI_COMMIT_REF_PROTECTED").as_deref(),
        Some("true")
    );
    t.post(&format!("{jobs}/{}/erase", release_job.id))
        .token(&dev.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.post(&format!("{jobs}/{}/retry", release_job.id))
        .token(&dev.token)
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

#[tokio::test(flavor = "multi_thread")]
async fn git_pushes_to_protected_branches_are_declined_like_a_pre_receive_hook() {
    let t = TestApp::new().await;
    t.project_with_ci(ONE_JOB).await;
    let project = t
        .get("/api/v4/projects/root%2Fdemo")
        .token(ROOT_TOKEN)
        .await
        .json();
    let project_id = project["id"].as_i64().expect("id");
    let dev = t.create_user("dev").await;
    add_project_member(&t, project_id, &dev, 30).await;

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
    let (declined, feature_ok, delete_declined) = tokio::task::spawn_blocking(move || {
        let (ok, err) = git(&dir, &["clone", &dev_url, "clone"]);
        assert!(ok, "clone: {err}");
        let clone = dir.join("clone");
        git(&clone, &["config", "user.email", "dev@example.com"]);
        git(&clone, &["config", "user.name", "Dev"]);
        std::fs::write(clone.join("new.txt"), "x").expect("write");
        git(&clone, &["add", "new.txt"]);
        let (ok, err) = git(&clone, &["commit", "-m", "new"]);
        assert!(ok, "commit: {err}");
        let declined = git(&clone, &["push", "origin", "HEAD:main"]);
        let feature = git(&clone, &["push", "origin", "HEAD:refs/heads/feature"]);
        let deleted = git(&clone, &["push", &root_url, ":main"]);
        (declined, feature, deleted)
    })
    .await
    .expect("git");
    server.abort();

    assert!(!declined.0, "push to main accepted");
    assert!(
        declined.1.contains(
            "GitLab: You are not allowed to push code to protected branches on this project."
        ),
        "{}",
        declined.1
    );
    assert!(
        declined.1.contains("pre-receive hook declined"),
        "{}",
        declined.1
    );
    assert!(feature_ok.0, "push to feature refused: {}", feature_ok.1);
    assert!(!delete_declined.0);
    assert!(
        delete_declined
            .1
            .contains("The default branch of a project cannot be deleted."),
        "{}",
        delete_declined.1
    );
    let branches = t
        .get(&format!(
            "/api/v4/projects/{project_id}/repository/branches"
        ))
        .token(ROOT_TOKEN)
        .await
        .json();
    let names: Vec<&str> = branches
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|branch| branch["name"].as_str())
        .collect();
    assert_eq!(names, ["feature", "main"]);
}
