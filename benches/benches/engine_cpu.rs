//! Criterion benchmark of the engine's whole request path: generator CPU time per request
//! (user + system, of this process only) against a tiny HTTP/1.1 server in a child process.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
//!
//! Covers what the open-loop path changes touch (the dispenser's wake-ups and coalescing
//! window, the precise timer, the connection read buffer) in the unit users compare tools by:
//! CPU per request. Open-loop runs are paced by their schedule, so wall time says nothing;
//! `iter_custom` returns the CPU the run spent instead. Run with
//! `cargo bench -p meshperf-benches --bench engine_cpu`; ratios against other tools come from
//! `benches/compare/compare.py`, never from here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use loadgen::{Load, RateShape, RunPlan, Target};
use nix::sys::resource::{UsageWho, getrusage};

/// Set in the child process that serves the benchmark.
const SERVER_ENV: &str = "MESHPERF_BENCH_SERVER";
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// The child: one blocking thread per connection, a fixed response per request head.
fn serve() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let _ = conn.set_nodelay(true);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut have = 0;
            loop {
                let Ok(n) = conn.read(&mut buf[have..]) else { return };
                if n == 0 {
                    return;
                }
                have += n;
                // Answer every complete head in the buffer (requests have no body here).
                let mut start = 0;
                while let Some(end) = buf[start..have].windows(4).position(|w| w == b"\r\n\r\n") {
                    start += end + 4;
                    if conn.write_all(RESPONSE).is_err() {
                        return;
                    }
                }
                buf.copy_within(start..have, 0);
                have -= start;
            }
        });
    }
}

fn spawn_server() -> (Child, u16) {
    let mut child =
        Command::new(std::env::current_exe().unwrap()).env(SERVER_ENV, "1").stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    (child, line.trim().parse().unwrap())
}

/// CPU (user + system) this process has used so far.
fn cpu() -> Duration {
    let u = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let us = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    us(u.user_time()) + us(u.system_time())
}

fn engine_cpu(c: &mut Criterion, port: u16) {
    let mut g = c.benchmark_group("engine_cpu_per_request");
    g.throughput(Throughput::Elements(1)).sample_size(10).warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(8));
    let url = format!("http://127.0.0.1:{port}/");
    for (name, rate) in [("closed_h1_50conns", None), ("open_h1_5000", Some(5000.0)), ("open_h1_30000", Some(30000.0))]
    {
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let mut plan = RunPlan::new(vec![Target::get(&url).unwrap()]);
                plan.connections = 50;
                plan.threads = 1;
                plan.duration = None;
                plan.max_requests = Some(iters.max(50));
                if let Some(r) = rate {
                    plan.load = Load::Open(RateShape::Constant(r));
                }
                let before = cpu();
                let report = loadgen::run_blocking(plan.validate().unwrap()).unwrap();
                assert_eq!(report.stats.error_total(), 0);
                cpu() - before
            });
        });
    }
    g.finish();
}

fn main() {
    if std::env::var_os(SERVER_ENV).is_some() {
        serve();
        return;
    }
    let (mut server, port) = spawn_server();
    let mut c = Criterion::default().configure_from_args();
    engine_cpu(&mut c, port);
    c.final_summary();
    let _ = server.kill();
    let _ = server.wait();
}
