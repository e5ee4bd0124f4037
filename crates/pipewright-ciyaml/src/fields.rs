//! Validators for the keyword values shared by jobs and `default:`.
//! Each takes the entry's location (`jobs:build:image`) for GitLab-style messages.

use serde_norway::{Mapping, Value};

use crate::duration;
use crate::error::{Result, invalid};
use crate::model::{Artifacts, Environment, Image, Report, Retry, Service, Variable};
use crate::value::{
    as_string, int_or_array, key_str, nested_strings, scalar_string, string_array, string_or_array,
    to_json, unknown_keys,
};

pub(crate) fn script(loc: &str, value: &Value) -> Result<Vec<String>> {
    nested_strings(value).ok_or_else(|| {
        invalid(format!(
            "{loc} config should be a string or a nested array of strings up to 10 levels deep"
        ))
    })
}

pub(crate) fn string(loc: &str, value: &Value) -> Result<String> {
    as_string(value).ok_or_else(|| invalid(format!("{loc} config should be a string")))
}

pub(crate) fn boolean(loc: &str, value: &Value) -> Result<bool> {
    value
        .as_bool()
        .ok_or_else(|| invalid(format!("{loc} config should be a boolean value")))
}

pub(crate) fn tags(loc: &str, value: &Value) -> Result<Vec<String>> {
    let tags = string_array(value)
        .ok_or_else(|| invalid(format!("{loc} config should be an array of strings")))?;
    if tags.len() > 50 {
        return Err(invalid(format!(
            "{loc} config must be less than the limit of 50 tags"
        )));
    }
    Ok(tags)
}

/// Seconds; numbers are seconds, strings human durations, at most `limit`.
pub(crate) fn duration(loc: &str, value: &Value, limit: u64) -> Result<u64> {
    let seconds = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => duration::parse(s),
        _ => None,
    }
    .ok_or_else(|| invalid(format!("{loc} config should be a duration")))?;
    if seconds > limit {
        return Err(invalid(format!("{loc} config should not exceed the limit")));
    }
    Ok(seconds)
}

fn entrypoint(loc: &str, key: &str, value: &Value) -> Result<Vec<String>> {
    string_array(value).ok_or_else(|| invalid(format!("{loc} {key} should be an array of strings")))
}

fn pull_policy(loc: &str, value: &Value) -> Result<Vec<String>> {
    const ALLOWED: [&str; 3] = ["always", "never", "if-not-present"];
    let policies = string_or_array(value).ok_or_else(|| {
        invalid(format!(
            "{loc}:pull_policy config should be a string or an array of strings"
        ))
    })?;
    if let Some(bad) = policies.iter().find(|p| !ALLOWED.contains(&p.as_str())) {
        return Err(invalid(format!(
            "{loc}:pull_policy config contains an unknown value: {bad}"
        )));
    }
    Ok(policies)
}

pub(crate) fn image(loc: &str, value: &Value) -> Result<Image> {
    match value {
        Value::String(name) => Ok(Image {
            name: name.clone(),
            entrypoint: None,
            pull_policy: Vec::new(),
            docker: None,
        }),
        Value::Mapping(map) => {
            let unknown = unknown_keys(
                map,
                &["name", "entrypoint", "pull_policy", "docker", "kubernetes"],
            );
            if !unknown.is_empty() {
                return Err(invalid(format!(
                    "{loc} config contains unknown keys: {}",
                    unknown.join(", ")
                )));
            }
            let name = map
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| invalid(format!("{loc} name can't be blank")))?;
            Ok(Image {
                name: name.to_owned(),
                entrypoint: map
                    .get("entrypoint")
                    .map(|v| entrypoint(loc, "entrypoint", v))
                    .transpose()?,
                pull_policy: map
                    .get("pull_policy")
                    .map(|v| pull_policy(loc, v))
                    .transpose()?
                    .unwrap_or_default(),
                docker: map.get("docker").map(to_json),
            })
        }
        _ => Err(invalid(format!(
            "{loc} config should be a hash or a string"
        ))),
    }
}

