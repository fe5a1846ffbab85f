//! Where a run's load comes from, behind a small trait so the server can run tests on its own
//! engine ([`LocalExecutor`]) or hand them to registered workers (an executor over the perf
//! gRPC service plugs in the same way).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use loadgen::{RunPlan, SecondStats};
use smp::{ResultDocument, RunMeta};
use tokio::sync::{mpsc, oneshot};

/// Progress of a run, about once a second.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Seconds since the measured window opened.
    pub elapsed_s: f64,
    /// Requests finished since the window opened.
    pub requests: u64,
    /// Errors since the window opened.
    pub errors: u64,
    /// Requests per second over the last interval.
    pub rate: f64,
    /// Median latency over the last interval, ms.
    pub p50_ms: f64,
    /// 99th percentile over the last interval, ms.
    pub p99_ms: f64,
}

impl Progress {
    /// A one-line summary for the SSE `message`.
    pub fn message(&self) -> String {
        format!(
            "{:.0}s: {} requests, {:.1} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            self.elapsed_s, self.requests, self.rate, self.p50_ms, self.p99_ms, self.errors
        )
    }
}

/// The final outcome of an execution: the result document or why there is none.
pub type Outcome = Result<ResultDocument, String>;

/// A run being executed.
pub struct Execution {
    /// Progress; closes when the load has stopped.
    pub progress: mpsc::UnboundedReceiver<Progress>,
    /// Asks the run to stop early (its partial result still arrives on `done`).
    pub cancel: Arc<dyn Fn() + Send + Sync>,
    /// Resolves to the result.
    pub done: Pin<Box<dyn Future<Output = Outcome> + Send>>,
}

/// Runs plans somewhere.
pub trait Executor: Send + Sync + 'static {
    /// A name for logs (`local`, `workers`).
    fn name(&self) -> &'static str;

    /// Starts `plan`; `meta` labels the result. Must be called inside a tokio runtime.
    fn execute(&self, plan: RunPlan, meta: RunMeta) -> Result<Execution, String>;
}

/// Runs plans on this process's engine (`loadgen`).
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalExecutor;

impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        "local"
    }

    fn execute(&self, plan: RunPlan, meta: RunMeta) -> Result<Execution, String> {
        let mut handle = loadgen::start(plan).map_err(|e| e.to_string())?;
        let canceller = handle.canceller();
        let (progress_tx, progress) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = oneshot::channel();
        tokio::spawn(async move {
            while let Some(snapshot) = handle.next_snapshot().await {
                let s = SecondStats::from_snapshot(&snapshot);
                let _ = progress_tx.send(Progress {
                    elapsed_s: snapshot.elapsed.as_secs_f64(),
                    requests: snapshot.total_responses + snapshot.total_errors,
                    errors: snapshot.total_errors,
                    rate: s.rate,
                    p50_ms: s.p50_us as f64 / 1000.0,
                    p99_ms: s.p99_us as f64 / 1000.0,
                });
            }
            drop(progress_tx);
            let outcome = match handle.wait().await {
                Ok(report) => Ok(ResultDocument::from_report(&report, &meta)),
                Err(e) => Err(e.to_string()),
            };
            let _ = done_tx.send(outcome);
        });
        Ok(Execution {
            progress,
            cancel: Arc::new(move || canceller.cancel()),
            done: Box::pin(async move {
                done_rx.await.unwrap_or_else(|_| Err("the engine stopped without a result".into()))
            }),
        })
    }
}
