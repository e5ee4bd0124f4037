//! Test harness for the HTTP edge: the real router over a real SQLite database and real git
//! repositories in a temporary directory, driven request by request with
//! `tower::ServiceExt::oneshot`. No socket, no runner process, no sleeps.
//!
//! # Starting
//!
//! `TestApp::new().await` creates a fresh data directory (dropped with the `TestApp`), opens
//! `db.sqlite` in it, builds `pipewright_core::App` with the external URL [`EXTERNAL_URL`] and
//! bootstraps the administrator `root` (id 1) whose `api` token is [`ROOT_TOKEN`]. Every test
//! owns its `TestApp`, so ids start at 1 in each test and tests never see each other's data.
//!
//! # Requests
//!
//! `app.get(path)`, `post`, `put`, `patch`, `delete`, `head` return a [`RequestBuilder`];
//! paths are complete (`/api/v4/...`). Choose the credential with `.token(pat)`
//! (`PRIVATE-TOKEN`), `.bearer(token)` (`Authorization: Bearer`), `.job_token(token)`
//! (`JOB-TOKEN`) or nothing (anonymous); set a body with `.json(value)`, `.form("a=1&b=2")`
//! or `.body(bytes)`; then `.await` it. The answer is a [`Response`]: `status`, `headers`,
//! raw `body`, with `.json()` (a `serde_json::Value`, order-insensitive), `.ordered()` (an
//! [`Ordered`] that keeps keys in wire order, for key-order checks and snapshots), `.text()`,
//! `.header(name)` and `.expect_status(code)` (panics with the body when the status differs).
//!
//! Responses that contain jobs are read with `.job()` / `.jobs()`: both run
//! [`assert_job_shape`] (GitLab's job entity: key order, value types, no extra keys,
//! `failure_reason` only on failed jobs) on every job before returning it. Use them for
//! every job-bearing response so the shape check covers all of them.
//!
//! # Fixtures
//!
//! * users: `create_user(username)` -> [`TestUser`] (made by root, with an `api` token);
//!   `create_token(user_id, scopes, expires_at)` -> (token id, clear token).
//! * projects: `create_project(token, body)`; `project_with_ci(yaml)` creates `root/demo`
//!   and commits `.gitlab-ci.yml` to `main`, which starts a push pipeline ([`CiProject`]);
//!   `project_with_ci_as(token, name, extra attributes, yaml)` for other owners/settings;
//!   `update_ci(token, project, yaml)` pushes again and returns the new pipeline's id.
//!   A new push auto-cancels an older pipeline of the same ref if nothing in it started.
//! * repository: `commit(token, project, branch, actions)` through the Commits API.
//! * pipelines and jobs (as root): `pipeline(project, id)`, `pipeline_status`,
//!   `latest_pipeline(token, project)`, `pipeline_jobs(project, pipeline)` (E2 with retried
//!   jobs, keyed by name, latest attempt), `job_statuses`, `job_id(project, pipeline, name)`,
//!   `job(project, job_id)` (E6, shape-checked).
//! * runners: `instance_runner()` / `create_runner(token, body)` -> [`TestRunner`], then
//!   drive jobs like a runner does: `request_job` / `request_job_with(body)`, `claim`
//!   (expects 201, returns a [`ClaimedJob`] with id, token and payload), `append_trace`
//!   (`PATCH /jobs/:id/trace` with `JOB-TOKEN` and `Content-Range: start-end`), `update_job`
//!   (`PUT /jobs/:id`), `succeed` / `fail(job, reason, exit_code)`, `run_next(runner, log,
//!   state)` for one job's whole life, and `drain(runner, state)` to run every job the
//!   runner can get until it answers 204.
//!
//! # Snapshots
//!
//! [`ordered::redact`] replaces what changes between runs (timestamps, ids, shas, tokens,
//! durations) with placeholders; use it with `insta::assert_json_snapshot!` on an
//! [`Ordered`] so the snapshot keeps GitLab's key order. Snapshots live in
//! `tests/api/snapshots/`; after an intended change, re-run with `INSTA_UPDATE=always` (or
//! `cargo insta review`) and review the diff like code.
//!
//! # Layout and known bugs
//!
//! One test binary, `tests/api.rs`, with one module per area in `tests/api/`. A test that
//! shows a product bug is `#[ignore = "bug: ..."]`; list them with
//! `cargo test -p pipewright-http --test api -- --ignored` (each must fail until fixed,
//! then lose its `ignore`).

