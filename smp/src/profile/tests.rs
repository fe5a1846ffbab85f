//! Tests of profile reading and conversion to run plans.

use std::time::Duration;

use loadgen::{HttpVersion, Load, RateShape};
use proptest::prelude::*;

use super::*;
use crate::model::Protocol;
use crate::request::RunRequest;

/// The validated plans of a profile's clients.
fn plans(p: &TestProfile) -> Vec<loadgen::ValidatedPlan> {
    p.requests().unwrap().into_iter().map(|r| r.into_run().unwrap().plan).collect()
}

/// The mesheryctl test-config file from the SMP reference (§1.9), snake_case, enums as ints.
const ENVELOPE_YAML: &str = r#"
test:
  smp_version: v0.0.1
  id: test
  name: test
  labels: {}
  clients:
  - internal: false
    load_generator: fortio
    protocol: 1
    connections: 2
    rps: 10
    headers: {}
    cookies: {}
    body: ""
    content_type: ""
    endpoint_urls: [ "http://127.0.0.1:8080/" ]
  duration: "5s"
mesh:
  type: 3
"#;

/// The same in JSON with camelCase keys and enum names (newer Meshery, schemas v1beta3).
const ENVELOPE_CAMEL_JSON: &str = r#"{
  "test": {
    "smpVersion": "v0.0.1", "id": "test", "name": "test", "labels": {},
    "clients": [{
      "internal": false, "loadGenerator": "fortio", "protocol": "http", "connections": 2, "rps": 10,
      "headers": {}, "cookies": {}, "body": "", "contentType": "",
      "endpointUrls": ["http://127.0.0.1:8080/"]
    }],
    "duration": "5s"
  },
  "mesh": {"type": "ISTIO"}
}"#;

#[test]
fn envelope_in_both_key_styles_reads_the_same() {
    let a = TestProfile::parse(ENVELOPE_YAML).unwrap();
    let b = TestProfile::parse(ENVELOPE_CAMEL_JSON).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.source, Source::Envelope);
    assert_eq!(a.test.clients[0].protocol, Protocol::Http as i32);
    assert_eq!(a.mesh.as_ref().unwrap().name(), "istio");
    assert_eq!(a.duration(), Duration::from_secs(5));
    let meta = a.meta();
    assert_eq!(meta.name, "test");
    assert_eq!(meta.requested_generator.as_deref(), Some("fortio"));
    assert_eq!(meta.test_id.as_deref(), Some("test"));
    assert_eq!(meta.labels["mesh"], "istio");
    // Written back as the SMP envelope, it reads the same again.
    assert_eq!(TestProfile::parse(&a.to_yaml()).unwrap(), a);
}

#[test]
fn newest_envelope_has_a_plain_mesh_name_and_bare_configs_work() {
    let p = TestProfile::parse(
        "test:\n  name: t\n  clients: [{endpointUrls: [\"http://127.0.0.1:8080/\"]}]\n  duration: 1s\nmesh: Linkerd\n",
    )
    .unwrap();
    assert_eq!(p.mesh, Some(Mesh::Name("Linkerd".into())));
    let bare = TestProfile::parse("name: t\nclients:\n- endpoint_urls: http://127.0.0.1:8080/\n").unwrap();
    assert_eq!(bare.source, Source::TestConfig);
    assert_eq!(bare.duration(), DEFAULT_DURATION);
}

#[test]
fn meshery_profiles_of_both_eras() {
    let legacy = r#"{"id": "8a4c7e35-6f7f-4a8a-9a0b-1f3a7c9e0d11", "name": "legacy", "load_generators": ["wrk2"],
        "endpoints": ["http://127.0.0.1:8080/x"], "service_mesh": "Istio", "concurrent_request": 3, "qps": 50,
        "duration": "2s", "request_headers": "{\"X-A\": \"1\"}", "request_cookies": "{\"s\": \"v\"}",
        "request_body": "hello", "content_type": "text/plain", "last_run": null, "total_results": 4,
        "metadata": {"additional_options": "{\"MethodOverride\": \"PUT\"}"},
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z", "user_id": "u"}"#;
    let current = r#"{"id": "8a4c7e35-6f7f-4a8a-9a0b-1f3a7c9e0d11", "name": "legacy", "loadGenerators": ["wrk2"],
        "endpoints": ["http://127.0.0.1:8080/x"], "serviceMesh": "Istio", "concurrentRequest": 3, "qps": 50,
        "duration": "2s", "requestHeaders": {"X-A": "1"}, "requestCookies": "{\"s\": \"v\"}",
        "requestBody": "hello", "contentType": "text/plain", "lastRun": null, "totalResults": 4,
        "metadata": {"additional_options": {"MethodOverride": "PUT"}, "other": 1}, "owner": "o",
        "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:00Z"}"#;
    let a = TestProfile::parse(legacy).unwrap();
    let mut b = TestProfile::parse(current).unwrap();
    // The options were an object in one and text in the other: compare them parsed.
    let opts = |p: &TestProfile| Options::parse(&p.test.clients[0].additional_options, "o").unwrap();
    assert_eq!(opts(&a), opts(&b));
    b.test.clients[0].additional_options = a.test.clients[0].additional_options.clone();
    assert_eq!(a, b);
    assert_eq!(a.source, Source::MesheryProfile);
    let c = &a.test.clients[0];
    assert_eq!((c.connections, c.rps, c.load_generator.as_str()), (3, 50, "wrk2"));
    let plan = &plans(&a)[0];
    let t = &plan.targets[0];
    assert_eq!(t.method, http::Method::PUT);
    assert_eq!(&t.body[..], b"hello");
    let header = |n: &str| t.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.to_str().unwrap().to_string());
    assert_eq!(header("x-a").as_deref(), Some("1"));
    assert_eq!(header("cookie").as_deref(), Some("s=v"));
    assert_eq!(header("content-type").as_deref(), Some("text/plain"));
    assert_eq!(plan.load, Load::Open(RateShape::Constant(50.0)));
}

