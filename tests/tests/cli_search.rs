//! `meshperf search` and `meshperf sweep` end to end: the real binary against servers of
//! known capacity on loopback (`meshperf_e2e::capacity`), with short steps (2 s after 0.5 s of
//! warm-up), few connections, and every run bounded in steps and time. Their rates and
//! latencies are real, so they run one at a time (`timing_`).

use std::time::Duration;

use meshperf_e2e::bin;
use meshperf_e2e::capacity::{CapacityServer, capacity_of};
use meshperf_e2e::worker::{InProcessWorker, TOKEN};
use smp::ResultDocument;
use smp::stepped::{Stepped, Stop};

const LIMIT: Duration = Duration::from_secs(60);
const SHORT: [&str; 4] = ["--step-duration", "2s", "--warmup", "500ms"];

fn ok(out: &std::process::Output, code: i32) -> (String, String) {
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
    assert_eq!(out.status.code(), Some(code), "stdout:\n{stdout}\nstderr:\n{stderr}");
    (stdout, stderr)
}

fn stepped(doc: &ResultDocument) -> &Stepped {
    doc.details.stepped.as_deref().expect("a stepped result")
}

/// A server that sheds load above 400 req/s with 503: the search climbs from 250 (passes) to
/// 500 (fails), then bisects to within 10%, and must land within 10% below 400 in at most 8
/// steps; `--min` decides the exit code.
#[test]
fn timing_search_finds_the_capacity_of_a_shedding_server() {
    let server = CapacityServer::shedding(400.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search.json");
    let mut args = vec!["search", "--from", "250", "--to", "4k", "--precision", "10%", "--max-steps", "8", "-c", "8"];
    args.extend(SHORT);
    let url = server.url();
    let path_text = path.to_string_lossy().to_string();
    args.extend([
        "--slo",
        "non-2xx<0.5%",
        "--slo",
        "p99<=100ms",
        "--min",
        "300",
        "--format",
        "json",
        "-o",
        &path_text,
        &url,
    ]);
    let (stdout, _) = ok(&bin::run(&args, LIMIT), 0);

    let doc = ResultDocument::load(&path).unwrap();
    let s = stepped(&doc);
    let max = s.answer.max_rate.expect("a rate passed");
    let failed = s.answer.failed_rate.expect("a rate failed");
    // Within 10% of the true capacity (the bucket's 50 ms burst lets a rate a few percent
    // above it pass a short step), and the bracket is as tight as asked.
    assert!((max - 400.0).abs() <= 40.0, "max {max}: {}", s.answer.sentence());
    assert!(failed > max && failed <= max * 1.1, "failed {failed}");
    assert_eq!(s.stop, Stop::Converged);
    assert!(s.steps.len() <= 8, "{} steps", s.steps.len());
    assert_eq!(s.steps[0].rate, 250.0);
    assert!(
        s.steps[0].passed && !s.steps[1].passed,
        "{:?}",
        s.steps.iter().map(|x| (x.rate, x.passed)).collect::<Vec<_>>()
    );
    assert!(s.answer.failed.iter().any(|f| f.starts_with("non-2xx")), "{:?}", s.answer.failed);
    assert_eq!(doc.details.target_rate, Some(max), "the top level is the answer's step");
    // Every step's line was printed as it finished, then the answer with its bracket.
    for step in &s.steps {
        assert!(stdout.contains(&format!("  {:>4} ", step.index)), "{stdout}");
    }
    assert!(stdout.contains(&s.answer.sentence()), "{stdout}");
    assert!(stdout.contains("capacity: ") && stdout.contains("at least the 300.0 required"), "{stdout}");

    // A capacity the service does not have: the first step already fails, exit 1.
    let mut args = vec!["search", "--from", "800", "--to", "1600", "-c", "8", "--slo", "non-2xx<0.5%", "--min", "500"];
    args.extend(SHORT);
    args.push(&url);
    let (stdout, _) = ok(&bin::run(&args, LIMIT), 1);
    assert!(stdout.contains("no rate passed: 800 failed non-2xx"), "{stdout}");
    assert!(stdout.contains("capacity: FAILED: 500.0 required, no rate passed"), "{stdout}");
}

/// One worker with 4 ms of service per request is a D/D/1 queue under an open-loop
/// generator: latency stays at the service time up to 1/4 ms = 250 req/s and grows without
/// bound above it, so the knee is the highest step below 250 (220: 88% load) and the step
/// above it (280) neither keeps up nor keeps its latency. `meshperf report` draws the curve.
#[test]
fn timing_sweep_finds_the_knee_of_a_single_worker_server() {
    let service = Duration::from_millis(4);
    let server = CapacityServer::single_worker(service);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sweep.json");
    let path_text = path.to_string_lossy().to_string();
    let url = server.url();
    let mut args = vec!["sweep", "--rates", "100,170,220,280,350"];
    args.extend(SHORT);
    args.extend(["-c", "20", "--slo", "p99<=25ms", "--format", "json", "-o", &path_text, &url]);
    let (stdout, _) = ok(&bin::run(&args, LIMIT), 0);
    let doc = ResultDocument::load(&path).unwrap();
    let s = stepped(&doc);
    assert_eq!((s.stop, s.steps.len()), (Stop::Swept, 5));
    assert!(doc.name().starts_with("meshperf sweep http://127.0.0.1:"), "{}", doc.name());
    let knee = s.knee.clone().expect("a knee");
    let capacity = capacity_of(service);
    assert!(knee.rate >= 0.8 * capacity && knee.rate < capacity, "knee {knee:?} for a capacity of {capacity}");
    assert_eq!(knee.rate, 220.0, "{stdout}");
    let above = s.steps.iter().find(|x| x.rate == 280.0).unwrap();
    let at_knee = s.steps.iter().find(|x| x.rate == 220.0).unwrap();
    assert!(above.achieved_rate < 0.95 * 280.0, "saturated: {}", above.achieved_rate);
    assert!(
        above.latency_ms.p99 > 5.0 * at_knee.latency_ms.p99,
        "{} vs {}",
        above.latency_ms.p99,
        at_knee.latency_ms.p99
    );
    assert!(
        at_knee.latency_ms.p50 >= 4.0 && at_knee.latency_ms.p50 < 6.0,
        "p50 is the service time: {}",
        at_knee.latency_ms.p50
    );
    assert_eq!(s.answer.max_rate, Some(220.0));
    assert!(stdout.contains("knee: 220.0 req/s"), "{stdout}");

    let chart = dir.path().join("sweep.svg");
    let out = bin::run(&["report", &path_text, "--chart", &chart.to_string_lossy()], LIMIT);
    let (stdout, _) = ok(&out, 0);
    assert!(stdout.contains("(sweep, 5 steps)") && stdout.contains("knee: 220.0 req/s"), "{stdout}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("Latency against throughput") && svg.contains("knee: 220 req/s"));
}

/// A sweep spread over two `meshperf worker`s: each step is a distributed run, and its result
/// merges both workers' shares.
#[test]
fn timing_sweep_over_workers() {
    let server = CapacityServer::shedding(10_000.0);
    let workers = [InProcessWorker::start(), InProcessWorker::start()];
    let list = workers.iter().map(InProcessWorker::address).collect::<Vec<_>>().join(",");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sweep.json");
    let path_text = path.to_string_lossy().to_string();
    let url = server.url();
    let mut args = vec!["sweep", "--rates", "100,200"];
    args.extend(SHORT);
    args.extend(["-c", "8", "--workers", &list, "--token", TOKEN, "--format", "json", "-o", &path_text, &url]);
    ok(&bin::run(&args, LIMIT), 0);
    let doc = ResultDocument::load(&path).unwrap();
    let s = stepped(&doc);
    assert_eq!(s.steps.iter().map(|x| x.rate).collect::<Vec<_>>(), [100.0, 200.0]);
    assert!(s.steps.iter().all(|x| x.passed), "{:?}", s.steps.iter().map(|x| &x.failed).collect::<Vec<_>>());
    assert_eq!(doc.details.workers.as_ref().map(Vec::len), Some(2), "the top level is a merged distributed result");
    let served = server.ok.load(std::sync::atomic::Ordering::Relaxed);
    assert!(served >= 500, "about (100 + 200) × 2.5 s sent, {served} served");
}

#[test]
fn stepped_flags_are_checked() {
    for (args, needle) in [
        (vec!["search", "-r", "10", "http://127.0.0.1:9/"], "--rate is not for a stepped run"),
        (vec!["search", "--gate", "p99<=1ms", "http://127.0.0.1:9/"], "judged against --slo"),
        (vec!["search", "--from", "0", "http://127.0.0.1:9/"], "invalid value for --from"),
        (vec!["search", "--step-duration", "1s", "http://127.0.0.1:9/"], "invalid value for --step-duration"),
        (vec!["search", "--slo", "p99<=fast", "http://127.0.0.1:9/"], "invalid value for --slo"),
        (vec!["sweep", "--rates", "1k..2k", "http://127.0.0.1:9/"], "invalid value for --rates"),
        (vec!["search", "-c", "0", "http://127.0.0.1:9/"], "invalid value for --connections"),
        (vec!["search"], "no target URL"),
    ] {
        let out = bin::run(&args, LIMIT);
        let (_, stderr) = ok(&out, 2);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}
