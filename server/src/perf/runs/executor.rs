//! Where a run's load comes from, behind a small trait: this process's engine
//! ([`LocalExecutor`]) or registered load workers ([`super::WorkersExecutor`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use loadgen::{Snapshot, Stats, ValidatedPlan};
use smp::{ResultDocument, RunMeta};
use tokio::sync::{mpsc, oneshot};

/// What an execution ends with.
#[derive(Debug)]
pub struct Executed {
    /// The result document.
    pub document: ResultDocument,
    /// The exact totals and histograms, when the engine ran here.
    pub stats: Option<Stats>,
    /// The measured window.
    pub elapsed: Duration,
    /// Whether it was cancelled.
    pub cancelled: bool,
}

/// A run being executed.
pub struct Execution {
    /// When measuring starts (the plan's start instant, or now).
    pub start_at: SystemTime,
    /// Worker threads.
    pub threads: u32,
    /// One snapshot a second; closes when the load has stopped.
    pub progress: mpsc::UnboundedReceiver<Arc<Snapshot>>,
    /// Asks the run to stop early (its partial result still arrives on `done`).
    pub cancel: Arc<dyn Fn() + Send + Sync>,
    /// Resolves to the result, or why there is none.
    pub done: Pin<Box<dyn Future<Output = Result<Executed, String>> + Send>>,
}

/// Runs plans somewhere.
pub trait Executor: Send + Sync + 'static {
    /// A name for logs (`local`, `workers`).
    fn name(&self) -> &'static str;

    /// Starts `plan`; `meta` labels the result. Must be called inside a tokio runtime.
    fn execute(&self, plan: ValidatedPlan, meta: RunMeta) -> Result<Execution, String>;
}

/// Runs plans on this process's engine (`loadgen`).
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalExecutor;

impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        "local"
    }

    fn execute(&self, plan: ValidatedPlan, meta: RunMeta) -> Result<Execution, String> {
        let start_at = plan.start_at.unwrap_or_else(SystemTime::now);
        let threads = plan.threads;
        let mut handle = loadgen::start(plan).map_err(|e| e.to_string())?;
        let canceller = handle.canceller();
        let (progress_tx, progress) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = oneshot::channel();
        tokio::spawn(async move {
            while let Some(snapshot) = handle.next_snapshot().await {
                let _ = progress_tx.send(Arc::new(snapshot));
            }
            drop(progress_tx);
            let outcome = match handle.wait().await {
                Ok(report) => Ok(Executed {
                    document: ResultDocument::from_report(&report, &meta),
                    elapsed: report.elapsed,
                    cancelled: report.cancelled,
                    stats: Some(report.stats),
                }),
                Err(e) => Err(e.to_string()),
            };
            let _ = done_tx.send(outcome);
        });
        Ok(Execution {
            start_at,
            threads,
            progress,
            cancel: Arc::new(move || canceller.cancel()),
            done: Box::pin(async move {
                done_rx.await.unwrap_or_else(|_| Err("the engine stopped without a result".into()))
            }),
        })
    }
}
