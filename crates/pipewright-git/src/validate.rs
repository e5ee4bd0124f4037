//! Checks for untrusted names before they reach a git command line or stdin.
//!
//! Refs follow `git check-ref-format`; paths follow what git accepts in an index, minus
//! anything that could be mistaken for an option or escape the tree.

/// The all-zero object id git uses for "no object" (SHA-1 length).
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// `true` for a full object id (40 hex digits for SHA-1, 64 for SHA-256).
pub fn is_full_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `true` for an all-zero object id.
pub fn is_zero_sha(s: &str) -> bool {
    is_full_sha(s) && s.bytes().all(|b| b == b'0')
}

/// `git check-ref-format` on a full ref name (`refs/...`), plus a ban on a leading `-`.
pub fn is_valid_ref_name(name: &str) -> bool {
    if name.is_empty()
        || name.starts_with('-')
        || name == "@"
        || name.starts_with('/')
        || name.ends_with('/')
        || name.ends_with('.')
        || name.contains("..")
        || name.contains("//")
        || name.contains("@{")
    {
        return false;
    }
    let bad_byte = |b: u8| {
        b < 0x20 || b == 0x7f || matches!(b, b' ' | b'~' | b'^' | b':' | b'?' | b'*' | b'[' | b'\\')
    };
    if name.bytes().any(bad_byte) {
        return false;
    }
    name.split('/')
        .all(|c| !c.is_empty() && !c.starts_with('.') && !c.ends_with(".lock"))
}

/// A branch name as `git check-ref-format --branch` would accept it (short form, no `refs/heads/`).
pub fn is_valid_branch_name(name: &str) -> bool {
    name != "HEAD"
        && !name.starts_with('-')
        && !name.starts_with("refs/")
        && is_valid_ref_name(&format!("refs/heads/{name}"))
}

/// A tag name (short form).
pub fn is_valid_tag_name(name: &str) -> bool {
    !name.starts_with('-') && is_valid_ref_name(&format!("refs/tags/{name}"))
}

/// A revision we are willing to hand to `rev-parse`: a sha (full or abbreviated), a short or
/// full ref name, or `HEAD`. Excludes revision syntax (`~`, `^`, `:`, `@{`, `..`) entirely.
pub fn is_safe_rev(rev: &str) -> bool {
    if rev.len() > 1024 || rev.starts_with('-') {
        return false;
    }
    if rev.starts_with("refs/") {
        return is_valid_ref_name(rev);
    }
    is_valid_ref_name(&format!("refs/heads/{rev}"))
}

/// Why a repository path was refused; `create_commit` maps these onto GitLab's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    Empty,
    Traversal,
    Invalid,
}

/// A path inside a tree: relative, `/`-separated, no `.`/`..`/`.git` components, no empty
/// components, no control characters, no leading `-`.
pub fn check_tree_path(path: &str) -> Result<(), PathProblem> {
    if path.is_empty() {
        return Err(PathProblem::Empty);
    }
    if path.split('/').any(|c| c == "..") {
        return Err(PathProblem::Traversal);
    }
    if path.starts_with('-')
        || path.starts_with('/')
        || path.ends_with('/')
        || path.len() > 4096
        || path.bytes().any(|b| b < 0x20 || b == 0x7f)
    {
        return Err(PathProblem::Invalid);
    }
    let bad_component = |c: &str| c.is_empty() || c == "." || c.eq_ignore_ascii_case(".git");
    if path.split('/').any(bad_component) {
        return Err(PathProblem::Invalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names_follow_check_ref_format() {
        for ok in [
            "refs/heads/main",
            "refs/heads/feature/x-1",
            "refs/pipelines/12",
            "refs/tags/v1.0",
        ] {
            assert!(is_valid_ref_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "@",
            "refs/heads/a..b",
            "refs/heads/.hidden",
            "refs/heads/x.lock",
            "refs/heads/a b",
            "refs/heads/a~1",
            "refs/heads/a^",
            "refs/heads/a:b",
            "refs/heads/a?",
            "refs/heads/a*",
            "refs/heads/a[",
            "refs/heads/a\\b",
            "refs/heads/a@{1}",
            "refs/heads/a/",
            "/refs/heads/a",
            "refs//heads",
            "refs/heads/a.",
            "refs/heads/a\0b",
            "refs/heads/a\nb",
        ] {
            assert!(!is_valid_ref_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn branch_names() {
        assert!(is_valid_branch_name("main"));
        assert!(is_valid_branch_name("feature/a"));
        assert!(!is_valid_branch_name("HEAD"));
        assert!(!is_valid_branch_name("-f"));
        assert!(!is_valid_branch_name("a..b"));
        assert!(!is_valid_branch_name(""));
    }

    #[test]
    fn revs() {
        assert!(is_safe_rev("main"));
        assert!(is_safe_rev("HEAD"));
        assert!(is_safe_rev("refs/heads/main"));
        assert!(is_safe_rev("0123abcd"));
        assert!(!is_safe_rev("--upload-pack=x"));
        assert!(!is_safe_rev("main~1"));
        assert!(!is_safe_rev("main:path"));
        assert!(!is_safe_rev(":/message"));
        assert!(!is_safe_rev("a..b"));
    }

    #[test]
    fn tree_paths() {
        assert_eq!(check_tree_path("a/b.txt"), Ok(()));
        assert_eq!(check_tree_path(".gitlab-ci.yml"), Ok(()));
        assert_eq!(check_tree_path(""), Err(PathProblem::Empty));
        assert_eq!(check_tree_path("a/../b"), Err(PathProblem::Traversal));
        assert_eq!(check_tree_path(".."), Err(PathProblem::Traversal));
        for bad in [
            "/a",
            "a/",
            "a//b",
            "./a",
            ".git/config",
            "a/.GIT/x",
            "-rf",
            "a\0b",
            "a\nb",
        ] {
            assert_eq!(check_tree_path(bad), Err(PathProblem::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn shas() {
        assert!(is_full_sha(&"a".repeat(40)));
        assert!(is_full_sha(&"a".repeat(64)));
        assert!(!is_full_sha(&"g".repeat(40)));
        assert!(!is_full_sha("abc"));
        assert!(is_zero_sha(ZERO_SHA));
    }
}
