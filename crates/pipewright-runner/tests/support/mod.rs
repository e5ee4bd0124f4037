//! An in-test server that plays GitLab's side of the runner protocol faithfully enough to
//! exercise the runner: verify, job hand-out with `X-GitLab-Last-Update`, the trace append
//! rule (416 + `Range`), `Job-Status` on every answer, 403 for jobs no longer running, and a
//! few knobs to inject the awkward cases (lost answers, 202 on the final update, cancel).

#![expect(dead_code, reason = "each test binary uses a different subset")]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post, put};
use pipewright_protocol::{
    JobInfo, JobRequest, JobResponse, JobRunnerInfo, JobState, JobVariable, Step, UpdateJobRequest,
    VerifyRequest, VerifyResponse, When, header, range,
};
use pipewright_runner::RunnerConfig;
use tokio_util::sync::CancellationToken;

pub const RUNNER_TOKEN: &str = "glrt-test-runner";
pub const RUNNER_ID: i64 = 17;

/// Scenario knobs of one job.
#[derive(Debug, Clone, Default)]
pub struct Knobs {
    /// Append the first PATCH but answer 502, as if the answer got lost.
    pub lose_first_patch_answer: bool,
    /// Answer 202 to the first final update.
    pub accept_final_once: bool,
    /// When the log contains this text, switch the job to this status.
    pub status_when_log_contains: Option<(String, &'static str)>,
    /// On the first `state=running` keep-alive, switch the job to this status.
    pub status_on_keepalive: Option<&'static str>,
}

#[derive(Debug, Default)]
pub struct JobRecord {
    pub token: String,
    pub status: String,
    pub log: Vec<u8>,
    pub knobs: Knobs,
    pub patches: usize,
    pub resyncs: usize,
    pub keepalives: usize,
    /// Every final (`success`/`failed`) update received, including those answered 202.
    pub final_updates: Vec<UpdateJobRequest>,
    pub artifacts: Vec<Uploaded>,
}

/// One `POST /jobs/:id/artifacts`.
#[derive(Debug, Clone, Default)]
pub struct Uploaded {
    pub artifact_type: String,
    pub artifact_format: String,
    pub expire_in: Option<String>,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl JobRecord {
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log).into_owned()
    }

    fn executing(&self) -> bool {
        matches!(self.status.as_str(), "running" | "canceling")
    }
}

#[derive(Default)]
pub struct FakeState {
    /// Payloads to hand out, as JSON so that tests can send broken ones.
    pub queue: VecDeque<(serde_json::Value, Knobs)>,
    pub jobs: HashMap<i64, JobRecord>,
    pub job_requests: Vec<JobRequest>,
    pub verifies: usize,
    version: u64,
}

#[derive(Clone, Default)]
pub struct Fake(pub Arc<Mutex<FakeState>>);

impl Fake {
    pub fn push(&self, job: JobResponse, knobs: Knobs) {
        self.push_raw(serde_json::to_value(job).expect("job json"), knobs);
    }

    /// Queues a payload as is; it must carry `id` and `token`.
    pub fn push_raw(&self, job: serde_json::Value, knobs: Knobs) {
        let mut state = self.lock();
        state.queue.push_back((job, knobs));
        // A new pending job changes the runner's queue version.
        state.version += 1;
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.0.lock().expect("fake state lock")
    }

    /// Polls `check` until it returns `Some`, failing the test after a generous bound.
    pub async fn wait_for<T>(&self, what: &str, check: impl Fn(&FakeState) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(value) = check(&self.lock()) {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until job `id` is no longer running (final update applied, or canceled).
    pub async fn wait_final(&self, id: i64) -> UpdateJobRequest {
        self.wait_for("the final update", |s| {
            let job = s.jobs.get(&id)?;
            if job.executing() {
                return None;
            }
            job.final_updates.last().cloned()
        })
        .await
    }

    pub fn job(&self, id: i64) -> JobSnapshot {
        let state = self.lock();
        let job = state.jobs.get(&id).expect("job was handed out");
        JobSnapshot {
            status: job.status.clone(),
            log: job.log_text(),
            log_bytes: job.log.clone(),
            patches: job.patches,
            resyncs: job.resyncs,
            final_updates: job.final_updates.clone(),
            artifacts: job.artifacts.clone(),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/v4/runners/verify", post(verify))
            .route("/api/v4/jobs/request", post(request_job))
            .route("/api/v4/jobs/{id}", put(update_job))
            .route("/api/v4/jobs/{id}/trace", patch(patch_trace))
            .route(
                "/api/v4/jobs/{id}/artifacts",
                post(upload_artifact).get(download_artifacts),
            )
            .with_state(self.clone())
    }

    /// Serves on a fresh loopback port; returns the web root.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        self.serve_on(listener);
        format!("http://{addr}")
    }

    pub fn serve_on(&self, listener: tokio::net::TcpListener) {
        let router = self.router();
        tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        });
    }

    /// Serves until `stop` fires; the returned task ends once the listener is closed.
    pub fn serve_until(
        &self,
        listener: tokio::net::TcpListener,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let router = self.router();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
                .expect("serve");
        })
    }
}

