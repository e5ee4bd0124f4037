//! Body parameters read once, before the extractors run. Grape's `params` include the request
//! body, so GitLab takes credentials (`private_token`, `access_token`, `job_token`, `token`,
//! `sudo`) from a JSON, form or multipart body as well as from the query string. The
//! credential extractors only see the request head, so this middleware buffers a parameter
//! body, parses it, leaves the result in the request extensions and puts the body back;
//! [`Params`] then reuses the parsed body instead of parsing it again.
//!
//! Multipart bodies are read only up to [`MAX_MULTIPART_PARAMS`]: a larger one is a file
//! upload, handed on as it streams in (what was read, then the rest) without being parsed.
//! The runner's artifact upload is never read here.

use axum::RequestExt;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures::StreamExt;
use http_body_util::BodyExt;

use crate::error::ApiError;
use crate::params::{MAX_PARAMS_BODY, Params};

/// Largest multipart body read for its parameters; anything bigger goes on unread.
pub const MAX_MULTIPART_PARAMS: usize = 1024 * 1024;

/// How a body carries parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFormat {
    Json,
    Form,
}

/// A request body already parsed as parameters (on its own, without the query string).
#[derive(Debug, Clone)]
pub struct BodyParams {
    format: BodyFormat,
    raw: Bytes,
    parsed: Params,
}

impl BodyParams {
    /// The body's parameters, or `None` when it has none or is not valid (the handler's
    /// [`Params`] then reads the body itself and reports the error as before).
    fn parse(content_type: &str, raw: Bytes) -> Option<BodyParams> {
        let format = if content_type.starts_with("application/json") {
            BodyFormat::Json
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            BodyFormat::Form
        } else if raw.first() == Some(&b'{') {
            // Clients that post JSON without a content type, as `Params` accepts.
            BodyFormat::Json
        } else {
            return None;
        };
        let mut parsed = Params::default();
        match format {
            BodyFormat::Json => parsed.merge_json(&raw).ok()?,
            BodyFormat::Form => parsed.merge_form(&raw),
        }
        Some(BodyParams {
            format,
            raw,
            parsed,
        })
    }

    /// A multipart body's text fields (file parts are no parameters read here), or `None`
    /// when it is not valid multipart (the handler then reports it as before).
    async fn parse_multipart(content_type: &str, raw: Bytes) -> Option<BodyParams> {
        let boundary = multer::parse_boundary(content_type).ok()?;
        let body = raw.clone();
        let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut fields = Vec::new();
        while let Some(field) = multipart.next_field().await.ok()? {
            if field.file_name().is_some() {
                continue;
            }
            let Some(name) = field.name().map(str::to_owned) else {
                continue;
            };
            let text = field.text().await.ok()?;
            fields.push((name, text));
        }
        // The fields as a form body, so they merge like one (`a[]` keys append).
        let form = Bytes::from(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&fields)
                .finish(),
        );
        let mut parsed = Params::default();
        parsed.merge_form(&form);
        Some(BodyParams {
            format: BodyFormat::Form,
            raw: form,
            parsed,
        })
    }

    /// The body's value for `key` as Grape would hand it over: strings as they are, numbers
    /// and booleans as text; `null`, arrays and hashes are no credential.
    pub fn string(&self, key: &str) -> Option<String> {
        self.parsed.string(key).ok().flatten()
    }

    /// Merges the body over query parameters exactly as reading the body would have.
    pub(crate) fn merge_into(self, params: &mut Params) {
        match self.format {
            BodyFormat::Json => params.extend(self.parsed),
            // Form pairs merge into the query's map (`a[]` keys append), so replay them.
            BodyFormat::Form => params.merge_form(&self.raw),
        }
    }
}

fn is_multipart(content_type: &str) -> bool {
    content_type.starts_with("multipart/form-data")
}

