//! [`Stepper`]: the one algorithm that picks each step's rate and says when a stepped run is
//! done. No clock, no I/O: the caller runs each step, tells the stepper whether it passed, and
//! gives it the time spent and the time the next step is expected to take.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::spec::{Kind, StepSpec, round_rate};

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Run a step at this rate, requests per second.
    Step(f64),
    /// The run is over, for this reason.
    Done(Stop),
}

/// Why a stepped run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Search: the lowest failed rate is within the precision above the highest passed.
    Converged,
    /// Search: the highest rate the search may ask for passed; the service takes at least that.
    UpperBoundPassed,
    /// Search: the first (lowest) rate failed; no rate passed.
    LowestFailed,
    /// Sweep: every rate ran.
    Swept,
    /// The most steps ran before the search converged (the bracket is wider than asked).
    MaxSteps,
    /// The next step would not have ended within the time limit.
    MaxTime,
    /// Cancelled (Ctrl-C, the API, a wall-time ceiling, shutdown).
    Cancelled,
    /// A step could not run (its plan was refused, or the engine failed).
    Failed,
}

impl Stop {
    /// Whether the answer is as precise as asked (the run was not cut short).
    pub fn is_complete(self) -> bool {
        matches!(self, Stop::Converged | Stop::UpperBoundPassed | Stop::LowestFailed | Stop::Swept)
    }

    /// Why the run ended, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Stop::Converged => "converged",
            Stop::UpperBoundPassed => "the search's highest rate passed",
            Stop::LowestFailed => "the search's first rate failed",
            Stop::Swept => "every rate ran",
            Stop::MaxSteps => "stopped at the most steps allowed, before converging",
            Stop::MaxTime => "stopped: the next step would not end within the time limit",
            Stop::Cancelled => "cancelled",
            Stop::Failed => "stopped: a step could not run",
        }
    }
}

/// The state of a stepped run: the steps so far and how they went.
#[derive(Debug, Clone)]
pub struct Stepper {
    spec: StepSpec,
    results: Vec<(f64, bool)>,
    stopped: Option<Stop>,
}

impl Stepper {
    /// A stepper for `spec` (checked with [`StepSpec::check`]).
    pub fn new(spec: StepSpec) -> Self {
        Stepper { spec, results: Vec::new(), stopped: None }
    }

    /// The spec.
    pub fn spec(&self) -> &StepSpec {
        &self.spec
    }

    /// The next step's rate, or why the run is over. `elapsed` is the time since the run
    /// started; `estimate` how long the next step is expected to take (warm-up, window,
    /// connecting and draining), so no step starts that would end after `max_time`.
    pub fn next(&mut self, elapsed: Duration, estimate: Duration) -> Next {
        if let Some(stop) = self.stopped {
            return Next::Done(stop);
        }
        let next = match &self.spec.kind {
            Kind::Search { from, to, precision, factor } => self.next_search(*from, *to, *precision, *factor),
            Kind::Sweep { rates } => rates.get(self.results.len()).map_or(Next::Done(Stop::Swept), |r| Next::Step(*r)),
        };
        let next = match next {
            Next::Step(_) if self.results.len() >= self.spec.max_steps as usize => Next::Done(Stop::MaxSteps),
            Next::Step(_) if elapsed + estimate > self.spec.max_time => Next::Done(Stop::MaxTime),
            other => other,
        };
        if let Next::Done(stop) = next {
            self.stopped = Some(stop);
        }
        next
    }

    fn next_search(&self, from: f64, to: f64, precision: f64, factor: f64) -> Next {
        if self.results.is_empty() {
            return Next::Step(from);
        }
        match (self.highest_passed(), self.lowest_failed()) {
            (None, _) => Next::Done(Stop::LowestFailed),
            (Some(lo), None) if lo >= to => Next::Done(Stop::UpperBoundPassed),
            (Some(lo), None) => Next::Step(round_rate(lo * factor).min(to)),
            (Some(lo), Some(hi)) => {
                let mid = round_rate((lo + hi) / 2.0);
                if hi <= lo * (1.0 + precision) || mid <= lo || mid >= hi {
                    Next::Done(Stop::Converged)
                } else {
                    Next::Step(mid)
                }
            }
        }
    }

    /// Records how the step at `rate` went.
    pub fn record(&mut self, rate: f64, passed: bool) {
        self.results.push((rate, passed));
    }

    /// Ends the run early (cancelled, or a step could not run).
    pub fn stop(&mut self, why: Stop) {
        self.stopped.get_or_insert(why);
    }

    /// Why the run ended, once it has.
    pub fn stopped(&self) -> Option<Stop> {
        self.stopped
    }

    /// Steps run so far.
    pub fn steps(&self) -> usize {
        self.results.len()
    }

    /// The highest rate that passed.
    pub fn highest_passed(&self) -> Option<f64> {
        self.results.iter().filter(|(_, p)| *p).map(|(r, _)| *r).max_by(f64::total_cmp)
    }

    /// The lowest rate that failed above the highest that passed (or the lowest that failed
    /// when none passed): the other end of the bracket.
    pub fn lowest_failed(&self) -> Option<f64> {
        let floor = self.highest_passed().unwrap_or(0.0);
        self.results.iter().filter(|(r, p)| !*p && *r > floor).map(|(r, _)| *r).min_by(f64::total_cmp)
    }
}
