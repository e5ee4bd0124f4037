use pipewright_core::jobs::JobView;
use pipewright_domain::state::{duration_secs, queued_duration_secs};
use serde::Serialize;

use super::commit::CommitEntity;
use super::pipeline::PipelineBasicEntity;
use super::runner::{RunnerEntity, RunnerManagerEntity};
use super::user::UserEntity;
use super::{opt_timestamp, timestamp};

#[derive(Debug, Serialize)]
pub struct JobProjectEntity {
    pub ci_job_token_scope_enabled: bool,
}

#[derive(Debug, Serialize)]
pub struct ArtifactFileEntity {
    pub filename: String,
    pub size: i64,
}

#[derive(Debug, Serialize)]
pub struct JobArtifactEntity {
    pub file_type: String,
    pub size: Option<i64>,
    pub filename: String,
    pub file_format: Option<String>,
}

/// GitLab's `JobBasic`: the keys every job-like entity starts with, in GitLab's order, ending
/// with a `project` whose shape depends on the route.
#[derive(Debug, Serialize)]
pub struct JobBasicEntity<P> {
    pub id: i64,
    pub status: &'static str,
    pub stage: String,
    pub name: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub tag: bool,
    pub coverage: Option<f64>,
    pub allow_failure: bool,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub erased_at: Option<String>,
    pub duration: Option<f64>,
    pub queued_duration: Option<f64>,
    pub user: Option<UserEntity>,
    pub commit: Option<CommitEntity>,
    pub pipeline: PipelineBasicEntity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub web_url: String,
    pub project: P,
}

impl<P> JobBasicEntity<P> {
    pub fn new(view: &JobView, external_url: &str, now: i64, project: P) -> JobBasicEntity<P> {
        let job = &view.job;
        let project_web_url = format!("{external_url}/{}", view.project.full_path);
        let failure_reason = (job.status == pipewright_domain::Status::Failed).then(|| {
            job.failure_reason
                .clone()
                .unwrap_or_else(|| "unknown_failure".to_owned())
        });
        JobBasicEntity {
            id: job.id,
            status: job.status.as_str(),
            stage: job.stage.clone(),
            name: job.name.clone(),
            ref_name: job.ref_name.clone(),
            tag: job.tag,
            coverage: job.coverage,
            allow_failure: job.allow_failure,
            created_at: timestamp(job.created_at),
            started_at: opt_timestamp(job.started_at),
            finished_at: opt_timestamp(job.finished_at),
            erased_at: opt_timestamp(job.erased_at),
            duration: duration_secs(job.started_at, job.finished_at, now),
            queued_duration: queued_duration_secs(job.queued_at, job.started_at, now),
            user: view
                .user
                .as_ref()
                .map(|user| UserEntity::new(user, external_url)),
            commit: view
                .commit
                .as_ref()
                .map(|commit| CommitEntity::new(commit, &project_web_url)),
            pipeline: PipelineBasicEntity::new(&view.pipeline, &project_web_url),
            failure_reason,
            web_url: format!("{project_web_url}/-/jobs/{}", job.id),
            project,
        }
    }
}

impl JobProjectEntity {
    pub fn of(view: &JobView) -> JobProjectEntity {
        JobProjectEntity {
            ci_job_token_scope_enabled: view.project.job_token_scope_enabled,
        }
    }
}

/// The job entity (jobs-api.md §5.1), keys in GitLab's order; conditional keys are omitted.
#[derive(Debug, Serialize)]
pub struct JobEntity {
    #[serde(flatten)]
    pub basic: JobBasicEntity<JobProjectEntity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_file: Option<ArtifactFileEntity>,
    pub artifacts: Vec<JobArtifactEntity>,
    pub runner: Option<RunnerEntity>,
    /// Present (possibly `null`) on builds, absent on bridges (a retried bridge is rendered
    /// with this entity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner_manager: Option<Option<RunnerManagerEntity>>,
    pub artifacts_expire_at: Option<String>,
    pub archived: bool,
    pub tag_list: Vec<String>,
    pub source: String,
}

impl JobEntity {
    pub fn new(view: &JobView, external_url: &str, now: i64) -> JobEntity {
        let job = &view.job;
        JobEntity {
            basic: JobBasicEntity::new(view, external_url, now, JobProjectEntity::of(view)),
            artifacts_file: view
                .artifacts
                .archive(now)
                .map(|archive| ArtifactFileEntity {
                    filename: archive.filename.clone(),
                    size: archive.size,
                }),
            artifacts: view
                .artifacts
                .records
                .iter()
                .map(|record| JobArtifactEntity {
                    file_type: record.file_type.clone(),
                    size: Some(record.size),
                    filename: record.filename.clone(),
                    file_format: Some(record.file_format.clone()),
                })
                .chain(view.artifacts.trace_size.map(|size| JobArtifactEntity {
                    file_type: "trace".to_owned(),
                    size: i64::try_from(size).ok(),
                    filename: "job.log".to_owned(),
                    file_format: Some("raw".to_owned()),
                }))
                .collect(),
            runner: view
                .runner
                .as_ref()
                .map(|runner| RunnerEntity::new(runner, now, job.status.is_executing())),
            runner_manager: job.is_build().then(|| {
                view.runner_manager.as_ref().map(|manager| {
                    RunnerManagerEntity::new(manager, now, job.status.is_executing())
                })
            }),
            artifacts_expire_at: opt_timestamp(view.artifacts.expire_at),
            archived: false,
            tag_list: job.tag_list.clone(),
            source: view.pipeline.source.clone(),
        }
    }
}
