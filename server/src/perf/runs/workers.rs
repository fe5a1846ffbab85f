//! Runs on registered load workers: the plan is split over `MESHPERF_WORKERS` through the perf
//! gRPC service (each worker admits its share under its own allow-list and ceilings too),
//! progress is the merged snapshots, and the result is the exact merge with a per-worker
//! breakdown.

use std::sync::Arc;
use std::time::SystemTime;

use loadgen::ValidatedPlan;
use smp::RunMeta;
use tokio::sync::{mpsc, oneshot};

use super::executor::{Executed, Execution, Executor};
use crate::perf::distributed::{DistributedCancel, DistributedOptions, run_distributed};

/// Executes runs over a fixed set of workers sharing one token.
#[derive(Debug, Clone)]
pub struct WorkersExecutor {
    workers: Vec<String>,
    token: String,
}

impl WorkersExecutor {
    /// An executor over `workers` (`host:port`) authenticating with `token`.
    pub fn new(workers: Vec<String>, token: String) -> Self {
        WorkersExecutor { workers, token }
    }
}

impl Executor for WorkersExecutor {
    fn name(&self) -> &'static str {
        "workers"
    }

    fn execute(&self, plan: ValidatedPlan, meta: RunMeta) -> Result<Execution, String> {
        let options = DistributedOptions::new(self.workers.clone(), self.token.clone(), meta);
        let start_at = SystemTime::now() + options.start_delay;
        let threads = plan.threads;
        let cancel = DistributedCancel::new();
        let (progress_tx, progress) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = oneshot::channel();
        let handle = cancel.clone();
        // `run_distributed`'s future is not `Send`, so it gets a thread and a runtime of its own.
        let thread = std::thread::Builder::new().name("meshperf-distributed".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = done_tx.send(Err(format!("cannot start a runtime for the distributed run: {e}")));
                    return;
                }
            };
            let outcome = runtime.block_on(run_distributed(plan, options, handle, |snapshot| {
                let _ = progress_tx.send(Arc::new(snapshot.clone()));
            }));
            drop(progress_tx);
            let _ = done_tx.send(
                outcome
                    .map(|r| Executed {
                        elapsed: r.report.elapsed,
                        cancelled: r.report.cancelled,
                        stats: None,
                        document: r.document,
                    })
                    .map_err(|e| e.to_string()),
            );
        });
        thread.map_err(|e| format!("cannot start the distributed run's thread: {e}"))?;
        Ok(Execution {
            start_at,
            threads,
            progress,
            cancel: Arc::new(move || cancel.cancel()),
            done: Box::pin(async move {
                done_rx.await.unwrap_or_else(|_| Err("the distributed run stopped without a result".into()))
            }),
        })
    }
}
