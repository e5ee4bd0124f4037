//! `rules:` of jobs, `workflow:` and `include:`: parsing and first-match evaluation.

mod expr;
mod lexer;

use std::cell::OnceCell;
use std::collections::HashMap;

use pipewright_domain::When;
use serde_norway::Value;

use crate::duration;
use crate::error::{Result, invalid};
use crate::expand::expand;
use crate::fields;
use crate::glob;
use crate::model::Variable;
use crate::needs::{self, NeedSpec};
use crate::value::{string_array, unknown_keys};
use crate::{FileSource, ProjectPaths};

pub(crate) use expr::{Expr, regex_literal_match};

/// Parses an `if:` expression, `None` on a syntax error.
pub(crate) fn parse_expr(text: &str) -> Option<Expr> {
    expr::parse(text)
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Rule {
    pub if_expr: Option<Expr>,
    pub changes: Option<Changes>,
    pub exists: Option<Exists>,
    pub when: Option<When>,
    pub allow_failure: Option<bool>,
    pub start_in: Option<(String, u64)>,
    pub variables: Vec<Variable>,
    pub needs: Option<Vec<NeedSpec>>,
    pub interruptible: Option<bool>,
    /// `workflow:rules` only: `auto_cancel` of the matching rule (passed through).
    pub auto_cancel: Option<crate::model::AutoCancel>,
}

/// `changes:` of a rule: globs, and the ref to diff against instead of the push's base.
#[derive(Debug, Clone, Default)]
pub(crate) struct Changes {
    pub paths: Vec<String>,
    pub compare_to: Option<String>,
}

/// `exists:` of a rule: globs, searched in another project (at a ref) when `project` is set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Exists {
    pub paths: Vec<String>,
    pub project: Option<String>,
    pub rev: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Job,
    Workflow,
    Include,
}

pub(crate) fn parse_job_rules(loc: &str, value: &Value) -> Result<Vec<Rule>> {
    parse_rules(loc, value, Kind::Job)
}

pub(crate) fn parse_workflow_rules(loc: &str, value: &Value) -> Result<Vec<Rule>> {
    parse_rules(loc, value, Kind::Workflow)
}

pub(crate) fn parse_include_rules(loc: &str, value: &Value) -> Result<Vec<Rule>> {
    parse_rules(loc, value, Kind::Include)
}

fn parse_rules(loc: &str, value: &Value, kind: Kind) -> Result<Vec<Rule>> {
    let items = match value {
        Value::Sequence(items) => items,
        Value::Null => return Ok(Vec::new()),
        _ => {
            return Err(invalid(format!(
                "{loc} config should be an array of hashes"
            )));
        }
    };
    let mut rules = Vec::new();
    flatten_rules(&format!("{loc}:rule"), items, kind, 0, &mut rules)?;
    Ok(rules)
}

/// Rules may nest lists (from `!reference`) up to 10 levels; they are flattened.
fn flatten_rules(
    loc: &str,
    items: &[Value],
    kind: Kind,
    depth: usize,
    out: &mut Vec<Rule>,
) -> Result<()> {
    for item in items {
        match item {
            Value::Sequence(inner) if depth < 10 => {
                flatten_rules(loc, inner, kind, depth + 1, out)?
            }
            _ => out.push(parse_rule(loc, item, kind)?),
        }
    }
    Ok(())
}

