//! OAuth 2 as GitLab's Doorkeeper serves it: instance-wide applications (admin API), the
//! token endpoint (`password`, `refresh_token`, `client_credentials`, and `authorization_code`
//! as far as it can go without `/oauth/authorize`), token info and revocation, and resolving an
//! access token to an [`Actor`]. Secrets and tokens are stored as SHA-256 digests only.

use pipewright_store::{NewOauthAccessToken, NewOauthApplication};
pub use pipewright_store::{OauthAccessToken, OauthApplication};
use rand::RngCore;

use crate::App;
use crate::auth::{Actor, TOKEN_SCOPES};
use crate::error::{Error, Result};
use crate::passwords;
use crate::tokens::hash_token;

/// Access tokens live two hours (Doorkeeper's `access_token_expires_in 7200` in GitLab).
pub const ACCESS_TOKEN_LIFETIME: i64 = 7200;

/// GitLab's prefix for application secrets.
const APPLICATION_SECRET_PREFIX: &str = "gloas-";

/// Scopes an application or token may carry: Doorkeeper's default (`api`) and optional
/// scopes (every token scope, OpenID Connect's and `ai_workflows`).
pub fn oauth_scopes() -> impl Iterator<Item = &'static str> {
    TOKEN_SCOPES
        .iter()
        .copied()
        .chain(["openid", "profile", "email", "ai_workflows"])
}

fn known_scope(scope: &str) -> bool {
    oauth_scopes().any(|known| known == scope)
}

/// 64 hex characters, Doorkeeper's `:hex` generator (32 random bytes).
fn random_hex() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn normalize_scopes(scopes: &str) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    for scope in scopes.split_whitespace() {
        if !list.iter().any(|seen| seen == scope) {
            list.push(scope.to_owned());
        }
    }
    list
}

// ---- applications (admin API) -----------------------------------------------------------

pub struct NewApplication {
    pub name: String,
    pub redirect_uri: String,
    pub scopes: String,
    pub confidential: bool,
}

