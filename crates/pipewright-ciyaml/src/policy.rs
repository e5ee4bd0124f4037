//! Legacy `only:` / `except:` policies.

use std::collections::HashMap;

use serde_norway::Value;

use crate::error::{Result, invalid};
use crate::rules::{Context, Expr, parse_expr, regex_literal_match};
use crate::value::{string_array, unknown_keys};

#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    pub refs: Option<Vec<String>>,
    pub variables: Option<Vec<Expr>>,
    pub changes: Option<Vec<String>>,
    pub kubernetes: bool,
}

impl Policy {
    /// The implicit `only: [branches, tags]`.
    pub(crate) fn default_only() -> Policy {
        Policy {
            refs: Some(vec!["branches".to_owned(), "tags".to_owned()]),
            ..Policy::default()
        }
    }
}

pub(crate) fn parse(loc: &str, value: &Value) -> Result<Policy> {
    match value {
        Value::Sequence(_) | Value::String(_) => Ok(Policy {
            refs: Some(refs(loc, value)?),
            ..Policy::default()
        }),
        Value::Mapping(map) => {
            let unknown = unknown_keys(map, &["refs", "variables", "changes", "kubernetes"]);
            if !unknown.is_empty() {
                return Err(invalid(format!(
                    "{loc} config contains unknown keys: {}",
                    unknown.join(", ")
                )));
            }
            let mut policy = Policy::default();
            if let Some(v) = map.get("refs") {
                policy.refs = Some(refs(&format!("{loc}:refs"), v)?);
            }
            if let Some(v) = map.get("variables") {
                let texts = string_array(v).ok_or_else(|| {
                    invalid(format!(
                        "{loc}:variables config should be an array of strings"
                    ))
                })?;
                let exprs = texts
                    .iter()
                    .map(|t| parse_expr(t))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        invalid(format!(
                            "{loc}:variables config should be valid expressions"
                        ))
                    })?;
                policy.variables = Some(exprs);
            }
            if let Some(v) = map.get("changes") {
                let paths = match v {
                    Value::Mapping(m) => m.get("paths").and_then(string_array),
                    other => string_array(other),
                };
                policy.changes = Some(paths.ok_or_else(|| {
                    invalid(format!(
                        "{loc}:changes config should be an array of strings"
                    ))
                })?);
            }
            if let Some(v) = map.get("kubernetes") {
                if v.as_str() != Some("active") {
                    return Err(invalid(format!(
                        "{loc}:kubernetes config unknown value: kubernetes"
                    )));
                }
                policy.kubernetes = true;
            }
            Ok(policy)
        }
        _ => Err(invalid(format!(
            "{loc} config should be an array of strings or regular expressions"
        ))),
    }
}

fn refs(loc: &str, value: &Value) -> Result<Vec<String>> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        _ => string_array(value).ok_or_else(|| {
            invalid(format!(
                "{loc} config should be an array of strings or regular expressions"
            ))
        }),
    }
}

/// Every kind listed must hold.
pub(crate) fn all_match(
    policy: &Policy,
    vars: &HashMap<String, String>,
    ctx: &Context<'_>,
) -> bool {
    kinds(policy, vars, ctx).iter().all(|k| *k)
}

/// At least one listed kind holds.
pub(crate) fn any_match(
    policy: &Policy,
    vars: &HashMap<String, String>,
    ctx: &Context<'_>,
) -> bool {
    kinds(policy, vars, ctx).iter().any(|k| *k)
}

fn kinds(policy: &Policy, vars: &HashMap<String, String>, ctx: &Context<'_>) -> Vec<bool> {
    let mut out = Vec::new();
    if let Some(refs) = &policy.refs {
        out.push(refs.iter().any(|pattern| ref_matches(pattern, vars)));
    }
    if let Some(exprs) = &policy.variables {
        out.push(exprs.iter().any(|e| e.eval(vars)));
    }
    if let Some(changes) = &policy.changes {
        out.push(ctx.changes(changes, vars));
    }
    if policy.kubernetes {
        out.push(
            vars.get("CI_KUBERNETES_ACTIVE")
                .is_some_and(|v| !v.is_empty()),
        );
    }
    out
}

fn var<'v>(vars: &'v HashMap<String, String>, name: &str) -> Option<&'v str> {
    vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

fn ref_matches(pattern: &str, vars: &HashMap<String, String>) -> bool {
    let (pattern, path) = match pattern.split_once('@') {
        // `/regex/@group/project` and `branch@group/project`.
        Some((p, path)) if !p.is_empty() => (p, Some(path)),
        _ => (pattern, None),
    };
    if let Some(path) = path
        && var(vars, "CI_PROJECT_PATH") != Some(path)
    {
        return false;
    }
    let source = var(vars, "CI_PIPELINE_SOURCE").unwrap_or("push");
    let is_mr = source == "merge_request_event";
    let is_tag = var(vars, "CI_COMMIT_TAG").is_some();
    let is_branch = !is_tag && !is_mr;
    match pattern {
        "tags" if is_tag => return true,
        "branches" if is_branch => return true,
        _ => {}
    }
    let sanitized = source.strip_suffix("_event").unwrap_or(source);
    if pattern == sanitized || pattern == pluralize(sanitized) {
        return true;
    }
    if !(is_branch || is_tag) {
        return false;
    }
    let git_ref = var(vars, "CI_COMMIT_REF_NAME")
        .or_else(|| var(vars, "CI_COMMIT_TAG"))
        .or_else(|| var(vars, "CI_COMMIT_BRANCH"))
        .unwrap_or("");
    regex_literal_match(pattern, git_ref).unwrap_or(pattern == git_ref)
}

fn pluralize(word: &str) -> String {
    if word.ends_with("sh") || word.ends_with('s') || word.ends_with("ch") {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}
