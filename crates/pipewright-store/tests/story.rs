//! The store's story on a real SQLite file: people and tokens, a project and its members, a
//! pipeline whose jobs are claimed, finished and listed — then the edges of each step (races,
//! stale compare-and-sets, pagination, batch loads, duplicates) in focused tests.

#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

#[allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]
mod common;

use common::{TestDb, build_job, new_pipeline, new_project, new_runner, new_user};
use pipewright_domain::Status;
use pipewright_store::model::{Job, Pipeline};
use pipewright_store::{
    JobClaim, JobFilter, JobStateUpdate, NewJob, RunnerContact, StoreError, now_ms,
};

fn ids(jobs: &[Job]) -> Vec<i64> {
    jobs.iter().map(|job| job.id).collect()
}

fn claim(runner_id: i64, token_hash: &str) -> JobClaim<'_> {
    JobClaim {
        runner_id,
        token_hash,
        cancel_gracefully: true,
        timeout: 3600,
        started_at: now_ms(),
    }
}

fn three_stages() -> Vec<NewJob> {
    vec![
        build_job("compile", "build", 0, Status::Created),
        build_job("unit", "test", 1, Status::Created),
        build_job("ship", "deploy", 2, Status::Created),
    ]
}

/// The job's state with `status` swapped in: the update a transition writes.
fn with_status(job: &Job, status: Status) -> JobStateUpdate {
    JobStateUpdate {
        status,
        ..JobStateUpdate::of(job)
    }
}

