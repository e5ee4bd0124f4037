#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

mod common;

use common::{git, request, seeded};
use pipewright_git::CommitAction;

const MESSAGE: &str = "Fix the frobnicator\n\nIt was broken.\n\nSigned-off-by: Ada <ada@example.com>\nCo-authored-by: Grace\n  Hopper <grace@example.com>\nSigned-off-by: Bob <bob@example.com>\n";

#[test]
fn commit_entity_fields_with_offsets_and_trailers() {
    let (_dir, repo, parent) = seeded();
    let env = [
        ("GIT_AUTHOR_NAME", "Ada Lovelace"),
        ("GIT_AUTHOR_EMAIL", "ada@example.com"),
        ("GIT_AUTHOR_DATE", "1450972274 +0100"),
        ("GIT_COMMITTER_NAME", "Grace Hopper"),
        ("GIT_COMMITTER_EMAIL", "grace@example.com"),
        ("GIT_COMMITTER_DATE", "1450975874 -0500"),
    ];
    let sha = git(
        repo.path(),
        &["commit-tree", "main^{tree}", "-p", "main"],
        &env,
        Some(MESSAGE.as_bytes()),
    );
    let c = repo.commit(&sha).unwrap().unwrap();
    assert_eq!(c.id, sha);
    assert_eq!(c.short_id, &sha[..8]);
    assert_eq!(c.parent_ids, vec![parent]);
    assert_eq!(c.title, "Fix the frobnicator");
    assert_eq!(c.message, MESSAGE);
    assert_eq!(c.author_name, "Ada Lovelace");
    assert_eq!(c.author_email, "ada@example.com");
    assert_eq!(c.authored_date, "2015-12-24T16:51:14.000+01:00");
    assert_eq!(c.committer_name, "Grace Hopper");
    assert_eq!(c.committer_email, "grace@example.com");
    assert_eq!(c.committed_date, "2015-12-24T11:51:14.000-05:00");
    assert_eq!(c.created_at, c.committed_date);
    assert_eq!(c.trailers.len(), 2);
    assert_eq!(c.trailers["Signed-off-by"], "Bob <bob@example.com>");
    assert_eq!(
        c.trailers["Co-authored-by"],
        "Grace Hopper <grace@example.com>"
    );
    assert_eq!(
        c.extended_trailers["Signed-off-by"],
        vec!["Ada <ada@example.com>", "Bob <bob@example.com>"]
    );
    assert_eq!(
        c.extended_trailers["Co-authored-by"],
        vec!["Grace Hopper <grace@example.com>"]
    );

    // By ref name too; unknown revisions are None.
    assert_eq!(repo.commit("main").unwrap().unwrap().parent_ids.len(), 0);
    assert_eq!(repo.commit("nope").unwrap(), None);
    assert_eq!(repo.commit(&"f".repeat(40)).unwrap(), None);
}

#[test]
fn a_message_without_trailers_has_empty_maps() {
    let (_dir, repo, sha) = seeded();
    let c = repo.commit(&sha).unwrap().unwrap();
    assert!(c.trailers.is_empty());
    assert!(c.extended_trailers.is_empty());
    // Only one paragraph: "Key: value" in the title is not a trailer.
    let c = repo
        .create_commit(&pipewright_git::CommitRequest {
            message: "Fixes: not a trailer".to_owned(),
            ..request("main", vec![CommitAction::create("x", "x")])
        })
        .unwrap();
    assert!(c.trailers.is_empty());
    assert_eq!(
        c.authored_date.len(),
        "2015-12-24T16:51:14.000+01:00".len(),
        "{}",
        c.authored_date
    );
}

#[test]
fn batch_commits_in_one_call() {
    let (_dir, repo, first) = seeded();
    let mut shas = vec![first];
    for i in 0..20 {
        let c = repo
            .create_commit(&request(
                "main",
                vec![CommitAction::create(&format!("f{i}"), "x")],
            ))
            .unwrap();
        shas.push(c.id);
    }
    let blob = git(repo.path(), &["rev-parse", "main:f0"], &[], None);
    let mut asked = shas.clone();
    asked.push("1".repeat(40)); // missing
    asked.push(blob); // not a commit
    asked.push(shas[3].clone()); // duplicate
    let found = repo.commits(&asked).unwrap();
    assert_eq!(found.len(), shas.len());
    for (i, sha) in shas.iter().enumerate() {
        let c = &found[sha];
        assert_eq!(&c.id, sha);
        if i > 0 {
            assert_eq!(c.parent_ids, vec![shas[i - 1].clone()]);
        }
    }
    assert!(repo.commits(&[]).unwrap().is_empty());
    assert!(repo.commits(&["--all".to_owned()]).is_err());
}
