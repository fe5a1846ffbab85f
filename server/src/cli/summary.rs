//! The human summary `meshperf run` prints: rate against target, percentile tables for latency,
//! service time and send lag, status codes, errors and bytes.

use std::fmt::Write as _;

use loadgen::{HttpVersion, LatencyHistogram, Load, RateShape, Report};

/// Percentiles shown in the tables.
const PERCENTILES: [(f64, &str); 6] =
    [(50.0, "p50"), (75.0, "p75"), (90.0, "p90"), (99.0, "p99"), (99.9, "p99.9"), (99.99, "p99.99")];

/// Renders the summary of a finished run.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let plan = &r.plan;
    let proto = match plan.http {
        HttpVersion::Http1 => "HTTP/1.1".to_string(),
        HttpVersion::Http2 => format!("HTTP/2 ({} streams/conn)", plan.h2_streams),
    };
    let model = match &plan.load {
        Load::Closed => "closed loop".to_string(),
        Load::Open(RateShape::Constant(r)) => format!("open loop at {} req/s", num(*r)),
        Load::Open(RateShape::Ramp { from, to }) => format!("open loop ramp {} → {} req/s", num(*from), num(*to)),
        Load::Open(RateShape::Stages(s)) => format!("open loop, {} stages", s.len()),
    };
    let _ = writeln!(
        out,
        "meshperf: {} target(s), {} connections, {} threads, {proto}, {model}{}",
        plan.targets.len(),
        plan.connections,
        plan.threads,
        if r.cancelled { " (cancelled)" } else { "" }
    );
    for t in &plan.targets {
        let _ = writeln!(out, "  {} {}", t.method, t.url);
    }
    let s = &r.stats;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  Requests   {:>12} in {:.2} s   {} req/s",
        group(s.finished()),
        r.elapsed.as_secs_f64(),
        num(r.achieved_rate())
    );
    if let Some(target) = r.target_rate() {
        let pct = if target > 0.0 { r.achieved_rate() / target * 100.0 } else { 0.0 };
        let _ = writeln!(out, "  Target     {:>12} req/s   achieved {pct:.2}%", num(target));
    }
    if s.unsent > 0 {
        let _ = writeln!(
            out,
            "  Unsent     {:>12}   due in the window but never sent (the target could not keep up)",
            group(s.unsent)
        );
    }
    let _ = writeln!(out, "  Errors     {:>12}", group(s.error_total()));
    for (kind, n) in s.error_kinds() {
        let _ = writeln!(out, "    {:<16}{:>10}", kind.as_str(), group(n));
    }
    let _ = writeln!(out, "  Status codes");
    for (code, n) in s.status_codes() {
        let label = if code == 0 { "other".to_string() } else { code.to_string() };
        let _ = writeln!(out, "    {label:<16}{:>10}", group(n));
    }
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let _ = writeln!(
        out,
        "  Bytes      sent {} ({}/s), received {} ({}/s)",
        bytes(s.bytes_sent as f64),
        bytes(s.bytes_sent as f64 / secs),
        bytes(s.bytes_received as f64),
        bytes(s.bytes_received as f64 / secs)
    );
    let _ = writeln!(out);
    let mut header = format!("  {:<24}", "");
    for (_, name) in PERCENTILES {
        let _ = write!(header, "{name:>9}");
    }
    let _ = writeln!(out, "{header}{:>9}{:>9}", "max", "mean");
    let open = matches!(plan.load, Load::Open(_));
    let latency_label = if open { "Latency (from due time)" } else { "Latency" };
    row(&mut out, latency_label, &s.latency);
    row(&mut out, "Service time (from send)", &s.service);
    if open {
        row(&mut out, "Send lag", &s.send_lag);
    }
    out
}

fn row(out: &mut String, label: &str, h: &LatencyHistogram) {
    let _ = write!(out, "  {label:<24}");
    if h.is_empty() {
        let _ = writeln!(out, "{:>9}", "-");
        return;
    }
    for (p, _) in PERCENTILES {
        let _ = write!(out, "{:>9}", micros(h.percentile_us(p) as f64));
    }
    let _ = writeln!(out, "{:>9}{:>9}", micros(h.max_us() as f64), micros(h.mean_us()));
}

/// A duration in microseconds with a readable unit.
pub fn micros(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

/// A rate or count with thousands separators and one decimal when small.
pub fn num(v: f64) -> String {
    if v >= 1000.0 { group(v.round() as u64) } else { format!("{v:.1}") }
}

/// An integer with thousands separators.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{v:.0} {}", UNITS[u]) } else { format!("{v:.2} {}", UNITS[u]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(12), "12");
        assert_eq!(micros(12.0), "12µs");
        assert_eq!(micros(1500.0), "1.50ms");
        assert_eq!(micros(2_500_000.0), "2.50s");
        assert_eq!(num(5000.0), "5,000");
        assert_eq!(bytes(2048.0), "2.00 KiB");
    }
}
