//! `trigger:` of bridge jobs (multi-project and parent-child pipelines).

use serde_norway::Value;

use crate::error::{Result, invalid};
use crate::model::{ArtifactInclude, Forward, Trigger};
use crate::value::unknown_keys;

pub(crate) fn parse(loc: &str, value: &Value) -> Result<Trigger> {
    let mut trigger = Trigger {
        project: None,
        branch: None,
        include: Vec::new(),
        include_artifacts: Vec::new(),
        include_inputs: Vec::new(),
        inputs: None,
        strategy: None,
        forward: Forward::default(),
    };
    match value {
        Value::String(project) => trigger.project = Some(project.clone()),
        Value::Mapping(map) => {
            let unknown = unknown_keys(
                map,
                &[
                    "project", "branch", "strategy", "forward", "include", "inputs",
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
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| invalid(format!("{loc} {key} should be a string")))
                    })
                    .transpose()
            };
            trigger.project = text("project")?;
            trigger.branch = text("branch")?;
            trigger.strategy = text("strategy")?;
            if let Some(strategy) = &trigger.strategy
                && strategy != "depend"
                && strategy != "mirror"
            {
                return Err(invalid(format!(
                    "{loc} strategy should be depend or mirror"
                )));
            }
            if let Some(include) = map.get("include") {
                if trigger.project.is_some() {
                    return Err(invalid(format!(
                        "{loc} config contains unknown keys: include"
                    )));
                }
                let files = includes(&format!("{loc}:include"), include)?;
                (trigger.include, trigger.include_artifacts) = (files.local, files.artifacts);
                if files.inputs.iter().any(Option::is_some) {
                    trigger.include_inputs = files.inputs;
                }
            }
            if let Some(inputs) = map.get("inputs") {
                // GitLab passes `trigger:inputs` to a multi-project pipeline's configuration.
                if trigger.project.is_none() {
                    return Err(invalid(format!(
                        "{loc} config contains unknown keys: inputs"
                    )));
                }
                trigger.inputs = Some(json_inputs(&format!("{loc}:inputs"), inputs)?);
            }
            if trigger.project.is_none()
                && trigger.include.is_empty()
                && trigger.include_artifacts.is_empty()
            {
                return Err(invalid(format!(
                    "{loc} config must specify either project or include"
                )));
            }
            if trigger.project.is_none() && trigger.branch.is_some() {
                return Err(invalid(format!(
                    "{loc} config contains unknown keys: branch"
                )));
            }
            if let Some(forward) = map.get("forward") {
                let fmap = forward
                    .as_mapping()
                    .ok_or_else(|| invalid(format!("{loc}:forward config should be a hash")))?;
                let unknown = unknown_keys(fmap, &["yaml_variables", "pipeline_variables"]);
                if !unknown.is_empty() {
                    return Err(invalid(format!(
                        "{loc}:forward config contains unknown keys: {}",
                        unknown.join(", ")
                    )));
                }
                let flag = |key: &str, default: bool| -> Result<bool> {
                    match fmap.get(key) {
                        None => Ok(default),
                        Some(v) => v.as_bool().ok_or_else(|| {
                            invalid(format!("{loc}:forward {key} should be a boolean value"))
                        }),
                    }
                };
                trigger.forward = Forward {
                    yaml_variables: flag("yaml_variables", true)?,
                    pipeline_variables: flag("pipeline_variables", false)?,
                };
            }
        }
        _ => {
            return Err(invalid(format!(
                "{loc} config should be a hash or a string"
            )));
        }
    }
    Ok(trigger)
}

/// A child pipeline's files: local paths (with their inputs, by position) and artifacts.
struct Includes {
    local: Vec<String>,
    inputs: Vec<Option<serde_json::Map<String, serde_json::Value>>>,
    artifacts: Vec<ArtifactInclude>,
}

/// `inputs:` as JSON (stored with the bridge's options).
fn json_inputs(loc: &str, value: &Value) -> Result<serde_json::Map<String, serde_json::Value>> {
    match crate::value::to_json(value) {
        serde_json::Value::Object(map) if value.is_mapping() => Ok(map),
        _ => Err(invalid(format!("{loc} config should be a hash"))),
    }
}

/// Child pipeline config files: `a.yml`, `[a.yml, {local: b.yml}]`, `{local: a.yml}`,
/// `{local: a.yml, inputs: {...}}`, `{artifact: generated.yml, job: generator}`.
fn includes(loc: &str, value: &Value) -> Result<Includes> {
    let items: Vec<&Value> = match value {
        Value::Sequence(items) => items.iter().collect(),
        other => vec![other],
    };
    if items.len() > 3 {
        return Err(invalid(format!(
            "{loc} config must have less than or equal to 3 items"
        )));
    }
    let mut local = Vec::new();
    let mut inputs = Vec::new();
    let mut artifacts = Vec::new();
    for item in items {
        match item {
            Value::String(path) => {
                local.push(path.clone());
                inputs.push(None);
            }
            Value::Mapping(map) => {
                let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
                let given = map.get("inputs");
                let keys = map.len() - usize::from(given.is_some());
                match (keys, text("local"), text("artifact"), text("job")) {
                    (1, Some(path), None, None) => {
                        local.push(path);
                        inputs.push(
                            given
                                .map(|given| json_inputs(&format!("{loc}:inputs"), given))
                                .transpose()?,
                        );
                    }
                    (2, None, Some(artifact), Some(job)) => {
                        artifacts.push(ArtifactInclude { job, artifact });
                    }
                    (_, None, Some(_), None) => {
                        return Err(invalid(format!(
                            "{loc} config must specify the job where to fetch the artifact from"
                        )));
                    }
                    _ => {
                        return Err(invalid(format!(
                            "{loc} config only supports local and artifact includes in child pipelines"
                        )));
                    }
                }
            }
            _ => {
                return Err(invalid(format!(
                    "{loc} config should be a hash or a string"
                )));
            }
        }
    }
    Ok(Includes {
        local,
        inputs,
        artifacts,
    })
}