pub struct JobSnapshot {
    pub status: String,
    pub log: String,
    pub log_bytes: Vec<u8>,
    pub patches: usize,
    pub resyncs: usize,
    pub final_updates: Vec<UpdateJobRequest>,
    pub artifacts: Vec<Uploaded>,
}

fn with_headers(status: StatusCode, headers: &[(&'static str, String)]) -> Response {
    let mut response = status.into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}

async fn verify(State(fake): State<Fake>, axum::Json(body): axum::Json<VerifyRequest>) -> Response {
    fake.lock().verifies += 1;
    if body.token != RUNNER_TOKEN {
        return StatusCode::FORBIDDEN.into_response();
    }
    axum::Json(VerifyResponse {
        id: RUNNER_ID,
        token: body.token,
        token_expires_at: None,
    })
    .into_response()
}

async fn request_job(
    State(fake): State<Fake>,
    axum::Json(body): axum::Json<JobRequest>,
) -> Response {
    let mut state = fake.lock();
    state.job_requests.push(body.clone());
    if body.token != RUNNER_TOKEN {
        return StatusCode::FORBIDDEN.into_response();
    }
    let version = format!("v{}", state.version);
    let Some((job, knobs)) = state.queue.pop_front() else {
        return with_headers(StatusCode::NO_CONTENT, &[(header::LAST_UPDATE, version)]);
    };
    let id = job["id"].as_i64().expect("queued job id");
    let token = job["token"].as_str().expect("queued job token").to_owned();
    state.jobs.insert(
        id,
        JobRecord {
            token,
            status: "running".into(),
            knobs,
            ..JobRecord::default()
        },
    );
    (StatusCode::CREATED, axum::Json(job)).into_response()
}

fn job_token(headers: &HeaderMap, body_token: Option<&str>) -> Option<String> {
    body_token.map(str::to_owned).or_else(|| {
        headers
            .get(header::JOB_TOKEN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

/// A refused job call: 403, with `Job-Status` when the job exists but is not executing.
struct Denied(Option<String>);

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self.0 {
            Some(status) => with_headers(StatusCode::FORBIDDEN, &[(header::JOB_STATUS, status)]),
            None => StatusCode::FORBIDDEN.into_response(),
        }
    }
}

/// GitLab's job authentication: the token must be this job's and the job executing.
fn authenticate(
    state: &mut FakeState,
    id: i64,
    token: Option<String>,
) -> Result<&mut JobRecord, Denied> {
    let Some(job) = state.jobs.get_mut(&id) else {
        return Err(Denied(None));
    };
    if token.as_deref() != Some(job.token.as_str()) {
        return Err(Denied(None));
    }
    if !job.executing() {
        return Err(Denied(Some(job.status.clone())));
    }
    Ok(job)
}

async fn update_job(
    State(fake): State<Fake>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<UpdateJobRequest>,
) -> Response {
    let mut state = fake.lock();
    let token = job_token(&headers, body.token.as_deref());
    let job = match authenticate(&mut state, id, token) {
        Ok(job) => job,
        Err(denied) => return denied.into_response(),
    };
    match body.state {
        JobState::Running => {
            job.keepalives += 1;
            if let Some(status) = job.knobs.status_on_keepalive.take() {
                job.status = status.into();
            }
        }
        JobState::Success | JobState::Failed => {
            job.final_updates.push(body.clone());
            if job.knobs.accept_final_once && job.final_updates.len() == 1 {
                return with_headers(
                    StatusCode::ACCEPTED,
                    &[
                        (header::JOB_STATUS, job.status.clone()),
                        (header::TRACE_UPDATE_INTERVAL, "1".into()),
                    ],
                );
            }
            job.status = if job.status == "canceling" {
                "canceled".into()
            } else {
                body.state.as_str().into()
            };
        }
        _ => return StatusCode::BAD_REQUEST.into_response(),
    }
    with_headers(StatusCode::OK, &[(header::JOB_STATUS, job.status.clone())])
}

async fn patch_trace(
    State(fake): State<Fake>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = fake.lock();
    let token = job_token(&headers, None);
    let job = match authenticate(&mut state, id, token) {
        Ok(job) => job,
        Err(denied) => return denied.into_response(),
    };
    let Some((start, _end)) = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(range::parse_content_range)
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    job.patches += 1;
    let len = job.log.len() as u64;
    if start != len {
        job.resyncs += 1;
        return with_headers(
            StatusCode::RANGE_NOT_SATISFIABLE,
            &[
                (header::RANGE, range::range(len)),
                (header::JOB_STATUS, job.status.clone()),
            ],
        );
    }
    job.log.extend_from_slice(&body);
    if let Some((marker, status)) = job.knobs.status_when_log_contains.clone()
        && job.log_text().contains(&marker)
        && job.executing()
    {
        job.status = status.into();
    }
    if job.knobs.lose_first_patch_answer {
        job.knobs.lose_first_patch_answer = false;
        return StatusCode::BAD_GATEWAY.into_response();
    }
    with_headers(
        StatusCode::ACCEPTED,
        &[
            (header::RANGE, range::range(job.log.len() as u64)),
            (header::JOB_STATUS, job.status.clone()),
            (header::TRACE_UPDATE_INTERVAL, "1".into()),
        ],
    )
}

/// A shell job that needs no repository (`GIT_STRATEGY=none`).
pub fn shell_job(id: i64, script: &[&str], after_script: Option<&[&str]>) -> JobResponse {
    let token = format!("glcbt-{id}_secret-job-token");
    let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut steps = vec![Step {
        name: "script".into(),
        script: lines(script),
        timeout: 3600,
        when: When::OnSuccess,
        allow_failure: false,
    }];
    if let Some(after) = after_script {
        steps.push(Step {
            name: "after_script".into(),
            script: lines(after),
            timeout: 3600,
            when: When::Always,
            allow_failure: true,
        });
    }
    JobResponse {
        id,
        token: token.clone(),
        allow_git_fetch: true,
        job_info: JobInfo {
            id,
            name: format!("job {id}"),
            stage: "test".into(),
            project_id: 1,
            project_name: "app".into(),
            ..JobInfo::default()
        },
        runner_info: JobRunnerInfo {
            timeout: 3600,
            ..JobRunnerInfo::default()
        },
        variables: vec![
            JobVariable::public("CI_JOB_ID", id.to_string()),
            JobVariable::secret("CI_JOB_TOKEN", token),
            JobVariable::public("GIT_STRATEGY", "none"),
        ],
        steps,
        features: pipewright_protocol::JobFeatures {
            trace_sections: true,
            failure_reasons: pipewright_protocol::RUNNER_FAILURE_REASONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            token_mask_prefixes: None,
        },
        ..JobResponse::default()
    }
}

/// A running runner plus its builds directory.
pub struct Harness {
    pub fake: Fake,
    pub url: String,
    pub builds: tempfile::TempDir,
    pub shutdown: CancellationToken,
    runner: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Harness {
    pub async fn start(concurrency: usize) -> Self {
        let fake = Fake::default();
        let url = fake.serve().await;
        Self::start_with(fake, url, concurrency)
    }

    pub fn start_with(fake: Fake, url: String, concurrency: usize) -> Self {
        let builds = tempfile::tempdir().expect("builds dir");
        let shutdown = CancellationToken::new();
        let config = RunnerConfig {
            url: url.clone(),
            token: RUNNER_TOKEN.into(),
            concurrency,
            builds_dir: builds.path().to_path_buf(),
            system_id: "r_0123456789ab".into(),
            poll_interval: Duration::from_millis(50),
            name: "test-runner".into(),
        };
        let runner = tokio::spawn(pipewright_runner::run(config, shutdown.clone()));
        Self {
            fake,
            url,
            builds,
            shutdown,
            runner,
        }
    }

    pub fn builds_path(&self) -> PathBuf {
        self.builds.path().to_path_buf()
    }

    /// Shuts the runner down and waits for `run` to return.
    pub async fn stop(self) -> tempfile::TempDir {
        self.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(60), self.runner)
            .await
            .expect("runner stops")
            .expect("runner task");
        result.expect("runner result");
        self.builds
    }
}

pub fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .expect("socket addr")
}

#[derive(Debug, serde::Deserialize)]
pub struct ArtifactQuery {
    artifact_type: Option<String>,
    artifact_format: Option<String>,
    expire_in: Option<String>,
}

async fn upload_artifact(
    State(fake): State<Fake>,
    Path(id): Path<i64>,
    Query(query): Query<ArtifactQuery>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    // Read the body before taking the lock (the stream is async).
    let mut file = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or_default().to_owned();
            match field.bytes().await {
                Ok(bytes) => file = Some((name, bytes.to_vec())),
                Err(_) => return StatusCode::BAD_REQUEST.into_response(),
            }
        }
    }
    let mut state = fake.lock();
    let job = match authenticate(&mut state, id, job_token(&headers, None)) {
        Ok(job) => job,
        Err(denied) => return denied.into_response(),
    };
    let Some((file_name, bytes)) = file else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    job.artifacts.push(Uploaded {
        artifact_type: query.artifact_type.unwrap_or_else(|| "archive".into()),
        artifact_format: query.artifact_format.unwrap_or_else(|| "zip".into()),
        expire_in: query.expire_in,
        file_name,
        bytes,
    });
    StatusCode::CREATED.into_response()
}

/// Any known job token may read (the dependency's own, or a running dependent's).
async fn download_artifacts(
    State(fake): State<Fake>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let state = fake.lock();
    let token = job_token(&headers, None);
    if !state
        .jobs
        .values()
        .any(|j| Some(&j.token) == token.as_ref())
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    let archive = state
        .jobs
        .get(&id)
        .and_then(|j| j.artifacts.iter().find(|a| a.artifact_type == "archive"));
    match archive {
        Some(archive) => (StatusCode::OK, archive.bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
