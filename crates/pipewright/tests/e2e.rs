//! End to end: a real `pipewright serve` on an ephemeral port with the built-in runner, driven
//! over HTTP and with the `git` binary, as a user would.

use std::time::Duration;

use pipewright::cli::ServeArgs;
use pipewright::serve::{Server, start};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ROOT_TOKEN: &str = "e2e-root-token";

struct Harness {
    server: Server,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start(builtin_runners: usize) -> Result<Harness, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let server = start(ServeArgs {
            listen: "127.0.0.1:0".parse()?,
            data_dir: dir.path().to_path_buf(),
            database_url: None,
            external_url: None,
            builtin_runners: Some(builtin_runners),
            initial_root_token: Some(ROOT_TOKEN.into()),
            long_polling_timeout: 50,
        })
        .await?;
        let base = format!("http://{}", server.addr);
        Ok(Harness {
            server,
            base,
            http: reqwest::Client::new(),
            _dir: dir,
        })
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/v4{path}", self.base)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, Box<dyn std::error::Error>> {
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

    async fn get(&self, path: &str) -> Result<Value, Box<dyn std::error::Error>> {
        let response = self
            .http
            .get(self.api(path))
            .header("PRIVATE-TOKEN", ROOT_TOKEN)
            .send()
            .await?;
        assert!(response.status().is_success(), "GET {path}");
        Ok(response.json().await?)
    }

    async fn text(&self, path: &str) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self
            .http
            .get(self.api(path))
            .header("PRIVATE-TOKEN", ROOT_TOKEN)
            .send()
            .await?
            .text()
            .await?)
    }

    /// Polls the pipeline until it leaves the active statuses (bounded: one minute).
    async fn wait_for_pipeline(
        &self,
        project: i64,
        pipeline: i64,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        for _ in 0..600 {
            let body = self
                .get(&format!("/projects/{project}/pipelines/{pipeline}"))
                .await?;
            let status = body["status"].as_str().unwrap_or_default().to_owned();
            if ![
                "created",
                "pending",
                "running",
                "preparing",
                "waiting_for_resource",
            ]
            .contains(&status.as_str())
            {
                return Ok(body);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("pipeline did not finish within a minute".into())
    }
}

const CI_YAML: &str = r#"
stages: [build, test]
build:
  stage: build
  script:
    - echo "E2E-MARKER-$CI_JOB_NAME"
  after_script:
    - echo "AFTER-SCRIPT-OUTPUT"
lint:
  stage: build
  allow_failure: true
  script:
    - echo "lint found problems"
    - exit 7
broken:
  stage: test
  script:
    - exit 1
deploy:
  stage: test
  when: manual
  script: echo deploying
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_runs_its_pipeline_on_the_builtin_runner() -> TestResult {
    let h = Harness::start(2).await?;
    let project = h.post("/projects", json!({ "name": "e2e" })).await?;
    let project_id = project["id"].as_i64().ok_or("project id")?;
    h.post(
        &format!("/projects/{project_id}/repository/commits"),
        json!({
            "branch": "main",
            "commit_message": "add ci",
            "actions": [{ "action": "create", "file_path": ".gitlab-ci.yml", "content": CI_YAML }],
        }),
    )
    .await?;

    let pipelines = h.get(&format!("/projects/{project_id}/pipelines")).await?;
    let pipeline_id = pipelines[0]["id"].as_i64().ok_or("pipeline id")?;
    assert_eq!(pipelines[0]["source"], "push");
    let pipeline = h.wait_for_pipeline(project_id, pipeline_id).await?;
    assert_eq!(pipeline["status"], "failed");

    let jobs = h.get(&format!("/projects/{project_id}/jobs")).await?;
    let by_name = |name: &str| {
        jobs.as_array()
            .and_then(|jobs| jobs.iter().find(|job| job["name"] == name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_name("build")["status"], "success");
    assert_eq!(by_name("lint")["status"], "failed");
    assert_eq!(by_name("lint")["allow_failure"], true);
    assert_eq!(by_name("lint")["failure_reason"], "script_failure");
    assert_eq!(by_name("broken")["status"], "failed");
    assert_eq!(by_name("broken")["failure_reason"], "script_failure");
    // A manual job next to a failing job of its stage still parks in `manual`.
    assert_eq!(by_name("deploy")["status"], "manual");
    assert!(by_name("build")["runner"]["id"].is_i64());

    let build_id = by_name("build")["id"].as_i64().ok_or("build id")?;
    let log = h
        .text(&format!("/projects/{project_id}/jobs/{build_id}/trace"))
        .await?;
    assert!(log.contains("E2E-MARKER-build"), "log: {log}");
    assert!(log.contains("AFTER-SCRIPT-OUTPUT"), "log: {log}");
    let lint_id = by_name("lint")["id"].as_i64().ok_or("lint id")?;
    let lint_log = h
        .text(&format!("/projects/{project_id}/jobs/{lint_id}/trace"))
        .await?;
    assert!(lint_log.contains("lint found problems"));

    h.server.shutdown.cancel();
    Ok(())
}

fn git(dir: &std::path::Path, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "E2E")
        .env("GIT_AUTHOR_EMAIL", "e2e@example.com")
        .env("GIT_COMMITTER_NAME", "E2E")
        .env("GIT_COMMITTER_EMAIL", "e2e@example.com")
        .output()?;
    if !output.status.success() {
        return Err(format!("git {args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_git_push_over_smart_http_starts_a_pipeline() -> TestResult {
    let h = Harness::start(1).await?;
    let project = h.post("/projects", json!({ "name": "pushed" })).await?;
    let project_id = project["id"].as_i64().ok_or("project id")?;
    let work = tempfile::tempdir()?;
    let remote = format!("http://root:{ROOT_TOKEN}@{}/root/pushed.git", h.server.addr);
    git(work.path(), &["init", "-q", "-b", "main"])?;
    std::fs::write(
        work.path().join(".gitlab-ci.yml"),
        "job:\n  script: echo PUSHED-$CI_COMMIT_BRANCH\n",
    )?;
    git(work.path(), &["add", "."])?;
    git(work.path(), &["commit", "-q", "-m", "first"])?;
    git(work.path(), &["push", "-q", &remote, "main"])?;

    let pipelines = h.get(&format!("/projects/{project_id}/pipelines")).await?;
    assert_eq!(pipelines.as_array().map(Vec::len), Some(1));
    let pipeline_id = pipelines[0]["id"].as_i64().ok_or("pipeline id")?;
    let sha = git(work.path(), &["rev-parse", "HEAD"])?;
    assert_eq!(pipelines[0]["sha"], sha.trim());
    let pipeline = h.wait_for_pipeline(project_id, pipeline_id).await?;
    assert_eq!(pipeline["status"], "success");
    let jobs = h
        .get(&format!(
            "/projects/{project_id}/pipelines/{pipeline_id}/jobs"
        ))
        .await?;
    let job_id = jobs[0]["id"].as_i64().ok_or("job id")?;
    let log = h
        .text(&format!("/projects/{project_id}/jobs/{job_id}/trace"))
        .await?;
    assert!(log.contains("PUSHED-main"), "log: {log}");

    // The clone works back, and anonymous access to the private project is refused.
    let clone = tempfile::tempdir()?;
    git(clone.path(), &["clone", "-q", &remote, "copy"])?;
    assert!(clone.path().join("copy/.gitlab-ci.yml").exists());
    let anonymous = format!("http://{}/root/pushed.git", h.server.addr);
    assert!(git(clone.path(), &["ls-remote", &anonymous]).is_err());

    h.server.shutdown.cancel();
    Ok(())
}
