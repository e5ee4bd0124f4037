//! OAuth 2 (issue #3): the applications API, `/oauth/token` (password, refresh_token,
//! client_credentials, authorization_code), token info, revocation, and OAuth access tokens on
//! the API (looked up before personal access tokens, with their scopes, expiry and revocation).

mod common;

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::common::{ROOT_TOKEN, TestApp};

const PASSWORD: &str = "correct-horse-battery";

const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
const INVALID_CLIENT: &str = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";
const INVALID_REQUEST: &str = "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.";

fn oauth_error(error: &str, description: &str) -> Value {
    json!({ "error": error, "error_description": description })
}

/// `alice` (id 2) with a password.
async fn user_with_password(t: &TestApp) -> i64 {
    t.post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({
            "username": "alice",
            "name": "Alice",
            "email": "alice@example.com",
            "password": PASSWORD,
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json()["id"]
        .as_i64()
        .expect("id")
}

async fn password_token(t: &TestApp, extra: &str) -> Value {
    t.post("/oauth/token")
        .form(&format!(
            "grant_type=password&username=alice&password={PASSWORD}{extra}"
        ))
        .await
        .expect_status(StatusCode::OK)
        .json()
}

async fn create_application(t: &TestApp, scopes: &str, confidential: bool) -> Value {
    t.post("/api/v4/applications")
        .token(ROOT_TOKEN)
        .json(json!({
            "name": "CI dashboard",
            "redirect_uri": "http://localhost:3000/callback",
            "scopes": scopes,
            "confidential": confidential,
        }))
        .await
        .expect_status(StatusCode::CREATED)
        .json()
}

// ---- applications API ---------------------------------------------------------------------

#[tokio::test]
async fn applications_are_created_listed_and_deleted_by_admins() {
    let t = TestApp::new().await;
    let created = t
        .post("/api/v4/applications")
        .token(ROOT_TOKEN)
        .form("name=MyApplication&redirect_uri=http://redirect.uri&scopes=api read_user")
        .await
        .expect_status(StatusCode::CREATED);
    assert_eq!(
        created.ordered().keys(),
        [
            "id",
            "application_id",
            "application_name",
            "callback_url",
            "confidential",
            "secret"
        ]
    );
    let created = created.json();
    assert_eq!(created["id"], 1);
    assert_eq!(created["application_name"], "MyApplication");
    assert_eq!(created["callback_url"], "http://redirect.uri");
    assert_eq!(created["confidential"], true);
    let uid = created["application_id"].as_str().expect("uid");
    assert_eq!(uid.len(), 64);
    assert!(uid.bytes().all(|byte| byte.is_ascii_hexdigit()));
    let secret = created["secret"].as_str().expect("secret");
    assert!(secret.starts_with("gloas-"), "{secret}");

    let list = t
        .get("/api/v4/applications")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(
        list,
        json!([{
            "id": 1,
            "application_id": uid,
            "application_name": "MyApplication",
            "callback_url": "http://redirect.uri",
            "confidential": true,
        }])
    );

    // A new secret replaces the old one.
    let renewed = t
        .post("/api/v4/applications/1/renew-secret")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED)
        .json();
    assert_ne!(renewed["secret"], created["secret"]);
    assert_eq!(renewed["application_id"], uid);

    t.delete("/api/v4/applications/1")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    let missing = t
        .delete("/api/v4/applications/1")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json(),
        json!({ "message": "404 Application Not Found" })
    );
}