#[test]
fn plans_follow_the_profile() {
    let p = TestProfile::parse(
        r#"
name: multi
duration: 3s
clients:
- endpoint_urls: ["http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b"]
  connections: 4
  rps: 0
  headers: {X-Trace: "on"}
  cookies: {a: "1", b: "2"}
  additional_options: {http2: true, h2_streams: 4, warmup: 1s, timeout: 2s, threads: 2, max_requests: 5k}
- endpoint_urls: ["http://127.0.0.1:8080/c"]
  rps: 100
  additional_options: '{"stages": "1s@10,2s@20"}'
"#,
    )
    .unwrap();
    let plans = plans(&p);
    assert_eq!(plans.len(), 2);
    let a = &plans[0];
    assert_eq!(a.targets.len(), 2);
    assert_eq!(a.connections, 4);
    assert_eq!(a.threads, 2);
    assert_eq!(a.load, Load::Closed);
    assert_eq!(a.http, HttpVersion::Http2);
    assert_eq!(a.h2_streams, 4);
    assert_eq!(a.duration, Some(Duration::from_secs(3)));
    assert_eq!(a.warmup, Duration::from_secs(1));
    assert_eq!(a.timeout, Duration::from_secs(2));
    assert_eq!(a.max_requests, Some(5000));
    let cookie = a.targets[1].headers.iter().find(|(k, _)| k == "cookie").unwrap();
    assert_eq!(cookie.1, "a=1; b=2");
    let b = &plans[1];
    assert_eq!(b.connections, 1);
    assert!(matches!(b.load, Load::Open(RateShape::Stages(_))));
    assert_eq!(b.measured_duration(), Some(Duration::from_secs(3)));
}

#[test]
fn flags_over_a_profile_replace_its_values() {
    let p = TestProfile::parse(ENVELOPE_YAML).unwrap();
    let mut r = p.requests().unwrap().remove(0);
    r.overlay(RunRequest {
        urls: vec!["http://127.0.0.1:9090/other".into()],
        connections: Some(8),
        load: Some(Load::Closed),
        duration: Some(Duration::from_secs(1)),
        headers: vec![("x-extra".into(), "1".into())],
        http2: Some(true),
        ..RunRequest::default()
    });
    let run = r.into_run().unwrap();
    let plan = &run.plan;
    assert_eq!(plan.targets[0].url.as_str(), "http://127.0.0.1:9090/other");
    assert_eq!(plan.connections, 8);
    assert_eq!(plan.load, Load::Closed);
    assert_eq!(plan.duration, Some(Duration::from_secs(1)));
    assert_eq!(plan.http, HttpVersion::Http2);
    assert_eq!(plan.targets[0].headers.len(), 1);
    assert_eq!((run.meta.name.as_str(), run.meta.labels["mesh"].as_str()), ("test", "istio"));
    let mut bad = p.requests().unwrap().remove(0);
    bad.overlay(RunRequest::for_urls(["nope"]));
    let err = bad.into_run().unwrap_err();
    assert_eq!(p.path_of(0, err.field), "test.clients[0].endpoint_urls[0]");
}

#[test]
fn pem_certificates_travel_as_bytes() {
    let pem = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----";
    let p = TestProfile::parse(&format!(
        "name: tls\nclients:\n- endpoint_urls: [\"https://127.0.0.1:8443/\"]\n  ssl_certificate: \"{pem}\"\n"
    ))
    .unwrap();
    let r = p.requests().unwrap().remove(0);
    match &r.tls.ca_certs {
        Some(crate::request::PemSource::Pem(p)) => assert!(p.as_bytes().starts_with(b"-----BEGIN CERTIFICATE-----")),
        other => panic!("{other:?}"),
    }
    // Not a certificate rustls can read: the plan is refused, naming the profile's field.
    let err = r.into_run().unwrap_err();
    assert_eq!(p.path_of(0, err.field), "clients[0].ssl_certificate");
}

