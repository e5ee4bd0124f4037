//! Issue #5: Collabora's `gitlab-runner` crate — an independent implementation of the runner
//! side — driven against a real `pipewright serve` (built-in runner disabled). The crate does
//! not run shell scripts, so the job handler below interprets a few script lines itself: every
//! line is logged, `write <path>` produces an artifact file, `exit 1` fails the step and
//! `wait-for-cancel` logs ticks until the server cancels the job.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gitlab_runner::job::Job;
use gitlab_runner::{GitlabLayer, JobHandler, JobResult, Phase, RunnerBuilder, UploadableFile};
use pipewright::cli::ServeArgs;
use pipewright::serve::{Server, start};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

type TestResult = Result<(), Box<dyn std::error::Error>>;
type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

const ROOT_TOKEN: &str = "collabora-root-token";
const ARTIFACT_CONTENT: &str = "report written through gitlab-runner-rs\n";

/// A file the handler "produced"; the crate zips and uploads it.
#[derive(Clone)]
struct MemoryFile {
    path: String,
    data: Vec<u8>,
}

#[async_trait::async_trait]
impl UploadableFile for MemoryFile {
    type Data<'a> = &'a [u8];

    fn get_path(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.path)
    }

    async fn get_data(&self) -> Result<Self::Data<'_>, ()> {
        Ok(&self.data)
    }
}

/// What the test can observe of the handlers from outside.
#[derive(Default)]
struct Probe {
    /// A `wait-for-cancel` line started ticking.
    waiting: AtomicBool,
    /// A `wait-for-cancel` line ran to its end (it should have been cancelled first).
    wait_completed: AtomicBool,
    /// `cleanup` ran after a `wait-for-cancel` job.
    cancel_job_cleaned_up: AtomicBool,
}

struct ScriptHandler {
    job: Job,
    files: Vec<MemoryFile>,
    probe: Arc<Probe>,
    waited: bool,
}

impl ScriptHandler {
    /// Downloads every dependency's archive through the crate (which assumes zip) and
    /// reports each file in it as `DEPENDENCY <job> <file>: <content>` lines.
    async fn read_dependencies(&self) -> Result<Vec<String>, ()> {
        let mut report = Vec::new();
        for dependency in self.job.dependencies() {
            let artifact = match dependency.download().await {
                Ok(artifact) => artifact,
                Err(error) => {
                    self.job.trace(format!(
                        "download of {} failed: {error}\n",
                        dependency.name()
                    ));
                    return Err(());
                }
            };
            let Some(mut artifact) = artifact else {
                report.push(format!(
                    "DEPENDENCY {} has no artifact\n",
                    dependency.name()
                ));
                continue;
            };
            let names: Vec<String> = artifact.file_names().map(str::to_owned).collect();
            for name in names {
                let mut content = String::new();
                if let Some(mut file) = artifact.file(&name) {
                    std::io::Read::read_to_string(&mut file, &mut content).map_err(|_| ())?;
                }
                report.push(format!(
                    "DEPENDENCY {} {name}: {content}",
                    dependency.name()
                ));
            }
        }
        Ok(report)
    }
}