pub(crate) fn services(loc: &str, value: &Value) -> Result<Vec<Service>> {
    let items = value
        .as_sequence()
        .ok_or_else(|| invalid(format!("{loc} config should be a array")))?;
    let mut out = Vec::new();
    for item in items {
        // `!reference` may nest a list of services inside the list.
        match item {
            Value::Sequence(inner) => {
                for service_value in inner {
                    out.push(service(loc, service_value)?);
                }
            }
            _ => out.push(service(loc, item)?),
        }
    }
    Ok(out)
}

fn service(loc: &str, value: &Value) -> Result<Service> {
    let loc = format!("{loc}:service");
    match value {
        Value::String(name) => Ok(Service {
            name: name.clone(),
            alias: None,
            entrypoint: None,
            command: None,
            variables: Vec::new(),
            pull_policy: Vec::new(),
            docker: None,
        }),
        Value::Mapping(map) => {
            let unknown = unknown_keys(
                map,
                &[
                    "name",
                    "alias",
                    "entrypoint",
                    "command",
                    "variables",
                    "pull_policy",
                    "docker",
                    "kubernetes",
                ],
            );
            if !unknown.is_empty() {
                return Err(invalid(format!(
                    "{loc} config contains unknown keys: {}",
                    unknown.join(", ")
                )));
            }
            let name = map
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| invalid(format!("{loc} name can't be blank")))?;
            let alias = map
                .get("alias")
                .map(|v| {
                    as_string(v).ok_or_else(|| invalid(format!("{loc} alias should be a string")))
                })
                .transpose()?;
            Ok(Service {
                name: name.to_owned(),
                alias,
                entrypoint: map
                    .get("entrypoint")
                    .map(|v| entrypoint(&loc, "entrypoint", v))
                    .transpose()?,
                command: map
                    .get("command")
                    .map(|v| entrypoint(&loc, "command", v))
                    .transpose()?,
                variables: map
                    .get("variables")
                    .map(|v| variables(&format!("{loc}:variables"), v, false))
                    .transpose()?
                    .unwrap_or_default(),
                pull_policy: map
                    .get("pull_policy")
                    .map(|v| pull_policy(&loc, v))
                    .transpose()?
                    .unwrap_or_default(),
                docker: map.get("docker").map(to_json),
            })
        }
        _ => Err(invalid(format!(
            "{loc} config should be a hash or a string"
        ))),
    }
}

/// `variables:`; `top_level` also allows `description`/`options` in the hash form.
pub(crate) fn variables(loc: &str, value: &Value, top_level: bool) -> Result<Vec<Variable>> {
    let map = match value {
        Value::Mapping(map) => map,
        // An empty `variables:` is allowed and means none.
        Value::Null => return Ok(Vec::new()),
        _ => return Err(invalid(format!("{loc} config should be a hash"))),
    };
    let mut out: Vec<Variable> = Vec::with_capacity(map.len());
    for (key, raw_value) in map {
        let key = key_str(key);
        let (value, raw) = match raw_value {
            Value::Mapping(hash) => variable_hash(loc, &key, hash, top_level)?,
            other => (
                scalar_string(other).ok_or_else(|| {
                    // GitLab's "unknown strategy" entry reports without a location.
                    invalid("variable definition must be either a string or a hash")
                })?,
                false,
            ),
        };
        upsert(&mut out, Variable { key, value, raw });
    }
    Ok(out)
}

