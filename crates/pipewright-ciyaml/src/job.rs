//! One job's hash → a validated `JobSpec` with `default:` and global variables applied.

use pipewright_domain::When;
use serde_norway::{Mapping, Value};

use crate::defaults::{Defaults, Inherit};
use crate::duration;
use crate::error::{Result, invalid};
use crate::fields;
use crate::model::{JobOptions, Variable};
use crate::needs::{self, NeedSpec};
use crate::parallel::{self, ParallelSpec};
use crate::policy::{self, Policy};
use crate::rules::{self, Rule};
use crate::trigger;
use crate::value::{int_or_array, string_array, to_json, unknown_keys};

/// A visible job after validation, before parallel expansion and seeding.
#[derive(Debug, Clone)]
pub(crate) struct JobSpec {
    pub name: String,
    pub stage: String,
    /// Job-level `when:` as written (rules may override it).
    pub when: Option<When>,
    /// Job-level `allow_failure:` as written (a bool; `exit_codes` are in options).
    pub allow_failure: Option<bool>,
    pub rules: Option<Vec<Rule>>,
    pub only: Option<Policy>,
    pub except: Option<Policy>,
    pub needs: Option<Vec<NeedSpec>>,
    pub parallel: Option<ParallelSpec>,
    pub options: JobOptions,
    /// Global variables this job inherits (`options.variables` holds its own).
    pub globals: Vec<Variable>,
}

const BUILD_KEYS: &[&str] = &[
    "after_script",
    "allow_failure",
    "artifacts",
    "before_script",
    "cache",
    "coverage",
    "dast_configuration",
    "dependencies",
    "environment",
    "except",
    "extends",
    "hooks",
    "id_tokens",
    "identity",
    "image",
    "inherit",
    "interruptible",
    "manual_confirmation",
    "needs",
    "only",
    "pages",
    "parallel",
    "publish",
    "release",
    "resource_group",
    "retry",
    "rules",
    "script",
    "secrets",
    "services",
    "stage",
    "start_in",
    "tags",
    "timeout",
    "type",
    "variables",
    "when",
];

const BRIDGE_KEYS: &[&str] = &[
    "allow_failure",
    "environment",
    "except",
    "extends",
    "inherit",
    "interruptible",
    "needs",
    "only",
    "parallel",
    "resource_group",
    "rules",
    "stage",
    "trigger",
    "type",
    "variables",
    "when",
    "start_in",
];

