#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

mod common;

use common::{git, request, scratch, seeded};
use pipewright_git::{CommitAction, GitError, Repo};

#[test]
fn init_bare_sets_head_and_receivepack_and_is_idempotent() {
    let (dir, repo) = scratch();
    assert!(repo.exists());
    assert_eq!(repo.default_branch().unwrap().as_deref(), Some("main"));
    assert_eq!(
        git(repo.path(), &["config", "http.receivepack"], &[], None),
        "true"
    );
    assert!(repo.is_empty().unwrap());
    assert!(repo.branches().unwrap().is_empty());
    assert!(repo.refs().unwrap().is_empty());
    assert_eq!(repo.resolve("main").unwrap(), None);

    let again = Repo::init_bare(repo.path(), "trunk").unwrap();
    assert_eq!(again.default_branch().unwrap().as_deref(), Some("trunk"));
    assert!(matches!(
        Repo::init_bare(&dir.path().join("x.git"), "-bad"),
        Err(GitError::Invalid { .. })
    ));
    assert!(
        Repo::open(&dir.path().join("missing.git"))
            .is_empty()
            .unwrap()
    );
}

#[test]
fn resolve_branches_tags_and_shas() {
    let (_dir, repo, sha) = seeded();
    git(repo.path(), &["tag", "v1", &sha], &[], None);
    git(
        repo.path(),
        &["tag", "-a", "-m", "annotated", "v2", &sha],
        &[],
        None,
    );
    assert_eq!(repo.resolve("main").unwrap().as_deref(), Some(sha.as_str()));
    assert_eq!(
        repo.resolve("refs/heads/main").unwrap().as_deref(),
        Some(sha.as_str())
    );
    assert_eq!(repo.resolve("v1").unwrap().as_deref(), Some(sha.as_str()));
    assert_eq!(repo.resolve("v2").unwrap().as_deref(), Some(sha.as_str()));
    assert_eq!(repo.resolve(&sha).unwrap().as_deref(), Some(sha.as_str()));
    assert_eq!(
        repo.resolve(&sha[..8]).unwrap().as_deref(),
        Some(sha.as_str())
    );
    assert_eq!(repo.resolve("HEAD").unwrap().as_deref(), Some(sha.as_str()));
    for bad in [
        "nope",
        "main~1",
        "main^",
        "--all",
        "main:README.md",
        ":/hello",
        "a..b",
        "",
    ] {
        assert_eq!(repo.resolve(bad).unwrap(), None, "{bad:?}");
    }
    assert!(repo.is_branch("main").unwrap());
    assert!(!repo.is_branch("v1").unwrap());
    assert!(repo.is_tag("v1").unwrap());
    assert!(repo.is_tag("v2").unwrap());
    assert!(!repo.is_tag("main").unwrap());
    assert!(!repo.is_branch("../x").unwrap());
}

#[test]
fn read_file_and_list_paths() {
    let (_dir, repo, sha) = seeded();
    assert_eq!(
        repo.read_file(&sha, "README.md").unwrap().as_deref(),
        Some(&b"hello\n"[..])
    );
    assert_eq!(
        repo.read_file("main", "src/lib.rs").unwrap().as_deref(),
        Some(&b"fn main() {}\n"[..])
    );
    assert_eq!(repo.read_file(&sha, "missing.txt").unwrap(), None);
    assert_eq!(
        repo.read_file(&sha, "src").unwrap(),
        None,
        "a directory is not a file"
    );
    assert!(matches!(
        repo.read_file(&sha, "../etc/passwd"),
        Err(GitError::Invalid { .. })
    ));
    assert!(matches!(
        repo.read_file("--output=x", "README.md"),
        Err(GitError::Invalid { .. })
    ));
    assert_eq!(
        repo.list_paths(&sha).unwrap(),
        vec!["README.md", "src/lib.rs"]
    );
}

#[test]
fn changed_paths_between_commits() {
    let (_dir, repo, first) = seeded();
    let second = repo
        .create_commit(&request(
            "main",
            vec![
                CommitAction::update("README.md", "changed\n"),
                CommitAction::create(".gitlab-ci.yml", "job: {script: [true]}\n"),
                CommitAction::delete("src/lib.rs"),
            ],
        ))
        .unwrap();
    let mut changed = repo.changed_paths(&first, &second.id).unwrap();
    changed.sort();
    assert_eq!(changed, vec![".gitlab-ci.yml", "README.md", "src/lib.rs"]);
    let zero = "0".repeat(40);
    assert_eq!(
        repo.changed_paths(&zero, &second.id).unwrap(),
        vec![".gitlab-ci.yml", "README.md"]
    );
}

#[test]
fn refs_before_and_after_changes_peel_annotated_tags() {
    let (_dir, repo, sha) = seeded();
    let before = repo.refs().unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before["refs/heads/main"], sha);

    git(
        repo.path(),
        &["tag", "-a", "-m", "release", "v1.0", &sha],
        &[],
        None,
    );
    let next = repo
        .create_commit(&request("main", vec![CommitAction::create("new.txt", "x")]))
        .unwrap();
    repo.update_ref("refs/heads/feature", &sha, None).unwrap();
    repo.update_ref("refs/pipelines/7", &next.id, None).unwrap();

    let after = repo.refs().unwrap();
    assert_eq!(after["refs/heads/main"], next.id);
    assert_eq!(after["refs/heads/feature"], sha);
    assert_eq!(
        after["refs/tags/v1.0"], sha,
        "annotated tag is peeled to its commit"
    );
    assert!(
        !after.contains_key("refs/pipelines/7"),
        "only heads and tags"
    );
    let branches = repo.branches().unwrap();
    let names: Vec<_> = branches.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, vec!["feature", "main"]);
}

#[test]
fn update_ref_is_compare_and_set() {
    let (_dir, repo, first) = seeded();
    let second = repo
        .create_commit(&request("main", vec![CommitAction::create("b", "b")]))
        .unwrap()
        .id;
    // Keep-around ref that must not exist yet.
    let zero = "0".repeat(40);
    repo.update_ref("refs/pipelines/1", &first, Some(&zero))
        .unwrap();
    assert!(matches!(
        repo.update_ref("refs/pipelines/1", &second, Some(&zero)),
        Err(GitError::RefConflict { .. })
    ));
    // Wrong expected value: refused, ref unchanged.
    assert!(matches!(
        repo.update_ref("refs/pipelines/1", &second, Some(&second)),
        Err(GitError::RefConflict { .. })
    ));
    assert_eq!(
        repo.ref_sha("refs/pipelines/1").unwrap().as_deref(),
        Some(first.as_str())
    );
    repo.update_ref("refs/pipelines/1", &second, Some(&first))
        .unwrap();
    assert_eq!(
        repo.ref_sha("refs/pipelines/1").unwrap().as_deref(),
        Some(second.as_str())
    );

    assert!(matches!(
        repo.update_ref("refs/../x", &first, None),
        Err(GitError::Invalid { .. })
    ));
    assert!(matches!(
        repo.update_ref("-d", &first, None),
        Err(GitError::Invalid { .. })
    ));
    assert!(matches!(
        repo.update_ref("refs/x", "HEAD", None),
        Err(GitError::Invalid { .. })
    ));

    assert!(matches!(
        repo.delete_ref("refs/pipelines/1", Some(&first)),
        Err(GitError::RefConflict { .. })
    ));
    repo.delete_ref("refs/pipelines/1", Some(&second)).unwrap();
    assert_eq!(repo.ref_sha("refs/pipelines/1").unwrap(), None);
}
