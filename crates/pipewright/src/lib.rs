//! The `pipewright` binary's wiring, as a library so end-to-end tests can start a real server.

pub mod cli;
pub mod runner_cmd;
pub mod runner_config;
pub mod serve;
