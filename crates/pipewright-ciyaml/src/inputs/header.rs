//! The `spec:` header document (GitLab's `Config::Header::Root`): which inputs a file takes.
//! Errors are spelled like GitLab's config entries (`header:spec:inputs:env config contains
//! unknown keys: x`).

use serde_norway::{Mapping, Value};

use crate::value::{key_str, unknown_keys};

/// The input types GitLab knows, in the order its messages list them.
pub(crate) const TYPES: [&str; 4] = ["array", "boolean", "number", "string"];
const INPUT_KEYS: [&str; 5] = ["default", "description", "options", "regex", "type"];
const MAX_OPTIONS: usize = 50;

/// One declared input: its name and its (possibly empty) specification.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InputSpec {
    pub(crate) name: String,
    pub(crate) spec: Mapping,
}

impl InputSpec {
    pub(crate) fn kind(&self) -> &str {
        self.spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("string")
    }

    /// No `default` key: the input must be given.
    pub(crate) fn required(&self) -> bool {
        !self.spec.contains_key("default")
    }

    pub(crate) fn default(&self) -> Option<&Value> {
        self.spec.get("default")
    }

    pub(crate) fn options(&self) -> Option<&Vec<Value>> {
        self.spec.get("options").and_then(Value::as_sequence)
    }

    pub(crate) fn regex(&self) -> Option<&str> {
        self.spec.get("regex").and_then(Value::as_str)
    }
}

/// The header's inputs, or every message its validation produced.
pub(crate) fn inputs(header: &Value) -> Result<Vec<InputSpec>, Vec<String>> {
    let Value::Mapping(root) = header else {
        return Err(vec!["header config should be a hash".to_owned()]);
    };
    let unknown = unknown_keys(root, &["spec"]);
    if !unknown.is_empty() {
        return Err(vec![format!(
            "header config contains unknown keys: {}",
            unknown.join(", ")
        )]);
    }
    let spec = match root.get("spec") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Mapping(spec)) => spec,
        Some(_) => return Err(vec!["header:spec config should be a hash".to_owned()]),
    };
    let unknown = unknown_keys(spec, &["inputs"]);
    if !unknown.is_empty() {
        return Err(vec![format!(
            "header:spec config contains unknown keys: {}",
            unknown.join(", ")
        )]);
    }
    let inputs = match spec.get("inputs") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Mapping(inputs)) => inputs,
        Some(_) => {
            return Err(vec![
                "header:spec:inputs config should be a hash".to_owned(),
            ]);
        }
    };
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(inputs.len());
    for (name, spec) in inputs {
        let name = key_str(name);
        match input(&name, spec) {
            Ok(spec) => out.push(InputSpec { name, spec }),
            Err(mut messages) => errors.append(&mut messages),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// GitLab's `Header::Input` validations for one input.
fn input(name: &str, spec: &Value) -> Result<Mapping, Vec<String>> {
    let location = format!("header:spec:inputs:{name}");
    let spec = match spec {
        // `website:` alone is the minimal (required string) input.
        Value::Null => return Ok(Mapping::new()),
        Value::Mapping(spec) => spec,
        _ => return Err(vec![format!("{location} config should be a hash")]),
    };
    let mut errors = Vec::new();
    let unknown = unknown_keys(spec, &INPUT_KEYS);
    if !unknown.is_empty() {
        errors.push(format!(
            "{location} config contains unknown keys: {}",
            unknown.join(", ")
        ));
    }
    if let Some(description) = spec.get("description")
        && !matches!(description, Value::Null | Value::String(_))
        && description.as_i64().is_none()
    {
        errors.push(format!(
            "{location} input description must be an alphanumeric string"
        ));
    }
    if let Some(regex) = spec.get("regex")
        && !matches!(regex, Value::Null | Value::String(_))
    {
        errors.push(format!("{location} input regex should be a string"));
    }
    if let Some(kind) = spec.get("type")
        && !kind.is_null()
    {
        let text = crate::value::scalar_string(kind).unwrap_or_default();
        if !TYPES.contains(&text.as_str()) || !kind.is_string() {
            errors.push(format!("{location} input type unknown value: {text}"));
        }
    }
    match spec.get("options") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(options)) if options.len() > MAX_OPTIONS => errors.push(format!(
            "{location} config cannot define more than {MAX_OPTIONS} options"
        )),
        Some(Value::Sequence(_)) => {}
        Some(_) => errors.push(format!("{location} input options should be an array")),
    }
    if errors.is_empty() {
        Ok(spec.clone())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::inputs;

    fn header(text: &str) -> Result<Vec<String>, Vec<String>> {
        let value: serde_norway::Value = serde_norway::from_str(text).unwrap_or_default();
        inputs(&value).map(|specs| specs.into_iter().map(|s| s.name).collect())
    }

    #[test]
    fn minimal_and_full_inputs_are_accepted() {
        assert_eq!(
            header("spec:\n  inputs:\n    a:\n    b: {default: x, type: string, options: [x]}\n"),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn validation_messages_name_the_entry() {
        assert_eq!(
            header("spec:\n  inputs:\n    a: {typo: 1, type: text}\n"),
            Err(vec![
                "header:spec:inputs:a config contains unknown keys: typo".to_owned(),
                "header:spec:inputs:a input type unknown value: text".to_owned(),
            ])
        );
        assert_eq!(
            header("spec:\n  other: 1\n"),
            Err(vec![
                "header:spec config contains unknown keys: other".to_owned()
            ])
        );
    }
}
