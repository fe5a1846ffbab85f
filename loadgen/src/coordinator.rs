//! The coordinator thread: starts the workers, gives them one start instant once all are
//! connected, merges their per-second deltas into snapshots (in tick order, exact merges), and
//! builds the final [`Report`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc as tmpsc, oneshot};

use crate::engine::CancelHandle;
use crate::error::RunError;
use crate::plan::{RunPlan, ValidatedPlan};
use crate::report::{Phase, Report, SecondStats, Snapshot};
use crate::schedule::Schedule;
use crate::stats::Stats;
use crate::worker::{self, Group, ToCoord, WorkerSpec};

/// Adjusts the plan to what can run: no more workers than connections allow, and at least one
/// connection per host in every worker.
pub(crate) fn normalize(plan: ValidatedPlan) -> (RunPlan, Vec<Group>) {
    let mut plan = plan.into_inner();
    let groups = worker::group_targets(&plan);
    // Validation made sure there are at least as many connections as hosts.
    let g = (groups.len() as u32).max(1);
    plan.threads = plan.threads.min(plan.connections / g).max(1);
    (plan, groups)
}

/// Spawns the coordinator thread, which spawns the workers.
pub(crate) fn spawn(
    plan: ValidatedPlan,
    tls: Option<Arc<rustls::ClientConfig>>,
    cancel: CancelHandle,
    progress: tmpsc::UnboundedSender<Snapshot>,
    done: oneshot::Sender<Result<Report, RunError>>,
) -> Result<(), RunError> {
    let (plan, groups) = normalize(plan);
    std::thread::Builder::new()
        .name("meshperf-coordinator".into())
        .spawn(move || {
            let result = coordinate(plan, groups, tls.as_ref(), &cancel, &progress);
            let _ = done.send(result);
        })
        .map_err(RunError::Spawn)?;
    Ok(())
}

fn coordinate(
    plan: RunPlan,
    groups: Vec<Group>,
    tls: Option<&Arc<rustls::ClientConfig>>,
    cancel: &CancelHandle,
    progress: &tmpsc::UnboundedSender<Snapshot>,
) -> Result<Report, RunError> {
    let plan = Arc::new(plan);
    let groups = Arc::new(groups);
    let threads = plan.threads;
    let (tx, rx) = mpsc::channel();
    let mut starts = Vec::new();
    let mut joins = Vec::new();
    for id in 0..threads {
        let (start_tx, start) = mpsc::channel();
        starts.push(start_tx);
        let spec = WorkerSpec {
            id,
            plan: plan.clone(),
            groups: groups.clone(),
            tls: tls.cloned(),
            cancel: cancel.clone(),
            tx: tx.clone(),
            start,
        };
        joins.push(worker::spawn(spec).map_err(RunError::Spawn)?);
    }
    drop(tx);
    for _ in 0..threads {
        match rx.recv() {
            Ok(ToCoord::Ready) => {}
            Ok(ToCoord::Failed { worker, reason }) => {
                tracing::error!(worker, %reason, "worker failed to start");
                return Err(RunError::WorkerLost(worker));
            }
            Ok(_) | Err(_) => return Err(RunError::WorkerLost(0)),
        }
    }
    let t0 = start_instant(plan.start_at);
    let wall_t0 = wall_clock(t0);
    for s in &starts {
        let _ = s.send(t0);
    }
    let measure_from = t0 + plan.warmup;
    let schedule = Schedule::new(&plan);
    let mut merge = TickMerger::new(threads);
    let mut total = Stats::new();
    let mut series = Vec::new();
    let mut finals = Stats::new();
    let mut last_done: Option<Instant> = None;
    let mut cancelled_at: Option<Instant> = None;
    let mut last_tick_at = t0;
    // Samples recorded between the window opening and the warm-up's last tick (a few, since the
    // tick fires just after the window opens) are carried into the first measured second.
    let mut carry = Stats::new();
    let mut emit =
        |tick: i64, mut stats: Stats, total: &mut Stats, series: &mut Vec<SecondStats>, last_tick_at: &mut Instant| {
            if tick <= 0 {
                carry.merge(&stats);
                stats = Stats::new();
            } else if carry.finished() > 0 {
                stats.merge(&std::mem::take(&mut carry));
            }
            let at = worker::tick_instant(measure_from, tick);
            let snap = snapshot(stats, total, tick > 0, at, *last_tick_at, measure_from, schedule.as_ref(), t0);
            *last_tick_at = at;
            if tick > 0 {
                series.push(SecondStats::from_snapshot(&snap));
            }
            let _ = progress.send(snap);
        };
    while !merge.all_done() {
        match rx.recv() {
            Ok(ToCoord::Delta { worker, tick, stats }) => {
                for (tick, stats) in merge.add(worker, tick, stats) {
                    emit(tick, stats, &mut total, &mut series, &mut last_tick_at);
                }
            }
            Ok(ToCoord::Done { worker, stats, last_done: ld, cancelled_at: c }) => {
                finals.merge(&stats);
                last_done = last_done.max(ld);
                cancelled_at = cancelled_at.max(c);
                for (tick, stats) in merge.finish(worker) {
                    emit(tick, stats, &mut total, &mut series, &mut last_tick_at);
                }
            }
            Ok(ToCoord::Failed { worker, reason }) => {
                tracing::error!(worker, %reason, "worker failed");
                cancel.cancel();
                return Err(RunError::WorkerLost(worker));
            }
            Ok(ToCoord::Ready) => {}
            Err(_) => return Err(RunError::WorkerLost(0)),
        }
    }
    for j in joins {
        let _ = j.join();
    }
    let end_instant = Instant::now();
    finals.merge(&carry);
    // The last, partial interval: what finished after the last whole second.
    let mut last = snapshot(finals, &mut total, true, end_instant, last_tick_at, measure_from, schedule.as_ref(), t0);
    last.phase = Phase::Draining;
    if last.interval.finished() > 0 {
        series.push(SecondStats::from_snapshot(&last));
    }
    let _ = progress.send(last);
    let window = plan.measured_duration();
    let elapsed = match (cancelled_at, window) {
        (Some(c), _) => c.saturating_duration_since(measure_from),
        (None, Some(w)) => w,
        (None, None) => last_done.map_or(Duration::ZERO, |d| d.saturating_duration_since(measure_from)),
    };
    let started_at = wall_t0 + chrono::Duration::from_std(plan.warmup).unwrap_or_default();
    let planned = schedule.as_ref().and_then(Schedule::planned_in_window);
    let planned = planned.map(|n| share_of(n, &plan));
    Ok(Report {
        plan: (*plan).clone(),
        started_at,
        ended_at: wall_clock(end_instant),
        elapsed,
        stats: total,
        series,
        planned,
        cancelled: cancelled_at.is_some(),
    })
}

