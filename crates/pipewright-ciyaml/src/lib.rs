//! `.gitlab-ci.yml` text → a planned pipeline (or GitLab's error message).
//!
//! Pure: no IO, no async. Repository files are read through [`FileSource`]. The steps
//! follow GitLab (`Gitlab::Ci::Config` then the pipeline seed): load (anchors, `<<`,
//! `spec:` header and inputs), `include`, `extends`, `!reference`, validation of every entry,
//! parallel expansion (`rspec 1/3`, `deploy: [aws, eu]`) with `needs`/`dependencies`
//! rewritten, cross-job validation (stages, needs, cycles, `on_stop`), then
//! `workflow:rules` and each job's `rules` / `only` / `except` against the pipeline.
//!
//! What this crate does not do (the server's job, or out of the core subset):
//! * no variable expansion in `tags`, `resource_group`, `environment` or `workflow:name`:
//!   they are planned as written, to be expanded with the job's full variable set;
//! * `include:` reads local files, other projects' files and CI/CD components of this
//!   server (through [`FileSource`]); `remote`/`template` fail as unreachable;
//!   `needs:pipeline`/`needs:project` (cross-pipeline) are errors;
//! * `cache` is passed through unvalidated; `hooks`, `id_tokens`, `secrets`, `release`,
//!   `pages`, `manual_confirmation` are accepted and not planned;
//!
//! CI/CD inputs: a file may start with a `spec:inputs` header document; its `$[[ inputs.x ]]`
//! blocks (with the `expand_vars`, `truncate` and `posix_escape` functions) are interpolated
//! when the file is loaded, before it is merged: with `include:inputs` for included files and
//! components, with [`PipelineContext::inputs`] for the main configuration.

mod component;
mod defaults;
mod duration;
mod error;
mod expand;
mod extends;
mod fields;
mod glob;
mod include;
mod inputs;
mod job;
mod load;
mod loose;
mod model;
mod needs;
mod normalize;
mod parallel;
mod policy;
mod reference;
mod root;
mod rules;
mod seed;
mod trigger;
mod validate;
mod value;
mod workflow;

use std::collections::HashMap;

use serde_norway::{Mapping, Value};

pub use duration::parse as parse_duration;
pub use error::{ConfigError, ErrorKind};
pub use inputs::parse_input_params;
pub use model::{
    ArtifactInclude, Artifacts, AutoCancel, Environment, Forward, Image, JobOptions, JobPlan, Need,
    ParallelInstance, PipelinePlan, Report, Retry, Service, Trigger, Variable,
};
pub use pipewright_domain::When;

/// The repository at the pipeline's commit; used by `include:local` and `rules:exists`.
pub trait FileSource {
    fn read(&self, path: &str) -> Option<String>;
    /// Every file path in the tree (for `exists` and include globs).
    fn list_paths(&self) -> Vec<String>;

    /// `rules:changes:compare_to`: the paths changed between the merge base of `rev` (a
    /// branch, tag or sha) and this commit; `None` when `rev` names no commit.
    fn changed_since(&self, _rev: &str) -> Option<Vec<String>> {
        None
    }

    /// `include:project`: `path` in project `project` (full path, lowercase) at `rev` (its
    /// default branch when `None`), as the pipeline's user may read it.
    fn read_project_file(&self, _project: &str, _rev: Option<&str>, _path: &str) -> ProjectFile {
        ProjectFile::NotFound
    }

    /// `rules:exists:project`: every path of project `project` at `rev` (its default branch
    /// when `None`), as the pipeline's user may read it.
    fn project_paths(&self, _project: &str, _rev: Option<&str>) -> ProjectPaths {
        ProjectPaths::NoProject
    }

    /// `include:component`: component `name` of project `project` (full path, lowercase) at
    /// `version` (a tag, branch, sha, `~latest` or a partial semantic version), as the
    /// pipeline's user may read it: `templates/<name>.yml`, else
    /// `templates/<name>/template.yml`.
    fn read_component(&self, _project: &str, _version: &str, _name: &str) -> ComponentFile {
        ComponentFile::NotFound
    }
}

/// What reading a CI/CD component found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentFile {
    Found {
        content: String,
        /// The commit the version named (the component's own `local` includes are read there).
        sha: String,
        /// The template's path in the component project.
        path: String,
    },
    /// No such project, version or template.
    NotFound,
    /// The project exists but the user may not read its code.
    Denied,
}

/// Values for the main configuration's `spec:inputs` (pipeline inputs), by name.
pub type PipelineInputs = serde_json::Map<String, serde_json::Value>;

/// What listing another project's files for `rules:exists:project` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectPaths {
    Found(Vec<String>),
    NoProject,
    /// The project exists but the user may not read its code.
    Denied,
    NoRef,
}

/// What reading another project's file for `include:project` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectFile {
    Found(String),
    /// No such project, or the user may not read its code.
    NotFound,
    /// The ref names no commit.
    NoRef,
    NoFile,
}

