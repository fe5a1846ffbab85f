//! The perf gRPC service on port 10013 and the worker that serves it.
//!
//! # Layout
//! - [`proto`]: the generated `meshperf.perf.v1` messages, client and server.
//! - [`server`]: [`serve`] both services (perf and Meshery adapter) on one listener.
//! - [`service`]: the perf service: run and stream, cancel, capabilities.
//! - [`runs`]: admission under the run cap and the task that follows one engine run.
//! - [`policy`]: the shared token, the target allow-list and the ceilings.
//! - [`convert`]: engine types to and from wire messages.
//! - [`error`]: [`WorkerError`], the taxonomy mapped to gRPC status codes.

pub mod convert;
pub mod error;
pub mod policy;
pub mod proto;
pub mod runs;
pub mod server;
pub mod service;

pub use error::WorkerError;
pub use policy::{AllowEntry, AllowList, Limits, Token};
pub use server::{DEFAULT_LISTEN, ServeError, WorkerConfig, WorkerState, bind, serve};
