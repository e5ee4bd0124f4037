//! `create_pipeline` (from a push, an API call or a commit) and pipeline reads.

use pipewright_ciyaml::{ErrorKind, FileSource, PipelineContext, ProjectFile, ProjectPaths};
use pipewright_domain::Status;
use pipewright_store::model::{Namespace, Pipeline, PipelineVariable, Project, User};
use pipewright_store::{NewJob, NewPipeline};
pub use pipewright_store::{PipelineFilter, PipelineOrder};

use crate::abilities::ProjectAccess;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::variables::{PipelineFacts, pipeline_variables};
use crate::{App, processing};

/// The 40 zeros GitLab uses for "no previous commit".
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// How a creation failure is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConfigError {
    /// API: answer 400 with GitLab's message, create nothing.
    Reject,
    /// Push: an invalid YAML gives a `failed` pipeline carrying the error; a missing file or a
    /// filtered pipeline gives nothing.
    RecordFailedPipeline,
}

pub struct NewPipelineRequest {
    pub ref_name: String,
    /// Resolved from `ref_name` when absent.
    pub sha: Option<String>,
    pub before_sha: Option<String>,
    pub source: String,
    pub variables: Vec<PipelineVariable>,
    /// Values for the configuration's `spec:inputs` header (API and trigger `inputs`).
    pub inputs: pipewright_ciyaml::PipelineInputs,
}

/// The repository at one commit, as the YAML planner sees it.
struct RepoFiles {
    repo: pipewright_git::Repo,
    sha: String,
    projects: crate::include_project::ProjectFiles,
}

impl FileSource for RepoFiles {
    fn read(&self, path: &str) -> Option<String> {
        let bytes = self.repo.read_file(&self.sha, path).ok().flatten()?;
        String::from_utf8(bytes).ok()
    }

    fn list_paths(&self) -> Vec<String> {
        self.repo.list_paths(&self.sha).unwrap_or_default()
    }

