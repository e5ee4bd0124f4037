//! Request parameters the way Grape sees them: query string and body (JSON or form) merged,
//! read through typed accessors whose failures are GitLab's `{"error": ...}` messages.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, param_error};

/// Largest request body parsed as parameters.
pub(crate) const MAX_PARAMS_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct Params {
    map: Map<String, Value>,
}

impl Params {
    pub fn from_query(query: Option<&str>) -> Params {
        let mut params = Params::default();
        if let Some(query) = query {
            params.merge_form(query.as_bytes());
        }
        params
    }

    /// Merges `a=1&b[]=2&c[k]=3&d[][k]=4` pairs; later values win for plain keys.
    pub fn merge_form(&mut self, form: &[u8]) {
        for (key, value) in url::form_urlencoded::parse(form) {
            insert_form_pair(&mut self.map, &key, Value::String(value.into_owned()));
        }
    }

    pub(crate) fn merge_json(&mut self, body: &[u8]) -> ApiResult<()> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => {
                self.map.extend(object);
                Ok(())
            }
            _ => Err(ApiError(pipewright_core::Error::BadRequest(
                "invalid JSON body".into(),
            ))),
        }
    }

    /// Adds `other`'s parameters over these (a JSON body over the query string).
    pub(crate) fn extend(&mut self, other: Params) {
        self.map.extend(other.map);
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn insert(&mut self, key: &str, value: Value) {
        self.map.insert(key.to_owned(), value);
    }

    pub fn map(&self) -> &Map<String, Value> {
        &self.map
    }

    pub fn string(&self, key: &str) -> ApiResult<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
            Some(_) => Err(param_error(format!("{key} is invalid"))),
        }
    }

    /// Grape reports every missing required parameter at once, in declaration order.
    pub fn require_present(&self, keys: &[&str]) -> ApiResult<()> {
        let missing: Vec<String> = keys
            .iter()
            .filter(|key| !self.contains(key))
            .map(|key| format!("{key} is missing"))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(param_error(missing.join(", ")))
        }
    }

    pub fn required_string(&self, key: &str) -> ApiResult<String> {
        match self.string(key)? {
            Some(text) if !text.trim().is_empty() => Ok(text),
            Some(_) => Err(param_error(format!("{key} is empty"))),
            None => Err(param_error(format!("{key} is missing"))),
        }
    }

    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            // Grape reads a blank value of a non-String parameter as nil (so defaults apply).
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::Number(number)) => number
                .as_i64()
                .map(Some)
                .ok_or_else(|| param_error(format!("{key} is invalid"))),
            Some(Value::String(text)) => text
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| param_error(format!("{key} is invalid"))),
            Some(_) => Err(param_error(format!("{key} is invalid"))),
        }
    }

    pub fn required_int(&self, key: &str) -> ApiResult<i64> {
        self.int(key)?
            .ok_or_else(|| param_error(format!("{key} is missing")))
    }

    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) => parse_bool(text)
                .map(Some)
                .ok_or_else(|| param_error(format!("{key} is invalid"))),
            Some(Value::Number(number)) => match number.as_i64() {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(param_error(format!("{key} is invalid"))),
            },
            Some(_) => Err(param_error(format!("{key} is invalid"))),
        }
    }

    /// An array of strings, or one comma-separated string (`tag_list=a,b`).
    pub fn string_list(&self, key: &str) -> ApiResult<Option<Vec<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    Value::Number(number) => Ok(number.to_string()),
                    _ => Err(param_error(format!("{key} is invalid"))),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(Value::String(text)) => Ok(Some(
                text.split(',')
                    .map(|part| part.trim().to_owned())
                    .filter(|part| !part.is_empty())
                    .collect(),
            )),
            Some(_) => Err(param_error(format!("{key} is invalid"))),
        }
    }
}

pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "yes" | "y" | "on" => Some(true),
        "false" | "0" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

fn insert_form_pair(map: &mut Map<String, Value>, key: &str, value: Value) {
    let Some((name, rest)) = key.split_once('[') else {
        map.insert(key.to_owned(), value);
        return;
    };
    if rest == "]" {
        // `name[]=v`: append to an array.
        let entry = map
            .entry(name.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = entry {
            items.push(value);
        } else {
            *entry = Value::Array(vec![value]);
        }
    } else if let Some(sub) = rest.strip_prefix("][").and_then(|s| s.strip_suffix(']')) {
        // `name[][sub]=v`: array of hashes; a repeated `sub` starts the next element.
        let entry = map
            .entry(name.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !entry.is_array() {
            *entry = Value::Array(Vec::new());
        }
        if let Value::Array(items) = entry {
            let start_new = match items.last() {
                Some(Value::Object(last)) => last.contains_key(sub),
                _ => true,
            };
            if start_new {
                items.push(Value::Object(Map::new()));
            }
            if let Some(Value::Object(last)) = items.last_mut() {
                last.insert(sub.to_owned(), value);
            }
        }
    } else if let Some(sub) = rest.strip_suffix(']') {
        // `name[sub]=v`: a hash.
        let entry = map
            .entry(name.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        if let Value::Object(object) = entry {
            object.insert(sub.to_owned(), value);
        }
    } else {
        map.insert(key.to_owned(), value);
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(mut request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut params = Params::from_query(request.uri().query());
        // Already read for the credentials (`body_params::capture`): no second parse.
        if let Some(body) = request
            .extensions_mut()
            .remove::<crate::body_params::BodyParams>()
        {
            body.merge_into(&mut params);
            return Ok(params);
        }
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let body = Bytes::from_request(request, state).await.map_err(|_| {
            ApiError(pipewright_core::Error::BadRequest(
                "request body could not be read".into(),
            ))
        })?;
        if body.len() > MAX_PARAMS_BODY {
            return Err(ApiError(pipewright_core::Error::message(
                413,
                "413 Request Entity Too Large",
            )));
        }
        if content_type.starts_with("application/json") {
            params.merge_json(&body)?;
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            params.merge_form(&body);
        } else if !body.is_empty() && body.first() == Some(&b'{') {
            // Clients that post JSON without a content type.
            params.merge_json(&body)?;
        }
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_keys_nest_like_rack() {
        let params = Params::from_query(Some(
            "a=1&scope[]=failed&scope[]=success&h[x]=y&v[][key]=K1&v[][value]=1&v[][key]=K2&v[][value]=2",
        ));
        assert_eq!(params.string("a").ok().flatten().as_deref(), Some("1"));
        assert_eq!(
            params.get("scope"),
            Some(&serde_json::json!(["failed", "success"]))
        );
        assert_eq!(params.get("h"), Some(&serde_json::json!({"x": "y"})));
        assert_eq!(
            params.get("v"),
            Some(&serde_json::json!([{"key": "K1", "value": "1"}, {"key": "K2", "value": "2"}]))
        );
    }

    #[test]
    fn typed_accessors_report_gitlab_errors() {
        let params = Params::from_query(Some("page=x&flag=maybe&n=3"));
        assert!(
            matches!(params.int("page"), Err(ApiError(pipewright_core::Error::Param(text))) if text == "page is invalid")
        );
        assert!(
            matches!(params.bool("flag"), Err(ApiError(pipewright_core::Error::Param(text))) if text == "flag is invalid")
        );
        assert_eq!(params.int("n").ok().flatten(), Some(3));
        assert!(
            matches!(params.required_string("ref"), Err(ApiError(pipewright_core::Error::Param(text))) if text == "ref is missing")
        );
    }
}
