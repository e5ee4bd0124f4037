//! `needs:` entries as written (names, hashes, `parallel:matrix` selections).

use serde_norway::Value;

use crate::error::{Result, invalid};
use crate::parallel::{self, MatrixRow};
use crate::value::unknown_keys;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NeedSpec {
    pub job: String,
    pub artifacts: bool,
    pub optional: bool,
    /// `parallel: {matrix: [...]}`: only these instances of a matrix job.
    pub matrix: Option<Vec<MatrixRow>>,
}

pub(crate) fn parse(loc: &str, value: &Value) -> Result<Vec<NeedSpec>> {
    let items = value
        .as_sequence()
        .ok_or_else(|| invalid(format!("{loc} config can only be a string or a hash")))?;
    let mut out = Vec::new();
    for item in items {
        match item {
            // `!reference` to another job's needs nests a list.
            Value::Sequence(inner) => {
                for need in inner {
                    out.push(parse_one(loc, need)?);
                }
            }
            _ => out.push(parse_one(loc, item)?),
        }
    }
    Ok(out)
}

fn parse_one(loc: &str, value: &Value) -> Result<NeedSpec> {
    match value {
        Value::String(job) => Ok(NeedSpec {
            job: job.clone(),
            artifacts: true,
            optional: false,
            matrix: None,
        }),
        Value::Mapping(map) => {
            let need_loc = format!("{loc}:need");
            if map.contains_key("pipeline") || map.contains_key("project") {
                return Err(invalid(format!(
                    "{need_loc} config uses cross-pipeline needs, which are not supported"
                )));
            }
            let unknown = unknown_keys(map, &["job", "artifacts", "optional", "parallel"]);
            if !unknown.is_empty() {
                return Err(invalid(format!(
                    "{need_loc} config contains unknown keys: {}",
                    unknown.join(", ")
                )));
            }
            let job = map
                .get("job")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{need_loc} job should be a string")))?;
            let flag = |key: &str, default: bool| -> Result<bool> {
                match map.get(key) {
                    None => Ok(default),
                    Some(v) => v.as_bool().ok_or_else(|| {
                        invalid(format!("{need_loc} {key} should be a boolean value"))
                    }),
                }
            };
            let matrix = match map.get("parallel") {
                None => None,
                Some(p) => Some(parallel::parse_matrix_selection(
                    &format!("{need_loc}:parallel"),
                    p,
                )?),
            };
            Ok(NeedSpec {
                job: job.to_owned(),
                artifacts: flag("artifacts", true)?,
                optional: flag("optional", false)?,
                matrix,
            })
        }
        _ => Err(invalid(format!(
            "{loc} config can only be a string or a hash"
        ))),
    }
}
