//! Project feature access levels (`builds_access_level`, `repository_access_level`) through
//! the router: the project API, every row of jobs-api.md §2's visibility × role table for
//! `read_build`, what disabling CI/CD or the repository withdraws, and git clones.

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use common::{ROOT_TOKEN, TestApp, TestUser};
use serde_json::{Value, json};

const ONE_JOB: &str = "build:\n  script: echo hi\n";

async fn add_project_member(t: &TestApp, project: i64, user: &TestUser, level: i64) {
    t.post(&format!("/api/v4/projects/{project}/members"))
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": user.id, "access_level": level }))
        .await
        .expect_status(StatusCode::CREATED);
}

fn levels(project: &Value) -> (Value, Value, Value) {
    (
        project["builds_access_level"].clone(),
        project["repository_access_level"].clone(),
        project["jobs_enabled"].clone(),
    )
}

// ---- the project API -------------------------------------------------------------------

#[tokio::test]
async fn feature_levels_default_to_enabled_and_are_set_on_create_and_update() {
    let t = TestApp::new().await;
    let created = t.create_project(ROOT_TOKEN, json!({ "name": "p" })).await;
    assert_eq!(
        levels(&created),
        (json!("enabled"), json!("enabled"), json!(true))
    );

    let private = t
        .create_project(
            ROOT_TOKEN,
            json!({ "name": "q", "builds_access_level": "private", "repository_access_level": "private" }),
        )
        .await;
    assert_eq!(
        levels(&private),
        (json!("private"), json!("private"), json!(true))
    );
    let id = private["id"].as_i64().expect("id");

    let updated = t
        .put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "builds_access_level": "disabled" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        levels(&updated),
        (json!("disabled"), json!("private"), json!(false))
    );
    let read = t
        .get(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        levels(&read),
        (json!("disabled"), json!("private"), json!(false))
    );
}

#[tokio::test]
async fn the_levels_sit_where_gitlab_puts_them_in_the_entity() {
    let t = TestApp::new().await;
    let created = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "p" }))
        .await
        .expect_status(StatusCode::CREATED);
    let ordered = created.ordered();
    let keys = ordered.keys();
    let at = |key: &str| keys.iter().position(|k| *k == key).expect(key);
    assert!(at("empty_repo") < at("jobs_enabled"));
    assert!(at("jobs_enabled") < at("repository_access_level"));
    assert!(at("repository_access_level") < at("builds_access_level"));
    assert!(at("builds_access_level") < at("creator_id"));
}

#[tokio::test]
async fn invalid_levels_are_refused() {
    let t = TestApp::new().await;
    let response = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "p", "builds_access_level": "public" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "builds_access_level does not have a valid value" })
    );
    // CI/CD may not be more visible than the repository; nothing is created.
    let response = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "p", "repository_access_level": "disabled" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "message": { "project_feature.builds_access_level": ["cannot have higher visibility level than repository access level"] } })
    );
    t.get("/api/v4/projects/root%2Fp")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);

    let project = t.create_project(ROOT_TOKEN, json!({ "name": "p" })).await;
    let id = project["id"].as_i64().expect("id");
    let response = t
        .put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "repository_access_level": "bogus" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "repository_access_level does not have a valid value" })
    );
    let response = t
        .put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "repository_access_level": "private" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "message": { "project_feature.builds_access_level": ["cannot have higher visibility level than repository access level"] } })
    );
    // Both at once is fine.
    let both = t
        .put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "repository_access_level": "private", "builds_access_level": "private" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        levels(&both),
        (json!("private"), json!("private"), json!(true))
    );
}

// ---- jobs-api.md §2: visibility × role for read_build ----------------------------------

/// What a caller gets: the job list (`yes`), `403 Forbidden` (`no`) or `404 Project Not
/// Found` (the project is hidden).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Yes,
    No,
    Hidden,
}
use Outcome::{Hidden, No, Yes};

struct Row {
    visibility: &'static str,
    builds: &'static str,
    public_jobs: bool,
    anonymous: Outcome,
    outsider: Outcome,
    guest: Outcome,
    reporter: Outcome,
}

/// Every row of the table; "any" rows are spelled out for both values.
const TABLE: [Row; 13] = [
    row("private", "enabled", true, [Hidden, Hidden, Yes, Yes]),
    row("private", "private", true, [Hidden, Hidden, Yes, Yes]),
    row("private", "enabled", false, [Hidden, Hidden, No, Yes]),
    row("private", "private", false, [Hidden, Hidden, No, Yes]),
    row("internal", "enabled", true, [Hidden, Yes, Yes, Yes]),
    row("internal", "enabled", false, [Hidden, No, No, Yes]),
    row("internal", "private", true, [Hidden, No, Yes, Yes]),
    row("internal", "private", false, [Hidden, No, No, Yes]),
    row("public", "enabled", true, [Yes, Yes, Yes, Yes]),
    row("public", "enabled", false, [No, No, No, Yes]),
    row("public", "private", true, [No, No, Yes, Yes]),
    row("public", "private", false, [No, No, No, Yes]),
    // Disabled CI/CD: nobody, administrators included (checked below too).
    row("public", "disabled", true, [No, No, No, No]),
];

