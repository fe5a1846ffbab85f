//! HTTP/2 through hyper's low-level client connection API on the worker's own thread: h2c with
//! prior knowledge for `http://` and `grpc://`, ALPN `h2` for `https://` and `grpcs://`, many
//! streams per connection. A gRPC call is a request like any other; only its outcome is read
//! from the `grpc-status` instead of the HTTP status.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::conn::Endpoint;
use crate::error::ErrorKind;
use crate::grpc::Code;
use crate::local::WaitList;
use crate::plan::Target;

/// Runs hyper's background futures on the worker's `LocalSet` (they need not be `Send`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

/// A request prepared once per target; each send clones its parts.
#[derive(Debug, Clone)]
pub(crate) struct H2Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    /// Whether it is a gRPC call (its outcome is the `grpc-status`).
    grpc: bool,
    /// Approximate bytes this request puts on the wire (head fields and body).
    pub(crate) wire_bytes: u64,
}

impl H2Request {
    /// Prepares the request for `target`; a gRPC call gets its protocol headers, the deadline
    /// `timeout` as `grpc-timeout`, and its message framed, once.
    pub(crate) fn new(target: &Target, timeout: Duration) -> Result<Self, crate::PlanError> {
        let grpc = target.is_grpc();
        let text = if grpc {
            let (host, port) = target.authority();
            let host = if host.contains(':') { format!("[{host}]") } else { host };
            let scheme = if target.is_tls() { "https" } else { "http" };
            format!("{scheme}://{host}:{port}{}", target.url.path())
        } else {
            target.url.as_str().to_string()
        };
        let uri: Uri = text.parse().map_err(|_| {
            crate::PlanError::new(
                crate::Field::Targets,
                format!("{} is not usable as an HTTP/2 request URI", target.url),
            )
        })?;
        let mut headers = HeaderMap::new();
        for (n, v) in &target.headers {
            let owned = grpc && (n == header::CONTENT_TYPE || n == header::TE || n.as_str() == "grpc-timeout");
            if n != header::HOST && !owned {
                headers.append(n.clone(), v.clone());
            }
        }
        let body = if grpc {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
            headers.insert(header::TE, HeaderValue::from_static("trailers"));
            headers.insert(HeaderName::from_static("grpc-timeout"), crate::grpc::timeout_value(timeout));
            crate::grpc::frame(&target.body)
        } else {
            target.body.clone()
        };
        let wire_bytes = text.len() as u64
            + headers.iter().map(|(n, v)| (n.as_str().len() + v.len()) as u64).sum::<u64>()
            + body.len() as u64;
        let method = if grpc { Method::POST } else { target.method.clone() };
        Ok(H2Request { method, uri, headers, body, grpc, wire_bytes })
    }

