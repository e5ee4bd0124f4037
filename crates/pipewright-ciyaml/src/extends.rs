//! `extends:`: a job or template inherits other top-level hashes, deep-merged
//! (hashes recursively, everything else replaced), parents left to right, own keys last.

use std::collections::HashMap;

use serde_norway::{Mapping, Value};

use crate::error::{Result, invalid};
use crate::value::{deep_merge, key_str, string_or_array};

const MAX_NESTING: usize = 10;

pub(crate) fn resolve(root: &mut Mapping) -> Result<()> {
    let original = root.clone();
    let mut done: HashMap<String, Value> = HashMap::new();
    let names: Vec<String> = original
        .iter()
        .filter(|(_, v)| v.as_mapping().is_some_and(|m| m.contains_key("extends")))
        .map(|(k, _)| key_str(k))
        .collect();
    for name in names {
        let mut stack = Vec::new();
        let value = resolve_one(&name, &original, &mut done, &mut stack)?;
        root.insert(Value::String(name), value);
    }
    Ok(())
}

fn resolve_one(
    name: &str,
    original: &Mapping,
    done: &mut HashMap<String, Value>,
    stack: &mut Vec<String>,
) -> Result<Value> {
    if let Some(value) = done.get(name) {
        return Ok(value.clone());
    }
    let Some(Value::Mapping(own)) = original.get(name) else {
        return Err(invalid(format!(
            "{name}: invalid base hashes in `extends` ({name})"
        )));
    };
    let Some(extends) = own.get("extends") else {
        return Ok(Value::Mapping(own.clone()));
    };
    let parents = string_or_array(extends).ok_or_else(|| {
        invalid(format!(
            "jobs:{name} extends should be an array of strings or a string"
        ))
    })?;
    if stack.len() >= MAX_NESTING {
        return Err(invalid(format!("{name}: nesting too deep in `extends`")));
    }
    let unknown: Vec<&str> = parents
        .iter()
        .filter(|p| !original.contains_key(p.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "{name}: unknown keys in `extends` ({})",
            unknown.join(", ")
        )));
    }
    let not_hashes: Vec<&str> = parents
        .iter()
        .filter(|p| !original.get(p.as_str()).is_some_and(Value::is_mapping))
        .map(String::as_str)
        .collect();
    if !not_hashes.is_empty() {
        return Err(invalid(format!(
            "{name}: invalid base hashes in `extends` ({})",
            not_hashes.join(", ")
        )));
    }
    stack.push(name.to_owned());
    let mut merged = Value::Mapping(Mapping::new());
    for parent in &parents {
        if stack.iter().any(|s| s == parent) {
            return Err(invalid(format!(
                "{parent}: circular dependency detected in `extends`"
            )));
        }
        let base = resolve_one(parent, original, done, stack)?;
        deep_merge(&mut merged, base);
    }
    stack.pop();
    // GitLab keeps `extends` in the merged hash (the lint API's `merged_yaml` shows it).
    deep_merge(&mut merged, Value::Mapping(own.clone()));
    done.insert(name.to_owned(), merged.clone());
    Ok(merged)
}
