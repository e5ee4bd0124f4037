//! `POST /projects/:id/repository/commits`: build a tree from file actions with plumbing in a
//! private index, commit it, and move the branch with a compare-and-set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::validate::{PathProblem, ZERO_SHA, check_tree_path, is_full_sha, is_valid_branch_name};
use crate::{Commit, GitError, Repo};

/// What one action does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Create,
    Update,
    Delete,
    Move,
    Chmod,
}

impl ActionKind {
    /// GitLab's spelling (`create`, `update`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Update => "update",
            ActionKind::Delete => "delete",
            ActionKind::Move => "move",
            ActionKind::Chmod => "chmod",
        }
    }
}

impl FromStr for ActionKind {
    type Err = CommitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "create" => Ok(ActionKind::Create),
            "update" => Ok(ActionKind::Update),
            "delete" => Ok(ActionKind::Delete),
            "move" => Ok(ActionKind::Move),
            "chmod" => Ok(ActionKind::Chmod),
            other => Err(CommitError::UnknownAction(other.to_owned())),
        }
    }
}

/// One element of `actions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitAction {
    pub action: ActionKind,
    pub file_path: String,
    /// Required for `move`.
    pub previous_path: Option<String>,
    /// Raw bytes (the caller decodes base64). `None` on create/update means an empty file;
    /// on move it keeps the moved file's content.
    pub content: Option<Vec<u8>>,
    /// For `chmod` (and `create`): `true` makes the file executable.
    pub execute_filemode: Option<bool>,
    /// For update/move/delete: refuse if the file's last commit is no longer this one.
    pub last_commit_id: Option<String>,
}

impl CommitAction {
    fn new(action: ActionKind, file_path: &str) -> Self {
        CommitAction {
            action,
            file_path: file_path.to_owned(),
            previous_path: None,
            content: None,
            execute_filemode: None,
            last_commit_id: None,
        }
    }

    pub fn create(file_path: &str, content: impl Into<Vec<u8>>) -> Self {
        CommitAction {
            content: Some(content.into()),
            ..Self::new(ActionKind::Create, file_path)
        }
    }

    pub fn update(file_path: &str, content: impl Into<Vec<u8>>) -> Self {
        CommitAction {
            content: Some(content.into()),
            ..Self::new(ActionKind::Update, file_path)
        }
    }

    pub fn delete(file_path: &str) -> Self {
        Self::new(ActionKind::Delete, file_path)
    }

    pub fn move_file(previous_path: &str, file_path: &str, content: Option<Vec<u8>>) -> Self {
        CommitAction {
            previous_path: Some(previous_path.to_owned()),
            content,
            ..Self::new(ActionKind::Move, file_path)
        }
    }

    pub fn chmod(file_path: &str, executable: bool) -> Self {
        CommitAction {
            execute_filemode: Some(executable),
            ..Self::new(ActionKind::Chmod, file_path)
        }
    }
}

/// The parameters of `POST /projects/:id/repository/commits`, validated by the HTTP layer
/// for presence; everything repository-related is checked here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitRequest {
    pub branch: String,
    pub start_branch: Option<String>,
    pub start_sha: Option<String>,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    pub actions: Vec<CommitAction>,
    pub force: bool,
}