#[tokio::test]
async fn the_applications_api_is_for_admins_with_grape_and_model_validation() {
    let t = TestApp::new().await;
    let alice = t.create_user("bob").await;
    t.get("/api/v4/applications")
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    let refused = t
        .post("/api/v4/applications")
        .token(&alice.token)
        .json(json!({}))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(refused.json(), json!({ "message": "403 Forbidden" }));

    let missing = t
        .post("/api/v4/applications")
        .token(ROOT_TOKEN)
        .json(json!({}))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json(),
        json!({ "error": "name is missing, redirect_uri is missing, scopes is missing" })
    );
    let blank = t
        .post("/api/v4/applications")
        .token(ROOT_TOKEN)
        .json(json!({ "name": "a", "redirect_uri": "http://x", "scopes": "" }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(blank.json(), json!({ "error": "scopes is empty" }));
    for (body, field, text) in [
        (
            json!({ "name": "a", "redirect_uri": "http://x", "scopes": "api nope" }),
            "scopes",
            "doesn't match configured on the server.",
        ),
        (
            json!({ "name": "a", "redirect_uri": "callback", "scopes": "api" }),
            "redirect_uri",
            "must be an absolute URI.",
        ),
        (
            json!({ "name": "a", "redirect_uri": "http://x/#top", "scopes": "api" }),
            "redirect_uri",
            "cannot contain a fragment.",
        ),
    ] {
        let response = t
            .post("/api/v4/applications")
            .token(ROOT_TOKEN)
            .json(body)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), json!({ "message": { field: [text] } }));
    }
}

// ---- the password grant -------------------------------------------------------------------

#[tokio::test]
async fn the_password_grant_issues_a_two_hour_token_that_works_as_bearer_and_param() {
    let t = TestApp::new().await;
    let alice = user_with_password(&t).await;
    let response = t
        .post("/oauth/token")
        .form(&format!(
            "grant_type=password&username=alice&password={PASSWORD}"
        ))
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    assert_eq!(
        response.ordered().keys(),
        [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope",
            "created_at"
        ]
    );
    let token = response.json();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 7200);
    assert_eq!(token["scope"], "api");
    assert!(token["created_at"].as_i64().expect("created_at") > 1_700_000_000);
    let access = token["access_token"].as_str().expect("access token");
    assert_eq!(access.len(), 64);

    for response in [
        t.get("/api/v4/user").bearer(access).await,
        t.get(&format!("/api/v4/user?access_token={access}")).await,
    ] {
        let user = response.expect_status(StatusCode::OK).json();
        assert_eq!(user["id"], alice);
        assert_eq!(user["username"], "alice");
    }
    // `api` writes.
    t.post("/api/v4/projects")
        .bearer(access)
        .json(json!({ "name": "from-oauth" }))
        .await
        .expect_status(StatusCode::CREATED);

    // The email works as the login too, case-insensitively.
    let by_email = t
        .post("/oauth/token")
        .json(json!({ "grant_type": "password", "username": "Alice@Example.com", "password": PASSWORD }))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_ne!(by_email["access_token"], token["access_token"]);
}

#[tokio::test]
async fn password_grant_failures_are_doorkeepers_errors() {
    let t = TestApp::new().await;
    user_with_password(&t).await;
    // A user without a password (root) cannot use the grant.
    for form in [
        "grant_type=password&username=alice&password=wrong-password".to_owned(),
        "grant_type=password&username=nobody&password=x".to_owned(),
        "grant_type=password&username=root&password=x".to_owned(),
        "grant_type=password&username=alice".to_owned(),
    ] {
        let response = t
            .post("/oauth/token")
            .form(&form)
            .await
            .expect_status(StatusCode::BAD_REQUEST);
        assert_eq!(response.json(), oauth_error("invalid_grant", INVALID_GRANT));
        assert_eq!(
            response.header("www-authenticate"),
            Some(format!("Bearer realm=\"Doorkeeper\", error=\"invalid_grant\", error_description=\"{INVALID_GRANT}\"").as_str())
        );
    }
    let missing = t
        .post("/oauth/token")
        .form("username=alice")
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json(),
        oauth_error("invalid_request", "Missing required parameter: grant_type.")
    );
    let unsupported = t
        .post("/oauth/token")
        .form("grant_type=magic")
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        unsupported.json(),
        oauth_error(
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server."
        )
    );
    let bad_scope = t
        .post("/oauth/token")
        .form(&format!(
            "grant_type=password&username=alice&password={PASSWORD}&scope=api+teleport"
        ))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_scope.json(),
        oauth_error(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed."
        )
    );
    let unknown_client = t
        .post("/oauth/token")
        .form(&format!(
            "grant_type=password&username=alice&password={PASSWORD}&client_id=nope"
        ))
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown_client.json(),
        oauth_error("invalid_client", INVALID_CLIENT)
    );
}

