//! Data-driven pipeline scenarios (issue #4): every `tests/scenarios/*.yaml` is a
//! `.gitlab-ci.yml`, what the runner answers for each job, user actions, and the statuses
//! GitLab ends with. Each scenario runs against a fresh server, only through the HTTP API:
//! the push that creates the pipeline, the runner protocol (`POST /jobs/request`,
//! `PUT /jobs/:id`) and the Jobs/Pipelines APIs (play, retry, cancel, E2/E3 lists).
//!
//! Scenario file:
//! ```yaml
//! description: what GitLab does
//! reference: where the expectation comes from (GitLab spec file or docs page)
//! config: |            # the .gitlab-ci.yml
//!   ...
//! files: {path: text}  # more repository files (child pipeline configs, includes)
//! runner:              # outcome per job name, one per attempt; the last one repeats
//!   build: failed      # success (default) | failed | hold | {state, exit_code, failure_reason}
//! steps:               # default: [run]
//!   - expect: {pipeline: pending, jobs: {build: pending}}   # partial, latest attempts
//!   - run              # the runner takes every job it can get, until none is left
//!   - play: deploy     # also retry / cancel (a job), finish: {job: outcome} (a held job),
//!   - cancel_pipeline  # retry_pipeline, tick: <seconds> (the scheduler's clock moves on)
//! expect:              # the final state, every job of the pipeline (retried ones too)
//!   pipeline: success
//!   jobs:
//!     - {name: build, stage: build, status: failed, failure_reason: script_failure, retried: true}
//!   downstream: {bridge: {pipeline: success, jobs: {child-job: success}}}
//! ```
//! `retried` is read through the API: a job listed with `include_retried=true` but not
//! without it.

#[path = "common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use common::{ClaimedJob, ROOT_TOKEN, TestApp, TestRunner};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    #[serde(default)]
    reference: Option<String>,
    config: String,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    runner: BTreeMap<String, Outcomes>,
    /// Read by [`Step::parse`]: a plain word or a one-key map.
    #[serde(default)]
    steps: Option<Vec<serde_norway::Value>>,
    expect: Final,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Outcomes {
    // First: a struct would also accept a sequence (`[hold]`) as its fields.
    Attempts(Vec<Outcome>),
    One(Outcome),
}

