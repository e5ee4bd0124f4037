//! `parallel: N` and `parallel: {matrix: [...]}`: one job becomes N named instances.

use serde_norway::Value;

use crate::error::{Result, invalid};
use crate::value::{key_str, scalar_string};

/// One matrix hash: variable → values, in the order written.
pub(crate) type MatrixRow = Vec<(String, Vec<String>)>;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParallelSpec {
    Count(u32),
    Matrix(Vec<MatrixRow>),
}

/// One instance: its name suffix material and its variables.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Instance {
    pub name: String,
    pub index: u32,
    pub total: u32,
    pub variables: Vec<(String, String)>,
}

const MAX_INSTANCES: usize = 200;

pub(crate) fn parse(loc: &str, value: &Value, is_bridge: bool) -> Result<ParallelSpec> {
    match value {
        Value::Number(n) if !is_bridge => match n.as_u64() {
            Some(count @ 1..=200) => Ok(ParallelSpec::Count(count as u32)),
            _ => Err(invalid(format!(
                "{loc} config must be less than or equal to 200 and greater than or equal to 1"
            ))),
        },
        Value::Mapping(map) => {
            let Some(matrix) = map.get("matrix").filter(|_| map.len() == 1) else {
                return Err(invalid(format!(
                    "{loc} config contains unknown keys: {}",
                    map.keys()
                        .map(key_str)
                        .filter(|k| k != "matrix")
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            Ok(ParallelSpec::Matrix(limited_rows(
                &format!("{loc}:matrix"),
                matrix,
            )?))
        }
        _ => Err(invalid(format!("{loc} should be an integer or a hash"))),
    }
}

/// `needs: [{job: x, parallel: {matrix: [...]}}]`.
pub(crate) fn parse_matrix_selection(loc: &str, value: &Value) -> Result<Vec<MatrixRow>> {
    let matrix = value
        .as_mapping()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.get("matrix"))
        .ok_or_else(|| invalid(format!("{loc} config should be a hash with a matrix")))?;
    limited_rows(&format!("{loc}:matrix"), matrix)
}

/// Matrix rows whose expansion stays within GitLab's 200 instances.
fn limited_rows(loc: &str, value: &Value) -> Result<Vec<MatrixRow>> {
    let rows = matrix_rows(loc, value)?;
    let total = rows
        .iter()
        .map(row_size)
        .fold(0usize, usize::saturating_add);
    if total > MAX_INSTANCES {
        return Err(invalid(format!(
            "{loc} config generates too many jobs (maximum is {MAX_INSTANCES})"
        )));
    }
    Ok(rows)
}

fn matrix_rows(loc: &str, value: &Value) -> Result<Vec<MatrixRow>> {
    let items = value
        .as_sequence()
        .filter(|items| !items.is_empty())
        .ok_or_else(|| invalid(format!("{loc} config should be an array of hashes")))?;
    let mut rows = Vec::new();
    for item in items {
        let map = item
            .as_mapping()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| invalid(format!("{loc} config should be an array of hashes")))?;
        let mut row = Vec::new();
        for (key, values) in map {
            let values = match values {
                Value::Sequence(items) => items
                    .iter()
                    .map(scalar_string)
                    .collect::<Option<Vec<_>>>()
                    .filter(|v| !v.is_empty()),
                other => scalar_string(other).map(|v| vec![v]),
            }
            .ok_or_else(|| {
                invalid(format!(
                    "{loc}:variables config should be a hash of key value pairs, value can be an array"
                ))
            })?;
            row.push((key_str(key), values));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn row_size(row: &MatrixRow) -> usize {
    row.iter()
        .map(|(_, values)| values.len())
        .try_fold(1usize, |acc, n| acc.checked_mul(n))
        .unwrap_or(usize::MAX)
}

/// Every combination of one row, in written order (last key varies fastest).
fn combinations(row: &MatrixRow) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (key, values) in row {
        let mut next = Vec::with_capacity(out.len() * values.len());
        for prefix in &out {
            for value in values {
                let mut combo = prefix.clone();
                combo.push((key.clone(), value.clone()));
                next.push(combo);
            }
        }
        out = next;
    }
    out
}

/// `deploy: [aws, eu-west-1]`.
pub(crate) fn matrix_name(job: &str, combo: &[(String, String)]) -> String {
    let values: Vec<&str> = combo.iter().map(|(_, v)| v.as_str()).collect();
    format!("{job}: [{}]", values.join(", "))
}

pub(crate) fn instances(job: &str, spec: &ParallelSpec) -> Vec<Instance> {
    match spec {
        ParallelSpec::Count(total) => (1..=*total)
            .map(|index| Instance {
                name: format!("{job} {index}/{total}"),
                index,
                total: *total,
                variables: Vec::new(),
            })
            .collect(),
        ParallelSpec::Matrix(rows) => {
            let combos: Vec<_> = rows.iter().flat_map(combinations).collect();
            let total = combos.len() as u32;
            combos
                .into_iter()
                .zip(1..)
                .map(|(combo, index)| Instance {
                    name: matrix_name(job, &combo),
                    index,
                    total,
                    variables: combo,
                })
                .collect()
        }
    }
}

/// Names selected by a `needs:parallel:matrix` entry.
pub(crate) fn selected_names(job: &str, rows: &[MatrixRow]) -> Vec<String> {
    rows.iter()
        .flat_map(combinations)
        .map(|combo| matrix_name(job, &combo))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_gitlab() {
        let count = instances("rspec", &ParallelSpec::Count(3));
        let names: Vec<_> = count.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["rspec 1/3", "rspec 2/3", "rspec 3/3"]);

        let spec = ParallelSpec::Matrix(vec![
            vec![
                ("PROVIDER".into(), vec!["aws".into()]),
                ("STACK".into(), vec!["monitoring".into(), "app1".into()]),
            ],
            vec![("PROVIDER".into(), vec!["gcp".into()])],
        ]);
        let names: Vec<_> = instances("deploy", &spec)
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(
            names,
            [
                "deploy: [aws, monitoring]",
                "deploy: [aws, app1]",
                "deploy: [gcp]"
            ]
        );
    }
}
