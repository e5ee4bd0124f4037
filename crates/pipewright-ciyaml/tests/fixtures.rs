//! Snapshot tests: every `fixtures/*.yml` is planned and the plan (or the error) is
//! compared with `snapshots/`. Header lines configure the pipeline:
//! `#! var KEY=VALUE`, `#! unset KEY`, `#! changed a.md b/c.rs`, and
//! `#! compare_to REF a.md ...` (the paths changed since `REF`, for `rules:changes:compare_to`;
//! a ref not listed does not exist), `#! input NAME=JSON` (a pipeline input; text that is not
//! JSON is a string).
//! Repository files for includes/exists live in `fixtures/<name>.files/`; other projects'
//! files (for `include:project`) in `fixtures/<name>.files/@projects/<group>/<project>/<ref>/`
//! (`HEAD` for the default branch). Components are read from the same tree: version `V` of
//! `<group>/<project>` is the directory `<ref>` = `V` (`~latest` reads `LATEST`), its commit
//! `sha-V`; a project whose only ref is `DENIED` is unreadable.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use pipewright_ciyaml::{
    ComponentFile, FileSource, PipelineContext, ProjectFile, ProjectPaths, plan,
};
use serde::Serialize;

#[derive(Serialize)]
#[serde(untagged)]
enum Outcome {
    Plan(pipewright_ciyaml::PipelinePlan),
    Error {
        error: String,
        kind: pipewright_ciyaml::ErrorKind,
    },
}

fn default_variables() -> Vec<(String, String)> {
    [
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_COMMIT_BRANCH", "main"),
        ("CI_COMMIT_REF_NAME", "main"),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_PROJECT_PATH", "group/project"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn repository(dir: &Path) -> HashMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut HashMap<String, String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let (Ok(rel), Ok(text)) = (path.strip_prefix(root), fs::read_to_string(&path))
            {
                out.insert(rel.to_string_lossy().replace('\\', "/"), text);
            }
        }
    }
    let mut out = HashMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The fixture's repository: its files, and the diffs against other refs.
struct Repository {
    files: HashMap<String, String>,
    compare: HashMap<String, Vec<String>>,
}

impl FileSource for Repository {
    fn read(&self, path: &str) -> Option<String> {
        self.files.read(path)
    }

    fn list_paths(&self) -> Vec<String> {
        self.files.list_paths()
    }

    fn changed_since(&self, rev: &str) -> Option<Vec<String>> {
        self.compare.get(rev).cloned()
    }

    fn read_project_file(&self, project: &str, rev: Option<&str>, path: &str) -> ProjectFile {
        // A component's commit `sha-V` is the directory `V`.
        let rev = rev.map(|rev| rev.strip_prefix("sha-").unwrap_or(rev));
        let root = format!("@projects/{project}/");
        let at_rev = format!("{root}{}/", rev.unwrap_or("HEAD"));
        if !self.files.keys().any(|key| key.starts_with(&root)) {
            return ProjectFile::NotFound;
        }
        if !self.files.keys().any(|key| key.starts_with(&at_rev)) {
            return ProjectFile::NoRef;
        }
        match self.files.get(&format!("{at_rev}{path}")) {
            Some(text) => ProjectFile::Found(text.clone()),
            None => ProjectFile::NoFile,
        }
    }

    /// `@projects/<project>/<ref>/...`; a project whose only ref is `DENIED` is unreadable.
    fn project_paths(&self, project: &str, rev: Option<&str>) -> ProjectPaths {
        let rev = rev.map(|rev| rev.strip_prefix("sha-").unwrap_or(rev));
        let root = format!("@projects/{project}/");
        if !self.files.keys().any(|key| key.starts_with(&root)) {
            return ProjectPaths::NoProject;
        }
        if self
            .files
            .keys()
            .any(|key| key.starts_with(&format!("{root}DENIED/")))
        {
            return ProjectPaths::Denied;
        }
        let at_rev = format!("{root}{}/", rev.unwrap_or("HEAD"));
        let tree: Vec<String> = self
            .files
            .keys()
            .filter_map(|key| key.strip_prefix(&at_rev).map(str::to_owned))
            .collect();
        if tree.is_empty() {
            return ProjectPaths::NoRef;
        }
        ProjectPaths::Found(tree)
    }

    fn read_component(&self, project: &str, version: &str, name: &str) -> ComponentFile {
        let rev = if version == "~latest" {
            "LATEST"
        } else {
            version
        };
        match self.project_paths(project, Some(rev)) {
            ProjectPaths::Denied => return ComponentFile::Denied,
            ProjectPaths::Found(_) => {}
            _ => return ComponentFile::NotFound,
        }
        for path in [
            format!("templates/{name}.yml"),
            format!("templates/{name}/template.yml"),
        ] {
            if let Some(content) = self.files.get(&format!("@projects/{project}/{rev}/{path}")) {
                return ComponentFile::Found {
                    content: content.clone(),
                    sha: format!("sha-{rev}"),
                    path,
                };
            }
        }
        ComponentFile::NotFound
    }
}

fn run(path: &Path) -> Outcome {
    let source = fs::read_to_string(path).unwrap_or_default();
    let mut variables = default_variables();
    let mut changed_paths = None;
    let mut compare = HashMap::new();
    let mut inputs = serde_json::Map::new();
    for line in source.lines() {
        let Some(directive) = line.strip_prefix("#! ") else {
            continue;
        };
        if let Some(assignment) = directive.strip_prefix("var ") {
            let (key, value) = assignment.split_once('=').unwrap_or((assignment, ""));
            variables.retain(|(k, _)| k != key);
            variables.push((key.to_owned(), value.to_owned()));
        } else if let Some(key) = directive.strip_prefix("unset ") {
            variables.retain(|(k, _)| k != key);
        } else if let Some(rest) = directive.strip_prefix("compare_to ") {
            let mut words = rest.split_whitespace().map(str::to_owned);
            if let Some(rev) = words.next() {
                compare.insert(rev, words.collect::<Vec<_>>());
            }
        } else if let Some(input) = directive.strip_prefix("input ") {
            let (key, value) = input.split_once('=').unwrap_or((input, ""));
            let value = serde_json::from_str(value)
                .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
            inputs.insert(key.to_owned(), value);
        } else if let Some(paths) = directive.strip_prefix("changed") {
            changed_paths = Some(paths.split_whitespace().map(str::to_owned).collect());
        }
    }
    let files_dir = path.with_extension("files");
    let files = Repository {
        files: repository(&files_dir),
        compare,
    };
    let ctx = PipelineContext {
        variables,
        changed_paths,
        files: &files,
        inputs,
    };
    match plan(&source, &ctx) {
        Ok(plan) => Outcome::Plan(plan),
        Err(e) => Outcome::Error {
            error: e.to_string(),
            kind: e.kind(),
        },
    }
}

#[test]
fn fixtures() {
    insta::glob!("fixtures/*.yml", |path| {
        insta::assert_yaml_snapshot!(run(path));
    });
}
