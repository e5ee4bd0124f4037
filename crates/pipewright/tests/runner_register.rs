//! `pipewright runner register` and `pipewright runner run --config`, end to end: the real
//! binary against a real server started in this process (no built-in runner), with a
//! pipeline whose jobs share a cache and try to read the runner's secrets.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use clap::Parser;
use pipewright::cli::{Cli, Command as CliCommand, RunnerAction, ServeArgs};
use pipewright::serve::{Server, start};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Res<T> = Result<T, Box<dyn std::error::Error>>;

const ROOT_TOKEN: &str = "glpat-register-e2e-root";
const BIN: &str = env!("CARGO_BIN_EXE_pipewright");

struct Harness {
    server: Server,
    base: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Harness {
    async fn start() -> Res<Self> {
        let dir = tempfile::tempdir()?;
        let server = start(ServeArgs {
            listen: "127.0.0.1:0".parse()?,
            data_dir: dir.path().join("data"),
            database_url: None,
            external_url: None,
            builtin_runners: Some(0),
            initial_root_token: Some(ROOT_TOKEN.into()),
            long_polling_timeout: 5,
        })
        .await?;
        let base = format!("http://{}", server.addr);
        Ok(Self {
            server,
            base,
            http: reqwest::Client::new(),
            dir,
        })
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
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Res<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Res<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn trace(&self, project: i64, job: i64) -> Res<String> {
        Ok(self
            .http
            .get(format!(
                "{}/api/v4/projects/{project}/jobs/{job}/trace",
                self.base
            ))
            .header("PRIVATE-TOKEN", ROOT_TOKEN)
            .send()
            .await?
            .text()
            .await?)
    }

    async fn wait_for_pipeline(&self, project: i64, pipeline: i64) -> Res<Value> {
        for _ in 0..600 {
            let body = self
                .get(&format!("/projects/{project}/pipelines/{pipeline}"))
                .await?;
            let status = body["status"].as_str().unwrap_or_default();
            if ["success", "failed", "canceled", "skipped", "manual"].contains(&status) {
                return Ok(body);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("pipeline did not finish within a minute".into())
    }
}

/// Runs the binary to completion (off the async runtime).
async fn pipewright(args: Vec<String>) -> Res<Output> {
    Ok(tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env_remove("PIPEWRIGHT_RUNNER_TOKEN")
            .env_remove("PIPEWRIGHT_RUNNER_URL")
            .env("PIPEWRIGHT_LOG", "debug")
            .stdin(Stdio::null())
            .output()
    })
    .await??)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> Res<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

/// The `token = "..."` of a configuration file.
fn token_in(path: &Path) -> Res<String> {
    let config = std::fs::read_to_string(path)?;
    config
        .lines()
        .find_map(|line| line.strip_prefix("token = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .map(str::to_owned)
        .ok_or_else(|| format!("no token in {config}").into())
}

const CI_YAML: &str = r#"
stages: [build, test]
fill:
  stage: build
  tags: [e2e]
  cache:
    key: deps
    paths: [deps/]
  script:
    - mkdir -p deps && echo "cached-in-$CI_PIPELINE_ID" > deps/v
    - env | sort
    - cat "$RUNNER_CONFIG_PATH"
use:
  stage: test
  tags: [e2e]
  cache:
    key: deps
    paths: [deps/]
    policy: pull
  script:
    - cat deps/v
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_writes_a_private_config_that_runs_jobs() -> TestResult {
    let h = Harness::start().await?;
    let project = h.post("/projects", json!({ "name": "reg" })).await?;
    let project_id = project["id"].as_i64().ok_or("project id")?;
    let config = h.dir.path().join("runner/pipewright-runner.toml");

    let out = pipewright(strings(&[
        "runner",
        "register",
        "--url",
        &h.base,
        "--token",
        ROOT_TOKEN,
        "--runner-type",
        "project_type",
        "--project-id",
        &project_id.to_string(),
        "--description",
        "laptop",
        "--tag-list",
        "e2e,shell",
        "--run-untagged",
        "false",
        "--locked",
        "--access-level",
        "not_protected",
        "--maximum-timeout",
        "3600",
        "--config",
        &config.display().to_string(),
    ]))
    .await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(mode(&config)?, 0o600);
    let token = token_in(&config)?;
    assert!(token.starts_with("glrt-"), "{token}");
    // The token is in the file only.
    assert!(!text(&out.stdout).contains(&token));
    assert!(!text(&out.stderr).contains(&token));
    assert!(!text(&out.stderr).contains(ROOT_TOKEN));

    let runners = h.get(&format!("/projects/{project_id}/runners")).await?;
    let runner_id = runners[0]["id"].as_i64().ok_or("runner id")?;
    let runner = h.get(&format!("/runners/{runner_id}")).await?;
    assert_eq!(runner["runner_type"], "project_type");
    assert_eq!(runner["description"], "laptop");
    assert_eq!(runner["tag_list"], json!(["e2e", "shell"]));
    assert_eq!(runner["run_untagged"], false);
    assert_eq!(runner["locked"], true);
    assert_eq!(runner["access_level"], "not_protected");
    assert_eq!(runner["maximum_timeout"], 3600);

    // An existing file is never replaced silently, and nothing is created on the server.
    let again = pipewright(strings(&[
        "runner",
        "register",
        "--url",
        &h.base,
        "--token",
        ROOT_TOKEN,
        "--config",
        &config.display().to_string(),
    ]))
    .await?;
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(token_in(&config)?, token);

    // The runner runs a pipeline from its configuration file.
    let (log_path, err_path) = (
        h.dir.path().join("runner.out"),
        h.dir.path().join("runner.err"),
    );
    let mut runner = Command::new(BIN)
        .args(["runner", "run", "--config"])
        .arg(&config)
        .args(["--poll-interval", "1"])
        .env_remove("PIPEWRIGHT_RUNNER_TOKEN")
        .env_remove("PIPEWRIGHT_RUNNER_URL")
        .env("PIPEWRIGHT_LOG", "debug")
        .env("PIPEWRIGHT_INITIAL_ROOT_TOKEN", "probe-root-secret")
        .env("RUNNER_CONFIG_PATH", &config)
        .stdin(Stdio::null())
        // Files, not pipes: nobody reads while the pipeline runs, and debug logs are chatty.
        .stdout(Stdio::from(std::fs::File::create(&log_path)?))
        .stderr(Stdio::from(std::fs::File::create(&err_path)?))
        .spawn()?;
    let result = run_pipeline(&h, project_id, &token).await;
    // SIGTERM: the runner stops gracefully; its log must not hold the token either.
    Command::new("kill")
        .args(["-TERM", &runner.id().to_string()])
        .status()?;
    let stopped = tokio::task::spawn_blocking(move || {
        // Bounded: a runner that ignores SIGTERM is killed (and the test fails below).
        let mut graceful = false;
        for _ in 0..600 {
            if runner.try_wait()?.is_some() {
                graceful = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if !graceful {
            runner.kill()?;
        }
        runner.wait().map(|_| graceful)
    });
    let graceful = stopped.await??;
    result?;
    let logs = format!(
        "{}{}",
        std::fs::read_to_string(&log_path)?,
        std::fs::read_to_string(&err_path)?
    );
    assert!(graceful, "{logs}");
    // Logs go to stderr.
    let stderr = std::fs::read_to_string(&err_path)?;
    assert!(stderr.contains("runner verified"), "{logs}");
    assert!(logs.contains("job finished"), "{logs}");
    assert!(!logs.contains(&token), "{logs}");

    h.server.shutdown.cancel();
    Ok(())
}

async fn run_pipeline(h: &Harness, project_id: i64, token: &str) -> TestResult {
    h.post(
        &format!("/projects/{project_id}/repository/commits"),
        json!({
            "branch": "main", "commit_message": "ci",
            "actions": [{ "action": "create", "file_path": ".gitlab-ci.yml", "content": CI_YAML }],
        }),
    )
    .await?;
    let pipelines = h.get(&format!("/projects/{project_id}/pipelines")).await?;
    let pipeline_id = pipelines[0]["id"].as_i64().ok_or("pipeline id")?;
    let pipeline = h.wait_for_pipeline(project_id, pipeline_id).await?;
    let jobs = h
        .get(&format!(
            "/projects/{project_id}/pipelines/{pipeline_id}/jobs"
        ))
        .await?;
    let id_of = |name: &str| {
        jobs.as_array()
            .and_then(|jobs| jobs.iter().find(|job| job["name"] == name))
            .and_then(|job| job["id"].as_i64())
            .ok_or(format!("no job {name}"))
    };
    let fill = h.trace(project_id, id_of("fill")?).await?;
    let used = h.trace(project_id, id_of("use")?).await?;
    assert_eq!(
        pipeline["status"], "success",
        "{pipeline}\n{jobs}\n{fill}\n{used}"
    );

    // The cache made it from one job to the next.
    assert!(fill.contains("Created cache deps-"), "{fill}");
    assert!(
        used.contains("Successfully extracted cache deps-"),
        "{used}"
    );
    assert!(
        used.contains(&format!("cached-in-{pipeline_id}\n")),
        "{used}"
    );
    // Reading the runner's configuration shows no token; its own settings are not inherited.
    assert!(fill.contains("token = \"[MASKED]\""), "{fill}");
    assert!(!fill.contains(token), "{fill}");
    assert!(!fill.contains("probe-root-secret"), "{fill}");
    assert!(!fill.contains("PIPEWRIGHT_"), "{fill}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_registration_token_and_refusals() -> TestResult {
    let h = Harness::start().await?;
    let settings = h.get("/application/settings").await?;
    let registration = settings["runners_registration_token"]
        .as_str()
        .ok_or("registration token")?
        .to_owned();
    let config = h.dir.path().join("legacy.toml");
    let out = pipewright(strings(&[
        "runner",
        "register",
        "--url",
        &h.base,
        "--registration-token",
        &registration,
        "--description",
        "old-style",
        "--tag-list",
        "x",
        "--config",
        &config.display().to_string(),
    ]))
    .await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(mode(&config)?, 0o600);
    let token = token_in(&config)?;
    let runners = h.get("/runners/all").await?;
    let runner = runners
        .as_array()
        .and_then(|all| all.iter().find(|r| r["description"] == "old-style"))
        .ok_or("legacy runner listed")?;
    let details = h.get(&format!("/runners/{}", runner["id"])).await?;
    assert_eq!(details["runner_type"], "instance_type");
    assert_eq!(details["tag_list"], json!(["x"]));
    assert!(!text(&out.stderr).contains(&registration));
    // The token works for the runner protocol.
    let id = pipewright_runner::verify(&h.base, &token).await?;
    assert_eq!(json!(id), runner["id"]);

    // `--token glrt-…` of an existing runner: verified and written, nothing created.
    let created = h
        .post(
            "/user/runners",
            json!({ "runner_type": "instance_type", "description": "made-in-api" }),
        )
        .await?;
    let glrt = created["token"].as_str().ok_or("glrt token")?.to_owned();
    let runners = h.get("/runners/all").await?;
    let existing = h.dir.path().join("existing.toml");
    let out = pipewright(strings(&[
        "runner",
        "register",
        "--url",
        &h.base,
        "--token",
        &glrt,
        "--config",
        &existing.display().to_string(),
    ]))
    .await?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(token_in(&existing)?, glrt);
    assert!(std::fs::read_to_string(&existing)?.contains(&format!("id = {}", created["id"])));
    let ids = |list: &Value| -> Vec<Value> {
        list.as_array()
            .map(|all| all.iter().map(|r| r["id"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(ids(&h.get("/runners/all").await?), ids(&runners));

    // A wrong personal access token: an error naming the status, and no file.
    let refused = h.dir.path().join("refused.toml");
    let out = pipewright(strings(&[
        "runner",
        "register",
        "--url",
        &h.base,
        "--token",
        "glpat-wrong",
        "--config",
        &refused.display().to_string(),
    ]))
    .await?;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
    assert!(!refused.exists());
    // Both or neither kind of token is refused by the command line itself.
    assert!(
        Cli::try_parse_from(["pipewright", "runner", "register", "--url", "http://x"]).is_err()
    );
    h.server.shutdown.cancel();
    Ok(())
}

#[test]
fn flags_still_work_and_override_the_config_file() -> TestResult {
    // The pre-existing form: `pipewright runner --url --token`.
    let cli = Cli::try_parse_from([
        "pipewright",
        "runner",
        "--url",
        "http://127.0.0.1:9",
        "--token",
        "glrt-flag",
        "--concurrency",
        "3",
    ])?;
    let CliCommand::Runner(args) = cli.command else {
        return Err("not a runner command".into());
    };
    assert!(args.action.is_none());
    let config = pipewright::runner_cmd::resolve(&args.run)?;
    assert_eq!(
        (
            config.url.as_str(),
            config.token.as_str(),
            config.concurrency
        ),
        ("http://127.0.0.1:9", "glrt-flag", 3)
    );
    assert!(!format!("{config:?}").contains("glrt-flag"));

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.toml");
    pipewright::runner_config::RunnerFile {
        url: "http://from-file:1".into(),
        token: "glrt-file".into(),
        id: Some(1),
        token_expires_at: None,
        system_id: Some("r_00000000000a".into()),
        name: Some("from-file".into()),
        concurrency: Some(2),
        builds_dir: Some("b".into()),
        poll_interval: Some(5),
    }
    .write(&path, false)?;
    let path_arg = path.display().to_string();
    let cli = Cli::try_parse_from([
        "pipewright",
        "runner",
        "run",
        "--config",
        &path_arg,
        "--concurrency",
        "4",
    ])?;
    let CliCommand::Runner(args) = cli.command else {
        return Err("not a runner command".into());
    };
    let Some(RunnerAction::Run(run)) = &args.action else {
        return Err("not `runner run`".into());
    };
    let config = pipewright::runner_cmd::resolve(run)?;
    assert_eq!(config.url, "http://from-file:1");
    assert_eq!(config.token, "glrt-file");
    assert_eq!(config.concurrency, 4);
    assert_eq!(config.builds_dir, dir.path().join("b"));
    assert_eq!(config.system_id, "r_00000000000a");
    assert_eq!(config.poll_interval, Duration::from_secs(5));
    assert_eq!(config.name, "from-file");
    Ok(())
}
