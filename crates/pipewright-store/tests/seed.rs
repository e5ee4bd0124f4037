//! `Store::seed_jobs`, the bulk loader behind the benchmarks: its rows must be ones the product
//! itself could have written, or the benchmarks measure a fiction.

#![expect(clippy::unwrap_used, reason = "a test should fail loudly on any error")]

#[allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]
mod common;

use common::TestDb;
use pipewright_domain::Status;
use pipewright_store::{JobFilter, Seeded};

#[tokio::test]
async fn seeded_history_continues_the_project_and_reads_back_as_valid_jobs() {
    let db = TestDb::open().await;
    let owner = db.user("owner").await;
    let project = db.project(&owner, "busy").await;
    let quiet = db.project(&owner, "quiet").await;
    let (first, _) = db.pipeline(&project, "main", &[]).await;

    let seeded = db.store.seed_jobs(project.id, 50, 8).await.unwrap();
    assert_eq!(seeded.jobs, 400);
    assert_eq!(seeded.pipeline_ids.len(), 50);
    assert!(seeded.pipeline_ids.windows(2).all(|pair| pair[0] < pair[1]));

    // iids continue after the project's own pipeline, and the next real one follows on.
    let pipelines = db
        .store
        .pipelines_by_ids(&seeded.pipeline_ids)
        .await
        .unwrap();
    let mut iids: Vec<i64> = pipelines.iter().map(|pipeline| pipeline.iid).collect();
    iids.sort_unstable();
    assert_eq!(iids, (first.iid + 1..=first.iid + 50).collect::<Vec<_>>());
    assert!(
        pipelines
            .iter()
            .all(|pipeline| pipeline.project_id == project.id)
    );
    assert!(
        pipelines
            .iter()
            .any(|pipeline| pipeline.ref_name == "feature")
    );
    assert!(
        pipelines
            .iter()
            .all(|pipeline| pipeline.status.is_completed())
    );
    let (next, _) = db.pipeline(&project, "main", &[]).await;
    assert_eq!(next.iid, 52);

    // Every seeded job parses as the store's own rows do, in order, under its pipeline's ref.
    for (pipeline_id, pipeline) in seeded.pipeline_ids.iter().zip(&pipelines) {
        let jobs = db.store.pipeline_jobs(*pipeline_id, true).await.unwrap();
        assert_eq!(jobs.len(), 8);
        assert!(jobs.windows(2).all(|pair| pair[0].id < pair[1].id));
        for job in &jobs {
            assert_eq!(job.pipeline_id, pipeline.id);
            assert_eq!(job.ref_name, pipeline.ref_name);
            assert!(job.is_build());
            let options: serde_json::Value = serde_json::from_str(&job.options).unwrap();
            assert_eq!(options["script"][0], "echo seeded");
            // As in GitLab, only success, failed and canceled stamp `finished_at` (not skipped).
            let finished = matches!(
                job.status,
                Status::Success | Status::Failed | Status::Canceled
            );
            assert_eq!(job.finished_at.is_some(), finished, "{job:?}");
            assert_eq!(
                job.started_at.is_some(),
                finished || job.status == Status::Running
            );
        }
    }
    // Job ids grow with pipeline ids, as if the pipelines had been created one by one.
    let listed = db
        .store
        .list_project_jobs(project.id, &JobFilter::default(), 1000, 0)
        .await
        .unwrap();
    assert_eq!(listed.len(), 400);
    assert!(
        listed
            .windows(2)
            .all(|pair| pair[0].pipeline_id >= pair[1].pipeline_id)
    );

    // Every status a job list filters on finds rows; pending ones reach the runners' scan.
    for status in [
        Status::Success,
        Status::Failed,
        Status::Canceled,
        Status::Skipped,
        Status::Manual,
        Status::Created,
        Status::Pending,
        Status::Running,
    ] {
        let filter = JobFilter {
            statuses: vec![status],
            ..JobFilter::default()
        };
        let found = db
            .store
            .list_project_jobs(project.id, &filter, 1000, 0)
            .await
            .unwrap();
        assert!(!found.is_empty(), "no seeded {status:?} job");
    }
    let pending = db.store.pending_jobs(0, 1000).await.unwrap();
    assert!(!pending.is_empty());
    assert!(pending.iter().all(|job| job.status == Status::Pending));

    // Seeding again appends; other projects stay empty.
    let more = db.store.seed_jobs(project.id, 2, 3).await.unwrap();
    let more_pipelines = db.store.pipelines_by_ids(&more.pipeline_ids).await.unwrap();
    let mut iids: Vec<i64> = more_pipelines.iter().map(|pipeline| pipeline.iid).collect();
    iids.sort_unstable();
    assert_eq!(iids, vec![53, 54]);
    let (listed, total) = db
        .store
        .list_pipelines(quiet.id, None, None, 10, 0)
        .await
        .unwrap();
    assert!(listed.is_empty());
    assert_eq!(total, 0);
}

#[tokio::test]
async fn seeding_nothing_inserts_nothing() {
    let db = TestDb::open().await;
    let owner = db.user("owner").await;
    let project = db.project(&owner, "empty").await;

    let none = db.store.seed_jobs(project.id, 0, 10).await.unwrap();
    assert_eq!(
        none,
        Seeded {
            pipeline_ids: Vec::new(),
            jobs: 0
        }
    );
    let bare = db.store.seed_jobs(project.id, 3, 0).await.unwrap();
    assert_eq!((bare.pipeline_ids.len(), bare.jobs), (3, 0));
    for id in bare.pipeline_ids {
        assert!(db.store.pipeline_jobs(id, true).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn seeding_an_unknown_project_is_refused() {
    let db = TestDb::open().await;
    // Foreign keys are on: a seeded history cannot dangle.
    assert!(db.store.seed_jobs(4242, 1, 1).await.is_err());
}

#[tokio::test]
async fn a_large_seed_is_one_transaction_of_set_based_inserts() {
    let db = TestDb::open().await;
    let owner = db.user("owner").await;
    let project = db.project(&owner, "large").await;
    // 20 000 jobs; timing is the benchmarks' business, this only proves the size works.
    let seeded = db.store.seed_jobs(project.id, 1000, 20).await.unwrap();
    assert_eq!(seeded.jobs, 20_000);
    let page = db
        .store
        .list_project_jobs(project.id, &JobFilter::default(), 20, 0)
        .await
        .unwrap();
    assert_eq!(page.len(), 20);
    assert_eq!(
        page[0].pipeline_id,
        *seeded.pipeline_ids.last().unwrap_or(&0)
    );
}
