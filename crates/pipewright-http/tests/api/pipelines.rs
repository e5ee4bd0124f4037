//! Pipelines: creation through the API and by pushes, the list with its headers, one
//! pipeline, errors.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::ordered::is_timestamp;
use crate::common::shape::pipeline_basic_shape;
use crate::common::{EXTERNAL_URL, ROOT_TOKEN, TestApp, ZERO_SHA};

const TWO_STAGES: &str = "stages: [build, test]\nbuild:\n  stage: build\n  script: make\ntest:\n  stage: test\n  script: make test\n";

fn base_error(text: &str) -> Value {
    json!({ "message": { "base": [text] } })
}

#[tokio::test]
async fn create_pipeline_through_the_api() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(TWO_STAGES).await;
    let response = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::CREATED);
    let ordered = response.ordered();
    let mut pipeline = response.json();
    let id = pipeline["id"].as_i64().expect("id");
    assert_ne!(id, ci.pipeline_id, "a new pipeline");
    for key in ["created_at", "updated_at"] {
        assert!(is_timestamp(pipeline[key].as_str().expect(key)));
        pipeline[key] = json!("[timestamp]");
    }
    assert_eq!(
        pipeline,
        json!({
            "id": id,
            "iid": 2,
            "project_id": ci.project_id,
            "sha": ci.sha,
            "ref": "main",
            "status": "pending",
            "source": "api",
            "created_at": "[timestamp]",
            "updated_at": "[timestamp]",
            "web_url": format!("{EXTERNAL_URL}/root/demo/-/pipelines/{id}"),
            "before_sha": ZERO_SHA,
            "tag": false,
            "yaml_errors": null,
            "user": {
                "id": 1,
                "username": "root",
                "name": "Administrator",
                "state": "active",
                "locked": false,
                "avatar_url": null,
                "web_url": format!("{EXTERNAL_URL}/root"),
            },
            "started_at": null,
            "finished_at": null,
            "committed_at": null,
            "duration": null,
            "queued_duration": null,
            "coverage": null,
            "detailed_status": {
                "icon": "status_pending",
                "text": "Pending",
                "label": "pending",
                "group": "pending",
                "tooltip": "pending",
                "has_details": true,
                "details_path": format!("/root/demo/-/pipelines/{id}"),
                "illustration": null,
                "favicon": "favicon_status_pending",
            },
            "name": null,
        })
    );
    // Keys in GitLab's order: PipelineBasic first, then the detail.
    assert_eq!(
        ordered.keys(),
        [
            "id",
            "iid",
            "project_id",
            "sha",
            "ref",
            "status",
            "source",
            "created_at",
            "updated_at",
            "web_url",
            "before_sha",
            "tag",
            "yaml_errors",
            "user",
            "started_at",
            "finished_at",
            "committed_at",
            "duration",
            "queued_duration",
            "coverage",
            "detailed_status",
            "name",
        ]
    );
    let statuses = t.job_statuses(ci.project_id, id).await;
    assert_eq!(statuses["build"], "pending");
    assert_eq!(statuses["test"], "created");
}

#[tokio::test]
async fn the_push_pipeline() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(TWO_STAGES).await;
    let pipeline = t.pipeline(ci.project_id, ci.pipeline_id).await;
    assert_eq!(pipeline["iid"], 1);
    assert_eq!(pipeline["source"], "push");
    assert_eq!(pipeline["sha"], ci.sha.as_str());
    assert_eq!(pipeline["before_sha"], ZERO_SHA);
    assert_eq!(pipeline["status"], "pending");
    // A second push records the previous head as before_sha.
    let second = t.update_ci(ROOT_TOKEN, ci.project_id, TWO_STAGES).await;
    let pipeline = t.pipeline(ci.project_id, second).await;
    assert_eq!(pipeline["before_sha"], ci.sha.as_str());
    assert_eq!(pipeline["iid"], 2);
}

