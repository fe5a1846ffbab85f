//! One worker: an OS thread with its own current-thread tokio runtime, its connections, its
//! part of the schedule and its own [`Stats`]. It connects, reports ready, waits for the common
//! start instant, runs its slots, sends an exact delta of its stats every second, and drains.

use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use tokio::task::{JoinHandle, LocalSet};

use crate::conn::{Endpoint, H1Conn};
use crate::dispatch::{Dispenser, Lattice};
use crate::engine::CancelHandle;
use crate::http1;
use crate::http2::{H2Conn, H2Request};
use crate::local::Budget;
use crate::plan::{HttpVersion, RunPlan, split};
use crate::schedule::Schedule;
use crate::slots::{self, Ctx, Source};
use crate::stats::Stats;
use crate::watchdog::{self, Watchdog};

/// What a worker tells the coordinator.
#[derive(Debug)]
pub(crate) enum ToCoord {
    /// Connected (as far as it could) and waiting for the start instant.
    Ready,
    /// Stats for the interval ending at tick `tick` (tick 1 ends one second into the window),
    /// or earlier at `until` when the window closed first; `closes` marks the delta that ends
    /// at the window's close (its end or the cancel): what the worker sends after it finished
    /// after the window.
    Delta { worker: u32, tick: i64, stats: Stats, until: Instant, closes: bool },
    /// Finished; the stats since the last delta, the requests due but never sent (their count,
    /// and their ages at the window's close in `latency`) with the first error message of each
    /// kind, and when it stopped.
    Done { worker: u32, stats: Stats, unsent: Box<Stats>, last_done: Option<Instant>, cancelled_at: Option<Instant> },
    /// The worker could not run.
    Failed { worker: u32, reason: String },
}

/// Everything a worker thread needs.
pub(crate) struct WorkerSpec {
    pub(crate) id: u32,
    pub(crate) plan: Arc<RunPlan>,
    pub(crate) groups: Arc<Vec<Group>>,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) cancel: CancelHandle,
    pub(crate) tx: Sender<ToCoord>,
    pub(crate) start: Receiver<Instant>,
}

/// Targets that share one host and port (and so one kind of connection).
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: bool,
    pub(crate) targets: Vec<usize>,
}

/// Groups the plan's targets by scheme, host and port, in order of first appearance.
pub(crate) fn group_targets(plan: &RunPlan) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, t) in plan.targets.iter().enumerate() {
        let (host, port) = t.authority();
        match groups.iter_mut().find(|g| g.host == host && g.port == port && g.tls == t.is_tls()) {
            Some(g) => g.targets.push(i),
            None => groups.push(Group { host, port, tls: t.is_tls(), targets: vec![i] }),
        }
    }
    groups
}

/// How long requests in flight may still finish after a cancel before they are abandoned, so a
/// cancelled run ends promptly even when every request is stalled on a silent server.
pub(crate) const CANCEL_GRACE: Duration = Duration::from_millis(250);

/// Longest a connection may take to open before the start. A slower one is left to the slot,
/// which opens it inside the window under the request's own deadline, so a stalled handshake
/// never costs a timeout before the start and another one after it.
pub(crate) const PRECONNECT_LIMIT: Duration = Duration::from_secs(2);

/// Starts the worker thread.
pub(crate) fn spawn(spec: WorkerSpec) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name(format!("meshperf-worker-{}", spec.id)).spawn(move || {
        let tx = spec.tx.clone();
        let id = spec.id;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run(&spec)));
        let reason = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(_) => "the worker panicked".to_string(),
        };
        let _ = tx.send(ToCoord::Failed { worker: id, reason });
    })
}

fn run(spec: &WorkerSpec) -> Result<(), String> {
    crate::timer::tighten_timer_slack();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the worker runtime: {e}"))?;
    let local = LocalSet::new();
    let prepared = local.block_on(&rt, async {
        // Connecting ends early on cancel: the run then starts and stops at once.
        tokio::select! {
            p = prepare(spec) => p,
            () = cancelled(&spec.cancel) => Ok(Vec::new()),
        }
    })?;
    if spec.tx.send(ToCoord::Ready).is_err() {
        return Ok(());
    }
    let Ok(t0) = spec.start.recv() else {
        return Ok(());
    };
    local.block_on(&rt, execute(spec, prepared, t0))
}

