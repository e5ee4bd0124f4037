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
    assert_eq!(group["project_creation_level"], "maintainer");
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
    let root_url2 = root_url.clone();
    let (declined, feature_ok, delete_declined, forced, side) =
        tokio::task::spawn_blocking(move || {
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
            // Rewriting history of a protected branch: refused unless a rule allows it.
            git(&clone, &["checkout", "--orphan", "rewritten"]);
            std::fs::write(clone.join("other.txt"), "y").expect("write");
            git(&clone, &["add", "other.txt"]);
            git(&clone, &["commit", "-m", "other"]);
            let forced = git(&clone, &["push", "--force", &root_url, "HEAD:main"]);
            let fast_forward = git(&clone, &["push", &root_url, "HEAD:refs/heads/side"]);
            (declined, feature, deleted, forced, fast_forward)
        })
        .await
        .expect("git");

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
    assert!(!forced.0, "force push to main accepted");
    assert!(
        forced.1.contains(
            "GitLab: You are not allowed to force push code to a protected branch on this project."
        ),
        "{}",
        forced.1
    );
    assert!(side.0, "push to side refused: {}", side.1);

    // A rule may allow force pushes; then the same push goes through.
    let rule = t
        .patch(&format!(
            "/api/v4/projects/{project_id}/protected_branches/main"
        ))
        .token(ROOT_TOKEN)
        .json(json!({ "allow_force_push": true }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(rule["allow_force_push"], true);
    let dir = work.path().join("clone");
    let forced_again = tokio::task::spawn_blocking(move || {
        git(&dir, &["push", "--force", &root_url2, "HEAD:main"])
    })
    .await
    .expect("git");
    assert!(
        forced_again.0,
        "allowed force push refused: {}",
        forced_again.1
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
    assert_eq!(names, ["feature", "main", "side"]);
    server.abort();
}

// ---- CI/CD job token scope -------------------------------------------------------------

#[tokio::test]
async fn job_tokens_reach_other_projects_only_through_their_allowlists() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let group = create_group(&t, &alice.token, json!({ "name": "G", "path": "g" })).await;
    let group_id = group["id"].as_i64().expect("id");
    let a = t
        .project_with_ci_as(
            &alice.token,
            "a",
            json!({ "namespace_id": group_id }),
            ONE_JOB,
        )
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let b = t
        .project_with_ci_as(&alice.token, "b", json!({}), ONE_JOB)
        .await;
    let b_jobs = format!("/api/v4/projects/{}/jobs", b.project_id);
    let b_pipeline_jobs = format!(
        "/api/v4/projects/{}/pipelines/{}/jobs",
        b.project_id, b.pipeline_id
    );
    let refused = "403 Forbidden - Authentication by CI/CD job token not allowed from a to b.";

    // Its own project: yes. Another one: the cross-project 403, on E1 and E2 alike.
    t.get(&format!("/api/v4/projects/{}/jobs", a.project_id))
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK);
    for path in [&b_jobs, &b_pipeline_jobs] {
        let response = t
            .get(path)
            .job_token(&job.token)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        assert_eq!(message(&response), refused, "{path}");
    }
    let missing = t
        .get("/api/v4/projects/999/jobs")
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(message(&missing), "404 Project Not Found");

    let scope = format!("/api/v4/projects/{}/job_token_scope", b.project_id);
    let settings = t
        .get(&scope)
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        settings,
        json!({ "inbound_enabled": true, "outbound_enabled": false })
    );

    // Project allowlist.
    let link = t
        .post(&format!("{scope}/allowlist"))
        .token(&alice.token)
        .json(json!({ "target_project_id": a.project_id }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(
        link,
        json!({ "source_project_id": b.project_id, "target_project_id": a.project_id })
    );
    let again = t
        .post(&format!("{scope}/allowlist"))
        .token(&alice.token)
        .json(json!({ "target_project_id": a.project_id }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&again),
        "400 Bad request - Target project is already in the job token scope"
    );
    let listed = t
        .get(&format!("{scope}/allowlist"))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(listed.header("x-total"), Some("2"));
    let ids: Vec<i64> = listed
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|project| project["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [b.project_id, a.project_id]);
    assert_eq!(listed.json()[1]["path_with_namespace"], "g/a");
    for path in [&b_jobs, &b_pipeline_jobs] {
        t.get(path)
            .job_token(&job.token)
            .await
            .expect_status(StatusCode::OK);
    }
    t.delete(&format!("{scope}/allowlist/{}", a.project_id))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let not_listed = t
        .delete(&format!("{scope}/allowlist/{}", a.project_id))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&not_listed),
        "400 Bad request - Target project is not in the job token scope"
    );
    t.get(&b_jobs)
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);

    // Group allowlist: every project under the group.
    let group_link = t
        .post(&format!("{scope}/groups_allowlist"))
        .token(&alice.token)
        .json(json!({ "target_group_id": group_id }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(
        group_link,
        json!({ "source_project_id": b.project_id, "target_group_id": group_id })
    );
    let groups = t
        .get(&format!("{scope}/groups_allowlist"))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(groups[0]["full_path"], "g");
    t.get(&b_jobs)
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK);
    t.delete(&format!("{scope}/groups_allowlist/{group_id}"))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let unknown_group = t
        .post(&format!("{scope}/groups_allowlist"))
        .token(&alice.token)
        .json(json!({ "target_group_id": 999 }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        message(&unknown_group),
        "404 target_group_id not found Not Found"
    );

    // Turning the inbound scope off opens the project to every job token.
    t.patch(&scope)
        .token(&alice.token)
        .json(json!({ "enabled": false }))
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.get(&b_jobs)
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK);
    let missing_flag = t
        .patch(&scope)
        .token(&alice.token)
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        missing_flag.json(),
        json!({ "error": "enabled is missing" })
    );

    // Only Maintainers manage the scope.
    let dev = t.create_user("dev").await;
    add_project_member(&t, b.project_id, &dev, 30).await;
    t.get(&scope)
        .token(&dev.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn job_tokens_outside_the_scope_still_see_public_projects() {
    let t = TestApp::new().await;
    let a = t
        .project_with_ci_as(ROOT_TOKEN, "a", json!({}), ONE_JOB)
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    assert_eq!(job.payload["job_info"]["project_id"], a.project_id);
    let public = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "pub",
            json!({ "visibility": "public" }),
            ONE_JOB,
        )
        .await;
    t.get(&format!("/api/v4/projects/{}/jobs", public.project_id))
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK);
    // A private one answers 403 even though the job's user (root) is an administrator.
    let private = t
        .project_with_ci_as(ROOT_TOKEN, "priv", json!({}), ONE_JOB)
        .await;
    let response = t
        .get(&format!("/api/v4/projects/{}/jobs", private.project_id))
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        message(&response),
        "403 Forbidden - Authentication by CI/CD job token not allowed from a to priv."
    );
}

