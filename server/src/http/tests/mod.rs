//! Router tests: `app(state)` driven with `oneshot`, on a temporary SQLite store, the local
//! provider and a scripted executor (no load is sent). [`openapi`] checks the document against
//! the router and the query readers.

mod openapi;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body as AxBody;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::perf::runs::{Executed, Execution, Executor};
use crate::providers::local::LocalProvider;

/// An executor that reports `steps` progress events, `step` apart, then a result (or stops
/// early when cancelled).
struct Scripted {
    steps: usize,
    step: Duration,
    started: Arc<AtomicUsize>,
}

impl Executor for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn execute(&self, plan: loadgen::ValidatedPlan, meta: smp::RunMeta) -> Result<Execution, String> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let (tx, progress) = tokio::sync::mpsc::unbounded_channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = cancelled.clone();
        let (steps, step) = (self.steps, self.step);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let start = chrono::Utc::now();
            for i in 0..steps {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                tokio::time::sleep(step).await;
                let mut interval = loadgen::Stats::default();
                interval.responses = 10;
                let _ = tx.send(Arc::new(loadgen::Snapshot {
                    elapsed: Duration::from_secs(i as u64 + 1),
                    phase: loadgen::Phase::Measuring,
                    interval,
                    interval_len: Duration::from_secs(1),
                    target_rate: None,
                    total_responses: 10 * (i as u64 + 1),
                    total_errors: 0,
                }));
            }
            drop(tx);
            let report = loadgen::Report {
                plan: plan.into_inner(),
                started_at: start,
                ended_at: chrono::Utc::now(),
                elapsed: Duration::from_secs(1),
                stats: loadgen::Stats::default(),
                series: Vec::new(),
                planned: None,
                cancelled: flag.load(Ordering::SeqCst),
            };
            let document = smp::ResultDocument::from_report(&report, &meta);
            let cancelled = report.cancelled;
            let _ = done_tx.send(Ok(Executed { document, stats: None, elapsed: report.elapsed, cancelled }));
        });
        Ok(Execution {
            start_at: std::time::SystemTime::now(),
            threads: 1,
            progress,
            cancel: Arc::new(move || cancelled.store(true, Ordering::SeqCst)),
            done: Box::pin(async move { done_rx.await.unwrap_or_else(|_| Err("lost".into())) }),
        })
    }
}

struct Harness {
    app: Router,
    token: String,
    state: AppState,
    started: Arc<AtomicUsize>,
    _home: tempfile::TempDir,
}

