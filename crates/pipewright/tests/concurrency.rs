//! 20 runners against one real server (in this process, built-in runner off), 500 jobs:
//! every job is handed out exactly once and every log arrives complete, byte for byte.
//!
//! The runners are tasks speaking the runner protocol with reqwest: they send each job's
//! log in several `PATCH /jobs/:id/trace` chunks (following 416 + `Range` when needed) and
//! finish with a checksummed `PUT /jobs/:id`, so the expected bytes are known exactly.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipewright::cli::ServeArgs;
use pipewright::serve::start;
use pipewright_protocol::{
    Features, JobRequest, JobState, Output, RunnerInfo, UpdateJobRequest, crc32_checksum, header,
    range,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const ROOT_TOKEN: &str = "glpat-concurrency-root";
const RUNNERS: usize = 20;
/// `PIPELINES` pipelines of 10 parallel jobs.
const JOBS: usize = 500;
const CHUNK: usize = 700;

/// The log a runner writes for `job`: 1 to ~4 KiB, so most logs take several PATCHes.
fn log_of(job: i64) -> Vec<u8> {
    let lines = 1 + usize::try_from(job % 97).unwrap_or(0);
    let mut log = Vec::new();
    for n in 0..lines {
        log.extend_from_slice(
            format!("job {job} line {n} \u{2713} {}\n", "=".repeat(n % 7)).as_bytes(),
        );
    }
    log
}

/// What all runner tasks share.
#[derive(Default)]
struct Shared {
    /// Job id → runner index, for every hand-out.
    handed_out: Mutex<Vec<(i64, usize)>>,
    finished: AtomicUsize,
}

struct Runner {
    index: usize,
    token: String,
    api: String,
    http: reqwest::Client,
}

impl Runner {
    /// Asks for jobs and runs them until all `JOBS` are finished (or the deadline passes).
    async fn work(self, shared: Arc<Shared>) -> Res<usize> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(50);
        let mut last_update: Option<String> = None;
        let mut ran = 0;
        while shared.finished.load(Ordering::SeqCst) < JOBS {
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "runner {} gave up with {} of {JOBS} jobs finished",
                    self.index,
                    shared.finished.load(Ordering::SeqCst)
                )
                .into());
            }
            let request = JobRequest {
                token: self.token.clone(),
                system_id: Some(format!("r_{:012x}", self.index)),
                last_update: last_update.clone(),
                info: Some(RunnerInfo {
                    features: Features {
                        trace_reset: Some(true),
                        trace_checksum: Some(true),
                        trace_size: Some(true),
                        cancelable: Some(true),
                        ..Features::default()
                    },
                    ..RunnerInfo::default()
                }),
                session: None,
            };
            let response = self
                .http
                .post(format!("{}/jobs/request", self.api))
                .json(&request)
                .send()
                .await?;
            match response.status() {
                StatusCode::CREATED => {
                    let job: Value = response.json().await?;
                    let id = job["id"].as_i64().ok_or("job id")?;
                    let token = job["token"].as_str().ok_or("job token")?.to_owned();
                    shared
                        .handed_out
                        .lock()
                        .map_err(|_| "poisoned")?
                        .push((id, self.index));
                    self.run_job(id, &token).await?;
                    shared.finished.fetch_add(1, Ordering::SeqCst);
                    ran += 1;
                }
                StatusCode::NO_CONTENT | StatusCode::CONFLICT => {
                    last_update = response
                        .headers()
                        .get(header::LAST_UPDATE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                status => return Err(format!("job request: {status}").into()),
            }
        }
        Ok(ran)
    }

    async fn run_job(&self, id: i64, token: &str) -> Res<()> {
        let log = log_of(id);
        let mut sent = 0usize;
        while sent < log.len() {
            let end = (sent + CHUNK).min(log.len());
            let response = self
                .http
                .patch(format!("{}/jobs/{id}/trace", self.api))
                .header(header::JOB_TOKEN, token)
                .header(
                    header::CONTENT_RANGE,
                    range::content_range(sent as u64, (end - sent) as u64),
                )
                .header("content-type", "text/plain")
                .body(log[sent..end].to_vec())
                .send()
                .await?;
            let status = response.status();
            let total = response
                .headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(range::parse_range_total);
            match (status, total) {
                (StatusCode::ACCEPTED, _) => sent = end,
                // The server tells where its copy ends: continue from there.
                (StatusCode::RANGE_NOT_SATISFIABLE, Some(total)) => {
                    sent = usize::try_from(total)?;
                }
                _ => return Err(format!("job {id} trace: {status}").into()),
            }
        }
        let update = UpdateJobRequest {
            token: Some(token.to_owned()),
            state: JobState::Success,
            exit_code: Some(0),
            output: Some(Output {
                checksum: Some(crc32_checksum(&log)),
                bytesize: Some(log.len() as u64),
            }),
            ..UpdateJobRequest::default()
        };
        loop {
            let response = self
                .http
                .put(format!("{}/jobs/{id}", self.api))
                .header(header::JOB_TOKEN, token)
                .json(&update)
                .send()
                .await?;
            match response.status() {
                StatusCode::OK => return Ok(()),
                // Accepted, not yet final: ask again like a runner does.
                StatusCode::ACCEPTED => tokio::time::sleep(Duration::from_millis(50)).await,
                status => return Err(format!("job {id} final update: {status}").into()),
            }
        }
    }
}

