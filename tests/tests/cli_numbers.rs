//! The numbers `meshperf run` reports, read as a performance engineer reads them: the real
//! binary against test servers on loopback, every run bounded in time and requests.

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use meshperf_e2e::server::TestServer;
use meshperf_e2e::{bin, wait_for};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

fn json_run(args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    let out = bin::run(&all, LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (out.status.code(), doc, stderr)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn a_5_s_run_has_5_points_and_no_rate_above_twice_the_mean() {
    let server = TestServer::plain();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let (code, doc, err) = json_run(&["-d", "5s", "-c", "4", "-t", "2", &server.url("/")]);
    assert_eq!(code, Some(0), "{err}");
    std::fs::write(&file, doc.to_string()).unwrap();
    let d = &doc["details"];
    let series = d["series"].as_array().unwrap();
    assert_eq!(series.len(), 5, "{series:#?}");
    let mean = f(&d["achieved_rate"]);
    assert!(mean > 100.0, "achieved {mean}");
    for (i, p) in series.iter().enumerate() {
        assert!((f(&p["second"]) - (i + 1) as f64).abs() < 1e-9, "{p}");
        assert!(f(&p["rate"]) <= 2.0 * mean, "point {i}: {} req/s against a mean of {mean}", p["rate"]);
    }
    // The series holds exactly what finished in the window; the rate is its mean.
    let in_series: u64 = series.iter().map(|p| p["requests"].as_u64().unwrap()).sum();
    let in_window = d["requests"].as_u64().unwrap() - d["after_window"].as_u64().unwrap();
    assert_eq!(in_series, in_window);
    assert!((f(&d["request_rate"]) - in_window as f64 / 5.0).abs() < 1e-6);
    // The CSV export carries the same 5 rows, rounded.
    let out = bin::run(&["export", file.to_str().unwrap(), "--format", "csv"], LIMIT);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(csv.lines().count(), 6, "{csv}");
    for row in csv.lines().skip(1) {
        let rate = row.split(',').nth(3).unwrap();
        assert!(rate.split('.').nth(1).is_none_or(|d| d.len() <= 2), "{row}");
    }
}

#[test]
fn an_all_errors_run_achieves_nothing_shows_no_latency_and_fails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/");
    let out = bin::run(&["run", "-r", "200", "-d", "1s", "-c", "2", &url], LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "no request succeeded: {text}{err}");
    assert!(err.contains("no request got a successful"), "{err}");
    for needle in ["Successful", "achieved 0.0 req/s", "achieved 0.00%", "100.00%", "none: no response arrived"] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("p50"), "no latency table without responses:\n{text}");
    let (_, doc, _) = json_run(&["-r", "200", "-d", "1s", "-c", "2", &url]);
    assert_eq!(f(&doc["actual_qps"]), 0.0);
    assert_eq!(doc["details"]["successful"], 0);
    assert_eq!(doc["details"]["responses"], 0);
}

