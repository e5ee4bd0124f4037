//! `cache:` between jobs of a project, kept on the runner's disk (GitLab Runner's local cache,
//! without a shared cache server): `<builds_dir>/cache/<project id>/<key>/cache.zip`.
//!
//! Before the script, the first archive found among `key`, `fallback_keys` and
//! `CACHE_FALLBACK_KEY` is extracted into the project (`policy: pull` or `pull-push`); after
//! `after_script`, `paths` + `untracked` are packed into the key's archive when `when` fits the
//! job's result (`policy: push` or `pull-push`). Cache problems are warnings: they never fail
//! a job. Archives are written to a temporary file and renamed, so concurrent jobs of one
//! project only ever see whole archives (the last writer wins).

use std::path::{Path, PathBuf};

use pipewright_protocol::{Cache, JobResponse, When};

use crate::archive;
use crate::artifacts::{blocking, select_logged};
use crate::style::{RESET, SECTION as BOLD_CYAN, WARNING as YELLOW};
use crate::trace::TraceLog;
use crate::vars::{self, Vars};

const ARCHIVE: &str = "cache.zip";

/// Where the caches of one job's project live.
pub(crate) fn project_dir(builds_dir: &Path, job: &JobResponse) -> PathBuf {
    builds_dir
        .join("cache")
        .join(job.job_info.project_id.to_string())
}

fn pulls(cache: &Cache) -> bool {
    matches!(cache.policy.as_str(), "" | "pull" | "pull-push")
}

fn pushes(cache: &Cache) -> bool {
    matches!(cache.policy.as_str(), "" | "push" | "pull-push")
}

/// The expanded key as one safe path segment, or `None` (with a warning) when it is empty.
fn key_dir(raw: &str, env: &Vars, log: &TraceLog) -> Option<(String, String)> {
    let key = vars::expand(raw, |name| env.get(name)).trim().to_owned();
    if key.is_empty() {
        log.line(&format!(
            "{YELLOW}WARNING: cache key {raw:?} is empty after variable expansion; skipping{RESET}"
        ));
        return None;
    }
    let segment = sanitize(&key);
    Some((key, segment))
}

/// Percent-encodes everything but `[A-Za-z0-9._-]` (and dots of an all-dots key), so that
/// any key maps to exactly one directory inside the cache directory.
fn sanitize(key: &str) -> String {
    let all_dots = key.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || byte == b'_'
            || byte == b'-'
            || (byte == b'.' && !all_dots);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Extracts the first cache archive found for each pulling entry of `job.cache`.
pub(crate) async fn restore(
    job: &JobResponse,
    log: &TraceLog,
    env: &Vars,
    store: &Path,
    project: &Path,
) {
    let entries: Vec<&Cache> = job.cache.iter().filter(|c| pulls(c)).collect();
    if entries.is_empty() {
        return;
    }
    log.line(&format!("{BOLD_CYAN}Restoring cache{RESET}"));
    for cache in entries {
        let mut keys: Vec<&str> = vec![cache.key.as_str()];
        keys.extend(cache.fallback_keys.iter().map(String::as_str));
        let global_fallback = env.get("CACHE_FALLBACK_KEY").map(str::to_owned);
        if let Some(fallback) = &global_fallback {
            keys.push(fallback);
        }
        let mut restored = false;
        for raw in keys {
            let Some((key, segment)) = key_dir(raw, env, log) else {
                continue;
            };
            log.line(&format!("Checking cache for {key}..."));
            let path = store.join(&segment).join(ARCHIVE);
            if !path.is_file() {
                log.line(&format!("{YELLOW}WARNING: file does not exist{RESET}"));
                continue;
            }
            let (archive_path, dest) = (path.clone(), project.to_path_buf());
            match blocking(move || archive::extract_zip(&archive_path, &dest)).await {
                Ok(()) => {
                    log.line(&format!("Successfully extracted cache {key}"));
                    restored = true;
                    break;
                }
                Err(err) => log.line(&format!(
                    "{YELLOW}WARNING: Failed to extract cache {key}: {err}{RESET}"
                )),
            }
        }
        if !restored {
            log.line(&format!(
                "{YELLOW}WARNING: no cache found for {}{RESET}",
                cache.key
            ));
        }
    }
}

/// Archives each pushing entry of `job.cache` whose `when` fits the job's result.
pub(crate) async fn save(
    job: &JobResponse,
    log: &TraceLog,
    env: &Vars,
    store: &Path,
    project: &Path,
    succeeded: bool,
) {
    let entries: Vec<&Cache> = job
        .cache
        .iter()
        .filter(|c| pushes(c) && applies(c.when, succeeded))
        .collect();
    if entries.is_empty() {
        return;
    }
    let result = if succeeded { "successful" } else { "failed" };
    log.line(&format!("{BOLD_CYAN}Saving cache for {result} job{RESET}"));
    for cache in entries {
        let Some((key, segment)) = key_dir(&cache.key, env, log) else {
            continue;
        };
        log.line(&format!("Creating cache {key}..."));
        match save_one(cache, log, env, &store.join(segment), project).await {
            Ok(true) => log.line(&format!("Created cache {key}")),
            Ok(false) => log.line(&format!(
                "{YELLOW}WARNING: no files to cache for {key}; cache not saved{RESET}"
            )),
            Err(err) => log.line(&format!(
                "{YELLOW}WARNING: Failed to create cache {key}: {err}{RESET}"
            )),
        }
    }
}

/// Packs one entry; `Ok(false)` when nothing matched (an existing archive is kept).
async fn save_one(
    cache: &Cache,
    log: &TraceLog,
    env: &Vars,
    dir: &Path,
    project: &Path,
) -> Result<bool, String> {
    let (selection, _) =
        select_logged(project, &cache.paths, cache.untracked, &[], env, log).await?;
    if selection.entries.is_empty() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{ARCHIVE}.{}.{}.tmp",
        std::process::id(),
        rand_suffix()
    ));
    let (root, entries, path, dest) = (
        project.to_path_buf(),
        selection.entries,
        tmp.clone(),
        dir.join(ARCHIVE),
    );
    let packed = blocking(move || {
        archive::pack(
            &root,
            &entries,
            pipewright_protocol::ArtifactFormat::Zip,
            &path,
        )?;
        std::fs::rename(&path, &dest).map_err(|e| e.to_string())
    })
    .await;
    if packed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    packed.map(|()| true)
}

/// Distinguishes temporary files of concurrent jobs in one process.
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn applies(when: When, succeeded: bool) -> bool {
    match when {
        When::Always => true,
        When::OnFailure => !succeeded,
        When::OnSuccess | When::Unknown => succeeded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_one_safe_segment() {
        assert_eq!(sanitize("deps-main_1.2"), "deps-main_1.2");
        assert_eq!(sanitize("a/../b"), "a%2F..%2Fb");
        assert_eq!(sanitize(".."), "%2E%2E");
        assert_eq!(sanitize("key with space"), "key%20with%20space");
    }

    #[test]
    fn policies() {
        let with = |policy: &str| Cache {
            policy: policy.into(),
            ..Cache::default()
        };
        assert!(pulls(&with("")) && pushes(&with("")));
        assert!(pulls(&with("pull")) && !pushes(&with("pull")));
        assert!(!pulls(&with("push")) && pushes(&with("push")));
        assert!(pulls(&with("pull-push")) && pushes(&with("pull-push")));
    }
}
