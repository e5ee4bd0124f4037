//! Commit entities by (project, sha). A commit never changes, so entries need no
//! invalidation; the cache only spares a `git` process on every job read and job hand-out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pipewright_git::Commit;

use crate::App;
use crate::error::Result;

/// Entries kept before the cache starts over (bounded memory, no bookkeeping).
const CAPACITY: usize = 8192;

#[derive(Clone, Default)]
pub struct CommitCache {
    entries: Arc<Mutex<HashMap<(i64, String), Commit>>>,
}

impl CommitCache {
    fn lookup(&self, project_id: i64, shas: &[String]) -> (HashMap<String, Commit>, Vec<String>) {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        match self.entries.lock() {
            Ok(entries) => {
                for sha in shas {
                    match entries.get(&(project_id, sha.clone())) {
                        Some(commit) => {
                            found.insert(sha.clone(), commit.clone());
                        }
                        None => missing.push(sha.clone()),
                    }
                }
            }
            Err(_) => missing.extend(shas.iter().cloned()),
        }
        (found, missing)
    }

    fn remember(&self, project_id: i64, commits: &HashMap<String, Commit>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() + commits.len() > CAPACITY {
                entries.clear();
            }
            for (sha, commit) in commits {
                entries.insert((project_id, sha.clone()), commit.clone());
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
    let loaded = tokio::task::spawn_blocking(move || repo.commits(&missing)).await??;
    app.commits.remember(project_id, &loaded);
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