    fn build(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// One HTTP/2 connection shared by several stream slots; reconnects when it dies.
#[derive(Debug)]
pub(crate) struct H2Conn {
    endpoint: Rc<Endpoint>,
    sender: RefCell<Option<SendRequest<Full<Bytes>>>>,
    connecting: Cell<bool>,
    waiters: WaitList,
}

impl H2Conn {
    /// A connection to `endpoint`, not yet open.
    pub(crate) fn new(endpoint: Rc<Endpoint>) -> Self {
        H2Conn { endpoint, sender: RefCell::new(None), connecting: Cell::new(false), waiters: WaitList::default() }
    }

    /// Whether the connection is open.
    pub(crate) fn is_open(&self) -> bool {
        self.sender.borrow().as_ref().is_some_and(|s| !s.is_closed())
    }

    /// A handle to send on, opening the connection if needed (one slot connects, the rest wait).
    pub(crate) async fn sender(&self) -> Result<SendRequest<Full<Bytes>>, ErrorKind> {
        loop {
            if let Some(s) = self.sender.borrow().as_ref().filter(|s| !s.is_closed()) {
                return Ok(s.clone());
            }
            if self.connecting.get() {
                self.waiters.park().await;
                continue;
            }
            self.connecting.set(true);
            let result = self.open().await;
            self.connecting.set(false);
            self.waiters.wake_all();
            let sender = result?;
            *self.sender.borrow_mut() = Some(sender.clone());
            return Ok(sender);
        }
    }

    async fn open(&self) -> Result<SendRequest<Full<Bytes>>, ErrorKind> {
        let io = self.endpoint.connect().await?;
        let (sender, conn) = hyper::client::conn::http2::Builder::new(LocalExec)
            .timer(TokioTimer::new())
            .initial_stream_window_size(1 << 20)
            .initial_connection_window_size(4 << 20)
            .max_concurrent_reset_streams(1024)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| hyper_kind(&e))?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Drops the current connection if it is closed, so the next send reconnects (a newer,
    /// open connection set up by another slot is kept).
    pub(crate) fn reset_if_closed(&self) {
        let mut s = self.sender.borrow_mut();
        if s.as_ref().is_some_and(SendRequest::is_closed) {
            *s = None;
        }
    }
}

/// How a request ended with a response: its HTTP status, or a gRPC call's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// An HTTP response with this status code.
    Http(u16),
    /// A gRPC call's status, with its `grpc-message` (kept only when not `OK`).
    Grpc(Code, Option<HeaderValue>),
}

/// Sends one request and reads its whole response: `(outcome, response bytes)`. A gRPC call's
/// status comes from the trailers, or from the headers of a trailers-only answer; without one
/// it is the code gRPC derives from the HTTP status, and a 200 without one is a protocol error.
pub(crate) async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: &H2Request,
) -> Result<(Outcome, u64), ErrorKind> {
    sender.ready().await.map_err(|e| hyper_kind(&e))?;
    let response = sender.send_request(request.build()).await.map_err(|e| hyper_kind(&e))?;
    let status = response.status().as_u16();
    let mut bytes = head_bytes(response.headers());
    let mut grpc = if request.grpc { crate::grpc::status_of(response.headers()) } else { None };
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| hyper_kind(&e))?;
        if let Some(data) = frame.data_ref() {
            bytes += data.len() as u64;
        } else if let Some(trailers) = frame.trailers_ref() {
            bytes += head_bytes(trailers);
            if request.grpc && grpc.is_none() {
                grpc = crate::grpc::status_of(trailers);
            }
        }
    }
    if !request.grpc {
        return Ok((Outcome::Http(status), bytes));
    }
    match grpc {
        Some((code, message)) => Ok((Outcome::Grpc(code, message), bytes)),
        None if status != 200 => Ok((Outcome::Grpc(Code::from_http_status(status), None), bytes)),
        None => {
            crate::error::note(
                ErrorKind::Protocol,
                &"a call was answered without a grpc-status: the target is not a gRPC server",
            );
            Err(ErrorKind::Protocol)
        }
    }
}

/// Bytes of a header block as counted here (names and values).
fn head_bytes(headers: &HeaderMap) -> u64 {
    headers.iter().map(|(n, v)| (n.as_str().len() + v.len()) as u64).sum()
}

/// Classifies a hyper error.
fn hyper_kind(e: &hyper::Error) -> ErrorKind {
    if let Some(io) = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>()) {
        return ErrorKind::from_io(io);
    }
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_closed() || e.is_canceled() || e.is_incomplete_message() {
        ErrorKind::Reset
    } else {
        ErrorKind::Protocol
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grpc_call_is_framed_once_with_its_protocol_headers() {
        let mut t = Target::get("grpcs://[::1]:50051/pkg.Svc/Do").unwrap();
        t.method = Method::POST;
        t.add_header("x-tenant", "a").unwrap();
        t.add_header("content-type", "text/plain").unwrap();
        t.body = Bytes::from_static(b"\x08\x01");
        let r = H2Request::new(&t, Duration::from_secs(2)).unwrap();
        assert!(r.grpc);
        assert_eq!(r.uri.to_string(), "https://[::1]:50051/pkg.Svc/Do");
        assert_eq!(r.method, Method::POST);
        assert_eq!(&r.body[..], b"\0\0\0\0\x02\x08\x01");
        assert_eq!(r.headers["content-type"], "application/grpc");
        assert_eq!(r.headers["te"], "trailers");
        assert_eq!(r.headers["grpc-timeout"], "2000000u");
        assert_eq!(r.headers["x-tenant"], "a");
        assert_eq!(r.headers.get_all("content-type").iter().count(), 1);
        let plain = H2Request::new(&Target::get("http://127.0.0.1:8080/x").unwrap(), Duration::from_secs(2)).unwrap();
        assert!(!plain.grpc && plain.headers.is_empty() && plain.body.is_empty());
    }
}