const fn row(
    visibility: &'static str,
    builds: &'static str,
    public_jobs: bool,
    [anonymous, outsider, guest, reporter]: [Outcome; 4],
) -> Row {
    Row {
        visibility,
        builds,
        public_jobs,
        anonymous,
        outsider,
        guest,
        reporter,
    }
}

fn expected_body(outcome: Outcome, yes: Value) -> Value {
    match outcome {
        Yes => yes,
        No => json!({ "message": "403 Forbidden" }),
        Hidden => json!({ "message": "404 Project Not Found" }),
    }
}

fn expected_status(outcome: Outcome) -> StatusCode {
    match outcome {
        Yes => StatusCode::OK,
        No => StatusCode::FORBIDDEN,
        Hidden => StatusCode::NOT_FOUND,
    }
}

#[tokio::test]
async fn read_build_follows_every_row_of_the_visibility_table() {
    let t = TestApp::new().await;
    let outsider = t.create_user("outsider").await;
    let guest = t.create_user("guest").await;
    let reporter = t.create_user("reporter").await;
    for (index, row) in TABLE.iter().enumerate() {
        let name = format!("p{index}");
        // A disabled CI/CD cannot run a pipeline: the job comes first, then CI/CD goes off.
        let builds = if row.builds == "disabled" {
            "enabled"
        } else {
            row.builds
        };
        let ci = t
            .project_with_ci_as(
                ROOT_TOKEN,
                &name,
                json!({
                    "visibility": row.visibility,
                    "builds_access_level": builds,
                    "public_jobs": row.public_jobs,
                }),
                ONE_JOB,
            )
            .await;
        if row.builds == "disabled" {
            t.put(&format!("/api/v4/projects/{}", ci.project_id))
                .token(ROOT_TOKEN)
                .json(json!({ "builds_access_level": "disabled" }))
                .await
                .expect_status(StatusCode::OK);
        }
        add_project_member(&t, ci.project_id, &guest, 10).await;
        add_project_member(&t, ci.project_id, &reporter, 20).await;
        let job = t
            .get(&format!(
                "/api/v4/projects/{}/pipelines/{}/jobs",
                ci.project_id, ci.pipeline_id
            ))
            .token(ROOT_TOKEN)
            .await
            .json()[0]["id"]
            .as_i64();
        let bridges = format!(
            "/api/v4/projects/{}/pipelines/{}/bridges",
            ci.project_id, ci.pipeline_id
        );
        let callers: [(&str, Option<&str>, Outcome); 4] = [
            ("anonymous", None, row.anonymous),
            ("outsider", Some(&outsider.token), row.outsider),
            ("guest", Some(&guest.token), row.guest),
            ("reporter", Some(&reporter.token), row.reporter),
        ];
        for (who, token, outcome) in callers {
            let context = format!(
                "{} / CI/CD {} / public_jobs {} / {who}",
                row.visibility, row.builds, row.public_jobs
            );
            // E3 answers anonymous callers too and checks exactly `read_build`.
            let mut request = t.get(&bridges);
            if let Some(token) = token {
                request = request.token(token);
            }
            let response = request.await;
            assert_eq!(response.status, expected_status(outcome), "E3 {context}");
            assert_eq!(
                response.json(),
                expected_body(outcome, json!([])),
                "E3 {context}"
            );

            // E1 and E6 need a signed-in caller.
            let Some(token) = token else {
                let response = t
                    .get(&format!("/api/v4/projects/{}/jobs", ci.project_id))
                    .await;
                assert_eq!(response.status, StatusCode::UNAUTHORIZED, "E1 {context}");
                assert_eq!(response.json(), json!({ "message": "401 Unauthorized" }));
                continue;
            };
            if let Some(job) = job {
                let response = t
                    .get(&format!("/api/v4/projects/{}/jobs/{job}", ci.project_id))
                    .token(token)
                    .await;
                assert_eq!(response.status, expected_status(outcome), "E6 {context}");
                if outcome == Yes {
                    assert_eq!(response.json()["id"], job, "E6 {context}");
                } else {
                    assert_eq!(response.json(), expected_body(outcome, json!(null)));
                }
            }
            let response = t
                .get(&format!("/api/v4/projects/{}/jobs", ci.project_id))
                .token(token)
                .await;
            assert_eq!(response.status, expected_status(outcome), "E1 {context}");
            if outcome == Yes {
                assert_eq!(response.json().as_array().map(Vec::len), Some(1));
            } else {
                assert_eq!(response.json(), expected_body(outcome, json!(null)));
            }
        }
    }
}

