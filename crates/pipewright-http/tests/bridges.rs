//! Bridges (trigger jobs) end to end through the router: downstream pipelines (child and
//! multi-project), `strategy: depend`, forwarded variables, failures with GitLab's reasons,
//! E3 (`GET /projects/:id/pipelines/:pipeline_id/bridges`), E9 and E11 on bridges.
//!
//! Jobs are run by a simulated runner over the protocol (`POST /jobs/request`,
//! `PUT /jobs/:id`). Bridges trigger in the background; `settle` waits for that work.

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp, TestRunner};
use serde_json::{Value, json};

/// Waits until every triggered downstream pipeline and bridge update is done.
async fn settle(t: &TestApp) {
    pipewright_core::downstream::DownstreamQueue::drain(&t.app).await;
}

/// A project of `token`'s user with `files` committed to `main` in one commit; returns
/// (project id, full path, the push pipeline's id if the commit started one).
async fn project_with_files(
    t: &TestApp,
    token: &str,
    name: &str,
    extra: Value,
    files: &[(&str, &str)],
) -> (i64, String, Option<i64>) {
    let mut body = json!({ "name": name });
    if let (Some(target), Value::Object(extra)) = (body.as_object_mut(), extra) {
        target.extend(extra);
    }
    let project = t.create_project(token, body).await;
    let id = project["id"].as_i64().expect("project id");
    let actions: Vec<Value> = files
        .iter()
        .map(|(path, content)| json!({ "action": "create", "file_path": path, "content": content }))
        .collect();
    t.commit(token, id, "main", Value::Array(actions)).await;
    settle(t).await;
    // The push pipeline is the oldest: child pipelines may already exist.
    let pipelines = t
        .get(&format!("/api/v4/projects/{id}/pipelines?per_page=100"))
        .token(token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let pipeline = pipelines
        .as_array()
        .and_then(|list| list.last())
        .and_then(|pipeline| pipeline["id"].as_i64());
    let path = project["path_with_namespace"]
        .as_str()
        .expect("path")
        .to_owned();
    (id, path, pipeline)
}

/// E3 as `token` with a query string; asserts 200.
async fn bridges_as(
    t: &TestApp,
    token: &str,
    project: i64,
    pipeline: i64,
    query: &str,
) -> Vec<Value> {
    let response = t
        .get(&format!(
            "/api/v4/projects/{project}/pipelines/{pipeline}/bridges{query}"
        ))
        .token(token)
        .await
        .expect_status(StatusCode::OK);
    let common::Ordered::Array(items) = response.ordered() else {
        panic!("not an array: {}", response.text());
    };
    for item in &items {
        assert_bridge_shape(item);
    }
    items.iter().map(common::Ordered::to_value).collect()
}

async fn bridges(t: &TestApp, project: i64, pipeline: i64) -> Vec<Value> {
    bridges_as(t, ROOT_TOKEN, project, pipeline, "").await
}

/// The only bridge of a pipeline.
async fn bridge(t: &TestApp, project: i64, pipeline: i64) -> Value {
    let mut list = bridges(t, project, pipeline).await;
    assert_eq!(list.len(), 1, "{list:?}");
    list.remove(0)
}

const BRIDGE_KEYS: [&str; 21] = [
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
    "failure_reason",
    "web_url",
    "project",
    "downstream_pipeline",
];

/// The Bridge entity of jobs-api.md §5.2: the job keys `id` … `project` in order
/// (`failure_reason` only when failed), then `downstream_pipeline` (PipelineBasic or null).
#[track_caller]
fn assert_bridge_shape(bridge: &common::Ordered) {
    let failed = bridge.get("status").and_then(common::Ordered::as_str) == Some("failed");
    let expected: Vec<&str> = BRIDGE_KEYS
        .iter()
        .copied()
        .filter(|key| failed || *key != "failure_reason")
        .collect();
    assert_eq!(bridge.keys(), expected, "bridge keys");
    match bridge.get("downstream_pipeline") {
        Some(common::Ordered::Null) => {}
        Some(pipeline) => {
            assert_eq!(
                pipeline.keys(),
                common::shape::PIPELINE_BASIC_KEYS,
                "downstream_pipeline keys"
            );
        }
        None => panic!("no downstream_pipeline key"),
    }
}

async fn add_member(t: &TestApp, project: i64, user: i64, access_level: i64) {
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user, "access_level": access_level }))
        .await
        .expect_status(StatusCode::CREATED);
}

/// Runs every job runners can get, each ending in `state`, and lets bridges follow.
async fn run_all(t: &TestApp, runner: &TestRunner, state: &str) -> Vec<i64> {
    let mut ran = Vec::new();
    loop {
        let batch = t.drain(runner, state).await;
        settle(t).await;
        if batch.is_empty() {
            return ran;
        }
        ran.extend(batch);
    }
}

const CHILD_YAML: &str = "child-job:\n  script: echo child\n";

