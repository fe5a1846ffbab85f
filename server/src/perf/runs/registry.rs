//! The run registry: every run from every door, from the moment it is admitted to its result.
//!
//! A run is one record (in the store when there is one): `queued` → `running` → `completed` |
//! `cancelled` | `failed`, or `interrupted` if the process stopped under it. One task owns it
//! from queue to result, so a client that goes away only drops its subscription. One set of
//! limits applies to all doors: runs executing at once, runs waiting for a slot, and runs one
//! user may have queued or running. One watchdog per run cancels it at its wall-time limit;
//! cancel stops the engine within about a second. Shutdown cancels every run, stores their
//! partial results and waits up to the grace period. Every event goes to the run's own
//! subscribers and to the registry-wide stream ([`RunRegistry::subscribe_all`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use smp::RunMeta;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, watch};

use super::events::{Door, EventKind, Outcome, RunEvent, RunInfo};
use super::executor::{Executed, Executor};
use super::follow::{Followed, STOP_TIMEOUT, Stopped, follow};
use super::stepped::SteppedSubmission;
use crate::error::ServiceError;
use crate::policy::{Admitted, RuleNames};
use crate::store::{ResultRow, RunRow, RunState, Store, now};

/// Events kept for a slow subscriber of one run before it skips ahead.
const RUN_EVENTS: usize = 1024;
/// Events kept for a slow subscriber of every run.
const ALL_EVENTS: usize = 4096;

/// The registry's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Runs executing at once.
    pub max_concurrent: usize,
    /// Runs waiting for a slot.
    pub queue: usize,
    /// Runs one user may have queued or running.
    pub per_user: usize,
    /// How long runs may take to end at shutdown.
    pub grace: Duration,
    /// The settings' names, for refusals.
    pub names: RuleNames,
}

/// Where a run executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Where the server is configured to run tests (its engine, or its load workers).
    Configured,
    /// On this process's engine (a worker's share of a distributed run).
    Local,
}

/// A run to register.
#[derive(Debug)]
pub struct Submission {
    /// Its user.
    pub owner: String,
    /// Its door.
    pub door: Door,
    /// The admitted run.
    pub admitted: Admitted,
    /// The profile it runs, if any.
    pub profile_id: Option<String>,
    /// The caller's own id for the run (a distributed run's share id, Meshery's operation id),
    /// unique among the caller's live runs; the registry's id is always a new UUID.
    pub client_id: Option<String>,
    /// Whether it may wait for a slot; if not it is refused when none is free.
    pub may_queue: bool,
    /// Where it executes.
    pub placement: Placement,
    /// One run, or a stepped run (a search or a sweep).
    pub kind: RunKind,
}

/// What a submission runs.
#[derive(Debug)]
pub enum RunKind {
    /// One plan: the admitted run.
    Single,
    /// A search or a sweep: one step after another, each admitted on its own; the admitted
    /// run is its highest-rate step and its wall limit the whole run's.
    Stepped(Box<SteppedSubmission>),
}

/// A registered run.
#[derive(Debug)]
pub struct Submitted {
    /// Its id.
    pub run_id: String,
    /// Its events from the first one on.
    pub events: broadcast::Receiver<RunEvent>,
}

struct Live {
    info: Arc<RunInfo>,
    cancel: watch::Sender<Option<String>>,
    events: broadcast::Sender<RunEvent>,
}

/// Runs in flight, the slots they share, and their events.
pub struct RunRegistry {
    store: Option<Store>,
    executor: Arc<dyn Executor>,
    local: Arc<dyn Executor>,
    limits: Limits,
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    active: AtomicUsize,
    live: Mutex<HashMap<String, Live>>,
    all: broadcast::Sender<RunEvent>,
    closing: AtomicBool,
    idle: Notify,
}

impl std::fmt::Debug for RunRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunRegistry").field("executor", &self.executor.name()).field("load", &self.load()).finish()
    }
}

