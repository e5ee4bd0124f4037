//! Projects: creation, lookup by id and path, visibility, members.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::ordered::is_timestamp;
use crate::common::{EXTERNAL_URL, ROOT_TOKEN, TestApp};

fn not_found() -> Value {
    json!({ "message": "404 Project Not Found" })
}

#[tokio::test]
async fn create_project_with_defaults() {
    let t = TestApp::new().await;
    let mut project = t
        .create_project(ROOT_TOKEN, json!({ "name": "My Demo" }))
        .await;
    for key in ["created_at", "last_activity_at"] {
        assert!(is_timestamp(project[key].as_str().expect(key)), "{key}");
        project[key] = json!("[timestamp]");
    }
    assert_eq!(
        project,
        json!({
            "id": 1,
            "description": null,
            "name": "My Demo",
            "name_with_namespace": "Administrator / My Demo",
            "path": "my-demo",
            "path_with_namespace": "root/my-demo",
            "created_at": "[timestamp]",
            "default_branch": "main",
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": "git@pw.example:root/my-demo.git",
            "http_url_to_repo": format!("{EXTERNAL_URL}/root/my-demo.git"),
            "web_url": format!("{EXTERNAL_URL}/root/my-demo"),
            "readme_url": null,
            "forks_count": 0,
            "avatar_url": null,
            "star_count": 0,
            "last_activity_at": "[timestamp]",
            "namespace": {
                "id": 1,
                "name": "Administrator",
                "path": "root",
                "kind": "user",
                "full_path": "root",
                "parent_id": null,
                "avatar_url": null,
                "web_url": format!("{EXTERNAL_URL}/root"),
            },
            "visibility": "private",
            "archived": false,
            "empty_repo": true,
            "creator_id": 1,
            "public_jobs": true,
            "ci_config_path": ".gitlab-ci.yml",
            "ci_forward_deployment_enabled": true,
            "ci_forward_deployment_rollback_allowed": true,
            "ci_job_token_scope_enabled": false,
            "ci_pipeline_variables_minimum_override_role": "developer",
            "jobs_enabled": true,
            "builds_access_level": "enabled",
            "repository_access_level": "enabled",
        })
    );
}

#[tokio::test]
async fn create_project_with_attributes() {
    let t = TestApp::new().await;
    let project = t
        .create_project(
            ROOT_TOKEN,
            json!({
                "name": "Shop",
                "path": "the-shop",
                "description": "sells things",
                "visibility": "public",
                "default_branch": "trunk",
                "initialize_with_readme": true,
                "public_jobs": false,
                "ci_pipeline_variables_minimum_override_role": "maintainer",
            }),
        )
        .await;
    assert_eq!(project["path_with_namespace"], "root/the-shop");
    assert_eq!(project["description"], "sells things");
    assert_eq!(project["visibility"], "public");
    assert_eq!(project["default_branch"], "trunk");
    assert_eq!(project["empty_repo"], false);
    assert_eq!(project["public_jobs"], false);
    assert_eq!(
        project["ci_pipeline_variables_minimum_override_role"],
        "maintainer"
    );
    // The README is on the default branch.
    let branches = t
        .get("/api/v4/projects/1/repository/branches")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(branches[0]["name"], "trunk");
    assert_eq!(branches[0]["commit"]["title"], "Initial commit");

    // A path alone names the project too.
    let by_path = t
        .create_project(ROOT_TOKEN, json!({ "path": "only-path" }))
        .await;
    assert_eq!(by_path["name"], "only-path");
    assert_eq!(by_path["path"], "only-path");
    // A regular user's project lives in their namespace.
    let alice = t.create_user("alice").await;
    let own = t
        .create_project(
            &alice.token,
            json!({ "name": "mine", "visibility": "internal" }),
        )
        .await;
    assert_eq!(own["path_with_namespace"], "alice/mine");
    assert_eq!(own["namespace"]["kind"], "user");
    assert_eq!(own["creator_id"], alice.id);
}

#[tokio::test]
async fn project_creation_errors() {
    let t = TestApp::new().await;
    let response = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "description": "no name" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "name, path are missing, at least one parameter must be provided" })
    );
    let response = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "x", "visibility": "secret" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "visibility does not have a valid value" })
    );
    let response = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "x", "ci_pipeline_variables_minimum_override_role": "guest" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "ci_pipeline_variables_minimum_override_role does not have a valid value" })
    );
    let response = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "x", "path": "-bad-" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert!(
        response.json()["message"]["path"].is_array(),
        "{}",
        response.text()
    );
    t.post("/api/v4/projects")
        .json(json!({ "name": "x" }))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn duplicate_path_is_400() {
    let t = TestApp::new().await;
    t.create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    for body in [
        json!({ "name": "demo" }),
        json!({ "name": "Other", "path": "demo" }),
    ] {
        let response = t
            .post("/api/v4/projects")
            .token(ROOT_TOKEN)
            .json(body)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(
            response.json()["message"]["path"],
            json!(["has already been taken"]),
            "{}",
            response.text()
        );
    }
    // The same path in another namespace is fine.
    let alice = t.create_user("alice").await;
    t.create_project(&alice.token, json!({ "name": "demo" }))
        .await;
}

