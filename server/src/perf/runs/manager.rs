//! The run manager: records each run from the moment it is asked for, queues it for one of
//! the run slots, executes it, streams its events and stores its result.
//!
//! A run's task owns it from queue to result: a client that goes away only drops its event
//! subscription, the run goes on and is stored. `MESHPERF_MAX_CONCURRENT_RUNS` slots execute at
//! once; up to `MESHPERF_RUN_QUEUE` more wait; beyond that new runs are refused (429).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use smp::RunMeta;
use tokio::sync::{Notify, Semaphore, broadcast, watch};

use super::executor::{Executor, Progress};
use super::model::RunSpec;
use crate::http::error::ApiError;
use crate::perf::results::ResultView;
use crate::store::{ResultRow, RunRow, RunState, Store, now};

/// Events kept for a slow subscriber before it skips ahead.
const EVENT_BUFFER: usize = 256;

/// One server-sent event of a run: Meshery's `{"status","message","result"}` plus meshperf's
/// `runId` and `progress`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    /// `info`, `error` or `success`.
    pub status: &'static str,
    /// What happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The stored result (on `success`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Arc<ResultView>>,
    /// The run.
    pub run_id: String,
    /// Progress figures (on progress events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

impl RunEvent {
    fn info(run_id: &str, message: impl Into<String>) -> Self {
        RunEvent { status: "info", message: Some(message.into()), result: None, run_id: run_id.into(), progress: None }
    }

    fn error(run_id: &str, message: impl Into<String>) -> Self {
        RunEvent { status: "error", message: Some(message.into()), ..Self::info(run_id, "") }
    }

    /// Whether this is the stream's last event.
    pub fn is_final(&self) -> bool {
        self.status != "info"
    }
}

struct Live {
    owner: String,
    cancel: watch::Sender<bool>,
    events: broadcast::Sender<RunEvent>,
}

/// A run that was accepted.
#[derive(Debug)]
pub struct Submitted {
    /// Its id.
    pub run_id: String,
    /// Its events from the first one on.
    pub events: broadcast::Receiver<RunEvent>,
}

/// Runs in flight and the slots they share.
pub struct RunManager {
    store: Store,
    executor: Arc<dyn Executor>,
    slots: Arc<Semaphore>,
    queue_cap: usize,
    queued: AtomicUsize,
    active: AtomicUsize,
    live: Mutex<HashMap<String, Live>>,
    closing: AtomicBool,
    idle: Notify,
}

impl std::fmt::Debug for RunManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunManager").field("executor", &self.executor.name()).field("load", &self.load()).finish()
    }
}

