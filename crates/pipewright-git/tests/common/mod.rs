//! Test harness: bare repositories in temp dirs and a raw `git` runner for setting up
//! situations the crate's API cannot create (custom dates, annotated tags, races).

#![allow(
    dead_code,
    reason = "each test crate uses a different subset; expect would misfire in some"
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use pipewright_git::{CommitAction, CommitRequest, Repo};

pub fn scratch() -> (tempfile::TempDir, Repo) {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = Repo::init_bare(&dir.path().join("project.git"), "main").expect("init");
    (dir, repo)
}

/// Runs git against `git_dir` with a clean config and optional extra env/stdin; panics on failure.
pub fn git(git_dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> String {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_DIR", git_dir)
        .env("GIT_AUTHOR_NAME", "Setup")
        .env("GIT_AUTHOR_EMAIL", "setup@example.com")
        .env("GIT_COMMITTER_NAME", "Setup")
        .env("GIT_COMMITTER_EMAIL", "setup@example.com")
        .envs(env.iter().copied())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn git");
    if let Some(data) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(data)
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn request(branch: &str, actions: Vec<CommitAction>) -> CommitRequest {
    CommitRequest {
        branch: branch.to_owned(),
        message: format!("Commit to {branch}"),
        author_name: "Ada Lovelace".to_owned(),
        author_email: "ada@example.com".to_owned(),
        actions,
        ..CommitRequest::default()
    }
}

/// A repository whose `main` has `README.md` and `src/lib.rs`.
pub fn seeded() -> (tempfile::TempDir, Repo, String) {
    let (dir, repo) = scratch();
    let commit = repo
        .create_commit(&request(
            "main",
            vec![
                CommitAction::create("README.md", "hello\n"),
                CommitAction::create("src/lib.rs", "fn main() {}\n"),
            ],
        ))
        .expect("seed commit");
    (dir, repo, commit.id)
}
