//! A tonic gRPC server on 127.0.0.1 for the gRPC load tests: `demo.Greeter/Hello`
//! (`proto/greeter.proto`), the health service `grpc.health.v1.Health/Check`, and, when asked
//! for, the server reflection service (v1) that describes both. It runs on its own thread and
//! runtime and counts what it serves.
//!
//! `Hello` answers `hello NAME`, or `UNAVAILABLE` ("shedding load") on every `fail_every`-th
//! call the server has received, so a test knows how many calls fail.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::{Request, Response, Status};

/// Code generated from `proto/greeter.proto`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod demo {
    tonic::include_proto!("demo");
}

/// Code generated from `proto/grpc/health/v1/health.proto`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod health {
    tonic::include_proto!("grpc.health.v1");
}

/// The encoded descriptors of both services (and the files they import), for reflection.
const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/test_descriptors.bin"));

/// `proto/greeter.proto` on disk, for `--proto`.
pub fn greeter_proto() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto/greeter.proto")
}

/// The text of `proto/greeter.proto`, for profiles that carry it inline.
pub fn greeter_source() -> String {
    std::fs::read_to_string(greeter_proto()).expect("greeter.proto")
}

/// What the server has seen.
#[derive(Debug, Default)]
pub struct GrpcControl {
    /// `Hello` calls received.
    pub hello_calls: AtomicU64,
    /// `Hello` calls answered with `UNAVAILABLE`.
    pub unavailable: AtomicU64,
    /// Health checks received.
    pub health_checks: AtomicU64,
    last_name: Mutex<Option<String>>,
    last_tenant: Mutex<Option<String>>,
}

impl GrpcControl {
    /// The `name` of the last `Hello` request.
    pub fn last_name(&self) -> Option<String> {
        self.last_name.lock().expect("lock").clone()
    }

    /// The `x-tenant` metadata of the last `Hello` request.
    pub fn last_tenant(&self) -> Option<String> {
        self.last_tenant.lock().expect("lock").clone()
    }
}

struct Greeter(Arc<GrpcControl>);

#[tonic::async_trait]
impl demo::greeter_server::Greeter for Greeter {
    async fn hello(&self, request: Request<demo::HelloRequest>) -> Result<Response<demo::HelloReply>, Status> {
        let n = self.0.hello_calls.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(t) = request.metadata().get("x-tenant").and_then(|v| v.to_str().ok()) {
            *self.0.last_tenant.lock().expect("lock") = Some(t.to_string());
        }
        let msg = request.into_inner();
        *self.0.last_name.lock().expect("lock") = Some(msg.name.clone());
        if msg.fail_every > 0 && n % u64::from(msg.fail_every) == 0 {
            self.0.unavailable.fetch_add(1, Ordering::Relaxed);
            return Err(Status::unavailable("shedding load"));
        }
        Ok(Response::new(demo::HelloReply { message: format!("hello {}", msg.name) }))
    }
}

struct Health(Arc<GrpcControl>);

#[tonic::async_trait]
impl health::health_server::Health for Health {
    async fn check(
        &self,
        request: Request<health::HealthCheckRequest>,
    ) -> Result<Response<health::HealthCheckResponse>, Status> {
        self.0.health_checks.fetch_add(1, Ordering::Relaxed);
        match request.into_inner().service.as_str() {
            "" | "demo.Greeter" => Ok(Response::new(health::HealthCheckResponse {
                status: health::health_check_response::ServingStatus::Serving as i32,
            })),
            other => Err(Status::not_found(format!("unknown service {other}"))),
        }
    }
}

/// A running gRPC test server; stops when dropped.
pub struct GrpcServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it has seen.
    pub control: Arc<GrpcControl>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GrpcServer {
    /// Greeter and health, without reflection.
    pub fn start() -> Self {
        Self::with(false)
    }

    /// Greeter, health and the reflection service.
    pub fn with_reflection() -> Self {
        Self::with(true)
    }

    fn with(reflection: bool) -> Self {
        let control = Arc::new(GrpcControl::default());
        let c = control.clone();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
                let reflection = reflection.then(|| {
                    tonic_reflection::server::Builder::configure()
                        .register_encoded_file_descriptor_set(DESCRIPTORS)
                        .build_v1()
                        .expect("reflection service")
                });
                let router = tonic::transport::Server::builder()
                    .add_service(demo::greeter_server::GreeterServer::new(Greeter(c.clone())))
                    .add_service(health::health_server::HealthServer::new(Health(c)))
                    .add_optional_service(reflection);
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                let shutdown = async {
                    let _ = stop_rx.await;
                };
                router.serve_with_incoming_shutdown(incoming, shutdown).await.expect("gRPC server serves");
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).expect("gRPC server listening");
        GrpcServer { addr, control, stop: Some(stop), thread: Some(thread) }
    }

    /// `grpc://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("grpc://{}", self.addr)
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
