use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipewright_core::{App, users};

use crate::auth::Auth;
use crate::entities::user::{CurrentUserEntity, PersonalAccessTokenEntity, UserEntity};
use crate::error::ApiResult;
use crate::params::Params;

pub async fn current_user(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Response> {
    let user = actor.require_user()?;
    Ok(Json(CurrentUserEntity::new(user, &app.config.external_url)).into_response())
}

pub async fn create_user(
    State(app): State<App>,
    Auth(actor): Auth,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    params.require_present(&["email", "name", "username"])?;
    let username = params.required_string("username")?;
    let name = params.required_string("name")?;
    let email = params.required_string("email")?;
    let password = params.string("password")?;
    let admin = params.bool("admin")?.unwrap_or(false);
    let user = users::create_user(
        &app,
        &actor,
        users::CreateUser {
            username,
            name,
            email,
            password,
            admin,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CurrentUserEntity::new(&user, &app.config.external_url)),
    )
        .into_response())
}

/// `GET /users?username=...`: the matching user (or none) as a list.
pub async fn list_users(
    State(app): State<App>,
    Auth(actor): Auth,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let Some(username) = params.string("username")? else {
        return Err(crate::error::param_error("username is missing"));
    };
    let found = users::find_user(&app, &username).await.ok();
    let entities: Vec<UserEntity> = found
        .iter()
        .filter(|user| user.username.eq_ignore_ascii_case(&username))
        .map(|user| UserEntity::new(user, &app.config.external_url))
        .collect();
    Ok(Json(entities).into_response())
}

pub async fn get_user(
    State(app): State<App>,
    Auth(_actor): Auth,
    Path(user_id): Path<String>,
) -> ApiResult<Response> {
    let user = users::find_user(&app, &user_id).await?;
    Ok(Json(UserEntity::new(&user, &app.config.external_url)).into_response())
}

pub async fn create_token(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(user_id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let user_id = super::id_param("user_id", &user_id)?;
    let name = params.required_string("name")?;
    let scopes = params
        .string_list("scopes")?
        .ok_or_else(|| crate::error::param_error("scopes is missing"))?;
    let expires_at = params.string("expires_at")?;
    let (token, clear) = users::create_personal_access_token(
        &app,
        &actor,
        user_id,
        users::CreateToken {
            name,
            scopes,
            expires_at,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(PersonalAccessTokenEntity::new(&token, Some(clear))),
    )
        .into_response())
}

pub async fn revoke_token(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(token_id): Path<String>,
) -> ApiResult<Response> {
    actor.require_user()?;
    let token_id = super::id_param("token_id", &token_id)?;
    users::revoke_personal_access_token(&app, &actor, token_id).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}
