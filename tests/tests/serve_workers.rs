//! `meshperf serve` with `MESHPERF_WORKERS`: a stored profile runs on two real `meshperf worker`
//! processes over gRPC, the server streams the merged progress and stores the merged result
//! with its per-worker breakdown.

use meshperf_e2e::serve::{Backend, ServerHome};
use meshperf_e2e::server::TestServer;
use meshperf_e2e::worker::{TOKEN, WorkerProcess};

#[test]
fn a_profile_runs_on_registered_workers() {
    let target = TestServer::plain();
    let workers = [WorkerProcess::spawn(&[]), WorkerProcess::spawn(&[])];
    let list: Vec<String> = workers.iter().map(WorkerProcess::address).collect();
    let mut home = ServerHome::new(Backend::Sqlite);
    home.env = vec![("MESHPERF_WORKERS".into(), list.join(",")), ("MESHPERF_WORKER_TOKEN".into(), TOKEN.into())];
    let server = home.start();
    let token = server.local_token();
    let body = serde_json::json!({
        "name": "spread", "endpoints": [target.url("/")], "duration": "2s", "qps": 100, "concurrentRequest": 2
    });
    let saved =
        server.request(http::Method::POST, "/api/user/performance/profiles", Some(&body.to_string()), Some(&token));
    let id = saved.json()["id"].as_str().unwrap().to_string();

    let reply = server.get(&format!("/api/user/performance/profiles/{id}/run"), &token);
    let events = reply.events();
    let last = events.last().unwrap();
    assert_eq!(last["status"], "success", "{events:?}\n{}", server.log());
    assert!(events.iter().any(|e| e.get("progress").is_some()), "merged progress: {events:?}");
    let details = &last["result"]["smp"]["details"];
    assert_eq!(details["workers"].as_array().map(Vec::len), Some(2), "{details}");
    let requests = details["requests"].as_u64().unwrap();
    assert!((150..=250).contains(&requests), "100/s for 2 s over two workers: {requests}");
    assert!(server.terminate().success());
}
