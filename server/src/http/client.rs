//! A small HTTP/1.1 client on hyper: what the CLI uses to talk to a server and what the remote
//! provider uses to fetch its keys. One connection per request (these are control calls, not
//! load); `https` URLs use rustls with the system's roots.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client-side failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL cannot be used.
    #[error("{url} is not a usable http(s) URL: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server could not be reached.
    #[error("cannot reach {authority}: {reason}")]
    Connect {
        /// host:port.
        authority: String,
        /// Why.
        reason: String,
    },
    /// The exchange failed after connecting.
    #[error("the request to {url} failed: {reason}")]
    Exchange {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// One request: method, absolute URL, headers and body.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: url::Url,
    /// Extra headers.
    pub headers: HeaderMap,
    /// The body (empty for none).
    pub body: Bytes,
}

impl Call {
    /// A call without body.
    pub fn new(method: Method, url: url::Url) -> Self {
        Call { method, url, headers: HeaderMap::new(), body: Bytes::new() }
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
            self.headers.insert(http::header::AUTHORIZATION, v);
        }
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.body = Bytes::from(body.to_string());
        self
    }

    /// Sends the call; the response body streams.
    pub async fn send(self) -> Result<Response<Incoming>, ClientError> {
        let url_text = self.url.to_string();
        let bad = |reason: &str| ClientError::BadUrl { url: url_text.clone(), reason: reason.into() };
        let host = self.url.host_str().ok_or_else(|| bad("it has no host"))?.to_string();
        let port = self.url.port_or_known_default().ok_or_else(|| bad("it has no port"))?;
        let tls = match self.url.scheme() {
            "http" => false,
            "https" => true,
            _ => return Err(bad("the scheme is not http or https")),
        };
        let authority = format!("{host}:{port}");
        let connect_err = |reason: String| ClientError::Connect { authority: authority.clone(), reason };
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.trim_matches(['[', ']']), port)))
            .await
            .map_err(|_| connect_err("timed out".into()))?
            .map_err(|e| connect_err(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let path = match self.url.query() {
            Some(q) => format!("{}?{q}", self.url.path()),
            None => self.url.path().to_string(),
        };
        let mut req = Request::builder().method(self.method).uri(path).header(http::header::HOST, &authority);
        if let Some(h) = req.headers_mut() {
            h.extend(self.headers);
        }
        let req = req.body(Full::new(self.body)).map_err(|e| bad(&e.to_string()))?;
        let exchange = |e: hyper::Error| ClientError::Exchange { url: url_text.clone(), reason: e.to_string() };
        if tls {
            let name = rustls_pki_types::ServerName::try_from(host.clone()).map_err(|e| bad(&e.to_string()))?;
            let config = tls_config().map_err(|e| connect_err(format!("TLS: {e}")))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| connect_err(format!("TLS: {e}")))?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(exchange)?;
            tokio::spawn(conn);
            sender.send_request(req).await.map_err(exchange)
        } else {
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(exchange)?;
            tokio::spawn(conn);
            sender.send_request(req).await.map_err(exchange)
        }
    }

    /// Sends the call and reads the whole response body.
    pub async fn fetch(self) -> Result<(StatusCode, HeaderMap, Bytes), ClientError> {
        let url = self.url.to_string();
        let resp = self.send().await?;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.map_err(|e| ClientError::Exchange { url, reason: e.to_string() })?.to_bytes();
        Ok((parts.status, parts.headers, bytes))
    }
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| e.to_string())
        })
        .clone()
}
