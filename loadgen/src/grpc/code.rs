//! gRPC status codes, and the first message kept for each.

use serde::{Deserialize, Serialize};

/// A gRPC status code, as a call's `grpc-status` carries it (the discriminant is the wire value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    /// The call succeeded.
    Ok = 0,
    /// The call was cancelled (usually by the caller).
    Cancelled = 1,
    /// An unknown error; also any code outside 0..=16.
    Unknown = 2,
    /// The request message is not valid for the method.
    InvalidArgument = 3,
    /// The deadline (`grpc-timeout`) passed before the call completed.
    DeadlineExceeded = 4,
    /// Something the call names was not found.
    NotFound = 5,
    /// What the call would create exists already.
    AlreadyExists = 6,
    /// The caller may not do this.
    PermissionDenied = 7,
    /// A quota or resource ran out (servers shedding load often answer this).
    ResourceExhausted = 8,
    /// The system is not in a state the call needs.
    FailedPrecondition = 9,
    /// The call was aborted (a concurrency conflict).
    Aborted = 10,
    /// A value is out of range.
    OutOfRange = 11,
    /// The server does not implement the method.
    Unimplemented = 12,
    /// An internal error of the server.
    Internal = 13,
    /// The service is unavailable for now (the usual answer of an overloaded or draining server).
    Unavailable = 14,
    /// Unrecoverable data loss.
    DataLoss = 15,
    /// No valid credential.
    Unauthenticated = 16,
}

impl Code {
    /// Every code, in wire order (index = wire value).
    pub const ALL: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The code of a wire value; values outside 0..=16 are [`Code::Unknown`] (as grpc-java reads them).
    pub fn from_wire(value: u32) -> Code {
        Code::ALL.get(value as usize).copied().unwrap_or(Code::Unknown)
    }

    /// The code of a `grpc-status` header value (ASCII digits), if it is one.
    #[inline]
    pub fn parse(value: &[u8]) -> Option<Code> {
        if value.is_empty() || value.len() > 9 || !value.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = value.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        Some(Code::from_wire(n))
    }

    /// The code a gRPC client reports for an HTTP response without `grpc-status` (the gRPC
    /// spec's "HTTP to gRPC status code mapping": a proxy's 503 is `UNAVAILABLE`).
    pub fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }

    /// The name gRPC gives it: `OK`, `UNAVAILABLE`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The code called `name` (`UNAVAILABLE`, or `unavailable`), or the one whose wire value
    /// `name` is (`"14"`).
    pub fn from_name(name: &str) -> Option<Code> {
        if let Ok(n) = name.parse::<u32>() {
            return Code::ALL.get(n as usize).copied();
        }
        Code::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(name))
    }

    /// The wire value.
    pub fn value(self) -> u32 {
        self as u32
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first `grpc-message` seen for each non-OK code: why calls failed, in bounded memory
/// (one short message per code, never one per call).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrpcMessages([Option<Box<str>>; Code::ALL.len()]);

impl GrpcMessages {
    /// The message kept for `code`.
    pub fn get(&self, code: Code) -> Option<&str> {
        self.0[code as usize].as_deref()
    }

    /// Whether a message is kept for `code`.
    #[inline]
    pub fn has(&self, code: Code) -> bool {
        self.0[code as usize].is_some()
    }

    /// Keeps `message` for `code` unless one is kept already (cut to a few hundred bytes).
    pub fn keep(&mut self, code: Code, message: &str) {
        let slot = &mut self.0[code as usize];
        if slot.is_none() {
            *slot = Some(crate::error::cut(message));
        }
    }

    /// Keeps the messages of `other` for the codes that have none here.
    pub fn merge(&mut self, other: &GrpcMessages) {
        for (code, m) in other.iter() {
            self.keep(code, m);
        }
    }

    /// `(code, message)` for every code with a message.
    pub fn iter(&self) -> impl Iterator<Item = (Code, &str)> {
        Code::ALL.into_iter().filter_map(|c| self.get(c).map(|m| (c, m)))
    }

    /// Whether no message is kept.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

/// Decodes a `grpc-message` value: the spec percent-encodes it (`%20` for a space); invalid
/// sequences are kept as they are.
pub(crate) fn decode_message(raw: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && let (Some(h), Some(l)) = (raw.get(i + 1).and_then(|b| hex(*b)), raw.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_from_the_wire_and_by_name() {
        for (i, c) in Code::ALL.iter().enumerate() {
            assert_eq!(c.value() as usize, i);
            assert_eq!(Code::from_name(c.as_str()), Some(*c));
            assert_eq!(Code::parse(i.to_string().as_bytes()), Some(*c));
        }
        assert_eq!(Code::parse(b"14"), Some(Code::Unavailable));
        assert_eq!(Code::parse(b"99"), Some(Code::Unknown));
        assert_eq!(Code::parse(b""), None);
        assert_eq!(Code::parse(b"1x"), None);
        assert_eq!(Code::from_name("unavailable"), Some(Code::Unavailable));
        assert_eq!(Code::from_name("17"), None);
        assert_eq!(Code::from_http_status(503), Code::Unavailable);
        assert_eq!(Code::from_http_status(404), Code::Unimplemented);
        assert_eq!(Code::from_http_status(500), Code::Unknown);
    }

    #[test]
    fn messages_are_decoded_and_kept_once() {
        assert_eq!(decode_message(b"shedding%20load%3A 50%"), "shedding load: 50%");
        assert_eq!(decode_message("caf%C3%A9".as_bytes()), "café");
        let mut m = GrpcMessages::default();
        m.keep(Code::Unavailable, "first");
        m.keep(Code::Unavailable, "second");
        let mut other = GrpcMessages::default();
        other.keep(Code::Unavailable, "other");
        other.keep(Code::Internal, "boom");
        m.merge(&other);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(Code::Internal, "boom"), (Code::Unavailable, "first")]);
        assert!(m.has(Code::Internal) && !m.has(Code::Ok));
    }
}
