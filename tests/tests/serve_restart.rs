//! A server stopped in the middle of a run. Killed with SIGKILL: after a restart the run is
//! marked interrupted (never lost, never left running), on SQLite and on PostgreSQL. Stopped with
//! SIGTERM: the run is cancelled, its partial result stored and its stream ended before exit.

use std::time::Duration;

use meshperf_e2e::serve::{Backend, ServerHome};
use meshperf_e2e::server::TestServer;
use meshperf_e2e::wait_for;

fn interrupted_after_crash(backend: Backend) {
    let target = TestServer::plain();
    let home = ServerHome::new(backend);
    let server = home.start();
    let token = server.local_token();

    // A 60 s run at a modest rate, started by a client that will lose its server.
    let path =
        format!("/api/perf/profile?name=crash&url={}&t=60&qps=50&c=1", meshperf_e2e::serve::encode(&target.url("/")));
    let url = url::Url::parse(&format!("{}{path}", server.url)).unwrap();
    let bearer = token.clone();
    let client = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let call = server::http::client::Call::new(http::Method::GET, url).bearer(&bearer);
            let _ = tokio::time::timeout(Duration::from_secs(90), call.fetch()).await;
        });
    });

    let run_id = wait_for(Duration::from_secs(30), || {
        let runs = server.get("/api/perf/runs", &token).json();
        let run = &runs["runs"][0];
        (run["state"] == "running").then(|| run["id"].as_str().unwrap().to_string())
    })
    .unwrap_or_else(|| panic!("the run never started:\n{}", server.log()));
    wait_for(Duration::from_secs(10), || {
        (target.control.served.load(std::sync::atomic::Ordering::Relaxed) > 0).then_some(())
    })
    .expect("load reaches the target");

    server.kill9();
    client.join().unwrap();

    let server = home.start();
    let run = server.get(&format!("/api/perf/runs/{run_id}"), &token).json();
    assert_eq!(run["state"], "interrupted", "{run}");
    assert!(run["endedAt"].is_string(), "{run}");
    assert!(run["message"].as_str().unwrap().contains("stopped"), "{run}");
    // The store is usable after the crash.
    assert_eq!(server.get("/api/user/performance/profiles", &token).status, 200);
    assert!(server.terminate().success());
}

#[test]
fn crash_mid_run_on_sqlite_marks_the_run_interrupted() {
    interrupted_after_crash(Backend::Sqlite);
}

#[test]
fn crash_mid_run_on_postgres_marks_the_run_interrupted() {
    interrupted_after_crash(Backend::Postgres);
}

#[test]
fn sigterm_mid_run_cancels_it_and_keeps_the_partial_result() {
    let target = TestServer::plain();
    let home = ServerHome::new(Backend::Sqlite);
    let server = home.start();
    let token = server.local_token();
    let path =
        format!("/api/perf/profile?name=term&url={}&t=60&qps=50&c=1", meshperf_e2e::serve::encode(&target.url("/")));
    let url = url::Url::parse(&format!("{}{path}", server.url)).unwrap();
    let bearer = token.clone();
    let client = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let call = server::http::client::Call::new(http::Method::GET, url).bearer(&bearer);
            tokio::time::timeout(Duration::from_secs(90), call.fetch()).await
        })
    });
    let run_id = wait_for(Duration::from_secs(30), || {
        let run = server.get("/api/perf/runs", &token).json()["runs"][0].clone();
        (run["state"] == "running").then(|| run["id"].as_str().unwrap().to_string())
    })
    .expect("the run starts");

    let started = std::time::Instant::now();
    assert!(server.terminate().success(), "graceful exit");
    assert!(started.elapsed() < Duration::from_secs(15), "shutdown took {:?}", started.elapsed());
    // The client that was watching got the end of its stream: the stored, cancelled result.
    let (status, _, body) = client.join().unwrap().expect("the stream ended in time").expect("a reply");
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("\"status\":\"success\""), "{text}");

    let server = home.start();
    let run = server.get(&format!("/api/perf/runs/{run_id}"), &token).json();
    assert_eq!(run["state"], "cancelled", "{run}");
    let rid = run["resultId"].as_str().expect("partial result stored");
    assert_eq!(server.get(&format!("/api/user/performance/results/{rid}"), &token).status, 200);
    assert!(server.terminate().success());
}