// ---- what a disabled feature withdraws -------------------------------------------------

#[tokio::test]
async fn disabled_ci_cd_or_repository_withdraws_jobs_and_pipelines_from_everybody() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "p",
            json!({ "visibility": "public" }),
            "build:\n  script: echo hi\nmanual:\n  script: echo m\n  when: manual\n",
        )
        .await;
    let jobs = format!("/api/v4/projects/{}/jobs", ci.project_id);
    let listed = t
        .get(&jobs)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    let ids: Vec<i64> = listed
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|job| job["id"].as_i64())
        .collect();
    let pipeline_jobs = format!(
        "/api/v4/projects/{}/pipelines/{}/jobs",
        ci.project_id, ci.pipeline_id
    );
    let pipeline = format!(
        "/api/v4/projects/{}/pipelines/{}",
        ci.project_id, ci.pipeline_id
    );
    let forbidden = json!({ "message": "403 Forbidden" });

    for (builds, repository) in [("disabled", "enabled"), ("disabled", "disabled")] {
        t.put(&format!("/api/v4/projects/{}", ci.project_id))
            .token(ROOT_TOKEN)
            .json(json!({ "builds_access_level": builds, "repository_access_level": repository }))
            .await
            .expect_status(StatusCode::OK);
        // The administrator (an owner here) reads nothing and may act on nothing.
        for path in [&jobs, &pipeline_jobs, &pipeline] {
            let response = t.get(path).token(ROOT_TOKEN).await;
            assert_eq!(
                response.status,
                StatusCode::FORBIDDEN,
                "{path} {repository}"
            );
            assert_eq!(response.json(), forbidden, "{path}");
        }
        for (job, action) in [(ids[1], "cancel"), (ids[0], "play"), (ids[1], "erase")] {
            let response = t
                .post(&format!("{jobs}/{job}/{action}"))
                .token(ROOT_TOKEN)
                .await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{action}");
            assert_eq!(response.json(), forbidden, "{action}");
        }
    }
}

#[tokio::test]
async fn private_ci_cd_hides_pipelines_from_non_members_of_a_public_project() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "p",
            json!({ "visibility": "public", "builds_access_level": "private" }),
            ONE_JOB,
        )
        .await;
    let outsider = t.create_user("outsider").await;
    let guest = t.create_user("guest").await;
    add_project_member(&t, ci.project_id, &guest, 10).await;
    let pipeline_jobs = format!(
        "/api/v4/projects/{}/pipelines/{}/jobs",
        ci.project_id, ci.pipeline_id
    );
    // `read_pipeline` is gone for callers who cannot see CI/CD.
    for token in [None, Some(outsider.token.as_str())] {
        let mut request = t.get(&pipeline_jobs);
        if let Some(token) = token {
            request = request.token(token);
        }
        let response = request.await.expect_status(StatusCode::FORBIDDEN);
        assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    }
    // A Guest sees the pipeline and, with public jobs, its jobs.
    let listed = t
        .get(&pipeline_jobs)
        .token(&guest.token)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    // `jobs_enabled` is whether the caller can see CI/CD.
    let path = format!("/api/v4/projects/{}", ci.project_id);
    let as_outsider = t.get(&path).token(&outsider.token).await.json();
    assert_eq!(as_outsider["jobs_enabled"], false);
    let as_guest = t.get(&path).token(&guest.token).await.json();
    assert_eq!(as_guest["jobs_enabled"], true);
}