/// This engine's share of a count planned for the whole (possibly distributed) run.
fn share_of(n: u64, plan: &RunPlan) -> u64 {
    let k = u64::from(plan.shard.count);
    n / k + u64::from(u64::from(plan.shard.index) < n % k)
}

#[allow(clippy::too_many_arguments)]
fn snapshot(
    interval: Stats,
    total: &mut Stats,
    measuring: bool,
    at: Instant,
    prev: Instant,
    measure_from: Instant,
    schedule: Option<&Schedule>,
    t0: Instant,
) -> Snapshot {
    total.merge(&interval);
    Snapshot {
        elapsed: at.saturating_duration_since(measure_from),
        phase: if measuring { Phase::Measuring } else { Phase::Warmup },
        interval,
        interval_len: at.saturating_duration_since(prev),
        target_rate: schedule.map(|s| s.rate_at(at.saturating_duration_since(t0))),
        total_responses: total.responses,
        total_errors: total.error_total(),
    }
}

fn start_instant(start_at: Option<SystemTime>) -> Instant {
    let now = Instant::now();
    match start_at.map(|at| at.duration_since(SystemTime::now())) {
        Some(Ok(wait)) => now + wait,
        _ => now,
    }
}

fn wall_clock(at: Instant) -> DateTime<Utc> {
    let now_i = Instant::now();
    let now_w = SystemTime::now();
    let wall = if at >= now_i { now_w + (at - now_i) } else { now_w - (now_i - at) };
    DateTime::<Utc>::from(wall)
}

/// Collects per-worker deltas and releases each tick, in order, once every live worker sent it.
#[derive(Debug)]
struct TickMerger {
    last: Vec<Option<i64>>,
    done: Vec<bool>,
    pending: BTreeMap<i64, Stats>,
}

impl TickMerger {
    fn new(workers: u32) -> Self {
        TickMerger { last: vec![None; workers as usize], done: vec![false; workers as usize], pending: BTreeMap::new() }
    }

    fn add(&mut self, worker: u32, tick: i64, stats: Stats) -> Vec<(i64, Stats)> {
        self.last[worker as usize] = Some(tick);
        match self.pending.entry(tick) {
            std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge(&stats),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(stats);
            }
        }
        self.release()
    }

    fn finish(&mut self, worker: u32) -> Vec<(i64, Stats)> {
        self.done[worker as usize] = true;
        self.release()
    }

    fn all_done(&self) -> bool {
        self.done.iter().all(|d| *d)
    }

    fn release(&mut self) -> Vec<(i64, Stats)> {
        let mut out = Vec::new();
        while let Some((&tick, _)) = self.pending.first_key_value() {
            let complete = self.last.iter().zip(&self.done).all(|(l, d)| *d || l.is_some_and(|l| l >= tick));
            if !complete {
                break;
            }
            if let Some(entry) = self.pending.pop_first() {
                out.push(entry);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Target;

    #[test]
    fn ticks_release_in_order_when_all_workers_reported() {
        let mut m = TickMerger::new(2);
        let mut one = Stats::new();
        one.count_status(200);
        assert!(m.add(0, 1, one.clone()).is_empty());
        assert!(m.add(0, 2, one.clone()).is_empty());
        let out = m.add(1, 1, one.clone());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.responses, 2);
        // Worker 1 finishes early: tick 2 no longer waits for it.
        let out = m.finish(1);
        assert_eq!(out.iter().map(|(t, s)| (*t, s.responses)).collect::<Vec<_>>(), vec![(2, 1)]);
        assert!(!m.all_done());
        m.finish(0);
        assert!(m.all_done());
    }

    #[test]
    fn normalize_fits_workers_to_connections_and_hosts() {
        let mut p = RunPlan::new(vec![Target::get("http://a.test/").unwrap(), Target::get("http://b.test/").unwrap()]);
        p.threads = 8;
        p.connections = 6;
        let (p2, groups) = normalize(p.clone().validate().unwrap());
        assert_eq!(groups.len(), 2);
        assert_eq!(p2.threads, 3);
        p.connections = 1;
        assert!(p.validate().unwrap_err().to_string().contains("at least 2 connections"));
    }

    #[test]
    fn shares_add_up() {
        let mut p = RunPlan::new(vec![Target::get("http://a.test/").unwrap()]);
        p.shard.count = 3;
        let total: u64 = (0..3)
            .map(|i| {
                p.shard.index = i;
                share_of(10, &p)
            })
            .sum();
        assert_eq!(total, 10);
    }
}
