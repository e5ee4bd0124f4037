//! Job logs as append-only files under `<data-dir>/traces/`.
//!
//! The runner protocol appends only at the current end (`start == len`), so a per-job lock
//! around "check length, append" is all the consistency needed.
//!
//! Logs being written stay open: each job's file handle and length are kept in a bounded
//! table, so a chunk costs one `write` instead of `stat` + `open` + `write` + `close`. The
//! length in the table is the file's length as long as every write went through it (one
//! process owns the directory); any write error drops the entry and the next append measures
//! the file again.
//!
//! File operations here are plain blocking calls on the async thread, on purpose: a `stat` or
//! a page-cache write of a few KB takes microseconds, far less than a hop to tokio's blocking
//! pool (`tokio::fs`), which cost two thread switches per call. Runners send at most 1 MiB
//! per chunk (runner-protocol.md §8.1).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Open logs kept at once; past that the least recently written one is closed.
const OPEN_LOGS: usize = 512;

#[derive(Clone)]
pub struct TraceStore {
    dir: PathBuf,
    open: Arc<Mutex<OpenLogs>>,
}

/// Result of an append attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Append {
    /// The bytes were written; the log is now `len` bytes long.
    Appended { len: u64 },
    /// `start` was not the current length; nothing was written.
    RangeMismatch { len: u64 },
}

/// One log being written: its file (opened for appending) and length.
struct OpenLog {
    file: File,
    len: u64,
    last_used: u64,
}

/// Job id → its open log. The table's mutex is also the per-job append lock: appends are
/// short (one `write` of at most 1 MiB), so one lock costs less than a lock per job.
#[derive(Default)]
struct OpenLogs {
    logs: HashMap<i64, OpenLog>,
    /// A counter standing in for time, for closing the least recently written log.
    clock: u64,
}

impl OpenLogs {
    /// The open log of `job_id`, opening (and creating) the file when needed.
    fn get(&mut self, dir: &std::path::Path, job_id: i64) -> std::io::Result<&mut OpenLog> {
        self.clock += 1;
        let clock = self.clock;
        if !self.logs.contains_key(&job_id) {
            if self.logs.len() >= OPEN_LOGS
                && let Some(oldest) = self
                    .logs
                    .iter()
                    .min_by_key(|(_, log)| log.last_used)
                    .map(|(id, _)| *id)
            {
                self.logs.remove(&oldest);
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(log_path(dir, job_id))?;
            let len = file.metadata()?.len();
            self.logs.insert(
                job_id,
                OpenLog {
                    file,
                    len,
                    last_used: clock,
                },
            );
        }
        let log = self
            .logs
            .get_mut(&job_id)
            .ok_or_else(|| std::io::Error::other("open log vanished"))?;
        log.last_used = clock;
        Ok(log)
    }
}

fn log_path(dir: &std::path::Path, job_id: i64) -> PathBuf {
    dir.join(format!("{job_id}.log"))
}

impl TraceStore {
    pub fn new(dir: PathBuf) -> std::io::Result<TraceStore> {
        std::fs::create_dir_all(&dir)?;
        Ok(TraceStore {
            dir,
            open: Arc::default(),
        })
    }

    fn path(&self, job_id: i64) -> PathBuf {
        log_path(&self.dir, job_id)
    }

    fn logs(&self) -> std::io::Result<std::sync::MutexGuard<'_, OpenLogs>> {
        self.open
            .lock()
            .map_err(|_| std::io::Error::other("trace table lock poisoned"))
    }

    /// Current size in bytes (0 when there is no log).
    pub async fn len(&self, job_id: i64) -> std::io::Result<u64> {
        if let Some(log) = self.logs()?.logs.get(&job_id) {
            return Ok(log.len);
        }
        match std::fs::metadata(self.path(job_id)) {
            Ok(meta) => Ok(meta.len()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(0),
            Err(err) => Err(err),
        }
    }

    /// Appends `bytes` if `start` is the current length.
    pub async fn append(&self, job_id: i64, start: u64, bytes: &[u8]) -> std::io::Result<Append> {
        let mut logs = self.logs()?;
        let log = logs.get(&self.dir, job_id)?;
        if start != log.len {
            return Ok(Append::RangeMismatch { len: log.len });
        }
        match log.file.write_all(bytes) {
            Ok(()) => {
                log.len += bytes.len() as u64;
                Ok(Append::Appended { len: log.len })
            }
            Err(err) => {
                // Part of the chunk may be on disk: measure the file again next time.
                logs.logs.remove(&job_id);
                Err(err)
            }
        }
    }

    /// Closes the job's log file (it stays readable): called when the job stops running.
    pub fn close(&self, job_id: i64) {
        if let Ok(mut logs) = self.logs() {
            logs.logs.remove(&job_id);
        }
    }

    /// Opens the log positioned at `offset`, or `None` when the job has no log.
    pub async fn open_at(
        &self,
        job_id: i64,
        offset: u64,
    ) -> std::io::Result<Option<tokio::fs::File>> {
        match File::open(self.path(job_id)) {
            Ok(mut file) => {
                file.seek(SeekFrom::Start(offset))?;
                Ok(Some(tokio::fs::File::from_std(file)))
            }
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The whole log (used for checksums and tests; requests stream with [`Self::open_at`]).
    pub async fn read_all(&self, job_id: i64) -> std::io::Result<Vec<u8>> {
        let path = self.path(job_id);
        let read = tokio::task::spawn_blocking(move || {
            let mut bytes = Vec::new();
            match File::open(path) {
                Ok(mut file) => file.read_to_end(&mut bytes).map(|_| bytes),
                Err(err) if err.kind() == ErrorKind::NotFound => Ok(bytes),
                Err(err) => Err(err),
            }
        });
        read.await.map_err(std::io::Error::other)?
    }

    pub async fn delete(&self, job_id: i64) -> std::io::Result<()> {
        let mut logs = self.logs()?;
        logs.logs.remove(&job_id);
        match std::fs::remove_file(self.path(job_id)) {
            Err(err) if err.kind() != ErrorKind::NotFound => Err(err),
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

    #[tokio::test]
    async fn a_closed_or_evicted_log_continues_where_it_ended() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let traces = TraceStore::new(dir.path().to_path_buf())?;
        traces.append(1, 0, b"abc").await?;
        traces.close(1);
        assert_eq!(traces.len(1).await?, 3);
        assert_eq!(
            traces.append(1, 3, b"def").await?,
            Append::Appended { len: 6 }
        );
        // More jobs than the table holds: the oldest is closed, and reopened on its next chunk.
        for job in 2..(OPEN_LOGS as i64 + 3) {
            traces.append(job, 0, b"x").await?;
        }
        assert!(!traces.logs()?.logs.contains_key(&1));
        assert_eq!(
            traces.append(1, 6, b"g").await?,
            Append::Appended { len: 7 }
        );
        assert_eq!(traces.read_all(1).await?, b"abcdefg");
        // Another process (or a restart) sees the same bytes.
        let again = TraceStore::new(dir.path().to_path_buf())?;
        assert_eq!(again.len(1).await?, 7);
        Ok(())
    }
}
