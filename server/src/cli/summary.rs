//! The human summary `meshperf run` prints: requests and the achieved rate (successful
//! responses per second) with the error share, the rate against the target, errors by kind,
//! status codes, bytes, and one percentile table (min, mean, stdev, p50 ... p99.99, max) for
//! latency, service time and send lag.

use std::fmt::Write as _;

use loadgen::{HttpVersion, LatencyHistogram, Load, RateShape, Report, Stats};

/// Percentiles shown in the tables.
const PERCENTILES: [(f64, &str); 7] =
    [(50.0, "p50"), (75.0, "p75"), (90.0, "p90"), (95.0, "p95"), (99.0, "p99"), (99.9, "p99.9"), (99.99, "p99.99")];

/// Renders the summary of a finished run.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let plan = &r.plan;
    let proto = match plan.http {
        HttpVersion::Http1 => "HTTP/1.1".to_string(),
        HttpVersion::Http2 => format!("HTTP/2 ({})", plural(u64::from(plan.h2_streams), "stream", "streams") + "/conn"),
    };
    let proto = if plan.is_grpc() { format!("gRPC unary calls on {proto}") } else { proto };
    let model = match &plan.load {
        Load::Closed => "closed loop".to_string(),
        Load::Open(RateShape::Constant(r)) => format!("open loop at {} req/s", num(*r)),
        Load::Open(RateShape::Ramp { from, to }) => format!("open loop ramp {} → {} req/s", num(*from), num(*to)),
        Load::Open(RateShape::Stages(s)) => format!("open loop, {}", plural(s.len() as u64, "stage", "stages")),
    };
    let _ = writeln!(
        out,
        "meshperf: {}, {}, {}, {proto}, {model}{}",
        plural(plan.targets.len() as u64, "target", "targets"),
        plural(u64::from(plan.connections), "connection", "connections"),
        plural(u64::from(plan.threads), "thread", "threads"),
        if r.cancelled { " (cancelled)" } else { "" }
    );
    for t in &plan.targets {
        let _ = writeln!(out, "  {} {}", t.method, t.url);
    }
    let s = &r.stats;
    let _ = writeln!(out);
    counts(&mut out, r);
    if let Some(target) = r.target_rate() {
        let pct = if target > 0.0 { r.achieved_rate() / target * 100.0 } else { 0.0 };
        let _ = writeln!(out, "  {:<18}{:>10} req/s   achieved {pct:.2}%", "Target", num(target));
    }
    if s.unsent > 0 {
        let planned = r.planned.unwrap_or(0);
        let why = if s.unsent > 1 && s.unsent * 1000 > planned {
            "every connection was busy (the target could not keep up: more connections or a lower rate)"
        } else {
            "due in the window's last moments, not sent before it closed"
        };
        let _ = writeln!(
            out,
            "  {:<18}{:>10}   {why}; in the latency at their age when the window closed",
            "Unsent",
            group(s.unsent)
        );
    }
    status_codes(&mut out, s);
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let _ = writeln!(
        out,
        "  {:<18}sent {} ({}/s), received {} ({}/s)",
        "Bytes",
        bytes(s.bytes_sent as f64),
        bytes(s.bytes_sent as f64 / secs),
        bytes(s.bytes_received as f64),
        bytes(s.bytes_received as f64 / secs)
    );
    let _ = writeln!(out);
    table(&mut out, r);
    out
}

/// Requests, successful responses with the achieved rate, and errors by kind with why.
fn counts(out: &mut String, r: &Report) {
    let s = &r.stats;
    let requests = s.finished();
    let share = |n: u64| if requests == 0 { 0.0 } else { 100.0 * n as f64 / requests as f64 };
    let window = r.elapsed.as_secs_f64();
    if s.after_window == 0 {
        let _ = writeln!(
            out,
            "  {:<18}{:>10}   in {window:.2} s, {} req/s",
            "Requests",
            group(requests),
            num(r.request_rate())
        );
    } else {
        let _ = writeln!(
            out,
            "  {:<18}{:>10}   {} in the {window:.2} s window ({} req/s); {} finished after it: in the latency, not in the rates",
            "Requests",
            group(requests),
            group(s.finished_in_window()),
            num(r.request_rate()),
            group(s.after_window),
        );
    }
    let _ = writeln!(
        out,
        "  {:<18}{:>10}   {:.2}%, achieved {} req/s",
        "Successful",
        group(s.successful()),
        share(s.successful()),
        num(r.achieved_rate())
    );
    let _ = writeln!(out, "  {:<18}{:>10}   {:.2}%", "Errors", group(s.error_total()), share(s.error_total()));
    for (kind, n) in s.error_kinds() {
        let why = s.messages.get(kind).unwrap_or(kind.describe());
        let _ = writeln!(out, "    {:<16}{:>10}   {:.2}%  {why}", kind.as_str(), group(n), share(n));
    }
}

/// Responses by status code (gRPC calls by gRPC status, with the first message of each that
/// is not `OK`), or that there were none.
fn status_codes(out: &mut String, s: &Stats) {
    let requests = s.finished();
    let share = |n: u64| if requests == 0 { 0.0 } else { 100.0 * n as f64 / requests as f64 };
    let codes = s.status_codes();
    let grpc = s.grpc_codes();
    let calls = !grpc.is_empty();
    if calls {
        let _ = writeln!(out, "  gRPC status");
        for (code, n) in grpc {
            let why = s.grpc_messages.get(code).map(|m| format!("  {m}")).unwrap_or_default();
            let _ = writeln!(out, "    {:<16}{:>10}   {:.2}%{why}", code.as_str(), group(n), share(n));
        }
    }
    if codes.is_empty() && !calls {
        let _ = writeln!(out, "  {:<18}none: no response arrived", "Status codes");
    } else if !codes.is_empty() {
        let _ = writeln!(out, "  Status codes");
        for (code, n) in codes {
            let label = if code == 0 { "other".to_string() } else { code.to_string() };
            let _ = writeln!(out, "    {label:<16}{:>10}   {:.2}%", group(n), share(n));
        }
    }
}

