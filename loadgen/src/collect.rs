//! Turning the workers' deltas into snapshots, the per-second series and the totals.
//!
//! Every worker sends an exact delta per tick of the window's one-second grid; the tick that
//! reaches the window's end (or the cancel) fires there and *closes* the window, so what a
//! worker sends after it finished after the window. [`Collector`] merges the deltas of a tick
//! once every live worker sent it ([`TickMerger`]) and emits one [`Snapshot`]: the progress
//! line, the server's events and the per-second series all read that one snapshot, so they
//! agree. A point's rate is over its real length; no point carries what finished after the
//! window; a worker that stopped before its last tick has the rest of its window folded into
//! that tick, never into a sliver of its own.

use std::collections::BTreeMap;
use std::time::Instant;

use tokio::sync::mpsc as tmpsc;

use crate::report::{Phase, SecondStats, Snapshot};
use crate::schedule::Schedule;
use crate::stats::Stats;
use crate::worker::tick_instant;

/// What arrived for one tick.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    /// Measured inside the window.
    window: Stats,
    /// Whether some worker's delta for this tick was taken in the window.
    in_window: bool,
    /// Where the in-window part ends (the latest worker's), when a worker's delta said so.
    until: Option<Instant>,
    /// Finished after the window (sent by workers that had closed their window).
    after: Option<Stats>,
}

/// Collects per-worker deltas and releases each tick, in order, once every live worker sent it.
#[derive(Debug)]
pub(crate) struct TickMerger {
    first: i64,
    last: Vec<Option<i64>>,
    closed: Vec<bool>,
    done: Vec<bool>,
    pending: BTreeMap<i64, Entry>,
}

impl TickMerger {
    /// A merger for `workers` workers whose first tick is `first`.
    pub(crate) fn new(workers: u32, first: i64) -> Self {
        let n = workers as usize;
        TickMerger {
            first,
            last: vec![None; n],
            closed: vec![false; n],
            done: vec![false; n],
            pending: BTreeMap::new(),
        }
    }

    /// A worker's delta for `tick`, ending at `until`; `closes` when it ends at the window's close.
    pub(crate) fn add(
        &mut self,
        worker: u32,
        tick: i64,
        stats: Stats,
        until: Instant,
        closes: bool,
    ) -> Vec<(i64, Entry)> {
        self.last[worker as usize] = Some(tick);
        self.put(worker, tick, stats, Some(until));
        if closes {
            self.closed[worker as usize] = true;
        }
        self.release()
    }

    /// A worker finished; `rest` is what it measured since its last delta.
    pub(crate) fn finish(&mut self, worker: u32, rest: Stats) -> Vec<(i64, Entry)> {
        if !rest.is_empty() {
            let tick = self.last[worker as usize].map_or(self.first, |t| t + 1);
            self.put(worker, tick, rest, None);
        }
        self.done[worker as usize] = true;
        self.release()
    }

    fn put(&mut self, worker: u32, tick: i64, stats: Stats, until: Option<Instant>) {
        let entry = self.pending.entry(tick).or_default();
        if self.closed[worker as usize] {
            entry.after.get_or_insert_with(Stats::new).merge(&stats);
        } else {
            entry.window.merge(&stats);
            entry.in_window = true;
            entry.until = entry.until.max(until);
        }
    }

    /// Whether every worker finished.
    pub(crate) fn all_done(&self) -> bool {
        self.done.iter().all(|d| *d)
    }

    fn release(&mut self) -> Vec<(i64, Entry)> {
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

/// When the window closed, as far as the workers told.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Start of the measured window.
    pub(crate) from: Instant,
    /// Its planned end (duration-bounded runs).
    pub(crate) end: Option<Instant>,
    /// The latest instant a worker saw the cancel.
    pub(crate) cancelled_at: Option<Instant>,
    /// The latest completion of any request (count-bounded runs end there).
    pub(crate) last_done: Option<Instant>,
}

impl Window {
    /// Where the window closed: the cancel or the planned end, whichever came first; for a
    /// count-bounded run, the last completion (or `now`).
    pub(crate) fn close(&self, now: Instant) -> Instant {
        match (self.cancelled_at, self.end) {
            (Some(c), Some(e)) => c.min(e),
            (c, e) => c.or(e).or(self.last_done).unwrap_or(now),
        }
        .max(self.from)
    }
}

/// Builds snapshots, the series and the totals from released ticks.
#[derive(Debug)]
pub(crate) struct Collector<'a> {
    pub(crate) merge: TickMerger,
    pub(crate) window: Window,
    t0: Instant,
    schedule: Option<&'a Schedule>,
    progress: &'a tmpsc::UnboundedSender<Snapshot>,
    /// Samples recorded in the window before the warm-up's last tick went out (a few, since
    /// that tick fires just after the window opens): carried into the first measured second.
    carry: Stats,
    /// Where the last emitted interval ended.
    prev: Instant,
    /// Everything so far.
    pub(crate) total: Stats,
    /// The per-second series.
    pub(crate) series: Vec<SecondStats>,
}

