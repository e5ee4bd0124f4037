//! Users and personal access tokens (platform-api.md "Users and tokens").

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::ordered::is_timestamp;
use crate::common::{EXTERNAL_URL, ROOT_TOKEN, TestApp, assert_json_content_type};

/// Checks `created_at` is a timestamp and replaces it, so the rest compares exactly.
#[track_caller]
fn without_created_at(mut user: Value) -> Value {
    let created = user["created_at"].as_str().expect("created_at");
    assert!(is_timestamp(created), "{created}");
    user["created_at"] = json!("[timestamp]");
    user
}

fn public_user(id: i64, username: &str, name: &str) -> Value {
    json!({
        "id": id,
        "username": username,
        "name": name,
        "state": "active",
        "locked": false,
        "avatar_url": null,
        "web_url": format!("{EXTERNAL_URL}/{username}"),
        "created_at": "[timestamp]",
        "bio": "",
        "location": "",
        "public_email": null,
        "skype": "",
        "linkedin": "",
        "twitter": "",
        "discord": "",
        "website_url": "",
        "organization": "",
        "job_title": "",
        "pronouns": null,
        "bot": false,
        "work_information": null,
        "followers": 0,
        "following": 0,
        "is_followed": false,
        "local_time": null,
    })
}

fn current_user(id: i64, username: &str, name: &str, email: &str, admin: bool) -> Value {
    let mut user = public_user(id, username, name);
    let extra = json!({
        "email": email,
        "is_admin": admin,
        "can_create_project": true,
        "can_create_group": true,
        "two_factor_enabled": false,
        "external": false,
        "private_profile": false,
    });
    if let (Some(user), Value::Object(extra)) = (user.as_object_mut(), extra) {
        user.extend(extra);
    }
    user
}

#[tokio::test]
async fn current_user_is_root() {
    let t = TestApp::new().await;
    let response = t
        .get("/api/v4/user")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK);
    assert_json_content_type(&response);
    assert_eq!(
        without_created_at(response.json()),
        current_user(1, "root", "Administrator", "admin@example.com", true)
    );
}

#[tokio::test]
async fn admin_creates_users() {
    let t = TestApp::new().await;
    let response = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({
            "username": "alice",
            "name": "Alice Liddell",
            "email": "alice@example.com",
            "password": "s3cret-password",
        }))
        .await
        .expect_status(StatusCode::CREATED);
    assert_json_content_type(&response);
    assert_eq!(
        without_created_at(response.json()),
        current_user(2, "alice", "Alice Liddell", "alice@example.com", false)
    );

    // Form-encoded bodies work the same, and `admin` makes an administrator.
    let admin = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .form("username=boss&name=Boss&email=boss%40example.com&admin=true")
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(admin["is_admin"], true);
    assert_eq!(admin["email"], "boss@example.com");
}

#[tokio::test]
async fn duplicate_username_or_email_is_409() {
    let t = TestApp::new().await;
    t.create_user("alice").await;
    let duplicate_username = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({ "username": "alice", "name": "A2", "email": "other@example.com" }))
        .await
        .expect_status(StatusCode::CONFLICT);
    assert_eq!(
        duplicate_username.json(),
        json!({ "message": "Username has already been taken" })
    );
    let duplicate_email = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({ "username": "alice2", "name": "A2", "email": "alice@example.com" }))
        .await
        .expect_status(StatusCode::CONFLICT);
    assert_eq!(
        duplicate_email.json(),
        json!({ "message": "Email has already been taken" })
    );
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case() {
    let t = TestApp::new().await;
    t.create_user("alice").await;
    let response = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({ "username": "ALICE", "name": "A", "email": "a2@example.com" }))
        .await
        .expect_status(StatusCode::CONFLICT);
    assert_eq!(
        response.json(),
        json!({ "message": "Username has already been taken" })
    );
}

#[tokio::test]
async fn only_admins_create_users() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let response = t
        .post("/api/v4/users")
        .token(&alice.token)
        .json(json!({ "username": "bob", "name": "Bob", "email": "bob@example.com" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
    t.post("/api/v4/users")
        .json(json!({ "username": "bob", "name": "Bob", "email": "bob@example.com" }))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_user_params_are_400() {
    let t = TestApp::new().await;
    let response = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({ "username": "bob", "name": "Bob" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), json!({ "error": "email is missing" }));

    let response = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "Bob", "email": "bob@example.com" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json(), json!({ "error": "username is missing" }));
}

/// Grape reports every failed parameter, joined with ", " in declaration order (§1.2).
#[tokio::test]
async fn all_missing_user_params_are_reported_together() {
    let t = TestApp::new().await;
    let response = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "email is missing, name is missing, username is missing" })
    );
}

