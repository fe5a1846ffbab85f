//! CI gates: thresholds on a result, and regression limits against a baseline.
//!
//! A gate is `METRIC OP VALUE` ([`Gate::parse`]), e.g. `p99<=20ms`, `errors<0.1%`,
//! `rps>=1000`. A regression limit is `METRIC=LIMIT` ([`Regression::parse`]), e.g. `p99=10%`,
//! `rps=5%`, `p99=2ms`. [`evaluate`] and [`compare`] give one [`Verdict`] per gate;
//! [`markdown_summary`] and [`junit_xml`] render them for CI job summaries and test reports.
//!
//! # Metrics
//! | metric | meaning | values |
//! |---|---|---|
//! | `p50` `p75` `p90` `p95` `p99` `p99.9` `p99.99` `max` `mean` (`avg`) `min` | latency (also written `latency.p99`) | a duration: `250us`, `20ms`, `1.5s` |
//! | `service.p99` ... (also `service_time.`) | service time, from the actual send | a duration |
//! | `send_lag.p99` ... (also `lag.`) | how late the generator sent | a duration |
//! | `errors` | requests that failed without a response | a share of requests (`0.1%`) or a count (`10`) |
//! | `non-2xx` (also `non2xx`, `non-ok`) | responses whose status is not 2xx; gRPC calls whose status is not `OK` | a share of requests or a count |
//! | `rps` (also `qps`, `throughput`) | achieved rate: successful responses per second of the window | a number, `k`/`M` allowed (`1.5k`) |
//! | `requests` | requests finished | a count |
//!
//! Operators: `<`, `<=`, `>`, `>=`.
//!
//! # Regression limits
//! For durations and `rps`, a `%` limit is relative to the baseline (`p99=10%`: at most 10%
//! slower; `rps=5%`: at most 5% less throughput) and a duration limit is absolute (`p99=2ms`).
//! For `errors` and `non-2xx` the limit is in percentage points of the request share
//! (`errors=0.5%`: the error share may rise by at most half a point) or a count.

mod eval;
mod report;

use std::fmt;

pub use eval::{compare, evaluate};
pub use report::{junit_xml, markdown_summary};

use crate::error::SmpError;

/// Which histogram a latency metric reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Histogram {
    /// Latency (from the due time in open loop).
    Latency,
    /// Service time.
    Service,
    /// Send lag.
    SendLag,
}

/// A statistic of a histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Median.
    P50,
    /// 75th percentile.
    P75,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// 99.99th percentile.
    P9999,
    /// Highest value.
    Max,
    /// Mean.
    Mean,
    /// Lowest value.
    Min,
}

/// What a gate measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A statistic of a histogram, in ms.
    Time(Histogram, Stat),
    /// Failed requests.
    Errors,
    /// Responses whose status is not 2xx (gRPC: not `OK`).
    Non2xx,
    /// Achieved rate: successful responses per second.
    Rps,
    /// Requests finished.
    Requests,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// How a gate's number is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds (durations are converted).
    Ms,
    /// A share of requests, in percent.
    Percent,
    /// A plain number: a count or a rate.
    Number,
}

/// A parsed threshold gate such as `p99<=20ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The gate as written.
    pub text: String,
    /// What it measures.
    pub metric: Metric,
    /// The comparison.
    pub op: Op,
    /// The threshold in `unit`.
    pub value: f64,
    /// The threshold's unit.
    pub unit: Unit,
}

/// A parsed regression limit such as `p99=10%`.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// The limit as written.
    pub text: String,
    /// What it measures.
    pub metric: Metric,
    /// The allowed change in `unit` (`Percent` is relative, except for error shares).
    pub value: f64,
    /// The limit's unit.
    pub unit: Unit,
}

