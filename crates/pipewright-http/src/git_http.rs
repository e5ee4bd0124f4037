//! Git smart HTTP at `<external-url>/<namespace>/<project>.git/...`, served by
//! `git http-backend` after authenticating and authorising the caller here.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures::TryStreamExt;
use pipewright_core::auth::{authenticate_job_token, authenticate_token};
use pipewright_core::{Actor, App, repository};
use pipewright_git::smart_http::{self, CgiOptions, CgiRequest, Service};
use tokio::io::AsyncReadExt;
use tokio_util::io::{ReaderStream, StreamReader};

/// Router fallback: git requests go to git, everything else gets GitLab's 404.
pub async fn git_or_not_found(State(app): State<App>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let Some(split) = path.find(".git/") else {
        return crate::api::not_found().await;
    };
    let repo_path = percent_encoding::percent_decode_str(path[1..split].trim_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let path_info = path[split + 4..].to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let Some(service) = smart_http::service_of(&path_info, &query) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    match serve(&app, request, &repo_path, path_info, query, service).await {
        Ok(response) => response,
        Err(response) => response,
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
}

fn ask_for_credentials() -> Response {
    let mut response = plain(StatusCode::UNAUTHORIZED, "HTTP Basic: Access denied\n");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"GitLab\""),
    );
    response
}

/// `Authorization: Basic` as (username, password).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// What credentials let a git client do, by their token's scopes (GitLab's
/// `abilities_for_scopes`): the caller's role decides the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GitAbilities {
    download: bool,
    push: bool,
}

const FULL: GitAbilities = GitAbilities {
    download: true,
    push: true,
};

/// Scopes that carry `download_code` (`read_api` included, as GitLab maps it to its
/// read-only abilities) and `push_code`.
const DOWNLOAD_SCOPES: [&str; 5] = [
    "api",
    "read_api",
    "read_repository",
    "write_repository",
    "ai_workflows",
];
const PUSH_SCOPES: [&str; 3] = ["api", "write_repository", "ai_workflows"];

fn abilities_for_scopes(scopes: &[String]) -> GitAbilities {
    let holds = |wanted: &[&str]| scopes.iter().any(|scope| wanted.contains(&scope.as_str()));
    GitAbilities {
        download: holds(&DOWNLOAD_SCOPES),
        push: holds(&PUSH_SCOPES),
    }
}

fn with_scope_abilities(actor: Actor) -> (Actor, GitAbilities) {
    let abilities = match &actor {
        Actor::User { scopes, .. } => abilities_for_scopes(scopes),
        // No scopes to narrow: a job reads with its user's rights (and is refused pushes by
        // the project checks, as GitLab's `build_push_code` is), anonymous callers get what
        // the project's visibility gives.
        Actor::Job { .. } | Actor::Anonymous => FULL,
    };
    (actor, abilities)
}