/// Small pipelines: processing a pipeline after each job is proportional to its size.
const PIPELINES: usize = 50;
const CI_YAML: &str = "job:\n  script: echo hi\n  parallel: 10\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_runners_run_five_hundred_jobs_exactly_once_with_complete_logs() -> Res<()> {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir()?;
    let server = start(ServeArgs {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        database_url: None,
        external_url: None,
        builtin_runners: Some(0),
        initial_root_token: Some(ROOT_TOKEN.into()),
        long_polling_timeout: 1,
    })
    .await
    .map_err(|e| e.to_string())?;
    let base = format!("http://{}", server.addr);
    let api = format!("{base}/api/v4");
    let http = reqwest::Client::new();
    let admin = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{api}{path}"))
            .header("PRIVATE-TOKEN", ROOT_TOKEN)
    };

    let mut tokens = Vec::new();
    for i in 0..RUNNERS {
        let created: Value = admin(reqwest::Method::POST, "/user/runners")
            .json(&json!({ "runner_type": "instance_type", "description": format!("r{i}") }))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(created["token"].as_str().ok_or("runner token")?.to_owned());
    }
    let project: Value = admin(reqwest::Method::POST, "/projects")
        .json(&json!({ "name": "load" }))
        .send()
        .await?
        .json()
        .await?;
    let project_id = project["id"].as_i64().ok_or("project id")?;
    let commit = admin(
        reqwest::Method::POST,
        &format!("/projects/{project_id}/repository/commits"),
    )
    .json(&json!({
        "branch": "main", "commit_message": "ci",
        "actions": [{ "action": "create", "file_path": ".gitlab-ci.yml", "content": CI_YAML }],
    }))
    .send()
    .await?;
    assert!(commit.status().is_success(), "{}", commit.text().await?);
    // The commit started the first pipeline; the others run the same commit again.
    for _ in 1..PIPELINES {
        let created = admin(
            reqwest::Method::POST,
            &format!("/projects/{project_id}/pipeline"),
        )
        .json(&json!({ "ref": "main" }))
        .send()
        .await?;
        assert!(created.status().is_success(), "{}", created.text().await?);
    }

    let shared = Arc::new(Shared::default());
    let workers: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(index, token)| {
            let runner = Runner {
                index,
                token,
                api: api.clone(),
                http: reqwest::Client::new(),
            };
            tokio::spawn(runner.work(shared.clone()))
        })
        .collect();
    let mut per_runner = Vec::new();
    for worker in workers {
        per_runner.push(worker.await??);
    }

    // Every job handed out exactly once, and all of the pipeline's jobs among them.
    let handed_out = shared.handed_out.lock().map_err(|_| "poisoned")?.clone();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for (id, runner) in &handed_out {
        if let Some(first) = seen.insert(*id, *runner) {
            return Err(format!("job {id} handed to runners {first} and {runner}").into());
        }
    }
    assert_eq!(handed_out.len(), JOBS);
    let busy = per_runner.iter().filter(|&&n| n > 0).count();
    assert!(busy > 1, "the work was shared: {per_runner:?}");

    let mut listed = BTreeSet::new();
    for page in 1..=5 {
        let jobs: Value = admin(
            reqwest::Method::GET,
            &format!("/projects/{project_id}/jobs?per_page=100&page={page}"),
        )
        .send()
        .await?
        .json()
        .await?;
        for job in jobs.as_array().ok_or("jobs array")? {
            assert_eq!(job["status"], "success", "{job}");
            listed.insert(job["id"].as_i64().ok_or("job id")?);
        }
    }
    assert_eq!(listed, seen.keys().copied().collect::<BTreeSet<_>>());

    // Every log, byte for byte (a few at a time).
    let ids: Vec<i64> = listed.into_iter().collect();
    for batch in ids.chunks(25) {
        let fetches = batch.iter().map(|id| {
            let request = admin(
                reqwest::Method::GET,
                &format!("/projects/{project_id}/jobs/{id}/trace"),
            );
            async move { Ok::<_, reqwest::Error>((*id, request.send().await?.bytes().await?)) }
        });
        for result in futures::future::join_all(fetches).await {
            let (id, bytes) = result?;
            assert!(
                bytes.as_ref() == log_of(id).as_slice(),
                "log of job {id} differs: {} bytes, expected {}",
                bytes.len(),
                log_of(id).len()
            );
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    server.shutdown.cancel();
    Ok(())
}

/// The same shape with our own runner (shell executor): 20 `pipewright_runner::run`
/// instances, 100 jobs; each job's output appears exactly once, in its own log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_shell_runners_run_a_hundred_jobs_once_each() -> Res<()> {
    const SHELL_JOBS: usize = 100;
    let dir = tempfile::tempdir()?;
    let server = start(ServeArgs {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().join("data"),
        database_url: None,
        external_url: None,
        builtin_runners: Some(0),
        initial_root_token: Some(ROOT_TOKEN.into()),
        long_polling_timeout: 1,
    })
    .await
    .map_err(|e| e.to_string())?;
    let base = format!("http://{}", server.addr);
    let api = format!("{base}/api/v4");
    let http = reqwest::Client::new();
    let admin = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{api}{path}"))
            .header("PRIVATE-TOKEN", ROOT_TOKEN)
    };

    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut runners = Vec::new();
    for i in 0..RUNNERS {
        let created: Value = admin(reqwest::Method::POST, "/user/runners")
            .json(&json!({ "runner_type": "instance_type", "description": format!("s{i}") }))
            .send()
            .await?
            .json()
            .await?;
        let config = pipewright_runner::RunnerConfig {
            url: base.clone(),
            token: created["token"].as_str().ok_or("runner token")?.to_owned(),
            concurrency: 1,
            builds_dir: dir.path().join(format!("builds-{i}")),
            system_id: format!("r_{i:012x}"),
            poll_interval: Duration::from_millis(100),
            name: format!("shell-{i}"),
        };
        runners.push(tokio::spawn(pipewright_runner::run(
            config,
            shutdown.clone(),
        )));
    }

    let project: Value = admin(reqwest::Method::POST, "/projects")
        .json(&json!({ "name": "shell-load" }))
        .send()
        .await?
        .json()
        .await?;
    let project_id = project["id"].as_i64().ok_or("project id")?;
    let yaml = "job:\n  variables:\n    GIT_STRATEGY: none\n  script: echo \"OUTPUT-$CI_JOB_ID\"\n  parallel: 10\n";
    let commit = admin(
        reqwest::Method::POST,
        &format!("/projects/{project_id}/repository/commits"),
    )
    .json(&json!({
        "branch": "main", "commit_message": "ci",
        "actions": [{ "action": "create", "file_path": ".gitlab-ci.yml", "content": yaml }],
    }))
    .send()
    .await?;
    assert!(commit.status().is_success(), "{}", commit.text().await?);
    for _ in 1..SHELL_JOBS / 10 {
        let created = admin(
            reqwest::Method::POST,
            &format!("/projects/{project_id}/pipeline"),
        )
        .json(&json!({ "ref": "main" }))
        .send()
        .await?;
        assert!(created.status().is_success(), "{}", created.text().await?);
    }

    // Wait until every job has finished (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(50);
    let jobs = loop {
        let jobs: Value = admin(
            reqwest::Method::GET,
            &format!("/projects/{project_id}/jobs?per_page=100"),
        )
        .send()
        .await?
        .json()
        .await?;
        let list = jobs.as_array().ok_or("jobs array")?.clone();
        let done = list
            .iter()
            .filter(|job| {
                ["success", "failed", "canceled"].contains(&job["status"].as_str().unwrap_or(""))
            })
            .count();
        if list.len() == SHELL_JOBS && done == SHELL_JOBS {
            break list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{done} of {} jobs finished",
            list.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut runners_used = BTreeSet::new();
    for job in &jobs {
        let id = job["id"].as_i64().ok_or("job id")?;
        assert_eq!(job["status"], "success", "{job}");
        runners_used.insert(job["runner"]["id"].as_i64().ok_or("runner id")?);
        let log = admin(
            reqwest::Method::GET,
            &format!("/projects/{project_id}/jobs/{id}/trace"),
        )
        .send()
        .await?
        .text()
        .await?;
        // The echo of the command line and its output, each once.
        assert_eq!(log.matches(&format!("\nOUTPUT-{id}\n")).count(), 1, "{log}");
        assert_eq!(log.matches("OUTPUT-").count(), 2, "{log}");
        assert!(log.ends_with("Job succeeded\x1b[0;m\n"), "{log:?}");
    }
    assert!(runners_used.len() > 1, "{runners_used:?}");

    shutdown.cancel();
    for runner in runners {
        runner.await?.map_err(|e| e.to_string())?;
    }
    server.shutdown.cancel();
    Ok(())
}