impl RunRegistry {
    /// A registry recording runs in `store` (none: in memory only, as a load worker does),
    /// executing on `executor` (runs placed [`Placement::Local`] use `local`).
    pub fn new(
        store: Option<Store>,
        executor: Arc<dyn Executor>,
        local: Arc<dyn Executor>,
        limits: Limits,
    ) -> Arc<Self> {
        Arc::new(RunRegistry {
            store,
            executor,
            local,
            slots: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
            limits,
            queued: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            live: Mutex::new(HashMap::new()),
            all: broadcast::channel(ALL_EVENTS).0,
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

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Every event of every run, from now on.
    pub fn subscribe_all(&self) -> broadcast::Receiver<RunEvent> {
        self.all.subscribe()
    }

    /// Records a run and starts its task; its first event is `Queued`.
    pub async fn submit(self: &Arc<Self>, s: Submission) -> Result<Submitted, ServiceError> {
        if self.closing.load(Ordering::Acquire) {
            return Err(ServiceError::ShuttingDown);
        }
        let run_id = uuid::Uuid::new_v4().to_string();
        let client_id = s.client_id.as_deref().map(check_client_id).transpose()?;
        let names = &self.limits.names;
        let taken = |live: &HashMap<String, Live>, client_id: &Option<String>| {
            client_id
                .as_ref()
                .is_some_and(|c| live.values().any(|l| l.info.owner == s.owner && l.info.client_id.as_ref() == Some(c)))
        };
        let permit = {
            let live = self.live();
            if taken(&live, &client_id) {
                return Err(ServiceError::invalid("run_id", "a run with this id is already in progress"));
            }
            let mine = live.values().filter(|l| l.info.owner == s.owner).count();
            if mine >= self.limits.per_user {
                return Err(ServiceError::Busy {
                    rule: names.per_user,
                    detail: format!("you already have {mine} run(s) queued or running, the most one user may have"),
                });
            }
            if s.may_queue {
                let queued = self.queued.load(Ordering::Acquire);
                if self.slots.available_permits() == 0 && queued >= self.limits.queue {
                    return Err(ServiceError::Busy {
                        rule: names.queue,
                        detail: format!("every run slot is taken and {queued} run(s) are waiting"),
                    });
                }
                None
            } else {
                Some(self.slots.clone().try_acquire_owned().map_err(|_| ServiceError::Busy {
                    rule: names.runs,
                    detail: format!("{} run(s) already execute, the most at once", self.limits.max_concurrent),
                })?)
            }
        };
        let run = &s.admitted.run;
        let info = Arc::new(RunInfo {
            id: run_id.clone(),
            owner: s.owner.clone(),
            door: s.door,
            name: run.meta.name.clone(),
            profile_id: s.profile_id.clone(),
            client_id: client_id.clone(),
        });
        if let Some(store) = &self.store {
            store
                .insert_run(&RunRow {
                    id: run_id.clone(),
                    owner: s.owner.clone(),
                    profile_id: s.profile_id.clone(),
                    name: run.meta.name.clone(),
                    state: RunState::Queued.as_str().into(),
                    message: String::new(),
                    requested_generator: run.meta.requested_generator.clone().unwrap_or_else(|| "meshperf".into()),
                    request: summary(&s.admitted, &s.kind).to_string(),
                    door: s.door.as_str().into(),
                    result_id: None,
                    created_at: now(),
                    started_at: None,
                    ended_at: None,
                })
                .await?;
        }
        let (events, first) = broadcast::channel(RUN_EVENTS);
        let (cancel, cancel_rx) = watch::channel(None);
        {
            let mut live = self.live();
            if taken(&live, &client_id) {
                return Err(ServiceError::invalid("run_id", "a run with this id is already in progress"));
            }
            live.insert(run_id.clone(), Live { info: info.clone(), cancel, events: events.clone() });
        }
        if permit.is_none() {
            self.queued.fetch_add(1, Ordering::AcqRel);
        }
        tracing::info!(run = %run_id, user = %s.owner, door = s.door.as_str(), name = %info.name, "run registered");
        let this = self.clone();
        let task = Task { info, events, cancel: cancel_rx };
        this.emit(&task, EventKind::Queued);
        let executor = match s.placement {
            Placement::Configured => self.executor.clone(),
            Placement::Local => self.local.clone(),
        };
        tokio::spawn(async move {
            let id = task.info.id.clone();
            this.drive(task, s.admitted, s.kind, executor, permit).await;
            this.live().remove(&id);
            this.idle.notify_waiters();
        });
        Ok(Submitted { run_id, events: first })
    }

    /// Subscribes to a live run of `owner`.
    pub fn subscribe(&self, owner: &str, run_id: &str) -> Option<broadcast::Receiver<RunEvent>> {
        self.live().get(run_id).filter(|l| l.info.owner == owner).map(|l| l.events.subscribe())
    }

    /// Asks a live run of `owner` to stop, saying why; false when there is none.
    pub fn cancel(&self, owner: &str, run_id: &str, reason: &str) -> bool {
        match self.live().get(run_id) {
            Some(l) if l.info.owner == owner => {
                let _ = l.cancel.send(Some(reason.to_string()));
                true
            }
            _ => false,
        }
    }

    /// Asks the live run `owner` calls `client_id` to stop; false when there is none.
    pub fn cancel_client(&self, owner: &str, client_id: &str, reason: &str) -> bool {
        let live = self.live();
        let run = live.values().find(|l| l.info.owner == owner && l.info.client_id.as_deref() == Some(client_id));
        match run {
            Some(l) => {
                let _ = l.cancel.send(Some(reason.to_string()));
                true
            }
            None => false,
        }
    }

    /// Asks every live run of `owner` that came through `door` to stop; returns how many.
    pub fn cancel_door(&self, owner: &str, door: Door, reason: &str) -> usize {
        let live = self.live();
        let mine: Vec<&Live> = live.values().filter(|l| l.info.owner == owner && l.info.door == door).collect();
        for l in &mine {
            let _ = l.cancel.send(Some(reason.to_string()));
        }
        mine.len()
    }

    /// At shutdown: refuses new runs, cancels the live ones (their partial results are stored)
    /// and waits up to the grace period for them to end.
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::Release);
        for live in self.live().values() {
            let _ = live.cancel.send(Some("the server is shutting down".into()));
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
        if tokio::time::timeout(self.limits.grace, wait).await.is_err() {
            tracing::warn!(
                runs = self.live().len(),
                "runs still in flight at shutdown; they will be marked interrupted"
            );
        }
    }

    /// Whether shutdown has begun.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    pub(super) fn emit(&self, task: &Task, kind: EventKind) {
        self.send(&task.info, &task.events, kind);
    }

    /// Sends an event of the run `info` to its subscribers and to the registry-wide stream.
    pub(super) fn send(&self, info: &Arc<RunInfo>, events: &broadcast::Sender<RunEvent>, kind: EventKind) {
        let event = RunEvent { run: info.clone(), kind };
        // No subscriber is fine: the run goes on and is stored.
        let _ = events.send(event.clone());
        let _ = self.all.send(event);
    }

    /// Why a run (or a step) that reached its wall-time limit was cancelled; logged once.
    pub(super) fn wall_reason(&self, id: &str, limit: Duration) -> String {
        let why = format!(
            "it reached its wall-time limit of {} ({})",
            humantime::format_duration(limit),
            self.limits.names.wall_time
        );
        tracing::warn!(run = %id, "{why}; cancelling it");
        why
    }

    async fn drive(
        &self,
        mut task: Task,
        admitted: Admitted,
        kind: RunKind,
        executor: Arc<dyn Executor>,
        permit: Option<OwnedSemaphorePermit>,
    ) {
        let permit = match permit {
            Some(p) => Some(p),
            None => {
                let p = tokio::select! {
                    p = self.slots.clone().acquire_owned() => p.ok(),
                    _ = task.cancel.wait_for(Option::is_some) => None,
                };
                self.queued.fetch_sub(1, Ordering::AcqRel);
                p
            }
        };
        let Some(_permit) = permit else {
            self.end(&task, RunState::Cancelled, "cancelled before it started").await;
            return;
        };
        self.active.fetch_add(1, Ordering::AcqRel);
        self.execute(&mut task, admitted, kind, executor).await;
        self.active.fetch_sub(1, Ordering::AcqRel);
    }

    async fn execute(&self, task: &mut Task, admitted: Admitted, kind: RunKind, executor: Arc<dyn Executor>) {
        let id = task.info.id.clone();
        if let Some(store) = &self.store {
            if let Err(e) = store.start_run(&id, now()).await {
                tracing::error!(run = %id, error = %e, "recording the run's start failed");
            }
        }
        let result_id = uuid::Uuid::new_v4().to_string();
        let mut meta: RunMeta = admitted.run.meta.clone();
        meta.id = Some(result_id.clone());
        if meta.test_id.is_none() {
            meta.test_id.clone_from(&task.info.profile_id);
        }
        if self.store.is_some() {
            meta.details_uri = Some(format!("/api/user/performance/results/{result_id}"));
        }
        let labels = Labels {
            mesh: meta.labels.get("mesh").cloned().unwrap_or_default(),
            requested: meta.requested_generator.clone().unwrap_or_else(|| "meshperf".into()),
        };
        let wall = tokio::time::Instant::now() + admitted.wall_limit;
        let (done, stopped) = match kind {
            RunKind::Single => self.execute_one(task, admitted, executor.as_ref(), meta, wall).await,
            RunKind::Stepped(stepped) => self.execute_stepped(task, *stepped, executor.as_ref(), meta, wall).await,
        };
        match done {
            Ok(executed) => {
                let reason = stopped.map(|s| s.reason().to_string());
                self.finish(task, executed, reason, result_id, labels).await;
            }
            Err(e) => self.end(task, RunState::Failed, &format!("unable to perform the load test: {e}")).await,
        }
    }

    /// Runs one plan on `executor` and follows it to its result.
    async fn execute_one(
        &self,
        task: &mut Task,
        admitted: Admitted,
        executor: &dyn Executor,
        meta: RunMeta,
        wall: tokio::time::Instant,
    ) -> (Result<Executed, String>, Option<Stopped>) {
        let exec = match executor.execute(admitted.run.plan, meta) {
            Ok(exec) => exec,
            Err(e) => return (Err(e), None),
        };
        tracing::info!(run = %task.info.id, executor = executor.name(), "run started");
        self.emit(task, EventKind::Started { start_at: exec.start_at, threads: exec.threads });
        let mut seq = 0;
        let wall_reason = || self.wall_reason(&task.info.id, admitted.wall_limit);
        let done_limit = STOP_TIMEOUT + admitted.wall_limit;
        let (done, stopped) = follow(exec, &mut task.cancel, wall, wall_reason, done_limit, |f| {
            let kind = match f {
                Followed::Progress(snapshot) => {
                    seq += 1;
                    EventKind::Progress { seq, snapshot }
                }
                Followed::Cancelling(reason) => EventKind::Cancelling { reason },
            };
            self.send(&task.info, &task.events, kind);
        })
        .await;
        (done, stopped)
    }

    async fn finish(&self, task: &Task, executed: Executed, reason: Option<String>, result_id: String, labels: Labels) {
        let id = &task.info.id;
        let Executed { mut document, stats, elapsed, cancelled } = executed;
        // Header values of a profile are credentials for the target: none is kept in results.
        for target in &mut document.details.config.targets {
            for (_, value) in &mut target.headers {
                *value = "<redacted>".into();
            }
        }
        let (state, message) = match (&reason, cancelled) {
            (Some(why), _) => (RunState::Cancelled, format!("cancelled: {why}; the partial result is kept")),
            (None, true) => (RunState::Cancelled, "cancelled; the partial result is kept".to_string()),
            (None, false) => match &document.details.stepped {
                Some(stepped) => (RunState::Completed, format!("completed: {}", stepped.answer.sentence())),
                None => (RunState::Completed, "completed".to_string()),
            },
        };
        let mut stored = None;
        if let Some(store) = &self.store {
            let t = now();
            let row = ResultRow {
                id: result_id,
                owner: task.info.owner.clone(),
                name: task.info.name.clone(),
                mesh: labels.mesh,
                profile_id: task.info.profile_id.clone(),
                run_id: Some(id.clone()),
                requested_generator: labels.requested,
                generator: smp::result::GENERATOR.to_string(),
                test_start_time: document.start_time,
                document: serde_json::to_string(&document).unwrap_or_default(),
                created_at: t,
                updated_at: t,
            };
            if let Err(e) = store.insert_result(&row, state, &message).await {
                tracing::error!(run = %id, error = %e, "storing the result failed");
                self.end(task, RunState::Failed, "unable to persist the result of the load test").await;
                return;
            }
            tracing::info!(run = %id, result = %row.id, state = state.as_str(), "result stored");
            stored = Some(row);
        }
        let outcome =
            Outcome { state, message, document, stats, elapsed, cancelled: cancelled || reason.is_some(), stored };
        // Ended in the store: no longer live (cancel answers "already ended"), then announced.
        self.retire(&task.info.id);
        self.emit(task, EventKind::Finished(Arc::new(outcome)));
    }

    async fn end(&self, task: &Task, state: RunState, message: &str) {
        tracing::info!(run = %task.info.id, state = state.as_str(), message, "run ended");
        if let Some(store) = &self.store {
            if let Err(e) = store.end_run(&task.info.id, state, message, now()).await {
                tracing::error!(run = %task.info.id, error = %e, "recording the run's end failed");
            }
        }
        self.retire(&task.info.id);
        self.emit(task, EventKind::Ended { state, message: message.to_string() });
    }

    /// Removes a run from the live set once its end is recorded.
    fn retire(&self, id: &str) {
        self.live().remove(id);
        self.idle.notify_waiters();
    }
}

/// What a stored result row is labelled with.
struct Labels {
    mesh: String,
    requested: String,
}

/// A run's task: who it is, where its events go, and its cancel requests.
pub(super) struct Task {
    pub(super) info: Arc<RunInfo>,
    pub(super) events: broadcast::Sender<RunEvent>,
    pub(super) cancel: watch::Receiver<Option<String>>,
}

/// A caller's id for a run: 1 to 128 letters, digits, `-`, `_` or `.`.
fn check_client_id(id: &str) -> Result<String, ServiceError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(id.to_string())
    } else {
        Err(ServiceError::invalid("run_id", "use 1 to 128 letters, digits, '-', '_' or '.'"))
    }
}

