//! E1 (`GET /projects/:id/jobs`) and E2 (`GET /projects/:id/pipelines/:pipeline_id/jobs`):
//! filters, validation, check order, and the pagination headers of jobs-api.md §1.6.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::common::{CiProject, EXTERNAL_URL, ROOT_TOKEN, TestApp};

const THREE_JOBS: &str = "a:\n  script: x\nb:\n  script: x\nc:\n  script: x\n";
const FIVE_JOBS: &str =
    "a:\n  script: x\nb:\n  script: x\nc:\n  script: x\nd:\n  script: x\ne:\n  script: x\n";

fn ids(jobs: &[Value]) -> Vec<i64> {
    jobs.iter()
        .map(|job| job["id"].as_i64().expect("id"))
        .collect()
}

fn link(path_and_query: &str, rel: &str) -> String {
    format!("<{EXTERNAL_URL}{path_and_query}>; rel=\"{rel}\"")
}

fn headers(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect()
}

async fn e1(t: &TestApp, query: &str) -> crate::common::Response {
    t.get(&format!("/api/v4/projects/1/jobs{query}"))
        .token(ROOT_TOKEN)
        .await
}

// ---- E1 ------------------------------------------------------------------------------

#[tokio::test]
async fn e1_lists_builds_newest_first_with_headers_without_counts() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    let response = e1(&t, "").await.expect_status(StatusCode::OK);
    assert_eq!(ids(&response.jobs()), [3, 2, 1]);
    assert_eq!(
        response.pagination_headers(),
        headers(&[
            ("x-page", "1"),
            ("x-per-page", "20"),
            ("x-next-page", ""),
            ("x-prev-page", ""),
            (
                "link",
                &link("/api/v4/projects/1/jobs?id=1&page=1&per_page=20", "first")
            ),
        ])
    );
}

#[tokio::test]
async fn e1_offset_pages() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    let page1 = e1(&t, "?per_page=2").await.expect_status(StatusCode::OK);
    assert_eq!(ids(&page1.jobs()), [3, 2]);
    assert_eq!(
        page1.pagination_headers(),
        headers(&[
            ("x-page", "1"),
            ("x-per-page", "2"),
            ("x-next-page", "2"),
            ("x-prev-page", ""),
            (
                "link",
                &[
                    link("/api/v4/projects/1/jobs?id=1&page=2&per_page=2", "next"),
                    link("/api/v4/projects/1/jobs?id=1&page=1&per_page=2", "first"),
                ]
                .join(", ")
            ),
        ])
    );
    let page2 = e1(&t, "?per_page=2&page=2")
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(ids(&page2.jobs()), [1]);
    assert_eq!(
        page2.pagination_headers(),
        headers(&[
            ("x-page", "2"),
            ("x-per-page", "2"),
            ("x-next-page", ""),
            ("x-prev-page", "1"),
            (
                "link",
                &[
                    link("/api/v4/projects/1/jobs?id=1&page=1&per_page=2", "prev"),
                    link("/api/v4/projects/1/jobs?id=1&page=1&per_page=2", "first"),
                ]
                .join(", ")
            ),
        ])
    );
    // Past the end: an empty page with no next.
    let past = e1(&t, "?per_page=2&page=5")
        .await
        .expect_status(StatusCode::OK);
    assert!(past.jobs().is_empty());
    assert_eq!(past.header("x-next-page"), Some(""));
}

#[tokio::test]
async fn e1_page_size_rules() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    for (query, per_page) in [
        ("?per_page=500", "100"),
        ("?per_page=-5", "20"),
        ("?page=0", "20"),
    ] {
        let response = e1(&t, query).await.expect_status(StatusCode::OK);
        assert_eq!(response.header("x-per-page"), Some(per_page), "{query}");
        assert_eq!(response.header("x-page"), Some("1"), "{query}");
        assert_eq!(response.jobs().len(), 3);
    }
    for (query, error) in [
        ("?per_page=0", "per_page has a value not allowed"),
        ("?per_page=abc", "per_page is invalid"),
        ("?page=abc", "page is invalid"),
    ] {
        let response = e1(&t, query).await.expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }), "{query}");
    }
}