    fn changed_since(&self, rev: &str) -> Option<Vec<String>> {
        let base = self.repo.resolve(rev).ok().flatten()?;
        let from = self
            .repo
            .merge_base(&base, &self.sha)
            .ok()
            .flatten()
            .unwrap_or(base);
        self.repo.changed_paths(&from, &self.sha).ok()
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

/// Creates (and starts processing) a pipeline for `ref_name`. `Ok(None)` means GitLab would
/// not create one (push without `.gitlab-ci.yml`, filtered by workflow rules, no jobs).
pub async fn create_pipeline(
    app: &App,
    project: &Project,
    user: &User,
    request: NewPipelineRequest,
    on_error: OnConfigError,
) -> Result<Option<Pipeline>> {
    create_pipeline_with(app, project, user, request, on_error, None).await
}

/// What makes a pipeline a downstream pipeline of a bridge.
pub(crate) struct Upstream<'a> {
    pub bridge_id: i64,
    pub pipeline_id: i64,
    /// A child pipeline's configuration, used instead of the project's config file.
    pub config: Option<&'a str>,
}

/// [`create_pipeline`], optionally as the downstream pipeline of a bridge: the link is
/// recorded before the first processing, so whatever that processing triggers already sees
/// its ancestry.
pub(crate) async fn create_pipeline_with(
    app: &App,
    project: &Project,
    user: &User,
    request: NewPipelineRequest,
    on_error: OnConfigError,
    upstream: Option<Upstream<'_>>,
) -> Result<Option<Pipeline>> {
    let repo = app.repository(project.id);
    let ref_name = request.ref_name.clone();
    let wanted_sha = request.sha.clone();
    let resolved = tokio::task::spawn_blocking(move || -> Result<Option<(String, bool)>> {
        let is_branch = repo.is_branch(&ref_name)?;
        let is_tag = !is_branch && repo.is_tag(&ref_name)?;
        if !is_branch && !is_tag {
            return Ok(None);
        }
        let sha = match wanted_sha {
            Some(sha) => Some(sha),
            None => {
                let full = if is_branch {
                    format!("refs/heads/{ref_name}")
                } else {
                    format!("refs/tags/{ref_name}")
                };
                repo.resolve(&full)?
            }
        };
        Ok(sha.map(|sha| (sha, is_tag)))
    })
    .await??;
    let Some((sha, tag)) = resolved else {
        return reject_or_skip(on_error, "Reference not found");
    };
    let before_sha = request
        .before_sha
        .clone()
        .unwrap_or_else(|| ZERO_SHA.to_owned());

    let namespace = app
        .store
        .namespace_by_id(project.namespace_id)
        .await?
        .ok_or_else(|| Error::internal("project without namespace"))?;
    let planned = plan(
        app,
        project,
        &namespace,
        user,
        &request,
        &sha,
        &before_sha,
        tag,
        upstream.as_ref().and_then(|upstream| upstream.config),
    )
    .await?;

    let variables = request.variables;
    let mut new_pipeline = NewPipeline {
        project_id: project.id,
        ref_name: request.ref_name,
        tag,
        sha: sha.clone(),
        before_sha,
        source: request.source,
        status: Status::Created,
        user_id: Some(user.id),
        yaml_errors: None,
        variables,
    };
    let mut auto_cancel = "none".to_owned();
    let mut cancel_on_job_failure = None;
    let jobs = match planned {
        Planned::Missing => return reject_or_skip(on_error, "Missing CI config file"),
        Planned::Error(err) => match (on_error, err.kind()) {
            (OnConfigError::Reject, _) => return Err(Error::base_error(err.message())),
            (OnConfigError::RecordFailedPipeline, ErrorKind::Invalid) => {
                new_pipeline.status = Status::Failed;
                new_pipeline.yaml_errors = Some(err.message().to_owned());
                Vec::new()
            }
            (OnConfigError::RecordFailedPipeline, _) => return Ok(None),
        },
        Planned::Jobs(plan) => {
            auto_cancel = plan
                .auto_cancel
                .as_ref()
                .and_then(|auto_cancel| auto_cancel.on_new_commit.clone())
                .unwrap_or_else(|| "conservative".to_owned());
            cancel_on_job_failure = plan
                .auto_cancel
                .as_ref()
                .and_then(|auto_cancel| auto_cancel.on_job_failure.clone());
            plan.jobs
                .into_iter()
                .map(|job| new_job(job, user.id))
                .collect::<Result<Vec<_>>>()?
        }
    };
    let (pipeline, _) = app.store.create_pipeline(&new_pipeline, &jobs).await?;
    keep_around(app, project.id, pipeline.id, &sha).await?;
    if let Some(upstream) = &upstream {
        app.store
            .insert_pipeline_link(upstream.bridge_id, upstream.pipeline_id, pipeline.id)
            .await?;
    }
    if let Some(mode) = &cancel_on_job_failure {
        app.store
            .set_pipeline_auto_cancel_on_job_failure(pipeline.id, mode)
            .await?;
    }
    if !jobs.is_empty() {
        processing::process_pipeline(app, pipeline.id).await?;
        crate::pipeline_actions::auto_cancel_redundant(app, &pipeline, &auto_cancel).await?;
    }
    Ok(app.store.pipeline_by_id(pipeline.id).await?)
}

fn reject_or_skip<T>(on_error: OnConfigError, message: &str) -> Result<Option<T>> {
    match on_error {
        OnConfigError::Reject => Err(Error::base_error(message)),
        OnConfigError::RecordFailedPipeline => Ok(None),
    }
}

enum Planned {
    Missing,
    Error(pipewright_ciyaml::ConfigError),
    Jobs(pipewright_ciyaml::PipelinePlan),
}

#[expect(
    clippy::too_many_arguments,
    reason = "the facts of one pipeline, used once"
)]
async fn plan(
    app: &App,
    project: &Project,
    namespace: &Namespace,
    user: &User,
    request: &NewPipelineRequest,
    sha: &str,
    before_sha: &str,
    tag: bool,
    config: Option<&str>,
) -> Result<Planned> {
    let files = RepoFiles {
        repo: app.repository(project.id),
        sha: sha.to_owned(),
        projects: crate::include_project::ProjectFiles::new(app, user),
    };
    let config_path = project.ci_config_path.clone();
    let config = config.map(str::to_owned);
    let commit = {
        let repo = app.repository(project.id);
        let sha = sha.to_owned();
        tokio::task::spawn_blocking(move || repo.commit(&sha)).await??
    };
    let mut variables = pipeline_variables(
        app,
        &PipelineFacts {
            project,
            namespace,
            ref_name: &request.ref_name,
            tag,
            sha,
            before_sha,
            source: &request.source,
            commit: commit.as_ref(),
            pipeline: None,
        },
    );
    crate::protected_refs::set_ref_protected_variable(
        app,
        project,
        &request.ref_name,
        tag,
        &mut variables,
    )
    .await?;
    variables.extend(crate::variables::user_variables(user));
    variables.extend(
        request
            .variables
            .iter()
            .map(|variable| (variable.key.clone(), variable.value.clone())),
    );
    let inputs = request.inputs.clone();
    let changed_paths = if before_sha == ZERO_SHA || tag {
        None
    } else {
        let repo = app.repository(project.id);
        let (from, to) = (before_sha.to_owned(), sha.to_owned());
        tokio::task::spawn_blocking(move || repo.changed_paths(&from, &to).ok()).await?
    };
    let planned = tokio::task::spawn_blocking(move || {
        let Some(source) = config.or_else(|| files.read(&config_path)) else {
            return Planned::Missing;
        };
        let context = PipelineContext {
            variables,
            changed_paths,
            files: &files,
            inputs,
        };
        match pipewright_ciyaml::plan(&source, &context) {
            Ok(plan) => Planned::Jobs(plan),
            Err(err) => Planned::Error(err),
        }
    })
    .await?;
    Ok(planned)
}

