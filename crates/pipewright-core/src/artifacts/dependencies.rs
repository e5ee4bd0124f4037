//! The payload's `artifacts` entries (runner-protocol.md §5.8) and `dependencies` (§5.9,
//! ci-yaml.md §3.10), dotenv variables inherited from dependencies, and the pick-up check
//! that fails a job whose dependency's artifacts expired or were erased.

use std::collections::{HashMap, HashSet};

use pipewright_ciyaml::JobOptions;
use pipewright_domain::Status;
use pipewright_protocol::{ArtifactFile, ArtifactFormat, ArtifactSpec, Dependency, When};
use pipewright_store::model::Job;
use serde::Deserialize;

use super::kinds;
use crate::App;
use crate::artifact_store::artifact_key;
use crate::error::Result;

fn format_of(name: &str) -> ArtifactFormat {
    match name {
        "zip" => ArtifactFormat::Zip,
        "gzip" => ArtifactFormat::Gzip,
        _ => ArtifactFormat::Raw,
    }
}

fn when_of(text: Option<&str>) -> When {
    match text {
        Some("on_failure") => When::OnFailure,
        Some("always") => When::Always,
        _ => When::OnSuccess,
    }
}

/// `null` without `artifacts:`; else one `archive`/`zip` entry for paths/untracked and one
/// entry per report (`when: always`, the report's fixed format and default name).
pub fn payload_entries(options: &JobOptions) -> Option<Vec<ArtifactSpec>> {
    let artifacts = options.artifacts.as_ref()?;
    let mut entries = Vec::new();
    let untracked = artifacts.untracked.unwrap_or(false);
    if !artifacts.paths.is_empty() || untracked {
        entries.push(ArtifactSpec {
            name: artifacts.name.clone(),
            untracked,
            paths: artifacts.paths.clone(),
            exclude: artifacts.exclude.clone(),
            when: Some(when_of(artifacts.when.as_deref())),
            expire_in: artifacts.expire_in.clone(),
            artifact_type: "archive".into(),
            artifact_format: Some(ArtifactFormat::Zip),
        });
    }
    for report in &artifacts.reports {
        let Some(kind) = kinds::report_kind(&report.kind, report.format.as_deref()) else {
            continue;
        };
        entries.push(ArtifactSpec {
            name: Some(kind.default_name.to_owned()),
            untracked: false,
            paths: report.paths.clone(),
            exclude: Vec::new(),
            when: Some(When::Always),
            expire_in: artifacts.expire_in.clone(),
            artifact_type: kind.file_type.to_owned(),
            artifact_format: Some(format_of(kind.format)),
        });
    }
    (!entries.is_empty()).then_some(entries)
}

/// Key of the stored job options listing needs declared with `artifacts: false`.
pub const NEEDS_WITHOUT_ARTIFACTS: &str = "needs_without_artifacts";

/// The planned options this module reads, parsed leniently.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DependencyOptions {
    dependencies: Option<Vec<String>>,
    needs_without_artifacts: Vec<String>,
}

/// The jobs whose artifacts `job` receives: its needs (DAG job) or the latest jobs of
/// earlier stages, filtered by `dependencies:`; bridges never count.
pub async fn dependency_jobs(app: &App, job: &Job) -> Result<Vec<Job>> {
    let options = serde_json::from_str::<DependencyOptions>(&job.options).unwrap_or_default();
    let wanted = options.dependencies;
    // Nothing to look up: `dependencies: []`, `needs: []`, or a stage job of the first stage.
    if wanted.as_ref().is_some_and(Vec::is_empty)
        || job.needs.as_ref().is_some_and(Vec::is_empty)
        || (job.needs.is_none() && job.stage_idx == 0)
    {
        return Ok(Vec::new());
    }
    let jobs = app
        .store
        .dependency_candidates(job.pipeline_id, job.stage_idx, job.needs.as_deref())
        .await?;
    // A DAG job takes artifacts only from needs that did not opt out.
    let needs: Option<HashSet<&str>> = job.needs.as_ref().map(|needs| {
        needs
            .iter()
            .map(String::as_str)
            .filter(|name| !options.needs_without_artifacts.iter().any(|n| n == name))
            .collect()
    });
    let wanted: Option<HashSet<&str>> = wanted
        .as_ref()
        .map(|names| names.iter().map(String::as_str).collect());
    Ok(jobs
        .into_iter()
        .filter(|candidate| candidate.is_build() && candidate.id != job.id && !candidate.retried)
        .filter(|candidate| match &needs {
            Some(needs) => needs.contains(candidate.name.as_str()),
            None => candidate.stage_idx < job.stage_idx,
        })
        .filter(|candidate| {
            wanted
                .as_ref()
                .is_none_or(|wanted| wanted.contains(candidate.name.as_str()))
        })
        .collect())
}

/// A dependency is unusable once erased or once its artifacts expired (GitLab's
/// `valid_dependency?`).
fn invalid(job: &Job, expire_at: Option<i64>, now: i64) -> bool {
    job.erased_at.is_some() || expire_at.is_some_and(|at| at < now)
}

