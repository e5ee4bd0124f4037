use pipewright_core::bridges::BridgeView;
use serde::Serialize;

use super::job::{JobBasicEntity, JobProjectEntity};
use super::pipeline::PipelineBasicEntity;

/// The bridge entity (jobs-api.md §5.2): the job entity's keys from `id` through `project`,
/// then `downstream_pipeline` (`null` until a downstream pipeline exists). No artifacts,
/// runner, `archived`, `tag_list` or `source` keys.
#[derive(Debug, Serialize)]
pub struct BridgeEntity {
    #[serde(flatten)]
    pub basic: JobBasicEntity<JobProjectEntity>,
    pub downstream_pipeline: Option<PipelineBasicEntity>,
}

impl BridgeEntity {
    pub fn new(view: &BridgeView, external_url: &str, now: i64) -> BridgeEntity {
        BridgeEntity {
            basic: JobBasicEntity::new(
                &view.job,
                external_url,
                now,
                JobProjectEntity::of(&view.job),
            ),
            downstream_pipeline: view.downstream.as_ref().map(|downstream| {
                PipelineBasicEntity::new(
                    &downstream.pipeline,
                    &format!("{external_url}/{}", downstream.project_full_path),
                )
            }),
        }
    }
}
