//! A stepped run through `meshperf serve`: a stored profile searched over REST with query
//! parameters, each step streamed over SSE as it finishes, one result stored with every step;
//! the ceilings refuse a search whose highest rate exceeds them before anything runs.

use meshperf_e2e::capacity::CapacityServer;
use meshperf_e2e::serve::{Backend, ServerHome, encode};
use serde_json::Value;

#[test]
fn timing_a_stored_profile_searched_over_rest() {
    // 503 above 120 req/s: 100 passes, 140 fails, and 140 is within 50% of 100.
    let target = CapacityServer::shedding(120.0);
    let mut home = ServerHome::new(Backend::Sqlite);
    home.env.push(("MESHPERF_MAX_QPS".into(), "1000".into()));
    let server = home.start();
    let token = server.local_token();
    let body = serde_json::json!({"name": "capacity", "endpoints": [target.url()], "concurrentRequest": 4, "qps": 10,
        "duration": "30s"})
    .to_string();
    let created = server.request(http::Method::POST, "/api/user/performance/profiles", Some(&body), Some(&token));
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();

    let query = format!(
        "kind=search&from=100&to=140&precision=50%25&stepDuration=2s&stepWarmup=500ms&slo={}",
        encode("non-2xx<0.5%,p99<=100ms")
    );
    let reply = server.get(&format!("/api/user/performance/profiles/{id}/run?{query}"), &token);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let events = reply.events();
    let steps: Vec<&Value> = events.iter().filter(|e| e["step"].get("passed").is_some()).collect();
    assert_eq!(steps.len(), 2, "{events:#?}");
    assert_eq!((steps[0]["step"]["rate"].as_f64(), steps[0]["step"]["passed"].as_bool()), (Some(100.0), Some(true)));
    assert_eq!((steps[1]["step"]["rate"].as_f64(), steps[1]["step"]["passed"].as_bool()), (Some(140.0), Some(false)));
    assert!(steps[1]["message"].as_str().unwrap().starts_with("Step 2: 140 req/s failed non-2xx"), "{:?}", steps[1]);
    let started = events.iter().filter(|e| e["step"].is_object() && e["step"].get("passed").is_none()).count();
    assert_eq!(started, 2, "each step's start is announced");
    assert!(events.iter().any(|e| e.get("progress").is_some()), "progress within steps");
    let last = events.last().unwrap();
    assert_eq!(last["status"], "success", "{events:#?}\n{}", server.log());
    // 140 fails on both counts: its 503s, and the 120 req/s it achieved.
    assert_eq!(last["message"], "completed: max 100 req/s: 100 passed, 140 failed non-2xx, achieved rate");
    let stepped = &last["result"]["smp"]["details"]["stepped"];
    assert_eq!(stepped["kind"], "search");
    assert_eq!(stepped["answer"]["max_rate"].as_f64(), Some(100.0));
    assert_eq!(stepped["steps"].as_array().map(Vec::len), Some(2));
    assert_eq!(stepped["slos"], serde_json::json!(["non-2xx<0.5%", "p99<=100ms"]));

    // Stored once, as one result of the profile, with the run recorded as a search.
    let results = server.get(&format!("/api/user/performance/profiles/{id}/results"), &token).json();
    assert_eq!(results["totalCount"], 1, "{results}");
    let runs = server.get("/api/perf/runs", &token).json();
    assert_eq!(runs["runs"][0]["request"]["stepped"]["kind"], "search", "{runs}");

    // The ceilings refuse a search that could climb above them, before any step runs.
    let reply = server.get(&format!("/api/user/performance/profiles/{id}/run?kind=search&to=5k"), &token);
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains("MESHPERF_MAX_QPS"), "{}", reply.text());
    let reply = server.get(&format!("/api/user/performance/profiles/{id}/run?kind=sweep&qps=5"), &token);
    assert_eq!(reply.status, 400, "{}", reply.text());
}