#[tokio::test]
async fn a_blocked_user_gets_no_token() {
    let t = TestApp::new().await;
    let alice = user_with_password(&t).await;
    t.post(&format!("/api/v4/users/{alice}/block"))
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::CREATED);
    let response = t
        .post("/oauth/token")
        .form(&format!(
            "grant_type=password&username=alice&password={PASSWORD}"
        ))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn client_credentials_of_an_application_scope_its_tokens() {
    let t = TestApp::new().await;
    user_with_password(&t).await;
    let application = create_application(&t, "read_user read_api", true).await;
    let uid = application["application_id"].as_str().expect("uid");
    let secret = application["secret"].as_str().expect("secret");

    // Params, or HTTP Basic.
    let token = password_token(
        &t,
        &format!("&client_id={uid}&client_secret={secret}&scope=read_api"),
    )
    .await;
    assert_eq!(token["scope"], "read_api");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{uid}:{secret}"));
    let via_basic = t
        .post("/oauth/token")
        .header("authorization", &format!("Basic {basic}"))
        .form(&format!(
            "grant_type=password&username=alice&password={PASSWORD}&scope=read_user"
        ))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(via_basic["scope"], "read_user");

    // A scope the application does not have.
    let refused = t
        .post("/oauth/token")
        .form(&format!(
            "grant_type=password&username=alice&password={PASSWORD}&client_id={uid}&client_secret={secret}&scope=api"
        ))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["error"], "invalid_scope");
    // A confidential client must authenticate.
    for form in [
        format!("grant_type=password&username=alice&password={PASSWORD}&client_id={uid}"),
        format!(
            "grant_type=password&username=alice&password={PASSWORD}&client_id={uid}&client_secret=wrong"
        ),
    ] {
        let response = t
            .post("/oauth/token")
            .form(&form)
            .await
            .expect_status(StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.json(),
            oauth_error("invalid_client", INVALID_CLIENT)
        );
    }

    // read_api reads, and cannot write: GitLab's insufficient_scope.
    let access = token["access_token"].as_str().expect("token");
    t.get("/api/v4/projects")
        .bearer(access)
        .await
        .expect_status(StatusCode::OK);
    let denied = t
        .post("/api/v4/projects")
        .bearer(access)
        .json(json!({ "name": "nope" }))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        denied.json(),
        json!({
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": "ai_workflows api read_api",
        })
    );

    // client_credentials: a token with no user, which the API does not accept.
    let app_token = t
        .post("/oauth/token")
        .form(&format!(
            "grant_type=client_credentials&client_id={uid}&client_secret={secret}&scope=read_api"
        ))
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(
        app_token.ordered().keys(),
        [
            "access_token",
            "token_type",
            "expires_in",
            "scope",
            "created_at"
        ]
    );
    let app_access = app_token.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    t.get("/api/v4/user")
        .bearer(&app_access)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);

    // authorization_code: no code was ever issued.
    let no_code = t
        .post("/oauth/token")
        .form(&format!(
            "grant_type=authorization_code&client_id={uid}&client_secret={secret}&code=abc&redirect_uri=http://localhost:3000/callback"
        ))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(no_code.json(), oauth_error("invalid_grant", INVALID_GRANT));
    let missing_code = t
        .post("/oauth/token")
        .form("grant_type=authorization_code")
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        missing_code.json(),
        oauth_error("invalid_request", "Missing required parameter: code.")
    );
}

// ---- refresh, expiry, revocation ----------------------------------------------------------