#[tokio::test]
async fn pipeline_creation_errors() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(TWO_STAGES).await;
    let path = format!("/api/v4/projects/{}/pipeline", ci.project_id);
    let response = t
        .post(&path)
        .token(ROOT_TOKEN)
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), json!({ "error": "ref is missing" }));
    let response = t
        .post(&path)
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "nope" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), base_error("Reference not found"));

    // A branch without .gitlab-ci.yml.
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({
        "branch": "bare", "start_branch": "main", "commit_message": "no ci",
        "actions": [{ "action": "delete", "file_path": ".gitlab-ci.yml" }],
    }))
    .await
    .expect_status(StatusCode::CREATED);
    let response = t
        .post(&path)
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "bare" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), base_error("Missing CI config file"));

    let before = t
        .get(&format!("/api/v4/projects/{}/pipelines", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .header("x-total")
        .map(str::to_owned);
    // Invalid YAML: 400 with the planner's message, and nothing is created.
    t.update_ci(
        ROOT_TOKEN,
        ci.project_id,
        "stages: [build, test]\nbuild:\n  script: make\ndeploy:\n  stage: deploy\n  script: deploy\n",
    )
    .await;
    let response = t
        .post(&path)
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        base_error(
            "deploy job: chosen stage deploy does not exist; available stages are .pre, build, test, .post"
        )
    );
    let after = t
        .get(&format!("/api/v4/projects/{}/pipelines", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .header("x-total")
        .map(str::to_owned);
    // The push of the invalid file recorded one failed pipeline; the API call none.
    assert_eq!(
        after.and_then(|n| n.parse::<i64>().ok()),
        before.and_then(|n| n.parse::<i64>().ok()).map(|n| n + 1)
    );
}

#[tokio::test]
async fn a_push_with_invalid_yaml_records_a_failed_pipeline() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("build:\n  script: []\n").await;
    let pipeline = t.pipeline(ci.project_id, ci.pipeline_id).await;
    assert_eq!(pipeline["status"], "failed");
    assert_eq!(pipeline["yaml_errors"], "jobs:build script can't be blank");
    assert_eq!(pipeline["detailed_status"]["text"], "Failed");
    let jobs = t.pipeline_jobs(ci.project_id, ci.pipeline_id).await;
    assert!(jobs.is_empty());
}

#[tokio::test]
async fn pipeline_variables_reach_the_job() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: echo $FOO\n").await;
    let runner = t.instance_runner().await;
    // The push pipeline's job first.
    t.drain(&runner, "success").await;
    t.post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({
            "ref": "main",
            "variables": [
                { "key": "FOO", "value": "bar" },
                { "key": "CONFIG", "value": "x=1", "variable_type": "file" },
            ],
        }))
        .await
        .expect_status(StatusCode::CREATED);
    let job = t.claim(&runner).await;
    assert_eq!(job.variable("FOO").as_deref(), Some("bar"));
    let config = job.payload["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .rev()
        .find(|v| v["key"] == "CONFIG")
        .cloned()
        .expect("CONFIG");
    assert_eq!(config["value"], "x=1");
    assert_eq!(config["file"], true);

    // Form-style nested variables work too.
    t.post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(ROOT_TOKEN)
        .form("ref=main&variables[][key]=FOO&variables[][value]=form")
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn pipeline_variable_params_are_validated() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let path = format!("/api/v4/projects/{}/pipeline", ci.project_id);
    for (variables, error) in [
        (json!([{ "value": "v" }]), "variables[0][key] is missing"),
        (
            json!([{ "key": "A", "value": "1" }, { "key": "B" }]),
            "variables[1][value] is missing",
        ),
        (
            json!([{ "key": "A", "value": "1", "variable_type": "secret" }]),
            "variables[0][variable_type] does not have a valid value",
        ),
        (json!("A=1"), "variables is invalid"),
    ] {
        let response = t
            .post(&path)
            .token(ROOT_TOKEN)
            .json(json!({ "ref": "main", "variables": variables }))
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }));
    }
}