fn parse_rule(loc: &str, value: &Value, kind: Kind) -> Result<Rule> {
    let map = value
        .as_mapping()
        .ok_or_else(|| invalid(format!("{loc} config should be a hash")))?;
    let allowed: &[&str] = match kind {
        Kind::Job => &[
            "if",
            "changes",
            "exists",
            "when",
            "start_in",
            "allow_failure",
            "variables",
            "needs",
            "interruptible",
        ],
        Kind::Workflow => &[
            "if",
            "changes",
            "exists",
            "when",
            "variables",
            "auto_cancel",
        ],
        Kind::Include => &["if", "changes", "exists", "when"],
    };
    let unknown = unknown_keys(map, allowed);
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "{loc} config contains unknown keys: {}",
            unknown.join(", ")
        )));
    }
    let mut rule = Rule::default();
    if let Some(v) = map.get("if") {
        let text = v
            .as_str()
            .ok_or_else(|| invalid(format!("{loc} if should be a string")))?;
        rule.if_expr = Some(
            parse_expr(text)
                .ok_or_else(|| invalid(format!("{loc} if invalid expression syntax")))?,
        );
    }
    if let Some(v) = map.get("changes") {
        let loc = format!("{loc}:changes");
        let compare_to = match v.get("compare_to") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid(format!("{loc} compare to should be a string"))),
        };
        rule.changes = Some(Changes {
            paths: paths_clause(&loc, v, &["paths", "compare_to"])?,
            compare_to,
        });
    }
    if let Some(v) = map.get("exists") {
        let loc = format!("{loc}:exists");
        let text = |key: &str| -> Result<Option<String>> {
            match v.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(format!("{loc} {key} should be a string"))),
            }
        };
        let (project, rev) = (text("project")?, text("ref")?);
        if rev.is_some() && project.is_none() {
            return Err(invalid(format!("{loc} ref requires project")));
        }
        rule.exists = Some(Exists {
            paths: paths_clause(&loc, v, &["paths", "project", "ref"])?,
            project,
            rev,
        });
    }
    if let Some(v) = map.get("when") {
        let allowed: &[When] = match kind {
            Kind::Job => &[
                When::OnSuccess,
                When::OnFailure,
                When::Always,
                When::Manual,
                When::Delayed,
                When::Never,
            ],
            Kind::Workflow | Kind::Include => &[When::Always, When::Never],
        };
        let when = v
            .as_str()
            .and_then(|s| s.parse::<When>().ok())
            .filter(|w| allowed.contains(w));
        rule.when = Some(when.ok_or_else(|| {
            invalid(format!(
                "{loc} when unknown value: {}",
                v.as_str().unwrap_or("")
            ))
        })?);
    }
    if let Some(v) = map.get("allow_failure") {
        rule.allow_failure =
            Some(v.as_bool().ok_or_else(|| {
                invalid(format!("{loc} allow_failure should be a boolean value"))
            })?);
    }
    if let Some(v) = map.get("interruptible") {
        rule.interruptible =
            Some(v.as_bool().ok_or_else(|| {
                invalid(format!("{loc} interruptible should be a boolean value"))
            })?);
    }
    match (map.get("start_in"), rule.when) {
        (Some(v), Some(When::Delayed)) => {
            let text = v.as_str().unwrap_or("");
            let seconds = duration::parse(text)
                .ok_or_else(|| invalid(format!("{loc} start in should be a duration")))?;
            if seconds > duration::ONE_WEEK {
                return Err(invalid(format!(
                    "{loc} start in should not exceed the limit"
                )));
            }
            rule.start_in = Some((text.to_owned(), seconds));
        }
        (Some(_), _) => {
            return Err(invalid(format!(
                "{loc} config contains disallowed keys: start_in"
            )));
        }
        (None, Some(When::Delayed)) => {
            return Err(invalid(format!("{loc} start in can't be blank")));
        }
        (None, _) => {}
    }
    if let Some(v) = map.get("variables") {
        rule.variables = fields::variables(&format!("{loc}:variables"), v, false)?;
    }
    if let Some(v) = map.get("needs") {
        rule.needs = Some(needs::parse(&format!("{loc}:needs"), v)?);
    }
    if let Some(v) = map.get("auto_cancel") {
        rule.auto_cancel = Some(crate::workflow::auto_cancel(
            &format!("{loc}:auto_cancel"),
            v,
        )?);
    }
    Ok(rule)
}

/// `changes:`/`exists:`: a list of globs or `{paths: [...], ...}`.
fn paths_clause(loc: &str, value: &Value, hash_keys: &[&str]) -> Result<Vec<String>> {
    let error = || {
        invalid(format!(
            "{loc} config should be an array of strings or a hash"
        ))
    };
    match value {
        Value::Sequence(_) => string_array(value).ok_or_else(error),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Mapping(map) => {
            let unknown = unknown_keys(map, hash_keys);
            if !unknown.is_empty() {
                return Err(invalid(format!(
                    "{loc} config contains unknown keys: {}",
                    unknown.join(", ")
                )));
            }
            map.get("paths")
                .and_then(string_array)
                .ok_or_else(|| invalid(format!("{loc} paths should be an array of strings")))
        }
        _ => Err(error()),
    }
}

