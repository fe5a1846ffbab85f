//! The open-loop schedule: when request *i* is due, from absolute time so errors never drift.
//!
//! The timeline starts at the run's `t0` (the start of the warm-up). During the warm-up the
//! shape's initial rate holds; the measured window follows. With a rate function `r(τ)` the
//! cumulative count is `N(τ) = ∫₀^τ r`, and request *i* is due at `N⁻¹(i)`: for a constant rate
//! that is `i / R`, for a ramp the root of a quadratic, for stages a piecewise line.

use std::time::Duration;

use crate::plan::{Load, RateShape, RunPlan};

/// One linear piece of the cumulative count: from time `t` (s) and count `n`, `rate` per second.
#[derive(Debug, Clone, Copy)]
struct Piece {
    t: f64,
    n: f64,
    rate: f64,
    /// Rate slope per second (non-zero only for a ramp).
    slope: f64,
    len: f64,
}

impl Piece {
    fn count_at_end(&self) -> f64 {
        self.n + self.rate * self.len + 0.5 * self.slope * self.len * self.len
    }

    /// Time into this piece at which the cumulative count reaches `x` (relative to `self.n`).
    fn time_for(&self, x: f64) -> f64 {
        if self.slope.abs() < 1e-12 {
            return x / self.rate;
        }
        // 0.5·slope·t² + rate·t − x = 0
        let disc = self.rate * self.rate + 2.0 * self.slope * x;
        if disc <= 0.0 {
            return self.len;
        }
        let sq = disc.sqrt();
        // Numerically stable root for either sign of `rate`.
        let t = if self.rate >= 0.0 { 2.0 * x / (self.rate + sq) } else { (sq - self.rate) / self.slope };
        t.min(self.len)
    }
}

/// When each request of an open-loop run is due, as an offset from `t0`.
#[derive(Debug, Clone)]
pub struct Schedule {
    pieces: Vec<Piece>,
    /// Offset of the end of the measured window, if bounded.
    end: Option<f64>,
    /// Offset at which measuring starts.
    measure_from: f64,
    shape: RateShape,
    measured: f64,
}

impl Schedule {
    /// The schedule of an open-loop plan, or `None` for a closed loop.
    pub fn new(plan: &RunPlan) -> Option<Self> {
        let Load::Open(shape) = &plan.load else {
            return None;
        };
        let warmup = plan.warmup.as_secs_f64();
        let measured = plan.measured_duration().map(|d| d.as_secs_f64());
        let mut pieces = Vec::new();
        let r0 = shape.rate_at(0.0, measured.unwrap_or(0.0));
        if warmup > 0.0 {
            pieces.push(Piece { t: 0.0, n: 0.0, rate: r0, slope: 0.0, len: warmup });
        }
        let mut push = |rate: f64, slope: f64, len: f64| {
            let (t, n) = pieces.last().map_or((0.0, 0.0), |p| (p.t + p.len, p.count_at_end()));
            pieces.push(Piece { t, n, rate, slope, len });
        };
        match shape {
            RateShape::Constant(r) => push(*r, 0.0, measured.unwrap_or(f64::INFINITY)),
            RateShape::Ramp { from, to } => {
                let len = measured.unwrap_or(f64::INFINITY);
                let slope = if len.is_finite() && len > 0.0 { (to - from) / len } else { 0.0 };
                push(*from, slope, len);
            }
            RateShape::Stages(stages) => {
                for s in stages {
                    push(s.rate, 0.0, s.duration.as_secs_f64());
                }
                if let Some(m) = measured {
                    // A duration longer than the stages holds the last stage's rate.
                    let staged: f64 = stages.iter().map(|s| s.duration.as_secs_f64()).sum();
                    if m > staged + 1e-9 {
                        push(stages.last().map_or(0.0, |s| s.rate), 0.0, m - staged);
                    }
                }
            }
        }
        Some(Schedule {
            pieces,
            end: measured.map(|m| warmup + m),
            measure_from: warmup,
            shape: shape.clone(),
            measured: measured.unwrap_or(0.0),
        })
    }

    /// When request `i` is due, as an offset from `t0`; `None` once the schedule has ended.
    pub fn due(&self, i: u64) -> Option<Duration> {
        let x = i as f64;
        for p in &self.pieces {
            if p.rate <= 0.0 && p.slope <= 0.0 {
                continue;
            }
            if x < p.count_at_end() || !p.len.is_finite() {
                let t = p.t + p.time_for(x - p.n);
                if self.end.is_some_and(|e| t >= e) {
                    return None;
                }
                return Some(Duration::from_secs_f64(t.max(0.0)));
            }
        }
        None
    }

    /// Offset of the end of the measured window, if the run is bounded by time.
    pub fn end(&self) -> Option<Duration> {
        self.end.map(Duration::from_secs_f64)
    }