/// An empty repository.
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, _path: &str) -> Option<String> {
        None
    }

    fn list_paths(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A repository held in memory (tests, child pipelines built from stored files).
impl FileSource for HashMap<String, String> {
    fn read(&self, path: &str) -> Option<String> {
        self.get(path.trim_start_matches('/')).cloned()
    }

    fn list_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.keys().cloned().collect();
        paths.sort();
        paths
    }
}

pub struct PipelineContext<'a> {
    /// Predefined pipeline variables (`CI_COMMIT_BRANCH`, `CI_PIPELINE_SOURCE`, ...) and
    /// pipeline variables, for `rules:if`.
    pub variables: Vec<(String, String)>,
    /// `None` = no diff base: `rules:changes` is true.
    pub changed_paths: Option<Vec<String>>,
    pub files: &'a dyn FileSource,
    /// Pipeline inputs for the main configuration's `spec:inputs` header (GitLab 17.11+);
    /// empty for pushes and most sources, so every input must then have a default.
    pub inputs: PipelineInputs,
}

/// Plans a pipeline from `.gitlab-ci.yml` text.
pub fn plan(source: &str, ctx: &PipelineContext<'_>) -> Result<PipelinePlan, ConfigError> {
    let root = expand(source, ctx)?;
    let config = root::parse(&root)?;
    let jobs = normalize::expand(config.jobs.clone())?;
    validate::validate(&config.stages, &jobs)?;
    seed::seed(config, jobs, ctx)
}

/// The configuration after `include`, `extends` and `!reference` (GitLab's `Config#to_hash`).
fn expand(source: &str, ctx: &PipelineContext<'_>) -> Result<Mapping, ConfigError> {
    expand_with_includes(source, ctx).map(|(root, _)| root)
}

fn expand_with_includes(
    source: &str,
    ctx: &PipelineContext<'_>,
) -> Result<(Mapping, Vec<IncludedFile>), ConfigError> {
    let vars: HashMap<String, String> = ctx.variables.iter().cloned().collect();
    let root =
        load::load_with_inputs(source, &inputs::args_of(&ctx.inputs), &vars).map_err(|err| {
            match err {
                load::LoadError::Yaml(err) => err,
                load::LoadError::Inputs(message) => error::invalid(message),
            }
        })?;
    let rule_ctx = rules::Context::new(ctx.changed_paths.as_deref(), ctx.files);
    let mut includer = include::Includer::new(&rule_ctx, &vars);
    let mut root = includer.resolve(root, 0)?;
    extends::resolve(&mut root)?;
    reference::resolve(&mut root)?;
    Ok((root, includer.files))
}

/// One file an `include:` read (the lint API's `includes`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IncludedFile {
    /// `local`, `file` (`include:project`) or `component`.
    pub kind: String,
    /// The path as resolved (no leading `/`, globs expanded); a component's address.
    pub location: String,
    /// The project the file belongs to when it is not the pipeline's (a `file`, or a `local`
    /// include inside one), and its ref as written (`None`: the default branch).
    pub project: Option<String>,
    pub rev: Option<String>,
    /// A component's template path in its project (`rev` is then the commit read).
    pub file: Option<String>,
}

/// The lint API's view of a configuration: [`merged_yaml`] and the files included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub yaml: String,
    pub includes: Vec<IncludedFile>,
}

/// The lint API's `merged_yaml`: the configuration with its includes merged, `extends` and
/// `!reference` resolved and `stages` wrapped in `.pre`/`.post`, as YAML (Psych's `---`
/// header). `None` when it cannot be built that far (syntax, include or `extends` errors);
/// a configuration that fails later validation still has one.
pub fn merged_yaml(source: &str, ctx: &PipelineContext<'_>) -> Option<String> {
    merged(source, ctx).map(|merged| merged.yaml)
}

/// [`merged_yaml`] with the files the configuration included, in the order they were read.
pub fn merged(source: &str, ctx: &PipelineContext<'_>) -> Option<Merged> {
    let (mut root, includes) = expand_with_includes(source, ctx).ok()?;
    // GitLab's EdgeStagesInjector: `stages` (or the legacy `types`) gets `.pre` first and
    // `.post` last, once.
    let key = ["stages", "types"]
        .into_iter()
        .find(|key| root.contains_key(*key));
    if let Some(Value::Sequence(stages)) = key.and_then(|key| root.get_mut(key))
        && !stages.is_empty()
    {
        stages.retain(|stage| !matches!(stage.as_str(), Some(".pre" | ".post")));
        stages.insert(0, Value::String(".pre".to_owned()));
        stages.push(Value::String(".post".to_owned()));
    }
    let text = serde_norway::to_string(&Value::Mapping(root)).ok()?;
    Some(Merged {
        yaml: format!("---\n{text}"),
        includes,
    })
}