#[tokio::test]
async fn a_project_from_its_owner_to_a_finished_listed_job() {
    let db = TestDb::open().await;
    let store = &db.store;

    // People, each with a personal namespace named after them.
    let alice = db.user("Alice").await;
    let bob = db.user("bob").await;
    assert_eq!(store.count_users().await.unwrap(), 2);
    let found = store.user_by_username("ALICE").await.unwrap();
    assert_eq!(found.as_ref().map(|user| user.id), Some(alice.id));
    let namespace = store.user_namespace(alice.id).await.unwrap().unwrap();
    assert_eq!(
        (namespace.kind.as_str(), namespace.path.as_str()),
        ("user", "Alice")
    );
    assert_eq!(namespace.owner_id, Some(alice.id));

    // A personal access token is found by its hash until revoked (then it is kept, flagged).
    let scopes = vec!["api".to_owned(), "read_api".to_owned()];
    let token = store
        .create_personal_access_token(alice.id, "ci", "hash-1", &scopes, Some("2030-01-01"))
        .await
        .unwrap();
    let by_hash = store.personal_access_token_by_hash("hash-1").await.unwrap();
    assert_eq!(by_hash.as_ref(), Some(&token));
    assert_eq!(token.scope_list(), scopes);
    assert!(!token.revoked);
    assert_eq!(
        store.personal_access_token_by_hash("hash-2").await.unwrap(),
        None
    );
    assert!(store.revoke_personal_access_token(token.id).await.unwrap());
    assert!(!store.revoke_personal_access_token(token.id).await.unwrap());
    let revoked = store
        .personal_access_token_by_hash("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert!(revoked.revoked);
    let by_id = store.personal_access_token_by_id(token.id).await.unwrap();
    assert_eq!(by_id, Some(revoked));

    // A project in Alice's namespace, found by id and by any casing of its path.
    let project = db.project(&alice, "Widgets").await;
    assert_eq!(project.full_path, "Alice/Widgets");
    assert_eq!(
        store.project_by_id(project.id).await.unwrap().as_ref(),
        Some(&project)
    );
    let by_path = store.project_by_full_path("alice/WIDGETS").await.unwrap();
    assert_eq!(by_path.as_ref(), Some(&project));

    // Members: an upsert replaces the level; namespace access counts ownership and membership.
    assert_eq!(
        store
            .member_access_level("project", project.id, bob.id)
            .await
            .unwrap(),
        None
    );
    store
        .upsert_member("project", project.id, bob.id, 30)
        .await
        .unwrap();
    store
        .upsert_member("project", project.id, bob.id, 40)
        .await
        .unwrap();
    assert_eq!(
        store
            .member_access_level("project", project.id, bob.id)
            .await
            .unwrap(),
        Some(40)
    );
    assert_eq!(
        store
            .member_access_level("namespace", project.id, bob.id)
            .await
            .unwrap(),
        None,
        "a project membership is not a namespace membership"
    );
    assert_eq!(
        store
            .namespace_access_level(alice.id, namespace.id)
            .await
            .unwrap(),
        Some(50)
    );
    assert_eq!(
        store
            .namespace_access_level(bob.id, namespace.id)
            .await
            .unwrap(),
        None
    );
    store
        .upsert_member("namespace", namespace.id, bob.id, 20)
        .await
        .unwrap();
    assert_eq!(
        store
            .namespace_access_level(bob.id, namespace.id)
            .await
            .unwrap(),
        Some(20)
    );

    // A pipeline and its jobs land together; the jobs copy the pipeline's ref.
    let (pipeline, jobs) = db.pipeline(&project, "main", &three_stages()).await;
    assert_eq!((pipeline.iid, pipeline.status), (1, Status::Running));
    assert_eq!(
        store.pipeline_by_id(pipeline.id).await.unwrap().as_ref(),
        Some(&pipeline)
    );
    assert_eq!(jobs.len(), 3);
    assert!(jobs.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert!(jobs.iter().all(|job| {
        job.pipeline_id == pipeline.id
            && job.project_id == project.id
            && job.ref_name == "main"
            && job.status == Status::Created
    }));
    let compile = jobs[0].clone();

    // `process_pipeline` enqueues the first stage; runners see it in the pending scan.
    assert!(
        store
            .update_job_state(
                compile.id,
                Status::Created,
                &with_status(&compile, Status::Pending)
            )
            .await
            .unwrap()
    );
    let pending = store.pending_jobs(0, 10).await.unwrap();
    assert_eq!(ids(&pending), vec![compile.id]);
    assert!(store.pending_jobs(compile.id, 10).await.unwrap().is_empty());

    // A runner claims it: running, owned by the runner, reachable by its job token.
    let runner = store
        .create_runner(&new_runner("runner-hash"))
        .await
        .unwrap();
    let found = store.runner_by_token_hash("runner-hash").await.unwrap();
    assert_eq!(found.as_ref(), Some(&runner));
    assert!(
        store
            .claim_job(compile.id, &claim(runner.id, "job-hash"))
            .await
            .unwrap()
    );
    let running = store.job_by_token_hash("job-hash").await.unwrap().unwrap();
    assert_eq!(running.id, compile.id);
    assert_eq!(running.status, Status::Running);
    assert_eq!(running.runner_id, Some(runner.id));
    assert!(running.cancel_gracefully);
    assert_eq!(running.timeout, Some(3600));
    assert!(running.started_at.is_some());
    assert!(store.pending_jobs(0, 10).await.unwrap().is_empty());

    // The runner reports success; the pipeline's status follows by compare-and-set.
    let finished = JobStateUpdate {
        finished_at: Some(now_ms()),
        exit_code: Some(0),
        ..with_status(&running, Status::Success)
    };
    assert!(
        store
            .update_job_state(compile.id, Status::Running, &finished)
            .await
            .unwrap()
    );
    let done = store.job_by_id(compile.id).await.unwrap().unwrap();
    assert_eq!(JobStateUpdate::of(&done), finished);
    assert!(
        store
            .update_pipeline_status(
                pipeline.id,
                Status::Running,
                Status::Success,
                Some(1),
                Some(2),
                Some(1)
            )
            .await
            .unwrap()
    );
    let pipeline = store.pipeline_by_id(pipeline.id).await.unwrap().unwrap();
    assert_eq!(
        (
            pipeline.status,
            pipeline.started_at,
            pipeline.finished_at,
            pipeline.duration
        ),
        (Status::Success, Some(1), Some(2), Some(1))
    );

    // Listed newest first, with the finished job as the runner left it.
    let listed = store
        .list_project_jobs(project.id, &JobFilter::default(), 20, 0)
        .await
        .unwrap();
    assert_eq!(ids(&listed), vec![jobs[2].id, jobs[1].id, compile.id]);
    assert_eq!(listed[2], done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_claims_of_one_job_exactly_one_wins() {
    let db = TestDb::open().await;
    let owner = db.user("owner").await;
    let project = db.project(&owner, "race").await;
    let first = db.store.create_runner(&new_runner("first")).await.unwrap();
    let second = db.store.create_runner(&new_runner("second")).await.unwrap();
    let jobs: Vec<NewJob> = (0..20)
        .map(|n| build_job(&format!("job {n}"), "test", 0, Status::Pending))
        .collect();
    let (_, jobs) = db.pipeline(&project, "main", &jobs).await;

    for job in &jobs {
        let first_token = format!("first-{}", job.id);
        let second_token = format!("second-{}", job.id);
        let (first_claim, second_claim) = (
            claim(first.id, &first_token),
            claim(second.id, &second_token),
        );
        let (a, b) = tokio::join!(
            db.store.claim_job(job.id, &first_claim),
            db.store.claim_job(job.id, &second_claim),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a ^ b, "job {}: first won {a}, second won {b}", job.id);
        let winner = if a {
            (first.id, first_token)
        } else {
            (second.id, second_token)
        };
        let claimed = db.store.job_by_id(job.id).await.unwrap().unwrap();
        assert_eq!(claimed.runner_id, Some(winner.0));
        let by_token = db.store.job_by_token_hash(&winner.1).await.unwrap();
        assert_eq!(by_token.map(|job| job.id), Some(job.id));
    }
    assert!(db.store.pending_jobs(0, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_stale_compare_and_set_changes_nothing() {
    let db = TestDb::open().await;
    let owner = db.user("owner").await;
    let project = db.project(&owner, "cas").await;
    let (pipeline, jobs) = db.pipeline(&project, "main", &three_stages()).await;
    let job = &jobs[0];

    // Someone else already moved the job on: an update expecting `pending` must not apply.
    let canceled = JobStateUpdate {
        finished_at: Some(42),
        failure_reason: Some("late".into()),
        ..with_status(job, Status::Canceled)
    };
    assert!(
        !db.store
            .update_job_state(job.id, Status::Pending, &canceled)
            .await
            .unwrap()
    );
    assert_eq!(
        db.store.job_by_id(job.id).await.unwrap().as_ref(),
        Some(job)
    );
    // Nor can a job that is not pending be claimed.
    let runner = db.store.create_runner(&new_runner("r")).await.unwrap();
    assert!(
        !db.store
            .claim_job(job.id, &claim(runner.id, "t"))
            .await
            .unwrap()
    );
    assert_eq!(
        db.store.job_by_id(job.id).await.unwrap().as_ref(),
        Some(job)
    );
    // A job that does not exist is a lost race too, not an error.
    assert!(
        !db.store
            .update_job_state(i64::MAX, Status::Created, &canceled)
            .await
            .unwrap()
    );

    let before = db.store.pipeline_by_id(pipeline.id).await.unwrap();
    assert!(
        !db.store
            .update_pipeline_status(
                pipeline.id,
                Status::Pending,
                Status::Failed,
                None,
                Some(9),
                Some(9)
            )
            .await
            .unwrap()
    );
    assert_eq!(db.store.pipeline_by_id(pipeline.id).await.unwrap(), before);
}

#[tokio::test]
async fn pipeline_iids_count_per_project_from_one() {
    let db = TestDb::open().await;
    let owner = db.user("owner").await;
    let first = db.project(&owner, "first").await;
    let second = db.project(&owner, "second").await;

    let (a1, _) = db.pipeline(&first, "main", &[]).await;
    let (b1, _) = db.pipeline(&second, "main", &[]).await;
    let (a2, _) = db.pipeline(&first, "main", &[]).await;
    let (b2, _) = db.pipeline(&second, "main", &[]).await;
    assert_eq!((a1.iid, a2.iid, b1.iid, b2.iid), (1, 2, 1, 2));

    // A creation rejected midway (two variables with one key) leaves no pipeline, no jobs and
    // no gap in the iids.
    let mut bad_pipeline = new_pipeline(first.id, "main");
    bad_pipeline.variables = vec![
        pipewright_store::model::PipelineVariable {
            key: "A".into(),
            value: "1".into(),
            variable_type: "env_var".into(),
        };
        2
    ];
    let err = db
        .store
        .create_pipeline(&bad_pipeline, &three_stages())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");
    let (a3, _) = db.pipeline(&first, "main", &[]).await;
    assert_eq!(a3.iid, 3);
    let (listed, total) = db
        .store
        .list_pipelines(first.id, None, None, 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 3);
    let iids: Vec<i64> = listed.iter().map(|pipeline| pipeline.iid).collect();
    assert_eq!(iids, vec![3, 2, 1]);
}

/// Two refs, every status, a bridge and a neighbour project's jobs that must never show.
struct JobListFixture {
    db: TestDb,
    project_id: i64,
    /// The project's builds, newest first.
    builds: Vec<Job>,
}

async fn job_list_fixture() -> JobListFixture {
    let db = TestDb::open().await;
    let owner = db.user("owner").await;
    let project = db.project(&owner, "listed").await;
    let neighbour = db.project(&owner, "neighbour").await;
    let mut builds = Vec::new();
    for (n, ref_name) in ["main", "feature", "main", "main", "feature"]
        .iter()
        .enumerate()
    {
        let mut jobs: Vec<NewJob> = Status::ALL
            .iter()
            .map(|status| build_job(&format!("{status:?} {n}"), "test", 0, *status))
            .collect();
        let mut bridge = build_job("downstream", "deploy", 1, Status::Success);
        bridge.kind = "bridge".into();
        jobs.push(bridge);
        let (_, created) = db.pipeline(&project, ref_name, &jobs).await;
        builds.extend(created.into_iter().filter(Job::is_build));
        db.pipeline(&neighbour, ref_name, &jobs).await;
    }
    builds.reverse();
    JobListFixture {
        db,
        project_id: project.id,
        builds,
    }
}

impl JobListFixture {
    async fn list(&self, filter: &JobFilter, limit: i64, offset: i64) -> Vec<Job> {
        self.db
            .store
            .list_project_jobs(self.project_id, filter, limit, offset)
            .await
            .unwrap()
    }

    fn expected(&self, keep: impl Fn(&Job) -> bool) -> Vec<i64> {
        self.builds
            .iter()
            .filter(|job| keep(job))
            .map(|job| job.id)
            .collect()
    }
}

#[tokio::test]
async fn the_job_list_filters_by_status_and_ref_and_skips_bridges() {
    let fixture = job_list_fixture().await;
    let all = fixture.list(&JobFilter::default(), 1000, 0).await;
    assert_eq!(ids(&all), fixture.expected(|_| true));
    assert_eq!(all.len(), 5 * Status::ALL.len());

    let failed = JobFilter {
        statuses: vec![Status::Failed],
        ..JobFilter::default()
    };
    assert_eq!(
        ids(&fixture.list(&failed, 1000, 0).await),
        fixture.expected(|job| job.status == Status::Failed)
    );

    let active = JobFilter {
        statuses: vec![Status::Pending, Status::Running, Status::Canceling],
        ..JobFilter::default()
    };
    let listed = fixture.list(&active, 1000, 0).await;
    assert_eq!(
        ids(&listed),
        fixture.expected(|job| matches!(
            job.status,
            Status::Pending | Status::Running | Status::Canceling
        ))
    );
    assert_eq!(listed.len(), 15);

    let feature = JobFilter {
        ref_name: Some("feature".into()),
        ..JobFilter::default()
    };
    assert_eq!(
        ids(&fixture.list(&feature, 1000, 0).await),
        fixture.expected(|job| job.ref_name == "feature")
    );

    let both = JobFilter {
        statuses: vec![Status::Success, Status::Skipped],
        ref_name: Some("main".into()),
        before_id: None,
        after_id: None,
    };
    let listed = fixture.list(&both, 1000, 0).await;
    assert_eq!(listed.len(), 6);
    assert_eq!(
        ids(&listed),
        fixture
            .expected(|job| job.ref_name == "main"
                && matches!(job.status, Status::Success | Status::Skipped))
    );

    let nothing = JobFilter {
        ref_name: Some("nope".into()),
        ..JobFilter::default()
    };
    assert!(fixture.list(&nothing, 1000, 0).await.is_empty());
}

#[tokio::test]
async fn offset_and_keyset_pages_cover_the_list_once() {
    let fixture = job_list_fixture().await;
    for filter in [
        JobFilter::default(),
        JobFilter {
            statuses: vec![Status::Success, Status::Failed],
            ..JobFilter::default()
        },
        JobFilter {
            ref_name: Some("main".into()),
            ..JobFilter::default()
        },
    ] {
        let expected = ids(&fixture.list(&filter, 1000, 0).await);
        assert!(!expected.is_empty());

        let mut by_offset = Vec::new();
        for page in 0.. {
            let rows = fixture.list(&filter, 7, page * 7).await;
            assert!(rows.len() <= 7);
            if rows.is_empty() {
                break;
            }
            by_offset.extend(ids(&rows));
        }
        assert_eq!(by_offset, expected, "offset pages of {filter:?}");

        let mut by_keyset = Vec::new();
        let mut cursor = JobFilter { ..filter.clone() };
        loop {
            let rows = fixture.list(&cursor, 7, 0).await;
            let Some(last) = rows.last() else { break };
            cursor.before_id = Some(last.id);
            by_keyset.extend(ids(&rows));
        }
        assert_eq!(by_keyset, expected, "keyset pages of {filter:?}");
    }
}

#[tokio::test]
async fn pipeline_jobs_hide_retried_jobs_unless_asked() {
    let db = TestDb::open().await;
    let owner = db.user("owner").await;
    let project = db.project(&owner, "retry").await;
    let (pipeline, jobs) = db.pipeline(&project, "main", &three_stages()).await;
    let (_, other) = db.pipeline(&project, "main", &three_stages()).await;

    let old = &jobs[1];
    let retry = db
        .store
        .retry_job(old, &NewJob::retry_of(old, owner.id))
        .await
        .unwrap();
    assert_eq!(
        (retry.name.as_str(), retry.status),
        ("unit", Status::Created)
    );
    assert_eq!(retry.user_id, Some(owner.id));

    let current = db.store.pipeline_jobs(pipeline.id, false).await.unwrap();
    assert_eq!(ids(&current), vec![jobs[0].id, jobs[2].id, retry.id]);
    let everything = db.store.pipeline_jobs(pipeline.id, true).await.unwrap();
    assert_eq!(
        ids(&everything),
        vec![jobs[0].id, jobs[1].id, jobs[2].id, retry.id]
    );
    assert!(everything[1].retried);
    assert!(!everything[3].retried);
    // The same job name in another pipeline is untouched.
    assert_eq!(
        db.store
            .pipeline_jobs(other[0].pipeline_id, false)
            .await
            .unwrap(),
        other
    );
    assert!(
        db.store
            .pipeline_jobs(i64::MAX, true)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn batch_loaders_return_the_rows_that_exist() {
    let db = TestDb::open().await;
    let alice = db.user("alice").await;
    let bob = db.user("bob").await;
    let project = db.project(&alice, "batch").await;
    let (p1, _) = db.pipeline(&project, "main", &[]).await;
    let (p2, _) = db.pipeline(&project, "main", &[]).await;
    let r1 = db.store.create_runner(&new_runner("r1")).await.unwrap();
    let r2 = db.store.create_runner(&new_runner("r2")).await.unwrap();

    assert!(db.store.users_by_ids(&[]).await.unwrap().is_empty());
    assert!(db.store.pipelines_by_ids(&[]).await.unwrap().is_empty());
    assert!(db.store.runners_by_ids(&[]).await.unwrap().is_empty());
    assert!(db.store.namespaces_by_ids(&[]).await.unwrap().is_empty());

    // Unknown ids are skipped and repeated ids load once; callers index the rows by id.
    let mut users = db
        .store
        .users_by_ids(&[bob.id, 999, alice.id, bob.id])
        .await
        .unwrap();
    users.sort_by_key(|user| user.id);
    assert_eq!(users, vec![alice.clone(), bob.clone()]);
    let mut pipelines: Vec<Pipeline> = db
        .store
        .pipelines_by_ids(&[p2.id, p1.id, p2.id, -1])
        .await
        .unwrap();
    pipelines.sort_by_key(|pipeline| pipeline.id);
    assert_eq!(pipelines, vec![p1, p2]);
    let mut runners = db
        .store
        .runners_by_ids(&[r2.id, r1.id, 12345])
        .await
        .unwrap();
    runners.sort_by_key(|runner| runner.id);
    assert_eq!(runners, vec![r1, r2]);

    let namespace = db.store.user_namespace(bob.id).await.unwrap().unwrap();
    let namespaces = db.store.namespaces_by_ids(&[namespace.id]).await.unwrap();
    assert_eq!(namespaces, vec![namespace]);

    // A page of 100 distinct ids is one statement well under SQLite's variable limit.
    let many: Vec<i64> = (1..=100).collect();
    assert_eq!(db.store.users_by_ids(&many).await.unwrap().len(), 2);
}

/// The column a write was rejected on as a duplicate.
fn duplicate<T>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Duplicate(column)) => column,
        other => panic!("expected a duplicate, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn unique_violations_surface_as_duplicate_naming_the_column() {
    let db = TestDb::open().await;
    let alice = db.user("alice").await;

    let mut same_name = new_user("ALICE");
    same_name.email = "someone-else@example.com".into();
    assert_eq!(
        duplicate(db.store.create_user(&same_name).await),
        "users.username_lower"
    );
    let mut same_email = new_user("alice2");
    same_email.email = "Alice@Example.com".into();
    assert_eq!(
        duplicate(db.store.create_user(&same_email).await),
        "users.email_lower"
    );

    let scopes = ["api".to_owned()];
    db.store
        .create_personal_access_token(alice.id, "a", "same", &scopes, None)
        .await
        .unwrap();
    assert_eq!(
        duplicate(
            db.store
                .create_personal_access_token(alice.id, "b", "same", &scopes, None)
                .await
        ),
        "personal_access_tokens.token_hash"
    );

    db.store.create_runner(&new_runner("same")).await.unwrap();
    assert_eq!(
        duplicate(db.store.create_runner(&new_runner("same")).await),
        "runners.token_hash"
    );

    let project = db.project(&alice, "Repo").await;
    let namespace_id = project.namespace_id;
    assert_eq!(
        duplicate(
            db.store
                .create_project(&new_project(namespace_id, "alice/REPO", alice.id))
                .await
        ),
        "projects.full_path_lower"
    );

    // Job tokens are unique too: a claim reusing a live token fails instead of sharing it.
    let jobs = [
        build_job("a", "test", 0, Status::Pending),
        build_job("b", "test", 0, Status::Pending),
    ];
    let (_, jobs) = db.pipeline(&project, "main", &jobs).await;
    let runner = db.store.create_runner(&new_runner("r")).await.unwrap();
    assert!(
        db.store
            .claim_job(jobs[0].id, &claim(runner.id, "tok"))
            .await
            .unwrap()
    );
    assert_eq!(
        duplicate(
            db.store
                .claim_job(jobs[1].id, &claim(runner.id, "tok"))
                .await
        ),
        "jobs.token_hash"
    );
    assert_eq!(
        db.store
            .job_by_id(jobs[1].id)
            .await
            .unwrap()
            .map(|job| job.status),
        Some(Status::Pending)
    );

    // Failed writes leave nothing behind and the single writer usable.
    assert_eq!(db.store.count_users().await.unwrap(), 1);
    db.user("carol").await;
    assert_eq!(db.store.count_users().await.unwrap(), 2);
}

#[tokio::test]
async fn runners_are_created_and_remember_their_last_contact() {
    let db = TestDb::open().await;
    let mut new = new_runner("runner-token");
    new.tag_list = vec!["docker".into(), "linux".into()];
    new.maximum_timeout = Some(600);
    let runner = db.store.create_runner(&new).await.unwrap();
    assert_eq!(runner.tag_list, vec!["docker", "linux"]);
    assert_eq!(runner.maximum_timeout, Some(600));
    assert_eq!(runner.contacted_at, None);
    assert_eq!(runner.version, None);

    let before = now_ms();
    let contact = RunnerContact {
        name: Some("gitlab-runner".into()),
        version: Some("17.0.0".into()),
        revision: Some("abc".into()),
        platform: Some("linux".into()),
        architecture: Some("amd64".into()),
        executor: Some("shell".into()),
    };
    db.store.touch_runner(runner.id, &contact).await.unwrap();
    let touched = db
        .store
        .runner_by_token_hash("runner-token")
        .await
        .unwrap()
        .unwrap();
    assert!(touched.contacted_at.is_some_and(|at| at >= before));
    assert_eq!(touched.version.as_deref(), Some("17.0.0"));
    assert_eq!(touched.executor.as_deref(), Some("shell"));

    // A later contact that reports nothing keeps what the runner said before.
    db.store
        .touch_runner(runner.id, &RunnerContact::default())
        .await
        .unwrap();
    let again = db.store.runners_by_ids(&[runner.id]).await.unwrap();
    assert_eq!(again[0].version.as_deref(), Some("17.0.0"));
    assert_eq!(again[0].architecture.as_deref(), Some("amd64"));
    assert!(again[0].contacted_at >= touched.contacted_at);

    assert_eq!(db.store.runner_by_token_hash("other").await.unwrap(), None);
}

/// A data directory is a path, whatever characters it holds: `open_sqlite` must not read it as
/// a URL (where `?` would start a query string and `%20` would be decoded).
#[tokio::test]
async fn a_database_path_may_hold_url_characters() {
    for name in ["ci?1", "50%20off"] {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join(name);
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("pipewright.db");
        let store = pipewright_store::Store::open_sqlite(&path).await;
        assert!(store.is_ok(), "{name}: {:?}", store.err());
        assert!(path.exists(), "{name}: database created elsewhere");
    }
}
