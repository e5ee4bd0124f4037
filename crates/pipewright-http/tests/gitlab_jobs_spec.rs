//! GitLab's own request specs for the Jobs API, case by case (issue #3): every `it` of
//! `spec/requests/api/ci/jobs_spec.rb` for E1 and E4–E11 and of the E2/E3 sections of
//! `spec/requests/api/ci/pipelines_spec.rb`, one test each, named after the GitLab
//! `describe`/`context`/`it` it mirrors.
//!
//! GitLab builds its fixtures with factories; here they are made the way a client would:
//! commits start pipelines, a simulated runner drives jobs through their states and uploads
//! artifacts. The GitLab fixture is a private project with `public_builds: false` and no
//! protected branch, a Developer `user`, a Reporter and a Guest; [`Spec::new`] builds the
//! same (our projects protect their default branch on creation, so it is unprotected).
//!
//! Cases left out on purpose: N+1 query counts and database load balancing (not
//! observable), OAuth `ai_workflows` tokens, SaaS credit-card checks (EE), the project
//! statistics refresh (409; nothing starts one here), `metadata.debug_trace_enabled` (no
//! API sets it), and factory states no client can produce (an `artifacts_expire_at` on a
//! job without artifacts, a trace artifact record without its file, a job without a user).

mod common;

use std::io::Write;

use axum::http::StatusCode;
use common::{
    CiProject, ClaimedJob, EXTERNAL_URL, ROOT_TOKEN, Response, TestApp, TestRunner, TestUser,
};
use serde_json::{Value, json};

/// GitLab's `job` fixture: a successful build with tags.
const JOB_YAML: &str = "job:\n  script: echo hi\n  tags: [docker, linux]\n";

const GUEST: i64 = 10;
const REPORTER: i64 = 20;
const DEVELOPER: i64 = 30;
const MAINTAINER: i64 = 40;

async fn member(t: &TestApp, project: i64, username: &str, level: i64) -> TestUser {
    let user = t.create_user(username).await;
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user.id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
    user
}

async fn unprotect_main(t: &TestApp, project: i64) {
    t.delete(&format!(
        "/api/v4/projects/{project}/protected_branches/main"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NO_CONTENT);
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in entries {
        zip.start_file(*name, options).expect("zip entry");
        zip.write_all(bytes).expect("zip write");
    }
    zip.finish().expect("zip finish").into_inner()
}

fn gzip_of(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip write");
    encoder.finish().expect("gzip finish")
}

const BOUNDARY: &str = "gitlab-spec-boundary";

/// `POST /jobs/:id/artifacts` the way the runner sends it (multipart, job token).
async fn upload(
    t: &TestApp,
    job: &ClaimedJob,
    fields: &[(&str, &str)],
    filename: &str,
    bytes: &[u8],
) {
    let mut body = Vec::new();
    for (name, value) in fields {
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

/// GitLab's `:trace_artifact, :artifacts, :test_reports`: a log, an archive that expires in
/// a day and a JUnit report, on a claimed job (still running).
async fn add_artifacts_and_trace(t: &TestApp, job: &ClaimedJob) {
    t.append_trace(job.id, &job.token, 0, b"BUILD TRACE\n")
        .await
        .expect_status(StatusCode::ACCEPTED);
    upload(
        t,
        job,
        &[
            ("artifact_type", "archive"),
            ("artifact_format", "zip"),
            ("expire_in", "1 day"),
        ],
        "ci_build_artifacts.zip",
        &zip_of(&[("dist/a.txt", b"artifact")]),
    )
    .await;
    upload(
        t,
        job,
        &[("artifact_type", "junit"), ("artifact_format", "gzip")],
        "junit.xml.gz",
        &gzip_of(b"<testsuites/>"),
    )
    .await;
}

/// The GitLab fixture: `root/demo` (private, `public_builds: false`, `main` unprotected)
/// whose push pipeline holds `job`, run to success by a tagged runner; `user` is a
/// Developer.
struct Spec {
    t: TestApp,
    ci: CiProject,
    user: TestUser,
    runner: TestRunner,
    job: i64,
}

impl Spec {
    async fn new() -> Spec {
        Spec::with_yaml(JOB_YAML).await
    }

    /// `yaml` must start with a job the tagged runner takes: it is run to success.
    async fn with_yaml(yaml: &str) -> Spec {
        let t = TestApp::new().await;
        let ci = t
            .project_with_ci_as(ROOT_TOKEN, "demo", json!({ "public_jobs": false }), yaml)
            .await;
        unprotect_main(&t, ci.project_id).await;
        let user = member(&t, ci.project_id, "user", DEVELOPER).await;
        let runner = t
            .create_runner(
                ROOT_TOKEN,
                json!({
                    "runner_type": "instance_type",
                    "description": "spec runner",
                    "tag_list": ["docker", "linux"],
                }),
            )
            .await;
        let job = t.claim(&runner).await;
        t.succeed(&job).await;
        Spec {
            t,
            ci,
            user,
            runner,
            job: job.id,
        }
    }

    fn project(&self) -> i64 {
        self.ci.project_id
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/v4/projects/{}{rest}", self.ci.project_id)
    }

    async fn reporter(&self) -> TestUser {
        member(&self.t, self.project(), "reporter", REPORTER).await
    }

    async fn guest(&self) -> TestUser {
        member(&self.t, self.project(), "guest", GUEST).await
    }

    /// GitLab's `running_job`: a job of `user`'s, claimed by the runner.
    async fn running_job(&self) -> ClaimedJob {
        self.t
            .update_ci(
                &self.user.token,
                self.project(),
                "running:\n  script: echo run\n  tags: [docker]\n",
            )
            .await;
        self.t.claim(&self.runner).await
    }

    /// A new push pipeline of `user`'s with `yaml`; returns its id.
    async fn push(&self, yaml: &str) -> i64 {
        self.t
            .update_ci(&self.user.token, self.project(), yaml)
            .await
    }

    async fn job_entity(&self, job: i64) -> Value {
        self.t.job(self.project(), job).await
    }
}

#[track_caller]
fn assert_message(response: &Response, status: StatusCode, message: &str) {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert_eq!(response.json(), json!({ "message": message }));
    common::assert_api_headers(response);
    common::assert_json_content_type(response);
}

#[track_caller]
fn assert_error(response: &Response, status: StatusCode, error: &str) {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert_eq!(response.json(), json!({ "error": error }));
}

/// GitLab's `returns common job data` shared example, minus the factory-only
/// `artifacts_expire_at` (a job without artifacts has none here: `null`).
#[track_caller]
fn assert_common_job_data(json: &Value, expected: &Value) {
    for key in [
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
    ] {
        assert_eq!(json[key], expected[key], "{key}");
    }
    assert!(json["created_at"].is_string());
    assert!(json["started_at"].is_string());
    assert_eq!(json["artifacts_expire_at"], Value::Null);
    assert!(
        json.get("artifacts_file").is_none(),
        "no artifacts_file key"
    );
    assert_eq!(json["artifacts"], json!([]));
    assert_eq!(
        json["web_url"],
        format!("{EXTERNAL_URL}/root/demo/-/jobs/{}", expected["id"])
    );
    assert_eq!(json["archived"], false);
}

/// GitLab's `returns common pipeline data` shared example.
#[track_caller]
fn assert_common_pipeline_data(json: &Value, pipeline: &Value) {
    assert!(json["pipeline"].is_object());
    for key in ["id", "project_id", "ref", "sha", "status"] {
        assert_eq!(json["pipeline"][key], pipeline[key], "pipeline {key}");
    }
}

/// GitLab's `a job with artifacts and trace` shared example on one job entity.
#[track_caller]
fn assert_artifacts_and_trace(json: &Value) {
    assert_eq!(
        json["artifacts_file"]["filename"], "ci_build_artifacts.zip",
        "{json}"
    );
    assert!(json["artifacts_file"]["size"].as_i64().unwrap_or(0) > 0);
    let artifacts = json["artifacts"].as_array().expect("artifacts");
    let summary: Vec<(&str, &str, &str)> = artifacts
        .iter()
        .map(|artifact| {
            (
                artifact["file_type"].as_str().unwrap_or_default(),
                artifact["filename"].as_str().unwrap_or_default(),
                artifact["file_format"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("archive", "ci_build_artifacts.zip", "zip"),
            ("junit", "junit.xml.gz", "gzip"),
            ("trace", "job.log", "raw"),
        ]
    );
    assert_eq!(artifacts[0]["size"], json["artifacts_file"]["size"]);
    assert_eq!(artifacts[2]["size"], "BUILD TRACE\n".len());
}

/// A second job of the fixture's kind with artifacts and a log, run to success.
async fn second_job(spec: &Spec) -> i64 {
    spec.push("second:\n  script: echo 2\n  tags: [linux]\n")
        .await;
    let job = spec.t.claim(&spec.runner).await;
    add_artifacts_and_trace(&spec.t, &job).await;
    spec.t.succeed(&job).await;
    job.id
}

// ==== describe 'GET /job' =================================================================

#[tokio::test]
async fn get_job_when_token_is_valid_but_not_ci_job_token_returns_not_found() {
    let spec = Spec::new().await;
    let response = spec.t.get("/api/v4/job").token(&spec.user.token).await;
    assert_message(&response, StatusCode::NOT_FOUND, "404 Job Not Found");
}

async fn current_job_by_header(spec: &Spec, job: &ClaimedJob) -> Value {
    let response = spec.t.get("/api/v4/job").job_token(&job.token).await;
    common::assert_api_headers(&response);
    common::assert_json_content_type(&response);
    response.expect_status(StatusCode::OK).job()
}

async fn current_job_by_param(spec: &Spec, job: &ClaimedJob) -> Value {
    spec.t
        .get(&format!("/api/v4/job?job_token={}", job.token))
        .await
        .expect_status(StatusCode::OK)
        .job()
}

#[tokio::test]
async fn get_job_with_job_token_authentication_header_returns_common_job_data() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let json = current_job_by_header(&spec, &running).await;
    let expected = spec.job_entity(running.id).await;
    assert_eq!(json["status"], "running");
    assert_eq!(json["user"]["id"], spec.user.id);
    assert_common_job_data(&json, &expected);
}

#[tokio::test]
async fn get_job_with_job_token_authentication_header_returns_specific_job_data() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let json = current_job_by_header(&spec, &running).await;
    assert_eq!(json["finished_at"], Value::Null);
    assert_eq!(json["erased_at"], Value::Null);
}

#[tokio::test]
async fn get_job_with_job_token_authentication_header_returns_common_pipeline_data() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let json = current_job_by_header(&spec, &running).await;
    let pipeline = spec
        .t
        .pipeline(spec.project(), json["pipeline"]["id"].as_i64().expect("id"))
        .await;
    assert_eq!(pipeline["status"], "running");
    assert_common_pipeline_data(&json, &pipeline);
}

#[tokio::test]
async fn get_job_with_job_token_authentication_params_returns_common_job_data() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let json = current_job_by_param(&spec, &running).await;
    let expected = spec.job_entity(running.id).await;
    assert_common_job_data(&json, &expected);
}

#[tokio::test]
async fn get_job_with_job_token_authentication_params_returns_specific_job_data() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let json = current_job_by_param(&spec, &running).await;
    assert_eq!(json["finished_at"], Value::Null);
}

