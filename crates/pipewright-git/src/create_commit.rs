//! `POST /projects/:id/repository/commits`: build a tree from file actions with plumbing in a
//! private index, commit it, and move the branch with a compare-and-set.

mod request;
mod tree;

pub use request::{ActionKind, CommitAction, CommitError, CommitRequest};

use tree::check_path;

use crate::validate::{ZERO_SHA, is_full_sha, is_valid_branch_name};
use crate::{Commit, GitError, Repo};

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
            .env(
                "GIT_COMMITTER_NAME",
                req.committer
                    .as_ref()
                    .map_or(&req.author_name, |(name, _)| name),
            )
            .env(
                "GIT_COMMITTER_EMAIL",
                req.committer
                    .as_ref()
                    .map_or(&req.author_email, |(_, email)| email),
            )
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
