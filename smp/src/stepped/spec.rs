//! [`StepSpec`]: what a stepped run asks for, with its defaults and checks, and the one way a
//! step's run request is made from the base request.

use std::fmt;
use std::time::Duration;

use loadgen::{Load, RateShape};

use crate::gate::Gate;
use crate::request::RunRequest;

/// Measured window of each step when none is given.
pub const DEFAULT_STEP_DURATION: Duration = Duration::from_secs(10);
/// Shortest step: the settle check needs at least two one-second points, one in each half.
pub const MIN_STEP_DURATION: Duration = Duration::from_secs(2);
/// Warm-up before each step when none is given.
pub const DEFAULT_WARMUP: Duration = Duration::from_secs(2);
/// A search ends when the lowest failed rate is within this share above the highest passed.
pub const DEFAULT_PRECISION: f64 = 0.05;
/// A search's climb multiplies the rate by this after each passed step.
pub const DEFAULT_FACTOR: f64 = 2.0;
/// A step must achieve at least `1 - this` of its target rate.
pub const DEFAULT_RATE_TOLERANCE: f64 = 0.05;
/// Most steps of a search when none is given (enough to climb 2¹⁰ and bisect to 5%).
pub const DEFAULT_MAX_STEPS: u32 = 16;
/// Most steps of any stepped run, and most rates in a sweep.
pub const MAX_STEPS: u32 = 100;
/// Longest a stepped run may take when no limit is given.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(600);

/// A search for the highest rate under the SLOs, or a sweep over given rates.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Exponential climb from `from`, then bisection, never above `to`.
    Search {
        /// The first step's rate, requests per second.
        from: f64,
        /// The highest rate any step may ask for.
        to: f64,
        /// The search ends when the bracket is within this share (0.05: 5%).
        precision: f64,
        /// The climb multiplies the rate by this after each passed step.
        factor: f64,
    },
    /// One step per rate, lowest first.
    Sweep {
        /// The rates, ascending, distinct.
        rates: Vec<f64>,
    },
}

/// A stepped run: how each step's rate is chosen, how long it lasts, and when it passes.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpec {
    /// Search or sweep.
    pub kind: Kind,
    /// What every step must meet (the gate grammar); none: a step passes when it achieves its rate.
    pub slos: Vec<Gate>,
    /// Measured window of each step.
    pub step_duration: Duration,
    /// Warm-up before each step; its samples are dropped.
    pub warmup: Duration,
    /// A step fails when its achieved rate is more than this share below its target.
    pub rate_tolerance: f64,
    /// Most steps to run.
    pub max_steps: u32,
    /// No step starts that would not end within this time from the run's start.
    pub max_time: Duration,
}

/// A value of a stepped run, named neutrally; each door names it its own way (`--from`, `from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepField {
    /// The search's first rate.
    From,
    /// The search's highest rate.
    To,
    /// The sweep's rates.
    Rates,
    /// An SLO.
    Slo,
    /// The step's measured window.
    StepDuration,
    /// The step's warm-up.
    Warmup,
    /// The search's precision.
    Precision,
    /// The climb's factor.
    Factor,
    /// The achieved-rate tolerance.
    RateTolerance,
    /// The most steps.
    MaxSteps,
    /// The longest run.
    MaxTime,
}

impl StepField {
    /// The neutral name: `from`, `step_duration`, ...
    pub fn name(self) -> &'static str {
        match self {
            StepField::From => "from",
            StepField::To => "to",
            StepField::Rates => "rates",
            StepField::Slo => "slo",
            StepField::StepDuration => "step_duration",
            StepField::Warmup => "warmup",
            StepField::Precision => "precision",
            StepField::Factor => "factor",
            StepField::RateTolerance => "rate_tolerance",
            StepField::MaxSteps => "max_steps",
            StepField::MaxTime => "max_time",
        }
    }
}

/// A stepped run's value that cannot be used: which one, and why with the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {reason}", field.name())]
pub struct SpecError {
    /// The value at fault.
    pub field: StepField,
    /// What is wrong and what to write instead.
    pub reason: String,
}