fn variable_hash(loc: &str, key: &str, hash: &Mapping, top_level: bool) -> Result<(String, bool)> {
    let allowed: &[&str] = if top_level {
        &["value", "description", "expand", "options"]
    } else {
        &["value", "expand"]
    };
    let unknown = unknown_keys(hash, allowed);
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "{loc}:{key} config uses invalid data keys: {}",
            unknown.join(", ")
        )));
    }
    let value = match hash.get("value") {
        None | Some(Value::Null) => String::new(),
        Some(v) => scalar_string(v).ok_or_else(|| {
            invalid(format!(
                "{loc}:{key} config value must be an alphanumeric string"
            ))
        })?,
    };
    let expand = match hash.get("expand") {
        None => true,
        Some(v) => v.as_bool().ok_or_else(|| {
            invalid(format!(
                "{loc}:{key} config expand should be a boolean value"
            ))
        })?,
    };
    if let Some(options) = hash.get("options") {
        let options = string_array(options).ok_or_else(|| {
            invalid(format!(
                "{loc}:{key} config options should be an array of strings"
            ))
        })?;
        if !options.contains(&value) {
            return Err(invalid(format!(
                "{loc}:{key} config value must be present in options"
            )));
        }
    }
    Ok((value, !expand))
}

/// Adds or replaces a variable, keeping the first position of its key.
pub(crate) fn upsert(list: &mut Vec<Variable>, variable: Variable) {
    match list.iter_mut().find(|v| v.key == variable.key) {
        Some(existing) => *existing = variable,
        None => list.push(variable),
    }
}

/// Later lists win: `merge_variables(&global, &job)`.
pub(crate) fn merge_variables(base: &[Variable], over: &[Variable]) -> Vec<Variable> {
    let mut out = base.to_vec();
    for v in over {
        upsert(&mut out, v.clone());
    }
    out
}

pub(crate) fn retry(loc: &str, value: &Value) -> Result<Retry> {
    match value {
        Value::Number(n) => Ok(Retry {
            max: retry_max(loc, n.as_i64())?,
            ..Retry::default()
        }),
        Value::Mapping(map) => {
            let unknown = unknown_keys(map, &["max", "when", "exit_codes"]);
            if !unknown.is_empty() {
                return Err(invalid(format!(
                    "{loc} config contains unknown keys: {}",
                    unknown.join(", ")
                )));
            }
            let max = match map.get("max") {
                Some(v) => retry_max(loc, v.as_i64())?,
                None => 0,
            };
            let when = match map.get("when") {
                Some(v) => string_or_array(v).ok_or_else(|| {
                    invalid(format!(
                        "{loc} when should be a string or an array of strings"
                    ))
                })?,
                None => Vec::new(),
            };
            if let Some(bad) = when.iter().find(|w| !RETRY_WHEN.contains(&w.as_str())) {
                return Err(invalid(format!(
                    "{loc} when contains unknown values: {bad}"
                )));
            }
            let exit_codes = match map.get("exit_codes") {
                Some(v) => int_or_array(v).ok_or_else(|| {
                    invalid(format!(
                        "{loc} exit_codes should be an array of integers or an integer"
                    ))
                })?,
                None => Vec::new(),
            };
            Ok(Retry {
                max,
                when,
                exit_codes,
            })
        }
        _ => Err(invalid(format!(
            "{loc} config has to be either an integer or a hash"
        ))),
    }
}

fn retry_max(loc: &str, max: Option<i64>) -> Result<u32> {
    match max {
        Some(n @ 0..=2) => Ok(n as u32),
        Some(n) if n < 0 => Err(invalid(format!(
            "{loc} max must be greater than or equal to 0"
        ))),
        Some(_) => Err(invalid(format!(
            "{loc} max must be less than or equal to 2"
        ))),
        None => Err(invalid(format!("{loc} max must be an integer"))),
    }
}

