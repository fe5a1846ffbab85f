//! Error types: plan validation errors, the kinds a failed request is counted under, and the
//! first message seen for each kind.

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
    /// The gRPC method to call (`package.Service/Method`).
    Call,
    /// The gRPC request message, as JSON.
    Data,
    /// gRPC metadata sent with every call.
    Metadata,
    /// Where the gRPC descriptors come from: `.proto` files or text, or the target's reflection service.
    Proto,
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
            Field::Call => "call",
            Field::Data => "data",
            Field::Metadata => "metadata",
            Field::Proto => "proto",
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
    /// The peer violated HTTP (malformed response, bad framing, h2 protocol error), or answered
    /// a gRPC call without a `grpc-status`.
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

    /// Classifies an I/O error, and keeps its message when it is the first of its kind on
    /// this thread (see [`ErrorMessages`]).
    pub fn from_io(err: &std::io::Error) -> Self {
        let kind = Self::classify(err);
        note(kind, err);
        kind
    }

    fn classify(err: &std::io::Error) -> Self {
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

    /// What a failure of this kind means, for when no message was kept.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "the target refused the connection",
            ErrorKind::Connect => "connecting failed (name resolution, unreachable network, or the allow-list)",
            ErrorKind::Timeout => "no response within the request timeout",
            ErrorKind::Reset => "the connection closed before a whole response",
            ErrorKind::Tls => "the TLS handshake failed",
            ErrorKind::Protocol => "the response was not valid HTTP (or, for a gRPC call, carried no grpc-status)",
            ErrorKind::Other => "an I/O error",
        }
    }
}

/// Longest message kept per kind, in bytes.
const MESSAGE_MAX: usize = 300;

/// `message` cut to at most [`MESSAGE_MAX`] bytes, on a character boundary.
pub(crate) fn cut(message: &str) -> Box<str> {
    let mut end = message.len().min(MESSAGE_MAX);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end].into()
}

/// The first message seen for each [`ErrorKind`]: why requests failed, in bounded memory (one
/// short message per kind, never one per request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorMessages([Option<Box<str>>; ErrorKind::ALL.len()]);

impl ErrorMessages {
    /// The message kept for `kind`.
    pub fn get(&self, kind: ErrorKind) -> Option<&str> {
        self.0[kind.index()].as_deref()
    }

    /// Keeps `message` for `kind` unless one is kept already (cut to a few hundred bytes).
    pub fn keep(&mut self, kind: ErrorKind, message: &str) {
        let slot = &mut self.0[kind.index()];
        if slot.is_none() {
            *slot = Some(cut(message));
        }
    }

    /// Keeps the messages of `other` for the kinds that have none here.
    pub fn merge(&mut self, other: &ErrorMessages) {
        for kind in ErrorKind::ALL {
            if let Some(m) = other.get(kind) {
                self.keep(kind, m);
            }
        }
    }

    /// `(kind, message)` for every kind with a message.
    pub fn iter(&self) -> impl Iterator<Item = (ErrorKind, &str)> {
        ErrorKind::ALL.into_iter().filter_map(|k| self.get(k).map(|m| (k, m)))
    }

    /// Whether no message is kept.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

thread_local! {
    /// The first messages seen on this thread: each worker is one thread, so nothing is shared.
    static FIRST: std::cell::RefCell<ErrorMessages> = std::cell::RefCell::new(ErrorMessages::default());
}

/// Keeps `message` as this thread's first of `kind`, if it is (the text is only formatted then).
pub(crate) fn note(kind: ErrorKind, message: &dyn fmt::Display) {
    FIRST.with_borrow_mut(|first| {
        if first.get(kind).is_none() {
            let text = message.to_string();
            tracing::debug!(kind = kind.as_str(), message = %text, "first error of this kind");
            first.keep(kind, &text);
        }
    });
}

/// Takes this thread's first messages, leaving none.
pub(crate) fn take_notes() -> ErrorMessages {
    FIRST.with_borrow_mut(std::mem::take)
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_message_of_each_kind_is_kept() {
        let _ = take_notes();
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused (os error 111)");
        assert_eq!(ErrorKind::from_io(&refused), ErrorKind::ConnectRefused);
        let later = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "something else");
        ErrorKind::from_io(&later);
        let notes = take_notes();
        assert_eq!(notes.get(ErrorKind::ConnectRefused), Some("connection refused (os error 111)"));
        assert_eq!(notes.iter().count(), 1);
        assert!(take_notes().is_empty());
        let mut long = ErrorMessages::default();
        long.keep(ErrorKind::Other, &"é".repeat(400));
        assert!(long.get(ErrorKind::Other).unwrap().len() <= MESSAGE_MAX);
        let mut merged = ErrorMessages::default();
        merged.keep(ErrorKind::Other, "first");
        merged.merge(&long);
        merged.merge(&notes);
        assert_eq!(merged.get(ErrorKind::Other), Some("first"));
        assert_eq!(merged.get(ErrorKind::ConnectRefused), Some("connection refused (os error 111)"));
    }
}
