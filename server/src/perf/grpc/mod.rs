//! The gRPC doors on port 10013: meshperf's perf service (and Meshery's adapter beside it in
//! [`crate::adapters`]), served by `meshperf worker` and `meshperf serve` over the process's
//! one pipeline.
//!
//! # Layout
//! - [`proto`]: the generated `meshperf.perf.v1` messages, client and server.
//! - [`server`]: [`serve`] both services on one listener; [`GrpcState`].
//! - [`service`]: the perf service door: run and stream, cancel, capabilities.
//! - [`auth`]: [`GrpcAuth`], the credentials every load, read or cancel call needs.
//! - [`convert`]: wire plans as run requests, and engine statistics on the wire.

pub mod auth;
pub mod convert;
pub mod proto;
pub mod server;
pub mod service;

pub use auth::GrpcAuth;
pub use server::{DEFAULT_LISTEN, DEFAULT_PORT, GrpcState, ServeError, bind, serve};
