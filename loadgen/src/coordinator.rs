//! Placeholder while the worker threads are written.
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use crate::{engine::CancelHandle, error::RunError, plan::RunPlan, report::{Report, Snapshot}};

pub(crate) fn spawn(
    _plan: RunPlan,
    _tls: Option<Arc<rustls::ClientConfig>>,
    _cancel: CancelHandle,
    _progress: mpsc::UnboundedSender<Snapshot>,
    _done: oneshot::Sender<Result<Report, RunError>>,
) -> Result<(), RunError> {
    Err(RunError::WorkerLost(0))
}
