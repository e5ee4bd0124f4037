//! Fine-grained CI/CD job token permissions on allowlist entries (jobs-api.md §1.3.6):
//! `default_permissions` / `job_token_policies` on `POST` and `PATCH` of the project and
//! group allowlists, and their enforcement on E1/E2 (`read_jobs`) and E3 (`read_pipelines`)
//! with GitLab's exemptions.

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp};
use serde_json::{Value, json};

const ONE_JOB: &str = "build:\n  script: echo hi\n";

fn insufficient(project: &str, policy: &str) -> Value {
    json!({
        "message": format!(
            "403 Forbidden - Insufficient permissions to access this resource in project {project}. The following token permission is required: {policy}."
        )
    })
}

/// Root's group `g` with project `g/a` whose job is running (its token in hand), and root's
/// project `b` (private unless `b_attributes` says otherwise) with one pipeline.
struct Setup {
    t: TestApp,
    group_id: i64,
    a: i64,
    b: i64,
    b_pipeline: i64,
    token: String,
}

async fn setup(b_attributes: Value) -> Setup {
    let t = TestApp::new().await;
    let group = t
        .post("/api/v4/groups")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "G", "path": "g" }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    let group_id = group["id"].as_i64().expect("group id");
    let a = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "a",
            json!({ "namespace_id": group_id }),
            ONE_JOB,
        )
        .await;
    let runner = t.instance_runner().await;
    let job = t.claim(&runner).await;
    assert_eq!(job.payload["job_info"]["project_id"], a.project_id);
    let b = t
        .project_with_ci_as(ROOT_TOKEN, "b", b_attributes, ONE_JOB)
        .await;
    Setup {
        t,
        group_id,
        a: a.project_id,
        b: b.project_id,
        b_pipeline: b.pipeline_id,
        token: job.token,
    }
}

impl Setup {
    fn scope(&self) -> String {
        format!("/api/v4/projects/{}/job_token_scope", self.b)
    }

    /// E1, E2, E3 on `b` with the job token: (status, body) each.
    async fn reads(&self) -> [(StatusCode, Value); 3] {
        let paths = [
            format!("/api/v4/projects/{}/jobs", self.b),
            format!(
                "/api/v4/projects/{}/pipelines/{}/jobs",
                self.b, self.b_pipeline
            ),
            format!(
                "/api/v4/projects/{}/pipelines/{}/bridges",
                self.b, self.b_pipeline
            ),
        ];
        let mut out = Vec::new();
        for path in paths {
            let response = self.t.get(&path).job_token(&self.token).await;
            let body = response.json();
            out.push((response.status, body));
        }
        [out[0].clone(), out[1].clone(), out[2].clone()]
    }

    async fn patch_entry(&self, body: Value) -> Value {
        self.t
            .patch(&format!("{}/allowlist/{}", self.scope(), self.a))
            .token(ROOT_TOKEN)
            .json(body)
            .await
            .expect_status(StatusCode::OK)
            .json()
    }
}

fn ok(status: &(StatusCode, Value)) -> bool {
    status.0 == StatusCode::OK && status.1.is_array()
}

// ---- the API ---------------------------------------------------------------------------