fn parent_yaml(trigger: &str) -> String {
    format!(
        "stages: [build, deploy]\nbuild:\n  stage: build\n  script: echo build\nchild:\n  stage: deploy\n{trigger}"
    )
}

#[tokio::test]
async fn a_child_pipeline_is_created_when_the_bridge_is_reached() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let yaml = parent_yaml("  trigger:\n    include: ci/child.yml\n");
    let (project, path, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", &yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("parent pipeline");

    // The bridge waits for its stage like any job.
    let waiting = bridge(&t, project, pipeline).await;
    assert_eq!(waiting["status"], "created");
    assert_eq!(waiting["downstream_pipeline"], Value::Null);
    assert_eq!(waiting["name"], "child");
    assert_eq!(waiting["stage"], "deploy");

    run_all(&t, &runner, "success").await;

    let triggered = bridge(&t, project, pipeline).await;
    // No strategy: the bridge succeeds as soon as the child exists.
    assert_eq!(triggered["status"], "success");
    assert!(triggered["started_at"].is_string());
    assert!(triggered["finished_at"].is_string());
    assert_eq!(triggered["user"]["username"], "root");
    let downstream = &triggered["downstream_pipeline"];
    let parent = t.pipeline(project, pipeline).await;
    assert_eq!(downstream["project_id"], project);
    assert_eq!(downstream["source"], "parent_pipeline");
    assert_eq!(downstream["sha"], parent["sha"]);
    assert_eq!(downstream["ref"], "main");
    let child = downstream["id"].as_i64().expect("child id");
    assert_eq!(
        downstream["web_url"],
        format!("{}/{path}/-/pipelines/{child}", common::EXTERNAL_URL)
    );

    // The child's config is exactly the included file, and its job ran.
    let child_jobs = t.job_statuses(project, child).await;
    assert_eq!(
        child_jobs.into_iter().collect::<Vec<_>>(),
        [("child-job".to_owned(), "success".to_owned())]
    );
    assert_eq!(t.pipeline_status(project, child).await, "success");
    assert_eq!(t.pipeline_status(project, pipeline).await, "success");

    // The child's job sees how it was started.
    let list = t
        .get(&format!(
            "/api/v4/projects/{project}/pipelines/{child}/jobs"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(list[0]["source"], "parent_pipeline");
    // Child pipelines are ordinary pipelines of the project for E3 too.
    assert!(bridges(&t, project, child).await.is_empty());
}

#[tokio::test]
async fn a_dependent_bridge_mirrors_its_child_pipeline() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let yaml = parent_yaml(
        "  trigger:\n    include: [{local: ci/child.yml}]\n    strategy: depend\nafter:\n  stage: .post\n  script: echo after\n",
    );
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", &yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("parent pipeline");

    t.run_next(&runner, "building\n", "success").await;
    settle(&t).await;
    let running = bridge(&t, project, pipeline).await;
    assert_eq!(running["status"], "running");
    let child = running["downstream_pipeline"]["id"]
        .as_i64()
        .expect("child id");
    assert_eq!(running["downstream_pipeline"]["status"], "pending");
    assert_eq!(t.pipeline_status(project, pipeline).await, "running");

    // The child's job is handed out like any other and finishes through the protocol.
    let job = t.claim(&runner).await;
    assert_eq!(
        job.variable("CI_PIPELINE_SOURCE").as_deref(),
        Some("parent_pipeline")
    );
    assert_eq!(job.variable("CI_PIPELINE_ID"), Some(child.to_string()));
    t.succeed(&job).await;
    settle(&t).await;

    let done = bridge(&t, project, pipeline).await;
    assert_eq!(done["status"], "success");
    assert_eq!(done["downstream_pipeline"]["status"], "success");
    // The parent moved on to the next stage.
    assert_eq!(t.job_statuses(project, pipeline).await["after"], "pending");
    run_all(&t, &runner, "success").await;
    assert_eq!(t.pipeline_status(project, pipeline).await, "success");
}

#[tokio::test]
async fn a_failing_child_fails_a_dependent_bridge_and_a_retry_there_reopens_it() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let yaml = parent_yaml(
        "  trigger:\n    include: ci/child.yml\n    strategy: depend\nafter:\n  stage: .post\n  script: echo after\n",
    );
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", &yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("parent pipeline");
    t.run_next(&runner, "", "success").await;
    settle(&t).await;
    t.run_next(&runner, "", "failed").await;
    settle(&t).await;

    let failed = bridge(&t, project, pipeline).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_reason"], "unknown_failure");
    assert_eq!(failed["downstream_pipeline"]["status"], "failed");
    assert_eq!(t.pipeline_status(project, pipeline).await, "failed");
    assert_eq!(t.job_statuses(project, pipeline).await["after"], "skipped");

    // Retrying the failed job in the child runs the bridge again, and the parent follows.
    let child = failed["downstream_pipeline"]["id"].as_i64().expect("child");
    let child_job = t.job_id(project, child, "child-job").await;
    t.post(&format!(
        "/api/v4/projects/{project}/jobs/{child_job}/retry"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::CREATED);
    settle(&t).await;
    let reopened = bridge(&t, project, pipeline).await;
    // GitLab's `reset_source_bridge!`: back to `pending`, with the same child.
    assert_eq!(reopened["status"], "pending");
    assert_eq!(reopened["downstream_pipeline"]["id"], child);
    assert_eq!(reopened["finished_at"], Value::Null);
    assert_eq!(t.pipeline_status(project, pipeline).await, "running");

    run_all(&t, &runner, "success").await;
    assert_eq!(bridge(&t, project, pipeline).await["status"], "success");
    assert_eq!(t.job_statuses(project, pipeline).await["after"], "success");
    assert_eq!(t.pipeline_status(project, pipeline).await, "success");
}

const DOWNSTREAM_YAML: &str = "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"pipeline\"\ndownstream-job:\n  script: echo $FROM_UPSTREAM\n";

#[tokio::test]
async fn a_multi_project_bridge_runs_the_downstream_default_branch_with_forwarded_variables() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let (downstream_project, _, none) = project_with_files(
        &t,
        ROOT_TOKEN,
        "downstream",
        json!({}),
        &[(".gitlab-ci.yml", DOWNSTREAM_YAML)],
    )
    .await;
    // workflow:rules keep pushes of the downstream project from starting pipelines.
    assert_eq!(none, None);

    let yaml = "variables:\n  GLOBAL: global\ntrigger-it:\n  variables:\n    FROM_UPSTREAM: \"upstream $CI_PIPELINE_ID\"\n    RAW:\n      value: \"$CI_PIPELINE_ID\"\n      expand: false\n  trigger:\n    project: root/Downstream\n    strategy: depend\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "upstream",
        json!({}),
        &[(".gitlab-ci.yml", yaml)],
    )
    .await;
    let pipeline = pipeline.expect("upstream pipeline");
    settle(&t).await;

    let running = bridge(&t, project, pipeline).await;
    assert_eq!(running["status"], "running");
    let downstream = &running["downstream_pipeline"];
    assert_eq!(downstream["project_id"], downstream_project);
    assert_eq!(downstream["source"], "pipeline");
    assert_eq!(downstream["ref"], "main");
    let downstream_id = downstream["id"].as_i64().expect("downstream id");
    assert_eq!(
        downstream["web_url"],
        format!(
            "{}/root/downstream/-/pipelines/{downstream_id}",
            common::EXTERNAL_URL
        )
    );

    let job = t.claim(&runner).await;
    assert_eq!(job.payload["job_info"]["project_id"], downstream_project);
    assert_eq!(
        job.variable("FROM_UPSTREAM"),
        Some(format!("upstream {pipeline}"))
    );
    assert_eq!(job.variable("GLOBAL").as_deref(), Some("global"));
    assert_eq!(job.variable("RAW").as_deref(), Some("$CI_PIPELINE_ID"));
    assert_eq!(
        job.variable("CI_PIPELINE_SOURCE").as_deref(),
        Some("pipeline")
    );
    t.fail(&job, "script_failure", 1).await;
    settle(&t).await;

    let failed = bridge(&t, project, pipeline).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["downstream_pipeline"]["status"], "failed");
    assert_eq!(t.pipeline_status(project, pipeline).await, "failed");
}

