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
    /// GitLab's `includes`: one entry per included file, in the order they were read.
    pub includes: Vec<LintInclude>,
    pub jobs: Vec<LintJob>,
}

/// One entry of `includes` (GitLab's `External::File::Base#metadata` plus its context).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LintInclude {
    #[serde(rename = "type")]
    pub kind: String,
    pub location: String,
    pub blob: Option<String>,
    pub raw: Option<String>,
    pub extra: serde_json::Value,
    pub context_project: String,
    pub context_sha: Option<String>,
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

    fn read_component(
        &self,
        project: &str,
        version: &str,
        name: &str,
    ) -> pipewright_ciyaml::ComponentFile {
        self.projects.component(project, version, name)
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
        sha: head.clone(),
        projects: crate::include_project::ProjectFiles::new(app, &user),
    };
    let planned = tokio::task::spawn_blocking(move || {
        let context = PipelineContext {
            variables,
            changed_paths: None,
            files: &files,
            inputs: Default::default(),
        };
        let merged = pipewright_ciyaml::merged(&content, &context);
        (pipewright_ciyaml::plan(&content, &context), merged)
    })
    .await?;
    let (planned, merged) = planned;
    let (merged_yaml, included) = match merged {
        Some(merged) => (Some(merged.yaml), merged.includes),
        None => (None, Vec::new()),
    };
    let mut includes = Vec::with_capacity(included.len());
    for file in included {
        includes.push(lint_include(app, &project, head.as_deref(), file).await?);
    }
    let planned = (planned, merged_yaml);
    // GitLab answers the expanded configuration, also when a later validation failed.
    Ok(match planned {
        (Ok(plan), merged_yaml) => LintResult {
            valid: true,
            errors: Vec::new(),
            warnings: Vec::new(),
            merged_yaml,
            includes,
            jobs: plan.jobs.into_iter().map(lint_job).collect(),
        },
        (Err(err), merged_yaml) => LintResult {
            valid: false,
            errors: vec![err.message().to_owned()],
            warnings: Vec::new(),
            merged_yaml,
            includes,
            jobs: Vec::new(),
        },
    })
}

/// GitLab's metadata of a component: its address, a link to the template at the commit read,
/// no raw link and no extra (GitLab keeps the component's project out of the response).
async fn component_include(
    app: &App,
    project: &pipewright_store::model::Project,
    sha: Option<&str>,
    file: pipewright_ciyaml::IncludedFile,
) -> Result<LintInclude> {
    let mut blob = None;
    if let (Some(path), Some(commit), Some(template)) = (&file.project, &file.rev, &file.file) {
        let full_path = match app.store.project_by_full_path(path).await? {
            Some(component) => component.full_path,
            None => path.clone(),
        };
        blob = Some(format!(
            "{}/{full_path}/-/blob/{commit}/{template}",
            app.config.external_url
        ));
    }
    Ok(LintInclude {
        kind: file.kind,
        location: file.location,
        blob,
        raw: None,
        extra: serde_json::json!({}),
        context_project: project.full_path.clone(),
        context_sha: sha.map(str::to_owned),
    })
}

/// GitLab's metadata of one included file: links to it at the commit it was read from, and the
/// project and commit it was included in.
async fn lint_include(
    app: &App,
    project: &pipewright_store::model::Project,
    sha: Option<&str>,
    file: pipewright_ciyaml::IncludedFile,
) -> Result<LintInclude> {
    let web_url = |full_path: &str| format!("{}/{full_path}", app.config.external_url);
    let links = |full_path: &str, sha: Option<&str>| match sha {
        Some(sha) => (
            Some(format!(
                "{}/-/blob/{sha}/{}",
                web_url(full_path),
                file.location
            )),
            Some(format!(
                "{}/-/raw/{sha}/{}",
                web_url(full_path),
                file.location
            )),
        ),
        None => (None, None),
    };
    if file.kind == "component" {
        return component_include(app, project, sha, file).await;
    }
    let Some(other) = &file.project else {
        let (blob, raw) = links(&project.full_path, sha);
        return Ok(LintInclude {
            kind: file.kind.clone(),
            location: file.location.clone(),
            blob,
            raw,
            extra: serde_json::json!({}),
            context_project: project.full_path.clone(),
            context_sha: sha.map(str::to_owned),
        });
    };
    // A file of another project: links at its commit; a `local` include inside it was
    // included in that project's context.
    let included = app.store.project_by_full_path(other).await?;
    let included_sha = match &included {
        Some(included) => {
            let repo = app.repository(included.id);
            let rev = file.rev.clone().unwrap_or_else(|| "HEAD".to_owned());
            tokio::task::spawn_blocking(move || repo.resolve(&rev).ok().flatten()).await?
        }
        None => None,
    };
    let full_path = included
        .as_ref()
        .map_or_else(|| other.clone(), |included| included.full_path.clone());
    let (blob, raw) = links(&full_path, included_sha.as_deref());
    Ok(if file.kind == "file" {
        LintInclude {
            kind: file.kind.clone(),
            location: file.location.clone(),
            blob,
            raw,
            extra: serde_json::json!({
                "project": other,
                "ref": file.rev.clone().unwrap_or_else(|| "HEAD".to_owned()),
            }),
            context_project: project.full_path.clone(),
            context_sha: sha.map(str::to_owned),
        }
    } else {
        LintInclude {
            kind: file.kind.clone(),
            location: file.location.clone(),
            blob,
            raw,
            extra: serde_json::json!({}),
            context_project: full_path,
            context_sha: included_sha,
        }
    })
}
