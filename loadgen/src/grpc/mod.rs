//! gRPC unary calls on the HTTP/2 client.
//!
//! A unary call is an HTTP/2 POST to `/package.Service/Method` with `content-type:
//! application/grpc`, `te: trailers` and a body of one length-prefixed message (a flag byte,
//! four bytes of length, the protobuf bytes); its outcome is the `grpc-status` trailer (or
//! header, in a trailers-only answer). A gRPC [`Target`](crate::Target) is a `grpc://` or
//! `grpcs://` URL whose path is the call and whose body is the encoded request message; the
//! engine frames it once per target, so a call costs what an HTTP/2 request costs plus one
//! header lookup in the trailers.
//!
//! Calls are counted by their [`Code`] ([`Stats::grpc_codes`](crate::Stats::grpc_codes)); a
//! call is successful when its status is `OK`. A response without `grpc-status` is counted
//! under the code gRPC clients derive from its HTTP status (a proxy's 503 is `UNAVAILABLE`),
//! and a 200 without one is a `protocol` error (the target is not a gRPC server).
//!
//! [`reflect`] fetches a service's descriptors from the target's reflection service.

mod code;
pub mod reflect;

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue};

pub(crate) use code::decode_message;
pub use code::{Code, GrpcMessages};

/// Whether a URL scheme is gRPC's (`grpc` or `grpcs`).
pub fn is_grpc_scheme(scheme: &str) -> bool {
    matches!(scheme, "grpc" | "grpcs")
}

/// The service and method of a call path `/package.Service/Method` (the leading slash is
/// optional), when it has that shape.
pub fn split_call(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/').unwrap_or(path).split_once('/')?;
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    (ok(service) && ok(method) && !method.contains('.') && !service.starts_with('.') && !service.ends_with('.'))
        .then_some((service, method))
}

/// One uncompressed length-prefixed message: the body of a unary call.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(0);
    out.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    out.put_slice(message);
    out.freeze()
}

/// The messages of a body of length-prefixed messages; `None` when the framing is broken or a
/// message is compressed (meshperf asks for none).
pub fn unframe(mut body: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        if body.len() < 5 || body[0] != 0 {
            return None;
        }
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let rest = &body[5..];
        if rest.len() < len {
            return None;
        }
        out.push(&rest[..len]);
        body = &rest[len..];
    }
    Some(out)
}

/// The `grpc-timeout` value for a deadline of `d`: at most eight digits and a unit, rounded up.
pub fn timeout_value(d: Duration) -> HeaderValue {
    const MAX: u128 = 99_999_999;
    let units: [(u128, &str); 6] = [
        (d.as_nanos(), "n"),
        (d.as_micros() + u128::from(d.as_nanos() % 1000 > 0), "u"),
        (d.as_millis() + u128::from(d.as_nanos() % 1_000_000 > 0), "m"),
        (d.as_nanos().div_ceil(1_000_000_000), "S"),
        (d.as_nanos().div_ceil(60_000_000_000), "M"),
        (d.as_nanos().div_ceil(3_600_000_000_000), "H"),
    ];
    let (n, unit) = units.into_iter().find(|(n, _)| *n <= MAX).unwrap_or((MAX, "H"));
    HeaderValue::from_str(&format!("{n}{unit}")).unwrap_or(HeaderValue::from_static("99999999H"))
}

/// The status a call's headers or trailers carry, with its `grpc-message` when not `OK`.
#[inline]
pub(crate) fn status_of(headers: &HeaderMap) -> Option<(Code, Option<HeaderValue>)> {
    let code = Code::parse(headers.get("grpc-status")?.as_bytes())?;
    let message = if code == Code::Ok { None } else { headers.get("grpc-message").cloned() };
    Some((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_paths() {
        assert_eq!(split_call("/grpc.health.v1.Health/Check"), Some(("grpc.health.v1.Health", "Check")));
        assert_eq!(split_call("pkg.Svc/Do_It"), Some(("pkg.Svc", "Do_It")));
        for bad in ["/", "/pkg.Svc", "/pkg.Svc/", "//M", "/a/b/c", "/pkg.Svc/M.x", "/.pkg/M", "/pkg Svc/M"] {
            assert_eq!(split_call(bad), None, "{bad}");
        }
    }

    #[test]
    fn framing_round_trips() {
        let framed = frame(b"hello");
        assert_eq!(&framed[..], b"\0\0\0\0\x05hello");
        assert_eq!(unframe(&framed), Some(vec![&b"hello"[..]]));
        let mut two = framed.to_vec();
        two.extend_from_slice(&frame(b""));
        assert_eq!(unframe(&two), Some(vec![&b"hello"[..], &b""[..]]));
        assert_eq!(unframe(b"\0\0\0\0\x09abc"), None);
        assert_eq!(unframe(b"\x01\0\0\0\x00"), None);
        assert_eq!(unframe(b""), Some(vec![]));
    }

    #[test]
    fn timeouts_fit_eight_digits() {
        let t = |d: Duration| timeout_value(d).to_str().unwrap().to_string();
        assert_eq!(t(Duration::from_secs(10)), "10000000u");
        assert_eq!(t(Duration::from_millis(250)), "250000u");
        assert_eq!(t(Duration::from_secs(1000)), "1000000m");
        assert_eq!(t(Duration::from_secs(200_000)), "200000S");
        assert_eq!(t(Duration::from_nanos(1_500)), "1500n");
    }

    #[test]
    fn status_from_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(status_of(&h), None);
        h.insert("grpc-status", HeaderValue::from_static("0"));
        h.insert("grpc-message", HeaderValue::from_static("ignored"));
        assert_eq!(status_of(&h), Some((Code::Ok, None)));
        h.insert("grpc-status", HeaderValue::from_static("14"));
        assert_eq!(status_of(&h), Some((Code::Unavailable, Some(HeaderValue::from_static("ignored")))));
    }
}
