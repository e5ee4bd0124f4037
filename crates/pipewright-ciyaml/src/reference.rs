//! `!reference [job, key, ...]` tags, resolved after includes and `extends`.

use serde_norway::{Mapping, Value};

use crate::error::{Result, invalid};

const MAX_DEPTH: usize = 10;

pub(crate) fn resolve(root: &mut Mapping) -> Result<()> {
    let snapshot = Value::Mapping(root.clone());
    for value in root.values_mut() {
        resolve_value(value, &snapshot, 0)?;
    }
    Ok(())
}

fn resolve_value(value: &mut Value, root: &Value, depth: usize) -> Result<()> {
    match value {
        Value::Sequence(items) => {
            for item in items {
                resolve_value(item, root, depth)?;
            }
        }
        Value::Mapping(map) => {
            for item in map.values_mut() {
                resolve_value(item, root, depth)?;
            }
        }
        Value::Tagged(tagged) => {
            let resolved = if tagged.tag == "reference" {
                lookup(&tagged.value, root, depth)?
            } else {
                // Unknown tags are ignored: the plain value is used.
                let mut inner = tagged.value.clone();
                resolve_value(&mut inner, root, depth)?;
                inner
            };
            *value = resolved;
        }
        _ => {}
    }
    Ok(())
}

fn lookup(path: &Value, root: &Value, depth: usize) -> Result<Value> {
    let keys: Option<Vec<&str>> = path
        .as_sequence()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.iter().map(Value::as_str).collect());
    let shown = format!("!reference {}", show(path));
    let keys = keys.ok_or_else(|| invalid(format!("{shown} is not valid")))?;
    if depth >= MAX_DEPTH {
        return Err(invalid(format!("{shown} is part of a circular chain")));
    }
    let mut current = root;
    for key in keys {
        current = current
            .as_mapping()
            .and_then(|m| m.get(key))
            .ok_or_else(|| invalid(format!("{shown} could not be found")))?;
    }
    let mut found = current.clone();
    resolve_value(&mut found, root, depth + 1)?;
    Ok(found)
}

/// `["job", "script"]`, as Ruby's `inspect` prints the path.
fn show(path: &Value) -> String {
    match path.as_sequence() {
        Some(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| format!("{:?}", i.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!("{path:?}"),
    }
}