#[tokio::test]
async fn get_job_with_job_token_authentication_params_returns_common_pipeline_data() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let json = current_job_by_param(&spec, &running).await;
    let pipeline = spec
        .t
        .pipeline(spec.project(), json["pipeline"]["id"].as_i64().expect("id"))
        .await;
    assert_common_pipeline_data(&json, &pipeline);
}

#[tokio::test]
async fn get_job_with_non_running_job_returns_unauthorized() {
    let t = TestApp::new().await;
    t.project_with_ci("job:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    t.succeed(&job).await;
    let response = t.get("/api/v4/job").job_token(&job.token).await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

#[tokio::test]
async fn get_job_with_basic_auth_header_does_not_return_a_job() {
    let spec = Spec::new().await;
    let response = spec
        .t
        .get("/api/v4/job")
        .header("private-token", &spec.user.token)
        .await;
    assert_message(&response, StatusCode::NOT_FOUND, "404 Job Not Found");
}

#[tokio::test]
async fn get_job_without_authentication_returns_unauthorized() {
    let t = TestApp::new().await;
    let response = t.get("/api/v4/job").await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

// ==== describe 'GET /job/allowed_agents' ==================================================

const AGENTS_CI: &str = "plain:\n  script: x\ndeploy:\n  script: x\n  environment: production\n\
stop_review:\n  script: x\n  environment:\n    name: review/123\n    action: stop\n";

/// GitLab's fixture: `g/demo` and `g/other` in group `g`; agents without environments (a
/// group authorization from `other`, a project authorization and an implicit one in
/// `demo`), the same two explicit ones limited to `production` and `review/*`, and two
/// limited to `staging`. The Developer `user` runs `plain`, `deploy` and `stop_review`.
struct Agents {
    t: TestApp,
    user: TestUser,
    group: i64,
    project: i64,
    without_env: Vec<(i64, Value)>,
    review_and_production: Vec<(i64, Value)>,
    jobs: std::collections::BTreeMap<String, ClaimedJob>,
}

impl Agents {
    async fn new() -> Agents {
        let t = TestApp::new().await;
        let group = t
            .post("/api/v4/groups")
            .token(ROOT_TOKEN)
            .json(json!({ "name": "g", "path": "g" }))
            .await
            .expect_status(StatusCode::CREATED)
            .json()["id"]
            .as_i64()
            .expect("group id");
        let create = |name: &str| {
            t.create_project(ROOT_TOKEN, json!({ "name": name, "namespace_id": group }))
        };
        let project = create("demo").await["id"].as_i64().expect("id");
        let other = create("other").await["id"].as_i64().expect("id");
        let config = |name: &str, content: &str| {
            json!({
                "action": "create",
                "file_path": format!(".gitlab/agents/{name}/config.yaml"),
                "content": content,
            })
        };
        let envs = "      environments: [production, \"review/*\"]\n";
        let staging = "      environments: [staging]\n";
        t.commit(
            ROOT_TOKEN,
            other,
            "main",
            json!([
                config("group-any", "ci_access:\n  groups:\n    - id: g\n"),
                config(
                    "group-env",
                    &format!("ci_access:\n  groups:\n    - id: g\n{envs}")
                ),
                config(
                    "group-staging",
                    &format!("ci_access:\n  groups:\n    - id: g\n{staging}")
                ),
            ]),
        )
        .await;
        unprotect_main(&t, project).await;
        t.commit(
            ROOT_TOKEN,
            project,
            "main",
            json!([
                config("project-any", "ci_access:\n  projects:\n    - id: g/demo\n"),
                config(
                    "project-env",
                    &format!("ci_access:\n  projects:\n    - id: g/demo\n{envs}")
                ),
                config(
                    "project-staging",
                    &format!("ci_access:\n  projects:\n    - id: g/demo\n{staging}")
                ),
            ]),
        )
        .await;
        let agent = |project: i64, name: &'static str| {
            let t = &t;
            async move {
                t.post(&format!("/api/v4/projects/{project}/cluster_agents"))
                    .token(ROOT_TOKEN)
                    .json(json!({ "name": name }))
                    .await
                    .expect_status(StatusCode::CREATED)
                    .json()["id"]
                    .as_i64()
                    .expect("agent id")
            }
        };
        let group_any = agent(other, "group-any").await;
        let group_env = agent(other, "group-env").await;
        agent(other, "group-staging").await;
        let project_any = agent(project, "project-any").await;
        let project_env = agent(project, "project-env").await;
        agent(project, "project-staging").await;
        let implicit = agent(project, "implicit").await;

        let user = member(&t, project, "user", DEVELOPER).await;
        t.commit(
            &user.token,
            project,
            "main",
            json!([{ "action": "create", "file_path": ".gitlab-ci.yml", "content": AGENTS_CI }]),
        )
        .await;
        let runner = t.instance_runner().await;
        let mut jobs = std::collections::BTreeMap::new();
        for _ in 0..3 {
            let job = t.claim(&runner).await;
            let name = job.payload["job_info"]["name"]
                .as_str()
                .expect("name")
                .to_owned();
            jobs.insert(name, job);
        }
        let environments = json!({ "environments": ["production", "review/*"] });
        Agents {
            t,
            user,
            group,
            project,
            without_env: vec![
                (group_any, json!({})),
                (project_any, json!({})),
                (implicit, json!({})),
            ],
            review_and_production: vec![
                (group_env, environments.clone()),
                (project_env, environments),
            ],
            jobs,
        }
    }

    async fn answer(&self, job: &str) -> Value {
        self.t
            .get("/api/v4/job/allowed_agents")
            .job_token(&self.jobs[job].token)
            .await
            .expect_status(StatusCode::OK)
            .json()
    }
}

/// `match_array` on `allowed_agents`: (agent id, configuration), any order.
#[track_caller]
fn assert_agents(answer: &Value, expected: &[(i64, Value)]) {
    let mut got: Vec<(i64, Value)> = answer["allowed_agents"]
        .as_array()
        .expect("allowed_agents")
        .iter()
        .map(|agent| {
            assert!(agent["config_project"]["id"].is_i64(), "{agent}");
            (
                agent["id"].as_i64().expect("id"),
                agent["configuration"].clone(),
            )
        })
        .collect();
    got.sort_by_key(|(id, _)| *id);
    let mut expected = expected.to_vec();
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(got, expected);
}

fn pipeline_of(job: &ClaimedJob) -> i64 {
    job.variable("CI_PIPELINE_ID")
        .and_then(|id| id.parse().ok())
        .expect("CI_PIPELINE_ID")
}

#[tokio::test]
async fn get_job_allowed_agents_when_token_is_valid_and_user_is_authorized_returns_the_job_info() {
    let agents = Agents::new().await;
    let answer = agents.answer("plain").await;
    let job = &agents.jobs["plain"];
    assert_eq!(answer["job"], json!({ "id": job.id }));
    assert_eq!(answer["pipeline"], json!({ "id": pipeline_of(job) }));
    assert_eq!(
        answer["project"],
        json!({ "id": agents.project, "groups": [{ "id": agents.group }] })
    );
    assert_eq!(
        answer["user"],
        json!({
            "id": agents.user.id,
            "username": "user",
            "roles_in_project": ["guest", "planner", "reporter", "developer"],
        })
    );
    assert!(answer.get("environment").is_none(), "{answer}");
}

#[tokio::test]
async fn get_job_allowed_agents_when_token_is_valid_and_user_is_authorized_returns_the_agents_allowed_for_the_job()
 {
    let agents = Agents::new().await;
    let answer = agents.answer("plain").await;
    assert_agents(&answer, &agents.without_env);
}

#[tokio::test]
async fn get_job_allowed_agents_when_deployment_includes_environment_slug() {
    let agents = Agents::new().await;
    let answer = agents.answer("deploy").await;
    assert_eq!(answer["environment"]["slug"], "production");
}

#[tokio::test]
async fn get_job_allowed_agents_when_deployment_includes_environment_tier() {
    let agents = Agents::new().await;
    let answer = agents.answer("deploy").await;
    assert_eq!(answer["environment"]["tier"], "production");
}

#[tokio::test]
async fn get_job_allowed_agents_when_deployment_return_the_agents_configured_for_the_given_environment()
 {
    let agents = Agents::new().await;
    let answer = agents.answer("deploy").await;
    let mut expected = agents.without_env.clone();
    expected.extend(agents.review_and_production.clone());
    assert_agents(&answer, &expected);
}

#[tokio::test]
async fn get_job_allowed_agents_when_non_deployment_environment_action_includes_environment_slug() {
    let agents = Agents::new().await;
    let answer = agents.answer("stop_review").await;
    let slug = answer["environment"]["slug"].as_str().expect("slug");
    // GitLab's environment slug: a name changed by slugging gets a 6-character suffix.
    assert!(slug.starts_with("review-123-"), "{slug}");
    assert_eq!(slug.len(), "review-123-".len() + 6, "{slug}");
    assert!(
        slug.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    );
}

#[tokio::test]
async fn get_job_allowed_agents_when_non_deployment_environment_action_includes_environment_tier() {
    let agents = Agents::new().await;
    let answer = agents.answer("stop_review").await;
    assert_eq!(answer["environment"]["tier"], "development");
}

#[tokio::test]
async fn get_job_allowed_agents_when_non_deployment_environment_action_return_the_agents_configured_for_the_given_environment()
 {
    let agents = Agents::new().await;
    let answer = agents.answer("stop_review").await;
    let mut expected = agents.without_env.clone();
    expected.extend(agents.review_and_production.clone());
    assert_agents(&answer, &expected);
}

#[tokio::test]
async fn get_job_allowed_agents_when_passing_the_token_as_params_returns_the_job_info_and_agents() {
    let agents = Agents::new().await;
    let job = &agents.jobs["plain"];
    let answer = agents
        .t
        .get(&format!(
            "/api/v4/job/allowed_agents?job_token={}",
            job.token
        ))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(answer["job"], json!({ "id": job.id }));
    assert_eq!(answer["user"]["id"], agents.user.id);
    assert!(answer.get("environment").is_none());
    assert_agents(&answer, &agents.without_env);
}

#[tokio::test]
async fn get_job_allowed_agents_when_token_is_invalid_because_job_has_finished_returns_unauthorized()
 {
    let t = TestApp::new().await;
    t.project_with_ci("job:\n  script: x\n").await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    t.succeed(&job).await;
    let response = t
        .get("/api/v4/job/allowed_agents")
        .job_token(&job.token)
        .await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

#[tokio::test]
async fn get_job_allowed_agents_when_token_is_invalid_returns_unauthorized() {
    let t = TestApp::new().await;
    let response = t
        .get("/api/v4/job/allowed_agents")
        .job_token("bad_token")
        .await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

#[tokio::test]
async fn get_job_allowed_agents_when_token_is_valid_but_not_ci_job_token_returns_not_found() {
    let t = TestApp::new().await;
    let user = t.create_user("user").await;
    let response = t.get("/api/v4/job/allowed_agents").token(&user.token).await;
    assert_message(&response, StatusCode::NOT_FOUND, "404 Job Not Found");
}

#[tokio::test]
async fn get_job_allowed_agents_without_credentials_returns_unauthorized() {
    let t = TestApp::new().await;
    let response = t.get("/api/v4/job/allowed_agents").await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

// ==== describe 'GET /projects/:id/jobs' ===================================================

async fn list_jobs(spec: &Spec, token: Option<&str>, query: &str) -> Response {
    let request = spec.t.get(&spec.path(&format!("/jobs{query}")));
    match token {
        Some(token) => request.token(token).await,
        None => request.await,
    }
}

/// GitLab's `include_limited_pagination_headers`: offset headers without the totals.
#[track_caller]
fn assert_limited_pagination_headers(response: &Response) {
    for header in ["x-per-page", "x-page", "x-next-page", "x-prev-page", "link"] {
        assert!(response.header(header).is_some(), "{header} missing");
    }
    assert!(response.header("x-total").is_none());
    assert!(response.header("x-total-pages").is_none());
}

/// GitLab's `include_pagination_headers`: every offset header.
#[track_caller]
fn assert_pagination_headers(response: &Response) {
    for header in [
        "x-total",
        "x-total-pages",
        "x-per-page",
        "x-page",
        "x-next-page",
        "x-prev-page",
        "link",
    ] {
        assert!(response.header(header).is_some(), "{header} missing");
    }
}

#[tokio::test]
async fn get_projects_jobs_authorized_user_returns_project_jobs() {
    let spec = Spec::new().await;
    let response = list_jobs(&spec, Some(&spec.user.token), "").await;
    let response = response.expect_status(StatusCode::OK);
    assert_limited_pagination_headers(&response);
    common::assert_api_headers(&response);
    common::assert_json_content_type(&response);
    let jobs = response.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        response.pagination_headers(),
        [
            ("x-page", "1".to_owned()),
            ("x-per-page", "20".to_owned()),
            ("x-next-page", String::new()),
            ("x-prev-page", String::new()),
            (
                "link",
                format!(
                    "<{EXTERNAL_URL}/api/v4/projects/{0}/jobs?id={0}&page=1&per_page=20>; rel=\"first\"",
                    spec.project()
                )
            ),
        ]
    );
}

#[tokio::test]
async fn get_projects_jobs_authorized_user_returns_correct_values() {
    let spec = Spec::new().await;
    let json = list_jobs(&spec, Some(&spec.user.token), "")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let first = &json[0];
    assert_eq!(first["id"], spec.job);
    assert_eq!(first["commit"]["id"], spec.ci.sha.as_str());
    assert_eq!(first["artifacts_expire_at"], Value::Null);
    assert_eq!(first["tag_list"], json!(["docker", "linux"]));
}

#[tokio::test]
async fn get_projects_jobs_authorized_user_returns_correct_artifacts_expire_at() {
    // GitLab's factory sets `artifacts_expire_at` directly; here artifacts that expire in a
    // day set it.
    let spec = Spec::new().await;
    let second = second_job(&spec).await;
    let before = pipewright_core::now_ms();
    let jobs = list_jobs(&spec, Some(&spec.user.token), "")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let first = &jobs[0];
    assert_eq!(first["id"], second);
    let expire_at = chrono::DateTime::parse_from_rfc3339(
        first["artifacts_expire_at"]
            .as_str()
            .expect("artifacts_expire_at"),
    )
    .expect("timestamp")
    .timestamp_millis();
    let day = 86_400_000;
    assert!((expire_at - (before + day)).abs() < 60_000, "{expire_at}");
}

#[tokio::test]
async fn get_projects_jobs_authorized_user_without_artifacts_and_trace_returns_no_artifacts_nor_trace_data()
 {
    let spec = Spec::new().await;
    let response = list_jobs(&spec, Some(&spec.user.token), "")
        .await
        .expect_status(StatusCode::OK);
    let jobs = response.jobs();
    let json_job = &jobs[0];
    assert!(json_job.get("artifacts_file").is_none());
    assert_eq!(json_job["artifacts"], json!([]));
}

#[tokio::test]
async fn get_projects_jobs_authorized_user_with_artifacts_and_trace_returns_artifacts_and_trace_data()
 {
    let spec = Spec::new().await;
    let second = second_job(&spec).await;
    let jobs = list_jobs(&spec, Some(&spec.user.token), "")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let json_job = jobs
        .iter()
        .find(|job| job["id"] == second)
        .expect("second job");
    assert_artifacts_and_trace(json_job);
}

#[tokio::test]
async fn get_projects_jobs_authorized_user_returns_pipeline_data() {
    let spec = Spec::new().await;
    let jobs = list_jobs(&spec, Some(&spec.user.token), "")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let pipeline = spec.t.pipeline(spec.project(), spec.ci.pipeline_id).await;
    assert_eq!(pipeline["status"], "success");
    assert_common_pipeline_data(&jobs[0], &pipeline);
}

#[tokio::test]
async fn get_projects_jobs_authorized_user_filter_project_with_one_scope_element() {
    let spec = Spec::new().await;
    spec.push("pending:\n  script: x\n  tags: [nobody]\n").await;
    let jobs = list_jobs(&spec, Some(&spec.user.token), "?scope=pending")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let statuses: Vec<&Value> = jobs.iter().map(|job| &job["status"]).collect();
    assert_eq!(statuses, [&json!("pending")]);
}

#[tokio::test]
async fn get_projects_jobs_authorized_user_filter_project_with_array_of_scope_elements() {
    let spec = Spec::new().await;
    spec.running_job().await;
    spec.push("pending:\n  script: x\n  tags: [nobody]\n").await;
    let jobs = list_jobs(
        &spec,
        Some(&spec.user.token),
        "?scope[]=pending&scope[]=running",
    )
    .await
    .expect_status(StatusCode::OK)
    .jobs();
    let statuses: Vec<&Value> = jobs.iter().map(|job| &job["status"]).collect();
    assert_eq!(statuses, [&json!("pending"), &json!("running")]);
}

#[tokio::test]
async fn get_projects_jobs_authorized_user_respond_400_when_scope_contains_invalid_state() {
    let spec = Spec::new().await;
    let response = list_jobs(
        &spec,
        Some(&spec.user.token),
        "?scope[]=unknown&scope[]=running",
    )
    .await;
    assert_error(
        &response,
        StatusCode::BAD_REQUEST,
        "scope does not have a valid value",
    );
}

/// GitLab's `pagination_params_from_next_url`: the query of the `rel="next"` link.
fn next_link_query(response: &Response) -> Option<String> {
    let link = response.header("link")?;
    link.split(',').find_map(|part| {
        let (url, rel) = part.trim().split_once(">; rel=\"")?;
        (rel == "next\"").then(|| {
            url.trim_start_matches('<')
                .split_once('?')
                .map(|(_, q)| q.to_owned())
        })?
    })
}

/// The spec's `another_build`: a second successful build, the newest.
async fn another_build(spec: &Spec) -> i64 {
    spec.push("another:\n  script: x\n  tags: [linux]\n").await;
    let job = spec.t.claim(&spec.runner).await;
    spec.t.succeed(&job).await;
    job.id
}

#[tokio::test]
async fn get_projects_jobs_keyset_on_making_requests_with_supported_ordering_structure_includes_keyset_url_params_in_the_url_response()
 {
    let spec = Spec::new().await;
    another_build(&spec).await;
    let response = list_jobs(
        &spec,
        Some(&spec.user.token),
        "?pagination=keyset&per_page=1",
    )
    .await
    .expect_status(StatusCode::OK);
    let query = next_link_query(&response).expect("next link");
    assert!(
        query.split('&').any(|pair| pair.starts_with("cursor=")),
        "{query}"
    );
}

#[tokio::test]
async fn get_projects_jobs_keyset_on_making_requests_with_supported_ordering_structure_does_not_include_pagination_headers()
 {
    let spec = Spec::new().await;
    another_build(&spec).await;
    let response = list_jobs(
        &spec,
        Some(&spec.user.token),
        "?pagination=keyset&per_page=1",
    )
    .await
    .expect_status(StatusCode::OK);
    for header in [
        "x-total",
        "x-total-pages",
        "x-per-page",
        "x-page",
        "x-next-page",
        "x-prev-page",
    ] {
        assert!(response.header(header).is_none(), "{header}");
    }
}

#[tokio::test]
async fn get_projects_jobs_keyset_on_making_requests_with_supported_ordering_structure_paginates_the_records_correctly()
 {
    let spec = Spec::new().await;
    let another = another_build(&spec).await;
    let response = list_jobs(
        &spec,
        Some(&spec.user.token),
        "?pagination=keyset&per_page=1",
    )
    .await
    .expect_status(StatusCode::OK);
    let records = response.jobs();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], another);
    let query = next_link_query(&response).expect("next link");
    let response = list_jobs(&spec, Some(&spec.user.token), &format!("?{query}"))
        .await
        .expect_status(StatusCode::OK);
    let records = response.jobs();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], spec.job);
}

