//! Fixtures shared by the store's integration tests: a temp-dir database and small builders
//! with sensible defaults, so each test spells out only what it checks.

use std::path::PathBuf;

use pipewright_domain::{Status, When};
use pipewright_store::model::{Job, Pipeline, Project, User};
use pipewright_store::{NewJob, NewPipeline, NewProject, NewRunner, NewUser, Store};
use tempfile::TempDir;

/// A migrated SQLite database in its own temp dir, removed on drop.
pub struct TestDb {
    pub store: Store,
    pub path: PathBuf,
    _dir: TempDir,
}

impl TestDb {
    pub async fn open() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pipewright.db");
        let store = Store::open_sqlite(&path).await.expect("open store");
        TestDb {
            store,
            path,
            _dir: dir,
        }
    }

    /// A user `name` (email `name@example.com`), with its personal namespace.
    pub async fn user(&self, name: &str) -> User {
        self.store
            .create_user(&new_user(name))
            .await
            .expect("create user")
    }

    /// A private project `path` in `owner`'s personal namespace.
    pub async fn project(&self, owner: &User, path: &str) -> Project {
        let namespace = self
            .store
            .user_namespace(owner.id)
            .await
            .expect("user namespace")
            .expect("every user has a namespace");
        self.store
            .create_project(&new_project(
                namespace.id,
                &format!("{}/{path}", namespace.full_path),
                owner.id,
            ))
            .await
            .expect("create project")
    }

    /// A `running` pipeline on `ref_name` with the given jobs.
    pub async fn pipeline(
        &self,
        project: &Project,
        ref_name: &str,
        jobs: &[NewJob],
    ) -> (Pipeline, Vec<Job>) {
        self.store
            .create_pipeline(&new_pipeline(project.id, ref_name), jobs)
            .await
            .expect("create pipeline")
    }
}

pub fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        name: format!("{name} (test)"),
        email: format!("{name}@example.com"),
        password_hash: None,
        is_admin: false,
    }
}

pub fn new_project(namespace_id: i64, full_path: &str, creator_id: i64) -> NewProject {
    let path = full_path.rsplit('/').next().unwrap_or(full_path);
    NewProject {
        namespace_id,
        name: path.to_owned(),
        path: path.to_owned(),
        full_path: full_path.to_owned(),
        description: None,
        visibility: "private".into(),
        default_branch: "main".into(),
        public_jobs: true,
        ci_pipeline_variables_minimum_override_role: "developer".into(),
        creator_id,
    }
}

pub fn new_pipeline(project_id: i64, ref_name: &str) -> NewPipeline {
    NewPipeline {
        project_id,
        ref_name: ref_name.to_owned(),
        tag: false,
        sha: "a".repeat(40),
        before_sha: "0".repeat(40),
        source: "push".into(),
        status: Status::Running,
        user_id: None,
        yaml_errors: None,
        variables: Vec::new(),
    }
}

/// A build job in stage `stage` (index `stage_idx`), with an empty script.
pub fn build_job(name: &str, stage: &str, stage_idx: i32, status: Status) -> NewJob {
    NewJob {
        kind: "build".into(),
        name: name.to_owned(),
        stage: stage.to_owned(),
        stage_idx,
        status,
        when: When::OnSuccess,
        allow_failure: false,
        needs: None,
        options: "{}".into(),
        tag_list: Vec::new(),
        user_id: None,
        timeout: None,
    }
}

/// An instance runner authenticated by `token_hash`.
pub fn new_runner(token_hash: &str) -> NewRunner {
    NewRunner {
        token_hash: token_hash.to_owned(),
        description: format!("runner {token_hash}"),
        runner_type: "instance_type".into(),
        tag_list: vec!["linux".into()],
        run_untagged: true,
        locked: false,
        access_level: "not_protected".into(),
        maximum_timeout: None,
        paused: false,
        project_id: None,
        group_id: None,
        creator_id: None,
    }
}
