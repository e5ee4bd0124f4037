//! `POST /groups`, `GET /groups/:id`, `POST /groups/:id/members`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::App;
use pipewright_core::groups::{self, CreateGroup, ListGroups};

use crate::auth::Auth;
use crate::entities::group::GroupEntity;
use crate::entities::member::MemberEntity;
use crate::error::{ApiResult, param_error};
use crate::pagination::Page;
use crate::params::Params;

async fn render(app: &App, group: &pipewright_core::model::Namespace) -> ApiResult<GroupEntity> {
    let full_name = groups::full_name(app, group).await?;
    Ok(GroupEntity::new(group, full_name, &app.config.external_url))
}

pub async fn create_group(
    State(app): State<App>,
    Auth(actor): Auth,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let request = CreateGroup {
        name: params.required_string("name")?,
        path: params.required_string("path")?,
        visibility: params.string("visibility")?,
        parent_id: params.int("parent_id")?,
    };
    let group = groups::create_group(&app, &actor, request).await?;
    let entity = render(&app, &group).await?;
    Ok((StatusCode::CREATED, Json(entity)).into_response())
}

pub async fn get_group(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let access = groups::find_group(&app, &actor, &id).await?;
    Ok(Json(render(&app, &access.group).await?).into_response())
}

pub async fn add_member(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    // Scopes are checked with the credentials, before any parameter.
    actor.require_write_scope()?;
    let user_id = params.required_int("user_id")?;
    let access_level = params.required_int("access_level")?;
    let level = i32::try_from(access_level)
        .map_err(|_| param_error("access_level does not have a valid value"))?;
    let access = groups::find_group(&app, &actor, &id).await?;
    let (user, level) = groups::add_member(&app, &actor, &access, user_id, level).await?;
    Ok((
        StatusCode::CREATED,
        Json(MemberEntity::new(
            &user,
            level,
            pipewright_core::now_ms(),
            &app.config.external_url,
        )),
    )
        .into_response())
}

pub async fn list_groups(
    State(app): State<App>,
    Auth(actor): Auth,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    let page = Page::from_params(&params)?;
    let request = ListGroups {
        all_available: params.bool("all_available")?,
        owned: params.bool("owned")?.unwrap_or(false),
        min_access_level: params
            .int("min_access_level")?
            .map(|level| i32::try_from(level).unwrap_or(-1)),
        top_level_only: params.bool("top_level_only")?.unwrap_or(false),
        search: params.string("search")?,
        order_by: params.string("order_by")?,
        sort: params.string("sort")?,
    };
    let (found, total) =
        groups::list_groups(&app, &actor, request, page.per_page, page.offset()).await?;
    let mut entities = Vec::with_capacity(found.len());
    for group in &found {
        entities.push(render(&app, group).await?);
    }
    Ok(super::paged::page_response(
        &app.config.external_url,
        &uri,
        &params,
        &[],
        page,
        &entities,
        total,
    ))
}