async fn harness_with(steps: usize, step: Duration, vars: &[(&str, &str)]) -> Harness {
    let home = tempfile::tempdir().unwrap();
    let mut all: Vec<(String, String)> = vec![("MESHPERF_HOME".into(), home.path().display().to_string())];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::from_vars(|k| all.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap();
    let started = Arc::new(AtomicUsize::new(0));
    let executor = Arc::new(Scripted { steps, step, started: started.clone() });
    let state = crate::serve::build_state(config, executor).await.unwrap();
    let token = LocalProvider::load(home.path()).unwrap().mint(Duration::from_secs(600));
    Harness { app: app(state.clone()), token, state, started, _home: home }
}

async fn harness() -> Harness {
    harness_with(2, Duration::from_millis(20), &[]).await
}

impl Harness {
    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, bytes) = self.raw(method, uri, body.map(|b| b.to_string()), Some(&self.token)).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn raw(
        &self,
        method: Method,
        uri: &str,
        body: Option<String>,
        token: Option<&str>,
    ) -> (StatusCode, bytes::Bytes) {
        let mut req = Request::builder().method(method).uri(uri).header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = self.app.clone().oneshot(req.body(AxBody::from(body.unwrap_or_default())).unwrap()).await.unwrap();
        let status = resp.status();
        (status, resp.into_body().collect().await.unwrap().to_bytes())
    }

    async fn profile(&self, name: &str) -> Value {
        let body = json!({"name": name, "endpoints": ["http://127.0.0.1:9/"], "loadGenerators": ["fortio"], "duration": "1s",
            "requestHeaders": {"authorization": "Bearer target-secret", "x-tenant": "tenant-secret"},
            "requestCookies": {"session": "cookie-secret"}});
        let (status, p) = self.call(Method::POST, "/api/user/performance/profiles", Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{p}");
        p
    }
}

fn sse_events(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect()
}

#[tokio::test]
async fn auth_failures_get_401_and_no_data() {
    let h = harness().await;
    h.profile("secret-profile").await;
    let other_home = tempfile::tempdir().unwrap();
    let stranger = LocalProvider::load_or_create(other_home.path()).unwrap().mint(Duration::from_secs(600));
    let mut tampered = h.token.clone();
    let mid = tampered.len() / 2;
    tampered.replace_range(mid..mid + 1, if &h.token[mid..mid + 1] == "a" { "b" } else { "a" });
    let expired = {
        let key = std::fs::read_to_string(h._home.path().join("local-provider.key")).unwrap();
        use base64::Engine;
        let secret = base64::engine::general_purpose::STANDARD.decode(key.trim()).unwrap();
        let claims = json!({"sub": "local", "name": "x", "iss": "meshperf-local", "iat": 1, "exp": 1000});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .unwrap()
    };
    for (case, token) in [
        ("missing", None),
        ("garbage", Some("x")),
        ("wrong key", Some(stranger.as_str())),
        ("tampered", Some(tampered.as_str())),
        ("expired", Some(expired.as_str())),
    ] {
        for uri in [
            "/api/user/performance/profiles",
            "/api/perf/profile/result",
            "/api/user",
            "/api/perf/profile?name=a&url=http://127.0.0.1:9/",
        ] {
            let (status, body) = h.raw(Method::GET, uri, None, token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{case} {uri}");
            let text = String::from_utf8_lossy(&body);
            assert!(!text.contains("secret-profile") && text.contains("unauthorized"), "{case}: {text}");
        }
    }
    // A token cookie works like the header.
    let req = Request::get("/api/user").header("cookie", format!("token={}", h.token)).body(AxBody::empty()).unwrap();
    assert_eq!(h.app.clone().oneshot(req).await.unwrap().status(), StatusCode::OK);
    for open in ["/healthz", "/readyz", "/api/system/version", "/metrics"] {
        assert_eq!(h.raw(Method::GET, open, None, None).await.0, StatusCode::OK, "{open}");
    }
    assert_eq!(h.started.load(Ordering::SeqCst), 0, "no run started without a valid token");
}

#[tokio::test]
async fn profiles_crud_with_masking() {
    let h = harness().await;
    let p = h.profile("one").await;
    let id = p["id"].as_str().unwrap();
    assert!(p["requestHeaders"].as_str().unwrap().contains("target-secret"), "the owner's view is complete");
    let (_, list) =
        h.call(Method::GET, "/api/user/performance/profiles?pageSize=5&search=on&order=name%20asc", None).await;
    assert_eq!((list["totalCount"].as_i64(), list["pageSize"].as_i64()), (Some(1), Some(5)));
    let listed = list["profiles"][0].to_string();
    assert!(!listed.contains("target-secret") && listed.contains("authorization"), "{listed}");
    let mut update = p.clone();
    update["name"] = json!("renamed");
    update["qps"] = json!(7);
    let (status, saved) = h.call(Method::POST, "/api/user/performance/profiles", Some(update)).await;
    assert_eq!((status, saved["name"].as_str(), saved["qps"].as_i64()), (StatusCode::OK, Some("renamed"), Some(7)));
    assert_eq!(saved["createdAt"], p["createdAt"]);
    let (status, _) = h.call(Method::DELETE, &format!("/api/user/performance/profiles/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = h.call(Method::GET, &format!("/api/user/performance/profiles/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sql_injection_strings_are_refused_and_create_nothing() {
    let h = harness().await;
    h.profile("p").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.db");
    let attacks = [
        format!("name;ATTACH DATABASE '{}' AS x;--", target.display()),
        "(CASE WHEN 1=1 THEN name END)".to_string(),
        "created_at desc,1".to_string(),
    ];
    for path in ["/api/user/performance/profiles", "/api/user/performance/profiles/results", "/api/perf/profile/result"]
    {
        for attack in &attacks {
            for param in ["order", "sort"] {
                let q: String = url::form_urlencoded::byte_serialize(attack.as_bytes()).collect();
                let (status, body) = h.call(Method::GET, &format!("{path}?{param}={q}"), None).await;
                assert!(
                    status == StatusCode::BAD_REQUEST || status == StatusCode::OK,
                    "{path} {param}: {status} {body}"
                );
                if status == StatusCode::BAD_REQUEST {
                    assert_eq!(body["field"], "order");
                }
            }
            let q: String = url::form_urlencoded::byte_serialize(attack.as_bytes()).collect();
            let (status, body) = h.call(Method::GET, &format!("{path}?search={q}"), None).await;
            assert_eq!(status, StatusCode::OK, "search is data, not SQL: {body}");
            assert_eq!(body["totalCount"], 0);
        }
    }
    assert!(!target.exists(), "an injected ATTACH created a file");
    let (_, list) = h.call(Method::GET, "/api/user/performance/profiles", None).await;
    assert_eq!(list["totalCount"], 1, "the table is intact");
}

#[tokio::test]
async fn malformed_input_names_the_field() {
    let h = harness().await;
    let cases: &[(Method, &str, Option<&str>, &str)] = &[
        (Method::POST, "/api/user/performance/profiles", Some("{not json"), "(body)"),
        (Method::POST, "/api/user/performance/profiles", Some("[1]"), "(body)"),
        (Method::POST, "/api/user/performance/profiles", Some(""), "(body)"),
        (
            Method::POST,
            "/api/user/performance/profiles",
            Some(r#"{"name":"a","endpoints":["http://x/"],"nmae":1}"#),
            "nmae",
        ),
        (Method::POST, "/api/user/performance/profiles", Some(r#"{"name":"a","endpoints":[7]}"#), "endpoints"),
        (
            Method::POST,
            "/api/user/performance/profiles",
            Some(r#"{"id":"42","name":"a","endpoints":["http://x/"]}"#),
            "id",
        ),
        (Method::POST, "/api/perf/profile", Some("test: [unclosed"), "(body)"),
        (Method::POST, "/api/perf/profile", Some("test:\n  name: x\n"), "test.clients"),
        (Method::GET, "/api/perf/profile?name=x&url=http://127.0.0.1:9/&c=lots", None, "c"),
        (Method::GET, "/api/user/performance/profiles?page=-1", None, "page"),
        (Method::GET, "/api/user/performance/profiles?pagesize=0", None, "pagesize"),
        (Method::GET, "/api/perf/profile/result?from=yesterday", None, "from"),
    ];
    h.call(Method::POST, "/api/user/performance/profiles", Some(json!({"name": "a", "endpoints": ["http://x/"]})))
        .await;
    for (method, uri, body, field) in cases {
        let (status, bytes) = h.raw(method.clone(), uri, body.map(String::from), Some(&h.token)).await;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {uri}: {v}");
        assert!(v["field"].as_str().unwrap_or_default().starts_with(field), "{method} {uri}: {v}");
    }
    let big = "x".repeat(h.state.config.max_body + 1);
    let (status, _) = h.raw(Method::POST, "/api/user/performance/profiles", Some(big), Some(&h.token)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_profile_run_streams_meshery_events_and_stores_the_result() {
    let h = harness().await;
    let p = h.profile("runme").await;
    let id = p["id"].as_str().unwrap();
    let (status, bytes) =
        h.raw(Method::GET, &format!("/api/user/performance/profiles/{id}/run?c=2"), None, Some(&h.token)).await;
    assert_eq!(status, StatusCode::OK);
    let events = sse_events(&bytes);
    let messages: Vec<&str> = events.iter().filter_map(|e| e["message"].as_str()).collect();
    assert_eq!(messages[0], "Initiating load test . . . ");
    assert!(events.iter().filter(|e| e.get("progress").is_some()).count() >= 2, "{events:?}");
    let tail: Vec<&str> = messages[messages.len() - 4..].to_vec();
    assert_eq!(
        tail,
        [
            "Load test completed, fetching metadata now",
            "Obtained the needed metadatas, attempting to persist the result",
            "Done persisting the load test results.",
            "completed"
        ]
    );
    let last = events.last().unwrap();
    assert_eq!(last["status"], "success");
    let stream = String::from_utf8_lossy(&bytes);
    for secret in ["target-secret", "tenant-secret", "cookie-secret"] {
        assert!(!stream.contains(secret), "{secret} reached the result");
    }
    let result = &last["result"];
    assert_eq!(
        (result["requestedGenerator"].as_str(), result["generator"].as_str()),
        (Some("fortio"), Some("meshperf"))
    );
    assert_eq!(result["smp"]["labels"]["requested_generator"], "fortio");
    assert_eq!(result["runnerResults"]["RunType"], "HTTP", "runnerResults is fortio's form");
    let rid = result["mesheryId"].as_str().unwrap();

    let (_, one) = h.call(Method::GET, &format!("/api/user/performance/results/{rid}"), None).await;
    assert_eq!(one["performanceProfile"], id);
    let (_, of_profile) = h.call(Method::GET, &format!("/api/user/performance/profiles/{id}/results"), None).await;
    assert_eq!(of_profile["totalCount"], 1);
    let unknown = "/api/user/performance/profiles/00000000-0000-4000-8000-000000000000/results";
    let (status, _) = h.call(Method::GET, unknown, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown profile's results are not an empty page");
    let (_, profile) = h.call(Method::GET, &format!("/api/user/performance/profiles/{id}"), None).await;
    assert_eq!(profile["totalResults"], 1);
    let (status, yaml) = h.raw(Method::GET, &format!("/api/perf/profile/result/{rid}"), None, Some(&h.token)).await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_yaml::from_slice(&yaml).unwrap();
    assert_eq!(doc["id"], rid);
    for (format, needle) in [("fortio", "\"RunType\""), ("csv", "second,requests"), ("smp-json", "\"smp_version\"")] {
        let uri = format!("/api/user/performance/results/{rid}/export?format={format}");
        let (status, body) = h.raw(Method::GET, &uri, None, Some(&h.token)).await;
        assert_eq!(status, StatusCode::OK, "{format}");
        assert!(String::from_utf8_lossy(&body).contains(needle), "{format}");
    }
    let (status, bad) =
        h.call(Method::GET, &format!("/api/user/performance/results/{rid}/export?format=pdf"), None).await;
    assert_eq!((status, bad["field"].as_str()), (StatusCode::BAD_REQUEST, Some("format")));
    let run_id = last["runId"].as_str().unwrap();
    let (_, run) = h.call(Method::GET, &format!("/api/perf/runs/{run_id}"), None).await;
    assert_eq!((run["state"].as_str(), run["resultId"].as_str()), (Some("completed"), Some(rid)));
    assert_eq!(run["request"]["concurrentRequest"], 2);
}

#[tokio::test]
async fn runs_go_on_without_their_client_and_can_be_cancelled() {
    let h = harness_with(50, Duration::from_millis(20), &[]).await;
    // Start and drop the stream at once: the run continues and is stored.
    let req = Request::get("/api/perf/profile?name=bg&url=http://127.0.0.1:9/&t=1")
        .header("authorization", format!("Bearer {}", h.token))
        .body(AxBody::empty())
        .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    let run_id = resp.headers()["x-meshperf-run-id"].to_str().unwrap().to_string();
    drop(resp);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, c) = h.call(Method::POST, &format!("/api/perf/runs/{run_id}/cancel"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{c}");
    let mut state = String::new();
    for _ in 0..100 {
        let (_, run) = h.call(Method::GET, &format!("/api/perf/runs/{run_id}"), None).await;
        state = run["state"].as_str().unwrap_or_default().to_string();
        if state != "queued" && state != "running" {
            assert!(run["resultId"].is_string(), "the partial result is stored: {run}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state, "cancelled");
    let (status, _) = h.call(Method::POST, &format!("/api/perf/runs/{run_id}/cancel"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_queue_caps_runs_and_policy_refusals_name_the_rule() {
    let h = harness_with(100, Duration::from_millis(20), &[("MESHPERF_RUN_QUEUE", "1")]).await;
    let start = |name: &str| {
        let req = Request::get(format!("/api/perf/profile?name={name}&url=http://127.0.0.1:9/&t=1"))
            .header("authorization", format!("Bearer {}", h.token))
            .body(AxBody::empty())
            .unwrap();
        h.app.clone().oneshot(req)
    };
    let first = start("a").await.unwrap();
    let second = start("b").await.unwrap();
    assert_eq!((first.status(), second.status()), (StatusCode::OK, StatusCode::OK));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let third = start("c").await.unwrap();
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h.state.pipeline.registry.load(), (1, 1));

    let (status, body) = h.call(Method::GET, "/api/perf/profile?name=x&url=http://10.0.0.1/", None).await;
    assert_eq!((status, body["rule"].as_str()), (StatusCode::FORBIDDEN, Some("MESHPERF_ALLOW_TARGETS")));
    let (status, body) = h.call(Method::GET, "/api/perf/profile?name=x&url=http://127.0.0.1:9/&c=100000", None).await;
    assert_eq!((status, body["rule"].as_str()), (StatusCode::FORBIDDEN, Some("MESHPERF_MAX_CONNECTIONS")));
    h.state.pipeline.registry.shutdown().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_runs_by_state() {
    let h = harness().await;
    let p = h.profile("m").await;
    let id = p["id"].as_str().unwrap();
    h.call(Method::GET, &format!("/api/user/performance/profiles/{id}"), None).await;
    h.raw(Method::GET, &format!("/api/user/performance/profiles/{id}/run"), None, Some(&h.token)).await;
    let (status, body) = h.raw(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains(
            r#"meshperf_http_requests_total{method="GET",route="/api/user/performance/profiles/{id}",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(!text.contains(id), "raw paths never become labels");
    assert!(text.contains(r#"meshperf_runs{state="completed"} 1"#), "{text}");
    assert!(text.contains("meshperf_runs_active 0"), "{text}");
}