async fn expiries(app: &App, jobs: &[Job]) -> Result<HashMap<i64, Option<i64>>> {
    let ids: Vec<i64> = jobs.iter().map(|job| job.id).collect();
    Ok(app
        .store
        .artifacts_expiry_by_job_ids(&ids)
        .await?
        .into_iter()
        .map(|row| (row.job_id, row.artifacts_expire_at))
        .collect())
}

/// Fails a pending `job` with `missing_dependency_failure` when one of its dependencies'
/// artifacts expired or were erased; `true` when the job must not be handed out.
pub async fn fail_if_missing_dependency(app: &App, job: &Job) -> Result<bool> {
    let dependencies = dependency_jobs(app, job).await?;
    if dependencies.is_empty() {
        return Ok(false);
    }
    let expiries = expiries(app, &dependencies).await?;
    let now = pipewright_store::now_ms();
    let missing = dependencies.iter().any(|dependency| {
        invalid(
            dependency,
            expiries.get(&dependency.id).copied().flatten(),
            now,
        )
    });
    if !missing {
        return Ok(false);
    }
    let mut update = crate::processing::state_after(job, Status::Failed, now);
    update.failure_reason = Some("missing_dependency_failure".into());
    if app
        .store
        .update_job_state(job.id, Status::Pending, &update)
        .await?
    {
        crate::processing::process_pipeline(app, job.pipeline_id).await?;
    }
    Ok(true)
}

/// The payload's `dependencies` (with `artifacts_file` only for a live archive) and the
/// variables of their dotenv reports, in dependency order.
pub async fn payload_dependencies(
    app: &App,
    job: &Job,
    token: &str,
) -> Result<(Vec<Dependency>, Vec<(String, String)>)> {
    let dependencies = dependency_jobs(app, job).await?;
    if dependencies.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let ids: Vec<i64> = dependencies.iter().map(|job| job.id).collect();
    let now = pipewright_store::now_ms();
    let archives: HashMap<i64, _> = app
        .store
        .artifacts_by_job_ids(&ids)
        .await?
        .into_iter()
        .filter(|artifact| artifact.file_type == "archive")
        .filter(|artifact| artifact.expire_at.is_none_or(|at| at > now))
        .map(|artifact| (artifact.job_id, artifact))
        .collect();
    let mut entries = Vec::with_capacity(dependencies.len());
    for dependency in &dependencies {
        let mut artifacts_file = None;
        if let Some(archive) = archives.get(&dependency.id) {
            let key = artifact_key(archive.project_id, archive.job_id, "archive");
            if app
                .artifacts
                .local_path(&key)
                .await
                .map_err(crate::Error::internal)?
                .is_some()
            {
                artifacts_file = Some(ArtifactFile {
                    filename: archive.filename.clone(),
                    size: archive.size,
                });
            }
        }
        entries.push(Dependency {
            id: dependency.id,
            name: dependency.name.clone(),
            token: token.to_owned(),
            artifacts_file,
        });
    }
    let order: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut dotenv = app.store.dotenv_variables_by_job_ids(&ids).await?;
    dotenv.sort_by_key(|variable| order.get(&variable.job_id).copied().unwrap_or(usize::MAX));
    Ok((
        entries,
        dotenv
            .into_iter()
            .map(|variable| (variable.key, variable.value))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipewright_ciyaml::{Artifacts, Report};

    #[test]
    fn archive_and_report_entries() {
        let options = JobOptions {
            artifacts: Some(Artifacts {
                name: Some("dist".into()),
                paths: vec!["dist/".into()],
                exclude: vec!["dist/*.tmp".into()],
                when: Some("on_failure".into()),
                expire_in: Some("1 week".into()),
                reports: vec![
                    Report {
                        kind: "junit".into(),
                        paths: vec!["report.xml".into()],
                        format: None,
                    },
                    Report {
                        kind: "coverage_report".into(),
                        paths: vec!["cov.xml".into()],
                        format: Some("cobertura".into()),
                    },
                ],
                ..Artifacts::default()
            }),
            ..JobOptions::default()
        };
        let entries = payload_entries(&options).unwrap_or_default();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].artifact_type, "archive");
        assert_eq!(entries[0].artifact_format, Some(ArtifactFormat::Zip));
        assert_eq!(entries[0].when, Some(When::OnFailure));
        assert_eq!(entries[0].exclude, vec!["dist/*.tmp".to_owned()]);
        assert_eq!(entries[1].artifact_type, "junit");
        assert_eq!(entries[1].name.as_deref(), Some("junit.xml"));
        assert_eq!(entries[1].artifact_format, Some(ArtifactFormat::Gzip));
        assert_eq!(entries[1].when, Some(When::Always));
        assert_eq!(entries[2].artifact_type, "cobertura");
        assert!(payload_entries(&JobOptions::default()).is_none());
    }
}
