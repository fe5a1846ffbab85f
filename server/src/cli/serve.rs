//! `meshperf serve`: the performance-management server: REST, SSE and metrics on `PORT`
//! (default 9081) and the perf gRPC service plus Meshery's adapter protocol on `--grpc-listen`
//! (default: the HTTP bind address `MESHPERF_BIND`, port 10013), in one process, until SIGINT
//! or SIGTERM. Both sides share one run pipeline and one shutdown grace.
//!
//! Runs execute in this process, or on the load workers of `MESHPERF_WORKERS`.
//! Configuration comes from the environment (see [`crate::config`]); every bad value is
//! reported before anything starts (exit 2). Once listening, one line per listener goes to
//! stdout (`meshperf server listening on http://ADDR`, `meshperf perf gRPC listening on ADDR`)
//! so scripts and tests learn the ports when `PORT=0`.

use std::sync::Arc;

use super::{CliError, Exit};
use crate::config::Config;
use crate::perf::grpc;
use crate::perf::runs::{Executor, LocalExecutor, WorkersExecutor};
use crate::serve::{ServeError, build_state, grpc_state, run, shutdown_signal, worker_token};

/// Arguments of `meshperf serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where the perf gRPC service listens (`ADDR:PORT`), or `off` [default: MESHPERF_BIND:10013].
    #[arg(long, value_name = "ADDR|off")]
    pub grpc_listen: Option<String>,
    /// HTTP port (overrides `PORT`).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
}

fn failure(e: ServeError) -> CliError {
    CliError::Failure(e.to_string())
}

/// Serves until a signal, then shuts down gracefully.
pub fn execute(args: ServeArgs) -> Result<Exit, CliError> {
    let mut config = Config::from_env().map_err(|e| CliError::Usage(e.to_string()))?;
    if let Some(port) = args.port {
        config.port = port;
    }
    let grpc_listen =
        args.grpc_listen.unwrap_or_else(|| std::net::SocketAddr::new(config.bind, grpc::DEFAULT_PORT).to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("meshperf-server")
        .enable_all()
        .build()
        .map_err(|e| CliError::Failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(config, grpc_listen))?;
    Ok(Exit::Ok)
}

async fn serve(config: Config, grpc_listen: String) -> Result<(), CliError> {
    let addr = std::net::SocketAddr::new(config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {addr}: {e}; set PORT (or --port) to a free port")))?;
    let grpc_listener = if grpc_listen.eq_ignore_ascii_case("off") {
        None
    } else {
        Some(grpc::bind(&grpc_listen).await.map_err(|e| {
            CliError::Usage(format!("{e}; choose another address with --grpc-listen ADDR:PORT, or --grpc-listen off"))
        })?)
    };
    let executor: Arc<dyn Executor> = if config.workers.is_empty() {
        Arc::new(LocalExecutor)
    } else {
        tracing::info!(workers = ?config.workers, "runs go to the load workers");
        Arc::new(WorkersExecutor::new(config.workers.clone(), worker_token(&config).map_err(failure)?))
    };
    let grace = config.shutdown_grace;
    let state = build_state(config, executor).await.map_err(failure)?;
    let grpc_state = grpc_state(&state).map_err(failure)?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let http_addr = listener.local_addr().map_err(|e| CliError::Failure(e.to_string()))?;
    println!("meshperf server listening on http://{http_addr}");
    let grpc_task = match grpc_listener {
        Some(l) => {
            let grpc_addr = l.local_addr().map_err(|e| CliError::Failure(e.to_string()))?;
            println!("meshperf perf gRPC listening on {grpc_addr}");
            let stop = stopped(stop_rx.clone());
            Some(tokio::spawn(async move { grpc::serve(l, grpc_state, stop, grace).await }))
        }
        None => None,
    };
    tracing::info!(%http_addr, "serving");
    let result = run(listener, state, stopped(stop_rx)).await.map_err(failure);
    if let Some(task) = grpc_task {
        match task.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "the gRPC service stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "the gRPC service task failed"),
            Ok(Ok(())) => {}
        }
    }
    result
}
