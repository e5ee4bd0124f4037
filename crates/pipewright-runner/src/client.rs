//! The HTTP side of the runner protocol: one method per endpoint, no retry policy (callers
//! decide), no job logic.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use pipewright_protocol::{
    JobRequest, JobResponse, RegisterRequest, UpdateJobRequest, VerifyRequest, VerifyResponse,
    header, range,
};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};

/// Long polls are held up to ~50 s by GitLab-like servers; leave room for that.
const JOB_REQUEST_TIMEOUT: Duration = Duration::from_secs(100);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a runner-scoped call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// 403: the runner token is unknown.
    Forbidden,
    /// Any other unexpected status.
    Status(StatusCode),
    /// Connection, timeout or body transfer problem.
    Transport(reqwest::Error),
    /// The body was not the JSON we expected.
    Decode(serde_json::Error),
}

impl CallError {
    /// Worth retrying later (server down, overloaded or restarting).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status(status) => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
            }
            Self::Forbidden | Self::Decode(_) => false,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forbidden => f.write_str("403 Forbidden: the runner token was rejected"),
            Self::Status(status) => write!(f, "unexpected HTTP status {status}"),
            Self::Transport(err) => write!(f, "{err}"),
            Self::Decode(err) => write!(f, "malformed response body: {err}"),
        }
    }
}

impl std::error::Error for CallError {}

/// Answer to a job request.
pub(crate) enum Poll {
    Job(Box<JobResponse>),
    /// 201 whose payload we cannot run; `id`/`token` when they could be read, so that the
    /// job can be failed instead of silently lost.
    Malformed {
        id: Option<i64>,
        token: Option<String>,
        error: serde_json::Error,
    },
    /// 204 (or 409): nothing for us now.
    NoJob {
        last_update: Option<String>,
    },
}

/// What a job-scoped call (PUT update, PATCH trace) told us.
#[derive(Debug, Clone)]
pub(crate) struct JobReply {
    pub status: StatusCode,
    /// `Job-Status` header.
    pub job_status: Option<String>,
    /// Total length from `Range: 0-<total>`.
    pub range_total: Option<u64>,
    /// `X-GitLab-Trace-Update-Interval`.
    pub interval: Option<Duration>,
}