/// `always` plus every failure reason GitLab accepts in `retry:when`.
const RETRY_WHEN: &[&str] = &[
    "always",
    "unknown_failure",
    "script_failure",
    "api_failure",
    "stuck_or_timeout_failure",
    "runner_system_failure",
    "runner_unsupported",
    "stale_schedule",
    "job_execution_timeout",
    "archived_failure",
    "unmet_prerequisites",
    "scheduler_failure",
    "data_integrity_failure",
    "missing_dependency_failure",
    "forward_deployment_failure",
    "user_blocked",
    "project_deleted",
    "ci_quota_exceeded",
    "pipeline_loop_detected",
    "no_matching_runner",
    "trace_size_exceeded",
    "builds_disabled",
    "environment_creation_failure",
    "deployment_rejected",
    "failed_outdated_deployment_job",
    "protected_environment_failure",
    "insufficient_bridge_permissions",
    "downstream_bridge_project_not_found",
    "invalid_bridge_trigger",
    "upstream_bridge_project_not_found",
    "insufficient_upstream_permissions",
    "bridge_pipeline_is_child_pipeline",
    "downstream_pipeline_creation_failed",
    "secrets_provider_not_found",
    "reached_max_descendant_pipelines_depth",
    "ip_restriction_failure",
    "reached_max_pipeline_hierarchy_size",
    "job_token_expired",
];

pub(crate) fn artifacts(loc: &str, value: &Value) -> Result<Artifacts> {
    let map = value
        .as_mapping()
        .ok_or_else(|| invalid(format!("{loc} config should be a hash")))?;
    let unknown = unknown_keys(
        map,
        &[
            "name",
            "untracked",
            "paths",
            "reports",
            "when",
            "expire_in",
            "expose_as",
            "exclude",
            "public",
            "access",
        ],
    );
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "{loc} config contains unknown keys: {}",
            unknown.join(", ")
        )));
    }
    let strings = |key: &str| -> Result<Vec<String>> {
        map.get(key)
            .map(|v| {
                string_array(v)
                    .ok_or_else(|| invalid(format!("{loc} {key} should be an array of strings")))
            })
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let text = |key: &str| -> Result<Option<String>> {
        map.get(key)
            .map(|v| {
                scalar_string(v).ok_or_else(|| invalid(format!("{loc} {key} should be a string")))
            })
            .transpose()
    };
    let when = text("when")?;
    if let Some(w) = &when
        && !["on_success", "on_failure", "always"].contains(&w.as_str())
    {
        return Err(invalid(format!(
            "{loc} when should be on_success, on_failure or always"
        )));
    }
    let expire_in = text("expire_in")?;
    if let Some(e) = &expire_in
        && e != "never"
        && duration::parse(e).is_none()
    {
        return Err(invalid(format!("{loc} expire in should be a duration")));
    }
    let access = text("access")?;
    if let Some(a) = &access
        && !["all", "developer", "maintainer", "none"].contains(&a.as_str())
    {
        return Err(invalid(format!(
            "{loc} access should be one of: all, developer, maintainer, none"
        )));
    }
    let bool_key = |key: &str| -> Result<Option<bool>> {
        map.get(key)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| invalid(format!("{loc} {key} should be a boolean value")))
            })
            .transpose()
    };
    Ok(Artifacts {
        name: text("name")?,
        paths: strings("paths")?,
        exclude: strings("exclude")?,
        untracked: bool_key("untracked")?,
        when,
        expire_in,
        expose_as: text("expose_as")?,
        public: bool_key("public")?,
        access,
        reports: map
            .get("reports")
            .map(|v| reports(&format!("{loc}:reports"), v))
            .transpose()?
            .unwrap_or_default(),
    })
}

const REPORT_KINDS: &[&str] = &[
    "junit",
    "dotenv",
    "coverage_report",
    "codequality",
    "sast",
    "secret_detection",
    "dependency_scanning",
    "container_scanning",
    "dast",
    "license_scanning",
    "performance",
    "browser_performance",
    "load_performance",
    "metrics",
    "requirements",
    "terraform",
    "accessibility",
    "cyclonedx",
    "api_fuzzing",
    "coverage_fuzzing",
    "cluster_image_scanning",
    "annotations",
    "repository_xray",
];

