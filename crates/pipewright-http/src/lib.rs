//! Pipewright's HTTP edge: axum routers for `/api/v4` (GitLab's REST API and the runner
//! protocol) and git smart HTTP. Handlers are thin: parse, call one use case in
//! `pipewright-core`, render an entity. This crate never touches the database.

pub mod api;
pub mod auth;
pub mod body_params;
pub mod entities;
pub mod error;
pub mod git_http;
pub mod git_push;
pub mod moved;
pub mod oauth;
pub mod pagination;
pub mod params;
pub mod route_scopes;

pub use api::router;
