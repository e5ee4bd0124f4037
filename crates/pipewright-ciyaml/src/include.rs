//! `include:`: included files are deep-merged in order into an empty document, then the
//! including file on top. `local` files come from the pipeline's commit, `project` files from
//! another project of this server (read with the pipeline user's access, through
//! [`FileSource::read_project_file`]), `component`s from a project of this server at a version
//! ([`FileSource::read_component`]); a project file's or component's own `local` includes
//! (globs too) are files of that project at the same ref. Each file's `spec:inputs` are
//! interpolated with its `inputs:` before it is merged. `template` and `remote` fail with the
//! message GitLab gives when the template does not exist or the address cannot be reached (no
//! network, no templates).

use std::collections::HashMap;

use pipewright_domain::When;
use serde_norway::{Mapping, Value};

use crate::error::{Result, invalid};
use crate::expand::expand;
use crate::glob::Glob;
use crate::load;
use crate::rules::{self, Context};
use crate::value::{deep_merge, unknown_keys};
use crate::{ComponentFile, FileSource, IncludedFile, ProjectFile, ProjectPaths};

const MAX_INCLUDES: usize = 150;
const MAX_DEPTH: usize = 100;

/// Where the file being resolved lives: its `local` includes are read there.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    Pipeline,
    Project {
        project: String,
        rev: Option<String>,
    },
}

/// One file to include.
#[derive(Debug, Clone, PartialEq)]
enum Location {
    Local(String),
    Project {
        project: String,
        rev: Option<String>,
        file: String,
    },
    /// `<fqdn>/<project path>/<name>@<version>`, variables expanded.
    Component(String),
}

/// One include entry: where, and the `inputs:` given to the file.
struct Entry {
    location: Location,
    inputs: Mapping,
}

/// A fetched file: its text, the name its errors show, where its own `local` includes live,
/// and its record for the lint API.
struct Fetched {
    content: String,
    shown: String,
    origin: Origin,
    record: IncludedFile,
}

pub(crate) struct Includer<'a> {
    ctx: &'a Context<'a>,
    vars: &'a HashMap<String, String>,
    count: usize,
    /// Every file included, in the order they were read (the lint API's `includes`).
    pub(crate) files: Vec<IncludedFile>,
}

impl<'a> Includer<'a> {
    pub(crate) fn new(ctx: &'a Context<'a>, vars: &'a HashMap<String, String>) -> Self {
        Includer {
            ctx,
            vars,
            count: 0,
            files: Vec::new(),
        }
    }

    /// Replaces `root` by its includes merged under it.
    pub(crate) fn resolve(&mut self, root: Mapping, depth: usize) -> Result<Mapping> {
        self.resolve_in(root, depth, &Origin::Pipeline)
    }

    fn resolve_in(&mut self, root: Mapping, depth: usize, origin: &Origin) -> Result<Mapping> {
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
        for entry in self.locations(&include, origin)? {
            self.count += 1;
            if self.count > MAX_INCLUDES {
                return Err(invalid(format!(
                    "Maximum of {MAX_INCLUDES} nested includes are allowed!"
                )));
            }
            let fetched = self.fetch(&entry.location, origin)?;
            self.files.push(fetched.record);
            let shown = fetched.shown;
            let file = load::load_with_inputs(&fetched.content, &entry.inputs, self.vars).map_err(
                |err| match err {
                    load::LoadError::Yaml(_) => invalid(format!(
                        "Included file `{shown}` does not have valid YAML syntax!"
                    )),
                    load::LoadError::Inputs(message) => invalid(format!("`{shown}`: {message}")),
                },
            )?;
            let file = self.resolve_in(file, depth + 1, &fetched.origin)?;
            deep_merge(&mut merged, Value::Mapping(file));
        }
        deep_merge(&mut merged, Value::Mapping(root));
        match merged {
            Value::Mapping(map) => Ok(map),
            _ => Err(invalid("Invalid configuration format")),
        }
    }

