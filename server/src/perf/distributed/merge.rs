//! Merging the workers' progress into one stream of snapshots.
//!
//! Snapshots are aligned on each worker's own sequence number (snapshot *n* covers about the
//! *n*-th second after that worker's own start), never on the workers' wall clocks, so clock
//! skew between machines cannot shift or smear the series. Snapshot *n* is released once every
//! worker still running has sent its *n*-th; a worker that finished or was lost stops being
//! waited for.

use std::collections::BTreeMap;
use std::time::Duration;

use loadgen::{Phase, Snapshot, Stats};

#[derive(Debug, Default)]
struct Pending {
    interval: Stats,
    elapsed: Duration,
    interval_len: Duration,
    phase: Option<Phase>,
    target_rate: Option<f64>,
}

fn phase_rank(p: Phase) -> u8 {
    match p {
        Phase::Waiting => 0,
        Phase::Warmup => 1,
        Phase::Measuring => 2,
        Phase::Draining => 3,
    }
}

/// Merges per-worker snapshots into whole-run snapshots, in order.
#[derive(Debug)]
pub(crate) struct ProgressMerger {
    live: Vec<bool>,
    last_seq: Vec<u64>,
    pending: BTreeMap<u64, Pending>,
    total_responses: u64,
    total_errors: u64,
}

impl ProgressMerger {
    /// A merger for `workers` workers, all running.
    pub(crate) fn new(workers: usize) -> Self {
        ProgressMerger {
            live: vec![true; workers],
            last_seq: vec![0; workers],
            pending: BTreeMap::new(),
            total_responses: 0,
            total_errors: 0,
        }
    }

    /// Adds worker `w`'s snapshot number `seq`; returns the snapshots now complete.
    pub(crate) fn add(&mut self, w: usize, seq: u64, snap: &Snapshot) -> Vec<Snapshot> {
        self.last_seq[w] = self.last_seq[w].max(seq);
        let p = self.pending.entry(seq).or_default();
        p.interval.merge(&snap.interval);
        p.elapsed = p.elapsed.max(snap.elapsed);
        p.interval_len = p.interval_len.max(snap.interval_len);
        if p.phase.is_none_or(|have| phase_rank(snap.phase) > phase_rank(have)) {
            p.phase = Some(snap.phase);
        }
        // Every worker reports the whole run's target rate (it runs the whole shape on its shard).
        p.target_rate = match (p.target_rate, snap.target_rate) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.ready()
    }

    /// Stops waiting for worker `w` (it finished or was lost); returns the snapshots now complete.
    pub(crate) fn retire(&mut self, w: usize) -> Vec<Snapshot> {
        self.live[w] = false;
        self.ready()
    }

    fn ready(&mut self) -> Vec<Snapshot> {
        let mut out = Vec::new();
        while let Some((&seq, _)) = self.pending.first_key_value() {
            let waiting = self.live.iter().zip(&self.last_seq).any(|(live, last)| *live && *last < seq);
            if waiting {
                break;
            }
            let Some((_, p)) = self.pending.pop_first() else { break };
            self.total_responses += p.interval.responses;
            self.total_errors += p.interval.error_total();
            out.push(Snapshot {
                elapsed: p.elapsed,
                phase: p.phase.unwrap_or(Phase::Measuring),
                interval: p.interval,
                interval_len: p.interval_len,
                target_rate: p.target_rate,
                total_responses: self.total_responses,
                total_errors: self.total_errors,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(secs: u64, responses: u64, latency_us: u64) -> Snapshot {
        let mut interval = Stats::new();
        for _ in 0..responses {
            interval.count_status(200);
            interval.latency.record_us(latency_us);
        }
        Snapshot {
            elapsed: Duration::from_secs(secs),
            phase: Phase::Measuring,
            interval,
            interval_len: Duration::from_secs(1),
            target_rate: Some(100.0),
            total_responses: 0,
            total_errors: 0,
        }
    }

    #[test]
    fn waits_for_every_live_worker_and_merges_exactly() {
        let mut m = ProgressMerger::new(2);
        assert!(m.add(0, 1, &snap(1, 3, 100)).is_empty());
        assert!(m.add(0, 2, &snap(2, 3, 100)).is_empty());
        let out = m.add(1, 1, &snap(1, 2, 900));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].interval.responses, 5);
        assert_eq!(out[0].interval.latency.len(), 5);
        assert_eq!(out[0].interval.latency.max_us(), m_max(900));
        assert_eq!(out[0].target_rate, Some(100.0));
        // Worker 1 is lost: second 2 is released with worker 0's part only.
        let out = m.retire(1);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].elapsed, out[0].total_responses), (Duration::from_secs(2), 8));
        assert!(m.add(0, 3, &snap(3, 1, 100)).len() == 1);
    }

    fn m_max(us: u64) -> u64 {
        let mut h = loadgen::LatencyHistogram::new();
        h.record_us(us);
        h.max_us()
    }
}
