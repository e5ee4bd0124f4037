//! End to end: the real git client clones from and pushes to `http_backend`, served by a
//! tiny axum app on 127.0.0.1.

#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

mod common;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures::TryStreamExt;
use pipewright_git::smart_http::{
    CgiOptions, CgiRequest, http_backend, http_backend_with, service_of,
};
use pipewright_git::{GitError, Repo};
use tokio_util::io::{ReaderStream, StreamReader};

/// Requests that arrived gzip-encoded (git compresses large fetch negotiations).
static GZIPPED: AtomicUsize = AtomicUsize::new(0);

/// `/<name>.git/<path_info>` -> `http_backend` on `<root>/<name>.git`.
async fn serve_git(
    State(root): State<PathBuf>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path();
    let Some(split) = path.find(".git/") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (repo_part, path_info) = (&path[1..split + 4], &path[split + 4..]);
    let query = uri.query().unwrap_or_default();
    if service_of(path_info, query).is_none() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        GZIPPED.fetch_add(1, Ordering::Relaxed);
    }
    let req = CgiRequest {
        method: method.to_string(),
        path_info: path_info.to_owned(),
        query: query.to_owned(),
        content_type: header("content-type"),
        content_encoding: header("content-encoding"),
        remote_user: Some("tester".to_owned()),
        remote_addr: Some("127.0.0.1".to_owned()),
    };
    let options = CgiOptions {
        git_protocol: header("git-protocol"),
        content_length: header("content-length").and_then(|v| v.parse().ok()),
    };
    let reader = StreamReader::new(body.into_data_stream().map_err(io::Error::other));
    let repo = Repo::open(&root.join(repo_part));
    let cgi = match http_backend_with(&repo, req, options, reader).await {
        Ok(cgi) => cgi,
        Err(err) => return (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    };
    let mut response = Response::builder().status(cgi.status);
    for (name, value) in &cgi.headers {
        response = response.header(name, value);
    }
    response
        .body(Body::from_stream(ReaderStream::new(cgi.body)))
        .unwrap()
}