impl<'a> Collector<'a> {
    /// A collector for a run whose workers start at `t0`.
    pub(crate) fn new(
        workers: u32,
        first_tick: i64,
        t0: Instant,
        window: Window,
        schedule: Option<&'a Schedule>,
        progress: &'a tmpsc::UnboundedSender<Snapshot>,
    ) -> Self {
        Collector {
            merge: TickMerger::new(workers, first_tick),
            window,
            t0,
            schedule,
            progress,
            carry: Stats::new(),
            prev: t0,
            total: Stats::new(),
            series: Vec::new(),
        }
    }

    /// A worker's delta.
    pub(crate) fn delta(&mut self, worker: u32, tick: i64, stats: Stats, until: Instant, closes: bool) {
        for (tick, entry) in self.merge.add(worker, tick, stats, until, closes) {
            self.emit(tick, entry);
        }
    }

    /// A worker finished: the rest of what it measured, its last completion and its cancel.
    pub(crate) fn done(&mut self, worker: u32, rest: Stats, last_done: Option<Instant>, cancelled_at: Option<Instant>) {
        self.window.last_done = self.window.last_done.max(last_done);
        self.window.cancelled_at = self.window.cancelled_at.max(cancelled_at);
        for (tick, entry) in self.merge.finish(worker, rest) {
            self.emit(tick, entry);
        }
    }

    fn emit(&mut self, tick: i64, entry: Entry) {
        let Entry { mut window, in_window, until, after } = entry;
        if tick <= 0 {
            self.carry.merge(&window);
            let at = tick_instant(self.window.from, tick).max(self.prev);
            self.send(Stats::new(), Phase::Warmup, at);
        } else if in_window {
            window.merge(&std::mem::take(&mut self.carry));
            // A tick folded from finished workers only is released once all are done, so the
            // window's close is known by then.
            let at = until.unwrap_or_else(|| self.window.close(Instant::now())).max(self.prev);
            let snap = self.send(window, Phase::Measuring, at);
            self.series.push(SecondStats::from_snapshot(&snap));
        }
        if let Some(mut after) = after {
            after.mark_after_window();
            let at = tick_instant(self.window.from, tick).min(Instant::now()).max(self.prev);
            self.send(after, Phase::Draining, at);
        }
    }

    /// Emits the last snapshot: the carry that found no measured second, and `unsent`.
    pub(crate) fn finish(&mut self, mut unsent: Stats, now: Instant) {
        unsent.merge(&std::mem::take(&mut self.carry));
        self.send(unsent, Phase::Draining, now.max(self.prev));
    }

    fn send(&mut self, interval: Stats, phase: Phase, at: Instant) -> Snapshot {
        self.total.merge(&interval);
        let snap = Snapshot {
            elapsed: at.saturating_duration_since(self.window.from),
            phase,
            interval,
            interval_len: at.saturating_duration_since(self.prev),
            target_rate: self.schedule.map(|s| {
                let (from, to) = (self.prev.saturating_duration_since(self.t0), at.saturating_duration_since(self.t0));
                if phase == Phase::Measuring { s.mean_rate(from, to) } else { s.rate_at(to) }
            }),
            total_responses: self.total.responses,
            total_errors: self.total.error_total(),
        };
        self.prev = at;
        let _ = self.progress.send(snap.clone());
        snap
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ok(n: u64) -> Stats {
        let mut s = Stats::new();
        for _ in 0..n {
            s.count_status(200);
            s.latency.record_us(1000);
        }
        s
    }

    #[test]
    fn ticks_release_in_order_when_all_workers_reported() {
        let at = Instant::now();
        let mut m = TickMerger::new(2, 1);
        assert!(m.add(0, 1, ok(1), at, false).is_empty());
        assert!(m.add(0, 2, ok(1), at, false).is_empty());
        let out = m.add(1, 1, ok(1), at, false);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.window.responses, 2);
        // Worker 1 finishes early: tick 2 no longer waits for it, and its rest folds into it.
        let out = m.finish(1, ok(3));
        assert_eq!(out.iter().map(|(t, e)| (*t, e.window.responses)).collect::<Vec<_>>(), vec![(2, 4)]);
        assert!(!m.all_done());
        m.finish(0, Stats::new());
        assert!(m.all_done());
    }