// ---- PUT /projects/:id and renames -----------------------------------------------------

#[tokio::test]
async fn a_renamed_project_answers_301_on_get_and_405_otherwise_at_its_old_path() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(ONE_JOB).await;
    let id = ci.project_id;
    let updated = t
        .put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "Renamed", "path": "renamed" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["path"], "renamed");
    assert_eq!(updated["path_with_namespace"], "root/renamed");
    assert_eq!(updated["web_url"], "http://pw.example/root/renamed");

    let moved = t
        .get("/api/v4/projects/root%2Fdemo")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::MOVED_PERMANENTLY);
    let location = format!("http://pw.example/api/v4/projects/{id}");
    assert_eq!(moved.header("location"), Some(location.as_str()));
    assert_eq!(
        moved.text(),
        format!("This resource has been moved permanently to {location}")
    );
    assert_eq!(moved.header("x-frame-options"), Some("SAMEORIGIN"));
    let with_query = t
        .get("/api/v4/projects/root%2Fdemo/jobs?scope=pending")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        with_query.header("location"),
        Some(format!("{location}/jobs?scope=pending").as_str())
    );
    let post = t
        .post("/api/v4/projects/root%2Fdemo/pipeline")
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        post.json(),
        json!({ "message": "Non GET methods are not allowed for moved projects" })
    );
    // Hidden projects stay hidden behind their old path; case does not make a move.
    t.get("/api/v4/projects/root%2Fdemo")
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.get("/api/v4/projects/ROOT%2FRENAMED")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);

    // A new project taking the old path wins over the redirect.
    let fresh = t
        .create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    let found = t
        .get("/api/v4/projects/root%2Fdemo")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(found["id"], fresh["id"]);
}

