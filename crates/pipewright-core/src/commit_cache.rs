//! Commit entities by (project, sha). A commit never changes, so found entries need no
//! invalidation; the cache only spares a `git` process on every job read and job hand-out.
//!
//! A sha the repository does not have (a pipeline whose commit was force-pushed away and
//! collected, an imported history) is remembered as absent for a short while: without that,
//! every read of such a job spawned `git` again. The while is short because the commit may
//! still arrive by a later push.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipewright_git::Commit;

use crate::App;
use crate::error::Result;

/// Entries kept before the cache starts over (bounded memory, no bookkeeping).
const CAPACITY: usize = 8192;

/// How long "the repository has no such commit" is believed.
const ABSENT_FOR: Duration = Duration::from_secs(30);

#[derive(Clone)]
enum Entry {
    Found(Box<Commit>),
    Absent(Instant),
}

#[derive(Clone, Default)]
pub struct CommitCache {
    entries: Arc<Mutex<HashMap<(i64, String), Entry>>>,
}

impl CommitCache {
    /// The known commits, and the shas git must be asked about.
    fn lookup(&self, project_id: i64, shas: &[String]) -> (HashMap<String, Commit>, Vec<String>) {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        let now = Instant::now();
        match self.entries.lock() {
            Ok(entries) => {
                for sha in shas {
                    match entries.get(&(project_id, sha.clone())) {
                        Some(Entry::Found(commit)) => {
                            found.insert(sha.clone(), Commit::clone(commit));
                        }
                        Some(Entry::Absent(since)) if now.duration_since(*since) < ABSENT_FOR => {}
                        _ => missing.push(sha.clone()),
                    }
                }
            }
            Err(_) => missing.extend(shas.iter().cloned()),
        }
        (found, missing)
    }

    /// Records what git answered for `asked`: the commits it found, the others as absent.
    fn remember(&self, project_id: i64, asked: &[String], commits: &HashMap<String, Commit>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() + asked.len() > CAPACITY {
                entries.clear();
            }
            let now = Instant::now();
            for sha in asked {
                let entry = match commits.get(sha) {
                    Some(commit) => Entry::Found(Box::new(commit.clone())),
                    None => Entry::Absent(now),
                };
                entries.insert((project_id, sha.clone()), entry);
            }
        }
    }
}

/// The commits of `shas` in the project's repository (absent shas are left out), reading git
/// only for those not seen before.
pub async fn commits(
    app: &App,
    project_id: i64,
    shas: &[String],
) -> Result<HashMap<String, Commit>> {
    let (mut found, missing) = app.commits.lookup(project_id, shas);
    if missing.is_empty() {
        return Ok(found);
    }
    let repo = app.repository(project_id);
    let asked = missing.clone();
    let loaded = tokio::task::spawn_blocking(move || repo.commits(&asked)).await??;
    app.commits.remember(project_id, &missing, &loaded);
    found.extend(loaded);
    Ok(found)
}

/// One commit, through the same cache.
pub async fn commit(app: &App, project_id: i64, sha: &str) -> Result<Option<Commit>> {
    let sha = sha.to_owned();
    Ok(commits(app, project_id, std::slice::from_ref(&sha))
        .await?
        .remove(&sha))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_shas_are_remembered_for_a_while() {
        let cache = CommitCache::default();
        let asked = vec!["5eed".to_owned()];
        assert_eq!(cache.lookup(1, &asked).1, asked);
        cache.remember(1, &asked, &HashMap::new());
        let (found, missing) = cache.lookup(1, &asked);
        assert!(found.is_empty() && missing.is_empty());
        // Another project's repository was not asked.
        assert_eq!(cache.lookup(2, &asked).1, asked);
        if let Ok(mut entries) = cache.entries.lock()
            && let Some(entry) = entries.get_mut(&(1, "5eed".to_owned()))
            && let Some(long_ago) = Instant::now().checked_sub(ABSENT_FOR)
        {
            *entry = Entry::Absent(long_ago);
        }
        assert_eq!(cache.lookup(1, &asked).1, asked);
    }
}
