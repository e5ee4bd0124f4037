//! The runner against an in-test server: jobs that print, fail, time out, get cancelled and
//! clone a real repository.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pipewright_protocol::{JobState, crc32_checksum};
use support::{Fake, Harness, Knobs, RUNNER_ID, RUNNER_TOKEN, shell_job};

#[tokio::test]
async fn echo_job_succeeds_with_the_complete_log() {
    let h = Harness::start(1).await;
    h.fake.push(
        shell_job(
            1,
            &[
                "echo hello",
                "echo \"job $CI_JOB_ID in $CI_PROJECT_DIR\"",
                "echo to-stderr >&2",
                "echo \"token=$CI_JOB_TOKEN\"",
                "printf 'no newline'",
            ],
            None,
        ),
        Knobs {
            lose_first_patch_answer: true,
            accept_final_once: true,
            ..Knobs::default()
        },
    );
    let update = h.fake.wait_final(1).await;
    let job = h.fake.job(1);

    assert_eq!(job.status, "success");
    assert_eq!(update.state, JobState::Success);
    assert_eq!(update.failure_reason, None);
    // The log the server holds is exactly the one the runner checksummed: nothing lost or
    // duplicated by the lost answer and the 416 resync that followed it.
    assert!(job.resyncs >= 1, "the lost answer was followed by a resync");
    let output = update.output.expect("output");
    assert_eq!(output.bytesize, Some(job.log_bytes.len() as u64));
    assert_eq!(output.checksum, Some(crc32_checksum(&job.log_bytes)));
    // The final update was repeated after the 202.
    assert_eq!(job.final_updates.len(), 2);
    assert_eq!(job.final_updates[0], job.final_updates[1]);

    let log = &job.log;
    let project_dir = h.builds_path().canonicalize().expect("builds").join("1");
    assert!(log.starts_with("Running with pipewright-runner"), "{log}");
    assert!(
        log.contains("\x1b[32;1m$ echo hello\x1b[0;m\nhello\n"),
        "{log}"
    );
    assert!(
        log.contains(&format!("job 1 in {}\n", project_dir.display())),
        "{log}"
    );
    assert!(log.contains("to-stderr\n"), "{log}");
    assert!(log.contains("token=[MASKED]\n"), "{log}");
    assert!(!log.contains("secret-job-token"), "{log}");
    assert!(log.contains("no newline"), "{log}");
    assert!(log.contains("Job succeeded"), "{log}");
    // The build directory is cleaned up.
    assert!(!project_dir.exists());
    h.stop().await;
}

#[tokio::test]
async fn large_log_arrives_in_chunks_intact() {
    let h = Harness::start(1).await;
    h.fake.push(
        shell_job(16, &["head -c 3000000 /dev/urandom | base64"], None),
        Knobs::default(),
    );
    let update = h.fake.wait_final(16).await;
    let job = h.fake.job(16);
    assert_eq!(update.state, JobState::Success);
    assert!(job.log_bytes.len() > 4_000_000);
    // At most 1 MiB per PATCH.
    assert!(job.patches >= 4, "{} patches", job.patches);
    let output = update.output.expect("output");
    assert_eq!(output.bytesize, Some(job.log_bytes.len() as u64));
    assert_eq!(output.checksum, Some(crc32_checksum(&job.log_bytes)));
    h.stop().await;
}

#[tokio::test]
async fn poll_advertises_features_and_echoes_last_update() {
    let h = Harness::start(1).await;
    let request = h
        .fake
        .wait_for("a second job request", |s| s.job_requests.get(1).cloned())
        .await;
    assert_eq!(h.fake.lock().verifies, 1);
    assert_eq!(request.token, RUNNER_TOKEN);
    assert_eq!(request.system_id.as_deref(), Some("r_0123456789ab"));
    // The first poll had no queue version; later ones echo the 204's header.
    assert_eq!(h.fake.lock().job_requests[0].last_update, None);
    assert_eq!(request.last_update.as_deref(), Some("v0"));
    let info = request.info.expect("info");
    let f = info.features;
    for (flag, value) in [
        ("refspecs", f.refspecs),
        ("cancelable", f.cancelable),
        ("cancel_gracefully", f.cancel_gracefully),
        ("trace_reset", f.trace_reset),
        ("trace_checksum", f.trace_checksum),
        ("trace_size", f.trace_size),
        ("return_exit_code", f.return_exit_code),
        ("upload_multiple_artifacts", f.upload_multiple_artifacts),
    ] {
        assert_eq!(value, Some(true), "{flag}");
    }
    assert_eq!(f.multi_build_steps, None);
    assert_eq!(info.executor.as_deref(), Some("shell"));

    // A new job changes the version and is picked up.
    h.fake.push(shell_job(2, &["true"], None), Knobs::default());
    h.fake.wait_final(2).await;
    h.stop().await;
}

