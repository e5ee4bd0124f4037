//! Lists of 1 and of 30 jobs answer correctly: every job carries its own pipeline, commit,
//! user and runner (the batch loads must attach each related record to the right job).
//! Counting queries (the N+1 guard of DESIGN.md §7) needs a hook in the store; until then
//! this checks the answers only.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{ROOT_TOKEN, TestApp};

fn yaml_with_jobs(count: usize) -> String {
    (0..count)
        .map(|i| format!("job_{i:02}:\n  script: echo {i}\n"))
        .collect()
}

#[tokio::test]
async fn one_job() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(&yaml_with_jobs(1)).await;
    let jobs = t
        .get(&format!("/api/v4/projects/{}/jobs", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["name"], "job_00");
    assert_eq!(jobs[0]["pipeline"]["id"], ci.pipeline_id);
    assert_eq!(jobs[0]["commit"]["id"], ci.sha.as_str());
    assert_eq!(jobs[0]["user"]["username"], "root");
}

/// 30 jobs over three pipelines (three commits, two users) and two runners.
#[tokio::test]
async fn thirty_jobs_each_with_its_own_relations() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(&yaml_with_jobs(10)).await;
    let maintainer = t.create_user("maint").await;
    t.post(&format!("/api/v4/projects/{}/members", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": maintainer.id, "access_level": 40 }))
        .await
        .expect_status(StatusCode::CREATED);
    let runner_a = t.instance_runner().await;
    let runner_b = t.instance_runner().await;
    // Start a job in each pipeline so later pushes do not auto-cancel it.
    let mut ran_by: BTreeMap<i64, i64> = BTreeMap::new();
    let first = t.claim(&runner_a).await;
    ran_by.insert(first.id, runner_a.id);
    let second_pipeline = t
        .update_ci(&maintainer.token, ci.project_id, &yaml_with_jobs(10))
        .await;
    let second = t.claim(&runner_b).await;
    ran_by.insert(second.id, runner_b.id);
    let third_pipeline = t
        .update_ci(ROOT_TOKEN, ci.project_id, &yaml_with_jobs(10))
        .await;

    let pipelines: BTreeMap<i64, Value> = [ci.pipeline_id, second_pipeline, third_pipeline]
        .into_iter()
        .map(|id| (id, json!(null)))
        .collect();
    let mut pipelines = pipelines;
    for (id, value) in pipelines.iter_mut() {
        *value = t.pipeline(ci.project_id, *id).await;
    }

    let response = t
        .get(&format!(
            "/api/v4/projects/{}/jobs?per_page=100",
            ci.project_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    let jobs = response.jobs();
    assert_eq!(jobs.len(), 30);
    let ids: Vec<i64> = jobs
        .iter()
        .map(|job| job["id"].as_i64().expect("id"))
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first: {ids:?}"
    );
    assert_eq!(response.header("x-next-page"), Some(""));
    for job in &jobs {
        let pipeline = &pipelines[&job["pipeline"]["id"].as_i64().expect("pipeline id")];
        assert_eq!(job["commit"]["id"], pipeline["sha"], "{job}");
        assert_eq!(job["pipeline"]["sha"], pipeline["sha"]);
        assert_eq!(job["user"]["username"], pipeline["user"]["username"]);
        let id = job["id"].as_i64().expect("id");
        match ran_by.get(&id) {
            Some(runner) => assert_eq!(job["runner"]["id"], *runner),
            None => assert_eq!(job["runner"], Value::Null),
        }
    }
    let by_pipeline = |pipeline: i64| {
        jobs.iter()
            .filter(|job| job["pipeline"]["id"] == pipeline)
            .count()
    };
    assert_eq!(by_pipeline(ci.pipeline_id), 10);
    assert_eq!(by_pipeline(second_pipeline), 10);
    assert_eq!(by_pipeline(third_pipeline), 10);

    // Default page size: 20, then 10.
    let page1 = t
        .get(&format!("/api/v4/projects/{}/jobs", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(page1.jobs().len(), 20);
    assert_eq!(page1.header("x-next-page"), Some("2"));
    let page2 = t
        .get(&format!("/api/v4/projects/{}/jobs?page=2", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(page2.jobs().len(), 10);

    // E2 of one pipeline: its 10 jobs, counted.
    let e2 = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{second_pipeline}/jobs?per_page=100",
            ci.project_id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(e2.header("x-total"), Some("10"));
    let e2_jobs = e2.jobs();
    assert!(e2_jobs.iter().all(|job| job["user"]["username"] == "maint"));
}
