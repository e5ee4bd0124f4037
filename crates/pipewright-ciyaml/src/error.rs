//! The one error type: GitLab's message plus what the server should do with it.

use std::fmt;

/// What kind of "no pipeline" this is, so the server can react like GitLab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The YAML is invalid: GitLab creates a `failed` pipeline carrying the message
    /// (API callers get a 400 with it).
    Invalid,
    /// `workflow:rules` matched nothing (or said `never`): no pipeline at all.
    FilteredOut,
    /// Every job was filtered out by rules/only/except (or only `.pre`/`.post` jobs
    /// remain): no pipeline at all.
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    kind: ErrorKind,
    message: String,
}

impl ConfigError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ConfigError {
            kind: ErrorKind::Invalid,
            message: message.into(),
        }
    }

    pub fn filtered_out() -> Self {
        ConfigError {
            kind: ErrorKind::FilteredOut,
            message: "Pipeline filtered out by workflow rules.".to_owned(),
        }
    }

    pub fn empty() -> Self {
        ConfigError {
            kind: ErrorKind::Empty,
            message: "No stages / jobs for this pipeline.".to_owned(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// GitLab's message, e.g. `jobs:build config contains unknown keys: scirpt`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when GitLab would not create any pipeline record (as opposed to a `failed` one).
    pub fn is_filtered(&self) -> bool {
        self.kind != ErrorKind::Invalid
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// Shorthand used by validators: `Err(invalid(format!(...)))`.
pub(crate) fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError::invalid(message)
}
