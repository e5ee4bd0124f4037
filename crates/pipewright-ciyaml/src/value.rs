//! Small readers over `serde_norway::Value` shared by the validators.

use serde_norway::{Mapping, Value};

/// A mapping key as GitLab sees it (Ruby symbolises scalar keys).
pub(crate) fn key_str(key: &Value) -> String {
    scalar_string(key).unwrap_or_else(|| format!("{key:?}"))
}

/// Strings stay strings; numbers and booleans become their text (YAML `1.0` → `1.0`).
pub(crate) fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn as_string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// A string or an array of strings nested up to 10 levels (flattened).
pub(crate) fn nested_strings(value: &Value) -> Option<Vec<String>> {
    fn walk(value: &Value, depth: usize, out: &mut Vec<String>) -> bool {
        match value {
            Value::String(s) => {
                out.push(s.clone());
                true
            }
            Value::Sequence(items) if depth < 10 => {
                items.iter().all(|item| walk(item, depth + 1, out))
            }
            _ => false,
        }
    }
    let mut out = Vec::new();
    walk(value, 0, &mut out).then_some(out)
}

/// An array of strings (one level of nesting allowed, as `!reference` produces).
pub(crate) fn string_array(value: &Value) -> Option<Vec<String>> {
    let items = value.as_sequence()?;
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::String(s) => out.push(s.clone()),
            Value::Sequence(inner) => {
                for s in inner {
                    out.push(s.as_str()?.to_owned());
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A string or an array of strings.
pub(crate) fn string_or_array(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Sequence(_) => string_array(value),
        _ => None,
    }
}

/// An integer or an array of integers.
pub(crate) fn int_or_array(value: &Value) -> Option<Vec<i64>> {
    match value {
        Value::Number(n) => n.as_i64().map(|i| vec![i]),
        Value::Sequence(items) => items.iter().map(Value::as_i64).collect(),
        _ => None,
    }
}

/// Keys of `map` not in `allowed`, in order, for "contains unknown keys: a, b".
pub(crate) fn unknown_keys(map: &Mapping, allowed: &[&str]) -> Vec<String> {
    map.keys()
        .map(key_str)
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect()
}

/// Deep merge: hashes merge recursively, anything else is replaced by `over`.
pub(crate) fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(base_map), Value::Mapping(over_map)) => {
            for (key, value) in over_map {
                match base_map.get_mut(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        base_map.insert(key, value);
                    }
                }
            }
        }
        (slot, over) => *slot = over,
    }
}

/// A value converted for pass-through fields (cache, docker options).
pub(crate) fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                serde_json::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                serde_json::Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Sequence(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Mapping(map) => {
            serde_json::Value::Object(map.iter().map(|(k, v)| (key_str(k), to_json(v))).collect())
        }
        Value::Tagged(tagged) => to_json(&tagged.value),
    }
}
