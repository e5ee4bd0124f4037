//! Running the `git` binary: a clean, explicit environment, no shell, stdin fed from a thread.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::GitError;

/// Environment every git process gets, instead of the server's own.
///
/// No system or user config, attributes or replace refs can change what git does, and git
/// never prompts. `safe.directory=*` because the repositories are ours even when the data
/// directory belongs to another uid (a mounted volume); `extra_config` is appended as
/// command-line config (`GIT_CONFIG_COUNT`).
pub(crate) fn clean_env(extra_config: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    let mut set = |k: &str, v: &OsStr| env.push((k.into(), v.to_owned()));
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    set("PATH", &path);
    // Keep the operator's timezone choice for commit dates; nothing else leaks through.
    if let Some(tz) = std::env::var_os("TZ") {
        set("TZ", &tz);
    }
    set("HOME", OsStr::new("/nonexistent"));
    set("XDG_CONFIG_HOME", OsStr::new("/nonexistent"));
    set("GIT_CONFIG_NOSYSTEM", OsStr::new("1"));
    set("GIT_CONFIG_GLOBAL", OsStr::new("/dev/null"));
    set("GIT_ATTR_NOSYSTEM", OsStr::new("1"));
    set("GIT_TERMINAL_PROMPT", OsStr::new("0"));
    set("GIT_NO_REPLACE_OBJECTS", OsStr::new("1"));
    // File names from requests are names, never pathspec magic like `:(glob)*`.
    set("GIT_LITERAL_PATHSPECS", OsStr::new("1"));
    set("GIT_ADVICE", OsStr::new("0"));
    set("LC_ALL", OsStr::new("C"));

    let mut config: Vec<(&str, &str)> = vec![("safe.directory", "*")];
    config.extend_from_slice(extra_config);
    set("GIT_CONFIG_COUNT", OsStr::new(&config.len().to_string()));
    for (i, (k, v)) in config.iter().enumerate() {
        set(&format!("GIT_CONFIG_KEY_{i}"), OsStr::new(k));
        set(&format!("GIT_CONFIG_VALUE_{i}"), OsStr::new(v));
    }
    env
}

/// One synchronous git invocation against a repository (`GIT_DIR`).
pub(crate) struct GitCommand {
    cmd: Command,
    label: String,
    stdin: Option<Vec<u8>>,
}

impl GitCommand {
    pub(crate) fn new(git_dir: &Path, args: &[&str]) -> Self {
        let mut cmd = Command::new("git");
        cmd.env_clear()
            .envs(clean_env(&[]))
            .env("GIT_DIR", git_dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let label = args.first().copied().unwrap_or_default().to_owned();
        GitCommand {
            cmd,
            label,
            stdin: None,
        }
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub(crate) fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub(crate) fn stdin(mut self, data: Vec<u8>) -> Self {
        self.cmd.stdin(Stdio::piped());
        self.stdin = Some(data);
        self
    }

    /// Runs to completion and returns whatever git said, whatever its exit status.
    pub(crate) fn output(mut self) -> Result<Output, GitError> {
        let label = self.label;
        let io_err = |source| GitError::Io {
            command: label.clone(),
            source,
        };
        let mut child = self.cmd.spawn().map_err(io_err)?;
        let Some(data) = self.stdin.take() else {
            return child.wait_with_output().map_err(io_err);
        };
        let Some(mut pipe) = child.stdin.take() else {
            return child.wait_with_output().map_err(io_err);
        };
        // Feed stdin from another thread so a large output cannot deadlock against a large input.
        std::thread::scope(|s| {
            let writer = s.spawn(move || {
                // git may exit before reading everything (e.g. on a bad object); its exit
                // status and stderr then tell the story, not this broken pipe.
                let _ = pipe.write_all(&data);
            });
            let out = child.wait_with_output().map_err(io_err);
            let _ = writer.join();
            out
        })
    }

    /// Runs to completion; a non-zero exit is an error carrying git's stderr.
    pub(crate) fn run(self) -> Result<Vec<u8>, GitError> {
        let label = self.label.clone();
        let out = self.output()?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(failed(&label, &out))
        }
    }

    /// Runs and returns stdout as a trimmed string.
    pub(crate) fn run_string(self) -> Result<String, GitError> {
        let out = self.run()?;
        Ok(String::from_utf8_lossy(&out).trim_end().to_owned())
    }
}

pub(crate) fn failed(label: &str, out: &Output) -> GitError {
    GitError::Failed {
        command: label.to_owned(),
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    }
}