#[test]
fn unsent_requests_are_in_the_corrected_latency_as_a_lower_bound() {
    // 10/s for 4 s against a 2 s service with 2 connections: about 4 are sent, 36 never are.
    let server = TestServer::plain();
    let (_, doc, err) = json_run(&["-r", "10", "-d", "4s", "-c", "2", "-t", "1", &server.url("/sleep/2000")]);
    let d = &doc["details"];
    let unsent = d["unsent"].as_u64().unwrap();
    assert!(unsent >= 30, "{d}: {err}");
    assert_eq!(d["latency_ms"]["count"].as_u64().unwrap(), d["responses"].as_u64().unwrap() + unsent);
    assert_eq!(d["latency_lower_bound"], true);
    // Half the due requests waited more than a second: the median shows it.
    assert!(f(&d["latency_ms"]["p50"]) >= 1000.0, "{}", d["latency_ms"]);
    assert!(f(&d["service_time_ms"]["p50"]) >= 1900.0);
    let out = bin::run(&["run", "-r", "10", "-d", "2s", "-c", "1", "-t", "1", &server.url("/sleep/1500")], LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Latency ≥") && text.contains("lower bounds"), "{text}");
}

#[test]
fn requests_that_finish_after_the_window_are_not_in_its_rate() {
    // Closed loop, 2 connections, a 2 s service, a 3 s window: 2 finish at 2 s, 2 at 4 s.
    let server = TestServer::plain();
    let (code, doc, err) = json_run(&["-d", "3s", "-c", "2", "-t", "1", &server.url("/sleep/2000")]);
    assert_eq!(code, Some(0), "{err}");
    let d = &doc["details"];
    assert_eq!((d["requests"].as_u64(), d["after_window"].as_u64()), (Some(4), Some(2)), "{d}");
    assert_eq!(f(&d["duration_s"]), 3.0);
    assert!((f(&d["achieved_rate"]) - 2.0 / 3.0).abs() < 1e-9, "{}", d["achieved_rate"]);
    let series = d["series"].as_array().unwrap();
    assert_eq!(series.len(), 3);
    assert_eq!(series.iter().map(|p| p["requests"].as_u64().unwrap()).sum::<u64>(), 2);
    // All four waited 2 s: the late ones are in the latency.
    assert_eq!(d["latency_ms"]["count"], 4);
}

#[test]
fn ctrl_c_exits_130_and_still_reports() {
    let server = TestServer::plain();
    let child = Command::new(bin::meshperf())
        .args(["run", "-d", "30s", "-c", "2", "-t", "1", &server.url("/")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let control = server.control.clone();
    wait_for(Duration::from_secs(20), || (control.served.load(Ordering::Relaxed) > 100).then_some(()))
        .expect("the run started");
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let pid = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    let out = wait_for(Duration::from_secs(20), || waiter.is_finished().then_some(()))
        .map(|()| waiter.join().unwrap())
        .unwrap_or_else(|| {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("meshperf did not stop after SIGINT");
        });
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("(cancelled)") && text.contains("Requests"), "{text}");
}

#[test]
fn p95_is_in_the_text_the_json_the_gates_and_compare() {
    let server = TestServer::plain();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let path = file.to_str().unwrap();
    let out = bin::run(
        &["run", "-n", "300", "-c", "2", "--format", "json", "-o", path, "--gate", "p95<=10s", &server.url("/")],
        LIMIT,
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{md}{}", String::from_utf8_lossy(&out.stderr));
    assert!(md.contains("`p95<=10s`"), "{md}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let l = &doc["details"]["latency_ms"];
    assert!(f(&l["p95"]) > 0.0 && f(&l["p90"]) <= f(&l["p95"]) && f(&l["p95"]) <= f(&l["p99"]), "{l}");
    let out = bin::run(&["compare", path, path, "--max-regression", "p95=10%"], LIMIT);
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{md}{}", String::from_utf8_lossy(&out.stderr));
    assert!(md.contains("p95"), "{md}");
    let out = bin::run(&["run", "-n", "300", "-c", "2", &server.url("/")], LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["min", "mean", "stdev", "p95", "p99.99"] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // Closed loop: latency is the service time, printed once.
    assert!(!text.contains("Service time"), "{text}");
}

#[test]
fn a_self_signed_ca_certificate_given_as_cacert_is_trusted_and_a_wrong_one_says_why() {
    let cert = meshperf_e2e::tls::SelfSigned::new();
    let server = TestServer::tls(cert.server_config());
    let url = server.url("/");
    let out = bin::run(&["run", "-n", "20", "-c", "1", "--cacert", cert.pem.to_str().unwrap(), &url], LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Successful                20   100.00%"), "{text}");
    // Another certificate: every request fails as `tls`, and the summary and details say why.
    let other = meshperf_e2e::tls::SelfSigned::new();
    let out = bin::run(&["run", "-n", "5", "-c", "1", "--cacert", other.pem.to_str().unwrap(), &url], LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("tls") && text.contains("invalid peer certificate"), "{text}");
    let (_, doc, _) = json_run(&["-n", "5", "-c", "1", "--cacert", other.pem.to_str().unwrap(), &url]);
    let why = doc["details"]["error_messages"]["tls"].as_str().unwrap_or_default();
    assert_eq!(why, "invalid peer certificate: UnknownIssuer", "{}", doc["details"]);
}

#[test]
fn small_things_read_right() {
    let out = bin::run(&["run", "-r", "-5", "http://127.0.0.1:1/"], LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("must be above 0") && !err.contains("-- -5"), "{err}");
    let server = TestServer::plain();
    let out = bin::run(&["run", "--http2", "-n", "20", "-c", "1", &server.url("/")], LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HTTP/2 (1 stream/conn)"), "{text}");
    assert!(!text.contains("Unsent"), "{text}");
    // Logs written to a file or pipe carry no colour codes; the first error of a kind is logged.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = format!("http://127.0.0.1:{port}/");
    let out = bin::run(&["run", "--log", "debug", "-n", "3", "-c", "1", &closed], LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("first error of this kind") && !err.contains('\u{1b}'), "{err}");
    // A connect error says each of its messages once.
    let worker = format!("127.0.0.1:{port}");
    let out = bin::run(&["run", "--workers", &worker, "--token", "t", "-n", "1", &server.url("/")], LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("Connection refused") && !err.contains("tcp connect error: tcp connect error"), "{err}");
}
