//! `git merge-base`: the common ancestor `rules:changes:compare_to` diffs from.

use crate::error::GitError;
use crate::repo::Repo;
use crate::validate::{is_full_sha, is_safe_rev};

impl Repo {
    /// The best common ancestor of two revisions; `None` when either does not name a commit
    /// or they share no history.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, GitError> {
        if !is_safe_rev(a) || !is_safe_rev(b) {
            return Ok(None);
        }
        let out = self
            .git(&["merge-base", "--end-of-options"])
            .arg(a)
            .arg(b)
            .output()?;
        if !out.status.success() {
            return Ok(None);
        }
        let sha = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(is_full_sha(&sha).then_some(sha))
    }
}
