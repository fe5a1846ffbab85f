//! The knee of a latency-throughput curve: the last step before the service stops taking more
//! load gracefully.
//!
//! The curve is the one `meshperf report` draws: achieved rate (successful responses per
//! second) on a linear x axis against corrected p99 latency on a log y axis, one point per step
//! in the order of the target rates. The knee is found in two stages:
//!
//! 1. **Saturation.** The first step whose achieved rate fell more than the rate tolerance
//!    below its target no longer kept up; the knee is below it, so only the steps before it
//!    are candidates.
//! 2. **Kneedle** (Satopää et al., "Finding a 'Kneedle' in a Haystack", 2011). With both axes
//!    normalised to 0..1 over every step (x: achieved rate; y: the logarithm of p99), the knee
//!    is the candidate with the largest `x - y`: the point farthest below the straight line
//!    from the lowest to the highest corner, where the curve turns from "more throughput" to
//!    "more latency". Ties go to the lower rate.
//!
//! A curve whose p99 stays within 2× of its lowest has no latency knee; if it saturated, its
//! knee is the last step that kept up (a service that sheds load with fast errors), else there
//! is none (the sweep did not reach the service's limit). At least three steps with responses
//! are needed.
//!
//! For a single FIFO server with a fixed service time S fed at evenly spaced arrivals (a
//! D/D/1 queue, which is what an open-loop generator sends), latency stays S up to the rate
//! 1/S and grows without bound above it, so the knee is the last step at or below 1/S.

use serde::{Deserialize, Serialize};

use super::step::Step;

/// Lowest p99 considered, ms (a 1 µs floor keeps the logarithm finite).
const FLOOR_MS: f64 = 0.001;
/// A curve whose p99 does not at least double has no latency knee.
const BEND: f64 = 2.0;

/// Where the curve turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    /// The step's number (`steps[].index`).
    pub step: u32,
    /// Its target rate.
    pub rate: f64,
    /// Its achieved rate.
    pub achieved_rate: f64,
    /// Its corrected p99 latency, ms.
    pub p99_ms: f64,
    /// How it was found: `kneedle` (latency turns up) or `saturation` (the next step did not
    /// keep up while latency stayed flat).
    pub method: String,
}

/// The knee of the curve the steps draw, with `tolerance` the share below its target a step
/// may achieve and still keep up; `None` when the curve does not turn.
pub fn find_knee(steps: &[Step], tolerance: f64) -> Option<Knee> {
    let mut points: Vec<&Step> = steps.iter().filter(|s| s.latency_ms.count > 0 && !s.cancelled).collect();
    points.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    if points.len() < 3 {
        return None;
    }
    let kept_up = |s: &Step| s.achieved_rate >= s.rate * (1.0 - tolerance);
    let candidates = points.iter().position(|s| !kept_up(s)).unwrap_or(points.len());
    if candidates == 0 {
        return None;
    }
    let y = |s: &Step| s.latency_ms.p99.max(FLOOR_MS).ln();
    let (y_min, y_max) = points.iter().map(|s| y(s)).fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (x_min, x_max) =
        points.iter().map(|s| s.achieved_rate).fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let knee = |s: &Step, method: &str| Knee {
        step: s.index,
        rate: s.rate,
        achieved_rate: s.achieved_rate,
        p99_ms: s.latency_ms.p99,
        method: method.to_string(),
    };
    if y_max - y_min < BEND.ln() || x_max <= x_min {
        let saturated = candidates < points.len();
        return saturated.then(|| knee(points[candidates - 1], "saturation"));
    }
    let score = |s: &Step| (s.achieved_rate - x_min) / (x_max - x_min) - (y(s) - y_min) / (y_max - y_min);
    let mut best = 0;
    for i in 1..candidates {
        if score(points[i]) > score(points[best]) {
            best = i;
        }
    }
    Some(knee(points[best], "kneedle"))
}
