//! YAML text → one mapping: anchors/aliases (by the parser), `<<` merge keys, and the
//! `spec:` header's inputs interpolated into the config document.

use std::collections::HashMap;

use serde_norway::{Mapping, Value};

use crate::error::{ConfigError, Result, invalid};
use crate::loose::Loose;

/// Why a file could not be loaded: its YAML, or its inputs (GitLab prefixes the latter with
/// the file's location when the file was included).
#[derive(Debug)]
pub(crate) enum LoadError {
    Yaml(ConfigError),
    Inputs(String),
}

/// Parses a config file's text into its top-level mapping (a header's inputs take their
/// defaults).
#[cfg(test)]
pub(crate) fn load(source: &str) -> Result<Mapping> {
    load_with_inputs(source, &Mapping::new(), &HashMap::new()).map_err(|err| match err {
        LoadError::Yaml(err) => err,
        LoadError::Inputs(message) => invalid(message),
    })
}

/// Parses a config file and interpolates `$[[ inputs.x ]]` with `args` when it has a
/// `spec:` header document.
pub(crate) fn load_with_inputs(
    source: &str,
    args: &Mapping,
    variables: &HashMap<String, String>,
) -> std::result::Result<Mapping, LoadError> {
    if source.trim().is_empty() {
        return Err(LoadError::Yaml(invalid(
            "Please provide content of .gitlab-ci.yml",
        )));
    }
    let (header, mut value) = documents(source).map_err(LoadError::Yaml)?;
    merge_keys(&mut value, 0).map_err(LoadError::Yaml)?;
    let value = crate::inputs::interpolate(header.as_ref(), value, args, variables)
        .map_err(LoadError::Inputs)?;
    match value {
        Value::Mapping(map) => Ok(map),
        _ => Err(LoadError::Yaml(invalid("Invalid configuration format"))),
    }
}

/// The header (a first document holding `spec`, when a second document follows) and the
/// config document.
fn documents(source: &str) -> Result<(Option<Value>, Value)> {
    use serde::Deserialize;
    let mut documents = Vec::new();
    for document in serde_norway::Deserializer::from_str(source) {
        documents.push(Loose::deserialize(document).map_err(yaml_error)?.0);
        if documents.len() == 2 {
            break;
        }
    }
    let is_header = |v: &Value| v.as_mapping().is_some_and(|m| m.contains_key("spec"));
    match documents.len() {
        2 if is_header(&documents[0]) => {
            let content = documents.swap_remove(1);
            Ok((documents.pop(), content))
        }
        _ => Ok((None, documents.into_iter().next().unwrap_or(Value::Null))),
    }
}

/// GitLab shows Psych's message prefixed with the (unknown) file name.
fn yaml_error(error: serde_norway::Error) -> ConfigError {
    invalid(format!("(<unknown>): {error}"))
}

/// Resolves `<<` merge keys depth first: explicit keys win over merged ones, and earlier
/// merge sources win over later ones; merged keys take the position of `<<`.
fn merge_keys(value: &mut Value, depth: usize) -> Result<()> {
    if depth > 200 {
        return Err(invalid("Invalid configuration format"));
    }
    match value {
        Value::Sequence(items) => {
            for item in items {
                merge_keys(item, depth + 1)?;
            }
        }
        Value::Tagged(tagged) => merge_keys(&mut tagged.value, depth + 1)?,
        Value::Mapping(map) => {
            for item in map.values_mut() {
                merge_keys(item, depth + 1)?;
            }
            if map.contains_key("<<") {
                *map = merged(std::mem::take(map))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn merged(map: Mapping) -> Result<Mapping> {
    let explicit: Vec<Value> = map
        .keys()
        .filter(|k| k.as_str() != Some("<<"))
        .cloned()
        .collect();
    let mut out = Mapping::with_capacity(map.len());
    for (key, value) in map {
        if key.as_str() != Some("<<") {
            out.insert(key, value);
            continue;
        }
        let sources = match value {
            Value::Mapping(source) => vec![source],
            Value::Sequence(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::Mapping(source) => Ok(source),
                    _ => Err(invalid("Invalid configuration format")),
                })
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(invalid("Invalid configuration format")),
        };
        for source in sources {
            for (k, v) in source {
                if !explicit.contains(&k) && !out.contains_key(&k) {
                    out.insert(k, v);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::load;

    #[test]
    fn merge_keys_keep_explicit_values_and_order() {
        let map =
            load(".base: &base\n  image: ruby\n  script: [a]\njob:\n  <<: *base\n  script: [b]\n")
                .ok();
        let job = map.as_ref().and_then(|m| m.get("job"));
        let keys: Vec<_> = job
            .and_then(|j| j.as_mapping())
            .map(|m| m.keys().filter_map(|k| k.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["image", "script"]);
        assert_eq!(
            job.and_then(|j| j.get("script"))
                .and_then(|s| s.get(0))
                .and_then(|s| s.as_str()),
            Some("b")
        );
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_like_psych() {
        let map = load("a: 1\nb: 2\na: 3\n").ok();
        let pairs: Vec<(String, i64)> = map
            .iter()
            .flat_map(|m| m.iter())
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_i64()?)))
            .collect();
        assert_eq!(pairs, [("a".to_owned(), 3), ("b".to_owned(), 2)]);
    }

    #[test]
    fn reference_tags_survive_loading() {
        let map = load("job:\n  script: !reference [.a, script]\n").ok();
        let script = map
            .as_ref()
            .and_then(|m| m.get("job"))
            .and_then(|j| j.get("script"));
        assert!(matches!(script, Some(serde_norway::Value::Tagged(t)) if t.tag == "reference"));
    }

    #[test]
    fn non_hash_is_invalid_format() {
        assert_eq!(
            load("- a\n- b\n").err().map(|e| e.to_string()),
            Some("Invalid configuration format".to_owned())
        );
    }
}
