//! Git's smart HTTP protocol, by running `git http-backend` as a CGI program.
//!
//! The server authenticates and authorizes first ([`service_of`] tells read from write), then
//! hands the request here. The request body is streamed into git's stdin while git's stdout
//! is parsed for the CGI header block and handed back as a stream, so neither a large push
//! nor a large clone is ever buffered whole or deadlocks.

use std::ffi::OsString;
use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader, ReadBuf};
use tokio::process::{ChildStdout, Command};

use crate::cmd::clean_env;
use crate::{GitError, Repo};

/// Which git service a request is for: reading (fetch/clone) or writing (push).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    UploadPack,
    ReceivePack,
}

impl Service {
    /// The service's program name, as it appears in URLs (`git-upload-pack`).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::UploadPack => "git-upload-pack",
            Service::ReceivePack => "git-receive-pack",
        }
    }

    /// `true` for a push.
    pub fn is_write(self) -> bool {
        self == Service::ReceivePack
    }
}

/// The service a smart-HTTP request asks for: `GET /info/refs?service=...` (ref
/// advertisement) or `POST /git-upload-pack` / `POST /git-receive-pack`. Anything else,
/// including the dumb protocol, is `None`.
pub fn service_of(path_info: &str, query: &str) -> Option<Service> {
    let parse = |name: &str| match name {
        "git-upload-pack" => Some(Service::UploadPack),
        "git-receive-pack" => Some(Service::ReceivePack),
        _ => None,
    };
    match path_info {
        "/info/refs" => query
            .split('&')
            .find_map(|pair| pair.strip_prefix("service="))
            .and_then(parse),
        "/git-upload-pack" => Some(Service::UploadPack),
        "/git-receive-pack" => Some(Service::ReceivePack),
        _ => None,
    }
}

/// The parts of an HTTP request that `git http-backend` reads (as CGI variables).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgiRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Relative to the repository URL: `/info/refs`, `/git-upload-pack`, `/git-receive-pack`.
    pub path_info: String,
    /// Raw query string without `?` (e.g. `service=git-upload-pack`).
    pub query: String,
    pub content_type: Option<String>,
    /// `gzip` bodies are inflated by git itself.
    pub content_encoding: Option<String>,
    /// The authenticated user, recorded by git as the pusher.
    pub remote_user: Option<String>,
    pub remote_addr: Option<String>,
}

/// Optional extras of a request beyond [`CgiRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgiOptions {
    /// The `Git-Protocol` request header (e.g. `version=2`); enables protocol v2.
    pub git_protocol: Option<String>,
    /// The `Content-Length` header, when the client sent one (else git reads to EOF).
    pub content_length: Option<u64>,
}

/// What git answered: status, headers, and the body still being produced.
#[derive(Debug)]
pub struct CgiResponse {
    pub status: u16,
    /// In git's order; `Status:` is folded into `status` and not repeated here.
    pub headers: Vec<(String, String)>,
    /// Git's stdout after the header block; forward it as it arrives (e.g. with
    /// `tokio_util::io::ReaderStream`).
    pub body: CgiBody,
}

/// The response body: any bytes read past the headers, then git's stdout until it exits.
#[derive(Debug)]
pub struct CgiBody {
    head: Vec<u8>,
    pos: usize,
    stdout: ChildStdout,
}

impl AsyncRead for CgiBody {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.head.len() {
            let n = buf.remaining().min(this.head.len() - this.pos);
            buf.put_slice(&this.head[this.pos..this.pos + n]);
            this.pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stdout).poll_read(cx, buf)
    }
}

/// Config for both services. Pushes may not touch pipeline and keep-around refs (they pin
/// what CI ran); fetches may ask for any sha and use filters, as runners do with GitLab.
const SERVICE_CONFIG: [(&str, &str); 5] = [
    ("http.receivepack", "true"),
    ("receive.hideRefs", "refs/pipelines"),
    ("receive.hideRefs", "refs/keep-around"),
    ("uploadpack.allowAnySHA1InWant", "true"),
    ("uploadpack.allowFilter", "true"),
];

/// Largest CGI header block we accept before deciding git is misbehaving.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Runs `git http-backend` for one request against `repo`. The caller has already decided
/// the user may use [`service_of`] this request; receive-pack is enabled unconditionally.
pub async fn http_backend(
    repo: &Repo,
    req: CgiRequest,
    body: impl AsyncRead + Send + Unpin + 'static,
) -> Result<CgiResponse, GitError> {
    http_backend_with(repo, req, CgiOptions::default(), body).await
}

