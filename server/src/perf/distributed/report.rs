//! What a distributed run returns, its options and its cancel handle.

use std::sync::Arc;
use std::time::Duration;

use smp::{ResultDocument, RunMeta};
use tokio::sync::watch;

/// How to run a plan over workers.
#[derive(Debug, Clone)]
pub struct DistributedOptions {
    /// Worker addresses, `host:port` (port 10013 when omitted).
    pub workers: Vec<String>,
    /// The workers' shared token (`--token` or `MESHPERF_WORKER_TOKEN`).
    pub token: String,
    /// Name, labels and ids of the merged result.
    pub meta: RunMeta,
    /// How far ahead the agreed start instant is set: long enough for every worker to get the
    /// plan and open its connections.
    pub start_delay: Duration,
    /// How long connecting to a worker and having it accept the run may take.
    pub connect_timeout: Duration,
    /// A worker silent for this long (after the start instant) is lost.
    pub stall_timeout: Duration,
}

impl DistributedOptions {
    /// Options with the defaults: start in 1.5 s, 5 s to connect, 10 s of silence means lost.
    pub fn new(workers: Vec<String>, token: impl Into<String>, meta: RunMeta) -> Self {
        DistributedOptions {
            workers,
            token: token.into(),
            meta,
            start_delay: Duration::from_millis(1500),
            connect_timeout: Duration::from_secs(5),
            stall_timeout: Duration::from_secs(10),
        }
    }
}

/// Cancels a distributed run from any thread (a Ctrl-C handler, say); cheap to clone.
#[derive(Debug, Clone)]
pub struct DistributedCancel(Arc<watch::Sender<bool>>);

impl Default for DistributedCancel {
    fn default() -> Self {
        DistributedCancel(Arc::new(watch::channel(false).0))
    }
}

impl DistributedCancel {
    /// A handle that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the run on every worker; the result still comes back, marked cancelled.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// How one worker's part ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerStatus {
    /// It ran to the end.
    Finished,
    /// It stopped early because the run was cancelled.
    Cancelled,
    /// It was lost mid-run; what it reported before is in the result, which is partial.
    Lost {
        /// Why it was declared lost.
        reason: String,
    },
}

impl std::fmt::Display for WorkerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerStatus::Finished => f.write_str("finished"),
            WorkerStatus::Cancelled => f.write_str("cancelled"),
            WorkerStatus::Lost { reason } => write!(f, "lost: {reason}"),
        }
    }
}

/// One worker's part of a distributed run.
#[derive(Debug, Clone)]
pub struct WorkerOutcome {
    /// The worker's address, as given.
    pub address: String,
    /// Its shard index.
    pub index: u32,
    /// How its part ended.
    pub status: WorkerStatus,
    /// Requests it finished (responses and errors) in the measured window.
    pub requests: u64,
    /// What it measured (for a lost worker: what it reported before it went).
    pub stats: loadgen::Stats,
}

/// The result of a distributed run.
#[derive(Debug, Clone)]
pub struct DistributedReport {
    /// The merged engine report: the plan as given, histograms and counters merged exactly,
    /// the per-second series merged on per-worker elapsed seconds.
    pub report: loadgen::Report,
    /// The merged result document, with one entry per worker in `details.workers`.
    pub document: ResultDocument,
    /// Each worker's outcome, in the order given.
    pub workers: Vec<WorkerOutcome>,
    /// Some worker was lost: the result holds only what was measured and reported.
    pub partial: bool,
}
