//! Parsers for the human forms of options: durations (`30s`, `1m30s`, `250ms`, `1 minute`),
//! counts (`10k`), rates (`1.5k`), ramps (`100:1000`) and stages (`10s@1000,20s@5000`).
//!
//! This is the one grammar every front end uses (command line, profiles, REST parameters,
//! stored profiles), so a value one accepts is never refused by another. Errors carry only the
//! reason; the caller names the field its own way.

use std::time::Duration;

use crate::error::ValueError;
use crate::plan::{RateShape, Stage};

/// Longest duration accepted: about 31,700 years; anything longer is a typo.
const MAX_SECONDS: f64 = 1e12;

/// Parses a duration: Go's form (`30s`, `1m30s`, `250ms`, `1.5h`, `100us`, `2d`), the same with
/// words and spaces (`1 minute`, `2 hours 30 min`, `90 sec`), or a bare number of seconds (`30`).
pub fn duration(text: &str) -> Result<Duration, ValueError> {
    let bad = |why: &str| {
        ValueError(format!("{:?} is not a duration ({why}); write e.g. 30s, 1m30s, 250ms, 2h or 1 minute", short(text)))
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
        rest = rest[num_len..].trim_start();
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace()).unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" | "nsec" | "nanosecond" | "nanoseconds" => 1e-9,
            "us" | "µs" | "usec" | "microsecond" | "microseconds" => 1e-6,
            "ms" | "msec" | "millisecond" | "milliseconds" => 1e-3,
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "" => return Err(bad("missing unit")),
            _ => return Err(bad("unknown unit; use ns, us, ms, s, m, h or d")),
        };
        total += value * scale;
        rest = rest[unit_len..].trim_start();
    }
    secs_to_duration(total).ok_or_else(|| bad("out of range"))
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    (secs.is_finite() && (0.0..MAX_SECONDS).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}

/// At most 40 characters of `text`, for messages.
fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Parses a count such as `1000`, `10k`, `2.5M`, `1G` (decimal multipliers).
pub fn count(text: &str) -> Result<u64, ValueError> {
    let v = scaled(text, "a count such as 1000, 10k or 2M")?;
    if v.fract() != 0.0 {
        return Err(ValueError(format!("{:?} is not a whole number", short(text))));
    }
    Ok(v as u64)
}

/// Parses a rate in requests per second such as `5000`, `5k`, `0.5`; must be > 0.
pub fn rate(text: &str) -> Result<f64, ValueError> {
    if text.trim().starts_with('-') {
        return Err(ValueError(format!(
            "{:?}: the rate must be above 0 (omit it to send as fast as possible)",
            short(text)
        )));
    }
    let v = scaled(text, "a rate in requests per second such as 1000 or 5k")?;
    if v <= 0.0 {
        return Err(ValueError(format!(
            "{:?}: the rate must be above 0 (omit it to send as fast as possible)",
            short(text)
        )));
    }
    Ok(v)
}

fn scaled(text: &str, what: &str) -> Result<f64, ValueError> {
    let s = text.trim();
    let bad = || ValueError(format!("{:?} is not {what}", short(text)));
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
        return Err(ValueError(format!("{:?} is too large", short(text))));
    }
    Ok(v)
}

/// Parses `FROM:TO` rates for a linear ramp over the run's duration.
pub fn ramp(text: &str) -> Result<RateShape, ValueError> {
    let (a, b) =
        text.split_once(':').ok_or_else(|| ValueError(format!("{:?} is not FROM:TO, e.g. 100:5000", short(text))))?;
    let from = scaled(a, "a start rate")?;
    let to = scaled(b, "an end rate")?;
    if from <= 0.0 && to <= 0.0 {
        return Err(ValueError("a ramp needs a rate above 0 at one end at least".into()));
    }
    Ok(RateShape::Ramp { from, to })
}

/// Parses stages `DURATION@RATE,...`, for example `10s@1000,20s@5000`: each stage holds its rate.
pub fn stages(text: &str) -> Result<RateShape, ValueError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (d, r) = part
            .split_once('@')
            .ok_or_else(|| ValueError(format!("stage {:?} is not DURATION@RATE, e.g. 10s@1000", short(part))))?;
        let duration = duration(d)?;
        if duration.is_zero() {
            return Err(ValueError(format!("stage {:?} has a zero duration", short(part))));
        }
        let rate = scaled(r, "a rate")?;
        out.push(Stage { duration, rate });
    }
    if out.is_empty() {
        return Err(ValueError("no stages given; write e.g. 10s@1000,20s@5000".into()));
    }
    if out.iter().all(|s| s.rate <= 0.0) {
        return Err(ValueError("every stage has rate 0; give at least one stage a rate above 0".into()));
    }
    Ok(RateShape::Stages(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(duration("100us").unwrap(), Duration::from_micros(100));
        assert_eq!(duration("1 minute").unwrap(), Duration::from_secs(60));
        assert_eq!(duration("2 hours 30 min").unwrap(), Duration::from_secs(9000));
        assert_eq!(duration(" 90 sec ").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("1m 30s").unwrap(), Duration::from_secs(90));
        for bad in ["", "s", "10x", "-1s", "1..2s", "abc", "1e400"] {
            let err = duration(bad).unwrap_err();
            assert!(err.to_string().contains("not a duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn counts_and_rates() {
        assert_eq!(count("10k").unwrap(), 10_000);
        assert_eq!(count("2.5M").unwrap(), 2_500_000);
        assert_eq!(count("17").unwrap(), 17);
        assert!(count("1.5").is_err());
        assert!(count("-3").is_err());
        assert!(count("k").is_err());
        assert_eq!(rate("5k").unwrap(), 5000.0);
        assert!(rate("0").is_err());
        assert!(rate("-5").unwrap_err().to_string().contains("must be above 0"));
    }

    #[test]
    fn ramps_and_stages() {
        assert_eq!(ramp("100:1k").unwrap(), RateShape::Ramp { from: 100.0, to: 1000.0 });
        assert!(ramp("100").is_err());
        assert!(ramp("0:0").is_err());
        let RateShape::Stages(s) = stages("10s@1000, 20s@5k").unwrap() else { panic!() };
        assert_eq!(s.len(), 2);
        assert_eq!(s[1], Stage { duration: Duration::from_secs(20), rate: 5000.0 });
        assert!(stages("10s").is_err());
        assert!(stages("").is_err());
        assert!(stages("0s@5").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,20}") {
            let _ = duration(&s);
            let _ = count(&s);
            let _ = rate(&s);
            let _ = ramp(&s);
            let _ = stages(&s);
        }
    }
}