impl JobReply {
    fn from_headers(status: StatusCode, headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Self {
            status,
            job_status: text(header::JOB_STATUS).map(|s| s.trim().to_owned()),
            range_total: text(header::RANGE).and_then(range::parse_range_total),
            interval: text(header::TRACE_UPDATE_INTERVAL)
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    /// `<root>/api/v4`, no trailing slash.
    api: String,
}

impl Client {
    pub(crate) fn new(url: &str) -> anyhow::Result<Self> {
        let root = url.trim().trim_end_matches('/');
        // Like Go: a configured `https://host/ci` means the web root `https://host`.
        let root = root.strip_suffix("/ci").unwrap_or(root);
        if !(root.starts_with("http://") || root.starts_with("https://")) {
            anyhow::bail!("server URL must start with http:// or https://, got {url:?}");
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("pipewright-runner ", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            api: format!("{root}/api/v4"),
        })
    }

    pub(crate) async fn verify(&self, body: &VerifyRequest) -> Result<VerifyResponse, CallError> {
        let response = self
            .http
            .post(format!("{}/runners/verify", self.api))
            .json(body)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(CallError::Transport)?;
        match response.status() {
            StatusCode::OK | StatusCode::CREATED => {
                let bytes = response.bytes().await.map_err(CallError::Transport)?;
                serde_json::from_slice(&bytes).map_err(CallError::Decode)
            }
            StatusCode::FORBIDDEN => Err(CallError::Forbidden),
            status => Err(CallError::Status(status)),
        }
    }

    pub(crate) async fn request_job(&self, body: &JobRequest) -> Result<Poll, CallError> {
        let response = self
            .http
            .post(format!("{}/jobs/request", self.api))
            .json(body)
            .timeout(JOB_REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(CallError::Transport)?;
        let last_update = response
            .headers()
            .get(header::LAST_UPDATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match response.status() {
            StatusCode::CREATED => {
                let bytes = response.bytes().await.map_err(CallError::Transport)?;
                Ok(parse_job(&bytes))
            }
            StatusCode::NO_CONTENT => Ok(Poll::NoJob { last_update }),
            // Lost races on every candidate: "no job, ask again later".
            StatusCode::CONFLICT => Ok(Poll::NoJob {
                last_update: body.last_update.clone(),
            }),
            StatusCode::FORBIDDEN => Err(CallError::Forbidden),
            status => Err(CallError::Status(status)),
        }
    }

    /// `PUT /jobs/:id`; the token goes both in the body and the `JOB-TOKEN` header, like Go.
    pub(crate) async fn update_job(
        &self,
        id: i64,
        token: &str,
        body: &UpdateJobRequest,
    ) -> Result<JobReply, reqwest::Error> {
        let response = self
            .http
            .put(format!("{}/jobs/{id}", self.api))
            .header(header::JOB_TOKEN, token)
            .json(body)
            .timeout(CALL_TIMEOUT)
            .send()
            .await?;
        Ok(JobReply::from_headers(
            response.status(),
            response.headers(),
        ))
    }

    /// `PATCH /jobs/:id/trace` with `bytes` (non-empty) starting at log offset `start`.
    pub(crate) async fn patch_trace(
        &self,
        id: i64,
        token: &str,
        start: u64,
        bytes: Bytes,
    ) -> Result<JobReply, reqwest::Error> {
        let len = bytes.len() as u64;
        let response = self
            .http
            .patch(format!("{}/jobs/{id}/trace", self.api))
            .header(header::JOB_TOKEN, token)
            .header(CONTENT_TYPE, "text/plain")
            .header(header::CONTENT_RANGE, range::content_range(start, len))
            .body(bytes)
            .timeout(CALL_TIMEOUT)
            .send()
            .await?;
        Ok(JobReply::from_headers(
            response.status(),
            response.headers(),
        ))
    }
}

/// Runner creation answers: status and raw body (the caller decodes or reports it).
impl Client {
    /// `POST /user/runners` authenticated with a personal access token.
    pub(crate) async fn create_user_runner(
        &self,
        private_token: &str,
        body: &serde_json::Value,
    ) -> Result<(StatusCode, Bytes), reqwest::Error> {
        let response = self
            .http
            .post(format!("{}/user/runners", self.api))
            .header("PRIVATE-TOKEN", private_token)
            .json(body)
            .timeout(CALL_TIMEOUT)
            .send()
            .await?;
        let status = response.status();
        Ok((status, response.bytes().await?))
    }

    /// Legacy `POST /runners` with a registration token in the body.
    pub(crate) async fn register_runner(
        &self,
        body: &RegisterRequest,
    ) -> Result<(StatusCode, Bytes), reqwest::Error> {
        let response = self
            .http
            .post(format!("{}/runners", self.api))
            .json(body)
            .timeout(CALL_TIMEOUT)
            .send()
            .await?;
        let status = response.status();
        Ok((status, response.bytes().await?))
    }
}

/// Artifact transfers may be large: allow them an hour, like Go.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);

/// A failed artifact transfer (network or local file).
pub(crate) type TransferError = Box<dyn std::error::Error + Send + Sync>;

/// Metadata of one artifact upload (sent as query parameters, like Go).
pub(crate) struct UploadMeta<'a> {
    pub file_name: &'a str,
    pub artifact_type: &'a str,
    pub artifact_format: &'a str,
    pub expire_in: Option<&'a str>,
}

impl Client {
    /// `POST /jobs/:id/artifacts`: multipart `file` part streamed from `path`.
    pub(crate) async fn upload_artifact(
        &self,
        id: i64,
        token: &str,
        path: &std::path::Path,
        meta: &UploadMeta<'_>,
    ) -> Result<StatusCode, TransferError> {
        let mut query = vec![
            ("artifact_type", meta.artifact_type),
            ("artifact_format", meta.artifact_format),
        ];
        if let Some(expire_in) = meta.expire_in {
            query.push(("expire_in", expire_in));
        }
        let file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let part = reqwest::multipart::Part::stream_with_length(body, len)
            .file_name(meta.file_name.to_owned());
        let form = reqwest::multipart::Form::new().part("file", part);
        let response = self
            .http
            .post(format!("{}/jobs/{id}/artifacts", self.api))
            .header(header::JOB_TOKEN, token)
            .query(&query)
            .multipart(form)
            .timeout(TRANSFER_TIMEOUT)
            .send()
            .await?;
        Ok(response.status())
    }

    /// `GET /jobs/:id/artifacts` into `dest`. `Ok(status)` for any answer; the file holds
    /// the body only when it is 200.
    pub(crate) async fn download_artifacts(
        &self,
        id: i64,
        token: &str,
        dest: &std::path::Path,
    ) -> Result<StatusCode, TransferError> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;

        let response = self
            .http
            .get(format!("{}/jobs/{id}/artifacts", self.api))
            .header(header::JOB_TOKEN, token)
            .timeout(TRANSFER_TIMEOUT)
            .send()
            .await?;
        let status = response.status();
        if status != StatusCode::OK {
            return Ok(status);
        }
        let mut file = tokio::fs::File::create(dest).await?;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            file.write_all(&chunk?).await?;
        }
        file.flush().await?;
        Ok(status)
    }
}

fn parse_job(bytes: &[u8]) -> Poll {
    match serde_json::from_slice::<JobResponse>(bytes) {
        Ok(job) => Poll::Job(Box::new(job)),
        Err(error) => {
            let value = serde_json::from_slice::<serde_json::Value>(bytes).ok();
            let field = |name: &str| value.as_ref().and_then(|v| v.get(name)).cloned();
            Poll::Malformed {
                id: field("id").and_then(|v| v.as_i64()),
                token: field("token").and_then(|v| v.as_str().map(str::to_owned)),
                error,
            }
        }
    }
}
