//! An in-process hyper test server on 127.0.0.1 (HTTP/1.1 and h2c on one port, or TLS with
//! ALPN), on its own thread and runtime, counting what it serves and able to freeze or hang.
//! Paths: `/404` and `/500` answer with that status, `/big` with 100 kB, `/sleep/MS` after MS
//! milliseconds; anything else with 200 and a short body.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

/// Shared state the test reads and steers.
#[derive(Debug, Default)]
pub struct Control {
    /// Requests answered.
    pub served: AtomicU64,
    /// Request body bytes received.
    pub body_bytes: AtomicU64,
    /// Requests that arrived over HTTP/2.
    pub h2_requests: AtomicU64,
    /// While set, no response is sent (requests hang until the client gives up).
    pub hang: AtomicBool,
    frozen_until: Mutex<Option<Instant>>,
    last_request: Mutex<Option<String>>,
}

impl Control {
    /// Holds every response (new and in flight) until `for_` has passed from now.
    pub fn freeze(&self, for_: Duration) {
        *self.frozen_until.lock().expect("lock") = Some(Instant::now() + for_);
    }

    /// Method, path, headers and body of the last request, for assertions.
    pub fn last_request(&self) -> Option<String> {
        self.last_request.lock().expect("lock").clone()
    }
}

/// A running test server; stops when dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters and knobs.
    pub control: Arc<Control>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    tls_flag: bool,
}

impl TestServer {
    /// Plain HTTP: HTTP/1.1, and HTTP/2 with prior knowledge, on one port.
    pub fn plain() -> Self {
        Self::start(None)
    }

    /// TLS with the given server config (its ALPN list decides h2 or http/1.1).
    pub fn tls(config: Arc<rustls::ServerConfig>) -> Self {
        Self::start(Some(config))
    }

    /// `http://127.0.0.1:PORT/path` (or https).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.addr.port())
    }

    fn is_tls(&self) -> bool {
        self.tls_flag
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let control = Arc::new(Control::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let ctl = control.clone();
        let tls_flag = tls.is_some();
        let thread = std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(serve(listener, tls, ctl, stop_rx));
            })
            .expect("thread");
        TestServer { addr, control, stop: Some(stop_tx), thread: Some(thread), tls_flag }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    control: Arc<Control>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => match r { Ok(c) => c, Err(_) => continue },
            _ = &mut stop => break,
        };
        let _ = tcp.set_nodelay(true);
        let control = control.clone();
        let acceptor = acceptor.clone();
        conns.spawn(async move {
            let svc = service_fn(move |req| handle(req, control.clone()));
            let builder = auto::Builder::new(TokioExecutor::new());
            match acceptor {
                Some(a) => {
                    if let Ok(stream) = a.accept(tcp).await {
                        let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(tcp), svc).await;
                }
            }
        });
    }
    conns.abort_all();
}

async fn handle(req: Request<Incoming>, control: Arc<Control>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.version() == hyper::Version::HTTP_2 {
        control.h2_requests.fetch_add(1, Ordering::Relaxed);
    }
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    control.body_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    let mut seen = format!("{} {}\n", parts.method, parts.uri.path());
    for (n, v) in &parts.headers {
        seen.push_str(&format!("{n}: {}\n", v.to_str().unwrap_or("?")));
    }
    seen.push_str(&String::from_utf8_lossy(&body));
    *control.last_request.lock().expect("lock") = Some(seen);
    while control.hang.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let until = *control.frozen_until.lock().expect("lock");
    if let Some(until) = until {
        let now = Instant::now();
        if until > now {
            tokio::time::sleep(until - now).await;
        }
    }
    // `/sleep/MS` answers after MS milliseconds: a slow service.
    if let Some(ms) = parts.uri.path().strip_prefix("/sleep/").and_then(|ms| ms.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    control.served.fetch_add(1, Ordering::Relaxed);
    let status = match parts.uri.path() {
        "/404" => 404,
        "/500" => 500,
        _ => 200,
    };
    let body = if parts.uri.path() == "/big" {
        Bytes::from(vec![b'x'; 100_000])
    } else {
        Bytes::from_static(b"hello from the test server\n")
    };
    Ok(Response::builder().status(status).body(Full::new(body)).expect("response"))
}
