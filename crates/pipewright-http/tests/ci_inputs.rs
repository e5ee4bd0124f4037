//! CI/CD inputs and components through the real router (issue #4): the main configuration's
//! `spec:inputs` fed by `POST /projects/:id/pipeline` and the trigger API, GitLab's 400s for
//! bad inputs, `include:local` with `inputs`, and `include:component` from another project of
//! this server (versions, access, not found), also in the lint API.

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};

use common::{ROOT_TOKEN, TestApp};

const HEADER_CI: &str = "spec:
  inputs:
    env:
      default: staging
      options: [staging, production]
    replicas:
      type: number
      default: 1
---
deploy-$[[ inputs.env ]]:
  parallel: $[[ inputs.replicas ]]
  script: deploy $[[ inputs.env ]]
";

fn names(jobs: &std::collections::BTreeMap<String, String>) -> Vec<&str> {
    jobs.keys().map(String::as_str).collect()
}

async fn create_pipeline(t: &TestApp, project: i64, body: Value) -> (StatusCode, Value) {
    let response = t
        .post(&format!("/api/v4/projects/{project}/pipeline"))
        .token(ROOT_TOKEN)
        .json(body)
        .await;
    let status = response.status;
    (status, response.json())
}

fn base_error(message: &str) -> Value {
    json!({ "message": { "base": [message] } })
}

