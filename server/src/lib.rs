//! meshperf's server crate: the `meshperf` command line, the perf server and the load worker.
//!
//! # Layout
//! - [`cli`]: argument parsing and the subcommands (`run`, ...), each turning errors into one
//!   sentence and an exit code.
//! - [`perf`]: profiles, runs and results; the one run pipeline every door takes; the perf
//!   gRPC service; runs spread over workers.
//! - [`policy`]: the rules below every door: allow-list, ceilings, the shared token.
//! - [`error`]: [`error::ServiceError`], the one error taxonomy of REST and gRPC.
//! - [`adapters`]: Meshery's adapter protocol (`meshes.MeshService`).
//! - [`serve`]: `meshperf serve` as a library: state, HTTP [`http::app`], graceful shutdown.
//! - [`config`]: the server's environment, validated; [`store`]: SQLite/PostgreSQL via sqlx.
//! - [`providers`]: who is calling (local and remote JWT providers); [`http`]: the router,
//!   errors, auth middleware, metrics, OpenAPI and a small HTTP client.

pub mod adapters;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod perf;
pub mod policy;
pub mod providers;
pub mod serve;
pub mod store;
