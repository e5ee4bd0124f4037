//! The top-level mapping → stages, globals, workflow and validated jobs.

use serde_norway::{Mapping, Value};

use crate::defaults::Defaults;
use crate::error::{Result, invalid};
use crate::fields;
use crate::job::{self, JobSpec};
use crate::model::Variable;
use crate::value::key_str;
use crate::workflow::{self, Workflow};

/// Keys that are never jobs.
pub(crate) const RESERVED_KEYS: &[&str] = &[
    "stages",
    "types",
    "default",
    "variables",
    "workflow",
    "include",
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
    "spec",
];

pub(crate) const PRE: &str = ".pre";
pub(crate) const POST: &str = ".post";

#[derive(Debug)]
pub(crate) struct Config {
    /// Declared stages including `.pre` first and `.post` last.
    pub stages: Vec<String>,
    pub variables: Vec<Variable>,
    pub workflow: Workflow,
    pub jobs: Vec<JobSpec>,
}

pub(crate) fn parse(root: &Mapping) -> Result<Config> {
    let defaults = Defaults::parse(root)?;
    let variables = match root.get("variables") {
        Some(v) => fields::variables("variables", v, true)?,
        None => Vec::new(),
    };
    let stages = stages(root)?;
    let workflow = match root.get("workflow") {
        Some(v) => workflow::parse(v)?,
        None => Workflow::default(),
    };

    let mut jobs = Vec::new();
    for (key, value) in root {
        let name = key_str(key);
        if RESERVED_KEYS.contains(&name.as_str()) || name.starts_with('.') {
            continue;
        }
        if !job::looks_like_job(value)
            && value.as_mapping().is_some_and(|m| m.contains_key("needs"))
        {
            // GitLab reads a hash with `needs` but no `script` as a bridge.
            return Err(invalid(format!(
                "jobs:{name} config should contain either a trigger or a needs:pipeline"
            )));
        }
        if !job::looks_like_job(value) {
            return Err(invalid(format!(
                "jobs {name} config should implement the script:, run:, or trigger: keyword"
            )));
        }
        if let Value::Mapping(map) = value {
            jobs.push(job::parse(&name, map, &defaults, &variables)?);
        }
    }
    if jobs.is_empty() {
        return Err(invalid(
            "jobs config should contain at least one visible job",
        ));
    }
    Ok(Config {
        stages,
        variables,
        workflow,
        jobs,
    })
}

fn stages(root: &Mapping) -> Result<Vec<String>> {
    let declared = match root.get("stages").or_else(|| root.get("types")) {
        None | Some(Value::Null) => {
            vec!["build".to_owned(), "test".to_owned(), "deploy".to_owned()]
        }
        Some(value) => flatten_stages(value)
            .ok_or_else(|| invalid("stages config should be an array of strings"))?,
    };
    let mut stages = vec![PRE.to_owned()];
    for stage in declared {
        if stage != PRE && stage != POST && !stages.contains(&stage) {
            stages.push(stage);
        }
    }
    stages.push(POST.to_owned());
    Ok(stages)
}

/// Stages may be nested lists (e.g. from `!reference`); flattened in order.
fn flatten_stages(value: &Value) -> Option<Vec<String>> {
    fn walk(value: &Value, depth: usize, out: &mut Vec<String>) -> bool {
        match value {
            Value::String(s) => {
                out.push(s.clone());
                true
            }
            Value::Sequence(items) if depth < 10 => items.iter().all(|i| walk(i, depth + 1, out)),
            _ => false,
        }
    }
    let items = value.as_sequence()?;
    let mut out = Vec::new();
    items
        .iter()
        .all(|item| walk(item, 1, &mut out))
        .then_some(out)
}
