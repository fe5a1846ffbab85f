//! The gRPC server on port 10013: meshperf's perf service and Meshery's `meshes.MeshService`
//! on one listener, with a graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;

use super::policy::{AllowList, Limits, Token};
use super::proto::perf_service_server::PerfServiceServer;
use super::runs::Runs;
use super::service::PerfService;
use crate::adapters::MeshAdapter;
use crate::adapters::proto::mesh_service_server::MeshServiceServer;

/// The default listen address of `meshperf worker`.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:10013";
/// How long in-flight calls may take to finish after shutdown was asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What a worker enforces.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The shared token every load-sending perf call must present.
    pub token: Token,
    /// Where load may go.
    pub allow: AllowList,
    /// Ceilings on runs.
    pub limits: Limits,
}

/// State shared by the services of one worker.
#[derive(Debug)]
pub struct WorkerState {
    /// The configuration.
    pub config: WorkerConfig,
    /// Runs in progress.
    pub runs: Arc<Runs>,
    closing: watch::Receiver<bool>,
}

impl WorkerState {
    /// State for `config`, and the sender that announces shutdown.
    pub fn new(config: WorkerConfig) -> (Arc<Self>, watch::Sender<bool>) {
        let (tx, closing) = watch::channel(false);
        let runs = Runs::new(config.limits.max_runs);
        (Arc::new(WorkerState { config, runs, closing }), tx)
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
    #[error("cannot listen on {addr}: {source}; choose another address with --listen")]
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

/// Binds `addr` (for example [`DEFAULT_LISTEN`]).
pub async fn bind(addr: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr: addr.to_string(), source })
}

/// Serves the perf service and the Meshery adapter on `listener` until `shutdown` resolves;
/// then cancels the runs in progress, ends event streams, and lets in-flight calls finish
/// (their runs end with cancelled results) for up to ten seconds.
pub async fn serve(
    listener: TcpListener,
    config: WorkerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (state, closing) = WorkerState::new(config);
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
    tracing::info!(runs = state.runs.len(), "shutting down: cancelling runs in progress");
    let _ = closing.send(true);
    state.runs.cancel_all();
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(result) => result.map_err(ServeError::from),
        Err(_) => {
            tracing::warn!("calls still open after the shutdown grace period; closing them");
            Ok(())
        }
    }
}