/// [`http_backend`] with the optional `Git-Protocol` and `Content-Length` headers.
pub async fn http_backend_with(
    repo: &Repo,
    req: CgiRequest,
    options: CgiOptions,
    mut body: impl AsyncRead + Send + Unpin + 'static,
) -> Result<CgiResponse, GitError> {
    let env = cgi_env(repo, &req, &options)?;
    let io_err = |source| GitError::Io {
        command: "http-backend".into(),
        source,
    };
    let mut child = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(io_err)?;
    let (Some(mut stdin), Some(mut stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(GitError::parse("http-backend", "missing stdio pipes"));
    };

    // Request body -> git, concurrently with git -> response.
    tokio::spawn(async move {
        match tokio::io::copy(&mut body, &mut stdin).await {
            Ok(_) => {}
            // git may stop reading early (an error it reports itself); the client may vanish.
            Err(err) => tracing::debug!(%err, "git http-backend: request body not fully delivered"),
        }
        drop(stdin);
    });
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::warn!(target: "pipewright_git::http_backend", "{line}");
        }
    });
    tokio::spawn(async move {
        match child.wait().await {
            Ok(status) if status.success() => {}
            Ok(status) => tracing::warn!(%status, "git http-backend exited unsuccessfully"),
            Err(err) => tracing::warn!(%err, "waiting for git http-backend"),
        }
    });

    let (header_block, head) = read_header_block(&mut stdout).await?;
    let (status, headers) = parse_headers(&header_block)?;
    Ok(CgiResponse {
        status,
        headers,
        body: CgiBody {
            head,
            pos: 0,
            stdout,
        },
    })
}

/// The CGI environment: our clean git environment plus the request's variables.
fn cgi_env(
    repo: &Repo,
    req: &CgiRequest,
    options: &CgiOptions,
) -> Result<Vec<(OsString, OsString)>, GitError> {
    if req.method != "GET" && req.method != "POST" {
        return Err(GitError::invalid("method", &req.method));
    }
    if !matches!(
        req.path_info.as_str(),
        "/info/refs" | "/git-upload-pack" | "/git-receive-pack"
    ) {
        return Err(GitError::invalid("path", &req.path_info));
    }
    let bad_path = || GitError::invalid("repository path", &repo.path().to_string_lossy());
    // GIT_PROJECT_ROOT must be absolute for git to accept it.
    let absolute = std::path::absolute(repo.path()).map_err(|_| bad_path())?;
    let (Some(root), Some(name)) = (absolute.parent(), absolute.file_name()) else {
        return Err(bad_path());
    };
    let mut path_info = OsString::from("/");
    path_info.push(name);
    path_info.push(&req.path_info);

    let mut env = clean_env(&SERVICE_CONFIG);
    let mut set = |k: &str, v: OsString| env.push((k.into(), v));
    set("GIT_PROJECT_ROOT", root.as_os_str().to_owned());
    set("PATH_INFO", path_info);
    set("GIT_HTTP_EXPORT_ALL", "1".into());
    set("GATEWAY_INTERFACE", "CGI/1.1".into());
    set("REQUEST_METHOD", req.method.clone().into());
    set("QUERY_STRING", header_value("query", &req.query)?.into());
    let optional = [
        ("CONTENT_TYPE", "content type", &req.content_type),
        (
            "HTTP_CONTENT_ENCODING",
            "content encoding",
            &req.content_encoding,
        ),
        ("REMOTE_USER", "remote user", &req.remote_user),
        ("REMOTE_ADDR", "remote address", &req.remote_addr),
    ];
    for (var, what, value) in optional {
        if let Some(value) = value {
            set(var, header_value(what, value)?.into());
        }
    }
    if let Some(protocol) = &options.git_protocol {
        // Only what git itself sends: `version=2`, possibly `:`-joined key=value pairs.
        let ok = protocol
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b':' | b'.' | b'_' | b'-'));
        if !ok {
            return Err(GitError::invalid("Git-Protocol", protocol));
        }
        set("GIT_PROTOCOL", protocol.into());
    }
    if let Some(length) = options.content_length {
        set("CONTENT_LENGTH", length.to_string().into());
    }
    Ok(env)
}

/// Header-derived values must be printable single-line text.
fn header_value<'a>(what: &'static str, value: &'a str) -> Result<&'a str, GitError> {
    if value.bytes().any(|b| b < 0x20 || b == 0x7f) || value.len() > 8192 {
        return Err(GitError::invalid(what, value));
    }
    Ok(value)
}

