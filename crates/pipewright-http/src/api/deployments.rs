//! `/projects/:id/deployments[/:deployment_id]` (GitLab's `API::Deployments`, read side).

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use pipewright_core::environments::{
    self, DEPLOYMENT_STATUSES, DeploymentFilter, DeploymentOrder, DeploymentQuery,
};
use pipewright_core::{App, Error, projects};

use crate::auth::Auth;
use crate::entities::environment::DeploymentEntity;
use crate::error::{ApiResult, param_error};
use crate::pagination::Page;
use crate::params::Params;

/// An ISO 8601 time parameter as UTC milliseconds (Grape's `DateTime` coercion).
pub(super) fn time_param(params: &Params, key: &str) -> ApiResult<Option<i64>> {
    let Some(text) = params.string(key)? else {
        return Ok(None);
    };
    if text.is_empty() {
        return Ok(None);
    }
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|time| time.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S")
                .map(|time| time.and_utc().timestamp_millis())
        })
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map(|date| {
                date.and_hms_opt(0, 0, 0)
                    .map(|time| time.and_utc().timestamp_millis())
                    .unwrap_or_default()
            })
        })
        .map(Some)
        .map_err(|_| param_error(format!("{key} is invalid")))
}

/// The filters with GitLab's parameter errors and `DeploymentsFinder`'s rules.
fn list_query(params: &Params) -> ApiResult<DeploymentQuery> {
    let invalid = |key: &str| param_error(format!("{key} does not have a valid value"));
    let order_by = params
        .string("order_by")?
        .unwrap_or_else(|| "id".to_owned());
    if ![
        "id",
        "iid",
        "created_at",
        "updated_at",
        "ref",
        "finished_at",
    ]
    .contains(&order_by.as_str())
    {
        return Err(invalid("order_by"));
    }
    let sort = params.string("sort")?.unwrap_or_else(|| "asc".to_owned());
    if sort != "asc" && sort != "desc" {
        return Err(invalid("sort"));
    }
    let status = params.string("status")?;
    if status
        .as_deref()
        .is_some_and(|status| !DEPLOYMENT_STATUSES.contains(&status))
    {
        return Err(invalid("status"));
    }
    let filter = DeploymentFilter {
        environment_id: None,
        updated_after: time_param(params, "updated_after")?,
        updated_before: time_param(params, "updated_before")?,
        finished_after: time_param(params, "finished_after")?,
        finished_before: time_param(params, "finished_before")?,
        status,
        order: DeploymentOrder::Id,
        ascending: sort == "asc",
    };
    let by_updated = filter.updated_after.is_some() || filter.updated_before.is_some();
    let by_finished = filter.finished_after.is_some() || filter.finished_before.is_some();
    let inefficient = |message: &str| Error::BadRequest(message.to_owned());
    if by_updated && by_finished {
        return Err(inefficient(
            "Both `updated_at` filter and `finished_at` filter can not be specified",
        )
        .into());
    }
    if by_finished != (order_by == "finished_at") {
        return Err(
            inefficient("`finished_at` filter and `finished_at` sorting must be paired").into(),
        );
    }
    if by_finished && filter.status.as_deref() != Some("success") {
        return Err(inefficient(
            "`finished_at` filter must be combined with `success` status filter.",
        )
        .into());
    }
    let order = if by_updated {
        // GitLab orders by `updated_at` whenever it filters by it.
        DeploymentOrder::UpdatedAt
    } else {
        match order_by.as_str() {
            "updated_at" => DeploymentOrder::UpdatedAt,
            "finished_at" => DeploymentOrder::FinishedAt,
            "ref" => DeploymentOrder::Ref,
            // `iid` and `created_at` follow `id`.
            _ => DeploymentOrder::Id,
        }
    };
    Ok(DeploymentQuery {
        filter: DeploymentFilter { order, ..filter },
        environment: params
            .string("environment")?
            .filter(|name| !name.is_empty()),
    })
}

/// `GET /projects/:id/deployments`.
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let page = Page::from_params(&params)?;
    let query = list_query(&params)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let (views, total) =
        environments::list_deployments(&app, &access, query, page.per_page, page.offset()).await?;
    let now = pipewright_core::now_ms();
    let entities: Vec<DeploymentEntity> = views
        .iter()
        .map(|view| DeploymentEntity::new(view, &app.config.external_url, now))
        .collect();
    Ok(super::paged::page_response(
        &app.config.external_url,
        &uri,
        &params,
        &[("id", id)],
        page,
        &entities,
        total,
    ))
}

/// `GET /projects/:id/deployments/:deployment_id`.
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, deployment_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let deployment_id = super::id_param("deployment_id", &deployment_id)?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let view = environments::get_deployment(&app, &access, deployment_id).await?;
    let entity = DeploymentEntity::new(&view, &app.config.external_url, pipewright_core::now_ms());
    Ok(Json(entity).into_response())
}
