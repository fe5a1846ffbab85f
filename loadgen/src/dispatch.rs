//! Open-loop tickets: which request a free slot sends next, and when it is due.
//!
//! A worker's k-th request has global index `offset + k·stride` (the stride interleaves workers
//! and machines) and goes to target `k mod T`. A dispenser serves one group of targets that
//! share a host, so it walks only the k whose target is in its group. Nothing is queued: the
//! backlog of a stalled server is just the distance between the next k and the clock, so memory
//! stays constant. One parked slot at a time owns the precise timer; it hands that duty on after
//! it claims.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use crate::local::{Budget, WaitList};
use crate::schedule::Schedule;
use crate::timer::PreciseTimer;

/// A request a slot may send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    /// When the schedule wanted it sent.
    pub(crate) due: Instant,
    /// Index into the plan's targets.
    pub(crate) target: usize,
}

/// Which global request indices a dispenser serves: the worker's k-th request has index
/// `offset + k·stride` and goes to target `k mod targets`; only k with a target in `residues`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lattice {
    /// First global index of this worker.
    pub(crate) offset: u64,
    /// Distance between this worker's indices.
    pub(crate) stride: u64,
    /// Number of targets in the plan.
    pub(crate) targets: u64,
    /// Target indices this dispenser serves, ascending.
    pub(crate) residues: Vec<u64>,
}

/// Hands out due tickets for one group of targets in one worker.
#[derive(Debug)]
pub(crate) struct Dispenser {
    schedule: Rc<Schedule>,
    t0: Instant,
    stride: u64,
    offset: u64,
    targets: u64,
    /// Target indices (k mod T) this group serves, ascending.
    residues: Vec<u64>,
    /// Position in the group's own sequence: k = (pos / m)·T + residues[pos % m].
    pos: Cell<u64>,
    budget: Rc<Budget>,
    /// Requests due earlier are warm-up: they do not spend the budget.
    measure_from: Instant,
    /// No ticket is handed out at or after this instant.
    end: Option<Instant>,
    stopped: Cell<bool>,
    ended: Cell<bool>,
    timer_owned: Cell<bool>,
    waiters: WaitList,
    timer: PreciseTimer,
}

impl Dispenser {
    /// A dispenser for targets `residues` (of `targets` in all) on the given index lattice.
    pub(crate) fn new(
        schedule: Rc<Schedule>,
        t0: Instant,
        lattice: Lattice,
        budget: Rc<Budget>,
    ) -> std::io::Result<Self> {
        let measure_from = t0 + schedule.measure_from();
        let end = schedule.end().map(|e| t0 + e);
        Ok(Dispenser {
            schedule,
            t0,
            stride: lattice.stride,
            offset: lattice.offset,
            targets: lattice.targets,
            residues: lattice.residues,
            pos: Cell::new(0),
            budget,
            measure_from,
            end,
            stopped: Cell::new(false),
            ended: Cell::new(false),
            timer_owned: Cell::new(false),
            waiters: WaitList::default(),
            timer: PreciseTimer::new()?,
        })
    }

    fn k_at(&self, pos: u64) -> u64 {
        let m = self.residues.len() as u64;
        (pos / m) * self.targets + self.residues[(pos % m) as usize]
    }

    /// Due instant of the request at group position `pos`, or `None` once the schedule ends.
    fn due_at(&self, pos: u64) -> Option<Instant> {
        let k = self.k_at(pos);
        self.schedule.due(self.offset + k * self.stride).map(|d| self.t0 + d)
    }

    /// Waits until the next request is due and claims it; `None` when the run is over.
    pub(crate) async fn claim(&self) -> Option<Ticket> {
        loop {
            if self.stopped.get() || self.ended.get() {
                return None;
            }
            let pos = self.pos.get();
            let Some(due) = self.due_at(pos) else {
                self.end();
                return None;
            };
            let now = Instant::now();
            if due <= now {
                if self.end.is_some_and(|e| now >= e) || (due >= self.measure_from && !self.budget.take()) {
                    self.end();
                    return None;
                }
                self.pos.set(pos + 1);
                // Someone must own the timer for the next ticket.
                self.waiters.wake_one();
                let target = (self.k_at(pos) % self.targets) as usize;
                return Some(Ticket { due, target });
            }
            if self.timer_owned.get() {
                self.waiters.park().await;
            } else {
                let _own = TimerDuty::take(&self.timer_owned);
                let _ = self.timer.sleep_until(due).await;
            }
        }
    }

