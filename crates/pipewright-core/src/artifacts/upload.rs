//! `POST /jobs/:id/artifacts` (runner-protocol.md §10): the HTTP layer streams each file part
//! into a [`Staged`] file (size limit, SHA-256 on the fly), then [`finish_upload`] checks and
//! commits it.

use std::path::PathBuf;

use pipewright_store::NewArtifact;
use pipewright_store::model::Job;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::kinds;
use crate::App;
use crate::artifact_store::artifact_key;
use crate::error::{Error, Result};

/// GitLab's answer to an upload over the size limit.
pub fn too_large() -> Error {
    Error::message(413, "413 Request Entity Too Large")
}

/// An upload being written to a local staging file; removed on drop unless committed.
pub struct Staged {
    path: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: Sha256,
    size: u64,
    limit: u64,
    filename: Option<String>,
    sha256: String,
    committed: bool,
}

impl Staged {
    /// A new staging file; `filename` is the multipart part's file name, if any.
    pub async fn create(app: &App, filename: Option<&str>) -> Result<Staged> {
        let path = app.artifacts.staging_path();
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(Error::internal)?;
        Ok(Staged {
            path,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            limit: app.config.max_artifact_size,
            filename: filename.and_then(clean_filename),
            sha256: String::new(),
            committed: false,
        })
    }

    /// Appends a chunk; 413 as soon as the file outgrows the limit.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(too_large());
        }
        self.hasher.update(chunk);
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::internal("staged upload already finished"))?;
        file.write_all(chunk).await.map_err(Error::internal)
    }

    /// Flushes and closes the file; the digest is known from here on.
    pub async fn finish(&mut self) -> Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush().await.map_err(Error::internal)?;
            file.sync_all().await.map_err(Error::internal)?;
            self.sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        }
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a leftover only wastes space in the staging directory.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The last segment of a client-given name, if it is a usable file name.
fn clean_filename(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    let usable = !base.is_empty()
        && base != "."
        && base != ".."
        && base.len() <= 255
        && !base.chars().any(char::is_control);
    usable.then(|| base.to_owned())
}

/// Metadata fields of an upload, from the query string (Go) or multipart fields (Rust).
#[derive(Debug, Clone, Default)]
pub struct UploadParams {
    pub artifact_type: Option<String>,
    pub artifact_format: Option<String>,
    pub expire_in: Option<String>,
}

/// The job named by `:id` if `token` is its token and it is running or canceling (else the
/// runner API's 403 with `Job-Status`). Checked before the body is read.
pub async fn authorize_upload(app: &App, job_id: i64, token: &str) -> Result<Job> {
    crate::job_updates::authenticate_job(app, job_id, token).await
}

/// Validates and stores an upload (and the optional `metadata` file of an archive).
pub async fn finish_upload(
    app: &App,
    job: &Job,
    params: &UploadParams,
    file: Option<Staged>,
    metadata: Option<Staged>,
) -> Result<()> {
    let Some(mut file) = file else {
        return Err(Error::BadRequest("Missing artifacts file!".into()));
    };
    let file_type = params.artifact_type.as_deref().unwrap_or("archive");
    let kind = kinds::by_type(file_type)
        .ok_or_else(|| Error::Param("artifact_type does not have a valid value".into()))?;
    let format = params.artifact_format.as_deref().unwrap_or("zip");
    if !matches!(format, "zip" | "gzip" | "raw") {
        return Err(Error::Param(
            "artifact_format does not have a valid value".into(),
        ));
    }
    if kind.format != format {
        return Err(Error::message(
            400,
            "Invalid file format with specified file type",
        ));
    }
    let now = pipewright_store::now_ms();
    let expire_at = super::expiry::expire_at(app, params.expire_in.as_deref(), now)?;
    file.finish().await?;

    let checked = file.path.clone();
    let max_unpacked = app.config.max_artifact_unpacked_size;
    let dotenv = match kind.file_type {
        "archive" => {
            tokio::task::spawn_blocking(move || super::archive::check_zip(&checked, max_unpacked))
                .await?
                .map_err(Error::BadRequest)?;
            None
        }
        "dotenv" => Some(
            tokio::task::spawn_blocking(move || super::dotenv::read_gzip(&checked))
                .await?
                .map_err(Error::BadRequest)?,
        ),
        _ => None,
    };

    let stored = store_one(app, job, kind, file, expire_at).await?;
    if stored && let Some(variables) = dotenv {
        app.store
            .replace_dotenv_variables(job.id, &variables)
            .await?;
    }
    if kind.file_type == "archive" {
        if let Some(mut metadata) = metadata {
            metadata.finish().await?;
            let metadata_kind = kinds::by_type("metadata")
                .ok_or_else(|| Error::internal("metadata kind missing"))?;
            store_one(app, job, metadata_kind, metadata, expire_at).await?;
        }
        if stored {
            app.store.set_artifacts_expire_at(job.id, expire_at).await?;
        }
    }
    Ok(())
}

/// Records and commits one file. `Ok(false)`: the same content was already there (a no-op).
async fn store_one(
    app: &App,
    job: &Job,
    kind: &kinds::Kind,
    mut staged: Staged,
    expire_at: Option<i64>,
) -> Result<bool> {
    let filename = staged
        .filename
        .clone()
        .unwrap_or_else(|| kind.default_name.to_owned());
    // The record goes first: the unique (job, type) key decides a race before any file moves.
    let inserted = app
        .store
        .insert_artifact(&NewArtifact {
            job_id: job.id,
            project_id: job.project_id,
            file_type: kind.file_type,
            file_format: kind.format,
            filename: &filename,
            size: i64::try_from(staged.size).unwrap_or(i64::MAX),
            file_sha256: &staged.sha256,
            expire_at,
        })
        .await?;
    let Some(record) = inserted else {
        let existing = app.store.job_artifact(job.id, kind.file_type).await?;
        return match existing {
            Some(existing) if existing.file_sha256 == staged.sha256 => Ok(false),
            _ => Err(Error::message(
                400,
                "another artifact of the same type already exists",
            )),
        };
    };
    let key = artifact_key(job.project_id, job.id, kind.file_type);
    if let Err(err) = app.artifacts.commit(&key, &staged.path).await {
        app.store.delete_artifact(record.id).await?;
        return Err(Error::internal(err));
    }
    staged.committed = true;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_directories() {
        assert_eq!(
            clean_filename("artifacts.zip").as_deref(),
            Some("artifacts.zip")
        );
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(clean_filename("a\\b.gz").as_deref(), Some("b.gz"));
        assert_eq!(clean_filename(".."), None);
        assert_eq!(clean_filename(""), None);
    }
}
