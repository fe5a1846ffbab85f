//! `loadgen`: meshperf's load-generation engine.
//!
//! A validated [`RunPlan`] runs on N worker threads. Each worker owns a current-thread tokio
//! runtime, its connections, its share of the schedule, and its own [`Stats`]; nothing on the
//! path of a request is shared, locked or sent across threads. A coordinator thread collects a
//! delta from every worker about once a second, merges them into a [`Snapshot`], and at the end
//! produces a [`Report`] whose histograms are the exact merge of the workers'.
//!
//! Open-loop runs compute the due time of request *i* from absolute time ([`schedule`]); latency
//! is measured from the due time (coordinated omission corrected), service time from the actual
//! send, and the send lag (how late the generator was) is recorded too.
//!
//! # Layout
//! - [`plan`]: the validated description of a run; [`parse`]: human option syntax.
//! - [`schedule`]: open-loop due times for constant, ramp and stage shapes.
//! - [`engine`]: `start` a run, follow its snapshots, cancel it, get its report.
//! - [`histogram`], [`stats`], [`report`]: what is measured and how it merges.
//! - [`grpc`]: gRPC unary calls on the HTTP/2 client (status codes, framing) and the
//!   reflection client that fetches a service's descriptors.
//! - internal: `coordinator` (threads), `collect` (deltas into snapshots, the series and the
//!   totals), `worker` (per-thread loops), `dispatch` (open-loop tickets), `timer` (precise
//!   deadlines), `conn` (connections), `http1` (lean HTTP/1.1 client), `http2` (hyper HTTP/2
//!   client, gRPC calls included), `tls` (rustls), `trust` (`--cacert` checks, a self-signed server certificate
//!   included).

pub mod engine;
pub mod error;
pub mod grpc;
pub mod histogram;
pub mod parse;
pub mod plan;
pub mod report;
pub mod schedule;
pub mod stats;

mod collect;
mod conn;
mod coordinator;
mod dispatch;
pub mod http1;
mod http2;
mod local;
mod slots;
mod timer;
mod tls;
mod trust;
mod watchdog;
mod worker;

pub use engine::{CancelHandle, RunHandle, run_blocking, start};
pub use error::{ErrorKind, ErrorMessages, Field, PlanError, RunError, ValueError};
pub use histogram::LatencyHistogram;
pub use plan::{
    ConnectPolicy, HttpVersion, Load, Pem, RateShape, RunPlan, Shard, Stage, Target, TlsOptions, ValidatedPlan,
};
pub use report::{Phase, Report, SecondStats, Snapshot};
pub use stats::Stats;
