//! `workflow:` (rules, name, auto_cancel).

use serde_norway::Value;

use crate::error::{Result, invalid};
use crate::model::AutoCancel;
use crate::rules::{self, Rule};
use crate::value::unknown_keys;

#[derive(Debug, Clone, Default)]
pub(crate) struct Workflow {
    pub rules: Option<Vec<Rule>>,
    pub name: Option<String>,
    pub auto_cancel: Option<AutoCancel>,
}

pub(crate) fn parse(value: &Value) -> Result<Workflow> {
    let map = match value {
        Value::Mapping(map) => map,
        Value::Null => return Ok(Workflow::default()),
        _ => return Err(invalid("workflow config should be a hash")),
    };
    let unknown = unknown_keys(map, &["rules", "name", "auto_cancel"]);
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "workflow config contains unknown keys: {}",
            unknown.join(", ")
        )));
    }
    let mut workflow = Workflow::default();
    if let Some(v) = map.get("rules") {
        workflow.rules = Some(rules::parse_workflow_rules("workflow:rules", v)?);
    }
    if let Some(v) = map.get("name") {
        let name = v
            .as_str()
            .ok_or_else(|| invalid("workflow:name config should be a string"))?;
        if name.chars().count() > 255 {
            return Err(invalid(
                "workflow:name config is too long (maximum is 255 characters)",
            ));
        }
        workflow.name = Some(name.to_owned());
    }
    if let Some(v) = map.get("auto_cancel") {
        workflow.auto_cancel = Some(auto_cancel("workflow:auto_cancel", v)?);
    }
    Ok(workflow)
}

pub(crate) fn auto_cancel(loc: &str, value: &Value) -> Result<AutoCancel> {
    let map = value
        .as_mapping()
        .ok_or_else(|| invalid(format!("{loc} config should be a hash")))?;
    let unknown = unknown_keys(map, &["on_new_commit", "on_job_failure"]);
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "{loc} config contains unknown keys: {}",
            unknown.join(", ")
        )));
    }
    let pick = |key: &str, allowed: &[&str]| -> Result<Option<String>> {
        match map.get(key) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                Some(s) if allowed.contains(&s) => Ok(Some(s.to_owned())),
                _ => Err(invalid(format!(
                    "{loc} {key} must be one of: {}",
                    allowed.join(", ")
                ))),
            },
        }
    };
    Ok(AutoCancel {
        on_new_commit: pick("on_new_commit", &["conservative", "interruptible", "none"])?,
        on_job_failure: pick("on_job_failure", &["none", "all"])?,
    })
}