#[tokio::test]
async fn allowlist_entries_take_and_update_fine_grained_permissions() {
    let s = setup(json!({})).await;
    let scope = s.scope();
    // POST answers GitLab's scope link whatever the permissions.
    let created =
        s.t.post(&format!("{scope}/allowlist"))
            .token(ROOT_TOKEN)
            .json(json!({
                "target_project_id": s.a,
                "default_permissions": false,
                "job_token_policies": ["read_jobs"],
            }))
            .await
            .expect_status(StatusCode::CREATED);
    assert_eq!(
        created.json(),
        json!({ "source_project_id": s.b, "target_project_id": s.a })
    );
    // PATCH answers the entry with its permissions; absent parameters keep their value.
    let updated = s
        .patch_entry(json!({ "job_token_policies": ["read_jobs", "read_pipelines"] }))
        .await;
    assert_eq!(
        updated,
        json!({
            "source_project_id": s.b,
            "target_project_id": s.a,
            "default_permissions": false,
            "job_token_policies": ["read_jobs", "read_pipelines"],
        })
    );
    let ordered =
        s.t.patch(&format!("{scope}/allowlist/{}", s.a))
            .token(ROOT_TOKEN)
            .json(json!({ "default_permissions": true }))
            .await
            .expect_status(StatusCode::OK)
            .ordered();
    assert_eq!(
        ordered.keys(),
        [
            "source_project_id",
            "target_project_id",
            "default_permissions",
            "job_token_policies"
        ]
    );

    // Errors: unknown policy (parameter), entry not in the allowlist, not a Maintainer.
    let invalid =
        s.t.patch(&format!("{scope}/allowlist/{}", s.a))
            .token(ROOT_TOKEN)
            .json(json!({ "job_token_policies": ["write_everything"] }))
            .await
            .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json(),
        json!({ "error": "job_token_policies does not have a valid value" })
    );
    let invalid =
        s.t.post(&format!("{scope}/allowlist"))
            .token(ROOT_TOKEN)
            .json(json!({ "target_project_id": s.a, "job_token_policies": ["nope"] }))
            .await
            .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json(),
        json!({ "error": "job_token_policies does not have a valid value" })
    );
    let invalid =
        s.t.patch(&format!("{scope}/allowlist/{}", s.a))
            .token(ROOT_TOKEN)
            .json(json!({ "default_permissions": "maybe" }))
            .await
            .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json(),
        json!({ "error": "default_permissions is invalid" })
    );
    let missing =
        s.t.patch(&format!("{scope}/allowlist/{}", s.b))
            .token(ROOT_TOKEN)
            .json(json!({ "default_permissions": false }))
            .await
            .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json(),
        json!({ "message": "400 Bad request - Target project is not in the job token scope" })
    );
    let dev = s.t.create_user("dev").await;
    s.t.post(&format!("/api/v4/projects/{}/members", s.b))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": dev.id, "access_level": 30 }))
        .await
        .expect_status(StatusCode::CREATED);
    let refused =
        s.t.patch(&format!("{scope}/allowlist/{}", s.a))
            .token(&dev.token)
            .json(json!({ "default_permissions": false }))
            .await
            .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(refused.json(), json!({ "message": "403 Forbidden" }));

    // Group entries work the same way.
    let group_link =
        s.t.post(&format!("{scope}/groups_allowlist"))
            .token(ROOT_TOKEN)
            .json(json!({
                "target_group_id": s.group_id,
                "default_permissions": false,
                "job_token_policies": "read_pipelines",
            }))
            .await
            .expect_status(StatusCode::CREATED);
    assert_eq!(
        group_link.json(),
        json!({ "source_project_id": s.b, "target_group_id": s.group_id })
    );
    let group_entry =
        s.t.patch(&format!("{scope}/groups_allowlist/{}", s.group_id))
            .token(ROOT_TOKEN)
            .json(json!({ "job_token_policies": ["read_jobs"] }))
            .await
            .expect_status(StatusCode::OK);
    assert_eq!(
        group_entry.json(),
        json!({
            "source_project_id": s.b,
            "target_group_id": s.group_id,
            "default_permissions": false,
            "job_token_policies": ["read_jobs"],
        })
    );
    let missing =
        s.t.patch(&format!("{scope}/groups_allowlist/999"))
            .token(ROOT_TOKEN)
            .json(json!({ "default_permissions": false }))
            .await
            .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json(),
        json!({ "message": "400 Bad request - Target group is not in the job token scope" })
    );
}

// ---- enforcement -----------------------------------------------------------------------

