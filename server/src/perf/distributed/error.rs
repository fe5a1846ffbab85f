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

impl DistributedError {
    /// Whether the caller's input is at fault (bad flags, addresses, plan or token), as opposed
    /// to workers that could not be reached or failed: the CLI exits 2 for these, 3 otherwise.
    pub fn is_usage(&self) -> bool {
        match self {
            DistributedError::NoWorkers
            | DistributedError::BadWorker { .. }
            | DistributedError::TooFew { .. }
            | DistributedError::BadToken => true,
            DistributedError::Refused { code, .. } => matches!(
                code,
                tonic::Code::InvalidArgument
                    | tonic::Code::Unauthenticated
                    | tonic::Code::PermissionDenied
                    | tonic::Code::ResourceExhausted
            ),
            DistributedError::Connect { .. }
            | DistributedError::AllLost { .. }
            | DistributedError::Merge(_)
            | DistributedError::Runtime(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_are_the_callers() {
        assert!(DistributedError::NoWorkers.is_usage());
        let refused = |code| DistributedError::Refused { address: "w".into(), code, message: String::new() };
        assert!(refused(tonic::Code::PermissionDenied).is_usage());
        assert!(!refused(tonic::Code::Internal).is_usage());
        assert!(!DistributedError::Connect { address: "w".into(), reason: "refused".into() }.is_usage());
    }
}
