//! `meshperf serve` as a library: build the server's state from a [`Config`] and serve HTTP on
//! a listener until a shutdown future resolves ([`run`]), plus the gRPC perf service beside it.
//!
//! Start-up order: home directory (mode 0700), store (migrations; a SQLite file 0600), runs
//! left in flight by a previous process marked `interrupted`, identity provider (local key
//! created at first start), the run pipeline (policy and registry) every door shares. Shutdown: readiness turns 503, new runs are refused, runs in flight are cancelled
//! and their partial results stored, open requests get `MESHPERF_SHUTDOWN_GRACE` to finish.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::{AppState, app, metrics::Metrics};
use crate::perf::grpc::{GrpcAuth, GrpcState};
use crate::perf::pipeline::Pipeline;
use crate::perf::runs::{Executor, Limits, LocalExecutor, RunRegistry};
use crate::policy::{Policy, SERVER_RULES, Token};
use crate::providers::local::write_private;
use crate::providers::{Provider, ProviderError};
use crate::store::{Store, StoreError, now};

/// The worker token file under the home, when `MESHPERF_WORKER_TOKEN` is not set.
pub const WORKER_TOKEN_FILE: &str = "worker-token";

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The home directory could not be created.
    #[error("cannot create MESHPERF_HOME {path}: {source}")]
    Home {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The provider could not be set up.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// Serving failed.
    #[error("the HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
    /// The worker token file could not be read or created.
    #[error("cannot use the worker token file {path}: {source}; set MESHPERF_WORKER_TOKEN instead")]
    WorkerToken {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC side failed.
    #[error("{0}")]
    Grpc(String),
}

/// Builds the state `app` serves: opens the store, marks interrupted runs, sets up the provider.
pub async fn build_state(config: Config, executor: Arc<dyn Executor>) -> Result<AppState, ServeError> {
    private_dir(&config.home).map_err(|source| ServeError::Home { path: config.home.display().to_string(), source })?;
    let store = Store::open(&config.database, config.synchronous).await?;
    let interrupted = store.interrupt_in_flight(now()).await?;
    if interrupted > 0 {
        tracing::warn!(runs = interrupted, "runs in flight when the server last stopped are marked interrupted");
    }
    let provider = Provider::from_config(&config).await?;
    let limits = Limits {
        max_concurrent: config.max_concurrent_runs,
        queue: config.run_queue,
        per_user: config.max_runs_per_user,
        grace: config.shutdown_grace,
        names: SERVER_RULES,
    };
    let registry = RunRegistry::new(Some(store.clone()), executor, Arc::new(LocalExecutor), limits);
    let policy = Policy { allow: config.allow.clone(), ceilings: config.ceilings, names: SERVER_RULES };
    let pipeline = Pipeline { policy: Arc::new(policy), registry };
    tracing::info!(store = store.backend(), provider = provider.name(), "server state ready");
    Ok(AppState {
        config: Arc::new(config),
        store,
        provider,
        pipeline,
        metrics: Arc::new(Metrics::default()),
        shutting_down: Arc::new(AtomicBool::new(false)),
    })
}

/// Serves `state` on `listener` until `shutdown` resolves, then drains: runs in flight are
/// cancelled (results stored), open requests get the grace period, and the store is closed.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let grace = state.config.shutdown_grace;
    let (started_tx, mut started) = tokio::sync::watch::channel(false);
    let drain_state = state.clone();
    let graceful = async move {
        shutdown.await;
        tracing::info!("shutting down: refusing new runs, cancelling runs in flight");
        drain_state.shutting_down.store(true, Ordering::Release);
        let _ = started_tx.send(true);
        drain_state.pipeline.registry.shutdown().await;
    };
    let store = state.store.clone();
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(graceful);
    let deadline = async move {
        let _ = started.wait_for(|s| *s).await;
        tokio::time::sleep(grace + Duration::from_secs(1)).await;
    };
    let result = tokio::select! {
        r = server.into_future() => r.map_err(ServeError::from),
        () = deadline => {
            tracing::warn!("requests still open after the shutdown grace period; closing them");
            Ok(())
        }
    };
    store.close().await;
    result
}

/// The gRPC doors' state for a server: the same pipeline as REST, the worker token from
/// `MESHPERF_WORKER_TOKEN` or a file under the home (created once), and the server's identity
/// provider, so `meshperf login` tokens work on gRPC too. Runs started with the shared token
/// belong to the local user (with the local provider) or to `worker-token`.
pub fn grpc_state(state: &AppState) -> Result<Arc<GrpcState>, ServeError> {
    let token = Token::new(worker_token(&state.config)?).map_err(|e| ServeError::Grpc(e.to_string()))?;
    let token_owner = match &state.provider {
        Provider::Local(_) => crate::providers::local::LOCAL_USER,
        Provider::Remote(_) => "worker-token",
    };
    let auth = GrpcAuth::new(token, Some(state.provider.clone()), token_owner);
    Ok(GrpcState::new(state.pipeline.clone(), auth))
}

/// Creates `dir` (and its parents) if needed, readable only by its owner.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The shared worker token: `MESHPERF_WORKER_TOKEN`, or the one kept under the home (created
/// on first use, readable only by its owner).
pub fn worker_token(config: &Config) -> Result<String, ServeError> {
    Ok(match &config.worker_token {
        Some(t) => t.clone(),
        None => {
            let path = config.home.join(WORKER_TOKEN_FILE);
            let err = |source| ServeError::WorkerToken { path: path.display().to_string(), source };
            if !path.exists() {
                private_dir(&config.home).map_err(err)?;
                let secret = uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string();
                write_private(&path, secret.as_bytes()).map_err(err)?;
            }
            std::fs::read_to_string(&path).map_err(err)?.trim().to_string()
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