#[tokio::test]
async fn get_projects_jobs_keyset_on_making_requests_with_unsupported_ordering_structure_returns_error()
 {
    let spec = Spec::new().await;
    let response = list_jobs(
        &spec,
        Some(&spec.user.token),
        "?pagination=keyset&per_page=1&order_by=name&sort=asc",
    )
    .await;
    assert_error(
        &response,
        StatusCode::METHOD_NOT_ALLOWED,
        "Keyset pagination is not yet available for this type of request",
    );
}

#[tokio::test]
async fn get_projects_jobs_unauthorized_user_when_user_is_not_logged_in_does_not_return_project_jobs()
 {
    let spec = Spec::new().await;
    let response = list_jobs(&spec, None, "").await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

#[tokio::test]
async fn get_projects_jobs_unauthorized_user_when_user_is_guest_does_not_return_project_jobs() {
    let spec = Spec::new().await;
    let guest = spec.guest().await;
    let response = list_jobs(&spec, Some(&guest.token), "").await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
}

// ==== describe 'GET /projects/:id/jobs offset pagination' =================================

#[tokio::test]
async fn get_projects_jobs_offset_pagination_returns_one_record_for_the_first_page() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let jobs = list_jobs(&spec, Some(&spec.user.token), "?per_page=1")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], running.id);
}

#[tokio::test]
async fn get_projects_jobs_offset_pagination_returns_second_record_when_passed_in_offset_and_per_page_params()
 {
    let spec = Spec::new().await;
    spec.running_job().await;
    let jobs = list_jobs(&spec, Some(&spec.user.token), "?page=2&per_page=1")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], spec.job);
}

// ==== describe 'GET /projects/:id/jobs keyset pagination' =================================

#[tokio::test]
async fn get_projects_jobs_keyset_pagination_returns_first_page_with_cursor_to_next_page() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let response = list_jobs(
        &spec,
        Some(&spec.user.token),
        "?pagination=keyset&per_page=1",
    )
    .await
    .expect_status(StatusCode::OK);
    let jobs = response.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], running.id);
    let link = response.header("link").expect("link");
    assert!(link.contains("cursor"));
    // GitLab's spec cuts the cursor out with `(cursor=.*?)&`: it must be followed by `&`.
    let start = link.find("cursor=").expect("cursor");
    let end = start + link[start..].find('&').expect("& after the cursor");
    let next_cursor = &link[start..end];

    let response = list_jobs(
        &spec,
        Some(&spec.user.token),
        &format!("?pagination=keyset&per_page=1&{next_cursor}"),
    )
    .await
    .expect_status(StatusCode::OK);
    let jobs = response.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], spec.job);
    assert!(response.header("link").is_none());
}

#[tokio::test]
async fn get_projects_jobs_keyset_pagination_respects_scope_filters() {
    let spec = Spec::new().await;
    spec.running_job().await;
    let response = list_jobs(
        &spec,
        Some(&spec.user.token),
        "?pagination=keyset&scope[]=success",
    )
    .await
    .expect_status(StatusCode::OK);
    let jobs = response.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], spec.job);
    assert!(response.header("link").is_none());
}