/// The outcome of one gate or limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The gate or limit as written, e.g. `p99<=20ms`.
    pub gate: String,
    /// The metric's name, e.g. `p99`.
    pub metric: String,
    /// The threshold, or the baseline and the allowed change, for people.
    pub expected: String,
    /// The measured value for people, e.g. `12.4 ms`.
    pub actual: String,
    /// The measured value in the gate's unit (NaN when it could not be measured).
    pub value: f64,
    /// Whether the gate passed.
    pub passed: bool,
}

/// Whether every verdict passed.
pub fn all_passed(verdicts: &[Verdict]) -> bool {
    verdicts.iter().all(|v| v.passed)
}

impl Metric {
    /// Parses a metric name.
    pub fn parse(name: &str) -> Option<Metric> {
        let name = name.trim().to_ascii_lowercase();
        let (hist, stat) = match name.split_once('.') {
            Some((h @ ("latency" | "service" | "service_time" | "send_lag" | "lag"), s)) => (Some(h), s),
            _ => (None, name.as_str()),
        };
        let stat = match stat {
            "p50" | "median" => Some(Stat::P50),
            "p75" => Some(Stat::P75),
            "p90" => Some(Stat::P90),
            "p95" => Some(Stat::P95),
            "p99" => Some(Stat::P99),
            "p99.9" | "p999" | "p99_9" => Some(Stat::P999),
            "p99.99" | "p9999" | "p99_99" => Some(Stat::P9999),
            "max" => Some(Stat::Max),
            "mean" | "avg" | "average" => Some(Stat::Mean),
            "min" => Some(Stat::Min),
            _ => None,
        };
        let histogram = match hist {
            None | Some("latency") => Histogram::Latency,
            Some("service" | "service_time") => Histogram::Service,
            _ => Histogram::SendLag,
        };
        if let Some(stat) = stat {
            return Some(Metric::Time(histogram, stat));
        }
        if hist.is_some() {
            return None;
        }
        match name.as_str() {
            "errors" | "error" | "error_rate" => Some(Metric::Errors),
            "non-2xx" | "non2xx" | "non_2xx" | "non-ok" | "non_ok" => Some(Metric::Non2xx),
            "rps" | "qps" | "throughput" | "rate" => Some(Metric::Rps),
            "requests" => Some(Metric::Requests),
            _ => None,
        }
    }

    /// Whether a bigger value is worse (latency, errors) rather than better (rps, requests).
    pub fn higher_is_worse(self) -> bool {
        !matches!(self, Metric::Rps | Metric::Requests)
    }

    /// The units a value for this metric may have.
    fn accepts(self, unit: Unit) -> bool {
        match self {
            Metric::Time(..) => unit == Unit::Ms,
            Metric::Errors | Metric::Non2xx => matches!(unit, Unit::Percent | Unit::Number),
            Metric::Rps | Metric::Requests => unit == Unit::Number,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stat = |s: Stat| match s {
            Stat::P50 => "p50",
            Stat::P75 => "p75",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
            Stat::P999 => "p99.9",
            Stat::P9999 => "p99.99",
            Stat::Max => "max",
            Stat::Mean => "mean",
            Stat::Min => "min",
        };
        match self {
            Metric::Time(Histogram::Latency, s) => f.write_str(stat(*s)),
            Metric::Time(Histogram::Service, s) => write!(f, "service.{}", stat(*s)),
            Metric::Time(Histogram::SendLag, s) => write!(f, "send_lag.{}", stat(*s)),
            Metric::Errors => f.write_str("errors"),
            Metric::Non2xx => f.write_str("non-2xx"),
            Metric::Rps => f.write_str("rps"),
            Metric::Requests => f.write_str("requests"),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        })
    }
}

impl Op {
    /// Whether `value OP threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
        }
    }
}

const METRICS_HELP: &str = "use p50, p75, p90, p95, p99, p99.9, p99.99, max, mean, min (also service.p99, send_lag.p99), \
                            errors, non-2xx, rps or requests";

fn bad(text: &str, reason: impl Into<String>) -> SmpError {
    SmpError::Gate { text: text.to_string(), reason: reason.into() }
}