/// What rules and policies are evaluated against.
pub(crate) struct Context<'a> {
    pub changed_paths: Option<&'a [String]>,
    pub files: &'a dyn FileSource,
    paths: OnceCell<Vec<String>>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(changed_paths: Option<&'a [String]>, files: &'a dyn FileSource) -> Self {
        Context {
            changed_paths,
            files,
            paths: OnceCell::new(),
        }
    }

    /// Every path of the tree, listed once per plan.
    pub(crate) fn tree(&self) -> &[String] {
        self.paths.get_or_init(|| self.files.list_paths())
    }

    /// A rule's `changes:`; with `compare_to`, the paths changed since that ref (its merge
    /// base with the pipeline's commit), whatever the pipeline's own diff base.
    pub(crate) fn rule_changes(
        &self,
        changes: &Changes,
        vars: &HashMap<String, String>,
    ) -> Result<bool> {
        let Some(compare_to) = &changes.compare_to else {
            return Ok(self.changes(&changes.paths, vars));
        };
        let changed = self
            .files
            .changed_since(&expand(compare_to, vars))
            .ok_or_else(|| invalid("rules:changes:compare_to is not a valid ref"))?;
        let patterns: Vec<String> = changes.paths.iter().map(|p| expand(p, vars)).collect();
        Ok(glob::any_match(&patterns, &changed))
    }

    /// `changes:` holds when no diff base exists, or a changed path matches.
    pub(crate) fn changes(&self, patterns: &[String], vars: &HashMap<String, String>) -> bool {
        match self.changed_paths {
            None => true,
            Some(changed) => {
                let patterns: Vec<String> = patterns.iter().map(|p| expand(p, vars)).collect();
                glob::any_match(&patterns, changed)
            }
        }
    }

    /// A rule's `exists:`; with `project`, the files of that project at `ref` (its default
    /// branch when absent), as the pipeline's user may read them.
    pub(crate) fn rule_exists(
        &self,
        exists: &Exists,
        vars: &HashMap<String, String>,
    ) -> Result<bool> {
        let Some(project) = &exists.project else {
            return Ok(self.exists(&exists.paths, vars));
        };
        let project = expand(project, vars);
        let rev = exists.rev.as_ref().map(|rev| expand(rev, vars));
        let tree = match self.files.project_paths(&project, rev.as_deref()) {
            ProjectPaths::Found(tree) => tree,
            ProjectPaths::NoProject => {
                return Err(invalid(format!(
                    "rules:exists:project `{project}` is not a valid project path"
                )));
            }
            ProjectPaths::Denied => {
                return Err(invalid(format!(
                    "rules:exists:project access denied to project `{project}`"
                )));
            }
            ProjectPaths::NoRef => {
                let rev = rev.unwrap_or_default();
                return Err(invalid(format!(
                    "rules:exists:ref `{rev}` is not a valid ref in project `{project}`"
                )));
            }
        };
        let patterns: Vec<String> = exists.paths.iter().map(|p| expand(p, vars)).collect();
        Ok(glob::any_match(&patterns, &tree))
    }

    pub(crate) fn exists(&self, patterns: &[String], vars: &HashMap<String, String>) -> bool {
        let patterns: Vec<String> = patterns.iter().map(|p| expand(p, vars)).collect();
        glob::any_match(&patterns, self.tree())
    }
}

/// The first rule whose conditions all hold; an error when a `compare_to` ref is unknown
/// (GitLab evaluates the clauses in order and stops at the first false one).
pub(crate) fn first_match<'r>(
    rules: &'r [Rule],
    vars: &HashMap<String, String>,
    ctx: &Context<'_>,
) -> Result<Option<&'r Rule>> {
    for rule in rules {
        if !rule.if_expr.as_ref().is_none_or(|e| e.eval(vars)) {
            continue;
        }
        if let Some(changes) = &rule.changes
            && !ctx.rule_changes(changes, vars)?
        {
            continue;
        }
        match &rule.exists {
            Some(exists) if !ctx.rule_exists(exists, vars)? => {}
            _ => return Ok(Some(rule)),
        }
    }
    Ok(None)
}