#[tokio::test]
async fn e1_link_keeps_the_request_path_and_every_param() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    let response = t
        .get("/api/v4/projects/root%2Fdemo/jobs?scope[]=pending&scope[]=running&extra=1")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(
        response.header("link"),
        Some(
            link(
                "/api/v4/projects/root%2Fdemo/jobs?extra=1&id=root%2Fdemo&page=1&per_page=20&scope%5B%5D=pending&scope%5B%5D=running",
                "first"
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn e1_scope_as_string_array_or_hash() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    let runner = t.instance_runner().await;
    let running = t.claim(&runner).await;
    assert_eq!(running.id, 1, "the oldest job first");
    let cases = [
        ("?scope=pending", vec![3, 2]),
        ("?scope=running", vec![1]),
        ("?scope[]=running", vec![1]),
        ("?scope[]=pending&scope[]=running", vec![3, 2, 1]),
        ("?scope[a]=running", vec![1]),
        ("?scope[a]=running&scope[b]=pending", vec![3, 2, 1]),
        ("?scope=failed", vec![]),
    ];
    for (query, expected) in cases {
        let response = e1(&t, query).await.expect_status(StatusCode::OK);
        assert_eq!(ids(&response.jobs()), expected, "{query}");
    }
}

#[tokio::test]
async fn e1_invalid_scope_is_400() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    for query in [
        "?scope=bogus",
        "?scope[]=pending&scope[]=bogus",
        "?scope[a]=bogus",
        "?scope=Pending",
    ] {
        let response = e1(&t, query).await.expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(
            response.json(),
            json!({ "error": "scope does not have a valid value" }),
            "{query}"
        );
    }
}

#[tokio::test]
async fn e1_every_status_is_a_valid_scope() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    for status in crate::common::shape::JOB_STATUSES {
        e1(&t, &format!("?scope={status}"))
            .await
            .expect_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn e1_ref_filter() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    t.post("/api/v4/projects/1/repository/commits")
        .token(ROOT_TOKEN)
        .json(json!({
            "branch": "feature", "start_branch": "main", "commit_message": "f",
            "actions": [{ "action": "create", "file_path": "f", "content": "f" }],
        }))
        .await
        .expect_status(StatusCode::CREATED);
    let main = e1(&t, "?ref=main").await.expect_status(StatusCode::OK);
    assert_eq!(ids(&main.jobs()), [3, 2, 1]);
    let feature = e1(&t, "?ref=feature").await.expect_status(StatusCode::OK);
    assert_eq!(ids(&feature.jobs()), [6, 5, 4]);
    let blank = e1(&t, "?ref=%20").await.expect_status(StatusCode::OK);
    assert_eq!(blank.jobs().len(), 6);
}

#[tokio::test]
async fn e1_includes_created_jobs_and_never_bridges() {
    let t = TestApp::new().await;
    t.create_project(ROOT_TOKEN, json!({ "name": "other" }))
        .await;
    t.project_with_ci(
        "build:\n  stage: build\n  script: x\ntest:\n  stage: test\n  script: x\ndownstream:\n  stage: deploy\n  trigger: root/other\n",
    )
    .await;
    let jobs = t
        .get("/api/v4/projects/2/jobs")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    let names: Vec<&str> = jobs
        .iter()
        .map(|job| job["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["test", "build"]);
    assert_eq!(jobs[0]["status"], "created");
}

#[tokio::test]
async fn e1_requires_authentication_before_validating() {
    let t = TestApp::new().await;
    t.project_with_ci_as(
        ROOT_TOKEN,
        "open",
        json!({ "visibility": "public" }),
        THREE_JOBS,
    )
    .await;
    for query in ["", "?scope=bogus", "?per_page=0"] {
        let response = t
            .get(&format!("/api/v4/projects/1/jobs{query}"))
            .await
            .expect_status(StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.json(),
            json!({ "message": "401 Unauthorized" }),
            "{query}"
        );
    }
    // Authenticated with a bad param on a project that does not exist: 400 before 404.
    let response = t
        .get("/api/v4/projects/999/jobs?scope=bogus")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "scope does not have a valid value" })
    );
    let response = t
        .get("/api/v4/projects/999/jobs")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        response.json(),
        json!({ "message": "404 Project Not Found" })
    );
}

