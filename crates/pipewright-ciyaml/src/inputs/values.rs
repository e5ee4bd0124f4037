//! Input values against their specification (GitLab's `Ci::PipelineCreation::Inputs`):
//! required inputs, types (with GitLab's coercion of JSON text), `options` and `regex`.

use serde_norway::{Mapping, Value};

use super::header::InputSpec;
use crate::value::key_str;

/// The value of every declared input (given, else its default), or GitLab's messages.
pub(crate) fn resolve(specs: &[InputSpec], args: &Mapping) -> Result<Mapping, Vec<String>> {
    let mut errors = Vec::new();
    let unknown: Vec<String> = args
        .keys()
        .map(key_str)
        .filter(|name| !specs.iter().any(|spec| spec.name == *name))
        .collect();
    if !unknown.is_empty() {
        errors.push(format!("unknown input arguments: {}", unknown.join(", ")));
    }
    let mut values = Mapping::new();
    for spec in specs {
        let given = args
            .iter()
            .find(|(key, _)| key_str(key) == spec.name)
            .map(|(_, value)| value)
            .filter(|value| !value.is_null());
        let mut check = Checker {
            spec,
            errors: &mut errors,
        };
        if spec.required() && given.is_none() {
            check.error("required value has not been provided");
            continue;
        }
        if let Some(default) = spec.default() {
            check.run(default, true);
        }
        let value = match given {
            Some(value) => {
                check.run(value, false);
                coerce(spec.kind(), value).unwrap_or_else(|| value.clone())
            }
            None => spec
                .default()
                .map(|default| coerce(spec.kind(), default).unwrap_or_else(|| default.clone()))
                .unwrap_or(Value::Null),
        };
        values.insert(Value::String(spec.name.clone()), value);
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// `value` as an input of type `kind`; `None` when it is not one. Like GitLab, text holding
/// JSON counts for numbers, booleans and arrays (`"2"`, `"true"`, `"[1, 2]"`), and scalars
/// count as strings.
fn coerce(kind: &str, value: &Value) -> Option<Value> {
    let parsed = || -> Option<Value> {
        let text = value.as_str()?;
        let json: serde_json::Value = serde_json::from_str(text).ok()?;
        serde_norway::to_value(json).ok()
    };
    let value = match (kind, value) {
        ("string", Value::String(_) | Value::Null) => value.clone(),
        ("string", Value::Number(n)) => Value::String(n.to_string()),
        ("string", Value::Bool(b)) => Value::String(b.to_string()),
        ("string", _) => return None,
        (_, Value::String(_)) => parsed()?,
        _ => value.clone(),
    };
    let fits = match kind {
        "number" => value.is_number(),
        "boolean" => value.is_bool(),
        "array" => value.is_sequence(),
        _ => true,
    };
    fits.then_some(value)
}

struct Checker<'a> {
    spec: &'a InputSpec,
    errors: &'a mut Vec<String>,
}

impl Checker<'_> {
    fn error(&mut self, message: impl std::fmt::Display) {
        self.errors
            .push(format!("`{}` input: {message}", self.spec.name));
    }

    /// GitLab's `run_validations`: type, then options, then regex.
    fn run(&mut self, raw: &Value, default: bool) {
        let which = if default { "default" } else { "provided" };
        let kind = self.spec.kind();
        let coerced = coerce(kind, raw);
        if coerced.is_none() {
            let article = if kind == "array" { "an" } else { "a" };
            self.error(format!("{which} value is not {article} {kind}"));
        }
        let value = coerced.unwrap_or_else(|| raw.clone());
        if let Some(options) = self.spec.options() {
            self.options(options, &value);
        }
        if self.spec.spec.contains_key("regex") {
            self.regex(&value, which);
        }
    }

    fn options(&mut self, options: &[Value], value: &Value) {
        if value.is_null() {
            return;
        }
        match self.spec.kind() {
            "string" => {
                let text = crate::value::scalar_string(value).unwrap_or_default();
                let allowed = options
                    .iter()
                    .any(|option| crate::value::scalar_string(option).as_deref() == Some(&text));
                if !allowed {
                    self.error(format!(
                        "`{text}` cannot be used because it is not in the list of allowed options"
                    ));
                }
            }
            "number" => {
                let same = |option: &Value| match (option.as_f64(), value.as_f64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => option == value,
                };
                if !options.iter().any(same) {
                    let text = crate::value::scalar_string(value).unwrap_or_default();
                    self.error(format!(
                        "`{text}` cannot be used because it is not in the list of the allowed options"
                    ));
                }
            }
            _ => self.error("Options can only be used with string and number inputs"),
        }
    }

    fn regex(&mut self, value: &Value, which: &str) {
        if self.spec.kind() != "string" {
            self.error("RegEx validation can only be used with string inputs");
            return;
        }
        let Some(text) = value.as_str() else {
            return;
        };
        // RE2 in GitLab: the `regex` crate has the same linear-time guarantees.
        let compiled = self.spec.regex().and_then(|pattern| {
            regex::RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .build()
                .ok()
        });
        match compiled {
            None => self.error("invalid regular expression"),
            Some(re) if !re.is_match(text) => {
                self.error(format!(
                    "{which} value does not match required RegEx pattern"
                ));
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_norway::{Mapping, Value};

    use super::resolve;
    use crate::inputs::header;

    fn run(spec: &str, args: &str) -> Result<Mapping, Vec<String>> {
        let header: Value = serde_norway::from_str(spec).unwrap_or_default();
        let specs = header::inputs(&header).unwrap_or_default();
        let args: Mapping = serde_norway::from_str(args).unwrap_or_default();
        resolve(&specs, &args)
    }

    #[test]
    fn defaults_fill_missing_inputs_and_json_text_is_coerced() {
        let values = run(
            "spec:\n  inputs:\n    a: {default: x}\n    n: {type: number}\n    b: {type: boolean}\n",
            "n: '3'\nb: 'true'\n",
        )
        .unwrap_or_default();
        assert_eq!(values.get("a"), Some(&Value::String("x".into())));
        assert_eq!(values.get("n"), Some(&Value::Number(3.into())));
        assert_eq!(values.get("b"), Some(&Value::Bool(true)));
    }

    #[test]
    fn errors_come_in_gitlab_order() {
        assert_eq!(
            run(
                "spec:\n  inputs:\n    a:\n    e: {options: [x, y]}\n    v: {regex: '^v\\d'}\n    n: {type: number}\n",
                "zz: 1\ne: z\nv: x1\nn: abc\n"
            ),
            Err(vec![
                "unknown input arguments: zz".to_owned(),
                "`a` input: required value has not been provided".to_owned(),
                "`e` input: `z` cannot be used because it is not in the list of allowed options"
                    .to_owned(),
                "`v` input: provided value does not match required RegEx pattern".to_owned(),
                "`n` input: provided value is not a number".to_owned(),
            ])
        );
    }
}
