//! The parts of "may this runner take this job" that need the database: group runners take
//! jobs of projects anywhere under their group, and `ref_protected` runners only jobs on
//! protected refs (GitLab marks such builds `protected`).

use pipewright_store::model::{Job, Runner};

use crate::App;
use crate::error::Result;

pub async fn may_run(app: &App, runner: &Runner, job: &Job) -> Result<bool> {
    if runner.runner_type == "group_type" {
        let Some(group_id) = runner.group_id else {
            return Ok(false);
        };
        let Some(project) = app.store.project_by_id(job.project_id).await? else {
            return Ok(false);
        };
        let chain = crate::groups::group_chain_ids(app, project.namespace_id).await?;
        if !chain.contains(&group_id) {
            return Ok(false);
        }
    }
    if runner.access_level == "ref_protected"
        && !crate::protected_refs::job_ref_protected(app, job).await?
    {
        return Ok(false);
    }
    Ok(true)
}