#[tokio::test]
async fn e1_read_build_follows_visibility_and_role() {
    let t = TestApp::new().await;
    let outsider = t.create_user("outsider").await;
    let guest = t.create_user("guest").await;
    let reporter = t.create_user("reporter").await;
    // 1: private, jobs not public; 2: public, jobs public; 3: public, jobs not public.
    t.project_with_ci_as(
        ROOT_TOKEN,
        "private",
        json!({ "public_jobs": false }),
        THREE_JOBS,
    )
    .await;
    t.project_with_ci_as(
        ROOT_TOKEN,
        "open",
        json!({ "visibility": "public" }),
        THREE_JOBS,
    )
    .await;
    t.project_with_ci_as(
        ROOT_TOKEN,
        "closed-jobs",
        json!({ "visibility": "public", "public_jobs": false }),
        THREE_JOBS,
    )
    .await;
    for (user, level) in [(&guest, 10), (&reporter, 20)] {
        t.post("/api/v4/projects/1/members")
            .token(ROOT_TOKEN)
            .json(json!({ "user_id": user.id, "access_level": level }))
            .await
            .expect_status(StatusCode::CREATED);
    }
    let list = |project: i64, token: &str| {
        t.get(&format!("/api/v4/projects/{project}/jobs"))
            .token(token)
    };
    let response = list(1, &outsider.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        response.json(),
        json!({ "message": "404 Project Not Found" })
    );
    let response = list(1, &guest.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    assert_eq!(
        list(1, &reporter.token)
            .await
            .expect_status(StatusCode::OK)
            .jobs()
            .len(),
        3
    );
    assert_eq!(
        list(2, &outsider.token)
            .await
            .expect_status(StatusCode::OK)
            .jobs()
            .len(),
        3
    );
    let response = list(3, &outsider.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
}

fn cursor_of(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(format!("{{\"id\":\"{id}\",\"_kd\":\"n\"}}"))
}

#[tokio::test]
async fn e1_keyset_pagination() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    let first = e1(&t, "?pagination=keyset&per_page=2")
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(ids(&first.jobs()), [3, 2]);
    // No offset headers at all in keyset mode.
    let cursor = first
        .header("x-next-cursor")
        .expect("X-Next-Cursor")
        .to_owned();
    assert_eq!(
        first.pagination_headers(),
        headers(&[(
            "link",
            &link(
                &format!(
                    "/api/v4/projects/1/jobs?cursor={}&id=1&pagination=keyset&per_page=2",
                    cursor.replace('=', "%3D")
                ),
                "next"
            )
        )])
    );
    // The cursor is GitLab's: URL-safe base64 of the last id as a string.
    let decoded = base64::engine::general_purpose::URL_SAFE
        .decode(&cursor)
        .expect("base64 cursor");
    let decoded: Value = serde_json::from_slice(&decoded).expect("json cursor");
    assert_eq!(decoded["id"], "2");

    let second = e1(
        &t,
        &format!(
            "?pagination=keyset&per_page=2&cursor={}",
            cursor.replace('=', "%3D")
        ),
    )
    .await
    .expect_status(StatusCode::OK);
    assert_eq!(ids(&second.jobs()), [1]);
    assert_eq!(second.header("link"), None);
    assert_eq!(second.header("x-next-cursor"), None);

    // A cursor GitLab itself would have written is understood.
    let gitlab = e1(
        &t,
        &format!(
            "?pagination=keyset&cursor={}",
            cursor_of(3).replace('=', "%3D")
        ),
    )
    .await
    .expect_status(StatusCode::OK);
    assert_eq!(ids(&gitlab.jobs()), [2, 1]);
    // Filters apply in keyset mode too.
    let filtered = e1(&t, "?pagination=keyset&scope=running")
        .await
        .expect_status(StatusCode::OK);
    assert!(filtered.jobs().is_empty());
    let explicit = e1(&t, "?pagination=keyset&order_by=id&sort=desc")
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(ids(&explicit.jobs()), [3, 2, 1]);
}

#[tokio::test]
async fn e1_keyset_page_after_a_cursor_has_a_prev_cursor() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    let first = e1(&t, "?pagination=keyset&per_page=2").await;
    let cursor = first.header("x-next-cursor").expect("cursor").to_owned();
    let second = e1(
        &t,
        &format!(
            "?pagination=keyset&per_page=2&cursor={}",
            cursor.replace('=', "%3D")
        ),
    )
    .await;
    assert!(second.header("x-prev-cursor").is_some());
}

const KEYSET_ORDERS: [&str; 3] = [
    "?pagination=keyset&sort=asc",
    "?pagination=keyset&order_by=created_at",
    "?pagination=keyset&order_by=created_at&sort=desc",
];

#[tokio::test]
async fn e1_keyset_supports_only_id_descending() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    for query in KEYSET_ORDERS {
        e1(&t, query)
            .await
            .expect_status(StatusCode::METHOD_NOT_ALLOWED);
    }
    // Offset mode ignores order_by/sort it does not know.
    e1(&t, "?sort=asc").await.expect_status(StatusCode::OK);
}

