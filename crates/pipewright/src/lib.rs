//! The `pipewright` binary's wiring, as a library so end-to-end tests can start a real server.

pub mod cli;
pub mod serve;
