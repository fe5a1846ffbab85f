//! Error types: plan validation errors and the kinds a failed request is counted under.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A plan that cannot run; the message names the bad input and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No target URL was given.
    #[error("no target URL given: pass at least one URL such as http://127.0.0.1:8080/")]
    NoTarget,
    /// A URL could not be parsed or has an unsupported scheme.
    #[error("invalid URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A numeric or duration option is out of range or unparsable.
    #[error("invalid value for {field}: {reason}")]
    BadValue {
        /// The option or field name, for example `--connections`.
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A header, method or body could not be used.
    #[error("invalid request for {field}: {reason}")]
    BadRequest {
        /// The option, for example `--header`.
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A TLS file could not be read or parsed.
    #[error("TLS setup failed for {field} ({path}): {reason}")]
    Tls {
        /// The option, for example `--cacert`.
        field: String,
        /// The file that was given.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl PlanError {
    /// Shorthand for [`PlanError::BadValue`].
    pub fn value(field: impl Into<String>, reason: impl Into<String>) -> Self {
        PlanError::BadValue { field: field.into(), reason: reason.into() }
    }
}

/// An error that stopped a run as a whole (not a failed request).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The plan was invalid.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A worker thread could not be started.
    #[error("could not start worker thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// A worker thread panicked; the run's numbers are incomplete.
    #[error("worker {0} stopped unexpectedly")]
    WorkerLost(u32),
}

/// The kind a failed request is counted under. Responses with any status code are not errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The target refused the connection.
    ConnectRefused,
    /// Connecting failed otherwise: name resolution, unreachable network, connect timeout.
    Connect,
    /// The request did not complete within `--timeout`.
    Timeout,
    /// The peer reset or closed the connection mid-request.
    Reset,
    /// The TLS handshake or record layer failed.
    Tls,
    /// The peer violated HTTP (malformed response, bad framing, h2 protocol error).
    Protocol,
    /// Any other I/O error.
    Other,
}

impl ErrorKind {
    /// Every kind, in a stable order.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::ConnectRefused,
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Tls,
        ErrorKind::Protocol,
        ErrorKind::Other,
    ];

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Tls => "tls",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Other => "other",
        }
    }

    /// Classifies an I/O error.
    pub fn from_io(err: &std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        match err.kind() {
            K::ConnectionRefused => ErrorKind::ConnectRefused,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => ErrorKind::Reset,
            K::TimedOut => ErrorKind::Timeout,
            K::InvalidData => {
                if err.get_ref().is_some_and(|e| e.is::<rustls::Error>()) {
                    ErrorKind::Tls
                } else {
                    ErrorKind::Protocol
                }
            }
            K::AddrNotAvailable | K::NotFound | K::HostUnreachable | K::NetworkUnreachable => ErrorKind::Connect,
            _ => ErrorKind::Other,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
