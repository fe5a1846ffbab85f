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
    /// The window closed; in-flight requests are finishing.
    Draining,
}

/// Progress of a run, sent about once a second.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Time since the measured window opened (zero during the warm-up).
    pub elapsed: Duration,
    /// Where the run is.
    pub phase: Phase,
    /// What was measured since the previous snapshot (exact deltas: they add up to the total).
    pub interval: Stats,
    /// Length of the interval.
    pub interval_len: Duration,
    /// Target rate at the end of the interval (open loop only).
    pub target_rate: Option<f64>,
    /// Responses since the window opened.
    pub total_responses: u64,
    /// Errors since the window opened.
    pub total_errors: u64,
}

impl Snapshot {
    /// Requests completed per second over the interval.
    pub fn rate(&self) -> f64 {
        let secs = self.interval_len.as_secs_f64();
        if secs > 0.0 { self.interval.finished() as f64 / secs } else { 0.0 }
    }
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
    /// Requests finished per second over the interval.
    pub rate: f64,
    /// Target rate (open loop).
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
            requests: s.interval.finished(),
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
    /// Everything measured in the window, merged across workers.
    pub stats: Stats,
    /// The per-second series.
    pub series: Vec<SecondStats>,
    /// Requests the schedule planned for the window (open loop with a duration).
    pub planned: Option<u64>,
    /// Whether the run was cancelled before its end.
    pub cancelled: bool,
}

impl Report {
    /// Requests finished (responses and errors) per second over the window.
    pub fn achieved_rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.stats.finished() as f64 / secs } else { 0.0 }
    }

    /// The average target rate over the window (open loop with a known plan).
    pub fn target_rate(&self) -> Option<f64> {
        let secs = self.plan.measured_duration()?.as_secs_f64();
        self.planned.map(|n| n as f64 / secs)
    }
}
