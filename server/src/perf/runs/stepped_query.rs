//! A stepped run's query parameters: meshperf's own, on the same run routes as Meshery's
//! (`GET /api/user/performance/profiles/{id}/run`, `GET|POST /api/perf/profile`). Without `kind`
//! the route runs once, as Meshery's does.
//!
//! | parameter | meaning | default |
//! |---|---|---|
//! | `kind` | `search` (the highest rate under the SLOs) or `sweep` (one step per rate) | one run |
//! | `slo` | SLOs in the gate grammar, comma separated: `p99<=20ms,errors<0.1%` | none: a step passes when it keeps up |
//! | `from`, `to` | search: the first and the highest rate (`100`, `5k`) | 100, 100k |
//! | `precision` | search: stop when the bracket is within this (`5%`, or `5`) | 5% |
//! | `factor` | search: the climb's factor | 2 |
//! | `rates` | sweep: `1k..20k/10` or `100,500,1k` | required |
//! | `stepDuration`, `stepWarmup` | each step's window and warm-up (`10s`) | 10s, 2s |
//! | `rateTolerance` | a step fails when it achieves less than its rate by more than this | 5% |
//! | `maxSteps`, `maxTime` | bounds on the whole run | 16 (search), 10m or `MESHPERF_MAX_WALL_TIME` if lower |
//!
//! The other parameters (`url`, `c`, `headers`, ...) describe every step as they describe one
//! run; `qps` and `t` are refused, since the steps set the rate and the window.

use smp::stepped::{StepField, StepKind, StepRequest};

use crate::error::ServiceError;
use crate::http::input::{Params, truncate};

/// A stepped run's query parameters, as documented (read by [`request`]). They are read only
/// with `kind=search` or `kind=sweep`; without `kind` the route runs once and they are ignored.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SteppedQuery {
    /// `search`: the highest rate under the SLOs; `sweep`: one step per rate; `run` (or none):
    /// one run.
    #[param(example = "run")]
    pub kind: Option<String>,
    /// SLOs every step must meet, in the gate grammar, comma separated.
    #[param(example = "p99<=20ms,errors<0.1%")]
    pub slo: Option<String>,
    /// Search: the first rate (default 100).
    #[param(example = "100")]
    pub from: Option<String>,
    /// Search: the highest rate (default 100k).
    #[param(example = "5k")]
    pub to: Option<String>,
    /// Search: stop when the bracket is within this share (default 5%).
    #[param(example = "5%")]
    pub precision: Option<String>,
    /// Search: the climb's factor (default 2).
    #[param(example = "2")]
    pub factor: Option<String>,
    /// Sweep: `FROM..TO/N` or a list (required for a sweep).
    #[param(example = "1k..20k/10")]
    pub rates: Option<String>,
    /// Each step's measured window (default 10s).
    #[param(rename = "stepDuration", example = "10s")]
    pub step_duration: Option<String>,
    /// Each step's warm-up (default 2s).
    #[param(rename = "stepWarmup", example = "2s")]
    pub step_warmup: Option<String>,
    /// A step fails when it achieves less than its rate by more than this (default 5%).
    #[param(rename = "rateTolerance", example = "5%")]
    pub rate_tolerance: Option<String>,
    /// The most steps (default 16 for a search, the number of rates for a sweep).
    #[param(rename = "maxSteps", example = "16")]
    pub max_steps: Option<String>,
    /// The longest the whole run may take (default 10m, or the wall-time ceiling if lower).
    #[param(rename = "maxTime", example = "10m")]
    pub max_time: Option<String>,
}

/// The stepped run the parameters ask for, if any.
pub fn request(p: &Params) -> Result<Option<StepRequest>, ServiceError> {
    let text = |name: &str| p.text(&[name]);
    let mut r = StepRequest {
        kind: StepKind::Search,
        slos: text("slo").into_iter().collect(),
        from: text("from"),
        to: text("to"),
        precision: text("precision"),
        factor: text("factor"),
        rates: text("rates"),
        step_duration: text("stepDuration"),
        warmup: text("stepWarmup"),
        rate_tolerance: text("rateTolerance"),
        max_steps: text("maxSteps"),
        max_time: text("maxTime"),
    };
    r.kind = match text("kind").as_deref().map(str::trim) {
        None | Some("run") => return Ok(None),
        Some("search") => StepKind::Search,
        Some("sweep") => StepKind::Sweep,
        Some(other) => {
            return Err(ServiceError::invalid(
                "kind",
                format!("{:?} is not a run kind; use search or sweep, or leave kind out for one run", truncate(other)),
            ));
        }
    };
    if p.get(&["qps"]).is_some() {
        return Err(ServiceError::invalid(
            "qps",
            "a stepped run sets each step's rate; leave qps out (use from and to, or rates)",
        ));
    }
    if p.get(&["t"]).is_some() {
        return Err(ServiceError::invalid("t", "a stepped run's steps last stepDuration each; leave t out"));
    }
    Ok(Some(r))
}

/// The parameter behind a stepped run's value.
pub fn name(field: StepField) -> &'static str {
    match field {
        StepField::From => "from",
        StepField::To => "to",
        StepField::Rates => "rates",
        StepField::Slo => "slo",
        StepField::StepDuration => "stepDuration",
        StepField::Warmup => "stepWarmup",
        StepField::Precision => "precision",
        StepField::Factor => "factor",
        StepField::RateTolerance => "rateTolerance",
        StepField::MaxSteps => "maxSteps",
        StepField::MaxTime => "maxTime",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn spec(q: &str) -> Result<smp::stepped::StepSpec, (String, String)> {
        let r = request(&Params::parse(Some(q)))
            .map_err(|e| match e {
                ServiceError::Invalid { field, reason } => (field, reason),
                other => panic!("{other}"),
            })?
            .expect("stepped");
        r.into_spec(Duration::from_secs(600)).map_err(|e| (name(e.field).to_string(), e.reason))
    }

    #[test]
    fn parameters_make_the_same_spec_as_the_flags() {
        assert!(request(&Params::parse(Some("url=http://x/"))).unwrap().is_none());
        let s =
            spec("kind=search&slo=p99%3C%3D20ms,errors%3C0.1%25&from=1k&to=8k&stepDuration=3s&stepWarmup=1s").unwrap();
        assert_eq!(s.slos.len(), 2);
        assert_eq!((s.first_rate(), s.peak_rate()), (1000.0, 8000.0));
        assert_eq!((s.step_duration, s.warmup), (Duration::from_secs(3), Duration::from_secs(1)));
        let s = spec("kind=sweep&rates=100..400/4").unwrap();
        assert_eq!(s.kind, smp::stepped::Kind::Sweep { rates: vec![100.0, 200.0, 300.0, 400.0] });
    }

    #[test]
    fn bad_parameters_are_named() {
        for (q, field) in [
            ("kind=climb", "kind"),
            ("kind=search&qps=10", "qps"),
            ("kind=search&t=10", "t"),
            ("kind=search&from=fast", "from"),
            ("kind=search&slo=p99%3E%3Dfast", "slo"),
            ("kind=sweep", "rates"),
            ("kind=sweep&rates=1k..2k/5&from=1", "from"),
            ("kind=search&stepDuration=1s", "stepDuration"),
            ("kind=search&maxSteps=0", "maxSteps"),
        ] {
            let (got, reason) = spec(q).unwrap_err();
            assert_eq!(got, field, "{q}: {reason}");
        }
    }
}