/// A slot before the run: its connection (opened ahead of time) and its place.
enum Prepared {
    H1 { group: usize, endpoint: Rc<Endpoint>, conn: Option<H1Conn> },
    H2 { group: usize, conn: Rc<H2Conn>, streams: u32 },
}

/// Opens this worker's connections before the start, so connecting does not disturb the schedule.
async fn prepare(spec: &WorkerSpec) -> Result<Vec<Prepared>, String> {
    let plan = &spec.plan;
    let conns = plan.connections_for(spec.id);
    let groups = spec.groups.len() as u32;
    let mut handles: Vec<JoinHandle<Prepared>> = Vec::new();
    for (g, group) in spec.groups.iter().enumerate() {
        let tls = if group.tls { spec.tls.clone() } else { None };
        let endpoint = Rc::new(
            Endpoint::new(group.host.clone(), group.port, tls, plan.http, plan.connect_policy.clone())
                .map_err(|e| e.to_string())?,
        );
        for _ in 0..split(conns, groups, g as u32) {
            let endpoint = endpoint.clone();
            let timeout = plan.timeout.min(PRECONNECT_LIMIT);
            let streams = plan.h2_streams;
            let http = plan.http;
            handles.push(tokio::task::spawn_local(async move {
                match http {
                    HttpVersion::Http1 => {
                        let conn = tokio::time::timeout(timeout, endpoint.connect()).await.ok().and_then(Result::ok);
                        Prepared::H1 { group: g, endpoint, conn: conn.map(H1Conn::new) }
                    }
                    HttpVersion::Http2 => {
                        let conn = Rc::new(H2Conn::new(endpoint));
                        let _ = tokio::time::timeout(timeout, conn.sender()).await;
                        Prepared::H2 { group: g, conn, streams }
                    }
                }
            }));
        }
    }
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.map_err(|e| format!("connecting failed: {e}"))?);
    }
    Ok(out)
}

