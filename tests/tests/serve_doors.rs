//! Every door of `meshperf serve` is locked and bounded the same way, through the real binary:
//! the adapter without a credential sends nothing; a deeply nested body is refused at once
//! while health checks stay fast; ramps, stages and closed loop above the ceilings are refused
//! on every door; a stalled run ends at its wall-time ceiling and cancel ends it within a
//! second; nothing is written under the temp dir for a caller; the database is owner-only; a
//! run from each door lands in the REST run list with its result.

use std::time::{Duration, Instant};

use http::Method;
use meshperf_e2e::serve::{Backend, ServerHome, ServerProcess, encode};
use meshperf_e2e::server::TestServer;
use meshperf_e2e::silent::SilentServer;
use server::adapters::RUN_TEST_OP;
use server::adapters::proto::mesh_service_client::MeshServiceClient;
use server::adapters::proto::{self as meshes};
use server::perf::grpc::convert;
use server::perf::grpc::proto::perf_service_client::PerfServiceClient;
use server::perf::grpc::proto::{self as perf};
use tonic::Code;

const LIMIT: Duration = Duration::from_secs(60);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn with<T>(msg: T, token: Option<&str>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(t) = token {
        r.metadata_mut().insert("authorization", format!("Bearer {t}").parse().expect("metadata"));
    }
    r
}

async fn mesh(server: &ServerProcess) -> MeshServiceClient<tonic::transport::Channel> {
    let addr = server.grpc.as_ref().expect("gRPC address");
    MeshServiceClient::connect(format!("http://{addr}")).await.expect("connects")
}

async fn perf_client(server: &ServerProcess) -> PerfServiceClient<tonic::transport::Channel> {
    let addr = server.grpc.as_ref().expect("gRPC address");
    PerfServiceClient::connect(format!("http://{addr}")).await.expect("connects")
}

fn apply(body: String) -> meshes::ApplyRuleRequest {
    meshes::ApplyRuleRequest { op_name: RUN_TEST_OP.into(), custom_body: body, ..Default::default() }
}

/// A wire plan of `load` against `url` for `d`.
fn wire(url: &str, load: loadgen::Load, connections: u32, d: Duration) -> perf::RunRequest {
    let mut plan = loadgen::RunPlan::new(vec![loadgen::Target::get(url).expect("url")]);
    plan.load = load;
    plan.connections = connections;
    plan.threads = 1;
    plan.duration = Some(d);
    perf::RunRequest { plan: Some(convert::plan_to_proto(&plan)), name: "wire".into(), ..Default::default() }
}

fn smp_body(url: &str, client: &str) -> String {
    format!("test:\n  name: doors\n  duration: 1s\n  clients:\n  - endpoint_urls: [\"{url}\"]\n{client}")
}

