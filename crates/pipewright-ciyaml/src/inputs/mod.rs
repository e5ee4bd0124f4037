//! CI/CD inputs: a file's `spec:inputs` header, the values given to it (`include:inputs`,
//! pipeline inputs) and `$[[ inputs.x ]]` interpolation of the file, as GitLab's
//! `Interpolation::Interpolator` does it before the file is merged anywhere.

mod functions;
mod header;
mod template;
mod values;

use std::collections::HashMap;

use serde_norway::{Mapping, Value};

/// GitLab surfaces at most three interpolation messages, joined.
const MAX_MESSAGES: usize = 3;

/// The file's content with its inputs interpolated; the error is GitLab's message (callers
/// prefix it with the file's location when the file was included).
pub(crate) fn interpolate(
    header: Option<&Value>,
    content: Value,
    args: &Mapping,
    variables: &HashMap<String, String>,
) -> Result<Value, String> {
    let Some(header) = header else {
        if !args.is_empty() {
            return Err(
                "Given inputs not defined in the `spec` section of the included configuration file"
                    .to_owned(),
            );
        }
        return Ok(content);
    };
    let specs = header::inputs(header).map_err(joined)?;
    let values = values::resolve(&specs, args).map_err(joined)?;
    let ctx = template::Context {
        inputs: &values,
        variables,
    };
    template::interpolate(content, &ctx).map_err(joined)
}

fn joined(errors: Vec<String>) -> String {
    errors
        .into_iter()
        .take(MAX_MESSAGES)
        .collect::<Vec<_>>()
        .join(", ")
}

/// GitLab's `Ci::PipelineCreation::Inputs.parse_params`: pipeline inputs sent as text (form
/// fields, push options) that hold JSON become numbers, booleans or arrays.
pub fn parse_input_params(
    params: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    params
        .iter()
        .map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(text) => {
                    serde_json::from_str(text).unwrap_or_else(|_| value.clone())
                }
                other => other.clone(),
            };
            (key.clone(), value)
        })
        .collect()
}

/// Pipeline inputs (JSON values) as the mapping interpolation reads.
pub(crate) fn args_of(inputs: &serde_json::Map<String, serde_json::Value>) -> Mapping {
    inputs
        .iter()
        .filter_map(|(key, value)| {
            let value = serde_norway::to_value(value).ok()?;
            Some((Value::String(key.clone()), value))
        })
        .collect()
}