fn require_admin(actor: &Actor) -> Result<()> {
    actor.require_user()?;
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

fn validation_error(field: &str, text: &str) -> Error {
    Error::Message {
        status: 400,
        message: serde_json::json!({ field: [text] }),
    }
}

/// Doorkeeper's redirect URI checks, one URI per line.
fn check_redirect_uri(redirect_uri: &str) -> Result<()> {
    if redirect_uri.trim().is_empty() {
        return Err(validation_error("redirect_uri", "can't be blank"));
    }
    for line in redirect_uri.split_whitespace() {
        let Ok(uri) = url::Url::parse(line) else {
            return Err(if line.contains(':') {
                validation_error("redirect_uri", "must be a valid URI.")
            } else {
                validation_error("redirect_uri", "must be an absolute URI.")
            });
        };
        if uri.fragment().is_some() {
            return Err(validation_error(
                "redirect_uri",
                "cannot contain a fragment.",
            ));
        }
        if matches!(
            uri.scheme().to_ascii_lowercase().as_str(),
            "data" | "vbscript" | "javascript"
        ) {
            return Err(validation_error(
                "redirect_uri",
                "is forbidden by the server.",
            ));
        }
    }
    Ok(())
}

/// `POST /applications`: the application and its clear secret (shown once).
pub async fn create_application(
    app: &App,
    actor: &Actor,
    params: NewApplication,
) -> Result<(OauthApplication, String)> {
    require_admin(actor)?;
    actor.require_write_scope()?;
    if params.name.trim().is_empty() {
        return Err(validation_error("name", "can't be blank"));
    }
    check_redirect_uri(&params.redirect_uri)?;
    let scopes = normalize_scopes(&params.scopes);
    // `enforce_configured_scopes`
    if scopes.is_empty() || !scopes.iter().all(|scope| known_scope(scope)) {
        return Err(validation_error(
            "scopes",
            "doesn't match configured on the server.",
        ));
    }
    let secret = format!("{APPLICATION_SECRET_PREFIX}{}", random_hex());
    let uid = random_hex();
    let application = app
        .store
        .create_oauth_application(&NewOauthApplication {
            name: &params.name,
            uid: &uid,
            secret_hash: &hash_token(&secret),
            redirect_uri: &params.redirect_uri,
            scopes: &scopes.join(" "),
            confidential: params.confidential,
        })
        .await?;
    Ok((application, secret))
}

/// `GET /applications`.
pub async fn list_applications(app: &App, actor: &Actor) -> Result<Vec<OauthApplication>> {
    require_admin(actor)?;
    Ok(app.store.oauth_applications().await?)
}

/// `DELETE /applications/:id`: the application and every token issued to it.
pub async fn delete_application(app: &App, actor: &Actor, id: i64) -> Result<()> {
    require_admin(actor)?;
    actor.require_write_scope()?;
    if app.store.delete_oauth_application(id).await? {
        Ok(())
    } else {
        Err(Error::not_found("Application"))
    }
}

/// `POST /applications/:id/renew-secret`.
pub async fn renew_secret(app: &App, actor: &Actor, id: i64) -> Result<(OauthApplication, String)> {
    require_admin(actor)?;
    actor.require_write_scope()?;
    let secret = format!("{APPLICATION_SECRET_PREFIX}{}", random_hex());
    let application = app
        .store
        .set_oauth_application_secret(id, &hash_token(&secret))
        .await?
        .ok_or_else(|| Error::not_found("Application"))?;
    Ok((application, secret))
}

// ---- the token endpoint -----------------------------------------------------------------

/// Doorkeeper's error names for the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OauthError {
    /// `invalid_request`; `Some(param)` when a required parameter is missing.
    InvalidRequest(Option<&'static str>),
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
}

impl OauthError {
    pub fn name(&self) -> &'static str {
        match self {
            OauthError::InvalidRequest(_) => "invalid_request",
            OauthError::InvalidClient => "invalid_client",
            OauthError::InvalidGrant => "invalid_grant",
            OauthError::InvalidScope => "invalid_scope",
            OauthError::UnauthorizedClient => "unauthorized_client",
            OauthError::UnsupportedGrantType => "unsupported_grant_type",
        }
    }

    /// Doorkeeper's English `error_description`.
    pub fn description(&self) -> String {
        match self {
            OauthError::InvalidRequest(Some(param)) => {
                format!("Missing required parameter: {param}.")
            }
            OauthError::InvalidRequest(None) => "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.".to_owned(),
            OauthError::InvalidClient => "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.".to_owned(),
            OauthError::InvalidGrant => "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.".to_owned(),
            OauthError::InvalidScope => "The requested scope is invalid, unknown, or malformed.".to_owned(),
            OauthError::UnauthorizedClient => "The client is not authorized to perform this request using this method.".to_owned(),
            OauthError::UnsupportedGrantType => "The authorization grant type is not supported by the authorization server.".to_owned(),
        }
    }

    /// 401 for client authentication failures, 400 for the rest.
    pub fn status(&self) -> u16 {
        match self {
            OauthError::InvalidClient | OauthError::UnauthorizedClient => 401,
            _ => 400,
        }
    }
}

/// Why a token request failed: an OAuth error, or our own.
#[derive(Debug)]
pub enum TokenFailure {
    Oauth(OauthError),
    Internal(Error),
}

impl From<OauthError> for TokenFailure {
    fn from(err: OauthError) -> Self {
        TokenFailure::Oauth(err)
    }
}

impl From<Error> for TokenFailure {
    fn from(err: Error) -> Self {
        TokenFailure::Internal(err)
    }
}

impl From<pipewright_store::StoreError> for TokenFailure {
    fn from(err: pipewright_store::StoreError) -> Self {
        TokenFailure::Internal(err.into())
    }
}

/// A token request's parameters (the client credentials from HTTP Basic already merged in:
/// Doorkeeper reads Basic first, then the `client_id`/`client_secret` params).
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
}

/// A freshly issued token with its clear values.
#[derive(Debug)]
pub struct IssuedToken {
    pub record: OauthAccessToken,
    pub access_token: String,
    pub refresh_token: Option<String>,
}