fn reports(loc: &str, value: &Value) -> Result<Vec<Report>> {
    let map = value
        .as_mapping()
        .ok_or_else(|| invalid(format!("{loc} config should be a hash")))?;
    let unknown = unknown_keys(map, REPORT_KINDS);
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "{loc} config contains unknown keys: {}",
            unknown.join(", ")
        )));
    }
    let mut out = Vec::new();
    for (key, report) in map {
        let kind = key_str(key);
        if kind == "coverage_report" {
            let hash = report
                .as_mapping()
                .ok_or_else(|| invalid(format!("{loc} coverage report must be a hash")))?;
            let format = hash.get("coverage_format").and_then(Value::as_str);
            let path = hash.get("path").and_then(Value::as_str);
            let (Some(format), Some(path)) = (format, path) else {
                return Err(invalid(format!(
                    "{loc} coverage report must contain coverage_format and path"
                )));
            };
            out.push(Report {
                kind,
                paths: vec![path.to_owned()],
                format: Some(format.to_owned()),
            });
            continue;
        }
        let paths = string_or_array(report).ok_or_else(|| {
            invalid(format!(
                "{loc} {kind} should be an array of strings or a string"
            ))
        })?;
        out.push(Report {
            kind,
            paths,
            format: None,
        });
    }
    Ok(out)
}

pub(crate) fn environment(loc: &str, value: &Value) -> Result<Environment> {
    let mut env = Environment {
        name: String::new(),
        url: None,
        action: "start".to_owned(),
        on_stop: None,
        auto_stop_in: None,
        deployment_tier: None,
    };
    match value {
        Value::String(name) => env.name = name.clone(),
        Value::Mapping(map) => {
            let unknown = unknown_keys(
                map,
                &[
                    "name",
                    "url",
                    "action",
                    "on_stop",
                    "auto_stop_in",
                    "kubernetes",
                    "deployment_tier",
                ],
            );
            if !unknown.is_empty() {
                return Err(invalid(format!(
                    "{loc} config contains unknown keys: {}",
                    unknown.join(", ")
                )));
            }
            let text = |key: &str| -> Result<Option<String>> {
                map.get(key)
                    .map(|v| {
                        as_string(v)
                            .ok_or_else(|| invalid(format!("{loc} {key} should be a string")))
                    })
                    .transpose()
            };
            env.name = text("name")?.unwrap_or_default();
            env.url = text("url")?;
            if let Some(action) = text("action")? {
                if !["start", "prepare", "stop", "verify", "access"].contains(&action.as_str()) {
                    return Err(invalid(format!(
                        "{loc} action should be start, stop, prepare, verify, or access"
                    )));
                }
                env.action = action;
            }
            env.on_stop = text("on_stop")?;
            env.auto_stop_in = text("auto_stop_in")?;
            if let Some(tier) = text("deployment_tier")? {
                if !["production", "staging", "testing", "development", "other"]
                    .contains(&tier.as_str())
                {
                    return Err(invalid(format!(
                        "{loc} deployment tier must be one of production, staging, testing, development, other"
                    )));
                }
                env.deployment_tier = Some(tier);
            }
        }
        _ => {
            return Err(invalid(format!(
                "{loc} config should be a hash or a string"
            )));
        }
    }
    if env.name.is_empty() {
        return Err(invalid(format!("{loc} name can't be blank")));
    }
    Ok(env)
}

/// `coverage: '/regex/'` → the regex without slashes.
pub(crate) fn coverage(loc: &str, value: &Value) -> Result<String> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid(format!("{loc} config should be a regular expression")))?;
    let inner = text
        .strip_prefix('/')
        .and_then(|t| t.strip_suffix('/'))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid(format!("{loc} config must be a regular expression")))?;
    if regex::Regex::new(inner).is_err() {
        return Err(invalid(format!(
            "{loc} config must be a regular expression"
        )));
    }
    Ok(inner.to_owned())
}