#[tokio::test]
async fn who_may_run_pipelines() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let reporter = t.create_user("reporter").await;
    let developer = t.create_user("developer").await;
    let outsider = t.create_user("outsider").await;
    for (user, level) in [(&reporter, 20), (&developer, 30)] {
        t.post(&format!("/api/v4/projects/{}/members", ci.project_id))
            .token(ROOT_TOKEN)
            .json(json!({ "user_id": user.id, "access_level": level }))
            .await
            .expect_status(StatusCode::CREATED);
    }
    // The developer's own unprotected branch.
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(&developer.token)
    .json(json!({
        "branch": "feature", "start_branch": "main", "commit_message": "f",
        "actions": [{ "action": "create", "file_path": "f", "content": "f" }],
    }))
    .await
    .expect_status(StatusCode::CREATED);
    let path = format!("/api/v4/projects/{}/pipeline", ci.project_id);
    let run = |token: &str| t.post(&path).token(token).json(json!({ "ref": "main" }));
    let pipeline = t
        .post(&path)
        .token(&developer.token)
        .json(json!({ "ref": "feature" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(pipeline["user"]["username"], "developer");
    let response = run(&reporter.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    let response = run(&outsider.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        response.json(),
        json!({ "message": "404 Project Not Found" })
    );
    t.post(&path)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn list_pipelines_newest_first_with_offset_headers() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let path = format!("/api/v4/projects/{}/pipeline", ci.project_id);
    for _ in 0..2 {
        t.post(&path)
            .token(ROOT_TOKEN)
            .json(json!({ "ref": "main" }))
            .await
            .expect_status(StatusCode::CREATED);
    }
    let list = format!("/api/v4/projects/{}/pipelines", ci.project_id);
    let first = t
        .get(&format!("{list}?per_page=2"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    let ordered = first.ordered();
    let crate::common::Ordered::Array(items) = &ordered else {
        panic!("array");
    };
    for item in items {
        pipeline_basic_shape(item, "pipeline").expect("PipelineBasic shape");
    }
    let body = first.json();
    let ids: Vec<i64> = body
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [3, 2]);
    assert_eq!(first.header("x-page"), Some("1"));
    assert_eq!(first.header("x-per-page"), Some("2"));
    assert_eq!(first.header("x-next-page"), Some("2"));
    assert_eq!(first.header("x-prev-page"), Some(""));
    assert_eq!(first.header("x-total"), Some("3"));
    assert_eq!(first.header("x-total-pages"), Some("2"));
    let link = first.header("link").expect("link");
    assert!(link.contains("page=2&per_page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=1&per_page=2>; rel=\"first\""), "{link}");
    assert!(link.contains("page=2&per_page=2>; rel=\"last\""), "{link}");
    assert!(!link.contains("rel=\"prev\""), "{link}");
    assert!(link.starts_with(&format!("<{EXTERNAL_URL}/api/v4/projects/1/pipelines?")));

    let second = t
        .get(&format!("{list}?per_page=2&page=2"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(second.json().as_array().map(Vec::len), Some(1));
    assert_eq!(second.header("x-next-page"), Some(""));
    assert_eq!(second.header("x-prev-page"), Some("1"));
    let link = second.header("link").expect("link");
    assert!(link.contains("rel=\"prev\""), "{link}");
    assert!(!link.contains("rel=\"next\""), "{link}");
}

#[tokio::test]
async fn list_pipelines_filters() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    t.drain(&runner, "success").await;
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({
        "branch": "feature", "start_branch": "main", "commit_message": "f",
        "actions": [{ "action": "create", "file_path": "f.txt", "content": "f" }],
    }))
    .await
    .expect_status(StatusCode::CREATED);
    let list = format!("/api/v4/projects/{}/pipelines", ci.project_id);
    let ids = |body: Value| -> Vec<i64> {
        body.as_array()
            .expect("array")
            .iter()
            .map(|p| p["id"].as_i64().expect("id"))
            .collect()
    };
    let all = ids(t.get(&list).token(ROOT_TOKEN).await.json());
    assert_eq!(all, [2, 1]);
    let success = t
        .get(&format!("{list}?status=success"))
        .token(ROOT_TOKEN)
        .await;
    assert_eq!(ids(success.json()), [1]);
    let feature = t
        .get(&format!("{list}?ref=feature"))
        .token(ROOT_TOKEN)
        .await;
    assert_eq!(ids(feature.json()), [2]);
    let response = t
        .get(&format!("{list}?status=nope"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "status does not have a valid value" })
    );
    let response = t
        .get(&format!("{list}?per_page=0"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "per_page has a value not allowed" })
    );
}

#[tokio::test]
async fn public_pipelines_are_listed_anonymously() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "open",
            json!({ "visibility": "public" }),
            "a:\n  script: x\n",
        )
        .await;
    let list = t
        .get(&format!("/api/v4/projects/{}/pipelines", ci.project_id))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let one = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}",
            ci.project_id, ci.pipeline_id
        ))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(one["id"], ci.pipeline_id);
}