/// Why a commit was refused. `Display` is GitLab's message, as it appears in
/// `{"message": "..."}` with status 400; only [`CommitError::Git`] is a server fault.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("A file with this name already exists")]
    FileExists { path: String },
    #[error("A file with this name doesn't exist")]
    FileNotFound { path: String },
    #[error("A directory with this name already exists")]
    DirectoryExists { path: String },
    #[error("You must provide a file path")]
    EmptyPath,
    #[error("Path cannot include directory traversal")]
    DirectoryTraversal { path: String },
    #[error("invalid path: '{path}'")]
    InvalidPath { path: String },
    #[error("You must supply the original file path when moving file `{0}`.")]
    MissingPreviousPath(String),
    #[error("You can only create or edit files when you are on a branch")]
    NotOnBranch,
    #[error("A branch called '{0}' already exists. Switch to that branch in order to make changes")]
    BranchExists(String),
    #[error("Something went wrong when we tried to create '{0}' for you: Branch name is invalid")]
    InvalidBranchName(String),
    #[error("You can't pass both start_branch and start_sha")]
    StartBranchAndSha,
    #[error("Invalid start_sha '{0}'")]
    InvalidStartSha(String),
    #[error("Cannot find start_sha '{0}'")]
    StartShaNotFound(String),
    #[error("The file has changed since you started editing it: {0}")]
    FileChanged(String),
    #[error("actions is empty")]
    NoActions,
    #[error("Unknown action type `{0}`.")]
    UnknownAction(String),
    #[error("Invalid author: {0}")]
    InvalidAuthor(String),
    /// The branch moved between reading it and updating it (a concurrent push or commit).
    #[error("Could not update branch {0}. Please refresh and try again.")]
    Conflict(String),
    #[error(transparent)]
    Git(#[from] GitError),
}

impl CommitError {
    /// `true` when the request is at fault (GitLab answers 400), `false` for server faults.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, CommitError::Git(_))
    }
}

/// A tree entry kept in memory while actions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    mode: String,
    oid: String,
}

const MODE_FILE: &str = "100644";
const MODE_EXEC: &str = "100755";

impl Repo {
    /// Applies `req.actions` on top of the start commit and moves `req.branch` to the result,
    /// with GitLab's rules and messages. The branch update is a compare-and-set against the
    /// value read at the start, so a concurrent push makes this fail with
    /// [`CommitError::Conflict`] instead of losing either change.
    pub fn create_commit(&self, req: &CommitRequest) -> Result<Commit, CommitError> {
        if req.actions.is_empty() {
            return Err(CommitError::NoActions);
        }
        check_author(&req.author_name, &req.author_email)?;
        let plan = self.plan_branches(req)?;
        let mut entries = self.load_entries(plan.parent.as_deref())?;
        let original = entries.clone();
        for action in &req.actions {
            self.check_last_commit(plan.parent.as_deref(), action)?;
            self.apply(&mut entries, action)?;
        }
        let tree = self.write_tree(plan.parent.as_deref(), &original, &entries)?;
        let new_sha = self.commit_tree(&tree, plan.parent.as_deref(), req)?;
        let target = format!("refs/heads/{}", req.branch);
        let old = plan.current.as_deref().unwrap_or(ZERO_SHA);
        match self.update_ref(&target, &new_sha, Some(old)) {
            Ok(()) => {}
            Err(GitError::RefConflict { .. }) => {
                return Err(CommitError::Conflict(req.branch.clone()));
            }
            Err(e) => return Err(e.into()),
        }
        self.commits(std::slice::from_ref(&new_sha))?
            .remove(&new_sha)
            .ok_or_else(|| GitError::parse("log", format!("new commit {new_sha} not found")).into())
    }

    /// GitLab's `Commits::CreateService#validate!`, in its order, yielding the parent commit
    /// and the target branch's current value.
    fn plan_branches(&self, req: &CommitRequest) -> Result<BranchPlan, CommitError> {
        let branch = req.branch.as_str();
        if req.start_branch.is_some() && req.start_sha.is_some() {
            return Err(CommitError::StartBranchAndSha);
        }
        // One snapshot of the target branch: the parent (when committing onto it) and the
        // compare-and-set's expected value both come from it, so a concurrent change between
        // two reads cannot be silently overwritten.
        let current = self.branch_tip(branch)?;
        let empty = current.is_none() && self.is_empty()?;
        // The API defaults start_branch to branch unless start_sha is given.
        let start_branch = match (&req.start_branch, &req.start_sha) {
            (Some(b), _) => Some(b.as_str()),
            (None, None) => Some(branch),
            (None, Some(_)) => None,
        };
        let mut parent = None;
        if let Some(sha) = &req.start_sha {
            if !is_full_sha(sha) {
                return Err(CommitError::InvalidStartSha(sha.clone()));
            }
            let found = self
                .resolve(sha)?
                .filter(|full| full.eq_ignore_ascii_case(sha));
            parent = Some(found.ok_or_else(|| CommitError::StartShaNotFound(sha.clone()))?);
        }
        if let Some(start) = start_branch
            && !empty
        {
            let tip = if start == branch {
                current.clone()
            } else {
                self.branch_tip(start)?
            };
            parent = Some(tip.ok_or(CommitError::NotOnBranch)?);
        }
        let different = start_branch != Some(branch) || req.start_sha.is_some();
        if !is_valid_branch_name(branch) {
            return Err(CommitError::InvalidBranchName(branch.to_owned()));
        }
        if !empty && different && current.is_some() && !req.force {
            return Err(CommitError::BranchExists(branch.to_owned()));
        }
        Ok(BranchPlan { parent, current })
    }

