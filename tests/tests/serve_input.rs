//! Bad input against the real server: a malformed body per route (400 naming the field), an
//! oversized body (413), refused targets and ceilings (403 naming the rule), and the SQL
//! injection strings of Meshery's CVEs in `order`/`sort`/`search` (400 or harmless, no file
//! created, tables intact), on SQLite and on PostgreSQL; and a bad configuration (exit 2, one
//! sentence per bad value).

use http::Method;
use meshperf_e2e::serve::{Backend, ServerHome, encode};

fn injection(backend: Backend) {
    let home = ServerHome::new(backend);
    let server = home.start();
    let token = server.local_token();
    let saved = server.request(
        Method::POST,
        "/api/user/performance/profiles",
        Some(r#"{"name":"keep me","endpoints":["http://127.0.0.1:9/"]}"#),
        Some(&token),
    );
    assert_eq!(saved.status, 200);

    let marker = home.path().join("pwned.db");
    let attacks = [
        format!("name;ATTACH DATABASE '{}' AS x;--", marker.display()),
        format!("updated_at desc; ATTACH DATABASE '{}' AS x; CREATE TABLE x.t(a);--", marker.display()),
        "(CASE WHEN 1=1 THEN name END)".to_string(),
        "created_at desc,1".to_string(),
        "name desc; DROP TABLE profiles;--".to_string(),
        "1; SELECT pg_sleep(5)".to_string(),
    ];
    let lists =
        ["/api/user/performance/profiles", "/api/user/performance/profiles/results", "/api/perf/profile/result"];
    for list in lists {
        for attack in &attacks {
            for param in ["order", "sort", "search"] {
                let reply = server.get(&format!("{list}?{param}={}", encode(attack)), &token);
                assert!(reply.status == 400 || reply.status == 200, "{list} {param}={attack}: {}", reply.status);
                if param == "order" {
                    assert_eq!(reply.status, 400, "order goes through the allow-list");
                    assert_eq!(reply.json()["field"], "order");
                }
                if param == "search" {
                    assert_eq!(reply.json()["totalCount"], 0, "search is data");
                }
            }
        }
    }
    assert!(!marker.exists(), "an injected ATTACH DATABASE created a file");
    let list = server.get("/api/user/performance/profiles", &token).json();
    assert_eq!(list["totalCount"], 1, "tables intact: {list}");
    assert!(server.terminate().success());
}

#[test]
fn sql_injection_strings_on_sqlite() {
    injection(Backend::Sqlite);
}

#[test]
fn sql_injection_strings_on_postgres() {
    injection(Backend::Postgres);
}

#[test]
fn malformed_input_per_route_names_the_field() {
    let mut home = ServerHome::new(Backend::Sqlite);
    home.env = vec![("MESHPERF_MAX_BODY".into(), "65536".into())];
    let server = home.start();
    let token = server.local_token();
    let profiles = "/api/user/performance/profiles";
    let cases: &[(Method, &str, Option<&str>, u16, &str)] = &[
        (Method::POST, profiles, Some("{\"name\": "), 400, "(body)"),
        (Method::POST, profiles, Some(""), 400, "(body)"),
        (Method::POST, profiles, Some(r#"{"name":"x","endpoints":["http://127.0.0.1:9/"],"qps":"fast"}"#), 400, "qps"),
        (Method::POST, profiles, Some(r#"{"name":"x","endpoints":["gopher://x"]}"#), 400, "endpoints[0]"),
        (
            Method::POST,
            profiles,
            Some(r#"{"name":"x","endpoints":["http://127.0.0.1:9/"],"duration":"forever"}"#),
            400,
            "duration",
        ),
        (
            Method::POST,
            profiles,
            Some(r#"{"name":"x","endpoints":["http://127.0.0.1:9/"],"color":"red"}"#),
            400,
            "color",
        ),
        (Method::POST, "/api/perf/profile", Some("test:\n  clients: 3\n"), 400, "test.clients"),
        (Method::GET, "/api/perf/profile?name=x&url=http%3A%2F%2F127.0.0.1%3A9%2F&t=abc", None, 400, "t"),
        (Method::GET, "/api/perf/profile?url=http%3A%2F%2F127.0.0.1%3A9%2F", None, 400, "name"),
        (
            Method::GET,
            "/api/perf/profile?name=x&url=http%3A%2F%2F127.0.0.1%3A9%2F&loadGenerator=ab",
            None,
            400,
            "loadGenerator",
        ),
        (Method::GET, "/api/user/performance/profiles?page=x", None, 400, "page"),
        (Method::GET, "/api/user/performance/profiles/results?to=31-12-2026", None, 400, "to"),
        (Method::GET, "/api/perf/runs?pageSize=100000", None, 400, "pageSize"),
        (Method::GET, "/api/perf/profile?name=x&url=http%3A%2F%2F10.0.0.1%2F&t=1", None, 403, "MESHPERF_ALLOW_TARGETS"),
        (
            Method::GET,
            "/api/perf/profile?name=x&url=http%3A%2F%2F169.254.169.254%2F&t=1",
            None,
            403,
            "MESHPERF_ALLOW_TARGETS",
        ),
        (
            Method::GET,
            "/api/perf/profile?name=x&url=http%3A%2F%2F127.0.0.1%3A9%2F&t=1&c=50000",
            None,
            403,
            "MESHPERF_MAX_CONNECTIONS",
        ),
        (
            Method::GET,
            "/api/perf/profile?name=x&url=http%3A%2F%2F127.0.0.1%3A9%2F&t=1&dur=h",
            None,
            403,
            "MESHPERF_MAX_DURATION",
        ),
        (Method::GET, "/api/user/performance/profiles/nope", None, 404, ""),
        (Method::DELETE, "/api/user/performance/profiles/nope", None, 404, ""),
        (Method::GET, "/api/perf/runs/nope", None, 404, ""),
        (Method::POST, "/api/perf/runs/nope/cancel", None, 404, ""),
        (Method::GET, "/api/perf/profile/result/nope", None, 404, ""),
    ];
    for (method, path, body, status, field) in cases {
        let reply = server.request(method.clone(), path, *body, Some(&token));
        assert_eq!(reply.status, *status, "{method} {path}: {}", reply.text());
        let v = reply.json();
        let named = v["field"].as_str().or(v["rule"].as_str()).unwrap_or_default();
        assert_eq!(named, *field, "{method} {path}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    let big = format!(r#"{{"name":"x","endpoints":["http://127.0.0.1:9/"],"requestBody":"{}"}}"#, "a".repeat(70_000));
    assert_eq!(server.request(Method::POST, profiles, Some(&big), Some(&token)).status, 413);
    let runs = server.get("/api/perf/runs", &token).json();
    assert_eq!(runs["totalCount"], 0, "no refused request started a run: {runs}");
    assert!(server.terminate().success());
}

#[test]
fn bad_configuration_stops_the_start_with_one_sentence_per_value() {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(meshperf_e2e::bin::meshperf())
        .args(["serve", "--grpc-listen", "off"])
        .env("MESHPERF_HOME", home.path())
        .env("PORT", "eighty")
        .env("DATABASE_URL", "mysql://root:hunter2@db/x")
        .env("MESHPERF_MAX_QPS", "-3")
        .env("PROVIDER", "Remote")
        .env_remove("PROVIDER_BASE_URLS")
        .env_remove("KEYS_PATH")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["PORT=", "DATABASE_URL", "MESHPERF_MAX_QPS", "PROVIDER="] {
        assert!(err.lines().any(|l| l.trim_start().starts_with(needle)), "{needle} missing from:\n{err}");
    }
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
    assert!(!home.path().join("meshperf.db").exists(), "nothing starts on a bad configuration");

    // A database that is not there is named at once (not after the pool's 10 s timeout), and a
    // busy gRPC port names the flag that moves it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let out = std::process::Command::new(meshperf_e2e::bin::meshperf())
        .args(["serve", "--grpc-listen", "off"])
        .env("MESHPERF_HOME", home.path())
        .env("PORT", "0")
        .env("DATABASE_URL", format!("postgres://root:hunter2@127.0.0.1:{port}/test"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")) && err.contains("refused"), "{err}");
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let out = std::process::Command::new(meshperf_e2e::bin::meshperf())
        .args(["serve", "--grpc-listen", &busy.local_addr().unwrap().to_string()])
        .env("MESHPERF_HOME", home.path())
        .env("PORT", "0")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--grpc-listen"), "{err}");
}
