//! Protected environments through the router: the `/projects/:id/protected_environments`
//! API (GitLab's entity, errors and permissions) and its effect on the job abilities: a job
//! deploying to a protected environment is played, retried or cancelled only by callers
//! with deploy access (role, user or group level; administrators always).

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp, TestUser};
use serde_json::{Value, json};

const MANUAL_DEPLOY: &str = "\
deploy:
  script: ./deploy
  when: manual
  environment: production
";

async fn add_member(t: &TestApp, project: i64, user: &TestUser, level: i64) {
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user.id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
}

fn path(project: i64) -> String {
    format!("/api/v4/projects/{project}/protected_environments")
}

fn forbidden() -> Value {
    json!({ "message": "403 Forbidden" })
}

fn not_found() -> Value {
    json!({ "message": "404 Not found" })
}

#[tokio::test]
async fn maintainers_protect_list_update_and_unprotect_environments() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(MANUAL_DEPLOY).await;
    let project = ci.project_id;

    let created = t
        .post(&path(project))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "production", "deploy_access_levels": [{ "access_level": 40 }] }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let level_id = created["deploy_access_levels"][0]["id"]
        .as_i64()
        .expect("id");
    let expected = json!({
        "name": "production",
        "deploy_access_levels": [{
            "id": level_id,
            "access_level": 40,
            "access_level_description": "Maintainers",
            "user_id": null,
            "group_id": null,
            "group_inheritance_type": 0
        }],
        "required_approval_count": 0,
        "approval_rules": []
    });
    assert_eq!(created, expected);
    // Form parameters (`deploy_access_levels[][access_level]=30`) work too.
    let staging = t
        .post(&path(project))
        .token(ROOT_TOKEN)
        .form("name=staging&deploy_access_levels[][access_level]=30&required_approval_count=2")
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(
        staging["deploy_access_levels"][0]["access_level_description"],
        "Developers + Maintainers"
    );
    assert_eq!(staging["required_approval_count"], 2);

    // By name.
    let list = t
        .get(&path(project))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|item| item["name"].as_str())
        .collect();
    assert_eq!(names, ["production", "staging"]);
    let single = t
        .get(&format!("{}/production", path(project)))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(single.json(), expected);
    // The entity's key order is GitLab's.
    let ordered = single.ordered();
    assert_eq!(
        ordered.keys(),
        [
            "name",
            "deploy_access_levels",
            "required_approval_count",
            "approval_rules"
        ]
    );
    // Names with a slash travel URL-encoded.
    t.post(&path(project))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "review/app", "deploy_access_levels": [{ "access_level": 60 }] }))
        .await
        .expect_status(StatusCode::CREATED);
    let review = t
        .get(&format!("{}/review%2Fapp", path(project)))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        review["deploy_access_levels"][0]["access_level_description"],
        "Admins"
    );
    t.delete(&format!("{}/review%2Fapp", path(project)))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);

    // Errors as GitLab's.
    let conflict = t
        .post(&path(project))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "production", "deploy_access_levels": [{ "access_level": 40 }] }))
        .await
        .expect_status(StatusCode::CONFLICT)
        .json();
    assert_eq!(
        conflict,
        json!({ "message": "Environment 'production' is already protected" })
    );
    let missing = t
        .post(&path(project))
        .token(ROOT_TOKEN)
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST)
        .json();
    assert_eq!(
        missing,
        json!({ "error": "name is missing, deploy_access_levels is missing" })
    );
    let invalid = t
        .post(&path(project))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "qa", "deploy_access_levels": [{ "access_level": 20 }] }))
        .await
        .expect_status(StatusCode::BAD_REQUEST)
        .json();
    assert_eq!(
        invalid,
        json!({ "error": "deploy_access_levels[0][access_level] does not have a valid value" })
    );
    let empty = t
        .post(&path(project))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "qa", "deploy_access_levels": [{}] }))
        .await
        .expect_status(StatusCode::UNPROCESSABLE_ENTITY)
        .json();
    assert_eq!(
        empty,
        json!({ "message": ["Deploy access levels access level can't be blank"] })
    );
    let unknown = t
        .get(&format!("{}/nope", path(project)))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND)
        .json();
    assert_eq!(unknown, not_found());

    // Update: add a user level, destroy the role level.
    let developer = t.create_user("developer").await;
    add_member(&t, project, &developer, 30).await;
    let updated = t
        .put(&format!("{}/production", path(project)))
        .token(ROOT_TOKEN)
        .json(json!({ "deploy_access_levels": [
            { "user_id": developer.id },
            { "id": level_id, "_destroy": true }
        ] }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    let levels = updated["deploy_access_levels"].as_array().expect("levels");
    assert_eq!(levels.len(), 1, "{updated}");
    assert_eq!(levels[0]["user_id"], developer.id);
    assert_eq!(levels[0]["access_level"], Value::Null);
    assert_eq!(levels[0]["access_level_description"], "User");
    // The last level cannot go.
    let last = levels[0]["id"].as_i64().expect("id");
    let too_few = t
        .put(&format!("{}/production", path(project)))
        .token(ROOT_TOKEN)
        .json(json!({ "deploy_access_levels": [{ "id": last, "_destroy": true }] }))
        .await
        .expect_status(StatusCode::UNPROCESSABLE_ENTITY)
        .json();
    assert_eq!(
        too_few,
        json!({ "message": ["Deploy access levels is too short (minimum is 1 character)"] })
    );
    // An id of no level of this environment.
    t.put(&format!("{}/production", path(project)))
        .token(ROOT_TOKEN)
        .json(json!({ "deploy_access_levels": [{ "id": level_id, "_destroy": true }] }))
        .await
        .expect_status(StatusCode::NOT_FOUND);

    // Developers may not manage them; outsiders do not see the project.
    for (method, body) in [("GET", None), ("POST", Some(json!({ "name": "x" })))] {
        let request = if method == "GET" {
            t.get(&path(project))
        } else {
            t.post(&path(project))
                .json(body.clone().unwrap_or_default())
        };
        let denied = request
            .token(&developer.token)
            .await
            .expect_status(StatusCode::FORBIDDEN)
            .json();
        assert_eq!(denied, forbidden(), "{method}");
    }
    let outsider = t.create_user("outsider").await;
    t.get(&path(project))
        .token(&outsider.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.get(&path(project))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);

    // Unprotect.
    let deleted = t
        .delete(&format!("{}/production", path(project)))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    assert!(deleted.text().is_empty());
    t.get(&format!("{}/production", path(project)))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    t.delete(&format!("{}/production", path(project)))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
}

/// A manual deployment job on an unprotected branch, a Developer and a Maintainer.
struct Setup {
    t: TestApp,
    project: i64,
    job: i64,
    developer: TestUser,
    maintainer: TestUser,
}

async fn setup() -> Setup {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(MANUAL_DEPLOY).await;
    let project = ci.project_id;
    // Only the environment protects the job: `main` would otherwise stop Developers.
    t.delete(&format!(
        "/api/v4/projects/{project}/protected_branches/main"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NO_CONTENT);
    let developer = t.create_user("developer").await;
    add_member(&t, project, &developer, 30).await;
    let maintainer = t.create_user("maintainer").await;
    add_member(&t, project, &maintainer, 40).await;
    let job = t.job_id(project, ci.pipeline_id, "deploy").await;
    Setup {
        t,
        project,
        job,
        developer,
        maintainer,
    }
}

async fn protect(s: &Setup, levels: Value) {
    s.t.post(&path(s.project))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "production", "deploy_access_levels": levels }))
        .await
        .expect_status(StatusCode::CREATED);
}

