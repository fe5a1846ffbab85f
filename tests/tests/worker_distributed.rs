//! Distributed runs over three workers on loopback: counts add up, merged percentiles equal
//! those of one histogram fed every value, cancel reaches every worker, and a worker killed
//! mid-run leaves a partial result with what the others measured.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loadgen::{LatencyHistogram, Load, Phase, RateShape, RunPlan, Snapshot, Target};
use meshperf_e2e::server::TestServer;
use meshperf_e2e::wait_for;
use meshperf_e2e::worker::{InProcessWorker, TOKEN, WorkerProcess};
use server::perf::distributed::{DistributedCancel, DistributedOptions, WorkerStatus, client, run_distributed};
use server::perf::grpc::proto::CapabilitiesRequest;
use smp::RunMeta;

const LIMIT: Duration = Duration::from_secs(60);

fn plan(url: &str) -> RunPlan {
    let mut p = RunPlan::new(vec![Target::get(url).unwrap()]);
    p.connections = 6;
    p.timeout = Duration::from_secs(2);
    p
}

fn options(workers: &[String]) -> DistributedOptions {
    let mut o = DistributedOptions::new(workers.to_vec(), TOKEN, RunMeta::new("distributed e2e"));
    o.start_delay = Duration::from_millis(800);
    o
}