fn metric(text: &str, name: &str) -> Result<Metric, SmpError> {
    Metric::parse(name).ok_or_else(|| bad(text, format!("unknown metric {:?}; {METRICS_HELP}", name.trim())))
}

/// Parses a number with a unit: a duration (→ ms), a percentage, or a plain number (`k`, `M`).
fn quantity(text: &str, raw: &str, metric: Metric) -> Result<(f64, Unit), SmpError> {
    let raw = raw.trim();
    let (value, unit) = if let Some(p) = raw.strip_suffix('%') {
        (p.trim().parse::<f64>().ok(), Unit::Percent)
    } else if raw.ends_with(|c: char| c.is_ascii_alphabetic() || c == 'µ') && matches!(metric, Metric::Time(..)) {
        let d = loadgen::parse::duration(raw)
            .map_err(|_| bad(text, format!("{raw:?} is not a duration; write e.g. 250us, 20ms or 1.5s")))?;
        (Some(d.as_secs_f64() * 1000.0), Unit::Ms)
    } else if let Some(n) = raw.parse::<f64>().ok().or_else(|| loadgen::parse::count(raw).ok().map(|n| n as f64)) {
        (Some(n), Unit::Number)
    } else {
        (None, Unit::Number)
    };
    let value = value
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| bad(text, format!("{raw:?} is not a number above or equal to 0")))?;
    if !metric.accepts(unit) {
        let want = match metric {
            Metric::Time(..) => "a duration with its unit, e.g. 20ms",
            Metric::Errors | Metric::Non2xx => "a share such as 0.1% or a count such as 10",
            _ => "a plain number such as 1000 or 1.5k",
        };
        return Err(bad(text, format!("{metric} takes {want}")));
    }
    Ok((value, unit))
}

impl Gate {
    /// Parses `METRIC OP VALUE`, e.g. `p99<=20ms`, `errors < 0.1%`, `rps>=1k`.
    pub fn parse(text: &str) -> Result<Gate, SmpError> {
        let at = text
            .find(['<', '>', '='])
            .ok_or_else(|| bad(text, "expected METRIC OP VALUE such as p99<=20ms, errors<0.1% or rps>=1000"))?;
        let (name, rest) = text.split_at(at);
        let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
            (Op::Le, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Op::Ge, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Op::Lt, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (Op::Gt, v)
        } else {
            return Err(bad(text, "use <, <=, > or >= (for a baseline comparison use `meshperf compare`)"));
        };
        let metric = metric(text, name)?;
        let (value, unit) = quantity(text, value, metric)?;
        Ok(Gate { text: text.trim().to_string(), metric, op, value, unit })
    }
}

impl Regression {
    /// Parses `METRIC=LIMIT`, e.g. `p99=10%`, `rps=5%`, `p99=2ms`, `errors=0.5%`.
    pub fn parse(text: &str) -> Result<Regression, SmpError> {
        let (name, limit) =
            text.split_once('=').ok_or_else(|| bad(text, "expected METRIC=LIMIT such as p99=10% or rps=5%"))?;
        let metric = metric(text, name)?;
        let (value, unit) = match metric {
            Metric::Time(..) if limit.trim().ends_with('%') => {
                let p = limit.trim().trim_end_matches('%').trim();
                let v = p.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
                (v.ok_or_else(|| bad(text, format!("{limit:?} is not a percentage")))?, Unit::Percent)
            }
            Metric::Rps | Metric::Requests => {
                let p = limit
                    .trim()
                    .strip_suffix('%')
                    .ok_or_else(|| bad(text, format!("{metric} takes a percentage such as 5%")))?;
                let v = p.trim().parse::<f64>().ok().filter(|v| v.is_finite() && (0.0..=100.0).contains(v));
                (v.ok_or_else(|| bad(text, format!("{limit:?} is not a percentage from 0 to 100")))?, Unit::Percent)
            }
            _ => quantity(text, limit, metric)?,
        };
        Ok(Regression { text: text.trim().to_string(), metric, value, unit })
    }
}

#[cfg(test)]
mod tests;