/// Reads stdout up to the blank line ending the CGI headers; returns the header block and
/// whatever body bytes were read past it.
async fn read_header_block(stdout: &mut ChildStdout) -> Result<(String, Vec<u8>), GitError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((end, skip)) = header_end(&buf) {
            let head = buf.split_off(end + skip);
            buf.truncate(end);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), head));
        }
        if buf.len() > MAX_HEADER_BYTES {
            return Err(GitError::parse(
                "http-backend",
                "CGI header block too large",
            ));
        }
        let n = stdout
            .read(&mut chunk)
            .await
            .map_err(|source| GitError::Io {
                command: "http-backend".into(),
                source,
            })?;
        if n == 0 {
            return Err(GitError::parse(
                "http-backend",
                "exited before sending headers",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Position of the blank line (`\r\n\r\n` or `\n\n`) and its length.
fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4));
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn parse_headers(block: &str) -> Result<(u16, Vec<(String, String)>), GitError> {
    let mut status = 200;
    let mut headers = Vec::new();
    for line in block
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
    {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| GitError::parse("http-backend", format!("bad header line {line:?}")))?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("Status") {
            let code = value.split(' ').next().unwrap_or_default();
            status = code
                .parse()
                .map_err(|_| GitError::parse("http-backend", format!("bad status {value:?}")))?;
        } else {
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    Ok((status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services() {
        assert_eq!(
            service_of("/info/refs", "service=git-upload-pack"),
            Some(Service::UploadPack)
        );
        assert_eq!(
            service_of("/info/refs", "service=git-receive-pack"),
            Some(Service::ReceivePack)
        );
        assert_eq!(
            service_of("/info/refs", "x=1&service=git-receive-pack"),
            Some(Service::ReceivePack)
        );
        assert_eq!(service_of("/info/refs", ""), None);
        assert_eq!(service_of("/info/refs", "service=git-upload-archive"), None);
        assert_eq!(
            service_of("/git-upload-pack", ""),
            Some(Service::UploadPack)
        );
        assert_eq!(
            service_of("/git-receive-pack", ""),
            Some(Service::ReceivePack)
        );
        assert_eq!(service_of("/HEAD", ""), None);
        assert_eq!(service_of("/objects/info/packs", ""), None);
        assert!(Service::ReceivePack.is_write() && !Service::UploadPack.is_write());
    }

    #[test]
    fn cgi_environment() {
        let req = CgiRequest {
            method: "POST".to_owned(),
            path_info: "/git-receive-pack".to_owned(),
            content_type: Some("application/x-git-receive-pack-request".to_owned()),
            remote_user: Some("ada".to_owned()),
            ..CgiRequest::default()
        };
        let options = CgiOptions {
            git_protocol: Some("version=2".to_owned()),
            content_length: Some(42),
        };
        let env = cgi_env(
            &Repo::open(std::path::Path::new("data/p.git")),
            &req,
            &options,
        );
        let env: Vec<(String, String)> = env
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        assert!(
            get("GIT_PROJECT_ROOT").is_some_and(|r| r.starts_with('/') && r.ends_with("/data"))
        );
        assert_eq!(get("PATH_INFO"), Some("/p.git/git-receive-pack"));
        assert_eq!(get("REMOTE_USER"), Some("ada"));
        assert_eq!(get("GIT_PROTOCOL"), Some("version=2"));
        assert_eq!(get("CONTENT_LENGTH"), Some("42"));
        assert_eq!(get("GIT_CONFIG_NOSYSTEM"), Some("1"));
        assert_eq!(get("HOME"), Some("/nonexistent"));
        let bad = CgiOptions {
            git_protocol: Some("version=2 --evil".to_owned()),
            ..CgiOptions::default()
        };
        assert!(cgi_env(&Repo::open(std::path::Path::new("/p.git")), &req, &bad).is_err());
    }

    #[test]
    fn header_blocks() {
        assert_eq!(header_end(b"A: b\r\n\r\nbody"), Some((4, 4)));
        assert_eq!(header_end(b"A: b\n\nbody"), Some((4, 2)));
        assert_eq!(header_end(b"A: b\r\n"), None);
        let (status, headers) =
            parse_headers("Status: 403 Forbidden\r\nContent-Type: text/plain\r\nExpires: Fri, 01 Jan 1980 00:00:00 GMT")
                .unwrap_or_default();
        assert_eq!(status, 403);
        assert_eq!(
            headers,
            vec![
                ("Content-Type".to_owned(), "text/plain".to_owned()),
                (
                    "Expires".to_owned(),
                    "Fri, 01 Jan 1980 00:00:00 GMT".to_owned()
                )
            ]
        );
        assert_eq!(
            parse_headers("Content-Type: x").map(|(s, _)| s).ok(),
            Some(200)
        );
        assert!(parse_headers("garbage").is_err());
    }
}
