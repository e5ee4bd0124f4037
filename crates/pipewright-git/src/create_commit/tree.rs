//! The new tree: actions applied to an in-memory listing with Gitaly's index errors, then
//! written with plumbing in a private index.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{ActionKind, CommitAction, CommitError};
use crate::validate::{PathProblem, ZERO_SHA, check_tree_path, is_full_sha};
use crate::{GitError, Repo};

/// A tree entry kept in memory while actions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    mode: String,
    oid: String,
}

const MODE_FILE: &str = "100644";
const MODE_EXEC: &str = "100755";

impl Repo {
    pub(super) fn load_entries(
        &self,
        parent: Option<&str>,
    ) -> Result<BTreeMap<String, Entry>, GitError> {
        let Some(parent) = parent else {
            return Ok(BTreeMap::new());
        };
        Ok(self
            .tree_entries(parent)?
            .into_iter()
            .map(|e| {
                (
                    e.path,
                    Entry {
                        mode: e.mode,
                        oid: e.oid,
                    },
                )
            })
            .collect())
    }

    /// Applies one action to the in-memory tree, with Gitaly's index errors.
    pub(super) fn apply(
        &self,
        entries: &mut BTreeMap<String, Entry>,
        action: &CommitAction,
    ) -> Result<(), CommitError> {
        let path = action.file_path.as_str();
        check_path(path)?;
        match action.action {
            ActionKind::Create => {
                check_free(entries, path)?;
                let mode = if action.execute_filemode == Some(true) {
                    MODE_EXEC
                } else {
                    MODE_FILE
                };
                let oid = self.hash_blob(action.content.as_deref().unwrap_or_default())?;
                entries.insert(
                    path.to_owned(),
                    Entry {
                        mode: mode.to_owned(),
                        oid,
                    },
                );
            }
            ActionKind::Update => {
                let entry = existing(entries, path)?;
                entry.oid = self.hash_blob(action.content.as_deref().unwrap_or_default())?;
            }
            ActionKind::Delete => {
                existing(entries, path)?;
                entries.remove(path);
            }
            ActionKind::Chmod => {
                let entry = existing(entries, path)?;
                let exec = action.execute_filemode == Some(true);
                entry.mode = if exec { MODE_EXEC } else { MODE_FILE }.to_owned();
            }
            ActionKind::Move => {
                let previous = action
                    .previous_path
                    .as_deref()
                    .ok_or_else(|| CommitError::MissingPreviousPath(path.to_owned()))?;
                check_path(previous)?;
                let moved = existing(entries, previous)?.clone();
                check_free(entries, path)?;
                entries.remove(previous);
                let oid = match &action.content {
                    Some(content) => self.hash_blob(content)?,
                    None => moved.oid,
                };
                entries.insert(
                    path.to_owned(),
                    Entry {
                        mode: moved.mode,
                        oid,
                    },
                );
            }
        }
        Ok(())
    }

    pub(super) fn hash_blob(&self, content: &[u8]) -> Result<String, GitError> {
        let oid = self
            .git(&["hash-object", "-w", "--stdin"])
            .stdin(content.to_vec())
            .run_string()?;
        if is_full_sha(&oid) {
            Ok(oid)
        } else {
            Err(GitError::parse("hash-object", oid))
        }
    }

    /// `read-tree` the parent into a private index, apply the differences with one
    /// `update-index --index-info`, and `write-tree`.
    pub(super) fn write_tree(
        &self,
        parent: Option<&str>,
        original: &BTreeMap<String, Entry>,
        entries: &BTreeMap<String, Entry>,
    ) -> Result<String, GitError> {
        let index = TempIndex::new(self.path());
        if let Some(parent) = parent {
            self.git(&["read-tree", "--end-of-options", parent])
                .env("GIT_INDEX_FILE", index.path())
                .run()?;
        }
        // Removals first, so a file can replace a directory (or the reverse) in one commit.
        let mut info = Vec::new();
        for path in original.keys().filter(|p| !entries.contains_key(*p)) {
            info.extend_from_slice(format!("0 {ZERO_SHA}\t{path}\0").as_bytes());
        }
        for (path, entry) in entries.iter().filter(|(p, e)| original.get(*p) != Some(e)) {
            info.extend_from_slice(format!("{} {}\t{path}\0", entry.mode, entry.oid).as_bytes());
        }
        if !info.is_empty() {
            self.git(&["update-index", "-z", "--index-info"])
                .env("GIT_INDEX_FILE", index.path())
                .stdin(info)
                .run()?;
        }
        let tree = self
            .git(&["write-tree"])
            .env("GIT_INDEX_FILE", index.path())
            .run_string()?;
        if is_full_sha(&tree) {
            Ok(tree)
        } else {
            Err(GitError::parse("write-tree", tree))
        }
    }
}

pub(super) fn check_path(path: &str) -> Result<(), CommitError> {
    check_tree_path(path).map_err(|problem| match problem {
        PathProblem::Empty => CommitError::EmptyPath,
        PathProblem::Traversal => CommitError::DirectoryTraversal {
            path: path.to_owned(),
        },
        PathProblem::Invalid => CommitError::InvalidPath {
            path: path.to_owned(),
        },
    })
}

fn existing<'a>(
    entries: &'a mut BTreeMap<String, Entry>,
    path: &str,
) -> Result<&'a mut Entry, CommitError> {
    entries
        .get_mut(path)
        .ok_or_else(|| CommitError::FileNotFound {
            path: path.to_owned(),
        })
}

/// `path` must not be a file, a directory, or lie below a file.
fn check_free(entries: &BTreeMap<String, Entry>, path: &str) -> Result<(), CommitError> {
    if entries.contains_key(path) {
        return Err(CommitError::FileExists {
            path: path.to_owned(),
        });
    }
    let dir = format!("{path}/");
    if entries
        .range(dir.clone()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(&dir))
    {
        return Err(CommitError::DirectoryExists {
            path: path.to_owned(),
        });
    }
    let mut prefix = path;
    while let Some((parent, _)) = prefix.rsplit_once('/') {
        if entries.contains_key(parent) {
            return Err(CommitError::FileExists {
                path: parent.to_owned(),
            });
        }
        prefix = parent;
    }
    Ok(())
}

/// A private index file next to the repository, removed on drop (with any stale lock).
struct TempIndex {
    path: PathBuf,
}

impl TempIndex {
    fn new(repo: &Path) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("pipewright-index-{}-{n}", std::process::id());
        TempIndex {
            path: repo.join(name),
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let mut lock = self.path.clone().into_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }
}