async fn start_server(root: &Path) -> String {
    let app = Router::new()
        .route("/{*path}", any(serve_git))
        .with_state(root.to_owned());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// The git client, isolated from the machine's config; panics unless it succeeds.
async fn client(cwd: &Path, args: &[&str]) -> String {
    let out = client_output(cwd, args).await;
    assert!(
        out.status.success(),
        "git {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn client_output(cwd: &Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new("git")
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Client")
        .env("GIT_AUTHOR_EMAIL", "client@example.com")
        .env("GIT_COMMITTER_NAME", "Client")
        .env("GIT_COMMITTER_EMAIL", "client@example.com")
        .args(args)
        .output()
        .await
        .unwrap()
}

/// Incompressible bytes, so a push really carries this much.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clone_and_push_with_the_real_git_client() {
    let (dir, repo, first) = common::seeded();
    let base = start_server(dir.path()).await;
    let url = format!("{base}/project.git");
    let work = dir.path().join("work");

    for protocol in ["2", "0"] {
        let target = dir.path().join(format!("clone-v{protocol}"));
        let version = format!("protocol.version={protocol}");
        client(
            dir.path(),
            &[
                "-c",
                &version,
                "clone",
                "--quiet",
                &url,
                target.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(client(&target, &["rev-parse", "HEAD"]).await, first);
        assert_eq!(std::fs::read(target.join("README.md")).unwrap(), b"hello\n");
    }

    client(
        dir.path(),
        &["clone", "--quiet", &url, work.to_str().unwrap()],
    )
    .await;
    std::fs::write(work.join(".gitlab-ci.yml"), "test:\n  script: [echo hi]\n").unwrap();
    std::fs::write(work.join("big.bin"), noise(6 * 1024 * 1024)).unwrap();
    client(&work, &["add", "."]).await;
    client(&work, &["commit", "--quiet", "-m", "Add CI and a big file"]).await;
    let pushed = client(&work, &["rev-parse", "HEAD"]).await;

    let before = repo.refs().unwrap();
    client(&work, &["push", "--quiet", "origin", "main"]).await;
    client(
        &work,
        &["push", "--quiet", "origin", "main:refs/heads/feature"],
    )
    .await;
    client(&work, &["tag", "-a", "-m", "release", "v1.0"]).await;
    client(&work, &["push", "--quiet", "origin", "v1.0"]).await;
    let after = repo.refs().unwrap();

    assert_eq!(before.get("refs/heads/main"), Some(&first));
    assert_eq!(after.get("refs/heads/main"), Some(&pushed));
    assert_eq!(after.get("refs/heads/feature"), Some(&pushed));
    assert_eq!(after.get("refs/tags/v1.0"), Some(&pushed), "peeled");
    assert_eq!(
        repo.read_file(&pushed, "big.bin").unwrap().unwrap().len(),
        6 * 1024 * 1024
    );
    let commit = repo.commit(&pushed).unwrap().unwrap();
    assert_eq!(commit.author_name, "Client");
    assert_eq!(commit.parent_ids, vec![first.clone()]);

    // Fetching the big commit back exercises a large upload-pack response; many distinct
    // branches make the client's want list big enough to be sent gzip-encoded.
    for i in 0..40 {
        let mut req = common::request(
            &format!("b{i}"),
            vec![pipewright_git::CommitAction::create("x", format!("{i}"))],
        );
        req.start_branch = Some("main".to_owned());
        repo.create_commit(&req).unwrap();
    }
    let again = dir.path().join("again");
    client(
        dir.path(),
        &["clone", "--quiet", &url, again.to_str().unwrap()],
    )
    .await;
    assert_eq!(client(&again, &["rev-parse", "HEAD"]).await, pushed);
    assert_eq!(
        client(&again, &["branch", "-r"]).await.lines().count(),
        43,
        "40 branches, main, feature and origin/HEAD"
    );
    assert!(
        GZIPPED.load(Ordering::Relaxed) > 0,
        "no gzip request was exercised"
    );

    // Like a runner: fetch a pipeline ref, and a bare sha shallowly.
    repo.update_ref("refs/pipelines/1", &first, None).unwrap();
    client(
        &again,
        &[
            "fetch",
            "--quiet",
            "origin",
            "+refs/pipelines/1:refs/pipelines/1",
        ],
    )
    .await;
    assert_eq!(
        client(&again, &["rev-parse", "refs/pipelines/1"]).await,
        first
    );
    let shallow = dir.path().join("shallow");
    client(dir.path(), &["init", "--quiet", shallow.to_str().unwrap()]).await;
    client(
        &shallow,
        &["fetch", "--quiet", "--depth", "1", &url, &first],
    )
    .await;
    assert_eq!(client(&shallow, &["rev-parse", "FETCH_HEAD"]).await, first);

    // Pushes cannot move pipeline refs.
    let refused = client_output(&work, &["push", "origin", "HEAD:refs/pipelines/1"]).await;
    assert!(!refused.status.success());
    assert_eq!(
        repo.ref_sha("refs/pipelines/1").unwrap(),
        Some(first.clone())
    );

    // Deleting a branch over HTTP.
    client(&work, &["push", "--quiet", "origin", ":feature"]).await;
    assert!(!repo.refs().unwrap().contains_key("refs/heads/feature"));
}

#[tokio::test]
async fn ref_advertisement_and_refusals() {
    let (_dir, repo, first) = common::seeded();
    let req = CgiRequest {
        method: "GET".to_owned(),
        path_info: "/info/refs".to_owned(),
        query: "service=git-upload-pack".to_owned(),
        ..CgiRequest::default()
    };
    let mut cgi = http_backend(&repo, req.clone(), tokio::io::empty())
        .await
        .unwrap();
    assert_eq!(cgi.status, 200);
    assert!(
        cgi.headers
            .iter()
            .any(|(k, v)| k == "Content-Type" && v == "application/x-git-upload-pack-advertisement"),
        "{:?}",
        cgi.headers
    );
    let mut body = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut cgi.body, &mut body)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.starts_with("001e# service=git-upload-pack\n"),
        "{body}"
    );
    assert!(body.contains(&format!("{first} refs/heads/main")), "{body}");

    // A POST with the wrong content type: git's own 4xx comes back as a status.
    let bad_type = CgiRequest {
        method: "POST".to_owned(),
        path_info: "/git-upload-pack".to_owned(),
        content_type: Some("text/plain".to_owned()),
        ..CgiRequest::default()
    };
    let cgi = http_backend(&repo, bad_type, tokio::io::empty())
        .await
        .unwrap();
    assert!((400..500).contains(&cgi.status), "{}", cgi.status);

    for (method, path) in [
        ("PUT", "/info/refs"),
        ("GET", "/../../etc/passwd"),
        ("GET", "/HEAD"),
        ("GET", "/objects/info/packs"),
    ] {
        let req = CgiRequest {
            method: method.to_owned(),
            path_info: path.to_owned(),
            ..req.clone()
        };
        let res = http_backend(&repo, req, tokio::io::empty()).await;
        assert!(
            matches!(res, Err(GitError::Invalid { .. })),
            "{method} {path}"
        );
    }
    // A repository that does not exist: git answers 404 itself.
    let missing = Repo::open(&repo.path().with_file_name("missing.git"));
    let cgi = http_backend(&missing, req.clone(), tokio::io::empty())
        .await
        .unwrap();
    assert_eq!(cgi.status, 404);

    let injected = CgiRequest {
        content_type: Some("x\r\nStatus: 500".to_owned()),
        ..req.clone()
    };
    assert!(matches!(
        http_backend(&repo, injected, tokio::io::empty()).await,
        Err(GitError::Invalid { .. })
    ));
}
