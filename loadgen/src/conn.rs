//! Connections: resolving and connecting an endpoint (TCP, then TLS with ALPN when asked), the
//! stream type both protocols run on, and the lean HTTP/1.1 connection.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::ErrorKind;
use crate::http1::{ParseError, Progress, ResponseReader};
use crate::plan::HttpVersion;

/// Where a group of targets connects: one host and port, TLS or not.
pub(crate) struct Endpoint {
    host: String,
    port: u16,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    http: HttpVersion,
    policy: Option<Arc<dyn crate::plan::ConnectPolicy>>,
    addrs: RefCell<Vec<SocketAddr>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Endpoint {
    /// An endpoint; `tls` is the client config when the targets use `https`.
    pub(crate) fn new(
        host: String,
        port: u16,
        tls: Option<Arc<rustls::ClientConfig>>,
        http: HttpVersion,
        policy: Option<Arc<dyn crate::plan::ConnectPolicy>>,
    ) -> Result<Self, crate::PlanError> {
        let tls = match tls {
            None => None,
            Some(cfg) => {
                let name = ServerName::try_from(host.clone()).map_err(|_| {
                    crate::PlanError::new(
                        crate::Field::Targets,
                        format!("the host {host:?} is not a valid TLS server name"),
                    )
                })?;
                Some((TlsConnector::from(cfg), name))
            }
        };
        Ok(Endpoint { host, port, tls, http, policy, addrs: RefCell::new(Vec::new()) })
    }

    async fn resolve(&self) -> Result<Vec<SocketAddr>, ErrorKind> {
        if let Some(first) = self.addrs.borrow().first() {
            return Ok(vec![*first]);
        }
        // Resolved once per worker and endpoint; the policy judges the addresses actually used.
        let found: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|_| ErrorKind::Connect)?
            .filter(|a| self.policy.as_ref().is_none_or(|p| p.allows(&self.host, a.ip())))
            .collect();
        if found.is_empty() {
            tracing::warn!(host = %self.host, "no address of this host may be connected to");
            return Err(ErrorKind::Connect);
        }
        *self.addrs.borrow_mut() = found.clone();
        Ok(found)
    }

    /// Opens a stream: TCP with `TCP_NODELAY`, then TLS when configured.
    pub(crate) async fn connect(&self) -> Result<Io, ErrorKind> {
        let addrs = self.resolve().await?;
        let mut last = ErrorKind::Connect;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = ErrorKind::from_io(&e),
            }
        }
        let tcp = tcp.ok_or(if last == ErrorKind::Other { ErrorKind::Connect } else { last })?;
        let _ = tcp.set_nodelay(true);
        let Some((connector, name)) = &self.tls else {
            return Ok(Io::Plain(tcp));
        };
        let tls = connector.connect(name.clone(), tcp).await.map_err(|e| match ErrorKind::from_io(&e) {
            ErrorKind::Reset => ErrorKind::Reset,
            _ => ErrorKind::Tls,
        })?;
        if self.http == HttpVersion::Http2 && tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(ErrorKind::Protocol);
        }
        Ok(Io::Tls(Box::new(tls)))
    }
}

/// A connected stream, plain or TLS.
#[derive(Debug)]
pub(crate) enum Io {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Io {
    /// Writes all of `data`.
    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Io::Plain(s) => {
                let mut off = 0;
                while off < data.len() {
                    match s.try_write(&data[off..]) {
                        Ok(n) => off += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => s.writable().await?,
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Io::Tls(s) => {
                use tokio::io::AsyncWriteExt;
                s.write_all(data).await?;
                s.flush().await
            }
        }
    }

    /// Reads what is available into the spare capacity of `buf`; 0 means end of stream.
    async fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Io::Plain(s) => loop {
                match s.try_read_buf(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => s.readable().await?,
                    Err(e) => return Err(e),
                }
            },
            Io::Tls(s) => {
                use tokio::io::AsyncReadExt;
                s.read_buf(buf).await
            }
        }
    }

