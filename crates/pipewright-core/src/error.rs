//! Errors of the use cases. Each variant knows which GitLab answer it becomes; the HTTP layer
//! maps them one to one (see `pipewright-http`'s `ApiError`).

use pipewright_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `{"message": "<text>"}` with 404; the text is complete (`404 Project Not Found`).
    #[error("{0}")]
    NotFound(String),
    /// `403 Forbidden` or `403 Forbidden - <reason>`.
    #[error("403 Forbidden")]
    Forbidden(Option<String>),
    #[error("401 Unauthorized")]
    Unauthorized,
    /// An OAuth-style token failure: `{"error": "invalid_token", "error_description": ...}`.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// A token whose scopes do not cover the route.
    #[error("insufficient scope")]
    InsufficientScope,
    /// `400 Bad request - <reason>`.
    #[error("400 Bad request - {0}")]
    BadRequest(String),
    /// A parameter failure: `{"error": "<param> <reason>"}`.
    #[error("{0}")]
    Param(String),
    /// `{"message": <json>}` with the given status, for GitLab's structured messages
    /// (e.g. `{"message":{"base":["..."]}}` or `{"message":"Username has already been taken"}`).
    #[error("{status}: {message}")]
    Message {
        status: u16,
        message: serde_json::Value,
    },
    /// A runner's job call refused: 403 with `Job-Status` when the job exists but is not
    /// executing (how a runner learns its job was cancelled or finished elsewhere).
    #[error("{message}")]
    JobForbidden {
        job_status: Option<pipewright_domain::Status>,
        message: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
    /// The project was reached through the old path of a rename (jobs-api.md §1.4 step 4):
    /// GET answers 301 to the same URL with the numeric id, other methods 405.
    #[error("project moved to {project_id}")]
    Moved { project_id: i64 },
}

impl Error {
    /// `404 <Resource> Not Found`.
    pub fn not_found(resource: &str) -> Error {
        Error::NotFound(format!("404 {resource} Not Found"))
    }

    /// GitLab's record-lookup 404 inside an endpoint: lower-case `found`, no resource name.
    pub fn record_not_found() -> Error {
        Error::NotFound("404 Not found".to_owned())
    }

    pub fn forbidden() -> Error {
        Error::Forbidden(None)
    }

    pub fn forbidden_because(reason: impl Into<String>) -> Error {
        Error::Forbidden(Some(reason.into()))
    }

    pub fn message(status: u16, message: impl Into<String>) -> Error {
        Error::Message {
            status,
            message: serde_json::Value::String(message.into()),
        }
    }

    /// `{"message": {"base": [<text>]}}` with 400, as GitLab answers pipeline creation errors.
    pub fn base_error(text: impl Into<String>) -> Error {
        Error::Message {
            status: 400,
            message: serde_json::json!({ "base": [text.into()] }),
        }
    }

    pub fn internal(err: impl std::fmt::Display) -> Error {
        Error::Internal(err.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        Error::Internal(err.to_string())
    }
}

impl From<pipewright_git::GitError> for Error {
    fn from(err: pipewright_git::GitError) -> Self {
        Error::Internal(err.to_string())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(err: tokio::task::JoinError) -> Self {
        Error::Internal(err.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
