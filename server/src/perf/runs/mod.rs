//! Runs: the one registry every door's runs go through, where they execute, their events, and
//! the REST door (Meshery's run routes, SSE, run status and cancel).
//!
//! # Layout
//! - [`registry`]: [`RunRegistry`], one record per run, the slots, the watchdog, shutdown.
//! - [`events`]: [`RunEvent`], the one event type every listener reads.
//! - [`executor`]: [`Executor`], where load comes from; [`LocalExecutor`] runs it in process.
//! - [`workers`]: [`WorkersExecutor`], runs split over registered load workers (gRPC).
//! - [`query`]: Meshery's run query parameters as a run request.
//! - [`handlers`]: the REST door (SSE streams, run status, cancel).
//! - [`views`]: what the REST door answers: runs, pages, SSE events.

pub mod events;
pub mod executor;
pub mod handlers;
pub mod query;
pub mod registry;
pub mod views;
pub mod workers;

pub use events::{Door, EventKind, Outcome, Progress, RunEvent, RunInfo};
pub use executor::{Executed, Execution, Executor, LocalExecutor};
pub use registry::{Limits, Placement, RunRegistry, Submission, Submitted};
pub use views::{Cancelling, RunPage, RunView, SseEvent, SseStatus};
pub use workers::WorkersExecutor;
