//! Distributed runs: one plan spread over several `meshperf worker`s on port 10013.
//!
//! The rate is split by shard (every worker runs the whole rate shape and sends the global
//! request indices `i % K == k`), connections and request counts are split evenly, every worker
//! starts at one agreed instant, progress is merged on per-worker elapsed seconds, and the
//! final histograms are the exact merge of the workers'. See ARCHITECTURE.md, "Distributed runs".
//!
//! # Layout
//! - [`run`]: [`run_distributed`] and its blocking form.
//! - [`report`]: options, the cancel handle, and what a run returns.
//! - [`split`]: per-worker shares of a plan and worker addresses.
//! - [`client`]: one worker's perf-service client and the follower of its stream.
//! - `merge`: progress snapshots merged across workers.
//! - [`error`]: [`DistributedError`], why a run could not start or finish.

pub mod client;
pub mod error;
mod merge;
pub mod report;
pub mod run;
pub mod split;

pub use error::DistributedError;
pub use report::{DistributedCancel, DistributedOptions, DistributedReport, WorkerOutcome, WorkerStatus};
pub use run::{run_distributed, run_distributed_blocking};
pub use split::{DEFAULT_WORKER_PORT, endpoint_uri};
