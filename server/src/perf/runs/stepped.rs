//! Stepped runs (a search for the highest rate under SLOs, or a sweep of rates): the one driver
//! of `smp::stepped`'s algorithm. It runs each step on an [`Executor`] (this process's engine
//! or load workers), admits each step's plan on its own, follows it like any run, judges it on
//! its whole window and its second half, and assembles one result document.
//!
//! The registry drives stepped submissions with it (REST, each step admitted by the server's
//! policy, events to SSE); `meshperf search` and `meshperf sweep` drive it on the command line
//! (the machine's user: no admission rules), with `--workers` as the executor when given.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use loadgen::Snapshot;
use smp::request::{RunRequest, ValidRun};
use smp::stepped::{Next, SettleWindow, Step, StepSpec, Stepped, Stepper, Stop, judge};
use smp::{ResultDocument, RunMeta};
use tokio::sync::watch;
use tokio::time::Instant;

use super::events::{EventKind, StepEvent};
use super::executor::{Executed, Executor};
use super::follow::{Followed, STOP_TIMEOUT, Stopped, follow};
use super::registry::{RunRegistry, Task};
use crate::error::ServiceError;
use crate::policy::{Admitted, Policy};

/// What a stepped run asks for: the steps, and the request each step is made from.
#[derive(Debug, Clone)]
pub struct SteppedRun {
    /// How steps are chosen and judged (checked).
    pub spec: StepSpec,
    /// Targets, connections, protocol, TLS, headers and labels of every step; each step sets
    /// its own rate, window and warm-up ([`StepSpec::step_request`]).
    pub request: RunRequest,
}

impl SteppedRun {
    /// What was asked, as stored with the run.
    pub fn summary(&self) -> serde_json::Value {
        let s = &self.spec;
        let kind = match &s.kind {
            smp::stepped::Kind::Search { from, to, precision, factor } => {
                serde_json::json!({"from": from, "to": to, "precision": precision, "factor": factor})
            }
            smp::stepped::Kind::Sweep { rates } => serde_json::json!({ "rates": rates }),
        };
        serde_json::json!({
            "kind": s.kind_name(),
            "slos": s.slos.iter().map(|g| g.text.as_str()).collect::<Vec<_>>(),
            "stepDurationS": s.step_duration.as_secs_f64(),
            "warmupS": s.warmup.as_secs_f64(),
            "rateTolerance": s.rate_tolerance,
            "maxSteps": s.max_steps,
            "maxTimeS": s.max_time.as_secs_f64(),
            "steps": kind,
        })
    }
}

/// A stepped run submitted to the registry, with the policy that admits each of its steps.
#[derive(Debug)]
pub struct SteppedSubmission {
    /// The run.
    pub run: SteppedRun,
    /// The rules each step is admitted under.
    pub policy: Arc<Policy>,
}

/// Where a stepped run lives: who admits its steps and who hears about them.
pub trait StepHost {
    /// Admits one step's run (its plan may then connect only where the rules allow).
    fn admit(&self, run: ValidRun) -> impl Future<Output = Result<Admitted, ServiceError>> + Send;
    /// Step `index` at `rate` started; measuring starts at `start_at`.
    fn started(&mut self, index: u32, rate: f64, start_at: SystemTime, threads: u32);
    /// A snapshot of the current step.
    fn progress(&mut self, snapshot: Arc<Snapshot>);
    /// The current step is being cancelled, for this reason.
    fn cancelling(&mut self, reason: &str);
    /// A step finished and was judged.
    fn finished(&mut self, step: &Step);
}