impl Outcomes {
    fn attempt(&self, attempt: usize) -> Outcome {
        match self {
            Outcomes::One(outcome) => outcome.clone(),
            Outcomes::Attempts(list) => list
                .get(attempt)
                .or(list.last())
                .cloned()
                .unwrap_or(Outcome::Named(Named::Success)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Outcome {
    Named(Named),
    Detailed(Report),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Named {
    Success,
    Failed,
    /// Claimed and left running (a later `finish` or cancel ends it).
    Hold,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    state: String,
    #[serde(default)]
    exit_code: Option<i64>,
    #[serde(default)]
    failure_reason: Option<String>,
}

impl Outcome {
    /// The `PUT /jobs/:id` body, `None` to keep the job running.
    fn body(&self, token: &str) -> Option<Value> {
        match self {
            Outcome::Named(Named::Hold) => None,
            Outcome::Named(Named::Success) => Some(json!({ "token": token, "state": "success" })),
            Outcome::Named(Named::Failed) => Some(json!({
                "token": token, "state": "failed",
                "failure_reason": "script_failure", "exit_code": 1,
            })),
            Outcome::Detailed(report) => {
                let mut body = json!({ "token": token, "state": report.state });
                if report.state == "failed" {
                    body["failure_reason"] = json!(
                        report
                            .failure_reason
                            .clone()
                            .unwrap_or_else(|| "script_failure".to_owned())
                    );
                    body["exit_code"] = json!(report.exit_code.unwrap_or(1));
                }
                Some(body)
            }
        }
    }
}

#[derive(Debug)]
enum Step {
    Run,
    Expect(Partial),
    Play(String),
    Retry(String),
    Cancel(String),
    Finish(BTreeMap<String, Outcome>),
    CancelPipeline,
    RetryPipeline,
    Tick(i64),
}

impl Step {
    fn parse(value: &serde_norway::Value) -> Result<Step, String> {
        use serde_norway::{Value as Yaml, from_value};
        let error = |e: serde_norway::Error| e.to_string();
        match value {
            Yaml::String(word) => match word.as_str() {
                "run" => Ok(Step::Run),
                "cancel_pipeline" => Ok(Step::CancelPipeline),
                "retry_pipeline" => Ok(Step::RetryPipeline),
                other => Err(format!("unknown step {other:?}")),
            },
            Yaml::Mapping(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().ok_or("empty step")?;
                let arg = arg.clone();
                match key.as_str().unwrap_or_default() {
                    "expect" => from_value(arg).map(Step::Expect).map_err(error),
                    "play" => from_value(arg).map(Step::Play).map_err(error),
                    "retry" => from_value(arg).map(Step::Retry).map_err(error),
                    "cancel" => from_value(arg).map(Step::Cancel).map_err(error),
                    "finish" => from_value(arg).map(Step::Finish).map_err(error),
                    "tick" => from_value(arg).map(Step::Tick).map_err(error),
                    other => Err(format!("unknown step {other:?}")),
                }
            }
            other => Err(format!("unreadable step {other:?}")),
        }
    }
}

/// A scenario file and its steps (`[run]` when it lists none).
fn read_scenario(path: &Path) -> Result<(Scenario, Vec<Step>), String> {
    let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
    let scenario: Scenario = serde_norway::from_str(&text).map_err(|e| e.to_string())?;
    let steps = match &scenario.steps {
        None => vec![Step::Run],
        Some(list) => list.iter().map(Step::parse).collect::<Result<_, _>>()?,
    };
    Ok((scenario, steps))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Partial {
    #[serde(default)]
    pipeline: Option<String>,
    #[serde(default)]
    jobs: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Final {
    pipeline: String,
    jobs: Vec<JobExpect>,
    #[serde(default)]
    downstream: BTreeMap<String, Partial>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobExpect {
    name: String,
    stage: String,
    status: String,
    #[serde(default)]
    allow_failure: bool,
    #[serde(default)]
    failure_reason: Option<String>,
    #[serde(default)]
    retried: bool,
}

/// One scenario being played against its own server.
struct Play<'a> {
    t: TestApp,
    scenario: &'a Scenario,
    runner: TestRunner,
    project: i64,
    pipeline: i64,
    attempts: HashMap<String, usize>,
    held: HashMap<String, ClaimedJob>,
    clock: i64,
    errors: Vec<String>,
}

impl<'a> Play<'a> {
    async fn start(scenario: &'a Scenario) -> Play<'a> {
        let t = TestApp::new().await;
        let runner = t.instance_runner().await;
        let project = t
            .create_project(ROOT_TOKEN, json!({ "name": "demo" }))
            .await["id"]
            .as_i64()
            .expect("project id");
        let mut actions = vec![
            json!({ "action": "create", "file_path": ".gitlab-ci.yml", "content": scenario.config }),
        ];
        actions.extend(scenario.files.iter().map(
            |(path, content)| json!({ "action": "create", "file_path": path, "content": content }),
        ));
        t.commit(ROOT_TOKEN, project, "main", Value::Array(actions))
            .await;
        settle(&t).await;
        // The push pipeline is the oldest one; child pipelines come after it.
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
            .expect("the push created a pipeline");
        Play {
            t,
            scenario,
            runner,
            project,
            pipeline,
            attempts: HashMap::new(),
            held: HashMap::new(),
            clock: pipewright_core::now_ms(),
            errors: Vec::new(),
        }
    }

    async fn step(&mut self, index: usize, step: &Step) {
        match step {
            Step::Run => self.run().await,
            Step::Expect(partial) => {
                let context = format!("step {index}");
                self.check_partial(&context, self.pipeline, partial).await;
            }
            Step::Play(name) => self.job_action(name, "play").await,
            Step::Retry(name) => self.job_action(name, "retry").await,
            Step::Cancel(name) => self.job_action(name, "cancel").await,
            Step::Finish(outcomes) => {
                for (name, outcome) in outcomes {
                    let Some(job) = self.held.remove(name) else {
                        self.errors
                            .push(format!("step {index}: no held job {name:?} to finish"));
                        continue;
                    };
                    if let Some(body) = outcome.body(&job.token) {
                        let response = self.t.update_job(job.id, body).await;
                        if response.status != StatusCode::OK {
                            self.errors.push(format!(
                                "step {index}: finishing {name} answered {}: {}",
                                response.status,
                                response.text()
                            ));
                        }
                    }
                }
                settle(&self.t).await;
            }
            Step::CancelPipeline => self.pipeline_action("cancel").await,
            Step::RetryPipeline => self.pipeline_action("retry").await,
            Step::Tick(seconds) => {
                self.clock += seconds * 1000;
                pipewright_core::scheduler::tick(
                    &self.t.app,
                    self.clock,
                    &pipewright_core::scheduler::Watchdogs::default(),
                )
                .await
                .expect("scheduler tick");
                settle(&self.t).await;
            }
        }
    }

    /// The runner takes every job it can get and reports each one's outcome.
    async fn run(&mut self) {
        for _ in 0..200 {
            settle(&self.t).await;
            let response = self
                .t
                .request_job_with(json!({
                    "token": self.runner.token,
                    "info": {
                        "name": "scenario-runner",
                        "features": { "refspecs": true, "return_exit_code": true },
                    },
                }))
                .await;
            if response.status == StatusCode::NO_CONTENT {
                settle(&self.t).await;
                return;
            }
            let payload = response.expect_status(StatusCode::CREATED).json();
            let job = ClaimedJob {
                id: payload["id"].as_i64().expect("job id"),
                token: payload["token"].as_str().expect("job token").to_owned(),
                payload,
            };
            let name = job.payload["job_info"]["name"]
                .as_str()
                .expect("job name")
                .to_owned();
            let attempt = self.attempts.entry(name.clone()).or_default();
            let outcome = self
                .scenario
                .runner
                .get(&name)
                .map(|outcomes| outcomes.attempt(*attempt))
                .unwrap_or(Outcome::Named(Named::Success));
            *attempt += 1;
            match outcome.body(&job.token) {
                Some(body) => {
                    let response = self.t.update_job(job.id, body).await;
                    if response.status != StatusCode::OK {
                        self.errors.push(format!(
                            "reporting {name} answered {}: {}",
                            response.status,
                            response.text()
                        ));
                    }
                }
                None => {
                    self.held.insert(name, job);
                }
            }
        }
        self.errors
            .push("the runner never ran out of jobs".to_owned());
    }

    async fn job_action(&mut self, name: &str, action: &str) {
        // A held job may belong to a downstream pipeline; other jobs are the pipeline's.
        let id = match self.held.get(name) {
            Some(job) => Some(job.id),
            None => self
                .latest(self.pipeline)
                .await
                .get(name)
                .and_then(|job| job["id"].as_i64()),
        };
        let Some(id) = id else {
            self.errors.push(format!("{action}: no job {name:?}"));
            return;
        };
        let response = self
            .t
            .post(&format!(
                "/api/v4/projects/{}/jobs/{id}/{action}",
                self.project
            ))
            .token(ROOT_TOKEN)
            .await;
        if !response.status.is_success() {
            self.errors.push(format!(
                "{action} {name} answered {}: {}",
                response.status,
                response.text()
            ));
        }
        // A cancelled held job is no longer the runner's.
        if action == "cancel" {
            self.held.remove(name);
        }
        settle(&self.t).await;
    }

    async fn pipeline_action(&mut self, action: &str) {
        let response = self
            .t
            .post(&format!(
                "/api/v4/projects/{}/pipelines/{}/{action}",
                self.project, self.pipeline
            ))
            .token(ROOT_TOKEN)
            .await;
        if !response.status.is_success() {
            self.errors.push(format!(
                "pipeline {action} answered {}: {}",
                response.status,
                response.text()
            ));
        }
        if action == "cancel" {
            self.held.clear();
        }
        settle(&self.t).await;
    }

    /// Jobs and bridges of a pipeline (retried ones included), in id order.
    async fn all_jobs(&self, pipeline: i64, include_retried: bool) -> Vec<Value> {
        let base = format!("/api/v4/projects/{}/pipelines/{pipeline}", self.project);
        let query = format!("?per_page=100&include_retried={include_retried}");
        let mut jobs = self
            .t
            .get(&format!("{base}/jobs{query}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .jobs();
        let bridges = self
            .t
            .get(&format!("{base}/bridges{query}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .json();
        jobs.extend(bridges.as_array().cloned().unwrap_or_default());
        jobs.sort_by_key(|job| job["id"].as_i64());
        jobs
    }

    /// The latest attempt of every job, by name.
    async fn latest(&self, pipeline: i64) -> BTreeMap<String, Value> {
        self.all_jobs(pipeline, false)
            .await
            .into_iter()
            .map(|job| (job["name"].as_str().unwrap_or_default().to_owned(), job))
            .collect()
    }

    async fn pipeline_status(&self, pipeline: i64) -> String {
        self.t.pipeline_status(self.project, pipeline).await
    }

    async fn check_partial(&mut self, context: &str, pipeline: i64, partial: &Partial) {
        if let Some(expected) = &partial.pipeline {
            let actual = self.pipeline_status(pipeline).await;
            if &actual != expected {
                self.errors.push(format!(
                    "{context}: pipeline is {actual}, expected {expected}"
                ));
            }
        }
        if partial.jobs.is_empty() {
            return;
        }
        let latest = self.latest(pipeline).await;
        for (name, expected) in &partial.jobs {
            let actual = latest
                .get(name)
                .and_then(|job| job["status"].as_str())
                .unwrap_or("<missing>");
            if actual != expected {
                self.errors.push(format!(
                    "{context}: job {name} is {actual}, expected {expected}"
                ));
            }
        }
    }

    async fn check_final(&mut self) {
        let expect = &self.scenario.expect;
        let actual = self.pipeline_status(self.pipeline).await;
        if actual != expect.pipeline {
            self.errors.push(format!(
                "final: pipeline is {actual}, expected {}",
                expect.pipeline
            ));
        }
        let latest_ids: Vec<i64> = self
            .all_jobs(self.pipeline, false)
            .await
            .iter()
            .filter_map(|job| job["id"].as_i64())
            .collect();
        let mut actual: BTreeMap<String, Vec<JobExpect>> = BTreeMap::new();
        for job in self.all_jobs(self.pipeline, true).await {
            let id = job["id"].as_i64().unwrap_or_default();
            let name = job["name"].as_str().unwrap_or_default().to_owned();
            actual.entry(name.clone()).or_default().push(JobExpect {
                name,
                stage: job["stage"].as_str().unwrap_or_default().to_owned(),
                status: job["status"].as_str().unwrap_or_default().to_owned(),
                allow_failure: job["allow_failure"].as_bool().unwrap_or_default(),
                failure_reason: job["failure_reason"].as_str().map(str::to_owned),
                retried: !latest_ids.contains(&id),
            });
        }
        let mut expected: BTreeMap<String, Vec<JobExpect>> = BTreeMap::new();
        for job in &expect.jobs {
            expected
                .entry(job.name.clone())
                .or_default()
                .push(job.clone());
        }
        for (name, attempts) in &expected {
            match actual.get(name) {
                None => self.errors.push(format!("final: no job {name:?}")),
                Some(found) if found != attempts => self.errors.push(format!(
                    "final: job {name:?}\n    expected {}\n    actual   {}",
                    show(attempts),
                    show(found)
                )),
                Some(_) => {}
            }
        }
        for (name, found) in &actual {
            if !expected.contains_key(name) {
                self.errors
                    .push(format!("final: unexpected job {}", show(found)));
            }
        }
        for (bridge, partial) in &expect.downstream {
            let latest = self.latest(self.pipeline).await;
            let Some(child) = latest
                .get(bridge)
                .and_then(|job| job["downstream_pipeline"]["id"].as_i64())
            else {
                self.errors
                    .push(format!("final: bridge {bridge} has no downstream pipeline"));
                continue;
            };
            let context = format!("final: downstream of {bridge}");
            self.check_partial(&context, child, partial).await;
        }
    }
}

fn show(jobs: &[JobExpect]) -> String {
    jobs.iter()
        .map(|job| {
            let mut text = format!(
                "{{stage: {}, status: {}, allow_failure: {}",
                job.stage, job.status, job.allow_failure
            );
            if let Some(reason) = &job.failure_reason {
                text.push_str(&format!(", failure_reason: {reason}"));
            }
            if job.retried {
                text.push_str(", retried: true");
            }
            text.push('}');
            text
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits for the background work of bridges (downstream pipelines and their statuses).
async fn settle(t: &TestApp) {
    pipewright_core::downstream::DownstreamQueue::drain(&t.app).await;
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/scenarios")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// Plays one scenario; returns its mismatches.
async fn play(path: &Path) -> Vec<String> {
    let (scenario, steps) = match read_scenario(path) {
        Ok(read) => read,
        Err(error) => return vec![format!("unreadable scenario: {error}")],
    };
    let mut play = Play::start(&scenario).await;
    for (index, step) in steps.iter().enumerate() {
        play.step(index + 1, step).await;
    }
    play.check_final().await;
    play.errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scenarios_end_as_gitlab_ends_them() {
    // SCENARIO=<file stem> plays one scenario.
    let only = std::env::var("SCENARIO").ok();
    let files: Vec<PathBuf> = scenario_files()
        .into_iter()
        .filter(|path| {
            only.as_deref()
                .is_none_or(|only| path.file_stem().is_some_and(|stem| stem == only))
        })
        .collect();
    assert!(!files.is_empty(), "no scenario to play");
    let runs = files.iter().map(|path| {
        let path = path.clone();
        tokio::spawn(async move {
            let errors = play(&path).await;
            (path, errors)
        })
    });
    let mut failures = Vec::new();
    for run in futures::future::join_all(runs).await {
        let (path, errors) = run.expect("scenario task");
        if !errors.is_empty() {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            failures.push(format!("{name}:\n  {}", errors.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ from GitLab:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_scenario_names_its_source() {
    for path in scenario_files() {
        let (scenario, _) =
            read_scenario(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert!(
            !scenario.description.trim().is_empty() && scenario.reference.is_some(),
            "{}: description and reference are required",
            path.display()
        );
    }
}
