//! Artifacts through the real router (issue #5): runner uploads in both wire forms (Go:
//! query parameters and a chunked body; Rust: multipart fields), the one-per-type rule, 403
//! with `Job-Status`, 413, zip checks, dependencies in the payload and their download by job
//! token, the user-facing endpoints, keep/delete/erase, dotenv variables and expiry.

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use common::{ClaimedJob, ROOT_TOKEN, TestApp};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const BOUNDARY: &str = "pipewright-test-boundary";

const YAML: &str = "stages: [build, test]
build:
  stage: build
  script: make
  artifacts:
    name: dist
    paths: [dist/]
    exclude: [dist/*.tmp]
    expire_in: 1 week
    reports:
      junit: report.xml
      dotenv: build.env
test:
  stage: test
  script: cat dist/a.txt
";

/// A zip holding `entries`, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
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

/// One part of a hand-built multipart body.
enum Part<'a> {
    Field(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Field(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                        .as_bytes(),
                );
            }
            Part::File(name, filename, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Rust-runner style: metadata as multipart fields, a sized body.
async fn upload_fields(
    t: &TestApp,
    job: &ClaimedJob,
    fields: &[(&str, &str)],
    filename: &str,
    bytes: &[u8],
) -> common::Response {
    let mut parts: Vec<Part<'_>> = fields
        .iter()
        .map(|(name, value)| Part::Field(name, value))
        .collect();
    parts.push(Part::File("file", filename, bytes));
    t.post(&format!("/api/v4/jobs/{}/artifacts", job.id))
        .job_token(&job.token)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(&parts))
        .await
}

/// Go-runner style: metadata as query parameters, the body streamed with chunked encoding
/// (no `Content-Length`), in small pieces.
async fn upload_chunked(
    router: axum::Router,
    job: &ClaimedJob,
    query: &str,
    filename: &str,
    bytes: &[u8],
) -> (StatusCode, Bytes) {
    let body = multipart(&[Part::File("file", filename, bytes)]);
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(1000)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    let request = Request::builder()
        .method("POST")
        .uri(format!("/api/v4/jobs/{}/artifacts?{query}", job.id))
        .header("job-token", &job.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("transfer-encoding", "chunked")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .expect("request");
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, body)
}

fn variable(payload: &Value, key: &str) -> Option<String> {
    payload["variables"]
        .as_array()?
        .iter()
        .rev()
        .find(|v| v["key"] == key)
        .and_then(|v| v["value"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn payload_lists_archive_and_report_entries() {
    let t = TestApp::new().await;
    t.project_with_ci(YAML).await;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    let artifacts = &build.payload["artifacts"];
    assert_eq!(
        artifacts[0],
        serde_json::json!({
            "name": "dist", "untracked": false, "paths": ["dist/"], "exclude": ["dist/*.tmp"],
            "when": "on_success", "expire_in": "1 week",
            "artifact_type": "archive", "artifact_format": "zip"
        })
    );
    assert_eq!(artifacts[1]["artifact_type"], "junit");
    assert_eq!(artifacts[1]["artifact_format"], "gzip");
    assert_eq!(artifacts[1]["name"], "junit.xml");
    assert_eq!(artifacts[1]["when"], "always");
    assert_eq!(artifacts[1]["paths"], serde_json::json!(["report.xml"]));
    assert_eq!(artifacts[2]["artifact_type"], "dotenv");
    assert_eq!(artifacts[2]["name"], ".env");
    assert_eq!(build.payload["dependencies"], serde_json::json!([]));
}

#[tokio::test]
async fn rust_style_upload_then_dependency_download_and_user_api() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(YAML).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    let archive = zip_of(&[
        ("dist/a.txt", b"hello artifacts"),
        ("dist/sub/b.bin", &[9u8; 5000]),
    ]);

    let response = upload_fields(
        &t,
        &build,
        &[
            ("artifact_type", "archive"),
            ("artifact_format", "zip"),
            ("expire_in", "1 week"),
        ],
        "dist.zip",
        &archive,
    )
    .await
    .expect_status(StatusCode::CREATED);
    assert_eq!(response.text(), "201");
    // The same bytes again: a no-op success. Different bytes: GitLab's 400.
    upload_fields(&t, &build, &[], "dist.zip", &archive)
        .await
        .expect_status(StatusCode::CREATED);
    let other = zip_of(&[("x", b"y")]);
    let refused = upload_fields(&t, &build, &[], "dist.zip", &other)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.json()["message"],
        "another artifact of the same type already exists"
    );
    // A report with its fixed format, and one with the wrong format.
    upload_fields(
        &t,
        &build,
        &[("artifact_type", "junit"), ("artifact_format", "gzip")],
        "junit.xml.gz",
        &gzip_of(b"<testsuites/>"),
    )
    .await
    .expect_status(StatusCode::CREATED);
    let wrong = upload_fields(
        &t,
        &build,
        &[("artifact_type", "dotenv"), ("artifact_format", "raw")],
        ".env",
        b"A=1",
    )
    .await
    .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.json()["message"],
        "Invalid file format with specified file type"
    );
    let unknown = upload_fields(&t, &build, &[("artifact_type", "nonsense")], "x", b"x")
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.json()["error"],
        "artifact_type does not have a valid value"
    );
    upload_fields(
        &t,
        &build,
        &[("artifact_type", "dotenv"), ("artifact_format", "gzip")],
        ".env.gz",
        &gzip_of(b"BUILD_VERSION=1.2.3\n"),
    )
    .await
    .expect_status(StatusCode::CREATED);

    // The entity reflects the records while the job still runs.
    let job = t.job(project, build.id).await;
    assert_eq!(
        job["artifacts_file"],
        serde_json::json!({ "filename": "dist.zip", "size": archive.len() })
    );
    let types: Vec<&str> = job["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| a["file_type"].as_str().expect("type"))
        .collect();
    assert_eq!(types, ["archive", "junit", "dotenv"]);
    assert_eq!(job["artifacts"][0]["file_format"], "zip");
    assert!(job["artifacts_expire_at"].is_string());

    t.succeed(&build).await;
    // A finished job takes no uploads: 403 with its status in `Job-Status`.
    let late = upload_fields(&t, &build, &[("artifact_type", "metrics")], "m", b"x")
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(late.header("job-status"), Some("success"));

    // Stage 2 gets build as a dependency with its archive and its dotenv variables.
    let test = t.claim(&runner).await;
    let deps = test.payload["dependencies"].as_array().expect("deps");
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0]["id"], build.id);
    assert_eq!(deps[0]["name"], "build");
    assert_eq!(deps[0]["token"], test.token.as_str());
    assert_eq!(
        deps[0]["artifacts_file"],
        serde_json::json!({ "filename": "dist.zip", "size": archive.len() })
    );
    assert_eq!(
        variable(&test.payload, "BUILD_VERSION").as_deref(),
        Some("1.2.3")
    );
    let downloaded = t
        .get(&format!("/api/v4/jobs/{}/artifacts", build.id))
        .job_token(&test.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(downloaded.body.as_ref(), archive.as_slice());
    t.get(&format!("/api/v4/jobs/{}/artifacts", build.id))
        .job_token("glcbt-nope")
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.succeed(&test).await;

    // User-facing: the archive, one file, and both by ref.
    let whole = t
        .get(&format!(
            "/api/v4/projects/{project}/jobs/{}/artifacts",
            build.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(whole.body.as_ref(), archive.as_slice());
    assert_eq!(
        whole.header("content-disposition"),
        Some("attachment; filename=\"dist.zip\"; filename*=UTF-8''dist%2Ezip")
    );
    let one = t
        .get(&format!(
            "/api/v4/projects/{project}/jobs/{}/artifacts/dist/a.txt",
            build.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(one.text(), "hello artifacts");
    assert!(
        one.header("content-disposition")
            .is_some_and(|value| value.starts_with("attachment; filename=\"a.txt\""))
    );
    let big = t
        .get(&format!(
            "/api/v4/projects/{project}/jobs/{}/artifacts/dist/sub/b.bin",
            build.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(big.body.len(), 5000);
    let missing = t
        .get(&format!(
            "/api/v4/projects/{project}/jobs/{}/artifacts/dist/none",
            build.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["message"], "404 Not Found");
    let traversal = t
        .get(&format!(
            "/api/v4/projects/{project}/jobs/{}/artifacts/dist/../../etc/passwd",
            build.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert!(traversal.text().contains("artifact path is invalid"));

    assert_eq!(t.pipeline_status(project, ci.pipeline_id).await, "success");
    let by_ref = t
        .get(&format!(
            "/api/v4/projects/{project}/jobs/artifacts/main/download?job=build"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(by_ref.body.as_ref(), archive.as_slice());
    let raw = t
        .get(&format!(
            "/api/v4/projects/{project}/jobs/artifacts/main/raw/dist/a.txt?job=build"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(raw.text(), "hello artifacts");
    let no_job = t
        .get(&format!(
            "/api/v4/projects/{project}/jobs/artifacts/main/download"
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(no_job.json()["error"], "job is missing");
    t.get(&format!(
        "/api/v4/projects/{project}/jobs/artifacts/other/download?job=build"
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NOT_FOUND);
    // Anonymous callers are refused.
    t.get(&format!(
        "/api/v4/projects/{project}/jobs/{}/artifacts",
        build.id
    ))
    .await
    .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn go_style_query_parameters_and_chunked_body() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(YAML).await;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    let archive = zip_of(&[("dist/a.txt", &[b'x'; 20_000])]);
    let router = pipewright_http::router(t.app.clone());
    let (status, body) = upload_chunked(
        router.clone(),
        &build,
        "artifact_type=archive&artifact_format=zip&expire_in=3h%2020m",
        "artifacts.zip",
        &archive,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body:?}");
    let (status, _) = upload_chunked(
        router,
        &build,
        "artifact_type=junit&artifact_format=gzip",
        "junit.xml.gz",
        &gzip_of(b"<testsuite/>"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let job = t.job(ci.project_id, build.id).await;
    assert_eq!(job["artifacts_file"]["filename"], "artifacts.zip");
    assert_eq!(job["artifacts"].as_array().map(Vec::len), Some(2));
    // 3h20m from now, give or take the test's own duration.
    let expire_at = chrono::DateTime::parse_from_rfc3339(
        job["artifacts_expire_at"].as_str().expect("expire at"),
    )
    .expect("timestamp");
    let in_secs = expire_at.timestamp() - chrono::Utc::now().timestamp();
    assert!((11_900..=12_000).contains(&in_secs), "{in_secs}");
}

#[tokio::test]
async fn uploads_are_checked_before_and_while_reading() {
    let t = TestApp::new().await;
    t.project_with_ci(YAML).await;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;

    // Wrong token: 403 without `Job-Status`.
    let other = ClaimedJob {
        token: "glcbt-wrong".into(),
        ..build.clone()
    };
    let refused = upload_fields(&t, &other, &[], "a.zip", b"x")
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(refused.header("job-status"), None);

    // Over the size limit: 413 from `Content-Length` before reading, and while streaming.
    let huge = t
        .post(&format!("/api/v4/jobs/{}/artifacts", build.id))
        .job_token(&build.token)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("content-length", "1099511627776")
        .await
        .expect_status(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.json()["message"], "413 Request Entity Too Large");
    let mut small = t.app.clone();
    let mut config = (*t.app.config).clone();
    config.max_artifact_size = 1024;
    small.config = Arc::new(config);
    let (status, body) = upload_chunked(
        pipewright_http::router(small),
        &build,
        "artifact_type=archive",
        "artifacts.zip",
        &[0u8; 4096],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body:?}");

    // Not a zip; a zip escaping its directory; no file part at all.
    let not_zip = upload_fields(&t, &build, &[], "artifacts.zip", b"plain text")
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        not_zip.json()["message"],
        "400 Bad request - artifacts archive is not a valid zip file"
    );
    let evil = upload_fields(
        &t,
        &build,
        &[],
        "artifacts.zip",
        &zip_of(&[("../../outside", b"x")]),
    )
    .await
    .expect_status(StatusCode::BAD_REQUEST);
    assert!(evil.text().contains("path traversal"), "{}", evil.text());
    let no_file = t
        .post(&format!("/api/v4/jobs/{}/artifacts", build.id))
        .job_token(&build.token)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(&[Part::Field("artifact_type", "archive")]))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        no_file.json()["message"],
        "400 Bad request - Missing artifacts file!"
    );
    let bad_expiry = upload_fields(
        &t,
        &build,
        &[("expire_in", "whenever")],
        "artifacts.zip",
        &zip_of(&[("a", b"b")]),
    )
    .await
    .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(bad_expiry.json()["error"], "expire_in is invalid");
    // A gzip bomb posing as a dotenv report is cut off at 5 KiB.
    let bomb = upload_fields(
        &t,
        &build,
        &[("artifact_type", "dotenv"), ("artifact_format", "gzip")],
        ".env.gz",
        &gzip_of(&vec![b'A'; 10 << 20]),
    )
    .await
    .expect_status(StatusCode::BAD_REQUEST);
    assert!(bomb.text().contains("Too Big"), "{}", bomb.text());
    // Nothing was stored by any of the refused uploads.
    let job = t.job(1, build.id).await;
    assert_eq!(job["artifacts"], serde_json::json!([]));
    assert!(job.get("artifacts_file").is_none());
}

#[tokio::test]
async fn keep_delete_and_erase() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(YAML).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    upload_fields(&t, &build, &[], "a.zip", &zip_of(&[("dist/a", b"1")]))
        .await
        .expect_status(StatusCode::CREATED);
    t.append_trace(build.id, &build.token, 0, b"log\n")
        .await
        .expect_status(StatusCode::ACCEPTED);
    t.succeed(&build).await;

    let kept = t
        .post(&format!(
            "/api/v4/projects/{project}/jobs/{}/artifacts/keep",
            build.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .job();
    assert_eq!(kept["artifacts_expire_at"], Value::Null);
    assert_eq!(kept["artifacts_file"]["filename"], "a.zip");
    // Kept artifacts survive any sweep.
    let far = pipewright_core::now_ms() + 10 * 365 * 86_400_000;
    assert_eq!(
        pipewright_core::artifacts::sweep_expired(&t.app, far)
            .await
            .expect("sweep"),
        0
    );

    t.delete(&format!(
        "/api/v4/projects/{project}/jobs/{}/artifacts",
        build.id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NO_CONTENT);
    let job = t.job(project, build.id).await;
    // The log is not an erasable artifact: only erase removes it.
    assert_eq!(
        job["artifacts"],
        serde_json::json!([
            { "file_type": "trace", "size": 4, "filename": "job.log", "file_format": "raw" }
        ])
    );
    assert!(job.get("artifacts_file").is_none());
    t.get(&format!(
        "/api/v4/projects/{project}/jobs/{}/artifacts",
        build.id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NOT_FOUND);
    t.post(&format!(
        "/api/v4/projects/{project}/jobs/{}/artifacts/keep",
        build.id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NOT_FOUND);

    // Erase removes artifacts and log: a job with only artifacts is erasable.
    let test = t.claim(&runner).await;
    upload_fields(&t, &test, &[], "b.zip", &zip_of(&[("b", b"2")]))
        .await
        .expect_status(StatusCode::CREATED);
    t.succeed(&test).await;
    let erased = t
        .post(&format!(
            "/api/v4/projects/{project}/jobs/{}/erase",
            test.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    assert_eq!(erased["artifacts"], serde_json::json!([]));
    assert!(erased.get("artifacts_file").is_none());
    assert_eq!(erased["artifacts_expire_at"], Value::Null);
    assert!(erased["erased_at"].is_string());
    t.post(&format!(
        "/api/v4/projects/{project}/jobs/{}/erase",
        test.id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::FORBIDDEN);
    let key = t
        .data_dir()
        .join("artifacts")
        .join(format!("{project}/{}/archive", test.id));
    assert!(!key.exists());
}

#[tokio::test]
async fn expired_dependency_fails_the_dependent_job_at_pick_up() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(YAML).await;
    let project = ci.project_id;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    upload_fields(
        &t,
        &build,
        &[("expire_in", "1 hour")],
        "a.zip",
        &zip_of(&[("dist/a", b"1")]),
    )
    .await
    .expect_status(StatusCode::CREATED);
    t.succeed(&build).await;

    // One pass with an explicit "now" two hours later.
    let later = pipewright_core::now_ms() + 2 * 3_600_000;
    assert_eq!(
        pipewright_core::artifacts::sweep_expired(&t.app, later)
            .await
            .expect("sweep"),
        1
    );
    let file = t
        .data_dir()
        .join("artifacts")
        .join(format!("{project}/{}/archive", build.id));
    assert!(!file.exists());
    let job = t.job(project, build.id).await;
    assert_eq!(job["artifacts"], serde_json::json!([]));
    assert!(job.get("artifacts_file").is_none());
    // The expiry date stays: that is how the dependent job learns the artifacts expired.
    assert!(job["artifacts_expire_at"].is_string());
    t.get(&format!(
        "/api/v4/projects/{project}/jobs/{}/artifacts",
        build.id
    ))
    .token(ROOT_TOKEN)
    .await
    .expect_status(StatusCode::NOT_FOUND);

    // Backdate the expiry so it is in the past for the real clock too.
    t.app
        .store
        .set_artifacts_expire_at(build.id, Some(pipewright_core::now_ms() - 1000))
        .await
        .expect("backdate");
    t.request_job(&runner)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let test = &t.pipeline_jobs(project, ci.pipeline_id).await["test"];
    assert_eq!(test["status"], "failed");
    assert_eq!(test["failure_reason"], "missing_dependency_failure");
}

#[tokio::test]
async fn dependencies_filter_and_dag_needs() {
    let t = TestApp::new().await;
    let yaml = "stages: [build, test]
a:
  stage: build
  script: x
  artifacts: {paths: [a]}
b:
  stage: build
  script: x
only_b:
  stage: test
  script: x
  dependencies: [b]
none:
  stage: test
  script: x
  dependencies: []
dag:
  stage: test
  needs: [a]
  script: x
dag_without:
  stage: test
  needs: [{job: a, artifacts: false}]
  script: x
";
    t.project_with_ci(yaml).await;
    let runner = t.instance_runner().await;
    let mut claimed = Vec::new();
    for _ in 0..2 {
        let job = t.claim(&runner).await;
        if job.payload["job_info"]["name"] == "a" {
            upload_fields(&t, &job, &[], "a.zip", &zip_of(&[("a", b"1")]))
                .await
                .expect_status(StatusCode::CREATED);
        }
        t.succeed(&job).await;
        claimed.push(job);
    }
    let mut deps = std::collections::BTreeMap::new();
    for _ in 0..4 {
        let job = t.claim(&runner).await;
        let names: Vec<(String, bool)> = job.payload["dependencies"]
            .as_array()
            .expect("deps")
            .iter()
            .map(|d| {
                (
                    d["name"].as_str().expect("name").to_owned(),
                    d.get("artifacts_file").is_some(),
                )
            })
            .collect();
        deps.insert(
            job.payload["job_info"]["name"]
                .as_str()
                .expect("name")
                .to_owned(),
            names,
        );
        t.succeed(&job).await;
    }
    assert_eq!(deps["only_b"], vec![("b".to_owned(), false)]);
    assert_eq!(deps["none"], Vec::<(String, bool)>::new());
    assert_eq!(deps["dag"], vec![("a".to_owned(), true)]);
    assert_eq!(deps["dag_without"], Vec::<(String, bool)>::new());
}

#[tokio::test]
async fn artifacts_access_limits_user_downloads_only() {
    let t = TestApp::new().await;
    let yaml = "stages: [build, test]
hidden:
  stage: build
  script: x
  artifacts: {paths: [a], access: none}
private:
  stage: build
  script: x
  artifacts: {paths: [a], public: false}
reader:
  stage: test
  script: x
";
    let ci = t.project_with_ci(yaml).await;
    let project = ci.project_id;
    let reporter = t.create_user("reporter").await;
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(serde_json::json!({ "user_id": reporter.id, "access_level": 20 }))
        .await
        .expect_status(StatusCode::CREATED);
    let runner = t.instance_runner().await;
    let mut ids = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let job = t.claim(&runner).await;
        upload_fields(&t, &job, &[], "a.zip", &zip_of(&[("a", b"1")]))
            .await
            .expect_status(StatusCode::CREATED);
        t.succeed(&job).await;
        ids.insert(
            job.payload["job_info"]["name"]
                .as_str()
                .expect("name")
                .to_owned(),
            job.id,
        );
    }
    let download = |token: &str, job: i64| {
        t.get(&format!("/api/v4/projects/{project}/jobs/{job}/artifacts"))
            .token(token)
    };
    download(ROOT_TOKEN, ids["hidden"])
        .await
        .expect_status(StatusCode::FORBIDDEN);
    download(&reporter.token, ids["private"])
        .await
        .expect_status(StatusCode::FORBIDDEN);
    download(ROOT_TOKEN, ids["private"])
        .await
        .expect_status(StatusCode::OK);
    // The dependent job still receives both archives over the runner API.
    let reader = t.claim(&runner).await;
    for id in ids.values() {
        t.get(&format!("/api/v4/jobs/{id}/artifacts"))
            .job_token(&reader.token)
            .await
            .expect_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn metadata_part_and_workhorse_authorize() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(YAML).await;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    let authorized = t
        .post(&format!(
            "/api/v4/jobs/{}/artifacts/authorize?filesize=10",
            build.id
        ))
        .job_token(&build.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(authorized["MaximumSize"], 100 * 1024 * 1024);
    t.post(&format!(
        "/api/v4/jobs/{}/artifacts/authorize?filesize=999999999999",
        build.id
    ))
    .job_token(&build.token)
    .await
    .expect_status(StatusCode::PAYLOAD_TOO_LARGE);

    let archive = zip_of(&[("dist/a", b"1")]);
    let metadata = gzip_of(b"metadata");
    t.post(&format!("/api/v4/jobs/{}/artifacts", build.id))
        .job_token(&build.token)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(&[
            Part::File("file", "artifacts.zip", &archive),
            Part::File("metadata", "metadata.gz", &metadata),
        ]))
        .await
        .expect_status(StatusCode::CREATED);
    let job = t.job(ci.project_id, build.id).await;
    assert_eq!(
        job["artifacts"][1],
        serde_json::json!({
            "file_type": "metadata", "size": metadata.len(),
            "filename": "metadata.gz", "file_format": "gzip"
        })
    );
}

/// The job lists batch-load artifacts (one statement for the page): each job gets its own.
#[tokio::test]
async fn job_lists_attach_each_jobs_own_artifacts() {
    let t = TestApp::new().await;
    let yaml: String = (0..5)
        .map(|i| format!("job_{i}:\n  script: x\n  artifacts: {{paths: [a]}}\n"))
        .collect();
    let ci = t.project_with_ci(&yaml).await;
    let runner = t.instance_runner().await;
    for _ in 0..5 {
        let job = t.claim(&runner).await;
        let name = job.payload["job_info"]["name"]
            .as_str()
            .expect("name")
            .to_owned();
        // job_3 uploads nothing.
        if name != "job_3" {
            upload_fields(
                &t,
                &job,
                &[],
                &format!("{name}.zip"),
                &zip_of(&[(name.as_str(), name.as_bytes())]),
            )
            .await
            .expect_status(StatusCode::CREATED);
        }
        t.succeed(&job).await;
    }
    let jobs = t
        .get(&format!("/api/v4/projects/{}/jobs", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 5);
    for job in jobs {
        let name = job["name"].as_str().expect("name");
        if name == "job_3" {
            assert!(job.get("artifacts_file").is_none());
            assert_eq!(job["artifacts"], serde_json::json!([]));
        } else {
            assert_eq!(job["artifacts_file"]["filename"], format!("{name}.zip"));
            assert_eq!(job["artifacts"][0]["filename"], format!("{name}.zip"));
        }
    }
}

/// `GET /jobs/:id/artifacts` takes the dependency's own token, or the token of an executing
/// job of the same project; another project's running job is refused.
#[tokio::test]
async fn runner_download_tokens() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(YAML).await;
    let runner = t.instance_runner().await;
    let build = t.claim(&runner).await;
    let archive = zip_of(&[("dist/a.txt", b"x")]);
    upload_fields(&t, &build, &[], "a.zip", &archive)
        .await
        .expect_status(StatusCode::CREATED);
    t.succeed(&build).await;
    let own = t
        .get(&format!("/api/v4/jobs/{}/artifacts", build.id))
        .job_token(&build.token)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(own.body.as_ref(), archive.as_slice());
    assert_eq!(
        own.header("content-length"),
        Some(archive.len().to_string().as_str())
    );
    // The `token` query parameter works as well as the header.
    t.get(&format!(
        "/api/v4/jobs/{}/artifacts?token={}",
        build.id, build.token
    ))
    .await
    .expect_status(StatusCode::OK);

    t.project_with_ci_as(
        ROOT_TOKEN,
        "other",
        serde_json::json!({}),
        "solo:\n  script: x\n",
    )
    .await;
    // Stage 2 of the first project, then the other project's job.
    let test = t.claim(&runner).await;
    let foreign = t.claim(&runner).await;
    assert_ne!(foreign.payload["job_info"]["project_id"], ci.project_id);
    t.get(&format!("/api/v4/jobs/{}/artifacts", build.id))
        .job_token(&foreign.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    t.get(&format!("/api/v4/jobs/{}/artifacts", build.id))
        .job_token(&test.token)
        .await
        .expect_status(StatusCode::OK);
    // A job without an archive: 404.
    t.get(&format!("/api/v4/jobs/{}/artifacts", test.id))
        .job_token(&test.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
}