fn new_job(job: pipewright_ciyaml::JobPlan, user_id: i64) -> Result<NewJob> {
    let kind = if job.is_bridge() { "bridge" } else { "build" };
    let mut options = serde_json::to_value(&job.options).map_err(Error::internal)?;
    // The needs column keeps names only; the artifacts step must still skip
    // `needs: [{job: x, artifacts: false}]`.
    if let (Some(needs), Some(map)) = (&job.needs, options.as_object_mut()) {
        let without: Vec<&str> = needs
            .iter()
            .filter(|need| !need.artifacts)
            .map(|need| need.job.as_str())
            .collect();
        if !without.is_empty() {
            map.insert(
                crate::artifacts::NEEDS_WITHOUT_ARTIFACTS.into(),
                serde_json::json!(without),
            );
        }
    }
    let options = options.to_string();
    Ok(NewJob {
        kind: kind.to_owned(),
        status: Status::Created,
        when: job.when,
        allow_failure: job.allow_failure,
        needs: job
            .needs
            .map(|needs| needs.into_iter().map(|need| need.job).collect()),
        tag_list: {
            let mut tags = job.options.tags.clone();
            tags.sort();
            tags
        },
        timeout: job
            .options
            .timeout
            .and_then(|seconds| i64::try_from(seconds).ok()),
        options,
        name: job.name,
        stage: job.stage,
        stage_idx: job.stage_idx,
        user_id: Some(user_id),
    })
}

/// Keeps the pipeline's commit reachable (and fetchable by runners) whatever happens to the branch.
async fn keep_around(app: &App, project_id: i64, pipeline_id: i64, sha: &str) -> Result<()> {
    let repo = app.repository(project_id);
    let name = format!("refs/pipelines/{pipeline_id}");
    let sha = sha.to_owned();
    tokio::task::spawn_blocking(move || repo.update_ref(&name, &sha, None)).await??;
    Ok(())
}

/// `POST /projects/:id/pipeline`.
pub async fn create_pipeline_by_api(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    ref_name: String,
    variables: Vec<PipelineVariable>,
    inputs: pipewright_ciyaml::PipelineInputs,
) -> Result<Pipeline> {
    let user = actor.require_user()?;
    actor.require_write_scope()?;
    if !access.can_update_build() {
        return Err(Error::forbidden());
    }
    if !crate::protected_refs::may_write_ref(app, access, &ref_name).await? {
        return Err(Error::base_error(format!(
            "Insufficient permissions for protected ref '{ref_name}'"
        )));
    }
    if !variables.is_empty() && !may_set_pipeline_variables(access) {
        return Err(Error::base_error(
            "Insufficient permissions to set pipeline variables",
        ));
    }
    let pipeline = create_pipeline(
        app,
        &access.project,
        user,
        NewPipelineRequest {
            ref_name,
            sha: None,
            before_sha: None,
            source: "api".into(),
            variables,
            inputs,
        },
        OnConfigError::Reject,
    )
    .await?;
    pipeline.ok_or_else(|| Error::base_error("No stages / jobs for this pipeline."))
}

/// The project's "minimum role to override pipeline variables".
pub fn may_set_pipeline_variables(access: &ProjectAccess) -> bool {
    let required = match access
        .project
        .ci_pipeline_variables_minimum_override_role
        .as_str()
    {
        "no_one_allowed" => return false,
        "maintainer" => crate::abilities::MAINTAINER,
        "owner" => crate::abilities::OWNER,
        _ => crate::abilities::DEVELOPER,
    };
    access.admin || access.level >= required
}

pub async fn find_pipeline(
    app: &App,
    access: &ProjectAccess,
    pipeline_id: i64,
) -> Result<Pipeline> {
    app.store
        .pipeline_by_id(pipeline_id)
        .await?
        .filter(|pipeline| pipeline.project_id == access.project.id)
        .ok_or_else(Error::record_not_found)
}

/// `GET /projects/:id/pipelines` filters (`username` is resolved here).
#[derive(Debug, Clone, Default)]
pub struct PipelineListQuery {
    pub filter: PipelineFilter,
    pub username: Option<String>,
}

pub async fn list_pipelines(
    app: &App,
    access: &ProjectAccess,
    query: PipelineListQuery,
    per_page: i64,
    page: i64,
) -> Result<(Vec<Pipeline>, i64)> {
    if !access.can_read_pipeline() {
        return Err(Error::forbidden());
    }
    let mut filter = query.filter;
    if let Some(username) = &query.username {
        match app.store.user_by_username(username).await? {
            Some(user) => filter.user_id = Some(user.id),
            // GitLab filters by a user that does not exist: nothing matches.
            None => return Ok((Vec::new(), 0)),
        }
    }
    Ok(app
        .store
        .list_pipelines_filtered(access.project.id, &filter, per_page, (page - 1) * per_page)
        .await?)
}

/// Average coverage of the pipeline's latest jobs, as GitLab shows it (`"87.25"`).
pub async fn pipeline_coverage(app: &App, pipeline: &Pipeline) -> Result<Option<String>> {
    Ok(app
        .store
        .pipeline_coverage(pipeline.id)
        .await?
        .map(|average| format!("{:.2}", average)))
}

/// The user who started a pipeline, for its entity.
pub async fn pipeline_user(app: &App, pipeline: &Pipeline) -> Result<Option<User>> {
    match pipeline.user_id {
        Some(id) => Ok(app.store.user_by_id(id).await?),
        None => Ok(None),
    }
}
