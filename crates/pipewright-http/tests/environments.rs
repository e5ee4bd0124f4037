//! Environments and deployments through the router: records made by pipelines (names and
//! urls expanded, deployments following their jobs, `on_stop`, `stop` jobs), the
//! `/projects/:id/environments` and `/projects/:id/deployments` APIs (GitLab's entities,
//! filters, pagination, errors and permissions) and "Prevent outdated deployment jobs".

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::ordered::redact;
use common::{CiProject, EXTERNAL_URL, ROOT_TOKEN, TestApp, TestUser, assert_job_shape};
use serde_json::{Value, json};

const REVIEW: &str = "\
stages: [build, deploy, cleanup]
build:
  stage: build
  script: make
deploy:
  stage: deploy
  script: ./deploy
  environment:
    name: review/$CI_COMMIT_REF_SLUG
    url: https://$CI_COMMIT_REF_SLUG.example.com
    on_stop: stop_review
    auto_stop_in: 1 day
stop_review:
  stage: cleanup
  script: ./teardown
  when: manual
  environment:
    name: review/$CI_COMMIT_REF_SLUG
    action: stop
prepare_prod:
  stage: build
  script: ./prepare
  environment:
    name: production
    action: prepare
";

const DEPLOY: &str = "\
stages: [build, deploy]
build:
  stage: build
  script: make
deploy:
  stage: deploy
  script: ./deploy
  environment: production
";

async fn add_member(t: &TestApp, project: i64, user: &TestUser, level: i64) {
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user.id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
}

