//! Runner management end to end through the router: the runner-protocol management calls
//! (legacy registration, unregister, managers, token rotation), runner managers recorded on
//! contact and shown on jobs, and the runner admin APIs.

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp, TestRunner};
use serde_json::{Value, json};

async fn registration_token(t: &TestApp) -> String {
    let settings = t
        .get("/api/v4/application/settings")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    settings["runners_registration_token"]
        .as_str()
        .expect("registration token")
        .to_owned()
}

async fn verify(t: &TestApp, token: &str, system_id: Option<&str>) -> StatusCode {
    let mut body = json!({ "token": token, "info": { "version": "17.0.0", "platform": "linux" } });
    if let Some(system_id) = system_id {
        body["system_id"] = json!(system_id);
    }
    t.post("/api/v4/runners/verify").json(body).await.status
}

#[tokio::test]
async fn legacy_registration_with_the_instance_token() {
    let t = TestApp::new().await;
    let registration = registration_token(&t).await;
    assert_eq!(registration, registration_token(&t).await, "stable token");

    let bad = t
        .post("/api/v4/runners")
        .json(json!({ "token": "nope" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(bad.json(), json!({ "message": "403 Forbidden" }));
    t.post("/api/v4/runners")
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    t.post("/api/v4/runners")
        .json(json!({ "token": registration, "maximum_timeout": 60 }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);

    let created = t
        .post("/api/v4/runners")
        .json(json!({
            "token": registration,
            "description": "legacy",
            "tag_list": "linux, docker",
            "run_untagged": false,
            "locked": true,
            "access_level": "ref_protected",
            "maximum_timeout": 3600,
            "paused": false,
            "info": { "name": "gitlab-runner", "version": "17.1.0", "platform": "linux",
                      "architecture": "amd64", "features": { "cancelable": true } },
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let id = created["id"].as_i64().expect("id");
    assert!(id > 0);
    assert_eq!(created["token_expires_at"], Value::Null);
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(!token.starts_with("glrt-"), "legacy tokens are not glrt-");
    assert_eq!(verify(&t, &token, None).await, StatusCode::OK);
}

#[tokio::test]
async fn unregister_reset_token_and_discovery() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;

    let reset = t
        .post("/api/v4/runners/reset_authentication_token")
        .json(json!({ "token": runner.token }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let new_token = reset["token"].as_str().expect("token").to_owned();
    assert!(new_token.starts_with("glrt-"));
    assert_ne!(new_token, runner.token);
    assert_eq!(reset["token_expires_at"], Value::Null);
    assert_eq!(verify(&t, &runner.token, None).await, StatusCode::FORBIDDEN);
    assert_eq!(verify(&t, &new_token, None).await, StatusCode::OK);

    t.get("/api/v4/runners/router/discovery")
        .header("runner-token", &new_token)
        .await
        .expect_status(StatusCode::NOT_IMPLEMENTED);

    t.delete("/api/v4/runners")
        .json(json!({ "token": "unknown" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let gone = t
        .delete("/api/v4/runners")
        .json(json!({ "token": new_token }))
        .await
        .expect_status(StatusCode::NO_CONTENT);
    assert!(gone.body.is_empty());
    assert_eq!(verify(&t, &new_token, None).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn managers_are_recorded_and_unregistered_by_system_id() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    assert_eq!(
        verify(&t, &runner.token, Some("s_0123456789ab")).await,
        StatusCode::OK
    );
    t.delete("/api/v4/runners/managers")
        .json(json!({ "token": runner.token, "system_id": "s_unknown" }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.delete("/api/v4/runners/managers")
        .json(json!({ "token": "unknown", "system_id": "s_0123456789ab" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.delete("/api/v4/runners/managers")
        .json(json!({ "token": runner.token, "system_id": "s_0123456789ab" }))
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.delete("/api/v4/runners/managers")
        .json(json!({ "token": runner.token, "system_id": "s_0123456789ab" }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    // The runner itself stays.
    assert_eq!(verify(&t, &runner.token, None).await, StatusCode::OK);
}

const ONE_JOB: &str = "build:\n  script: echo hi\n";

/// Claims the next job as the host `system_id` of `runner`; returns the job id.
async fn claim_as(t: &TestApp, runner: &TestRunner, system_id: &str) -> i64 {
    let payload = t
        .request_job_with(json!({
            "token": runner.token,
            "system_id": system_id,
            "info": { "name": "gitlab-runner", "version": "17.2.0", "revision": "abc123",
                      "platform": "linux", "architecture": "arm64",
                      "features": { "refspecs": true } },
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    payload["id"].as_i64().expect("job id")
}

#[tokio::test]
async fn jobs_show_the_manager_that_picked_them() {
    let t = TestApp::new().await;
    let project = t.project_with_ci(ONE_JOB).await;
    let runner = t.instance_runner().await;
    let job_id = t
        .job_id(project.project_id, project.pipeline_id, "build")
        .await;
    let before = t.job(project.project_id, job_id).await;
    assert_eq!(before["runner_manager"], Value::Null);

    // The server records the peer address (router tests have none, so ask core directly).
    pipewright_core::runners::verify(
        &t.app,
        &runner.token,
        Some("s_0123456789ab"),
        None,
        Some("10.1.2.3"),
    )
    .await
    .expect("verify");
    let claimed = claim_as(&t, &runner, "s_0123456789ab").await;
    assert_eq!(claimed, job_id);
    let job = t.job(project.project_id, job_id).await;
    let manager = &job["runner_manager"];
    assert_eq!(manager["system_id"], "s_0123456789ab");
    assert_eq!(manager["version"], "17.2.0");
    assert_eq!(manager["revision"], "abc123");
    assert_eq!(manager["platform"], "linux");
    assert_eq!(manager["architecture"], "arm64");
    assert_eq!(manager["ip_address"], "10.1.2.3");
    assert_eq!(manager["status"], "online");
    assert_eq!(manager["job_execution_status"], "active");
    assert!(manager["id"].as_i64().is_some());
    assert!(manager["created_at"].is_string());
    assert!(manager["contacted_at"].is_string());
    let keys: Vec<&str> = job["runner_manager"]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 11, "{keys:?}");

    // The list shows it too (batch-loaded with the other jobs).
    let jobs = t
        .get(&format!("/api/v4/projects/{}/jobs", project.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs[0]["runner_manager"]["system_id"], "s_0123456789ab");
}

async fn add_member(t: &TestApp, project: i64, user_id: i64, level: i64) {
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user_id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn runner_admin_apis_follow_gitlabs_permissions() {
    let t = TestApp::new().await;
    let project = t.project_with_ci(ONE_JOB).await;
    let maintainer = t.create_user("maint").await;
    let developer = t.create_user("dev").await;
    add_member(&t, project.project_id, maintainer.id, 40).await;
    add_member(&t, project.project_id, developer.id, 30).await;
    let shared = t.instance_runner().await;
    let own = t
        .create_runner(
            &maintainer.token,
            json!({ "runner_type": "project_type", "project_id": project.project_id,
                    "description": "project runner", "tag_list": ["b", "a"] }),
        )
        .await;

    // GET /runners: only the runners the caller manages (never instance runners).
    let mine = t
        .get("/api/v4/runners")
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(mine.header("x-total"), Some("1"));
    let mine = mine.json();
    assert_eq!(mine[0]["id"], own.id);
    assert_eq!(mine[0]["runner_type"], "project_type");
    assert_eq!(mine[0]["status"], "never_contacted");
    assert_eq!(mine[0]["is_shared"], false);
    assert_eq!(mine[0]["job_execution_status"], "idle");
    let none = t
        .get("/api/v4/runners")
        .token(&developer.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(none, json!([]));
    t.get("/api/v4/runners")
        .await
        .expect_status(StatusCode::UNAUTHORIZED);

    // GET /runners/all: admins only, with filters.
    t.get("/api/v4/runners/all")
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let all = t
        .get("/api/v4/runners/all")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    let instance_only = t
        .get("/api/v4/runners/all?type=instance_type")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(instance_only[0]["id"], shared.id);
    assert_eq!(instance_only.as_array().map(Vec::len), Some(1));
    let tagged = t
        .get("/api/v4/runners/all?tag_list=a,b")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(tagged[0]["id"], own.id);
    t.get("/api/v4/runners/all?type=nope")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);

    // GET /runners/:id
    let details = t
        .get(&format!("/api/v4/runners/{}", own.id))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(details["tag_list"], json!(["a", "b"]));
    assert_eq!(details["projects"][0]["id"], project.project_id);
    assert_eq!(
        details["projects"][0]["path_with_namespace"],
        project.full_path
    );
    assert_eq!(details["groups"], json!([]));
    assert_eq!(details["access_level"], "not_protected");
    t.get(&format!("/api/v4/runners/{}", own.id))
        .token(&developer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    // Instance runners are visible to everyone signed in, but only admins change them.
    t.get(&format!("/api/v4/runners/{}", shared.id))
        .token(&developer.token)
        .await
        .expect_status(StatusCode::OK);
    t.put(&format!("/api/v4/runners/{}", shared.id))
        .token(&maintainer.token)
        .json(json!({ "paused": true }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let missing = t
        .get("/api/v4/runners/999")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND)
        .json();
    assert_eq!(missing, json!({ "message": "404 Runner Not Found" }));

    // PUT /runners/:id
    let updated = t
        .put(&format!("/api/v4/runners/{}", own.id))
        .token(&maintainer.token)
        .json(json!({
            "description": "renamed", "paused": true, "tag_list": ["x"],
            "run_untagged": false, "locked": true, "access_level": "ref_protected",
            "maximum_timeout": 7200,
        }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(updated["description"], "renamed");
    assert_eq!(updated["paused"], true);
    assert_eq!(updated["active"], false);
    assert_eq!(updated["tag_list"], json!(["x"]));
    assert_eq!(updated["run_untagged"], false);
    assert_eq!(updated["locked"], true);
    assert_eq!(updated["access_level"], "ref_protected");
    assert_eq!(updated["maximum_timeout"], 7200);
    t.put(&format!("/api/v4/runners/{}", own.id))
        .token(&maintainer.token)
        .json(json!({ "maximum_timeout": 5 }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    t.put(&format!("/api/v4/runners/{}", own.id))
        .token(&maintainer.token)
        .json(json!({ "access_level": "everything" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    let paused = t
        .get("/api/v4/runners/all?paused=true")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(paused[0]["id"], own.id);

    // GET /projects/:id/runners: maintainers; the project's own and the instance's runners.
    let available = t
        .get(&format!("/api/v4/projects/{}/runners", project.project_id))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let ids: Vec<i64> = available
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|runner| runner["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![shared.id, own.id]);
    t.get(&format!("/api/v4/projects/{}/runners", project.project_id))
        .token(&developer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);

    // DELETE /runners/:id
    t.delete(&format!("/api/v4/runners/{}", own.id))
        .token(&developer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.delete(&format!("/api/v4/runners/{}", own.id))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.get(&format!("/api/v4/runners/{}", own.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(verify(&t, &own.token, None).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn runner_jobs_are_filtered_and_paginated() {
    let t = TestApp::new().await;
    let project = t
        .project_with_ci("a:\n  script: x\nb:\n  script: x\nc:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let first = t.run_next(&runner, "log", "success").await;
    let second = t.run_next(&runner, "log", "failed").await;
    let third = t.claim(&runner).await;
    let listed = t
        .get("/api/v4/runners/all")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(listed[0]["job_execution_status"], "active");
    let details = t
        .get(&format!("/api/v4/runners/{}", runner.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(details["job_execution_status"], "active");
    assert_eq!(details["status"], "online");

    let page = t
        .get(&format!("/api/v4/runners/{}/jobs?per_page=2", runner.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(page.header("x-total"), Some("3"));
    assert_eq!(page.header("x-next-page"), Some("2"));
    let jobs = page.json();
    let jobs = jobs.as_array().expect("array");
    let ids: Vec<i64> = jobs.iter().filter_map(|job| job["id"].as_i64()).collect();
    assert_eq!(ids, vec![third.id, second.id]);
    // GitLab's JobBasicWithProject: basic job fields and the project's identity.
    let keys: Vec<&str> = jobs[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        !keys.contains(&"runner") && !keys.contains(&"artifacts"),
        "{keys:?}"
    );
    assert_eq!(jobs[0]["status"], "running");
    assert_eq!(jobs[1]["failure_reason"], "script_failure");
    assert_eq!(jobs[0]["project"]["path_with_namespace"], project.full_path);
    assert_eq!(jobs[0]["project"]["id"], project.project_id);
    let rest = t
        .get(&format!(
            "/api/v4/runners/{}/jobs?per_page=2&page=2",
            runner.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(rest[0]["id"], first.id);

    let failed = t
        .get(&format!("/api/v4/runners/{}/jobs?status=failed", runner.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(failed.as_array().map(Vec::len), Some(1));
    assert_eq!(failed[0]["id"], second.id);
    t.get(&format!("/api/v4/runners/{}/jobs?status=bogus", runner.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);

    // Instance runners' jobs are for admins.
    let user = t.create_user("someone").await;
    t.get(&format!("/api/v4/runners/{}/jobs", runner.id))
        .token(&user.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.get("/api/v4/runners/999/jobs")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn legacy_runner_details_show_what_was_registered() {
    let t = TestApp::new().await;
    let registration = registration_token(&t).await;
    let created = t
        .post("/api/v4/runners")
        .json(json!({
            "token": registration, "description": "legacy", "tag_list": "linux,docker",
            "run_untagged": false, "access_level": "ref_protected", "maximum_timeout": 3600,
            "info": { "version": "17.1.0", "platform": "linux", "architecture": "amd64" },
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let details = t
        .get(&format!("/api/v4/runners/{}", created["id"]))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(details["tag_list"], json!(["docker", "linux"]));
    assert_eq!(details["run_untagged"], false);
    assert_eq!(details["access_level"], "ref_protected");
    assert_eq!(details["maximum_timeout"], 3600);
    assert_eq!(details["runner_type"], "instance_type");
    assert_eq!(details["version"], "17.1.0");
    assert_eq!(details["architecture"], "amd64");
}

#[tokio::test]
async fn runner_jobs_sort_and_filter_by_manager() {
    let t = TestApp::new().await;
    t.project_with_ci("a:\n  script: x\nb:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let first = claim_as(&t, &runner, "s_aaaaaaaaaaaa").await;
    let second = claim_as(&t, &runner, "s_bbbbbbbbbbbb").await;
    let ids = |value: Value| -> Vec<i64> {
        value
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|job| job["id"].as_i64())
            .collect()
    };
    let ascending = t
        .get(&format!("/api/v4/runners/{}/jobs?sort=asc", runner.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(ids(ascending), vec![first, second]);
    let by_manager = t
        .get(&format!(
            "/api/v4/runners/{}/jobs?system_id=s_bbbbbbbbbbbb",
            runner.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(ids(by_manager), vec![second]);
    t.get(&format!("/api/v4/runners/{}/jobs?sort=sideways", runner.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn group_runners_belong_to_group_maintainers_and_their_projects() {
    let t = TestApp::new().await;
    let group = t
        .post("/api/v4/groups")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "acme", "path": "acme" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let group_id = group["id"].as_i64().expect("group id");
    let maintainer = t.create_user("gm").await;
    t.post(&format!("/api/v4/groups/{group_id}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": maintainer.id, "access_level": 40 }))
        .await
        .expect_status(StatusCode::CREATED);
    let project = t
        .create_project(
            ROOT_TOKEN,
            json!({ "name": "app", "namespace_id": group_id }),
        )
        .await;
    let project_id = project["id"].as_i64().expect("project id");
    let other = t
        .create_project(ROOT_TOKEN, json!({ "name": "elsewhere" }))
        .await;
    let runner = t
        .create_runner(
            &maintainer.token,
            json!({ "runner_type": "group_type", "group_id": group_id }),
        )
        .await;

    let mine = t
        .get("/api/v4/runners")
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(mine[0]["id"], runner.id);
    assert_eq!(mine[0]["runner_type"], "group_type");
    let details = t
        .get(&format!("/api/v4/runners/{}", runner.id))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(details["groups"][0]["id"], group_id);
    assert_eq!(
        details["groups"][0]["web_url"],
        "http://pw.example/groups/acme"
    );
    assert_eq!(details["projects"], json!([]));

    let in_group = t
        .get(&format!(
            "/api/v4/projects/{project_id}/runners?type=group_type"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(in_group[0]["id"], runner.id);
    let outside = t
        .get(&format!(
            "/api/v4/projects/{}/runners?type=group_type",
            other["id"]
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(outside, json!([]));
}

#[tokio::test]
async fn admins_rotate_the_registration_token() {
    let t = TestApp::new().await;
    let old = registration_token(&t).await;
    let user = t.create_user("someone").await;
    t.post("/api/v4/runners/reset_registration_token")
        .token(&user.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let reset = t
        .post("/api/v4/runners/reset_registration_token")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let new = reset["token"].as_str().expect("token").to_owned();
    assert_ne!(new, old);
    assert_eq!(registration_token(&t).await, new);
    t.post("/api/v4/runners")
        .json(json!({ "token": old }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.post("/api/v4/runners")
        .json(json!({ "token": new }))
        .await
        .expect_status(StatusCode::CREATED);
}