/// Without a credential, no door of port 10013 runs, reads or cancels anything, and the target
/// never sees a connection (the hole: the adapter skipped the check when no header was sent).
#[test]
fn adapter_and_perf_doors_need_a_credential_and_send_nothing_without_one() {
    let target = SilentServer::start();
    let home = ServerHome::new(Backend::Sqlite);
    let server = home.start();
    let token = server.local_token();
    let rt = runtime();
    rt.block_on(async {
        let mut m = mesh(&server).await;
        let body = smp_body(
            &target.url("/admin/users"),
            "    connections: 1\n    rps: 5\n    additional_options: {method: DELETE}\n",
        );
        for bad in [None, Some("not-the-token")] {
            let err = m.apply_operation(with(apply(body.clone()), bad)).await.unwrap_err();
            assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
            let mut delete = apply(String::new());
            delete.delete_op = true;
            assert_eq!(m.apply_operation(with(delete, bad)).await.unwrap_err().code(), Code::Unauthenticated);
            let err = m.stream_events(with(meshes::EventsRequest {}, bad)).await.unwrap_err();
            assert_eq!(err.code(), Code::Unauthenticated);
            let mut p = perf_client(&server).await;
            let req = wire(
                &target.url("/"),
                loadgen::Load::Open(loadgen::RateShape::Constant(5.0)),
                1,
                Duration::from_secs(1),
            );
            assert_eq!(p.run(with(req, bad)).await.unwrap_err().code(), Code::Unauthenticated);
            let cancel = perf::CancelRequest { run_id: "x".into() };
            assert_eq!(p.cancel(with(cancel, bad)).await.unwrap_err().code(), Code::Unauthenticated);
            let caps = p.capabilities(with(perf::CapabilitiesRequest {}, bad)).await.unwrap_err();
            assert_eq!(caps.code(), Code::Unauthenticated);
        }
        // Meshery's registration calls stay open: they read nothing.
        let info = m.component_info(meshes::ComponentInfoRequest {}).await.expect("open").into_inner();
        assert_eq!(info.name, "meshperf");
        m.supported_operations(meshes::SupportedOperationsRequest {}).await.expect("open");
        m.mesh_name(meshes::MeshNameRequest {}).await.expect("open");
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(target.accepted(), 0, "a refused call reached the target");
    assert_eq!(server.get("/api/perf/runs", &token).json()["totalCount"], 0, "no run was recorded");
    assert!(server.terminate().success());
}

/// A 2 MB body of nested flow sequences (26 s of parsing before) is refused in under 200 ms on
/// every door that reads bodies, and /healthz stays under 50 ms meanwhile.
#[test]
fn timing_nested_bodies_are_refused_at_once_and_health_stays_fast() {
    let home = ServerHome::new(Backend::Sqlite);
    let server = home.start();
    let token = server.local_token();
    let depth = 2_000_000 / 2 - 8;
    let yaml = format!("test: {}{}", "[".repeat(depth), "]".repeat(depth));
    let json = format!("{{\"name\": {}1{}}}", "[".repeat(depth), "]".repeat(depth));
    let url = server.url.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let halt = stop.clone();
    let health = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut worst = Duration::ZERO;
        let mut n = 0;
        while !halt.load(std::sync::atomic::Ordering::Relaxed) {
            let call =
                server::http::client::Call::new(Method::GET, url::Url::parse(&format!("{url}/healthz")).unwrap());
            let t = Instant::now();
            let (status, _, _) = rt.block_on(call.fetch()).expect("healthz");
            worst = worst.max(t.elapsed());
            assert_eq!(status.as_u16(), 200);
            n += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        (worst, n)
    });
    // Two at once, as in the report, then each door in turn.
    let both: Vec<_> = (0..2)
        .map(|_| {
            let (s, body, token) = (server.url.clone(), yaml.clone(), token.clone());
            std::thread::spawn(move || {
                let mut call = server::http::client::Call::new(
                    Method::POST,
                    url::Url::parse(&format!("{s}/api/perf/profile")).unwrap(),
                )
                .bearer(&token);
                call.body = bytes::Bytes::from(body);
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let t = Instant::now();
                let (status, _, reply) = rt.block_on(call.fetch()).expect("reply");
                (status.as_u16(), String::from_utf8_lossy(&reply).into_owned(), t.elapsed())
            })
        })
        .collect();
    for h in both {
        let (status, reply, took) = h.join().unwrap();
        assert_eq!(status, 400, "{reply}");
        assert!(reply.contains("levels deep"), "{reply}");
        assert!(took < Duration::from_millis(200), "refused in {took:?}");
    }
    for (path, body) in [("/api/user/performance/profiles", &json), ("/api/perf/profile", &yaml)] {
        let t = Instant::now();
        let reply = server.request(Method::POST, path, Some(body), Some(&token));
        let took = t.elapsed();
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        assert!(took < Duration::from_millis(200), "{path} refused in {took:?}");
    }
    let rt = runtime();
    rt.block_on(async {
        let mut m = mesh(&server).await;
        let body = format!("test: {}{}", "[".repeat(400_000), "]".repeat(400_000));
        let t = Instant::now();
        let err = m.apply_operation(with(apply(body), Some(&server.worker_token()))).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(t.elapsed() < Duration::from_millis(200), "adapter refused in {:?}", t.elapsed());
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (worst, n) = health.join().unwrap();
    assert!(n > 3, "only {n} health checks");
    assert!(worst < Duration::from_millis(50), "/healthz took {worst:?}");
    assert!(server.terminate().success());
}

/// The peak of every shape, and closed loop's own connection ceiling, on every door.
#[test]
fn ceilings_bound_every_shape_on_every_door() {
    let target = TestServer::plain();
    let url = target.url("/");
    let mut home = ServerHome::new(Backend::Sqlite);
    home.env =
        vec![("MESHPERF_MAX_QPS".into(), "100".into()), ("MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS".into(), "2".into())];
    let server = home.start();
    let token = server.local_token();
    let refused = |reply: meshperf_e2e::serve::Reply, rule: &str, what: &str| {
        assert_eq!(reply.status, 403, "{what}: {}", reply.text());
        assert_eq!(reply.json()["rule"], rule, "{what}: {}", reply.text());
    };
    // REST query parameters: a constant rate, and closed loop.
    let q = |extra: &str| format!("/api/perf/profile?name=q&url={}&t=1{extra}", encode(&url));
    refused(server.get(&q("&qps=500"), &token), "MESHPERF_MAX_QPS", "query rate");
    refused(server.get(&q("&qps=0&c=5"), &token), "MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS", "query closed loop");
    // Stored profiles: ramp and stages in additional_options, closed loop.
    for (options, qps, c, rule) in [
        (r#"{"ramp": "10:500"}"#, 10, 1, "MESHPERF_MAX_QPS"),
        (r#"{"stages": "1s@10,1s@1000"}"#, 10, 1, "MESHPERF_MAX_QPS"),
        ("{}", 0, 5, "MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS"),
    ] {
        let body = serde_json::json!({"name": "p", "endpoints": [url], "qps": qps, "concurrentRequest": c,
            "duration": "1s", "metadata": {"additional_options": options}});
        let p = server.request(Method::POST, "/api/user/performance/profiles", Some(&body.to_string()), Some(&token));
        assert_eq!(p.status, 200, "{}", p.text());
        let id = p.json()["id"].as_str().unwrap().to_string();
        refused(server.get(&format!("/api/user/performance/profiles/{id}/run"), &token), rule, options);
    }
    // SMP bodies.
    let bodies = [
        ("    rps: 10\n    additional_options: {stages: \"1s@10,1s@1000\"}\n", "MESHPERF_MAX_QPS"),
        ("    rps: 10\n    additional_options: {ramp: \"1:1000\"}\n", "MESHPERF_MAX_QPS"),
        ("    rps: 0\n    connections: 5\n", "MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS"),
    ];
    for (client, rule) in bodies {
        refused(
            server.request(Method::POST, "/api/perf/profile", Some(&smp_body(&url, client)), Some(&token)),
            rule,
            client,
        );
    }
    // The gRPC doors: the perf service's wire plans and the adapter's SMP bodies.
    let worker_token = server.worker_token();
    let rt = runtime();
    rt.block_on(async {
        let mut p = perf_client(&server).await;
        let stages = loadgen::RateShape::Stages(vec![
            loadgen::Stage { duration: Duration::from_secs(1), rate: 10.0 },
            loadgen::Stage { duration: Duration::from_secs(1), rate: 1000.0 },
        ]);
        for (load, c, rule) in [
            (loadgen::Load::Open(loadgen::RateShape::Ramp { from: 1.0, to: 1000.0 }), 1, "MESHPERF_MAX_QPS"),
            (loadgen::Load::Open(stages), 1, "MESHPERF_MAX_QPS"),
            (loadgen::Load::Closed, 5, "MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS"),
        ] {
            let err = p.run(with(wire(&url, load, c, Duration::from_secs(1)), Some(&worker_token))).await.unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
            assert!(err.message().contains(rule), "{}", err.message());
        }
        let mut m = mesh(&server).await;
        for (client, rule) in bodies {
            let err = m.apply_operation(with(apply(smp_body(&url, client)), Some(&worker_token))).await.unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
            assert!(err.message().contains(rule), "{}", err.message());
        }
    });
    assert_eq!(target.control.served.load(std::sync::atomic::Ordering::Relaxed), 0, "a refused run sent load");
    // Within the ceilings the same doors run.
    let ok = server.get(&q("&qps=50"), &token);
    assert_eq!(ok.events().last().unwrap()["status"], "success", "{}", ok.text());
    assert!(server.terminate().success());
}

/// A run against a server that never answers, with an hour-long timeout, ends at the wall-time
/// ceiling with its partial result; cancel ends such a run within a second.
#[test]
fn timing_stalled_runs_end_at_the_wall_time_ceiling_and_cancel_ends_them_at_once() {
    let target = SilentServer::start();
    let mut home = ServerHome::new(Backend::Sqlite);
    home.env = vec![
        ("MESHPERF_MAX_DURATION".into(), "2s".into()),
        ("MESHPERF_MAX_WALL_TIME".into(), "3s".into()),
        ("MESHPERF_MAX_CONCURRENT_RUNS".into(), "2".into()),
    ];
    let server = home.start();
    let token = server.local_token();
    let body = smp_body(&target.url("/"), "    connections: 2\n    rps: 10\n    additional_options: {timeout: 1h}\n");
    let t = Instant::now();
    let reply = server.request(Method::POST, "/api/perf/profile", Some(&body), Some(&token));
    let took = t.elapsed();
    let last = reply.events().last().cloned().expect("events");
    assert_eq!(last["status"], "success", "{}", reply.text());
    assert!(last["message"].as_str().unwrap().contains("wall-time"), "{last}");
    assert!(took >= Duration::from_millis(2500) && took < Duration::from_millis(4500), "ended after {took:?}");
    assert!(target.accepted() > 0, "the run reached the silent target");
    let runs = server.get("/api/perf/runs", &token).json();
    assert_eq!(runs["runs"][0]["state"], "cancelled", "{runs}");
    assert!(runs["runs"][0]["resultId"].is_string(), "the partial result is stored: {runs}");

    // Cancel: a stalled run ends within a second of the request.
    let url = server.url.clone();
    let follow = std::thread::spawn(move || {
        let mut call =
            server::http::client::Call::new(Method::POST, url::Url::parse(&format!("{url}/api/perf/profile")).unwrap())
                .bearer(&token);
        call.body = bytes::Bytes::from(body);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(call.fetch()).expect("stream");
        Instant::now()
    });
    let token = server.local_token();
    let id = meshperf_e2e::wait_for(LIMIT, || {
        let runs = server.get("/api/perf/runs", &token).json();
        let first = &runs["runs"][0];
        (first["state"] == "running" && runs["totalCount"] == 2).then(|| first["id"].as_str().unwrap().to_string())
    })
    .expect("the second run starts");
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let cancel = server.request(Method::POST, &format!("/api/perf/runs/{id}/cancel"), None, Some(&token));
    assert_eq!(cancel.status, 202, "{}", cancel.text());
    let ended = follow.join().unwrap();
    let took = ended.saturating_duration_since(asked);
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
    assert!(server.terminate().success());
}

/// PEM text from a caller travels in the plan: nothing appears under the server's temp dir,
/// and a certificate file path is refused, naming the field.
#[test]
fn no_file_is_written_or_read_for_a_caller() {
    let pki = meshperf_e2e::tls::TestPki::new();
    let target = TestServer::tls(pki.server_config(&[b"http/1.1"], false));
    let tmp = tempfile::tempdir().unwrap();
    let mut home = ServerHome::new(Backend::Sqlite);
    home.env = vec![("TMPDIR".into(), tmp.path().display().to_string())];
    let server = home.start();
    let token = server.local_token();
    let ca = std::fs::read_to_string(&pki.ca_pem).unwrap();
    let url = target.url("/");
    let body = format!(
        "test:\n  name: tls\n  duration: 1s\n  clients:\n  - endpoint_urls: [\"{url}\"]\n    connections: 1\n    rps: 20\n    ssl_certificate: {}\n",
        serde_json::to_string(&ca).unwrap()
    );
    let reply = server.request(Method::POST, "/api/perf/profile", Some(&body), Some(&token));
    let last = reply.events().last().cloned().expect("events");
    assert_eq!(last["status"], "success", "{}", reply.text());
    let rt = runtime();
    rt.block_on(async {
        let mut m = mesh(&server).await;
        m.apply_operation(with(apply(body.clone()), Some(&server.worker_token()))).await.expect("adapter run");
    });
    assert!(
        meshperf_e2e::wait_for(LIMIT, || (server.get("/api/perf/runs", &token).json()["runs"][0]["state"]
            == "completed")
            .then_some(()))
        .is_some()
    );
    assert!(target.control.served.load(std::sync::atomic::Ordering::Relaxed) > 0, "TLS with the PEM CA worked");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "files written under TMPDIR: {left:?}");
    let file = smp_body(&url, "    additional_options: {ca_cert: /etc/ssl/certs/ca-certificates.crt}\n");
    let reply = server.request(Method::POST, "/api/perf/profile", Some(&file), Some(&token));
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(reply.json()["field"], "test.clients[0].additional_options.ca_cert", "{}", reply.text());
    assert!(server.terminate().success());
}

/// The home is 0700; the database, its WAL and shared-memory files and the keys are 0600.
#[test]
fn the_home_and_database_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let home = ServerHome::new(Backend::Sqlite);
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = home.start();
    let token = server.local_token();
    let body = r#"{"name":"p","endpoints":["http://127.0.0.1:9/"],"requestHeaders":{"authorization":"Bearer s3cret"}}"#;
    assert_eq!(server.request(Method::POST, "/api/user/performance/profiles", Some(body), Some(&token)).status, 200);
    let mode = |name: &str| std::fs::metadata(home.path().join(name)).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(std::fs::metadata(home.path()).unwrap().permissions().mode() & 0o777, 0o700);
    for file in ["meshperf.db", "meshperf.db-wal", "meshperf.db-shm", "local-provider.key", "worker-token"] {
        assert_eq!(mode(file).unwrap_or_else(|e| panic!("{file}: {e}")), 0o600, "{file}");
    }
    assert!(server.terminate().success());
}

/// A run started through each door is one record in the store, listed by REST with its door
/// and its stored result.
#[test]
fn a_run_from_each_door_is_listed_with_its_result() {
    let target = TestServer::plain();
    let url = target.url("/");
    let home = ServerHome::new(Backend::Sqlite);
    let server = home.start();
    let token = server.local_token();
    let rest = server.get(&format!("/api/perf/profile?name=rest&url={}&t=1&qps=20", encode(&url)), &token);
    assert_eq!(rest.events().last().unwrap()["status"], "success", "{}", rest.text());
    let worker_token = server.worker_token();
    let rt = runtime();
    rt.block_on(async {
        let mut p = perf_client(&server).await;
        let req = wire(&url, loadgen::Load::Open(loadgen::RateShape::Constant(20.0)), 1, Duration::from_secs(1));
        let mut stream = p.run(with(req, Some(&worker_token))).await.expect("gRPC run").into_inner();
        let mut result = false;
        while let Some(ev) = tokio::time::timeout(LIMIT, stream.message()).await.expect("bounded").expect("stream") {
            result |= matches!(ev.event, Some(perf::run_event::Event::Result(_)));
        }
        assert!(result, "the gRPC stream ends with the result");
        let mut m = mesh(&server).await;
        let mut events =
            m.stream_events(with(meshes::EventsRequest {}, Some(&token))).await.expect("events").into_inner();
        let body = smp_body(&url, "    connections: 1\n    rps: 20\n");
        let mut req = apply(body);
        req.operation_id = "op-doors".into();
        m.apply_operation(with(req, Some(&token))).await.expect("adapter run");
        loop {
            let ev = tokio::time::timeout(LIMIT, events.message()).await.expect("bounded").expect("ok").expect("event");
            assert_eq!(ev.operation_id, "op-doors");
            if ev.summary.contains("finished") {
                break;
            }
        }
    });
    let runs = meshperf_e2e::wait_for(LIMIT, || {
        let runs = server.get("/api/perf/runs", &token).json();
        let all = runs["runs"].as_array().cloned().unwrap_or_default();
        (all.len() == 3 && all.iter().all(|r| r["state"] == "completed")).then_some(all)
    })
    .expect("three completed runs");
    let mut doors: Vec<&str> = runs.iter().map(|r| r["door"].as_str().unwrap()).collect();
    doors.sort_unstable();
    assert_eq!(doors, ["adapter", "grpc", "rest"]);
    for r in &runs {
        let id = r["resultId"].as_str().expect("a result id");
        let result = server.get(&format!("/api/user/performance/results/{id}"), &token);
        assert_eq!(result.status, 200, "{}", result.text());
    }
    assert!(server.terminate().success());
}
