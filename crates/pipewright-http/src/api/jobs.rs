use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use pipewright_core::jobs::JobFilter;
use pipewright_core::jobs::{self, JobView};
use pipewright_core::{App, Error, Status, pipelines, projects};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use crate::auth::{Auth, JobAuth};
use crate::entities::job::JobEntity;
use crate::error::{ApiResult, param_error};
use crate::pagination::{OffsetLinks, Page, to_query};
use crate::params::Params;

/// `scope`: a status, a list of statuses, or (E1 only) a hash whose values are statuses.
pub(super) fn parse_scope(params: &Params, allow_hash: bool) -> ApiResult<Vec<Status>> {
    let invalid = || param_error("scope does not have a valid value");
    let values: Vec<&Value> = match params.get("scope") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Object(map)) if allow_hash => map.values().collect(),
        Some(value @ Value::String(_)) => vec![value],
        Some(_) => return Err(invalid()),
    };
    values
        .into_iter()
        .map(|value| {
            value
                .as_str()
                .and_then(|text| text.parse::<Status>().ok())
                .ok_or_else(invalid)
        })
        .collect()
}

fn render(app: &App, views: &[JobView]) -> Vec<JobEntity> {
    let now = pipewright_core::now_ms();
    views
        .iter()
        .map(|view| JobEntity::new(view, &app.config.external_url, now))
        .collect()
}

/// Keyset cursor as GitLab writes it: URL-safe base64 of `{"id":"<last id>","_kd":"n"}`.
fn encode_cursor(last_id: i64) -> String {
    let json = format!("{{\"id\":\"{last_id}\",\"_kd\":\"n\"}}");
    base64::engine::general_purpose::URL_SAFE.encode(json)
}

/// The backward cursor GitLab gives a page: `{"id":"<first id>","_kd":"p"}`.
fn encode_prev_cursor(first_id: i64) -> String {
    let json = format!("{{\"id\":\"{first_id}\",\"_kd\":\"p\"}}");
    base64::engine::general_purpose::URL_SAFE.encode(json)
}

enum Direction {
    Next,
    Prev,
}

fn decode_cursor(cursor: &str) -> Option<(i64, Direction)> {
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(cursor.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim()))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    let id = match value.get("id")? {
        Value::String(text) => text.parse().ok()?,
        Value::Number(number) => number.as_i64()?,
        _ => return None,
    };
    let direction = match value.get("_kd").and_then(Value::as_str) {
        Some("p") => Direction::Prev,
        _ => Direction::Next,
    };
    Some((id, direction))
}

/// E1 — `GET /projects/:id/jobs`.
pub async fn list_project_jobs(
    State(app): State<App>,
    JobAuth(actor): JobAuth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let statuses = parse_scope(&params, true)?;
    let page = Page::from_params(&params)?;
    let keyset = params.string("pagination")?.as_deref() == Some("keyset");
    let ref_name = params.string("ref")?.filter(|text| !text.trim().is_empty());
    // The rate limit comes after validation and before the project lookup.
    pipewright_core::settings::throttle_project_jobs(&app, &actor).await?;
    let access = projects::find_project(&app, &actor, &id).await?;
    if !access.can_read_build() {
        return Err(Error::forbidden().into());
    }
    let mut filter = JobFilter {
        statuses,
        ref_name,
        before_id: None,
        after_id: None,
    };
    let mut link_params = params.map().clone();
    link_params.insert("id".into(), Value::String(id));

    if keyset {
        let order_by = params.string("order_by")?.unwrap_or_else(|| "id".into());
        let sort = params.string("sort")?.unwrap_or_else(|| "desc".into());
        if order_by != "id" || sort != "desc" {
            return Ok((
                StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({
                    "error": "Keyset pagination is not yet available for this type of request"
                })),
            )
                .into_response());
        }
        let cursor_given = params.string("cursor")?;
        if let Some(cursor) = &cursor_given {
            match decode_cursor(cursor).ok_or_else(|| param_error("cursor is invalid"))? {
                (id, Direction::Next) => filter.before_id = Some(id),
                (id, Direction::Prev) => filter.after_id = Some(id),
            }
        }
        let mut views =
            jobs::list_project_jobs(&app, &access, &filter, page.per_page + 1, 0).await?;
        let has_next = views.len() as i64 > page.per_page;
        views.truncate(usize::try_from(page.per_page).unwrap_or(0));
        let mut headers = axum::http::HeaderMap::new();
        if has_next && let Some(last) = views.last() {
            let cursor = encode_cursor(last.job.id);
            link_params.insert("cursor".into(), Value::String(cursor.clone()));
            let url = format!(
                "{}{}?{}",
                app.config.external_url,
                uri.path(),
                to_query(&link_params)
            );
            if let Ok(value) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
                headers.insert(header::LINK, value);
            }
            if let Ok(value) = HeaderValue::from_str(&cursor) {
                headers.insert("x-next-cursor", value);
            }
        }
        // A page reached through a cursor has a previous page, starting after its first row.
        if cursor_given.is_some()
            && let Some(first) = views.first()
            && let Ok(value) = HeaderValue::from_str(&encode_prev_cursor(first.job.id))
        {
            headers.insert("x-prev-cursor", value);
        }
        return Ok(super::json_with(
            StatusCode::OK,
            headers,
            &render(&app, &views),
        ));
    }

    let mut views =
        jobs::list_project_jobs(&app, &access, &filter, page.per_page + 1, page.offset()).await?;
    let has_next = views.len() as i64 > page.per_page;
    views.truncate(usize::try_from(page.per_page).unwrap_or(0));
    let headers = OffsetLinks {
        external_url: &app.config.external_url,
        uri: &uri,
        params: link_params,
        page,
        has_next,
        total: None,
    }
    .headers();
    Ok(super::json_with(
        StatusCode::OK,
        headers,
        &render(&app, &views),
    ))
}