#[test]
fn meshery_fields_are_named_in_meshery_terms() {
    let p =
        TestProfile::parse(r#"{"name": "m", "endpoints": ["http://127.0.0.1:1/"], "concurrent_request": 2}"#).unwrap();
    assert_eq!(p.path_of(0, loadgen::Field::Connections), "concurrent_request");
    assert_eq!(p.path_of(0, loadgen::Field::Url(0)), "endpoints[0]");
    assert_eq!(p.path_of(0, loadgen::Field::Rate), "qps");
    assert_eq!(p.path_of(0, loadgen::Field::Warmup), "metadata.additional_options.warmup");
    let generator = TestProfile::parse(r#"{"name": "m", "endpoints": ["http://a/"], "loadGenerators": ["jmeter"]}"#);
    assert!(generator.unwrap_err().to_string().starts_with("load_generators[0]: \"jmeter\" is not a load generator"));
}

#[test]
fn bad_profiles_are_errors_that_name_the_field() {
    let cases = [
        ("test:\n  clients: [{endpoint_urls: [\"http://a/\"], rps: -1}]\n", "test.clients[0].rps: must be >= 0"),
        (
            "test:\n  clients: [{endpoint_urls: [\"http://a/\"], rsp: 1}]\n",
            "test.clients[0].rsp: unknown key; did you mean `rps`?",
        ),
        (
            "test:\n  clients: [{endpoint_urls: [\"http://a/\"], protocol: smtp}]\n",
            "test.clients[0].protocol: \"smtp\" is not a protocol",
        ),
        (
            "test:\n  clients: [{endpoint_urls: [\"http://a/\"]}]\n  duration: forever\n",
            "test.duration: \"forever\" is not a duration",
        ),
        ("test:\n  clients: [{endpoint_urls: [\"http://a/\"]}]\n  duration: 0s\n", "test.duration: must be above 0"),
        ("test:\n  clients: []\n", "test.clients: give at least one client"),
        (
            "test:\n  clients: [{endpoint_urls: [\"http://a/\"]}]\nmesh: {type: spaceship}\n",
            "mesh.type: \"spaceship\" is not a mesh type",
        ),
        ("mesh: {type: 3}\n", "test: missing"),
        ("test:\n  clients: [{endpoint_urls: [\"http://a/\"]}]\nextra: 1\n", "extra: unknown key"),
        (
            "test:\n  clients: [{endpoint_urls: [\"http://a/\"], connections: 200000}]\n",
            "test.clients[0].connections: must be <= 100000",
        ),
        (
            "test:\n  clients: [{endpoint_urls: [\"http://a/\"], headers: [1]}]\n",
            "test.clients[0].headers: expected a map",
        ),
        ("{\"name\": \"x\", \"endpoints\": [\"http://a/\"], \"qps\": -3}", "qps: expected a rate"),
        (
            "{\"name\": \"x\", \"endpoints\": [\"http://a/\"], \"requestHeaders\": \"{oops\"}",
            "request_headers: is not a JSON object",
        ),
        ("{\"name\": \"x\", \"endpoints\": [\"mailto:x\"]}", "endpoints[0]:"),
        (
            "{\"name\": \"x\", \"endpoints\": [\"http://a/\"], \"metadata\": {\"additional_options\": \"{\\\"rmp\\\": 1}\"}}",
            "metadata.additional_options.rmp: unknown key",
        ),
        ("42", "(top level): expected an object"),
        ("hello: world\n", "(top level): not a test profile"),
        ("", "(top level): the profile is empty"),
        ("test:\n  clients: [{endpoint_urls: [\"http://a/\"]\n", "the profile is not valid YAML"),
        ("{\"test\": ", "the profile is not valid JSON"),
    ];
    for (text, want) in cases {
        let err = TestProfile::parse(text).unwrap_err().to_string();
        assert!(err.starts_with(want), "{text:?}\n  got:  {err}\n  want: {want}");
    }
    let tcp = TestProfile::parse("name: t\nclients: [{endpoint_urls: [\"http://a/\"], protocol: tcp}]\n").unwrap();
    let err = tcp.requests().unwrap_err().to_string();
    assert!(err.starts_with("clients[0].protocol: PROTOCOL_TCP load is not supported"), "{err}");
    let http =
        "name: h\nclients: [{endpoint_urls: [\"http://a/\"], protocol: http, additional_options: {call: a.B/C}}]\n";
    let err = TestProfile::parse(http).unwrap().requests().unwrap_err().to_string();
    assert!(err.starts_with("clients[0].protocol: is http but the options describe a gRPC call"), "{err}");
}

#[test]
fn grpc_clients_become_grpc_requests() {
    let text = "name: g\nclients: [{endpoint_urls: [\"http://127.0.0.1:50051\"], protocol: grpc,\n  \
                additional_options: {call: grpc.health.v1.Health/Check, data: {service: x}, metadata: {x-team: a}}}]\n";
    let profile = TestProfile::parse(text).unwrap();
    let request = profile.requests().unwrap().remove(0);
    assert_eq!(request.urls, vec!["grpc://127.0.0.1:50051".to_string()]);
    let grpc = request.grpc.clone().unwrap();
    assert_eq!(grpc.call.as_deref(), Some("grpc.health.v1.Health/Check"));
    assert_eq!(grpc.data.as_deref(), Some(r#"{"service":"x"}"#));
    let plan = request.into_run().unwrap().plan;
    let t = &plan.targets[0];
    assert_eq!(t.url.as_str(), "grpc://127.0.0.1:50051/grpc.health.v1.Health/Check");
    assert_eq!((&t.method, &t.body[..]), (&http::Method::POST, &b"\x0a\x01x"[..]));
    assert_eq!(t.headers[0].0.as_str(), "x-team");
    assert_eq!(plan.http, loadgen::HttpVersion::Http2);
    // A grpc:// URL makes a gRPC client without `protocol`; errors name the option.
    let bad = "name: g\nclients: [{endpoint_urls: [\"grpc://127.0.0.1:1\"], additional_options: {call: a.B/C}}]\n";
    let profile = TestProfile::parse(bad).unwrap();
    let err = profile.requests().unwrap().remove(0).into_run().unwrap_err();
    assert_eq!(profile.path_of(0, err.field), "clients[0].additional_options.proto");
}

#[test]
fn load_names_unnamed_tests_after_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smoke.yaml");
    std::fs::write(&path, "clients: [{endpoint_urls: [\"http://127.0.0.1:8080/\"]}]\n").unwrap();
    assert_eq!(load(&path).unwrap().name(), "smoke");
    std::fs::write(&path, "clients: [").unwrap();
    assert!(load(&path).unwrap_err().to_string().contains("smoke.yaml is not valid YAML"));
    let missing = load(&dir.path().join("nope.yaml")).unwrap_err();
    assert!(missing.is_input());
}

/// Random JSON-ish values shaped like profiles.
fn value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[a-zA-Z_:/.0-9@, -]{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![Just("http://127.0.0.1:8080/"), Just("5s"), Just("grpc"), Just("istio")]
            .prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("test"),
        Just("mesh"),
        Just("clients"),
        Just("endpoint_urls"),
        Just("endpointUrls"),
        Just("rps"),
        Just("connections"),
        Just("duration"),
        Just("protocol"),
        Just("type"),
        Just("headers"),
        Just("endpoints"),
        Just("qps"),
        Just("additional_options"),
        Just("stages"),
        Just("ramp"),
        Just("name"),
        Just("x"),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(keys.clone().prop_map(String::from), inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Whatever the input, reading answers with a profile or an error, never a panic.
    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        let _ = TestProfile::parse(&text);
    }

    #[test]
    fn random_structures_never_panic(v in value()) {
        for text in [v.to_string(), serde_yaml::to_string(&v).unwrap_or_default()] {
            if let Ok(p) = TestProfile::parse(&text) {
                if let Ok(requests) = p.requests() {
                    for r in requests {
                        let _ = r.into_run().map_err(|e| p.path_of(0, e.field));
                    }
                }
                let _ = p.to_yaml();
            }
        }
    }

    #[test]
    fn truncated_profiles_never_panic(cut in 0usize..600) {
        for text in [ENVELOPE_YAML, ENVELOPE_CAMEL_JSON] {
            let end = text.char_indices().map(|(i, _)| i).take_while(|i| *i <= cut).last().unwrap_or(0);
            let _ = TestProfile::parse(&text[..end]);
        }
    }
}

/// Every example in `profiles/` reads, converts to valid plans, and lasts at most 5 s.
#[test]
fn example_profiles_are_valid_and_short() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            continue;
        }
        let profile = load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let requests = profile.requests().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for r in requests {
            let plan = r.into_run().unwrap_or_else(|e| panic!("{}: {e}", path.display())).plan;
            let total = plan.measured_duration().unwrap() + plan.warmup;
            assert!(total <= Duration::from_secs(5), "{}: {total:?}", path.display());
            assert!(plan.targets.iter().all(|t| t.url.host_str() == Some("127.0.0.1")));
        }
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} profiles");
}
