//! Where artifact files live. Records are in the database; the bytes go through this small
//! trait so an object store can replace the filesystem later. Uploads are streamed into a
//! local staging file first (size limit, SHA-256, zip checks), then committed under a key.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use tokio::fs;
use tokio::io::AsyncRead;

pub type IoFuture<'a, T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send + 'a>>;
pub type ArtifactReader = Pin<Box<dyn AsyncRead + Send>>;

/// Storage of artifact files by key (`<project id>/<job id>/<file type>`).
pub trait ArtifactStore: Send + Sync {
    /// A fresh local path to stream an upload into (removed by the caller unless committed).
    fn staging_path(&self) -> PathBuf;
    /// Moves a staged file under `key`, replacing what was there.
    fn commit<'a>(&'a self, key: &'a str, staged: &'a Path) -> IoFuture<'a, ()>;
    /// The file and its size, or `None` when it is gone.
    fn open<'a>(&'a self, key: &'a str) -> IoFuture<'a, Option<(ArtifactReader, u64)>>;
    /// A local file for random access (zip entries). An object store would fetch a copy.
    fn local_path<'a>(&'a self, key: &'a str) -> IoFuture<'a, Option<PathBuf>>;
    /// Removes the file; a missing one is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> IoFuture<'a, ()>;
}

/// The key of one artifact file. `file_type` comes from a fixed list, so it is a safe segment.
pub fn artifact_key(project_id: i64, job_id: i64, file_type: &str) -> String {
    format!("{project_id}/{job_id}/{file_type}")
}

/// Files under `<data-dir>/artifacts/`, staged in `<data-dir>/artifacts/tmp/` (same
/// filesystem, so a commit is a rename).
#[derive(Debug, Clone)]
pub struct FsArtifactStore {
    dir: PathBuf,
}

impl FsArtifactStore {
    pub fn new(dir: PathBuf) -> io::Result<FsArtifactStore> {
        std::fs::create_dir_all(dir.join("tmp"))?;
        Ok(FsArtifactStore { dir })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }
}

fn not_found_as_none<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

impl ArtifactStore for FsArtifactStore {
    fn staging_path(&self) -> PathBuf {
        let suffix: u64 = rand::random();
        self.dir.join("tmp").join(format!("upload-{suffix:016x}"))
    }

    fn commit<'a>(&'a self, key: &'a str, staged: &'a Path) -> IoFuture<'a, ()> {
        Box::pin(async move {
            let path = self.path(key);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).await?;
            }
            fs::rename(staged, &path).await
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> IoFuture<'a, Option<(ArtifactReader, u64)>> {
        Box::pin(async move {
            let Some(file) = not_found_as_none(fs::File::open(self.path(key)).await)? else {
                return Ok(None);
            };
            let len = file.metadata().await?.len();
            Ok(Some((Box::pin(file) as ArtifactReader, len)))
        })
    }

    fn local_path<'a>(&'a self, key: &'a str) -> IoFuture<'a, Option<PathBuf>> {
        Box::pin(async move {
            let path = self.path(key);
            Ok(not_found_as_none(fs::metadata(&path).await)?.map(|_| path))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> IoFuture<'a, ()> {
        Box::pin(async move {
            not_found_as_none(fs::remove_file(self.path(key)).await)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn commits_opens_and_deletes() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = FsArtifactStore::new(dir.path().join("artifacts"))?;
        let staged = store.staging_path();
        fs::write(&staged, b"zip bytes").await?;
        let key = artifact_key(1, 2, "archive");
        store.commit(&key, &staged).await?;
        assert!(!staged.exists());
        let Some((mut reader, len)) = store.open(&key).await? else {
            panic!("committed file missing");
        };
        assert_eq!(len, 9);
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await?;
        assert_eq!(bytes, b"zip bytes");
        assert!(store.local_path(&key).await?.is_some());
        store.delete(&key).await?;
        store.delete(&key).await?;
        assert!(store.open(&key).await?.is_none());
        Ok(())
    }
}
