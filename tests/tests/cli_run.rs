//! `meshperf run` as a user runs it: the real binary against a test server on loopback.

use std::time::Duration;

use meshperf_e2e::bin;
use meshperf_e2e::server::TestServer;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn bad_input_is_one_sentence_and_exit_2() {
    for args in [
        vec!["run"],
        vec!["run", "ftp://127.0.0.1/"],
        vec!["run", "-c", "0", "http://127.0.0.1:1/"],
        vec!["run", "-r", "0", "http://127.0.0.1:1/"],
        vec!["run", "-d", "ten", "http://127.0.0.1:1/"],
        vec!["run", "--ramp", "5", "-d", "1s", "http://127.0.0.1:1/"],
        vec!["run", "--body-file", "/nonexistent/file", "http://127.0.0.1:1/"],
        vec!["run", "--cacert", "/nonexistent/ca.pem", "https://127.0.0.1:1/"],
        vec!["run", "--no-such-flag", "http://127.0.0.1:1/"],
    ] {
        let out = bin::run(&args, LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = bin::run(&["run", "-c", "0", "http://127.0.0.1:1/"], LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--connections"), "{stderr}");
}

#[test]
fn json_result_is_an_smp_result_with_details() {
    let server = TestServer::plain();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("result.json");
    let out = bin::run(
        &[
            "run",
            "-n",
            "500",
            "-c",
            "4",
            "--format",
            "json",
            "-o",
            file.to_str().unwrap(),
            "--label",
            "team=perf",
            &server.url("/"),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "the result went to the file");
    assert!(out.stderr.is_empty(), "no progress line when stdout is not a terminal");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(doc["smp_version"].as_str().unwrap().starts_with('v'));
    assert!(!doc["id"].as_str().unwrap().is_empty());
    assert_eq!(doc["labels"]["team"], "perf");
    assert!(doc["start_time"].as_str().unwrap().ends_with('Z'));
    assert!(doc["end_time"].is_string());
    for k in ["min", "average", "p50", "p90", "p99", "max"] {
        assert!(doc["latencies_ms"][k].as_f64().unwrap() > 0.0, "latencies_ms.{k}");
    }
    assert!(doc["actual_qps"].as_f64().unwrap() > 0.0);
    let d = &doc["details"];
    assert_eq!(d["requests"], 500);
    assert_eq!(d["errors"], 0);
    assert_eq!(d["status_codes"]["200"], 500);
    assert!(d["error_kinds"].as_object().unwrap().is_empty());
    for h in ["latency_ms", "service_time_ms", "send_lag_ms"] {
        for k in ["p50", "p90", "p99", "p99_9", "max"] {
            assert!(d[h][k].is_number(), "details.{h}.{k}");
        }
    }
    assert!(d["latency_ms"]["p50"].as_f64().unwrap() <= d["latency_ms"]["p99_9"].as_f64().unwrap());
}

#[test]
fn text_summary_has_the_percentile_table() {
    let server = TestServer::plain();
    let out = bin::run(&["run", "-r", "200", "-d", "1s", "-c", "2", &server.url("/")], LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "p50",
        "p75",
        "p90",
        "p99",
        "p99.9",
        "p99.99",
        "max",
        "from each request's due time",
        "Service time",
        "Send lag",
        "achieved",
        "200",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn unreachable_target_is_errors_by_kind_not_a_crash() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out =
        bin::run(&["run", "-d", "500ms", "-c", "2", "--format", "json", &format!("http://127.0.0.1:{port}/")], LIMIT);
    // Not a crash, but no request succeeded: exit 1, as for a failed gate.
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["details"]["error_kinds"]["connect_refused"].as_u64().unwrap() > 0, "{}", doc["details"]);
    assert_eq!(doc["details"]["responses"], 0);
    assert_eq!(doc["details"]["requests"], doc["details"]["errors"], "every finished request failed");
}

#[test]
fn headers_cookies_and_body_reach_the_target() {
    let server = TestServer::plain();
    let out = bin::run(
        &[
            "run",
            "-n",
            "3",
            "-c",
            "1",
            "-m",
            "PUT",
            "-H",
            "X-Env: ci",
            "--cookie",
            "s=1",
            "--cookie",
            "t=2",
            "-b",
            "{\"k\":1}",
            "--content-type",
            "application/json",
            &server.url("/items"),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = server.control.last_request().unwrap();
    assert!(seen.starts_with("PUT /items"), "{seen}");
    for needle in ["x-env: ci", "cookie: s=1; t=2", "content-type: application/json", "{\"k\":1}"] {
        assert!(seen.contains(needle), "missing {needle:?} in {seen}");
    }
}
