//! The request and error types of `POST /projects/:id/repository/commits`.

use std::str::FromStr;

use crate::GitError;

/// What one action does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Create,
    Update,
    Delete,
    Move,
    Chmod,
}

impl ActionKind {
    /// GitLab's spelling (`create`, `update`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Update => "update",
            ActionKind::Delete => "delete",
            ActionKind::Move => "move",
            ActionKind::Chmod => "chmod",
        }
    }
}

impl FromStr for ActionKind {
    type Err = CommitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "create" => Ok(ActionKind::Create),
            "update" => Ok(ActionKind::Update),
            "delete" => Ok(ActionKind::Delete),
            "move" => Ok(ActionKind::Move),
            "chmod" => Ok(ActionKind::Chmod),
            other => Err(CommitError::UnknownAction(other.to_owned())),
        }
    }
}

/// One element of `actions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitAction {
    pub action: ActionKind,
    pub file_path: String,
    /// Required for `move`.
    pub previous_path: Option<String>,
    /// Raw bytes (the caller decodes base64). `None` on create/update means an empty file;
    /// on move it keeps the moved file's content.
    pub content: Option<Vec<u8>>,
    /// For `chmod` (and `create`): `true` makes the file executable.
    pub execute_filemode: Option<bool>,
    /// For update/move/delete: refuse if the file's last commit is no longer this one.
    pub last_commit_id: Option<String>,
}

impl CommitAction {
    fn new(action: ActionKind, file_path: &str) -> Self {
        CommitAction {
            action,
            file_path: file_path.to_owned(),
            previous_path: None,
            content: None,
            execute_filemode: None,
            last_commit_id: None,
        }
    }

    pub fn create(file_path: &str, content: impl Into<Vec<u8>>) -> Self {
        CommitAction {
            content: Some(content.into()),
            ..Self::new(ActionKind::Create, file_path)
        }
    }

    pub fn update(file_path: &str, content: impl Into<Vec<u8>>) -> Self {
        CommitAction {
            content: Some(content.into()),
            ..Self::new(ActionKind::Update, file_path)
        }
    }

    pub fn delete(file_path: &str) -> Self {
        Self::new(ActionKind::Delete, file_path)
    }

    pub fn move_file(previous_path: &str, file_path: &str, content: Option<Vec<u8>>) -> Self {
        CommitAction {
            previous_path: Some(previous_path.to_owned()),
            content,
            ..Self::new(ActionKind::Move, file_path)
        }
    }

    pub fn chmod(file_path: &str, executable: bool) -> Self {
        CommitAction {
            execute_filemode: Some(executable),
            ..Self::new(ActionKind::Chmod, file_path)
        }
    }
}

/// The parameters of `POST /projects/:id/repository/commits`, validated by the HTTP layer
/// for presence; everything repository-related is checked here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitRequest {
    pub branch: String,
    pub start_branch: Option<String>,
    pub start_sha: Option<String>,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// Who records the commit; the author when absent. The Commits API keeps the API user as
    /// committer even when `author_name`/`author_email` are given, as Gitaly does.
    pub committer: Option<(String, String)>,
    pub actions: Vec<CommitAction>,
    pub force: bool,
}

/// Why a commit was refused. `Display` is GitLab's message, as it appears in
/// `{"message": "..."}` with status 400; only [`CommitError::Git`] is a server fault.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("A file with this name already exists")]
    FileExists { path: String },
    #[error("A file with this name doesn't exist")]
    FileNotFound { path: String },
    #[error("A directory with this name already exists")]
    DirectoryExists { path: String },
    #[error("You must provide a file path")]
    EmptyPath,
    #[error("Path cannot include directory traversal")]
    DirectoryTraversal { path: String },
    #[error("invalid path: '{path}'")]
    InvalidPath { path: String },
    #[error("You must supply the original file path when moving file `{0}`.")]
    MissingPreviousPath(String),
    #[error("You can only create or edit files when you are on a branch")]
    NotOnBranch,
    #[error("A branch called '{0}' already exists. Switch to that branch in order to make changes")]
    BranchExists(String),
    #[error("Something went wrong when we tried to create '{0}' for you: Branch name is invalid")]
    InvalidBranchName(String),
    #[error("You can't pass both start_branch and start_sha")]
    StartBranchAndSha,
    #[error("Invalid start_sha '{0}'")]
    InvalidStartSha(String),
    #[error("Cannot find start_sha '{0}'")]
    StartShaNotFound(String),
    #[error("The file has changed since you started editing it: {0}")]
    FileChanged(String),
    #[error("actions is empty")]
    NoActions,
    #[error("Unknown action type `{0}`.")]
    UnknownAction(String),
    #[error("Invalid author: {0}")]
    InvalidAuthor(String),
    /// The branch moved between reading it and updating it (a concurrent push or commit).
    #[error("Could not update branch {0}. Please refresh and try again.")]
    Conflict(String),
    #[error(transparent)]
    Git(#[from] GitError),
}

impl CommitError {
    /// `true` when the request is at fault (GitLab answers 400), `false` for server faults.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, CommitError::Git(_))
    }
}
