//! Starting a run and following it: [`start`] returns a [`RunHandle`] that yields progress
//! snapshots, can be cancelled, and resolves to the final [`Report`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::error::RunError;
use crate::plan::ValidatedPlan;
use crate::report::{Report, Snapshot};

/// Cancels a run from any thread; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    flag: Arc<AtomicBool>,
}

impl CancelHandle {
    /// Asks the run to stop: no new requests are sent, in-flight ones finish or time out.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Release);
    }

    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }
}

/// A run in progress.
#[derive(Debug)]
pub struct RunHandle {
    progress: mpsc::UnboundedReceiver<Snapshot>,
    done: oneshot::Receiver<Result<Report, RunError>>,
    cancel: CancelHandle,
}

impl RunHandle {
    /// The next progress snapshot, or `None` once the run has finished (then call [`wait`](Self::wait)).
    pub async fn next_snapshot(&mut self) -> Option<Snapshot> {
        self.progress.recv().await
    }

    /// Blocking form of [`next_snapshot`](Self::next_snapshot), for threads outside a runtime.
    pub fn next_snapshot_blocking(&mut self) -> Option<Snapshot> {
        self.progress.blocking_recv()
    }

    /// A handle that cancels this run.
    pub fn canceller(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Waits for the final report.
    pub async fn wait(self) -> Result<Report, RunError> {
        self.done.await.unwrap_or(Err(RunError::WorkerLost(0)))
    }

    /// Blocking form of [`wait`](Self::wait).
    pub fn wait_blocking(self) -> Result<Report, RunError> {
        self.done.blocking_recv().unwrap_or(Err(RunError::WorkerLost(0)))
    }
}

/// Starts a validated plan on its own worker threads.
pub fn start(plan: ValidatedPlan) -> Result<RunHandle, RunError> {
    let tls = crate::tls::client_config(&plan)?;
    let cancel = CancelHandle::default();
    let (progress_tx, progress) = mpsc::unbounded_channel();
    let (done_tx, done) = oneshot::channel();
    crate::coordinator::spawn(plan, tls, cancel.clone(), progress_tx, done_tx)?;
    Ok(RunHandle { progress, done, cancel })
}

/// Runs `plan` to the end on the calling thread's behalf and returns its report.
pub fn run_blocking(plan: ValidatedPlan) -> Result<Report, RunError> {
    let mut handle = start(plan)?;
    while handle.next_snapshot_blocking().is_some() {}
    handle.wait_blocking()
}