#[tokio::test]
async fn failing_job_reports_exit_code_and_after_script_sees_failed() {
    let h = Harness::start(1).await;
    h.fake.push(
        shell_job(
            3,
            &["echo one", "(exit 3)", "echo never"],
            Some(&["echo \"after $CI_JOB_STATUS\""]),
        ),
        Knobs::default(),
    );
    let update = h.fake.wait_final(3).await;
    let job = h.fake.job(3);
    assert_eq!(job.status, "failed");
    assert_eq!(update.state, JobState::Failed);
    assert_eq!(update.failure_reason.as_deref(), Some("script_failure"));
    assert_eq!(update.exit_code, Some(3));
    assert!(job.log.contains("one\n"), "{}", job.log);
    assert!(!job.log.contains("never"), "{}", job.log);
    assert!(job.log.contains("after failed\n"), "{}", job.log);
    assert!(
        job.log.contains("ERROR: Job failed: exit code 3"),
        "{}",
        job.log
    );
    h.stop().await;
}

#[tokio::test]
async fn after_script_output_is_logged_and_its_failure_ignored() {
    let h = Harness::start(1).await;
    h.fake.push(
        shell_job(
            4,
            &["echo main > made-by-script"],
            Some(&[
                "echo \"after $CI_JOB_STATUS: $(cat made-by-script)\"",
                "exit 7",
            ]),
        ),
        Knobs::default(),
    );
    let update = h.fake.wait_final(4).await;
    let job = h.fake.job(4);
    assert_eq!(update.state, JobState::Success);
    assert_eq!(job.status, "success");
    assert!(job.log.contains("after success: main\n"), "{}", job.log);
    assert!(
        job.log
            .contains("after_script failed, but job will continue unaffected: exit code 7"),
        "{}",
        job.log
    );
    h.stop().await;
}

#[tokio::test]
async fn timeout_kills_the_script() {
    let h = Harness::start(1).await;
    let mut job = shell_job(5, &["echo before", "sleep 30", "echo never"], None);
    job.runner_info.timeout = 2;
    job.steps[0].timeout = 2;
    h.fake.push(job, Knobs::default());
    let update = h.fake.wait_final(5).await;
    let job = h.fake.job(5);
    assert_eq!(update.state, JobState::Failed);
    assert_eq!(
        update.failure_reason.as_deref(),
        Some("job_execution_timeout")
    );
    assert_eq!(update.exit_code, None);
    assert!(job.log.contains("before\n"), "{}", job.log);
    assert!(!job.log.contains("never"), "{}", job.log);
    assert!(
        job.log.contains("execution took longer than 2s"),
        "{}",
        job.log
    );
    h.stop().await;
}

const TICKING: &str = "echo $$ > \"$CI_BUILDS_DIR/pid-$CI_JOB_ID\"; \
                       for i in $(seq 1 600); do echo tick $i; sleep 0.1; done";

#[tokio::test]
async fn graceful_cancel_runs_after_script_then_reports() {
    let h = Harness::start(1).await;
    h.fake.push(
        shell_job(6, &[TICKING], Some(&["echo \"after $CI_JOB_STATUS\""])),
        Knobs {
            status_when_log_contains: Some(("tick 3\n".into(), "canceling")),
            ..Knobs::default()
        },
    );
    let update = h.fake.wait_final(6).await;
    let job = h.fake.job(6);
    // The runner's final update turned `canceling` into `canceled`.
    assert_eq!(job.status, "canceled");
    assert_eq!(update.state, JobState::Failed);
    assert!(job.log.contains("after canceled\n"), "{}", job.log);
    assert!(!job.log.contains("tick 600"), "{}", job.log);
    assert_process_gone(&h.builds_path().join("pid-6"));
    h.stop().await;
}