#[tokio::test]
async fn get_project_by_id_and_by_encoded_path() {
    let t = TestApp::new().await;
    let created = t
        .create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    for id in ["1", "root%2Fdemo", "ROOT%2FDemo"] {
        let project = t
            .get(&format!("/api/v4/projects/{id}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .json();
        assert_eq!(project, created, "{id}");
    }
    for id in ["demo", "999", "-1", "root%2Fnope"] {
        let response = t
            .get(&format!("/api/v4/projects/{id}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::NOT_FOUND);
        assert_eq!(response.json(), not_found(), "{id}");
    }
}

#[tokio::test]
async fn private_projects_are_hidden_from_outsiders_and_anonymous() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    t.create_project(ROOT_TOKEN, json!({ "name": "secret" }))
        .await;
    for response in [
        t.get("/api/v4/projects/1").token(&alice.token).await,
        t.get("/api/v4/projects/1").await,
        t.get("/api/v4/projects/root%2Fsecret").await,
    ] {
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.json(), not_found());
    }
}

#[tokio::test]
async fn visibility_decides_who_sees_a_project() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    t.create_project(
        ROOT_TOKEN,
        json!({ "name": "open", "visibility": "public" }),
    )
    .await;
    t.create_project(
        ROOT_TOKEN,
        json!({ "name": "corp", "visibility": "internal" }),
    )
    .await;
    t.get("/api/v4/projects/1")
        .await
        .expect_status(StatusCode::OK);
    t.get("/api/v4/projects/1")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    t.get("/api/v4/projects/2")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    let response = t
        .get("/api/v4/projects/2")
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), not_found());
}

#[tokio::test]
async fn maintainers_add_members() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let bob = t.create_user("bob").await;
    t.create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    t.get("/api/v4/projects/1")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::NOT_FOUND);

    let mut member = t
        .post("/api/v4/projects/1/members")
        .token(ROOT_TOKEN)
        .json(json!({ "user_id": alice.id, "access_level": 30 }))
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert!(is_timestamp(
        member["created_at"].as_str().expect("created_at")
    ));
    member["created_at"] = json!("[timestamp]");
    assert_eq!(
        member,
        json!({
            "id": alice.id,
            "username": "alice",
            "name": "User alice",
            "state": "active",
            "locked": false,
            "avatar_url": null,
            "web_url": format!("{EXTERNAL_URL}/alice"),
            "access_level": 30,
            "created_at": "[timestamp]",
            "expires_at": null,
        })
    );
    // Now a member, alice sees the project; as a Developer she may not add members.
    t.get("/api/v4/projects/1")
        .token(&alice.token)
        .await
        .expect_status(StatusCode::OK);
    let response = t
        .post("/api/v4/projects/1/members")
        .token(&alice.token)
        .form(&format!("user_id={}&access_level=20", bob.id))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    // bob, not a member, does not even see it.
    let response = t
        .post("/api/v4/projects/1/members")
        .token(&bob.token)
        .json(json!({ "user_id": bob.id, "access_level": 50 }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), not_found());
}

#[tokio::test]
async fn member_errors() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    t.create_project(ROOT_TOKEN, json!({ "name": "demo" }))
        .await;
    let add = |body: Value| {
        t.post("/api/v4/projects/1/members")
            .token(ROOT_TOKEN)
            .json(body)
    };
    add(json!({ "user_id": alice.id, "access_level": 30 }))
        .await
        .expect_status(StatusCode::CREATED);
    let response = add(json!({ "user_id": alice.id, "access_level": 40 }))
        .await
        .expect_status(StatusCode::CONFLICT);
    assert_eq!(
        response.json(),
        json!({ "message": "Member already exists" })
    );
    let response = add(json!({ "user_id": 999, "access_level": 30 }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({ "message": "404 User Not Found" }));
    for (body, error) in [
        (json!({ "access_level": 30 }), "user_id is missing"),
        (json!({ "user_id": alice.id }), "access_level is missing"),
        (
            json!({ "user_id": alice.id, "access_level": 35 }),
            "access_level does not have a valid value",
        ),
        (
            json!({ "user_id": "x", "access_level": 30 }),
            "user_id is invalid",
        ),
    ] {
        let response = add(body).await.expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }));
    }
}

/// GitLab validates `name` unique per namespace, like `path`.
#[tokio::test]
async fn duplicate_name_in_a_namespace_is_400() {
    let t = TestApp::new().await;
    t.create_project(ROOT_TOKEN, json!({ "name": "Demo", "path": "demo" }))
        .await;
    let response = t
        .post("/api/v4/projects")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "Demo", "path": "demo2" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json()["message"]["name"],
        json!(["has already been taken"])
    );
}