#[tokio::test]
async fn e1_keyset_order_error_has_gitlabs_message() {
    let t = TestApp::new().await;
    t.project_with_ci(THREE_JOBS).await;
    for query in KEYSET_ORDERS {
        let response = e1(&t, query)
            .await
            .expect_status(StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            response.json(),
            json!({ "error": "Keyset pagination is not yet available for this type of request" }),
            "{query}"
        );
        assert_eq!(response.header("allow"), None, "not a routing 405");
    }
}

// ---- E2 ------------------------------------------------------------------------------

async fn e2(t: &TestApp, ci: &CiProject, query: &str) -> crate::common::Response {
    t.get(&format!(
        "/api/v4/projects/{}/pipelines/{}/jobs{query}",
        ci.project_id, ci.pipeline_id
    ))
    .token(ROOT_TOKEN)
    .await
}

#[tokio::test]
async fn e2_lists_a_pipelines_builds_with_full_headers() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(FIVE_JOBS).await;
    let page = e2(&t, &ci, "?per_page=2&page=2")
        .await
        .expect_status(StatusCode::OK);
    let query = |page: i64| {
        format!(
            "/api/v4/projects/1/pipelines/1/jobs?id=1&include_retried=false&page={page}&per_page=2&pipeline_id=1"
        )
    };
    assert_eq!(
        page.pagination_headers(),
        headers(&[
            ("x-page", "2"),
            ("x-per-page", "2"),
            ("x-next-page", "3"),
            ("x-prev-page", "1"),
            ("x-total", "5"),
            ("x-total-pages", "3"),
            (
                "link",
                &[
                    link(&query(1), "prev"),
                    link(&query(3), "next"),
                    link(&query(1), "first"),
                    link(&query(3), "last"),
                ]
                .join(", ")
            ),
        ])
    );
    assert_eq!(page.jobs().len(), 2);
    // Keyset is not supported here: the parameter is ignored.
    let keyset = e2(&t, &ci, "?pagination=keyset")
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(keyset.header("x-total"), Some("5"));
}

#[tokio::test]
async fn e2_orders_jobs_newest_first() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(THREE_JOBS).await;
    let response = e2(&t, &ci, "").await.expect_status(StatusCode::OK);
    assert_eq!(ids(&response.jobs()), [3, 2, 1]);
}

#[tokio::test]
async fn e2_scope_and_validation() {
    let t = TestApp::new().await;
    let ci = t.project_with_ci(THREE_JOBS).await;
    let runner = t.instance_runner().await;
    t.claim(&runner).await;
    let running = e2(&t, &ci, "?scope=running")
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(ids(&running.jobs()), [1]);
    let both = e2(&t, &ci, "?scope[]=running&scope[]=pending")
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(both.jobs().len(), 3);
    for (query, error) in [
        ("?scope[a]=running", "scope does not have a valid value"),
        ("?scope=bogus", "scope does not have a valid value"),
        ("?include_retried=maybe", "include_retried is invalid"),
        ("?per_page=0", "per_page has a value not allowed"),
    ] {
        let response = e2(&t, &ci, query)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }), "{query}");
    }
    let response = t
        .get("/api/v4/projects/1/pipelines/abc/jobs")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "pipeline_id is invalid" })
    );
}

