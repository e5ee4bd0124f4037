//! The crate's error type for everything but `create_commit`'s user-facing failures.

use std::io;

/// A failure to run git or to make sense of what it said.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// An argument that could reach git (ref, path, sha, header) was refused before running it.
    #[error("invalid {what}: {value:?}")]
    Invalid { what: &'static str, value: String },
    /// The `git` binary could not be started or talked to.
    #[error("could not run git {command}: {source}")]
    Io {
        command: String,
        #[source]
        source: io::Error,
    },
    /// git ran and exited unsuccessfully.
    #[error("git {command} failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    /// A compare-and-set ref update lost a race: the ref no longer had the expected value.
    #[error("reference {name} was changed concurrently")]
    RefConflict { name: String },
    /// git's output did not have the expected shape.
    #[error("unexpected output from git {command}: {detail}")]
    Parse {
        command: &'static str,
        detail: String,
    },
}

impl GitError {
    pub(crate) fn invalid(what: &'static str, value: &str) -> Self {
        GitError::Invalid {
            what,
            value: value.to_owned(),
        }
    }

    pub(crate) fn parse(command: &'static str, detail: impl Into<String>) -> Self {
        GitError::Parse {
            command,
            detail: detail.into(),
        }
    }
}