#[tokio::test]
async fn invalid_username_and_email_are_field_errors() {
    let t = TestApp::new().await;
    let response = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({ "username": "-bad", "name": "B", "email": "b@example.com" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert!(
        response.json()["message"]["username"].is_array(),
        "{}",
        response.text()
    );
    let response = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({ "username": "bob", "name": "B", "email": "not-an-email" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "message": { "email": ["is invalid"] } })
    );
}

#[tokio::test]
async fn get_user_by_id() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let user = t
        .get(&format!("/api/v4/users/{}", alice.id))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        without_created_at(user),
        public_user(alice.id, "alice", "User alice")
    );
    let response = t
        .get("/api/v4/users/999")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({ "message": "404 User Not Found" }));
}

#[tokio::test]
async fn find_users_by_username() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    t.create_user("bob").await;
    for query in ["alice", "ALICE"] {
        let users = t
            .get(&format!("/api/v4/users?username={query}"))
            .token(ROOT_TOKEN)
            .await
            .expect_status(StatusCode::OK)
            .json();
        let users = users.as_array().expect("array");
        assert_eq!(users.len(), 1, "{query}");
        assert_eq!(users[0]["id"], alice.id);
        assert_eq!(users[0]["username"], "alice");
        assert!(
            users[0].get("email").is_none(),
            "no private fields in lists"
        );
    }
    let none = t
        .get("/api/v4/users?username=nobody")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(none, json!([]));
}

#[tokio::test]
async fn admin_creates_tokens_shown_once() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let response = t
        .post(&format!(
            "/api/v4/users/{}/personal_access_tokens",
            alice.id
        ))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "ci", "scopes": ["api", "read_api"], "expires_at": "2099-01-31" }))
        .await
        .expect_status(StatusCode::CREATED);
    let mut token = response.json();
    let clear = token["token"].as_str().expect("token").to_owned();
    assert!(clear.starts_with("glpat-"), "{clear}");
    assert!(token["id"].is_i64());
    assert!(is_timestamp(
        token["created_at"].as_str().expect("created_at")
    ));
    token["id"] = json!("[id]");
    token["created_at"] = json!("[timestamp]");
    token["token"] = json!("[token]");
    assert_eq!(
        token,
        json!({
            "id": "[id]",
            "name": "ci",
            "revoked": false,
            "created_at": "[timestamp]",
            "description": null,
            "scopes": ["api", "read_api"],
            "user_id": alice.id,
            "last_used_at": null,
            "active": true,
            "expires_at": "2099-01-31",
            "token": "[token]",
        })
    );
    let me = t
        .get("/api/v4/user")
        .token(&clear)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(me["id"], alice.id);

    // Scopes may also come as one comma-separated form value.
    let form = t
        .post(&format!(
            "/api/v4/users/{}/personal_access_tokens",
            alice.id
        ))
        .token(ROOT_TOKEN)
        .form("name=f&scopes=read_api")
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_eq!(form["scopes"], json!(["read_api"]));
}

#[tokio::test]
async fn token_params_are_validated() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let path = format!("/api/v4/users/{}/personal_access_tokens", alice.id);
    for (body, error) in [
        (json!({ "scopes": ["api"] }), "name is missing"),
        (json!({ "name": "x" }), "scopes is missing"),
        (
            json!({ "name": "x", "scopes": ["api"], "expires_at": "tomorrow" }),
            "expires_at is invalid",
        ),
    ] {
        let response = t
            .post(&path)
            .token(ROOT_TOKEN)
            .json(body)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "error": error }));
    }
    let response = t
        .post("/api/v4/users/999/personal_access_tokens")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "x", "scopes": ["api"] }))
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(response.json(), json!({ "message": "404 User Not Found" }));
    let response = t
        .post(&path)
        .token(&alice.token)
        .json(json!({ "name": "x", "scopes": ["api"] }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(response.json(), json!({ "message": "403 Forbidden" }));
}

/// Grape's `values:` validator message is exactly `<param> does not have a valid value`.
#[tokio::test]
async fn unknown_scope_is_a_values_error() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let response = t
        .post(&format!(
            "/api/v4/users/{}/personal_access_tokens",
            alice.id
        ))
        .token(ROOT_TOKEN)
        .json(json!({ "name": "x", "scopes": ["api", "write_all"] }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({ "error": "scopes does not have a valid value" })
    );
}

/// GitLab refuses blank scopes (model validation), and a token needs `api` or `read_api`
/// to use the API at all (§1.3.4).
#[tokio::test]
async fn a_token_without_scopes_cannot_be_created_or_used() {
    let t = TestApp::new().await;
    let alice = t.create_user("alice").await;
    let path = format!("/api/v4/users/{}/personal_access_tokens", alice.id);
    let created = t
        .post(&path)
        .token(ROOT_TOKEN)
        .json(json!({ "name": "x", "scopes": [] }))
        .await;
    if created.status == StatusCode::CREATED {
        // If it exists anyway it must not authenticate reads.
        let token = created.json()["token"].as_str().expect("token").to_owned();
        let response = t.get("/api/v4/user").token(&token).await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "scopeless token read the API"
        );
    }
    assert_eq!(
        created.status,
        StatusCode::BAD_REQUEST,
        "{}",
        created.text()
    );
    t.post(&path)
        .token(ROOT_TOKEN)
        .form("name=x&scopes=")
        .await
        .expect_status(StatusCode::BAD_REQUEST);
}
