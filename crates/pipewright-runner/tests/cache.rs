//! `cache:` between jobs of one project: restored before the script, saved after it, with
//! `policy`, `when`, fallback keys and per-project isolation.

mod support;

use pipewright_protocol::{Cache, JobResponse, JobState, JobVariable, When};
use support::{Harness, Knobs, shell_job};

fn cache(key: &str, paths: &[&str], policy: &str, when: When) -> Cache {
    Cache {
        key: key.into(),
        paths: paths.iter().map(|p| p.to_string()).collect(),
        policy: policy.into(),
        when,
        ..Cache::default()
    }
}

fn job(id: i64, project: i64, script: &[&str], caches: Vec<Cache>) -> JobResponse {
    let mut job = shell_job(id, script, None);
    job.job_info.project_id = project;
    job.cache = caches;
    job.variables
        .push(JobVariable::public("CI_COMMIT_REF_SLUG", "main"));
    job
}

/// Runs `job` alone and returns its final state and log.
async fn run(h: &Harness, job: JobResponse) -> (JobState, String) {
    let id = job.id;
    h.fake.push(job, Knobs::default());
    let update = h.fake.wait_final(id).await;
    (update.state, h.fake.job(id).log)
}

#[tokio::test]
async fn cache_is_saved_and_restored_per_project_and_key() {
    let h = Harness::start(1).await;
    let deps = || {
        cache(
            "deps-non_protected",
            &["deps/"],
            "pull-push",
            When::OnSuccess,
        )
    };

    // Nothing cached yet: a warning, not a failure; the job fills the cache.
    let (state, log) = run(
        &h,
        job(
            1,
            7,
            &[
                "test ! -e deps",
                "mkdir -p deps/sub",
                "echo v1 > deps/sub/a.txt",
            ],
            vec![deps()],
        ),
    )
    .await;
    assert_eq!(state, JobState::Success, "{log}");
    assert!(
        log.contains("Checking cache for deps-non_protected..."),
        "{log}"
    );
    assert!(log.contains("Created cache deps-non_protected"), "{log}");
    let archive = h.builds_path().join("cache/7/deps-non_protected/cache.zip");
    assert!(archive.is_file(), "{}", archive.display());

    // A pull-only job of the same project sees it, and its changes are not saved.
    let (state, log) = run(
        &h,
        job(
            2,
            7,
            &["grep -qx v1 deps/sub/a.txt", "echo v2 > deps/sub/a.txt"],
            vec![cache(
                "deps-non_protected",
                &["deps/"],
                "pull",
                When::OnSuccess,
            )],
        ),
    )
    .await;
    assert_eq!(state, JobState::Success, "{log}");
    assert!(
        log.contains("Successfully extracted cache deps-non_protected"),
        "{log}"
    );
    assert!(!log.contains("Saving cache"), "{log}");

    // Another project has its own caches.
    let (state, log) = run(&h, job(3, 8, &["test ! -e deps"], vec![deps()])).await;
    assert_eq!(state, JobState::Success, "{log}");

    // A push-only job does not restore, but replaces the archive.
    let (state, log) = run(
        &h,
        job(
            4,
            7,
            &["test ! -e deps", "mkdir deps", "echo v3 > deps/b.txt"],
            vec![cache(
                "deps-non_protected",
                &["deps/"],
                "push",
                When::OnSuccess,
            )],
        ),
    )
    .await;
    assert_eq!(state, JobState::Success, "{log}");
    assert!(!log.contains("Restoring cache"), "{log}");
    let (state, log) = run(
        &h,
        job(
            5,
            7,
            &["grep -qx v3 deps/b.txt", "test ! -e deps/sub/a.txt"],
            vec![deps()],
        ),
    )
    .await;
    assert_eq!(state, JobState::Success, "{log}");
    h.stop().await;
}

#[tokio::test]
async fn when_decides_saving_and_keys_expand_and_fall_back() {
    let h = Harness::start(1).await;
    // `when: on_success` (default): a failed job saves nothing; `on_failure` does.
    let (state, log) = run(
        &h,
        job(
            10,
            3,
            &["mkdir out", "echo failed-run > out/f", "exit 3"],
            vec![
                cache(
                    "ok-$CI_COMMIT_REF_SLUG",
                    &["out/"],
                    "pull-push",
                    When::OnSuccess,
                ),
                cache("bad", &["out/"], "pull-push", When::OnFailure),
            ],
        ),
    )
    .await;
    assert_eq!(state, JobState::Failed, "{log}");
    assert!(log.contains("Saving cache for failed job"), "{log}");
    assert!(log.contains("Created cache bad"), "{log}");
    assert!(!log.contains("Created cache ok-main"), "{log}");
    let store = h.builds_path().join("cache/3");
    assert!(store.join("bad/cache.zip").is_file());
    assert!(!store.join("ok-main").exists());

    // The key `ok-$CI_COMMIT_REF_SLUG` misses; its fallback key `bad` is used.
    let mut fallback = cache("ok-$CI_COMMIT_REF_SLUG", &["out/"], "pull", When::OnSuccess);
    fallback.fallback_keys = vec!["bad".into()];
    let (state, log) = run(
        &h,
        job(11, 3, &["grep -qx failed-run out/f"], vec![fallback]),
    )
    .await;
    assert_eq!(state, JobState::Success, "{log}");
    assert!(log.contains("Checking cache for ok-main..."), "{log}");
    assert!(log.contains("Successfully extracted cache bad"), "{log}");

    // CACHE_FALLBACK_KEY is the last resort.
    let mut last = job(
        12,
        3,
        &["grep -qx failed-run out/f"],
        vec![cache("missing", &["out/"], "pull", When::OnSuccess)],
    );
    last.variables
        .push(JobVariable::public("CACHE_FALLBACK_KEY", "bad"));
    let (state, log) = run(&h, last).await;
    assert_eq!(state, JobState::Success, "{log}");

    // Keys cannot escape the cache directory.
    let (state, log) = run(
        &h,
        job(
            13,
            3,
            &["mkdir x", "echo y > x/y"],
            vec![cache("../../escape", &["x"], "push", When::Always)],
        ),
    )
    .await;
    assert_eq!(state, JobState::Success, "{log}");
    assert!(store.join("..%2F..%2Fescape/cache.zip").is_file());
    assert!(!h.builds_path().join("escape").exists());
    h.stop().await;
}
