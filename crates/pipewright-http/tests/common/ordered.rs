//! JSON that keeps object keys in wire order (the workspace's `serde_json` sorts them), and
//! the redaction applied before snapshotting it.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Number, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Ordered {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    /// The keys of an object, in order (panics on anything else).
    #[track_caller]
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Ordered::Object(entries) => entries.iter().map(|(key, _)| key.as_str()).collect(),
            other => panic!("expected an object, got {other:?}"),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Object(entries) => entries
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Ordered::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Ordered::Null => Value::Null,
            Ordered::Bool(flag) => Value::Bool(*flag),
            Ordered::Number(number) => Value::Number(number.clone()),
            Ordered::String(text) => Value::String(text.clone()),
            Ordered::Array(items) => Value::Array(items.iter().map(Ordered::to_value).collect()),
            Ordered::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_value()))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Ordered, E> {
        Ok(Ordered::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Ordered, E> {
        Ok(Ordered::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Ordered, E> {
        Ok(Ordered::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Ordered, E> {
        Number::from_f64(value)
            .map(Ordered::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Ordered, E> {
        Ok(Ordered::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Ordered, E> {
        Ok(Ordered::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut entries: Vec<(String, Ordered)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
            if entries.iter().any(|(seen, _)| *seen == key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            entries.push((key, value));
        }
        Ok(Ordered::Object(entries))
    }
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Null => serializer.serialize_unit(),
            Ordered::Bool(flag) => serializer.serialize_bool(*flag),
            Ordered::Number(number) => number.serialize(serializer),
            Ordered::String(text) => serializer.serialize_str(text),
            Ordered::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Ordered::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// Replaces what differs between runs with placeholders, keeping everything else (and the
/// key order) as it was:
///
/// * timestamps (`2026-01-02T03:04:05.678Z`, `...+01:00`) -> `[timestamp]`;
/// * integers under `id`, `iid` and `*_id` -> `[id]`, and the ids in `/-/jobs/<id>`,
///   `/-/pipelines/<id>` URLs -> `[id]`;
/// * 40-hex shas anywhere in a string -> `[sha]` (the all-zero sha is kept: it means "none");
///   `short_id` -> `[short_sha]`;
/// * `token` values -> `[token]`; non-null `duration`/`queued_duration` -> `[duration]`.
pub fn redact(value: Ordered) -> Ordered {
    redact_under(None, value)
}

fn redact_under(key: Option<&str>, value: Ordered) -> Ordered {
    let placeholder = |text: &str| Ordered::String(text.to_owned());
    match (key, value) {
        (Some(key), Ordered::Number(_)) if is_id_key(key) => placeholder("[id]"),
        (Some("duration" | "queued_duration"), Ordered::Number(_)) => placeholder("[duration]"),
        (Some("token"), Ordered::String(_)) => placeholder("[token]"),
        (Some("short_id"), Ordered::String(_)) => placeholder("[short_sha]"),
        (_, Ordered::String(text)) if is_timestamp(&text) => placeholder("[timestamp]"),
        (_, Ordered::String(text)) => Ordered::String(redact_text(&text)),
        (_, Ordered::Array(items)) => Ordered::Array(
            items
                .into_iter()
                .map(|item| redact_under(None, item))
                .collect(),
        ),
        (_, Ordered::Object(entries)) => Ordered::Object(
            entries
                .into_iter()
                .map(|(key, value)| {
                    let value = redact_under(Some(&key), value);
                    (key, value)
                })
                .collect(),
        ),
        (_, other) => other,
    }
}

fn is_id_key(key: &str) -> bool {
    key == "id" || key == "iid" || key.ends_with("_id")
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)`.
pub fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    if !(digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && bytes.get(10) == Some(&b'T')
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && bytes.get(16) == Some(&b':')
        && digits(17..19))
    {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return false;
        }
        rest = &fraction[len..];
    }
    rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':'
            && rest[1..3].bytes().all(|b| b.is_ascii_digit())
            && rest[4..6].bytes().all(|b| b.is_ascii_digit()))
}

/// Shas and URL ids inside free text.
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        let at_boundary = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        let ends_boundary = chars
            .get(i + run)
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        if run == 40 && at_boundary && ends_boundary {
            let sha: String = chars[i..i + run].iter().collect();
            if sha.bytes().all(|b| b == b'0') {
                out.push_str(&sha);
            } else {
                out.push_str("[sha]");
            }
            i += run;
        } else if run > 0 {
            out.extend(&chars[i..i + run]);
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    for marker in ["/-/jobs/", "/-/pipelines/"] {
        out = redact_number_after(&out, marker);
    }
    out
}

fn redact_number_after(text: &str, marker: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (before, after) = rest.split_at(at + marker.len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("[id]");
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_order_and_replaces_volatile_values() {
        let value: Ordered = serde_json::from_str(
            r#"{"z":1,"id":7,"created_at":"2026-01-02T03:04:05.678Z","web_url":"http://x/a/-/jobs/12","sha":"0123456789abcdef0123456789abcdef01234567","before_sha":"0000000000000000000000000000000000000000","authored_date":"2026-01-02T03:04:05.000+01:00"}"#,
        )
        .expect("json");
        let redacted = redact(value);
        assert_eq!(
            serde_json::to_string(&redacted).expect("json"),
            r#"{"z":1,"id":"[id]","created_at":"[timestamp]","web_url":"http://x/a/-/jobs/[id]","sha":"[sha]","before_sha":"0000000000000000000000000000000000000000","authored_date":"[timestamp]"}"#
        );
    }
}
