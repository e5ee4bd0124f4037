//! Job logs as append-only files under `<data-dir>/traces/`.
//!
//! The runner protocol appends only at the current end (`start == len`), so a per-job lock
//! around "check length, append" is all the consistency needed. Locks are striped to keep
//! memory bounded whatever the number of jobs.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Mutex;

const LOCK_STRIPES: usize = 256;

#[derive(Clone)]
pub struct TraceStore {
    dir: PathBuf,
    locks: Arc<Vec<Mutex<()>>>,
}

/// Result of an append attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Append {
    /// The bytes were written; the log is now `len` bytes long.
    Appended { len: u64 },
    /// `start` was not the current length; nothing was written.
    RangeMismatch { len: u64 },
}

impl TraceStore {
    pub fn new(dir: PathBuf) -> std::io::Result<TraceStore> {
        std::fs::create_dir_all(&dir)?;
        Ok(TraceStore {
            dir,
            locks: Arc::new((0..LOCK_STRIPES).map(|_| Mutex::new(())).collect()),
        })
    }

    fn path(&self, job_id: i64) -> PathBuf {
        self.dir.join(format!("{job_id}.log"))
    }

    fn lock(&self, job_id: i64) -> &Mutex<()> {
        let stripe = usize::try_from(job_id.rem_euclid(LOCK_STRIPES as i64)).unwrap_or(0);
        &self.locks[stripe]
    }

    /// Current size in bytes (0 when there is no log).
    pub async fn len(&self, job_id: i64) -> std::io::Result<u64> {
        match fs::metadata(self.path(job_id)).await {
            Ok(meta) => Ok(meta.len()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(err) => Err(err),
        }
    }

    /// Appends `bytes` if `start` is the current length.
    pub async fn append(&self, job_id: i64, start: u64, bytes: &[u8]) -> std::io::Result<Append> {
        let _guard = self.lock(job_id).lock().await;
        let len = self.len(job_id).await?;
        if start != len {
            return Ok(Append::RangeMismatch { len });
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(job_id))
            .await?;
        file.write_all(bytes).await?;
        file.flush().await?;
        Ok(Append::Appended {
            len: len + bytes.len() as u64,
        })
    }

    /// Opens the log positioned at `offset`, or `None` when the job has no log.
    pub async fn open_at(&self, job_id: i64, offset: u64) -> std::io::Result<Option<File>> {
        match File::open(self.path(job_id)).await {
            Ok(mut file) => {
                file.seek(SeekFrom::Start(offset)).await?;
                Ok(Some(file))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The whole log (used for checksums and tests; requests stream with [`Self::open_at`]).
    pub async fn read_all(&self, job_id: i64) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        if let Some(mut file) = self.open_at(job_id, 0).await? {
            file.read_to_end(&mut bytes).await?;
        }
        Ok(bytes)
    }

    pub async fn delete(&self, job_id: i64) -> std::io::Result<()> {
        let _guard = self.lock(job_id).lock().await;
        match fs::remove_file(self.path(job_id)).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_only_at_the_end() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let traces = TraceStore::new(dir.path().to_path_buf())?;
        assert_eq!(traces.len(7).await?, 0);
        assert_eq!(
            traces.append(7, 0, b"hello ").await?,
            Append::Appended { len: 6 }
        );
        assert_eq!(
            traces.append(7, 3, b"xx").await?,
            Append::RangeMismatch { len: 6 }
        );
        assert_eq!(
            traces.append(7, 6, b"world").await?,
            Append::Appended { len: 11 }
        );
        assert_eq!(traces.read_all(7).await?, b"hello world");
        traces.delete(7).await?;
        assert_eq!(traces.len(7).await?, 0);
        Ok(())
    }
}
