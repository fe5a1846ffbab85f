//! [`StepRequest`]: a stepped run as a door gives it, in text, and its one conversion to a
//! checked [`StepSpec`] with the one set of defaults. The command line (`--from 1k`) and the
//! REST door (`from=1k`) fill it in the same grammar, so they cannot disagree.
//!
//! | value | grammar | when absent |
//! |---|---|---|
//! | from, to | a rate: `100`, `5k`, `1.5k` | 100 and 100k (search) |
//! | rates | `1k..20k/10` or `100,500,1k` | required (sweep) |
//! | slos | the gate grammar, `p99<=20ms` | none: a step passes when it keeps up |
//! | step duration, warm-up | a duration: `10s`, `1m` | 10s, 2s |
//! | max time | a duration | the caller's default (10m, or a lower ceiling); a sweep's at least what its rates need: each step's warm-up and window plus 3s |
//! | precision, rate tolerance | a percentage: `5%` or `5` | 5%, 5% |
//! | factor | a number | 2 |
//! | max steps | a whole number | 16 (search), the number of rates (sweep) |

use std::time::Duration;

use super::spec::{
    DEFAULT_FACTOR, DEFAULT_MAX_STEPS, DEFAULT_PRECISION, DEFAULT_RATE_TOLERANCE, DEFAULT_STEP_DURATION,
    DEFAULT_WARMUP, Kind, SpecError, StepField, StepSpec, parse_rates, parse_share,
};
use crate::gate::Gate;

/// The search's first rate when none is given.
pub const DEFAULT_FROM: f64 = 100.0;
/// The search's highest rate when none is given.
pub const DEFAULT_TO: f64 = 100_000.0;
/// What a sweep's default time limit allows each step beyond its warm-up and window
/// (connecting, draining).
pub const SWEEP_STEP_OVERHEAD: Duration = Duration::from_secs(3);

/// Search or sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepKind {
    /// The highest rate under the SLOs.
    #[default]
    Search,
    /// One step per rate.
    Sweep,
}

/// A stepped run's values as text; `None` (or empty) means "not given here".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepRequest {
    /// Search or sweep.
    pub kind: StepKind,
    /// SLOs in the gate grammar.
    pub slos: Vec<String>,
    /// Search: the first rate.
    pub from: Option<String>,
    /// Search: the highest rate.
    pub to: Option<String>,
    /// Search: the bracket's precision.
    pub precision: Option<String>,
    /// Search: the climb's factor.
    pub factor: Option<String>,
    /// Sweep: the rates.
    pub rates: Option<String>,
    /// Each step's measured window.
    pub step_duration: Option<String>,
    /// Each step's warm-up.
    pub warmup: Option<String>,
    /// The achieved-rate tolerance.
    pub rate_tolerance: Option<String>,
    /// The most steps.
    pub max_steps: Option<String>,
    /// The longest the run may take.
    pub max_time: Option<String>,
}

fn bad(field: StepField, reason: impl Into<String>) -> SpecError {
    SpecError { field, reason: reason.into() }
}

fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

impl StepRequest {
    /// Applies the defaults (`default_max_time` when no limit is given) and checks the spec.
    pub fn into_spec(self, default_max_time: Duration) -> Result<StepSpec, SpecError> {
        let rate = |field, text: &Option<String>, default: f64| {
            given(text).map_or(Ok(default), |t| loadgen::parse::rate(t).map_err(|e| bad(field, e.0)))
        };
        let duration = |field, text: &Option<String>, default: Duration| {
            given(text).map_or(Ok(default), |t| loadgen::parse::duration(t).map_err(|e| bad(field, e.0)))
        };
        let share = |field, text: &Option<String>, default: f64| {
            given(text).map_or(Ok(default), |t| parse_share(t).map_err(|e| bad(field, e)))
        };
        let mut spec = match self.kind {
            StepKind::Search => {
                if given(&self.rates).is_some() {
                    return Err(bad(
                        StepField::Rates,
                        "is for a sweep; a search picks its own rates (give from and to)",
                    ));
                }
                let factor = given(&self.factor).map_or(Ok(DEFAULT_FACTOR), |t| {
                    t.parse::<f64>().map_err(|_| bad(StepField::Factor, format!("{t:?} is not a number such as 2")))
                })?;
                StepSpec::search(
                    rate(StepField::From, &self.from, DEFAULT_FROM)?,
                    rate(StepField::To, &self.to, DEFAULT_TO)?,
                )
                .with_search(share(StepField::Precision, &self.precision, DEFAULT_PRECISION)?, factor)
            }
            StepKind::Sweep => {
                for (field, text) in [
                    (StepField::From, &self.from),
                    (StepField::To, &self.to),
                    (StepField::Precision, &self.precision),
                    (StepField::Factor, &self.factor),
                ] {
                    if given(text).is_some() {
                        return Err(bad(field, "is for a search; a sweep runs the rates it is given"));
                    }
                }
                let text = given(&self.rates)
                    .ok_or_else(|| bad(StepField::Rates, "is required: give e.g. 1k..20k/10 or 100,500,1k"))?;
                StepSpec::sweep(parse_rates(text).map_err(|e| bad(StepField::Rates, e))?)
            }
        };
        spec.slos = self
            .slos
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Gate::parse(s).map_err(|e| bad(StepField::Slo, e.to_string())))
            .collect::<Result<_, _>>()?;
        spec.step_duration = duration(StepField::StepDuration, &self.step_duration, DEFAULT_STEP_DURATION)?;
        spec.warmup = duration(StepField::Warmup, &self.warmup, DEFAULT_WARMUP)?;
        spec.rate_tolerance = share(StepField::RateTolerance, &self.rate_tolerance, DEFAULT_RATE_TOLERANCE)?;
        // A sweep runs every rate it is given: by default it has the time they need.
        let default_max_time = match &spec.kind {
            Kind::Sweep { rates } => {
                let per_step = spec.warmup + spec.step_duration + SWEEP_STEP_OVERHEAD;
                default_max_time.max(per_step * u32::try_from(rates.len()).unwrap_or(u32::MAX))
            }
            Kind::Search { .. } => default_max_time,
        };
        spec.max_time = duration(StepField::MaxTime, &self.max_time, default_max_time)?;
        if let Some(t) = given(&self.max_steps) {
            spec.max_steps =
                t.parse().map_err(|_| bad(StepField::MaxSteps, format!("{t:?} is not a whole number such as 16")))?;
        } else if let Kind::Search { .. } = spec.kind {
            spec.max_steps = DEFAULT_MAX_STEPS;
        }
        spec.check()?;
        Ok(spec)
    }
}

impl StepSpec {
    /// This search with another precision and climb factor (a sweep is unchanged).
    fn with_search(mut self, precision: f64, factor: f64) -> Self {
        if let Kind::Search { precision: p, factor: f, .. } = &mut self.kind {
            *p = precision;
            *f = factor;
        }
        self
    }
}
