//! Criterion benchmarks of the engine's hot paths: request encoding, response parsing,
#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! histogram recording and merging, and open-loop due-time computation.
//!
//! Run with `cargo bench -p meshperf-benches`; numbers go to BENCHMARKS.md, never into tests.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use loadgen::http1::{Progress, ResponseReader, encode_request};
use loadgen::schedule::Schedule;
use loadgen::{LatencyHistogram, Load, RateShape, RunPlan, Stats, Target};

fn encoding(c: &mut Criterion) {
    let mut g = c.benchmark_group("http1_encode");
    g.throughput(Throughput::Elements(1));
    let mut t = Target::get("http://127.0.0.1:8080/api/v1/items?limit=10").unwrap();
    for h in ["Accept: application/json", "X-Request-Source: meshperf", "Authorization: Bearer abcdef"] {
        t.add_header_line(h).unwrap();
    }
    g.bench_function("prebuilt_once", |b| b.iter(|| encode_request(black_box(&t))));
    g.finish();
}

fn parsing(c: &mut Criterion) {
    let mut g = c.benchmark_group("http1_parse");
    let nginx = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov 2026 04:00:00 GMT\r\nContent-Type: text/html\r\nContent-Length: 64\r\nLast-Modified: Sun, 22 Nov 2026 03:00:00 GMT\r\nConnection: keep-alive\r\nETag: \"1-40\"\r\nAccept-Ranges: bytes\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..16 {
        chunked.extend_from_slice(b"40\r\n");
        chunked.extend_from_slice(&[b'y'; 64]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    for (name, bytes) in [("content_length_64B", &nginx[..]), ("chunked_16x64B", &chunked[..])] {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), bytes, |b, bytes| {
            let mut r = ResponseReader::new(false);
            b.iter(|| {
                let mut pos = 0;
                let p = r.advance(black_box(bytes), &mut pos).unwrap();
                assert!(matches!(p, Progress::Done { .. }));
            });
        });
    }
    g.finish();
}

fn histograms(c: &mut Criterion) {
    let mut g = c.benchmark_group("histogram");
    g.throughput(Throughput::Elements(1));
    let mut h = LatencyHistogram::new();
    let mut v = 17u64;
    g.bench_function("record", |b| {
        b.iter(|| {
            v = v.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            h.record_us(black_box(50 + (v >> 50)));
        });
    });
    let mut stats = Stats::new();
    for i in 0..100_000u64 {
        stats.latency.record_us(100 + i % 5000);
        stats.service.record_us(90 + i % 4000);
    }
    g.bench_function("merge_worker_stats", |b| {
        let mut total = Stats::new();
        b.iter(|| total.merge(black_box(&stats)));
    });
    g.bench_function("encode_v2_base64", |b| b.iter(|| black_box(&stats.latency).to_base64()));
    g.finish();
}

fn scheduling(c: &mut Criterion) {
    let mut g = c.benchmark_group("schedule_due");
    g.throughput(Throughput::Elements(1));
    let shapes = [
        ("constant", RateShape::Constant(5000.0)),
        ("ramp", RateShape::Ramp { from: 100.0, to: 10_000.0 }),
        (
            "stages",
            RateShape::Stages(vec![
                loadgen::Stage { duration: Duration::from_secs(10), rate: 1000.0 },
                loadgen::Stage { duration: Duration::from_secs(20), rate: 5000.0 },
                loadgen::Stage { duration: Duration::from_secs(30), rate: 2000.0 },
            ]),
        ),
    ];
    for (name, shape) in shapes {
        let mut p = RunPlan::new(vec![Target::get("http://127.0.0.1/").unwrap()]);
        p.load = Load::Open(shape);
        p.duration = Some(Duration::from_secs(60));
        p.warmup = Duration::from_secs(2);
        let s = Schedule::new(&p).unwrap();
        let mut i = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 7919) % 100_000;
                s.due(black_box(i))
            });
        });
    }
    g.finish();
}

fn body_clone(c: &mut Criterion) {
    // The HTTP/2 path clones a prepared request's parts per send; this bounds that cost.
    let body = Bytes::from(vec![b'z'; 512]);
    let mut headers = http::HeaderMap::new();
    headers.insert("x-a", http::HeaderValue::from_static("1"));
    headers.insert("content-type", http::HeaderValue::from_static("application/json"));
    c.bench_function("h2_request_parts_clone", |b| b.iter(|| (black_box(&body).clone(), black_box(&headers).clone())));
}

criterion_group!(benches, encoding, parsing, histograms, scheduling, body_clone);
criterion_main!(benches);