#[tokio::test]
async fn hard_cancel_kills_the_script_and_stops_reporting() {
    let h = Harness::start(1).await;
    h.fake.push(
        shell_job(7, &[TICKING], Some(&["echo after"])),
        Knobs {
            status_when_log_contains: Some(("tick 3\n".into(), "canceled")),
            ..Knobs::default()
        },
    );
    let builds = h.builds_path();
    // The runner cleans up once it gave up the job.
    h.fake
        .wait_for("the job to be canceled", |s| {
            (s.jobs.get(&7)?.status == "canceled").then_some(())
        })
        .await;
    let fake = h.fake.clone();
    wait_until_missing(&builds.join("7")).await;
    let _builds = h.stop().await;
    let job = fake.job(7);
    assert!(job.final_updates.is_empty(), "no update after canceled");
    assert!(!job.log.contains("after"), "{}", job.log);
    assert_process_gone(&builds.join("pid-7"));
}

#[tokio::test]
async fn silent_job_learns_of_cancel_from_keepalive() {
    let h = Harness::start(1).await;
    h.fake.push(
        shell_job(14, &["sleep 60"], Some(&["echo \"after $CI_JOB_STATUS\""])),
        Knobs {
            status_on_keepalive: Some("canceling"),
            ..Knobs::default()
        },
    );
    let update = h.fake.wait_final(14).await;
    let job = h.fake.job(14);
    assert_eq!(job.status, "canceled");
    assert_eq!(update.state, JobState::Failed);
    assert!(job.log.contains("after canceled\n"), "{}", job.log);
    h.stop().await;
}

#[tokio::test]
async fn unreadable_payload_fails_the_job_instead_of_losing_it() {
    let h = Harness::start(1).await;
    h.fake.push_raw(
        serde_json::json!({"id": 15, "token": "glcbt-15_t", "steps": "not a list"}),
        Knobs::default(),
    );
    let update = h.fake.wait_final(15).await;
    let job = h.fake.job(15);
    assert_eq!(job.status, "failed");
    assert_eq!(
        update.failure_reason.as_deref(),
        Some("runner_system_failure")
    );
    assert!(
        job.log.contains("runner could not read the job"),
        "{}",
        job.log
    );
    h.stop().await;
}

#[tokio::test]
async fn shutdown_interrupts_running_jobs() {
    let h = Harness::start(1).await;
    h.fake.push(
        shell_job(8, &[TICKING], Some(&["echo after"])),
        Knobs::default(),
    );
    h.fake
        .wait_for("the job to log", |s| {
            s.jobs
                .get(&8)?
                .log_text()
                .contains("tick 2\n")
                .then_some(())
        })
        .await;
    let fake = h.fake.clone();
    let builds = h.stop().await;
    let job = fake.job(8);
    assert_eq!(job.status, "failed");
    let update = job.final_updates.last().expect("final update");
    assert_eq!(update.failure_reason.as_deref(), Some("runner_interrupted"));
    assert!(
        job.log.contains("the runner is shutting down"),
        "{}",
        job.log
    );
    assert_process_gone(&builds.path().join("pid-8"));
}

#[tokio::test]
async fn jobs_run_concurrently_up_to_the_limit() {
    let h = Harness::start(2).await;
    // Each job waits for the other's marker: both succeed only if they overlap.
    let wait_for = |me: &str, other: &str| {
        format!(
            "touch \"$CI_BUILDS_DIR/{me}\"; for i in $(seq 1 400); do \
             [ -e \"$CI_BUILDS_DIR/{other}\" ] && exit 0; sleep 0.05; done; exit 1"
        )
    };
    h.fake
        .push(shell_job(9, &[&wait_for("a", "b")], None), Knobs::default());
    h.fake.push(
        shell_job(10, &[&wait_for("b", "a")], None),
        Knobs::default(),
    );
    assert_eq!(h.fake.wait_final(9).await.state, JobState::Success);
    assert_eq!(h.fake.wait_final(10).await.state, JobState::Success);
    h.stop().await;
}

