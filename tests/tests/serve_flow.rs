//! `meshperf serve` end to end, on SQLite and on PostgreSQL: log in, create a profile, run it
//! against a local target and read the SSE stream to the end, list and fetch the result,
//! download the SMP YAML, export, run from the CLI, delete, and shut down on SIGTERM.

use http::Method;
use meshperf_e2e::serve::{Backend, ServerHome};
use meshperf_e2e::server::TestServer;
use serde_json::Value;

fn json_out(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn full_flow(backend: Backend) {
    let target = TestServer::plain();
    let home = ServerHome::new(backend);
    let server = home.start();

    // Log in: the CLI mints the local user's token and writes auth.json.
    let out = home.cli(&server, &["login"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let auth: Value = serde_json::from_str(&std::fs::read_to_string(home.path().join("auth.json")).unwrap()).unwrap();
    let token = auth["token"].as_str().unwrap().to_string();

    // Create a profile from the CLI; read it back over REST.
    let url = target.url("/hello");
    let out = home.cli(
        &server,
        &[
            "profile",
            "apply",
            "--name",
            "e2e profile",
            "--url",
            &url,
            "--duration",
            "2s",
            "-c",
            "2",
            "--qps",
            "200",
            "--load-generator",
            "fortio",
            "-f",
            "json",
        ],
    );
    let profile = json_out(&out);
    let id = profile["id"].as_str().unwrap().to_string();
    let list = server.get("/api/user/performance/profiles?search=e2e", &token).json();
    assert_eq!(list["totalCount"], 1, "{list}");

    // Run it over REST and read the event stream to its end.
    let reply = server.get(&format!("/api/user/performance/profiles/{id}/run"), &token);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let events = reply.events();
    assert_eq!(events[0]["message"], "Initiating load test . . . ", "{events:?}");
    assert!(events.iter().any(|e| e.get("progress").is_some()), "progress events: {events:?}");
    let last = events.last().unwrap();
    assert_eq!(last["status"], "success", "{events:?}\n{}", server.log());
    let result = &last["result"];
    let rid = result["mesheryId"].as_str().unwrap().to_string();
    assert_eq!(result["requestedGenerator"], "fortio");
    assert_eq!(result["generator"], "meshperf");
    let requests = result["smp"]["details"]["requests"].as_u64().unwrap_or_default();
    assert!(requests >= 200, "about 400 requests at 200/s for 2s, got {requests}");
    assert!(target.control.served.load(std::sync::atomic::Ordering::Relaxed) >= requests);

    // Results: all, per profile, by date, one, SMP YAML download, exports.
    let all = server.get("/api/perf/profile/result", &token).json();
    assert_eq!(all["totalCount"], 1);
    let of_profile = server.get(&format!("/api/user/performance/profiles/{id}/results?pageSize=5"), &token).json();
    assert_eq!(of_profile["results"][0]["mesheryId"], rid.as_str());
    let none = server.get("/api/user/performance/profiles/results?from=2000-01-01&to=2000-01-02", &token).json();
    assert_eq!(none["totalCount"], 0);
    let one = server.get(&format!("/api/user/performance/results/{rid}"), &token).json();
    assert_eq!(one["runnerResults"]["RunType"], "HTTP");
    let yaml = server.get(&format!("/api/perf/profile/result/{rid}"), &token);
    assert_eq!(yaml.status, 200);
    let doc: Value = serde_yaml::from_slice(&yaml.body).unwrap();
    assert_eq!((doc["id"].as_str(), doc["labels"]["url"].as_str()), (Some(rid.as_str()), Some(url.as_str())));
    let profile_now = server.get(&format!("/api/user/performance/profiles/{id}"), &token).json();
    assert_eq!(profile_now["totalResults"], 1);

    let out = home.cli(&server, &["result", "list", "-f", "json"]);
    assert_eq!(json_out(&out)["totalCount"], 1);
    let out = home.cli(&server, &["result", "export", &rid, "--format", "csv"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("second,requests"), "{out:?}");

    // Run from the CLI with live progress; the result is stored too.
    let out = home.cli(&server, &["profile", "run", "e2e profile", "--duration", "1s", "-f", "json"]);
    let cli_result = json_out(&out);
    assert_eq!(cli_result["performanceProfile"], id.as_str());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("req/s"),
        "live progress: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.get("/api/perf/profile/result", &token).json()["totalCount"], 2);

    // Delete: the profile goes, its results stay.
    let out = home.cli(&server, &["profile", "delete", "e2e profile"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(server.get(&format!("/api/user/performance/profiles/{id}"), &token).status, 404);
    assert_eq!(server.get(&format!("/api/user/performance/results/{rid}"), &token).status, 200);

    // Ad-hoc run with an SMP body.
    let smp = format!(
        "test:\n  name: smp body\n  clients:\n  - load_generator: wrk2\n    connections: 1\n    rps: 50\n    endpoint_urls: [\"{url}\"]\n  duration: 1s\nmesh:\n  type: 5\n"
    );
    let reply = server.request(Method::POST, "/api/perf/profile", Some(&smp), Some(&token));
    let last = reply.events().pop().unwrap_or_default();
    assert_eq!(last["status"], "success", "{}", reply.text());
    assert_eq!(
        (last["result"]["mesh"].as_str(), last["result"]["requestedGenerator"].as_str()),
        (Some("linkerd"), Some("wrk2"))
    );

    let status = server.terminate();
    assert!(status.success(), "graceful exit on SIGTERM: {status:?}");
}

#[test]
fn full_flow_on_sqlite() {
    full_flow(Backend::Sqlite);
}

#[test]
fn full_flow_on_postgres() {
    full_flow(Backend::Postgres);
}
