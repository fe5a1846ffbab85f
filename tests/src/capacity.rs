//! Test servers with a known capacity, for `meshperf search` and `meshperf sweep`:
//!
//! - [`CapacityServer::shedding`]: answers 200 up to `capacity` requests per second and 503
//!   above it (a token bucket refilled at that rate, holding 50 ms of tokens, so evenly spaced
//!   requests at or below the capacity never see a 503 and any steady excess does).
//! - [`CapacityServer::single_worker`]: one worker serves requests one at a time, first come
//!   first served, each taking a fixed service time (sleeping, so it costs no CPU): a D/D/1
//!   queue under an open-loop generator, whose latency is the service time up to 1/service
//!   requests per second and grows without bound above it.
//!
//! Both run on their own thread and runtime on 127.0.0.1:0 and stop when dropped.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::sync::{mpsc, oneshot};

/// How a capacity server answers.
enum Model {
    /// A token bucket: `rate` tokens per second, at most `burst`.
    Shedding { bucket: Mutex<Bucket> },
    /// One worker thread with a fixed service time.
    Worker { jobs: mpsc::UnboundedSender<oneshot::Sender<()>> },
}

struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A server of known capacity; stops when dropped.
pub struct CapacityServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Requests answered 200.
    pub ok: Arc<AtomicU64>,
    /// Requests answered 503.
    pub shed: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CapacityServer {
    /// Answers 200 up to `capacity` requests per second, 503 above it.
    pub fn shedding(capacity: f64) -> Self {
        let bucket = Bucket { rate: capacity, burst: (capacity * 0.05).max(2.0), tokens: 0.0, at: Instant::now() };
        Self::start(move || Model::Shedding { bucket: Mutex::new(bucket) })
    }

    /// One worker with a fixed `service` time per request: capacity 1/service.
    pub fn single_worker(service: Duration) -> Self {
        Self::start(move || {
            let (jobs, mut queue) = mpsc::unbounded_channel::<oneshot::Sender<()>>();
            std::thread::Builder::new()
                .name("capacity-worker".into())
                .spawn(move || {
                    while let Some(done) = queue.blocking_recv() {
                        std::thread::sleep(service);
                        let _ = done.send(());
                    }
                })
                .expect("worker thread");
            Model::Worker { jobs }
        })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.addr.port())
    }

    fn start(model: impl FnOnce() -> Model + Send + 'static) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (stop, stop_rx) = oneshot::channel();
        let (ok, shed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let counters = (ok.clone(), shed.clone());
        let thread = std::thread::Builder::new()
            .name("capacity-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(serve(listener, Arc::new(model()), counters, stop_rx));
            })
            .expect("thread");
        CapacityServer { addr, ok, shed, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for CapacityServer {
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
    model: Arc<Model>,
    (ok, shed): (Arc<AtomicU64>, Arc<AtomicU64>),
    mut stop: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => match r { Ok(c) => c, Err(_) => continue },
            _ = &mut stop => break,
        };
        let _ = tcp.set_nodelay(true);
        let (model, ok, shed) = (model.clone(), ok.clone(), shed.clone());
        conns.spawn(async move {
            let svc = service_fn(move |req| answer(req, model.clone(), ok.clone(), shed.clone()));
            let _ = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tcp), svc).await;
        });
    }
    conns.abort_all();
}

async fn answer(
    _req: Request<Incoming>,
    model: Arc<Model>,
    ok: Arc<AtomicU64>,
    shed: Arc<AtomicU64>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let served = match &*model {
        Model::Shedding { bucket } => bucket.lock().expect("lock").take(),
        Model::Worker { jobs } => {
            let (done, wait) = oneshot::channel();
            jobs.send(done).is_ok() && wait.await.is_ok()
        }
    };
    let (counter, status) = if served { (ok, 200) } else { (shed, 503) };
    counter.fetch_add(1, Ordering::Relaxed);
    Ok(Response::builder().status(status).body(Full::new(Bytes::from_static(b"ok\n"))).expect("response"))
}

/// The capacity of [`CapacityServer::single_worker`] with `service`: 1/service requests per second.
pub fn capacity_of(service: Duration) -> f64 {
    1.0 / service.as_secs_f64()
}