/// The client a request authenticates as: `Ok(None)` when it names none.
async fn client(
    app: &App,
    request: &TokenRequest,
) -> Result<Option<OauthApplication>, TokenFailure> {
    let Some(uid) = request.client_id.as_deref().filter(|uid| !uid.is_empty()) else {
        return Ok(None);
    };
    let Some(application) = app.store.oauth_application_by_uid(uid).await? else {
        return Err(OauthError::InvalidClient.into());
    };
    let secret = request.client_secret.as_deref().unwrap_or_default();
    // A public client may leave its secret out (`by_uid_and_secret`).
    let authenticated = if secret.is_empty() {
        !application.confidential
    } else {
        hash_token(secret) == application.secret_hash
    };
    if authenticated {
        Ok(Some(application))
    } else {
        Err(OauthError::InvalidClient.into())
    }
}

/// The requested scopes, or the defaults: Doorkeeper's default scope (`api`), narrowed to the
/// client's scopes when there is a client. Requested scopes must be known and, with a
/// client, among its scopes.
fn granted_scopes(
    requested: Option<&str>,
    client: Option<&OauthApplication>,
) -> Result<Vec<String>, OauthError> {
    let client_scopes = client.map(|client| normalize_scopes(&client.scopes));
    let Some(requested) = requested.filter(|scope| !scope.trim().is_empty()) else {
        return Ok(match client_scopes {
            Some(scopes) => scopes.into_iter().filter(|scope| scope == "api").collect(),
            None => vec!["api".to_owned()],
        });
    };
    let scopes = normalize_scopes(requested);
    let allowed = |scope: &String| {
        known_scope(scope)
            && client_scopes
                .as_ref()
                .is_none_or(|list| list.iter().any(|own| own == scope))
    };
    if scopes.iter().all(allowed) {
        Ok(scopes)
    } else {
        Err(OauthError::InvalidScope)
    }
}

/// `POST /oauth/token`.
pub async fn issue_token(app: &App, request: TokenRequest) -> Result<IssuedToken, TokenFailure> {
    let grant_type = request
        .grant_type
        .clone()
        .filter(|grant| !grant.is_empty())
        .ok_or(OauthError::InvalidRequest(Some("grant_type")))?;
    match grant_type.as_str() {
        "password" => password_grant(app, &request).await,
        "refresh_token" => refresh_grant(app, &request).await,
        "client_credentials" => client_credentials_grant(app, &request).await,
        "authorization_code" => authorization_code_grant(app, &request).await,
        _ => Err(OauthError::UnsupportedGrantType.into()),
    }
}

/// Resource owner password credentials. Client credentials are optional (GitLab's
/// `ropc_without_client_credentials`), but a `client_id` that fails to authenticate is
/// `invalid_client`.
async fn password_grant(app: &App, request: &TokenRequest) -> Result<IssuedToken, TokenFailure> {
    let client = client(app, request).await?;
    let user = resource_owner(app, request)
        .await?
        .ok_or(OauthError::InvalidGrant)?;
    let scopes = granted_scopes(request.scope.as_deref(), client.as_ref())?;
    issue(app, client.as_ref(), Some(user.id), &scopes, true).await
}

/// The user a username (or email) and password name (GitLab's
/// `resource_owner_from_credentials`).
async fn resource_owner(
    app: &App,
    request: &TokenRequest,
) -> Result<Option<pipewright_store::model::User>, TokenFailure> {
    let (Some(login), Some(password)) = (request.username.as_deref(), request.password.as_deref())
    else {
        return Ok(None);
    };
    Ok(passwords::authenticate(app, login, password).await?)
}

async fn refresh_grant(app: &App, request: &TokenRequest) -> Result<IssuedToken, TokenFailure> {
    let refresh = request
        .refresh_token
        .as_deref()
        .filter(|token| !token.is_empty())
        .ok_or(OauthError::InvalidRequest(Some("refresh_token")))?;
    let old = app
        .store
        .oauth_access_token_by_refresh_hash(&hash_token(refresh))
        .await?
        .filter(|token| token.revoked_at.is_none())
        .ok_or(OauthError::InvalidGrant)?;
    let client = client(app, request).await?;
    // A token issued to an application is refreshed by that application only.
    if let Some(application_id) = old.application_id
        && client.as_ref().map(|client| client.id) != Some(application_id)
    {
        return Err(OauthError::InvalidGrant.into());
    }
    let old_scopes = old.scope_list();
    let scopes = match request
        .scope
        .as_deref()
        .filter(|scope| !scope.trim().is_empty())
    {
        Some(requested) => {
            let scopes = normalize_scopes(requested);
            if !scopes.iter().all(|scope| old_scopes.contains(scope)) {
                return Err(OauthError::InvalidScope.into());
            }
            scopes
        }
        None => old_scopes,
    };
    let access_token = random_hex();
    let refresh_token = random_hex();
    let record = app
        .store
        .refresh_oauth_access_token(
            old.id,
            &NewOauthAccessToken {
                application_id: old.application_id,
                user_id: old.user_id,
                token_hash: &hash_token(&access_token),
                refresh_token_hash: Some(&hash_token(&refresh_token)),
                scopes: &scopes.join(" "),
                expires_in: ACCESS_TOKEN_LIFETIME,
            },
        )
        .await?
        // Another request used the refresh token first.
        .ok_or(OauthError::InvalidGrant)?;
    Ok(IssuedToken {
        record,
        access_token,
        refresh_token: Some(refresh_token),
    })
}

