//! Error types: plan validation errors and the kinds a failed request is counted under.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A field of a run plan, named neutrally. Each front end names it its own way (the CLI says
/// `--connections`, Meshery's REST API `c` or `concurrent_request`, an SMP profile
/// `clients[0].connections`), so errors carry this and the front end words the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The list of target URLs as a whole.
    Targets,
    /// The target URL at this index.
    Url(usize),
    /// The request method.
    Method,
    /// A request header.
    Header,
    /// The cookies (sent as one `Cookie` header).
    Cookies,
    /// The body's content type.
    ContentType,
    /// The request body.
    Body,
    /// Connections in total.
    Connections,
    /// Worker threads.
    Threads,
    /// Streams per HTTP/2 connection.
    H2Streams,
    /// A constant open-loop rate.
    Rate,
    /// A linear ramp of rates.
    Ramp,
    /// Rate stages.
    Stages,
    /// The measured duration.
    Duration,
    /// The request count.
    Requests,
    /// The warm-up.
    Warmup,
    /// The per-request timeout.
    Timeout,
    /// CA certificates to trust.
    CaCert,
    /// The client certificate (mTLS).
    ClientCert,
    /// The client key (mTLS).
    ClientKey,
    /// The shard of a distributed run.
    Shard,
    /// The agreed start instant of a distributed run.
    StartAt,
}

impl Field {
    /// The neutral name: `connections`, `rate`, `urls[1]`, ...
    pub fn name(self) -> String {
        match self {
            Field::Url(i) => format!("urls[{i}]"),
            other => other.key().to_string(),
        }
    }

    /// The neutral name without an index (`urls` for every URL).
    pub fn key(self) -> &'static str {
        match self {
            Field::Targets | Field::Url(_) => "urls",
            Field::Method => "method",
            Field::Header => "headers",
            Field::Cookies => "cookies",
            Field::ContentType => "content_type",
            Field::Body => "body",
            Field::Connections => "connections",
            Field::Threads => "threads",
            Field::H2Streams => "h2_streams",
            Field::Rate => "rate",
            Field::Ramp => "ramp",
            Field::Stages => "stages",
            Field::Duration => "duration",
            Field::Requests => "requests",
            Field::Warmup => "warmup",
            Field::Timeout => "timeout",
            Field::CaCert => "ca_cert",
            Field::ClientCert => "cert",
            Field::ClientKey => "key",
            Field::Shard => "shard",
            Field::StartAt => "start_at",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A plan that cannot run: the field (named neutrally) and what is wrong with it, with the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct PlanError {
    /// The field.
    pub field: Field,
    /// What is wrong and what to do.
    pub reason: String,
}

impl PlanError {
    /// An error of `field`.
    pub fn new(field: Field, reason: impl Into<String>) -> Self {
        PlanError { field, reason: reason.into() }
    }
}

/// A value that does not parse or is out of range; the message says what to write instead.
/// The caller knows which field the value was for and names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl ValueError {
    /// The same reason as an error of `field`.
    pub fn at(self, field: Field) -> PlanError {
        PlanError::new(field, self.0)
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