/// The percentile table, or why there is none.
fn table(out: &mut String, r: &Report) {
    let s: &Stats = &r.stats;
    let plan = &r.plan;
    if s.responses == 0 {
        let _ = writeln!(out, "  {:<18}none: no response arrived, so there is nothing to measure", "Latency");
        return;
    }
    let open = matches!(plan.load, Load::Open(_));
    let mut header = format!("  {:<14}", "");
    for name in ["min", "mean", "stdev"].into_iter().chain(PERCENTILES.iter().map(|(_, n)| *n)).chain(["max"]) {
        let _ = write!(header, "{name:>9}");
    }
    let _ = writeln!(out, "{header}");
    let bound = s.unsent > 0;
    row(out, if bound { "Latency ≥" } else { "Latency" }, &s.latency);
    if open {
        row(out, "Service time", &s.service);
        row(out, "Send lag", &s.send_lag);
        let _ = writeln!(
            out,
            "  Latency runs from each request's due time (coordinated omission corrected), service time from its send."
        );
    } else {
        let _ = writeln!(out, "  Closed loop: latency runs from each request's send, so it is also the service time.");
    }
    if bound {
        let _ = writeln!(
            out,
            "  ≥: lower bounds; {} never sent are in the latency at their age when the window closed.",
            plural(s.unsent, "request", "requests")
        );
    }
}

/// `n thing` or `n things`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group(n), if n == 1 { one } else { many })
}

fn row(out: &mut String, label: &str, h: &LatencyHistogram) {
    let _ = write!(out, "  {label:<14}");
    if h.is_empty() {
        let _ = writeln!(out, "{:>9}", "-");
        return;
    }
    for v in [h.min_us() as f64, h.mean_us(), h.stdev_us()] {
        let _ = write!(out, "{:>9}", micros(v));
    }
    for (p, _) in PERCENTILES {
        let _ = write!(out, "{:>9}", micros(h.percentile_us(p) as f64));
    }
    let _ = writeln!(out, "{:>9}", micros(h.max_us() as f64));
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
        assert_eq!(plural(1, "stream", "streams"), "1 stream");
    }

    fn report(load: Load, stats: loadgen::Stats) -> Report {
        let mut plan = loadgen::RunPlan::new(vec![loadgen::Target::get("http://127.0.0.1:1/").unwrap()]);
        plan.load = load;
        plan.http = HttpVersion::Http2;
        plan.h2_streams = 1;
        let now = chrono::Utc::now();
        Report {
            plan,
            started_at: now,
            ended_at: now,
            elapsed: std::time::Duration::from_secs(3),
            stats,
            series: Vec::new(),
            planned: Some(600),
            cancelled: false,
        }
    }

    #[test]
    fn an_all_errors_run_achieves_nothing_and_shows_no_latency() {
        let mut s = loadgen::Stats::new();
        for _ in 0..600 {
            s.count_error(loadgen::ErrorKind::ConnectRefused);
        }
        let text = render(&report(Load::Open(RateShape::Constant(200.0)), s));
        for needle in [
            "HTTP/2 (1 stream/conn)",
            "Successful                 0   0.00%, achieved 0.0 req/s",
            "Errors                   600   100.00%",
            "achieved 0.00%",
            "Status codes      none: no response arrived",
            "Latency           none: no response arrived",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(!text.contains("p50"), "{text}");
    }

    #[test]
    fn grpc_calls_are_shown_by_status_with_their_messages() {
        let mut s = loadgen::Stats::new();
        for _ in 0..3 {
            s.count_grpc(loadgen::grpc::Code::Ok);
            s.latency.record_us(1000);
        }
        s.count_grpc(loadgen::grpc::Code::Unavailable);
        s.grpc_messages.keep(loadgen::grpc::Code::Unavailable, "shedding load");
        let text = render(&report(Load::Closed, s));
        for needle in ["gRPC status", "OK                       3   75.00%", "UNAVAILABLE", "shedding load"] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(!text.contains("Status codes"), "{text}");
    }

    #[test]
    fn closed_loop_prints_one_latency_row_and_unsent_marks_lower_bounds() {
        let mut s = loadgen::Stats::new();
        for ms in 1..=100 {
            s.count_status(200);
            s.latency.record_us(ms * 1000);
            s.service.record_us(ms * 1000);
        }
        let text = render(&report(Load::Closed, s.clone()));
        assert!(text.contains("p95") && text.contains("stdev") && text.contains("min"), "{text}");
        assert!(!text.contains("Service time"), "{text}");
        assert!(text.contains("also the service time"), "{text}");
        s.unsent = 1;
        let text = render(&report(Load::Open(RateShape::Constant(200.0)), s.clone()));
        assert!(text.contains("Latency ≥") && text.contains("1 request never sent"), "{text}");
        assert!(text.contains("last moments"), "one unsent request is not a target that could not keep up: {text}");
        s.unsent = 50;
        let text = render(&report(Load::Open(RateShape::Constant(200.0)), s));
        assert!(text.contains("could not keep up"), "{text}");
    }
}