/// What was asked, as stored with the run: targets, load, connections, window; never headers,
/// cookies or body (they may be credentials).
pub fn summary(admitted: &Admitted, kind: &RunKind) -> serde_json::Value {
    let plan = &admitted.run.plan;
    let load = match &plan.load {
        loadgen::Load::Closed => serde_json::json!({"closed": true}),
        loadgen::Load::Open(loadgen::RateShape::Constant(r)) => serde_json::json!({"rate": r}),
        loadgen::Load::Open(loadgen::RateShape::Ramp { from, to }) => serde_json::json!({"ramp": [from, to]}),
        loadgen::Load::Open(loadgen::RateShape::Stages(s)) => serde_json::json!({
            "stages": s.iter().map(|s| serde_json::json!([s.duration.as_secs_f64(), s.rate])).collect::<Vec<_>>()
        }),
    };
    let qps = match &plan.load {
        loadgen::Load::Open(shape) => shape.peak(),
        loadgen::Load::Closed => 0.0,
    };
    serde_json::json!({
        "endpoints": plan.targets.iter().map(|t| t.url.as_str()).collect::<Vec<_>>(),
        "concurrentRequest": plan.connections,
        "qps": qps,
        "load": load,
        "duration": plan.measured_duration().map(|d| humantime::format_duration(d).to_string()),
        "maxRequests": plan.max_requests,
        "wallLimitS": admitted.wall_limit.as_secs_f64(),
        "loadGenerator": admitted.run.meta.requested_generator.clone().unwrap_or_else(|| "meshperf".into()),
        "mesh": admitted.run.meta.labels.get("mesh"),
        "stepped": match kind {
            RunKind::Single => serde_json::Value::Null,
            RunKind::Stepped(s) => s.run.summary(),
        },
    })
}
