//! The worker's error taxonomy and its mapping to gRPC status codes.
//!
//! Every refusal names the rule that caused it and how to get past it, so the caller's
//! terminal shows something actionable; internal failures are logged once and answered with
//! a generic message.

use tonic::{Code, Status};

/// Why the worker refused or failed a call.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// No `authorization: Bearer` metadata was sent.
    #[error(
        "missing token: this worker needs its shared token as `authorization: Bearer TOKEN` \
         metadata (give `--token` or set MESHPERF_WORKER_TOKEN on the caller)"
    )]
    MissingToken,
    /// The token sent does not match the worker's.
    #[error("wrong token: the bearer token does not match this worker's `--token`")]
    WrongToken,
    /// A target resolves outside the allow-list.
    #[error("target {target} is refused by the allow-list: {reason}; start the worker with `--allow` naming it")]
    TargetRefused {
        /// The URL or host that was refused.
        target: String,
        /// Which address fell outside the list.
        reason: String,
    },
    /// A target's host name could not be resolved, so it cannot be checked.
    #[error("target host {host:?} could not be resolved ({reason}); the allow-list is checked on resolved addresses")]
    Unresolvable {
        /// The host name.
        host: String,
        /// The resolver's error.
        reason: String,
    },
    /// The plan asks for more than a ceiling allows.
    #[error("{what} {value} exceeds this worker's ceiling of {limit} (`meshperf worker {flag}`)")]
    Ceiling {
        /// What was too large: `rate`, `connections`, `duration`.
        what: &'static str,
        /// The value asked for.
        value: String,
        /// The ceiling.
        limit: String,
        /// The flag that raises it.
        flag: &'static str,
    },
    /// The worker already runs as many tests as it takes.
    #[error(
        "this worker already runs {running} test(s), its limit (`--max-runs {max}`); wait for it \
         to finish or cancel it"
    )]
    Busy {
        /// Runs in progress.
        running: usize,
        /// The cap.
        max: usize,
    },
    /// The plan is invalid.
    #[error(transparent)]
    Plan(#[from] loadgen::PlanError),
    /// A request field is missing or malformed.
    #[error("invalid request: {field}: {reason}")]
    Invalid {
        /// The field path, e.g. `plan.targets[0].url`.
        field: String,
        /// What is wrong and the fix.
        reason: String,
    },
    /// No run with that id.
    #[error("no run with id {0:?} is in progress on this worker")]
    NotFound(String),
    /// The worker is shutting down and takes no new runs.
    #[error("this worker is shutting down and takes no new runs; use another worker")]
    ShuttingDown,
    /// The call is not supported by meshperf.
    #[error("{0}")]
    Unsupported(String),
    /// Something failed inside the worker.
    #[error("internal error: {0}")]
    Internal(String),
}

impl WorkerError {
    /// Shorthand for [`WorkerError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        WorkerError::Invalid { field: field.into(), reason: reason.into() }
    }

    /// The gRPC status code for this error.
    pub fn grpc_code(&self) -> Code {
        match self {
            WorkerError::MissingToken | WorkerError::WrongToken => Code::Unauthenticated,
            WorkerError::TargetRefused { .. } => Code::PermissionDenied,
            WorkerError::Ceiling { .. } | WorkerError::Busy { .. } => Code::ResourceExhausted,
            WorkerError::Plan(_) | WorkerError::Invalid { .. } => Code::InvalidArgument,
            WorkerError::Unresolvable { .. } => Code::FailedPrecondition,
            WorkerError::NotFound(_) => Code::NotFound,
            WorkerError::ShuttingDown => Code::Unavailable,
            WorkerError::Unsupported(_) => Code::Unimplemented,
            WorkerError::Internal(_) => Code::Internal,
        }
    }

    /// The HTTP status a REST front end answers with for the same error.
    pub fn http_status(&self) -> u16 {
        match self.grpc_code() {
            Code::Unauthenticated => 401,
            Code::PermissionDenied => 403,
            Code::ResourceExhausted => 429,
            Code::InvalidArgument | Code::FailedPrecondition => 400,
            Code::NotFound => 404,
            Code::Unimplemented => 501,
            Code::Unavailable => 503,
            _ => 500,
        }
    }
}

impl From<WorkerError> for Status {
    fn from(e: WorkerError) -> Self {
        let code = e.grpc_code();
        if code == Code::Internal {
            tracing::error!(error = %e, "worker call failed");
            return Status::internal("the worker failed internally; see its log");
        }
        Status::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_rule() {
        assert_eq!(Status::from(WorkerError::MissingToken).code(), Code::Unauthenticated);
        let busy = Status::from(WorkerError::Busy { running: 1, max: 1 });
        assert_eq!(busy.code(), Code::ResourceExhausted);
        assert!(busy.message().contains("--max-runs 1"), "{}", busy.message());
        let refused = WorkerError::TargetRefused { target: "http://10.0.0.1/".into(), reason: "x".into() };
        assert_eq!(refused.http_status(), 403);
        let internal = Status::from(WorkerError::Internal("secret detail".into()));
        assert!(!internal.message().contains("secret"));
    }
}
