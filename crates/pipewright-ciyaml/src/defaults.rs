//! `default:` (and its deprecated global forms) and a job's `inherit:`.

use serde_norway::{Mapping, Value};

use crate::duration;
use crate::error::{Result, invalid};
use crate::fields;
use crate::model::{Artifacts, Image, Retry, Service, Variable};
use crate::value::{string_array, to_json, unknown_keys};

const DEFAULT_KEYS: &[&str] = &[
    "after_script",
    "artifacts",
    "before_script",
    "cache",
    "hooks",
    "id_tokens",
    "image",
    "interruptible",
    "retry",
    "services",
    "tags",
    "timeout",
];

/// Keys that may also be written at the top level (deprecated).
pub(crate) const GLOBAL_KEYS: &[&str] = &[
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
];

#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
    pub before_script: Option<Vec<String>>,
    pub after_script: Option<Vec<String>>,
    pub image: Option<Image>,
    pub services: Option<Vec<Service>>,
    pub tags: Option<Vec<String>>,
    pub timeout: Option<u64>,
    pub retry: Option<Retry>,
    pub interruptible: Option<bool>,
    pub artifacts: Option<Artifacts>,
    pub cache: Option<serde_json::Value>,
}

impl Defaults {
    /// Reads `default:` and the deprecated top-level forms from the root mapping.
    pub(crate) fn parse(root: &Mapping) -> Result<Defaults> {
        let default_map = match root.get("default") {
            None | Some(Value::Null) => Mapping::new(),
            Some(Value::Mapping(m)) => m.clone(),
            Some(_) => return Err(invalid("default config should be a hash")),
        };
        let unknown = unknown_keys(&default_map, DEFAULT_KEYS);
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "default config contains unknown keys: {}",
                unknown.join(", ")
            )));
        }
        let mut merged = default_map.clone();
        for key in GLOBAL_KEYS {
            if let Some(value) = root.get(*key) {
                if default_map.contains_key(*key) {
                    return Err(invalid(format!(
                        "{key} is defined in top-level and `default:` entry"
                    )));
                }
                merged.insert(Value::String((*key).to_owned()), value.clone());
            }
        }
        let get = |key: &str| merged.get(key).filter(|v| !v.is_null());
        let loc = |key: &str| {
            if default_map.contains_key(key) {
                format!("default:{key}")
            } else {
                key.to_owned()
            }
        };
        Ok(Defaults {
            before_script: get("before_script")
                .map(|v| fields::script(&loc("before_script"), v))
                .transpose()?,
            after_script: get("after_script")
                .map(|v| fields::script(&loc("after_script"), v))
                .transpose()?,
            image: get("image")
                .map(|v| fields::image(&loc("image"), v))
                .transpose()?,
            services: get("services")
                .map(|v| fields::services(&loc("services"), v))
                .transpose()?,
            tags: get("tags")
                .map(|v| fields::tags(&loc("tags"), v))
                .transpose()?,
            timeout: get("timeout")
                .map(|v| fields::duration(&loc("timeout"), v, duration::ONE_MONTH))
                .transpose()?,
            retry: get("retry")
                .map(|v| fields::retry(&loc("retry"), v))
                .transpose()?,
            interruptible: get("interruptible")
                .map(|v| fields::boolean(&loc("interruptible"), v))
                .transpose()?,
            artifacts: get("artifacts")
                .map(|v| fields::artifacts(&loc("artifacts"), v))
                .transpose()?,
            cache: get("cache").map(to_json),
        })
    }
}

/// Which defaults / global variables a job receives.
#[derive(Debug, Clone)]
pub(crate) struct Inherit {
    default: Selection,
    variables: Selection,
}

#[derive(Debug, Clone)]
enum Selection {
    All,
    None,
    Only(Vec<String>),
}

impl Selection {
    fn parse(loc: &str, value: &Value) -> Result<Selection> {
        match value {
            Value::Bool(true) => Ok(Selection::All),
            Value::Bool(false) => Ok(Selection::None),
            Value::Sequence(_) => string_array(value).map(Selection::Only).ok_or_else(|| {
                invalid(format!(
                    "{loc} config should be a boolean value or an array of strings"
                ))
            }),
            _ => Err(invalid(format!(
                "{loc} config should be a boolean value or an array of strings"
            ))),
        }
    }

    fn includes(&self, name: &str) -> bool {
        match self {
            Selection::All => true,
            Selection::None => false,
            Selection::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

impl Default for Inherit {
    fn default() -> Self {
        Inherit {
            default: Selection::All,
            variables: Selection::All,
        }
    }
}

impl Inherit {
    pub(crate) fn parse(loc: &str, value: &Value) -> Result<Inherit> {
        let map = value
            .as_mapping()
            .ok_or_else(|| invalid(format!("{loc} config should be a hash")))?;
        let unknown = unknown_keys(map, &["default", "variables"]);
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "{loc} config contains unknown keys: {}",
                unknown.join(", ")
            )));
        }
        let mut inherit = Inherit::default();
        if let Some(v) = map.get("default") {
            inherit.default = Selection::parse(&format!("{loc}:default"), v)?;
            if let Selection::Only(keys) = &inherit.default
                && let Some(bad) = keys.iter().find(|k| !DEFAULT_KEYS.contains(&k.as_str()))
            {
                return Err(invalid(format!(
                    "{loc}:default config contains unknown values: {bad}"
                )));
            }
        }
        if let Some(v) = map.get("variables") {
            inherit.variables = Selection::parse(&format!("{loc}:variables"), v)?;
        }
        Ok(inherit)
    }

    pub(crate) fn default_key(&self, key: &str) -> bool {
        self.default.includes(key)
    }

    pub(crate) fn globals(&self, globals: &[Variable]) -> Vec<Variable> {
        globals
            .iter()
            .filter(|v| self.variables.includes(&v.key))
            .cloned()
            .collect()
    }
}