    #[test]
    fn after_the_close_a_worker_sends_what_finished_after_the_window() {
        let at = Instant::now();
        let mut m = TickMerger::new(1, 1);
        let out = m.add(0, 1, ok(5), at, true);
        assert_eq!((out[0].1.window.responses, out[0].1.until), (5, Some(at)));
        let out = m.add(0, 2, ok(2), at, false);
        assert!(!out[0].1.in_window);
        assert_eq!(out[0].1.after.as_ref().unwrap().responses, 2);
        let out = m.finish(0, ok(1));
        assert_eq!(out[0].1.after.as_ref().unwrap().responses, 1);
    }

    /// Drives a collector with one worker and returns the snapshots it emitted.
    fn collect(steps: impl FnOnce(&mut Collector<'_>, Instant)) -> (Vec<Snapshot>, Vec<SecondStats>, Stats) {
        let (tx, mut rx) = tmpsc::unbounded_channel();
        let t0 = Instant::now();
        let window = Window { from: t0, end: Some(t0 + Duration::from_secs(5)), cancelled_at: None, last_done: None };
        let mut c = Collector::new(1, 1, t0, window, None, &tx);
        steps(&mut c, t0);
        let (series, total) = (c.series.clone(), c.total.clone());
        drop(c);
        drop(tx);
        let mut snaps = Vec::new();
        while let Ok(s) = rx.try_recv() {
            snaps.push(s);
        }
        (snaps, series, total)
    }

    #[test]
    fn a_5_s_window_has_5_points_and_what_finished_later_is_not_in_them() {
        let secs = |t0: Instant, s: u64| t0 + Duration::from_secs(s);
        let (snaps, series, total) = collect(|c, t0| {
            for k in 1..=5 {
                c.delta(0, k, ok(100), secs(t0, k as u64), k == 5);
            }
            // The drain: 7 finished in the next second, 3 more before the worker stopped.
            c.delta(0, 6, ok(7), secs(t0, 6), false);
            c.done(0, ok(3), Some(secs(t0, 6)), None);
            let mut unsent = Stats::new();
            unsent.unsent = 2;
            unsent.latency.record_n_us(2_000_000, 2);
            c.finish(unsent, secs(t0, 7));
        });
        assert_eq!(series.len(), 5);
        for (i, p) in series.iter().enumerate() {
            assert_eq!((p.second, p.requests, p.rate), ((i + 1) as f64, 100, 100.0));
        }
        assert_eq!(total.finished(), 510);
        assert_eq!(total.after_window, 10);
        assert_eq!((total.successful_in_window(), total.unsent, total.latency.len()), (500, 2, 512));
        // Every snapshot's delta adds up to the total; the series comes from the measuring ones.
        let mut sum = Stats::new();
        snaps.iter().for_each(|s| sum.merge(&s.interval));
        assert_eq!(sum, total);
        assert_eq!(snaps.iter().filter(|s| s.in_series()).count(), 5);
        assert!(snaps.iter().filter(|s| !s.in_series()).all(|s| s.phase == Phase::Draining));
    }

    #[test]
    fn a_cancel_ends_the_last_point_where_it_happened() {
        let (_, series, total) = collect(|c, t0| {
            c.delta(0, 1, ok(100), t0 + Duration::from_secs(1), false);
            let cancel = t0 + Duration::from_millis(1600);
            c.delta(0, 2, ok(60), cancel, true);
            c.done(0, ok(4), Some(cancel), Some(cancel));
            c.finish(Stats::new(), cancel + Duration::from_millis(10));
        });
        assert_eq!(series.len(), 2);
        assert!((series[1].second - 1.6).abs() < 1e-9);
        assert!((series[1].rate - 100.0).abs() < 1e-9, "{}", series[1].rate);
        assert_eq!(total.after_window, 4);
    }

    #[test]
    fn a_worker_that_stops_before_its_last_tick_folds_its_rest_into_it() {
        // Count-bounded: no planned end; the window closes at the last completion.
        let (tx, _rx) = tmpsc::unbounded_channel();
        let t0 = Instant::now();
        let window = Window { from: t0, end: None, cancelled_at: None, last_done: None };
        let mut c = Collector::new(2, 1, t0, window, None, &tx);
        c.delta(0, 1, ok(50), t0 + Duration::from_secs(1), false);
        c.delta(1, 1, ok(50), t0 + Duration::from_secs(1), false);
        c.done(0, ok(20), Some(t0 + Duration::from_millis(1400)), None);
        c.done(1, ok(30), Some(t0 + Duration::from_millis(1500)), None);
        assert_eq!(c.series.len(), 2);
        assert!((c.series[1].second - 1.5).abs() < 1e-9);
        assert_eq!(c.series[1].requests, 50);
        assert!((c.series[1].rate - 100.0).abs() < 1e-6);
        assert_eq!(c.total.after_window, 0);
    }
}
