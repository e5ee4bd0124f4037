//! Cancelling a pipeline cancels its child pipelines too (GitLab's `cascade_to_children`);
//! multi-project downstream pipelines are independent and keep running.

use crate::App;
use crate::error::Result;
use crate::pipeline_actions::cancel_jobs;

/// Cancels every child pipeline below `pipeline_id`, depth first.
pub async fn cancel_child_pipelines(app: &App, pipeline_id: i64) -> Result<()> {
    let mut pending = vec![pipeline_id];
    while let Some(parent) = pending.pop() {
        for link in app.store.downstream_links(parent).await? {
            let Some(child) = app
                .store
                .pipeline_by_id(link.downstream_pipeline_id)
                .await?
            else {
                continue;
            };
            if child.source != "parent_pipeline" {
                continue;
            }
            cancel_jobs(app, child.id, |_| true).await?;
            pending.push(child.id);
        }
    }
    Ok(())
}
