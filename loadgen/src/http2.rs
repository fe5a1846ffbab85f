//! HTTP/2 through hyper's low-level client connection API on the worker's own thread: h2c with
//! prior knowledge for `http://`, ALPN `h2` for `https://`, many streams per connection.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::conn::Endpoint;
use crate::error::ErrorKind;
use crate::local::WaitList;
use crate::plan::Target;

/// Runs hyper's background futures on the worker's `LocalSet` (they need not be `Send`).
#[derive(Debug, Clone, Copy)]
struct LocalExec;

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
    /// Approximate bytes this request puts on the wire (head fields and body).
    pub(crate) wire_bytes: u64,
}

impl H2Request {
    /// Prepares the request for `target`.
    pub(crate) fn new(target: &Target) -> Result<Self, crate::PlanError> {
        let uri: Uri = target.url.as_str().parse().map_err(|_| {
            crate::PlanError::new(
                crate::Field::Targets,
                format!("{} is not usable as an HTTP/2 request URI", target.url),
            )
        })?;
        let mut headers = HeaderMap::new();
        for (n, v) in &target.headers {
            if n != http::header::HOST {
                headers.append(n.clone(), v.clone());
            }
        }
        let wire_bytes = target.url.as_str().len() as u64
            + headers.iter().map(|(n, v)| (n.as_str().len() + v.len()) as u64).sum::<u64>()
            + target.body.len() as u64;
        Ok(H2Request { method: target.method.clone(), uri, headers, body: target.body.clone(), wire_bytes })
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

/// Sends one request and reads its whole body: `(status, response bytes)`.
pub(crate) async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: &H2Request,
) -> Result<(u16, u64), ErrorKind> {
    sender.ready().await.map_err(|e| hyper_kind(&e))?;
    let response = sender.send_request(request.build()).await.map_err(|e| hyper_kind(&e))?;
    let status = response.status().as_u16();
    let mut bytes: u64 = response.headers().iter().map(|(n, v)| (n.as_str().len() + v.len()) as u64).sum();
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| hyper_kind(&e))?;
        if let Some(data) = frame.data_ref() {
            bytes += data.len() as u64;
        }
    }
    Ok((status, bytes))
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