fn bad(field: StepField, reason: impl Into<String>) -> SpecError {
    SpecError { field, reason: reason.into() }
}

impl StepSpec {
    /// A search from `from` to `to` with the defaults.
    pub fn search(from: f64, to: f64) -> Self {
        Self::with_kind(Kind::Search { from, to, precision: DEFAULT_PRECISION, factor: DEFAULT_FACTOR })
    }

    /// A sweep over `rates` with the defaults (one step per rate).
    pub fn sweep(rates: Vec<f64>) -> Self {
        let steps = u32::try_from(rates.len()).unwrap_or(u32::MAX);
        StepSpec { max_steps: steps, ..Self::with_kind(Kind::Sweep { rates }) }
    }

    fn with_kind(kind: Kind) -> Self {
        StepSpec {
            kind,
            slos: Vec::new(),
            step_duration: DEFAULT_STEP_DURATION,
            warmup: DEFAULT_WARMUP,
            rate_tolerance: DEFAULT_RATE_TOLERANCE,
            max_steps: DEFAULT_MAX_STEPS,
            max_time: DEFAULT_MAX_TIME,
        }
    }

    /// `search` or `sweep`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Search { .. } => "search",
            Kind::Sweep { .. } => "sweep",
        }
    }

    /// Checks every value; the error names the value and the fix.
    pub fn check(&self) -> Result<(), SpecError> {
        let rate_ok = |r: f64| r.is_finite() && r > 0.0;
        match &self.kind {
            Kind::Search { from, to, precision, factor } => {
                if !rate_ok(*from) {
                    return Err(bad(StepField::From, "must be a rate above 0, such as 100 or 1k"));
                }
                if !rate_ok(*to) || to < from {
                    return Err(bad(StepField::To, format!("must be a rate at or above the first rate ({from})")));
                }
                if !(0.001..=0.5).contains(precision) {
                    return Err(bad(StepField::Precision, "must be from 0.1% to 50%, such as 5%"));
                }
                if !(1.1..=10.0).contains(factor) {
                    return Err(bad(StepField::Factor, "must be from 1.1 to 10, such as 2"));
                }
            }
            Kind::Sweep { rates } => {
                if rates.is_empty() || rates.iter().any(|r| !rate_ok(*r)) {
                    return Err(bad(StepField::Rates, "give rates above 0, such as 1k..20k/10 or 100,500,1k"));
                }
                if rates.len() > MAX_STEPS as usize {
                    return Err(bad(
                        StepField::Rates,
                        format!("{} rates are too many; use at most {MAX_STEPS}", rates.len()),
                    ));
                }
                if rates.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(bad(StepField::Rates, "must be ascending and distinct"));
                }
            }
        }
        if self.step_duration < MIN_STEP_DURATION {
            return Err(bad(
                StepField::StepDuration,
                "must be at least 2s: the settle check judges the step's second half apart",
            ));
        }
        if self.step_duration > Duration::from_secs(3600) || self.warmup > Duration::from_secs(3600) {
            let field =
                if self.warmup > Duration::from_secs(3600) { StepField::Warmup } else { StepField::StepDuration };
            return Err(bad(field, "must be at most 1h"));
        }
        if !(0.0..=0.5).contains(&self.rate_tolerance) {
            return Err(bad(StepField::RateTolerance, "must be from 0% to 50%, such as 5%"));
        }
        if self.max_steps == 0 || self.max_steps > MAX_STEPS {
            return Err(bad(StepField::MaxSteps, format!("must be from 1 to {MAX_STEPS}")));
        }
        if self.max_time < self.step_duration + self.warmup {
            return Err(bad(
                StepField::MaxTime,
                format!(
                    "must leave time for one step ({} with its warm-up)",
                    humantime_like(self.step_duration + self.warmup)
                ),
            ));
        }
        Ok(())
    }

    /// The first step's rate.
    pub fn first_rate(&self) -> f64 {
        match &self.kind {
            Kind::Search { from, .. } => *from,
            Kind::Sweep { rates } => rates.first().copied().unwrap_or(0.0),
        }
    }

    /// The highest rate any step may ask for (what admission checks against its ceilings).
    pub fn peak_rate(&self) -> f64 {
        match &self.kind {
            Kind::Search { to, .. } => *to,
            Kind::Sweep { rates } => rates.last().copied().unwrap_or(0.0),
        }
    }

    /// The run request of a step at `rate`: the base request (targets, connections, TLS,
    /// protocol, ...) at a constant rate for the step's warm-up and window. The one converter
    /// (`RunRequest::into_run`) makes it a plan.
    pub fn step_request(&self, base: &RunRequest, rate: f64) -> RunRequest {
        let mut r = base.clone();
        r.load = Some(Load::Open(RateShape::Constant(rate)));
        r.duration = Some(self.step_duration);
        r.warmup = Some(self.warmup);
        r.max_requests = None;
        r
    }
}

