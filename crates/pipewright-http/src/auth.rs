//! Credential extraction (jobs-api.md §1.3): who is calling, from which source, in GitLab's
//! precedence order; then sudo (§1.3.5) and the route's token scopes (§1.3.4). Rejections are
//! already GitLab's 401/403 bodies.
//!
//! Credentials are request params, so they come from the query string and from a JSON or form
//! body alike (the body is parsed once by `body_params::capture`). Token params are read from
//! Rails' `request.params` (the query string wins over the body), `sudo` from Grape's `params`
//! (the body wins).

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use pipewright_core::auth::{authenticate_job_token, authenticate_token, sudo_user};
use pipewright_core::tokens::{JOB_TOKEN_PREFIX, PERSONAL_ACCESS_TOKEN_PREFIX};
use pipewright_core::{Actor, App, Error};

use crate::body_params::BodyParams;
use crate::error::{ApiError, insufficient_scope};
use crate::route_scopes;

/// The caller on routes that accept personal access tokens only (a `JOB-TOKEN` is ignored).
pub struct Auth(pub Actor);

/// The caller on routes that also accept CI job tokens (E1–E5).
pub struct JobAuth(pub Actor);

/// Why the credential extractors refuse a request.
#[derive(Debug)]
pub enum AuthRejection {
    Api(ApiError),
    /// A token holding none of the scopes the route registers; GitLab's `scope` value.
    InsufficientScope(String),
}

impl From<Error> for AuthRejection {
    fn from(err: Error) -> Self {
        AuthRejection::Api(ApiError(err))
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Api(err) => err.into_response(),
            AuthRejection::InsufficientScope(scope) => insufficient_scope(&scope),
        }
    }
}

/// Where one request's credentials come from: query string, parameter body and headers.
struct Sources<'a> {
    parts: &'a Parts,
    body: Option<&'a BodyParams>,
}

impl<'a> Sources<'a> {
    fn new(parts: &'a Parts) -> Self {
        Sources {
            parts,
            body: parts.extensions.get::<BodyParams>(),
        }
    }

    fn query_param(&self, name: &str) -> Option<String> {
        let query = self.parts.uri.query()?;
        // Repeated keys: the last one wins, as in Rack.
        url::form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| key == name)
            .last()
            .map(|(_, value)| value.into_owned())
    }

    fn body_param(&self, name: &str) -> Option<String> {
        self.body.and_then(|body| body.string(name))
    }

    /// A param as the token finders read it (an empty value included): Rails'
    /// `request.params`, where the query string wins over the body.
    fn param(&self, name: &str) -> Option<String> {
        self.query_param(name).or_else(|| self.body_param(name))
    }

    /// A token param; empty counts as absent (`.presence`).
    fn token_param(&self, name: &str) -> Option<String> {
        self.param(name).filter(|value| !value.is_empty())
    }

    fn header(&self, name: &str) -> Option<String> {
        self.parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    fn bearer(&self) -> Option<String> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
            .filter(|token| !token.is_empty())
    }

    /// The OAuth token as GitLab's Doorkeeper looks for it: `access_token` param, then
    /// `Authorization: Bearer`, then `bearer_token` param. A value that is no OAuth access
    /// token goes on to be tried as a job token or personal access token.
    fn oauth_token(&self) -> Option<String> {
        self.token_param("access_token")
            .or_else(|| self.bearer())
            .or_else(|| self.token_param("bearer_token"))
    }

    /// PAT sources: `private_token` param, then `PRIVATE-TOKEN`, then the OAuth token. A
    /// job token's value (`glcbt-`) is never looked up as a PAT: GitLab ignores it there, so
    /// the caller stays anonymous instead of getting a 401.
    fn personal_token(&self) -> Option<String> {
        self.token_param("private_token")
            .or_else(|| self.header("private-token"))
            .or_else(|| self.oauth_token())
            .filter(|token| !token.starts_with(JOB_TOKEN_PREFIX))
    }

    /// Job-token sources: `job_token` param, then `token` param, then `JOB-TOKEN`.
    fn job_token(&self) -> Option<String> {
        self.token_param("job_token")
            .or_else(|| self.token_param("token"))
            .or_else(|| self.header("job-token"))
    }

    /// `params[:sudo] || env['HTTP_SUDO']`, present even when empty. These are Grape's params,
    /// where the body wins over the query string (`Rack::Request#params`).
    fn sudo(&self) -> Option<String> {
        self.body_param("sudo")
            .or_else(|| self.query_param("sudo"))
            .or_else(|| {
                self.parts
                    .headers
                    .get("sudo")
                    .and_then(|value| value.to_str().ok())
                    .map(|value| value.trim().to_owned())
            })
    }
}

