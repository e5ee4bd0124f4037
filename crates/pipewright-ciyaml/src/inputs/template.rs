//! `$[[ inputs.x | fn ]]` blocks replaced in every key and string value of a document
//! (GitLab's `Interpolation::Template`). A string that is exactly one block takes the input's
//! typed value (a number, a boolean, an array); blocks inside longer strings become text.
//! The first invalid block stops the walk and its messages are the error.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_norway::{Mapping, Value};

use super::functions::Function;

const MAX_NODES: usize = 500_000;
const MAX_NODE_BYTES: usize = 1024 * 1024;
const MAX_BLOCKS: usize = 10_000;
const MAX_FUNCTIONS: usize = 3;
const MAX_ACCESS_OBJECTS: usize = 5;
const MAX_ACCESS_BYTES: usize = 1024;

static BLOCK: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\$\[\[\s*(?P<data>\S.*?\S)\s*\]\]").ok());

/// What blocks can read: `inputs.<name>`, and the variables `expand_vars` may use.
pub(crate) struct Context<'a> {
    pub(crate) inputs: &'a Mapping,
    pub(crate) variables: &'a HashMap<String, String>,
}

pub(crate) fn interpolate(content: Value, ctx: &Context<'_>) -> Result<Value, Vec<String>> {
    let mut walker = Walker {
        ctx,
        visited: 0,
        blocks: HashMap::new(),
    };
    walker.walk(content)
}

struct Walker<'a> {
    ctx: &'a Context<'a>,
    visited: usize,
    blocks: HashMap<String, Result<Value, Vec<String>>>,
}

impl Walker<'_> {
    fn walk(&mut self, value: Value) -> Result<Value, Vec<String>> {
        self.visited += 1;
        if self.visited > MAX_NODES {
            return Err(vec!["config too large".to_owned()]);
        }
        match value {
            Value::Mapping(map) => {
                let mut out = Mapping::with_capacity(map.len());
                for (key, value) in map {
                    let key = self.walk(key)?;
                    let value = self.walk(value)?;
                    out.insert(key, value);
                }
                Ok(Value::Mapping(out))
            }
            Value::Sequence(items) => items
                .into_iter()
                .map(|item| self.walk(item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Sequence),
            Value::String(text) => self.string(text),
            // `!reference` and other tagged values are not interpolated (not strings in GitLab).
            other => Ok(other),
        }
    }

    fn string(&mut self, text: String) -> Result<Value, Vec<String>> {
        if text.len() > MAX_NODE_BYTES {
            return Err(vec!["config node too large".to_owned()]);
        }
        let Some(pattern) = BLOCK.as_ref() else {
            return Ok(Value::String(text));
        };
        if !text.contains("$[[") {
            return Ok(Value::String(text));
        }
        let found: Vec<(String, String)> = pattern
            .captures_iter(&text)
            .filter_map(|caps| {
                let whole = caps.get(0)?.as_str().to_owned();
                let data = caps.name("data")?.as_str().to_owned();
                Some((whole, data))
            })
            .collect();
        if found.is_empty() {
            return Ok(Value::String(text));
        }
        let mut values = Vec::with_capacity(found.len());
        for (block, data) in &found {
            if !self.blocks.contains_key(block) {
                let value = evaluate(block, data, self.ctx);
                self.blocks.insert(block.clone(), value);
            }
            if self.blocks.len() > MAX_BLOCKS {
                return Err(vec!["too many interpolation blocks".to_owned()]);
            }
            match self.blocks.get(block) {
                Some(Ok(value)) => values.push((block, value.clone())),
                Some(Err(errors)) => return Err(errors.clone()),
                None => return Ok(Value::String(text)),
            }
        }
        if let [(block, value)] = values.as_slice()
            && **block == text
        {
            return Ok(value.clone());
        }
        let mut out = text.clone();
        for (block, value) in values {
            out = out.replace(block.as_str(), &ruby_to_s(&value));
        }
        Ok(Value::String(out))
    }
}