impl RunManager {
    /// A manager executing on `executor` with `slots` concurrent runs and `queue_cap` waiting.
    pub fn new(store: Store, executor: Arc<dyn Executor>, slots: usize, queue_cap: usize) -> Arc<Self> {
        Arc::new(RunManager {
            store,
            executor,
            slots: Arc::new(Semaphore::new(slots.max(1))),
            queue_cap,
            queued: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            live: Mutex::new(HashMap::new()),
            closing: AtomicBool::new(false),
            idle: Notify::new(),
        })
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs executing and runs waiting.
    pub fn load(&self) -> (usize, usize) {
        (self.active.load(Ordering::Acquire), self.queued.load(Ordering::Acquire))
    }

    /// Records a run as queued and starts its task; its events start with "Initiating".
    pub async fn submit(self: &Arc<Self>, owner: &str, spec: RunSpec) -> Result<Submitted, ApiError> {
        if self.closing.load(Ordering::Acquire) {
            return Err(ApiError::ShuttingDown);
        }
        let queued = self.queued.load(Ordering::Acquire);
        if self.slots.available_permits() == 0 && queued >= self.queue_cap {
            return Err(ApiError::Busy { queued });
        }
        let run_id = uuid::Uuid::new_v4().to_string();
        self.store
            .insert_run(&RunRow {
                id: run_id.clone(),
                owner: owner.to_string(),
                profile_id: spec.profile_id.clone(),
                name: spec.name.clone(),
                state: RunState::Queued.as_str().into(),
                message: String::new(),
                requested_generator: spec.requested_generator.clone(),
                request: spec.summary().to_string(),
                result_id: None,
                created_at: now(),
                started_at: None,
                ended_at: None,
            })
            .await?;
        let (events_tx, events) = broadcast::channel(EVENT_BUFFER);
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let _ = events_tx.send(RunEvent::info(&run_id, "Initiating load test . . . "));
        self.live().insert(run_id.clone(), Live { owner: owner.into(), cancel: cancel_tx, events: events_tx.clone() });
        self.queued.fetch_add(1, Ordering::AcqRel);
        tracing::info!(run = %run_id, user = %owner, name = %spec.name, "run queued");
        let this = self.clone();
        let (id, owner) = (run_id.clone(), owner.to_string());
        tokio::spawn(async move {
            this.drive(&id, &owner, spec, cancel_rx, &events_tx).await;
            this.live().remove(&id);
            this.idle.notify_waiters();
        });
        Ok(Submitted { run_id, events })
    }

    /// Subscribes to a live run of `owner`.
    pub fn subscribe(&self, owner: &str, run_id: &str) -> Option<broadcast::Receiver<RunEvent>> {
        self.live().get(run_id).filter(|l| l.owner == owner).map(|l| l.events.subscribe())
    }

    /// Asks a live run of `owner` to stop; false when there is none.
    pub fn cancel(&self, owner: &str, run_id: &str) -> bool {
        match self.live().get(run_id) {
            Some(l) if l.owner == owner => {
                let _ = l.cancel.send(true);
                true
            }
            _ => false,
        }
    }

    /// At shutdown: refuses new runs, cancels the live ones (their partial results are stored)
    /// and waits up to `grace` for them to end.
    pub async fn shutdown(&self, grace: Duration) {
        self.closing.store(true, Ordering::Release);
        for live in self.live().values() {
            let _ = live.cancel.send(true);
        }
        let wait = async {
            loop {
                let idle = self.idle.notified();
                if self.live().is_empty() {
                    return;
                }
                idle.await;
            }
        };
        if tokio::time::timeout(grace, wait).await.is_err() {
            tracing::warn!(
                runs = self.live().len(),
                "runs still in flight at shutdown; they will be marked interrupted"
            );
        }
    }

    async fn drive(
        &self,
        id: &str,
        owner: &str,
        spec: RunSpec,
        mut cancel: watch::Receiver<bool>,
        events: &broadcast::Sender<RunEvent>,
    ) {
        let send = |e: RunEvent| {
            let _ = events.send(e);
        };
        // Wait for a slot, unless cancelled first.
        let permit = tokio::select! {
            p = self.slots.clone().acquire_owned() => p.ok(),
            _ = cancel.wait_for(|c| *c) => None,
        };
        self.queued.fetch_sub(1, Ordering::AcqRel);
        let Some(_permit) = permit else {
            self.end(id, RunState::Cancelled, "cancelled before it started").await;
            send(RunEvent::error(id, "the load test was cancelled before it started"));
            return;
        };
        self.active.fetch_add(1, Ordering::AcqRel);
        self.execute(id, owner, spec, &mut cancel, &send).await;
        self.active.fetch_sub(1, Ordering::AcqRel);
    }

    async fn execute(
        &self,
        id: &str,
        owner: &str,
        spec: RunSpec,
        cancel: &mut watch::Receiver<bool>,
        send: &impl Fn(RunEvent),
    ) {
        if let Err(e) = self.store.start_run(id, now()).await {
            tracing::error!(run = %id, error = %e, "recording the run's start failed");
        }
        let result_id = uuid::Uuid::new_v4().to_string();
        let mut meta = RunMeta::new(spec.name.clone());
        meta.requested_generator = Some(spec.requested_generator.clone());
        meta.labels = spec.labels.clone();
        if !spec.mesh.is_empty() {
            meta.labels.insert("mesh".into(), spec.mesh.clone());
        }
        meta.id = Some(result_id.clone());
        meta.test_id = spec.profile_id.clone();
        meta.details_uri = Some(format!("/api/user/performance/results/{result_id}"));
        let mut exec = match self.executor.execute(spec.plan.clone(), meta) {
            Ok(exec) => exec,
            Err(e) => {
                self.end(id, RunState::Failed, &e).await;
                send(RunEvent::error(id, format!("unable to perform the load test: {e}")));
                return;
            }
        };
        tracing::info!(run = %id, executor = self.executor.name(), "run started");
        let mut cancelled = *cancel.borrow();
        loop {
            tokio::select! {
                p = exec.progress.recv() => match p {
                    Some(p) => send(RunEvent { progress: Some(p.clone()), ..RunEvent::info(id, p.message()) }),
                    None => break,
                },
                changed = cancel.changed(), if !cancelled => {
                    if changed.is_ok() && *cancel.borrow() {
                        cancelled = true;
                        (exec.cancel)();
                        send(RunEvent::info(id, "Cancelling the load test"));
                    }
                }
            }
        }
        let mut doc = match exec.done.await {
            Ok(doc) => doc,
            Err(e) => {
                self.end(id, RunState::Failed, &e).await;
                send(RunEvent::error(id, format!("unable to perform the load test: {e}")));
                return;
            }
        };
        // Header values of a profile are credentials for the target: none is stored in results.
        for target in &mut doc.details.config.targets {
            for (_, value) in &mut target.headers {
                *value = "<redacted>".into();
            }
        }
        send(RunEvent::info(id, "Load test completed, fetching metadata now"));
        send(RunEvent::info(id, "Obtained the needed metadatas, attempting to persist the result"));
        let t = now();
        let row = ResultRow {
            id: result_id,
            owner: owner.to_string(),
            name: spec.name.clone(),
            mesh: spec.mesh.clone(),
            profile_id: spec.profile_id.clone(),
            run_id: Some(id.to_string()),
            requested_generator: spec.requested_generator.clone(),
            generator: smp::result::GENERATOR.to_string(),
            test_start_time: doc.start_time,
            document: serde_json::to_string(&doc).unwrap_or_default(),
            created_at: t,
            updated_at: t,
        };
        let (state, message) = if cancelled {
            (RunState::Cancelled, "cancelled; the partial result is stored")
        } else {
            (RunState::Completed, "completed")
        };
        if let Err(e) = self.store.insert_result(&row, state, message).await {
            tracing::error!(run = %id, error = %e, "storing the result failed");
            self.end(id, RunState::Failed, "the result could not be stored").await;
            send(RunEvent::error(id, "unable to persist the result of the load test"));
            return;
        }
        tracing::info!(run = %id, result = %row.id, state = state.as_str(), "run stored");
        send(RunEvent::info(id, "Done persisting the load test results."));
        send(RunEvent {
            status: "success",
            message: Some(message.into()),
            result: Some(Arc::new(ResultView::from_row(row))),
            ..RunEvent::info(id, "")
        });
    }

    async fn end(&self, id: &str, state: RunState, message: &str) {
        tracing::info!(run = %id, state = state.as_str(), message, "run ended");
        if let Err(e) = self.store.end_run(id, state, message, now()).await {
            tracing::error!(run = %id, error = %e, "recording the run's end failed");
        }
    }
}
