//! Reading and managing a job's artifacts: the runner's dependency download (§11) and the
//! user-facing Jobs API endpoints (download, one file, by ref, keep, delete).

use bytes::Bytes;
use pipewright_store::model::Job;
use tokio::sync::mpsc;

use super::archive::{self, Entry};
use crate::App;
use crate::abilities::ProjectAccess;
use crate::artifact_store::{ArtifactReader, artifact_key};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::tokens::hash_token;

/// A whole artifact file, ready to stream.
pub struct FileDownload {
    pub filename: String,
    pub size: u64,
    pub reader: ArtifactReader,
}

/// One file of an archive, inflated as it streams.
pub struct EntryDownload {
    /// The entry's base name (for `Content-Disposition`).
    pub filename: String,
    pub size: u64,
    pub chunks: mpsc::Receiver<std::io::Result<Bytes>>,
}

/// GitLab's `not_found!` without a resource.
fn not_found() -> Error {
    Error::NotFound("404 Not Found".into())
}

/// The job's unexpired `archive` whose file exists, opened.
pub async fn open_live_archive(app: &App, job: &Job) -> Result<Option<FileDownload>> {
    let Some(record) = app.store.job_artifact(job.id, "archive").await? else {
        return Ok(None);
    };
    if record
        .expire_at
        .is_some_and(|at| at <= pipewright_store::now_ms())
    {
        return Ok(None);
    }
    let key = artifact_key(record.project_id, record.job_id, "archive");
    let opened = app.artifacts.open(&key).await.map_err(Error::internal)?;
    Ok(opened.map(|(reader, size)| FileDownload {
        filename: record.filename,
        size,
        reader,
    }))
}

/// `GET /jobs/:id/artifacts` (runner side): `:id` is the dependency. Accepted tokens: the
/// dependency's own, or that of an executing job of the same project.
pub async fn download_for_runner(app: &App, job_id: i64, token: &str) -> Result<FileDownload> {
    let forbidden = || Error::JobForbidden {
        job_status: None,
        message: "403 Forbidden".into(),
    };
    let caller = app
        .store
        .job_by_token_hash(&hash_token(token))
        .await?
        .ok_or_else(forbidden)?;
    let dependency = app
        .store
        .job_by_id(job_id)
        .await?
        .filter(Job::is_build)
        .ok_or_else(Error::record_not_found)?;
    let allowed = caller.id == dependency.id
        || (caller.status.is_executing() && caller.project_id == dependency.project_id);
    if !allowed {
        return Err(forbidden());
    }
    open_live_archive(app, &dependency)
        .await?
        .ok_or_else(not_found)
}

/// `GET /projects/:id/jobs/:job_id/artifacts`.
pub async fn download_archive(
    app: &App,
    access: &ProjectAccess,
    job_id: i64,
) -> Result<FileDownload> {
    let job = readable_build(app, access, job_id).await?;
    open_live_archive(app, &job).await?.ok_or_else(not_found)
}

/// `GET /projects/:id/jobs/:job_id/artifacts/*artifact_path`.
pub async fn download_entry(
    app: &App,
    access: &ProjectAccess,
    job_id: i64,
    path: &str,
) -> Result<EntryDownload> {
    let job = readable_build(app, access, job_id).await?;
    entry_of(app, &job, path).await
}

/// The latest job called `job_name` of the newest successful pipeline of `ref_name`
/// (`/projects/:id/jobs/artifacts/:ref_name/...`).
pub async fn latest_for_ref(
    app: &App,
    access: &ProjectAccess,
    ref_name: &str,
    job_name: &str,
) -> Result<Job> {
    if !access.can_read_build() {
        return Err(Error::forbidden());
    }
    let pipeline_id = app
        .store
        .latest_successful_pipeline_id(access.project.id, ref_name)
        .await?
        .ok_or_else(Error::record_not_found)?;
    app.store
        .pipeline_jobs(pipeline_id, false)
        .await?
        .into_iter()
        .filter(|job| job.is_build() && job.name == job_name)
        .max_by_key(|job| job.id)
        .ok_or_else(Error::record_not_found)
}