#[tokio::test]
async fn pipeline_variables_are_forwarded_only_when_asked() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let child = "child-job:\n  script: echo\n";
    let yaml = "forwarding:\n  trigger:\n    include: ci/child.yml\n    forward:\n      pipeline_variables: true\n      yaml_variables: false\n  variables:\n    NOT_FORWARDED: yaml\nplain:\n  trigger:\n    include: ci/child.yml\n";
    let (project, _, push) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", child)],
    )
    .await;
    run_all(&t, &runner, "success").await;
    assert!(push.is_some());

    let pipeline = t
        .post(&format!("/api/v4/projects/{project}/pipeline"))
        .token(ROOT_TOKEN)
        .json(json!({ "ref": "main", "variables": [{ "key": "API_VAR", "value": "from api" }] }))
        .await
        .expect_status(StatusCode::CREATED)
        .json()["id"]
        .as_i64()
        .expect("pipeline id");
    settle(&t).await;
    let list = bridges(&t, project, pipeline).await;
    let child_of = |name: &str| {
        list.iter()
            .find(|bridge| bridge["name"] == name)
            .and_then(|bridge| bridge["downstream_pipeline"]["id"].as_i64())
            .expect("downstream pipeline")
    };
    let (forwarding, plain) = (child_of("forwarding"), child_of("plain"));

    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let job = t.claim(&runner).await;
        let pipeline_id = job.payload["job_info"]["pipeline_id"]
            .as_i64()
            .or_else(|| {
                job.variable("CI_PIPELINE_ID")
                    .and_then(|id| id.parse().ok())
            })
            .expect("pipeline id");
        seen.insert(
            pipeline_id,
            (job.variable("API_VAR"), job.variable("NOT_FORWARDED")),
        );
        t.succeed(&job).await;
    }
    assert_eq!(seen[&forwarding], (Some("from api".to_owned()), None));
    assert_eq!(seen[&plain], (None, None));
}