/// A token for the application itself (no user, no refresh token). The API answers such a
/// token with 401, as GitLab does for tokens without a resource owner.
async fn client_credentials_grant(
    app: &App,
    request: &TokenRequest,
) -> Result<IssuedToken, TokenFailure> {
    let client = client(app, request)
        .await?
        .ok_or(OauthError::InvalidClient)?;
    let scopes = granted_scopes(request.scope.as_deref(), Some(&client))?;
    issue(app, Some(&client), None, &scopes, false).await
}

/// Codes come from `/oauth/authorize`, which is not served: every well-formed request names
/// a code that does not exist.
async fn authorization_code_grant(
    app: &App,
    request: &TokenRequest,
) -> Result<IssuedToken, TokenFailure> {
    if request.code.as_deref().is_none_or(str::is_empty) {
        return Err(OauthError::InvalidRequest(Some("code")).into());
    }
    if request.redirect_uri.as_deref().is_none_or(str::is_empty) {
        return Err(OauthError::InvalidRequest(Some("redirect_uri")).into());
    }
    client(app, request)
        .await?
        .ok_or(OauthError::InvalidClient)?;
    Err(OauthError::InvalidGrant.into())
}

async fn issue(
    app: &App,
    client: Option<&OauthApplication>,
    user_id: Option<i64>,
    scopes: &[String],
    with_refresh_token: bool,
) -> Result<IssuedToken, TokenFailure> {
    let access_token = random_hex();
    let refresh_token = with_refresh_token.then(random_hex);
    let refresh_hash = refresh_token.as_deref().map(hash_token);
    let record = app
        .store
        .create_oauth_access_token(&NewOauthAccessToken {
            application_id: client.map(|client| client.id),
            user_id,
            token_hash: &hash_token(&access_token),
            refresh_token_hash: refresh_hash.as_deref(),
            scopes: &scopes.join(" "),
            expires_in: ACCESS_TOKEN_LIFETIME,
        })
        .await?;
    Ok(IssuedToken {
        record,
        access_token,
        refresh_token,
    })
}

// ---- token info, revocation, authentication ---------------------------------------------

/// Seconds left before `token` expires, rounded, never negative (Doorkeeper's
/// `expires_in_seconds`).
pub fn expires_in_seconds(token: &OauthAccessToken, now_ms: i64) -> i64 {
    let expires_at_ms = token
        .created_at
        .saturating_add(token.expires_in.saturating_mul(1000));
    (expires_at_ms.saturating_sub(now_ms).saturating_add(500) / 1000).max(0)
}

fn expired(token: &OauthAccessToken, now_ms: i64) -> bool {
    now_ms
        >= token
            .created_at
            .saturating_add(token.expires_in.saturating_mul(1000))
}

/// What `GET /oauth/token/info` shows: the token and its application's client id.
pub struct TokenInfo {
    pub token: OauthAccessToken,
    pub application_uid: Option<String>,
}

/// `GET /oauth/token/info`: the token when it is neither expired nor revoked.
pub async fn token_info(app: &App, token: &str) -> Result<Option<TokenInfo>> {
    let Some(record) = app
        .store
        .oauth_access_token_by_hash(&hash_token(token))
        .await?
    else {
        return Ok(None);
    };
    if record.revoked_at.is_some() || expired(&record, crate::now_ms()) {
        return Ok(None);
    }
    let application_uid = match record.application_id {
        Some(id) => app
            .store
            .oauth_application_by_id(id)
            .await?
            .map(|application| application.uid),
        None => None,
    };
    Ok(Some(TokenInfo {
        token: record,
        application_uid,
    }))
}

