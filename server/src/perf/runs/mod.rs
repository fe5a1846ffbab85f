//! Runs: the one registry every door's runs go through, where they execute, their events, and
//! the REST door (Meshery's run routes, SSE, run status and cancel).
//!
//! # Layout
//! - [`registry`]: [`RunRegistry`], one record per run, the slots, the watchdog, shutdown.
//! - [`events`]: [`RunEvent`], the one event type every listener reads.
//! - [`executor`]: [`Executor`], where load comes from; [`LocalExecutor`] runs it in process.
//! - [`follow`]: following one execution to its end (progress, cancel, wall time).
//! - [`stepped`]: stepped runs (search, sweep): the one driver of `smp::stepped`'s algorithm.
//! - [`stepped_query`]: a stepped run's query parameters on the run routes.
//! - [`workers`]: [`WorkersExecutor`], runs split over registered load workers (gRPC).
//! - [`query`]: Meshery's run query parameters as a run request (and a stepped run's).
//! - [`handlers`]: the REST door (SSE streams, run status, cancel).
//! - [`views`]: what the REST door answers: runs, pages, SSE events.

pub mod events;
pub mod executor;
pub mod follow;
pub mod handlers;
pub mod query;
pub mod registry;
pub mod stepped;
pub mod stepped_query;
pub mod views;
pub mod workers;

pub use events::{Door, EventKind, Outcome, Progress, RunEvent, RunInfo, StepEvent};
pub use executor::{Executed, Execution, Executor, LocalExecutor};
pub use registry::{Limits, Placement, RunKind, RunRegistry, Submission, Submitted};
pub use stepped::{StepHost, SteppedOutcome, SteppedRun, SteppedSubmission};
pub use views::{Cancelling, RunPage, RunView, SseEvent, SseStatus};
pub use workers::WorkersExecutor;
