//! Offset pagination parameters and headers (jobs-api.md §1.6).

use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::error::{ApiResult, param_error};
use crate::params::Params;

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

impl Page {
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// Reads `page`/`per_page` with GitLab's rules: non-integers are 400, `per_page=0` is
    /// not allowed, values above 100 are capped, non-positive values fall back to defaults.
    pub fn from_params(params: &Params) -> ApiResult<Page> {
        let page = params.int("page")?.unwrap_or(1);
        let per_page = params.int("per_page")?.unwrap_or(DEFAULT_PER_PAGE);
        if per_page == 0 {
            return Err(param_error("per_page has a value not allowed"));
        }
        Ok(Page {
            page: page.max(1),
            per_page: if per_page < 0 {
                DEFAULT_PER_PAGE
            } else {
                per_page.min(MAX_PER_PAGE)
            },
        })
    }
}

/// Rails' `CGI.escape` keeps only these unescaped (space becomes `+`, handled separately).
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn escape(text: &str) -> String {
    utf8_percent_encode(text, QUERY_ESCAPE)
        .to_string()
        .replace("%20", "+")
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Rails' `Hash#to_query`: each key rendered (arrays as `key[]=v` joined by `&`, hashes as
/// `key[sub]=v`), then the rendered pieces sorted as strings.
pub fn to_query(params: &serde_json::Map<String, Value>) -> String {
    let mut pieces: Vec<String> = params
        .iter()
        .map(|(key, value)| match value {
            Value::Array(items) => items
                .iter()
                .map(|item| format!("{}={}", escape(&format!("{key}[]")), escape(&scalar(item))))
                .collect::<Vec<_>>()
                .join("&"),
            Value::Object(object) => {
                let mut inner: Vec<String> = object
                    .iter()
                    .map(|(sub, item)| {
                        format!(
                            "{}={}",
                            escape(&format!("{key}[{sub}]")),
                            escape(&scalar(item))
                        )
                    })
                    .collect();
                inner.sort();
                inner.join("&")
            }
            other => format!("{}={}", escape(key), escape(&scalar(other))),
        })
        .filter(|piece| !piece.is_empty())
        .collect();
    pieces.sort();
    pieces.join("&")
}

/// Everything needed to write the offset headers of one response.
pub struct OffsetLinks<'a> {
    pub external_url: &'a str,
    pub uri: &'a Uri,
    /// All request parameters, route parameters and defaults included.
    pub params: serde_json::Map<String, Value>,
    pub page: Page,
    pub has_next: bool,
    /// `None` = "without count" mode: no `X-Total`, `X-Total-Pages` or `rel="last"`.
    pub total: Option<i64>,
}

impl OffsetLinks<'_> {
    fn url(&self, page: i64) -> String {
        let mut params = self.params.clone();
        params.insert("page".into(), Value::String(page.to_string()));
        params.insert(
            "per_page".into(),
            Value::String(self.page.per_page.to_string()),
        );
        format!(
            "{}{}?{}",
            self.external_url.trim_end_matches('/'),
            self.uri.path(),
            to_query(&params)
        )
    }

    pub fn headers(&self) -> HeaderMap {
        let Page { page, per_page } = self.page;
        let total_pages = self
            .total
            .map(|total| ((total + per_page - 1) / per_page).max(1));
        let next = self.has_next.then_some(page + 1);
        let prev = (page > 1).then_some(page - 1);
        let mut links = Vec::new();
        if let Some(prev) = prev {
            links.push(format!("<{}>; rel=\"prev\"", self.url(prev)));
        }
        if let Some(next) = next {
            links.push(format!("<{}>; rel=\"next\"", self.url(next)));
        }
        links.push(format!("<{}>; rel=\"first\"", self.url(1)));
        if let Some(last) = total_pages {
            links.push(format!("<{}>; rel=\"last\"", self.url(last)));
        }
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        };
        put("x-page", page.to_string());
        put("x-per-page", per_page.to_string());
        put(
            "x-next-page",
            next.map(|n| n.to_string()).unwrap_or_default(),
        );
        put(
            "x-prev-page",
            prev.map(|n| n.to_string()).unwrap_or_default(),
        );
        if let (Some(total), Some(pages)) = (self.total, total_pages) {
            put("x-total", total.to_string());
            put("x-total-pages", pages.to_string());
        }
        put("link", links.join(", "));
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_is_rails_to_query() {
        let params = json!({"id": "1", "page": "2", "per_page": "2", "pipeline_id": "6", "include_retried": false, "scope": ["failed", "success"]});
        let Value::Object(map) = params else {
            unreachable!()
        };
        assert_eq!(
            to_query(&map),
            "id=1&include_retried=false&page=2&per_page=2&pipeline_id=6&scope%5B%5D=failed&scope%5B%5D=success"
        );
    }

    #[test]
    fn page_rules() {
        let page = |q: &str| Page::from_params(&Params::from_query(Some(q)));
        assert_eq!(
            page("").ok(),
            Some(Page {
                page: 1,
                per_page: 20
            })
        );
        assert_eq!(
            page("per_page=500").ok(),
            Some(Page {
                page: 1,
                per_page: 100
            })
        );
        assert_eq!(
            page("per_page=-5&page=-1").ok(),
            Some(Page {
                page: 1,
                per_page: 20
            })
        );
        assert!(page("per_page=0").is_err());
        assert!(page("page=abc").is_err());
    }

    #[test]
    fn spec_example_headers() -> Result<(), Box<dyn std::error::Error>> {
        let uri: Uri = "/api/v4/projects/1/pipelines/6/jobs?per_page=2&page=2".parse()?;
        let Value::Object(params) =
            json!({"id": "1", "include_retried": false, "pipeline_id": "6"})
        else {
            unreachable!()
        };
        let links = OffsetLinks {
            external_url: "https://gitlab.example.com",
            uri: &uri,
            params,
            page: Page {
                page: 2,
                per_page: 2,
            },
            has_next: true,
            total: Some(5),
        };
        let headers = links.headers();
        assert_eq!(headers["x-total-pages"], "3");
        assert_eq!(headers["x-next-page"], "3");
        assert_eq!(headers["x-prev-page"], "1");
        assert_eq!(
            headers["link"],
            "<https://gitlab.example.com/api/v4/projects/1/pipelines/6/jobs?id=1&include_retried=false&page=1&per_page=2&pipeline_id=6>; rel=\"prev\", <https://gitlab.example.com/api/v4/projects/1/pipelines/6/jobs?id=1&include_retried=false&page=3&per_page=2&pipeline_id=6>; rel=\"next\", <https://gitlab.example.com/api/v4/projects/1/pipelines/6/jobs?id=1&include_retried=false&page=1&per_page=2&pipeline_id=6>; rel=\"first\", <https://gitlab.example.com/api/v4/projects/1/pipelines/6/jobs?id=1&include_retried=false&page=3&per_page=2&pipeline_id=6>; rel=\"last\""
        );
        Ok(())
    }
}
