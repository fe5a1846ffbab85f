//! Evaluating gates on a result and regression limits against a baseline.

use super::{Gate, Histogram, Metric, Op, Regression, Stat, Unit, Verdict};
use crate::result::{Percentiles, ResultDocument};

/// The value of `metric` in `doc`, in `unit` (NaN when it cannot be measured, e.g. a share of
/// zero requests).
pub(crate) fn measure(doc: &ResultDocument, metric: Metric, unit: Unit) -> f64 {
    let d = &doc.details;
    let share = |n: u64| if d.requests == 0 { f64::NAN } else { 100.0 * n as f64 / d.requests as f64 };
    let count_or_share = |n: u64| if unit == Unit::Percent { share(n) } else { n as f64 };
    match metric {
        Metric::Time(h, s) => {
            let p = match h {
                Histogram::Latency => &d.latency_ms,
                Histogram::Service => &d.service_time_ms,
                Histogram::SendLag => &d.send_lag_ms,
            };
            if p.count == 0 { f64::NAN } else { stat(p, s) }
        }
        Metric::Errors => count_or_share(d.errors),
        Metric::Non2xx => count_or_share(non_2xx(doc)),
        Metric::Rps => d.achieved_rate,
        Metric::Requests => d.requests as f64,
    }
}

fn stat(p: &Percentiles, s: Stat) -> f64 {
    match s {
        Stat::P50 => p.p50,
        Stat::P75 => p.p75,
        Stat::P90 => p.p90,
        Stat::P95 => p.p95,
        Stat::P99 => p.p99,
        Stat::P999 => p.p99_9,
        Stat::P9999 => p.p99_99,
        Stat::Max => p.max,
        Stat::Mean => p.mean,
        Stat::Min => p.min,
    }
}

/// Responses whose status code is not 2xx, and gRPC calls whose status is not `OK`.
fn non_2xx(doc: &ResultDocument) -> u64 {
    let d = &doc.details;
    let http: u64 = d
        .status_codes
        .iter()
        .filter(|(code, _)| !code.parse::<u16>().is_ok_and(|c| (200..300).contains(&c)))
        .map(|(_, n)| n)
        .sum();
    let grpc: u64 = d.grpc_status_codes.iter().filter(|(code, _)| *code != "OK").map(|(_, n)| n).sum();
    http + grpc
}

/// A value for people: `12.4 ms`, `0.25%`, `1,234.5`.
pub(crate) fn show(value: f64, unit: Unit) -> String {
    if value.is_nan() {
        return "n/a (nothing measured)".into();
    }
    match unit {
        Unit::Ms if value >= 1000.0 => format!("{} s", round3(value / 1000.0)),
        Unit::Ms if value < 1.0 => format!("{} µs", round3(value * 1000.0)),
        Unit::Ms => format!("{} ms", round3(value)),
        Unit::Percent => format!("{}%", round3(value)),
        Unit::Number => format!("{}", round3(value)),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Checks every gate against `doc`: one verdict per gate, in order.
pub fn evaluate(gates: &[Gate], doc: &ResultDocument) -> Vec<Verdict> {
    gates
        .iter()
        .map(|g| {
            let value = measure(doc, g.metric, g.unit);
            Verdict {
                gate: g.text.clone(),
                metric: g.metric.to_string(),
                expected: format!("{} {}", g.op, show(g.value, g.unit)),
                actual: show(value, g.unit),
                value,
                passed: !value.is_nan() && g.op.holds(value, g.value),
            }
        })
        .collect()
}

/// Checks `current` against `baseline` under each regression limit: one verdict per limit.
pub fn compare(baseline: &ResultDocument, current: &ResultDocument, limits: &[Regression]) -> Vec<Verdict> {
    limits
        .iter()
        .map(|r| {
            let share = matches!(r.metric, Metric::Errors | Metric::Non2xx);
            // Shares are compared in points; durations and rates relative (%) or absolute.
            let unit = match (r.metric, r.unit) {
                (Metric::Time(..), _) => Unit::Ms,
                (_, Unit::Percent) if share => Unit::Percent,
                (Metric::Rps | Metric::Requests, _) => Unit::Number,
                (_, u) => u,
            };
            let base = measure(baseline, r.metric, unit);
            let value = measure(current, r.metric, unit);
            let worse = r.metric.higher_is_worse();
            let bound = match (r.unit, share) {
                (Unit::Percent, false) => base * if worse { 1.0 + r.value / 100.0 } else { 1.0 - r.value / 100.0 },
                _ => {
                    if worse {
                        base + r.value
                    } else {
                        base - r.value
                    }
                }
            };
            let op = if worse { Op::Le } else { Op::Ge };
            let change = if base.is_nan() || value.is_nan() {
                String::new()
            } else if share {
                format!(" ({:+} points)", round3(value - base))
            } else if base == 0.0 {
                String::new()
            } else {
                format!(" ({:+}%)", round3(100.0 * (value - base) / base))
            };
            let allowed = if r.unit == Unit::Percent && share {
                format!("+{} points", round3(r.value))
            } else if r.unit == Unit::Percent {
                format!("{}{}%", if worse { "+" } else { "-" }, round3(r.value))
            } else {
                format!("{}{}", if worse { "+" } else { "-" }, show(r.value, r.unit))
            };
            Verdict {
                gate: r.text.clone(),
                metric: r.metric.to_string(),
                expected: format!("baseline {}, at most {allowed}", show(base, unit)),
                actual: format!("{}{change}", show(value, unit)),
                value,
                passed: !value.is_nan() && !base.is_nan() && op.holds(value, bound),
            }
        })
        .collect()
}
