//! Artifacts end to end: a real `pipewright serve` with the built-in runner. Stage 1 uploads
//! an archive and a dotenv report, stage 2 downloads the archive as a dependency and reads
//! the variable, and the Jobs API serves the archive and one file from it.

use std::time::Duration;

use pipewright::cli::ServeArgs;
use pipewright::serve::start;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ROOT_TOKEN: &str = "artifacts-e2e-root-token";

const CI_YAML: &str = r#"
stages: [build, test]
build:
  stage: build
  script:
    - mkdir -p dist
    - echo "built by $CI_JOB_NAME" > dist/out.txt
    - echo "scratch" > dist/skip.tmp
    - echo "BUILD_VERSION=4.2" > build.env
  artifacts:
    paths: [dist/]
    exclude: ["dist/*.tmp"]
    expire_in: 1 day
    reports:
      dotenv: build.env
test:
  stage: test
  script:
    - test "$(cat dist/out.txt)" = "built by build"
    - test ! -e dist/skip.tmp
    - echo "STAGE2-READ $(cat dist/out.txt) version=$BUILD_VERSION"
"#;

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v4{path}", self.base)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Box<dyn std::error::Error>> {
        Ok(request.header("PRIVATE-TOKEN", ROOT_TOKEN).send().await?)
    }

    async fn get(&self, path: &str) -> Result<Value, Box<dyn std::error::Error>> {
        let response = self.send(self.http.get(self.url(path))).await?;
        assert!(response.status().is_success(), "GET {path}");
        Ok(response.json().await?)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, Box<dyn std::error::Error>> {
        let response = self
            .send(self.http.post(self.url(path)).json(&body))
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        assert!(status.is_success(), "POST {path}: {status} {body}");
        Ok(body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_two_reads_stage_one_artifacts() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = start(ServeArgs {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        database_url: None,
        external_url: None,
        builtin_runners: Some(2),
        initial_root_token: Some(ROOT_TOKEN.into()),
        long_polling_timeout: 50,
    })
    .await?;
    let api = Api {
        base: format!("http://{}", server.addr),
        http: reqwest::Client::new(),
    };

    let project = api
        .post("/projects", json!({ "name": "artifacts" }))
        .await?;
    let project_id = project["id"].as_i64().ok_or("project id")?;
    api.post(
        &format!("/projects/{project_id}/repository/commits"),
        json!({
            "branch": "main",
            "commit_message": "add ci",
            "actions": [{ "action": "create", "file_path": ".gitlab-ci.yml", "content": CI_YAML }],
        }),
    )
    .await?;
    let pipelines = api
        .get(&format!("/projects/{project_id}/pipelines"))
        .await?;
    let pipeline_id = pipelines[0]["id"].as_i64().ok_or("pipeline id")?;

    let mut status = String::new();
    for _ in 0..600 {
        let pipeline = api
            .get(&format!("/projects/{project_id}/pipelines/{pipeline_id}"))
            .await?;
        status = pipeline["status"].as_str().unwrap_or_default().to_owned();
        if !["created", "pending", "running", "preparing"].contains(&status.as_str()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let jobs = api.get(&format!("/projects/{project_id}/jobs")).await?;
    let job = |name: &str| {
        jobs.as_array()
            .and_then(|jobs| jobs.iter().find(|job| job["name"] == name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let build_id = job("build")["id"].as_i64().ok_or("build id")?;
    let test_id = job("test")["id"].as_i64().ok_or("test id")?;
    let log = |id: i64| {
        let request = api
            .http
            .get(api.url(&format!("/projects/{project_id}/jobs/{id}/trace")))
            .header("PRIVATE-TOKEN", ROOT_TOKEN);
        async move { request.send().await?.text().await }
    };
    let test_log = log(test_id).await?;
    assert_eq!(
        status,
        "success",
        "build log:\n{}\ntest log:\n{test_log}",
        log(build_id).await?
    );
    assert!(
        test_log.contains("STAGE2-READ built by build version=4.2"),
        "test log: {test_log}"
    );

    let build = job("build");
    assert_eq!(build["artifacts_file"]["filename"], "artifacts.zip");
    assert!(build["artifacts_expire_at"].is_string());
    let types: Vec<&str> = build["artifacts"]
        .as_array()
        .ok_or("artifacts")?
        .iter()
        .filter_map(|artifact| artifact["file_type"].as_str())
        .collect();
    assert_eq!(types, ["archive", "dotenv", "trace"]);

    let archive = api
        .send(
            api.http
                .get(api.url(&format!("/projects/{project_id}/jobs/{build_id}/artifacts"))),
        )
        .await?;
    assert_eq!(archive.status(), 200);
    assert!(
        archive
            .headers()
            .get("content-disposition")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("attachment; filename=\"artifacts.zip\""))
    );
    let bytes = archive.bytes().await?;
    assert!(bytes.starts_with(b"PK"), "not a zip");

    let one = api
        .send(api.http.get(api.url(&format!(
            "/projects/{project_id}/jobs/{build_id}/artifacts/dist/out.txt"
        ))))
        .await?;
    assert_eq!(one.status(), 200);
    assert_eq!(one.text().await?, "built by build\n");
    let excluded = api
        .send(api.http.get(api.url(&format!(
            "/projects/{project_id}/jobs/{build_id}/artifacts/dist/skip.tmp"
        ))))
        .await?;
    assert_eq!(excluded.status(), 404);
    let by_ref = api
        .send(api.http.get(api.url(&format!(
            "/projects/{project_id}/jobs/artifacts/main/raw/dist/out.txt?job=build"
        ))))
        .await?;
    assert_eq!(by_ref.text().await?, "built by build\n");

    server.shutdown.cancel();
    Ok(())
}