    /// Offset at which the measured window opens (the warm-up's length).
    pub fn measure_from(&self) -> Duration {
        Duration::from_secs_f64(self.measure_from)
    }

    /// The target rate at offset `t` from `t0`.
    pub fn rate_at(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64() - self.measure_from;
        self.shape.rate_at(t.max(0.0), self.measured)
    }

    /// How many requests are due in the measured window `[warm-up end, end)`, if bounded.
    pub fn planned_in_window(&self) -> Option<u64> {
        let end = self.end?;
        Some((self.count_at(end).ceil() - self.count_at(self.measure_from).ceil()).max(0.0) as u64)
    }

    /// The mean target rate between two offsets from `t0`: what the schedule asked for over
    /// that interval, per second (the rate at an instant misleads over a ramp's second).
    pub fn mean_rate(&self, from: Duration, to: Duration) -> f64 {
        let (a, b) = (from.as_secs_f64(), to.as_secs_f64());
        if b - a < 1e-9 {
            return self.rate_at(to);
        }
        (self.count_at(b) - self.count_at(a)) / (b - a)
    }

    /// Requests due from `t0` to the offset `t` (seconds), fractional.
    fn count_at(&self, t: f64) -> f64 {
        let mut n = 0.0;
        for p in &self.pieces {
            if t <= p.t {
                break;
            }
            let dt = (t - p.t).min(p.len);
            n = p.n + p.rate * dt + 0.5 * p.slope * dt * dt;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Stage, Target};

    fn plan(shape: RateShape, d: u64, warm: u64) -> RunPlan {
        let mut p = RunPlan::new(vec![Target::get("http://127.0.0.1/").unwrap()]);
        p.load = Load::Open(shape);
        p.duration = Some(Duration::from_secs(d));
        p.warmup = Duration::from_secs(warm);
        p
    }

    fn count_due(s: &Schedule) -> u64 {
        (0..).take_while(|&i| s.due(i).is_some()).count() as u64
    }

    #[test]
    fn constant_rate_is_exact() {
        let s = Schedule::new(&plan(RateShape::Constant(1000.0), 10, 0)).unwrap();
        assert_eq!(s.due(0), Some(Duration::ZERO));
        assert_eq!(s.due(1500), Some(Duration::from_millis(1500)));
        assert_eq!(count_due(&s), 10_000);
        assert_eq!(s.planned_in_window(), Some(10_000));
    }

    #[test]
    fn warmup_holds_the_initial_rate() {
        let s = Schedule::new(&plan(RateShape::Ramp { from: 100.0, to: 300.0 }, 10, 2)).unwrap();
        // 200 in the warm-up, then ∫ ramp = 10 * (100 + 300) / 2 = 2000.
        assert_eq!(count_due(&s), 2200);
        assert_eq!(s.planned_in_window(), Some(2000));
        assert!((s.rate_at(Duration::from_secs(7)) - 200.0).abs() < 1e-9);
        // The first measured second of the ramp asks for 100..120/s: 110/s on average.
        assert!((s.mean_rate(Duration::from_secs(2), Duration::from_secs(3)) - 110.0).abs() < 1e-9);
        assert!((s.mean_rate(Duration::from_secs(1), Duration::from_secs(1)) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn ramp_due_times_increase_and_fit() {
        let s = Schedule::new(&plan(RateShape::Ramp { from: 1000.0, to: 0.0 }, 10, 0)).unwrap();
        let n = count_due(&s);
        assert!((4999..=5000).contains(&n), "{n}");
        let mut last = Duration::ZERO;
        for i in 0..n {
            let d = s.due(i).unwrap();
            assert!(d >= last);
            last = d;
        }
    }

    #[test]
    fn stages_are_steps() {
        let shape = RateShape::Stages(vec![
            Stage { duration: Duration::from_secs(2), rate: 100.0 },
            Stage { duration: Duration::from_secs(1), rate: 0.0 },
            Stage { duration: Duration::from_secs(2), rate: 50.0 },
        ]);
        let mut p = plan(shape, 0, 0);
        p.duration = None;
        let s = Schedule::new(&p).unwrap();
        assert_eq!(count_due(&s), 300);
        assert_eq!(s.due(200), Some(Duration::from_secs(3)));
        assert_eq!(s.due(201), Some(Duration::from_millis(3020)));
    }

    #[test]
    fn unbounded_constant_never_ends() {
        let mut p = plan(RateShape::Constant(10.0), 1, 0);
        p.duration = None;
        p.max_requests = Some(5);
        let s = Schedule::new(&p).unwrap();
        assert_eq!(s.due(1_000_000), Some(Duration::from_secs(100_000)));
    }
}