fn play_path(s: &Setup, job: i64) -> String {
    format!("/api/v4/projects/{}/jobs/{job}/play", s.project)
}

#[tokio::test]
async fn role_levels_decide_who_plays_cancels_and_retries_a_protected_deployment() {
    let s = setup().await;
    protect(&s, json!([{ "access_level": 40 }])).await;

    let denied =
        s.t.post(&play_path(&s, s.job))
            .token(&s.developer.token)
            .await
            .expect_status(StatusCode::FORBIDDEN)
            .json();
    assert_eq!(denied, forbidden());
    let played =
        s.t.post(&play_path(&s, s.job))
            .token(&s.maintainer.token)
            .await
            .expect_status(StatusCode::OK)
            .json();
    assert_eq!(played["status"], "pending");

    let cancel = format!("/api/v4/projects/{}/jobs/{}/cancel", s.project, s.job);
    let denied =
        s.t.post(&cancel)
            .token(&s.developer.token)
            .await
            .expect_status(StatusCode::FORBIDDEN)
            .json();
    assert_eq!(denied, forbidden());
    s.t.post(&cancel)
        .token(&s.maintainer.token)
        .await
        .expect_status(StatusCode::CREATED);

    let retry = format!("/api/v4/projects/{}/jobs/{}/retry", s.project, s.job);
    s.t.post(&retry)
        .token(&s.developer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    // Administrators always may.
    s.t.post(&retry)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn user_and_group_levels_let_their_members_deploy() {
    let s = setup().await;
    let group =
        s.t.post("/api/v4/groups")
            .token(ROOT_TOKEN)
            .json(json!({ "name": "Deployers", "path": "deployers" }))
            .await
            .expect_status(StatusCode::CREATED)
            .json();
    let group_id = group["id"].as_i64().expect("group id");
    protect(&s, json!([{ "group_id": group_id }])).await;
    let level =
        s.t.get(&format!("{}/production", path(s.project)))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .json();
    assert_eq!(
        level["deploy_access_levels"][0]["access_level_description"],
        "Group"
    );
    assert_eq!(level["deploy_access_levels"][0]["group_id"], group_id);

    // Maintainers without a matching level are refused too.
    s.t.post(&play_path(&s, s.job))
        .token(&s.maintainer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    s.t.post(&format!("/api/v4/groups/{group_id}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": s.developer.id, "access_level": 10 }))
        .await
        .expect_status(StatusCode::CREATED);
    s.t.post(&play_path(&s, s.job))
        .token(&s.developer.token)
        .await
        .expect_status(StatusCode::OK);

    // A user level.
    s.t.put(&format!("{}/production", path(s.project)))
        .token(ROOT_TOKEN)
        .json(json!({ "deploy_access_levels": [{ "user_id": s.maintainer.id }] }))
        .await
        .expect_status(StatusCode::OK);
    s.t.post(&format!(
        "/api/v4/projects/{}/jobs/{}/cancel",
        s.project, s.job
    ))
    .token(&s.maintainer.token)
    .await
    .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn unprotected_and_other_environments_are_not_restricted() {
    let s = setup().await;
    s.t.post(&path(s.project))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "staging", "deploy_access_levels": [{ "access_level": 60 }] }))
        .await
        .expect_status(StatusCode::CREATED);
    s.t.post(&play_path(&s, s.job))
        .token(&s.developer.token)
        .await
        .expect_status(StatusCode::OK);
}

const AUTO_DEPLOY: &str = "\
deploy:
  script: ./deploy
  environment: production
";

/// GitLab's EE `ProcessBuildService#enqueue`: a job whose user may not deploy to its
/// protected environment fails with `protected_environment_failure` instead of running.
#[tokio::test]
async fn a_job_of_a_user_without_deploy_access_fails_instead_of_running() {
    let s = setup().await;
    protect(&s, json!([{ "access_level": 40 }])).await;
    let runner = s.t.instance_runner().await;

    let pipeline =
        s.t.update_ci(&s.developer.token, s.project, AUTO_DEPLOY)
            .await;
    let job = s.t.job_id(s.project, pipeline, "deploy").await;
    s.t.request_job(&runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let failed = s.t.job(s.project, job).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_reason"], "protected_environment_failure");
    assert_eq!(s.t.pipeline_status(s.project, pipeline).await, "failed");

    // A Maintainer's deployment runs.
    let pipeline =
        s.t.update_ci(&s.maintainer.token, s.project, AUTO_DEPLOY)
            .await;
    let job = s.t.job_id(s.project, pipeline, "deploy").await;
    assert_eq!(s.t.claim(&runner).await.id, job);
}
