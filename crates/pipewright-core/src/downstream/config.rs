//! A child pipeline's configuration: the included local files, or a file a job of the
//! parent pipeline left in its artifacts (dynamic child pipelines).

use pipewright_ciyaml::Trigger;
use pipewright_store::model::Pipeline;

use crate::App;
use crate::abilities::ProjectAccess;
use crate::error::{Error, Result};

/// A child pipeline's configuration: exactly the included local files.
pub(super) fn child_config(trigger: &Trigger) -> Option<String> {
    if trigger.include.is_empty() {
        return None;
    }
    let mut config = String::from("include:\n");
    for (index, path) in trigger.include.iter().enumerate() {
        // A JSON string is a valid YAML scalar, whatever the path contains.
        let quoted = serde_json::to_string(path).ok()?;
        config.push_str(&format!("  - local: {quoted}\n"));
        // `trigger:include:inputs` go to that file (JSON is valid flow YAML).
        if let Some(Some(inputs)) = trigger.include_inputs.get(index) {
            let inputs = serde_json::to_string(inputs).ok()?;
            config.push_str(&format!("    inputs: {inputs}\n"));
        }
    }
    Some(config)
}

/// Largest generated configuration accepted (GitLab caps config files at 4 MiB).
const MAX_GENERATED_CONFIG: u64 = 4 * 1024 * 1024;

/// A dynamic child pipeline's configuration: the file `artifact` of the latest job called
/// `job` in the bridge's pipeline (`trigger:include:artifact`). `None` when it cannot be
/// read; GitLab takes one such file, not mixed with local ones.
pub(super) async fn artifact_config(
    app: &App,
    access: &ProjectAccess,
    pipeline: &Pipeline,
    trigger: &Trigger,
) -> Result<Option<String>> {
    let [include] = trigger.include_artifacts.as_slice() else {
        return Ok(None);
    };
    if !trigger.include.is_empty() {
        return Ok(None);
    }
    let Some(job) = app
        .store
        .pipeline_jobs(pipeline.id, false)
        .await?
        .into_iter()
        .find(|job| job.is_build() && job.name == include.job)
    else {
        return Ok(None);
    };
    let mut entry =
        match crate::artifacts::download_entry(app, access, job.id, &include.artifact).await {
            Ok(entry) => entry,
            Err(Error::Internal(text)) => return Err(Error::Internal(text)),
            Err(_) => return Ok(None),
        };
    if entry.size > MAX_GENERATED_CONFIG {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = entry.chunks.recv().await {
        bytes.extend_from_slice(&chunk.map_err(Error::internal)?);
    }
    Ok(String::from_utf8(bytes).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(include: &[&str]) -> Trigger {
        Trigger {
            project: None,
            branch: None,
            include: include.iter().map(|path| (*path).to_owned()).collect(),
            include_artifacts: Vec::new(),
            include_inputs: Vec::new(),
            inputs: None,
            strategy: None,
            forward: pipewright_ciyaml::Forward {
                yaml_variables: true,
                pipeline_variables: false,
            },
        }
    }

    #[test]
    fn child_config_includes_exactly_the_listed_files() {
        assert_eq!(
            child_config(&trigger(&["ci/a.yml", "b: c.yml"])).as_deref(),
            Some("include:\n  - local: \"ci/a.yml\"\n  - local: \"b: c.yml\"\n")
        );
        assert_eq!(child_config(&trigger(&[])), None);
    }
}