#[tokio::test]
async fn bridges_fail_with_gitlab_reasons() {
    let t = TestApp::new().await;
    let dev = t.create_user("dev").await;
    // A private project of root's the developer cannot see, and one they can only read.
    let (hidden, _, _) = project_with_files(
        &t,
        ROOT_TOKEN,
        "hidden",
        json!({}),
        &[(".gitlab-ci.yml", DOWNSTREAM_YAML)],
    )
    .await;
    let (readable, _, _) = project_with_files(
        &t,
        ROOT_TOKEN,
        "readable",
        json!({}),
        &[(".gitlab-ci.yml", DOWNSTREAM_YAML)],
    )
    .await;
    add_member(&t, readable, dev.id, 20).await;
    assert!(hidden > 0);
    // A Developer may run pipelines there, but not push to the protected `main`; `feature`
    // is open to them.
    let (guarded, _, _) = project_with_files(
        &t,
        ROOT_TOKEN,
        "guarded",
        json!({}),
        &[(".gitlab-ci.yml", DOWNSTREAM_YAML)],
    )
    .await;
    add_member(&t, guarded, dev.id, 30).await;
    t.post(&format!("/api/v4/projects/{guarded}/repository/commits"))
        .token(ROOT_TOKEN)
        .json(json!({
            "branch": "feature", "start_branch": "main", "commit_message": "feature",
            "actions": [{ "action": "create", "file_path": "f.txt", "content": "f" }],
        }))
        .await
        .expect_status(StatusCode::CREATED);

    let yaml = "missing:\n  trigger: root/nope\nhidden:\n  trigger: root/hidden\nreadonly:\n  trigger:\n    project: root/readable\nprotected:\n  trigger: root/guarded\nopen:\n  trigger:\n    project: root/guarded\n    branch: feature\nitself:\n  trigger: dev/mine\nbad-child:\n  trigger:\n    include: ci/broken.yml\nno-file:\n  trigger:\n    include: ci/absent.yml\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        &dev.token,
        "mine",
        json!({}),
        &[
            (".gitlab-ci.yml", yaml),
            ("ci/broken.yml", "job: {script: [echo], needs: [ghost]}\n"),
        ],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    settle(&t).await;

    let list = bridges_as(&t, &dev.token, project, pipeline, "").await;
    let reason = |name: &str| {
        let bridge = list
            .iter()
            .find(|bridge| bridge["name"] == name)
            .expect("bridge");
        assert_eq!(bridge["status"], "failed", "{name}");
        (
            bridge["failure_reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            bridge["downstream_pipeline"]["status"].clone(),
        )
    };
    assert_eq!(
        reason("missing"),
        ("downstream_bridge_project_not_found".into(), Value::Null)
    );
    assert_eq!(
        reason("hidden"),
        ("downstream_bridge_project_not_found".into(), Value::Null)
    );
    assert_eq!(
        reason("readonly"),
        ("insufficient_bridge_permissions".into(), Value::Null)
    );
    assert_eq!(
        reason("protected"),
        ("insufficient_bridge_permissions".into(), Value::Null)
    );
    let open = list
        .iter()
        .find(|bridge| bridge["name"] == "open")
        .expect("open bridge");
    assert_eq!(open["status"], "success");
    assert_eq!(open["downstream_pipeline"]["ref"], "feature");
    assert_eq!(open["downstream_pipeline"]["project_id"], guarded);
    assert_eq!(
        reason("itself"),
        ("invalid_bridge_trigger".into(), Value::Null)
    );
    // An invalid child config still gives a (failed) downstream pipeline.
    assert_eq!(
        reason("bad-child"),
        (
            "downstream_pipeline_creation_failed".into(),
            json!("failed")
        )
    );
    assert_eq!(
        reason("no-file"),
        (
            "downstream_pipeline_creation_failed".into(),
            json!("failed")
        )
    );
    assert_eq!(t.pipeline_status(project, pipeline).await, "failed");
    // Preconditions fail a bridge before it runs; a failed creation after.
    let started = |name: &str| {
        list.iter()
            .find(|bridge| bridge["name"] == name)
            .map(|bridge| bridge["started_at"].is_string())
    };
    assert_eq!(started("missing"), Some(false));
    assert_eq!(started("readonly"), Some(false));
    assert_eq!(started("bad-child"), Some(true));
}

#[tokio::test]
async fn child_pipelines_nest_at_most_two_levels() {
    let t = TestApp::new().await;
    // Every level triggers the same file again.
    let recursive = "again:\n  trigger:\n    include: ci/again.yml\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", recursive), ("ci/again.yml", recursive)],
    )
    .await;
    let mut current = pipeline.expect("pipeline");
    for _ in 0..2 {
        let bridge = bridge(&t, project, current).await;
        assert_eq!(bridge["status"], "success");
        current = bridge["downstream_pipeline"]["id"].as_i64().expect("child");
    }
    let last = bridge(&t, project, current).await;
    assert_eq!(last["status"], "failed");
    assert_eq!(
        last["failure_reason"],
        "reached_max_descendant_pipelines_depth"
    );
    // Such a bridge cannot be retried.
    t.post(&format!(
        "/api/v4/projects/{project}/jobs/{}/retry",
        last["id"]
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_manual_bridge_waits_for_play_and_answers_with_the_bridge_entity() {
    let t = TestApp::new().await;
    let yaml = "deploy:\n  when: manual\n  trigger:\n    include: ci/child.yml\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    let parked = bridge(&t, project, pipeline).await;
    assert_eq!(parked["status"], "manual");
    let id = parked["id"].as_i64().expect("id");

    // Bridges are not builds: E6 does not know them.
    t.get(&format!("/api/v4/projects/{project}/jobs/{id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);

    // Playing needs push access to the target branch: `main` is protected, so a Developer
    // may not, a Maintainer may.
    let developer = t.create_user("developer").await;
    add_member(&t, project, developer.id, 30).await;
    t.post(&format!("/api/v4/projects/{project}/jobs/{id}/play"))
        .token(&developer.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    let dev = t.create_user("dev").await;
    add_member(&t, project, dev.id, 40).await;
    let response = t
        .post(&format!("/api/v4/projects/{project}/jobs/{id}/play"))
        .token(&dev.token)
        .json(json!({ "job_variables_attributes": [{ "key": "IGNORED", "value": "x" }] }))
        .await
        .expect_status(StatusCode::OK);
    let played = response.ordered();
    assert_bridge_shape(&played);
    let played = played.to_value();
    assert_eq!(played["id"], id);
    assert_eq!(played["status"], "pending");
    assert_eq!(played["user"]["username"], "dev");
    assert_eq!(played["downstream_pipeline"], Value::Null);

    settle(&t).await;
    let triggered = bridge(&t, project, pipeline).await;
    assert_eq!(triggered["status"], "success");
    let child = triggered["downstream_pipeline"]["id"]
        .as_i64()
        .expect("child");
    // The child belongs to the player.
    assert_eq!(t.pipeline(project, child).await["user"]["username"], "dev");

    // A bridge is playable only while manual.
    t.post(&format!("/api/v4/projects/{project}/jobs/{id}/play"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn retrying_a_bridge_triggers_again_and_answers_with_the_job_entity() {
    let t = TestApp::new().await;
    let yaml = "deploy:\n  trigger:\n    include: ci/child.yml\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    let first = bridge(&t, project, pipeline).await;
    assert_eq!(first["status"], "success");

    let response = t
        .post(&format!(
            "/api/v4/projects/{project}/jobs/{}/retry",
            first["id"]
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    // The Job entity, minus `runner_manager`, which bridges never have.
    let job_keys: Vec<&str> = [
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
        "project",
        "artifacts",
        "runner",
        "artifacts_expire_at",
        "archived",
        "tag_list",
        "source",
    ]
    .into();
    assert_eq!(response.ordered().keys(), job_keys);
    let retried = response.json();
    assert_eq!(retried["artifacts"], json!([]));
    assert_eq!(retried["tag_list"], json!([]));
    assert_eq!(retried["runner"], Value::Null);
    assert_ne!(retried["id"], first["id"]);
    assert_eq!(retried["name"], "deploy");
    assert_eq!(retried["status"], "pending");
    settle(&t).await;

    let latest = bridge(&t, project, pipeline).await;
    assert_eq!(latest["id"], retried["id"]);
    assert_eq!(latest["status"], "success");
    assert_ne!(
        latest["downstream_pipeline"]["id"],
        first["downstream_pipeline"]["id"]
    );

    // The undeclared `include_retried` counts whenever it is non-empty, even `false`.
    for query in ["?include_retried=true", "?include_retried=false"] {
        let all = bridges_as(&t, ROOT_TOKEN, project, pipeline, query).await;
        let ids: Vec<&Value> = all.iter().map(|bridge| &bridge["id"]).collect();
        assert_eq!(ids, [&latest["id"], &first["id"]], "{query}");
    }
    assert_eq!(
        bridges_as(&t, ROOT_TOKEN, project, pipeline, "?include_retried=")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn the_bridge_list_validates_filters_and_pages_like_e2() {
    let t = TestApp::new().await;
    let yaml = "a:\n  trigger:\n    include: ci/child.yml\nb:\n  when: manual\n  trigger:\n    include: ci/child.yml\nc:\n  when: manual\n  trigger:\n    include: ci/child.yml\nbuild:\n  script: echo\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    let base = format!("/api/v4/projects/{project}/pipelines/{pipeline}/bridges");

    // Only bridges, newest first.
    let all = bridges(&t, project, pipeline).await;
    let names: Vec<&Value> = all.iter().map(|bridge| &bridge["name"]).collect();
    assert_eq!(names, ["c", "b", "a"]);

    let manual = bridges_as(&t, ROOT_TOKEN, project, pipeline, "?scope=manual").await;
    assert_eq!(manual.len(), 2);
    let some = bridges_as(
        &t,
        ROOT_TOKEN,
        project,
        pipeline,
        "?scope[]=success&scope[]=failed",
    )
    .await;
    assert_eq!(some.len(), 1);
    assert_eq!(some[0]["name"], "a");

    for (query, error) in [
        ("?scope=bogus", "scope does not have a valid value"),
        (
            "?scope[]=success&scope[]=bogus",
            "scope does not have a valid value",
        ),
        ("?scope[a]=success", "scope does not have a valid value"),
        ("?per_page=0", "per_page has a value not allowed"),
        ("?page=x", "page is invalid"),
    ] {
        let response = t
            .get(&format!("{base}{query}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }), "{query}");
    }
    let response = t
        .get(&format!("/api/v4/projects/{project}/pipelines/x/bridges"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "pipeline_id is invalid" })
    );
    // Validation comes before the project lookup.
    t.get("/api/v4/projects/999/pipelines/1/bridges?scope=bogus")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);

    let page = t
        .get(&format!("{base}?per_page=2&page=2"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    let link = |page: i64| {
        format!(
            "<{}{base}?id={project}&page={page}&per_page=2&pipeline_id={pipeline}>",
            common::EXTERNAL_URL
        )
    };
    assert_eq!(
        page.pagination_headers(),
        [
            ("x-page", "2".to_owned()),
            ("x-per-page", "2".to_owned()),
            ("x-next-page", String::new()),
            ("x-prev-page", "1".to_owned()),
            ("x-total", "3".to_owned()),
            ("x-total-pages", "2".to_owned()),
            (
                "link",
                format!(
                    "{}; rel=\"prev\", {}; rel=\"first\", {}; rel=\"last\"",
                    link(1),
                    link(1),
                    link(2)
                )
            ),
        ]
    );
    assert_eq!(page.json()[0]["name"], "a");
}

#[tokio::test]
async fn the_bridge_list_checks_access_in_gitlab_order() {
    let t = TestApp::new().await;
    let yaml = "a:\n  trigger:\n    include: ci/child.yml\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({ "public_jobs": false }),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    let path = format!("/api/v4/projects/{project}/pipelines/{pipeline}/bridges");

    // Anonymous on a private project: the project does not exist, never 401.
    let response = t.get(&path).await.expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        response.json(),
        json!({ "message": "404 Project Not Found" })
    );

    // A Guest without public jobs lacks read_build.
    let guest = t.create_user("guest").await;
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": guest.id, "access_level": 10 }))
        .await
        .expect_status(StatusCode::CREATED);
    let response = t
        .get(&path)
        .token(&guest.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));

    // A pipeline of another project is not found here.
    let (other, _, other_pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "other",
        json!({}),
        &[(".gitlab-ci.yml", "job:\n  script: echo\n")],
    )
    .await;
    assert!(other > 0);
    let response = t
        .get(&format!(
            "/api/v4/projects/{project}/pipelines/{}/bridges",
            other_pipeline.expect("pipeline")
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({ "message": "404 Not found" }));
}

#[tokio::test]
async fn cancelling_a_pipeline_cancels_its_children_and_a_retry_triggers_again() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let yaml = "deploy:\n  trigger:\n    include: ci/child.yml\n    strategy: depend\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    let running = bridge(&t, project, pipeline).await;
    assert_eq!(running["status"], "running");
    let child = running["downstream_pipeline"]["id"]
        .as_i64()
        .expect("child");
    let job = t.claim(&runner).await;

    t.post(&format!(
        "/api/v4/projects/{project}/pipelines/{pipeline}/cancel"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::OK);
    settle(&t).await;
    assert_eq!(bridge(&t, project, pipeline).await["status"], "canceled");
    assert_eq!(t.pipeline_status(project, pipeline).await, "canceled");
    assert_eq!(
        t.job_statuses(project, child).await["child-job"],
        "canceled"
    );
    assert_eq!(t.pipeline_status(project, child).await, "canceled");
    // The runner learns of it on its next update.
    t.update_job(job.id, json!({ "token": job.token, "state": "success" }))
        .await;

    // Retrying the pipeline retries the bridge, which triggers a new child.
    t.post(&format!(
        "/api/v4/projects/{project}/pipelines/{pipeline}/retry"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::CREATED);
    settle(&t).await;
    let again = bridge(&t, project, pipeline).await;
    assert_eq!(again["status"], "running");
    assert_ne!(again["downstream_pipeline"]["id"], child);
    run_all(&t, &runner, "success").await;
    assert_eq!(bridge(&t, project, pipeline).await["status"], "success");
    assert_eq!(t.pipeline_status(project, pipeline).await, "success");
}

#[tokio::test]
async fn watchdogs_leave_a_bridge_waiting_on_its_downstream_pipeline_alone() {
    let t = TestApp::new().await;
    let yaml = "deploy:\n  trigger:\n    include: ci/child.yml\n    strategy: depend\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    assert_eq!(bridge(&t, project, pipeline).await["status"], "running");

    // Two hours later: a build that long without an update would be dropped.
    let later = pipewright_core::now_ms() + 2 * 3600 * 1000;
    let watchdogs = pipewright_core::scheduler::Watchdogs::default();
    pipewright_core::scheduler::tick(&t.app, later, &watchdogs)
        .await
        .expect("tick");
    settle(&t).await;
    assert_eq!(bridge(&t, project, pipeline).await["status"], "running");
}

#[tokio::test]
async fn the_timer_redoes_bridge_work_the_queue_lost() {
    let t = TestApp::new().await;
    let yaml = "deploy:\n  when: manual\n  trigger:\n    include: ci/child.yml\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    let id = bridge(&t, project, pipeline).await["id"]
        .as_i64()
        .expect("id");

    // A bridge made pending behind processing's back, as if the queue died with the process.
    let job = t.app.store.job_by_id(id).await.expect("read").expect("job");
    let mut update = pipewright_store::JobStateUpdate::of(&job);
    update.status = pipewright_core::Status::Pending;
    assert!(
        t.app
            .store
            .update_job_state(id, job.status, &update)
            .await
            .expect("write")
    );
    let watchdogs = pipewright_core::scheduler::Watchdogs::default();
    let now = pipewright_core::now_ms();
    pipewright_core::scheduler::tick(&t.app, now, &watchdogs)
        .await
        .expect("tick");
    settle(&t).await;
    // Within the grace period the queue is trusted.
    assert_eq!(bridge(&t, project, pipeline).await["status"], "pending");

    pipewright_core::scheduler::tick(&t.app, now + 120_000, &watchdogs)
        .await
        .expect("tick");
    settle(&t).await;
    let recovered = bridge(&t, project, pipeline).await;
    assert_eq!(recovered["status"], "success");
    assert!(recovered["downstream_pipeline"]["id"].is_i64());
}

/// A zip holding one file, as a runner uploads it.
fn zip_of(name: &str, bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(name, options).expect("zip entry");
    zip.write_all(bytes).expect("zip write");
    zip.finish().expect("zip finish").into_inner()
}

/// `POST /jobs/:id/artifacts` with an archive, the way GitLab Runner sends it.
async fn upload_archive(t: &TestApp, job: &common::ClaimedJob, archive: &[u8]) {
    upload_artifact(t, job, ("archive", "zip"), "artifacts.zip", archive).await;
}

/// `POST /jobs/:id/artifacts` with one file of `(artifact_type, artifact_format)`.
async fn upload_artifact(
    t: &TestApp,
    job: &common::ClaimedJob,
    (artifact_type, artifact_format): (&str, &str),
    filename: &str,
    bytes: &[u8],
) {
    const BOUNDARY: &str = "bridges-test-boundary";
    let mut body = Vec::new();
    for (name, value) in [
        ("artifact_type", artifact_type),
        ("artifact_format", artifact_format),
    ] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    t.post(&format!("/api/v4/jobs/{}/artifacts", job.id))
        .job_token(&job.token)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .await
        .expect_status(StatusCode::CREATED);
}

#[tokio::test]
async fn a_dynamic_child_pipeline_runs_the_config_a_job_generated() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let yaml = "stages: [generate, trigger]\ngenerate:\n  stage: generate\n  script: ./generate > generated.yml\n  artifacts:\n    paths: [generated.yml]\nchild:\n  stage: trigger\n  trigger:\n    include:\n      - artifact: generated.yml\n        job: generate\n    strategy: depend\nmissing:\n  stage: trigger\n  trigger:\n    include:\n      - artifact: nope.yml\n        job: generate\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");

    let generator = t.claim(&runner).await;
    let generated = "generated-a:\n  script: echo a\ngenerated-b:\n  script: echo b\n";
    upload_archive(
        &t,
        &generator,
        &zip_of("generated.yml", generated.as_bytes()),
    )
    .await;
    t.succeed(&generator).await;
    settle(&t).await;

    let list = bridges(&t, project, pipeline).await;
    let by_name = |name: &str| {
        list.iter()
            .find(|bridge| bridge["name"] == name)
            .cloned()
            .expect("bridge")
    };
    let missing = by_name("missing");
    assert_eq!(missing["status"], "failed");
    assert_eq!(
        missing["failure_reason"],
        "downstream_pipeline_creation_failed"
    );
    let child = by_name("child");
    assert_eq!(child["status"], "running");
    let child_id = child["downstream_pipeline"]["id"].as_i64().expect("child");
    let statuses = t.job_statuses(project, child_id).await;
    assert_eq!(
        statuses.keys().collect::<Vec<_>>(),
        ["generated-a", "generated-b"]
    );
    run_all(&t, &runner, "success").await;
    assert_eq!(
        bridge_named(&t, project, pipeline, "child").await["status"],
        "success"
    );
}

async fn bridge_named(t: &TestApp, project: i64, pipeline: i64, name: &str) -> Value {
    bridges(t, project, pipeline)
        .await
        .into_iter()
        .find(|bridge| bridge["name"] == name)
        .expect("bridge")
}

#[tokio::test]
async fn a_bridge_forwards_dotenv_variables_of_its_dependencies() {
    use std::io::Write;
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let yaml = "stages: [build, deploy]\nbuild_vars:\n  stage: build\n  script: echo\n  artifacts:\n    reports:\n      dotenv: build.env\ndeploy:\n  stage: deploy\n  variables:\n    VERSION: v$BUILD_VERSION\n  trigger:\n    include: ci/child.yml\n";
    let (_, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    assert!(pipeline.is_some());
    let build = t.claim(&runner).await;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(b"BUILD_VERSION=1.2.3\n").expect("gzip");
    let dotenv = gzip.finish().expect("gzip");
    upload_artifact(&t, &build, ("dotenv", "gzip"), "build.env.gz", &dotenv).await;
    t.succeed(&build).await;
    settle(&t).await;

    let child_job = t.claim(&runner).await;
    assert_eq!(child_job.variable("VERSION").as_deref(), Some("v1.2.3"));
}

#[tokio::test]
async fn the_bridge_list_serves_public_data_anonymously_and_accepts_job_tokens() {
    let t = TestApp::new().await;
    let runner = t.instance_runner().await;
    let yaml =
        "build:\n  script: echo\ndeploy:\n  when: manual\n  trigger:\n    include: ci/child.yml\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({ "visibility": "public" }),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    let path = format!("/api/v4/projects/{project}/pipelines/{pipeline}/bridges");

    let anonymous = t.get(&path).await.expect_status(StatusCode::OK).json();
    assert_eq!(anonymous[0]["name"], "deploy");
    assert_eq!(anonymous[0]["status"], "manual");

    let job = t.claim(&runner).await;
    let with_job_token = t
        .get(&path)
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(with_job_token[0]["id"], anonymous[0]["id"]);
    assert_eq!(with_job_token.as_array().map(Vec::len), Some(1));

    // A bad credential is 401 even here.
    t.get(&path)
        .token("glpat-not-a-token")
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_bridge_claimed_but_never_triggered_is_triggered_again_by_the_timer() {
    let t = TestApp::new().await;
    let yaml = "deploy:\n  when: manual\n  trigger:\n    include: ci/child.yml\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "demo",
        json!({}),
        &[(".gitlab-ci.yml", yaml), ("ci/child.yml", CHILD_YAML)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    let id = bridge(&t, project, pipeline).await["id"]
        .as_i64()
        .expect("id");
    // `running` without a downstream pipeline: the process died right after the claim.
    let job = t.app.store.job_by_id(id).await.expect("read").expect("job");
    let mut update = pipewright_store::JobStateUpdate::of(&job);
    update.status = pipewright_core::Status::Running;
    assert!(
        t.app
            .store
            .update_job_state(id, job.status, &update)
            .await
            .expect("write")
    );
    let watchdogs = pipewright_core::scheduler::Watchdogs::default();
    let now = pipewright_core::now_ms();
    pipewright_core::scheduler::tick(&t.app, now + 120_000, &watchdogs)
        .await
        .expect("tick");
    settle(&t).await;
    assert_eq!(bridge(&t, project, pipeline).await["status"], "running");

    pipewright_core::scheduler::tick(&t.app, now + 11 * 60_000, &watchdogs)
        .await
        .expect("tick");
    settle(&t).await;
    let triggered = bridge(&t, project, pipeline).await;
    assert_eq!(triggered["status"], "success");
    assert!(triggered["downstream_pipeline"]["id"].is_i64());
}

#[tokio::test]
async fn a_manual_multi_project_bridge_expands_its_target_for_play() {
    let t = TestApp::new().await;
    let (downstream, _, _) = project_with_files(
        &t,
        ROOT_TOKEN,
        "downstream",
        json!({}),
        &[(".gitlab-ci.yml", DOWNSTREAM_YAML)],
    )
    .await;
    let yaml = "variables:\n  TARGET: downstream\ndeploy:\n  when: manual\n  trigger:\n    project: root/$TARGET\n";
    let (project, _, pipeline) = project_with_files(
        &t,
        ROOT_TOKEN,
        "upstream",
        json!({}),
        &[(".gitlab-ci.yml", yaml)],
    )
    .await;
    let pipeline = pipeline.expect("pipeline");
    let id = bridge(&t, project, pipeline).await["id"]
        .as_i64()
        .expect("id");
    t.post(&format!("/api/v4/projects/{project}/jobs/{id}/play"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    settle(&t).await;
    let triggered = bridge(&t, project, pipeline).await;
    assert_eq!(triggered["status"], "success");
    assert_eq!(triggered["downstream_pipeline"]["project_id"], downstream);
}