async fn environments(t: &TestApp, project: i64, query: &str) -> Vec<Value> {
    let list = t
        .get(&format!("/api/v4/projects/{project}/environments{query}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    list.as_array().expect("array").clone()
}

async fn deployments(t: &TestApp, project: i64, query: &str) -> Vec<Value> {
    let list = t
        .get(&format!("/api/v4/projects/{project}/deployments{query}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    list.as_array().expect("array").clone()
}

fn named<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list:?}"))
}

/// Runs the next job and checks it is `name`.
async fn run(t: &TestApp, runner: &common::TestRunner, name: &str, state: &str) -> i64 {
    let job = t.run_next(runner, "", state).await;
    assert_eq!(job.payload["job_info"]["name"], name, "ran the wrong job");
    job.id
}

// ---- records made by pipelines ---------------------------------------------------------

#[tokio::test]
async fn pipeline_jobs_create_environments_and_deployments() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(REVIEW).await;
    let project = ci.project_id;

    let envs = environments(&t, project, "").await;
    assert_eq!(envs.len(), 2, "{envs:?}");
    // Id order: the first job naming an environment creates it.
    assert_eq!(envs[0]["name"], "review/main");
    assert_eq!(envs[1]["name"], "production");
    let review = &envs[0];
    assert_eq!(
        review["slug"],
        pipewright_core::environment::environment_slug("review/main").as_str()
    );
    assert_eq!(review["tier"], "development");
    assert_eq!(review["state"], "available");
    assert_eq!(
        review["external_url"],
        Value::Null,
        "set when a deployment succeeds"
    );
    assert_eq!(envs[1]["tier"], "production");
    assert_eq!(envs[1]["slug"], "production");

    // Only the `start` job deploys.
    let deps = deployments(&t, project, "").await;
    assert_eq!(deps.len(), 1);
    let deploy_id = t.job_id(project, ci.pipeline_id, "deploy").await;
    assert_eq!(deps[0]["iid"], 1);
    assert_eq!(deps[0]["status"], "created");
    assert_eq!(deps[0]["ref"], "main");
    assert_eq!(deps[0]["sha"], ci.sha.as_str());
    assert_eq!(deps[0]["deployable"]["id"], deploy_id);
    assert_eq!(deps[0]["environment"]["name"], "review/main");
    assert_eq!(deps[0]["user"]["username"], "root");

    let runner = t.instance_runner().await;
    run(&t, &runner, "build", "success").await;
    run(&t, &runner, "prepare_prod", "success").await;
    let claimed = t.claim(&runner).await;
    assert_eq!(claimed.id, deploy_id);
    assert_eq!(
        claimed.variable("CI_ENVIRONMENT_NAME").as_deref(),
        Some("review/main")
    );
    t.succeed(&claimed).await;

    let deps = deployments(&t, project, "").await;
    assert_eq!(deps[0]["status"], "success");
    let envs = environments(&t, project, "").await;
    let review = named(&envs, "review/main");
    assert_eq!(review["external_url"], "https://main.example.com");
    assert!(review["auto_stop_at"].is_string(), "auto_stop_in: 1 day");

    // The single read shows the last successful deployment, without `project`.
    let review_id = review["id"].as_i64().expect("id");
    let single = t
        .get(&format!(
            "/api/v4/projects/{project}/environments/{review_id}"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    let body = single.ordered();
    assert_eq!(
        body.keys(),
        [
            "id",
            "name",
            "slug",
            "external_url",
            "created_at",
            "updated_at",
            "tier",
            "last_deployment",
            "state",
            "auto_stop_at",
            "description",
            "auto_stop_setting"
        ]
    );
    let last = body.get("last_deployment").expect("last_deployment");
    assert_eq!(
        last.keys(),
        [
            "id",
            "iid",
            "ref",
            "sha",
            "created_at",
            "updated_at",
            "user",
            "deployable",
            "status"
        ]
    );
    assert_job_shape(last.get("deployable").expect("deployable"));
    insta::assert_json_snapshot!("environment_single", redact(body));

    // Stopping plays the `on_stop` job; the environment stops when it succeeds.
    let stopping = t
        .post(&format!(
            "/api/v4/projects/{project}/environments/{review_id}/stop"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(stopping["state"], "stopping");
    assert_eq!(stopping["project"]["id"], project);
    let stop_job = run(&t, &runner, "stop_review", "success").await;
    assert_eq!(
        t.job(project, stop_job).await["status"],
        "success",
        "the stop job ran"
    );
    let envs = environments(&t, project, "?states=stopped").await;
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0]["name"], "review/main");
    // A stop job makes no deployment.
    assert_eq!(deployments(&t, project, "").await.len(), 1);

    // A stopped environment can be deleted, with its deployments.
    t.delete(&format!(
        "/api/v4/projects/{project}/environments/{review_id}"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NO_CONTENT);
    t.get(&format!(
        "/api/v4/projects/{project}/environments/{review_id}"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NOT_FOUND);
    assert!(deployments(&t, project, "").await.is_empty());
}

#[tokio::test]
async fn deployments_follow_their_jobs() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("deploy:\n  script: ./deploy\n  environment: production\n")
        .await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    let deploy = t.claim(&runner).await;
    let deps = deployments(&t, project, "").await;
    assert_eq!(deps[0]["status"], "running");
    t.fail(&deploy, "script_failure", 1).await;
    let deps = deployments(&t, project, "").await;
    assert_eq!(deps[0]["status"], "failed");
    assert_eq!(deps[0]["deployable"]["status"], "failed");

    // A retry is a new job with a new deployment.
    let retried = t
        .post(&format!(
            "/api/v4/projects/{project}/jobs/{}/retry",
            deploy.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let deps = deployments(&t, project, "?sort=desc").await;
    assert_eq!(deps.len(), 2);
    assert_eq!(deps[0]["iid"], 2);
    assert_eq!(deps[0]["deployable"]["id"], retried["id"]);
    assert_eq!(deps[0]["status"], "created");

    // Canceling the job cancels the deployment.
    t.post(&format!(
        "/api/v4/projects/{project}/jobs/{}/cancel",
        retried["id"]
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::CREATED);
    let deps = deployments(&t, project, "?status=canceled").await;
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0]["deployable"]["id"], retried["id"]);

    // A skipped job skips its deployment.
    let pipeline = t.update_ci(ROOT_TOKEN, project, DEPLOY).await;
    run(&t, &runner, "build", "failed").await;
    let deps = deployments(&t, project, "?status=skipped").await;
    assert_eq!(deps.len(), 1, "{deps:?}");
    assert_eq!(
        deps[0]["deployable"]["pipeline"]["id"].as_i64(),
        Some(pipeline)
    );
}

// ---- the environments API ----------------------------------------------------------------

#[tokio::test]
async fn environments_are_created_updated_listed_and_deleted() {
    let t = TestApp::new().await;
    let project = t.create_project(ROOT_TOKEN, json!({ "name": "p" })).await;
    let id = project["id"].as_i64().expect("id");
    let base = format!("/api/v4/projects/{id}/environments");

    let created = t
        .post(&base)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "staging", "external_url": "https://staging.example.com" }))
        .await
        .expect_status(StatusCode::CREATED);
    let body = created.json();
    assert_eq!(
        created.ordered().keys(),
        [
            "id",
            "name",
            "slug",
            "external_url",
            "created_at",
            "updated_at",
            "tier",
            "project",
            "state",
            "auto_stop_at",
            "description",
            "auto_stop_setting"
        ]
    );
    let project_entity = body["project"].clone();
    assert_eq!(project_entity["path_with_namespace"], "root/p");
    assert_eq!(
        project_entity["web_url"],
        format!("{EXTERNAL_URL}/root/p").as_str()
    );
    assert_eq!(
        body,
        json!({
            "id": body["id"],
            "name": "staging",
            "slug": "staging",
            "external_url": "https://staging.example.com",
            "created_at": body["created_at"],
            "updated_at": body["updated_at"],
            "tier": "staging",
            "project": project_entity,
            "state": "available",
            "auto_stop_at": null,
            "description": null,
            "auto_stop_setting": "always",
        })
    );
    insta::assert_json_snapshot!("environment_created", redact(created.ordered()));
    let env_id = body["id"].as_i64().expect("id");

    // Errors, in GitLab's shapes.
    let cases = [
        (
            json!({}),
            StatusCode::BAD_REQUEST,
            json!({ "error": "name is missing" }),
        ),
        (
            json!({ "name": "x", "slug": "y" }),
            StatusCode::BAD_REQUEST,
            json!({ "error": "slug is automatically generated and cannot be changed" }),
        ),
        (
            json!({ "name": "x", "tier": "prod" }),
            StatusCode::BAD_REQUEST,
            json!({ "error": "tier does not have a valid value" }),
        ),
        (
            json!({ "name": "staging" }),
            StatusCode::BAD_REQUEST,
            json!({ "message": { "name": ["has already been taken"] } }),
        ),
        (
            json!({ "name": "/bad" }),
            StatusCode::BAD_REQUEST,
            json!({ "message": { "name": ["can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'"] } }),
        ),
        (
            json!({ "name": "ok", "external_url": "ftp://x" }),
            StatusCode::BAD_REQUEST,
            json!({ "message": { "external_url": ["is blocked: Only allowed schemes are http, https"] } }),
        ),
    ];
    for (request, status, answer) in cases {
        let response = t
            .post(&base)
            .token(ROOT_TOKEN)
            .json(request.clone())
            .await
            .expect_status(status);
        assert_eq!(response.json(), answer, "{request}");
    }

    // Update: url, tier and (deprecated) name; the slug stays.
    let updated = t
        .put(&format!("{base}/{env_id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "external_url": "https://stg.example.com", "tier": "testing", "name": "stage" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(updated["external_url"], "https://stg.example.com");
    assert_eq!(updated["tier"], "testing");
    assert_eq!(updated["name"], "stage");
    assert_eq!(updated["slug"], "staging");
    t.put(&format!("{base}/{env_id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "slug": "x" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    t.put(&format!("{base}/999"))
        .token(ROOT_TOKEN)
        .json(json!({ "tier": "other" }))
        .await
        .expect_status(StatusCode::NOT_FOUND);

    // An available environment is not deleted; without `on_stop` it stops at once.
    let refused = t
        .delete(&format!("{base}/{env_id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(refused.json(), json!({ "message": "403 Forbidden" }));
    let stopped = t
        .post(&format!("{base}/{env_id}/stop"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(stopped["state"], "stopped");
    t.delete(&format!("{base}/{env_id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);

    // Unknown and malformed ids.
    let missing = t
        .get(&format!("{base}/{env_id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(missing.json(), json!({ "message": "404 Not found" }));
    let malformed = t
        .get(&format!("{base}/abc"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        malformed.json(),
        json!({ "error": "environment_id is invalid" })
    );
}

#[tokio::test]
async fn environment_lists_filter_and_paginate() {
    let t = TestApp::new().await;
    let project = t.create_project(ROOT_TOKEN, json!({ "name": "p" })).await;
    let id = project["id"].as_i64().expect("id");
    let base = format!("/api/v4/projects/{id}/environments");
    for name in ["review/one", "review/two", "Review/three", "production"] {
        t.post(&base)
            .token(ROOT_TOKEN)
            .json(json!({ "name": name }))
            .await
            .expect_status(StatusCode::CREATED);
    }
    let names = |list: Vec<Value>| -> Vec<String> {
        list.iter()
            .map(|env| env["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(
        names(environments(&t, id, "?name=production").await),
        ["production"]
    );
    // `search` is a case-insensitive prefix.
    assert_eq!(
        names(environments(&t, id, "?search=rev").await),
        ["review/one", "review/two", "Review/three"]
    );
    assert!(environments(&t, id, "?search=iew").await.is_empty());
    assert_eq!(environments(&t, id, "?states=available").await.len(), 4);
    assert!(environments(&t, id, "?states=stopped").await.is_empty());

    let page = t
        .get(&format!("{base}?per_page=3&page=1"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(page.json().as_array().map(Vec::len), Some(3));
    let headers = page.pagination_headers();
    assert_eq!(
        headers[..6],
        [
            ("x-page", "1".to_owned()),
            ("x-per-page", "3".to_owned()),
            ("x-next-page", "2".to_owned()),
            ("x-prev-page", String::new()),
            ("x-total", "4".to_owned()),
            ("x-total-pages", "2".to_owned()),
        ]
    );
    assert!(
        headers[6].1.contains(&format!(
            "{EXTERNAL_URL}/api/v4/projects/{id}/environments?"
        )),
        "{headers:?}"
    );

    let errors = [
        (
            "?name=a&search=abc",
            json!({ "error": "name, search cannot be used together" }),
        ),
        (
            "?states=gone",
            json!({ "error": "states does not have a valid value" }),
        ),
        (
            "?search=ab",
            json!({ "message": "400 Bad request - Search query is less than 3 characters" }),
        ),
    ];
    for (query, answer) in errors {
        let response = t
            .get(&format!("{base}{query}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), answer, "{query}");
    }
}

#[tokio::test]
async fn reporters_read_developers_write_outsiders_see_nothing() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(DEPLOY).await;
    let project = ci.project_id;
    let base = format!("/api/v4/projects/{project}/environments");
    let guest = t.create_user("guest").await;
    let reporter = t.create_user("reporter").await;
    let developer = t.create_user("developer").await;
    let outsider = t.create_user("outsider").await;
    add_member(&t, project, &guest, 10).await;
    add_member(&t, project, &reporter, 20).await;
    add_member(&t, project, &developer, 30).await;
    let env_id = environments(&t, project, "").await[0]["id"]
        .as_i64()
        .expect("id");

    t.get(&base).await.expect_status(StatusCode::UNAUTHORIZED);
    let hidden = t
        .get(&base)
        .token(&outsider.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(hidden.json(), json!({ "message": "404 Project Not Found" }));
    t.get(&format!("/api/v4/projects/{project}/deployments"))
        .token(&outsider.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    for path in [
        base.clone(),
        format!("{base}/{env_id}"),
        format!("/api/v4/projects/{project}/deployments"),
    ] {
        t.get(&path)
            .token(&guest.token)
            .await
            .expect_status(StatusCode::FORBIDDEN);
        t.get(&path)
            .token(&reporter.token)
            .await
            .expect_status(StatusCode::OK);
    }
    t.post(&base)
        .token(&reporter.token)
        .json(json!({ "name": "qa" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.post(&format!("{base}/{env_id}/stop"))
        .token(&reporter.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.post(&base)
        .token(&developer.token)
        .json(json!({ "name": "qa" }))
        .await
        .expect_status(StatusCode::CREATED);
    t.put(&format!("{base}/{env_id}"))
        .token(&developer.token)
        .json(json!({ "external_url": "https://prod.example.com" }))
        .await
        .expect_status(StatusCode::OK);
}

// ---- the deployments API -----------------------------------------------------------------

#[tokio::test]
async fn deployments_are_listed_and_read_like_gitlab() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(DEPLOY).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    t.drain(&runner, "success").await;
    t.update_ci(
        ROOT_TOKEN,
        project,
        &DEPLOY.replace("production", "staging"),
    )
    .await;

    let all = deployments(&t, project, "").await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["iid"], 1);
    assert_eq!(all[1]["iid"], 2);
    assert_eq!(
        deployments(&t, project, "?order_by=iid&sort=desc").await[0]["iid"],
        2
    );
    let staging = deployments(&t, project, "?environment=staging").await;
    assert_eq!(staging.len(), 1);
    assert_eq!(staging[0]["environment"]["name"], "staging");
    assert!(
        deployments(&t, project, "?environment=nope")
            .await
            .is_empty()
    );
    assert_eq!(deployments(&t, project, "?status=success").await.len(), 1);
    assert_eq!(
        deployments(
            &t,
            project,
            "?status=success&order_by=finished_at&finished_after=2000-01-01T00:00:00Z"
        )
        .await
        .len(),
        1
    );
    assert_eq!(
        deployments(&t, project, "?updated_after=2000-01-01T00:00:00Z")
            .await
            .len(),
        2
    );

    let id = all[0]["id"].as_i64().expect("id");
    let single = t
        .get(&format!("/api/v4/projects/{project}/deployments/{id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    let body = single.ordered();
    assert_eq!(
        body.keys(),
        [
            "id",
            "iid",
            "ref",
            "sha",
            "created_at",
            "updated_at",
            "user",
            "environment",
            "deployable",
            "status"
        ]
    );
    assert_job_shape(body.get("deployable").expect("deployable"));
    let environment = body.get("environment").expect("environment");
    assert_eq!(
        environment.keys(),
        [
            "id",
            "name",
            "slug",
            "external_url",
            "created_at",
            "updated_at"
        ]
    );
    insta::assert_json_snapshot!("deployment", redact(body));
    t.get(&format!("/api/v4/projects/{project}/deployments/999"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);

    let errors = [
        (
            "?order_by=name",
            json!({ "error": "order_by does not have a valid value" }),
        ),
        (
            "?sort=up",
            json!({ "error": "sort does not have a valid value" }),
        ),
        (
            "?status=done",
            json!({ "error": "status does not have a valid value" }),
        ),
        (
            "?updated_after=yesterday",
            json!({ "error": "updated_after is invalid" }),
        ),
        (
            "?finished_after=2000-01-01T00:00:00Z&status=success",
            json!({ "message": "400 Bad request - `finished_at` filter and `finished_at` sorting must be paired" }),
        ),
        (
            "?finished_after=2000-01-01T00:00:00Z&order_by=finished_at",
            json!({ "message": "400 Bad request - `finished_at` filter must be combined with `success` status filter." }),
        ),
        (
            "?finished_after=2000-01-01T00:00:00Z&updated_after=2000-01-01T00:00:00Z",
            json!({ "message": "400 Bad request - Both `updated_at` filter and `finished_at` filter can not be specified" }),
        ),
    ];
    for (query, answer) in errors {
        let response = t
            .get(&format!("/api/v4/projects/{project}/deployments{query}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), answer, "{query}");
    }
}

// ---- prevent outdated deployment jobs ---------------------------------------------------

/// Two pipelines of `DEPLOY` where the newer one deploys first while the older one's
/// `build` still runs; returns (project, older deploy job id, newer pipeline's deploy id).
async fn newer_deployment_first(t: &TestApp) -> (CiProject, common::TestRunner, i64) {
    let ci = t.project_with_ci(DEPLOY).await;
    let runner = t.instance_runner().await;
    let old_build = t.claim(&runner).await;
    t.update_ci(ROOT_TOKEN, ci.project_id, &format!("{DEPLOY}# v2\n"))
        .await;
    run(t, &runner, "build", "success").await;
    run(t, &runner, "deploy", "success").await;
    t.succeed(&old_build).await;
    let old_deploy = t.job_id(ci.project_id, ci.pipeline_id, "deploy").await;
    (ci, runner, old_deploy)
}

#[tokio::test]
async fn an_older_deployment_job_is_failed_instead_of_running() {
    let t = TestApp::new().await;
    let (ci, runner, old_deploy) = newer_deployment_first(&t).await;
    let job = t.job(ci.project_id, old_deploy).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["failure_reason"], "failed_outdated_deployment_job");
    assert_eq!(
        t.pipeline_status(ci.project_id, ci.pipeline_id).await,
        "failed"
    );
    let failed = deployments(&t, ci.project_id, "?status=failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["deployable"]["id"], old_deploy);
    // Nothing is left for the runner.
    t.request_job(&runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);

    // Rolling back by retrying the finished job is allowed by default: the retry is a
    // newer deployment.
    let retried = t
        .post(&format!(
            "/api/v4/projects/{}/jobs/{old_deploy}/retry",
            ci.project_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let ran = run(&t, &runner, "deploy", "success").await;
    assert_eq!(Some(ran), retried["id"].as_i64());
}

#[tokio::test]
async fn rollback_retries_and_the_whole_check_follow_the_project_settings() {
    let t = TestApp::new().await;
    let (ci, _runner, old_deploy) = newer_deployment_first(&t).await;
    let project = ci.project_id;
    let settings = t
        .get(&format!("/api/v4/projects/{project}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(settings["ci_forward_deployment_enabled"], true);
    assert_eq!(settings["ci_forward_deployment_rollback_allowed"], true);

    let updated = t
        .put(&format!("/api/v4/projects/{project}"))
        .token(ROOT_TOKEN)
        .json(json!({ "ci_forward_deployment_rollback_allowed": false }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(updated["ci_forward_deployment_rollback_allowed"], false);
    // The outdated job cannot be retried any more.
    t.post(&format!(
        "/api/v4/projects/{project}/jobs/{old_deploy}/retry"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::FORBIDDEN);

    // With the check off, an older deployment job runs.
    t.put(&format!("/api/v4/projects/{project}"))
        .token(ROOT_TOKEN)
        .json(json!({ "ci_forward_deployment_enabled": false }))
        .await
        .expect_status(StatusCode::OK);
    t.post(&format!(
        "/api/v4/projects/{project}/jobs/{old_deploy}/retry"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::CREATED);
}

// ---- resource groups: upcoming jobs ----------------------------------------------------

#[tokio::test]
async fn upcoming_jobs_of_a_resource_group() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "a:\n  script: ./deploy\n  resource_group: prod\n  environment: production\nb:\n  script: ./deploy\n  resource_group: prod\n  environment: production\n",
        )
        .await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    let holder = t.claim(&runner).await;
    let waiting = t.job_id(project, ci.pipeline_id, "b").await;
    assert_ne!(holder.id, waiting);
    let base = format!("/api/v4/projects/{project}/resource_groups/prod/upcoming_jobs");
    let response = t
        .get(&base)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(
        response.header("x-total"),
        Some("1"),
        "{:?}",
        response.pagination_headers()
    );
    let jobs = response.ordered();
    let common::ordered::Ordered::Array(items) = jobs else {
        panic!("an array");
    };
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].keys(),
        [
            "id",
            "status",
            "stage",
            "name",
            "ref",
            "tag",
            "coverage",
            "allow_failure",
            "created_at",
            "started_at",
            "finished_at",
            "erased_at",
            "duration",
            "queued_duration",
            "user",
            "commit",
            "pipeline",
            "web_url",
            "project"
        ]
    );
    let first = items[0].to_value();
    assert_eq!(first["id"], waiting);
    assert_eq!(first["status"], "waiting_for_resource");

    // Once the holder is done, the waiter holds the resource and nothing is upcoming.
    t.succeed(&holder).await;
    let after = t
        .get(&base)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(after.json(), json!([]));

    let missing = t
        .get(&format!(
            "/api/v4/projects/{project}/resource_groups/nope/upcoming_jobs"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(missing.json(), json!({ "message": "404 Not Found" }));
    let reporter = t.create_user("reporter").await;
    add_member(&t, project, &reporter, 20).await;
    t.get(&base)
        .token(&reporter.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
}

/// `build` then a deployment job holding the `prod` resource group.
const DEPLOY_WITH_RESOURCE: &str = "\
stages: [build, deploy]
build:
  stage: build
  script: make
deploy:
  stage: deploy
  script: ./deploy
  resource_group: prod
  environment: production
";

#[tokio::test]
async fn an_outdated_job_waiting_for_its_resource_fails_when_it_would_get_it() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(DEPLOY_WITH_RESOURCE).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    run(&t, &runner, "build", "success").await;
    let holder = t.claim(&runner).await;
    let mut pipelines = Vec::new();
    for version in ["v2", "v3"] {
        let pipeline = t
            .update_ci(
                ROOT_TOKEN,
                project,
                &format!("{DEPLOY_WITH_RESOURCE}# {version}\n"),
            )
            .await;
        run(&t, &runner, "build", "success").await;
        pipelines.push(pipeline);
    }
    t.put(&format!("/api/v4/projects/{project}/resource_groups/prod"))
        .token(ROOT_TOKEN)
        .json(json!({ "process_mode": "newest_first" }))
        .await
        .expect_status(StatusCode::OK);
    t.succeed(&holder).await;
    // The newest pipeline deploys first; the middle one is then outdated.
    let newest = t.claim(&runner).await;
    assert_eq!(
        newest.id,
        t.job_id(project, pipelines[1], "deploy").await,
        "newest_first"
    );
    t.succeed(&newest).await;
    let middle = t.job_id(project, pipelines[0], "deploy").await;
    let job = t.job(project, middle).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["failure_reason"], "failed_outdated_deployment_job");
    t.request_job(&runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);
}