    /// The text of one include and what goes with it.
    fn fetch(&self, location: &Location, origin: &Origin) -> Result<Fetched> {
        let files: &dyn FileSource = self.ctx.files;
        match (location, origin) {
            (Location::Local(path), Origin::Pipeline) => {
                let content = files
                    .read(path)
                    .ok_or_else(|| invalid(format!("Local file `{path}` does not exist!")))?;
                if content.trim().is_empty() {
                    return Err(invalid(format!("Local file `{path}` is empty!")));
                }
                Ok(Fetched {
                    content,
                    shown: path.clone(),
                    origin: Origin::Pipeline,
                    record: included_file(location, origin),
                })
            }
            (Location::Local(path), Origin::Project { project, rev }) => {
                let project_file = Location::Project {
                    project: project.clone(),
                    rev: rev.clone(),
                    file: path.clone(),
                };
                let mut fetched = self.fetch(&project_file, origin)?;
                fetched.record = included_file(location, origin);
                Ok(fetched)
            }
            (Location::Project { project, rev, file }, _) => {
                let shown_rev = rev.as_deref().unwrap_or("HEAD");
                let content = match files.read_project_file(project, rev.as_deref(), file) {
                    ProjectFile::Found(content) => content,
                    ProjectFile::NotFound => {
                        return Err(invalid(format!(
                            "Project `{project}` not found or access denied! Make sure any includes in the pipeline configuration are correctly defined."
                        )));
                    }
                    ProjectFile::NoRef => {
                        return Err(invalid(format!(
                            "Project `{project}` reference `{shown_rev}` does not exist!"
                        )));
                    }
                    ProjectFile::NoFile => {
                        return Err(invalid(format!(
                            "Project `{project}` file `{file}` does not exist!"
                        )));
                    }
                };
                if content.trim().is_empty() {
                    return Err(invalid(format!(
                        "Project `{project}` file `{file}` is empty!"
                    )));
                }
                Ok(Fetched {
                    content,
                    shown: file.clone(),
                    origin: Origin::Project {
                        project: project.clone(),
                        rev: rev.clone(),
                    },
                    record: included_file(location, origin),
                })
            }
            (Location::Component(address), _) => self.fetch_component(address),
        }
    }

    /// GitLab's `Ci::Components::FetchService` against the projects of this server.
    fn fetch_component(&self, address: &str) -> Result<Fetched> {
        let var = |key: &str| self.vars.get(key).map(String::as_str).unwrap_or_default();
        // GitLab's FQDN carries a non-default port (`host:8080`); accept both spellings.
        let with_port = format!("{}:{}", var("CI_SERVER_HOST"), var("CI_SERVER_PORT"));
        let prefix = |message: &str| invalid(format!("Component '{address}' - {message}"));
        let path = crate::component::Path::parse(address, var("CI_SERVER_FQDN"))
            .or_else(|| crate::component::Path::parse(address, &with_port));
        let Some(path) = path else {
            return Err(prefix("the component path is not supported"));
        };
        let not_found = || prefix("content not found");
        let Some((project, name)) = path.project_and_name() else {
            return Err(not_found());
        };
        let project = project.to_lowercase();
        match self.ctx.files.read_component(&project, path.version, name) {
            ComponentFile::Found { content, sha, path } if !content.trim().is_empty() => {
                Ok(Fetched {
                    content,
                    shown: address.to_owned(),
                    origin: Origin::Project {
                        project: project.clone(),
                        rev: Some(sha.clone()),
                    },
                    record: IncludedFile {
                        kind: "component".to_owned(),
                        location: address.to_owned(),
                        project: Some(project),
                        rev: Some(sha),
                        file: Some(path),
                    },
                })
            }
            ComponentFile::Found { .. } | ComponentFile::NotFound => Err(not_found()),
            ComponentFile::Denied => Err(prefix(
                "project does not exist or you don't have sufficient permissions",
            )),
        }
    }

