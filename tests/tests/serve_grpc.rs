//! gRPC load through `meshperf serve`'s REST doors: a stored Meshery profile carrying its
//! `.proto` text inline, an SMP body that says `protocol: grpc` and relies on the target's
//! reflection service, and the refusal of a `.proto` file path (the server reads no file for a
//! caller). Each run is bounded by `max_requests` and a duration.

use std::sync::atomic::Ordering;

use http::Method;
use meshperf_e2e::grpc::{GrpcServer, greeter_source};
use meshperf_e2e::serve::{Backend, ServerHome};
use serde_json::json;

#[test]
fn grpc_profiles_run_through_the_server() {
    let target = GrpcServer::with_reflection();
    let home = ServerHome::new(Backend::Sqlite);
    let server = home.start();
    let token = server.local_token();

    // A stored profile with the service's source text: saved, then run over REST.
    let options = json!({"call": "demo.Greeter/Hello", "data": {"name": "rest", "fail_every": 5},
        "metadata": {"x-tenant": "t2"}, "proto": greeter_source(), "max_requests": 100, "h2_streams": 2});
    let body = json!({"name": "grpc", "endpoints": [target.url()], "qps": 0, "concurrentRequest": 1,
        "duration": "20s", "metadata": {"additional_options": options.to_string()}});
    let saved = server.request(Method::POST, "/api/user/performance/profiles", Some(&body.to_string()), Some(&token));
    assert_eq!(saved.status, 200, "{}", saved.text());
    let id = saved.json()["id"].as_str().unwrap().to_string();
    let reply = server.get(&format!("/api/user/performance/profiles/{id}/run"), &token);
    let last = reply.events().last().cloned().expect("events");
    assert_eq!(last["status"], "success", "{}\n{}", reply.text(), server.log());
    let details = &last["result"]["smp"]["details"];
    assert_eq!(details["grpc_status_codes"], json!({"OK": 80, "UNAVAILABLE": 20}), "{details}");
    assert_eq!(target.control.last_name().as_deref(), Some("rest"));
    assert_eq!(target.control.last_tenant().as_deref(), Some("t2"));
    let rid = last["result"]["mesheryId"].as_str().unwrap().to_string();
    let one = server.get(&format!("/api/user/performance/results/{rid}"), &token).json();
    assert_eq!(one["runnerResults"]["RunType"], "GRPC", "{one}");

    // An SMP body with protocol: grpc and no proto: the descriptors come from reflection.
    let port = target.addr.port();
    let smp = format!(
        "test:\n  name: reflected\n  duration: 20s\n  clients:\n  - protocol: grpc\n    endpoint_urls: [\"http://127.0.0.1:{port}\"]\n    connections: 1\n    additional_options: {{call: demo.Greeter/Hello, data: {{name: smp}}, max_requests: 50}}\n"
    );
    let before = target.control.hello_calls.load(Ordering::Relaxed);
    let reply = server.request(Method::POST, "/api/perf/profile", Some(&smp), Some(&token));
    let last = reply.events().last().cloned().expect("events");
    assert_eq!(last["status"], "success", "{}\n{}", reply.text(), server.log());
    assert_eq!(last["result"]["smp"]["details"]["grpc_status_codes"], json!({"OK": 50}), "{last}");
    assert_eq!(target.control.hello_calls.load(Ordering::Relaxed) - before, 50);
    assert_eq!(target.control.last_name().as_deref(), Some("smp"));

    // A path to a .proto file is refused: the server reads no file on a caller's behalf.
    let options = json!({"call": "demo.Greeter/Hello", "proto": "/etc/greeter.proto"});
    let body = json!({"name": "file", "endpoints": [target.url()], "qps": 0, "concurrentRequest": 1,
        "duration": "1s", "metadata": {"additional_options": options.to_string()}});
    let refused = server.request(Method::POST, "/api/user/performance/profiles", Some(&body.to_string()), Some(&token));
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(refused.json()["field"], "metadata.additional_options.proto", "{}", refused.text());
    assert!(refused.text().contains("no file is read"), "{}", refused.text());

    // An unknown method, asked of the reflection service: a 400 naming the call.
    let smp = smp.replace("demo.Greeter/Hello", "demo.Greeter/Nope");
    let reply = server.request(Method::POST, "/api/perf/profile", Some(&smp), Some(&token));
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(reply.json()["field"], "test.clients[0].additional_options.call", "{}", reply.text());
    assert!(server.terminate().success());
}
