//! Runs: starting load tests over REST, streaming their progress as server-sent events,
//! queueing them under a concurrency cap, cancelling them, and storing their results.
//!
//! # Layout
//! - [`model`]: the run request (query parameters, profile, SMP body) and the safety checks.
//! - [`executor`]: [`Executor`], where load comes from; [`LocalExecutor`] runs it in process.
//! - [`workers`]: [`WorkersExecutor`], runs split over registered load workers (gRPC).
//! - [`manager`]: [`RunManager`], the queue, the run tasks and their events.
//! - [`handlers`]: the axum handlers (SSE streams, run status, cancel).

pub mod executor;
pub mod handlers;
pub mod manager;
pub mod model;
pub mod workers;

pub use executor::{Execution, Executor, LocalExecutor, Progress};
pub use manager::{RunEvent, RunManager};
pub use model::RunSpec;
pub use workers::WorkersExecutor;
