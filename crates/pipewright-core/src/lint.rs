//! `POST /projects/:id/ci/lint`: plans a configuration the way a pipeline would, without
//! creating anything, and answers GitLab's `{valid, errors, warnings, merged_yaml, jobs}`.

use pipewright_ciyaml::{FileSource, JobPlan, PipelineContext, ProjectFile, ProjectPaths};

use crate::App;
use crate::abilities::ProjectAccess;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::variables::{PipelineFacts, pipeline_variables, user_variables};

/// One job of the lint answer (`include_jobs`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LintJob {
    pub name: String,
    pub stage: String,
    pub before_script: Vec<String>,
    pub script: Vec<String>,
    pub after_script: Vec<String>,
    pub tag_list: Vec<String>,
    pub environment: Option<String>,
    pub when: String,
    pub allow_failure: bool,
    pub only: Option<serde_json::Value>,
    pub except: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LintResult {
    pub valid: bool,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub merged_yaml: Option<String>,
    pub jobs: Vec<LintJob>,
}

/// The repository at one commit (for `include:local`, `rules:exists`).
struct Files {
    repo: pipewright_git::Repo,
    sha: Option<String>,
    projects: crate::include_project::ProjectFiles,
}

impl FileSource for Files {
    fn read(&self, path: &str) -> Option<String> {
        let sha = self.sha.as_deref()?;
        let bytes = self.repo.read_file(sha, path).ok().flatten()?;
        String::from_utf8(bytes).ok()
    }

    fn list_paths(&self) -> Vec<String> {
        match self.sha.as_deref() {
            Some(sha) => self.repo.list_paths(sha).unwrap_or_default(),
            None => Vec::new(),
        }
    }

    fn changed_since(&self, rev: &str) -> Option<Vec<String>> {
        let sha = self.sha.as_deref()?;
        let base = self.repo.resolve(rev).ok().flatten()?;
        let from = self
            .repo
            .merge_base(&base, sha)
            .ok()
            .flatten()
            .unwrap_or(base);
        self.repo.changed_paths(&from, sha).ok()
    }

    fn read_project_file(&self, project: &str, rev: Option<&str>, path: &str) -> ProjectFile {
        self.projects.read(project, rev, path)
    }

    fn project_paths(&self, project: &str, rev: Option<&str>) -> ProjectPaths {
        self.projects.paths(project, rev)
    }
}

fn lint_job(job: JobPlan) -> LintJob {
    LintJob {
        environment: job.options.environment.map(|environment| environment.name),
        when: job.when.as_str().to_owned(),
        allow_failure: job.allow_failure,
        before_script: job.options.before_script,
        script: job.options.script,
        after_script: job.options.after_script,
        tag_list: job.options.tags,
        name: job.name,
        stage: job.stage,
        only: None,
        except: None,
    }
}

/// Lints `content` for `ref_name` (default branch when `None`). Developer+, like creating a
/// pipeline. `dry_run` and static lint both evaluate `rules` against that ref.
pub async fn lint(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    content: String,
    ref_name: Option<String>,
) -> Result<LintResult> {
    let user = actor.require_user()?.clone();
    if !access.can_update_build() {
        return Err(Error::forbidden());
    }
    let project = access.project.clone();
    let namespace = app
        .store
        .namespace_by_id(project.namespace_id)
        .await?
        .ok_or_else(|| Error::internal("project without namespace"))?;
    let ref_name = ref_name.unwrap_or_else(|| project.default_branch.clone());
    let repo = app.repository(project.id);
    let head = {
        let repo = app.repository(project.id);
        let full = format!("refs/heads/{ref_name}");
        tokio::task::spawn_blocking(move || repo.resolve(&full).ok().flatten()).await?
    };
    let commit = match head.clone() {
        Some(sha) => {
            let repo = app.repository(project.id);
            tokio::task::spawn_blocking(move || repo.commit(&sha).ok().flatten()).await?
        }
        None => None,
    };
    let sha = head
        .clone()
        .unwrap_or_else(|| crate::pipelines::ZERO_SHA.to_owned());
    let mut variables = pipeline_variables(
        app,
        &PipelineFacts {
            project: &project,
            namespace: &namespace,
            ref_name: &ref_name,
            tag: false,
            sha: &sha,
            before_sha: crate::pipelines::ZERO_SHA,
            source: "push",
            commit: commit.as_ref(),
            pipeline: None,
        },
    );
    variables.extend(user_variables(&user));
    let files = Files {
        repo,
        sha: head,
        projects: crate::include_project::ProjectFiles::new(app, &user),
    };
    let planned = tokio::task::spawn_blocking(move || {
        let context = PipelineContext {
            variables,
            changed_paths: None,
            files: &files,
        };
        let merged = pipewright_ciyaml::merged_yaml(&content, &context);
        (pipewright_ciyaml::plan(&content, &context), merged)
    })
    .await?;
    // GitLab answers the expanded configuration, also when a later validation failed.
    Ok(match planned {
        (Ok(plan), merged_yaml) => LintResult {
            valid: true,
            errors: Vec::new(),
            warnings: Vec::new(),
            merged_yaml,
            jobs: plan.jobs.into_iter().map(lint_job).collect(),
        },
        (Err(err), merged_yaml) => LintResult {
            valid: false,
            errors: vec![err.message().to_owned()],
            warnings: Vec::new(),
            merged_yaml,
            jobs: Vec::new(),
        },
    })
}
