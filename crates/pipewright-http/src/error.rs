//! `ApiError`: the only place that knows GitLab's error bodies (jobs-api.md §1.2).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pipewright_core::Error;
use serde_json::json;

/// Every handler error; renders exactly as GitLab does.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError(err)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A parameter failure: `{"error": "<param> <reason>"}`.
pub fn param_error(text: impl Into<String>) -> ApiError {
    ApiError(Error::Param(text.into()))
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// GitLab's 403 for a token without a scope the route registers: rack-oauth2's
/// `Bearer::Forbidden`, whose body names the route's scopes space-separated (`scope`). Unlike
/// the 401s it sends no `WWW-Authenticate` (a known GitLab FIXME in `api_guard.rb`).
pub fn insufficient_scope(scope: &str) -> Response {
    json_response(
        StatusCode::FORBIDDEN,
        json!({
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": scope,
        }),
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.0 {
            Error::NotFound(message) => {
                json_response(StatusCode::NOT_FOUND, json!({ "message": message }))
            }
            Error::Forbidden(reason) => {
                let message = match reason {
                    Some(reason) => format!("403 Forbidden - {reason}"),
                    None => "403 Forbidden".to_owned(),
                };
                json_response(StatusCode::FORBIDDEN, json!({ "message": message }))
            }
            Error::Unauthorized => json_response(
                StatusCode::UNAUTHORIZED,
                json!({ "message": "401 Unauthorized" }),
            ),
            Error::InvalidToken(description) => {
                let mut response = json_response(
                    StatusCode::UNAUTHORIZED,
                    json!({ "error": "invalid_token", "error_description": description }),
                );
                let challenge = format!(
                    "Bearer realm=\"\", error=\"invalid_token\", error_description=\"{description}\""
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            // The scopes `API::API` registers for every route; the credential extractors
            // answer with the route's own list (`route_scopes`).
            Error::InsufficientScope => insufficient_scope("api read_api"),
            Error::BadRequest(reason) => json_response(
                StatusCode::BAD_REQUEST,
                json!({ "message": format!("400 Bad request - {reason}") }),
            ),
            Error::Param(text) => json_response(StatusCode::BAD_REQUEST, json!({ "error": text })),
            Error::Message { status, message } => json_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                json!({ "message": message }),
            ),
            Error::JobForbidden {
                job_status,
                message,
            } => {
                let mut response =
                    json_response(StatusCode::FORBIDDEN, json!({ "message": message }));
                if let Some(status) = job_status {
                    response.headers_mut().insert(
                        pipewright_protocol::header::JOB_STATUS,
                        HeaderValue::from_static(status.as_str()),
                    );
                }
                response
            }
            Error::Moved { project_id } => {
                // `moved::rewrite` knows the request and writes the 301 or 405.
                let mut response = Response::new(axum::body::Body::empty());
                *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
                response
                    .extensions_mut()
                    .insert(crate::moved::MovedProject(project_id));
                response
            }
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "message": "500 Internal Server Error" }),
                )
            }
        }
    }
}
