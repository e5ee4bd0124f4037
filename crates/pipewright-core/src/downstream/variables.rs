//! Variables a bridge passes to its downstream pipeline (`trigger:forward`, GitLab's
//! `Gitlab::Ci::Variables::Downstream::Generator`).

use std::collections::HashMap;

use pipewright_ciyaml::{Forward, Variable};
use pipewright_store::model::PipelineVariable;

/// The downstream pipeline's variables: the bridge's YAML variables (unless
/// `forward:yaml_variables: false`), then the upstream pipeline's variables (only with
/// `forward:pipeline_variables: true`). A later entry with the same key wins. Values are
/// expanded once against `context` (the bridge's own variables, `CI_*` included), so
/// `PARENT_ID: $CI_PIPELINE_ID` reaches the downstream pipeline as the upstream's id;
/// `expand: false` values pass through untouched.
pub(super) fn downstream_variables(
    forward: Forward,
    yaml: &[Variable],
    pipeline: &[PipelineVariable],
    context: &HashMap<String, String>,
) -> Vec<PipelineVariable> {
    let mut out: Vec<PipelineVariable> = Vec::new();
    let mut put = |key: &str, value: String| {
        let variable = PipelineVariable {
            key: key.to_owned(),
            value,
            variable_type: "env_var".to_owned(),
        };
        match out.iter_mut().find(|existing| existing.key == key) {
            Some(existing) => *existing = variable,
            None => out.push(variable),
        }
    };
    if forward.yaml_variables {
        for variable in yaml {
            let value = if variable.raw {
                variable.value.clone()
            } else {
                expand(&variable.value, context)
            };
            put(&variable.key, value);
        }
    }
    if forward.pipeline_variables {
        for variable in pipeline {
            put(&variable.key, expand(&variable.value, context));
        }
    }
    out
}

/// `$NAME` / `${NAME}` replaced by its value (a name starts with a letter or `_`); unknown
/// names expand to nothing and `$$` stays as it is for the runner, as GitLab's
/// `ExpandVariables.expand` does.
pub(super) fn expand(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push_str("$$");
            rest = tail;
            continue;
        }
        let (braced, body) = match after.strip_prefix('{') {
            Some(body) => (true, body),
            None => (false, after),
        };
        let starts_name = body
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let name_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let closed = !braced || body[name_len..].starts_with('}');
        if !starts_name || !closed {
            out.push('$');
            rest = after;
            continue;
        }
        if let Some(value) = vars.get(&body[..name_len]) {
            out.push_str(value);
        }
        rest = &body[name_len + usize::from(braced)..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(key: &str, value: &str, raw: bool) -> Variable {
        Variable {
            key: key.into(),
            value: value.into(),
            raw,
        }
    }

    fn pipeline_var(key: &str, value: &str) -> PipelineVariable {
        PipelineVariable {
            key: key.into(),
            value: value.into(),
            variable_type: "env_var".into(),
        }
    }

    fn context() -> HashMap<String, String> {
        HashMap::from([
            ("CI_PIPELINE_ID".to_owned(), "7".to_owned()),
            ("NAME".to_owned(), "world".to_owned()),
        ])
    }

    fn pairs(variables: &[PipelineVariable]) -> Vec<(&str, &str)> {
        variables
            .iter()
            .map(|v| (v.key.as_str(), v.value.as_str()))
            .collect()
    }

    #[test]
    fn expansion_follows_gitlab() {
        let vars = context();
        assert_eq!(expand("id=$CI_PIPELINE_ID", &vars), "id=7");
        assert_eq!(expand("${NAME}!", &vars), "world!");
        assert_eq!(expand("$UNKNOWN-x", &vars), "-x");
        assert_eq!(
            expand("cost $5 and ${unclosed", &vars),
            "cost $5 and ${unclosed"
        );
        assert_eq!(expand("trailing $", &vars), "trailing $");
        assert_eq!(expand("$$NAME ${}", &vars), "$$NAME ${}");
        assert_eq!(expand("héllo $NAME ü", &vars), "héllo world ü");
    }

    #[test]
    fn yaml_variables_are_forwarded_by_default_and_expanded() {
        let forward = Forward {
            yaml_variables: true,
            pipeline_variables: false,
        };
        let out = downstream_variables(
            forward,
            &[
                yaml("PARENT", "$CI_PIPELINE_ID", false),
                yaml("RAW", "$CI_PIPELINE_ID", true),
            ],
            &[pipeline_var("FROM_API", "x")],
            &context(),
        );
        assert_eq!(pairs(&out), [("PARENT", "7"), ("RAW", "$CI_PIPELINE_ID")]);
    }

    #[test]
    fn pipeline_variables_win_when_forwarded() {
        let forward = Forward {
            yaml_variables: true,
            pipeline_variables: true,
        };
        let out = downstream_variables(
            forward,
            &[yaml("A", "yaml", false), yaml("B", "yaml", false)],
            &[pipeline_var("A", "api")],
            &context(),
        );
        assert_eq!(pairs(&out), [("A", "api"), ("B", "yaml")]);
    }

    #[test]
    fn nothing_is_forwarded_when_both_are_off() {
        let forward = Forward {
            yaml_variables: false,
            pipeline_variables: false,
        };
        let out = downstream_variables(
            forward,
            &[yaml("A", "1", false)],
            &[pipeline_var("B", "2")],
            &context(),
        );
        assert!(out.is_empty());
    }
}
