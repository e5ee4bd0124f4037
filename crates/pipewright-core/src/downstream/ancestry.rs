//! The pipelines above a bridge, and the limits GitLab puts on them.

use std::collections::HashMap;

use pipewright_store::model::Pipeline;

use crate::App;
use crate::error::Result;

/// GitLab's `MAX_NESTED_CHILDREN`: a pipeline and its same-project ancestors may number at
/// most this many before a bridge in it may no longer create a child.
pub(super) const MAX_NESTED_CHILDREN: usize = 2;
/// One (project, ref, source) may appear this many times in the chain above a bridge.
const MAX_SAME_PROJECT_UPSTREAMS: usize = 2;
/// GitLab's limit on a pipeline hierarchy; also bounds the ancestry walk.
pub(super) const MAX_HIERARCHY_SIZE: usize = 1000;

/// `pipeline` and the pipelines above it, nearest first.
pub(super) async fn ancestry(app: &App, pipeline: &Pipeline) -> Result<Vec<Pipeline>> {
    let mut chain = vec![pipeline.clone()];
    while chain.len() < MAX_HIERARCHY_SIZE {
        let Some(current) = chain.last() else { break };
        let Some(link) = app.store.upstream_link(current.id).await? else {
            break;
        };
        let Some(parent) = app.store.pipeline_by_id(link.upstream_pipeline_id).await? else {
            break;
        };
        chain.push(parent);
    }
    Ok(chain)
}

/// GitLab's cyclic-dependency check: among the pipelines above the bridge (child pipelines
/// do not count), one (project, ref, source) appears more than twice — one cycle
/// `A → B → A` is allowed, `A → B → A → B → A` is not.
pub(super) fn loops(ancestry: &[Pipeline]) -> bool {
    let mut seen: HashMap<(i64, &str, &str), usize> = HashMap::new();
    for pipeline in ancestry.iter().filter(|p| p.source != "parent_pipeline") {
        let key = (
            pipeline.project_id,
            pipeline.ref_name.as_str(),
            pipeline.source.as_str(),
        );
        let count = seen.entry(key).or_default();
        *count += 1;
        if *count > MAX_SAME_PROJECT_UPSTREAMS {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use pipewright_domain::Status;

    use super::*;

    fn pipeline(id: i64, project_id: i64, source: &str) -> Pipeline {
        Pipeline {
            id,
            project_id,
            iid: id,
            ref_name: "main".into(),
            tag: false,
            sha: "0".repeat(40),
            before_sha: "0".repeat(40),
            source: source.into(),
            status: Status::Running,
            user_id: None,
            yaml_errors: None,
            created_at: 0,
            updated_at: 0,
            started_at: None,
            finished_at: None,
            duration: None,
        }
    }

    #[test]
    fn a_project_may_appear_twice_above_a_bridge() {
        // The same (project, ref, source) twice is fine, a third time loops.
        let twice = [
            pipeline(4, 1, "pipeline"),
            pipeline(3, 2, "pipeline"),
            pipeline(2, 1, "pipeline"),
            pipeline(1, 2, "push"),
        ];
        assert!(!loops(&twice));
        let thrice = [
            pipeline(6, 1, "pipeline"),
            pipeline(5, 2, "pipeline"),
            pipeline(4, 1, "pipeline"),
            pipeline(3, 2, "pipeline"),
            pipeline(2, 1, "pipeline"),
            pipeline(1, 2, "push"),
        ];
        assert!(loops(&thrice));
        // Another ref is another configuration.
        let mut other_ref = thrice.clone();
        other_ref[0].ref_name = "other".into();
        assert!(!loops(&other_ref));
    }

    #[test]
    fn child_pipelines_do_not_count_as_loops() {
        let chain = [
            pipeline(4, 1, "parent_pipeline"),
            pipeline(3, 1, "parent_pipeline"),
            pipeline(2, 1, "parent_pipeline"),
            pipeline(1, 1, "push"),
        ];
        assert!(!loops(&chain));
    }
}
