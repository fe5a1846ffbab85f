//! The coordinator thread: starts the workers, gives them one start instant once all are
//! connected, has their per-second deltas merged into snapshots (in tick order, exact merges,
//! see `collect`), and builds the final [`Report`].

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Instant, SystemTime};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc as tmpsc, oneshot};

use crate::collect::{Collector, Window};
use crate::engine::CancelHandle;
use crate::error::RunError;
use crate::plan::{RunPlan, ValidatedPlan};
use crate::report::{Report, Snapshot};
use crate::schedule::Schedule;
use crate::stats::Stats;
use crate::worker::{self, Group, ToCoord, WorkerSpec, first_tick};

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
    let window = Window {
        from: measure_from,
        end: plan.measured_duration().map(|d| measure_from + d),
        cancelled_at: None,
        last_done: None,
    };
    let mut run = Collector::new(threads, first_tick(plan.warmup), t0, window, schedule.as_ref(), progress);
    let mut unsent = Stats::new();
    while !run.merge.all_done() {
        match rx.recv() {
            Ok(ToCoord::Delta { worker, tick, stats, until, closes }) => run.delta(worker, tick, stats, until, closes),
            Ok(ToCoord::Done { worker, stats, unsent: u, last_done, cancelled_at }) => {
                unsent.merge(&u);
                run.done(worker, stats, last_done, cancelled_at);
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
    run.finish(unsent, end_instant);
    let window = run.window;
    let elapsed = window.close(end_instant).saturating_duration_since(measure_from);
    let started_at = wall_t0 + chrono::Duration::from_std(plan.warmup).unwrap_or_default();
    let planned = schedule.as_ref().and_then(Schedule::planned_in_window);
    let planned = planned.map(|n| share_of(n, &plan));
    Ok(Report {
        plan: (*plan).clone(),
        started_at,
        ended_at: wall_clock(end_instant),
        elapsed,
        stats: run.total,
        series: run.series,
        planned,
        cancelled: window.cancelled_at.is_some(),
    })
}

/// This engine's share of a count planned for the whole (possibly distributed) run.
fn share_of(n: u64, plan: &RunPlan) -> u64 {
    let k = u64::from(plan.shard.count);
    n / k + u64::from(u64::from(plan.shard.index) < n % k)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Target;

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