// ==== describe 'GET /projects/:id/jobs rate limited' ======================================

#[tokio::test]
async fn get_projects_jobs_rate_limited_enforces_rate_limits_for_the_endpoint() {
    let spec = Spec::new().await;
    spec.t
        .put("/api/v4/application/settings")
        .token(ROOT_TOKEN)
        .json(json!({ "project_jobs_api_rate_limit": 1 }))
        .await
        .expect_status(StatusCode::OK);
    list_jobs(&spec, Some(&spec.user.token), "")
        .await
        .expect_status(StatusCode::OK);
    let response = list_jobs(&spec, Some(&spec.user.token), "").await;
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.json(),
        json!({ "message": { "error": "This endpoint has been requested too many times. Try again later." } })
    );
}

// ==== describe 'GET /projects/:id/jobs/:job_id' ===========================================

async fn get_job(spec: &Spec, token: Option<&str>, job: i64) -> Response {
    let request = spec.t.get(&spec.path(&format!("/jobs/{job}")));
    match token {
        Some(token) => request.token(token).await,
        None => request.await,
    }
}

#[tokio::test]
async fn get_projects_job_authorized_user_returns_common_job_data() {
    let spec = Spec::new().await;
    let response = get_job(&spec, Some(&spec.user.token), spec.job)
        .await
        .expect_status(StatusCode::OK);
    common::assert_api_headers(&response);
    common::assert_json_content_type(&response);
    let json = response.job();
    assert_eq!(json["id"], spec.job);
    assert_eq!(json["status"], "success");
    assert_eq!(json["stage"], "test");
    assert_eq!(json["name"], "job");
    assert_eq!(json["ref"], "main");
    assert_eq!(json["tag"], false);
    assert_eq!(json["coverage"], Value::Null);
    assert_eq!(json["allow_failure"], false);
    let expected = json.clone();
    assert_common_job_data(&json, &expected);
}

#[tokio::test]
async fn get_projects_job_authorized_user_returns_specific_job_data() {
    let spec = Spec::new().await;
    let json = get_job(&spec, Some(&spec.user.token), spec.job)
        .await
        .expect_status(StatusCode::OK)
        .job();
    let millis = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(json[key].as_str().expect(key))
            .expect("timestamp")
            .timestamp_millis()
    };
    let duration = json["duration"].as_f64().expect("duration");
    let expected = (millis("finished_at") - millis("started_at")) as f64 / 1000.0;
    assert!(
        (duration - expected).abs() < 0.002,
        "{duration} vs {expected}"
    );
}

#[tokio::test]
async fn get_projects_job_authorized_user_with_artifacts_and_trace_returns_artifacts_and_trace_data()
 {
    let spec = Spec::new().await;
    let second = second_job(&spec).await;
    let json = get_job(&spec, Some(&spec.user.token), second)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_artifacts_and_trace(&json);
}

#[tokio::test]
async fn get_projects_job_authorized_user_returns_common_pipeline_data() {
    let spec = Spec::new().await;
    let json = get_job(&spec, Some(&spec.user.token), spec.job)
        .await
        .expect_status(StatusCode::OK)
        .job();
    let pipeline = spec.t.pipeline(spec.project(), spec.ci.pipeline_id).await;
    assert_common_pipeline_data(&json, &pipeline);
}

#[tokio::test]
async fn get_projects_job_unauthorized_user_does_not_return_specific_job_data() {
    let spec = Spec::new().await;
    let response = get_job(&spec, None, spec.job).await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

#[tokio::test]
async fn get_projects_job_when_job_succeeded_does_not_return_failure_reason() {
    let spec = Spec::new().await;
    let json = get_job(&spec, Some(&spec.user.token), spec.job)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert!(json.get("failure_reason").is_none());
}

#[tokio::test]
async fn get_projects_job_when_job_failed_returns_failure_reason() {
    let spec = Spec::new().await;
    spec.push("failing:\n  script: x\n  tags: [linux]\n").await;
    let failed = spec.t.claim(&spec.runner).await;
    spec.t.fail(&failed, "script_failure", 1).await;
    let json = get_job(&spec, Some(&spec.user.token), failed.id)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_eq!(json["failure_reason"], "script_failure");
}

#[tokio::test]
async fn get_projects_job_when_job_is_erased_returns_specific_job_data() {
    let spec = Spec::new().await;
    let second = second_job(&spec).await;
    let erased = spec
        .t
        .post(&spec.path(&format!("/jobs/{second}/erase")))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    let json = get_job(&spec, Some(&spec.user.token), second)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert!(json["erased_at"].is_string());
    assert_eq!(json["erased_at"], erased["erased_at"]);
}

// ==== describe 'GET /projects/:id/jobs/:job_id/trace' =====================================

async fn get_trace(spec: &Spec, token: Option<&str>, job: i64) -> Response {
    let request = spec.t.get(&spec.path(&format!("/jobs/{job}/trace")));
    match token {
        Some(token) => request.token(token).await,
        None => request.await,
    }
}

#[track_caller]
fn assert_trace(response: &Response, job: i64, body: &[u8]) {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.body.as_ref(), body);
    assert!(
        response
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain")
    );
    assert_eq!(
        response.header("content-disposition"),
        Some(format!("infile; filename=\"{job}.log\"").as_str())
    );
    common::assert_api_headers(response);
}

#[tokio::test]
async fn get_projects_job_trace_authorized_user_when_log_is_artifact_returns_specific_job_log() {
    let spec = Spec::new().await;
    let second = second_job(&spec).await;
    let response = get_trace(&spec, Some(&spec.user.token), second).await;
    assert_trace(&response, second, b"BUILD TRACE\n");
}

#[tokio::test]
async fn get_projects_job_trace_authorized_user_when_log_is_incremental_returns_specific_job_log() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let log = "first chunk\n\x1b[31;1mred\x1b[0;m\nsection_start:1:x\r\x1b[0K";
    spec.t
        .append_trace(running.id, &running.token, 0, log.as_bytes())
        .await
        .expect_status(StatusCode::ACCEPTED);
    let response = get_trace(&spec, Some(&spec.user.token), running.id).await;
    assert_trace(&response, running.id, log.as_bytes());
}

#[tokio::test]
async fn get_projects_job_trace_authorized_user_when_no_log_returns_empty_log() {
    let spec = Spec::new().await;
    let response = get_trace(&spec, Some(&spec.user.token), spec.job).await;
    assert_trace(&response, spec.job, b"");
}

#[tokio::test]
async fn get_projects_job_trace_unauthorized_user_does_not_return_specific_job_log() {
    let spec = Spec::new().await;
    let response = get_trace(&spec, None, spec.job).await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

/// GitLab's `additional access criteria` table for a job in debug mode: only those who may
/// update builds read its log, whatever `public_builds` says.
async fn debug_trace_access(yaml: &str) {
    for (public_builds, role, expected) in [
        (true, DEVELOPER, StatusCode::OK),
        (true, GUEST, StatusCode::FORBIDDEN),
        (false, DEVELOPER, StatusCode::OK),
        (false, GUEST, StatusCode::FORBIDDEN),
    ] {
        let t = TestApp::new().await;
        let ci = t
            .project_with_ci_as(
                ROOT_TOKEN,
                "demo",
                json!({ "public_jobs": public_builds }),
                yaml,
            )
            .await;
        let user = member(&t, ci.project_id, "user", role).await;
        let runner = t.instance_runner().await;
        let job = t
            .run_next(&runner, "secret debug output\n", "success")
            .await;
        let response = t
            .get(&format!(
                "/api/v4/projects/{}/jobs/{}/trace",
                ci.project_id, job.id
            ))
            .token(&user.token)
            .await;
        assert_eq!(
            response.status,
            expected,
            "public_builds {public_builds}, role {role}: {}",
            response.text()
        );
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
        } else {
            assert_eq!(response.text(), "secret debug output\n");
        }
    }
}

#[tokio::test]
async fn get_projects_job_trace_when_ci_debug_trace_is_set_to_true_renders_trace_to_authorized_users()
 {
    debug_trace_access("variables:\n  CI_DEBUG_TRACE: \"true\"\njob:\n  script: x\n").await;
}

#[tokio::test]
async fn get_projects_job_trace_when_ci_debug_services_is_set_to_true_renders_trace_to_authorized_users()
 {
    debug_trace_access("job:\n  script: x\n  variables:\n    CI_DEBUG_SERVICES: \"true\"\n").await;
}

#[tokio::test]
async fn get_projects_job_trace_when_ci_debug_trace_is_a_pipeline_variable_renders_trace_to_authorized_users()
 {
    for (public_builds, role, expected) in [
        (true, DEVELOPER, StatusCode::OK),
        (true, GUEST, StatusCode::FORBIDDEN),
        (true, REPORTER, StatusCode::FORBIDDEN),
    ] {
        let t = TestApp::new().await;
        let ci = t
            .project_with_ci_as(
                ROOT_TOKEN,
                "demo",
                json!({ "public_jobs": public_builds }),
                "job:\n  script: x\n",
            )
            .await;
        let user = member(&t, ci.project_id, "user", role).await;
        let pipeline = t
            .post(&format!("/api/v4/projects/{}/pipeline", ci.project_id))
            .token(ROOT_TOKEN)
            .json(
                json!({ "ref": "main", "variables": [{ "key": "CI_DEBUG_TRACE", "value": "1" }] }),
            )
            .await
            .expect_status(StatusCode::CREATED)
            .json()["id"]
            .as_i64()
            .expect("pipeline");
        let runner = t.instance_runner().await;
        t.drain(&runner, "success").await;
        let job = t.job_id(ci.project_id, pipeline, "job").await;
        let response = t
            .get(&format!(
                "/api/v4/projects/{}/jobs/{job}/trace",
                ci.project_id
            ))
            .token(&user.token)
            .await;
        assert_eq!(response.status, expected, "role {role}");
    }
}

#[tokio::test]
async fn get_projects_job_trace_when_ci_debug_trace_is_false_renders_trace_to_guests_with_public_builds()
 {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "demo",
            json!({ "public_jobs": true }),
            "variables:\n  CI_DEBUG_TRACE: \"false\"\njob:\n  script: x\n",
        )
        .await;
    let guest = member(&t, ci.project_id, "guest", GUEST).await;
    let runner = t.instance_runner().await;
    let job = t.run_next(&runner, "log\n", "success").await;
    let response = t
        .get(&format!(
            "/api/v4/projects/{}/jobs/{}/trace",
            ci.project_id, job.id
        ))
        .token(&guest.token)
        .await;
    assert_trace(&response, job.id, b"log\n");
}

// ==== describe 'POST /projects/:id/jobs/:job_id/cancel' ===================================

#[tokio::test]
async fn post_cancel_authorized_user_with_cancel_build_permission_cancels_running_or_pending_job() {
    // The fixture job already succeeded: nothing to cancel, still 201 with the job as is.
    let spec = Spec::new().await;
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{}/cancel", spec.job)))
        .token(&spec.user.token)
        .await
        .expect_status(StatusCode::CREATED);
    common::assert_api_headers(&response);
    common::assert_json_content_type(&response);
    let json = response.job();
    assert_eq!(json["id"], spec.job);
    assert_eq!(json["status"], "success");
    assert_eq!(spec.job_entity(spec.job).await["status"], "success");
}

