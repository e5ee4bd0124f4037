//! A bare repository on disk and the read/ref operations the server needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::GitError;
use crate::cmd::GitCommand;
use crate::validate::{
    check_tree_path, is_full_sha, is_safe_rev, is_valid_branch_name, is_valid_ref_name,
    is_valid_tag_name, is_zero_sha,
};

/// A bare git repository, addressed by its directory. Cheap to clone; holds no handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    path: PathBuf,
}

/// A branch and the commit it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub name: String,
    pub sha: String,
}

/// One entry of a recursive tree listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Octal mode as git prints it: `100644`, `100755`, `120000`, `160000`.
    pub mode: String,
    pub oid: String,
    pub path: String,
}

impl Repo {
    /// Creates a bare repository at `path` (and its parents) whose `HEAD` points at
    /// `refs/heads/<default_branch>`, with `http.receivepack` enabled. Safe to call again on
    /// an existing repository: it then only (re)sets `HEAD` and the config.
    pub fn init_bare(path: &Path, default_branch: &str) -> Result<Repo, GitError> {
        if !is_valid_branch_name(default_branch) {
            return Err(GitError::invalid("branch name", default_branch));
        }
        std::fs::create_dir_all(path).map_err(|source| GitError::Io {
            command: "init".into(),
            source,
        })?;
        let repo = Repo::open(path);
        if !repo.exists() {
            // No templates: no sample hooks or description file to carry around.
            GitCommand::new(path, &["init", "--bare", "--quiet", "--template="]).run()?;
        }
        repo.set_default_branch(default_branch)?;
        GitCommand::new(path, &["config", "http.receivepack", "true"]).run()?;
        Ok(repo)
    }