#[tokio::test]
async fn e1_and_e2_need_read_jobs_and_e3_read_pipelines() {
    let s = setup(json!({})).await;
    s.t.post(&format!("{}/allowlist", s.scope()))
        .token(ROOT_TOKEN)
        .json(json!({ "target_project_id": s.a, "default_permissions": false }))
        .await
        .expect_status(StatusCode::CREATED);
    let [e1, e2, e3] = s.reads().await;
    assert_eq!(e1, (StatusCode::FORBIDDEN, insufficient("b", "read_jobs")));
    assert_eq!(e2, (StatusCode::FORBIDDEN, insufficient("b", "read_jobs")));
    assert_eq!(
        e3,
        (StatusCode::FORBIDDEN, insufficient("b", "read_pipelines"))
    );

    s.patch_entry(json!({ "job_token_policies": ["read_jobs"] }))
        .await;
    let [e1, e2, e3] = s.reads().await;
    assert!(ok(&e1) && ok(&e2), "{e1:?} {e2:?}");
    assert_eq!(
        e3,
        (StatusCode::FORBIDDEN, insufficient("b", "read_pipelines"))
    );

    // `admin_jobs` is another policy: it does not stand in for `read_jobs`.
    s.patch_entry(json!({ "job_token_policies": ["admin_jobs", "read_pipelines"] }))
        .await;
    let [e1, e2, e3] = s.reads().await;
    assert_eq!(e1, (StatusCode::FORBIDDEN, insufficient("b", "read_jobs")));
    assert_eq!(e2, (StatusCode::FORBIDDEN, insufficient("b", "read_jobs")));
    assert!(ok(&e3), "{e3:?}");

    // Default permissions: the job's user's role decides again.
    s.patch_entry(json!({ "default_permissions": true })).await;
    let [e1, e2, e3] = s.reads().await;
    assert!(ok(&e1) && ok(&e2) && ok(&e3));
}

#[tokio::test]
async fn the_nearest_entry_decides_project_before_group() {
    let s = setup(json!({})).await;
    s.t.post(&format!("{}/groups_allowlist", s.scope()))
        .token(ROOT_TOKEN)
        .json(json!({
            "target_group_id": s.group_id,
            "default_permissions": false,
            "job_token_policies": ["read_pipelines"],
        }))
        .await
        .expect_status(StatusCode::CREATED);
    let [e1, _, e3] = s.reads().await;
    assert_eq!(e1, (StatusCode::FORBIDDEN, insufficient("b", "read_jobs")));
    assert!(ok(&e3), "{e3:?}");
    // The project's own entry is nearer than its group's.
    s.t.post(&format!("{}/allowlist", s.scope()))
        .token(ROOT_TOKEN)
        .json(json!({
            "target_project_id": s.a,
            "default_permissions": false,
            "job_token_policies": ["read_jobs"],
        }))
        .await
        .expect_status(StatusCode::CREATED);
    let [e1, _, e3] = s.reads().await;
    assert!(ok(&e1), "{e1:?}");
    assert_eq!(
        e3,
        (StatusCode::FORBIDDEN, insufficient("b", "read_pipelines"))
    );
}

#[tokio::test]
async fn policies_are_not_enforced_where_gitlab_exempts_them() {
    // The job's own project: never, whatever its allowlist holds.
    let s = setup(json!({})).await;
    s.t.post(&format!(
        "/api/v4/projects/{}/job_token_scope/allowlist",
        s.a
    ))
    .token(ROOT_TOKEN)
    .json(json!({ "target_project_id": s.b, "default_permissions": false }))
    .await
    .expect_status(StatusCode::CREATED);
    s.t.get(&format!("/api/v4/projects/{}/jobs", s.a))
        .job_token(&s.token)
        .await
        .expect_status(StatusCode::OK);

    // Only default-permission entries: GitLab's policies are off for the project.
    s.t.post(&format!("{}/allowlist", s.scope()))
        .token(ROOT_TOKEN)
        .json(json!({ "target_project_id": s.a }))
        .await
        .expect_status(StatusCode::CREATED);
    let [e1, e2, e3] = s.reads().await;
    assert!(ok(&e1) && ok(&e2) && ok(&e3));

    // A disabled inbound scope lets every job token in with its user's role.
    s.patch_entry(json!({ "default_permissions": false })).await;
    assert_eq!(
        s.reads().await[0],
        (StatusCode::FORBIDDEN, insufficient("b", "read_jobs"))
    );
    s.t.patch(&s.scope())
        .token(ROOT_TOKEN)
        .json(json!({ "enabled": false }))
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let [e1, e2, e3] = s.reads().await;
    assert!(ok(&e1) && ok(&e2) && ok(&e3));
}