async fn execute(spec: &WorkerSpec, prepared: Vec<Prepared>, t0: Instant) -> Result<(), String> {
    let plan = &spec.plan;
    let schedule = Schedule::new(plan).map(Rc::new);
    let measure_from = t0 + plan.warmup;
    let end = plan.measured_duration().map(|d| measure_from + d);
    let budget = Rc::new(Budget::new(plan.requests_for(spec.id)));
    let ctx = Rc::new(Ctx {
        measure_from,
        end,
        stats: Default::default(),
        stop: Default::default(),
        budget: budget.clone(),
        timeout: plan.timeout,
        h1: plan.targets.iter().map(http1::encode_request).collect(),
        head: plan.targets.iter().map(|t| t.method == http::Method::HEAD).collect(),
        h2: plan
            .targets
            .iter()
            .map(|t| H2Request::new(t, plan.timeout))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?,
        last_done: Default::default(),
    });
    // One dispenser per group (open loop), on this worker's lattice of global indices.
    let mut dispensers = Vec::new();
    if let Some(schedule) = &schedule {
        let stride = u64::from(plan.shard.count) * u64::from(plan.threads);
        let offset = u64::from(plan.shard.index) + u64::from(plan.shard.count) * u64::from(spec.id);
        for group in spec.groups.iter() {
            let lattice = Lattice {
                offset,
                stride,
                targets: plan.targets.len() as u64,
                residues: group.targets.iter().map(|t| *t as u64).collect(),
            };
            let d = Dispenser::new(schedule.clone(), t0, lattice, budget.clone()).map_err(|e| e.to_string())?;
            dispensers.push(Rc::new(d));
        }
    }
    let source = |g: usize| match dispensers.get(g) {
        Some(d) => Source::Open(d.clone()),
        None => Source::Closed(spec.groups[g].targets.clone().into()),
    };
    // Closed loop sends as soon as a slot runs: wait for the agreed start (a distributed run's
    // `start_at`), or requests would go out, uncounted, before it. Open-loop dispensers keep
    // their own precise schedule from `t0`.
    if schedule.is_none() && Instant::now() < t0 {
        tokio::time::sleep_until(t0.into()).await;
    }
    let dog = Rc::new(Watchdog::default());
    let dog_task = tokio::task::spawn_local(dog.clone().run(watchdog::tick_for(plan.timeout)));
    let mut slots = Vec::new();
    let mut turn = spec.id as usize;
    for p in prepared {
        match p {
            Prepared::H1 { group, endpoint, conn } => {
                turn += 1;
                let fut = slots::h1_slot(ctx.clone(), endpoint, source(group), conn, dog.deadline(), turn);
                slots.push(tokio::task::spawn_local(fut));
            }
            Prepared::H2 { group, conn, streams } => {
                for _ in 0..streams {
                    turn += 1;
                    let fut = slots::h2_slot(ctx.clone(), conn.clone(), source(group), dog.deadline(), turn);
                    slots.push(tokio::task::spawn_local(fut));
                }
            }
        }
    }
    let control = tokio::task::spawn_local(control(
        ctx.clone(),
        dispensers.clone(),
        spec.cancel.clone(),
        spec.tx.clone(),
        spec.id,
        t0,
        plan.warmup,
    ));
    let aborts: Vec<_> = slots.iter().map(JoinHandle::abort_handle).collect();
    let all_done = async {
        for s in slots {
            let _ = s.await;
        }
    };
    tokio::pin!(all_done);
    tokio::pin!(control);
    let cancelled_at = tokio::select! {
        () = &mut all_done => {
            control.abort();
            control.await.ok().flatten()
        }
        c = &mut control => {
            // Cancelled (or the coordinator went away): requests in flight get a short grace,
            // then are abandoned; they are neither responses nor errors of this run.
            if tokio::time::timeout(CANCEL_GRACE, &mut all_done).await.is_err() {
                aborts.iter().for_each(tokio::task::AbortHandle::abort);
                all_done.await;
            }
            c.ok().flatten()
        }
    };
    let cancelled_at = cancelled_at.or_else(|| spec.cancel.is_cancelled().then(Instant::now));
    dog_task.abort();
    let stats = ctx.take_interval();
    let until = match (cancelled_at, end) {
        (Some(c), Some(e)) => Some(c.min(e)),
        (c, e) => c.or(e),
    };
    // A request that was due but never sent counts in the latency at its age when the window
    // closed (a lower bound), so a stalled target cannot hide behind `unsent`.
    let mut unsent = Box::new(Stats::new());
    // Why requests failed: the first message of each kind this worker's thread saw.
    unsent.messages = crate::error::take_notes();
    if let Some(until) = until {
        for due in dispensers.iter().flat_map(|d| d.unclaimed_due(measure_from, until)) {
            unsent.unsent += 1;
            unsent.latency.record(until.saturating_duration_since(due));
        }
    }
    let last_done = ctx.last_done.get();
    let _ = spec.tx.send(ToCoord::Done { worker: spec.id, stats, unsent, last_done, cancelled_at });
    Ok(())
}

