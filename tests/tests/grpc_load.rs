//! `meshperf run grpc://...` as a user runs it: the real binary against a tonic server on
//! loopback, with the service's `.proto`, with the server's reflection service, and the health
//! check with no proto at all; calls counted by gRPC status. Every run is bounded by a request
//! count and a duration, and the process by [`LIMIT`].

use std::sync::atomic::Ordering;
use std::time::Duration;

use meshperf_e2e::bin;
use meshperf_e2e::grpc::{GrpcServer, greeter_proto};
use meshperf_e2e::worker::{InProcessWorker, TOKEN};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

/// Runs `meshperf run ARGS --format json` and returns the exit code, the result and stderr.
fn run_json(args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["run", "--format", "json", "-d", "20s"];
    all.extend_from_slice(args);
    let out = bin::run(&all, LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {}\nstderr {stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), doc, stderr)
}

#[test]
fn unary_calls_with_a_proto_file() {
    let server = GrpcServer::start();
    let proto = greeter_proto();
    let (code, doc, stderr) = run_json(&[
        "--call",
        "demo.Greeter/Hello",
        "--proto",
        proto.to_str().unwrap(),
        "--data",
        r#"{"name": "e2e", "at": "2024-01-01T00:00:00Z"}"#,
        "--metadata",
        "x-tenant=t1",
        "-n",
        "300",
        "-c",
        "2",
        "--h2-streams",
        "4",
        &server.url(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let d = &doc["details"];
    assert_eq!(d["grpc_status_codes"], json!({"OK": 300}), "{d}");
    assert_eq!((d["requests"].as_u64(), d["successful"].as_u64()), (Some(300), Some(300)), "{d}");
    assert_eq!(server.control.hello_calls.load(Ordering::Relaxed), 300);
    assert_eq!(server.control.last_name().as_deref(), Some("e2e"));
    assert_eq!(server.control.last_tenant().as_deref(), Some("t1"));
    assert_eq!(doc["labels"]["url"], format!("{}/demo.Greeter/Hello", server.url()));
}

#[test]
fn open_loop_stages_of_calls() {
    let server = GrpcServer::start();
    let out = bin::run(
        &[
            "run",
            "--call",
            "grpc.health.v1.Health/Check",
            "--stages",
            "500ms@100,500ms@200",
            "-n",
            "1000",
            "-c",
            "2",
            &server.url(),
        ],
        LIMIT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for needle in ["gRPC unary calls on HTTP/2", "gRPC status", "OK", "open loop, 2 stages"] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let served = server.control.health_checks.load(Ordering::Relaxed);
    assert!((140..=160).contains(&served), "about 50 + 100 calls, got {served}");
}

#[test]
fn unary_calls_with_reflection() {
    let server = GrpcServer::with_reflection();
    let (code, doc, stderr) = run_json(&[
        "--call",
        "demo.Greeter/Hello",
        "--data",
        r#"{"name": "reflected", "at": "2024-01-01T00:00:00Z"}"#,
        "-n",
        "100",
        "-c",
        "1",
        &server.url(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(doc["details"]["grpc_status_codes"], json!({"OK": 100}));
    assert_eq!(server.control.last_name().as_deref(), Some("reflected"));

    // Without reflection and without a proto, the user is told what to give.
    let plain = GrpcServer::start();
    let out = bin::run(&["run", "--call", "demo.Greeter/Hello", "-n", "10", &plain.url()], LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("reflection") && stderr.contains("--proto"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(plain.control.hello_calls.load(Ordering::Relaxed), 0);
}

#[test]
fn the_health_check_needs_no_proto() {
    let server = GrpcServer::start();
    let (code, doc, stderr) =
        run_json(&["--call", "grpc.health.v1.Health/Check", "-n", "50", "-c", "1", &server.url()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(doc["details"]["grpc_status_codes"], json!({"OK": 50}));
    assert_eq!(server.control.health_checks.load(Ordering::Relaxed), 50);
    // The URL's path may name the call.
    let url = format!("{}/grpc.health.v1.Health/Check", server.url());
    let (code, doc, _) = run_json(&["-n", "20", "-c", "1", &url]);
    assert_eq!((code, &doc["details"]["grpc_status_codes"]), (Some(0), &json!({"OK": 20})));
}

#[test]
fn status_codes_and_transport_errors_are_counted() {
    let server = GrpcServer::start();
    let proto = greeter_proto();
    let (code, doc, stderr) = run_json(&[
        "--call",
        "demo.Greeter/Hello",
        "--proto",
        proto.to_str().unwrap(),
        "--data",
        r#"{"fail_every": 4}"#,
        "-n",
        "100",
        "-c",
        "2",
        "--gate",
        "errors<50%",
        &server.url(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let d = &doc["details"];
    assert_eq!(d["grpc_status_codes"], json!({"OK": 75, "UNAVAILABLE": 25}), "{d}");
    assert_eq!(d["grpc_messages"]["UNAVAILABLE"], "shedding load", "{d}");
    assert_eq!(d["successful"], 75);

    // Nothing listens: connection errors, and no call got an OK status.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("grpc://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = bin::run(
        &["run", "--call", "grpc.health.v1.Health/Check", "-d", "300ms", "-c", "1", "--format", "json", &url],
        LIMIT,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no call got an OK status"), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["details"]["error_kinds"]["connect_refused"].as_u64() > Some(0), "{}", doc["details"]);
}

#[test]
fn bad_input_is_one_sentence_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.proto");
    std::fs::write(&broken, "syntax = \"proto3\";\nmessage {").unwrap();
    let proto = greeter_proto();
    let proto = proto.to_str().unwrap();
    let url = "grpc://127.0.0.1:1";
    for (args, needle) in [
        (vec!["--call", "demo.Greeter/Hello", "--proto", broken.to_str().unwrap(), url], "--proto"),
        (vec!["--call", "demo.Greeter/Hello", "--proto", "/nonexistent/x.proto", url], "--proto"),
        (vec!["--call", "demo.Greeter/Nope", "--proto", proto, url], "--call"),
        (vec!["--call", "demo.Nope/Hello", "--proto", proto, url], "--call"),
        (vec!["--call", "Hello", "--proto", proto, url], "--call"),
        (vec!["--call", "demo.Greeter/Hello", "--proto", proto, "--data", "{nope", url], "--data"),
        (vec!["--call", "demo.Greeter/Hello", "--proto", proto, "--data", r#"{"nme": 1}"#, url], "--data"),
        (vec!["--call", "demo.Greeter/Hello", "--proto", proto, "--metadata", "novalue", url], "--metadata"),
        (vec!["--call", "demo.Greeter/Hello", "--proto", proto, "--metadata", "te=x", url], "--metadata"),
        (vec!["--call", "demo.Greeter/Hello", "--proto", proto, "http://127.0.0.1:1/"], "grpc://"),
        (vec!["--call", "grpc.health.v1.Health/Check", "-b", "x", url], "--body"),
    ] {
        let mut all = vec!["run", "-n", "1"];
        all.extend(args.iter().copied());
        let out = bin::run(&all, LIMIT);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?} should name {needle}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn calls_spread_over_workers() {
    let server = GrpcServer::start();
    let (a, b) = (InProcessWorker::start(), InProcessWorker::start());
    let workers = format!("{},{}", a.address(), b.address());
    let (code, doc, stderr) = run_json(&[
        "--call",
        "demo.Greeter/Hello",
        "--proto",
        greeter_proto().to_str().unwrap(),
        "--data",
        r#"{"name": "w", "fail_every": 10}"#,
        "-n",
        "200",
        "-c",
        "2",
        "--workers",
        &workers,
        "--token",
        TOKEN,
        &server.url(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let d = &doc["details"];
    assert_eq!(d["grpc_status_codes"], json!({"OK": 180, "UNAVAILABLE": 20}), "{d}");
    assert_eq!(server.control.hello_calls.load(Ordering::Relaxed), 200);
}