#[tokio::test]
async fn developers_cannot_run_jobs_when_ci_cd_is_disabled_but_can_when_private() {
    let t = TestApp::new().await;
    let ci = t
        .project_with_ci_as(
            ROOT_TOKEN,
            "p",
            json!({ "builds_access_level": "private" }),
            "manual:\n  script: echo m\n  when: manual\n",
        )
        .await;
    let dev = t.create_user("dev").await;
    add_project_member(&t, ci.project_id, &dev, 30).await;
    // main is protected; a feature branch is not. Private CI/CD is a member's: play works.
    t.post(&format!(
        "/api/v4/projects/{}/repository/commits",
        ci.project_id
    ))
    .token(ROOT_TOKEN)
    .json(json!({
        "branch": "feature",
        "start_branch": "main",
        "commit_message": "feature",
        "actions": [{ "action": "create", "file_path": "f.txt", "content": "x" }],
    }))
    .await
    .expect_status(StatusCode::CREATED);
    let pipeline = t.latest_pipeline(&dev.token, ci.project_id).await;
    assert_eq!(pipeline["ref"], "feature");
    let feature_job = t
        .get(&format!(
            "/api/v4/projects/{}/pipelines/{}/jobs",
            ci.project_id, pipeline["id"]
        ))
        .token(&dev.token)
        .await
        .expect_status(StatusCode::OK)
        .json()[0]["id"]
        .as_i64()
        .expect("job");
    let play = format!("/api/v4/projects/{}/jobs/{feature_job}/play", ci.project_id);
    t.post(&play)
        .token(&dev.token)
        .await
        .expect_status(StatusCode::OK);
    t.put(&format!("/api/v4/projects/{}", ci.project_id))
        .token(ROOT_TOKEN)
        .json(json!({ "builds_access_level": "disabled" }))
        .await
        .expect_status(StatusCode::OK);
    let cancel = format!(
        "/api/v4/projects/{}/jobs/{feature_job}/cancel",
        ci.project_id
    );
    let response = t
        .post(&cancel)
        .token(&dev.token)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
}

// ---- git over HTTP ---------------------------------------------------------------------

#[tokio::test]
async fn git_clones_are_refused_when_the_repository_is_not_available() {
    use base64::Engine;
    let t = TestApp::new().await;
    let project = t
        .create_project(
            ROOT_TOKEN,
            json!({ "name": "p", "visibility": "public", "initialize_with_readme": true }),
        )
        .await;
    let id = project["id"].as_i64().expect("id");
    let outsider = t.create_user("outsider").await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("outsider:{}", outsider.token))
    );
    let refs = "/root/p.git/info/refs?service=git-upload-pack";
    t.get(refs).await.expect_status(StatusCode::OK);
    t.get(refs)
        .header("authorization", &basic)
        .await
        .expect_status(StatusCode::OK);

    // Members only: outsiders are refused, anonymous callers asked for credentials.
    t.put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "builds_access_level": "private", "repository_access_level": "private" }))
        .await
        .expect_status(StatusCode::OK);
    let refused = t
        .get(refs)
        .header("authorization", &basic)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        refused.text(),
        "You are not allowed to download code from this project.\n"
    );
    let anonymous = t.get(refs).await.expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Basic realm=\"GitLab\"")
    );
    let root_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("root:{ROOT_TOKEN}"))
    );
    t.get(refs)
        .header("authorization", &root_basic)
        .await
        .expect_status(StatusCode::OK);

    // Disabled: nobody, administrators included.
    t.put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "builds_access_level": "disabled", "repository_access_level": "disabled" }))
        .await
        .expect_status(StatusCode::OK);
    let refused = t
        .get(refs)
        .header("authorization", &root_basic)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        refused.text(),
        "You are not allowed to download code from this project.\n"
    );
}

#[tokio::test]
async fn the_deprecated_jobs_enabled_flag_sets_the_ci_cd_level() {
    let t = TestApp::new().await;
    let created = t
        .create_project(ROOT_TOKEN, json!({ "name": "p", "jobs_enabled": false }))
        .await;
    assert_eq!(
        levels(&created),
        (json!("disabled"), json!("enabled"), json!(false))
    );
    let id = created["id"].as_i64().expect("id");
    let updated = t
        .put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "jobs_enabled": true }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        levels(&updated),
        (json!("enabled"), json!("enabled"), json!(true))
    );
    // The level itself wins over the flag.
    let both = t
        .put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "jobs_enabled": false, "builds_access_level": "private" }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        levels(&both),
        (json!("private"), json!("enabled"), json!(true))
    );
}

#[tokio::test]
async fn pushes_create_no_pipeline_while_ci_cd_is_disabled() {
    let t = TestApp::new().await;
    let project = t
        .create_project(
            ROOT_TOKEN,
            json!({ "name": "p", "builds_access_level": "disabled" }),
        )
        .await;
    let id = project["id"].as_i64().expect("id");
    t.commit(
        ROOT_TOKEN,
        id,
        "main",
        json!([{ "action": "create", "file_path": ".gitlab-ci.yml", "content": ONE_JOB }]),
    )
    .await;
    t.put(&format!("/api/v4/projects/{id}"))
        .token(ROOT_TOKEN)
        .json(json!({ "builds_access_level": "enabled" }))
        .await
        .expect_status(StatusCode::OK);
    let pipelines = t
        .get(&format!("/api/v4/projects/{id}/pipelines"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(pipelines, json!([]));
    // Once CI/CD is on again, the next push runs.
    t.update_ci(ROOT_TOKEN, id, "other:\n  script: echo again\n")
        .await;
}
