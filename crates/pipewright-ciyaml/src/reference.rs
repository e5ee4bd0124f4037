//! `!reference [job, key, ...]` tags, resolved after includes and `extends`.

use serde_norway::{Mapping, Value};

use crate::error::{Result, invalid};

const MAX_DEPTH: usize = 10;
/// Total references resolved per config, so fan-out chains cannot explode.
const MAX_RESOLUTIONS: usize = 10_000;

pub(crate) fn resolve(root: &mut Mapping) -> Result<()> {
    let snapshot = Value::Mapping(root.clone());
    let mut budget = MAX_RESOLUTIONS;
    for value in root.values_mut() {
        resolve_value(value, &snapshot, 0, &mut budget)?;
    }
    Ok(())
}

fn resolve_value(value: &mut Value, root: &Value, depth: usize, budget: &mut usize) -> Result<()> {
    match value {
        Value::Sequence(items) => {
            for item in items {
                resolve_value(item, root, depth, budget)?;
            }
        }
        Value::Mapping(map) => {
            for item in map.values_mut() {
                resolve_value(item, root, depth, budget)?;
            }
        }
        Value::Tagged(tagged) => {
            let resolved = if tagged.tag == "reference" {
                lookup(&tagged.value, root, depth, budget)?
            } else {
                // Unknown tags are ignored: the plain value is used.
                let mut inner = tagged.value.clone();
                resolve_value(&mut inner, root, depth, budget)?;
                inner
            };
            *value = resolved;
        }
        _ => {}
    }
    Ok(())
}

fn lookup(path: &Value, root: &Value, depth: usize, budget: &mut usize) -> Result<Value> {
    let keys: Option<Vec<&str>> = path
        .as_sequence()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.iter().map(Value::as_str).collect());
    let shown = format!("!reference {}", show(path));
    let keys = keys.ok_or_else(|| invalid(format!("{shown} is not valid")))?;
    *budget = budget
        .checked_sub(1)
        .ok_or_else(|| invalid(format!("{shown} is part of a chain that is too long")))?;
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
    resolve_value(&mut found, root, depth + 1, budget)?;
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