    fn end(&self) {
        self.ended.set(true);
        self.waiters.wake_all();
    }

    /// Stops handing out tickets and wakes every waiting slot.
    pub(crate) fn stop(&self) {
        self.stopped.set(true);
        self.waiters.wake_all();
        self.timer.fire_now();
    }

    /// Due instants of the requests due before `until` (and at or after `from`) that were never
    /// claimed, in order. Nothing is stored: each is computed from the schedule as it is read.
    pub(crate) fn unclaimed_due(&self, from: Instant, until: Instant) -> impl Iterator<Item = Instant> + '_ {
        (self.pos.get()..)
            .map_while(move |pos| self.due_at(pos).filter(|due| *due < until))
            .filter(move |due| *due >= from)
    }
}

/// Marks the timer as owned while alive, and frees it even if the owner's future is dropped.
struct TimerDuty<'a>(&'a Cell<bool>);

impl<'a> TimerDuty<'a> {
    fn take(flag: &'a Cell<bool>) -> Self {
        flag.set(true);
        TimerDuty(flag)
    }
}

impl Drop for TimerDuty<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Load, RateShape, RunPlan, Target};
    use std::time::Duration;

    fn schedule(rate: f64, secs: f64) -> Rc<Schedule> {
        let mut p = RunPlan::new(vec![Target::get("http://127.0.0.1/").unwrap()]);
        p.load = Load::Open(RateShape::Constant(rate));
        p.duration = Some(Duration::from_secs_f64(secs));
        Rc::new(Schedule::new(&p).unwrap())
    }

    #[test]
    fn residues_and_stride_pick_the_right_indices() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t0 = Instant::now() - Duration::from_secs(100);
            // Worker 1 of 2, targets {1, 2} of 3: k = 1, 2, 4, 5, 7 ... → global 2k + 1.
            let d = Dispenser::new(schedule(1000.0, 1000.0), t0, lat(1, 2, 3, vec![1, 2]), Rc::new(Budget::new(None)))
                .unwrap();
            let tickets: Vec<_> = (0..4).map(|_| futures_now(d.claim())).collect();
            let targets: Vec<_> = tickets.iter().map(|t| t.unwrap().target).collect();
            assert_eq!(targets, vec![1, 2, 1, 2]);
            assert_eq!(tickets[0].unwrap().due, t0 + Duration::from_millis(3));
            assert_eq!(tickets[3].unwrap().due, t0 + Duration::from_millis(11));
        });
    }

    #[test]
    fn budget_and_end_stop_the_dispenser() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t0 = Instant::now() - Duration::from_secs(100);
            let d = Dispenser::new(schedule(10.0, 1000.0), t0, lat(0, 1, 1, vec![0]), Rc::new(Budget::new(Some(3))))
                .unwrap();
            assert_eq!((0..5).filter(|_| futures_now(d.claim()).is_some()).count(), 3);
            // The window closed long ago: the backlog is not sent after the end.
            let d = Dispenser::new(schedule(10.0, 1.0), t0, lat(0, 1, 1, vec![0]), Rc::new(Budget::new(None))).unwrap();
            assert_eq!(futures_now(d.claim()), None);
            assert_eq!(d.unclaimed_due(t0, t0 + Duration::from_secs(1)).count(), 10);
        });
    }

    #[test]
    fn waits_for_the_due_time_and_counts_the_unclaimed() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t0 = Instant::now();
            let d =
                Dispenser::new(schedule(200.0, 1.0), t0, lat(0, 1, 1, vec![0]), Rc::new(Budget::new(None))).unwrap();
            d.claim().await.unwrap();
            let second = d.claim().await.unwrap();
            assert!(Instant::now() >= second.due);
            assert_eq!(second.due, t0 + Duration::from_millis(5));
            assert_eq!(d.unclaimed_due(t0, t0 + Duration::from_secs(1)).count(), 198);
            let first = d.unclaimed_due(t0, t0 + Duration::from_secs(1)).next().unwrap();
            assert_eq!(first, t0 + Duration::from_millis(10));
            d.stop();
            assert!(d.claim().await.is_none());
        });
    }

    fn lat(offset: u64, stride: u64, targets: u64, residues: Vec<u64>) -> Lattice {
        Lattice { offset, stride, targets, residues }
    }

    /// Polls a future that must be ready at once.
    fn futures_now<F: std::future::Future>(f: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match std::pin::pin!(f).poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("not ready"),
        }
    }
}
