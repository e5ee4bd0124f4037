//! Token lookups are cached in memory, and a write that changes the answer is seen by the
//! next lookup after it returns: a revoked token, a paused runner, a finished job.

#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

use pipewright_store::{NewRunner, NewUser, Store};

async fn store(dir: &tempfile::TempDir) -> Store {
    Store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_revoke_is_seen_by_the_next_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let user = store
        .create_user(&NewUser {
            username: "alice".into(),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            password_hash: None,
            is_admin: false,
        })
        .await
        .unwrap();
    let token = store
        .create_personal_access_token(user.id, "t", "hash", &["api".to_owned()], None)
        .await
        .unwrap();
    for _ in 0..3 {
        let found = store.personal_access_token_by_hash("hash").await.unwrap();
        assert!(!found.unwrap().revoked);
    }
    assert!(store.revoke_personal_access_token(token.id).await.unwrap());
    let found = store.personal_access_token_by_hash("hash").await.unwrap();
    assert!(found.unwrap().revoked);
    assert_eq!(
        store
            .personal_access_token_by_hash("unknown")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_runner_change_is_seen_by_the_next_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let runner = store
        .create_runner(&NewRunner {
            token_hash: "runner-hash".into(),
            description: "r".into(),
            runner_type: "instance_type".into(),
            tag_list: Vec::new(),
            run_untagged: true,
            locked: false,
            access_level: "not_protected".into(),
            maximum_timeout: None,
            paused: false,
            project_id: None,
            group_id: None,
            creator_id: None,
        })
        .await
        .unwrap();
    let before = store.runner_by_token_hash("runner-hash").await.unwrap();
    assert_eq!(before.unwrap().contacted_at, None);
    store
        .touch_runner(runner.id, &Default::default())
        .await
        .unwrap();
    let after = store.runner_by_token_hash("runner-hash").await.unwrap();
    assert!(after.unwrap().contacted_at.is_some());
}
