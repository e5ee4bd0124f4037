//! Issue #5's done-criterion for our own runner: `pipewright serve --builtin-runners 0` and
//! `pipewright runner run` as two separate processes run a multi-job pipeline (logs, a failure,
//! artifacts passed between stages, a cancellation, an `on_failure` job), and the Jobs and
//! artifacts APIs show exactly what happened.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const ROOT_TOKEN: &str = "glpat-separate-runner-root";
const BIN: &str = env!("CARGO_BIN_EXE_pipewright");
/// Everything, from the server's start to the pipeline's end, happens within this.
const DEADLINE: Duration = Duration::from_secs(90);

/// The artifact `build` writes; `uses` prints it from its dependency's archive.
const RESULT: &str = "built-by-separate-runner 42\n";

const CI_YAML: &str = r#"
stages: [build, test, deploy]
build:
  stage: build
  script:
    - mkdir -p out
    - printf 'built-by-separate-runner 42\n' > out/result.txt
    - echo build-log-marker
  artifacts:
    paths: [out/]
uses:
  stage: test
  script:
    - echo uses-before
    - cat out/result.txt
fails:
  stage: test
  script:
    - echo fails-before-exit
    - exit 3
    - echo fails-never-here
slow:
  stage: test
  script:
    - echo slow-start-marker
    - sleep 120
    - echo slow-end-marker
  after_script:
    - echo "slow-after-script $CI_JOB_STATUS"
after:
  stage: deploy
  when: on_failure
  script:
    - echo after-ran-on-failure
never:
  stage: deploy
  script:
    - echo never-runs
"#;

/// The server and runner processes; killed when dropped, so a failing test leaves nothing behind.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
    started: Instant,
}

impl Api {
    fn check_deadline(&self, what: &str) -> Res<()> {
        if self.started.elapsed() > DEADLINE {
            return Err(format!("deadline passed while waiting for {what}").into());
        }
        Ok(())
    }