#[tokio::test]
async fn project_settings_need_maintainers_and_visibility_needs_an_owner() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(ONE_JOB).await;
    let url = format!("/api/v4/projects/{}", ci.project_id);
    let dev = t.create_user("dev").await;
    add_project_member(&t, ci.project_id, &dev, 30).await;
    let maintainer = t.create_user("maint").await;
    add_project_member(&t, ci.project_id, &maintainer, 40).await;

    t.put(&url)
        .token(&dev.token)
        .json(json!({ "name": "x" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let changed = t
        .put(&url)
        .token(&maintainer.token)
        .json(json!({
            "public_jobs": false,
            "ci_pipeline_variables_minimum_override_role": "maintainer",
        }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(changed["public_jobs"], false);
    assert_eq!(
        changed["ci_pipeline_variables_minimum_override_role"],
        "maintainer"
    );
    t.put(&url)
        .token(&maintainer.token)
        .json(json!({ "visibility": "public" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let public = t
        .put(&url)
        .token(ROOT_TOKEN)
        .json(json!({ "visibility": "public" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(public["visibility"], "public");
    let invalid = t
        .put(&url)
        .token(ROOT_TOKEN)
        .json(json!({ "visibility": "secret" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json(),
        json!({ "error": "visibility does not have a valid value" })
    );

    let missing_branch = t
        .put(&url)
        .token(ROOT_TOKEN)
        .json(json!({ "default_branch": "nope" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(message(&missing_branch), "Could not set the default branch");
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .json(commit_body("develop", Some("main"), "d.txt"))
    .await
    .expect_status(StatusCode::CREATED);
    let switched = t
        .put(&url)
        .token(ROOT_TOKEN)
        .json(json!({ "default_branch": "develop" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(switched["default_branch"], "develop");

    // Taken names and paths are validation errors.
    let same_name = t
        .create_project(ROOT_TOKEN, json!({ "name": "Twin", "path": "twin" }))
        .await;
    assert_eq!(same_name["name"], "Twin");
    let twin = t
        .put(&url)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "Twin" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&twin),
        json!({ "name": ["has already been taken"] })
    );
    t.create_project(ROOT_TOKEN, json!({ "name": "other" }))
        .await;
    let taken = t
        .put(&url)
        .token(ROOT_TOKEN)
        .json(json!({ "path": "other" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&taken),
        json!({ "path": ["has already been taken"] })
    );
}

#[tokio::test]
async fn a_group_project_cannot_become_more_visible_than_its_group() {
    let t = TestApp::new().await;
    let group = create_group(&t, ROOT_TOKEN, json!({ "name": "G", "path": "g" })).await;
    let project = t
        .create_project(
            ROOT_TOKEN,
            json!({ "name": "app", "namespace_id": group["id"] }),
        )
        .await;
    let response = t
        .put(&format!("/api/v4/projects/{}", project["id"]))
        .token(ROOT_TOKEN)
        .json(json!({ "visibility": "public" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&response),
        json!({ "visibility_level": ["public is not allowed in a private group."] })
    );
}

// ---- Kubernetes agents and E5 ----------------------------------------------------------

#[tokio::test]
async fn cluster_agents_are_registered_by_maintainers_with_valid_unique_names() {
    let t = TestApp::new().await;
    let project = t
        .create_project(ROOT_TOKEN, json!({ "name": "infra" }))
        .await;
    let id = project["id"].as_i64().expect("id");
    let url = format!("/api/v4/projects/{id}/cluster_agents");
    let agent = t
        .post(&url)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "prod" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(agent["name"], "prod");
    assert_eq!(agent["created_by_user_id"], 1);
    assert_eq!(agent["config_project"]["path_with_namespace"], "root/infra");
    assert_eq!(
        agent["config_project"]["name_with_namespace"],
        "Administrator / infra"
    );
    let duplicate = t
        .post(&url)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "prod" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&duplicate),
        "400 Bad request - [\"Name has already been taken\"]"
    );
    t.post(&url)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "Bad_Name" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    let dev = t.create_user("dev").await;
    add_project_member(&t, id, &dev, 30).await;
    t.post(&url)
        .token(&dev.token)
        .json(json!({ "name": "dev-agent" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let list = t
        .get(&url)
        .token(&dev.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(list.header("x-total"), Some("1"));
    assert_eq!(list.json()[0]["id"], agent["id"]);
}

#[tokio::test]
async fn e5_lists_the_agents_a_job_may_use() {
    let t = TestApp::new().await;
    let group = create_group(&t, ROOT_TOKEN, json!({ "name": "G", "path": "g" })).await;
    let group_id = group["id"].as_i64().expect("id");
    let sub = create_group(
        &t,
        ROOT_TOKEN,
        json!({ "name": "S", "path": "s", "parent_id": group_id }),
    )
    .await;
    let sub_id = sub["id"].as_i64().expect("id");

    // The agents' configuration project, with four agents and their configs.
    let infra = t
        .create_project(ROOT_TOKEN, json!({ "name": "infra" }))
        .await;
    let infra_id = infra["id"].as_i64().expect("id");
    let config = |body: &str, name: &str| {
        json!({
            "action": "create",
            "file_path": format!(".gitlab/agents/{name}/config.yaml"),
            "content": body,
        })
    };
    t.commit(
        ROOT_TOKEN,
        infra_id,
        "main",
        json!([
            config(
                "ci_access:\n  projects:\n    - id: g/s/app\n      default_namespace: apps\n",
                "by-project"
            ),
            config("ci_access:\n  groups:\n    - id: g\n", "by-group"),
            config(
                "ci_access:\n  projects:\n    - id: other/project\n",
                "elsewhere"
            ),
            config(
                "ci_access:\n  groups:\n    - id: g\n      environments: [\"review/*\"]\n",
                "review-only"
            ),
        ]),
    )
    .await;
    let mut agent_ids = std::collections::BTreeMap::new();
    for name in ["by-project", "by-group", "elsewhere", "review-only"] {
        let agent = t
            .post(&format!("/api/v4/projects/{infra_id}/cluster_agents"))
            .token(ROOT_TOKEN)
            .json(json!({ "name": name }))
            .await
            .expect_status(StatusCode::CREATED)
            .json();
        agent_ids.insert(name, agent["id"].as_i64().expect("id"));
    }

    let yaml = "deploy:\n  script: echo deploy\n  environment: production\n";
    let app = t
        .project_with_ci_as(ROOT_TOKEN, "app", json!({ "namespace_id": sub_id }), yaml)
        .await;
    // An agent of the job's own project is allowed implicitly.
    let own = t
        .post(&format!(
            "/api/v4/projects/{}/cluster_agents",
            app.project_id
        ))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "own" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;

    let answer = t
        .get("/api/v4/job/allowed_agents")
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let infra_identity = json!({
        "id": infra_id,
        "description": null,
        "name": "infra",
        "name_with_namespace": "Administrator / infra",
        "path": "infra",
        "path_with_namespace": "root/infra",
        "created_at": infra["created_at"],
    });
    assert_eq!(
        answer["allowed_agents"],
        json!([
            {
                "id": own["id"],
                "config_project": {
                    "id": app.project_id, "description": null, "name": "app",
                    "name_with_namespace": "S / app", "path": "app",
                    "path_with_namespace": "g/s/app",
                    "created_at": own["config_project"]["created_at"],
                },
                "configuration": {},
            },
            { "id": agent_ids["by-project"], "config_project": infra_identity, "configuration": { "default_namespace": "apps" } },
            { "id": agent_ids["by-group"], "config_project": infra_identity, "configuration": {} },
        ])
    );
    assert_eq!(answer["job"], json!({ "id": job.id }));
    assert_eq!(answer["pipeline"], json!({ "id": app.pipeline_id }));
    assert_eq!(
        answer["project"],
        json!({ "id": app.project_id, "groups": [{ "id": group_id }, { "id": sub_id }] })
    );
    assert_eq!(
        answer["user"],
        json!({
            "id": 1, "username": "root",
            "roles_in_project": ["guest", "planner", "reporter", "developer", "maintainer", "owner"],
        })
    );
    assert_eq!(
        answer["environment"],
        json!({ "tier": "production", "slug": "production" })
    );

    // Like E4: other credentials are 404, none is 401.
    let with_pat = t
        .get("/api/v4/job/allowed_agents")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(message(&with_pat), "404 Job Not Found");
    t.get("/api/v4/job/allowed_agents")
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

// ---- blocked users and GET /projects ---------------------------------------------------

#[tokio::test]
async fn blocked_and_deactivated_users_are_refused_with_the_reason() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let bob = t.create_user("bob").await;
    t.project_with_ci_as(&alice.token, "work", json!({}), ONE_JOB)
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;

    let blocked = t
        .post(&format!("/api/v4/users/{}/block", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    assert_eq!(blocked.json(), json!(true));
    let refused = t
        .get("/api/v4/user")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        message(&refused),
        "403 Forbidden - Your account has been blocked."
    );
    // The jobs of a blocked user cannot use their tokens either.
    let job_refused = t
        .get("/api/v4/job")
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        message(&job_refused),
        "403 Forbidden - Your account has been blocked."
    );
    let bearer_refused = t
        .get("/api/v4/job")
        .bearer(&job.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(message(&bearer_refused), message(&job_refused));
    // Only administrators change account states.
    t.post(&format!("/api/v4/users/{}/unblock", alice.id))
        .token(&bob.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let cannot = t
        .post(&format!("/api/v4/users/{}/activate", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        message(&cannot),
        "403 Forbidden - A blocked user must be unblocked to be activated"
    );
    t.post(&format!("/api/v4/users/{}/unblock", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    t.get("/api/v4/user")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);

    t.post(&format!("/api/v4/users/{}/deactivate", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    let deactivated = t
        .get("/api/v4/projects")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        message(&deactivated),
        "403 Forbidden - Your account has been deactivated by your administrator. Please log back in from a web browser to reactivate your account at http://pw.example"
    );
    t.post(&format!("/api/v4/users/{}/activate", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    t.get("/api/v4/user")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);

    let unknown = t
        .post("/api/v4/users/999/block")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(message(&unknown), "404 User Not Found");
}

fn names(response: &common::Response) -> Vec<String> {
    response
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|project| {
            project["path_with_namespace"]
                .as_str()
                .expect("path")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn get_projects_lists_what_the_caller_may_see_with_totals() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let bob = t.create_user("bob").await;
    t.create_project(ROOT_TOKEN, json!({ "name": "rootonly" }))
        .await;
    for (name, visibility) in [("pub", "public"), ("int", "internal"), ("priv", "private")] {
        t.create_project(
            &alice.token,
            json!({ "name": name, "visibility": visibility }),
        )
        .await;
    }
    let anonymous = t
        .get("/api/v4/projects")
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&anonymous), ["alice/pub"]);
    assert_eq!(anonymous.header("x-total"), Some("1"));
    let outsider = t
        .get("/api/v4/projects")
        .token(&bob.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&outsider), ["alice/int", "alice/pub"]);
    let owner = t
        .get("/api/v4/projects")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&owner), ["alice/priv", "alice/int", "alice/pub"]);
    let admin = t
        .get("/api/v4/projects?order_by=id&sort=asc")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(
        names(&admin),
        ["root/rootonly", "alice/pub", "alice/int", "alice/priv"]
    );
    let member_of = t
        .get("/api/v4/projects?membership=true")
        .token(&bob.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&member_of), Vec::<String>::new());

    let rootonly = t
        .get("/api/v4/projects?search=rootonly")
        .token(ROOT_TOKEN)
        .await
        .json();
    add_project_member(&t, rootonly[0]["id"].as_i64().expect("id"), &bob, 20).await;
    let reporter_of = t
        .get("/api/v4/projects?min_access_level=20")
        .token(&bob.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&reporter_of), ["root/rootonly"]);
    let developer_of = t
        .get("/api/v4/projects?min_access_level=30")
        .token(&bob.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&developer_of), Vec::<String>::new());
    t.get("/api/v4/projects?min_access_level=25")
        .token(&bob.token)
        .await
        .expect_status(StatusCode::BAD_REQUEST);

    let paged = t
        .get("/api/v4/projects?per_page=1&page=2")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&paged), ["alice/int"]);
    assert_eq!(paged.header("x-total"), Some("3"));
    assert_eq!(paged.header("x-total-pages"), Some("3"));
    assert_eq!(paged.header("x-next-page"), Some("3"));
    assert_eq!(paged.header("x-prev-page"), Some("1"));
    assert!(
        paged
            .header("link")
            .is_some_and(|link| link.contains("rel=\"next\"") && link.contains("rel=\"last\""))
    );

    let searched = t
        .get("/api/v4/projects?search=PU&visibility=public")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&searched), ["alice/pub"]);
    let bad = t
        .get("/api/v4/projects?order_by=stars")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json(),
        json!({ "error": "order_by does not have a valid value" })
    );
}

#[tokio::test]
async fn developers_cannot_run_pipelines_for_protected_branches() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(ONE_JOB).await;
    let dev = t.create_user("dev").await;
    add_project_member(&t, ci.project_id, &dev, 30).await;
    let url = format!("/api/v4/projects/{}/pipeline", ci.project_id);
    let refused = t
        .post(&url)
        .token(&dev.token)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&refused),
        json!({ "base": ["Insufficient permissions for protected ref 'main'"] })
    );
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(&dev.token)
    .json(commit_body("feature", Some("main"), "f.txt"))
    .await
    .expect_status(StatusCode::CREATED);
    t.post(&url)
        .token(&dev.token)
        .json(json!({ "ref": "feature" }))
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn git_clones_with_a_job_token_follow_the_job_token_scope() {
    use base64::Engine;
    let t = TestApp::new().await;
    let a = t
        .project_with_ci_as(ROOT_TOKEN, "a", json!({}), ONE_JOB)
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    let b = t
        .project_with_ci_as(ROOT_TOKEN, "b", json!({}), ONE_JOB)
        .await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("gitlab-ci-token:{}", job.token))
    );
    let refs = |path: &str| format!("/{path}.git/info/refs?service=git-upload-pack");
    t.get(&refs(&a.full_path))
        .header("authorization", &basic)
        .await
        .expect_status(StatusCode::OK);
    t.get(&refs(&b.full_path))
        .header("authorization", &basic)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.post(&format!(
        "/api/v4/projects/{}/job_token_scope/allowlist",
        b.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({ "target_project_id": a.project_id }))
    .await
    .expect_status(StatusCode::CREATED);
    t.get(&refs(&b.full_path))
        .header("authorization", &basic)
        .await
        .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn group_runners_take_their_groups_jobs_and_protected_runners_protected_ones() {
    let t = TestApp::new().await;
    let group = create_group(&t, ROOT_TOKEN, json!({ "name": "G", "path": "g" })).await;
    let sub = create_group(
        &t,
        ROOT_TOKEN,
        json!({ "name": "S", "path": "s", "parent_id": group["id"] }),
    )
    .await;
    let inside = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "inside",
            json!({ "namespace_id": sub["id"] }),
            ONE_JOB,
        )
        .await;
    let outside = t
        .project_with_ci_as(ROOT_TOKEN, "outside", json!({}), ONE_JOB)
        .await;
    let group_runner = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "group_type", "group_id": group["id"] }),
        )
        .await;
    let job = t.claim(&group_runner).await;
    assert_eq!(job.payload["job_info"]["project_id"], inside.project_id);
    t.request_job(&group_runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);

    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        outside.project_id
    ))
    .token(ROOT_TOKEN)
    .json(commit_body("feature", Some("main"), "f.txt"))
    .await
    .expect_status(StatusCode::CREATED);
    let protected_runner = t
        .create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "access_level": "ref_protected" }),
        )
        .await;
    let main_job = t.claim(&protected_runner).await;
    assert_eq!(main_job.payload["git_info"]["ref"], "main");
    t.request_job(&protected_runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let any = t.instance_runner().await;
    let feature_job = t.claim(&any).await;
    assert_eq!(feature_job.payload["git_info"]["ref"], "feature");
}

#[tokio::test]
async fn read_api_tokens_are_refused_on_writes_before_parameters_are_read() {
    let t = TestApp::new().await;
    let (_, read_only) = t.create_token(1, &["read_api"], None).await;
    t.create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    for (method, path) in [
        ("POST", "/api/v4/groups"),
        ("POST", "/api/v4/projects/1/protected_branches"),
        ("PATCH", "/api/v4/projects/1/job_token_scope"),
        ("POST", "/api/v4/projects/1/job_token_scope/allowlist"),
        ("PUT", "/api/v4/projects/1"),
        ("POST", "/api/v4/projects/1/cluster_agents"),
        ("POST", "/api/v4/users/1/block"),
    ] {
        let response = t
            .request(method.parse().expect("method"), path)
            .token(&read_only)
            .json(json!({}))
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(
            response.json()["error"],
            "insufficient_scope",
            "{method} {path}"
        );
    }
    // Anonymous callers are 401 before anything else.
    t.post("/api/v4/groups")
        .json(json!({}))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn playing_a_bridge_on_a_protected_ref_depends_on_the_downstream_branch() {
    let t = TestApp::new().await;
    let dev = t.create_user("dev").await;
    let downstream = t
        .project_with_ci_as(ROOT_TOKEN, "b", json!({}), ONE_JOB)
        .await;
    add_project_member(&t, downstream.project_id, &dev, 40).await;
    let yaml = "deploy:\n  trigger:\n    project: root/b\n  when: manual\n";
    let upstream = t.project_with_ci_as(ROOT_TOKEN, "a", json!({}), yaml).await;
    add_project_member(&t, upstream.project_id, &dev, 30).await;
    let bridge = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}/bridges",
            upstream.project_id, upstream.pipeline_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json()[0]["id"]
        .as_i64()
        .expect("bridge id");
    // main of `a` is protected and the Developer may not push to it, yet the bridge plays:
    // only `b`'s main (where they are Maintainer) matters.
    t.post(&format!(
        "/api/v4/projects/{}/jobs/{bridge}/play",
        upstream.project_id
    ))
    .token(&dev.token)
    .await
    .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn get_groups_lists_the_callers_groups() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let bob = t.create_user("bob").await;
    let top = create_group(&t, &alice.token, json!({ "name": "Top", "path": "top" })).await;
    create_group(
        &t,
        &alice.token,
        json!({ "name": "Sub", "path": "sub", "parent_id": top["id"] }),
    )
    .await;
    create_group(
        &t,
        &bob.token,
        json!({ "name": "Open", "path": "open", "visibility": "public" }),
    )
    .await;
    create_group(&t, &bob.token, json!({ "name": "Bobs", "path": "bobs" })).await;
    let paths = |response: &common::Response| -> Vec<String> {
        response
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(|group| group["full_path"].as_str().expect("path").to_owned())
            .collect()
    };

    let mine = t
        .get("/api/v4/groups")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(paths(&mine), ["top/sub", "top"]);
    assert_eq!(mine.header("x-total"), Some("2"));
    let available = t
        .get("/api/v4/groups?all_available=true&order_by=path")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    // `path` is the last segment: open, sub, top.
    assert_eq!(paths(&available), ["open", "top/sub", "top"]);
    let anonymous = t.get("/api/v4/groups").await.expect_status(StatusCode::OK);
    assert_eq!(paths(&anonymous), ["open"]);
    let admin = t
        .get("/api/v4/groups?top_level_only=true&order_by=id")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(paths(&admin), ["top", "open", "bobs"]);
    let owned = t
        .get("/api/v4/groups?owned=true&search=bo")
        .token(&bob.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(paths(&owned), ["bobs"]);
}

#[tokio::test]
async fn a_groups_projects_are_listed_with_or_without_subgroups() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let top = create_group(
        &t,
        ROOT_TOKEN,
        json!({ "name": "Top", "path": "top", "visibility": "public" }),
    )
    .await;
    let sub = create_group(
        &t,
        ROOT_TOKEN,
        json!({ "name": "Sub", "path": "sub", "parent_id": top["id"], "visibility": "public" }),
    )
    .await;
    for (name, namespace, visibility) in [
        ("a", &top, "public"),
        ("hidden", &top, "private"),
        ("b", &sub, "public"),
    ] {
        t.create_project(
            ROOT_TOKEN,
            json!({ "name": name, "namespace_id": namespace["id"], "visibility": visibility }),
        )
        .await;
    }
    let url = format!("/api/v4/groups/{}/projects", top["id"]);
    let direct = t
        .get(&format!("{url}?order_by=name&sort=asc"))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&direct), ["top/a"]);
    let all = t
        .get(&format!(
            "{url}?include_subgroups=true&order_by=name&sort=asc"
        ))
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&all), ["top/a", "top/sub/b"]);
    assert_eq!(all.header("x-total"), Some("2"));
    let admin = t
        .get("/api/v4/groups/top/projects?order_by=name&sort=asc")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(names(&admin), ["top/a", "top/hidden"]);
    t.get("/api/v4/groups/nope/projects")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
}
