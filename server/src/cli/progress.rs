//! The live progress line on a terminal, fed by the engine's one-per-second snapshots (so it is
//! never on the path of a request). It shows the series point each snapshot is.

use std::io::Write;

use loadgen::{Phase, RunPlan, SecondStats, Snapshot};

use super::summary::{group, micros, num};

/// The progress line for a snapshot: the numbers of the series point it is (the same rate,
/// successful responses per second, and percentiles), and the running totals.
pub fn line(s: &Snapshot, total: Option<f64>) -> String {
    let when = match (s.phase, total) {
        (Phase::Warmup, _) => "warm-up".to_string(),
        (Phase::Waiting, _) => "waiting".to_string(),
        (Phase::Draining, _) => "window closed, finishing".to_string(),
        (_, Some(t)) => format!("{:>5.1}s/{t:.0}s", s.elapsed.as_secs_f64()),
        (_, None) => format!("{:>5.1}s", s.elapsed.as_secs_f64()),
    };
    let requests = s.total_responses + s.total_errors;
    let share = if requests == 0 { 0.0 } else { 100.0 * s.total_errors as f64 / requests as f64 };
    let totals = format!("requests {}  errors {} ({share:.1}%)", group(requests), group(s.total_errors));
    if !s.in_series() {
        return format!("[{when}] {totals}");
    }
    // The series point this snapshot is: the line shows what the series will hold.
    let point = SecondStats::from_snapshot(s);
    let target = point.target_rate.map(|t| format!(" (target {})", num(t))).unwrap_or_default();
    let latency = if s.interval.responses == 0 {
        "no responses".to_string()
    } else {
        format!("p50 {}  p99 {}", micros(point.p50_us as f64), micros(point.p99_us as f64))
    };
    format!("[{when}] {} req/s{target}  {latency}  {totals}", num(point.rate))
}

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
        let line = line(s, self.total);
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
