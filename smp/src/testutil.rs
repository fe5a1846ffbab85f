//! Hand-made engine reports with known numbers, for tests across the crate.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use loadgen::grpc::Code;
use loadgen::{ErrorKind, Load, RateShape, Report, RunPlan, SecondStats, Stats, Target};

/// A 10 s open-loop run at 100/s against two URLs: 1000 requests, latencies 1..=1000 ms
/// (so p50 ≈ 500 ms, p99 ≈ 990 ms), 990 responses (980 × 200, 10 × 503), 10 timeouts: an
/// achieved rate of 98 successful responses per second.
pub(crate) fn report() -> Report {
    report_with(1..=1000, 10_000)
}

/// [`report`] as a gRPC run: the same numbers, with each 200 an `OK` call and each 503 an
/// `UNAVAILABLE` one ("shedding load").
pub(crate) fn grpc_report() -> Report {
    let mut r = build(1..=1000, 10_000, true);
    let mut t = Target::get("grpc://127.0.0.1:50051/demo.Greeter/Hello").unwrap();
    t.method = http::Method::POST;
    r.plan.targets = vec![t];
    r.plan.http = loadgen::HttpVersion::Http2;
    r.stats.grpc_messages.keep(Code::Unavailable, "shedding load");
    r
}

/// A report whose latencies are `values` (ms) and whose window lasts `duration_ms`.
pub(crate) fn report_with(values: impl IntoIterator<Item = u64>, duration_ms: u64) -> Report {
    build(values, duration_ms, false)
}

fn build(values: impl IntoIterator<Item = u64>, duration_ms: u64, grpc: bool) -> Report {
    let mut plan = RunPlan::new(vec![
        Target::get("http://127.0.0.1:8080/a").unwrap(),
        Target::get("http://127.0.0.1:8080/b").unwrap(),
    ]);
    plan.targets[0].add_header("Authorization", "Bearer secret").unwrap();
    plan.targets[0].add_header("X-Test", "yes").unwrap();
    plan.load = Load::Open(RateShape::Constant(100.0));
    plan.duration = Some(Duration::from_millis(duration_ms));
    plan.connections = 4;
    plan.threads = 2;
    let mut stats = Stats::new();
    let values: Vec<u64> = values.into_iter().collect();
    let mut series = Vec::new();
    let mut second = Stats::new();
    for (i, v) in values.iter().enumerate() {
        for s in [&mut stats, &mut second] {
            s.latency.record_us(v * 1000);
            s.service.record_us(v * 500);
            s.send_lag.record_us(v % 7);
            s.sent += 1;
            s.bytes_sent += 100;
            if i % 100 == 99 {
                s.count_error(ErrorKind::Timeout);
            } else {
                match (grpc, i % 100 == 49) {
                    (false, failed) => s.count_status(if failed { 503 } else { 200 }),
                    (true, failed) => s.count_grpc(if failed { Code::Unavailable } else { Code::Ok }),
                }
                s.bytes_received += 200;
            }
        }
        if i % 100 == 99 || i + 1 == values.len() {
            series.push(SecondStats {
                second: (i / 100 + 1) as f64,
                requests: second.finished(),
                errors: second.error_total(),
                rate: second.successful() as f64,
                target_rate: Some(100.0),
                p50_us: second.latency.percentile_us(50.0),
                p99_us: second.latency.percentile_us(99.0),
            });
            second.reset();
        }
    }
    let started_at = Utc.with_ymd_and_hms(2026, 3, 17, 14, 53, 5).unwrap();
    Report {
        plan,
        started_at,
        ended_at: started_at + chrono::Duration::milliseconds(duration_ms as i64 + 20),
        elapsed: Duration::from_millis(duration_ms),
        stats,
        series,
        planned: Some(values.len() as u64),
        cancelled: false,
    }
}
