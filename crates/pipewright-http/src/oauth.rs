//! `/oauth/token`, `/oauth/token/info` and `/oauth/revoke`: GitLab's Doorkeeper endpoints,
//! with Doorkeeper's bodies (`{"error": ..., "error_description": ...}`) and headers rather
//! than the API's. The use cases live in `pipewright_core::oauth`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use pipewright_core::oauth::{self, OauthError, TokenFailure, TokenRequest};
use pipewright_core::{App, now_ms};
use serde::Serialize;
use serde_json::json;

use crate::error::ApiError;
use crate::params::Params;

/// The `/oauth` routes, merged at the root of the application.
pub fn router() -> Router<App> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/token/info", get(token_info))
        .route("/oauth/revoke", post(revoke))
        // Rails reads form, JSON and multipart bodies alike.
        .layer(axum::middleware::from_fn(crate::body_params::capture))
}

/// Doorkeeper answers never go to caches.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Doorkeeper's `ErrorResponse`: the body, its status and a `WWW-Authenticate` challenge.
fn oauth_error(err: &OauthError) -> Response {
    let description = err.description();
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        Json(json!({ "error": err.name(), "error_description": description })),
    )
        .into_response();
    let challenge = format!(
        "Bearer realm=\"Doorkeeper\", error=\"{}\", error_description=\"{description}\"",
        err.name()
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    no_store(response)
}

fn failure(err: TokenFailure) -> Response {
    match err {
        TokenFailure::Oauth(err) => oauth_error(&err),
        TokenFailure::Internal(err) => ApiError(err).into_response(),
    }
}

/// `Authorization: Basic` client credentials (form-encoded id and secret, RFC 6749 §2.3.1).
fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |part: &str| {
        url::form_urlencoded::parse(format!("v={part}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// A parameter as text; arrays and hashes are no value.
fn text(params: &Params, key: &str) -> Option<String> {
    params.string(key).ok().flatten()
}

/// The token request: params from the query string and the body, client credentials from
/// HTTP Basic first, then from `client_id`/`client_secret`.
fn token_request(headers: &HeaderMap, params: &Params) -> TokenRequest {
    let (client_id, client_secret) = match basic_client(headers) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (text(params, "client_id"), text(params, "client_secret")),
    };
    TokenRequest {
        grant_type: text(params, "grant_type"),
        client_id,
        client_secret,
        username: text(params, "username"),
        password: text(params, "password"),
        refresh_token: text(params, "refresh_token"),
        scope: text(params, "scope"),
        code: text(params, "code"),
        redirect_uri: text(params, "redirect_uri"),
    }
}

/// Doorkeeper's token response, in its key order; blank values are left out.
#[derive(Serialize)]
struct TokenBody {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    created_at: i64,
}

/// `POST /oauth/token`.
async fn token(State(app): State<App>, headers: HeaderMap, params: Params) -> Response {
    let request = token_request(&headers, &params);
    match oauth::issue_token(&app, request).await {
        Ok(issued) => {
            let body = TokenBody {
                access_token: issued.access_token,
                token_type: "Bearer",
                expires_in: issued.record.expires_in,
                refresh_token: issued.refresh_token,
                scope: Some(issued.record.scopes.clone()).filter(|scope| !scope.is_empty()),
                created_at: issued.record.created_at / 1000,
            };
            no_store((StatusCode::OK, Json(body)).into_response())
        }
        Err(err) => failure(err),
    }
}

/// The access token as Doorkeeper's `access_token_methods` find it: `access_token` param,
/// `Authorization: Bearer`, `bearer_token` param.
fn access_token(headers: &HeaderMap, params: &Params) -> Option<String> {
    let present = |value: Option<String>| value.filter(|value| !value.is_empty());
    present(text(params, "access_token"))
        .or_else(|| {
            let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
        .filter(|token| !token.is_empty())
        .or_else(|| present(text(params, "bearer_token")))
}

/// Doorkeeper's `AccessToken#as_json` with GitLab's two extra keys, in that order.
#[derive(Serialize)]
struct TokenInfoBody {
    resource_owner_id: Option<i64>,
    scope: Vec<String>,
    expires_in: i64,
    application: ApplicationRef,
    created_at: i64,
    scopes: Vec<String>,
    expires_in_seconds: i64,
}

#[derive(Serialize)]
struct ApplicationRef {
    uid: Option<String>,
}

/// `GET /oauth/token/info`: GitLab's token info (Doorkeeper's plus the old `scopes` and
/// `expires_in_seconds` keys); anything but a live token is `invalid_request`.
async fn token_info(State(app): State<App>, headers: HeaderMap, params: Params) -> Response {
    let Some(token) = access_token(&headers, &params) else {
        return oauth_error(&OauthError::InvalidRequest(None));
    };
    match oauth::token_info(&app, &token).await {
        Ok(Some(info)) => {
            let scopes = info.token.scope_list();
            let expires_in = oauth::expires_in_seconds(&info.token, now_ms());
            Json(TokenInfoBody {
                resource_owner_id: info.token.user_id,
                scope: scopes.clone(),
                expires_in,
                application: ApplicationRef {
                    uid: info.application_uid,
                },
                created_at: info.token.created_at / 1000,
                scopes,
                expires_in_seconds: expires_in,
            })
            .into_response()
        }
        Ok(None) => oauth_error(&OauthError::InvalidRequest(None)),
        Err(err) => ApiError(err).into_response(),
    }
}

/// `POST /oauth/revoke` (RFC 7009): 200 `{}` for a revoked or unknown token; 403 when a
/// confidential application's token is revoked by anyone else.
async fn revoke(State(app): State<App>, headers: HeaderMap, params: Params) -> Response {
    let request = token_request(&headers, &params);
    let Some(token) = text(&params, "token").filter(|token| !token.is_empty()) else {
        return Json(json!({})).into_response();
    };
    match oauth::revoke(&app, &request, &token).await {
        Ok(true) => Json(json!({})).into_response(),
        Ok(false) => (
            StatusCode::FORBIDDEN,
            Json(json!({
                "error": "unauthorized_client",
                "error_description": "You are not authorized to revoke this token",
            })),
        )
            .into_response(),
        Err(err) => failure(err),
    }
}
