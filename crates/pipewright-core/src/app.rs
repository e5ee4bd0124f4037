use std::path::{Path, PathBuf};
use std::sync::Arc;

use pipewright_store::Store;

use crate::queue::JobQueue;
use crate::traces::TraceStore;

/// Settings the use cases need.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Web root used in `web_url`s and clone URLs, without a trailing slash.
    pub external_url: String,
    /// Seconds a runner should wait between log uploads (`X-GitLab-Trace-Update-Interval`).
    pub trace_update_interval: u64,
    /// Default job timeout in seconds (GitLab's project default: 60 minutes).
    pub default_job_timeout: i64,
    /// How long `POST /jobs/request` may hold a runner whose `last_update` is current
    /// (GitLab Workhorse: 50 s). Zero answers at once.
    pub long_poll: std::time::Duration,
    /// Largest artifact file a runner may upload, in bytes (GitLab's default: 100 MiB).
    pub max_artifact_size: u64,
    /// Largest total a zip artifact may declare unpacked, and the cap on one extracted file.
    pub max_artifact_unpacked_size: u64,
    /// `expire_in` when an upload gives none, in seconds; `None` keeps artifacts forever.
    pub default_artifacts_expire_in: Option<u64>,
    /// GitLab's `ci_jobs_trace_size_limit` in MiB (default 100; 0 = unlimited): a log chunk
    /// that would reach it fails the job with `trace_size_exceeded`.
    pub max_trace_size_mb: u64,
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>, external_url: &str) -> Config {
        Config {
            data_dir: data_dir.into(),
            external_url: external_url.trim_end_matches('/').to_owned(),
            trace_update_interval: 3,
            default_job_timeout: 3600,
            long_poll: std::time::Duration::ZERO,
            max_artifact_size: 100 * 1024 * 1024,
            max_artifact_unpacked_size: 4 * 1024 * 1024 * 1024,
            default_artifacts_expire_in: Some(crate::artifacts::DEFAULT_EXPIRE_IN_SECS),
            max_trace_size_mb: 100,
        }
    }

    pub fn repositories_dir(&self) -> PathBuf {
        self.data_dir.join("repositories")
    }

    pub fn traces_dir(&self) -> PathBuf {
        self.data_dir.join("traces")
    }

    pub fn artifacts_dir(&self) -> PathBuf {
        self.data_dir.join("artifacts")
    }
}

/// Everything a use case needs, cheap to clone.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub config: Arc<Config>,
    pub traces: TraceStore,
    /// Artifact files (the filesystem today; an object store later).
    pub artifacts: Arc<dyn crate::artifact_store::ArtifactStore>,
    pub queue: JobQueue,
    pub commits: crate::commit_cache::CommitCache,
    pub access: crate::access_cache::AccessCache,
    pub settings: crate::settings::Settings,
    /// Bridges waiting to trigger, dependent bridges waiting for their downstream pipeline.
    pub downstream: crate::downstream::DownstreamQueue,
    pub(crate) pipeline_locks: Arc<crate::processing::PipelineLocks>,
}

impl App {
    pub fn new(store: Store, config: Config) -> std::io::Result<App> {
        std::fs::create_dir_all(config.repositories_dir())?;
        let traces = TraceStore::new(config.traces_dir())?;
        let artifacts = Arc::new(crate::artifact_store::FsArtifactStore::new(
            config.artifacts_dir(),
        )?);
        Ok(App {
            store,
            config: Arc::new(config),
            traces,
            artifacts,
            queue: JobQueue::default(),
            commits: crate::commit_cache::CommitCache::default(),
            access: crate::access_cache::AccessCache::default(),
            settings: crate::settings::Settings::default(),
            downstream: Default::default(),
            pipeline_locks: Arc::default(),
        })
    }

    pub fn repository_path(&self, project_id: i64) -> PathBuf {
        self.config
            .repositories_dir()
            .join(format!("{project_id}.git"))
    }

    pub fn repository(&self, project_id: i64) -> pipewright_git::Repo {
        pipewright_git::Repo::open(&self.repository_path(project_id))
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }
}