/// GitLab's `find_oauth_access_token || find_personal_access_token`: the OAuth token sources
/// are looked up as OAuth access tokens first (an expired or revoked one is a 401 with its
/// reason); a value that is no OAuth token goes on to the personal access token sources.
async fn resolve_personal(app: &App, sources: &Sources<'_>) -> Result<Option<Actor>, Error> {
    if let Some(token) = sources.oauth_token().filter(|token| {
        !token.starts_with(PERSONAL_ACCESS_TOKEN_PREFIX) && !token.starts_with(JOB_TOKEN_PREFIX)
    }) && let Some(actor) = pipewright_core::oauth::authenticate(app, &token).await?
    {
        return Ok(Some(actor));
    }
    match sources.personal_token() {
        Some(token) => authenticate_token(app, &token).await.map(Some),
        None => Ok(None),
    }
}

/// What sudo made of the caller.
enum Sudo {
    /// Acting as another user: GitLab then skips the route's scope check
    /// (`validate_and_save_access_token!(...) unless sudo?`).
    Other(Actor),
    /// `sudo` named the caller themselves: nothing changes.
    Myself(Actor),
}

/// GitLab's `sudo!`: admin first, then a personal access token, then its `sudo` scope, then
/// the user.
async fn sudo(app: &App, actor: Actor, identifier: &str) -> Result<Sudo, AuthRejection> {
    let Some(admin) = actor.user() else {
        return Err(Error::Unauthorized.into());
    };
    if !admin.is_admin {
        return Err(Error::forbidden_because("Must be admin to use sudo").into());
    }
    let Actor::User { scopes, .. } = &actor else {
        return Err(Error::forbidden_because(
            "Must be authenticated using an OAuth or personal access token to use sudo",
        )
        .into());
    };
    if !scopes.iter().any(|scope| scope == "sudo") {
        return Err(AuthRejection::InsufficientScope("sudo".to_owned()));
    }
    let target = sudo_user(app, identifier).await?;
    if target.id == admin.id {
        return Ok(Sudo::Myself(actor));
    }
    // No route scope applies under sudo; `api` lets the use cases' own write check agree.
    let mut scopes = scopes.clone();
    if !scopes.iter().any(|scope| scope == "api") {
        scopes.push("api".to_owned());
    }
    Ok(Sudo::Other(Actor::User {
        user: target,
        scopes,
    }))
}

/// After authentication, as GitLab's `current_user`: sudo, then (unless acting as someone
/// else) the token's scopes against the route's.
async fn finish(
    app: &App,
    parts: &Parts,
    sources: &Sources<'_>,
    actor: Actor,
) -> Result<Actor, AuthRejection> {
    let actor = match sources.sudo() {
        Some(identifier) => match sudo(app, actor, &identifier).await? {
            Sudo::Other(actor) => return Ok(actor),
            Sudo::Myself(actor) => actor,
        },
        None => actor,
    };
    if let Actor::User { scopes, .. } = &actor {
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        route_scopes::check(scopes, &parts.method, route)
            .map_err(AuthRejection::InsufficientScope)?;
    }
    Ok(actor)
}

impl FromRequestParts<App> for Auth {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let sources = Sources::new(parts);
        let actor = resolve_personal(app, &sources)
            .await?
            .unwrap_or(Actor::Anonymous);
        Ok(Auth(finish(app, parts, &sources, actor).await?))
    }
}

impl FromRequestParts<App> for JobAuth {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let sources = Sources::new(parts);
        // The OAuth token (Bearer or `access_token`) is first tried as a job token here.
        if let Some(token) = sources.oauth_token() {
            match authenticate_job_token(app, &token).await {
                Ok(actor) => return Ok(JobAuth(finish(app, parts, &sources, actor).await?)),
                // A valid job token of a blocked user: the account-state 403.
                Err(Error::Forbidden(reason)) => return Err(Error::Forbidden(reason).into()),
                Err(_) => {}
            }
        }
        let actor = match resolve_personal(app, &sources).await? {
            Some(actor) => actor,
            None => match sources.job_token() {
                Some(token) => match authenticate_job_token(app, &token).await {
                    Ok(actor) => actor,
                    Err(Error::Internal(detail)) => return Err(Error::Internal(detail).into()),
                    // A blocked or deactivated job user: GitLab's 403 with the account state.
                    Err(Error::Forbidden(reason)) => {
                        return Err(Error::Forbidden(reason).into());
                    }
                    Err(_) => return Err(Error::Unauthorized.into()),
                },
                None => Actor::Anonymous,
            },
        };
        Ok(JobAuth(finish(app, parts, &sources, actor).await?))
    }
}
