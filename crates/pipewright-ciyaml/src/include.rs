//! `include:` (local files only, via `FileSource`): included files are deep-merged in order
//! into an empty document, then the including file on top.

use std::collections::HashMap;

use pipewright_domain::When;
use serde_norway::{Mapping, Value};

use crate::error::{Result, invalid};
use crate::glob::Glob;
use crate::load;
use crate::rules::{self, Context};
use crate::value::{deep_merge, unknown_keys};

const MAX_INCLUDES: usize = 150;
const MAX_DEPTH: usize = 100;

pub(crate) struct Includer<'a> {
    ctx: &'a Context<'a>,
    vars: &'a HashMap<String, String>,
    count: usize,
}

impl<'a> Includer<'a> {
    pub(crate) fn new(ctx: &'a Context<'a>, vars: &'a HashMap<String, String>) -> Self {
        Includer {
            ctx,
            vars,
            count: 0,
        }
    }

    /// Replaces `root` by its includes merged under it.
    pub(crate) fn resolve(&mut self, root: Mapping, depth: usize) -> Result<Mapping> {
        let mut root = root;
        // `shift_remove`: the other keys keep their order (`merged_yaml`).
        let Some(include) = root.shift_remove("include") else {
            return Ok(root);
        };
        if depth >= MAX_DEPTH {
            return Err(invalid(format!(
                "Maximum of {MAX_DEPTH} nested includes are allowed!"
            )));
        }
        let mut merged = Value::Mapping(Mapping::new());
        for path in self.locations(&include)? {
            self.count += 1;
            if self.count > MAX_INCLUDES {
                return Err(invalid(format!(
                    "Maximum of {MAX_INCLUDES} nested includes are allowed!"
                )));
            }
            let content = self
                .ctx
                .files
                .read(&path)
                .ok_or_else(|| invalid(format!("Local file `{path}` does not exist!")))?;
            if content.trim().is_empty() {
                return Err(invalid(format!("Local file `{path}` is empty!")));
            }
            let file = load::load(&content).map_err(|_| {
                invalid(format!(
                    "Included file `{path}` does not have valid YAML syntax!"
                ))
            })?;
            let file = self.resolve(file, depth + 1)?;
            deep_merge(&mut merged, Value::Mapping(file));
        }
        deep_merge(&mut merged, Value::Mapping(root));
        match merged {
            Value::Mapping(map) => Ok(map),
            _ => Err(invalid("Invalid configuration format")),
        }
    }

    /// Local paths of one `include:` value (globs expanded), in order.
    fn locations(&self, include: &Value) -> Result<Vec<String>> {
        let items: Vec<&Value> = match include {
            Value::Sequence(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            let location = match item {
                Value::String(s) if is_remote(s) => {
                    return Err(invalid(format!(
                        "Remote file `{s}` could not be included: remote includes are not supported"
                    )));
                }
                Value::String(s) => s.clone(),
                Value::Mapping(map) => match self.local_of(map)? {
                    Some(path) => path,
                    None => continue,
                },
                _ => {
                    return Err(invalid(
                        "include config should be a hash, a string or an array of hashes and strings",
                    ));
                }
            };
            let location = location.trim_start_matches('/').to_owned();
            if location.contains('*') {
                let glob = Glob::new(&location)
                    .ok_or_else(|| invalid(format!("Local file `{location}` does not exist!")))?;
                let mut found: Vec<String> = self
                    .ctx
                    .tree()
                    .iter()
                    .map(|p| p.trim_start_matches('/').to_owned())
                    .filter(|p| glob.matches(p) && has_yaml_extension(p))
                    .collect();
                found.sort();
                out.extend(found);
                continue;
            }
            if !has_yaml_extension(&location) {
                return Err(invalid(format!(
                    "Included file `{location}` does not have YAML extension!"
                )));
            }
            out.push(location);
        }
        Ok(out)
    }

    /// `{local: path, rules: [...]}`; `None` when its rules exclude it.
    fn local_of(&self, map: &Mapping) -> Result<Option<String>> {
        let accessors = [
            "local",
            "file",
            "remote",
            "template",
            "project",
            "component",
            "artifact",
        ];
        let present: Vec<&str> = accessors
            .iter()
            .copied()
            .filter(|k| map.contains_key(*k))
            .collect();
        let unknown = unknown_keys(
            map,
            &[
                "local",
                "file",
                "remote",
                "template",
                "project",
                "component",
                "artifact",
                "job",
                "ref",
                "rules",
                "inputs",
                "cache",
                "integrity",
            ],
        );
        let shown = crate::value::to_json(&Value::Mapping(map.clone()));
        if !unknown.is_empty() || present.is_empty() {
            return Err(invalid(format!(
                "Include `{shown}` needs to match exactly one accessor!"
            )));
        }
        let Some(local) = map.get("local") else {
            return Err(invalid(format!(
                "Include `{shown}` is not supported: only local includes are"
            )));
        };
        if present.len() > 1 {
            return Err(invalid(format!(
                "Include `{shown}` needs to match exactly one accessor!"
            )));
        }
        let local = local.as_str().ok_or_else(|| {
            invalid(format!(
                "Include `{shown}` needs to match exactly one accessor!"
            ))
        })?;
        if let Some(rules) = map.get("rules") {
            let rules = rules::parse_include_rules("include:rules", rules)?;
            match rules::first_match(&rules, self.vars, self.ctx)? {
                Some(rule) if rule.when != Some(When::Never) => {}
                _ => return Ok(None),
            }
        }
        Ok(Some(local.to_owned()))
    }
}

fn is_remote(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

fn has_yaml_extension(path: &str) -> bool {
    path.ends_with(".yml") || path.ends_with(".yaml")
}
