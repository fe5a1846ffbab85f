//! A stepped run's result: one result document whose top level is one step's full result and
//! whose `details.stepped` ([`Stepped`]) holds every step, the answer and the knee.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::knee::{Knee, find_knee};
use super::spec::{Kind, StepSpec};
use super::step::Step;
use super::stepper::Stop;
use crate::result::{ResultDocument, RunMeta};

/// `details.stepped`: a search or a sweep, step by step.
///
/// The document's top level (`actual_qps`, `latencies_ms`, and the rest of `details`) is the
/// full result of one step, `top_level_step`: a search's highest passed step (its first step
/// when none passed); a sweep's knee (its highest passed step when there is no knee, its last
/// step when none passed). Every step is in `steps`, in the order they ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stepped {
    /// `search` or `sweep`.
    pub kind: String,
    /// The SLOs every step was judged against, as written.
    pub slos: Vec<String>,
    /// Each step's measured window, seconds.
    pub step_duration_s: f64,
    /// Each step's warm-up, seconds.
    pub warmup_s: f64,
    /// A step failed when it achieved less than `1 - rate_tolerance` of its target.
    pub rate_tolerance: f64,
    /// Search: the first rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<f64>,
    /// Search: the highest rate it could ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<f64>,
    /// Search: it converged when the bracket was within this share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// Search: the climb's factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// Sweep: the rates asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates: Option<Vec<f64>>,
    /// The most steps it could run.
    pub max_steps: u32,
    /// The longest it could take, seconds.
    pub max_time_s: f64,
    /// When the first step's window opened.
    #[serde(with = "crate::result::rfc3339")]
    pub start_time: DateTime<Utc>,
    /// When the last step ended.
    #[serde(with = "crate::result::rfc3339")]
    pub end_time: DateTime<Utc>,
    /// Why it ended.
    pub stop: Stop,
    /// The highest rate that passed and the step above it that failed.
    pub answer: Answer,
    /// Where the latency-throughput curve turns ([`super::knee`]); `null` when it does not.
    pub knee: Option<Knee>,
    /// The step whose full result is the document's top level.
    pub top_level_step: u32,
    /// Every step, in the order they ran.
    pub steps: Vec<Step>,
}

/// The answer: the highest rate whose step passed, bracketed by the lowest above it that failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The highest rate that passed, requests per second; `null` when none did.
    pub max_rate: Option<f64>,
    /// That step's number.
    pub passed_step: Option<u32>,
    /// The lowest rate above it that failed; `null` when none did.
    pub failed_rate: Option<f64>,
    /// That step's number.
    pub failed_step: Option<u32>,
    /// Why that step failed (`p99`, `achieved rate (second half)`, ...).
    pub failed: Vec<String>,
    /// Whether the run ended as planned (converged, swept, or hit the search's bounds) rather
    /// than being cut short by the most steps, the time limit, a cancel or a failure.
    pub complete: bool,
}

impl Answer {
    /// The answer of `steps`, which ended for `stop`.
    pub fn of(steps: &[Step], stop: Stop) -> Self {
        let passed = steps.iter().filter(|s| s.passed).max_by(|a, b| a.rate.total_cmp(&b.rate));
        let floor = passed.map_or(0.0, |s| s.rate);
        let failed = steps.iter().filter(|s| !s.passed && s.rate > floor).min_by(|a, b| a.rate.total_cmp(&b.rate));
        Answer {
            max_rate: passed.map(|s| s.rate),
            passed_step: passed.map(|s| s.index),
            failed_rate: failed.map(|s| s.rate),
            failed_step: failed.map(|s| s.index),
            failed: failed.map(|s| s.failed.clone()).unwrap_or_default(),
            complete: stop.is_complete(),
        }
    }

    /// One sentence: `max 4,180 req/s: 4,180 passed, 4,390 failed p99`.
    pub fn sentence(&self) -> String {
        let why = if self.failed.is_empty() { String::new() } else { format!(" {}", self.failed.join(", ")) };
        match (self.max_rate, self.failed_rate) {
            (Some(max), Some(failed)) => {
                format!("max {} req/s: {} passed, {} failed{why}", rate_text(max), rate_text(max), rate_text(failed))
            }
            (Some(max), None) => {
                format!("max {} req/s or more: {} passed and no higher rate was tried", rate_text(max), rate_text(max))
            }
            (None, Some(failed)) => format!("no rate passed: {} failed{why}", rate_text(failed)),
            (None, None) => "no step ran to its end".to_string(),
        }
    }
}

/// A rate for people: `4,180`, `12.5`.
pub fn rate_text(rate: f64) -> String {
    if rate >= 1000.0 || rate.fract() == 0.0 {
        let n = rate.round() as u64;
        let s = n.to_string();
        let mut out = String::with_capacity(s.len() + s.len() / 3);
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        let s = format!("{rate:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Stepped {
    /// The result document of a stepped run that ended for `stop`: `docs[i]` is the full result
    /// of `steps[i]`. `meta` gives the document's id and references (its name and labels are
    /// the steps'). `None` when no step produced a result.
    pub fn document(
        spec: &StepSpec,
        stop: Stop,
        steps: Vec<Step>,
        mut docs: Vec<ResultDocument>,
        meta: &RunMeta,
    ) -> Option<ResultDocument> {
        if steps.is_empty() || steps.len() != docs.len() {
            return None;
        }
        let answer = Answer::of(&steps, stop);
        let knee = find_knee(&steps, spec.rate_tolerance);
        let top = match spec.kind {
            Kind::Search { .. } => answer.passed_step.unwrap_or(steps[0].index),
            Kind::Sweep { .. } => {
                knee.as_ref().map(|k| k.step).or(answer.passed_step).unwrap_or(steps[steps.len() - 1].index)
            }
        };
        let at = steps.iter().position(|s| s.index == top).unwrap_or(0);
        let (from, to, precision, factor, rates) = match &spec.kind {
            Kind::Search { from, to, precision, factor } => {
                (Some(*from), Some(*to), Some(*precision), Some(*factor), None)
            }
            Kind::Sweep { rates } => (None, None, None, None, Some(rates.clone())),
        };
        let stepped = Stepped {
            kind: spec.kind_name().to_string(),
            slos: spec.slos.iter().map(|g| g.text.clone()).collect(),
            step_duration_s: spec.step_duration.as_secs_f64(),
            warmup_s: spec.warmup.as_secs_f64(),
            rate_tolerance: spec.rate_tolerance,
            from,
            to,
            precision,
            factor,
            rates,
            max_steps: spec.max_steps,
            max_time_s: spec.max_time.as_secs_f64(),
            start_time: steps.iter().map(|s| s.start_time).min().unwrap_or_default(),
            end_time: steps.iter().map(|s| s.end_time).max().unwrap_or_default(),
            stop,
            answer,
            knee,
            top_level_step: top,
            steps,
        };
        let mut doc = docs.swap_remove(at);
        if let Some(id) = &meta.id {
            doc.id.clone_from(id);
        }
        doc.details_uri = meta.details_uri.clone().unwrap_or_default();
        doc.test_id = meta.test_id.clone().unwrap_or_default();
        doc.labels.insert("stepped".into(), stepped.kind.clone());
        doc.details.stepped = Some(Box::new(stepped));
        Some(doc)
    }
}
