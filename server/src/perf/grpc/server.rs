//! The gRPC server on port 10013: meshperf's perf service and Meshery's `meshes.MeshService`
//! on one listener, over the process's one pipeline, with a graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;

use super::auth::GrpcAuth;
use super::proto::perf_service_server::PerfServiceServer;
use super::service::PerfService;
use crate::adapters::MeshAdapter;
use crate::adapters::proto::mesh_service_server::MeshServiceServer;
use crate::perf::pipeline::Pipeline;

/// The default listen address of `meshperf worker` (every interface: workers are remote).
pub const DEFAULT_LISTEN: &str = "0.0.0.0:10013";
/// The gRPC port of `meshperf serve` (on the HTTP bind address unless told otherwise).
pub const DEFAULT_PORT: u16 = 10013;

/// What the gRPC doors share.
#[derive(Debug)]
pub struct GrpcState {
    /// The process's pipeline (its policy and registry).
    pub pipeline: Pipeline,
    /// Who may call.
    pub auth: GrpcAuth,
    closing: watch::Receiver<bool>,
    closer: watch::Sender<bool>,
}

impl GrpcState {
    /// State over `pipeline`, accepting `auth`'s credentials.
    pub fn new(pipeline: Pipeline, auth: GrpcAuth) -> Arc<Self> {
        let (closer, closing) = watch::channel(false);
        Arc::new(GrpcState { pipeline, auth, closing, closer })
    }

    /// Whether shutdown was asked for.
    pub fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }

    /// Resolves once shutdown is asked for (long streams end then).
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.clone();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }
}

/// Errors of the gRPC server itself.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The transport failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Binds `addr`.
pub async fn bind(addr: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr: addr.to_string(), source })
}

/// Serves the perf service and the Meshery adapter on `listener` until `shutdown` resolves;
/// then ends the event streams, cancels the runs in progress (the registry stores their
/// partial results) and lets in-flight calls finish for up to `grace`.
pub async fn serve(
    listener: TcpListener,
    state: Arc<GrpcState>,
    shutdown: impl Future<Output = ()> + Send,
    grace: Duration,
) -> Result<(), ServeError> {
    let perf = PerfServiceServer::new(PerfService::new(state.clone()));
    let adapter = MeshServiceServer::new(MeshAdapter::new(state.clone()));
    let stop = state.closed();
    let server = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .add_service(perf)
        .add_service(adapter)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop);
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.map_err(ServeError::from),
        () = shutdown => {}
    }
    let (active, queued) = state.pipeline.registry.load();
    tracing::info!(active, queued, "gRPC: shutting down, cancelling runs in progress");
    let _ = state.closer.send(true);
    let registry = state.pipeline.registry.clone();
    let drain = async move {
        registry.shutdown().await;
        server.await
    };
    match tokio::time::timeout(grace + Duration::from_secs(1), drain).await {
        Ok(result) => result.map_err(ServeError::from),
        Err(_) => {
            tracing::warn!("gRPC calls still open after the shutdown grace period; closing them");
            Ok(())
        }
    }
}
