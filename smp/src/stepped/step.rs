//! One step of a stepped run: its record in the result ([`Step`]), its second half gathered
//! from the run's snapshots ([`SettleWindow`]), and the judgement against the SLOs ([`judge`]).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use loadgen::{Phase, Snapshot, Stats};
use serde::{Deserialize, Serialize};

use super::spec::StepSpec;
use crate::gate::{self, Verdict};
use crate::result::{Histograms, Parts, Percentiles, ResultDocument, RunMeta, SeriesPoint};

/// The second half of a step's window, gathered exactly from its one-second snapshots: the
/// points whose middle falls in the second half, plus what finished after the window (those
/// requests were due at its end, and are the slowest of it), so its histograms are exact merges.
#[derive(Debug, Clone)]
pub struct SettleWindow {
    half: Duration,
    from: Option<Duration>,
    measured: Duration,
    stats: Stats,
}

impl SettleWindow {
    /// The second half of a window of `step_duration`.
    pub fn new(step_duration: Duration) -> Self {
        SettleWindow { half: step_duration / 2, from: None, measured: Duration::ZERO, stats: Stats::new() }
    }

    /// Adds a snapshot of the step's run if it belongs to the second half.
    pub fn add(&mut self, s: &Snapshot) {
        match s.phase {
            Phase::Measuring => {
                let start = s.elapsed.saturating_sub(s.interval_len);
                if start + s.interval_len / 2 >= self.half {
                    self.from = Some(self.from.map_or(start, |f| f.min(start)));
                    self.measured += s.interval_len;
                    self.stats.merge(&s.interval);
                }
            }
            Phase::Draining => self.stats.merge(&s.interval),
            Phase::Waiting | Phase::Warmup => {}
        }
    }

    /// What the second half measured.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Length of the second half as measured (zero when no point of it arrived).
    pub fn measured(&self) -> Duration {
        self.measured
    }
}

/// Which part of a step a verdict judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The whole measured window.
    Whole,
    /// Its second half (the settle check).
    SecondHalf,
}

/// One check of a step: an SLO or the achieved rate, over the whole window or its second half.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepVerdict {
    /// The part of the step judged.
    pub part: Part,
    /// The SLO as written (`p99<=20ms`), or `achieved` for the achieved-rate check.
    pub gate: String,
    /// The metric (`p99`, `errors`, `achieved`).
    pub metric: String,
    /// The threshold, for people (`<= 20 ms`, `>= 95% of 4000 req/s`).
    pub expected: String,
    /// The measured value, for people.
    pub actual: String,
    /// The measured value in the threshold's unit; `null` when nothing was measured.
    pub value: Option<f64>,
    /// Whether it held.
    pub passed: bool,
}

/// The second half of a step, as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettleSummary {
    /// Where it starts, seconds into the step's window.
    pub from_s: f64,
    /// Its length, seconds.
    pub duration_s: f64,
    /// Requests finished in it (and, of those due in it, after the window).
    pub requests: u64,
    /// Of those, requests that failed without a response.
    pub errors: u64,
    /// Successful responses per second of it.
    pub achieved_rate: f64,
    /// Its latency, ms.
    pub latency_ms: Percentiles,
}

/// One step of a stepped run (`details.stepped.steps[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Its number, from 1, in the order the steps ran.
    pub index: u32,
    /// Its target rate, requests per second.
    pub rate: f64,
    /// When its measured window opened.
    #[serde(with = "crate::result::rfc3339")]
    pub start_time: DateTime<Utc>,
    /// When it ended.
    #[serde(with = "crate::result::rfc3339")]
    pub end_time: DateTime<Utc>,
    /// Length of its measured window, seconds.
    pub duration_s: f64,
    /// Requests finished (responses and errors).
    pub requests: u64,
    /// Responses with a 2xx or 3xx status.
    pub successful: u64,
    /// Requests that failed without a response.
    pub errors: u64,
    /// Requests due in the window that were never sent.
    pub unsent: u64,
    /// Responses by status code.
    pub status_codes: BTreeMap<String, u64>,
    /// Errors by kind.
    pub error_kinds: BTreeMap<String, u64>,
    /// Successful responses per second of the window: the achieved rate.
    pub achieved_rate: f64,
    /// Finished requests per second of the window.
    pub request_rate: f64,
    /// Latency (from the due time: coordinated omission corrected), ms.
    pub latency_ms: Percentiles,
    /// The latency figures are lower bounds (some requests were never sent).
    pub latency_lower_bound: bool,
    /// Service time (from the actual send), ms.
    pub service_time_ms: Percentiles,
    /// Its second half, judged on its own (the settle check).
    pub settle: SettleSummary,
    /// Every check: each SLO and the achieved rate, over the whole window and its second half.
    pub verdicts: Vec<StepVerdict>,
    /// Whether every check held (and the step ran to its end).
    pub passed: bool,
    /// Why it failed, shortest first: `p99`, `errors (second half)`, `achieved rate`, `cancelled`.
    pub failed: Vec<String>,
    /// It was cancelled before its end.
    pub cancelled: bool,
    /// Some of its load is missing (a distributed step lost a worker).
    pub partial: bool,
    /// One point per second of its window.
    pub series: Vec<SeriesPoint>,
    /// Its histograms (latency, service time, send lag), so any percentile can be re-read.
    pub histograms: Histograms,
}

