//! Parsers for the human forms of options: durations (`30s`, `1m30s`, `250ms`), counts (`10k`),
//! rates (`1.5k`), ramps (`100:1000`) and stages (`10s@1000,20s@5000`).

use std::time::Duration;

use crate::error::PlanError;
use crate::plan::{RateShape, Stage};

/// Parses a duration such as `30s`, `1m`, `1m30s`, `250ms`, `1.5h`, `100us`; a bare number is seconds.
pub fn duration(field: &str, text: &str) -> Result<Duration, PlanError> {
    let bad = |why: &str| {
        PlanError::value(field, format!("{text:?} is not a duration ({why}); write e.g. 30s, 1m30s, 250ms or 2h"))
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if let Ok(secs) = s.parse::<f64>() {
        return secs_to_duration(secs).ok_or_else(|| bad("must be a finite, non-negative number"));
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(|| bad("missing unit"))?;
        if num_len == 0 {
            return Err(bad("expected a number"));
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| bad("bad number"))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return Err(bad("unknown unit; use ns, us, ms, s, m, h or d")),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    secs_to_duration(total).ok_or_else(|| bad("out of range"))
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    (secs.is_finite() && (0.0..1e12).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}

/// Parses a count such as `1000`, `10k`, `2.5M`, `1G` (decimal multipliers).
pub fn count(field: &str, text: &str) -> Result<u64, PlanError> {
    let v = scaled(field, text, "a count such as 1000, 10k or 2M")?;
    if v.fract() != 0.0 {
        return Err(PlanError::value(field, format!("{text:?} is not a whole number")));
    }
    Ok(v as u64)
}

/// Parses a rate in requests per second such as `5000`, `5k`, `0.5`; must be > 0.
pub fn rate(field: &str, text: &str) -> Result<f64, PlanError> {
    let v = scaled(field, text, "a rate in requests per second such as 1000 or 5k")?;
    if v <= 0.0 {
        return Err(PlanError::value(
            field,
            format!("{text:?}: the rate must be above 0 (omit it to send as fast as possible)"),
        ));
    }
    Ok(v)
}

fn scaled(field: &str, text: &str, what: &str) -> Result<f64, PlanError> {
    let s = text.trim();
    let bad = || PlanError::value(field, format!("{text:?} is not {what}"));
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1e3),
        Some('m' | 'M') => (&s[..s.len() - 1], 1e6),
        Some('g' | 'G') => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    if !v.is_finite() || v < 0.0 {
        return Err(bad());
    }
    let v = v * mult;
    if v > 1e15 {
        return Err(PlanError::value(field, format!("{text:?} is too large")));
    }
    Ok(v)
}

/// Parses `FROM:TO` rates for a linear ramp over the run's duration.
pub fn ramp(field: &str, text: &str) -> Result<RateShape, PlanError> {
    let (a, b) = text
        .split_once(':')
        .ok_or_else(|| PlanError::value(field, format!("{text:?} is not FROM:TO, e.g. 100:5000")))?;
    let from = scaled(field, a, "a start rate")?;
    let to = scaled(field, b, "an end rate")?;
    if from <= 0.0 && to <= 0.0 {
        return Err(PlanError::value(field, "a ramp needs a rate above 0 at one end at least"));
    }
    Ok(RateShape::Ramp { from, to })
}

/// Parses stages `DURATION@RATE,...`, for example `10s@1000,20s@5000`: each stage holds its rate.
pub fn stages(field: &str, text: &str) -> Result<RateShape, PlanError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (d, r) = part
            .split_once('@')
            .ok_or_else(|| PlanError::value(field, format!("stage {part:?} is not DURATION@RATE, e.g. 10s@1000")))?;
        let duration = duration(field, d)?;
        if duration.is_zero() {
            return Err(PlanError::value(field, format!("stage {part:?} has a zero duration")));
        }
        let rate = scaled(field, r, "a rate")?;
        out.push(Stage { duration, rate });
    }
    if out.is_empty() {
        return Err(PlanError::value(field, "no stages given; write e.g. 10s@1000,20s@5000"));
    }
    if out.iter().all(|s| s.rate <= 0.0) {
        return Err(PlanError::value(field, "every stage has rate 0; give at least one stage a rate above 0"));
    }
    Ok(RateShape::Stages(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("d", "30s").unwrap(), Duration::from_secs(30));
        assert_eq!(duration("d", "1m").unwrap(), Duration::from_secs(60));
        assert_eq!(duration("d", "1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("d", "250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(duration("d", "1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("d", "10").unwrap(), Duration::from_secs(10));
        assert_eq!(duration("d", "100us").unwrap(), Duration::from_micros(100));
        for bad in ["", "s", "10x", "-1s", "1..2s", "abc", "1e400"] {
            let err = duration("--duration", bad).unwrap_err();
            assert!(err.to_string().contains("--duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn counts_and_rates() {
        assert_eq!(count("n", "10k").unwrap(), 10_000);
        assert_eq!(count("n", "2.5M").unwrap(), 2_500_000);
        assert_eq!(count("n", "17").unwrap(), 17);
        assert!(count("n", "1.5").is_err());
        assert!(count("n", "-3").is_err());
        assert!(count("n", "k").is_err());
        assert_eq!(rate("r", "5k").unwrap(), 5000.0);
        assert!(rate("r", "0").is_err());
    }

    #[test]
    fn ramps_and_stages() {
        assert_eq!(ramp("r", "100:1k").unwrap(), RateShape::Ramp { from: 100.0, to: 1000.0 });
        assert!(ramp("r", "100").is_err());
        assert!(ramp("r", "0:0").is_err());
        let RateShape::Stages(s) = stages("s", "10s@1000, 20s@5k").unwrap() else { panic!() };
        assert_eq!(s.len(), 2);
        assert_eq!(s[1], Stage { duration: Duration::from_secs(20), rate: 5000.0 });
        assert!(stages("s", "10s").is_err());
        assert!(stages("s", "").is_err());
        assert!(stages("s", "0s@5").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,20}") {
            let _ = duration("d", &s);
            let _ = count("n", &s);
            let _ = rate("r", &s);
            let _ = ramp("r", &s);
            let _ = stages("s", &s);
        }
    }
}
