use pipewright_core::bridges::BridgeView;
use serde::Serialize;

use super::commit::CommitEntity;
use super::job::{JobEntity, JobProjectEntity};
use super::pipeline::PipelineBasicEntity;
use super::user::UserEntity;

/// The bridge entity (jobs-api.md §5.2): the job entity's keys from `id` through `project`,
/// then `downstream_pipeline` (`null` until a downstream pipeline exists). No artifacts,
/// runner, `archived`, `tag_list` or `source` keys.
#[derive(Debug, Serialize)]
pub struct BridgeEntity {
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
    pub project: JobProjectEntity,
    pub downstream_pipeline: Option<PipelineBasicEntity>,
}

impl BridgeEntity {
    pub fn new(view: &BridgeView, external_url: &str, now: i64) -> BridgeEntity {
        // The shared keys are spelled once, by the job entity.
        let job = JobEntity::new(&view.job, external_url, now);
        BridgeEntity {
            id: job.id,
            status: job.status,
            stage: job.stage,
            name: job.name,
            ref_name: job.ref_name,
            tag: job.tag,
            coverage: job.coverage,
            allow_failure: job.allow_failure,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            erased_at: job.erased_at,
            duration: job.duration,
            queued_duration: job.queued_duration,
            user: job.user,
            commit: job.commit,
            pipeline: job.pipeline,
            failure_reason: job.failure_reason,
            web_url: job.web_url,
            project: job.project,
            downstream_pipeline: view.downstream.as_ref().map(|downstream| {
                PipelineBasicEntity::new(
                    &downstream.pipeline,
                    &format!("{external_url}/{}", downstream.project_full_path),
                )
            }),
        }
    }
}
