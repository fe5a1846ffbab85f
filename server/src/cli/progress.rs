//! The live progress line on a terminal, fed by the engine's one-per-second snapshots (so it is
//! never on the path of a request).

use std::io::Write;

use loadgen::{Phase, RunPlan, Snapshot};

use super::summary::{group, micros, num};

/// A progress line redrawn on stderr.
#[derive(Debug)]
pub struct Progress {
    total: Option<f64>,
    drawn: bool,
}

impl Progress {
    /// A progress line for `plan`.
    pub fn new(plan: &RunPlan) -> Self {
        Progress { total: plan.measured_duration().map(|d| d.as_secs_f64()), drawn: false }
    }

    /// Redraws the line from a snapshot.
    pub fn update(&mut self, s: &Snapshot) {
        let when = match (s.phase, self.total) {
            (Phase::Warmup, _) => "warm-up".to_string(),
            (Phase::Waiting, _) => "waiting".to_string(),
            (_, Some(t)) => format!("{:>5.1}s/{t:.0}s", s.elapsed.as_secs_f64()),
            (_, None) => format!("{:>5.1}s", s.elapsed.as_secs_f64()),
        };
        let target = s.target_rate.map(|t| format!(" (target {})", num(t))).unwrap_or_default();
        let line = format!(
            "[{when}] {} req/s{target}  p50 {}  p99 {}  requests {}  errors {}",
            num(s.rate()),
            micros(s.interval.latency.percentile_us(50.0) as f64),
            micros(s.interval.latency.percentile_us(99.0) as f64),
            group(s.total_responses + s.total_errors),
            group(s.total_errors),
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Clears the line before the summary is printed.
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