/// `POST /oauth/revoke` (RFC 7009): `Ok(true)` when the token is gone or never existed,
/// `Ok(false)` when the client may not revoke it (a confidential application's token, asked
/// by anyone but that application).
pub async fn revoke(app: &App, request: &TokenRequest, token: &str) -> Result<bool, TokenFailure> {
    let hash = hash_token(token);
    let record = match app.store.oauth_access_token_by_hash(&hash).await? {
        Some(record) => Some(record),
        None => app.store.oauth_access_token_by_refresh_hash(&hash).await?,
    };
    let Some(record) = record else {
        return Ok(true);
    };
    if let Some(application_id) = record.application_id {
        let owner = app.store.oauth_application_by_id(application_id).await?;
        if owner.is_some_and(|owner| owner.confidential) {
            let client = client(app, request).await.ok().flatten();
            if client.map(|client| client.id) != Some(application_id) {
                return Ok(false);
            }
        }
    }
    app.store.revoke_oauth_access_token(record.id).await?;
    Ok(true)
}

/// Resolves an OAuth access token. `Ok(None)`: no such OAuth token (the caller may try it as
/// a personal access token). Expired or revoked tokens answer GitLab's OAuth-style 401s.
pub async fn authenticate(app: &App, token: &str) -> Result<Option<Actor>> {
    let Some(record) = app
        .store
        .oauth_access_token_by_hash(&hash_token(token))
        .await?
    else {
        return Ok(None);
    };
    if record.revoked_at.is_some() {
        return Err(Error::InvalidToken(
            "Token was revoked. You have to re-authorize from the user.",
        ));
    }
    if expired(&record, crate::now_ms()) {
        return Err(Error::InvalidToken(
            "Token is expired. You can either do re-authorization or token refresh.",
        ));
    }
    // A client credentials token has no user to act as.
    let Some(user_id) = record.user_id else {
        return Err(Error::Unauthorized);
    };
    let user = app
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(Error::Unauthorized)?;
    crate::user_states::require_active(app, &user)?;
    Ok(Some(Actor::User {
        user,
        scopes: record.scope_list(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn application(scopes: &str) -> OauthApplication {
        OauthApplication {
            id: 1,
            name: "app".into(),
            uid: "uid".into(),
            secret_hash: String::new(),
            redirect_uri: "http://localhost/cb".into(),
            scopes: scopes.into(),
            confidential: true,
            created_at: 0,
        }
    }

    #[test]
    fn default_scopes_are_api_narrowed_to_the_client() {
        assert_eq!(granted_scopes(None, None), Ok(vec!["api".to_owned()]));
        let read_only = application("read_user read_api");
        assert_eq!(granted_scopes(Some(" "), Some(&read_only)), Ok(vec![]));
        assert_eq!(
            granted_scopes(Some("read_api"), Some(&read_only)),
            Ok(vec!["read_api".to_owned()])
        );
        assert_eq!(
            granted_scopes(Some("api"), Some(&read_only)),
            Err(OauthError::InvalidScope)
        );
        assert_eq!(
            granted_scopes(Some("nope"), None),
            Err(OauthError::InvalidScope)
        );
    }

    #[test]
    fn redirect_uris_follow_doorkeeper() {
        assert!(check_redirect_uri("http://localhost/cb urn:ietf:wg:oauth:2.0:oob").is_ok());
        assert!(check_redirect_uri("/relative").is_err());
        assert!(check_redirect_uri("http://x/cb#frag").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
    }

    #[test]
    fn lifetime_counts_down_from_creation() {
        let token = OauthAccessToken {
            id: 1,
            application_id: None,
            user_id: Some(1),
            scopes: "api".into(),
            expires_in: 7200,
            created_at: 1_000,
            revoked_at: None,
        };
        assert_eq!(expires_in_seconds(&token, 1_000), 7200);
        assert_eq!(expires_in_seconds(&token, 1_000 + 7_199_600), 0);
        assert_eq!(expires_in_seconds(&token, 1_000 + 300), 7200);
        assert!(!expired(&token, 1_000 + 7_199_999));
        assert!(expired(&token, 1_000 + 7_200_000));
    }
}