    /// After a complete response with nothing left to read, forgets the socket's stale
    /// readable state so the next read waits for the reactor instead of failing a `recv`.
    fn clear_read_ready(&self) {
        if let Io::Plain(s) = self {
            let _ = s.try_io(Interest::READABLE, || Err::<(), _>(io::ErrorKind::WouldBlock.into()));
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// What one HTTP/1.1 exchange returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exchange {
    /// Response status.
    pub(crate) status: u16,
    /// Whether the connection may carry another request.
    pub(crate) keep_alive: bool,
    /// Response bytes read (head and body).
    pub(crate) bytes: u64,
}

/// First size of a connection's read buffer: a small response fits, and thousands of
/// connections share heap pages instead of touching one page (or more) each.
const READ_BUF_MIN: usize = 1024;
/// The read buffer doubles while reads fill it, up to this size (large bodies).
const READ_BUF_MAX: usize = 64 * 1024;

/// A keep-alive HTTP/1.1 connection with its read buffer.
#[derive(Debug)]
pub(crate) struct H1Conn {
    io: Io,
    buf: Vec<u8>,
    pos: usize,
    reader: ResponseReader,
}

impl H1Conn {
    /// Wraps a connected stream.
    pub(crate) fn new(io: Io) -> Self {
        H1Conn { io, buf: Vec::new(), pos: 0, reader: ResponseReader::new(false) }
    }

    /// Sends prebuilt request bytes and reads one whole response.
    pub(crate) async fn exchange(&mut self, request: &[u8], head: bool) -> Result<Exchange, ErrorKind> {
        self.reader = ResponseReader::new(head);
        self.io.write_all(request).await.map_err(|e| ErrorKind::from_io(&e))?;
        let mut bytes = 0u64;
        loop {
            if self.pos < self.buf.len() {
                let progress = self.reader.advance(&self.buf, &mut self.pos).map_err(parse_kind)?;
                if self.pos == self.buf.len() {
                    self.buf.clear();
                    self.pos = 0;
                }
                if let Progress::Done { status, keep_alive } = progress {
                    if self.buf.is_empty() {
                        self.io.clear_read_ready();
                    }
                    return Ok(Exchange { status, keep_alive, bytes });
                }
            }
            let cap = self.buf.capacity();
            if cap - self.buf.len() < READ_BUF_MIN / 2 {
                // Double (a head or body larger than the buffer), at least to the minimum.
                self.buf.reserve(cap.clamp(READ_BUF_MIN, READ_BUF_MAX));
            }
            let spare = self.buf.capacity() - self.buf.len();
            let n = self.io.read_some(&mut self.buf).await.map_err(|e| ErrorKind::from_io(&e))?;
            if n == spare && self.buf.capacity() < READ_BUF_MAX {
                // The read filled the buffer: more is waiting, so read more at a time.
                self.buf.reserve(self.buf.capacity());
            }
            if n == 0 {
                if self.reader.until_close() {
                    return Ok(Exchange { status: self.reader.status(), keep_alive: false, bytes });
                }
                // EOF before a whole response: the server closed or reset the connection.
                return Err(ErrorKind::Reset);
            }
            bytes += n as u64;
        }
    }
}

fn parse_kind(_: ParseError) -> ErrorKind {
    ErrorKind::Protocol
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The read buffer starts small and grows for a large head and body; every byte is counted.
    #[test]
    fn small_buffer_grows_for_large_responses() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let big_header = format!("X-Big: {}\r\n", "h".repeat(3000));
            let body = vec![b'b'; 200_000];
            let mut first =
                format!("HTTP/1.1 200 OK\r\n{big_header}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
            first.extend_from_slice(&body);
            let second = b"HTTP/1.1 204 No Content\r\n\r\n".to_vec();
            let (a, b) = (first.clone(), second.clone());
            let server = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut req = [0u8; 256];
                for reply in [a, b] {
                    let _ = s.read(&mut req).await.unwrap();
                    s.write_all(&reply).await.unwrap();
                }
            });
            let mut conn = H1Conn::new(Io::Plain(TcpStream::connect(addr).await.unwrap()));
            assert_eq!(conn.buf.capacity(), 0);
            let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
            let ex = conn.exchange(req, false).await.unwrap();
            assert_eq!(ex, Exchange { status: 200, keep_alive: true, bytes: first.len() as u64 });
            assert!(conn.buf.capacity() <= 2 * READ_BUF_MAX + 8192, "{}", conn.buf.capacity());
            let ex = conn.exchange(req, false).await.unwrap();
            assert_eq!(ex, Exchange { status: 204, keep_alive: true, bytes: second.len() as u64 });
            server.await.unwrap();
        });
    }
}
