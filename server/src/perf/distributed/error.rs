//! Why a distributed run could not start or finish.

/// An error of a distributed run; each message names the worker and the fix.
#[derive(Debug, thiserror::Error)]
pub enum DistributedError {
    /// No worker address was given.
    #[error("no worker given: pass --workers HOST:PORT[,HOST:PORT...]")]
    NoWorkers,
    /// A worker address cannot be used.
    #[error("worker address {address:?} is invalid: {reason}")]
    BadWorker {
        /// The address as given.
        address: String,
        /// Why.
        reason: String,
    },
    /// The plan is invalid.
    #[error(transparent)]
    Plan(#[from] loadgen::PlanError),
    /// The plan cannot be split over that many workers.
    #[error("{given} {what} cannot be split over {workers} workers; give at least one per worker")]
    TooFew {
        /// `connections` or `requests`.
        what: &'static str,
        /// How many the plan has.
        given: u64,
        /// How many workers.
        workers: u32,
    },
    /// The token cannot be sent as metadata.
    #[error("the worker token has characters that cannot be sent as gRPC metadata; use printable ASCII")]
    BadToken,
    /// A TLS file of the plan could not be read to send it to the workers.
    #[error("cannot read a TLS file of the plan: {0}")]
    TlsFile(#[source] std::io::Error),
    /// A worker could not be reached.
    #[error("cannot reach worker {address}: {reason}; check that `meshperf worker` runs there and the port is open")]
    Connect {
        /// The worker.
        address: String,
        /// Why.
        reason: String,
    },
    /// A worker refused the run (token, allow-list, ceiling, busy) or failed to start it.
    #[error("worker {address} refused the run: {message}")]
    Refused {
        /// The worker.
        address: String,
        /// The gRPC status code.
        code: tonic::Code,
        /// The worker's explanation.
        message: String,
    },
    /// Every worker was lost; nothing was measured to the end.
    #[error("every worker was lost during the run ({reasons}); no result")]
    AllLost {
        /// Each worker's reason.
        reasons: String,
    },
    /// The result documents could not be merged.
    #[error("merging the workers' results failed: {0}")]
    Merge(#[from] smp::SmpError),
    /// The runtime could not be built (blocking entry point).
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}
