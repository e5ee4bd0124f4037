//! Job artifacts (issue #5): runner uploads and downloads, the payload's `artifacts` and
//! `dependencies`, the user-facing Jobs API, expiry and erase. Records live in the store,
//! files behind [`crate::artifact_store::ArtifactStore`].

mod access;
mod archive;
mod dependencies;
mod dotenv;
mod expiry;
mod kinds;
mod upload;

use std::collections::HashMap;

pub use access::{
    EntryDownload, FileDownload, delete, download_archive, download_archive_for_ref,
    download_entry, download_entry_for_ref, download_for_runner, keep, latest_for_ref,
    open_live_archive,
};
pub use archive::is_safe_relative;
pub use dependencies::{
    NEEDS_WITHOUT_ARTIFACTS, dependency_jobs, fail_if_missing_dependency, payload_dependencies,
    payload_entries,
};
pub use expiry::{DEFAULT_EXPIRE_IN_SECS, ExpireIn, parse_expire_in, spawn_sweeper, sweep_expired};
pub use kinds::{KINDS, Kind};
pub use upload::{Staged, UploadParams, authorize_upload, finish_upload, too_large};

use pipewright_store::JobArtifact;
use pipewright_store::model::Job;

use crate::App;
use crate::artifact_store::artifact_key;
use crate::error::{Error, Result};

/// What the job entity shows about artifacts, batch-loaded for a page of jobs.
#[derive(Debug, Clone, Default)]
pub struct JobArtifacts {
    pub records: Vec<JobArtifact>,
    pub expire_at: Option<i64>,
    /// Size of the log of a finished job: GitLab lists it as a `trace` artifact (`job.log`).
    pub trace_size: Option<u64>,
}

impl JobArtifacts {
    /// `artifacts_file`: the archive, unless it expired.
    pub fn archive(&self, now: i64) -> Option<&JobArtifact> {
        self.records.iter().find(|record| {
            record.file_type == "archive" && record.expire_at.is_none_or(|at| at > now)
        })
    }
}

/// Artifacts of these jobs with two statements, whatever their number (plus a file
/// length per finished job for its log).
pub async fn load_for_jobs(app: &App, jobs: &[Job]) -> Result<HashMap<i64, JobArtifacts>> {
    let job_ids: Vec<i64> = jobs.iter().map(|job| job.id).collect();
    let job_ids = job_ids.as_slice();
    let expiry = app.store.artifacts_expiry_by_job_ids(job_ids).await?;
    let records = app.store.artifacts_by_job_ids(job_ids).await?;
    assemble(app, jobs, expiry, records).await
}

/// [`load_for_jobs`] from records already read (the job views read them with the rest).
pub async fn assemble(
    app: &App,
    jobs: &[Job],
    expiry: Vec<pipewright_store::ArtifactsExpiry>,
    records: Vec<JobArtifact>,
) -> Result<HashMap<i64, JobArtifacts>> {
    let mut by_job: HashMap<i64, JobArtifacts> = HashMap::new();
    for row in expiry {
        by_job.entry(row.job_id).or_default().expire_at = row.artifacts_expire_at;
    }
    for record in records {
        by_job
            .entry(record.job_id)
            .or_default()
            .records
            .push(record);
    }
    for job in jobs.iter().filter(|job| job.status.is_completed()) {
        let size = app.traces.len(job.id).await.map_err(Error::internal)?;
        if size > 0 {
            by_job.entry(job.id).or_default().trace_size = Some(size);
        }
    }
    Ok(by_job)
}

/// Whether the job has any artifact record (erase needs "something to erase").
pub async fn has_any(app: &App, job_id: i64) -> Result<bool> {
    Ok(!app.store.artifacts_by_job_ids(&[job_id]).await?.is_empty())
}

/// Deletes every artifact record and file of the job and clears `artifacts_expire_at`
/// (erase and `DELETE .../artifacts`); returns how many were removed.
pub async fn remove_all(app: &App, job: &Job) -> Result<usize> {
    let removed = app.store.delete_job_artifacts(job.id).await?;
    for record in &removed {
        let key = artifact_key(record.project_id, record.job_id, &record.file_type);
        app.artifacts.delete(&key).await.map_err(Error::internal)?;
    }
    app.store.set_artifacts_expire_at(job.id, None).await?;
    Ok(removed.len())
}
