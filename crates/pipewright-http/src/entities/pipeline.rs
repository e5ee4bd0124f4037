use pipewright_core::model::{Pipeline, User};
use pipewright_domain::pipeline_timing::pipeline_queued_duration_secs;
use serde::Serialize;

use super::user::UserBasicEntity;
use super::{opt_timestamp, timestamp};

/// PipelineBasic (jobs-api.md §5.3): lists and the `pipeline` key of a job.
#[derive(Debug, Serialize)]
pub struct PipelineBasicEntity {
    pub id: i64,
    pub iid: i64,
    pub project_id: i64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub status: &'static str,
    pub source: String,
    pub created_at: String,
    pub updated_at: String,
    pub web_url: String,
}

impl PipelineBasicEntity {
    pub fn new(pipeline: &Pipeline, project_web_url: &str) -> PipelineBasicEntity {
        PipelineBasicEntity {
            id: pipeline.id,
            iid: pipeline.iid,
            project_id: pipeline.project_id,
            sha: pipeline.sha.clone(),
            ref_name: pipeline.ref_name.clone(),
            status: pipeline.status.as_str(),
            source: pipeline.source.clone(),
            created_at: timestamp(pipeline.created_at),
            updated_at: timestamp(pipeline.updated_at),
            web_url: format!("{project_web_url}/-/pipelines/{}", pipeline.id),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DetailedStatus {
    pub icon: String,
    pub text: String,
    pub label: String,
    pub group: String,
    pub tooltip: String,
    pub has_details: bool,
    pub details_path: String,
    pub illustration: Option<String>,
    pub favicon: String,
}

/// The full pipeline entity (`GET /projects/:id/pipelines/:pipeline_id`, creation).
#[derive(Debug, Serialize)]
pub struct PipelineEntity {
    #[serde(flatten)]
    pub basic: PipelineBasicEntity,
    pub before_sha: String,
    pub tag: bool,
    pub yaml_errors: Option<String>,
    pub user: Option<UserBasicEntity>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub committed_at: Option<String>,
    pub duration: Option<i64>,
    pub queued_duration: Option<i64>,
    pub coverage: Option<String>,
    pub detailed_status: DetailedStatus,
    pub name: Option<String>,
}

impl PipelineEntity {
    pub fn new(
        pipeline: &Pipeline,
        user: Option<&User>,
        project_web_url: &str,
        external_url: &str,
    ) -> PipelineEntity {
        let status = pipeline.status.as_str();
        let (text, label) = status_words(status);
        let web_url = format!("{project_web_url}/-/pipelines/{}", pipeline.id);
        let details_path = web_url
            .strip_prefix(external_url)
            .unwrap_or(&web_url)
            .to_owned();
        PipelineEntity {
            basic: PipelineBasicEntity::new(pipeline, project_web_url),
            before_sha: pipeline.before_sha.clone(),
            tag: pipeline.tag,
            yaml_errors: pipeline.yaml_errors.clone(),
            user: user.map(|user| UserBasicEntity::new(user, external_url)),
            started_at: opt_timestamp(pipeline.started_at),
            finished_at: opt_timestamp(pipeline.finished_at),
            committed_at: None,
            duration: pipeline.duration,
            queued_duration: pipeline_queued_duration_secs(
                pipeline.created_at,
                pipeline.started_at,
            ),
            coverage: None,
            detailed_status: DetailedStatus {
                icon: format!("status_{status}"),
                text: text.to_owned(),
                label: label.to_owned(),
                group: status.to_owned(),
                tooltip: label.to_owned(),
                has_details: true,
                details_path,
                illustration: None,
                favicon: format!("favicon_status_{status}"),
            },
            name: None,
        }
    }
}

fn status_words(status: &str) -> (&'static str, &'static str) {
    match status {
        "success" => ("Passed", "passed"),
        "failed" => ("Failed", "failed"),
        "running" => ("Running", "running"),
        "pending" => ("Pending", "pending"),
        "canceled" => ("Canceled", "canceled"),
        "canceling" => ("Canceling", "canceling"),
        "skipped" => ("Skipped", "skipped"),
        "manual" => ("Blocked", "waiting for manual action"),
        "scheduled" => ("Scheduled", "waiting for delayed job"),
        "created" => ("Created", "created"),
        "preparing" => ("Preparing", "preparing"),
        "waiting_for_resource" => ("Waiting", "waiting for resource"),
        _ => ("Waiting", "waiting for callback"),
    }
}