    /// A handle on a repository that is expected to exist at `path`; nothing is checked.
    pub fn open(path: &Path) -> Repo {
        Repo {
            path: path.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `path` holds a git directory at all.
    pub fn exists(&self) -> bool {
        self.path.join("HEAD").is_file() && self.path.join("objects").is_dir()
    }

    pub(crate) fn git(&self, args: &[&str]) -> GitCommand {
        GitCommand::new(&self.path, args)
    }

    /// The branch `HEAD` points at, if it is a branch.
    pub fn default_branch(&self) -> Result<Option<String>, GitError> {
        let out = self.git(&["symbolic-ref", "--quiet", "HEAD"]).output()?;
        if !out.status.success() {
            return Ok(None);
        }
        let full = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(full.strip_prefix("refs/heads/").map(str::to_owned))
    }

    /// Points `HEAD` at `refs/heads/<name>` (the branch need not exist yet).
    pub fn set_default_branch(&self, name: &str) -> Result<(), GitError> {
        if !is_valid_branch_name(name) {
            return Err(GitError::invalid("branch name", name));
        }
        let target = format!("refs/heads/{name}");
        self.git(&["symbolic-ref", "HEAD"]).arg(target).run()?;
        Ok(())
    }

    /// A branch name, tag name, full ref or (abbreviated) sha, to the full sha of the commit
    /// it names. `None` when nothing matches or `rev` uses revision syntax we do not accept
    /// (`~`, `^`, `:`, `..`, a leading `-`, ...).
    pub fn resolve(&self, rev: &str) -> Result<Option<String>, GitError> {
        if !is_safe_rev(rev) {
            return Ok(None);
        }
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .git(&["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(spec)
            .output()?;
        if !out.status.success() {
            return Ok(None);
        }
        let sha = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !is_full_sha(&sha) {
            return Err(GitError::parse("rev-parse", sha));
        }
        Ok(Some(sha))
    }

    /// The sha a full ref name points at (not peeled), if the ref exists.
    pub fn ref_sha(&self, full_name: &str) -> Result<Option<String>, GitError> {
        if !is_valid_ref_name(full_name) || !full_name.starts_with("refs/") {
            return Err(GitError::invalid("ref name", full_name));
        }
        let out = self
            .git(&["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(full_name)
            .output()?;
        if !out.status.success() {
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    }

    /// No branches yet (GitLab's "empty repository"), including a repository not created yet.
    pub fn is_empty(&self) -> Result<bool, GitError> {
        if !self.exists() {
            return Ok(true);
        }
        let out = self
            .git(&[
                "for-each-ref",
                "--count=1",
                "--format=%(refname)",
                "refs/heads/",
            ])
            .run()?;
        Ok(out.iter().all(u8::is_ascii_whitespace))
    }

    pub fn is_branch(&self, name: &str) -> Result<bool, GitError> {
        if !is_valid_branch_name(name) {
            return Ok(false);
        }
        Ok(self.ref_sha(&format!("refs/heads/{name}"))?.is_some())
    }

    pub fn is_tag(&self, name: &str) -> Result<bool, GitError> {
        if !is_valid_tag_name(name) {
            return Ok(false);
        }
        Ok(self.ref_sha(&format!("refs/tags/{name}"))?.is_some())
    }

    /// Every branch, sorted by name.
    pub fn branches(&self) -> Result<Vec<Branch>, GitError> {
        let out = self
            .git(&[
                "for-each-ref",
                "--sort=refname",
                "--format=%(refname)%00%(objectname)",
                "refs/heads/",
            ])
            .run()?;
        let text = String::from_utf8_lossy(&out);
        let mut branches = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (name, sha) = line
                .split_once('\0')
                .ok_or_else(|| GitError::parse("for-each-ref", line))?;
            let name = name.strip_prefix("refs/heads/").unwrap_or(name);
            branches.push(Branch {
                name: name.to_owned(),
                sha: sha.to_owned(),
            });
        }
        Ok(branches)
    }

    /// `refs/heads/*` and `refs/tags/*` to the commit (or object) they point at; annotated
    /// tags are peeled. Compare two snapshots to see what a push changed.
    pub fn refs(&self) -> Result<BTreeMap<String, String>, GitError> {
        let out = self
            .git(&[
                "for-each-ref",
                "--format=%(refname)%00%(objectname)%00%(*objectname)",
                "refs/heads/",
                "refs/tags/",
            ])
            .run()?;
        let text = String::from_utf8_lossy(&out);
        let mut refs = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let mut parts = line.split('\0');
            let (Some(name), Some(sha), peeled) = (parts.next(), parts.next(), parts.next()) else {
                return Err(GitError::parse("for-each-ref", line));
            };
            let sha = peeled.filter(|p| !p.is_empty()).unwrap_or(sha);
            refs.insert(name.to_owned(), sha.to_owned());
        }
        Ok(refs)
    }

    /// The blob at `path` in the tree of `rev`; `None` if the path is missing or not a file.
    pub fn read_file(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        check_rev(rev)?;
        check_tree_path(path).map_err(|_| GitError::invalid("path", path))?;
        let out = self
            .git(&["cat-file", "--batch"])
            .stdin(format!("{rev}:{path}\n").into_bytes())
            .run()?;
        let Some(nl) = out.iter().position(|&b| b == b'\n') else {
            return Err(GitError::parse("cat-file", "no header"));
        };
        let header = String::from_utf8_lossy(&out[..nl]);
        let fields: Vec<&str> = header.split(' ').collect();
        match fields.as_slice() {
            [_, kind, size] if *kind == "blob" => {
                let size: usize = size
                    .parse()
                    .map_err(|_| GitError::parse("cat-file", header.to_string()))?;
                let body = out
                    .get(nl + 1..nl + 1 + size)
                    .ok_or_else(|| GitError::parse("cat-file", "short blob"))?;
                Ok(Some(body.to_vec()))
            }
            // "<name> missing", "<name> ambiguous", or a tree/commit at that path.
            _ => Ok(None),
        }
    }

    /// Every file (blob or symlink) in the tree of `rev`, recursively, in git's order.
    pub fn list_paths(&self, rev: &str) -> Result<Vec<String>, GitError> {
        Ok(self
            .tree_entries(rev)?
            .into_iter()
            .filter(|e| e.mode != "160000")
            .map(|e| e.path)
            .collect())
    }

    /// The recursive tree listing of `rev` with modes and blob ids (submodules included).
    pub fn tree_entries(&self, rev: &str) -> Result<Vec<TreeEntry>, GitError> {
        check_rev(rev)?;
        let out = self
            .git(&["ls-tree", "-r", "-z", "--full-tree", "--end-of-options"])
            .arg(rev)
            .run()?;
        let mut entries = Vec::new();
        for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            let record = String::from_utf8_lossy(record);
            let parsed = record.split_once('\t').and_then(|(meta, path)| {
                let mut m = meta.split(' ');
                let (mode, _kind, oid) = (m.next()?, m.next()?, m.next()?);
                Some(TreeEntry {
                    mode: mode.to_owned(),
                    oid: oid.to_owned(),
                    path: path.to_owned(),
                })
            });
            entries.push(parsed.ok_or_else(|| GitError::parse("ls-tree", record.to_string()))?);
        }
        Ok(entries)
    }

    /// Paths added, modified or deleted between two commits (renames count as both paths).
    /// An all-zero `from` (a new branch) means every path of `to`.
    pub fn changed_paths(&self, from: &str, to: &str) -> Result<Vec<String>, GitError> {
        if is_zero_sha(from) {
            return self.list_paths(to);
        }
        check_rev(from)?;
        check_rev(to)?;
        let out = self
            .git(&[
                "diff-tree",
                "-r",
                "-z",
                "--name-only",
                "--no-renames",
                "--no-commit-id",
                "--end-of-options",
            ])
            .arg(from)
            .arg(to)
            .run()?;
        Ok(out
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    /// Sets a full ref (`refs/...`) to `new_sha`. With `old_sha` this is a compare-and-set:
    /// it fails with [`GitError::RefConflict`] unless the ref currently has that value (an
    /// all-zero `old_sha` means "must not exist yet"). Without it the ref is overwritten.
    pub fn update_ref(
        &self,
        name: &str,
        new_sha: &str,
        old_sha: Option<&str>,
    ) -> Result<(), GitError> {
        if !name.starts_with("refs/") || !is_valid_ref_name(name) {
            return Err(GitError::invalid("ref name", name));
        }
        if !is_full_sha(new_sha) || is_zero_sha(new_sha) {
            return Err(GitError::invalid("sha", new_sha));
        }
        if let Some(old) = old_sha.filter(|o| !is_full_sha(o)) {
            return Err(GitError::invalid("sha", old));
        }
        let mut cmd = self
            .git(&["update-ref", "--no-deref", "-m", "pipewright"])
            .arg(name)
            .arg(new_sha);
        if let Some(old) = old_sha {
            cmd = cmd.arg(old);
        }
        self.finish_ref_update(name, old_sha, cmd)
    }

    /// Deletes a full ref; with `old_sha`, only if it still has that value.
    pub fn delete_ref(&self, name: &str, old_sha: Option<&str>) -> Result<(), GitError> {
        if !name.starts_with("refs/") || !is_valid_ref_name(name) {
            return Err(GitError::invalid("ref name", name));
        }
        if let Some(old) = old_sha.filter(|o| !is_full_sha(o)) {
            return Err(GitError::invalid("sha", old));
        }
        let mut cmd = self.git(&["update-ref", "--no-deref", "-d"]).arg(name);
        if let Some(old) = old_sha {
            cmd = cmd.arg(old);
        }
        self.finish_ref_update(name, old_sha, cmd)
    }

    fn finish_ref_update(
        &self,
        name: &str,
        old_sha: Option<&str>,
        cmd: GitCommand,
    ) -> Result<(), GitError> {
        let out = cmd.output()?;
        if out.status.success() {
            return Ok(());
        }
        // Tell a lost race from any other failure: the ref moved, or another writer still
        // held its lock after git's retry window (it is about to move it).
        if let Some(old) = old_sha {
            let current = self.ref_sha(name)?;
            let expected = if is_zero_sha(old) { None } else { Some(old) };
            let locked = String::from_utf8_lossy(&out.stderr).contains("cannot lock ref");
            if current.as_deref() != expected || locked {
                return Err(GitError::RefConflict {
                    name: name.to_owned(),
                });
            }
        }
        Err(crate::cmd::failed("update-ref", &out))
    }
}

/// Revisions given to read operations must be plain names or shas.
fn check_rev(rev: &str) -> Result<(), GitError> {
    if is_safe_rev(rev) {
        Ok(())
    } else {
        Err(GitError::invalid("revision", rev))
    }
}