    /// The files of one `include:` value (globs expanded), in order.
    fn locations(&self, include: &Value, origin: &Origin) -> Result<Vec<Entry>> {
        let items: Vec<&Value> = match include {
            Value::Sequence(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            let (location, inputs) = match item {
                Value::String(s) if is_remote(s) => return Err(remote_error(s)),
                Value::String(s) => (expand(s, self.vars), Mapping::new()),
                Value::Mapping(map) => {
                    let inputs = match map.get("inputs") {
                        None | Some(Value::Null) => Mapping::new(),
                        Some(Value::Mapping(inputs)) => inputs.clone(),
                        Some(_) => return Err(invalid("include:inputs config should be a hash")),
                    };
                    let mut local = None;
                    for location in self.include_of(map)? {
                        match location {
                            Location::Local(path) => local = Some(path),
                            location => out.push(Entry {
                                location,
                                inputs: inputs.clone(),
                            }),
                        }
                    }
                    match local {
                        Some(path) => (path, inputs),
                        None => continue,
                    }
                }
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
                let tree = match origin {
                    Origin::Pipeline => self.ctx.tree().to_vec(),
                    // A glob inside another project's file searches that project's tree.
                    Origin::Project { project, rev } => {
                        match self.ctx.files.project_paths(project, rev.as_deref()) {
                            ProjectPaths::Found(paths) => paths,
                            _ => Vec::new(),
                        }
                    }
                };
                let mut found: Vec<String> = tree
                    .iter()
                    .map(|p| p.trim_start_matches('/').to_owned())
                    .filter(|p| glob.matches(p) && has_yaml_extension(p))
                    .collect();
                found.sort();
                // GitLab's wildcard expansion keeps only `local:` (no inputs, no rules).
                out.extend(found.into_iter().map(|path| Entry {
                    location: Location::Local(path),
                    inputs: Mapping::new(),
                }));
                continue;
            }
            if !has_yaml_extension(&location) {
                return Err(invalid(format!(
                    "Included file `{location}` does not have YAML extension!"
                )));
            }
            out.push(Entry {
                location: Location::Local(location),
                inputs,
            });
        }
        Ok(out)
    }

    /// `{local: path}`, `{project: p, ref: r, file: f | [f, ...]}`, `{component: address}`,
    /// `{template: t}`, `{remote: url}`, each with optional `inputs` and `rules`; nothing when
    /// its rules exclude it.
    fn include_of(&self, map: &Mapping) -> Result<Vec<Location>> {
        let known = [
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
        ];
        let shown = crate::value::to_json(&Value::Mapping(map.clone()));
        let accessor_error = || {
            invalid(format!(
                "Include `{shown}` needs to match exactly one accessor!"
            ))
        };
        let accessors: Vec<&str> = ["local", "project", "remote", "template", "component"]
            .into_iter()
            .filter(|k| map.contains_key(*k))
            .collect();
        // `file` belongs to `project`; `artifact`/`job` only to trigger includes.
        let stray = (map.contains_key("file") && !map.contains_key("project"))
            || map.contains_key("artifact");
        if !unknown_keys(map, &known).is_empty() || accessors.len() != 1 || stray {
            return Err(accessor_error());
        }
        let text = |key: &str| -> Result<String> {
            map.get(key)
                .and_then(Value::as_str)
                .map(|s| expand(s, self.vars))
                .ok_or_else(accessor_error)
        };
        let location = match accessors[0] {
            "local" => vec![Location::Local(text("local")?)],
            "project" => {
                let project = text("project")?.trim_matches('/').to_lowercase();
                let rev = match map.get("ref") {
                    None => None,
                    Some(_) => Some(text("ref")?),
                };
                let files = match map.get("file") {
                    Some(Value::String(file)) => vec![expand(file, self.vars)],
                    Some(Value::Sequence(items)) => items
                        .iter()
                        .map(|item| item.as_str().map(|f| expand(f, self.vars)))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(accessor_error)?,
                    _ => return Err(accessor_error()),
                };
                let mut out = Vec::new();
                for file in files {
                    let file = file.trim_start_matches('/').to_owned();
                    if !has_yaml_extension(&file) {
                        return Err(invalid(format!(
                            "Included file `{file}` does not have YAML extension!"
                        )));
                    }
                    out.push(Location::Project {
                        project: project.clone(),
                        rev: rev.clone(),
                        file,
                    });
                }
                out
            }
            "template" => return Err(template_error(&text("template")?)),
            "remote" => return Err(remote_error(&text("remote")?)),
            _ => vec![Location::Component(text("component")?)],
        };
        if let Some(rules) = map.get("rules") {
            let rules = rules::parse_include_rules("include:rules", rules)?;
            match rules::first_match(&rules, self.vars, self.ctx)? {
                Some(rule) if rule.when != Some(When::Never) => {}
                _ => return Ok(Vec::new()),
            }
        }
        Ok(location)
    }
}

/// The lint API's record of one include: a `local` file of the repository it was included
/// from, or a `file` of another project.
fn included_file(location: &Location, origin: &Origin) -> IncludedFile {
    let context = match origin {
        Origin::Pipeline => None,
        Origin::Project { project, rev } => Some((project.clone(), rev.clone())),
    };
    match (location, context) {
        (Location::Local(path), None) => IncludedFile {
            kind: "local".to_owned(),
            location: path.clone(),
            project: None,
            rev: None,
            file: None,
        },
        // A local include inside a project file is a file of that project.
        (Location::Local(path), Some((project, rev))) => IncludedFile {
            kind: "local".to_owned(),
            location: path.clone(),
            project: Some(project),
            rev,
            file: None,
        },
        (Location::Project { project, rev, file }, _) => IncludedFile {
            kind: "file".to_owned(),
            location: file.clone(),
            project: Some(project.clone()),
            rev: rev.clone(),
            file: None,
        },
        // Recorded by `fetch_component`, which knows the commit and template read.
        (Location::Component(address), _) => IncludedFile {
            kind: "component".to_owned(),
            location: address.clone(),
            project: None,
            rev: None,
            file: None,
        },
    }
}

/// GitLab's answer for a template that is not there (this server ships none).
fn template_error(name: &str) -> crate::error::ConfigError {
    if name.ends_with(".gitlab-ci.yml") {
        invalid(format!(
            "Included file `{name}` is empty or does not exist!"
        ))
    } else {
        invalid(format!("Template file `{name}` is not a valid location!"))
    }
}

/// GitLab's answer for a remote file it cannot fetch (this server makes no outside requests).
fn remote_error(url: &str) -> crate::error::ConfigError {
    if is_remote(url) && !url.contains(char::is_whitespace) {
        invalid(format!(
            "Remote file `{url}` could not be fetched because of a socket error!"
        ))
    } else {
        invalid(format!(
            "Remote file `{url}` does not have a valid address!"
        ))
    }
}

fn is_remote(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

fn has_yaml_extension(path: &str) -> bool {
    path.ends_with(".yml") || path.ends_with(".yaml")
}