/// How a stepped run ended.
#[derive(Debug)]
pub struct SteppedOutcome {
    /// The result document with every step (`details.stepped`); `None` when no step ran.
    pub document: Option<ResultDocument>,
    /// Why it ended.
    pub stop: Stop,
    /// Why it was stopped early, when it was (a cancel, the wall time).
    pub stopped: Option<Stopped>,
    /// Why a step could not run, when one could not.
    pub error: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Runs `run` step by step on `executor` until the algorithm is done, a step cannot run, a
/// cancel arrives on `cancel`, or `deadline` passes (`deadline_reason` says why in words).
/// `meta` labels every step's result and gives the document its id.
pub async fn drive<H: StepHost + Send>(
    run: &SteppedRun,
    executor: &dyn Executor,
    meta: &RunMeta,
    host: &mut H,
    cancel: &mut watch::Receiver<Option<String>>,
    deadline: Instant,
    deadline_reason: impl Fn() -> String + Sync,
) -> SteppedOutcome {
    let spec = &run.spec;
    let began = Instant::now();
    let mut stepper = Stepper::new(spec.clone());
    let (mut steps, mut docs): (Vec<Step>, Vec<ResultDocument>) = (Vec::new(), Vec::new());
    let (mut stopped, mut error) = (None, None);
    // Connecting before a step and draining after it, until a step has measured it.
    let mut overhead = Duration::from_secs(1);
    let mut step_meta = meta.clone();
    step_meta.id = None;
    loop {
        if cancel.borrow().is_some() {
            stepper.stop(Stop::Cancelled);
        }
        let estimate = spec.warmup + spec.step_duration + overhead;
        let Next::Step(rate) = stepper.next(began.elapsed(), estimate) else { break };
        let index = u32::try_from(stepper.steps() + 1).unwrap_or(u32::MAX);
        let at = |e: &dyn std::fmt::Display| format!("step {index} at {rate} req/s: {e}");
        let admitted = match spec.step_request(&run.request, rate).into_run() {
            Ok(valid) => host.admit(valid).await.map_err(|e| at(&e)),
            Err(e) => Err(at(&e)),
        };
        let admitted = match admitted {
            Ok(a) => a,
            Err(e) => {
                error = Some(e);
                stepper.stop(Stop::Failed);
                break;
            }
        };
        let started = Instant::now();
        let exec = match executor.execute(admitted.run.plan, step_meta.clone()) {
            Ok(exec) => exec,
            Err(e) => {
                error = Some(at(&e));
                stepper.stop(Stop::Failed);
                break;
            }
        };
        host.started(index, rate, exec.start_at, exec.threads);
        let step_wall = started + admitted.wall_limit;
        let whole_run = step_wall >= deadline;
        let wall = if whole_run { deadline } else { step_wall };
        let why = || {
            if whole_run { deadline_reason() } else { format!("step {index} reached its wall-time limit") }
        };
        let mut settle = SettleWindow::new(spec.step_duration);
        let (done, step_stopped) = follow(exec, cancel, wall, why, STOP_TIMEOUT + admitted.wall_limit, |f| match f {
            Followed::Progress(snapshot) => {
                settle.add(&snapshot);
                host.progress(snapshot);
            }
            Followed::Cancelling(reason) => host.cancelling(&reason),
        })
        .await;
        let executed: Executed = match done {
            Ok(executed) => executed,
            Err(e) => {
                error = Some(at(&e));
                stepper.stop(Stop::Failed);
                break;
            }
        };
        let step = judge(index, rate, spec, &executed.document, &settle);
        host.finished(&step);
        stepper.record(rate, step.passed);
        steps.push(step);
        docs.push(executed.document);
        overhead = overhead.max(started.elapsed().saturating_sub(spec.warmup + spec.step_duration));
        match step_stopped {
            // A step cut at its own limit failed; the run goes on.
            Some(Stopped::Wall(_)) if Instant::now() < deadline => {}
            Some(Stopped::Wall(r)) => {
                stepper.stop(Stop::MaxTime);
                stopped = Some(Stopped::Wall(r));
            }
            Some(asked @ Stopped::Asked(_)) => {
                stepper.stop(Stop::Cancelled);
                stopped = Some(asked);
            }
            None => {}
        }
    }
    let stop = stepper.stopped().unwrap_or(Stop::Failed);
    SteppedOutcome {
        document: Stepped::document(spec, stop, steps, docs, meta),
        stop,
        stopped,
        error,
        elapsed: began.elapsed(),
    }
}

/// The registry as a stepped run's host: its policy admits each step, its events go to the
/// run's subscribers.
struct RegistryHost<'a> {
    registry: &'a RunRegistry,
    info: Arc<super::events::RunInfo>,
    events: tokio::sync::broadcast::Sender<super::events::RunEvent>,
    policy: Arc<Policy>,
    seq: u64,
}

impl StepHost for RegistryHost<'_> {
    fn admit(&self, run: ValidRun) -> impl Future<Output = Result<Admitted, ServiceError>> + Send {
        let policy = self.policy.clone();
        async move { policy.admit(run).await }
    }

    fn started(&mut self, index: u32, rate: f64, start_at: SystemTime, threads: u32) {
        if index == 1 {
            self.registry.send(&self.info, &self.events, EventKind::Started { start_at, threads });
        }
        self.registry.send(&self.info, &self.events, EventKind::Step(StepEvent::Started { index, rate }));
    }

    fn progress(&mut self, snapshot: Arc<Snapshot>) {
        self.seq += 1;
        self.registry.send(&self.info, &self.events, EventKind::Progress { seq: self.seq, snapshot });
    }

    fn cancelling(&mut self, reason: &str) {
        self.registry.send(&self.info, &self.events, EventKind::Cancelling { reason: reason.to_string() });
    }

    fn finished(&mut self, step: &Step) {
        self.registry.send(&self.info, &self.events, EventKind::Step(StepEvent::Finished(Arc::new(step.clone()))));
    }
}

impl RunRegistry {
    /// Runs a stepped submission to its result document; `wall` bounds the whole run.
    pub(super) async fn execute_stepped(
        &self,
        task: &mut Task,
        stepped: SteppedSubmission,
        executor: &dyn Executor,
        meta: RunMeta,
        wall: Instant,
    ) -> (Result<Executed, String>, Option<Stopped>) {
        tracing::info!(run = %task.info.id, executor = executor.name(), kind = stepped.run.spec.kind_name(), "stepped run started");
        let mut host = RegistryHost {
            registry: self,
            info: task.info.clone(),
            events: task.events.clone(),
            policy: stepped.policy,
            seq: 0,
        };
        let limit = wall.saturating_duration_since(Instant::now());
        let id = task.info.id.clone();
        let outcome =
            drive(&stepped.run, executor, &meta, &mut host, &mut task.cancel, wall, || self.wall_reason(&id, limit))
                .await;
        if let Some(e) = &outcome.error {
            tracing::warn!(run = %task.info.id, error = %e, "a step could not run; the stepped run ends with what it measured");
        }
        let Some(document) = outcome.document else {
            return (Err(outcome.error.unwrap_or_else(|| "no step ran".into())), outcome.stopped);
        };
        let cancelled = matches!(outcome.stop, Stop::Cancelled) || outcome.stopped.is_some();
        let executed = Executed { elapsed: outcome.elapsed, cancelled, stats: None, document };
        (Ok(executed), outcome.stopped)
    }
}
