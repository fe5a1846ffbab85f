//! The worker's gRPC services as a client sees them: Meshery's registration and health calls,
//! a test run through the adapter, refusals by token, allow-list, ceilings and run cap, and a
//! graceful stop on SIGTERM.

use std::time::Duration;

use meshperf_e2e::server::TestServer;
use meshperf_e2e::worker::{self, InProcessWorker, TOKEN, WorkerProcess};
use server::adapters::RUN_TEST_OP;
use server::adapters::proto::mesh_service_client::MeshServiceClient;
use server::adapters::proto::{self as meshes, EventType, OpCategory};
use server::perf::distributed::{DistributedCancel, DistributedError, DistributedOptions, run_distributed};
use server::perf::grpc::convert;
use server::perf::grpc::proto::perf_service_client::PerfServiceClient;
use server::perf::grpc::proto::{self as perf, RunRequest};
use server::policy::{AllowList, Ceilings};
use tonic::Code;

const LIMIT: Duration = Duration::from_secs(60);

async fn next(events: &mut tonic::Streaming<meshes::EventsResponse>) -> meshes::EventsResponse {
    tokio::time::timeout(LIMIT, events.message()).await.expect("bounded").unwrap().expect("an event")
}

async fn mesh_client(addr: &str) -> MeshServiceClient<tonic::transport::Channel> {
    MeshServiceClient::connect(format!("http://{addr}")).await.expect("connects")
}

async fn perf_client(addr: &str) -> PerfServiceClient<tonic::transport::Channel> {
    PerfServiceClient::connect(format!("http://{addr}")).await.expect("connects")
}