/// `.../artifacts/:ref_name/download?job=`.
pub async fn download_archive_for_ref(
    app: &App,
    access: &ProjectAccess,
    ref_name: &str,
    job_name: &str,
) -> Result<FileDownload> {
    let job = latest_for_ref(app, access, ref_name, job_name).await?;
    require_download(access, &job)?;
    open_live_archive(app, &job).await?.ok_or_else(not_found)
}

/// `.../artifacts/:ref_name/raw/*artifact_path?job=`.
pub async fn download_entry_for_ref(
    app: &App,
    access: &ProjectAccess,
    ref_name: &str,
    job_name: &str,
    path: &str,
) -> Result<EntryDownload> {
    let job = latest_for_ref(app, access, ref_name, job_name).await?;
    require_download(access, &job)?;
    entry_of(app, &job, path).await
}

async fn readable_build(app: &App, access: &ProjectAccess, job_id: i64) -> Result<Job> {
    if !access.can_read_build() {
        return Err(Error::forbidden());
    }
    let job = crate::jobs::find_build(app, access, job_id).await?;
    require_download(access, &job)?;
    Ok(job)
}

/// `artifacts:access` / `artifacts:public` of the job, read leniently.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct AccessOptions {
    artifacts: Option<AccessKeys>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct AccessKeys {
    public: Option<bool>,
    access: Option<String>,
}

/// Who may download through the Jobs API: `access: none` nobody, `developer` (or
/// `public: false`) Developers and up, `all` (default) whoever reads the job. Jobs that
/// depend on it download over the runner API whatever this says.
fn require_download(access: &ProjectAccess, job: &Job) -> Result<()> {
    let keys = serde_json::from_str::<AccessOptions>(&job.options)
        .unwrap_or_default()
        .artifacts
        .unwrap_or_default();
    let allowed = match keys.access.as_deref() {
        Some("none") => false,
        Some("developer") => access.can_update_build(),
        Some(_) => true,
        None => keys.public != Some(false) || access.can_update_build(),
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

async fn entry_of(app: &App, job: &Job, path: &str) -> Result<EntryDownload> {
    let path = path.trim_start_matches('/');
    if !archive::is_safe_relative(path) {
        return Err(Error::BadRequest("artifact path is invalid".into()));
    }
    if open_live_archive(app, job).await?.is_none() {
        return Err(not_found());
    }
    let key = artifact_key(job.project_id, job.id, "archive");
    let local = app
        .artifacts
        .local_path(&key)
        .await
        .map_err(Error::internal)?
        .ok_or_else(not_found)?;
    let cap = app.config.max_artifact_unpacked_size;
    match archive::open_entry(local, path.to_owned(), cap)
        .await
        .map_err(Error::internal)?
    {
        Entry::Found { size, chunks } => Ok(EntryDownload {
            filename: path.rsplit('/').next().unwrap_or(path).to_owned(),
            size,
            chunks,
        }),
        Entry::Missing => Err(not_found()),
        Entry::TooLarge => Err(Error::BadRequest(format!(
            "artifact file is larger than {cap} bytes"
        ))),
    }
}

/// `POST /projects/:id/jobs/:job_id/artifacts/keep`: the job's artifacts never expire.
pub async fn keep(app: &App, actor: &Actor, access: &ProjectAccess, job_id: i64) -> Result<Job> {
    actor.require_write_scope()?;
    if !access.can_update_build() {
        return Err(Error::forbidden());
    }
    let job = crate::jobs::find_build(app, access, job_id).await?;
    if open_live_archive(app, &job).await?.is_none() {
        return Err(not_found());
    }
    app.store.keep_job_artifacts(job.id).await?;
    app.store
        .job_by_id_fresh(job.id)
        .await?
        .ok_or_else(Error::record_not_found)
}

/// `DELETE /projects/:id/jobs/:job_id/artifacts` (Maintainer): every artifact of the job.
pub async fn delete(app: &App, actor: &Actor, access: &ProjectAccess, job_id: i64) -> Result<()> {
    actor.require_write_scope()?;
    if !access.can_admin_build() {
        return Err(Error::forbidden());
    }
    let job = crate::jobs::find_build(app, access, job_id).await?;
    super::remove_all(app, &job).await?;
    Ok(())
}
