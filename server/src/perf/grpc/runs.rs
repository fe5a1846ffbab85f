//! The runs a worker has in progress: admission under the concurrency cap, cancellation by
//! id, and the task that drives one engine run and hands its progress and report on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use loadgen::{CancelHandle, Report, RunError, RunPlan, Snapshot};
use tokio::sync::mpsc;

use super::convert::TlsDir;
use super::error::WorkerError;

/// Extra time a run may take beyond its plan (connects, drain, timeouts) before the worker's
/// watchdog cancels it.
const WATCHDOG_SLACK: Duration = Duration::from_secs(30);

/// The runs in progress, capped at `max`.
#[derive(Debug)]
pub struct Runs {
    max: usize,
    inner: Mutex<HashMap<String, Option<CancelHandle>>>,
}

impl Runs {
    /// An empty registry admitting at most `max` runs at once.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Runs { max, inner: Mutex::new(HashMap::new()) })
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<CancelHandle>>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves a place for run `id`, or refuses when the cap is reached or the id is taken.
    pub fn admit(self: &Arc<Self>, id: &str) -> Result<RunSlot, WorkerError> {
        let mut map = self.map();
        if map.contains_key(id) {
            return Err(WorkerError::invalid("run_id", format!("a run with id {id:?} is already in progress")));
        }
        if map.len() >= self.max {
            return Err(WorkerError::Busy { running: map.len(), max: self.max });
        }
        map.insert(id.to_string(), None);
        Ok(RunSlot { runs: self.clone(), id: id.to_string() })
    }

    /// Cancels run `id`; false when no such run is in progress.
    pub fn cancel(&self, id: &str) -> bool {
        match self.map().get(id) {
            Some(handle) => {
                if let Some(h) = handle {
                    h.cancel();
                }
                true
            }
            None => false,
        }
    }

    /// Cancels every run whose id starts with `prefix`; returns how many.
    pub fn cancel_prefixed(&self, prefix: &str) -> usize {
        let map = self.map();
        let matching: Vec<&CancelHandle> =
            map.iter().filter(|(id, _)| id.starts_with(prefix)).filter_map(|(_, h)| h.as_ref()).collect();
        matching.iter().for_each(|h| h.cancel());
        matching.len()
    }

    /// Cancels every run (shutdown).
    pub fn cancel_all(&self) {
        self.map().values().flatten().for_each(CancelHandle::cancel);
    }

    /// Runs in progress.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether no run is in progress.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// A reserved place in [`Runs`]; released when dropped.
#[derive(Debug)]
pub struct RunSlot {
    runs: Arc<Runs>,
    id: String,
}

impl RunSlot {
    /// The run's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn set_cancel(&self, handle: CancelHandle) {
        if let Some(slot) = self.runs.map().get_mut(&self.id) {
            *slot = Some(handle);
        }
    }
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        self.runs.map().remove(&self.id);
    }
}

/// What a running test reports to whoever follows it.
#[derive(Debug)]
pub enum RunOutput {
    /// The `seq`-th progress snapshot (from 1).
    Progress(u64, Box<Snapshot>),
    /// The end: the report, or why the run failed.
    Done(Result<Box<Report>, RunError>),
}

/// A run that was started.
#[derive(Debug)]
pub struct Started {
    /// When it starts measuring time (the agreed instant, or now).
    pub start_at: SystemTime,
    /// Worker threads it uses.
    pub threads: u32,
    /// Its progress, then its end. Dropping the receiver cancels the run.
    pub output: mpsc::Receiver<RunOutput>,
}

/// Starts `plan` in `slot` and spawns the task that follows it. The task keeps the slot (and
/// the TLS folder) until the engine has stopped; a watchdog cancels a run that overstays its
/// plan, and a follower that goes away cancels it too.
pub fn start(slot: RunSlot, plan: RunPlan, tls: Option<TlsDir>) -> Result<Started, WorkerError> {
    let start_at = plan.start_at.unwrap_or_else(SystemTime::now);
    let threads = plan.threads;
    let wait = start_at.duration_since(SystemTime::now()).unwrap_or_default();
    let length = plan.measured_duration().unwrap_or(Duration::from_secs(3600)) + plan.warmup + plan.timeout;
    let deadline = Instant::now() + wait + length + WATCHDOG_SLACK;
    let mut handle = loadgen::start(plan).map_err(|e| match e {
        RunError::Plan(p) => WorkerError::Plan(p),
        other => WorkerError::Internal(other.to_string()),
    })?;
    let cancel = handle.canceller();
    slot.set_cancel(cancel.clone());
    let (tx, output) = mpsc::channel(64);
    tokio::spawn(async move {
        let _slot = slot;
        let _tls = tls;
        let mut seq = 0;
        let mut follower = true;
        let watchdog = tokio::time::sleep_until(deadline.into());
        tokio::pin!(watchdog);
        loop {
            tokio::select! {
                snap = handle.next_snapshot() => match snap {
                    Some(s) => {
                        seq += 1;
                        if follower && tx.send(RunOutput::Progress(seq, Box::new(s))).await.is_err() {
                            tracing::info!("the caller went away; cancelling its run");
                            follower = false;
                            cancel.cancel();
                        }
                    }
                    None => break,
                },
                () = &mut watchdog, if !cancel.is_cancelled() => {
                    tracing::warn!("run overstayed its plan; cancelling it");
                    cancel.cancel();
                }
            }
        }
        let result = handle.wait().await.map(Box::new);
        let _ = tx.send(RunOutput::Done(result)).await;
    });
    Ok(Started { start_at, threads, output })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_is_capped_and_released() {
        let runs = Runs::new(1);
        let a = runs.admit("a").unwrap();
        assert_eq!(a.id(), "a");
        assert!(matches!(runs.admit("b"), Err(WorkerError::Busy { running: 1, max: 1 })));
        assert!(runs.cancel("a"));
        assert!(!runs.cancel("zzz"));
        drop(a);
        assert!(runs.is_empty());
        let b = runs.admit("b").unwrap();
        let handle = CancelHandle::default();
        b.set_cancel(handle.clone());
        runs.cancel_all();
        assert!(handle.is_cancelled());
        let more = Runs::new(2);
        let _x = more.admit("x").unwrap();
        assert!(matches!(more.admit("x"), Err(WorkerError::Invalid { .. })));
    }
}
