//! `smp`: the Service Mesh Performance (SMP) model and everything meshperf does with results.
//!
//! meshperf's results are SMP `PerformanceTestResult` documents with a `details` object that
//! keeps the full measurement (histograms included), so a result can be stored, merged,
//! exported to the tools people use, charted, and gated on in CI.
//!
//! # Layout
//! - [`result`]: the result document ([`ResultDocument`]), built from an engine report, read
//!   back, and merged exactly across workers.
//! - [`model`]: the SMP messages generated from `proto/smp` (spec names and numbers), with serde.
//! - [`profile`]: SMP test configs and Meshery profiles in (every spelling), validated, as
//!   run requests ([`profile::load`], [`profile::TestProfile::requests`]).
//! - [`request`]: [`request::RunRequest`], the one request type every front end fills in, and
//!   its one conversion to a validated engine plan.
//! - [`export`]: SMP JSON/YAML, fortio `HTTPRunnerResults` JSON, CSV and HdrHistogram logs.
//! - [`chart`]: percentile spectrum, latency and throughput over time, several results
//!   overlaid, as SVG or PNG.
//! - [`stepped`]: stepped runs: the search for the highest rate under SLOs and the sweep of
//!   the latency-throughput curve (the one algorithm, step judgement, knee, `details.stepped`).
//! - [`gate`]: CI gates (`p99<=20ms`, `errors<0.1%`, `rps>=1000`), baseline comparisons, and
//!   their Markdown and JUnit reports.
//! - [`error`]: [`SmpError`], whose messages name the field path and the fix.

pub mod chart;
pub mod error;
pub mod export;
pub mod gate;
pub mod model;
pub mod profile;
pub mod request;
pub mod result;
pub mod stepped;

pub use error::SmpError;
pub use result::{ResultDocument, RunMeta};

#[cfg(test)]
mod testutil;