    fn branch_tip(&self, name: &str) -> Result<Option<String>, GitError> {
        if !is_valid_branch_name(name) {
            return Ok(None);
        }
        self.ref_sha(&format!("refs/heads/{name}"))
    }

    fn load_entries(&self, parent: Option<&str>) -> Result<BTreeMap<String, Entry>, GitError> {
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

    /// `last_commit_id` on update/move/delete: the file's latest commit must still be that one.
    fn check_last_commit(
        &self,
        parent: Option<&str>,
        action: &CommitAction,
    ) -> Result<(), CommitError> {
        let (Some(expected), Some(parent)) = (&action.last_commit_id, parent) else {
            return Ok(());
        };
        if !matches!(
            action.action,
            ActionKind::Update | ActionKind::Move | ActionKind::Delete
        ) {
            return Ok(());
        }
        let path = action.previous_path.as_deref().unwrap_or(&action.file_path);
        check_path(path)?;
        let last = self
            .git(&[
                "log",
                "-1",
                "--format=%H",
                "--no-show-signature",
                "--end-of-options",
                parent,
                "--",
                path,
            ])
            .run_string()?;
        if !last.is_empty() && &last != expected {
            return Err(CommitError::FileChanged(path.to_owned()));
        }
        Ok(())
    }

    /// Applies one action to the in-memory tree, with Gitaly's index errors.
    fn apply(
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

    fn hash_blob(&self, content: &[u8]) -> Result<String, GitError> {
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
    fn write_tree(
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

    fn commit_tree(
        &self,
        tree: &str,
        parent: Option<&str>,
        req: &CommitRequest,
    ) -> Result<String, GitError> {
        let mut cmd = self.git(&["commit-tree", "--no-gpg-sign", tree]);
        if let Some(parent) = parent {
            cmd = cmd.arg("-p").arg(parent);
        }
        // The API user is both author and committer; the message is taken verbatim.
        let sha = cmd
            .env("GIT_AUTHOR_NAME", &req.author_name)
            .env("GIT_AUTHOR_EMAIL", &req.author_email)
            .env("GIT_COMMITTER_NAME", &req.author_name)
            .env("GIT_COMMITTER_EMAIL", &req.author_email)
            .stdin(req.message.clone().into_bytes())
            .run_string()?;
        if is_full_sha(&sha) {
            Ok(sha)
        } else {
            Err(GitError::parse("commit-tree", sha))
        }
    }
}

struct BranchPlan {
    /// The commit the new one builds on; `None` for a root commit.
    parent: Option<String>,
    /// The target branch's value now; `None` when it does not exist yet.
    current: Option<String>,
}

fn check_author(name: &str, email: &str) -> Result<(), CommitError> {
    let bad = |s: &str| s.contains(['<', '>', '\n', '\r', '\0']);
    if name.trim().is_empty() || bad(name) {
        return Err(CommitError::InvalidAuthor(format!("name {name:?}")));
    }
    if bad(email) {
        return Err(CommitError::InvalidAuthor(format!("email {email:?}")));
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), CommitError> {
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
