//! Artifacts over HTTP: the runner's upload (`POST /jobs/:id/artifacts`, multipart, fields
//! as query parameters (Go) or form fields (Rust), chunked or not) and download, and the
//! user-facing Jobs API endpoints. Bodies are streamed both ways; nothing is buffered whole.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use pipewright_core::artifacts::{self, EntryDownload, FileDownload, Staged, UploadParams};
use pipewright_core::{App, Error, projects};
use pipewright_protocol::header as names;
use tokio_util::io::ReaderStream;

use crate::auth::{Auth, JobAuth};
use crate::entities::job::JobEntity;
use crate::error::{ApiError, ApiResult, param_error};
use crate::params::Params;

/// Room for the multipart envelope (boundaries, part headers, small fields) on top of the
/// file itself when judging `Content-Length` before reading.
const ENVELOPE_SLACK: u64 = 64 * 1024;
/// Text fields (`artifact_type`, `expire_in`, ...) are tiny; a larger one is refused.
const MAX_FIELD: usize = 4 * 1024;
/// An upload has a file, maybe a metadata file and a few fields; more parts is abuse.
const MAX_PARTS: usize = 32;

fn bad_multipart(err: impl std::fmt::Display) -> ApiError {
    ApiError(Error::BadRequest(format!("invalid multipart body: {err}")))
}

fn job_token(headers: &HeaderMap, query: &HashMap<String, String>) -> String {
    headers
        .get(names::JOB_TOKEN)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.get("token").cloned())
        .unwrap_or_default()
}