/// GitLab's `find_for_git_client`: a job token (username `gitlab-ci-token`), then the
/// password as an OAuth access token, a personal access token, and finally the user's own
/// password. Any username goes with a token. Credentials that match nothing ask again.
async fn git_actor(
    app: &App,
    headers: &HeaderMap,
) -> Result<Option<(Actor, GitAbilities)>, Response> {
    let Some((username, password)) = basic_credentials(headers) else {
        return Ok(None);
    };
    if password.is_empty() {
        return Err(ask_for_credentials());
    }
    if username == "gitlab-ci-token"
        && let Ok(actor) = authenticate_job_token(app, &password).await
    {
        return Ok(Some(with_scope_abilities(actor)));
    }
    match pipewright_core::oauth::authenticate(app, &password).await {
        Ok(Some(actor)) => return Ok(Some(with_scope_abilities(actor))),
        Ok(None) => {}
        // Expired, revoked, or of a user who may not sign in.
        Err(_) => return Err(ask_for_credentials()),
    }
    if let Ok(actor) = authenticate_token(app, &password).await {
        return Ok(Some(with_scope_abilities(actor)));
    }
    // GitLab's `user_with_password_for_git`.
    match pipewright_core::passwords::authenticate(app, &username, &password).await {
        Ok(Some(user)) => Ok(Some((
            Actor::User {
                user,
                scopes: vec!["api".to_owned()],
            },
            FULL,
        ))),
        Ok(None) => Err(ask_for_credentials()),
        Err(_) => Err(plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")),
    }
}

async fn serve(
    app: &App,
    request: Request,
    repo_path: &str,
    path_info: String,
    query: String,
    service: Service,
) -> Result<Response, Response> {
    let authenticated = git_actor(app, request.headers()).await?;
    let signed_in = authenticated.is_some();
    let (actor, abilities) =
        authenticated.unwrap_or_else(|| with_scope_abilities(Actor::Anonymous));
    let project = pipewright_core::projects::project_by_path(app, repo_path)
        .await
        .map_err(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))?;
    let hidden = || {
        if signed_in {
            plain(
                StatusCode::NOT_FOUND,
                "The project you were looking for could not be found.\n",
            )
        } else {
            ask_for_credentials()
        }
    };
    let Some(project) = project else {
        return Err(hidden());
    };
    // A token without the scope for the command (GitLab's `check_authentication_abilities!`,
    // before the project's own checks).
    if service.is_write() && !abilities.push {
        return Err(plain(
            StatusCode::FORBIDDEN,
            "You are not allowed to upload code.\n",
        ));
    }
    if !service.is_write() && !abilities.download {
        return Err(plain(
            StatusCode::FORBIDDEN,
            "You are not allowed to download code.\n",
        ));
    }
    // Job tokens from other projects only get what the target's job token scope allows.
    let (access, _) = pipewright_core::job_token_scope::scoped_access(app, &actor, project)
        .await
        .map_err(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))?;
    // A job token reads its own project's repository (or any the job's user can read).
    let job_own_project =
        matches!(&actor, Actor::Job { job, .. } if job.project_id == access.project.id);
    if !access.can_read_project() && !job_own_project {
        return Err(hidden());
    }
    // A repository feature the caller may not use (disabled, or members only) refuses
    // clones as GitLab's download check does.
    if !access.repository_available() {
        return Err(if signed_in {
            plain(
                StatusCode::FORBIDDEN,
                "You are not allowed to download code from this project.\n",
            )
        } else {
            ask_for_credentials()
        });
    }
    if service.is_write() {
        let may_push = matches!(actor, Actor::User { .. }) && access.can_push();
        if !may_push {
            return Err(if signed_in {
                plain(
                    StatusCode::FORBIDDEN,
                    "You are not allowed to push code to this project.\n",
                )
            } else {
                ask_for_credentials()
            });
        }
    }

    let receive_pack = service.is_write() && path_info == "/git-receive-pack";
    let repo = app.repository(access.project.id);
    let headers = request.headers().clone();
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let cgi = CgiRequest {
        method: request.method().as_str().to_owned(),
        path_info,
        query,
        content_type: text(header::CONTENT_TYPE),
        content_encoding: text(header::CONTENT_ENCODING),
        remote_user: actor.user().map(|user| user.username.clone()),
        remote_addr: None,
    };
    let options = CgiOptions {
        git_protocol: headers
            .get("git-protocol")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        content_length: text(header::CONTENT_LENGTH).and_then(|len| len.parse().ok()),
    };
    let mut body = StreamReader::new(
        request
            .into_body()
            .into_data_stream()
            .map_err(std::io::Error::other),
    );
    // Protected branches: read the ref updates ahead of the pack and refuse the push as a
    // declined pre-receive hook would; otherwise replay them in front of the rest.
    let mut consumed = Vec::new();
    if receive_pack {
        if cgi
            .content_encoding
            .as_deref()
            .is_some_and(|encoding| !encoding.eq_ignore_ascii_case("identity"))
        {
            return Err(plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Compressed pushes are not supported\n",
            ));
        }
        let commands = crate::git_push::read_commands(&mut body)
            .await
            .map_err(|_| plain(StatusCode::BAD_REQUEST, "Bad Request\n"))?;
        let refusal =
            pipewright_core::protected_refs::push_rejection(app, &access, &commands.changes)
                .await
                .map_err(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))?;
        if let Some(message) = refusal {
            // Read the pack to its end so the client sees the answer, not a broken pipe.
            let _ = tokio::io::copy(&mut body, &mut tokio::io::sink()).await;
            return Ok((
                StatusCode::OK,
                [
                    (
                        header::CONTENT_TYPE,
                        "application/x-git-receive-pack-result",
                    ),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                crate::git_push::rejection(&commands, &message),
            )
                .into_response());
        }
        consumed = commands.consumed;
        pipewright_core::force_push_guard::prepare_receive(app, access.project.id)
            .await
            .map_err(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))?;
    }
    let body = std::io::Cursor::new(consumed).chain(body);

    let before = if service.is_write() {
        let snapshot = repo.clone();
        Some(
            tokio::task::spawn_blocking(move || snapshot.refs())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default(),
        )
    } else {
        None
    };
    let cgi_response = smart_http::http_backend_with(&repo, cgi, options, body)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "git http-backend failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
        })?;
    let status = StatusCode::from_u16(cgi_response.status).unwrap_or(StatusCode::OK);
    let mut builder = Response::builder().status(status);
    for (name, value) in &cgi_response.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }

    let body = match before {
        // A push: wait for receive-pack to finish (its report is small), then start the
        // pipelines of the refs it moved, then answer.
        Some(before) => {
            let mut report = Vec::new();
            let mut reader = cgi_response.body;
            reader.read_to_end(&mut report).await.map_err(|err| {
                tracing::error!(error = %err, "reading receive-pack output failed");
                plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
            })?;
            let after = tokio::task::spawn_blocking(move || repo.refs())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            if let Some(user) = actor.user() {
                repository::after_push(app, &access.project, user, &before, &after).await;
            }
            Body::from(report)
        }
        None => Body::from_stream(ReaderStream::new(cgi_response.body)),
    };
    builder
        .body(body)
        .map_err(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))
}