/// Judges step `index` at `rate`: `doc` is the step's whole result and `settle` its second
/// half. It passes when it ran to its end, its second half has measurements, every SLO holds
/// over both, and both achieved at least `1 - rate_tolerance` of the rate.
pub fn judge(index: u32, rate: f64, spec: &StepSpec, doc: &ResultDocument, settle: &SettleWindow) -> Step {
    let d = &doc.details;
    let late_stats = settle.stats();
    let late_s = settle.measured().as_secs_f64();
    let late = ResultDocument::from_parts(
        &Parts {
            stats: late_stats,
            series: Vec::new(),
            config: d.config.clone(),
            started_at: doc.start_time,
            ended_at: doc.end_time,
            elapsed_s: late_s,
            planned: None,
            target_rate: Some(rate),
            cancelled: d.cancelled,
            partial: d.partial,
            workers: None,
        },
        &RunMeta::default(),
    );
    let mut verdicts = Vec::with_capacity(2 * (spec.slos.len() + 1));
    for (part, judged) in [(Part::Whole, doc), (Part::SecondHalf, &late)] {
        verdicts.extend(gate::evaluate(&spec.slos, judged).into_iter().map(|v| from_gate(part, v)));
        verdicts.push(rate_check(part, rate, spec.rate_tolerance, judged));
    }
    let mut failed = Vec::new();
    if d.cancelled {
        failed.push("cancelled".to_string());
    }
    if d.partial {
        failed.push("partial (a worker was lost)".to_string());
    }
    if late_s == 0.0 && !d.cancelled {
        failed.push("no second half measured".to_string());
    }
    for v in verdicts.iter().filter(|v| !v.passed) {
        let name = if v.metric == "achieved" { "achieved rate" } else { v.metric.as_str() };
        let reason = match v.part {
            Part::Whole => name.to_string(),
            Part::SecondHalf => format!("{name} (second half)"),
        };
        // A check that failed over the whole window says enough; its second half adds nothing.
        if !failed.iter().any(|f| f == name) {
            failed.push(reason);
        }
    }
    Step {
        index,
        rate,
        start_time: doc.start_time,
        end_time: doc.end_time,
        duration_s: d.duration_s,
        requests: d.requests,
        successful: d.successful,
        errors: d.errors,
        unsent: d.unsent,
        status_codes: d.status_codes.clone(),
        error_kinds: d.error_kinds.clone(),
        achieved_rate: d.achieved_rate,
        request_rate: d.request_rate,
        latency_ms: d.latency_ms,
        latency_lower_bound: d.latency_lower_bound,
        service_time_ms: d.service_time_ms,
        settle: SettleSummary {
            from_s: settle.from.map_or(0.0, |f| f.as_secs_f64()),
            duration_s: late_s,
            requests: late.details.requests,
            errors: late.details.errors,
            achieved_rate: late.details.achieved_rate,
            latency_ms: late.details.latency_ms,
        },
        passed: failed.is_empty(),
        failed,
        verdicts,
        cancelled: d.cancelled,
        partial: d.partial,
        series: d.series.clone(),
        histograms: d.histograms.clone(),
    }
}

fn from_gate(part: Part, v: Verdict) -> StepVerdict {
    StepVerdict {
        part,
        gate: v.gate,
        metric: v.metric,
        expected: v.expected,
        actual: v.actual,
        value: Some(v.value).filter(|x| x.is_finite()),
        passed: v.passed,
    }
}

/// The achieved-rate check: successful responses per second at least `1 - tolerance` of `rate`.
fn rate_check(part: Part, rate: f64, tolerance: f64, doc: &ResultDocument) -> StepVerdict {
    let floor = rate * (1.0 - tolerance);
    let achieved = doc.details.achieved_rate;
    let measured = doc.details.duration_s > 0.0;
    StepVerdict {
        part,
        gate: "achieved".into(),
        metric: "achieved".into(),
        expected: format!(">= {}% of {} req/s", round2((1.0 - tolerance) * 100.0), round2(rate)),
        actual: format!("{} req/s", round2(achieved)),
        value: measured.then_some(achieved),
        passed: measured && achieved >= floor,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