fn request<T>(msg: T, token: Option<&str>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(t) = token {
        r.metadata_mut().insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    r
}

fn run_request(url: &str, duration: Duration) -> RunRequest {
    let mut plan = loadgen::RunPlan::new(vec![loadgen::Target::get(url).unwrap()]);
    plan.connections = 2;
    plan.threads = 1;
    plan.duration = Some(duration);
    RunRequest { plan: Some(convert::plan_to_proto(&plan)), name: "svc".into(), ..Default::default() }
}

/// Meshery registers an adapter with SupportedOperations + ComponentInfo and pings it with
/// MeshName, all without a token; the real binary answers.
#[tokio::test]
async fn meshery_registration_and_health_calls() {
    let w = WorkerProcess::spawn(&[]);
    let mut c = mesh_client(&w.address()).await;
    let ops = c.supported_operations(meshes::SupportedOperationsRequest {}).await.unwrap().into_inner();
    assert!(ops.error.is_empty());
    let op = ops.ops.iter().find(|o| o.key == RUN_TEST_OP).expect("the run-test operation");
    assert_eq!(op.category, OpCategory::Custom as i32);
    let info = c.component_info(meshes::ComponentInfoRequest {}).await.unwrap().into_inner();
    assert_eq!((info.r#type.as_str(), info.name.as_str()), ("adapter", "meshperf"));
    assert!(!info.version.is_empty());
    let name = c.mesh_name(meshes::MeshNameRequest {}).await.unwrap().into_inner();
    assert_eq!(name.name, "meshperf");
    let versions = c.mesh_versions(meshes::MeshVersionsRequest {}).await.unwrap().into_inner();
    assert_eq!(versions.version.len(), 1);
    let err = c.provision(meshes::ProvisionRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert!(err.message().contains("does not provision"), "{}", err.message());
}

/// ApplyOperation runs the SMP test config from `custom_body` and reports through StreamEvents,
/// both with the token; targets outside the allow-list and unknown operations are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_operation_runs_an_smp_test_and_streams_events() {
    let target = TestServer::plain();
    let w = InProcessWorker::start();
    let mut c = mesh_client(&w.address()).await;
    let mut events = c.stream_events(request(meshes::EventsRequest {}, Some(TOKEN))).await.unwrap().into_inner();
    let body = format!(
        "test:\n  name: meshery-e2e\n  duration: 1s\n  clients:\n  - protocol: 1\n    connections: 2\n    rps: 0\n    endpoint_urls: [\"{}\"]\nmesh:\n  type: 3\n",
        target.url("/")
    );
    let apply = |body: String, op: &str| meshes::ApplyRuleRequest {
        op_name: op.into(),
        custom_body: body,
        operation_id: "op-1".into(),
        ..Default::default()
    };
    let resp = c.apply_operation(request(apply(body, RUN_TEST_OP), Some(TOKEN))).await.unwrap().into_inner();
    assert_eq!((resp.error.as_str(), resp.operation_id.as_str()), ("", "op-1"));
    let started = next(&mut events).await;
    assert_eq!(started.event_type, EventType::Info as i32);
    assert!(started.summary.contains("started"), "{}", started.summary);
    let done = next(&mut events).await;
    assert_eq!(done.event_type, EventType::Info as i32, "{done:?}");
    assert_eq!(done.operation_id, "op-1");
    let doc = smp::ResultDocument::from_json(&done.details).expect("the SMP result in details");
    assert!(doc.details.requests > 0);
    assert_eq!(doc.name(), "meshery-e2e");

    let outside = "test:\n  clients:\n  - endpoint_urls: [\"http://10.255.0.1/\"]\n  duration: 1s\n".to_string();
    let err = c.apply_operation(request(apply(outside, RUN_TEST_OP), Some(TOKEN))).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("allow-list"), "{}", err.message());
    let failed = next(&mut events).await;
    assert_eq!(failed.event_type, EventType::Error as i32);
    assert!(!failed.suggested_remediation.is_empty());
    let err = c.apply_operation(request(apply(String::new(), "istio_install"), Some(TOKEN))).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn wrong_or_missing_token_is_refused() {
    let target = TestServer::plain();
    let w = InProcessWorker::start();
    let mut c = perf_client(&w.address()).await;
    let req = || run_request(&target.url("/"), Duration::from_secs(1));
    let missing = c.run(request(req(), None)).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert!(missing.message().contains("missing credential"), "{}", missing.message());
    let wrong = c.run(request(req(), Some("not-the-token"))).await.unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    let caps = c.capabilities(request(perf::CapabilitiesRequest {}, None)).await.unwrap_err();
    assert_eq!(caps.code(), Code::Unauthenticated);
    let cancel = c.cancel(request(perf::CancelRequest { run_id: "x".into() }, Some("nope"))).await.unwrap_err();
    assert_eq!(cancel.code(), Code::Unauthenticated);
    // The adapter's calls that run, read or cancel need the token too: wrong or missing.
    let mut m = mesh_client(&w.address()).await;
    for token in [Some("nope"), None] {
        let err = m.apply_operation(request(meshes::ApplyRuleRequest::default(), token)).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        let err = m.stream_events(request(meshes::EventsRequest {}, token)).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
    }
    // `meshperf run --workers` with the wrong token gets the refusal, naming the worker.
    let mut plan = loadgen::RunPlan::new(vec![loadgen::Target::get(&target.url("/")).unwrap()]);
    plan.duration = Some(Duration::from_secs(1));
    plan.connections = 1;
    let opts = DistributedOptions::new(vec![w.address()], "wrong", smp::RunMeta::new("x"));
    let err = run_distributed(plan.validate().unwrap(), opts, DistributedCancel::new(), |_| {}).await.unwrap_err();
    match err {
        DistributedError::Refused { address, code, .. } => {
            assert_eq!((address, code), (w.address(), Code::Unauthenticated));
        }
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_list_ceilings_and_run_cap_are_enforced() {
    let target = TestServer::plain();
    let mut config = worker::config();
    config.policy.ceilings = Ceilings { max_connections: 4, ..Ceilings::default() };
    let w = InProcessWorker::with_config(config);
    let mut c = perf_client(&w.address()).await;
    let mut outside = run_request("http://10.255.0.1:80/", Duration::from_secs(1));
    outside.run_id = "outside".into();
    let err = c.run(request(outside, Some(TOKEN))).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("--allow"), "{}", err.message());
    let mut wide = run_request(&target.url("/"), Duration::from_secs(1));
    wide.plan.as_mut().unwrap().connections = 5;
    let err = c.run(request(wide, Some(TOKEN))).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("--max-connections"), "{}", err.message());
    // One run at a time by default: a second one is refused while the first goes on.
    let first = c.run(request(run_request(&target.url("/"), Duration::from_secs(2)), Some(TOKEN))).await.unwrap();
    let mut stream = first.into_inner();
    let err = c.run(request(run_request(&target.url("/"), Duration::from_secs(1)), Some(TOKEN))).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("--max-runs"), "{}", err.message());
    // The first run streams to its result.
    let mut result = None;
    while let Some(ev) = tokio::time::timeout(LIMIT, stream.message()).await.expect("bounded").unwrap() {
        if let Some(perf::run_event::Event::Result(r)) = ev.event {
            result = Some(r);
        }
    }
    let r = result.expect("a result");
    let stats = convert::stats_from_proto(r.stats.as_ref().unwrap()).unwrap();
    assert!(stats.responses > 0 && !r.cancelled);
    assert_eq!(smp::ResultDocument::from_json(&r.result_json).unwrap().details.requests, stats.finished());
    let caps = c.capabilities(request(perf::CapabilitiesRequest {}, Some(TOKEN))).await.unwrap().into_inner();
    assert_eq!((caps.runs_in_progress, caps.max_runs, caps.max_connections), (0, 1, 4));
    assert_eq!(caps.allow, AllowList::default().entries().iter().map(ToString::to_string).collect::<Vec<_>>());
}

/// SIGTERM cancels the run in progress (its stream ends with a cancelled result) and the real
/// binary exits 0.
#[tokio::test]
async fn sigterm_stops_the_worker_gracefully() {
    let target = TestServer::plain();
    let w = WorkerProcess::spawn(&[]);
    let mut c = perf_client(&w.address()).await;
    let mut stream =
        c.run(request(run_request(&target.url("/"), Duration::from_secs(30)), Some(TOKEN))).await.unwrap().into_inner();
    let first = tokio::time::timeout(LIMIT, stream.message()).await.unwrap().unwrap().unwrap();
    assert!(matches!(first.event, Some(perf::run_event::Event::Accepted(_))));
    let stopper = std::thread::spawn(move || w.terminate(Duration::from_secs(30)));
    let mut cancelled = None;
    while let Ok(Some(ev)) = tokio::time::timeout(LIMIT, stream.message()).await.expect("bounded") {
        if let Some(perf::run_event::Event::Result(r)) = ev.event {
            cancelled = Some(r.cancelled);
        }
    }
    assert_eq!(cancelled, Some(true), "the run ended with a cancelled result");
    let (code, stderr) = stopper.join().unwrap();
    assert_eq!(code, Some(0), "worker exit; stderr: {stderr}");
}