    async fn raw(&self, method: reqwest::Method, path: &str) -> Res<reqwest::Response> {
        Ok(self
            .http
            .request(method, format!("{}/api/v4{path}", self.base))
            .header("PRIVATE-TOKEN", ROOT_TOKEN)
            .send()
            .await?)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Res<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/api/v4{path}", self.base))
            .header("PRIVATE-TOKEN", ROOT_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(format!("{method} {path}: {status} {text}").into());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Res<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Res<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn trace(&self, project: i64, job: i64) -> Res<String> {
        let response = self
            .raw(
                reqwest::Method::GET,
                &format!("/projects/{project}/jobs/{job}/trace"),
            )
            .await?;
        Ok(response.text().await?)
    }

    async fn job(&self, project: i64, job: i64) -> Res<Value> {
        self.get(&format!("/projects/{project}/jobs/{job}")).await
    }
}

fn free_port() -> Res<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn spawn(args: &[&str], dir: &Path, name: &str) -> Res<Child> {
    // Files, not pipes: nobody reads them while the pipeline runs.
    Ok(Command::new(BIN)
        .args(args)
        .env_remove("PIPEWRIGHT_RUNNER_TOKEN")
        .env_remove("PIPEWRIGHT_RUNNER_URL")
        .env("PIPEWRIGHT_INITIAL_ROOT_TOKEN", ROOT_TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(
            dir.join(format!("{name}.out")),
        )?))
        .stderr(Stdio::from(std::fs::File::create(
            dir.join(format!("{name}.err")),
        )?))
        .spawn()?)
}

/// Both processes' output, for failure messages.
fn logs(dir: &Path) -> String {
    ["serve.err", "serve.out", "runner.err", "runner.out"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            let tail: String = text
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            format!("--- {name} (tail)\n{tail}\n")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_runner_runs_a_multi_job_pipeline() -> Res<()> {
    let dir = tempfile::tempdir()?;
    let result = scenario(dir.path()).await;
    if let Err(error) = &result {
        return Err(format!("{error}\n{}", logs(dir.path())).into());
    }
    result
}

async fn scenario(dir: &Path) -> Res<()> {
    let started = Instant::now();
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let data = dir.join("data").display().to_string();
    let mut children = Children(Vec::new());
    children.0.push(spawn(
        &[
            "serve",
            "--listen",
            &listen,
            "--data-dir",
            &data,
            "--builtin-runners",
            "0",
        ],
        dir,
        "serve",
    )?);
    let api = Api {
        base: format!("http://{listen}"),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()?,
        started,
    };
    loop {
        api.check_deadline("the server to answer")?;
        if let Some(status) = children.0[0].try_wait()? {
            return Err(format!("server exited early: {status}").into());
        }
        match api.get("/version").await {
            Ok(version) if version["version"].is_string() => break,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }

    let project = api.post("/projects", json!({ "name": "sep" })).await?;
    let project_id = project["id"].as_i64().ok_or("project id")?;

    // Register (instance runner, takes untagged jobs) and write the configuration file.
    let config = dir.join("runner.toml").display().to_string();
    let builds = dir.join("builds").display().to_string();
    let base = api.base.clone();
    let register = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["runner", "register", "--url", &base, "--token", ROOT_TOKEN])
            .args(["--description", "separate", "--builds-dir", &builds])
            .args(["--config", &config])
            .env_remove("PIPEWRIGHT_RUNNER_TOKEN")
            .env_remove("PIPEWRIGHT_RUNNER_URL")
            .stdin(Stdio::null())
            .output()
    })
    .await??;
    assert!(
        register.status.success(),
        "register: {}",
        String::from_utf8_lossy(&register.stderr)
    );
    let runners = api.get("/runners/all").await?;
    let runner = runners
        .as_array()
        .and_then(|all| all.iter().find(|r| r["description"] == "separate"))
        .ok_or(format!("registered runner not listed: {runners}"))?
        .clone();
    let config = dir.join("runner.toml").display().to_string();
    children.0.push(spawn(
        &[
            "runner",
            "run",
            "--config",
            &config,
            "--concurrency",
            "3",
            "--poll-interval",
            "1",
        ],
        dir,
        "runner",
    )?);

    let commit = api
        .post(
            &format!("/projects/{project_id}/repository/commits"),
            json!({
                "branch": "main", "commit_message": "ci",
                "actions": [{ "action": "create", "file_path": ".gitlab-ci.yml", "content": CI_YAML }],
            }),
        )
        .await?;
    let sha = commit["id"].as_str().ok_or("commit sha")?.to_owned();
    let pipeline_id = loop {
        api.check_deadline("the pipeline to be created")?;
        let pipelines = api
            .get(&format!("/projects/{project_id}/pipelines"))
            .await?;
        if let Some(id) = pipelines[0]["id"].as_i64() {
            assert_eq!(pipelines[0]["sha"], sha.as_str());
            break id;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let jobs = api
        .get(&format!(
            "/projects/{project_id}/pipelines/{pipeline_id}/jobs"
        ))
        .await?;
    let id_of = |name: &str| -> Res<i64> {
        jobs.as_array()
            .and_then(|all| all.iter().find(|job| job["name"] == name))
            .and_then(|job| job["id"].as_i64())
            .ok_or_else(|| format!("no job {name} in {jobs}").into())
    };
    let (build, uses, fails, slow, after, never) = (
        id_of("build")?,
        id_of("uses")?,
        id_of("fails")?,
        id_of("slow")?,
        id_of("after")?,
        id_of("never")?,
    );

    // Cancel `slow` once it runs and its log shows the script started.
    loop {
        api.check_deadline("`slow` to start")?;
        if let Some(status) = children.0[1].try_wait()? {
            return Err(format!("runner exited early: {status}").into());
        }
        let job = api.job(project_id, slow).await?;
        if job["status"] == "running"
            && api
                .trace(project_id, slow)
                .await?
                .contains("slow-start-marker")
        {
            break;
        }
        let status = job["status"].as_str().unwrap_or_default();
        assert!(
            ["created", "pending", "running"].contains(&status),
            "slow before its cancel: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let canceled_at = Instant::now();
    let canceled = api
        .post(
            &format!("/projects/{project_id}/jobs/{slow}/cancel"),
            json!({}),
        )
        .await?;
    assert!(
        ["canceling", "canceled"].contains(&canceled["status"].as_str().unwrap_or_default()),
        "{canceled}"
    );

    let pipeline = loop {
        api.check_deadline("the pipeline to finish")?;
        let pipeline = api
            .get(&format!("/projects/{project_id}/pipelines/{pipeline_id}"))
            .await?;
        let status = pipeline["status"].as_str().unwrap_or_default();
        if ["success", "failed", "canceled", "skipped"].contains(&status) {
            break pipeline;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The script was stopped, not waited for: `sleep 120` would take far longer.
    assert!(
        canceled_at.elapsed() < Duration::from_secs(60),
        "{:?}",
        canceled_at.elapsed()
    );

    let mut report = String::new();
    let mut finals = Vec::new();
    for (name, id) in [
        ("build", build),
        ("uses", uses),
        ("fails", fails),
        ("slow", slow),
        ("after", after),
        ("never", never),
    ] {
        let job = api.job(project_id, id).await?;
        let trace = api.trace(project_id, id).await?;
        report.push_str(&format!("=== {name}: {job}\n{trace}\n"));
        finals.push((job, trace));
    }
    let status_of = |i: usize| finals[i].0["status"].as_str().unwrap_or_default();
    assert_eq!(
        [
            status_of(0),
            status_of(1),
            status_of(2),
            status_of(3),
            status_of(4),
            status_of(5)
        ],
        [
            "success", "success", "failed", "canceled", "success", "skipped"
        ],
        "{pipeline}\n{report}"
    );
    // A failed job and a canceled one: the pipeline fails, as in GitLab.
    assert_eq!(pipeline["status"], "failed", "{pipeline}\n{report}");

    // Every job that ran ran on our separate runner.
    for (job, _) in &finals[..5] {
        assert_eq!(job["runner"]["id"], runner["id"], "{report}");
    }
    assert_eq!(finals[2].0["failure_reason"], "script_failure", "{report}");
    assert!(finals[0].0["failure_reason"].is_null(), "{report}");
    assert!(finals[3].0["failure_reason"].is_null(), "{report}");

    // Logs: each job's script output, exactly as far as it ran.
    let trace = |i: usize| finals[i].1.as_str();
    assert!(trace(0).contains("build-log-marker"), "{report}");
    assert!(trace(1).contains("uses-before"), "{report}");
    assert!(trace(1).contains(RESULT), "{report}");
    assert!(trace(2).contains("fails-before-exit"), "{report}");
    assert!(trace(2).contains("exit code 3"), "{report}");
    assert!(!trace(2).contains("fails-never-here"), "{report}");
    assert!(trace(3).contains("slow-start-marker"), "{report}");
    assert!(!trace(3).contains("slow-end-marker"), "{report}");
    assert!(trace(3).contains("slow-after-script canceled"), "{report}");
    assert!(trace(4).contains("after-ran-on-failure"), "{report}");
    assert!(!trace(5).contains("never-runs"), "{report}");

    // Artifacts: `build` has an archive holding the exact bytes; the others none.
    let file = &finals[0].0["artifacts_file"];
    assert!(file["filename"].is_string(), "{report}");
    assert!(file["size"].as_i64().unwrap_or_default() > 0, "{report}");
    let archive = &finals[0].0["artifacts"];
    assert!(
        archive
            .as_array()
            .is_some_and(|all| all.iter().any(|a| a["file_type"] == "archive")),
        "{report}"
    );
    let response = api
        .raw(
            reqwest::Method::GET,
            &format!("/projects/{project_id}/jobs/{build}/artifacts/out/result.txt"),
        )
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await?.as_ref(), RESULT.as_bytes());
    for (job, _) in &finals[1..] {
        assert!(job["artifacts_file"].is_null(), "{report}");
    }
    let missing = api
        .raw(
            reqwest::Method::GET,
            &format!("/projects/{project_id}/jobs/{uses}/artifacts/out/result.txt"),
        )
        .await?;
    assert_eq!(missing.status(), 404);

    // The canceled job stays stopped: the sleep's end never reaches the log later on.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = api.job(project_id, slow).await?;
    assert_eq!(again["status"], "canceled");
    assert!(
        !api.trace(project_id, slow)
            .await?
            .contains("slow-end-marker")
    );
    drop(children);
    Ok(())
}