pub(crate) fn parse(
    name: &str,
    map: &Mapping,
    defaults: &Defaults,
    globals: &[Variable],
) -> Result<JobSpec> {
    let loc = format!("jobs:{name}");
    // GitLab tries the job type first: `script` wins over `trigger`.
    let is_bridge = !map.contains_key("script") && map.contains_key("trigger");
    let unknown = unknown_keys(map, if is_bridge { BRIDGE_KEYS } else { BUILD_KEYS });
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "{loc} config contains unknown keys: {}",
            unknown.join(", ")
        )));
    }
    if name.chars().count() > 255 {
        return Err(invalid(format!(
            "{loc} name is too long (maximum is 255 characters)"
        )));
    }
    let get = |key: &str| map.get(key).filter(|v| !v.is_null());
    let mut options = JobOptions::default();

    if !is_bridge {
        let script = fields::script(
            &format!("{loc}:script"),
            get("script").unwrap_or(&Value::Null),
        )
        .or_else(|e| {
            if get("script").is_none() {
                Ok(Vec::new())
            } else {
                Err(e)
            }
        })?;
        if script.iter().all(|line| line.is_empty()) {
            return Err(invalid(format!("{loc} script can't be blank")));
        }
        options.script = script;
    }

    let stage = match get("stage").or_else(|| get("type")) {
        Some(v) => fields::string(&format!("{loc}:stage"), v)?,
        None => "test".to_owned(),
    };

    let inherit = match get("inherit") {
        Some(v) => Inherit::parse(&format!("{loc}:inherit"), v)?,
        None => Inherit::default(),
    };
    // Bridges never run on a runner: only `interruptible` is inherited from `default:`.
    let default = |key: &str| inherit.default_key(key) && (!is_bridge || key == "interruptible");

    options.before_script = match get("before_script") {
        Some(v) => fields::script(&format!("{loc}:before_script"), v)?,
        None if default("before_script") => defaults.before_script.clone().unwrap_or_default(),
        None => Vec::new(),
    };
    options.after_script = match get("after_script") {
        Some(v) => fields::script(&format!("{loc}:after_script"), v)?,
        None if default("after_script") => defaults.after_script.clone().unwrap_or_default(),
        None => Vec::new(),
    };
    options.image = match get("image") {
        Some(v) => Some(fields::image(&format!("{loc}:image"), v)?),
        None if default("image") => defaults.image.clone(),
        None => None,
    };
    options.services = match get("services") {
        Some(v) => fields::services(&format!("{loc}:services"), v)?,
        None if default("services") => defaults.services.clone().unwrap_or_default(),
        None => Vec::new(),
    };
    options.tags = match get("tags") {
        Some(v) => fields::tags(&format!("{loc}:tags"), v)?,
        None if default("tags") => defaults.tags.clone().unwrap_or_default(),
        None => Vec::new(),
    };
    options.timeout = match get("timeout") {
        Some(v) => Some(fields::duration(
            &format!("{loc}:timeout"),
            v,
            duration::ONE_MONTH,
        )?),
        None if default("timeout") => defaults.timeout,
        None => None,
    };
    options.retry = match get("retry") {
        Some(v) => Some(fields::retry(&format!("{loc}:retry"), v)?),
        None if default("retry") => defaults.retry.clone(),
        None => None,
    };
    options.interruptible = match get("interruptible") {
        Some(v) => fields::boolean(&format!("{loc}:interruptible"), v)?,
        None if default("interruptible") => defaults.interruptible.unwrap_or(false),
        None => false,
    };
    options.artifacts = match get("artifacts") {
        Some(v) => Some(fields::artifacts(&format!("{loc}:artifacts"), v)?),
        None if default("artifacts") => defaults.artifacts.clone(),
        None => None,
    };
    options.cache = match get("cache") {
        Some(v) => Some(to_json(v)),
        None if default("cache") => defaults.cache.clone(),
        None => None,
    };

    let own_variables = match map.get("variables") {
        Some(v) => fields::variables(&format!("{loc}:variables"), v, false)?,
        None => Vec::new(),
    };
    options.variables = own_variables;

    let when = match get("when") {
        Some(v) => Some(job_when(&loc, v, is_bridge)?),
        None => None,
    };

    let mut allow_failure = None;
    match get("allow_failure") {
        None => {}
        Some(Value::Bool(b)) => allow_failure = Some(*b),
        Some(Value::Mapping(hash)) => {
            let codes = hash.get("exit_codes").and_then(int_or_array);
            match codes {
                Some(codes) if hash.len() == 1 && !is_bridge => {
                    options.allow_failure_exit_codes = codes;
                    allow_failure = Some(false);
                }
                _ => {
                    return Err(invalid(format!(
                        "{loc}:allow_failure config should be a hash or a boolean value"
                    )));
                }
            }
        }
        Some(_) => {
            return Err(invalid(format!(
                "{loc}:allow_failure config should be a hash or a boolean value"
            )));
        }
    }

    let rules = match map.get("rules") {
        Some(v) => Some(rules::parse_job_rules(&format!("{loc}:rules"), v)?),
        None => None,
    };
    let only = match get("only") {
        Some(v) => Some(policy::parse(&format!("{loc}:only"), v)?),
        None => None,
    };
    let except = match get("except") {
        Some(v) => Some(policy::parse(&format!("{loc}:except"), v)?),
        None => None,
    };
    if rules.is_some() {
        let disallowed: Vec<&str> = ["only", "except", "start_in"]
            .into_iter()
            .filter(|k| get(k).is_some())
            .collect();
        if !disallowed.is_empty() {
            return Err(invalid(format!(
                "{loc} config key may not be used with `rules`: {}",
                disallowed.join(", ")
            )));
        }
    }

    match get("start_in") {
        Some(v) => {
            if when != Some(When::Delayed) {
                return Err(invalid(format!("{loc} start in must be blank")));
            }
            let text = v
                .as_str()
                .ok_or_else(|| invalid(format!("{loc} start in should be a duration")))?;
            let seconds = duration::parse(text)
                .ok_or_else(|| invalid(format!("{loc} start in should be a duration")))?;
            if seconds > duration::ONE_WEEK {
                return Err(invalid(format!(
                    "{loc} start in should not exceed the limit"
                )));
            }
            options.start_in = Some(text.to_owned());
            options.start_in_seconds = Some(seconds);
        }
        None if when == Some(When::Delayed) => {
            return Err(invalid(format!("{loc} start in can't be blank")));
        }
        None => {}
    }

    let needs = match map.get("needs") {
        Some(v) => Some(needs::parse(&format!("{loc}:needs"), v)?),
        None => None,
    };
    options.dependencies =
        match map.get("dependencies") {
            Some(v) => Some(string_array(v).ok_or_else(|| {
                invalid(format!("{loc} dependencies should be an array of strings"))
            })?),
            None => None,
        };
    let parallel = match get("parallel") {
        Some(v) => Some(parallel::parse(&format!("{loc}:parallel"), v, is_bridge)?),
        None => None,
    };
    options.environment = match get("environment") {
        Some(v) => Some(fields::environment(&format!("{loc}:environment"), v)?),
        None => None,
    };
    options.coverage = match get("coverage") {
        Some(v) => Some(fields::coverage(&format!("{loc}:coverage"), v)?),
        None => None,
    };
    options.resource_group = match get("resource_group") {
        Some(v) => Some(fields::string(&format!("{loc}:resource_group"), v)?),
        None => None,
    };
    if let Some(value) = map.get("trigger") {
        options.trigger = Some(trigger::parse(&format!("{loc}:trigger"), value)?);
    }

    Ok(JobSpec {
        name: name.to_owned(),
        stage,
        when,
        allow_failure,
        rules,
        only,
        except,
        needs,
        parallel,
        options,
        globals: inherit.globals(globals),
    })
}

fn job_when(loc: &str, value: &Value, is_bridge: bool) -> Result<When> {
    let allowed: &[When] = if is_bridge {
        &[When::OnSuccess, When::OnFailure, When::Always, When::Manual]
    } else {
        &[
            When::OnSuccess,
            When::OnFailure,
            When::Always,
            When::Manual,
            When::Delayed,
        ]
    };
    value
        .as_str()
        .and_then(|s| s.parse::<When>().ok())
        .filter(|w| allowed.contains(w))
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|w| w.as_str()).collect();
            invalid(format!("{loc} when should be one of: {}", names.join(", ")))
        })
}

/// True for a visible top-level key whose value GitLab treats as a job.
pub(crate) fn looks_like_job(value: &Value) -> bool {
    value.as_mapping().is_some_and(|m| {
        m.contains_key("script") || m.contains_key("trigger") || m.contains_key("run")
    })
}
