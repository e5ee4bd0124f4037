//! The runner's configuration file (TOML), written by `pipewright runner register` and read
//! by `pipewright runner [run] --config`. It holds the runner token: mode 0600, always.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Where `register` writes and `run` looks when nothing else is said.
pub const DEFAULT_PATH: &str = "./pipewright-runner.toml";

/// Contents of the file. Relative `builds_dir`s are relative to the file's directory.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerFile {
    /// Server web root.
    pub url: String,
    /// Runner authentication token.
    pub token: String,
    /// Runner id on the server (informative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<String>,
    /// Identifies this host to the server across restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builds_dir: Option<PathBuf>,
    /// Seconds between job requests when idle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<u64>,
}

// Hand-written so that the token never ends up in a log through `{:?}`.
impl std::fmt::Debug for RunnerFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerFile")
            .field("url", &self.url)
            .field("token", &"[MASKED]")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("concurrency", &self.concurrency)
            .field("builds_dir", &self.builds_dir)
            .finish_non_exhaustive()
    }
}

impl RunnerFile {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut file: Self =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if let Some(dir) = &file.builds_dir
            && dir.is_relative()
        {
            let base = path.parent().unwrap_or(Path::new("."));
            file.builds_dir = Some(base.join(dir));
        }
        Ok(file)
    }

    /// Writes the file with mode 0600 (through a temporary file, so a reader never sees half
    /// of it). An existing file is replaced only with `overwrite`.
    pub fn write(&self, path: &Path, overwrite: bool) -> anyhow::Result<()> {
        if !overwrite && path.exists() {
            anyhow::bail!(
                "{} already exists; pass --force to replace it",
                path.display()
            );
        }
        let text = format!(
            "# pipewright runner configuration (written by `pipewright runner register`).\n\
             # It holds the runner token: keep it private.\n{}",
            toml::to_string(self).context("encoding the configuration")?
        );
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pipewright-runner.toml".into());
        let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
        let written =
            write_private(&tmp, text.as_bytes()).and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.with_context(|| format!("writing {}", path.display()))
    }
}

/// Creates `path` (which must not exist) with mode 0600 and writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunnerFile {
        RunnerFile {
            url: "http://127.0.0.1:8080".into(),
            token: "glrt-abc".into(),
            id: Some(3),
            token_expires_at: None,
            system_id: Some("r_0123456789ab".into()),
            name: Some("laptop".into()),
            concurrency: Some(2),
            builds_dir: Some("builds".into()),
            poll_interval: None,
        }
    }

    #[test]
    fn round_trip_private_and_relative_to_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runner.toml");
        sample().write(&path, false).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let read = RunnerFile::read(&path).expect("read");
        assert_eq!(read.token, "glrt-abc");
        assert_eq!(read.builds_dir, Some(dir.path().join("builds")));
        assert!(sample().write(&path, false).is_err(), "no silent overwrite");
        sample().write(&path, true).expect("overwrite");
        assert!(!format!("{:?}", read).contains("glrt-abc"));
    }
}