#[tokio::test]
async fn git_sources_are_fetched_and_checked_out() {
    let repo = tempfile::tempdir().expect("repo dir");
    let sha = make_repo(repo.path());
    let h = Harness::start(1).await;
    let mut job = shell_job(11, &["cat hello.txt", "git rev-parse HEAD"], None);
    job.variables.retain(|v| v.key != "GIT_STRATEGY");
    job.git_info.repo_url = format!("file://{}", repo.path().display());
    job.git_info.r#ref = "main".into();
    job.git_info.ref_type = "branch".into();
    job.git_info.sha = sha.clone();
    job.git_info.depth = 20;
    job.git_info.refspecs = vec!["+refs/heads/main:refs/remotes/origin/main".into()];
    h.fake.push(job, Knobs::default());
    let update = h.fake.wait_final(11).await;
    let job = h.fake.job(11);
    assert_eq!(update.state, JobState::Success, "{}", job.log);
    assert!(
        job.log.contains("Getting source from Git repository"),
        "{}",
        job.log
    );
    assert!(job.log.contains("hello from the repo\n"), "{}", job.log);
    assert!(job.log.contains(&format!("{sha}\n")), "{}", job.log);
    assert!(
        job.log
            .contains(&format!("Checking out {} as detached HEAD", &sha[..8])),
        "{}",
        job.log
    );
    h.stop().await;
}

#[tokio::test]
async fn clone_failure_is_a_runner_system_failure() {
    let h = Harness::start(1).await;
    let mut job = shell_job(12, &["echo never-runs"], None);
    job.variables.retain(|v| v.key != "GIT_STRATEGY");
    job.git_info.repo_url = "file:///nonexistent/pipewright/repo.git".into();
    job.git_info.sha = "0123456789012345678901234567890123456789".into();
    h.fake.push(job, Knobs::default());
    let update = h.fake.wait_final(12).await;
    let job = h.fake.job(12);
    assert_eq!(update.state, JobState::Failed);
    assert_eq!(
        update.failure_reason.as_deref(),
        Some("runner_system_failure")
    );
    assert!(!job.log.contains("never-runs\n"), "{}", job.log);
    assert!(job.log.contains("getting sources failed"), "{}", job.log);
    h.stop().await;
}

#[tokio::test]
async fn verify_returns_the_runner_id_or_an_error() {
    let fake = Fake::default();
    let url = fake.serve().await;
    assert_eq!(
        pipewright_runner::verify(&url, RUNNER_TOKEN)
            .await
            .expect("verify"),
        RUNNER_ID
    );
    assert!(pipewright_runner::verify(&url, "glrt-wrong").await.is_err());
    assert!(
        pipewright_runner::verify("ftp://nope", RUNNER_TOKEN)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn runner_waits_for_a_server_that_starts_late() {
    // Reserve a port, release it, and only then start serving on it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let fake = Fake::default();
    fake.push(shell_job(13, &["echo late"], None), Knobs::default());
    let h = Harness::start_with(fake, format!("http://{addr}"), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(support::addr_of(&h.url), addr);
    let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind");
    h.fake.serve_on(listener);
    assert_eq!(h.fake.wait_final(13).await.state, JobState::Success);
    h.stop().await;
}

#[tokio::test]
async fn runner_reconnects_after_the_server_goes_away() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let fake = Fake::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let serving = fake.serve_until(listener, stop.clone());
    let h = Harness::start_with(fake, format!("http://{addr}"), 1);
    h.fake
        .push(shell_job(21, &["echo before"], None), Knobs::default());
    assert_eq!(h.fake.wait_final(21).await.state, JobState::Success);

    // The server goes away for a while: job requests fail and are retried with backoff.
    stop.cancel();
    serving.await.expect("server stopped");
    let requests_before = h.fake.lock().job_requests.len();
    tokio::time::sleep(Duration::from_millis(800)).await;

    // Back on the same address, with work queued: the runner picks it up.
    h.fake
        .push(shell_job(22, &["echo after"], None), Knobs::default());
    let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind");
    h.fake.serve_on(listener);
    let update = h.fake.wait_final(22).await;
    assert_eq!(update.state, JobState::Success);
    assert!(h.fake.job(22).log.contains("after\n"));
    assert!(h.fake.lock().job_requests.len() > requests_before);
    h.stop().await;
}

fn make_repo(dir: &Path) -> String {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("hello.txt"), "hello from the repo\n").expect("write");
    git(&["add", "hello.txt"]);
    git(&["commit", "-q", "-m", "first"]);
    git(&["rev-parse", "HEAD"])
}

/// The script's shell (pid written by the script) no longer exists.
fn assert_process_gone(pid_file: &Path) {
    let pid = std::fs::read_to_string(pid_file).expect("pid file");
    let proc = Path::new("/proc").join(pid.trim());
    assert!(!proc.exists(), "process {} still alive", pid.trim());
}

async fn wait_until_missing(path: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while path.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} still exists",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
