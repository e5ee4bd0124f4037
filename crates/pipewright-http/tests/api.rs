//! Integration tests of the HTTP edge: every route through the real router on a temp-dir
//! database (harness: `tests/common/mod.rs`). One binary, one module per area.

#[path = "common/mod.rs"]
mod common;

#[path = "api/server.rs"]
mod server;

#[path = "api/auth.rs"]
mod auth;

#[path = "api/users.rs"]
mod users;

#[path = "api/projects.rs"]
mod projects;

#[path = "api/repository.rs"]
mod repository;

#[path = "api/pipelines.rs"]
mod pipelines;

#[path = "api/jobs_list.rs"]
mod jobs_list;

#[path = "api/jobs_single.rs"]
mod jobs_single;

#[path = "api/runner_protocol.rs"]
mod runner_protocol;

#[path = "api/processing.rs"]
mod processing;

#[path = "api/job_actions.rs"]
mod job_actions;

#[path = "api/golden.rs"]
mod golden;

#[path = "api/job_shapes.rs"]
mod job_shapes;

#[path = "api/many_jobs.rs"]
mod many_jobs;

#[path = "api/git_http.rs"]
mod git_http;