#[tokio::test]
async fn e2_include_retried() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci("a:\n  script: x\nb:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let failed = t.run_next(&runner, "boom\n", "failed").await;
    let retry = t
        .post(&format!(
            "/api/v4/projects/{}/jobs/{}/retry",
            ci.project_id, failed.id
        ))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .job();
    let new_id = retry["id"].as_i64().expect("id");
    assert_ne!(new_id, failed.id);

    let latest = e2(&t, &ci, "").await.expect_status(StatusCode::OK).jobs();
    let mut latest_ids = ids(&latest);
    latest_ids.sort_unstable();
    assert_eq!(latest_ids, [2, new_id]);
    assert_eq!(
        e2(&t, &ci, "").await.header("x-total"),
        Some("2"),
        "retried jobs are not counted"
    );

    let all = e2(&t, &ci, "?include_retried=true")
        .await
        .expect_status(StatusCode::OK);
    let mut all_ids = ids(&all.jobs());
    all_ids.sort_unstable();
    assert_eq!(all_ids, [1, 2, new_id]);
    assert_eq!(all.header("x-total"), Some("3"));
    assert!(
        all.header("link")
            .is_some_and(|link| link.contains("include_retried=true"))
    );
    // E1 always includes retried jobs.
    let e1_jobs = t
        .get(&format!("/api/v4/projects/{}/jobs", ci.project_id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(ids(&e1_jobs), [new_id, 2, 1]);
}

#[tokio::test]
async fn e2_never_lists_bridges() {
    let t = TestApp::new().await;
    t.create_project(ROOT_TOKEN, json!({ "name": "other" }))
        .await;
    let ci = t
        .project_with_ci(
            "build:\n  script: x\ndownstream:\n  stage: deploy\n  trigger: root/other\n",
        )
        .await;
    let jobs = e2(&t, &ci, "").await.expect_status(StatusCode::OK).jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["name"], "build");
}

#[tokio::test]
async fn e2_access_and_lookup() {
    let t = TestApp::new().await;
    let private = t.project_with_ci(THREE_JOBS).await;
    let public = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "open",
            json!({ "visibility": "public" }),
            THREE_JOBS,
        )
        .await;
    // Anonymous reads public data, but a private project is hidden (404, not 401).
    let anonymous = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}/jobs",
            public.project_id, public.pipeline_id
        ))
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(anonymous.jobs().len(), 3);
    let response = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}/jobs",
            private.project_id, private.pipeline_id
        ))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        response.json(),
        json!({ "message": "404 Project Not Found" })
    );
    // Another project's pipeline, or no such pipeline.
    for pipeline in [public.pipeline_id, 999] {
        let response = t
            .get(&format!(
                "/api/v4/projects/{}/pipelines/{pipeline}/jobs",
                private.project_id
            ))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::NOT_FOUND);
        assert_eq!(response.json(), json!({ "message": "404 Not found" }));
    }
}

// ---- job tokens across projects (§1.3.6) -----------------------------------------------

#[tokio::test]
async fn e1_job_token_of_another_project_follows_the_inbound_scope() {
    let t = TestApp::new().await;
    let source = t.project_with_ci("a:\n  script: x\n").await;
    let target = t
        .project_with_ci_as(ROOT_TOKEN, "target", json!({}), "b:\n  script: x\n")
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    assert_eq!(job.payload["job_info"]["project_id"], source.project_id);
    let target_jobs = format!("/api/v4/projects/{}/jobs", target.project_id);

    t.patch(&format!(
        "/api/v4/projects/{}/job_token_scope",
        target.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({ "enabled": true }))
    .await
    .expect_status(StatusCode::NO_CONTENT);
    let response = t
        .get(&target_jobs)
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        response.json(),
        json!({ "message": "403 Forbidden - Authentication by CI/CD job token not allowed from demo to target." })
    );
    // Its own project is always reachable.
    t.get(&format!("/api/v4/projects/{}/jobs", source.project_id))
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK);

    t.post(&format!(
        "/api/v4/projects/{}/job_token_scope/allowlist",
        target.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({ "target_project_id": source.project_id }))
    .await
    .expect_status(StatusCode::CREATED);
    let jobs = t
        .get(&target_jobs)
        .job_token(&job.token)
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 1);
}

#[tokio::test]
async fn e1_internal_projects_follow_the_visibility_table() {
    let t = TestApp::new().await;
    let outsider = t.create_user("outsider").await;
    t.project_with_ci_as(
        ROOT_TOKEN,
        "corp",
        json!({ "visibility": "internal" }),
        THREE_JOBS,
    )
    .await;
    t.project_with_ci_as(
        ROOT_TOKEN,
        "corp-closed",
        json!({ "visibility": "internal", "public_jobs": false }),
        THREE_JOBS,
    )
    .await;
    // internal + public jobs: any signed-in user reads them.
    let jobs = t
        .get("/api/v4/projects/1/jobs")
        .token(&outsider.token)
        .await
        .expect_status(StatusCode::OK)
        .jobs();
    assert_eq!(jobs.len(), 3);
    // internal, jobs not public: a signed-in non-member sees the project but not its jobs.
    let response = t
        .get("/api/v4/projects/2/jobs")
        .token(&outsider.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
}

/// jobs-api.md E2 [inferred]: a caller who may read the pipeline but not its builds gets an
/// empty list, not 403.
#[tokio::test]
async fn e2_without_read_build_is_an_empty_list() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "open",
            json!({ "visibility": "public", "public_jobs": false }),
            THREE_JOBS,
        )
        .await;
    let response = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}/jobs",
            ci.project_id, ci.pipeline_id
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(response.jobs().is_empty());
}