/// One block: `<access> | <function> | ...`.
fn evaluate(block: &str, data: &str, ctx: &Context<'_>) -> Result<Value, Vec<String>> {
    let mut parts = data.split('|').map(str::trim);
    let access = parts.next().unwrap_or_default();
    let functions: Vec<&str> = parts.collect();
    // `matrix.*` blocks belong to `needs:parallel:matrix`, resolved later by GitLab.
    if access.split('.').next() == Some("matrix") {
        return Ok(Value::String(block.to_owned()));
    }
    let mut value = access_value(access, ctx)?;
    if functions.len() > MAX_FUNCTIONS {
        return Err(vec!["too many functions in interpolation block".to_owned()]);
    }
    let (stack, errors): (Vec<_>, Vec<_>) = functions
        .iter()
        .map(|expression| Function::parse(expression))
        .partition(Result::is_ok);
    if !errors.is_empty() {
        return Err(errors.into_iter().filter_map(Result::err).collect());
    }
    for function in stack.into_iter().flatten() {
        value = function.apply(value, ctx.variables).map_err(|e| vec![e])?;
    }
    Ok(value)
}

/// `inputs.name` (up to five dot-separated objects) in the context.
fn access_value(access: &str, ctx: &Context<'_>) -> Result<Value, Vec<String>> {
    let objects: Vec<&str> = access.splitn(MAX_ACCESS_OBJECTS, '.').collect();
    let mut errors = Vec::new();
    if objects.len() <= 1 {
        errors.push("invalid interpolation access pattern".to_owned());
    }
    if access.len() > MAX_ACCESS_BYTES {
        errors.push("maximum interpolation expression size exceeded".to_owned());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut root = Mapping::new();
    root.insert(
        Value::String("inputs".to_owned()),
        Value::Mapping(ctx.inputs.clone()),
    );
    let mut current = Value::Mapping(root);
    for object in objects {
        let next = current
            .as_mapping()
            .and_then(|map| map.get(object))
            .cloned();
        match next {
            Some(next) => current = next,
            None => return Err(vec![format!("unknown interpolation key: `{object}`")]),
        }
    }
    Ok(current)
}

/// Ruby's `to_s` of an input value placed inside a longer string.
fn ruby_to_s(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => ruby_inspect(other),
    }
}

/// Ruby's `inspect` (arrays and hashes inside strings show this way).
fn ruby_inspect(value: &Value) -> String {
    match value {
        Value::Null => "nil".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().map(ruby_inspect).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Mapping(map) => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}=>{}", ruby_inspect(k), ruby_inspect(v)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
        Value::Tagged(tagged) => ruby_inspect(&tagged.value),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_norway::{Mapping, Value};

    use super::{Context, interpolate};

    fn run(content: &str) -> Result<Value, Vec<String>> {
        let inputs: Mapping =
            serde_norway::from_str("env: prod\nn: 3\nlist: [a, b]\n").unwrap_or_default();
        let variables = HashMap::new();
        let ctx = Context {
            inputs: &inputs,
            variables: &variables,
        };
        interpolate(serde_norway::from_str(content).unwrap_or_default(), &ctx)
    }

    fn yaml(text: &str) -> Value {
        serde_norway::from_str(text).unwrap_or_default()
    }

    #[test]
    fn whole_values_keep_their_type_and_strings_get_text() {
        assert_eq!(
            run(
                "deploy-$[[ inputs.env ]]:\n  parallel: $[[ inputs.n ]]\n  needs: $[[ inputs.list ]]\n  script: echo $[[ inputs.list ]] $[[inputs.n]]\n"
            ),
            Ok(yaml(
                "deploy-prod:\n  parallel: 3\n  needs: [a, b]\n  script: echo [\"a\", \"b\"] 3\n"
            ))
        );
    }

    #[test]
    fn access_errors_use_gitlab_messages() {
        assert_eq!(
            run("a: $[[ inputs.nope ]]\n"),
            Err(vec!["unknown interpolation key: `nope`".to_owned()])
        );
        assert_eq!(
            run("a: $[[ env ]]\n"),
            Err(vec!["invalid interpolation access pattern".to_owned()])
        );
        assert_eq!(
            run("a: $[[ inputs.env | a | b | c | d ]]\n"),
            Err(vec!["too many functions in interpolation block".to_owned()])
        );
        assert_eq!(
            run("a: $[[ matrix.os ]]\n"),
            Ok(yaml("a: $[[ matrix.os ]]\n"))
        );
    }
}
