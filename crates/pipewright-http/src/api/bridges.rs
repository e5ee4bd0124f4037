//! E3 — `GET /projects/:id/pipelines/:pipeline_id/bridges`.

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use pipewright_core::model::{Job, Project};
use pipewright_core::{App, bridges, pipelines, projects};
use serde_json::Value;

use crate::auth::JobAuth;
use crate::entities::bridge::BridgeEntity;
use crate::error::ApiResult;
use crate::pagination::{OffsetLinks, Page};
use crate::params::Params;

/// Above this many rows GitLab stops counting: no totals, no `rel="last"` (§1.6.2).
const COUNT_LIMIT: i64 = 10_000;

/// Bridge entities of one page, with their downstream pipelines.
pub(super) async fn render(
    app: &App,
    project: &Project,
    jobs: Vec<Job>,
) -> ApiResult<Vec<BridgeEntity>> {
    let now = pipewright_core::now_ms();
    Ok(bridges::bridge_views(app, project, jobs)
        .await?
        .iter()
        .map(|view| BridgeEntity::new(view, &app.config.external_url, now))
        .collect())
}

/// Anonymous callers are served public data; job tokens are accepted.
pub async fn list_pipeline_bridges(
    State(app): State<App>,
    JobAuth(actor): JobAuth,
    Path((id, pipeline_id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    let pipeline_id = super::id_param("pipeline_id", &pipeline_id)?;
    let statuses = super::jobs::parse_scope(&params, false)?;
    let page = Page::from_params(&params)?;
    // Not a declared parameter: GitLab's finder reads the raw value, so any non-empty value
    // (even `false`) includes retried bridges (jobs-api.md E3 quirk).
    let include_retried = match params.get("include_retried") {
        None | Some(Value::Null) => false,
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    };
    let access = projects::find_project(&app, &actor, &id).await?;
    if !access.can_read_build() {
        return Err(pipewright_core::Error::forbidden().into());
    }
    let pipeline = pipelines::find_pipeline(&app, &access, pipeline_id).await?;
    let all = bridges::list_pipeline_bridges(&app, &access, &pipeline, include_retried, &statuses)
        .await?;
    let total = all.len() as i64;
    let page_jobs: Vec<Job> = all
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(0))
        .collect();
    let mut link_params = params.map().clone();
    link_params.insert("id".into(), Value::String(id));
    link_params.insert("pipeline_id".into(), Value::String(pipeline_id.to_string()));
    let headers = OffsetLinks {
        external_url: &app.config.external_url,
        uri: &uri,
        params: link_params,
        page,
        has_next: page.offset().saturating_add(page.per_page) < total,
        total: (total <= COUNT_LIMIT).then_some(total),
    }
    .headers();
    let body = render(&app, &access.project, page_jobs).await?;
    Ok(super::json_with(StatusCode::OK, headers, &body))
}
