//! Body parameters read once, before the extractors run. Grape's `params` include the request
//! body, so GitLab takes credentials (`private_token`, `access_token`, `job_token`, `token`,
//! `sudo`) from a JSON or form body as well as from the query string. The credential
//! extractors only see the request head, so this middleware buffers a parameter body, parses
//! it, leaves the result in the request extensions and puts the body back; [`Params`] then
//! reuses the parsed body instead of parsing it again.

use axum::RequestExt;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::ApiError;
use crate::params::{MAX_PARAMS_BODY, Params};

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

/// Whether a request may carry parameters in its body. GET and HEAD are never read (cheap),
/// nor are uploads (multipart, binary, plain text), which can be large and carry none.
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