/// One histogram fed every recorded value of `parts` (value by value, not merged).
fn fed_every_value(parts: &[&LatencyHistogram]) -> LatencyHistogram {
    let mut one = LatencyHistogram::new();
    for h in parts {
        for (value, count) in h.buckets() {
            for _ in 0..count {
                one.record_us(value);
            }
        }
    }
    one
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_add_up_and_merge_exactly() {
    let target = TestServer::plain();
    let workers: Vec<InProcessWorker> = (0..3).map(|_| InProcessWorker::start()).collect();
    let addresses: Vec<String> = workers.iter().map(InProcessWorker::address).collect();
    let mut p = plan(&target.url("/"));
    p.load = Load::Open(RateShape::Constant(300.0));
    p.duration = Some(Duration::from_secs(2));
    let snaps = Arc::new(Mutex::new(Vec::<Snapshot>::new()));
    let seen = snaps.clone();
    let run = run_distributed(p.validate().unwrap(), options(&addresses), DistributedCancel::new(), move |s| {
        seen.lock().unwrap().push(s.clone());
    });
    let r = tokio::time::timeout(LIMIT, run).await.expect("bounded").expect("run succeeds");

    assert!(!r.partial);
    assert!(r.workers.iter().all(|w| w.status == WorkerStatus::Finished), "{:?}", r.workers);
    let doc = &r.document;
    // Counts add up: workers → merged report → document → what the server served.
    let per_worker: u64 = r.workers.iter().map(|w| w.requests).sum();
    assert_eq!(per_worker, r.report.stats.finished());
    assert_eq!(doc.details.requests, per_worker);
    assert_eq!(r.report.stats.error_total(), 0, "{:?}", r.report.stats.error_kinds());
    assert!(r.workers.iter().all(|w| w.requests > 0), "every worker sent load");
    // The shards add up to the rate exactly: 300/s for 2 s is 600 requests planned.
    assert_eq!(doc.details.planned, Some(600));
    assert!((570..=600).contains(&per_worker), "{per_worker} of 600 planned requests");
    let served = wait_for(Duration::from_secs(5), || {
        let n = target.control.served.load(Ordering::Relaxed);
        (n >= r.report.stats.responses).then_some(n)
    });
    assert!(served.is_some(), "the target served every counted response");
    // Merged percentiles equal those of one histogram fed every value.
    let parts: Vec<&LatencyHistogram> = r.workers.iter().map(|w| &w.stats.latency).collect();
    let one = fed_every_value(&parts);
    assert_eq!(one.len(), r.report.stats.latency.len());
    for q in [50.0, 75.0, 90.0, 99.0, 99.9, 100.0] {
        assert_eq!(r.report.stats.latency.percentile_us(q), one.percentile_us(q), "p{q}");
    }
    assert_eq!(doc.details.latency_ms.p99, one.percentile_us(99.0) as f64 / 1000.0);
    let merged_doc = LatencyHistogram::from_base64(&doc.details.histograms.latency).unwrap();
    assert_eq!(merged_doc, r.report.stats.latency);
    // Per-worker breakdown, named by address.
    let breakdown = doc.details.workers.as_ref().expect("details.workers");
    let names: Vec<&str> = breakdown.iter().map(|w| w.worker.as_str()).collect();
    assert_eq!(names, addresses.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(breakdown.iter().map(|w| w.requests).sum::<u64>(), per_worker);
    // Merged progress: the measured snapshots add up to the total, in order.
    let snaps = snaps.lock().unwrap();
    let measured: u64 = snaps.iter().filter(|s| s.phase != Phase::Warmup).map(|s| s.interval.finished()).sum();
    assert_eq!(measured, per_worker);
    assert_eq!(snaps.last().map(|s| s.total_responses), Some(r.report.stats.responses));
    assert!(snaps.windows(2).all(|w| w[0].elapsed <= w[1].elapsed));
    assert_eq!(doc.details.series.iter().map(|s| s.requests).sum::<u64>(), per_worker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_every_worker() {
    let target = TestServer::plain();
    let workers: Vec<InProcessWorker> = (0..3).map(|_| InProcessWorker::start()).collect();
    let addresses: Vec<String> = workers.iter().map(InProcessWorker::address).collect();
    let mut p = plan(&target.url("/"));
    p.load = Load::Open(RateShape::Constant(150.0));
    p.duration = Some(Duration::from_secs(30));
    let cancel = DistributedCancel::new();
    let trigger = cancel.clone();
    let began = Instant::now();
    let run = run_distributed(p.validate().unwrap(), options(&addresses), cancel, move |s| {
        if s.phase == Phase::Measuring && s.elapsed >= Duration::from_secs(1) {
            trigger.cancel();
        }
    });
    let r = tokio::time::timeout(LIMIT, run).await.expect("bounded").expect("run returns a result");
    assert!(began.elapsed() < Duration::from_secs(15), "cancelled run took {:?}", began.elapsed());
    assert!(r.workers.iter().all(|w| w.status == WorkerStatus::Cancelled), "{:?}", r.workers);
    assert!(r.document.details.cancelled && r.report.cancelled);
    assert!(!r.partial);
    assert!(r.report.stats.finished() > 0);
    // No load goes out any more, and every worker is free again.
    let settled = target.control.served.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(target.control.served.load(Ordering::Relaxed), settled, "load continued after cancel");
    for a in &addresses {
        let auth = client::BearerAuth::new(TOKEN).unwrap();
        let mut c = client::connect(a, auth, Duration::from_secs(5)).await.unwrap();
        let caps = c.capabilities(CapabilitiesRequest {}).await.unwrap().into_inner();
        assert_eq!(caps.runs_in_progress, 0, "worker {a} still busy");
    }
}

/// Uses the real `meshperf worker` binary: one worker is killed with SIGKILL mid-run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_gives_a_partial_result() {
    let target = TestServer::plain();
    let workers: Vec<WorkerProcess> = (0..3).map(|_| WorkerProcess::spawn(&[])).collect();
    let addresses: Vec<String> = workers.iter().map(WorkerProcess::address).collect();
    let victim = Arc::new(Mutex::new(Some(workers)));
    let mut p = plan(&target.url("/"));
    p.load = Load::Open(RateShape::Constant(150.0));
    p.duration = Some(Duration::from_secs(4));
    let killer = victim.clone();
    let run = run_distributed(p.validate().unwrap(), options(&addresses), DistributedCancel::new(), move |s| {
        if s.phase == Phase::Measuring && s.elapsed >= Duration::from_secs(1) {
            if let Some(ws) = killer.lock().unwrap().as_mut() {
                ws[2].kill();
            }
        }
    });
    let r = tokio::time::timeout(LIMIT, run).await.expect("bounded").expect("a partial result");
    assert!(r.partial && r.document.details.partial);
    assert!(matches!(r.workers[2].status, WorkerStatus::Lost { .. }), "{:?}", r.workers[2].status);
    assert_eq!(r.workers[0].status, WorkerStatus::Finished);
    assert_eq!(r.workers[1].status, WorkerStatus::Finished);
    assert_eq!(r.document.labels.get("lost_workers"), Some(&addresses[2]));
    // What the survivors measured is all there, and the totals still add up.
    let total: u64 = r.workers.iter().map(|w| w.requests).sum();
    assert_eq!(total, r.report.stats.finished());
    assert_eq!(r.document.details.requests, total);
    assert!(r.workers[0].requests >= 180, "survivor ran its whole share: {}", r.workers[0].requests);
    assert!(r.workers[2].requests < r.workers[0].requests);
    // What the lost worker reported before it went (it ran a second or more) is kept, and its
    // status reads as a sentence, not Rust's debug form.
    assert!(r.workers[2].requests > 0, "the lost worker's reported requests are kept");
    let shown = r.workers[2].status.to_string();
    assert!(shown.starts_with("lost: its connection broke"), "{shown}");
    let breakdown = r.document.details.workers.as_ref().unwrap();
    assert!(breakdown[2].partial && !breakdown[0].partial);
}

/// `meshperf run --workers -n 50` (the token from the environment) finishes its 50 requests and
/// reports the rate over the time they took, not over a default duration; and an exported
/// token does not get in the way of a plain local run.
#[test]
fn a_counted_run_over_workers_reports_its_real_rate() {
    let target = TestServer::plain();
    let (a, b) = (WorkerProcess::spawn(&[]), WorkerProcess::spawn(&[]));
    let workers = format!("{},{}", a.address(), b.address());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(meshperf_e2e::bin::meshperf())
            .args(args)
            .env("MESHPERF_WORKER_TOKEN", TOKEN)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("meshperf runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("a result document")
    };
    let url = target.url("/");
    let doc = run(&["run", "--workers", &workers, "-n", "50", "-c", "2", "--format", "json", &url]);
    assert_eq!(doc["details"]["requests"], 50, "{doc}");
    let (qps, window) = (doc["actual_qps"].as_f64().unwrap(), doc["details"]["duration_s"].as_f64().unwrap());
    assert!(window > 0.0 && window < 10.0, "window {window} s");
    assert!((qps * window - 50.0).abs() < 1.0, "{qps} req/s over {window} s is not 50 requests");
    let local = run(&["run", "-n", "10", "-c", "1", "--format", "json", &url]);
    assert_eq!(local["details"]["requests"], 10);
}
