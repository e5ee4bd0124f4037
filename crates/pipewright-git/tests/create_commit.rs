#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

mod common;

use common::{git, request, scratch, seeded};
use pipewright_git::{ActionKind, CommitAction, CommitError, CommitRequest, Repo};

fn err(repo: &Repo, req: &CommitRequest) -> String {
    let before = repo.refs().unwrap();
    let e = repo.create_commit(req).expect_err("should be refused");
    assert!(e.is_user_error(), "{e:?}");
    assert_eq!(
        repo.refs().unwrap(),
        before,
        "a refused commit changes no ref"
    );
    e.to_string()
}

#[test]
fn first_commit_creates_the_branch_with_the_request_fields() {
    let (_dir, repo) = scratch();
    let mut req = request(
        "main",
        vec![
            CommitAction::create("README.md", "hi\n"),
            CommitAction::create("dir/sub/file.bin", vec![0u8, 159, 146, 150]),
        ],
    );
    req.message = "Add files\n\nLonger body.".to_owned();
    let commit = repo.create_commit(&req).unwrap();
    assert_eq!(
        repo.resolve("main").unwrap().as_deref(),
        Some(commit.id.as_str())
    );
    assert!(!repo.is_empty().unwrap());
    assert_eq!(
        commit.message, "Add files\n\nLonger body.",
        "message is stored verbatim"
    );
    assert_eq!(commit.title, "Add files");
    assert_eq!(commit.author_name, "Ada Lovelace");
    assert_eq!(commit.committer_email, "ada@example.com");
    assert!(commit.parent_ids.is_empty());
    assert_eq!(commit.short_id, &commit.id[..8]);
    assert_eq!(commit.created_at, commit.committed_date);
    assert_eq!(
        repo.read_file("main", "dir/sub/file.bin").unwrap().unwrap(),
        vec![0u8, 159, 146, 150]
    );
    assert_eq!(
        repo.list_paths("main").unwrap(),
        vec!["README.md", "dir/sub/file.bin"]
    );
    // No stray index files are left next to the repository.
    let leftovers: Vec<_> = std::fs::read_dir(repo.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("pipewright-index")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn update_delete_move_and_chmod() {
    let (_dir, repo, first) = seeded();
    let commit = repo
        .create_commit(&request(
            "main",
            vec![
                CommitAction::update("README.md", "updated\n"),
                CommitAction::move_file("src/lib.rs", "src/main.rs", None),
                CommitAction::create("script.sh", "echo hi\n"),
                CommitAction::chmod("script.sh", true),
            ],
        ))
        .unwrap();
    assert_eq!(commit.parent_ids, vec![first.clone()]);
    assert_eq!(
        repo.read_file("main", "README.md").unwrap().unwrap(),
        b"updated\n"
    );
    assert_eq!(
        repo.read_file("main", "src/main.rs").unwrap().unwrap(),
        b"fn main() {}\n",
        "move keeps content"
    );
    assert_eq!(repo.read_file("main", "src/lib.rs").unwrap(), None);
    let modes: Vec<_> = repo
        .tree_entries("main")
        .unwrap()
        .into_iter()
        .map(|e| (e.path, e.mode))
        .collect();
    assert!(
        modes.contains(&("script.sh".to_owned(), "100755".to_owned())),
        "{modes:?}"
    );

    repo.create_commit(&request(
        "main",
        vec![
            CommitAction::move_file("src/main.rs", "main.rs", Some(b"new content".to_vec())),
            CommitAction::delete("README.md"),
            CommitAction::chmod("script.sh", false),
        ],
    ))
    .unwrap();
    assert_eq!(
        repo.list_paths("main").unwrap(),
        vec!["main.rs", "script.sh"]
    );
    assert_eq!(
        repo.read_file("main", "main.rs").unwrap().unwrap(),
        b"new content"
    );
    let entries = repo.tree_entries("main").unwrap();
    assert!(entries.iter().all(|e| e.mode == "100644"));

    // A directory can be replaced by a file in one commit.
    repo.create_commit(&request("main", vec![CommitAction::create("d/x", "x")]))
        .unwrap();
    repo.create_commit(&request(
        "main",
        vec![
            CommitAction::delete("d/x"),
            CommitAction::create("d", "now a file"),
        ],
    ))
    .unwrap();
    assert_eq!(repo.read_file("main", "d").unwrap().unwrap(), b"now a file");
}

#[test]
fn file_errors_use_gitlab_messages() {
    let (_dir, repo, _) = seeded();
    let one = |a: CommitAction| request("main", vec![a]);
    assert_eq!(
        err(&repo, &one(CommitAction::create("README.md", "x"))),
        "A file with this name already exists"
    );
    assert_eq!(
        err(&repo, &one(CommitAction::update("nope.txt", "x"))),
        "A file with this name doesn't exist"
    );
    assert_eq!(
        err(&repo, &one(CommitAction::delete("nope.txt"))),
        "A file with this name doesn't exist"
    );
    assert_eq!(
        err(&repo, &one(CommitAction::chmod("nope.txt", true))),
        "A file with this name doesn't exist"
    );
    assert_eq!(
        err(
            &repo,
            &one(CommitAction::move_file("nope.txt", "b.txt", None))
        ),
        "A file with this name doesn't exist"
    );
    assert_eq!(
        err(
            &repo,
            &one(CommitAction::move_file("README.md", "src/lib.rs", None))
        ),
        "A file with this name already exists"
    );
    assert_eq!(
        err(&repo, &one(CommitAction::create("src", "x"))),
        "A directory with this name already exists"
    );
    assert_eq!(
        err(&repo, &one(CommitAction::create("README.md/x", "x"))),
        "A file with this name already exists"
    );
    assert_eq!(
        err(&repo, &one(CommitAction::create("../x", "x"))),
        "Path cannot include directory traversal"
    );
    assert_eq!(
        err(&repo, &one(CommitAction::create("", "x"))),
        "You must provide a file path"
    );
    assert_eq!(
        err(&repo, &one(CommitAction::create(".git/config", "x"))),
        "invalid path: '.git/config'"
    );
    assert_eq!(
        err(&repo, &one(CommitAction::create("-rf", "x"))),
        "invalid path: '-rf'"
    );
    let mut no_previous = CommitAction::move_file("README.md", "b", None);
    no_previous.previous_path = None;
    assert_eq!(
        err(&repo, &one(no_previous)),
        "You must supply the original file path when moving file `b`."
    );
    // Actions apply in order: the second create sees the first.
    assert_eq!(
        err(
            &repo,
            &request(
                "main",
                vec![
                    CommitAction::create("a", "1"),
                    CommitAction::create("a", "2")
                ]
            )
        ),
        "A file with this name already exists"
    );
    assert_eq!(err(&repo, &request("main", vec![])), "actions is empty");
    assert_eq!(
        "frobnicate".parse::<ActionKind>().unwrap_err().to_string(),
        "Unknown action type `frobnicate`."
    );
    assert_eq!("move".parse::<ActionKind>().unwrap(), ActionKind::Move);
    let mut bad_author = request("main", vec![CommitAction::create("n", "x")]);
    bad_author.author_name = "Eve <evil>".to_owned();
    assert!(err(&repo, &bad_author).starts_with("Invalid author"));
}

#[test]
fn branch_rules_follow_gitlab() {
    let (_dir, repo, first) = seeded();
    let create = || vec![CommitAction::create("feature.txt", "f")];

    // A missing branch without start_branch, or a missing start_branch.
    assert_eq!(
        err(&repo, &request("feature", create())),
        "You can only create or edit files when you are on a branch"
    );
    let mut req = request("feature", create());
    req.start_branch = Some("nope".to_owned());
    assert_eq!(
        err(&repo, &req),
        "You can only create or edit files when you are on a branch"
    );

    // A new branch from start_branch.
    req.start_branch = Some("main".to_owned());
    let feature = repo.create_commit(&req).unwrap();
    assert_eq!(feature.parent_ids, vec![first.clone()]);
    assert_eq!(
        repo.resolve("main").unwrap().as_deref(),
        Some(first.as_str()),
        "start branch untouched"
    );

    // Again: the branch exists now.
    assert_eq!(
        err(&repo, &req),
        "A branch called 'feature' already exists. Switch to that branch in order to make changes"
    );
    // force=true resets it onto start_branch.
    req.force = true;
    req.actions = vec![CommitAction::create("forced.txt", "f")];
    let forced = repo.create_commit(&req).unwrap();
    assert_eq!(forced.parent_ids, vec![first.clone()]);
    assert_eq!(repo.read_file("feature", "feature.txt").unwrap(), None);

    // Invalid names.
    let mut bad = request("bad..name", create());
    bad.start_branch = Some("main".to_owned());
    assert_eq!(
        err(&repo, &bad),
        "Something went wrong when we tried to create 'bad..name' for you: Branch name is invalid"
    );

    // start_sha.
    let mut by_sha = request("from-sha", create());
    by_sha.start_sha = Some(first.clone());
    by_sha.start_branch = Some("main".to_owned());
    assert_eq!(
        err(&repo, &by_sha),
        "You can't pass both start_branch and start_sha"
    );
    by_sha.start_branch = None;
    by_sha.start_sha = Some(first[..7].to_owned());
    assert_eq!(
        err(&repo, &by_sha),
        format!("Invalid start_sha '{}'", &first[..7])
    );
    by_sha.start_sha = Some("1".repeat(40));
    assert_eq!(
        err(&repo, &by_sha),
        format!("Cannot find start_sha '{}'", "1".repeat(40))
    );
    by_sha.start_sha = Some(first.clone());
    let from_sha = repo.create_commit(&by_sha).unwrap();
    assert_eq!(from_sha.parent_ids, vec![first.clone()]);
    by_sha.branch = "main".to_owned();
    assert_eq!(
        err(&repo, &by_sha),
        "A branch called 'main' already exists. Switch to that branch in order to make changes"
    );
}

#[test]
fn empty_repository_takes_start_branch_as_a_no_op() {
    let (_dir, repo) = scratch();
    let mut req = request("develop", vec![CommitAction::create("a", "a")]);
    req.start_branch = Some("main".to_owned());
    let commit = repo.create_commit(&req).unwrap();
    assert!(commit.parent_ids.is_empty());
    assert!(repo.is_branch("develop").unwrap());
    assert!(!repo.is_branch("main").unwrap());

    let (_dir2, empty) = scratch();
    let update = request("main", vec![CommitAction::update("a", "a")]);
    assert_eq!(err(&empty, &update), "A file with this name doesn't exist");
}

#[test]
fn last_commit_id_guards_against_stale_edits() {
    let (_dir, repo, first) = seeded();
    let second = repo
        .create_commit(&request(
            "main",
            vec![CommitAction::update("README.md", "v2")],
        ))
        .unwrap();
    let mut stale = CommitAction::update("README.md", "v3");
    stale.last_commit_id = Some(first.clone());
    assert_eq!(
        err(&repo, &request("main", vec![stale.clone()])),
        "The file has changed since you started editing it: README.md"
    );
    stale.last_commit_id = Some(second.id.clone());
    repo.create_commit(&request("main", vec![stale])).unwrap();
    // Odd file names are names, not pathspec magic.
    let odd = ":(glob)*";
    let created = repo
        .create_commit(&request("main", vec![CommitAction::create(odd, "1")]))
        .unwrap();
    let mut guarded = CommitAction::update(odd, "2");
    guarded.last_commit_id = Some(second.id.clone());
    assert_eq!(
        err(&repo, &request("main", vec![guarded.clone()])),
        format!("The file has changed since you started editing it: {odd}")
    );
    // A later commit to another file must not count (as it would for a glob pathspec).
    repo.create_commit(&request("main", vec![CommitAction::create("other", "o")]))
        .unwrap();
    guarded.last_commit_id = Some(created.id);
    repo.create_commit(&request("main", vec![guarded])).unwrap();
    assert_eq!(repo.read_file("main", odd).unwrap().unwrap(), b"2");

    // src/lib.rs was last changed by the first commit: still fresh.
    let mut fresh = CommitAction::delete("src/lib.rs");
    fresh.last_commit_id = Some(first);
    repo.create_commit(&request("main", vec![fresh])).unwrap();
}

#[test]
fn a_concurrent_ref_change_fails_cleanly() {
    let (_dir, repo, _) = seeded();
    // Another writer moves main between our read and our update: the CAS must refuse.
    let other = git(
        repo.path(),
        &[
            "commit-tree",
            "-m",
            "concurrent",
            "main^{tree}",
            "-p",
            "main",
        ],
        &[],
        None,
    );
    let current = repo.resolve("main").unwrap().unwrap();
    repo.update_ref("refs/heads/main", &other, Some(&current))
        .unwrap();
    assert!(matches!(
        repo.update_ref("refs/heads/main", &current, Some(&current)),
        Err(pipewright_git::GitError::RefConflict { .. })
    ));

    // Many writers at once: every commit either lands or fails with the GitLab message;
    // none is lost and the history is linear.
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let repo = repo.clone();
            std::thread::spawn(move || {
                let mut landed = Vec::new();
                for i in 0..5 {
                    let req = request(
                        "main",
                        vec![CommitAction::create(&format!("t{t}-{i}"), "x")],
                    );
                    match repo.create_commit(&req) {
                        Ok(c) => landed.push(c.id),
                        Err(CommitError::Conflict(branch)) => assert_eq!(branch, "main"),
                        Err(e) => panic!("unexpected {e:?}: {e}"),
                    }
                }
                landed
            })
        })
        .collect();
    let landed: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(!landed.is_empty());
    let history = git(repo.path(), &["rev-list", "main"], &[], None);
    for id in &landed {
        assert!(history.contains(id.as_str()), "commit {id} was lost");
    }
    // seed + concurrent + landed commits, nothing else.
    assert_eq!(history.lines().count(), 2 + landed.len());
    assert_eq!(
        CommitError::Conflict("main".into()).to_string(),
        "Could not update branch main. Please refresh and try again."
    );
}