/// Sends a delta every second on the window's grid, and turns cancellation into a local stop.
/// Returns when cancelled (with the instant) or never (it is aborted when the slots are done).
async fn control(
    ctx: Rc<Ctx>,
    dispensers: Vec<Rc<Dispenser>>,
    cancel: CancelHandle,
    tx: Sender<ToCoord>,
    worker: u32,
    t0: Instant,
    warmup: Duration,
) -> Option<Instant> {
    // Ticks fall on measure_from + k seconds; the first one after t0 has k = ⌊−warmup⌋ + 1.
    let mut k: i64 = first_tick(warmup);
    let mut closed = false;
    loop {
        let (tick_at, closes) = boundary(ctx.measure_from, ctx.end, k, closed);
        loop {
            if cancel.is_cancelled() {
                let now = Instant::now().max(t0);
                ctx.stop.set(true);
                dispensers.iter().for_each(|d| d.stop());
                if !closed {
                    let stats = ctx.take_interval();
                    let _ = tx.send(ToCoord::Delta { worker, tick: k, stats, until: now, closes: true });
                }
                return Some(now);
            }
            let now = Instant::now();
            if now >= tick_at {
                break;
            }
            tokio::time::sleep((tick_at - now).min(Duration::from_millis(50))).await;
        }
        let delta = ToCoord::Delta { worker, tick: k, stats: ctx.take_interval(), until: tick_at, closes };
        if tx.send(delta).is_err() {
            ctx.stop.set(true);
            dispensers.iter().for_each(|d| d.stop());
            return None;
        }
        closed |= closes;
        k += 1;
    }
}

/// The first tick after the start: ticks fall on `measure_from + k` seconds.
pub(crate) fn first_tick(warmup: Duration) -> i64 {
    (-warmup.as_secs_f64()).floor() as i64 + 1
}

/// Shortest last interval of a window: a shorter one is merged into the interval before.
pub(crate) const MIN_LAST_INTERVAL: Duration = Duration::from_millis(500);

/// Where the interval of tick `k` ends, and whether it closes the window. The tick that
/// reaches the window's end fires at the end itself; so does the one before it when less than
/// [`MIN_LAST_INTERVAL`] would be left after it (a 2.3 s window has the intervals 0–1 s and
/// 1–2.3 s). What finishes later is after the window.
pub(crate) fn boundary(measure_from: Instant, end: Option<Instant>, k: i64, closed: bool) -> (Instant, bool) {
    let at = tick_instant(measure_from, k);
    match end {
        Some(end) if !closed && k >= 1 && end.saturating_duration_since(at) < MIN_LAST_INTERVAL => (end, true),
        _ => (at, false),
    }
}

/// Resolves once `cancel` is asked for (checked every 50 ms).
async fn cancelled(cancel: &CancelHandle) {
    while !cancel.is_cancelled() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `base + k` seconds for a possibly negative `k`.
pub(crate) fn tick_instant(base: Instant, k: i64) -> Instant {
    let step = Duration::from_secs(k.unsigned_abs());
    if k >= 0 { base + step } else { base.checked_sub(step).unwrap_or(base) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_interval_ends_at_the_window_end_and_is_never_short() {
        let m = Instant::now();
        let secs = |d: Duration| Some(m + d);
        // 5 s: ticks 1..4 on the grid, tick 5 closes at the end.
        let end = secs(Duration::from_secs(5));
        assert_eq!(boundary(m, end, 4, false), (m + Duration::from_secs(4), false));
        assert_eq!(boundary(m, end, 5, false), (m + Duration::from_secs(5), true));
        // After the close, ticks go on (the drain) and close nothing.
        assert_eq!(boundary(m, end, 6, true), (m + Duration::from_secs(6), false));
        // 2.3 s: tick 2 would leave 0.3 s, so it closes at 2.3 s.
        let end = secs(Duration::from_millis(2300));
        assert_eq!(boundary(m, end, 1, false), (m + Duration::from_secs(1), false));
        assert_eq!(boundary(m, end, 2, false), (m + Duration::from_millis(2300), true));
        // 2.7 s: tick 2 stays, tick 3 closes at 2.7 s.
        let end = secs(Duration::from_millis(2700));
        assert_eq!(boundary(m, end, 2, false), (m + Duration::from_secs(2), false));
        assert_eq!(boundary(m, end, 3, false), (m + Duration::from_millis(2700), true));
        // Warm-up ticks never close; count-bounded runs have no end.
        assert_eq!(boundary(m, secs(Duration::from_millis(200)), 0, false), (m, false));
        assert_eq!(boundary(m, None, 3, false), (m + Duration::from_secs(3), false));
        assert_eq!(first_tick(Duration::ZERO), 1);
        assert_eq!(first_tick(Duration::from_millis(1500)), -1);
    }
}
