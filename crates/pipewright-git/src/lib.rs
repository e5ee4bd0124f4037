//! Everything Pipewright does with git, through the `git` binary.
//!
//! Repositories are bare directories on disk. Synchronous operations ([`Repo`]) run git with
//! `std::process::Command` and are meant to be called inside `spawn_blocking`; the smart-HTTP
//! wrapper ([`smart_http::http_backend`]) is async and streams both directions.
//!
//! Every git process gets a clean environment (no system or user config, no prompts) and is
//! started without a shell; refs, revisions and paths from requests are validated before they
//! reach a command line. This crate knows nothing of databases, HTTP frameworks or users.

mod cmd;
mod commit;
mod create_commit;
mod error;
mod merge_base;
mod repo;
pub mod smart_http;
pub mod validate;

pub use commit::Commit;
pub use create_commit::{ActionKind, CommitAction, CommitError, CommitRequest};
pub use error::GitError;
pub use repo::{Branch, Repo, TreeEntry};