#[tokio::test]
async fn a_refresh_token_trades_the_old_token_for_a_new_one_once() {
    let t = TestApp::new().await;
    let alice = user_with_password(&t).await;
    let first = password_token(&t, "").await;
    let old_access = first["access_token"].as_str().expect("token");
    let refresh = first["refresh_token"].as_str().expect("refresh");

    let second = t
        .post("/oauth/token")
        .form(&format!("grant_type=refresh_token&refresh_token={refresh}"))
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["scope"], "api");
    let new_access = second["access_token"].as_str().expect("token");
    assert_eq!(
        t.get("/api/v4/user").bearer(new_access).await.json()["id"],
        alice
    );

    // The old token is revoked; the refresh token worked once.
    let revoked = t
        .get("/api/v4/user")
        .bearer(old_access)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(
        revoked.json(),
        oauth_error(
            "invalid_token",
            "Token was revoked. You have to re-authorize from the user."
        )
    );
    assert!(
        revoked
            .header("www-authenticate")
            .is_some_and(|value| value.starts_with("Bearer "))
    );
    let again = t
        .post("/oauth/token")
        .form(&format!("grant_type=refresh_token&refresh_token={refresh}"))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(again.json(), oauth_error("invalid_grant", INVALID_GRANT));
    let missing = t
        .post("/oauth/token")
        .form("grant_type=refresh_token")
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json(),
        oauth_error(
            "invalid_request",
            "Missing required parameter: refresh_token."
        )
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_with_the_invalid_token_body() {
    let t = TestApp::new().await;
    user_with_password(&t).await;
    let token = password_token(&t, "").await;
    let access = token["access_token"].as_str().expect("token");
    let info = t
        .get("/oauth/token/info")
        .bearer(access)
        .await
        .expect_status(StatusCode::OK)
        .json();
    t.app
        .store
        .backdate_oauth_access_token(1, 7_200_000)
        .await
        .expect("backdate");
    let expired = t
        .get("/api/v4/user")
        .bearer(access)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    let description = "Token is expired. You can either do re-authorization or token refresh.";
    assert_eq!(expired.json(), oauth_error("invalid_token", description));
    assert_eq!(
        expired.header("www-authenticate"),
        Some(
            format!(
                "Bearer realm=\"\", error=\"invalid_token\", error_description=\"{description}\""
            )
            .as_str()
        )
    );
    // Token info no longer knows it; the refresh token still works.
    let gone = t
        .get("/oauth/token/info")
        .bearer(access)
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(gone.json(), oauth_error("invalid_request", INVALID_REQUEST));
    assert_eq!(info["expires_in"], 7200);
    let refresh = token["refresh_token"].as_str().expect("refresh");
    t.post("/oauth/token")
        .form(&format!("grant_type=refresh_token&refresh_token={refresh}"))
        .await
        .expect_status(StatusCode::OK);
}

#[tokio::test]
async fn token_info_and_revocation() {
    let t = TestApp::new().await;
    let alice = user_with_password(&t).await;
    let token = password_token(&t, "&scope=read_user+read_api").await;
    let access = token["access_token"].as_str().expect("token");
    let info = t
        .get(&format!("/oauth/token/info?access_token={access}"))
        .await
        .expect_status(StatusCode::OK);
    assert_eq!(
        info.ordered().keys(),
        [
            "resource_owner_id",
            "scope",
            "expires_in",
            "application",
            "created_at",
            "scopes",
            "expires_in_seconds"
        ]
    );
    let info = info.json();
    assert_eq!(info["resource_owner_id"], alice);
    assert_eq!(info["scope"], json!(["read_user", "read_api"]));
    assert_eq!(info["scopes"], info["scope"]);
    assert_eq!(info["application"], json!({ "uid": null }));
    assert_eq!(info["created_at"], token["created_at"]);
    assert!(info["expires_in_seconds"].as_i64().expect("seconds") > 7100);

    let unknown = t
        .get("/oauth/token/info")
        .bearer("no-such-token")
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.json(),
        oauth_error("invalid_request", INVALID_REQUEST)
    );

    // RFC 7009: 200 {} for a real token and for an unknown one.
    for form in [format!("token={access}"), "token=unknown".to_owned()] {
        let revoked = t
            .post("/oauth/revoke")
            .form(&form)
            .await
            .expect_status(StatusCode::OK);
        assert_eq!(revoked.json(), json!({}));
    }
    let after = t
        .get("/api/v4/user")
        .bearer(access)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
    assert_eq!(after.json()["error"], "invalid_token");
}

