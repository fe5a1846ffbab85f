//! A server killed with SIGKILL in the middle of a run: after a restart on the same store, the
//! run is marked interrupted (never lost, never left running), on SQLite and on PostgreSQL.

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
