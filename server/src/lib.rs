//! meshperf's server crate: the `meshperf` command line, the perf server and the load worker.
//!
//! # Layout
//! - [`cli`]: argument parsing and the subcommands (`run`, ...), each turning errors into one
//!   sentence and an exit code.
//! - [`perf`]: the perf gRPC service and worker, and runs spread over workers.
//! - [`adapters`]: Meshery's adapter protocol (`meshes.MeshService`).

pub mod adapters;
pub mod cli;
pub mod perf;