/// `12s`, `1m30s`: a duration for messages.
pub(crate) fn humantime_like(d: Duration) -> String {
    let ms = d.as_millis();
    let (m, s, ms) = (ms / 60_000, (ms / 1000) % 60, ms % 1000);
    match (m, ms) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{}s", d.as_secs_f64()),
        (_, 0) if s == 0 => format!("{m}m"),
        _ => format!("{m}m{s}s"),
    }
}

/// Rounds a rate to three significant digits (4,183.7 → 4,180; 12.34 → 12.3).
pub fn round_rate(rate: f64) -> f64 {
    if !rate.is_finite() || rate <= 0.0 {
        return rate;
    }
    let scale = 10f64.powi(2 - rate.log10().floor() as i32);
    (rate * scale).round() / scale
}

/// Parses a sweep's rates: `FROM..TO/N` (N evenly spaced rates, both ends included, each
/// rounded to three significant digits) or a list `100,500,1k`, sorted. Rates take the rate
/// grammar (`5000`, `5k`, `1.5k`).
pub fn parse_rates(text: &str) -> Result<Vec<f64>, String> {
    let rate = |t: &str| loadgen::parse::rate(t.trim()).map_err(|e| e.0);
    let mut rates = if let Some((range, n)) = text.split_once('/') {
        let (lo, hi) = range
            .split_once("..")
            .ok_or_else(|| format!("{text:?} is not FROM..TO/N or a list; write e.g. 1k..20k/10 or 100,500,1k"))?;
        let (lo, hi) = (rate(lo)?, rate(hi)?);
        let n: u32 =
            n.trim().parse().map_err(|_| format!("{:?} is not a number of steps; write e.g. 1k..20k/10", n.trim()))?;
        if !(2..=MAX_STEPS).contains(&n) {
            return Err(format!("{n} steps: use 2 to {MAX_STEPS}"));
        }
        if hi <= lo {
            return Err(format!("{text:?}: the last rate must be above the first"));
        }
        (0..n).map(|i| round_rate(lo + (hi - lo) * f64::from(i) / f64::from(n - 1))).collect::<Vec<_>>()
    } else if text.contains("..") {
        return Err(format!("{text:?} lacks the number of steps; write e.g. 1k..20k/10"));
    } else {
        text.split(',').map(rate).collect::<Result<Vec<_>, _>>()?
    };
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    if rates.len() > MAX_STEPS as usize {
        return Err(format!("{} rates are too many; use at most {MAX_STEPS}", rates.len()));
    }
    Ok(rates)
}

/// Parses a share written as a percentage: `5%` or `5` (both 0.05).
pub fn parse_share(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let n = t.strip_suffix('%').unwrap_or(t).trim();
    n.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v / 100.0)
        .ok_or_else(|| format!("{t:?} is not a percentage; write e.g. 5%"))
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Search { from, to, .. } => write!(f, "search from {from} to {to} req/s"),
            Kind::Sweep { rates } => write!(f, "sweep over {} rates", rates.len()),
        }
    }
}