#[tokio::test]
async fn a_confidential_applications_token_is_revoked_by_that_application_only() {
    let t = TestApp::new().await;
    user_with_password(&t).await;
    let application = create_application(&t, "api", true).await;
    let uid = application["application_id"].as_str().expect("uid");
    let secret = application["secret"].as_str().expect("secret");
    let token = password_token(&t, &format!("&client_id={uid}&client_secret={secret}")).await;
    let access = token["access_token"].as_str().expect("token");

    let refused = t
        .post("/oauth/revoke")
        .form(&format!("token={access}"))
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json(),
        json!({
            "error": "unauthorized_client",
            "error_description": "You are not authorized to revoke this token",
        })
    );
    let info = t
        .get("/oauth/token/info")
        .bearer(access)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(info["application"], json!({ "uid": uid }));

    // Refreshing needs the application too.
    let refresh = token["refresh_token"].as_str().expect("refresh");
    let anonymous_refresh = t
        .post("/oauth/token")
        .form(&format!("grant_type=refresh_token&refresh_token={refresh}"))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(anonymous_refresh.json()["error"], "invalid_grant");

    t.post("/oauth/revoke")
        .form(&format!(
            "token={access}&client_id={uid}&client_secret={secret}"
        ))
        .await
        .expect_status(StatusCode::OK);
    t.get("/api/v4/user")
        .bearer(access)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);

    // Deleting the application takes its tokens with it.
    let second = password_token(&t, &format!("&client_id={uid}&client_secret={secret}")).await;
    let second = second["access_token"].as_str().expect("token");
    t.get("/api/v4/user")
        .bearer(second)
        .await
        .expect_status(StatusCode::OK);
    t.delete("/api/v4/applications/1")
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::NO_CONTENT);
    t.get("/api/v4/user")
        .bearer(second)
        .await
        .expect_status(StatusCode::UNAUTHORIZED);
}

// ---- OAuth tokens on the API --------------------------------------------------------------

#[tokio::test]
async fn an_oauth_token_wins_over_a_private_token_and_may_sudo() {
    let t = TestApp::new().await;
    let alice = user_with_password(&t).await;
    let token = password_token(&t, "").await;
    let access = token["access_token"].as_str().expect("token");
    // Bearer (OAuth) is looked up before PRIVATE-TOKEN.
    let user = t
        .get("/api/v4/user")
        .bearer(access)
        .token(ROOT_TOKEN)
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(user["id"], alice);

    // Root's OAuth token with the sudo scope acts as alice; root has no password, so give
    // them one first.
    t.post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({
            "username": "admin2", "name": "Admin Two", "email": "admin2@example.com",
            "password": PASSWORD, "admin": true,
        }))
        .await
        .expect_status(StatusCode::CREATED);
    let admin = t
        .post("/oauth/token")
        .form(&format!(
            "grant_type=password&username=admin2&password={PASSWORD}&scope=api+sudo"
        ))
        .await
        .expect_status(StatusCode::OK)
        .json();
    let admin_access = admin["access_token"].as_str().expect("token");
    let as_alice = t
        .get("/api/v4/user")
        .bearer(admin_access)
        .header("sudo", "alice")
        .await
        .expect_status(StatusCode::OK)
        .json();
    assert_eq!(as_alice["id"], alice);
    // Without the sudo scope: GitLab's insufficient_scope naming `sudo`.
    let refused = t
        .get("/api/v4/user?sudo=alice")
        .bearer(access)
        .await
        .expect_status(StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json(),
        json!({ "message": "403 Forbidden - Must be admin to use sudo" })
    );
}

#[tokio::test]
async fn passwords_are_stored_with_a_kdf_and_short_ones_are_refused() {
    let t = TestApp::new().await;
    let short = t
        .post("/api/v4/users")
        .token(ROOT_TOKEN)
        .json(json!({
            "username": "carol", "name": "Carol", "email": "carol@example.com",
            "password": "short",
        }))
        .await
        .expect_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        short.json(),
        json!({ "message": { "password": ["is too short (minimum is 8 characters)"] } })
    );
    user_with_password(&t).await;
    let (_, stored) = t
        .app
        .store
        .user_with_password_by_login("alice")
        .await
        .expect("lookup")
        .expect("alice");
    let stored = stored.expect("hash");
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(PASSWORD));
}