#![allow(
    dead_code,
    reason = "a harness: each test module uses a different subset of it"
)]

pub mod ordered;
pub mod shape;

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub use ordered::Ordered;
pub use shape::assert_job_shape;

/// The token of `root`, set at bootstrap.
pub const ROOT_TOKEN: &str = "root-token";
/// What the server believes its public address is (`web_url`s, clone URLs, `Link`s).
pub const EXTERNAL_URL: &str = "http://pw.example";
/// `git_info.before_sha` and friends for "no previous commit".
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// One server: its data directory, its `App` (for the rare direct look) and its router.
pub struct TestApp {
    pub app: pipewright_core::App,
    router: Router,
    dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = pipewright_store::Store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .expect("open sqlite");
        let config = pipewright_core::Config::new(dir.path(), EXTERNAL_URL);
        let app = pipewright_core::App::new(store, config).expect("app");
        pipewright_core::users::bootstrap_root(&app, Some(ROOT_TOKEN))
            .await
            .expect("bootstrap root");
        TestApp {
            router: pipewright_http::router(app.clone()),
            app,
            dir,
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        RequestBuilder {
            router: self.router.clone(),
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn head(&self, path: &str) -> RequestBuilder {
        self.request(Method::HEAD, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    // ---- users and tokens -------------------------------------------------------------

    /// A regular (non-admin) user `<username>` with an `api` token.
    pub async fn create_user(&self, username: &str) -> TestUser {
        let user = self
            .post("/api/v4/users")
            .token(ROOT_TOKEN)
            .json(json!({
                "username": username,
                "name": format!("User {username}"),
                "email": format!("{username}@example.com"),
            }))
            .await
            .expect_status(StatusCode::CREATED)
            .json();
        let id = user["id"].as_i64().expect("user id");
        let (_, token) = self.create_token(id, &["api"], None).await;
        TestUser {
            id,
            username: username.to_owned(),
            token,
        }
    }

    /// A personal access token for `user_id` (made by root): (token id, clear token).
    pub async fn create_token(
        &self,
        user_id: i64,
        scopes: &[&str],
        expires_at: Option<&str>,
    ) -> (i64, String) {
        let mut body = json!({ "name": "test token", "scopes": scopes });
        if let Some(date) = expires_at {
            body["expires_at"] = json!(date);
        }
        let token = self
            .post(&format!("/api/v4/users/{user_id}/personal_access_tokens"))
            .token(ROOT_TOKEN)
            .json(body)
            .await
            .expect_status(StatusCode::CREATED)
            .json();
        (
            token["id"].as_i64().expect("token id"),
            token["token"].as_str().expect("clear token").to_owned(),
        )
    }

    // ---- projects and repositories ----------------------------------------------------

    /// `POST /projects` as `token`; asserts 201 and returns the project.
    pub async fn create_project(&self, token: &str, body: Value) -> Value {
        self.post("/api/v4/projects")
            .token(token)
            .json(body)
            .await
            .expect_status(StatusCode::CREATED)
            .json()
    }

    /// `POST /projects/:id/repository/commits`; asserts 201 and returns the commit.
    pub async fn commit(&self, token: &str, project: i64, branch: &str, actions: Value) -> Value {
        self.post(&format!("/api/v4/projects/{project}/repository/commits"))
            .token(token)
            .json(json!({
                "branch": branch,
                "commit_message": format!("Change {branch}"),
                "actions": actions,
            }))
            .await
            .expect_status(StatusCode::CREATED)
            .json()
    }

    /// Root's project `root/demo` with `.gitlab-ci.yml` committed to `main`: the commit
    /// starts a push pipeline, whose jobs are already processed (first stage `pending`).
    pub async fn project_with_ci(&self, yaml: &str) -> CiProject {
        self.project_with_ci_as(ROOT_TOKEN, "demo", json!({}), yaml)
            .await
    }

    /// Like [`Self::project_with_ci`] for any owner, name and extra project attributes.
    pub async fn project_with_ci_as(
        &self,
        token: &str,
        name: &str,
        extra: Value,
        yaml: &str,
    ) -> CiProject {
        let mut body = json!({ "name": name });
        if let (Some(target), Value::Object(extra)) = (body.as_object_mut(), extra) {
            target.extend(extra);
        }
        let project = self.create_project(token, body).await;
        let project_id = project["id"].as_i64().expect("project id");
        let commit = self
            .commit(
                token,
                project_id,
                "main",
                json!([{ "action": "create", "file_path": ".gitlab-ci.yml", "content": yaml }]),
            )
            .await;
        let pipeline = self.latest_pipeline(token, project_id).await;
        CiProject {
            project_id,
            full_path: project["path_with_namespace"]
                .as_str()
                .expect("path")
                .to_owned(),
            pipeline_id: pipeline["id"].as_i64().expect("pipeline id"),
            sha: commit["id"].as_str().expect("sha").to_owned(),
        }
    }

    /// Replaces `.gitlab-ci.yml` on `main` (a new push pipeline); returns its id.
    pub async fn update_ci(&self, token: &str, project: i64, yaml: &str) -> i64 {
        self.commit(
            token,
            project,
            "main",
            json!([{ "action": "update", "file_path": ".gitlab-ci.yml", "content": yaml }]),
        )
        .await;
        self.latest_pipeline(token, project).await["id"]
            .as_i64()
            .expect("pipeline id")
    }

    /// The newest pipeline of a project (the list is newest first).
    pub async fn latest_pipeline(&self, token: &str, project: i64) -> Value {
        let list = self
            .get(&format!("/api/v4/projects/{project}/pipelines?per_page=1"))
            .token(token)
            .await
            .expect_status(StatusCode::OK)
            .json();
        list[0].clone()
    }

    /// `GET /projects/:id/pipelines/:pipeline_id` as root.
    pub async fn pipeline(&self, project: i64, pipeline: i64) -> Value {
        self.get(&format!("/api/v4/projects/{project}/pipelines/{pipeline}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .json()
    }

    pub async fn pipeline_status(&self, project: i64, pipeline: i64) -> String {
        self.pipeline(project, pipeline).await["status"]
            .as_str()
            .expect("status")
            .to_owned()
    }

    /// E2 as root, retried jobs included, keyed by job name (the latest attempt wins).
    pub async fn pipeline_jobs(
        &self,
        project: i64,
        pipeline: i64,
    ) -> std::collections::BTreeMap<String, Value> {
        let jobs = self
            .get(&format!(
                "/api/v4/projects/{project}/pipelines/{pipeline}/jobs?per_page=100"
            ))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .jobs();
        let mut by_name = std::collections::BTreeMap::new();
        for job in jobs {
            let name = job["name"].as_str().expect("name").to_owned();
            let newer = by_name
                .get(&name)
                .is_none_or(|seen: &Value| seen["id"].as_i64() < job["id"].as_i64());
            if newer {
                by_name.insert(name, job);
            }
        }
        by_name
    }

    /// `status` of every job of a pipeline, by name.
    pub async fn job_statuses(
        &self,
        project: i64,
        pipeline: i64,
    ) -> std::collections::BTreeMap<String, String> {
        self.pipeline_jobs(project, pipeline)
            .await
            .into_iter()
            .map(|(name, job)| (name, job["status"].as_str().expect("status").to_owned()))
            .collect()
    }

    /// The id of the job called `name` in a pipeline.
    pub async fn job_id(&self, project: i64, pipeline: i64, name: &str) -> i64 {
        self.pipeline_jobs(project, pipeline).await[name]["id"]
            .as_i64()
            .expect("job id")
    }

    /// E6 as root (shape-checked).
    pub async fn job(&self, project: i64, job: i64) -> Value {
        self.get(&format!("/api/v4/projects/{project}/jobs/{job}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .job()
    }

    // ---- runners ----------------------------------------------------------------------

    /// An untagged instance runner made by root.
    pub async fn instance_runner(&self) -> TestRunner {
        self.create_runner(
            ROOT_TOKEN,
            json!({ "runner_type": "instance_type", "description": "test runner" }),
        )
        .await
    }

    /// `POST /user/runners`; asserts 201.
    pub async fn create_runner(&self, token: &str, body: Value) -> TestRunner {
        let runner = self
            .post("/api/v4/user/runners")
            .token(token)
            .json(body)
            .await
            .expect_status(StatusCode::CREATED)
            .json();
        TestRunner {
            id: runner["id"].as_i64().expect("runner id"),
            token: runner["token"].as_str().expect("runner token").to_owned(),
        }
    }

    /// `POST /jobs/request` the way both runners send it.
    pub async fn request_job(&self, runner: &TestRunner) -> Response {
        self.request_job_with(json!({
            "token": runner.token,
            "info": { "name": "test-runner", "features": { "refspecs": true } },
        }))
        .await
    }

    pub async fn request_job_with(&self, body: Value) -> Response {
        self.post("/api/v4/jobs/request").json(body).await
    }

    /// Asks for a job and expects one (201).
    pub async fn claim(&self, runner: &TestRunner) -> ClaimedJob {
        let payload = self
            .request_job(runner)
            .await
            .expect_status(StatusCode::CREATED)
            .json();
        ClaimedJob {
            id: payload["id"].as_i64().expect("job id"),
            token: payload["token"].as_str().expect("job token").to_owned(),
            payload,
        }
    }

    /// `PATCH /jobs/:id/trace` with `JOB-TOKEN` and `Content-Range: start-end`.
    pub async fn append_trace(
        &self,
        job: i64,
        token: &str,
        start: usize,
        bytes: &[u8],
    ) -> Response {
        let end = (start + bytes.len()).saturating_sub(1);
        self.patch(&format!("/api/v4/jobs/{job}/trace"))
            .job_token(token)
            .header("content-type", "text/plain")
            .header("content-range", &format!("{start}-{end}"))
            .body(bytes.to_vec())
            .await
    }

    /// `PUT /jobs/:id` with a JSON body (the token goes into the body, as runners send it).
    pub async fn update_job(&self, job: i64, body: Value) -> Response {
        self.put(&format!("/api/v4/jobs/{job}")).json(body).await
    }

    pub async fn succeed(&self, job: &ClaimedJob) -> Response {
        self.update_job(job.id, json!({ "token": job.token, "state": "success" }))
            .await
            .expect_status(StatusCode::OK)
    }

    pub async fn fail(&self, job: &ClaimedJob, reason: &str, exit_code: i32) -> Response {
        self.update_job(
            job.id,
            json!({
                "token": job.token,
                "state": "failed",
                "failure_reason": reason,
                "exit_code": exit_code,
            }),
        )
        .await
        .expect_status(StatusCode::OK)
    }

    /// One job's whole life: claim, one log chunk, final state (`success` or `failed`).
    pub async fn run_next(&self, runner: &TestRunner, log: &str, state: &str) -> ClaimedJob {
        let job = self.claim(runner).await;
        if !log.is_empty() {
            self.append_trace(job.id, &job.token, 0, log.as_bytes())
                .await
                .expect_status(StatusCode::ACCEPTED);
        }
        match state {
            "success" => {
                self.succeed(&job).await;
            }
            _ => {
                self.fail(&job, "script_failure", 1).await;
            }
        }
        job
    }

    /// Runs every job the runner gets until it gets none (204), each ending with `state`;
    /// returns the ids in the order they ran.
    pub async fn drain(&self, runner: &TestRunner, state: &str) -> Vec<i64> {
        let mut ran = Vec::new();
        loop {
            let response = self.request_job(runner).await;
            if response.status == StatusCode::NO_CONTENT {
                return ran;
            }
            let payload = response.expect_status(StatusCode::CREATED).json();
            let job = ClaimedJob {
                id: payload["id"].as_i64().expect("job id"),
                token: payload["token"].as_str().expect("job token").to_owned(),
                payload,
            };
            match state {
                "success" => self.succeed(&job).await,
                _ => self.fail(&job, "script_failure", 1).await,
            };
            ran.push(job.id);
        }
    }
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct CiProject {
    pub project_id: i64,
    pub full_path: String,
    pub pipeline_id: i64,
    pub sha: String,
}

#[derive(Debug, Clone)]
pub struct TestRunner {
    pub id: i64,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub token: String,
    pub payload: Value,
}

impl ClaimedJob {
    /// A payload variable, "last one wins" like the runners resolve duplicates.
    pub fn variable(&self, key: &str) -> Option<String> {
        self.payload["variables"]
            .as_array()
            .expect("variables array")
            .iter()
            .rev()
            .find(|variable| variable["key"] == key)
            .map(|variable| variable["value"].as_str().expect("value").to_owned())
    }
}

/// One request being built; `.await` sends it.
pub struct RequestBuilder {
    router: Router,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RequestBuilder {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `PRIVATE-TOKEN: <pat>`.
    pub fn token(self, token: &str) -> Self {
        self.header("private-token", token)
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// `JOB-TOKEN: <token>`.
    pub fn job_token(self, token: &str) -> Self {
        self.header("job-token", token)
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = serde_json::to_vec(&body).expect("json body");
        self.header("content-type", "application/json")
    }

    pub fn form(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    pub async fn send(self) -> Response {
        let mut request = Request::builder().method(self.method).uri(&self.path);
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request.body(Body::from(self.body)).expect("request");
        let response = self.router.oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Response {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

impl IntoFuture for RequestBuilder {
    type Output = Response;
    type IntoFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A complete answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// Panics (showing the body) unless the status is `expected`.
    #[track_caller]
    pub fn expect_status(self, expected: StatusCode) -> Self {
        assert_eq!(
            self.status,
            expected,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "body is not JSON ({err}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body with object keys in wire order.
    #[track_caller]
    pub fn ordered(&self) -> Ordered {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "body is not JSON ({err}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).expect("utf-8 body")
    }

    /// A header as text (`None` when absent).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("ascii header"))
    }

    /// One job entity (E6), shape-checked.
    #[track_caller]
    pub fn job(&self) -> Value {
        let ordered = self.ordered();
        assert_job_shape(&ordered);
        ordered.to_value()
    }

    /// A list of job entities (E1, E2), each shape-checked.
    #[track_caller]
    pub fn jobs(&self) -> Vec<Value> {
        let Ordered::Array(items) = self.ordered() else {
            panic!("expected a JSON array: {}", self.text());
        };
        items
            .iter()
            .map(|job| {
                assert_job_shape(job);
                job.to_value()
            })
            .collect()
    }

    /// The offset pagination headers, in a fixed order, for exact comparisons; absent
    /// headers are left out.
    pub fn pagination_headers(&self) -> Vec<(&'static str, String)> {
        [
            "x-page",
            "x-per-page",
            "x-next-page",
            "x-prev-page",
            "x-total",
            "x-total-pages",
            "link",
        ]
        .into_iter()
        .filter_map(|name| self.header(name).map(|value| (name, value.to_owned())))
        .collect()
    }
}

/// Headers every `/api/v4` answer carries (jobs-api.md §1.1).
#[track_caller]
pub fn assert_api_headers(response: &Response) {
    assert_eq!(
        response.header("x-frame-options"),
        Some("SAMEORIGIN"),
        "X-Frame-Options"
    );
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "X-Content-Type-Options"
    );
}

/// `Content-Type: application/json` (parameters allowed).
#[track_caller]
pub fn assert_json_content_type(response: &Response) {
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type:?}"
    );
}