#[tokio::test]
async fn post_cancel_authorized_user_with_cancel_build_permission_cancels_a_running_job() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let json = spec
        .t
        .post(&spec.path(&format!("/jobs/{}/cancel", running.id)))
        .token(&spec.user.token)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(json["status"], "canceled");
}

#[tokio::test]
async fn post_cancel_authorized_user_without_cancel_build_permission_does_not_cancel_job() {
    let spec = Spec::new().await;
    let running = spec.running_job().await;
    let reporter = spec.reporter().await;
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{}/cancel", running.id)))
        .token(&reporter.token)
        .await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
    assert_eq!(spec.job_entity(running.id).await["status"], "running");
}

#[tokio::test]
async fn post_cancel_unauthorized_user_does_not_cancel_job() {
    let spec = Spec::new().await;
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{}/cancel", spec.job)))
        .await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

// ==== describe 'POST /projects/:id/jobs/:job_id/retry' ====================================

/// GitLab's retry fixture: a canceled build (the fixture job is canceled before it runs).
async fn canceled_build() -> (Spec, i64) {
    let spec = Spec::new().await;
    spec.push("canceled:\n  script: x\n  tags: [nobody]\n")
        .await;
    let jobs = list_jobs(&spec, Some(ROOT_TOKEN), "?scope=pending")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let id = jobs[0]["id"].as_i64().expect("id");
    spec.t
        .post(&spec.path(&format!("/jobs/{id}/cancel")))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    (spec, id)
}

#[tokio::test]
async fn post_retry_authorized_user_with_update_build_permission_when_the_job_is_a_build_retries_non_running_job()
 {
    let (spec, canceled) = canceled_build().await;
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{canceled}/retry")))
        .token(&spec.user.token)
        .await
        .expect_status(StatusCode::CREATED);
    common::assert_api_headers(&response);
    let json = response.job();
    assert_ne!(json["id"], canceled);
    assert_eq!(json["name"], "canceled");
    assert_eq!(json["status"], "pending");
    assert_eq!(json["user"]["id"], spec.user.id);
    assert_eq!(spec.job_entity(canceled).await["status"], "canceled");
}

#[tokio::test]
async fn post_retry_authorized_user_with_update_build_permission_when_the_job_is_a_bridge_retries_the_bridge()
 {
    let t = TestApp::new().await;
    let project = t
        .create_project(ROOT_TOKEN, json!({ "name": "demo", "public_jobs": false }))
        .await["id"]
        .as_i64()
        .expect("id");
    unprotect_main(&t, project).await;
    let user = member(&t, project, "user", DEVELOPER).await;
    // A bridge mirroring its child pipeline (`strategy: depend`): cancelling the child
    // cancels the bridge.
    let yaml = "bridge:\n  trigger:\n    include: child.yml\n    strategy: depend\n";
    t.commit(
        ROOT_TOKEN,
        project,
        "main",
        json!([
            { "action": "create", "file_path": ".gitlab-ci.yml", "content": yaml },
            { "action": "create", "file_path": "child.yml", "content": "child:\n  script: x\n" },
        ]),
    )
    .await;
    pipewright_core::downstream::DownstreamQueue::drain(&t.app).await;
    let pipeline = t.latest_pipeline(ROOT_TOKEN, project).await["id"]
        .as_i64()
        .expect("pipeline");
    let running = t
        .get(&format!(
            "/api/v4/projects/{project}/pipelines/{pipeline}/bridges"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(running[0]["status"], "running");
    let child = running[0]["downstream_pipeline"]["id"]
        .as_i64()
        .expect("child");
    let cancel = t
        .post(&format!(
            "/api/v4/projects/{project}/pipelines/{child}/cancel"
        ))
        .token(ROOT_TOKEN)
        .await;
    assert!(cancel.status.is_success(), "{}", cancel.text());
    pipewright_core::downstream::DownstreamQueue::drain(&t.app).await;
    let bridges = t
        .get(&format!(
            "/api/v4/projects/{project}/pipelines/{pipeline}/bridges"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(bridges[0]["status"], "canceled");
    let bridge = bridges[0]["id"].as_i64().expect("bridge");
    let response = t
        .post(&format!("/api/v4/projects/{project}/jobs/{bridge}/retry"))
        .token(&user.token)
        .await
        .expect_status(StatusCode::CREATED);
    let json = response.json();
    assert_ne!(json["id"], bridge);
    assert_eq!(json["name"], "bridge");
    assert_eq!(json["status"], "pending");
}

#[tokio::test]
async fn post_retry_authorized_user_when_a_build_is_not_retryable_responds_with_unprocessable_entity()
 {
    let spec = Spec::new().await;
    spec.push("stages: [a, b]\nfirst:\n  stage: a\n  script: x\n  tags: [nobody]\nsecond:\n  stage: b\n  script: x\n")
        .await;
    let created = list_jobs(&spec, Some(ROOT_TOKEN), "?scope=created")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let created = created[0]["id"].as_i64().expect("id");
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{created}/retry")))
        .token(&spec.user.token)
        .await;
    assert_message(
        &response,
        StatusCode::FORBIDDEN,
        "403 Forbidden - Job is not retryable",
    );
}

#[tokio::test]
async fn post_retry_user_without_update_build_permission_does_not_retry_job() {
    let (spec, canceled) = canceled_build().await;
    let reporter = spec.reporter().await;
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{canceled}/retry")))
        .token(&reporter.token)
        .await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
}

#[tokio::test]
async fn post_retry_unauthorized_user_does_not_retry_job() {
    let (spec, canceled) = canceled_build().await;
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{canceled}/retry")))
        .await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

// ==== describe 'POST /projects/:id/jobs/:job_id/erase' ====================================

async fn erase(spec: &Spec, token: &str, job: i64) -> Response {
    spec.t
        .post(&spec.path(&format!("/jobs/{job}/erase")))
        .token(token)
        .await
}

/// GitLab's `erases job content`: no artifact, no log, no archive left.
async fn assert_erased(spec: &Spec, response: Response, job: i64) {
    let response = response.expect_status(StatusCode::CREATED);
    let json = response.job();
    assert_eq!(json["id"], job);
    assert_eq!(json["artifacts"], json!([]));
    assert!(json.get("artifacts_file").is_none());
    assert_eq!(json["artifacts_expire_at"], Value::Null);
    assert!(json["erased_at"].is_string());
    let trace = get_trace(spec, Some(ROOT_TOKEN), job).await;
    assert_trace(&trace, job, b"");
    spec.t
        .get(&spec.path(&format!("/jobs/{job}/artifacts")))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(spec.job_entity(job).await["artifacts"], json!([]));
}

#[tokio::test]
async fn post_erase_job_is_erasable_erases_job_content() {
    let spec = Spec::new().await;
    let maintainer = member(&spec.t, spec.project(), "maintainer", MAINTAINER).await;
    let second = second_job(&spec).await;
    let response = erase(&spec, &maintainer.token, second).await;
    assert_erased(&spec, response, second).await;
}

#[tokio::test]
async fn post_erase_job_is_erasable_updates_job() {
    let spec = Spec::new().await;
    let maintainer = member(&spec.t, spec.project(), "maintainer", MAINTAINER).await;
    let second = second_job(&spec).await;
    erase(&spec, &maintainer.token, second)
        .await
        .expect_status(StatusCode::CREATED);
    let json = spec.job_entity(second).await;
    assert!(json["erased_at"].is_string());
    assert_eq!(json["status"], "success");
}

#[tokio::test]
async fn post_erase_when_job_has_an_unarchived_trace_artifact_erases_job_content() {
    let spec = Spec::new().await;
    let maintainer = member(&spec.t, spec.project(), "maintainer", MAINTAINER).await;
    spec.push("logged:\n  script: x\n  tags: [linux]\n").await;
    let job = spec
        .t
        .run_next(&spec.runner, "only a log\n", "success")
        .await;
    let response = erase(&spec, &maintainer.token, job.id).await;
    assert_erased(&spec, response, job.id).await;
}

#[tokio::test]
async fn post_erase_job_is_not_erasable_responds_with_forbidden() {
    let spec = Spec::new().await;
    let maintainer = member(&spec.t, spec.project(), "maintainer", MAINTAINER).await;
    let running = spec.running_job().await;
    spec.t
        .append_trace(running.id, &running.token, 0, b"live\n")
        .await
        .expect_status(StatusCode::ACCEPTED);
    let response = erase(&spec, &maintainer.token, running.id).await;
    assert_message(
        &response,
        StatusCode::FORBIDDEN,
        "403 Forbidden - Job is not erasable!",
    );
}

#[tokio::test]
async fn post_erase_when_a_developer_erases_a_build_when_the_build_was_created_by_the_developer() {
    let spec = Spec::new().await;
    spec.push("mine:\n  script: x\n  tags: [linux]\n").await;
    let job = spec.t.claim(&spec.runner).await;
    add_artifacts_and_trace(&spec.t, &job).await;
    spec.t.succeed(&job).await;
    let response = erase(&spec, &spec.user.token, job.id).await;
    assert_erased(&spec, response, job.id).await;
}

#[tokio::test]
async fn post_erase_when_a_developer_erases_a_build_when_the_build_was_created_by_another_user() {
    let spec = Spec::new().await;
    // Root pushes: the job is root's.
    spec.t
        .update_ci(
            ROOT_TOKEN,
            spec.project(),
            "theirs:\n  script: x\n  tags: [linux]\n",
        )
        .await;
    let job = spec.t.claim(&spec.runner).await;
    add_artifacts_and_trace(&spec.t, &job).await;
    spec.t.succeed(&job).await;
    let response = erase(&spec, &spec.user.token, job.id).await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
}

// ==== describe 'POST /projects/:id/jobs/:job_id/play' =====================================

/// GitLab's playable fixture: a manual build `manual` in a pipeline of `user`'s.
async fn manual_build() -> (Spec, i64) {
    let spec = Spec::new().await;
    // As the spec's `before`: Developers may pass variables.
    spec.t
        .put(&spec.path(""))
        .token(ROOT_TOKEN)
        .json(json!({ "ci_pipeline_variables_minimum_override_role": "developer" }))
        .await
        .expect_status(StatusCode::OK);
    spec.push("manual:\n  script: x\n  when: manual\n  tags: [linux]\n")
        .await;
    let jobs = list_jobs(&spec, Some(ROOT_TOKEN), "?scope=manual")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    (spec, jobs[0]["id"].as_i64().expect("id"))
}

async fn play(spec: &Spec, token: &str, job: i64, body: Option<Value>) -> Response {
    let request = spec
        .t
        .post(&spec.path(&format!("/jobs/{job}/play")))
        .token(token);
    match body {
        Some(body) => request.json(body).await,
        None => request.await,
    }
}

async fn status_of(spec: &Spec, job: i64) -> Value {
    spec.job_entity(job).await["status"].clone()
}

#[tokio::test]
async fn post_play_on_a_playable_job_when_user_is_authorized_that_is_a_bridge_plays_the_job() {
    let t = TestApp::new().await;
    let project = t
        .create_project(ROOT_TOKEN, json!({ "name": "demo", "public_jobs": false }))
        .await["id"]
        .as_i64()
        .expect("id");
    unprotect_main(&t, project).await;
    let user = member(&t, project, "user", DEVELOPER).await;
    let yaml = "bridge:\n  when: manual\n  trigger:\n    include: child.yml\n";
    t.commit(
        ROOT_TOKEN,
        project,
        "main",
        json!([
            { "action": "create", "file_path": ".gitlab-ci.yml", "content": yaml },
            { "action": "create", "file_path": "child.yml", "content": "child:\n  script: x\n" },
        ]),
    )
    .await;
    let pipeline = t.latest_pipeline(ROOT_TOKEN, project).await["id"]
        .as_i64()
        .expect("pipeline");
    let bridges_path = format!("/api/v4/projects/{project}/pipelines/{pipeline}/bridges");
    let bridges = t
        .get(&bridges_path)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(bridges[0]["status"], "manual");
    let bridge = bridges[0]["id"].as_i64().expect("bridge");
    let response = t
        .post(&format!("/api/v4/projects/{project}/jobs/{bridge}/play"))
        .token(&user.token)
        .await
        .expect_status(StatusCode::OK);
    common::assert_api_headers(&response);
    let json = response.json();
    assert_eq!(json["user"]["id"], user.id);
    assert_eq!(json["id"], bridge);
    assert_eq!(json["status"], "pending");
    assert!(json.get("downstream_pipeline").is_some());
}

#[tokio::test]
async fn post_play_on_a_playable_job_when_user_is_authorized_that_is_a_build_plays_the_job() {
    let (spec, manual) = manual_build().await;
    let response = play(&spec, &spec.user.token, manual, None)
        .await
        .expect_status(StatusCode::OK);
    common::assert_api_headers(&response);
    common::assert_json_content_type(&response);
    let json = response.job();
    assert_eq!(json["user"]["id"], spec.user.id);
    assert_eq!(json["id"], manual);
    assert_eq!(json["status"], "pending");
    assert_eq!(status_of(&spec, manual).await, "pending");
}

#[tokio::test]
async fn post_play_when_the_user_provides_valid_custom_variables_applies_the_variables_to_the_job()
{
    let (spec, manual) = manual_build().await;
    play(
        &spec,
        &spec.user.token,
        manual,
        Some(json!({ "job_variables_attributes": [{ "key": "TEST_VAR", "value": "test" }] })),
    )
    .await
    .expect_status(StatusCode::OK);
    assert_eq!(status_of(&spec, manual).await, "pending");
    let claimed = spec.t.claim(&spec.runner).await;
    assert_eq!(claimed.id, manual);
    assert_eq!(claimed.variable("TEST_VAR").as_deref(), Some("test"));
}

#[tokio::test]
async fn post_play_when_the_user_provides_valid_custom_variables_as_a_form_applies_the_variables_to_the_job()
 {
    let (spec, manual) = manual_build().await;
    spec.t
        .post(&spec.path(&format!("/jobs/{manual}/play")))
        .token(&spec.user.token)
        .form("job_variables_attributes[][key]=TEST_VAR&job_variables_attributes[][value]=test")
        .await
        .expect_status(StatusCode::OK);
    let claimed = spec.t.claim(&spec.runner).await;
    assert_eq!(claimed.id, manual);
    assert_eq!(claimed.variable("TEST_VAR").as_deref(), Some("test"));
}

/// A validation failure: the exact `error`, and the job still waits in `manual`.
async fn assert_variables_refused(form: &str, json_body: Value, error: &str) {
    let (spec, manual) = manual_build().await;
    let response = play(&spec, &spec.user.token, manual, Some(json_body)).await;
    assert_error(&response, StatusCode::BAD_REQUEST, error);
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{manual}/play")))
        .token(&spec.user.token)
        .form(form)
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, error);
    assert_eq!(status_of(&spec, manual).await, "manual");
}

#[tokio::test]
async fn post_play_when_the_user_provides_a_variable_without_a_key_reports_that_the_key_is_missing()
{
    assert_variables_refused(
        "job_variables_attributes[][value]=test",
        json!({ "job_variables_attributes": [{ "value": "test" }] }),
        "job_variables_attributes[0][key] is missing",
    )
    .await;
}

#[tokio::test]
async fn post_play_when_the_user_provides_a_variable_without_a_value_reports_that_the_value_is_missing()
 {
    assert_variables_refused(
        "job_variables_attributes[][key]=TEST_VAR",
        json!({ "job_variables_attributes": [{ "key": "TEST_VAR" }] }),
        "job_variables_attributes[0][value] is missing",
    )
    .await;
}

#[tokio::test]
async fn post_play_when_the_user_provides_both_valid_and_invalid_variables_reports_the_invalid_variables_and_does_not_run_the_job()
 {
    assert_variables_refused(
        "job_variables_attributes[][key]=TEST_VAR&job_variables_attributes[][value]=test\
         &job_variables_attributes[][value]=test2",
        json!({ "job_variables_attributes": [
            { "key": "TEST_VAR", "value": "test" },
            { "value": "test2" },
        ] }),
        "job_variables_attributes[1][key] is missing",
    )
    .await;
}

#[tokio::test]
async fn post_play_when_user_does_not_have_access_to_the_project_does_not_trigger_a_manual_action()
{
    let (spec, manual) = manual_build().await;
    let stranger = spec.t.create_user("stranger").await;
    let response = play(&spec, &stranger.token, manual, None).await;
    assert_message(&response, StatusCode::NOT_FOUND, "404 Project Not Found");
    assert_eq!(status_of(&spec, manual).await, "manual");
}

#[tokio::test]
async fn post_play_when_user_is_not_allowed_to_trigger_the_manual_action_does_not_trigger_a_manual_action()
 {
    let (spec, manual) = manual_build().await;
    let reporter = spec.reporter().await;
    let response = play(&spec, &reporter.token, manual, None).await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
    assert_eq!(status_of(&spec, manual).await, "manual");
}

#[tokio::test]
async fn post_play_on_a_non_playable_job_returns_a_status_code_400_bad_request() {
    let spec = Spec::new().await;
    let response = play(&spec, &spec.user.token, spec.job, None).await;
    assert_message(
        &response,
        StatusCode::BAD_REQUEST,
        "400 Bad request - Unplayable Job",
    );
}

// ==== pipelines_spec: describe 'GET /projects/:id/pipelines/:pipeline_id/jobs' ============

async fn pipeline_jobs(spec: &Spec, token: Option<&str>, pipeline: i64, query: &str) -> Response {
    let request = spec
        .t
        .get(&spec.path(&format!("/pipelines/{pipeline}/jobs{query}")));
    match token {
        Some(token) => request.token(token).await,
        None => request.await,
    }
}

/// The pipelines spec's user is a Maintainer.
async fn maintainer(spec: &Spec) -> TestUser {
    member(&spec.t, spec.project(), "maintainer", MAINTAINER).await
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_returns_pipeline_jobs() {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let response = pipeline_jobs(&spec, Some(&user.token), spec.ci.pipeline_id, "")
        .await
        .expect_status(StatusCode::OK);
    assert_pagination_headers(&response);
    common::assert_api_headers(&response);
    common::assert_json_content_type(&response);
    assert_eq!(response.header("x-total"), Some("1"));
    assert_eq!(response.header("x-total-pages"), Some("1"));
    assert_eq!(response.jobs().len(), 1);
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_returns_correct_values() {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let jobs = pipeline_jobs(&spec, Some(&user.token), spec.ci.pipeline_id, "")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let first = &jobs[0];
    assert_eq!(first["commit"]["id"], spec.ci.sha.as_str());
    assert_eq!(first["artifacts_expire_at"], Value::Null);
    assert!(first.get("artifacts_file").is_none());
    assert_eq!(first["artifacts"], json!([]));
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_with_artifacts_and_trace_returns_artifacts_and_trace_data()
 {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let second = second_job(&spec).await;
    let pipeline = spec.t.latest_pipeline(ROOT_TOKEN, spec.project()).await["id"]
        .as_i64()
        .expect("pipeline");
    let jobs = pipeline_jobs(&spec, Some(&user.token), pipeline, "")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let json_job = jobs.iter().find(|job| job["id"] == second).expect("second");
    assert_artifacts_and_trace(json_job);
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_returns_pipeline_data() {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let jobs = pipeline_jobs(&spec, Some(&user.token), spec.ci.pipeline_id, "")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let pipeline = spec.t.pipeline(spec.project(), spec.ci.pipeline_id).await;
    assert_common_pipeline_data(&jobs[0], &pipeline);
}

/// A pipeline of `user`'s with a running job and a pending one.
async fn running_and_pending(spec: &Spec) -> i64 {
    let pipeline = spec
        .push("running:\n  script: x\n  tags: [docker]\npending:\n  script: x\n  tags: [nobody]\n")
        .await;
    spec.t.claim(&spec.runner).await;
    pipeline
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_filter_jobs_with_one_scope_element() {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let pipeline = running_and_pending(&spec).await;
    let jobs = pipeline_jobs(&spec, Some(&user.token), pipeline, "?scope=pending")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 1);
    for job in &jobs {
        assert_eq!(job["status"], "pending");
        assert_eq!(job["duration"], Value::Null);
        assert!(job["queued_duration"].as_f64().expect("queued_duration") >= 0.0);
    }
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_when_filtering_to_only_running_jobs() {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let pipeline = running_and_pending(&spec).await;
    let jobs = pipeline_jobs(&spec, Some(&user.token), pipeline, "?scope=running")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 1);
    for job in &jobs {
        assert_eq!(job["status"], "running");
        assert!(job["duration"].as_f64().expect("duration") >= 0.0);
        assert!(job["queued_duration"].as_f64().expect("queued_duration") >= 0.0);
    }
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_filter_jobs_with_hash() {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let response = pipeline_jobs(
        &spec,
        Some(&user.token),
        spec.ci.pipeline_id,
        "?scope[hello]=pending&scope[world]=running",
    )
    .await;
    assert_error(
        &response,
        StatusCode::BAD_REQUEST,
        "scope does not have a valid value",
    );
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_filter_jobs_with_array_of_scope_elements() {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let pipeline = running_and_pending(&spec).await;
    let jobs = pipeline_jobs(
        &spec,
        Some(&user.token),
        pipeline,
        "?scope[]=pending&scope[]=running",
    )
    .await
    .expect_status(StatusCode::OK)
    .jobs();
    assert_eq!(jobs.len(), 2);
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_respond_400_when_scope_contains_invalid_state() {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let response = pipeline_jobs(
        &spec,
        Some(&user.token),
        spec.ci.pipeline_id,
        "?scope[]=unknown&scope[]=running",
    )
    .await;
    assert_error(
        &response,
        StatusCode::BAD_REQUEST,
        "scope does not have a valid value",
    );
}

#[tokio::test]
async fn get_pipeline_jobs_authorized_user_jobs_in_different_pipelines_excludes_jobs_from_other_pipelines()
 {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    spec.push("other:\n  script: x\n").await;
    let jobs = pipeline_jobs(&spec, Some(&user.token), spec.ci.pipeline_id, "")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 1);
    for job in &jobs {
        assert_eq!(job["pipeline"]["id"], spec.ci.pipeline_id);
    }
}

/// The fixture job retried: its successor has the same name.
async fn with_retried_job() -> (Spec, TestUser, i64) {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let successor = spec
        .t
        .post(&spec.path(&format!("/jobs/{}/retry", spec.job)))
        .token(&user.token)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    (spec, user, successor["id"].as_i64().expect("id"))
}

#[tokio::test]
async fn get_pipeline_jobs_pipeline_has_retried_jobs_does_not_return_retried_jobs_by_default() {
    let (spec, user, successor) = with_retried_job().await;
    let jobs = pipeline_jobs(&spec, Some(&user.token), spec.ci.pipeline_id, "")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], successor);
}

#[tokio::test]
async fn get_pipeline_jobs_pipeline_has_retried_jobs_when_include_retried_is_false_does_not_return_retried_jobs()
 {
    let (spec, user, _) = with_retried_job().await;
    let response = pipeline_jobs(
        &spec,
        Some(&user.token),
        spec.ci.pipeline_id,
        "?include_retried=false",
    )
    .await
    .expect_status(StatusCode::OK);
    assert_eq!(response.jobs().len(), 1);
}

#[tokio::test]
async fn get_pipeline_jobs_pipeline_has_retried_jobs_when_include_retried_is_true_returns_retried_jobs()
 {
    let (spec, user, successor) = with_retried_job().await;
    let jobs = pipeline_jobs(
        &spec,
        Some(&user.token),
        spec.ci.pipeline_id,
        "?include_retried=true",
    )
    .await
    .expect_status(StatusCode::OK)
    .jobs();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["name"], jobs[1]["name"]);
    assert_eq!(jobs[0]["id"], successor);
    assert_eq!(jobs[1]["id"], spec.job);
}

#[tokio::test]
async fn get_pipeline_jobs_no_pipeline_is_found_does_not_return_jobs() {
    let spec = Spec::new().await;
    let user = maintainer(&spec).await;
    let project2 = spec
        .t
        .create_project(ROOT_TOKEN, json!({ "name": "project2" }))
        .await["id"]
        .as_i64()
        .expect("id");
    let response = spec
        .t
        .get(&format!(
            "/api/v4/projects/{project2}/pipelines/{}/jobs",
            spec.ci.pipeline_id
        ))
        .token(&user.token)
        .await;
    assert_message(&response, StatusCode::NOT_FOUND, "404 Project Not Found");
}

#[tokio::test]
async fn get_pipeline_jobs_unauthorized_user_when_user_is_not_logged_in_does_not_return_jobs() {
    let spec = Spec::new().await;
    let response = pipeline_jobs(&spec, None, spec.ci.pipeline_id, "").await;
    assert_message(&response, StatusCode::NOT_FOUND, "404 Project Not Found");
}

#[tokio::test]
async fn get_pipeline_jobs_unauthorized_user_when_user_is_guest_does_not_return_jobs() {
    let spec = Spec::new().await;
    let guest = spec.guest().await;
    let response = pipeline_jobs(&spec, Some(&guest.token), spec.ci.pipeline_id, "").await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
}

// ==== pipelines_spec: describe 'GET /projects/:id/pipelines/:pipeline_id/bridges' =========

/// A project (private, `public_builds: false`, `main` unprotected) whose push pipeline
/// holds the bridge `bridge` that triggered a child pipeline; returns
/// (app, project, pipeline, maintainer).
async fn bridge_fixture(yaml: &str) -> (TestApp, i64, i64, TestUser) {
    let t = TestApp::new().await;
    let project = t
        .create_project(ROOT_TOKEN, json!({ "name": "demo", "public_jobs": false }))
        .await["id"]
        .as_i64()
        .expect("id");
    unprotect_main(&t, project).await;
    let user = member(&t, project, "maintainer", MAINTAINER).await;
    t.commit(
        ROOT_TOKEN,
        project,
        "main",
        json!([
            { "action": "create", "file_path": ".gitlab-ci.yml", "content": yaml },
            { "action": "create", "file_path": "child.yml", "content": "child:\n  script: x\n" },
        ]),
    )
    .await;
    pipewright_core::downstream::DownstreamQueue::drain(&t.app).await;
    let pipelines = t
        .get(&format!(
            "/api/v4/projects/{project}/pipelines?per_page=100"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let pipeline = pipelines
        .as_array()
        .and_then(|list| list.last())
        .and_then(|pipeline| pipeline["id"].as_i64())
        .expect("push pipeline");
    (t, project, pipeline, user)
}

const ONE_BRIDGE: &str = "bridge:\n  trigger:\n    include: child.yml\n";

const MANY_BRIDGES: &str = "stages: [build, deploy]\nbuild:\n  stage: build\n  script: x\n\
bridge:\n  stage: build\n  trigger:\n    include: child.yml\n\
manual_bridge:\n  stage: build\n  when: manual\n  trigger:\n    include: child.yml\n\
later_bridge:\n  stage: deploy\n  trigger:\n    include: child.yml\n";

async fn list_bridges(
    t: &TestApp,
    token: Option<&str>,
    project: i64,
    pipeline: i64,
    query: &str,
) -> Response {
    let request = t.get(&format!(
        "/api/v4/projects/{project}/pipelines/{pipeline}/bridges{query}"
    ));
    match token {
        Some(token) => request.token(token).await,
        None => request.await,
    }
}

#[tokio::test]
async fn get_pipeline_bridges_authorized_user_returns_pipeline_bridges() {
    let (t, project, pipeline, user) = bridge_fixture(ONE_BRIDGE).await;
    let response = list_bridges(&t, Some(&user.token), project, pipeline, "")
        .await
        .expect_status(StatusCode::OK);
    assert_pagination_headers(&response);
    common::assert_api_headers(&response);
    common::assert_json_content_type(&response);
    assert_eq!(response.json().as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn get_pipeline_bridges_authorized_user_returns_correct_values() {
    let (t, project, pipeline, user) = bridge_fixture(ONE_BRIDGE).await;
    let json = list_bridges(&t, Some(&user.token), project, pipeline, "")
        .await
        .expect_status(StatusCode::OK)
        .json();
    let first = &json[0];
    let sha = t.pipeline(project, pipeline).await["sha"].clone();
    assert_eq!(first["commit"]["id"], sha);
    assert!(first["id"].is_i64());
    assert_eq!(first["name"], "bridge");
    assert_eq!(first["stage"], "test");
}

#[tokio::test]
async fn get_pipeline_bridges_authorized_user_returns_pipeline_data() {
    let (t, project, pipeline, user) = bridge_fixture(ONE_BRIDGE).await;
    let json = list_bridges(&t, Some(&user.token), project, pipeline, "")
        .await
        .expect_status(StatusCode::OK)
        .json();
    let expected = t.pipeline(project, pipeline).await;
    assert_common_pipeline_data(&json[0], &expected);
}

#[tokio::test]
async fn get_pipeline_bridges_authorized_user_returns_downstream_pipeline_data() {
    let (t, project, pipeline, user) = bridge_fixture(ONE_BRIDGE).await;
    let json = list_bridges(&t, Some(&user.token), project, pipeline, "")
        .await
        .expect_status(StatusCode::OK)
        .json();
    let downstream = &json[0]["downstream_pipeline"];
    assert!(downstream.is_object(), "{downstream}");
    let expected = t
        .pipeline(project, downstream["id"].as_i64().expect("id"))
        .await;
    for key in ["id", "project_id", "ref", "sha", "status"] {
        assert_eq!(downstream[key], expected[key], "{key}");
    }
}

#[tokio::test]
async fn get_pipeline_bridges_authorized_user_filter_bridges_with_one_scope_element() {
    let (t, project, pipeline, user) = bridge_fixture(MANY_BRIDGES).await;
    let json = list_bridges(&t, Some(&user.token), project, pipeline, "?scope=manual")
        .await
        .expect_status(StatusCode::OK)
        .json();
    let bridges = json.as_array().expect("array");
    assert_eq!(bridges.len(), 1);
    assert_eq!(bridges[0]["status"], "manual");
}

#[tokio::test]
async fn get_pipeline_bridges_authorized_user_filter_bridges_with_array_of_scope_elements() {
    let (t, project, pipeline, user) = bridge_fixture(MANY_BRIDGES).await;
    let json = list_bridges(
        &t,
        Some(&user.token),
        project,
        pipeline,
        "?scope[]=manual&scope[]=created",
    )
    .await
    .expect_status(StatusCode::OK)
    .json();
    let bridges = json.as_array().expect("array");
    assert_eq!(bridges.len(), 2);
    for bridge in bridges {
        assert!(["manual", "created"].contains(&bridge["status"].as_str().unwrap_or_default()));
    }
}

#[tokio::test]
async fn get_pipeline_bridges_authorized_user_respond_400_when_scope_contains_invalid_state() {
    let (t, project, pipeline, user) = bridge_fixture(ONE_BRIDGE).await;
    for query in [
        "?scope[]=unknown&scope[]=running",
        "?scope[unknown]=true",
        "?scope=unknown",
    ] {
        let response = list_bridges(&t, Some(&user.token), project, pipeline, query).await;
        assert_error(
            &response,
            StatusCode::BAD_REQUEST,
            "scope does not have a valid value",
        );
    }
}

#[tokio::test]
async fn get_pipeline_bridges_authorized_user_bridges_in_different_pipelines_excludes_bridges_from_other_pipelines()
 {
    let (t, project, pipeline, user) = bridge_fixture(ONE_BRIDGE).await;
    t.update_ci(
        ROOT_TOKEN,
        project,
        "bridge2:\n  trigger:\n    include: child.yml\n",
    )
    .await;
    pipewright_core::downstream::DownstreamQueue::drain(&t.app).await;
    let json = list_bridges(&t, Some(&user.token), project, pipeline, "")
        .await
        .expect_status(StatusCode::OK)
        .json();
    let bridges = json.as_array().expect("array");
    assert_eq!(bridges.len(), 1);
    for bridge in bridges {
        assert_eq!(bridge["pipeline"]["id"], pipeline);
    }
}

#[tokio::test]
async fn get_pipeline_bridges_no_pipeline_is_found_does_not_return_bridges() {
    let (t, _, pipeline, user) = bridge_fixture(ONE_BRIDGE).await;
    let project2 = t
        .create_project(ROOT_TOKEN, json!({ "name": "project2" }))
        .await["id"]
        .as_i64()
        .expect("id");
    let response = list_bridges(&t, Some(&user.token), project2, pipeline, "").await;
    assert_message(&response, StatusCode::NOT_FOUND, "404 Project Not Found");
}

#[tokio::test]
async fn get_pipeline_bridges_unauthorized_user_when_user_is_not_logged_in_does_not_return_bridges()
{
    let (t, project, pipeline, _) = bridge_fixture(ONE_BRIDGE).await;
    let response = list_bridges(&t, None, project, pipeline, "").await;
    assert_message(&response, StatusCode::NOT_FOUND, "404 Project Not Found");
}

#[tokio::test]
async fn get_pipeline_bridges_unauthorized_user_when_user_is_guest_does_not_return_bridges() {
    let (t, project, pipeline, _) = bridge_fixture(ONE_BRIDGE).await;
    let guest = member(&t, project, "guest", GUEST).await;
    let response = list_bridges(&t, Some(&guest.token), project, pipeline, "").await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
}

#[tokio::test]
async fn get_pipeline_bridges_unauthorized_user_when_user_has_no_read_build_access_for_project_does_not_return_bridges()
 {
    // GitLab demotes its Maintainer to Guest; a Guest of the project is the same caller.
    let (t, project, pipeline, _) = bridge_fixture(ONE_BRIDGE).await;
    let demoted = member(&t, project, "demoted", GUEST).await;
    let response = list_bridges(&t, Some(&demoted.token), project, pipeline, "").await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
}

// ---- beyond the spec: what its fixtures take for granted ---------------------------------

#[tokio::test]
async fn get_job_allowed_agents_the_environment_is_the_expanded_persisted_one() {
    // GitLab persists the expanded environment name; its slug and tier follow from it.
    let t = TestApp::new().await;
    let yaml = "review:\n  script: x\n  environment:\n    name: review/$CI_COMMIT_REF_NAME\n";
    t.project_with_ci(yaml).await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    assert_eq!(
        job.variable("CI_ENVIRONMENT_SLUG").as_deref(),
        Some("review-main-yi2y9f")
    );
    let answer = t
        .get("/api/v4/job/allowed_agents")
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        answer["environment"],
        json!({ "tier": "development", "slug": "review-main-yi2y9f" })
    );
}

/// A job entity without the values that grow with the clock while a job waits or runs.
fn without_clock(mut job: Value) -> Value {
    if let Some(object) = job.as_object_mut() {
        object.remove("duration");
        object.remove("queued_duration");
    }
    job
}

#[tokio::test]
async fn every_job_answer_is_exactly_the_job_entity_of_e6() {
    let spec = Spec::new().await;
    let maintainer = member(&spec.t, spec.project(), "maintainer", MAINTAINER).await;
    // E4 answers the token's job exactly as E6 shows it.
    let running = spec.running_job().await;
    let current = current_job_by_header(&spec, &running).await;
    assert_eq!(
        without_clock(current),
        without_clock(spec.job_entity(running.id).await)
    );
    // E8 on a finished job: the job as it is.
    let cancel = spec
        .t
        .post(&spec.path(&format!("/jobs/{}/cancel", spec.job)))
        .token(&spec.user.token)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(cancel, spec.job_entity(spec.job).await);
    // E9: the new job.
    let retried = spec
        .t
        .post(&spec.path(&format!("/jobs/{}/retry", spec.job)))
        .token(&spec.user.token)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    let new_id = retried["id"].as_i64().expect("id");
    assert_eq!(
        without_clock(retried),
        without_clock(spec.job_entity(new_id).await)
    );
    // E10: the erased job.
    spec.t.succeed(&running).await;
    let second = second_job(&spec).await;
    let erased = erase(&spec, &maintainer.token, second)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(erased, spec.job_entity(second).await);
    // E11: the played job.
    spec.push("manual:\n  script: x\n  when: manual\n  tags: [nobody]\n")
        .await;
    let manual = list_jobs(&spec, Some(ROOT_TOKEN), "?scope=manual")
        .await
        .expect_status(StatusCode::OK)
        .jobs()[0]["id"]
        .as_i64()
        .expect("id");
    let played = play(&spec, &spec.user.token, manual, None)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_eq!(
        without_clock(played),
        without_clock(spec.job_entity(manual).await)
    );
}

#[tokio::test]
async fn a_canceling_job_keeps_its_token_until_force_cancel_revokes_it() {
    let spec = Spec::new().await;
    let maintainer = member(&spec.t, spec.project(), "maintainer", MAINTAINER).await;
    spec.push("graceful:\n  script: x\n  tags: [linux]\n").await;
    let payload = spec
        .t
        .request_job_with(json!({
            "token": spec.runner.token,
            "info": { "features": { "cancel_gracefully": true } },
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let (id, token) = (
        payload["id"].as_i64().expect("id"),
        payload["token"].as_str().expect("token").to_owned(),
    );
    let canceling = spec
        .t
        .post(&spec.path(&format!("/jobs/{id}/cancel")))
        .token(&spec.user.token)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(canceling["status"], "canceling");
    // `canceling` is still executing: the token works.
    let current = spec
        .t
        .get("/api/v4/job")
        .job_token(&token)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_eq!(current["status"], "canceling");
    // Force needs a Maintainer, even when it would change nothing for a Developer's job.
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{id}/cancel?force=true")))
        .token(&spec.user.token)
        .await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
    let forced = spec
        .t
        .post(&spec.path(&format!("/jobs/{id}/cancel?force=true")))
        .token(&maintainer.token)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(forced["status"], "canceled");
    let response = spec.t.get("/api/v4/job").job_token(&token).await;
    assert_message(&response, StatusCode::UNAUTHORIZED, "401 Unauthorized");
}

#[tokio::test]
async fn playing_a_delayed_job_enqueues_it_and_playing_a_finished_manual_job_retries_it() {
    let spec = Spec::new().await;
    spec.push(
        "delayed:\n  script: x\n  when: delayed\n  start_in: 1 hour\n  tags: [linux]\n\
         manual:\n  script: x\n  when: manual\n  tags: [linux]\n",
    )
    .await;
    let scheduled = list_jobs(&spec, Some(ROOT_TOKEN), "?scope=scheduled")
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let delayed = scheduled[0]["id"].as_i64().expect("id");
    let played = play(&spec, &spec.user.token, delayed, None)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_eq!(played["id"], delayed);
    assert_eq!(played["status"], "pending");

    let manual = list_jobs(&spec, Some(ROOT_TOKEN), "?scope=manual")
        .await
        .expect_status(StatusCode::OK)
        .jobs()[0]["id"]
        .as_i64()
        .expect("id");
    play(&spec, &spec.user.token, manual, None)
        .await
        .expect_status(StatusCode::OK);
    spec.t.drain(&spec.runner, "success").await;
    assert_eq!(status_of(&spec, manual).await, "success");
    let again = play(&spec, &spec.user.token, manual, None)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_ne!(again["id"], manual);
    assert_eq!(again["name"], "manual");
    assert_eq!(again["status"], "pending");
    assert_eq!(again["user"]["id"], spec.user.id);
}

#[tokio::test]
async fn job_ids_are_integers() {
    let spec = Spec::new().await;
    for path in ["/jobs/1.5", "/jobs/abc/trace"] {
        let response = spec.t.get(&spec.path(path)).token(&spec.user.token).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "job_id is invalid");
    }
    for action in ["cancel", "retry", "erase", "play"] {
        let response = spec
            .t
            .post(&spec.path(&format!("/jobs/x/{action}")))
            .token(&spec.user.token)
            .await;
        assert_error(&response, StatusCode::BAD_REQUEST, "job_id is invalid");
    }
    // Any integer is a valid id: unknown ones are record lookups.
    for path in ["/jobs/-1", "/jobs/0", "/jobs/99999999999"] {
        let response = spec.t.get(&spec.path(path)).token(&spec.user.token).await;
        assert_message(&response, StatusCode::NOT_FOUND, "404 Not found");
    }
}

#[tokio::test]
async fn play_variables_are_coerced_to_strings_like_grape_does() {
    let (spec, manual) = manual_build().await;
    play(
        &spec,
        &spec.user.token,
        manual,
        Some(json!({ "job_variables_attributes": [
            { "key": "COUNT", "value": 3 },
            { "key": "FLAG", "value": true },
        ] })),
    )
    .await
    .expect_status(StatusCode::OK);
    let claimed = spec.t.claim(&spec.runner).await;
    assert_eq!(claimed.id, manual);
    assert_eq!(claimed.variable("COUNT").as_deref(), Some("3"));
    assert_eq!(claimed.variable("FLAG").as_deref(), Some("true"));
    // Arrays and hashes are not strings.
    let (spec, manual) = manual_build().await;
    let response = play(
        &spec,
        &spec.user.token,
        manual,
        Some(json!({ "job_variables_attributes": [{ "key": "A", "value": ["x"] }] })),
    )
    .await;
    assert_error(
        &response,
        StatusCode::BAD_REQUEST,
        "job_variables_attributes[0][value] is invalid",
    );
}

#[tokio::test]
async fn blank_integer_and_boolean_params_are_nil_so_their_defaults_apply() {
    // Grape coerces `''` to nil for non-String types; a nil optional param takes its default.
    let spec = Spec::new().await;
    let (retried_spec, user, _) = with_retried_job().await;
    let response = list_jobs(&spec, Some(&spec.user.token), "?page=&per_page=")
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(response.header("x-page"), Some("1"));
    assert_eq!(response.header("x-per-page"), Some("20"));
    let jobs = pipeline_jobs(
        &retried_spec,
        Some(&user.token),
        retried_spec.ci.pipeline_id,
        "?include_retried=",
    )
    .await
    .expect_status(StatusCode::OK)
    .jobs();
    assert_eq!(jobs.len(), 1);
    // `force=` is no force: a Developer may cancel.
    spec.t
        .post(&spec.path(&format!("/jobs/{}/cancel?force=", spec.job)))
        .token(&spec.user.token)
        .await
        .expect_status(StatusCode::CREATED);
    // `on` is true, as for Grape's Boolean.
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{}/cancel?force=on", spec.job)))
        .token(&spec.user.token)
        .await;
    assert_message(&response, StatusCode::FORBIDDEN, "403 Forbidden");
}

#[tokio::test]
async fn cancel_moves_every_waiting_state_to_canceled() {
    let spec = Spec::new().await;
    spec.push(
        "stages: [a, b]\npending:\n  stage: a\n  script: x\n  tags: [nobody]\n\
         manual:\n  stage: a\n  script: x\n  when: manual\n\
         delayed:\n  stage: a\n  script: x\n  when: delayed\n  start_in: 1 hour\n\
         created:\n  stage: b\n  script: x\n",
    )
    .await;
    let jobs = list_jobs(
        &spec,
        Some(ROOT_TOKEN),
        "?scope[]=pending&scope[]=manual&scope[]=scheduled&scope[]=created",
    )
    .await
    .expect_status(StatusCode::OK)
    .jobs();
    assert_eq!(jobs.len(), 4, "{jobs:?}");
    for job in jobs {
        let canceled = spec
            .t
            .post(&spec.path(&format!("/jobs/{}/cancel", job["id"])))
            .token(&spec.user.token)
            .await
            .expect_status(StatusCode::CREATED)
            .job();
        assert_eq!(canceled["status"], "canceled", "{}", job["status"]);
        assert!(canceled["finished_at"].is_string());
    }
}

#[tokio::test]
async fn a_job_that_was_retried_is_not_retryable_again() {
    let (spec, user, successor) = with_retried_job().await;
    let response = spec
        .t
        .post(&spec.path(&format!("/jobs/{}/retry", spec.job)))
        .token(&user.token)
        .await;
    assert_message(
        &response,
        StatusCode::FORBIDDEN,
        "403 Forbidden - Job is not retryable",
    );
    assert_eq!(status_of(&spec, successor).await, "pending");
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_answer_like_the_router() {
    let spec = Spec::new().await;
    for (method, path) in [
        ("GET", format!("/jobs/{}/cancel", spec.job)),
        ("GET", format!("/jobs/{}/retry", spec.job)),
        ("DELETE", format!("/jobs/{}", spec.job)),
        ("POST", "/jobs".to_owned()),
    ] {
        let request = match method {
            "GET" => spec.t.get(&spec.path(&path)),
            "DELETE" => spec.t.delete(&spec.path(&path)),
            _ => spec.t.post(&spec.path(&path)),
        };
        let response = request.token(&spec.user.token).await;
        assert_error(&response, StatusCode::METHOD_NOT_ALLOWED, "405 Not Allowed");
        assert!(response.header("allow").is_some(), "{method} {path}");
    }
    let response = spec
        .t
        .get(&spec.path(&format!("/jobs/{}/nothing", spec.job)))
        .token(&spec.user.token)
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "404 Not Found");
    let response = spec.t.put("/api/v4/job").token(&spec.user.token).await;
    assert_error(&response, StatusCode::METHOD_NOT_ALLOWED, "405 Not Allowed");
}