/// E2 — `GET /projects/:id/pipelines/:pipeline_id/jobs` (anonymous allowed for public data).
pub async fn list_pipeline_jobs(
    State(app): State<App>,
    JobAuth(actor): JobAuth,
    Path((id, pipeline_id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    let pipeline_id = super::id_param("pipeline_id", &pipeline_id)?;
    let include_retried = params.bool("include_retried")?.unwrap_or(false);
    let statuses = parse_scope(&params, false)?;
    let page = Page::from_params(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    if !access.can_read_pipeline() {
        return Err(Error::forbidden().into());
    }
    let pipeline = pipelines::find_pipeline(&app, &access, pipeline_id).await?;
    let mut views = jobs::list_pipeline_jobs(&app, &access, &pipeline, include_retried).await?;
    if !statuses.is_empty() {
        views.retain(|view| statuses.contains(&view.job.status));
    }
    let total = views.len() as i64;
    let page_views: Vec<JobView> = views
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(0))
        .collect();
    let mut link_params = params.map().clone();
    link_params.insert("id".into(), Value::String(id));
    link_params.insert("pipeline_id".into(), Value::String(pipeline_id.to_string()));
    link_params.insert("include_retried".into(), Value::Bool(include_retried));
    let headers = OffsetLinks {
        external_url: &app.config.external_url,
        uri: &uri,
        params: link_params,
        page,
        has_next: page.offset() + page.per_page < total,
        total: Some(total),
    }
    .headers();
    Ok(super::json_with(
        StatusCode::OK,
        headers,
        &render(&app, &page_views),
    ))
}

/// E6 — `GET /projects/:id/jobs/:job_id`.
pub async fn get_job(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, job_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let view = jobs::get_job(&app, &access, job_id).await?;
    let entity = JobEntity::new(&view, &app.config.external_url, pipewright_core::now_ms());
    Ok(axum::Json(entity).into_response())
}

/// Largest `byte_limit` GitLab accepts.
const MAX_BYTE_LIMIT: i64 = 512_000;

/// E7 — `GET /projects/:id/jobs/:job_id/trace`, streamed from the log file.
pub async fn get_trace(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, job_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let job_id = super::id_param("job_id", &job_id)?;
    let offset = params.int("byte_offset")?;
    if offset.is_some_and(|offset| offset < 0) {
        return Err(param_error("byte_offset does not have a valid value"));
    }
    let limit = params.int("byte_limit")?;
    if limit.is_some_and(|limit| !(1..=MAX_BYTE_LIMIT).contains(&limit)) {
        return Err(param_error("byte_limit does not have a valid value"));
    }
    let access = projects::find_project(&app, &actor, &id).await?;
    let start = u64::try_from(offset.unwrap_or(0)).unwrap_or(0);
    let (job, file) = jobs::open_trace(&app, &access, job_id, start).await?;
    let body = match file {
        None => Body::empty(),
        Some(file) => match limit {
            Some(limit) => Body::from_stream(ReaderStream::new(
                file.take(u64::try_from(limit).unwrap_or(0)),
            )),
            None => Body::from_stream(ReaderStream::new(file)),
        },
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    if let Ok(value) = HeaderValue::from_str(&format!("infile; filename=\"{}.log\"", job.id)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// E4 — `GET /job`: the job of the job token used. Other credentials get `404 Job Not Found`.
pub async fn current_job(State(app): State<App>, JobAuth(actor): JobAuth) -> ApiResult<Response> {
    actor.require_user()?;
    let pipewright_core::Actor::Job { job, .. } = actor else {
        return Err(Error::not_found("Job").into());
    };
    let view = jobs::current_job(&app, *job).await?;
    let entity = JobEntity::new(&view, &app.config.external_url, pipewright_core::now_ms());
    Ok(axum::Json(entity).into_response())
}