/// The runner's artifact upload (`POST /jobs/:id/artifacts`, path as seen inside `/api/v4`):
/// streamed to storage by its handler, never buffered here.
fn is_artifact_upload(path: &str) -> bool {
    path.strip_prefix("/jobs/")
        .and_then(|rest| rest.strip_suffix("/artifacts"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Whether a request may carry parameters in its body. GET and HEAD are never read (cheap),
/// nor are binary or plain text uploads, which can be large and carry none. Multipart
/// bodies are read by [`capture_multipart`].
fn may_carry_params(method: &Method, content_type: &str) -> bool {
    if *method == Method::GET || *method == Method::HEAD {
        return false;
    }
    content_type.is_empty()
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/x-www-form-urlencoded")
}

/// The middleware: buffers and parses a parameter body, then hands the request on with the
/// same bytes as its body.
pub async fn capture(request: Request, next: Next) -> Response {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let reading = *request.method() == Method::GET || *request.method() == Method::HEAD;
    if is_multipart(&content_type) && !reading && !is_artifact_upload(request.uri().path()) {
        return capture_multipart(request, &content_type, next).await;
    }
    if !may_carry_params(request.method(), &content_type) {
        return next.run(request).await;
    }
    // The same body limit the `Bytes` extractor in `Params` applies.
    let (mut parts, body) = request.with_limited_body().into_parts();
    let raw = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return ApiError(pipewright_core::Error::BadRequest(
                "request body could not be read".into(),
            ))
            .into_response();
        }
    };
    if raw.len() > MAX_PARAMS_BODY {
        return ApiError(pipewright_core::Error::message(
            413,
            "413 Request Entity Too Large",
        ))
        .into_response();
    }
    if let Some(body_params) = BodyParams::parse(&content_type, raw.clone()) {
        parts.extensions.insert(body_params);
    }
    next.run(Request::from_parts(parts, Body::from(raw))).await
}

/// Reads a multipart body up to [`MAX_MULTIPART_PARAMS`] and parses its text fields; a
/// body announced or found to be larger is handed on unparsed, streaming.
async fn capture_multipart(request: Request, content_type: &str, next: Next) -> Response {
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_MULTIPART_PARAMS as u64) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let mut stream = body.into_data_stream();
    let mut buffered = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return ApiError(pipewright_core::Error::BadRequest(
                "request body could not be read".into(),
            ))
            .into_response();
        };
        buffered.extend_from_slice(&chunk);
        if buffered.len() > MAX_MULTIPART_PARAMS {
            // An upload after all: what was read, then the rest as it arrives.
            let head = futures::stream::once(async move { Ok(buffered.freeze()) });
            let body = Body::from_stream(head.chain(stream));
            return next.run(Request::from_parts(parts, body)).await;
        }
    }
    let raw = buffered.freeze();
    if let Some(body_params) = BodyParams::parse_multipart(content_type, raw.clone()).await {
        parts.extensions.insert(body_params);
    }
    next.run(Request::from_parts(parts, Body::from(raw))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_form_bodies_are_parsed_other_bodies_are_not() {
        let json = BodyParams::parse(
            "application/json",
            Bytes::from_static(br#"{"private_token":"t","sudo":2,"x":null}"#),
        );
        let json = json.as_ref();
        assert_eq!(
            json.and_then(|b| b.string("private_token")).as_deref(),
            Some("t")
        );
        assert_eq!(json.and_then(|b| b.string("sudo")).as_deref(), Some("2"));
        assert_eq!(json.and_then(|b| b.string("x")), None);

        let form = BodyParams::parse(
            "application/x-www-form-urlencoded",
            Bytes::from_static(b"job_token=j&a=1"),
        );
        assert_eq!(
            form.as_ref().and_then(|b| b.string("job_token")).as_deref(),
            Some("j")
        );
        assert!(BodyParams::parse("application/json", Bytes::from_static(b"{nope")).is_none());
        assert!(BodyParams::parse("text/plain", Bytes::from_static(b"a=1")).is_none());
    }

    #[tokio::test]
    async fn multipart_text_fields_are_parameters_and_files_are_not() {
        let body = "--XyZ\r\n\
            Content-Disposition: form-data; name=\"job_token\"\r\n\r\n\
            glcbt-abc\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
            Content-Type: text/plain\r\n\r\n\
            private_token=nope\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"tags[]\"\r\n\r\n\
            a\r\n\
            --XyZ--\r\n";
        let parsed = BodyParams::parse_multipart(
            "multipart/form-data; boundary=XyZ",
            Bytes::from_static(body.as_bytes()),
        )
        .await
        .expect("valid multipart");
        assert_eq!(parsed.string("job_token").as_deref(), Some("glcbt-abc"));
        assert_eq!(parsed.string("file"), None);
        assert_eq!(parsed.string("private_token"), None);
        let mut params = Params::default();
        parsed.merge_into(&mut params);
        assert_eq!(
            params.string_list("tags").ok().flatten(),
            Some(vec!["a".to_owned()])
        );
        assert!(
            BodyParams::parse_multipart("multipart/form-data; boundary=XyZ", Bytes::new())
                .await
                .is_none()
        );
    }

    #[test]
    fn the_artifact_upload_is_recognised_by_its_path() {
        assert!(is_artifact_upload("/jobs/12/artifacts"));
        assert!(!is_artifact_upload("/jobs/12/artifacts/authorize"));
        assert!(!is_artifact_upload("/projects/1/jobs/12/artifacts"));
        assert!(!is_artifact_upload("/jobs//artifacts"));
    }

    #[test]
    fn only_non_get_parameter_bodies_are_buffered() {
        assert!(!may_carry_params(&Method::GET, "application/json"));
        assert!(!may_carry_params(&Method::HEAD, ""));
        assert!(may_carry_params(&Method::POST, "application/json"));
        assert!(may_carry_params(
            &Method::PUT,
            "application/x-www-form-urlencoded; charset=utf-8"
        ));
        assert!(may_carry_params(&Method::DELETE, ""));
        assert!(!may_carry_params(
            &Method::POST,
            "multipart/form-data; boundary=x"
        ));
        assert!(!may_carry_params(&Method::PATCH, "text/plain"));
    }
}