#[async_trait::async_trait]
impl JobHandler<MemoryFile> for ScriptHandler {
    async fn step(&mut self, script: &[String], phase: Phase) -> JobResult {
        self.job.trace(format!(
            "COLLABORA-STEP {phase:?} of job {}\n",
            self.job.id()
        ));
        for line in script {
            self.job.trace(format!("$ {line}\n"));
            if line == "exit 1" {
                self.job.trace("COLLABORA-FAILING\n");
                return Err(());
            } else if let Some(text) = line.strip_prefix("echo ") {
                self.job.trace(format!("{}\n", text.trim_matches('"')));
            } else if let Some(path) = line.strip_prefix("write ") {
                self.files.push(MemoryFile {
                    path: path.to_owned(),
                    data: ARTIFACT_CONTENT.as_bytes().to_vec(),
                });
            } else if line == "read-dependencies" {
                for report in self.read_dependencies().await? {
                    self.job.trace(report);
                }
            } else if line == "wait-for-cancel" {
                self.waited = true;
                self.probe.waiting.store(true, Ordering::SeqCst);
                // Keeps producing output so the crate PATCHes the trace every tick and sees
                // `Job-Status: canceled`; the future is dropped on cancellation.
                for tick in 0..300 {
                    self.job.trace(format!("TICK {tick}\n"));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                self.probe.wait_completed.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    async fn get_uploadable_files(
        &mut self,
    ) -> Result<Box<dyn Iterator<Item = MemoryFile> + Send>, ()> {
        Ok(Box::new(self.files.clone().into_iter()))
    }

    async fn cleanup(&mut self) {
        if self.waited {
            self.probe
                .cancel_job_cleaned_up
                .store(true, Ordering::SeqCst);
        }
    }
}

struct Harness {
    server: Server,
    base: String,
    http: reqwest::Client,
    runner_id: i64,
    runner_token: String,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start() -> AnyResult<Harness> {
        let dir = tempfile::tempdir()?;
        let server = start(ServeArgs {
            listen: "127.0.0.1:0".parse()?,
            data_dir: dir.path().to_path_buf(),
            database_url: None,
            external_url: None,
            builtin_runners: Some(0),
            initial_root_token: Some(ROOT_TOKEN.into()),
            long_polling_timeout: 50,
        })
        .await?;
        let base = format!("http://{}", server.addr);
        let mut harness = Harness {
            server,
            base,
            http: reqwest::Client::new(),
            runner_id: 0,
            runner_token: String::new(),
            _dir: dir,
        };
        let runner = harness
            .post(
                "/user/runners",
                json!({ "runner_type": "instance_type", "description": "gitlab-runner-rs" }),
            )
            .await?;
        harness.runner_id = runner["id"].as_i64().ok_or("runner id")?;
        harness.runner_token = runner["token"].as_str().ok_or("runner token")?.to_owned();
        Ok(harness)
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/v4{path}", self.base)
    }

    async fn post(&self, path: &str, body: Value) -> AnyResult<Value> {
        let response = self
            .http
            .post(self.api(path))
            .header("PRIVATE-TOKEN", ROOT_TOKEN)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        assert!(status.is_success(), "POST {path}: {status} {body}");
        Ok(body)
    }

    async fn response(&self, path: &str) -> AnyResult<reqwest::Response> {
        Ok(self
            .http
            .get(self.api(path))
            .header("PRIVATE-TOKEN", ROOT_TOKEN)
            .send()
            .await?)
    }

    async fn get(&self, path: &str) -> AnyResult<Value> {
        let response = self.response(path).await?;
        assert!(response.status().is_success(), "GET {path}");
        Ok(response.json().await?)
    }

    /// Creates a project whose first commit is `ci_yaml`; returns (project id, pipeline id).
    async fn project_with_pipeline(&self, name: &str, ci_yaml: &str) -> AnyResult<(i64, i64)> {
        let project = self.post("/projects", json!({ "name": name })).await?;
        let project_id = project["id"].as_i64().ok_or("project id")?;
        self.post(
            &format!("/projects/{project_id}/repository/commits"),
            json!({
                "branch": "main",
                "commit_message": "add ci",
                "actions": [{ "action": "create", "file_path": ".gitlab-ci.yml", "content": ci_yaml }],
            }),
        )
        .await?;
        let pipelines = self
            .get(&format!("/projects/{project_id}/pipelines"))
            .await?;
        let pipeline_id = pipelines[0]["id"].as_i64().ok_or("pipeline id")?;
        Ok((project_id, pipeline_id))
    }

    async fn job(&self, project: i64, name: &str) -> AnyResult<Value> {
        let jobs = self.get(&format!("/projects/{project}/jobs")).await?;
        jobs.as_array()
            .and_then(|jobs| jobs.iter().find(|job| job["name"] == name))
            .cloned()
            .ok_or_else(|| format!("no job {name}: {jobs}").into())
    }

    async fn trace(&self, project: i64, job: i64) -> AnyResult<String> {
        Ok(self
            .response(&format!("/projects/{project}/jobs/{job}/trace"))
            .await?
            .text()
            .await?)
    }

    /// Polls the pipeline until it leaves the active statuses (bounded: one minute).
    async fn wait_for_pipeline(&self, project: i64, pipeline: i64) -> AnyResult<Value> {
        for _ in 0..600 {
            let body = self
                .get(&format!("/projects/{project}/pipelines/{pipeline}"))
                .await?;
            let status = body["status"].as_str().unwrap_or_default();
            if ![
                "created",
                "pending",
                "running",
                "preparing",
                "waiting_for_resource",
            ]
            .contains(&status)
            {
                return Ok(body);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("pipeline did not finish within a minute".into())
    }

    /// Starts a Collabora runner polling this server (every 200 ms instead of the crate's
    /// `Runner::run` 5 s, to keep the test short). Abort the handle to stop it.
    async fn spawn_collabora_runner(
        &self,
        build_dir: &std::path::Path,
        probe: Arc<Probe>,
    ) -> AnyResult<JoinHandle<()>> {
        // The tracing layer would forward `outputln!` lines; the handler uses `Job::trace`
        // directly, so only the job list is needed.
        let (_layer, jobs) = GitlabLayer::new::<tracing_subscriber::Registry>();
        let mut runner = RunnerBuilder::new(
            url::Url::parse(&self.base)?,
            self.runner_token.clone(),
            build_dir,
            jobs,
        )
        .system_id("r_collabora0001")
        .version("0.3-test")
        .build()
        .await;
        Ok(tokio::spawn(async move {
            loop {
                runner.wait_for_space(2).await;
                let probe = probe.clone();
                let got = runner
                    .request_job(move |job| async move {
                        Ok(ScriptHandler {
                            job,
                            files: Vec::new(),
                            probe,
                            waited: false,
                        })
                    })
                    .await;
                match got {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(error) => eprintln!("gitlab-runner-rs job request failed: {error:?}"),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }))
    }
}

const PIPELINE_YAML: &str = r#"
stages: [build, test]
build:
  stage: build
  script:
    - echo "COLLABORA-BUILD-OUTPUT"
    - write report/summary.txt
  after_script:
    - echo "COLLABORA-AFTER-SCRIPT"
  artifacts:
    paths: [report/]
    expire_in: 1 day
broken:
  stage: test
  script:
    - echo "about to fail"
    - exit 1
consume:
  stage: test
  script:
    - read-dependencies
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn collabora_runner_runs_a_pipeline_and_uploads_an_artifact() -> TestResult {
    let h = Harness::start().await?;
    let (project_id, pipeline_id) = h.project_with_pipeline("collabora", PIPELINE_YAML).await?;
    let builds = tempfile::tempdir()?;
    let probe = Arc::new(Probe::default());
    let runner = h.spawn_collabora_runner(builds.path(), probe).await?;

    let pipeline = h.wait_for_pipeline(project_id, pipeline_id).await;
    runner.abort();
    let pipeline = pipeline?;
    assert_eq!(pipeline["status"], "failed", "pipeline: {pipeline}");

    let build = h.job(project_id, "build").await?;
    let build_id = build["id"].as_i64().ok_or("build id")?;
    let build_log = h.trace(project_id, build_id).await?;
    assert_eq!(
        build["status"], "success",
        "build: {build}\nlog:\n{build_log}"
    );
    assert_eq!(build["runner"]["id"], h.runner_id);
    // The crate's job requests are its only contact: they must mark the runner online.
    assert_eq!(build["runner"]["online"], true, "{build}");
    assert!(build_log.contains("COLLABORA-STEP Script"), "{build_log}");
    assert!(
        build_log.contains("$ write report/summary.txt"),
        "{build_log}"
    );
    assert!(build_log.contains("COLLABORA-BUILD-OUTPUT"), "{build_log}");
    assert!(
        build_log.contains("COLLABORA-STEP AfterScript"),
        "{build_log}"
    );
    assert!(build_log.contains("COLLABORA-AFTER-SCRIPT"), "{build_log}");

    let broken = h.job(project_id, "broken").await?;
    let broken_id = broken["id"].as_i64().ok_or("broken id")?;
    let broken_log = h.trace(project_id, broken_id).await?;
    assert_eq!(broken["status"], "failed", "broken: {broken}");
    // The crate's PUT carries no failure_reason: GitLab then records `unknown_failure`.
    assert_eq!(
        broken["failure_reason"], "unknown_failure",
        "broken: {broken}"
    );
    assert!(broken_log.contains("about to fail"), "{broken_log}");
    assert!(broken_log.contains("COLLABORA-FAILING"), "{broken_log}");

    // The crate names the zip after the payload's artifacts `name` (`default` when null).
    let filename = build["artifacts_file"]["filename"]
        .as_str()
        .ok_or_else(|| format!("no artifacts_file on build: {build}"))?;
    assert_eq!(
        filename, "default.zip",
        "the payload's archive name is null like GitLab's"
    );
    assert!(build["artifacts_file"]["size"].as_i64().unwrap_or(0) > 0);
    let archive = build["artifacts"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["file_type"] == "archive"))
        .ok_or_else(|| format!("no archive in artifacts: {build}"))?;
    assert_eq!(archive["file_format"], "zip", "{archive}");
    assert_eq!(archive["filename"], filename, "{archive}");

    // `expire_in` came as a multipart text field (spec §10: accept form or query).
    let expire_at = build["artifacts_expire_at"]
        .as_str()
        .ok_or_else(|| format!("no artifacts_expire_at: {build}"))?;
    let expire_at = chrono::DateTime::parse_from_rfc3339(expire_at)?;
    let in_a_day = chrono::Utc::now() + chrono::Duration::days(1);
    let drift = (in_a_day - expire_at.with_timezone(&chrono::Utc))
        .num_minutes()
        .abs();
    assert!(drift < 10, "expire_in: 1 day ignored: {expire_at}");

    // Stage 2 downloaded it as a dependency through the crate (GET /jobs/:id/artifacts with
    // the token from `dependencies[]`).
    let consume = h.job(project_id, "consume").await?;
    let consume_id = consume["id"].as_i64().ok_or("consume id")?;
    let consume_log = h.trace(project_id, consume_id).await?;
    assert_eq!(
        consume["status"], "success",
        "{consume}\nlog:\n{consume_log}"
    );
    assert!(
        consume_log.contains(&format!(
            "DEPENDENCY build report/summary.txt: {ARTIFACT_CONTENT}"
        )),
        "{consume_log}"
    );

    let download = h
        .response(&format!("/projects/{project_id}/jobs/{build_id}/artifacts"))
        .await?;
    assert_eq!(download.status(), 200);
    let bytes = download.bytes().await?;
    assert!(bytes.starts_with(b"PK"), "not a zip");
    let one = h
        .response(&format!(
            "/projects/{project_id}/jobs/{build_id}/artifacts/report/summary.txt"
        ))
        .await?;
    assert_eq!(one.status(), 200);
    assert_eq!(one.text().await?, ARTIFACT_CONTENT);

    h.server.shutdown.cancel();
    Ok(())
}

const CANCEL_YAML: &str = r#"
slow:
  script:
    - echo "COLLABORA-SLOW-START"
    - wait-for-cancel
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn canceling_a_collabora_job_ends_canceled_and_stops_the_handler() -> TestResult {
    let h = Harness::start().await?;
    let (project_id, pipeline_id) = h
        .project_with_pipeline("collabora-cancel", CANCEL_YAML)
        .await?;
    let builds = tempfile::tempdir()?;
    let probe = Arc::new(Probe::default());
    let runner = h
        .spawn_collabora_runner(builds.path(), probe.clone())
        .await?;

    let mut waiting = false;
    for _ in 0..300 {
        if probe.waiting.load(Ordering::SeqCst) {
            waiting = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(waiting, "the handler never started the slow job");
    let slow = h.job(project_id, "slow").await?;
    let slow_id = slow["id"].as_i64().ok_or("slow id")?;
    assert_eq!(slow["status"], "running", "{slow}");

    // Live log: the crate's first trace PATCH (after its 3 s tick) reaches the server while
    // the handler is still running. Cancel only then, or nothing would ever be stored.
    let mut live_log = String::new();
    for _ in 0..100 {
        live_log = h.trace(project_id, slow_id).await?;
        if live_log.contains("TICK 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(live_log.contains("COLLABORA-SLOW-START"), "{live_log}");
    assert!(live_log.contains("TICK 0"), "{live_log}");

    // The crate never advertises cancel_gracefully: no `canceling` detour.
    let canceled = h
        .post(
            &format!("/projects/{project_id}/jobs/{slow_id}/cancel"),
            json!({}),
        )
        .await?;
    assert_eq!(canceled["status"], "canceled", "{canceled}");

    // The crate learns it from `Job-Status: canceled` on its next trace PATCH (3 s ticks).
    let mut cleaned = false;
    for _ in 0..200 {
        if probe.cancel_job_cleaned_up.load(Ordering::SeqCst) {
            cleaned = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a (wrong) final update a moment to arrive before checking it did not.
    tokio::time::sleep(Duration::from_millis(500)).await;
    runner.abort();
    assert!(cleaned, "the crate never noticed the cancellation");
    assert!(!probe.wait_completed.load(Ordering::SeqCst));

    let slow = h.job(project_id, "slow").await?;
    assert_eq!(slow["status"], "canceled", "{slow}");
    let pipeline = h.wait_for_pipeline(project_id, pipeline_id).await?;
    assert_eq!(pipeline["status"], "canceled", "{pipeline}");
    let log = h.trace(project_id, slow_id).await?;
    assert!(log.contains("COLLABORA-SLOW-START"), "{log}");
    assert!(log.contains("TICK 0"), "{log}");

    h.server.shutdown.cancel();
    Ok(())
}

const REPORT_YAML: &str = r#"
unit:
  script:
    - write junit.xml
    - exit 1
  artifacts:
    paths: [missing/]
    reports:
      junit: junit.xml
"#;

/// A failing job still uploads its `artifacts:reports` (GitLab sends them `when: always`);
/// the crate gzips a junit report and sends `artifact_type=junit`, `artifact_format=gzip`
/// as form fields before its final `failed` PUT.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_collabora_job_uploads_its_junit_report() -> TestResult {
    let h = Harness::start().await?;
    let (project_id, pipeline_id) = h
        .project_with_pipeline("collabora-junit", REPORT_YAML)
        .await?;
    let builds = tempfile::tempdir()?;
    let runner = h
        .spawn_collabora_runner(builds.path(), Arc::new(Probe::default()))
        .await?;
    let pipeline = h.wait_for_pipeline(project_id, pipeline_id).await;
    runner.abort();
    assert_eq!(pipeline?["status"], "failed");

    let unit = h.job(project_id, "unit").await?;
    let unit_id = unit["id"].as_i64().ok_or("unit id")?;
    let log = h.trace(project_id, unit_id).await?;
    assert_eq!(unit["status"], "failed", "{unit}\nlog:\n{log}");
    assert!(log.contains("COLLABORA-FAILING"), "{log}");
    let junit = unit["artifacts"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["file_type"] == "junit"))
        .ok_or_else(|| format!("no junit report in artifacts: {unit}\nlog:\n{log}"))?;
    assert_eq!(junit["file_format"], "gzip", "{junit}");
    // The crate names the upload `<payload name>.gz`; GitLab names junit entries `junit.xml`.
    assert_eq!(junit["filename"], "junit.xml.gz", "{junit}");
    // The archive entry is `on_success`: a failed script uploads none.
    assert!(unit["artifacts_file"].is_null(), "{unit}");

    h.server.shutdown.cancel();
    Ok(())
}
