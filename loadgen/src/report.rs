//! What a run reports: progress snapshots while it runs and the final [`Report`].

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::plan::RunPlan;
use crate::stats::Stats;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for the agreed start instant.
    Waiting,
    /// Warming up: samples are dropped.
    Warmup,
    /// Measuring.
    Measuring,
    /// The window closed; in-flight requests are finishing. What finishes now is in the
    /// histograms and counts but not in the rates or the per-second series.
    Draining,
}

/// Progress of a run, sent about once a second.
///
/// A snapshot in phase [`Measuring`](Phase::Measuring) is one point of the per-second series:
/// the interval ends on the window's one-second grid, or at the window's end (a last interval
/// shorter than half a second is merged into the one before, so a 5 s run has 5 points), or
/// where the run was cancelled or ran out of requests. [`SecondStats::from_snapshot`] turns it
/// into the series point; the live progress line and the series read the same snapshot, so
/// they show the same numbers. Snapshots after the window are [`Draining`](Phase::Draining); the
/// last one also carries the requests that were due but never sent ([`Stats::unsent`]).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Time since the measured window opened, at the end of the interval (zero during the
    /// warm-up).
    pub elapsed: Duration,
    /// Where the run is.
    pub phase: Phase,
    /// What was measured since the previous snapshot (exact deltas: they add up to the total).
    pub interval: Stats,
    /// Length of the interval.
    pub interval_len: Duration,
    /// Target rate (open loop only): its mean over the interval while measuring, else at the
    /// end of the interval.
    pub target_rate: Option<f64>,
    /// Responses since the window opened.
    pub total_responses: u64,
    /// Errors since the window opened.
    pub total_errors: u64,
}

impl Snapshot {
    /// Successful responses (2xx or 3xx) per second over the interval: the achieved rate.
    pub fn rate(&self) -> f64 {
        per_second(self.interval.successful_in_window(), self.interval_len)
    }

    /// Requests finished (responses and errors) per second over the interval.
    pub fn request_rate(&self) -> f64 {
        per_second(self.interval.finished_in_window(), self.interval_len)
    }

    /// Whether this snapshot is a point of the per-second series (phase `Measuring`).
    pub fn in_series(&self) -> bool {
        self.phase == Phase::Measuring
    }
}

fn per_second(n: u64, over: Duration) -> f64 {
    let secs = over.as_secs_f64();
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// One point of the per-second series.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SecondStats {
    /// Seconds since the measured window opened, at the end of this interval.
    pub second: f64,
    /// Requests finished (responses and errors) in the interval.
    pub requests: u64,
    /// Failed requests in the interval.
    pub errors: u64,
    /// Successful responses (2xx or 3xx) per second over the interval: the achieved rate.
    pub rate: f64,
    /// Mean target rate over the interval (open loop).
    pub target_rate: Option<f64>,
    /// Median latency in the interval, µs.
    pub p50_us: u64,
    /// 99th-percentile latency in the interval, µs.
    pub p99_us: u64,
}

impl SecondStats {
    /// The series point for a snapshot.
    pub fn from_snapshot(s: &Snapshot) -> Self {
        SecondStats {
            second: s.elapsed.as_secs_f64(),
            requests: s.interval.finished_in_window(),
            errors: s.interval.error_total(),
            rate: s.rate(),
            target_rate: s.target_rate,
            p50_us: s.interval.latency.percentile_us(50.0),
            p99_us: s.interval.latency.percentile_us(99.0),
        }
    }
}

/// The final result of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The plan that ran.
    pub plan: RunPlan,
    /// Wall-clock time the measured window opened (UTC).
    pub started_at: DateTime<Utc>,
    /// Wall-clock time the run ended (UTC).
    pub ended_at: DateTime<Utc>,
    /// Length of the measured window as it actually ran.
    pub elapsed: Duration,
    /// Everything measured, merged across workers: requests that finished in the window and
    /// after it ([`Stats::after_window`]), and the unsent ones in the latency.
    pub stats: Stats,
    /// The per-second series.
    pub series: Vec<SecondStats>,
    /// Requests the schedule planned for the window (open loop with a duration).
    pub planned: Option<u64>,
    /// Whether the run was cancelled before its end.
    pub cancelled: bool,
}

impl Report {
    /// Successful responses (2xx or 3xx) that finished inside the window, per second of the
    /// window: the achieved rate.
    pub fn achieved_rate(&self) -> f64 {
        per_second(self.stats.successful_in_window(), self.elapsed)
    }

    /// Requests that finished (responses and errors) inside the window, per second of the window.
    pub fn request_rate(&self) -> f64 {
        per_second(self.stats.finished_in_window(), self.elapsed)
    }

    /// The average target rate over the window (open loop with a known plan).
    pub fn target_rate(&self) -> Option<f64> {
        let secs = self.plan.measured_duration()?.as_secs_f64();
        self.planned.map(|n| n as f64 / secs)
    }
}
