//! The runner side of the protocol (runner-protocol.md): verify, request, update, trace.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pipewright_core::job_updates::{self, UpdateOutcome};
use pipewright_core::runners::{self, JobRequestOutcome};
use pipewright_core::{App, Error, Status};
use pipewright_protocol::header as names;
use pipewright_protocol::{JobRequest, UpdateJobRequest, VerifyRequest, VerifyResponse};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// The JSON body, with a `token` from the query string when the body has none (parameters
/// may come from either, as in Grape).
fn parse_body<T: DeserializeOwned>(body: &Bytes, query_token: Option<&str>) -> ApiResult<T> {
    let invalid = |err: serde_json::Error| {
        ApiError(Error::BadRequest(format!("invalid request body: {err}")))
    };
    let mut value: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(invalid)?
    };
    if let (Some(object), Some(token)) = (value.as_object_mut(), query_token)
        && !object.contains_key("token")
    {
        object.insert("token".into(), serde_json::Value::String(token.to_owned()));
    }
    serde_json::from_value(value).map_err(invalid)
}

/// The peer address, when the server runs with connect info (not in router tests).
fn peer_ip(extensions: &Extensions) -> Option<String> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// `POST /runners/verify`.
pub async fn verify(
    State(app): State<App>,
    Query(query): Query<TokenQuery>,
    extensions: Extensions,
    body: Bytes,
) -> ApiResult<Response> {
    let ip_address = peer_ip(&extensions);
    let mut request: VerifyRequest = parse_body(&body, query.token.as_deref())?;
    if request.token.is_empty() {
        request.token = query.token.unwrap_or_default();
    }
    let runner = runners::verify(
        &app,
        &request.token,
        request.system_id.as_deref(),
        request.info.as_ref(),
        ip_address.as_deref(),
    )
    .await?;
    Ok(Json(VerifyResponse {
        id: runner.id,
        token: request.token,
        token_expires_at: None,
    })
    .into_response())
}

/// `POST /jobs/request`.
pub async fn request_job(
    State(app): State<App>,
    Query(query): Query<TokenQuery>,
    extensions: Extensions,
    body: Bytes,
) -> ApiResult<Response> {
    let ip_address = peer_ip(&extensions);
    let mut request: JobRequest = parse_body(&body, query.token.as_deref())?;
    if request.token.is_empty() {
        request.token = query.token.unwrap_or_default();
    }
    let mut response = match runners::request_job(&app, &request, ip_address.as_deref()).await? {
        JobRequestOutcome::Job(payload) => (StatusCode::CREATED, Json(payload)).into_response(),
        JobRequestOutcome::NoJob { last_update } => {
            let mut response = super::empty(StatusCode::NO_CONTENT);
            insert(response.headers_mut(), names::LAST_UPDATE, &last_update);
            response
        }
        JobRequestOutcome::Conflict => super::empty(StatusCode::CONFLICT),
    };
    insert(response.headers_mut(), names::BUILDS_POLLING, "yes");
    Ok(response)
}

fn job_token(headers: &HeaderMap, query: TokenQuery, body_token: Option<String>) -> String {
    body_token
        .filter(|token| !token.is_empty())
        .or(query.token)
        .or_else(|| header_text(headers, names::JOB_TOKEN))
        .unwrap_or_default()
}

fn status_headers(app: &App, status: Status) -> HeaderMap {
    let mut headers = HeaderMap::new();
    insert(&mut headers, names::JOB_STATUS, status.as_str());
    insert(
        &mut headers,
        names::TRACE_UPDATE_INTERVAL,
        &app.config.trace_update_interval.to_string(),
    );
    headers
}

/// `PUT /jobs/:id`.
pub async fn update_job(
    State(app): State<App>,
    Path(job_id): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let job_id = super::id_param("id", &job_id)?;
    let request: UpdateJobRequest = parse_body(&body, None)?;
    let token = job_token(&headers, query, request.token.clone());
    let (status_code, status) =
        match job_updates::update_job(&app, job_id, &token, &request).await? {
            UpdateOutcome::Done(status) => (StatusCode::OK, status),
            UpdateOutcome::Accepted(status) => (StatusCode::ACCEPTED, status),
        };
    let mut response = (status_code, Json(serde_json::json!({}))).into_response();
    response.headers_mut().extend(status_headers(&app, status));
    Ok(response)
}

/// `PATCH /jobs/:id/trace`.
pub async fn append_trace(
    State(app): State<App>,
    Path(job_id): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let job_id = super::id_param("id", &job_id)?;
    let token = job_token(&headers, query, None);
    let Some(range) = header_text(&headers, names::CONTENT_RANGE) else {
        return Err(Error::message(400, "400 Missing header Content-Range").into());
    };
    let Some((start, _end)) = pipewright_protocol::range::parse_content_range(&range) else {
        return Err(Error::message(400, "400 Bad request - invalid Content-Range").into());
    };
    let outcome = job_updates::append_trace(&app, job_id, &token, start, body.to_vec()).await?;
    let status_code = if outcome.accepted {
        StatusCode::ACCEPTED
    } else {
        StatusCode::RANGE_NOT_SATISFIABLE
    };
    let mut response = super::empty(status_code);
    let response_headers = response.headers_mut();
    response_headers.extend(status_headers(&app, outcome.status));
    insert(
        response_headers,
        names::RANGE,
        &pipewright_protocol::range::range(outcome.len),
    );
    Ok(response)
}