#[tokio::test]
async fn public_projects_with_open_features_skip_the_policy_on_e2_and_e3_only() {
    let s = setup(json!({ "visibility": "public" })).await;
    s.t.post(&format!("{}/allowlist", s.scope()))
        .token(ROOT_TOKEN)
        .json(json!({ "target_project_id": s.a, "default_permissions": false }))
        .await
        .expect_status(StatusCode::CREATED);
    let [e1, e2, e3] = s.reads().await;
    assert_eq!(e1, (StatusCode::FORBIDDEN, insufficient("b", "read_jobs")));
    assert!(ok(&e2) && ok(&e3), "{e2:?} {e3:?}");

    // CI/CD for members only: no exemption any more.
    s.t.put(&format!("/api/v4/projects/{}", s.b))
        .token(ROOT_TOKEN)
        .json(json!({ "builds_access_level": "private" }))
        .await
        .expect_status(StatusCode::OK);
    let [_, e2, e3] = s.reads().await;
    assert_eq!(e2, (StatusCode::FORBIDDEN, insufficient("b", "read_jobs")));
    assert_eq!(
        e3,
        (StatusCode::FORBIDDEN, insufficient("b", "read_pipelines"))
    );
}

#[tokio::test]
async fn a_public_project_out_of_scope_needs_an_entry_once_policies_are_on() {
    // Not on the allowlist at all: the token is worth anonymous access, and once the
    // project uses fine-grained permissions, E1 asks for a policy it cannot have.
    let s = setup(json!({ "visibility": "public" })).await;
    let [e1, _, _] = s.reads().await;
    assert!(ok(&e1), "{e1:?}");
    let other =
        s.t.create_project(ROOT_TOKEN, json!({ "name": "other" }))
            .await;
    s.t.post(&format!("{}/allowlist", s.scope()))
        .token(ROOT_TOKEN)
        .json(json!({ "target_project_id": other["id"], "default_permissions": false }))
        .await
        .expect_status(StatusCode::CREATED);
    let [e1, e2, _] = s.reads().await;
    assert_eq!(e1, (StatusCode::FORBIDDEN, insufficient("b", "read_jobs")));
    assert!(ok(&e2), "{e2:?}");
}

#[tokio::test]
async fn artifact_downloads_need_read_jobs_too() {
    let s = setup(json!({})).await;
    s.t.post(&format!("{}/allowlist", s.scope()))
        .token(ROOT_TOKEN)
        .json(json!({ "target_project_id": s.a, "default_permissions": false }))
        .await
        .expect_status(StatusCode::CREATED);
    let job =
        s.t.get(&format!(
            "/api/v4/projects/{}/pipelines/{}/jobs",
            s.b, s.b_pipeline
        ))
        .token(ROOT_TOKEN)
        .await
        .json()[0]["id"]
            .as_i64()
            .expect("job");
    let paths = [
        format!("/api/v4/projects/{}/jobs/{job}/artifacts", s.b),
        format!("/api/v4/projects/{}/jobs/{job}/artifacts/out.txt", s.b),
        format!(
            "/api/v4/projects/{}/jobs/artifacts/main/download?job=build",
            s.b
        ),
    ];
    for path in &paths {
        let response = s.t.get(path).job_token(&s.token).await;
        assert_eq!(
            (response.status, response.json()),
            (StatusCode::FORBIDDEN, insufficient("b", "read_jobs")),
            "{path}"
        );
    }
    // With the policy the request gets past the project: the job has no artifacts.
    s.patch_entry(json!({ "job_token_policies": ["read_jobs"] }))
        .await;
    for path in &paths {
        let response = s.t.get(path).job_token(&s.token).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
}