#[tokio::test]
async fn get_one_pipeline_and_its_errors() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let other = t
        .project_with_ci_as(ROOT_TOKEN, "other", json!({}), "b:\n  script: y\n")
        .await;
    let pipeline = t.pipeline(ci.project_id, ci.pipeline_id).await;
    assert_eq!(pipeline["id"], ci.pipeline_id);
    assert_eq!(pipeline["project_id"], ci.project_id);

    for path in [
        format!(
            "/api/v4/projects/{}/pipelines/{}",
            ci.project_id, other.pipeline_id
        ),
        format!("/api/v4/projects/{}/pipelines/999", ci.project_id),
    ] {
        let response = t
            .get(&path)
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::NOT_FOUND);
        assert_eq!(
            response.json(),
            json!({ "message": "404 Not found" }),
            "{path}"
        );
    }
    let response = t
        .get(&format!("/api/v4/projects/{}/pipelines/abc", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "pipeline_id is invalid" })
    );
    let response = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}",
            ci.project_id, ci.pipeline_id
        ))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        response.json(),
        json!({ "message": "404 Project Not Found" })
    );
}

/// GitLab refuses a pipeline on a protected branch to whoever may not update that branch
/// (`Gitlab::Ci::Pipeline::Chain::Validate::Abilities`).
#[tokio::test]
async fn a_developer_may_not_run_a_pipeline_on_a_protected_branch() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let developer = t.create_user("developer").await;
    t.post(&format!("/api/v4/projects/{}/members", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": developer.id, "access_level": 30 }))
        .await
        .expect_status(StatusCode::CREATED);
    let response = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(&developer.token)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        base_error("Insufficient permissions for protected ref 'main'")
    );
}

#[tokio::test]
async fn list_pipelines_scope_source_sha_and_order() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    t.drain(&runner, "success").await; // pipeline 1 (push): success
    let api = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json(); // pipeline 2 (api): pending
    let list = format!("/api/v4/projects/{}/pipelines", ci.project_id);
    let ids = |query: &'static str| {
        let request = t.get(&format!("{list}{query}")).token(ROOT_TOKEN);
        async move {
            request
                .await
                .expect_status(StatusCode::OK)
                .json()
                .as_array()
                .expect("array")
                .iter()
                .map(|p| p["id"].as_i64().expect("id"))
                .collect::<Vec<i64>>()
        }
    };
    assert_eq!(ids("?scope=finished").await, [1]);
    assert_eq!(ids("?scope=pending").await, [2]);
    assert_eq!(ids("?scope=running").await, Vec::<i64>::new());
    assert_eq!(ids("?source=api").await, [2]);
    assert_eq!(ids("?source=push").await, [1]);
    assert_eq!(ids("?sort=asc").await, [1, 2]);
    assert_eq!(ids("?order_by=id&sort=desc").await, [2, 1]);
    assert_eq!(
        ids("?scope=finished&status=pending").await,
        Vec::<i64>::new()
    );
    let sha_query = format!("{list}?sha={}", api["sha"].as_str().expect("sha"));
    let by_sha = t.get(&sha_query).token(ROOT_TOKEN).await.json();
    assert_eq!(by_sha.as_array().map(Vec::len), Some(2), "same commit");
    for (query, error) in [
        ("?scope=everything", "scope does not have a valid value"),
        ("?sort=sideways", "sort does not have a valid value"),
        ("?order_by=name", "order_by does not have a valid value"),
    ] {
        let response = t
            .get(&format!("{list}{query}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }), "{query}");
    }
}

#[tokio::test]
async fn api_pipelines_filtered_by_rules_are_400() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci(
            "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"push\"\na:\n  script: x\n",
        )
        .await;
    let path = format!("/api/v4/projects/{}/pipeline", ci.project_id);
    let response = t
        .post(&path)
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        base_error("Pipeline filtered out by workflow rules.")
    );
    t.update_ci(
        ROOT_TOKEN,
        ci.project_id,
        "a:\n  script: x\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"push\"\n",
    )
    .await;
    let response = t
        .post(&path)
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        base_error("No stages / jobs for this pipeline.")
    );
}