/// `POST /jobs/:id/artifacts/authorize`: GitLab Workhorse asks before an upload; answered
/// for completeness (no runner calls it).
pub async fn authorize(
    State(app): State<App>,
    Path(job_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let job_id = super::id_param("id", &job_id)?;
    artifacts::authorize_upload(&app, job_id, &job_token(&headers, &query)).await?;
    let max = app.config.max_artifact_size;
    if let Some(size) = query
        .get("filesize")
        .and_then(|size| size.parse::<u64>().ok())
        && size > max
    {
        return Err(artifacts::too_large().into());
    }
    Ok(super::json_with(
        StatusCode::OK,
        HeaderMap::new(),
        &serde_json::json!({
            "TempPath": app.config.artifacts_dir().join("tmp"),
            "RemoteObject": null,
            "MaximumSize": max,
        }),
    ))
}

/// `POST /jobs/:id/artifacts`.
pub async fn upload(
    State(app): State<App>,
    Path(job_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    request: Request,
) -> ApiResult<Response> {
    let job_id = super::id_param("id", &job_id)?;
    // The job and its state are checked before a byte of the body is read.
    let job = artifacts::authorize_upload(&app, job_id, &job_token(&headers, &query)).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|len| len > app.config.max_artifact_size + ENVELOPE_SLACK) {
        return Err(artifacts::too_large().into());
    }
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| multer::parse_boundary(value).ok())
        .ok_or_else(|| ApiError(Error::BadRequest("Missing artifacts file!".into())))?;
    let mut multipart = multer::Multipart::new(request.into_body().into_data_stream(), boundary);

    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<Staged> = None;
    let mut metadata: Option<Staged> = None;
    let mut parts = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(bad_multipart)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError(Error::BadRequest(format!(
                "more than {MAX_PARTS} multipart parts"
            ))));
        }
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" | "metadata" => {
                let mut staged = Staged::create(&app, field.file_name()).await?;
                while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
                    staged.write(&chunk).await?;
                }
                if name == "file" {
                    file = Some(staged);
                } else {
                    metadata = Some(staged);
                }
            }
            _ => {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
                    text.extend_from_slice(&chunk);
                    if text.len() > MAX_FIELD {
                        return Err(param_error(format!("{name} is too long")));
                    }
                }
                fields.insert(name, String::from_utf8_lossy(&text).into_owned());
            }
        }
    }
    // Query parameters (Go) win over form fields (Rust); either may be absent.
    let param = |key: &str| {
        query
            .get(key)
            .or_else(|| fields.get(key))
            .filter(|value| !value.is_empty())
            .cloned()
    };
    let params = UploadParams {
        artifact_type: param("artifact_type"),
        artifact_format: param("artifact_format"),
        expire_in: param("expire_in"),
    };
    artifacts::finish_upload(&app, &job, &params, file, metadata).await?;
    let mut response = Response::new(Body::from("201"));
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// `GET /jobs/:id/artifacts` (runner side, §11).
pub async fn download_for_runner(
    State(app): State<App>,
    Path(job_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let job_id = super::id_param("id", &job_id)?;
    let download =
        artifacts::download_for_runner(&app, job_id, &job_token(&headers, &query)).await?;
    Ok(file_response(download))
}

/// `attachment; filename="a.zip"; filename*=UTF-8''a.zip`, as GitLab writes it.
fn attachment(filename: &str) -> Option<HeaderValue> {
    let quoted: String = filename
        .chars()
        .map(|c| if c == '"' || c.is_control() { '_' } else { c })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
    // A non-ASCII name only travels in `filename*`.
    let ascii: String = quoted
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .ok()
}

fn file_response(download: FileDownload) -> Response {
    let mut response = Response::new(Body::from_stream(ReaderStream::new(download.reader)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(download.size));
    if let Some(value) = attachment(&download.filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn entry_response(download: EntryDownload) -> Response {
    let stream = futures::stream::unfold(download.chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    });
    let mut response = Response::new(Body::from_stream(stream.boxed()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(value) = attachment(&download.filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET /projects/:id/jobs/:job_id/artifacts`.
pub async fn download_archive(
    State(app): State<App>,
    JobAuth(actor): JobAuth,
    Path((id, job_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let download = artifacts::download_archive(&app, &access, job_id).await?;
    Ok(file_response(download))
}

/// `GET /projects/:id/jobs/:job_id/artifacts/*artifact_path`.
pub async fn download_entry(
    State(app): State<App>,
    JobAuth(actor): JobAuth,
    Path((id, job_id, path)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let download = artifacts::download_entry(&app, &access, job_id, &path).await?;
    Ok(entry_response(download))
}

/// `GET /projects/:id/jobs/artifacts/:ref_name/download?job=` and
/// `GET /projects/:id/jobs/artifacts/:ref_name/raw/*artifact_path?job=`. One route, split
/// here, so a ref name may hold slashes as GitLab allows.
pub async fn by_ref(
    State(app): State<App>,
    JobAuth(actor): JobAuth,
    Path((id, rest)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    enum Wanted<'a> {
        Archive(&'a str),
        Entry(&'a str, &'a str),
    }
    let wanted = if let Some(ref_name) = rest.strip_suffix("/download") {
        Wanted::Archive(ref_name)
    } else if let Some((ref_name, path)) = rest.split_once("/raw/") {
        Wanted::Entry(ref_name, path)
    } else {
        return Ok(super::not_found().await);
    };
    actor.require_user()?;
    let job_name = params.required_string("job")?;
    let access = projects::find_project(&app, &actor, &id).await?;
    match wanted {
        Wanted::Archive(ref_name) => {
            let download =
                artifacts::download_archive_for_ref(&app, &access, ref_name, &job_name).await?;
            Ok(file_response(download))
        }
        Wanted::Entry(ref_name, path) => {
            let download =
                artifacts::download_entry_for_ref(&app, &access, ref_name, &job_name, path).await?;
            Ok(entry_response(download))
        }
    }
}

/// `POST /projects/:id/jobs/:job_id/artifacts/keep` — 200 with the job.
pub async fn keep(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, job_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let job = artifacts::keep(&app, &actor, &access, job_id).await?;
    let mut views = pipewright_core::jobs::views(&app, &access.project, vec![job]).await?;
    let view = views.pop().ok_or_else(Error::record_not_found)?;
    let entity = JobEntity::new(&view, &app.config.external_url, pipewright_core::now_ms());
    Ok(super::json_with(StatusCode::OK, HeaderMap::new(), &entity))
}

/// `DELETE /projects/:id/jobs/:job_id/artifacts` — 204.
pub async fn delete(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, job_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    artifacts::delete(&app, &actor, &access, job_id).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}