#[tokio::test]
async fn pipeline_inputs_fill_the_main_configuration_header() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(HEADER_CI).await;
    // The push pipeline takes the defaults.
    let pushed = t.job_statuses(ci.project_id, ci.pipeline_id).await;
    assert_eq!(names(&pushed), ["deploy-staging 1/1"]);

    // JSON inputs; text holding JSON ("2") counts as a number.
    let (status, pipeline) = create_pipeline(
        &t,
        ci.project_id,
        json!({ "ref": "main", "inputs": { "env": "production", "replicas": "2" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    let id = pipeline["id"].as_i64().expect("id");
    let jobs = t.job_statuses(ci.project_id, id).await;
    assert_eq!(
        names(&jobs),
        ["deploy-production 1/2", "deploy-production 2/2"]
    );

    // Variables keep working beside inputs.
    let (status, body) = create_pipeline(
        &t,
        ci.project_id,
        json!({ "ref": "main", "inputs": { "replicas": 1 },
                "variables": [{ "key": "A", "value": "b" }] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn bad_pipeline_inputs_are_gitlab_400s() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(HEADER_CI).await;
    let cases = [
        (
            json!({ "nope": "x" }),
            "unknown input arguments: nope".to_owned(),
        ),
        (
            json!({ "env": "qa" }),
            "`env` input: `qa` cannot be used because it is not in the list of allowed options"
                .to_owned(),
        ),
        (
            json!({ "replicas": "many" }),
            "`replicas` input: provided value is not a number".to_owned(),
        ),
    ];
    for (inputs, message) in cases {
        let (status, body) = create_pipeline(
            &t,
            ci.project_id,
            json!({ "ref": "main", "inputs": inputs }),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body, base_error(&message));
    }
    let (status, body) = create_pipeline(
        &t,
        ci.project_id,
        json!({ "ref": "main", "inputs": ["env"] }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({ "error": "inputs is invalid" }));

    // A configuration without a header takes no inputs.
    let plain = t
        .project_with_ci_as(ROOT_TOKEN, "plain", json!({}), "a:\n  script: x\n")
        .await;
    let (status, body) = create_pipeline(
        &t,
        plain.project_id,
        json!({ "ref": "main", "inputs": { "env": "production" } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        base_error(
            "Given inputs not defined in the `spec` section of the included configuration file"
        )
    );
}

#[tokio::test]
async fn a_push_without_a_required_input_records_a_failed_pipeline() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("spec:\n  inputs:\n    env:\n---\njob:\n  script: $[[ inputs.env ]]\n")
        .await;
    let pipeline = t.pipeline(ci.project_id, ci.pipeline_id).await;
    assert_eq!(pipeline["status"], "failed");
    assert_eq!(
        pipeline["yaml_errors"],
        "`env` input: required value has not been provided"
    );
    let (status, created) = create_pipeline(
        &t,
        ci.project_id,
        json!({ "ref": "main", "inputs": { "env": "echo ok" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
}

#[tokio::test]
async fn the_trigger_api_takes_inputs() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(HEADER_CI).await;
    let trigger = t
        .post(&format!("/api/v4/projects/{}/triggers", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "description": "deploy" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let token = trigger["token"].as_str().expect("token");
    let path = format!("/api/v4/projects/{}/trigger/pipeline", ci.project_id);
    let pipeline = t
        .post(&path)
        .form(&format!(
            "token={token}&ref=main&inputs[env]=production&inputs[replicas]=1"
        ))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let jobs = t
        .job_statuses(ci.project_id, pipeline["id"].as_i64().expect("id"))
        .await;
    assert_eq!(names(&jobs), ["deploy-production 1/1"]);

    let bad = t
        .post(&path)
        .json(json!({ "token": token, "ref": "main", "inputs": { "env": "qa" } }))
        .await
        .expect_status(StatusCode::BAD_REQUEST)
        .json();
    assert_eq!(
        bad,
        base_error(
            "`env` input: `qa` cannot be used because it is not in the list of allowed options"
        )
    );
}

#[tokio::test]
async fn include_local_passes_inputs_and_reports_errors_with_the_file() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    t.commit(
        ROOT_TOKEN,
        ci.project_id,
        "main",
        json!([{ "action": "create", "file_path": "ci/test.yml",
                 "content": "spec:\n  inputs:\n    name:\n---\ntest-$[[ inputs.name | truncate(0,4) ]]:\n  script: test\n" }]),
    )
    .await;
    let yaml = "include:\n  - local: ci/test.yml\n    inputs:\n      name: unit-tests\n";
    let id = t.update_ci(ROOT_TOKEN, ci.project_id, yaml).await;
    assert_eq!(
        names(&t.job_statuses(ci.project_id, id).await),
        ["test-unit"]
    );

    let missing = "include:\n  - local: ci/test.yml\n";
    let id = t.update_ci(ROOT_TOKEN, ci.project_id, missing).await;
    let pipeline = t.pipeline(ci.project_id, id).await;
    assert_eq!(
        pipeline["yaml_errors"],
        "`ci/test.yml`: `name` input: required value has not been provided"
    );
}

/// Root's private `root/components` with two components, tagged `1.0.0` and `1.2.0`.
async fn components_project(t: &TestApp) -> (i64, String) {
    let project = t
        .create_project(ROOT_TOKEN, json!({ "name": "components" }))
        .await;
    let id = project["id"].as_i64().expect("id");
    let lint_v1 = "spec:\n  inputs:\n    stage:\n      default: test\n---\ninclude:\n  - local: ci/*.yml\nlint:\n  stage: $[[ inputs.stage ]]\n  script: lint v1\n";
    let first = t
        .commit(
            ROOT_TOKEN,
            id,
            "main",
            json!([
                { "action": "create", "file_path": "templates/lint.yml", "content": lint_v1 },
                { "action": "create", "file_path": "templates/deploy/template.yml",
                  "content": "deploy:\n  stage: deploy\n  script: deploy\n" },
                { "action": "create", "file_path": "ci/extra.yml",
                  "content": "extra:\n  script: extra\n" },
            ]),
        )
        .await;
    let first = first["id"].as_str().expect("sha").to_owned();
    let second = t
        .commit(
            ROOT_TOKEN,
            id,
            "main",
            json!([{ "action": "update", "file_path": "templates/lint.yml",
                     "content": lint_v1.replace("lint v1", "lint v2") }]),
        )
        .await;
    let second = second["id"].as_str().expect("sha").to_owned();
    let repo = t.app.repository(id);
    repo.update_ref("refs/tags/1.0.0", &first, None)
        .expect("tag 1.0.0");
    repo.update_ref("refs/tags/1.2.0", &second, None)
        .expect("tag 1.2.0");
    (id, first)
}

async fn lint_script(t: &TestApp, project: i64, pipeline: i64) -> Value {
    let jobs = t.pipeline_jobs(project, pipeline).await;
    let lint = jobs.get("lint").cloned().unwrap_or(Value::Null);
    let job_id = lint["id"].as_i64().expect("lint job");
    // The script is only visible to a runner; the job's name and stage are enough to tell
    // which version ran, so compare the pipeline's jobs instead.
    json!({ "job": job_id, "stage": lint["stage"], "names": jobs.keys().collect::<Vec<_>>() })
}

#[tokio::test]
async fn components_come_from_another_project_at_a_version() {
    let t = TestApp::new().await;
    let (components, first_sha) = components_project(&t).await;
    let yaml = "stages: [build, test, deploy]\ninclude:\n  - component: $CI_SERVER_FQDN/root/components/lint@1.0.0\n    inputs:\n      stage: build\n  - component: pw.example/root/components/deploy@main\n";
    let ci = t
        .project_with_ci_as(ROOT_TOKEN, "app", json!({}), yaml)
        .await;
    let seen = lint_script(&t, ci.project_id, ci.pipeline_id).await;
    assert_eq!(seen["stage"], "build");
    assert_eq!(seen["names"], json!(["deploy", "extra", "lint"]));

    // `~latest` and a partial version read the highest semver tag; the lint API shows the
    // component with a link to the template at the commit read.
    for version in ["~latest", "1", "1.2", &first_sha] {
        let content =
            format!("include:\n  - component: pw.example/root/components/lint@{version}\n");
        let lint = t
            .post(&format!("/api/v4/projects/{}/ci/lint", ci.project_id))
            .token(ROOT_TOKEN)
            .json(json!({ "content": content }))
            .await
            .expect_status(StatusCode::OK)
            .json();
        assert_eq!(lint["valid"], true, "{version}: {lint}");
        let merged = lint["merged_yaml"].as_str().unwrap_or_default();
        let expected = if version == first_sha {
            "lint v1"
        } else {
            "lint v2"
        };
        assert!(merged.contains(expected), "{version}: {merged}");
        let includes = lint["includes"].as_array().cloned().unwrap_or_default();
        assert_eq!(includes[0]["type"], "component", "{lint}");
        assert_eq!(
            includes[0]["location"],
            format!("pw.example/root/components/lint@{version}")
        );
        let blob = includes[0]["blob"].as_str().unwrap_or_default();
        assert!(
            blob.starts_with("http://pw.example/root/components/-/blob/")
                && blob.ends_with("/templates/lint.yml"),
            "{blob}"
        );
        assert_eq!(includes[0]["raw"], Value::Null);
    }
    let _ = components;
}

#[tokio::test]
async fn component_errors_use_gitlab_messages() {
    let t = TestApp::new().await;
    let (components, _) = components_project(&t).await;
    let ci = t
        .project_with_ci_as(ROOT_TOKEN, "app", json!({}), "a:\n  script: x\n")
        .await;
    let lint = |content: String| {
        let t = &t;
        async move {
            t.post(&format!("/api/v4/projects/{}/ci/lint", ci.project_id))
                .token(ROOT_TOKEN)
                .json(json!({ "content": content }))
                .await
                .expect_status(StatusCode::OK)
                .json()
        }
    };
    let cases = [
        (
            "pw.example/root/components/nope@1.0.0",
            "Component 'pw.example/root/components/nope@1.0.0' - content not found",
        ),
        (
            "pw.example/root/components/lint@9.9.9",
            "Component 'pw.example/root/components/lint@9.9.9' - content not found",
        ),
        (
            "pw.example/root/missing/lint@1.0.0",
            "Component 'pw.example/root/missing/lint@1.0.0' - content not found",
        ),
        (
            "gitlab.com/components/sast/sast@1.0.0",
            "Component 'gitlab.com/components/sast/sast@1.0.0' - the component path is not supported",
        ),
    ];
    for (address, message) in cases {
        let body = lint(format!("include:\n  - component: {address}\n")).await;
        assert_eq!(body["valid"], false);
        assert_eq!(body["errors"], json!([message]), "{address}");
    }
    let body = lint(
        "include:\n  - component: pw.example/root/components/lint@1.0.0\n    inputs:\n      nope: 1\n"
            .to_owned(),
    )
    .await;
    assert_eq!(
        body["errors"],
        json!(["`pw.example/root/components/lint@1.0.0`: unknown input arguments: nope"])
    );

    // A user who may not read the (private) component project.
    let dev = t.create_user("dev").await;
    t.post(&format!("/api/v4/projects/{}/members", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": dev.id, "access_level": 40 }))
        .await
        .expect_status(StatusCode::CREATED);
    t.commit(
        ROOT_TOKEN,
        ci.project_id,
        "main",
        json!([{ "action": "update", "file_path": ".gitlab-ci.yml",
                 "content": "include:\n  - component: pw.example/root/components/lint@1.0.0\n" }]),
    )
    .await;
    let denied = t
        .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
        .token(&dev.token)
        .json(json!({ "ref": "main" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST)
        .json();
    assert_eq!(
        denied,
        base_error(
            "Component 'pw.example/root/components/lint@1.0.0' - project does not exist or you don't have sufficient permissions"
        )
    );
    let _ = components;
}

#[tokio::test]
async fn lint_interpolates_the_header_with_its_defaults() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci("a:\n  script: x\n").await;
    let lint = |content: &str| {
        let t = &t;
        let body = json!({ "content": content });
        async move {
            t.post(&format!("/api/v4/projects/{}/ci/lint", ci.project_id))
                .token(ROOT_TOKEN)
                .json(body)
                .await
                .expect_status(StatusCode::OK)
                .json()
        }
    };
    let valid = lint(HEADER_CI).await;
    assert_eq!(valid["valid"], true, "{valid}");
    assert_eq!(
        valid["merged_yaml"],
        "---\ndeploy-staging:\n  parallel: 1\n  script: deploy staging\n"
    );
    let invalid =
        lint("spec:\n  inputs:\n    env:\n---\njob:\n  script: $[[ inputs.env ]]\n").await;
    assert_eq!(invalid["valid"], false);
    assert_eq!(
        invalid["errors"],
        json!(["`env` input: required value has not been provided"])
    );
    assert_eq!(invalid["merged_yaml"], Value::Null);
}

#[tokio::test]
async fn trigger_include_and_trigger_inputs_reach_downstream_configurations() {
    let t = TestApp::new().await;
    // A multi-project downstream whose configuration takes pipeline inputs.
    let downstream = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "downstream",
            json!({}),
            "spec:\n  inputs:\n    env:\n      default: none\n---\nrun-$[[ inputs.env ]]:\n  script: x\n",
        )
        .await;
    let child = "spec:\n  inputs:\n    suffix:\n---\nchild-$[[ inputs.suffix ]]:\n  script: x\n";
    let parent = "child:\n  trigger:\n    include:\n      - local: ci/child.yml\n        inputs:\n          suffix: one\nmulti:\n  trigger:\n    project: root/downstream\n    inputs:\n      env: prod\n";
    let ci = t
        .project_with_ci_as(ROOT_TOKEN, "parent", json!({}), "a:\n  script: x\n")
        .await;
    t.commit(
        ROOT_TOKEN,
        ci.project_id,
        "main",
        json!([
            { "action": "create", "file_path": "ci/child.yml", "content": child },
            { "action": "update", "file_path": ".gitlab-ci.yml", "content": parent },
        ]),
    )
    .await;
    let pipeline = t.latest_pipeline(ROOT_TOKEN, ci.project_id).await;
    let pipeline = pipeline["id"].as_i64().expect("id");
    pipewright_core::downstream::DownstreamQueue::drain(&t.app).await;
    let bridges = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{pipeline}/bridges",
            ci.project_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let by_name = |name: &str| {
        bridges
            .as_array()
            .and_then(|list| list.iter().find(|b| b["name"] == name))
            .map(|b| b["downstream_pipeline"].clone())
            .unwrap_or(Value::Null)
    };
    let child_pipeline = by_name("child")["id"].as_i64().expect("child pipeline");
    assert_eq!(
        names(&t.job_statuses(ci.project_id, child_pipeline).await),
        ["child-one"]
    );
    let multi = by_name("multi")["id"]
        .as_i64()
        .expect("multi-project pipeline");
    assert_eq!(
        names(&t.job_statuses(downstream.project_id, multi).await),
        ["run-prod"]
    );
}
